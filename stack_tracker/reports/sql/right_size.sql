-- Seats by plan tier, per tool, from the vendors' user exports (seat_holders,
-- written by import-users, each user with the tier its licence column names)
-- and the tiers each tool sells (tiers, kind tiers: a seat's price a year in
-- the tool's currency, and a rank, 1 the cheapest). Per tool and tier: the
-- seats its holders hold, how many signed in within idle_days days of the day
-- (a last login on or after the day less idle_days), the idle rest (an older
-- last login, or none at all) and what they cost a year; and the downgrade
-- candidates: idle holders of a tier above the tool's cheapest (the lowest
-- rank), with what moving them to the cheapest tier would save a year.
--
-- Each tool is judged as of its export's day, or as of the as_of asked for.
-- Prices are converted into the base currency at the rate in force that day
-- for the tool's currency, through the view tool_costs, as reclaim does; a
-- tier the tiers file does not list or price, or a currency without a rate,
-- leaves the money empty and a note says why.
with {part:seats_on_the_day},
per_tier as (
  select tool, tier, day, idle_days, count(*) as seats, sum(not idle) as active, sum(idle) as idle_seats
  from holders
  group by tool, tier, day, idle_days
),
-- Each tool's cheapest tier: the lowest rank, the first by name should two share it.
cheapest as (
  select tool, tier, rank, price_per_seat
  from (
    select tool, tier, rank, price_per_seat, row_number() over (partition by tool order by rank, tier) as place
    from tiers
    where rank is not null
  )
  where place = 1
),
priced as (
  select
    per_tier.*,
    tiers.rank,
    tiers.tier is not null as listed,
    tiers.price_per_seat is not null as has_price,
    round(tiers.price_per_seat * cost.rate, 2) as price_per_seat,
    cheapest.tier as cheapest_tier,
    cheapest.price_per_seat is not null as cheapest_has_price,
    round(cheapest.price_per_seat * cost.rate, 2) as cheapest_price,
    coalesce(tiers.rank > cheapest.rank, 0) as above_cheapest,
    cost.tool is not null as has_rate,
    upper(coalesce(tools.currency, (select currency from base_currency))) as contract_currency
  from per_tier
  join tools on tools.slug = per_tier.tool
  left join tiers on tiers.tool = per_tier.tool and tiers.tier = per_tier.tier
  left join cheapest on cheapest.tool = per_tier.tool
  left join tool_costs as cost on cost.tool = per_tier.tool and per_tier.day >= cost.valid_from and per_tier.day < cost.valid_until
)
select
  tool,
  tier,
  day as as_of,
  rank,
  seats,
  active,
  idle_seats,
  idle_days,
  price_per_seat,
  (select currency from base_currency) as currency,
  round(idle_seats * price_per_seat, 2) as idle_cost,
  cheapest_tier,
  iif(above_cheapest, idle_seats, 0) as downgrade_candidates,
  iif(above_cheapest, round(idle_seats * (price_per_seat - cheapest_price), 2), 0) as downgrade_saving,
  case
    when tier = '' then 'The export has no licence column: its seats have no tier to price.'
    when not listed then 'The tiers file does not list this tier: its seats cannot be priced.'
    when not has_price then 'The tiers file gives this tier no price: its seats cannot be priced.'
    when not has_rate then 'The contract is in ' || contract_currency || ', which has no exchange rate into '
      || (select currency from base_currency) || ' in force on ' || day || ': its cost is left out.'
    when above_cheapest and not cheapest_has_price then 'The cheapest tier, ' || cheapest_tier
      || ', has no price: the downgrade saving is left out.'
  end as note
from priced
order by tool, rank is null, rank, tier
