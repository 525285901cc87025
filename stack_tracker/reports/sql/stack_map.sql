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
-- currency) is read from the inventory's history by the rule spend-by-month
-- follows: the change in force on the day; before a tool's first recorded
-- change, the value it changed from (none for a tool not yet added, unless its
-- contract had started); with no history, the present value. A tool not yet
-- added but used or paid for in the month shows as not reviewed. With a team: the tools it
-- owns or uses in the month.
with params as (
  select
    coalesce(nullif(:period, ''), (select max(period) from tool_period_summary)) as period,
    -- A team's slug: the SQL every reader runs has turned a name into it (choices.with_team_names).
    nullif(:team, '') as team,
    coalesce(nullif(:as_of, ''), date('now')) as as_of,
    (select currency from base_currency) as currency
),
adoption as (select * from ({report:adoption})),
gaps as (select * from ({report:gaps})),
renewals as (select * from ({report:renewals})),
consolidation as (select * from ({report:consolidation})),
fields(field) as (values ('status'), ('annual_cost'), ('currency')),
points as (
  select tools.slug as tool, fields.field, params.as_of,
    (select max(changed_on) from tool_history as history
     where history.tool = tools.slug and history.field = fields.field and history.changed_on <= params.as_of) as last_change,
    (select min(changed_on) from tool_history as history
     where history.tool = tools.slug and history.field = fields.field and history.changed_on > params.as_of) as next_change
  from tools cross join fields cross join params
),
values_at as (
  select points.tool, points.field,
    case
      when last_change is not null then (select new_value from tool_history as history
        where history.tool = points.tool and history.field = points.field and history.changed_on = last_change)
      when next_change is not null then (
        select case when history.old_value is null and tools.contract_start <= points.as_of
                    then history.new_value else history.old_value end
        from tool_history as history join tools on tools.slug = history.tool
        where history.tool = points.tool and history.field = points.field and history.changed_on = next_change)
      else (select case points.field when 'status' then status when 'annual_cost' then annual_cost else currency end
            from tools where slug = points.tool)
    end as value
  from points
),
in_force as (
  select tool,
    max(case field when 'status' then value end) as status,
    max(case field when 'annual_cost' then cast(value as real) end) as annual_cost,
    upper(coalesce(max(case field when 'currency' then value end), (select currency from base_currency))) as currency
  from values_at
  group by tool
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
    params.as_of
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
    when utilization < 0.4 then 'low'
    when utilization < 0.7 then 'medium'
    else 'high'
  end as utilization_band,
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
