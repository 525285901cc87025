-- The currency every report totals in: the database's setting, USD for one that never chose.
select coalesce((select value from settings where key = 'base_currency'), 'USD') as currency
