-- One row per team, tool and month: the best figure for each measure.
-- Measured beats reported (sso > vendor > reported), measure by measure: a
-- sign-in log knows who was active but rarely how many seats were assigned, so
-- seats may come from a survey while active users come from SSO. `source` and
-- `seats_source` say which source each figure came from.
select
  team,
  tool,
  period,
  source,
  seats_source,
  seats,
  active_users,
  usage_level,
  sessions,
  -- In use: someone was active; a survey level counts only when no count exists.
  coalesce(active_users > 0, usage_level > 0, 0) as in_use,
  case when seats is not null and active_users is not null then max(seats - active_users, 0) end as idle_seats,
  -- The first month with data for this team and tool (to tell new use from
  -- old); a lookup in usage's key, much cheaper than a window over the result.
  (
    select min(first.period) from usage as first
    where first.team = grouped.team and first.tool = grouped.tool
  ) as first_period
from (
  select
    team,
    tool,
    period,
    -- Whose active users these are; with none, the best source there is.
    case
      when sso_active_users is not null then 'sso'
      when vendor_active_users is not null then 'vendor'
      when reported_active_users is not null then 'reported'
      when has_sso then 'sso'
      when has_vendor then 'vendor'
      else 'reported'
    end as source,
    case
      when sso_seats is not null then 'sso'
      when vendor_seats is not null then 'vendor'
      when reported_seats is not null then 'reported'
    end as seats_source,
    coalesce(sso_seats, vendor_seats, reported_seats) as seats,
    coalesce(sso_active_users, vendor_active_users, reported_active_users) as active_users,
    usage_level,
    sessions
  from (
    -- Each source's figures side by side: the key holds one row per source, so
    -- max() just picks that row's value. The figures the source columns need
    -- are computed once here, not once more for each of them.
    select
      team,
      tool,
      period,
      max(source = 'sso') as has_sso,
      max(source = 'vendor') as has_vendor,
      max(case when source = 'sso' then seats end) as sso_seats,
      max(case when source = 'vendor' then seats end) as vendor_seats,
      max(case when source = 'reported' then seats end) as reported_seats,
      max(case when source = 'sso' then active_users end) as sso_active_users,
      max(case when source = 'vendor' then active_users end) as vendor_active_users,
      max(case when source = 'reported' then active_users end) as reported_active_users,
      coalesce(
        max(case when source = 'sso' then usage_level end),
        max(case when source = 'vendor' then usage_level end),
        max(case when source = 'reported' then usage_level end)
      ) as usage_level,
      coalesce(
        max(case when source = 'sso' then sessions end),
        max(case when source = 'vendor' then sessions end),
        max(case when source = 'reported' then sessions end)
      ) as sessions
    from usage
    group by team, tool, period
  )
) as grouped
