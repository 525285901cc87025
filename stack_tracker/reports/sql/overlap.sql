-- Capabilities two or more tools in use are mainly for (kind 'overlap'), and,
-- apart, capabilities one tool is mainly for and others only also do (kind
-- 'also does': a side line, never an overlap). Tools in use under an active
-- contract only (capability_contenders). For an overlap: the tools and teams,
-- their combined annual cost, the tool to keep (most active users), and what
-- became of the others (consolidation_candidates): the ones that could go,
-- whose cost is the savings ceiling (each tool counted once, under the first
-- capability it is challenged in); the ones different teams chose, a
-- standardisation question and not a saving; and the ones that overlap only
-- partly, with the job no tool being kept does. `catalog_guesses`: the tools
-- the row counts on the catalog's word alone for doing the capability.
with params as (
  select
    coalesce(nullif(:period, ''), (select max(period) from tool_period_summary)) as period,
    -- A team's slug: the SQL every reader runs has turned a name into it (choices.with_team_names).
    nullif(:team, '') as team,
    (select currency from base_currency) as currency
),
contenders as (
  select
    contender.capability,
    contender.tool,
    contender."primary",
    contender.place,
    contender.active_users,
    contender.teams_using,
    contender.source,
    tools.name,
    -- In the base currency at the rate in force on the month's last day; a tool whose currency has none is named.
    cost.annual_cost,
    cost.rate_date,
    upper(coalesce(tools.currency, params.currency)) as tool_currency,
    cost.tool is not null as in_base_currency
  from capability_contenders as contender
  cross join params
  join tools on tools.slug = contender.tool
  left join tool_costs as cost on cost.tool = contender.tool
    and date(params.period || '-01', '+1 month', '-1 day') >= cost.valid_from
    and date(params.period || '-01', '+1 month', '-1 day') < cost.valid_until
  where contender.period = (select period from params)
),
-- "Zoom Webinars (3 teams, 10 active)": mainly for it in place order, the ones that also do it by use.
listed as (
  select *, name || ' (' || teams_using || ' team' || iif(teams_using = 1, '', 's') || ', ' || active_users || ' active)' as label
  from contenders
  order by capability, "primary" desc, place, active_users desc, name
),
capability_rows as (
  select
    capability,
    sum("primary") as tools,
    count(*) - sum("primary") as other_tools,
    iif(sum("primary") >= 2, 'overlap', 'also does') as kind,
    group_concat(case when "primary" then label end, '; ') as tool_list,
    group_concat(case when not "primary" then label end, '; ') as also_does,
    -- The rows the row rests on that only the catalog says, unconfirmed.
    group_concat(case when source = 'catalog' then name end, ', ') as catalog_guesses,
    case when sum("primary") >= 2 then sum(case when "primary" and in_base_currency then annual_cost end) end as combined_cost,
    max(case when "primary" then rate_date end) as rate_date,
    case when sum("primary") >= 2 then max(case when place = 1 then tool end) end as keep_candidate
  from listed
  group by capability
  having count(*) >= 2
),
-- The teams using a tool that does it (summed per team at refresh).
team_counts as (
  select coverage.capability, count(*) as teams, max(coverage.team = params.team) as includes_team
  from team_capability_coverage as coverage
  cross join params
  where coverage.period = (select period from params)
  group by coverage.capability
),
-- The challenged tools of each overlap, by verdict, with their reasons.
verdicts as (
  select
    candidate.capability,
    candidate.finding,
    contenders.name,
    contenders.annual_cost,
    contenders.in_base_currency,
    (
      select group_concat(
        iif(json_extract(job.value, '$.sole'), 'also the only tool in use for ', 'also does ') || capabilities.name
          || iif(json_extract(job.value, '$.sole'), '', ', which no tool being kept does')
          || iif(json_extract(job.value, '$.source') = 'catalog', ' (from the catalog, unconfirmed)', ''),
        '; ')
      from json_each(candidate.jobs) as job
      join capabilities on capabilities.slug = json_extract(job.value, '$.capability')
      where json_extract(job.value, '$.takeover') is null
    ) as reason,
    (
      select group_concat(teams.name, ', ')
      from json_each(candidate.teams_moving) as moving
      join teams on teams.slug = moving.value
    ) as teams_moving
  from consolidation_candidates as candidate
  cross join params
  join contenders on contenders.capability = candidate.capability and contenders.tool = candidate.tool
  where candidate.period = params.period
),
by_verdict as (
  select
    capability,
    group_concat(case when finding = 'cut' then name end, ', ') as cut_candidates,
    sum(case when finding = 'cut' and in_base_currency then annual_cost end) as cut_cost,
    group_concat(case when finding = 'standardise' then name || ' (' || teams_moving || ')' end, '; ') as standardise,
    group_concat(case when finding = 'overlaps partly' then name || ': ' || reason end, '; ') as overlaps_partly
  from (select * from verdicts order by capability, name)
  group by capability
),
excluded as (
  select capability, group_concat(name || ' (' || tool_currency || ')', ', ') as excluded_currency_tools
  from (select * from contenders where "primary" and not in_base_currency order by capability, name, tool)
  group by capability
)
select
  params.period,
  capability_rows.capability,
  capabilities.name as capability_name,
  capability_rows.kind,
  capability_rows.tools,
  capability_rows.other_tools,
  team_counts.teams,
  capability_rows.tool_list,
  capability_rows.also_does,
  capability_rows.catalog_guesses,
  params.currency,
  capability_rows.rate_date,
  capability_rows.combined_cost,
  capability_rows.keep_candidate,
  by_verdict.cut_candidates,
  -- What the tools that could go cost: none is also counted under another capability.
  case when capability_rows.combined_cost is not null then coalesce(by_verdict.cut_cost, 0) end as savings_ceiling,
  by_verdict.standardise,
  by_verdict.overlaps_partly,
  case when capability_rows.kind = 'overlap' then excluded.excluded_currency_tools end as excluded_currency_tools
from capability_rows, params
join team_counts on team_counts.capability = capability_rows.capability
left join by_verdict on by_verdict.capability = capability_rows.capability
left join excluded on excluded.capability = capability_rows.capability
left join capabilities on capabilities.slug = capability_rows.capability
where params.team is null or team_counts.includes_team
order by capability_rows.kind = 'also does', savings_ceiling desc, capability_rows.combined_cost desc, capability_rows.capability
