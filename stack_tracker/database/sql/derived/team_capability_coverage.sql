-- What each team's tools in use provide, every month: per capability and team,
-- how many tools in use provide it, how many of them are mainly for it, and
-- which (a JSON array of tool slugs). A team with no tool for a capability
-- has no row.
--
-- One flat GROUP BY, so that a filter on the month reaches usage_effective's
-- key. CROSS JOIN keeps usage_effective the outer loop: rows reach the
-- grouping in its key order, so each team's tools are listed in order.
select
  used.period,
  provides.capability,
  used.team,
  count(*) as tools_in_use,
  sum(provides."primary" = 1) as primary_tools,
  json_group_array(used.tool) as tool_list
from usage_effective as used
cross join tool_capabilities as provides on provides.tool = used.tool
where used.in_use
group by used.period, provides.capability, used.team
