-- A change to a tool's contract or ownership: see tool_history_added.sql.
CREATE TRIGGER tool_history_changed AFTER UPDATE OF
  status, annual_cost, currency, seats_purchased, owner_team, renewal_date, notice_period ON tools
BEGIN
  INSERT INTO tool_history (tool, field, changed_on, old_value, new_value, ingest_id)
  SELECT new.slug, field, coalesce((SELECT value FROM settings WHERE key = 'changes_as_of'), date('now')), old_value,
         new_value, new.ingest_id
  FROM (
    SELECT 'status' AS field, old.status AS old_value, new.status AS new_value
    UNION ALL SELECT 'annual_cost', old.annual_cost, new.annual_cost
    UNION ALL SELECT 'currency', old.currency, new.currency
    UNION ALL SELECT 'seats_purchased', old.seats_purchased, new.seats_purchased
    UNION ALL SELECT 'owner_team', old.owner_team, new.owner_team
    UNION ALL SELECT 'renewal_date', old.renewal_date, new.renewal_date
    UNION ALL SELECT 'notice_period', old.notice_period, new.notice_period
  )
  WHERE old_value IS NOT new_value
  ON CONFLICT (tool, field, changed_on) DO UPDATE SET new_value = excluded.new_value, ingest_id = excluded.ingest_id;
  DELETE FROM tool_history
  WHERE tool = new.slug AND old_value IS new_value
    AND changed_on = coalesce((SELECT value FROM settings WHERE key = 'changes_as_of'), date('now'));
END;
