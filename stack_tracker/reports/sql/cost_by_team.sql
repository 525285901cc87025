-- Showback: each tool's annual cost shared among the teams that use it in the
-- month, by their share of its seats (basis `seats`, the default) or of its
-- active users (basis `active`). With seats, what no team's seats cover (seats
-- bought beyond those assigned, or every seat of a tool no team reports)
-- goes to a row `unallocated`; with active users, all of a tool's cost goes
-- to the teams active in it, or to `unallocated` when nobody was. Amounts are
-- shared in cents, the leftover cents to the largest remainders, so that each
-- tool's rows add up to its cost exactly. In the tool's own currency.
with params as (
  select
    coalesce(nullif(:period, ''), (select max(period) from tool_period_summary)) as period,
    nullif(:team, '') as team,
    coalesce(nullif(:basis, ''), 'seats') as basis
),
costed as (
  select slug as tool, annual_cost, currency, seats_purchased, cast(round(annual_cost * 100) as integer) as cost_cents
  from tools
  where status in ('active', 'trial', 'retiring') and annual_cost > 0
),
team_weights as (
  select costed.tool, usage.team,
    case params.basis when 'active' then coalesce(usage.active_users, 0) else coalesce(usage.seats, 0) end as weight
  from costed cross join params
  join usage_effective as usage on usage.tool = costed.tool and usage.period = params.period
),
totals as (
  select costed.tool, coalesce(sum(team_weights.weight), 0) as assigned
  from costed left join team_weights on team_weights.tool = costed.tool
  group by costed.tool
),
parties as (
  select tool, team, weight from team_weights where weight > 0
  union all
  select costed.tool, 'unallocated',
    case
      when totals.assigned = 0 then 1
      when params.basis = 'active' then 0
      else max(coalesce(costed.seats_purchased, 0) - totals.assigned, 0)
    end
  from costed cross join params join totals on totals.tool = costed.tool
),
split as (
  select parties.tool, parties.team, parties.weight, costed.cost_cents, costed.annual_cost, costed.currency,
    sum(parties.weight) over (partition by parties.tool) as total_weight
  from parties join costed on costed.tool = parties.tool
  where parties.weight > 0
),
shared as (
  select split.*,
    cost_cents * weight / total_weight as floor_cents,
    cost_cents * weight % total_weight as remainder
  from split
),
ranked as (
  select shared.*,
    cost_cents - sum(floor_cents) over (partition by tool) as leftover_cents,
    row_number() over (partition by tool order by remainder desc, team = 'unallocated', team) as place
  from shared
)
select
  team,
  tool,
  (select basis from params) as basis,
  case when team = 'unallocated' then null else weight end as team_count,
  round(weight * 1.0 / total_weight, 4) as share,
  (floor_cents + (place <= leftover_cents)) / 100.0 as allocated_cost,
  annual_cost as tool_cost,
  currency,
  (select period from params) as period
from ranked
where (select team from params) is null or team = (select team from params)
order by team = 'unallocated', team, allocated_cost desc, tool
