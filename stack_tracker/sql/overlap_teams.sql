-- Capabilities where teams do not all use the same tools: two or more teams
-- and two or more tools in use for it, with each team's choice spelled out.
with params as (
  select
    coalesce(nullif(:period, ''), (select max(period) from tool_period_summary)) as period,
    nullif(:team, '') as team,
    coalesce(cast(nullif(:primary_only, '') as integer), 0) as primary_only
),
choices as (
  select provides.capability, used.team, used.tool
  from usage_effective as used
  cross join params
  join tool_capabilities as provides
    on provides.tool = used.tool and (params.primary_only = 0 or provides."primary" = 1)
  where used.period = (select period from params) and used.in_use
),
-- Teams differ unless every team uses every tool for it.
fragmented as (
  select capability, count(distinct tool) as tools, count(distinct team) as teams
  from choices
  group by capability
  having tools >= 2 and teams >= 2 and count(*) < tools * teams
),
-- The teams using each tool for each such capability, in order.
tool_teams as (
  select capability, tool, group_concat(team, ', ') as teams
  from (
    select choices.* from choices join fragmented on fragmented.capability = choices.capability
    order by choices.capability, choices.tool, choices.team
  )
  group by capability, tool
),
-- "HubSpot: brand, growth; Mailchimp: brand", tools by name.
details as (
  select capability, group_concat(name || ': ' || teams, '; ') as detail
  from (
    select tool_teams.*, tools.name from tool_teams join tools on tools.slug = tool_teams.tool
    order by tool_teams.capability, tools.name, tool_teams.tool
  )
  group by capability
)
select
  params.period,
  fragmented.capability,
  capabilities.name as capability_name,
  fragmented.tools,
  fragmented.teams,
  details.detail
from fragmented, params
join details on details.capability = fragmented.capability
left join capabilities on capabilities.slug = fragmented.capability
where params.team is null
  or exists (
    select 1 from choices
    where choices.capability = fragmented.capability and choices.team = params.team
  )
order by fragmented.teams desc, fragmented.capability
