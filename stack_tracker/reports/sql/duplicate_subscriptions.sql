-- The same tool paid for twice over in a month, from card and expense spend
-- (table spend, from import-spend); one finding per row:
--   several-teams       `min_teams` or more teams paid for it in the month, each
--                       on its own card or expense claim: one subscription could serve them
--                       (card holders the directory does not list count as one team, unassigned)
--   contract-and-cards  the inventory has a contract for it (an annual_cost, and
--                       in use: active, trial or retiring) and it was paid on cards too
-- Amounts in the base currency, each month converted at the rate in force on
-- its last day; what has no rate is named in `unconverted`. Months run from
-- `since` to `until` (YYYY-MM; by default the twelve up to the latest month with
-- spend). With a team, the findings whose payers include it.
with params as (
  select since, until, team, min_teams, base_currency
  from (
    select
      coalesce(substr(nullif(trim(:since), ''), 1, 7), strftime('%Y-%m', until || '-01', '-11 months')) as since,
      until, team, min_teams, base_currency
    from (
      select
        coalesce(substr(nullif(trim(:until), ''), 1, 7), (select max(period) from spend)) as until,
        -- A team's slug: the SQL every reader runs has turned a name into it (choices.with_team_names).
        nullif(:team, '') as team,
        max(coalesce(cast(nullif(trim(:min_teams), '') as integer), 2), 2) as min_teams,
        (select currency from base_currency) as base_currency
    )
  )
),
converted as (
  select tool, period, currency, sum(amount) as amount, sum(transactions) as transactions, month_end, rate
  from spend_rates cross join params
  where spend_rates.period between params.since and params.until
  group by tool, period, currency
),
tool_months as (
  select tool, period, month_end,
    round(sum(amount * rate), 2) as amount,
    group_concat(case when rate is null then printf('%.2f %s: no rate on %s', amount, currency, month_end) end, '; ')
      as unconverted,
    sum(transactions) as transactions
  from converted
  group by tool, period
),
payers as (
  select tool, period, count(*) as teams, group_concat(team, ', ') as paying_teams,
    max(team = (select team from params)) as has_team
  from (
    select distinct spend.tool, spend.period, spend.team from spend cross join params
    where spend.period between params.since and params.until
    order by spend.tool, spend.period, spend.team
  )
  group by tool, period
),
findings as (
  select 'several-teams' as kind, tool_months.*, payers.paying_teams, payers.teams, payers.has_team,
    null as annual_cost, null as contract_unconverted
  from tool_months
  join payers on payers.tool = tool_months.tool and payers.period = tool_months.period
  where payers.teams >= (select min_teams from params)

  union all
  select 'contract-and-cards', tool_months.*, payers.paying_teams, payers.teams, payers.has_team,
    round(tools.annual_cost * contract.rate, 2),
    iif(contract.rate is null, printf('annual_cost %.2f %s: no rate on %s', tools.annual_cost,
                                      coalesce(tools.currency, params.base_currency), tool_months.month_end), null)
  from tool_months
  cross join params
  join payers on payers.tool = tool_months.tool and payers.period = tool_months.period
  join tools on tools.slug = tool_months.tool
  left join rates_in_force as contract
    on contract.currency = coalesce(tools.currency, params.base_currency)
   and contract.valid_from <= tool_months.month_end and tool_months.month_end < contract.valid_until
  where tools.annual_cost > 0 and tools.status in ('active', 'trial', 'retiring')
)
select
  findings.period,
  findings.kind,
  findings.tool,
  findings.paying_teams,
  findings.teams,
  findings.amount,
  params.base_currency as currency,
  coalesce(findings.unconverted || '; ' || findings.contract_unconverted, findings.unconverted,
           findings.contract_unconverted) as unconverted,
  findings.transactions,
  findings.annual_cost,
  case findings.kind
    when 'several-teams' then
      findings.teams || ' teams paid for ' || tools.name || ' on their own cards or expense claims in '
        || findings.period || ': one subscription could serve them all.'
    else
      tools.name || ' has a contract in the inventory'
        || coalesce(' (' || printf('%.2f', findings.annual_cost) || ' ' || params.base_currency || ' a year)', '')
        || ' and was paid on cards too in ' || findings.period
        || coalesce(' (' || printf('%.2f', findings.amount) || ' ' || params.base_currency || ')', '')
        || ': is that spend covered by the contract?'
  end as detail
from findings
cross join params
join tools on tools.slug = findings.tool
where params.team is null or findings.has_team
order by findings.period, findings.kind, findings.amount is null, findings.amount desc, findings.tool
