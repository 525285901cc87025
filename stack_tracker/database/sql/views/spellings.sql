-- Every way a person may write a team, tool or capability, lower-cased, with
-- the slug it means: the slug itself, the display name and, for a tool, each
-- alias (preferred in that order where two things share a spelling). The
-- reports resolve their team and tool parameters through it, so a form on the
-- site takes a name as the command line does. (The command line resolves in
-- Python first, where case folds beyond ASCII, and passes the slug.)
select 'team' as kind, slug as spelling, slug, 1 as preference from teams
union all
select 'team', lower(trim(name)), slug, 2 from teams
union all
select 'tool', slug, slug, 1 from tools
union all
select 'tool', lower(trim(name)), slug, 2 from tools
union all
select 'tool', lower(trim(alias)), tool, 3 from tool_aliases
union all
select 'capability', slug, slug, 1 from capabilities
union all
select 'capability', lower(trim(name)), slug, 2 from capabilities
