-- Contracts whose next renewal or notice deadline is near, with how much they
-- are used and what to do by when: cancel (nobody used it, or it is being
-- retired), right-size (utilisation under the floor: keep active users plus
-- headroom) or renew. Money is in the base currency at the rate in force on the
-- as-of day (rate_date), beside the contract's own figure and currency; a
-- currency with no rate then leaves the base figures empty, and a note says why.
--
-- The next renewal is the stated renewal date; for a contract that renews
-- itself on a monthly, quarterly or annual cycle and whose stated date has
-- passed, it is the first renewal of that cycle on or after the as-of day.
-- cancel_by is the next renewal less the notice period: in months, the same
-- day of an earlier month (the last day of a shorter month), as contracts
-- count it. A contract is listed when the earlier of the two dates is within
-- the window and its renewal is still ahead.
with params as (
  select
    coalesce(nullif(:period, ''), (select max(period) from tool_period_summary)) as period,
    -- A team's slug: the SQL every reader runs has turned a name into it (choices.with_team_names).
    nullif(:team, '') as team,
    coalesce(nullif(:as_of, ''), date('now')) as as_of,
    coalesce(cast(nullif(:renewal_window_days, '') as integer), 90) as renewal_window_days,
    coalesce(cast(nullif(:utilization_floor, '') as real), 0.8) as utilization_floor,
    coalesce(cast(nullif(:seat_headroom, '') as real), 0.1) as seat_headroom
),
contracts as (
  select
    tools.*,
    case when auto_renew = 1 then case billing_cycle when 'monthly' then 1 when 'quarterly' then 3 when 'annual' then 12 end end
      as cycle_months,
    -- Whole cycles from the stated renewal to the as-of month (0 when it is ahead).
    max(0, (cast(strftime('%Y', params.as_of) as integer) - cast(strftime('%Y', renewal_date) as integer)) * 12
           + cast(strftime('%m', params.as_of) as integer) - cast(strftime('%m', renewal_date) as integer)) as months_behind,
    cast(strftime('%d', renewal_date) as integer) as renewal_day,
    params.as_of
  from tools, params
  where renewal_date is not null and tools.status <> 'retired'
    and (params.team is null or tools.owner_team = params.team)
),
candidates as (
  -- A contract that renews itself and whose stated date has passed may next renew in the as-of
  -- month or one cycle later; any other has its stated date.
  select contracts.*, cycle_months * (months_behind / cycle_months + step.number) as months
  from contracts join (select 0 as number union all select 1) as step
  where cycle_months is not null and renewal_date < as_of
  union all
  select contracts.*, 0 from contracts where cycle_months is null or renewal_date >= as_of
),
dated as (
  -- Month arithmetic that keeps the day of the month, or the month's last day when it is shorter:
  -- the month's start moved by whole months, the day added back, never past that month's end.
  select candidates.*,
    min(date(renewal_date, 'start of month', printf('%+d months', months), printf('+%d days', renewal_day - 1)),
        date(renewal_date, 'start of month', printf('%+d months', months + 1), '-1 day')) as renews_on
  from candidates
),
renewing as (
  -- The next renewal: the first candidate on or after the as-of day.
  select * from (
    select dated.*, row_number() over (partition by slug order by renews_on) as rank
    from dated where renews_on >= as_of
  ) where rank = 1
),
deadlines as (
  select renewing.*,
    case
      when notice_period is null then null
      when notice_period like '% day%' then date(renews_on, printf('-%d days', cast(notice_period as integer)))
      else min(
        date(renews_on, 'start of month', printf('-%d months', cast(notice_period as integer)),
             printf('+%d days', cast(strftime('%d', renews_on) as integer) - 1)),
        date(renews_on, 'start of month', printf('-%d months', cast(notice_period as integer) - 1), '-1 day'))
    end as cancel_by
  from renewing
),
due as (
  select
    deadlines.*,
    cast(julianday(renews_on) - julianday(params.as_of) as integer) as days_left,
    cast(julianday(cancel_by) - julianday(params.as_of) as integer) as days_to_cancel_by,
    cost.annual_cost as annual_cost_base,
    cost.price_per_seat as price_per_seat_base,
    cost.rate_date,
    cost.tool is not null as priced,
    upper(coalesce(deadlines.currency, (select currency from base_currency))) as contract_currency,
    summary.tool is not null as has_usage,
    summary.teams_using,
    summary.active_users,
    round(summary.active_users * 1.0 / nullif(deadlines.seats_purchased, 0), 4) as utilization,
    -- Seats for the active users plus headroom (round() first, so that
    -- 50 x 1.1 is 55, not 55.00000000000001 and so 56 once rounded up).
    round(summary.active_users * (1 + params.seat_headroom), 6) as seats_needed,
    params.period,
    params.utilization_floor
  from deadlines, params
  left join tool_costs as cost on cost.tool = deadlines.slug
    and params.as_of >= cost.valid_from and params.as_of < cost.valid_until
  left join tool_period_summary as summary on summary.tool = deadlines.slug and summary.period = params.period
  where min(renews_on, coalesce(cancel_by, renews_on)) <= date(params.as_of, '+' || params.renewal_window_days || ' days')
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
    end as recommendation,
    -- The day by which a change must reach the vendor: the notice deadline while it is ahead, else the renewal.
    case when cancel_by >= as_of then cancel_by else renews_on end as act_by
  from sized
)
select
  slug as tool,
  owner_team,
  renews_on as renewal_date,
  days_left,
  auto_renew,
  notice_period,
  cancel_by,
  days_to_cancel_by,
  annual_cost_base as annual_cost,
  (select currency from base_currency) as currency,
  rate_date,
  annual_cost as contract_cost,
  contract_currency,
  seats_purchased as seats,
  coalesce(round(price_per_seat_base, 2), round(annual_cost_base * 1.0 / nullif(seats_purchased, 0), 2)) as price_per_seat,
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
  end as reason,
  act_by,
  case
    when recommendation = 'cancel' and cancel_by >= as_of then 'Give notice by ' || cancel_by || ' (' || notice_period || ' before it renews).'
    when recommendation = 'cancel' and cancel_by is not null then
      'The notice date, ' || cancel_by || ', has passed: ask the vendor now, or it renews on ' || renews_on || '.'
    when recommendation = 'cancel' then 'Cancel before ' || renews_on || '; the notice period is not known: check the contract.'
    when recommendation = 'right-size' then 'Agree ' || right_size_seats || ' seats with the vendor by ' || act_by || '.'
    when recommendation = 'renew' and auto_renew = 1 then 'Nothing to do: it renews itself on ' || renews_on || '.'
    when recommendation = 'renew' then 'Renew by ' || renews_on || '.'
    else 'Find out who uses it by ' || act_by || '.'
  end as action,
  case when not priced and annual_cost is not null
    then 'The contract is in ' || contract_currency || ', which has no exchange rate into '
      || (select currency from base_currency) || ' in force on ' || as_of || ': its cost is left out.'
  end as note
from judged
order by min(renews_on, coalesce(cancel_by, renews_on)), tool
