-- Card and expense spend (table spend, from import-spend) with the exchange rate
-- into the base currency in force on each month's last day: the one place the
-- spend reports convert. A currency with no rate that day has none here, and
-- a report names its amount rather than leave it out.
select spent.*, rates.rate, rates.rate_date
from (
  select tool, team, period, currency, amount, transactions, date(period || '-01', '+1 month', '-1 day') as month_end
  from spend
) as spent
left join rates_in_force as rates
  on rates.currency = spent.currency and rates.valid_from <= spent.month_end and spent.month_end < rates.valid_until
