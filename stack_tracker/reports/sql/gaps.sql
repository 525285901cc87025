-- What is missing or wasted in the month, one finding per row:
--   team-gap      a team needs a capability no tool it uses provides (the inventory has one)
--   org-gap       a team needs a capability no tool in the inventory provides
--   unused-seats  a team has seats on a tool and nobody active
--   shelfware     an active tool nobody has used for several months running
--   shadow-it     a team uses a tool that is not in the inventory (status unreviewed),
--                 or pays for one on cards or expenses with no usage of it recorded (source spend)
--   blind-spot    an inventory tool with no usage data for the month
-- The inventory is every tool that is active, on trial or retiring. A tool's
-- findings (shelfware, blind spots) belong to the team that owns it.
with params as (
  select
    *,
    strftime('%Y-%m', period || '-01', '-' || shelfware_periods || ' months') as shelfware_since
  from (
    select
      coalesce(nullif(:period, ''), (select max(period) from tool_period_summary)) as period,
      -- A team's slug: the SQL every reader runs has turned a name into it (choices.with_team_names).
      nullif(:team, '') as team,
      coalesce(cast(nullif(:shelfware_periods, '') as integer), 3) as shelfware_periods
  )
),
inventory as (
  select * from tools where status in ('active', 'trial', 'retiring')
),
-- Per capability, the inventory tools that provide it, by name.
providers as (
  select capability, group_concat(name, ', ') as inventory_tools
  from (
    select provides.capability, inventory.name
    from tool_capabilities as provides
    join inventory on inventory.slug = provides.tool
    order by provides.capability, inventory.name
  )
  group by capability
),
needs as (
  select
    team_needs.team,
    team_needs.capability,
    team_needs.priority,
    coalesce(capabilities.name, team_needs.capability) as capability_name,
    exists (select 1 from providers where providers.capability = team_needs.capability) as in_inventory
  from params
  join team_needs on params.team is null or team_needs.team = params.team
  left join capabilities on capabilities.slug = team_needs.capability
),
-- Months in the shelfware window with usage data, and whether anyone used the tool.
recent as (
  select summary.tool, count(*) as months, max(summary.teams_using) as most_teams_using
  from tool_period_summary as summary
  where summary.period > (select shelfware_since from params)
    and summary.period <= (select period from params)
  group by summary.tool
),
findings as (
  select 'team-gap' as kind, needs.team, needs.capability, null as tool, needs.priority,
    'Needs ' || needs.capability_name || ' but uses no tool that provides it; the inventory has '
      || providers.inventory_tools || '.' as detail
  from needs, params
  join providers on providers.capability = needs.capability
  where needs.in_inventory
    -- Without usage data for the month nothing is known about what teams use.
    and params.period is not null
    and not exists (
      select 1 from team_capability_coverage as covered
      where covered.period = params.period and covered.capability = needs.capability and covered.team = needs.team
    )

  union all
  select 'org-gap', needs.team, needs.capability, null, needs.priority,
    'Needs ' || needs.capability_name || '; no tool in the inventory provides it.'
  from needs
  where not needs.in_inventory

  union all
  -- The month's usage is read where each finding needs it: shared, it would
  -- be copied whole first.
  select 'unused-seats', used.team, null, used.tool, null,
    used.seats || ' seat' || iif(used.seats = 1, '', 's') || ' on ' || tools.name
      || ' and nobody active in ' || used.period || '.'
  from usage_effective as used
  cross join params
  cross join tools on tools.slug = used.tool
  where used.period = (select period from params) and (params.team is null or used.team = params.team)
    and used.seats > 0 and used.active_users = 0

  union all
  -- Every month of the window has usage data, and none shows anyone using it.
  select 'shelfware', tools.owner_team, null, tools.slug, null,
    tools.name || ' is active but nobody used it in the last ' || params.shelfware_periods
      || ' months (' || strftime('%Y-%m', params.shelfware_since || '-01', '+1 months') || ' to ' || params.period || ').'
  from recent, params
  join tools on tools.slug = recent.tool
  where tools.status = 'active'
    and recent.months = params.shelfware_periods
    and recent.most_teams_using = 0
    and (params.team is null or tools.owner_team = params.team)

  union all
  select 'shadow-it', used.team, null, used.tool, null,
    'Uses ' || tools.name || ', which is not in the inventory ('
      || coalesce(used.active_users || ' active user' || iif(used.active_users = 1, '', 's'), 'no active-user count')
      || ', source ' || used.source || ').'
  from usage_effective as used
  cross join params
  cross join tools on tools.slug = used.tool
  where used.period = (select period from params) and (params.team is null or used.team = params.team)
    -- A list of the few unreviewed tools, looked up in usage_effective's
    -- (period, tool) index, or checked row by row: never a join to tools first.
    and used.tool in (select slug from tools where status = 'unreviewed')

  union all
  -- What only card and expense exports show (import-spend): the month's spend, per currency.
  select 'shadow-it', paid.team, null, paid.tool, null,
    'Pays for ' || tools.name || ' on cards or expenses, which is not in the inventory (' || paid.amounts
      || ', source spend).'
  from (
    select team, tool, group_concat(printf('%.2f', amount) || ' ' || currency, ', ') as amounts
    from (
      select spend.team, spend.tool, spend.currency, sum(spend.amount) as amount
      from spend cross join params
      where spend.period = params.period and (params.team is null or spend.team = params.team)
        and spend.tool in (select slug from tools where status = 'unreviewed')
      group by spend.team, spend.tool, spend.currency
      order by spend.team, spend.tool, spend.currency
    )
    group by team, tool
  ) as paid
  cross join tools on tools.slug = paid.tool
  where not exists (
    select 1 from usage_effective as used
    where used.period = (select period from params) and used.team = paid.team and used.tool = paid.tool
  )

  union all
  select 'blind-spot', inventory.owner_team, null, inventory.slug, null,
    'No usage data for ' || inventory.name || coalesce(' in ' || params.period, ' yet') || '.'
  from inventory, params
  where (params.team is null or inventory.owner_team = params.team)
    and not exists (
      select 1 from tool_period_summary as summary
      where summary.period = params.period and summary.tool = inventory.slug
    )
    and not exists (
      select 1 from tool_activity_summary as activity
      where activity.period = params.period and activity.tool = inventory.slug
    )
)
-- The month as a value, not a join: findings is then read once, as it is made.
select
  (select period from params) as period,
  findings.kind, findings.team, findings.capability, findings.tool, findings.priority, findings.detail
from findings
order by
  case findings.kind
    when 'team-gap' then 1 when 'org-gap' then 2 when 'unused-seats' then 3
    when 'shelfware' then 4 when 'shadow-it' then 5 else 6
  end,
  case findings.priority when 'must' then 1 when 'should' then 2 when 'could' then 3 else 4 end,
  findings.team, findings.capability, findings.tool
