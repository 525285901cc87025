-- Which way data flows between tools: from source_tool to target_tool, and
-- back again for a two-way integration. The dependency walks read this view,
-- so the meaning of an edge is written once.
select source_tool as upstream_tool, target_tool as downstream_tool, data, criticality
from integrations
union all
select target_tool, source_tool, data, criticality
from integrations
where direction = 'two-way'
