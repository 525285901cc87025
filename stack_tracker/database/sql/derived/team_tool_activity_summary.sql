-- As tool_activity_summary, but per team, tool and month (people whose team
-- is unknown count for the tool only).
select
  team,
  tool,
  period,
  count(*) as users,
  sum(activity) as activity,
  max(activity) as top_user_activity
from (
  select team, tool, period, coalesce(events, active_days) as activity
  from user_activity
  where team is not null
)
group by team, tool, period
