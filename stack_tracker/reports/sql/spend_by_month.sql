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
fields(field) as (values ('status'), ('annual_cost'), ('currency')),
points as (
  -- The change in force at the month's end, and the next one after it.
  select grid.period, grid.month_end, grid.tool, fields.field,
    (select max(changed_on) from tool_history as history
     where history.tool = grid.tool and history.field = fields.field and history.changed_on <= grid.month_end) as last_change,
    (select min(changed_on) from tool_history as history
     where history.tool = grid.tool and history.field = fields.field and history.changed_on > grid.month_end) as next_change
  from grid cross join fields
),
values_at as (
  select points.period, points.month_end, points.tool, points.field,
    case
      when last_change is not null then (select new_value from tool_history as history
        where history.tool = points.tool and history.field = points.field and history.changed_on = last_change)
      -- Before the first recorded change, the value it changed from: none for a tool not yet added, unless
      -- its contract had started by then (an inventory loaded today of contracts signed last year).
      when next_change is not null then (
        select case when history.old_value is null and tools.contract_start <= points.month_end
                    then history.new_value else history.old_value end
        from tool_history as history join tools on tools.slug = history.tool
        where history.tool = points.tool and history.field = points.field and history.changed_on = next_change)
      else (select case points.field when 'status' then status when 'annual_cost' then annual_cost else currency end
            from tools where slug = points.tool)
    end as value
  from points
),
in_force as (
  select period, tool,
    max(month_end) as month_end,
    max(case field when 'status' then value end) as status,
    max(case field when 'annual_cost' then cast(value as real) end) as annual_cost,
    upper(coalesce(max(case field when 'currency' then value end), (select currency from base_currency))) as currency
  from values_at
  group by period, tool
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
