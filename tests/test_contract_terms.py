"""Contract terms: notice periods, the date by which to cancel, contracts that renew themselves.

A tools file states each contract's renewal date and notice period; the
`renewals` report works out the next renewal, the cancel-by date (renewal less
notice: in months, the same day of an earlier month, or that month's last day)
and what to do by when. Every date below is worked out by hand, as of
2025-01-15, a Wednesday:

    tool      status    renews      auto  cycle    notice    next renewal  cancel by    days left / to cancel by
    alpha     retiring  2025-03-31  no             1 month   2025-03-31    2025-02-28   75 / 44   (Feb has 28 days)
    bravo     active    2025-06-15  no             P3M       2025-06-15    2025-03-15   151 / 59
    charlie   active    2025-05-31  no             90        2025-05-31    2025-03-02   136 / 46  (90 days)
    delta     active    2024-11-20  yes   monthly  30 days   2025-01-20    2024-12-21   5 / -25   (two cycles on; notice passed)
    echo      active    2024-01-31  yes   annual   2 months  2025-01-31    2024-11-30   16 / -46  (a year on; Jan 31 - 2 months)
    foxtrot   active    2024-12-31  no             -         (expired: not listed)
    golf      active    2025-02-28  no             -         2025-02-28    -            44 / -
    hotel     active    2025-08-31  no             6 months  2025-08-31    2025-02-28   228 / 44  (Aug 31 - 6 months)
    india     active    2025-09-30  no             1 month   2025-09-30    2025-08-30   258 / 227 (neither within 90 days)

Days from 2025-01-15: to Jan 31 is 16, then Feb 28, Mar 31, Apr 30, May 31, Jun 30, Jul 31, Aug 31, Sep 30.
"""

from __future__ import annotations

import pytest

from conftest import rows, run, write
from stack_tracker.database import open_existing
from stack_tracker.reports.registry import run_report

AS_OF = "2025-01-15"
TOOLS = """tool,status,annual cost,licenses,renewal date,auto renew,billing cycle,notice period,price per seat
Alpha,retiring,1200,10,2025-03-31,no,annual,1 month,
Bravo,active,"$6,000",50,2025-06-15,no,annual,P3M,
Charlie,active,3000,,2025-05-31,no,annual,90,
Delta,active,600,5,2024-11-20,yes,monthly,30 days,
Echo,active,2400,12,2024-01-31,yes,annual,2 months,150
Foxtrot,active,100,1,2024-12-31,no,annual,,
Golf,active,100,1,2025-02-28,no,annual,,
Hotel,active,100,1,2025-08-31,no,annual,6 months,
India,active,100,1,2025-09-30,no,annual,1 month,
"""
# (tool, renewal_date, days_left, notice_period, cancel_by, days_to_cancel_by, act_by), in the order listed:
# by the earlier of the two dates.
EXPECTED = [
    ("echo", "2025-01-31", 16, "2 months", "2024-11-30", -46, "2025-01-31"),
    ("delta", "2025-01-20", 5, "30 days", "2024-12-21", -25, "2025-01-20"),
    ("alpha", "2025-03-31", 75, "1 month", "2025-02-28", 44, "2025-02-28"),
    ("golf", "2025-02-28", 44, None, None, None, "2025-02-28"),
    ("hotel", "2025-08-31", 228, "6 months", "2025-02-28", 44, "2025-02-28"),
    ("charlie", "2025-05-31", 136, "90 days", "2025-03-02", 46, "2025-03-02"),
    ("bravo", "2025-06-15", 151, "3 months", "2025-03-15", 59, "2025-03-15"),
]


@pytest.fixture
def contracts(db_path, tmp_path):
    run("ingest", db_path, "tools", write(tmp_path / "tools.csv", TOOLS), "--silent")
    return db_path


def renewals(db_path, **params):
    db = open_existing(db_path)
    try:
        return run_report(db, "renewals", as_of=AS_OF, params=params)
    finally:
        db.close()


def test_notice_periods_are_stored_in_days_or_months(contracts):
    assert rows(contracts, "select slug, notice_period from tools where notice_period is not null order by slug") == [
        {"slug": "alpha", "notice_period": "1 month"}, {"slug": "bravo", "notice_period": "3 months"},
        {"slug": "charlie", "notice_period": "90 days"}, {"slug": "delta", "notice_period": "30 days"},
        {"slug": "echo", "notice_period": "2 months"}, {"slug": "hotel", "notice_period": "6 months"},
        {"slug": "india", "notice_period": "1 month"},
    ]


def test_cancel_by_and_the_next_renewal(contracts):
    found = renewals(contracts)
    columns = ("tool", "renewal_date", "days_left", "notice_period", "cancel_by", "days_to_cancel_by", "act_by")
    assert [tuple(row[column] for column in columns) for row in found] == EXPECTED


def test_what_to_do_by_when(contracts):
    """No usage data: only the retiring tool has a recommendation (cancel); the others say to find out first."""
    actions = {row["tool"]: (row["recommendation"], row["action"]) for row in renewals(contracts)}
    assert actions["alpha"] == ("cancel", "Give notice by 2025-02-28 (1 month before it renews).")
    assert actions["bravo"] == (None, "Find out who uses it by 2025-03-15.")
    assert actions["delta"] == (None, "Find out who uses it by 2025-01-20.")


def test_a_cancellation_whose_notice_date_has_passed_says_so(contracts, tmp_path):
    run("ingest", contracts, "tools", write(tmp_path / "retire.csv", "tool,status\nEcho,retiring\nGolf,retiring\n"), "--silent")
    actions = {row["tool"]: row["action"] for row in renewals(contracts)}
    assert actions["echo"] == "The notice date, 2024-11-30, has passed: ask the vendor now, or it renews on 2025-01-31."
    assert actions["golf"] == "Cancel before 2025-02-28; the notice period is not known: check the contract."


def test_the_window_looks_ahead_on_the_earlier_date(contracts):
    """A 45-day window reaches 2025-03-01: bravo (cancel by 03-15) and charlie (03-02) drop out; hotel's deadline stays in."""
    assert [row["tool"] for row in renewals(contracts, renewal_window_days="45")] == ["echo", "delta", "alpha", "golf", "hotel"]
    # 300 days reach india's renewal (258 days) and its deadline (2025-08-30, 227 days).
    india = [row for row in renewals(contracts, renewal_window_days="300") if row["tool"] == "india"]
    assert [(row["cancel_by"], row["days_to_cancel_by"]) for row in india] == [("2025-08-30", 227)]


def test_price_per_seat_is_stated_or_derived(contracts):
    """Echo states 150 a seat; alpha is 1200 / 10 = 120; charlie has no seat count, so no price."""
    prices = {row["tool"]: row["price_per_seat"] for row in renewals(contracts)}
    assert (prices["echo"], prices["alpha"], prices["bravo"], prices["charlie"]) == (150.0, 120.0, 120.0, None)


def test_a_leap_year_february(db_path, tmp_path):
    """2024-05-31 less 3 months is 2024-02-29; from 2024-01-01, 31 + 28 = 59 days."""
    run("ingest", db_path, "tools", write(tmp_path / "t.csv", "tool,renewal date,notice\nLeap,2024-05-31,3 months\n"), "--silent")
    db = open_existing(db_path)
    [row] = run_report(db, "renewals", as_of="2024-01-01", params={"renewal_window_days": "90"})
    db.close()
    assert (row["cancel_by"], row["days_to_cancel_by"]) == ("2024-02-29", 59)


@pytest.mark.parametrize("notice, message", [
    ("3 fortnights", 'notice_period: "3 fortnights": expected a notice period such as 30 days, 3 months, 90 or P3M'),
    ("P1M15D", 'notice_period: "P1M15D": expected a notice period in months or in days, not both'),
    ("400 months", 'notice_period: "400 months": expected a notice period of at most ten years'),
])
def test_a_notice_period_that_is_no_period_is_refused(db_path, tmp_path, notice, message):
    result = run("ingest", db_path, "tools", write(tmp_path / "t.csv", f"tool,notice period\nAlpha,{notice}\n"), exit_code=1)
    assert f"t.csv:2: {message}" in result.output


def test_a_seat_price_in_another_currency_than_the_cost_is_refused(db_path, tmp_path):
    result = run("ingest", db_path, "tools", write(tmp_path / "t.csv", 'tool,annual cost,price per seat\nAlpha,"$1,200",€10\n'),
                 exit_code=1)
    assert 't.csv:2: annual_cost: "USD": price_per_seat is in EUR; the two must agree' in result.output
