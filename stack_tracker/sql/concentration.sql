-- Tools, and teams' use of tools, that rest on one person: at most one active
-- user, or one person doing half or more of the recorded activity (where
-- per-person activity exists). Tools nobody used are shelfware, not
-- concentration: they are in the gaps report.
with params as (
  select
    coalesce(nullif(:period, ''), (select max(period) from tool_period_summary)) as period,
    nullif(:team, '') as team,
    coalesce(cast(nullif(:max_active_users, '') as integer), 1) as max_active_users,
    coalesce(cast(nullif(:top_user_share, '') as real), 0.5) as top_user_share
),
-- Whole tools (team is null): usage figures, with activity where it exists,
-- then tools known only from activity.
tool_rows as (
  select
    null as team,
    summary.tool,
    coalesce(summary.active_users, activity.users) as active_users,
    activity.top_user_activity,
    activity.activity
  from tool_period_summary as summary
  cross join params
  left join tool_activity_summary as activity on activity.period = summary.period and activity.tool = summary.tool
  where summary.period = (select period from params) and params.team is null
  union all
  select null, activity.tool, activity.users, activity.top_user_activity, activity.activity
  from tool_activity_summary as activity
  cross join params
  where activity.period = (select period from params) and params.team is null
    and not exists (
      select 1 from tool_period_summary as summary
      where summary.period = activity.period and summary.tool = activity.tool
    )
),
-- Each team's use of each tool, the same way.
pair_rows as (
  select used.team, used.tool, coalesce(used.active_users, activity.users), activity.top_user_activity, activity.activity
  from usage_effective as used
  cross join params
  left join team_tool_activity_summary as activity
    on activity.period = used.period and activity.team = used.team and activity.tool = used.tool
  where used.period = (select period from params) and (params.team is null or used.team = params.team)
  union all
  select activity.team, activity.tool, activity.users, activity.top_user_activity, activity.activity
  from team_tool_activity_summary as activity
  cross join params
  where activity.period = (select period from params)
    and (params.team is null or activity.team = params.team)
    and not exists (
      select 1 from usage_effective as used
      where used.period = activity.period and used.team = activity.team and used.tool = activity.tool
    )
),
judged as (
  select
    candidate.*,
    candidate.active_users between 1 and params.max_active_users as few_users,
    candidate.top_user_activity * 1.0 / nullif(candidate.activity, 0) as top_user_share
  from (select * from tool_rows union all select * from pair_rows) as candidate, params
)
select
  params.period,
  judged.team,
  judged.tool,
  tools.name,
  judged.active_users,
  round(judged.top_user_share, 4) as top_user_share,
  case
    when few_users then judged.active_users || ' active user' || iif(judged.active_users = 1, '', 's')
    else 'one person does ' || printf('%.0f%%', judged.top_user_share * 100) || ' of the recorded activity'
  end as reason
from judged
cross join params
cross join tools on tools.slug = judged.tool
where judged.few_users or judged.top_user_share >= params.top_user_share
order by judged.team is not null, judged.team, judged.tool
