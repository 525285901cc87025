-- Showback: each tool's annual cost shared among the teams that use it in the
-- month, by their share of its seats (basis `seats`, the default) or of its
-- active users (basis `active`). With seats, what no team's seats cover (seats
-- bought beyond those assigned, or every seat of a tool no team reports)
-- goes to a row `unallocated`; with active users, all of a tool's cost goes
-- to the teams active in it, or to `unallocated` when nobody was. Amounts are
-- shared in cents, the leftover cents to the largest remainders, so that each
-- tool's rows add up to its cost exactly. In the base currency, at the rate in
-- force on the month's last day; a tool whose currency has none then is not
-- shared but listed under `unallocated` with no amount, and a note saying why.
with params as (
  select
    coalesce(nullif(:period, ''), (select max(period) from tool_period_summary)) as period,
    -- A team's slug: the SQL every reader runs has turned a name into it (choices.with_team_names).
    nullif(:team, '') as team,
    coalesce(nullif(:basis, ''), 'seats') as basis
),
day as (
  select coalesce(date((select period from params) || '-01', '+1 month', '-1 day'), date('now')) as day
),
priced as (
  select tools.slug as tool, tools.seats_purchased, cost.annual_cost, cost.rate_date, cost.tool is not null as converted,
    upper(coalesce(tools.currency, (select currency from base_currency))) as tool_currency
  from tools
  cross join day
  left join tool_costs as cost on cost.tool = tools.slug and day.day >= cost.valid_from and day.day < cost.valid_until
  where tools.status in ('active', 'trial', 'retiring') and tools.annual_cost > 0
),
costed as (
  select tool, annual_cost, (select currency from base_currency) as currency, rate_date, seats_purchased,
    cast(round(annual_cost * 100) as integer) as cost_cents
  from priced
  where converted
),
team_weights as (
  select costed.tool, usage.team,
    case params.basis when 'active' then coalesce(usage.active_users, 0) else coalesce(usage.seats, 0) end as weight
  -- The month's rows first, each tool's cost looked up: driven from the tools, SQLite would
  -- read the whole month once per tool (the table's key leads with the period, not the tool).
  from params
  cross join usage_effective as usage
  join costed on costed.tool = usage.tool
  where usage.period = params.period
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
  select parties.tool, parties.team, parties.weight, costed.cost_cents, costed.annual_cost, costed.currency, costed.rate_date,
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
),
shares as (
  select
    team,
    tool,
    (select basis from params) as basis,
    case when team = 'unallocated' then null else weight end as team_count,
    round(weight * 1.0 / total_weight, 4) as share,
    (floor_cents + (place <= leftover_cents)) / 100.0 as allocated_cost,
    annual_cost as tool_cost,
    currency,
    rate_date,
    (select period from params) as period,
    null as note
  from ranked
),
unconverted as (
  select 'unallocated' as team, tool, (select basis from params) as basis, null as team_count, null as share,
    null as allocated_cost, null as tool_cost, (select currency from base_currency) as currency, null as rate_date,
    (select period from params) as period,
    'Its cost is in ' || tool_currency || ', which has no exchange rate into ' || (select currency from base_currency)
      || ' in force on ' || (select day from day) || ': ingest a rate for it.' as note
  from priced
  where not converted
)
select * from (select * from shares union all select * from unconverted)
where (select team from params) is null or team = (select team from params)
order by team = 'unallocated', team, allocated_cost desc, tool
