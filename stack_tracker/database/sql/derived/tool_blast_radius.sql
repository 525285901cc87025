-- How many tools each tool feeds, directly and through others: its blast
-- radius if it stopped. Reachability only (the dependencies report walks one
-- tool's graph live, with distances); UNION keeps each (tool, downstream
-- tool) pair once, so cycles end the walk.
with recursive reach(tool, downstream_tool) as (
  select upstream_tool, downstream_tool from integration_flows
  union
  select reach.tool, flows.downstream_tool
  from reach
  join integration_flows as flows on flows.upstream_tool = reach.downstream_tool
)
select
  tool,
  count(*) as downstream_tools,
  (
    select count(distinct flows.downstream_tool) from integration_flows as flows
    where flows.upstream_tool = reach.tool and flows.downstream_tool <> reach.tool
  ) as direct_downstream_tools
from reach
where downstream_tool <> tool
group by tool
