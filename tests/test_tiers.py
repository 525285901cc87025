"""Seats by plan tier (issue 16, part 4): the tier import-users stores, the tiers kind and the right-size report.

The organisation, written here: two teams, Marketing and Demand Gen, and two tools:
  Salesforce Sales Cloud   contract in EUR (60,000 a year for 50 seats)
  HubSpot Marketing Hub    contract in USD (48,000 a year for 100 seats)
One exchange rate: 1 EUR = 1.10 USD (the base currency) from 1 January 2024.

Salesforce's tiers (tiers.csv), in EUR a seat a year:
  Salesforce Platform   €300     rank 1, the cheapest   -> 300 x 1.10 = 330.00 USD
  Salesforce            €1,500   rank 2                 -> 1,500 x 1.10 = 1,650.00 USD
HubSpot has none.

The Salesforce export, as of 31 March 2024 (idle_days 30: a last login before 1 March, or none, is idle):
  ann  Marketing   Salesforce              last login 28 March     active
  bob  Marketing   Salesforce              last login 29 February  idle (the day before 1 March)
  cat  Demand Gen  Salesforce              never signed in         idle
  dan  Demand Gen  " Salesforce  Platform" last login 1 February   idle (trimmed to Salesforce Platform)
  eve  Demand Gen  Salesforce Platform     last login 1 March      active (1 March is within the 30 days)
  fay  Marketing   Chatter Free            last login 20 March     no seat (a free licence)
  gus  Marketing   Salesforce, deactivated last login 20 March     no seat
  hal  Demand Gen  Salesforce Integration  last login 1 January    idle, in a tier the tiers file does not list
The HubSpot export, as of 30 April 2024, has no licence column: ivy (20 April, active), jon (1 February, idle).
"""

from __future__ import annotations

import json

import pytest

from conftest import content_hash, rows, run, write

TEAMS = "team\nMarketing\nDemand Gen\n"
TOOLS = (
    "tool,vendor,annual cost,currency,licenses\n"
    "Salesforce Sales Cloud,Salesforce,60000,EUR,50\n"
    "HubSpot Marketing Hub,HubSpot,48000,USD,100\n"
)
RATES = "currency,rate,date\nEUR,1.10,2024-01-01\n"
TIERS = (
    "Application,Plan,Price per seat,Rank\n"
    "Salesforce Sales Cloud,Salesforce Platform,€300,1\n"
    "Salesforce Sales Cloud,Salesforce,\"1,500\",2\n"
)
DIRECTORY = (
    "email,team\n"
    "ann@example.com,Marketing\nbob@example.com,Marketing\ncat@example.com,Demand Gen\n"
    "dan@example.com,Demand Gen\neve@example.com,Demand Gen\nfay@example.com,Marketing\n"
    "gus@example.com,Marketing\nhal@example.com,Demand Gen\n"
)
SALESFORCE = (
    "Email,Profile.UserLicense.Name,Active,Last Login\n"
    "ann@example.com,Salesforce,true,2024-03-28\n"
    "bob@example.com,Salesforce,true,2024-02-29\n"
    "cat@example.com,Salesforce,true,\n"
    "dan@example.com, Salesforce  Platform ,true,2024-02-01\n"
    "eve@example.com,Salesforce Platform,true,2024-03-01\n"
    "fay@example.com,Chatter Free,true,2024-03-20\n"
    "gus@example.com,Salesforce,false,2024-03-20\n"
    "hal@example.com,Salesforce Integration,true,2024-01-01\n"
)
HUBSPOT = "Email,Last login date\nivy@example.com,2024-04-20\njon@example.com,2024-02-01\n"
COLUMNS = ("tool", "tier", "as_of", "rank", "seats", "active", "idle_seats", "price_per_seat", "currency", "idle_cost",
           "cheapest_tier", "downgrade_candidates", "downgrade_saving", "note")


@pytest.fixture(autouse=True)
def fixed_key(monkeypatch):
    monkeypatch.setenv("STACK_TRACKER_SECRET", "a-test-secret-of-32-characters!!")


@pytest.fixture
def tier_db(db_path, tmp_path):
    for kind, text in (("teams", TEAMS), ("tools", TOOLS), ("rates", RATES), ("tiers", TIERS)):
        run("ingest", db_path, kind, write(tmp_path / f"{kind}.csv", text), "--silent")
    directory = write(tmp_path / "people.csv", DIRECTORY)
    run("import-users", db_path, write(tmp_path / "salesforce.csv", SALESFORCE), "--tool", "Salesforce Sales Cloud",
        "--as-of", "2024-03-31", "--directory", directory)
    run("import-users", db_path, write(tmp_path / "hubspot.csv", HUBSPOT), "--tool", "HubSpot Marketing Hub",
        "--as-of", "2024-04-30")
    return db_path


def right_size(db_path, *args) -> list[tuple]:
    report = json.loads(run("report", db_path, "right-size", "--format", "json", *args).output)
    return [tuple(row[column] for column in COLUMNS) for row in report]


def test_the_tiers_file_loads_with_prices_in_the_tools_currency(tier_db):
    # €300 names its currency, the tool's own; "1,500" names none and is read in it too.
    assert rows(tier_db, "select tool, tier, price_per_seat, rank from tiers order by rank") == [
        {"tool": "salesforce-sales-cloud", "tier": "Salesforce Platform", "price_per_seat": 300.0, "rank": 1},
        {"tool": "salesforce-sales-cloud", "tier": "Salesforce", "price_per_seat": 1500.0, "rank": 2},
    ]


def test_a_price_in_another_currency_than_the_tools_is_refused(tier_db, tmp_path):
    before = content_hash(tier_db, exclude=("ingests",))
    bad = write(tmp_path / "bad-tiers.csv", "tool,tier,price,rank\nSalesforce Sales Cloud,Salesforce,$1650,2\n"
                                            "Nothing Such,Pro,10,1\n")
    result = run("ingest", tier_db, "tiers", bad, exit_code=1)
    assert 'bad-tiers.csv:2: price_per_seat: "USD": the tool\'s prices are in EUR' in result.output
    assert 'bad-tiers.csv:3: tool: "Nothing Such": unknown tool' in result.output
    assert content_hash(tier_db, exclude=("ingests",)) == before


def test_import_users_stores_each_holders_tier(tier_db):
    # The licence column's value, trimmed (dan's " Salesforce  Platform "); fay's free licence and gus's
    # deactivated one are kept too, without a seat; an export without a licence column gives ''.
    assert rows(tier_db, "select tool, tier, holds_seat, count(*) as users from seat_holders "
                         "group by tool, tier, holds_seat order by tool, tier, holds_seat") == [
        {"tool": "hubspot-marketing-hub", "tier": "", "holds_seat": 1, "users": 2},
        {"tool": "salesforce-sales-cloud", "tier": "Chatter Free", "holds_seat": 0, "users": 1},
        {"tool": "salesforce-sales-cloud", "tier": "Salesforce", "holds_seat": 0, "users": 1},
        {"tool": "salesforce-sales-cloud", "tier": "Salesforce", "holds_seat": 1, "users": 3},
        {"tool": "salesforce-sales-cloud", "tier": "Salesforce Integration", "holds_seat": 1, "users": 1},
        {"tool": "salesforce-sales-cloud", "tier": "Salesforce Platform", "holds_seat": 1, "users": 2},
    ]


def test_right_size_counts_and_prices_each_tier(tier_db):
    assert right_size(tier_db) == [
        # HubSpot, as of its export's day (idle before 31 March): ivy active, jon idle; no tier to price.
        ("hubspot-marketing-hub", "", "2024-04-30", None, 2, 1, 1, None, "USD", None, None, 0, 0,
         "The export has no licence column: its seats have no tier to price."),
        # Salesforce Platform, the cheapest: dan idle, eve active; 1 x 330.00 = 330.00; nothing to downgrade to.
        ("salesforce-sales-cloud", "Salesforce Platform", "2024-03-31", 1, 2, 1, 1, 330.0, "USD", 330.0,
         "Salesforce Platform", 0, 0, None),
        # Salesforce: ann active, bob and cat idle: 2 x 1,650.00 = 3,300.00 a year. Both are downgrade
        # candidates: 2 x (1,650.00 - 330.00) = 2,640.00 a year saved on the Platform tier.
        ("salesforce-sales-cloud", "Salesforce", "2024-03-31", 2, 3, 1, 2, 1650.0, "USD", 3300.0,
         "Salesforce Platform", 2, 2640.0, None),
        # Salesforce Integration: hal, idle, in a tier the tiers file does not list: no price, no rank.
        ("salesforce-sales-cloud", "Salesforce Integration", "2024-03-31", None, 1, 0, 1, None, "USD", None,
         "Salesforce Platform", 0, 0, "The tiers file does not list this tier: its seats cannot be priced."),
    ]


def salesforce_tier(db_path, *args) -> list[tuple]:
    """The Salesforce tier's row: tier, as_of, rank, seats, active, idle, price, idle cost, cheapest, candidates, saving."""
    return [row[1:8] + row[9:13] for row in right_size(db_path, *args) if row[1] == "Salesforce"]


def test_right_size_takes_a_team_a_day_and_idle_days(tier_db):
    # Marketing holds ann's seat (active) and bob's (idle): 1 candidate, 1,320.00 saved.
    assert salesforce_tier(tier_db, "--team", "marketing") == [
        ("Salesforce", "2024-03-31", 2, 2, 1, 1, 1650.0, 1650.0, "Salesforce Platform", 1, 1320.0)]
    # idle_days 60 (idle before 31 January): bob (29 February) is active now; cat (never) idle: 1 x 1,320.00.
    assert salesforce_tier(tier_db, "--param", "idle_days=60") == [
        ("Salesforce", "2024-03-31", 2, 3, 2, 1, 1650.0, 1650.0, "Salesforce Platform", 1, 1320.0)]
    # As of 30 April (idle before 31 March): ann (28 March) is idle too: 3 idle, 3 x 1,320.00 = 3,960.00.
    assert salesforce_tier(tier_db, "--as-of", "2024-04-30") == [
        ("Salesforce", "2024-04-30", 2, 3, 0, 3, 1650.0, 4950.0, "Salesforce Platform", 3, 3960.0)]
    assert "unknown team" in run("report", tier_db, "right-size", "--team", "Nobody", exit_code=1).output


def test_a_currency_without_a_rate_leaves_the_money_out(tier_db, tmp_path):
    # Salesforce's contract moves to GBP, which no rate converts: the Salesforce rows lose their money.
    run("ingest", tier_db, "tools", write(tmp_path / "tools-gbp.csv", TOOLS.replace("EUR", "GBP")), "--silent")
    rows_by_tier = {row[1]: row for row in right_size(tier_db) if row[0] == "salesforce-sales-cloud"}
    assert rows_by_tier["Salesforce"][7:] == (
        None, "USD", None, "Salesforce Platform", 2, None,
        "The contract is in GBP, which has no exchange rate into USD in force on 2024-03-31: its cost is left out.")


def test_the_sample_organisation_has_seats_to_take_back_and_to_move_down_a_tier(sample_db):
    """data/sample/README.md, finding 8c, worked out by hand from the two user lists of 30 November."""
    reclaim = json.loads(run("report", sample_db, "reclaim", "--format", "json").output)
    assert [(row["tool"], row["seats"], row["leaver_seats"], row["idle_seats"], row["price_per_seat"], row["reclaimable_cost"])
            for row in reclaim] == [
        ("hubspot-marketing-hub", 30, 1, 2, 1600.0, 4800.0),
        ("salesforce-sales-cloud", 39, 1, 1, 1800.0, 3600.0),
    ]
    right_size = json.loads(run("report", sample_db, "right-size", "--format", "json").output)
    assert [(row["tool"], row["tier"], row["seats"], row["active"], row["downgrade_candidates"], row["downgrade_saving"])
            for row in right_size] == [
        ("hubspot-marketing-hub", "Core Seat", 25, 23, 0, 0),
        ("hubspot-marketing-hub", "Sales Hub Professional Seat", 5, 4, 1, 480.0),
        ("salesforce-sales-cloud", "Salesforce Platform", 4, 4, 0, 0),
        ("salesforce-sales-cloud", "Salesforce", 35, 33, 2, 3360.0),
    ]
