-- Pairs of tools that provide a common capability and are used by the same
-- people in the month (from per-person activity): how many people use both,
-- and what share of the smaller tool's users that is.
with params as (
  select
    coalesce(nullif(:period, ''), (select max(period) from tool_period_summary)) as period,
    coalesce(cast(nullif(:min_shared_users, '') as integer), 1) as min_shared_users
)
select
  params.period,
  pair.tool_a,
  pair.tool_b,
  pair.shared_capabilities,
  pair.shared_users,
  users_a.users as users_a,
  users_b.users as users_b,
  round(pair.shared_users * 1.0 / nullif(min(users_a.users, users_b.users), 0), 4) as shared_share
from tool_pair_shared_users as pair
cross join params
join tool_activity_summary as users_a on users_a.tool = pair.tool_a and users_a.period = pair.period
join tool_activity_summary as users_b on users_b.tool = pair.tool_b and users_b.period = pair.period
where pair.period = (select period from params) and pair.shared_users >= params.min_shared_users
order by pair.shared_users desc, pair.tool_a, pair.tool_b
