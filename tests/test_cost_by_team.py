"""cost-by-team: each tool's cost shared among the teams that use it, adding up to the cost exactly.

The organisation, in 2025-03 (seats / active users per team, from a usage file):

    tool     cost        seats bought  marketing  demand-gen  brand
    alpha    10,000 USD  10            3 / 3      4 / 1       -
    bravo     1,000 USD   3            1 / 1      1 / 1       1 / 0
    charlie     500 EUR   -            -          -           -           (1 EUR = 1.10 USD from 2025-01-01: 550 USD)
    delta       900 USD   5            8 / 6      -           -
    echo        100 USD   1 (retired)  1 / 1      -           -

By seats (unallocated: seats bought that no team holds):
    alpha    marketing 3/10 = 3,000.00; demand-gen 4/10 = 4,000.00; unallocated 3/10 = 3,000.00
    bravo    a third each: 100,000 cents / 3 = 33,333 r 1 each; the leftover cent goes to the first of
             the equal remainders by team: brand 333.34, demand-gen 333.33, marketing 333.33
    charlie  no team, no seat count: all 550.00 unallocated
    delta    marketing holds 8 of 5 bought: all 900.00 to marketing, nothing unallocated
    echo     retired: not shared
By active users:
    alpha    marketing 3/4 = 7,500.00; demand-gen 1/4 = 2,500.00
    bravo    marketing 500.00; demand-gen 500.00 (brand had nobody active)
    charlie  all 550.00 unallocated (nobody active)
    delta    all 900.00 to marketing
"""

from __future__ import annotations

import re
import sqlite3
import urllib.parse
from collections import defaultdict

import pytest
from datasette.app import Datasette

from conftest import run, write
from stack_tracker.database import open_existing
from stack_tracker.database.names import UnknownName
from stack_tracker.reports.registry import REPORTS, ReportError, run_report
from stack_tracker.site.serve import site_metadata

TOOLS = """tool,annual cost,currency,licenses,status
Alpha,"10,000.00",USD,10,active
Bravo,1000,USD,3,active
Charlie,500,EUR,,active
Delta,900,USD,5,trial
Echo,100,USD,1,retired
"""
USAGE = """team,tool,period,seats,active users
Marketing,Alpha,2025-03,3,3
Demand Gen,Alpha,2025-03,4,1
Marketing,Bravo,2025-03,1,1
Demand Gen,Bravo,2025-03,1,1
Brand,Bravo,2025-03,1,0
Marketing,Delta,2025-03,8,6
Marketing,Echo,2025-03,1,1
"""
BY_SEATS = {
    ("brand", "bravo"): 333.34,
    ("demand-gen", "alpha"): 4000.0, ("demand-gen", "bravo"): 333.33,
    ("marketing", "alpha"): 3000.0, ("marketing", "bravo"): 333.33, ("marketing", "delta"): 900.0,
    ("unallocated", "alpha"): 3000.0, ("unallocated", "charlie"): 550.0,
}
BY_ACTIVE = {
    ("demand-gen", "alpha"): 2500.0, ("demand-gen", "bravo"): 500.0,
    ("marketing", "alpha"): 7500.0, ("marketing", "bravo"): 500.0, ("marketing", "delta"): 900.0,
    ("unallocated", "charlie"): 550.0,
}
COSTS = {"alpha": 10000.0, "bravo": 1000.0, "charlie": 550.0, "delta": 900.0}


@pytest.fixture
def organisation(db_path, tmp_path):
    run("ingest", db_path, "teams", write(tmp_path / "teams.csv", "team\nMarketing\nDemand Gen\nBrand\n"), "--silent")
    run("ingest", db_path, "tools", write(tmp_path / "tools.csv", TOOLS), "--silent")
    run("ingest", db_path, "usage", write(tmp_path / "usage.csv", USAGE), "--silent")
    run("ingest", db_path, "rates", write(tmp_path / "rates.csv", "currency,rate,date\nEUR,1.10,2025-01-01\n"), "--silent")
    return db_path


def cost_by_team(db_path, **params):
    db = open_existing(db_path)
    try:
        return run_report(db, "cost-by-team", params=params)
    finally:
        db.close()


@pytest.mark.parametrize("basis, expected", [(None, BY_SEATS), ("seats", BY_SEATS), ("active", BY_ACTIVE)])
def test_each_team_pays_its_share(organisation, basis, expected):
    found = cost_by_team(organisation, **({"basis": basis} if basis else {}))
    assert {(row["team"], row["tool"]): row["allocated_cost"] for row in found} == expected
    assert {row["basis"] for row in found} == {basis or "seats"}
    assert {row["period"] for row in found} == {"2025-03"}


@pytest.mark.parametrize("basis", ["seats", "active"])
def test_each_tools_rows_add_up_to_its_cost_to_the_cent(organisation, basis):
    cents = defaultdict(int)
    for row in cost_by_team(organisation, basis=basis):
        cents[row["tool"]] += round(row["allocated_cost"] * 100)
        assert row["tool_cost"] == COSTS[row["tool"]]
    assert cents == {tool: round(cost * 100) for tool, cost in COSTS.items()}


def test_the_counts_and_shares_behind_each_row(organisation):
    alpha = {row["team"]: (row["team_count"], row["share"], row["currency"])
             for row in cost_by_team(organisation) if row["tool"] == "alpha"}
    assert alpha == {"marketing": (3, 0.3, "USD"), "demand-gen": (4, 0.4, "USD"), "unallocated": (None, 0.3, "USD")}


def test_one_teams_rows(organisation):
    found = cost_by_team(organisation, team="marketing")
    assert [(row["tool"], row["allocated_cost"]) for row in found] == [("alpha", 3000.0), ("delta", 900.0), ("bravo", 333.33)]


def test_a_month_without_usage_leaves_everything_unallocated(organisation):
    found = cost_by_team(organisation, period="2025-01")
    assert {(row["team"], row["tool"]): row["allocated_cost"] for row in found} == {
        ("unallocated", tool): cost for tool, cost in COSTS.items()}


def site_rows(db_path, **params):
    """The report's rows as the site's form runs them: its SQL with the parameters exactly as typed."""
    db = open_existing(db_path)
    try:
        sql = REPORTS["cost-by-team"].named_sql
        cursor = db.execute(sql, {name: params.get(name, "") for name in REPORTS["cost-by-team"].parameters})
        columns = [column[0] for column in cursor.description]
        return [dict(zip(columns, row)) for row in cursor.fetchall()]
    finally:
        db.close()


def test_the_team_is_taken_by_name_or_slug_in_any_case(organisation):
    by_slug = cost_by_team(organisation, team="demand-gen")
    assert {row["tool"] for row in by_slug} == {"alpha", "bravo"}
    # The command line resolves the name itself; the SQL does too, for the site's forms.
    for spelling in ("Demand Gen", "DEMAND GEN", " demand-gen ", "Demand-Gen"):
        assert cost_by_team(organisation, team=spelling) == by_slug, spelling
        assert site_rows(organisation, team=spelling) == by_slug, spelling


def test_an_unknown_team_is_an_error_never_no_rows(organisation):
    with pytest.raises(UnknownName, match="unknown team 'Nobody'"):
        cost_by_team(organisation, team="Nobody")
    with pytest.raises(sqlite3.OperationalError, match="unknown team: Nobody"):
        site_rows(organisation, team="Nobody")


@pytest.mark.parametrize("basis", ["actve", "Active", "users"])
def test_an_unknown_basis_is_an_error_never_seats(organisation, basis):
    with pytest.raises(ReportError, match=rf"basis {re.escape(repr(basis))} is not one of seats, active"):
        cost_by_team(organisation, basis=basis)
    expected = rf"unknown basis: {re.escape(basis)} \(expected seats or active\)"
    with pytest.raises(sqlite3.OperationalError, match=expected):
        site_rows(organisation, basis=basis)
    result = run("report", organisation, "cost-by-team", "--param", f"basis={basis}", exit_code=1)
    assert result.output.startswith("Error: ") and "is not one of seats, active" in result.output


def test_an_unknown_basis_is_an_error_even_with_nothing_to_share(db_path):
    run("ingest", db_path, "teams", write(db_path.parent / "teams.csv", "team\nMarketing\n"), "--silent")
    assert site_rows(db_path) == []
    with pytest.raises(sqlite3.OperationalError, match="unknown basis: nope"):
        site_rows(db_path, basis="nope")


def test_the_basis_check_keeps_the_reports_order(organisation):
    assert site_rows(organisation, basis="seats") == cost_by_team(organisation, basis="seats")
    assert [(row["team"], row["tool"]) for row in site_rows(organisation)] == [
        ("brand", "bravo"), ("demand-gen", "alpha"), ("demand-gen", "bravo"), ("marketing", "alpha"),
        ("marketing", "delta"), ("marketing", "bravo"), ("unallocated", "alpha"), ("unallocated", "charlie")]


async def test_the_sites_form_takes_team_names_and_refuses_an_unknown_basis(organisation):
    datasette = Datasette([str(organisation)], metadata=site_metadata(organisation))

    async def rows(**params):
        query = urllib.parse.urlencode({"_shape": "array", **params})
        response = await datasette.client.get(f"/stack/cost_by_team.json?{query}")
        return response.status_code, response.json()

    status, found = await rows(team="DEMAND GEN", basis="active")
    assert status == 200
    assert {(row["tool"], row["allocated_cost"]) for row in found} == {("alpha", 2500.0), ("bravo", 500.0)}
    status, error = await rows(basis="actve")
    assert status == 400 and "unknown basis: actve (expected seats or active)" in error["error"]


def test_a_tool_whose_currency_has_no_rate_is_named_not_shared(organisation):
    """Before 2025-01-01 there is no euro rate: charlie is listed, with no amount and why."""
    found = cost_by_team(organisation, period="2024-12")
    charlie = [row for row in found if row["tool"] == "charlie"]
    assert [(row["team"], row["allocated_cost"], row["note"]) for row in charlie] == [
        ("unallocated", None, "Its cost is in EUR, which has no exchange rate into USD in force on 2024-12-31: ingest a rate for it.")]
