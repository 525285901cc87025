-- What each tool's status, annual cost and currency were over each span of days,
-- from the inventory's history (tool_history): a change holds from its day until
-- the field's next change (valid_until, not included). Before a field's first
-- recorded change it held the value it changed from; a tool that change added (no
-- value before) had none, unless its contract had started: from its contract's
-- start it held the value it was added with (an inventory loaded today of contracts
-- signed last year). A field with no history holds its present value on every day.
-- A report asks for the span holding its day:
--   join tool_values_in_force as held on held.tool = tools.slug and :day >= held.valid_from and :day < held.valid_until
with fields(field) as (values ('status'), ('annual_cost'), ('currency')),
changes as (
  select history.tool, history.field, history.changed_on, history.old_value, history.new_value,
    lead(history.changed_on) over (partition by history.tool, history.field order by history.changed_on) as next_change,
    row_number() over (partition by history.tool, history.field order by history.changed_on) as place
  from tool_history as history
  join fields on fields.field = history.field
),
first_changes as (
  select changes.*, tools.contract_start,
    changes.old_value is null and tools.contract_start < changes.changed_on as started_before
  from changes
  join tools on tools.slug = changes.tool
  where changes.place = 1
)
select tool, field, changed_on as valid_from, coalesce(next_change, '9999-12-31') as valid_until, new_value as value
from changes
union all
select tool, field, '0000-01-01', iif(started_before, contract_start, changed_on), old_value
from first_changes
union all
select tool, field, contract_start, changed_on, new_value
from first_changes
where started_before
union all
select tools.slug, fields.field, '0000-01-01', '9999-12-31',
  case fields.field when 'status' then tools.status when 'annual_cost' then tools.annual_cost else tools.currency end
from tools
cross join fields
where not exists (select 1 from tool_history as history where history.tool = tools.slug and history.field = fields.field)
