-- Adoption per team and tool for one month: the team's seats, active users,
-- utilisation, change against a few months earlier, idle-seat cost and stage,
-- with the source each figure came from.
with params as (
  select
    *,
    strftime('%Y-%m', period || '-01', '-' || change_periods || ' months') as earlier_period,
    (select min(period) from tool_period_summary) as first_tracked_period
  from (
    select
      coalesce(nullif(:period, ''), (select max(period) from tool_period_summary)) as period,
      -- A team's slug: the SQL every reader runs has turned a name into it (choices.with_team_names).
      nullif(:team, '') as team,
      (select currency from base_currency) as currency,
      coalesce(cast(nullif(:change_periods, '') as integer), 3) as change_periods,
      coalesce(cast(nullif(:growth_threshold, '') as real), 0.1) as growth_threshold
  )
),
figures as (
  select
    used.period,
    used.team,
    used.tool,
    used.in_use,
    used.seats,
    used.active_users,
    round(used.active_users * 1.0 / nullif(used.seats, 0), 4) as utilization,
    earlier.active_users as earlier_active_users,
    round((used.active_users - earlier.active_users) * 1.0 / nullif(earlier.active_users, 0), 4) as change,
    used.idle_seats,
    used.source,
    used.seats_source,
    -- Money in the base currency, at the rate in force on the month's last day.
    cost.annual_cost,
    cost.rate_date,
    cost.tool is not null as priced,
    tools.seats_purchased,
    upper(coalesce(tools.currency, params.currency)) as tool_currency,
    params.currency,
    params.earlier_period,
    params.first_tracked_period,
    params.growth_threshold,
    used.first_period
  -- CROSS JOIN keeps usage_effective the outer loop, so its rows come out
  -- already in (team, tool) order and nothing needs sorting.
  from usage_effective as used
  cross join params
  join tools on tools.slug = used.tool
  left join tool_costs as cost on cost.tool = used.tool
    and date(used.period || '-01', '+1 month', '-1 day') >= cost.valid_from
    and date(used.period || '-01', '+1 month', '-1 day') < cost.valid_until
  left join usage_effective as earlier
    on earlier.period = params.earlier_period and earlier.team = used.team and earlier.tool = used.tool
  where used.period = (select period from params)
    and (params.team is null or used.team = params.team)
)
select
  period,
  team,
  tool,
  seats,
  active_users,
  utilization,
  earlier_active_users,
  change,
  idle_seats,
  round(idle_seats * annual_cost / nullif(seats_purchased, 0), 2) as idle_seat_cost,
  case
    when in_use = 0 then 'dormant'
    when first_period > earlier_period and first_tracked_period <= earlier_period then 'new'
    when earlier_active_users = 0 and active_users > 0 then 'growing'
    when change >= growth_threshold then 'growing'
    when change <= -growth_threshold then 'declining'
    else 'stable'
  end as stage,
  source,
  seats_source,
  currency,
  rate_date,
  case when not priced
    then 'Costs are in ' || tool_currency || ', which has no exchange rate into ' || currency || ' in force on '
      || date(period || '-01', '+1 month', '-1 day') || ', so they are left out: ingest a rate for it.'
  end as note
from figures
order by team, tool
