-- One row per tool and month, summed over teams from usage_effective.
-- Utilisation compares like with like: `compared_seats` and
-- `compared_active_users` only count team rows that give both figures.
select
  tool,
  period,
  count(*) as teams_reporting,
  sum(in_use) as teams_using,
  sum(seats) as seats,
  sum(active_users) as active_users,
  sum(case when active_users is not null then seats end) as compared_seats,
  sum(case when seats is not null then active_users end) as compared_active_users,
  sum(idle_seats) as idle_seats,
  sum(sessions) as sessions,
  -- Which sources the active-user figures came from, measured first.
  nullif(rtrim(
    iif(max(source = 'sso'), 'sso, ', '')
    || iif(max(source = 'vendor'), 'vendor, ', '')
    || iif(max(source = 'reported'), 'reported, ', ''),
    ', '
  ), '') as sources,
  -- The first month with data for this tool (to tell new use from old): one
  -- seek in usage's (tool, period) index. A window over all months would
  -- read every month even when only one month's rows are wanted.
  (select min(first.period) from usage as first where first.tool = usage_effective.tool) as first_period
from usage_effective
group by tool, period
