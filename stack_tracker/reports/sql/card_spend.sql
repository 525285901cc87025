-- Card and expense spend per tool and month (table spend, written by
-- import-spend), in the base currency: each month's amounts converted at the
-- rate in force on the month's last day (view rates_in_force), with the rate
-- dates used. An amount in a currency that has no rate that day is named in
-- `unconverted`, never left out quietly. Beside each month: the teams that
-- paid, an annualised run rate (the spend of the last `run_rate_months` months
-- up to this one, scaled to a year: the last three months times 4; blank when
-- an amount in that window could not be converted) and the tool's annual_cost
-- from the inventory, converted the same way. Months run from `since` to
-- `until` (YYYY-MM); by default the twelve up to the latest month with spend.
with params as (
  select since, until, team, run_rate_months, base_currency
  from (
    select
      coalesce(substr(nullif(trim(:since), ''), 1, 7), strftime('%Y-%m', until || '-01', '-11 months')) as since,
      until, team, run_rate_months, base_currency
    from (
      select
        coalesce(substr(nullif(trim(:until), ''), 1, 7), (select max(period) from spend)) as until,
        -- A team's slug: the SQL every reader runs has turned a name into it (choices.with_team_names).
        nullif(:team, '') as team,
        max(coalesce(cast(nullif(trim(:run_rate_months), '') as integer), 3), 1) as run_rate_months,
        (select currency from base_currency) as base_currency
    )
  )
),
-- Each tool's spend per month and currency (of one team, if asked for), with the rate of the month's last day.
converted as (
  select tool, period, currency, sum(amount) as amount, sum(transactions) as transactions, month_end, rate, rate_date
  from spend_rates cross join params
  where params.team is null or spend_rates.team = params.team
  group by tool, period, currency
),
tool_months as (
  select tool, period, month_end,
    round(sum(amount * rate), 2) as amount,
    sum(transactions) as transactions,
    group_concat(case when rate_date is not null then currency || ' ' || rate || ' of ' || rate_date end, '; ') as rate_dates,
    group_concat(case when rate is null then printf('%.2f %s: no rate on %s', amount, currency, month_end) end, '; ')
      as unconverted,
    count(rate) = count(*) as converted_whole
  from converted
  group by tool, period
),
-- The run rate as of each month: its months' spend, scaled to twelve; none if any of it could not be converted.
rated as (
  select tool_months.*,
    (select iif(min(earlier.converted_whole), round(total(earlier.amount) * 12.0 / params.run_rate_months, 2), null)
     from tool_months as earlier
     where earlier.tool = tool_months.tool
       and earlier.period > strftime('%Y-%m', tool_months.period || '-01', '-' || params.run_rate_months || ' months')
       and earlier.period <= tool_months.period) as run_rate
  from tool_months cross join params
  where tool_months.period between params.since and params.until
),
-- Each month with the tool's contract beside it, converted as the spend is.
contracted as (
  select rated.*, tools.status, round(tools.annual_cost * contract.rate, 2) as annual_cost,
    iif(tools.annual_cost is not null and contract.rate is null,
        printf('annual_cost %.2f %s: no rate on %s', tools.annual_cost, coalesce(tools.currency, params.base_currency),
               rated.month_end), null) as contract_unconverted
  from rated
  cross join params
  join tools on tools.slug = rated.tool
  left join rates_in_force as contract
    on contract.currency = coalesce(tools.currency, params.base_currency)
   and contract.valid_from <= rated.month_end and rated.month_end < contract.valid_until
)
select
  contracted.period,
  contracted.tool,
  contracted.status,
  contracted.amount,
  params.base_currency as currency,
  contracted.rate_dates,
  -- The month's amounts that could not be converted, and the annual cost if it could not be either.
  coalesce(contracted.unconverted || '; ' || contracted.contract_unconverted, contracted.unconverted,
           contracted.contract_unconverted) as unconverted,
  contracted.transactions,
  (select group_concat(team, ', ') from (
     select distinct spend.team from spend
     where spend.tool = contracted.tool and spend.period = contracted.period
       and (params.team is null or spend.team = params.team)
     order by spend.team)) as paying_teams,
  contracted.run_rate,
  contracted.annual_cost
from contracted
cross join params
order by contracted.period, contracted.amount is null, contracted.amount desc, contracted.tool
