-- Contracts renewing soon, with how much they are used and what to do:
-- cancel (nobody used it, or it is being retired), right-size (utilisation
-- under the floor: keep active users plus headroom) or renew. Cost is shown
-- as the contract states it, in its own currency.
with params as (
  select
    coalesce(nullif(:period, ''), (select max(period) from tool_period_summary)) as period,
    nullif(:team, '') as team,
    coalesce(nullif(:as_of, ''), date('now')) as as_of,
    coalesce(cast(nullif(:renewal_window_days, '') as integer), 90) as renewal_window_days,
    coalesce(cast(nullif(:utilization_floor, '') as real), 0.8) as utilization_floor,
    coalesce(cast(nullif(:seat_headroom, '') as real), 0.1) as seat_headroom
),
due as (
  select
    tools.*,
    cast(julianday(tools.renewal_date) - julianday(params.as_of) as integer) as days_left,
    summary.tool is not null as has_usage,
    summary.teams_using,
    summary.active_users,
    round(summary.active_users * 1.0 / nullif(tools.seats_purchased, 0), 4) as utilization,
    -- Seats for the active users plus headroom (round() first, so that
    -- 50 x 1.1 is 55, not 55.00000000000001 and so 56 once rounded up).
    round(summary.active_users * (1 + params.seat_headroom), 6) as seats_needed,
    params.period,
    params.utilization_floor
  from tools, params
  left join tool_period_summary as summary on summary.tool = tools.slug and summary.period = params.period
  where tools.renewal_date >= params.as_of
    and tools.renewal_date <= date(params.as_of, '+' || params.renewal_window_days || ' days')
    and tools.status <> 'retired'
    and (params.team is null or tools.owner_team = params.team)
),
sized as (
  -- Rounded up, without ceil(), which not every SQLite build has.
  select due.*, cast(seats_needed as integer) + (seats_needed > cast(seats_needed as integer)) as right_size_seats
  from due
),
judged as (
  select
    sized.*,
    case
      when status = 'retiring' then 'cancel'
      when not has_usage then null
      when teams_using = 0 then 'cancel'
      when utilization < utilization_floor and right_size_seats < seats_purchased then 'right-size'
      else 'renew'
    end as recommendation
  from sized
)
select
  slug as tool,
  name,
  owner_team,
  renewal_date,
  days_left,
  auto_renew,
  annual_cost,
  currency,
  seats_purchased as seats,
  active_users,
  utilization,
  recommendation,
  case recommendation
    when 'cancel' then 0
    when 'right-size' then right_size_seats
    when 'renew' then seats_purchased
  end as recommended_seats,
  case
    when status = 'retiring' then 'Marked as retiring.'
    when not has_usage then 'No usage data for ' || coalesce(period, 'any month') || ': find out who uses it before renewing.'
    when teams_using = 0 then 'Nobody used it in ' || period || '.'
    when seats_purchased is null or seats_purchased = 0 then
      coalesce(active_users, 'An unknown number of') || ' active users; the contract gives no seat count.'
    when active_users is null then 'In use, but no active-user count to size the contract by.'
    else active_users || ' of ' || seats_purchased || ' seats active in ' || period
      || ' (' || printf('%.0f%%', utilization * 100) || ').'
  end as reason
from judged
order by renewal_date, tool
