-- The whole stack in one row for one month: tools and teams in use, seats,
-- active users, stack utilisation (seats: all active users over all seats),
-- capability utilisation (the share of the capabilities paid for that are
-- used), annual spend and idle-seat cost in the base currency. With a team:
-- that team's usage, and the spend and capabilities of the tools it owns.
with params as (
  select
    coalesce(nullif(:period, ''), (select max(period) from tool_period_summary)) as period,
    -- A team's slug: the SQL every reader runs has turned a name into it (choices.with_team_names).
    nullif(:team, '') as team,
    (select currency from base_currency) as currency
),
-- The day money is converted on: the month's last (today without a month).
day as (
  select coalesce(date((select period from params) || '-01', '+1 month', '-1 day'), date('now')) as day
),
-- The month's usage figures, summed at refresh: the whole stack's row, or the team's.
figures as (
  select month.*
  from stack_by_month as month
  cross join params
  where month.period = (select period from params) and month.team = coalesce(params.team, '')
),
-- Each tool's cost in the base currency at the rate in force on the day; a tool
-- whose currency has no rate then is not priced, and is named below.
priced_tools as (
  select
    tools.slug,
    tools.name,
    cost.annual_cost,
    tools.seats_purchased,
    cost.tool is not null as in_base_currency,
    upper(coalesce(tools.currency, params.currency)) as currency,
    cost.rate_date
  from tools
  cross join params
  cross join day
  left join tool_costs as cost on cost.tool = tools.slug and day.day >= cost.valid_from and day.day < cost.valid_until
),
-- The inventory the spend is counted over: for a team, the tools it owns.
inventory as (
  select tools.slug
  from tools, params
  where tools.status in ('active', 'trial', 'retiring')
    and (params.team is null or tools.owner_team = params.team)
),
-- The capabilities the organisation pays for: each capability of each active tool
-- with a cost (for a team, the tools it owns), and whether it is used in the
-- month: by a team that needs it, or, where no team said it needs it, by
-- anyone. Gartner's surveys ask this (the share of the stack's capabilities in
-- use), not how many seats are taken.
paid_capabilities as (
  select
    provides.tool,
    provides.capability,
    case
      when exists (select 1 from team_needs as need where need.capability = provides.capability) then exists (
        -- The teams using the tool (summed at refresh), each looked up among those that need it.
        select 1
        from capability_tool_teams as users
        cross join json_each('["' || replace(users.team_list, ', ', '","') || '"]') as team
        cross join team_needs as need on need.team = team.value and need.capability = users.capability
        where users.period = (select period from params) and users.capability = provides.capability
          and users.tool = provides.tool
      )
      else exists (
        select 1 from tool_period_summary as summary
        where summary.period = (select period from params) and summary.tool = provides.tool and summary.teams_using > 0
      )
    end as used
  from tool_capabilities as provides
  join tools on tools.slug = provides.tool
  cross join params
  where tools.status = 'active' and tools.annual_cost > 0
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
  (select count(*) from paid_capabilities) as paid_capabilities,
  case when params.period is not null then (select sum(used) from paid_capabilities) end as used_capabilities,
  case when params.period is not null then (
    select round(avg(used), 4) from paid_capabilities
  ) end as capability_utilization,
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
  -- The latest rate date any conversion above used (none when all was in the base currency).
  (
    select max(priced_tools.rate_date)
    from priced_tools
    where priced_tools.slug in (select slug from inventory) or priced_tools.slug in (select tool from idle)
  ) as rate_date,
  -- Tools whose currency has no rate in force on the day, left out of every total above, by name.
  (
    select group_concat(name || ' (' || currency || ')', ', ')
    from (
      select priced_tools.name, priced_tools.currency
      from priced_tools
      where not priced_tools.in_base_currency
        and (
          priced_tools.slug in (select slug from inventory)
          or priced_tools.slug in (select tool from idle)
        )
      order by priced_tools.name, priced_tools.slug
    )
  ) as excluded_currency_tools
from params
