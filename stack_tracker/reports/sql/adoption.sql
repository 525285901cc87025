-- Adoption per tool for one month: teams using it, seats, active users,
-- utilisation, the change in active users against a few months earlier, the
-- cost of an active user and of idle seats, and a lifecycle stage.
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
    summary.period,
    summary.tool,
    tools.status,
    summary.teams_using,
    summary.seats,
    summary.active_users,
    round(summary.compared_active_users * 1.0 / nullif(summary.compared_seats, 0), 4) as utilization,
    earlier.active_users as earlier_active_users,
    round((summary.active_users - earlier.active_users) * 1.0 / nullif(earlier.active_users, 0), 4) as change,
    summary.idle_seats,
    summary.sources,
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
    summary.first_period
  from tool_period_summary as summary
  cross join params
  join tools on tools.slug = summary.tool
  left join tool_costs as cost on cost.tool = summary.tool
    and date(summary.period || '-01', '+1 month', '-1 day') >= cost.valid_from
    and date(summary.period || '-01', '+1 month', '-1 day') < cost.valid_until
  left join tool_period_summary as earlier
    on earlier.tool = summary.tool and earlier.period = params.earlier_period
  where summary.period = (select period from params)
    and (params.team is null or exists (
      select 1 from usage_effective as used
      where used.period = summary.period and used.team = params.team and used.tool = summary.tool
    ))
)
select
  period,
  tool,
  status,
  teams_using,
  seats,
  active_users,
  utilization,
  earlier_active_users,
  change,
  -- Money whose currency has no rate in force is left out rather than mixed in (see note).
  annual_cost,
  round(annual_cost / nullif(active_users, 0), 2) as cost_per_active_user,
  idle_seats,
  round(idle_seats * annual_cost / nullif(seats_purchased, 0), 2) as idle_seat_cost,
  case
    when teams_using = 0 then 'dormant'
    -- New: its data starts after the comparison month, which the history covers.
    when first_period > earlier_period and first_tracked_period <= earlier_period then 'new'
    when earlier_active_users = 0 and active_users > 0 then 'growing'
    when change >= growth_threshold then 'growing'
    when change <= -growth_threshold then 'declining'
    else 'stable'
  end as stage,
  sources,
  currency,
  rate_date,
  case when not priced
    then 'Costs are in ' || tool_currency || ', which has no exchange rate into ' || currency || ' in force on '
      || date(period || '-01', '+1 month', '-1 day') || ', so they are left out: ingest a rate for it.'
  end as note
from figures
order by teams_using desc, active_users desc, tool
