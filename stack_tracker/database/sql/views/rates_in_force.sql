-- Each exchange rate with the days it is in force: from its date until the
-- currency's next rate (valid_until is that next rate's date, not included).
-- The base currency converts at 1, always. An amount in a currency on day D
-- converts with the row where valid_from <= D < valid_until; a currency with
-- no such row has no rate that day, and a report names it rather than guess.
select
  currency,
  date as valid_from,
  coalesce(lead(date) over (partition by currency order by date), '9999-12-31') as valid_until,
  rate,
  date as rate_date
from rates
where currency <> (select currency from base_currency)
union all
select currency, '0000-01-01', '9999-12-31', 1.0, null from base_currency
