-- The stack map's tiles: one row per tool in the inventory on the as-of day
-- (active, on trial, retiring, or in use but not reviewed: shadow IT), with
-- what the picture shows of it: the category of its main capability and the
-- team that owns it (the two ways to group tiles), its annual cost in the base
-- currency (a tile's size), its utilisation in the month (a tile's colour), and
-- its marks: a cut candidate of an overlap, shelfware, shadow IT, a renewal or
-- notice deadline within the renewal window.
--
-- No finding is worked out here: each mark is a row of the report that owns
-- it, read whole through {report:NAME} (the registry puts that report's SQL
-- in its place, run with the same parameters): utilisation from adoption,
-- shelfware and shadow IT from gaps, deadlines from renewals, cut candidates
-- from consolidation. What a tool was on a past day (its status, cost and
-- currency) is read from the inventory's history through the view
-- tool_values_in_force, as spend-by-month reads it. A tool not yet
-- added but used or paid for in the month shows as not reviewed. With a team: the tools it
-- owns or uses in the month.
with params as (
  select
    coalesce(nullif(:period, ''), (select max(period) from tool_period_summary)) as period,
    -- A team's slug: the SQL every reader runs has turned a name into it (choices.with_team_names).
    nullif(:team, '') as team,
    coalesce(nullif(:as_of, ''), date('now')) as as_of,
    (select currency from base_currency) as currency,
    -- A tile's colour: utilisation under low_utilization is low, under high_utilization medium, else high.
    coalesce(cast(nullif(:low_utilization, '') as real), 0.4) as low_utilization,
    coalesce(cast(nullif(:high_utilization, '') as real), 0.7) as high_utilization
),
adoption as (select * from ({report:adoption})),
gaps as (select * from ({report:gaps})),
renewals as (select * from ({report:renewals})),
consolidation as (select * from ({report:consolidation})),
-- What each tool was on the day (view tool_values_in_force: the inventory's history).
in_force as (
  select held.tool,
    max(case held.field when 'status' then held.value end) as status,
    max(case held.field when 'annual_cost' then cast(held.value as real) end) as annual_cost,
    upper(coalesce(max(case held.field when 'currency' then held.value end), (select currency from base_currency))) as currency
  from tool_values_in_force as held
  cross join params
  where params.as_of >= held.valid_from and params.as_of < held.valid_until
  group by held.tool
),
-- The category of each tool's main capability: a stated one before a catalog guess, then by name.
main_capability as (
  select tool, capability, category from (
    select provides.tool, provides.capability, capabilities.category,
      row_number() over (
        partition by provides.tool
        order by provides."primary" desc, provides.source = 'stated' desc, capabilities.name, provides.capability
      ) as rank
    from tool_capabilities as provides
    join capabilities on capabilities.slug = provides.capability
  ) where rank = 1
),
-- The status on the day; a tool the inventory had not met yet that the gaps report finds used or
-- paid for in the month was shadow IT then as now.
dated as (
  select in_force.*,
    coalesce(in_force.status, case when tools.status = 'unreviewed' and exists (
      select 1 from gaps where gaps.kind = 'shadow-it' and gaps.tool = in_force.tool
    ) then 'unreviewed' end) as status_then
  from in_force join tools on tools.slug = in_force.tool
),
tiles as (
  select
    tools.slug as tool,
    in_force.status_then as status,
    main_capability.capability,
    coalesce(main_capability.category, 'Uncategorised') as category,
    tools.owner_team,
    -- In the base currency at the rate in force on the as-of day; none when its currency had no rate.
    round(in_force.annual_cost * rates.rate, 2) as annual_cost,
    params.currency,
    in_force.currency as contract_currency,
    adoption.seats,
    adoption.active_users,
    adoption.utilization,
    exists (select 1 from consolidation where consolidation.tool = tools.slug and consolidation.finding = 'cut') as cut,
    exists (select 1 from gaps where gaps.kind = 'shelfware' and gaps.tool = tools.slug) as shelfware,
    in_force.status_then = 'unreviewed' or exists (
      select 1 from gaps where gaps.kind = 'shadow-it' and gaps.tool = tools.slug
    ) as shadow_it,
    (select min(renewals.days_left) from renewals where renewals.tool = tools.slug) as renews_in_days,
    (select min(renewals.renewal_date) from renewals where renewals.tool = tools.slug) as renewal_date,
    params.period,
    params.as_of,
    params.low_utilization,
    params.high_utilization
  from tools
  cross join params
  join dated as in_force on in_force.tool = tools.slug
  left join main_capability on main_capability.tool = tools.slug
  left join adoption on adoption.tool = tools.slug
  left join rates_in_force as rates
    on rates.currency = in_force.currency and params.as_of >= rates.valid_from and params.as_of < rates.valid_until
  where in_force.status_then in ('active', 'trial', 'retiring', 'unreviewed')
    and (
      params.team is null or tools.owner_team = params.team or exists (
        select 1 from usage_effective as used
        where used.period = params.period and used.team = params.team and used.tool = tools.slug and used.in_use
      )
    )
)
select
  tool,
  status,
  capability,
  category,
  owner_team,
  annual_cost,
  currency,
  contract_currency,
  seats,
  active_users,
  utilization,
  case
    when utilization is null then 'unknown'
    when utilization < low_utilization then 'low'
    when utilization < high_utilization then 'medium'
    else 'high'
  end as utilization_band,
  low_utilization,
  high_utilization,
  cut,
  shelfware,
  shadow_it,
  renews_in_days is not null as renewing,
  renews_in_days,
  renewal_date,
  period,
  as_of
from tiles
order by category, annual_cost desc, tool
