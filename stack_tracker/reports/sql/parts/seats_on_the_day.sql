params as (
  select
    nullif(:as_of, '') as as_of,
    -- A team's slug: the SQL every reader runs has turned a name into it (choices.with_team_names).
    nullif(:team, '') as team,
    coalesce(cast(nullif(:idle_days, '') as integer), 30) as idle_days
),
-- Each seat of the vendors' user exports (seat_holders), judged on its export's day or the as_of asked
-- for: its tier, whether its holder had left by then (people: a leaver's status, or a left_on on or
-- before the day), and whether it is idle (a last login before the day less idle_days, or none at all).
holders as (
  select
    seat_holders.tool,
    coalesce(seat_holders.tier, '') as tier,
    coalesce(params.as_of, seat_holders.as_of) as day,
    params.idle_days,
    coalesce(people.status = 'leaver' or people.left_on <= coalesce(params.as_of, seat_holders.as_of), 0) as has_left,
    seat_holders.last_login is null
      or seat_holders.last_login < date(coalesce(params.as_of, seat_holders.as_of), printf('-%d days', params.idle_days))
      as idle
  from seat_holders
  cross join params
  left join people on people.user_key = seat_holders.user_key
  where seat_holders.holds_seat = 1
    and (params.team is null or seat_holders.team = params.team)
)
