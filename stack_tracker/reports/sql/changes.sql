-- What changed in the inventory between two days (inclusive), from the history
-- the database keeps of every tool (tool_history): tools added, retired or
-- brought back, and each change of a tool's cost, currency, seats, owning team,
-- status, renewal date or notice period, from the old value to the new one. A
-- new tool's first values are told in its "added" row, not as changes.
with params as (
  select
    coalesce(nullif(:since, ''), '0000-01-01') as since,
    coalesce(nullif(:until, ''), '9999-12-31') as until
),
added as (
  select tool, changed_on from tool_history where field = 'status' and old_value is null
),
shown as (
  select history.*,
    case
      when field = 'status' and old_value is null then 'added'
      when field = 'status' and new_value = 'retired' then 'retired'
      when field = 'status' and old_value = 'retired' then 'brought back'
      else 'changed'
    end as change
  from tool_history as history, params
  where history.changed_on between params.since and params.until
    and not (history.field <> 'status' and history.old_value is null
             and exists (select 1 from added where added.tool = history.tool and added.changed_on = history.changed_on))
),
worded as (
  -- Values as people read them: a team by its name, a whole amount with thousands separated.
  select shown.*,
    case
      when field = 'owner_team' then coalesce((select name from teams where slug = old_value), old_value)
      when field in ('annual_cost', 'seats_purchased') and cast(old_value as real) = cast(cast(old_value as real) as integer)
        then printf('%,d', cast(old_value as integer))
      else old_value
    end as old_shown,
    case
      when field = 'owner_team' then coalesce((select name from teams where slug = new_value), new_value)
      when field in ('annual_cost', 'seats_purchased') and cast(new_value as real) = cast(cast(new_value as real) as integer)
        then printf('%,d', cast(new_value as integer))
      else new_value
    end as new_shown
  from shown
)
select
  changed_on,
  tool,
  change,
  field,
  old_shown as old_value,
  new_shown as new_value,
  case change
    when 'added' then 'Added to the inventory as ' || new_value || '.'
    when 'retired' then 'Retired (was ' || old_value || ').'
    when 'brought back' then 'Brought back as ' || new_value || '.'
    else replace(field, '_', ' ') || ': ' || coalesce(old_shown, 'none') || ' → ' || coalesce(new_shown, 'none') || '.'
  end as description,
  (select file from ingests where id = worded.ingest_id) as file
from worded
order by changed_on, tool, change <> 'added', field
