-- Capabilities where teams do not all use the same tools: two or more teams
-- and two or more tools in use for it, with each team's choice spelled out.
with params as (
  select
    coalesce(nullif(:period, ''), (select max(period) from tool_period_summary)) as period,
    -- A team's slug: the SQL every reader runs has turned a name into it (choices.with_team_names).
    nullif(:team, '') as team,
    coalesce(cast(nullif(:primary_only, '') as integer), 0) as primary_only
),
-- Each tool in use for each capability, with the teams using it.
tool_teams as (
  select capability_tool.capability, capability_tool.tool, capability_tool.teams_using, capability_tool.team_list
  from capability_tool_teams as capability_tool
  cross join params
  where capability_tool.period = (select period from params)
    and (params.primary_only = 0 or capability_tool."primary" = 1)
),
-- The teams with a tool in use for each capability.
team_counts as (
  select coverage.capability, count(*) as teams, max(coverage.team = params.team) as includes_team
  from team_capability_coverage as coverage
  cross join params
  where coverage.period = (select period from params)
    and (params.primary_only = 0 or coverage.primary_tools > 0)
  group by coverage.capability
),
-- Teams differ unless every team uses every tool for it: fewer team × tool
-- choices than teams times tools.
fragmented as (
  select per_capability.capability, per_capability.tools, team_counts.teams, team_counts.includes_team
  from (
    select capability, count(*) as tools, sum(teams_using) as choices
    from tool_teams
    group by capability
  ) as per_capability
  join team_counts on team_counts.capability = per_capability.capability
  where per_capability.tools >= 2 and team_counts.teams >= 2
    and per_capability.choices < per_capability.tools * team_counts.teams
),
-- "HubSpot: Brand, Growth; Mailchimp: Brand", tools and teams by name.
details as (
  select capability, group_concat(name || ': ' || team_names, '; ') as detail
  from (
    select
      tool_teams.capability,
      tools.name,
      -- team_list is slugs joined by ', ' (slugs hold neither commas nor quotes).
      (
        select group_concat(coalesce(teams.name, listed.value), ', ')
        from json_each('["' || replace(tool_teams.team_list, ', ', '","') || '"]') as listed
        left join teams on teams.slug = listed.value
      ) as team_names
    from tool_teams
    join fragmented on fragmented.capability = tool_teams.capability
    join tools on tools.slug = tool_teams.tool
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
where params.team is null or fragmented.includes_team
order by fragmented.teams desc, fragmented.capability
