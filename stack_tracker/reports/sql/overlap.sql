-- Capabilities served by two or more tools in use in the month: how many tools
-- and teams, their combined annual cost, the tool to keep (most active users)
-- and the cost of the others, the most that consolidating could save.
with params as (
  select
    coalesce(nullif(:period, ''), (select max(period) from tool_period_summary)) as period,
    nullif(:team, '') as team,
    upper(coalesce(nullif(:currency, ''), 'USD')) as currency,
    coalesce(cast(nullif(:primary_only, '') as integer), 0) as primary_only
),
in_use as (
  select
    provides.capability,
    summary.tool,
    tools.name,
    summary.teams_using,
    summary.active_users,
    tools.annual_cost,
    upper(coalesce(tools.currency, params.currency)) as tool_currency,
    upper(coalesce(tools.currency, params.currency)) = params.currency as in_base_currency
  from tool_period_summary as summary
  cross join params
  join tool_capabilities as provides
    on provides.tool = summary.tool and (params.primary_only = 0 or provides."primary" = 1)
  join tools on tools.slug = summary.tool
  where summary.period = (select period from params) and summary.teams_using > 0
),
-- Each capability's tools in use, most used first: the first is the one to
-- keep. One sort; the grouping below keeps this order within a capability.
by_use as (
  select * from in_use
  order by capability, coalesce(active_users, 0) desc, teams_using desc, annual_cost, tool
),
overlapping as (
  select
    capability,
    count(*) as tools,
    json_extract(json_group_array(tool), '$[0]') as keep_candidate,
    group_concat(
      name || ' (' || teams_using || ' team' || iif(teams_using = 1, '', 's') || ', ' || coalesce(active_users, 0) || ' active)',
      '; '
    ) as tool_list,
    sum(case when in_base_currency then annual_cost end) as combined_cost
  from by_use
  group by capability
  having count(*) >= 2
),
-- What the tools other than the one to keep cost: the most consolidating could save.
savings as (
  select
    in_use.capability,
    sum(case when in_use.in_base_currency and in_use.tool <> overlapping.keep_candidate then in_use.annual_cost end)
      as savings_ceiling
  from in_use
  join overlapping on overlapping.capability = in_use.capability
  group by in_use.capability
),
-- Teams using any of a capability's tools in use (a team using two counts
-- once): every team with a tool in use for it is one.
team_counts as (
  select coverage.capability, count(*) as teams, max(coverage.team = params.team) as includes_team
  from team_capability_coverage as coverage
  cross join params
  where coverage.period = (select period from params)
    and (params.primary_only = 0 or coverage.primary_tools > 0)
  group by coverage.capability
),
excluded as (
  select capability, group_concat(tool || ' (' || tool_currency || ')', ', ') as excluded_currency_tools
  from (select * from in_use where not in_base_currency order by capability, tool)
  group by capability
)
select
  params.period,
  overlapping.capability,
  capabilities.name as capability_name,
  overlapping.tools,
  team_counts.teams,
  overlapping.tool_list,
  params.currency,
  overlapping.combined_cost,
  overlapping.keep_candidate,
  savings.savings_ceiling,
  excluded.excluded_currency_tools
from overlapping, params
join team_counts on team_counts.capability = overlapping.capability
join savings on savings.capability = overlapping.capability
left join excluded on excluded.capability = overlapping.capability
left join capabilities on capabilities.slug = overlapping.capability
where params.team is null or team_counts.includes_team
order by savings.savings_ceiling desc, overlapping.capability
