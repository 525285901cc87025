-- Which teams use each tool for each capability it provides, every month:
-- the tools in use per capability, whether the tool is mainly for it, and
-- the teams using it (a list of team slugs).
--
-- One flat GROUP BY, so that a filter on the month reaches usage_effective's
-- key. CROSS JOIN keeps usage_effective the outer loop: rows reach the
-- grouping in its key order, so each tool's teams are listed in order.
select
  used.period,
  provides.capability,
  used.tool,
  provides."primary" = 1 as "primary",
  count(*) as teams_using,
  group_concat(used.team, ', ') as team_list
from usage_effective as used
cross join tool_capabilities as provides on provides.tool = used.tool
where used.in_use
group by used.period, provides.capability, used.tool
