-- What the concentration report judges, for every month: how many people use
-- each tool (team '') and each team's use of each tool, and the busiest
-- person's share of the recorded activity. Usage figures come first, with
-- activity where it exists; then what is known only from activity.
select summary.period, '' as team, summary.tool,
  coalesce(summary.active_users, activity.users) as active_users,
  activity.top_user_activity * 1.0 / nullif(activity.activity, 0) as top_user_share
from tool_period_summary as summary
left join tool_activity_summary as activity on activity.period = summary.period and activity.tool = summary.tool
union all
select activity.period, '', activity.tool, activity.users,
  activity.top_user_activity * 1.0 / nullif(activity.activity, 0)
from tool_activity_summary as activity
where not exists (
  select 1 from tool_period_summary as summary
  where summary.period = activity.period and summary.tool = activity.tool
)
union all
select used.period, used.team, used.tool,
  coalesce(used.active_users, activity.users),
  activity.top_user_activity * 1.0 / nullif(activity.activity, 0)
from usage_effective as used
left join team_tool_activity_summary as activity
  on activity.period = used.period and activity.team = used.team and activity.tool = used.tool
union all
select activity.period, activity.team, activity.tool, activity.users,
  activity.top_user_activity * 1.0 / nullif(activity.activity, 0)
from team_tool_activity_summary as activity
where not exists (
  select 1 from usage_effective as used
  where used.period = activity.period and used.team = activity.team and used.tool = activity.tool
)
