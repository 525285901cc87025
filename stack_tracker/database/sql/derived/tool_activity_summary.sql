-- Per-person activity summed per tool and month, with the busiest person's
-- share of it: activity is events, or active days where events are missing.
select
  tool,
  period,
  count(*) as users,
  sum(activity) as activity,
  max(activity) as top_user_activity
from (
  select tool, period, coalesce(events, active_days) as activity
  from user_activity
)
group by tool, period
