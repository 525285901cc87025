-- One row per tool that could go in the month: every job it does is done by a
-- tool being kept (consolidation_candidates, which says how that is judged).
-- finding 'cut': the teams using it already use the tools that take over, and
-- its cost is a saving (`saving`, in the base currency; each tool once).
-- finding 'standardise': some teams using it would have to move to a tool
-- other teams chose: a question for those teams, and no saving until settled.
-- With the jobs it does and which tool takes over each, the active users who
-- would move, the people sign-ins show already using both, the confidence,
-- the catalog guesses the finding rests on, and all of it in a sentence.
with params as (
  select
    coalesce(nullif(:period, ''), (select max(period) from tool_period_summary)) as period,
    -- A team's slug: the SQL every reader runs has turned a name into it (choices.with_team_names).
    nullif(:team, '') as team,
    (select currency from base_currency) as currency
),
candidates as (
  select
    candidate.*,
    tools.name,
    -- In the base currency at the rate in force on the month's last day; a tool whose currency has none is named.
    cost.annual_cost,
    cost.rate_date,
    upper(coalesce(tools.currency, params.currency)) as tool_currency,
    cost.tool is not null as in_base_currency,
    keeper.name as keep_name,
    summary.active_users
  from consolidation_candidates as candidate
  cross join params
  join tools on tools.slug = candidate.tool
  left join tool_costs as cost on cost.tool = candidate.tool
    and date(params.period || '-01', '+1 month', '-1 day') >= cost.valid_from
    and date(params.period || '-01', '+1 month', '-1 day') < cost.valid_until
  join tools as keeper on keeper.slug = candidate.keep_tool
  join tool_period_summary as summary on summary.period = candidate.period and summary.tool = candidate.tool
  where candidate.period = (select period from params) and candidate.finding in ('cut', 'standardise')
    and (
      params.team is null or exists (
        select 1 from usage_effective as used
        where used.period = candidate.period and used.team = params.team and used.tool = candidate.tool and used.in_use
      )
    )
),
-- Each job with its capability's and its takeover's names, the main job first.
jobs as (
  select
    candidates.tool,
    job.key as position,
    json_extract(job.value, '$.primary') as is_primary,
    capabilities.name as capability_name,
    json_extract(job.value, '$.takeover') as takeover,
    takeover.name as takeover_name,
    json_extract(job.value, '$.source') = 'catalog' as guessed,
    json_extract(job.value, '$.takeover_source') = 'catalog' as takeover_guessed
  from candidates
  cross join json_each(candidates.jobs) as job
  join capabilities on capabilities.slug = json_extract(job.value, '$.capability')
  join tools as takeover on takeover.slug = json_extract(job.value, '$.takeover')
),
per_tool as (
  select
    tool,
    group_concat(capability_name, '; ') as capabilities,
    group_concat(capability_name || ': ' || takeover_name, '; ') as takeovers,
    json_group_array(distinct takeover) as takeover_tools,
    -- What the finding rests on that only the catalog says: the candidate's own main
    -- job (the overlap itself), or a tool being kept doing one of its jobs.
    group_concat(
      case
        when takeover_guessed then takeover_name || ' does ' || capability_name
        when guessed and is_primary then name_of_tool || ' does ' || capability_name
      end,
      '; '
    ) as catalog_guesses
  from (
    select jobs.*, candidates.name as name_of_tool
    from jobs join candidates on candidates.tool = jobs.tool
    order by jobs.tool, jobs.position
  )
  group by tool
),
-- "Zoom Webinars takes over Events, meetings & webinars", one clause per tool taking over.
handovers as (
  select tool, group_concat(takeover_name || ' takes over ' || capability_list, '; ') as handover
  from (
    select tool, takeover_name, group_concat(capability_name, ', ') as capability_list, min(position) as first
    from (select * from jobs order by tool, position)
    group by tool, takeover
    order by tool, first
  )
  group by tool
),
team_names as (
  select
    candidates.tool,
    -- The teams using it, as summed at refresh for its main job, by name.
    (
      select group_concat(name, ', ') from (
        select teams.name
        from capability_tool_teams as users
        cross join json_each('["' || replace(users.team_list, ', ', '","') || '"]') as team
        join teams on teams.slug = team.value
        where users.period = candidates.period and users.capability = candidates.capability
          and users.tool = candidates.tool
        order by teams.name
      )
    ) as teams,
    (
      select group_concat(teams.name, ', ')
      from json_each(candidates.teams_moving) as moving join teams on teams.slug = moving.value
    ) as teams_moving
  from candidates
)
select
  params.period,
  candidates.tool,
  candidates.finding,
  candidates.confidence,
  params.currency,
  candidates.annual_cost,
  candidates.tool_currency,
  candidates.rate_date,
  case when candidates.finding = 'cut' and candidates.in_base_currency then candidates.annual_cost end as saving,
  per_tool.capabilities,
  per_tool.takeovers,
  per_tool.takeover_tools,
  -- The tool that takes over its main job: the one kept in its overlap.
  candidates.keep_tool as keep_candidate,
  candidates.active_users as users_to_move,
  candidates.shared_users,
  team_names.teams,
  team_names.teams_moving,
  per_tool.catalog_guesses,
  handovers.handover || '. '
    || case candidates.finding
      when 'cut' then
        'Its ' || coalesce(candidates.active_users, 0) || ' active user' || iif(candidates.active_users = 1, ' is', 's are')
        || ' in teams that already use ' || iif(json_array_length(per_tool.takeover_tools) = 1, 'it', 'them') || '.'
      else
        team_names.teams_moving || iif(instr(team_names.teams_moving, ', '), ' use ', ' uses ') || candidates.name
        || ' where other teams use ' || candidates.keep_name
        || ': a standardisation question for them, not a saving until they agree on one tool.'
    end
    || case
      when candidates.shared_users > 0 then
        ' Sign-ins show ' || candidates.shared_users || ' of its people already using ' || candidates.keep_name || '.'
      when candidates.shared_users = 0 then
        ' Sign-ins show none of its people using ' || candidates.keep_name || ' yet.'
      else ''
    end
    || case
      when per_tool.catalog_guesses is not null then
        ' Rests on what only the catalog says (unconfirmed): ' || per_tool.catalog_guesses || '.'
      else ''
    end as detail
from candidates, params
join per_tool on per_tool.tool = candidates.tool
join handovers on handovers.tool = candidates.tool
join team_names on team_names.tool = candidates.tool
order by candidates.finding = 'standardise', saving desc, candidates.annual_cost desc, candidates.name
