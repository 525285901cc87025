-- Each tool's money in the base currency, over each span of days one exchange
-- rate is in force for its currency (a tool that names no currency is in the
-- base). A report asks for the span holding its day:
--   join tool_costs as cost on cost.tool = tools.slug and :day >= cost.valid_from and :day < cost.valid_until
-- and a tool with no such row has no rate that day: the report names it.
select
  tools.slug as tool,
  upper(coalesce(tools.currency, base_currency.currency)) as currency,
  rates.valid_from,
  rates.valid_until,
  rates.rate,
  rates.rate_date,
  -- To the cent: a converted amount carries no more precision than money has.
  round(tools.annual_cost * rates.rate, 2) as annual_cost,
  round(tools.price_per_seat * rates.rate, 2) as price_per_seat
from tools
cross join base_currency
join rates_in_force as rates on rates.currency = upper(coalesce(tools.currency, base_currency.currency))
