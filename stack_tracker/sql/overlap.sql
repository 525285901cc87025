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
ranked as (
  select
    in_use.*,
    count(*) over (partition by capability) as tools,
    row_number() over (
      partition by capability
      order by coalesce(active_users, 0) desc, teams_using desc, annual_cost, tool
    ) as rank
  from in_use
),
overlapping as (
  select * from ranked where tools >= 2
),
-- Teams using any of a capability's overlapping tools (a team using two counts once).
team_counts as (
  select overlapping.capability, count(distinct used.team) as teams,
    max(used.team = params.team) as includes_team
  from usage_effective as used
  cross join params
  join overlapping on overlapping.tool = used.tool
  where used.period = (select period from params) and used.in_use
  group by overlapping.capability
),
per_capability as (
  select
    capability,
    sum(case when in_base_currency then annual_cost end) as combined_cost,
    sum(case when in_base_currency and rank > 1 then annual_cost end) as savings_ceiling
  from overlapping
  group by capability
),
tool_lists as (
  select capability, group_concat(detail, '; ') as tool_list
  from (
    select capability, name || ' (' || teams_using || ' team' || iif(teams_using = 1, '', 's')
      || ', ' || coalesce(active_users, 0) || ' active)' as detail
    from overlapping
    order by capability, rank
  )
  group by capability
),
excluded as (
  select capability, group_concat(tool || ' (' || tool_currency || ')', ', ') as excluded_currency_tools
  from (select * from overlapping where not in_base_currency order by capability, tool)
  group by capability
)
select
  params.period,
  keep.capability,
  capabilities.name as capability_name,
  keep.tools,
  team_counts.teams,
  tool_lists.tool_list,
  params.currency,
  per_capability.combined_cost,
  keep.tool as keep_candidate,
  per_capability.savings_ceiling,
  excluded.excluded_currency_tools
from overlapping as keep, params
join team_counts on team_counts.capability = keep.capability
join per_capability on per_capability.capability = keep.capability
join tool_lists on tool_lists.capability = keep.capability
left join excluded on excluded.capability = keep.capability
left join capabilities on capabilities.slug = keep.capability
where keep.rank = 1 and (params.team is null or team_counts.includes_team)
order by per_capability.savings_ceiling desc, keep.capability
