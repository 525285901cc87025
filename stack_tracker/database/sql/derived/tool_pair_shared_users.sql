-- People who used both tools of a pair in the same month, for pairs of tools
-- that provide a common capability (pairs with nothing in common are not an
-- overlap, however many people use both), with the capabilities they share.
-- Each person's tools for the month are gathered first, so the work grows
-- with people, not with pairs of tools.
with pairs as (
  select tool_a, tool_b, group_concat(capability, ', ') as shared_capabilities
  from (
    select a.tool as tool_a, b.tool as tool_b, a.capability
    from tool_capabilities as a
    join tool_capabilities as b on b.capability = a.capability and b.tool > a.tool
    order by a.tool, b.tool, a.capability
  )
  group by tool_a, tool_b
),
person_months as (
  select period, json_group_array(tool) as tool_list
  from user_activity
  group by user_key, period
  having count(*) > 1
)
select
  a.value as tool_a,
  b.value as tool_b,
  person_months.period,
  count(*) as shared_users,
  pairs.shared_capabilities
from person_months, json_each(person_months.tool_list) as a, json_each(person_months.tool_list) as b
-- CROSS JOIN keeps pairs the inner loop: a lookup per pair of a person's tools.
cross join pairs on pairs.tool_a = a.value and pairs.tool_b = b.value
where b.value > a.value
group by a.value, b.value, person_months.period
