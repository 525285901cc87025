-- The blast radius of a tool: with a tool, every tool downstream of it in the
-- integrations graph and how many hops away; without one, every tool that
-- feeds others, widest blast radius first.
--
-- The walk is breadth-first, one row per step: `frontier` is the JSON array of
-- tools first reached at that step, `seen` the concatenated arrays of every
-- earlier step. A tool already seen is never reached again, so a cycle ends
-- the walk instead of looping, and each tool is listed once, at its shortest
-- distance. (Slugs hold no quotes, so instr() on '"slug"' is an exact test.)
with recursive
params as (
  -- A tool by its slug, name or any alias, in any case; one nothing is called is an error, never no rows.
  select case when trim(:tool) <> '' then coalesce(
    (select slug from spellings where kind = 'tool' and spelling = lower(trim(:tool)) order by preference limit 1),
    json_extract('{}', 'unknown tool: ' || :tool)  -- SQLite's one error whose message says what we write
  ) end as tool
),
walk(distance, frontier, seen) as (
  select 0, json_array(tool), '' from params where tool is not null
  union all
  select
    walk.distance + 1,
    (
      select json_group_array(distinct flows.downstream_tool)
      from json_each(walk.frontier) as reached
      join integration_flows as flows on flows.upstream_tool = reached.value
      where instr(walk.seen || walk.frontier, '"' || flows.downstream_tool || '"') = 0
    ),
    walk.seen || walk.frontier
  from walk
  where walk.frontier <> '[]'
)
select
  params.tool as tool,
  reached.value as downstream_tool,
  walk.distance as distance,
  null as downstream_tools,
  null as direct_downstream_tools
from params, walk, json_each(walk.frontier) as reached
where walk.distance > 0
union all
select
  radius.tool,
  null,
  null,
  radius.downstream_tools,
  radius.direct_downstream_tools
from params
join tool_blast_radius as radius on params.tool is null
order by downstream_tools desc, distance, downstream_tool, tool
