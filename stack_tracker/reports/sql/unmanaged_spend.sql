-- Software paid for outside the inventory: card and expense spend (table
-- spend, from import-spend) on tools the inventory has not reviewed (status
-- unreviewed: found only in the exports, or in sign-in logs) or that have no
-- annual_cost (no contract on record). One row per tool over the months from
-- `since` to `until` (YYYY-MM; by default the twelve up to the latest month
-- with spend): merchants as the statements wrote them, the amount in the base
-- currency (each month converted at the rate in force on its last day; what
-- has no rate is named in `unconverted`), months paid in and the teams that paid.
with params as (
  select since, until, team, base_currency
  from (
    select
      coalesce(substr(nullif(trim(:since), ''), 1, 7), strftime('%Y-%m', until || '-01', '-11 months')) as since,
      until, team, base_currency
    from (
      select
        coalesce(substr(nullif(trim(:until), ''), 1, 7), (select max(period) from spend)) as until,
        -- A team's slug: the SQL every reader runs has turned a name into it (choices.with_team_names).
        nullif(:team, '') as team,
        (select currency from base_currency) as base_currency
    )
  )
),
unmanaged as (
  select slug as tool, status,
    iif(status = 'unreviewed', 'not in the inventory', 'in the inventory with no annual cost') as why
  from tools
  where status = 'unreviewed' or annual_cost is null
),
-- The window's spend on them, per tool, month and currency, with the rate of the month's last day.
converted as (
  select tool, period, currency, sum(amount) as amount, sum(transactions) as transactions, month_end, rate
  from spend_rates cross join params
  where spend_rates.tool in (select tool from unmanaged)
    and spend_rates.period between params.since and params.until
    and (params.team is null or spend_rates.team = params.team)
  group by tool, period, currency
),
totals as (
  select tool,
    round(sum(amount * rate), 2) as amount,
    group_concat(case when rate is null then printf('%.2f %s: no rate on %s', amount, currency, month_end) end, '; ')
      as unconverted,
    sum(transactions) as transactions,
    count(distinct period) as months,
    min(period) as first_period,
    max(period) as last_period
  from converted
  group by tool
)
select
  totals.tool,
  unmanaged.status,
  unmanaged.why,
  (select group_concat(value, '; ') from (
     select distinct merchant.value from spend, json_each(spend.merchants) as merchant, params
     where spend.tool = totals.tool and spend.period between params.since and params.until
       and (params.team is null or spend.team = params.team)
     order by merchant.value limit 3)) as merchants,
  totals.amount,
  (select base_currency from params) as currency,
  totals.unconverted,
  totals.transactions,
  totals.months,
  totals.first_period,
  totals.last_period,
  (select group_concat(team, ', ') from (
     select distinct spend.team from spend, params
     where spend.tool = totals.tool and spend.period between params.since and params.until
       and (params.team is null or spend.team = params.team)
     order by spend.team)) as paying_teams
from totals
join unmanaged on unmanaged.tool = totals.tool
order by totals.amount is null, totals.amount desc, totals.tool
