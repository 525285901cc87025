"""The inventory's history: every change to a tool's contract and owner, dated, and what it did to the budget.

Two snapshots of a tools spreadsheet, loaded in date order with --as-of:

    as of 2025-01-31   Alpha    12,000 USD  20 seats  owner Marketing   active
                       Bravo     6,000 EUR  10 seats  owner Demand Gen  active
                       Charlie   1,200 USD                              active
    as of 2025-04-15   Alpha    13,200 USD  20 seats  owner Demand Gen  active    (a price rise, a new owner)
                       Bravo     6,000 EUR  10 seats  owner Demand Gen  active    (unchanged)
                       Charlie   1,200 USD                              retired
                       Delta     2,400 USD                              active    (new)

Annual spend in force at each month's end (active, trial or retiring tools), in
dollars, the euro at 1.10 from 2025-02-01 and 1.20 from 2025-04-01:

    2024-12  nothing yet (the first snapshot is as of 2025-01-31)
    2025-01              12,000 + 1,200 = 13,200 (2 tools); Bravo's euros have no rate yet: named
    2025-02 to 2025-03   13,200 + 6,000 x 1.10 = 19,800 (3 tools)
    2025-04 to 2025-05   13,200 + 2,400 + 6,000 x 1.20 = 22,800 (3 tools: Charlie retired)
"""

from __future__ import annotations

import pytest

from conftest import content_hash, rows, run, write
from stack_tracker.database import open_existing
from stack_tracker.reports.registry import run_report

JANUARY = """tool,annual cost,currency,licenses,owner team,status,renewal date
Alpha,12000,USD,20,Marketing,active,2025-06-30
Bravo,6000,EUR,10,Demand Gen,active,
Charlie,1200,USD,,,active,
"""
APRIL = """tool,annual cost,currency,licenses,owner team,status,renewal date
Alpha,13200,USD,20,Demand Gen,active,2025-06-30
Bravo,6000,EUR,10,Demand Gen,active,
Charlie,1200,USD,,,retired,
Delta,2400,USD,,,active,
"""


@pytest.fixture
def teams_db(db_path, tmp_path):
    run("ingest", db_path, "teams", write(tmp_path / "teams.csv", "team\nMarketing\nDemand Gen\n"), "--silent")
    return db_path


@pytest.fixture
def history(teams_db, tmp_path):
    run("ingest", teams_db, "rates", write(tmp_path / "rates.csv", "currency,rate,date\nEUR,1.10,2025-02-01\nEUR,1.20,2025-04-01\n"),
        "--silent")
    january = run("ingest", teams_db, "tools", write(tmp_path / "tools-2025-01.csv", JANUARY), "--as-of", "2025-01-31")
    assert "read 3 tools rows, wrote 3 (3 new, 0 updated, 0 unchanged)" in january.output
    april = run("ingest", teams_db, "tools", write(tmp_path / "tools-2025-04.csv", APRIL), "--as-of", "2025-04-15")
    # The history the triggers write is not counted as rows of the file.
    assert "read 4 tools rows, wrote 3 (1 new, 2 updated, 1 unchanged)" in april.output
    return teams_db


def report(db_path, name, **params):
    db = open_existing(db_path)
    try:
        return run_report(db, name, params=params)
    finally:
        db.close()


def test_changes_since_the_first_snapshot(history):
    found = report(history, "changes", since="2025-02-01")
    assert [(row["changed_on"], row["tool"], row["change"], row["field"], row["old_value"], row["new_value"]) for row in found] == [
        ("2025-04-15", "alpha", "changed", "annual_cost", "12,000", "13,200"),
        ("2025-04-15", "alpha", "changed", "owner_team", "Marketing", "Demand Gen"),
        ("2025-04-15", "charlie", "retired", "status", "active", "retired"),
        ("2025-04-15", "delta", "added", "status", None, "active"),
    ]
    assert [row["description"] for row in found] == [
        "annual cost: 12,000 → 13,200.", "owner team: Marketing → Demand Gen.", "Retired (was active).",
        "Added to the inventory as active.",
    ]
    assert {row["file"] for row in found} == {"tools-2025-04.csv"}


def test_every_change_from_the_start(history):
    """The first snapshot adds three tools: one row each, their first values told by it, not as changes."""
    found = report(history, "changes")
    assert [(row["changed_on"], row["tool"], row["change"]) for row in found[:3]] == [
        ("2025-01-31", "alpha", "added"), ("2025-01-31", "bravo", "added"), ("2025-01-31", "charlie", "added"),
    ]
    assert len(found) == 7
    assert report(history, "changes", until="2025-04-14") == found[:3]


def test_spend_by_month_follows_the_history(history):
    found = report(history, "spend-by-month", since="2024-12", until="2025-05")
    assert [(row["period"], row["currency"], row["annual_spend"], row["tools"], row["rate_date"], row["unconverted"])
            for row in found] == [
        ("2025-01", "USD", 13200.0, 2, None, "Bravo (EUR)"),
        ("2025-02", "USD", 19800.0, 3, "2025-02-01", None),
        ("2025-03", "USD", 19800.0, 3, "2025-02-01", None),
        ("2025-04", "USD", 22800.0, 3, "2025-04-01", None),
        ("2025-05", "USD", 22800.0, 3, "2025-04-01", None),
    ]


def test_a_tool_added_later_counts_from_its_contracts_start(teams_db, tmp_path):
    """Echo enters the inventory on 2025-04-15 under a contract that started 2025-02-01: in force from February.
    Foxtrot's contract starts after it was added (2025-06-01): it counts from April, when it was added."""
    run("ingest", teams_db, "tools", write(tmp_path / "t.csv", "tool,annual cost,currency,contract start\n"
                                                                 "Echo,500,USD,2025-02-01\nFoxtrot,70,USD,2025-06-01\n"),
        "--as-of", "2025-04-15", "--silent")
    found = report(teams_db, "spend-by-month", since="2025-01", until="2025-04")
    assert [(row["period"], row["annual_spend"], row["tools"]) for row in found] == [
        ("2025-02", 500.0, 1), ("2025-03", 500.0, 1), ("2025-04", 570.0, 2)]


def test_the_twelve_months_up_to_the_as_of_day_by_default(history):
    found = report(history, "spend-by-month", as_of="2025-02-10")
    # 2024-03 to 2025-02: only January and February hold anything.
    assert [(row["period"], row["annual_spend"]) for row in found] == [("2025-01", 13200.0), ("2025-02", 19800.0)]


def test_an_older_snapshot_after_a_newer_one_is_refused(history, tmp_path):
    before = content_hash(history, exclude=("ingests",))
    result = run("ingest", history, "tools", write(tmp_path / "tools-2025-03.csv", JANUARY), "--as-of", "2025-03-01",
                 exit_code=1)
    assert ("Error: the inventory already records changes as of 2025-04-15: load snapshots in date order, oldest first "
            "(a snapshot as of 2025-03-01 loaded now would undo them)") in result.output
    assert content_hash(history, exclude=("ingests",)) == before


def test_a_change_undone_the_same_day_is_no_change(history, tmp_path):
    run("ingest", history, "tools", write(tmp_path / "fix.csv", "tool,annual cost\nAlpha,12000\n"), "--as-of", "2025-04-15")
    found = report(history, "changes", since="2025-02-01")
    assert [(row["tool"], row["field"]) for row in found] == [("alpha", "owner_team"), ("charlie", "status"), ("delta", "status")]


def test_the_same_snapshot_again_changes_nothing(history, tmp_path):
    before = content_hash(history, exclude=("ingests",))
    result = run("ingest", history, "tools", write(tmp_path / "again.csv", APRIL), "--as-of", "2025-04-20")
    assert "wrote 0 (0 new, 0 updated, 4 unchanged)" in result.output
    assert content_hash(history, exclude=("ingests",)) == before


def test_a_tool_met_first_in_a_usage_file_is_added_too(teams_db, tmp_path):
    run("ingest", teams_db, "usage", write(tmp_path / "usage.csv", "team,tool,period,mau\nMarketing,Canva,2025-01,3\n"),
        "--allow-new", "--silent")
    found = report(teams_db, "changes")
    assert [(row["tool"], row["change"], row["new_value"]) for row in found] == [("canva", "added", "unreviewed")]
    # Dated the day it was written, as the database's clock has it.
    assert rows(teams_db, "select changed_on = date('now') as today from tool_history") == [{"today": 1}]


def test_as_of_is_for_tools_files_only(teams_db, tmp_path):
    result = run("ingest", teams_db, "teams", write(tmp_path / "t.csv", "team\nBrand\n"), "--as-of", "2025-01-31", exit_code=1)
    assert "Error: --as-of dates a snapshot of the inventory: it applies to tools files only" in result.output
