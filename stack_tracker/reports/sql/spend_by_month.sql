-- The annual spend in force at the end of each month, in the base currency, from the
-- inventory's history (tool_history): what each tool cost, in which currency (converted
-- at the rate in force on the month's last day; one with no rate then is named),
-- and whether it was in use (active, trial or retiring) on the month's last
-- day. A tool whose fields have no history holds its present values for every
-- month; a tool added later counts from the month it was added, or from its
-- contract's start when that came first (with the values it was added with). Months run
-- from `since` to `until` (YYYY-MM); by default the twelve up to the as-of day.
with recursive params as (
  select nullif(:since, '') as since,
         coalesce(nullif(:until, ''), strftime('%Y-%m', coalesce(nullif(:as_of, ''), date('now')))) as until
),
bounds as (
  select until, coalesce(since, strftime('%Y-%m', date(until || '-01', '-11 months'))) as since from params
),
months(period) as (
  select since from bounds
  union all
  select strftime('%Y-%m', date(period || '-01', '+1 month')) from months, bounds where period < bounds.until
),
grid as (
  select months.period, date(months.period || '-01', '+1 month', '-1 day') as month_end, tools.slug as tool
  from months cross join tools
),
-- What each tool was at each month's end (view tool_values_in_force: the inventory's history).
in_force as (
  select grid.period, grid.tool,
    max(grid.month_end) as month_end,
    max(case held.field when 'status' then held.value end) as status,
    max(case held.field when 'annual_cost' then cast(held.value as real) end) as annual_cost,
    upper(coalesce(max(case held.field when 'currency' then held.value end), (select currency from base_currency))) as currency
  from grid
  join tool_values_in_force as held
    on held.tool = grid.tool and grid.month_end >= held.valid_from and grid.month_end < held.valid_until
  group by grid.period, grid.tool
),
-- Each month's costs in the base currency, at the rate in force on its last day.
converted as (
  select in_force.*, rates.rate, rates.rate_date, tools.name
  from in_force
  join tools on tools.slug = in_force.tool
  left join rates_in_force as rates
    on rates.currency = in_force.currency and in_force.month_end >= rates.valid_from and in_force.month_end < rates.valid_until
  where in_force.status in ('active', 'trial', 'retiring') and in_force.annual_cost is not null
)
select
  period,
  (select currency from base_currency) as currency,
  round(sum(annual_cost * rate), 2) as annual_spend,
  count(rate) as tools,
  max(rate_date) as rate_date,
  -- Tools whose currency had no rate that month: left out of the total, by name.
  group_concat(case when rate is null then name || ' (' || currency || ')' end, ', ') as unconverted
from converted
group by period
order by period
