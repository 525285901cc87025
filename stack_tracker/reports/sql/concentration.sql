-- Tools, and teams' use of tools, that rest on one person: at most one active
-- user, or one person doing half or more of the recorded activity (where
-- per-person activity exists). Tools nobody used are shelfware, not
-- concentration: they are in the gaps report.
with params as (
  select
    coalesce(nullif(:period, ''), (select max(period) from tool_period_summary)) as period,
    -- A team's slug: the SQL every reader runs has turned a name into it (choices.with_team_names).
    nullif(:team, '') as team,
    coalesce(cast(nullif(:max_active_users, '') as integer), 1) as max_active_users,
    coalesce(cast(nullif(:top_user_share, '') as real), 0.5) as top_user_share
),
-- Whole tools (team '') and each team's use of each tool: without a team
-- every row of the month, with one only that team's.
judged as (
  select
    inputs.team,
    inputs.tool,
    inputs.active_users,
    inputs.top_user_share,
    inputs.active_users between 1 and params.max_active_users as few_users,
    inputs.top_user_share >= params.top_user_share as busiest_dominates
  from concentration_inputs as inputs
  cross join params
  where inputs.period = (select period from params)
    and (params.team is null or inputs.team = params.team)
)
select
  params.period,
  nullif(judged.team, '') as team,
  judged.tool,
  judged.active_users,
  round(judged.top_user_share, 4) as top_user_share,
  case
    when few_users then judged.active_users || ' active user' || iif(judged.active_users = 1, '', 's')
    else 'one person does ' || printf('%.0f%%', judged.top_user_share * 100) || ' of the recorded activity'
  end as reason
from judged
cross join params
where judged.few_users or judged.busiest_dominates
-- Whole tools first: '' sorts before every team.
order by judged.team, judged.tool
