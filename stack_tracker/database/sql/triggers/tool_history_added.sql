-- The inventory's history: every change to a tool's contract and ownership,
-- recorded by the database itself whichever command writes the tools table
-- (a tools file, a tool created as unreviewed by a usage file or a sign-in log).
-- A change takes effect on the day an ingest says its snapshot is as of
-- (settings key changes_as_of, set only inside that ingest's transaction), else
-- on the day it is written. Two changes of a field on one day are one change,
-- from the day's first value to its last; one that ends where it began is none.
CREATE TRIGGER tool_history_added AFTER INSERT ON tools
BEGIN
  INSERT INTO tool_history (tool, field, changed_on, old_value, new_value, ingest_id)
  SELECT new.slug, field, coalesce((SELECT value FROM settings WHERE key = 'changes_as_of'), date('now')), NULL, value,
         new.ingest_id
  FROM (
    SELECT 'status' AS field, new.status AS value
    UNION ALL SELECT 'annual_cost', new.annual_cost
    UNION ALL SELECT 'currency', new.currency
    UNION ALL SELECT 'seats_purchased', new.seats_purchased
    UNION ALL SELECT 'owner_team', new.owner_team
    UNION ALL SELECT 'renewal_date', new.renewal_date
    UNION ALL SELECT 'notice_period', new.notice_period
  )
  WHERE value IS NOT NULL
  ON CONFLICT (tool, field, changed_on) DO UPDATE SET new_value = excluded.new_value, ingest_id = excluded.ingest_id;
END;
