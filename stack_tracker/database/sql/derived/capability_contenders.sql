-- The tools an overlap is judged between, every month: each tool in use under
-- an active contract (not on trial, not retiring, not shadow IT), once for each
-- capability it provides, with whether it is mainly for it, where that row came
-- from (stated or the catalog's guess), and its active users and teams.
--
-- `place` ranks the tools mainly for a capability, most active users first
-- (then most teams, the cheaper, the slug). Where two or more are mainly for
-- it, that is an overlap: place 1 is `keep_tool`, and a tool in place 2 or
-- later is `challenged` (in every row of that month: an overlap asks it to give
-- way). A capability it only also does has no place: a side line is never an
-- overlap. The tools no overlap challenges are the ones being kept:
-- `best_kept_tool` is the one that does the capability best (mainly for it
-- first, then the most used), and `main_keep_tool`, on a challenged tool's
-- rows, is the tool kept in its first overlap (by capability). `providers`:
-- how many tools in use do the capability.
--
-- One partition per level, each starting with the month: so a refresh of one
-- month reaches down to that month's rows (SQLite pushes a filter into a window
-- only through a level whose windows share one partition).
select
  period,
  tool,
  capability,
  "primary",
  source,
  active_users,
  teams_using,
  place,
  providers,
  iif("primary" and primaries >= 2, first_tool, null) as keep_tool,
  challenged,
  first_value(iif(challenged, null, tool)) over (
    partition by period, capability
    order by challenged, "primary" desc, active_users desc, tool
  ) as best_kept_tool,
  iif(challenged, main_keep_tool, null) as main_keep_tool
from (
  select
    *,
    max(coalesce(place > 1, 0)) over by_tool as challenged,
    first_value(iif("primary" and primaries >= 2, first_tool, null)) over (
      by_tool order by coalesce(place > 1, 0) desc, capability
    ) as main_keep_tool
  from (
    select
      *,
      count(*) over by_capability as providers,
      sum("primary") over by_capability as primaries,
      -- The capability's place-1 tool when any tool is mainly for it.
      first_value(tool) over (by_capability order by "primary" desc, place) as first_tool
    from (
      select
        *,
        case when "primary" then row_number() over (
          partition by period, capability, "primary"
          order by active_users desc, teams_using desc, annual_cost, tool
        ) end as place
      from (
        select
          summary.period,
          provides.capability,
          summary.tool,
          coalesce(provides."primary", 0) = 1 as "primary",
          provides.source,
          coalesce(summary.active_users, 0) as active_users,
          summary.teams_using,
          tools.annual_cost
        from tool_period_summary as summary
        join tools on tools.slug = summary.tool
        join tool_capabilities as provides on provides.tool = summary.tool
        where summary.teams_using > 0 and tools.status = 'active'
      )
    )
    window by_capability as (partition by period, capability)
  )
  window by_tool as (partition by period, tool)
)
