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
        -- A team by its slug or name, in any case; one nothing is called is an error, never no rows.
        case when trim(:team) <> '' then coalesce(
          (select slug from spellings where kind = 'team' and spelling = lower(trim(:team)) order by preference limit 1),
          json_extract('{}', 'unknown team: ' || :team)  -- SQLite's one error whose message says what we write
        ) end as team,
        coalesce((select value from settings where key = 'base_currency'), 'USD') as base_currency
    )
  )
),
unmanaged as (
  select slug as tool, status,
    iif(status = 'unreviewed', 'not in the inventory', 'in the inventory with no annual cost') as why
  from tools
  where status = 'unreviewed' or annual_cost is null
),
-- The window's spend on them, per tool, month and currency, with the month's last day.
spent as (
  select spend.tool, spend.period, spend.currency, sum(spend.amount) as amount, sum(spend.transactions) as transactions,
    date(spend.period || '-01', '+1 month', '-1 day') as month_end
  from spend cross join params
  where spend.tool in (select tool from unmanaged)
    and spend.period between params.since and params.until
    and (params.team is null or spend.team = params.team)
  group by spend.tool, spend.period, spend.currency
),
converted as (
  select spent.*, rates.rate
  from spent
  left join rates_in_force as rates
    on rates.currency = spent.currency and rates.valid_from <= spent.month_end and spent.month_end < rates.valid_until
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
