-- Seats to take back, per tool, from the vendors' user exports (seat_holders,
-- written by import-users) and the people directory (people): seats held by
-- people who left, and seats of people still here who have not signed in for
-- idle_days days (a last login before the day less idle_days, or none at all).
-- Each seat counts once: a leaver's seat is a leaver's, never also idle.
--
-- Each tool is judged as of its export's day, or as of the as_of asked for: a
-- person is a leaver whose status says so or whose left_on is on or before
-- it. What the seats cost a year is the tool's price per seat in the base
-- currency (its stated price, else its annual cost over its seats) at the rate
-- in force that day, through the view tool_costs; a tool without a price, or
-- whose currency has no rate, leaves the cost empty and a note says why.
with {part:seats_on_the_day},
per_tool as (
  select
    tool,
    day,
    idle_days,
    count(*) as seats,
    sum(has_left) as leaver_seats,
    sum(not has_left and idle) as idle_seats
  from holders
  group by tool, day, idle_days
),
priced as (
  select
    per_tool.*,
    coalesce(cost.price_per_seat, round(cost.annual_cost / nullif(tools.seats_purchased, 0), 2)) as price_per_seat,
    cost.tool is not null as has_rate,
    upper(coalesce(tools.currency, (select currency from base_currency))) as contract_currency,
    tools.annual_cost is not null or tools.price_per_seat is not null as has_price
  from per_tool
  join tools on tools.slug = per_tool.tool
  left join tool_costs as cost on cost.tool = per_tool.tool and per_tool.day >= cost.valid_from and per_tool.day < cost.valid_until
)
select
  tool,
  day as as_of,
  seats,
  leaver_seats,
  idle_seats,
  idle_days,
  leaver_seats + idle_seats as reclaimable_seats,
  price_per_seat,
  (select currency from base_currency) as currency,
  round(leaver_seats * price_per_seat, 2) as leaver_cost,
  round(idle_seats * price_per_seat, 2) as idle_cost,
  round((leaver_seats + idle_seats) * price_per_seat, 2) as reclaimable_cost,
  case
    when not has_price then 'The inventory gives no annual cost or price per seat: the seats cannot be priced.'
    when not has_rate then 'The contract is in ' || contract_currency || ', which has no exchange rate into '
      || (select currency from base_currency) || ' in force on ' || day || ': its cost is left out.'
    when price_per_seat is null then 'The inventory gives no seat count to price a seat by.'
  end as note
from priced
order by reclaimable_cost is null, reclaimable_cost desc, reclaimable_seats desc, tool
