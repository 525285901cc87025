-- The whole stack in one row for one month: tools and teams in use, seats,
-- active users, stack utilisation (all active users over all seats), annual
-- spend and idle-seat cost in the base currency. With a team: that team's
-- usage, and the spend on the tools it owns.
with params as (
  select
    coalesce(nullif(:period, ''), (select max(period) from tool_period_summary)) as period,
    nullif(:team, '') as team,
    upper(coalesce(nullif(:currency, ''), 'USD')) as currency
),
-- The month's usage figures, summed at refresh: the whole stack's row, or the team's.
figures as (
  select month.*
  from stack_by_month as month
  cross join params
  where month.period = (select period from params) and month.team = coalesce(params.team, '')
),
priced_tools as (
  select
    tools.slug,
    tools.annual_cost,
    tools.seats_purchased,
    upper(coalesce(tools.currency, params.currency)) = params.currency as in_base_currency,
    upper(tools.currency) as currency
  from tools, params
),
-- The inventory the spend is counted over: for a team, the tools it owns.
inventory as (
  select tools.slug
  from tools, params
  where tools.status in ('active', 'trial', 'retiring')
    and (params.team is null or tools.owner_team = params.team)
),
-- Idle seats per tool in use: summed over teams for the whole stack, the team's own for a team.
idle as (
  select summary.tool, summary.idle_seats
  from tool_period_summary as summary
  cross join params
  where summary.period = (select period from params) and params.team is null
  union all
  select used.tool, used.idle_seats
  from usage_effective as used
  where used.period = (select period from params) and used.team = (select team from params)
)
select
  params.period,
  params.team,
  coalesce((select tools_in_use from figures), 0) as tools,
  coalesce((select teams_in_use from figures), 0) as teams,
  (select count(*) from inventory) as inventory_tools,
  (select seats from figures) as seats,
  (select active_users from figures) as active_users,
  (select stack_utilization from figures) as stack_utilization,
  params.currency,
  (
    select sum(priced_tools.annual_cost)
    from inventory join priced_tools on priced_tools.slug = inventory.slug
    where priced_tools.in_base_currency
  ) as annual_spend,
  (
    select round(sum(idle.idle_seats * priced_tools.annual_cost / nullif(priced_tools.seats_purchased, 0)), 2)
    from idle join priced_tools on priced_tools.slug = idle.tool
    where priced_tools.in_base_currency
  ) as idle_seat_cost,
  -- Tools whose money is in another currency, left out of every total above.
  (
    select group_concat(slug || ' (' || currency || ')', ', ')
    from (
      select priced_tools.slug, priced_tools.currency
      from priced_tools
      where not priced_tools.in_base_currency
        and (
          priced_tools.slug in (select slug from inventory)
          or priced_tools.slug in (select tool from idle)
        )
      order by priced_tools.slug
    )
  ) as excluded_currency_tools
from params
