"""The card-spend reports: spend, unmanaged-spend, duplicate-subscriptions, and shadow IT in gaps.

The organisation is tests/spend_org.py's, with the Amex and Brex exports of
March 2024 and the Ramp (twice, overlapping) and Expensify exports of April
imported (tests/fixtures/spend/). Base currency USD; EUR at 1.10 from
2024-01-01 and 1.08 from 2024-03-29, so both months' last days convert at
1.08; no rate for GBP. What each tool was paid, from tests/test_import_spend.py:

    March   HubSpot 800.00 (Marketing)             Canva 12.99 (unassigned) + 12.99 (Demand Gen)
            Adobe CC 59.99 - 20.00 = 39.99          Notion 96.00 (Design, new)
            Acme Analytics 45.00 (Demand Gen, new)  Figma 120.00 EUR (Design, new)
            Zoom Workplace 30.00 - 10.00 = 20.00    Hotjar 80.00 GBP (Design, new): no rate
    April   HubSpot 800.00 (Marketing)             Canva 12.99 - 12.99 (unassigned) + 12.99 (Marketing,
            Adobe CC 59.99 (Demand Gen)                   the later Ramp export's one new line) + 119.99 (Design)
            Figma -15.00 EUR (a credit)
"""

from __future__ import annotations

import pytest
import sqlite_utils

from conftest import run
from spend_org import build_spend_org, import_spend
from stack_tracker.database import derived
from stack_tracker.reports.registry import run_report


@pytest.fixture(autouse=True)
def secret(monkeypatch):
    monkeypatch.setenv("STACK_TRACKER_SECRET", "spend-report-secret-0123456789")


@pytest.fixture
def spend_db(db_path, tmp_path):
    build_spend_org(db_path, tmp_path)
    import_spend(db_path, "amex-2024-03.csv", extra=("--date-format", "mdy"))
    import_spend(db_path, "brex-2024-03.csv", "ramp-2024-04.csv", "ramp-2024-04-later.csv", "expensify-2024-04.csv")
    db = sqlite_utils.Database(db_path)
    yield db
    db.close()


def pick(rows, *columns):
    return [tuple(row[column] for column in columns) for row in rows]


def test_spend_per_tool_and_month_in_the_base_currency(spend_db):
    report = run_report(spend_db, "card-spend")
    assert pick(report, "period", "tool", "amount", "transactions", "paying_teams", "run_rate", "annual_cost") == [
        # Run rate: the last three months' spend times 4 (here March alone, then March and April).
        ("2024-03", "hubspot-marketing-hub", 800.0, 1, "marketing", 3200.0, 48000.0),
        ("2024-03", "figma", 129.6, 1, "design", 518.4, None),  # 120 EUR x 1.08 = 129.60
        ("2024-03", "notion", 96.0, 1, "design", 384.0, None),
        ("2024-03", "acme-analytics", 45.0, 1, "demand-gen", 180.0, None),
        ("2024-03", "adobe-creative-cloud", 39.99, 2, "demand-gen", 159.96, None),
        ("2024-03", "canva", 25.98, 2, "demand-gen, unassigned", 103.92, 1200.0),
        # Zoom Workplace's contract is in GBP, which has no rate: named, not converted.
        ("2024-03", "zoom-workplace", 20.0, 2, "marketing", 80.0, None),
        # 80 GBP: no rate, so no amount, and no run rate that would quietly leave it out.
        ("2024-03", "hotjar", None, 1, "design", None, None),
        # (800 + 800) x 4
        ("2024-04", "hubspot-marketing-hub", 800.0, 1, "marketing", 6400.0, 48000.0),
        # 0.00 + 12.99 + 119.99 = 132.98; (25.98 + 132.98) x 4 = 635.84
        ("2024-04", "canva", 132.98, 4, "design, marketing, unassigned", 635.84, 1200.0),
        ("2024-04", "adobe-creative-cloud", 59.99, 1, "demand-gen", 399.92, None),  # (39.99 + 59.99) x 4
        # -15 EUR x 1.08 = -16.20; (129.60 - 16.20) x 4 = 453.60
        ("2024-04", "figma", -16.2, 1, "design", 453.6, None),
    ]
    by_tool = {(row["period"], row["tool"]): row for row in report}
    assert by_tool["2024-03", "figma"]["rate_dates"] == "EUR 1.08 of 2024-03-29"
    assert by_tool["2024-03", "hotjar"]["unconverted"] == "80.00 GBP: no rate on 2024-03-31"
    assert by_tool["2024-03", "zoom-workplace"]["unconverted"] == "annual_cost 1500.00 GBP: no rate on 2024-03-31"
    assert {row["currency"] for row in report} == {"USD"}
    assert by_tool["2024-04", "canva"]["paying_teams_name"] == "Design, Marketing, Unassigned"


def test_spend_parameters(spend_db):
    # One team's spend: Design paid for Figma, Notion and Hotjar in March, Canva and Figma in April.
    design = run_report(spend_db, "card-spend", team="Design")
    assert pick(design, "period", "tool", "amount") == [
        ("2024-03", "figma", 129.6), ("2024-03", "notion", 96.0), ("2024-03", "hotjar", None),
        ("2024-04", "canva", 119.99), ("2024-04", "figma", -16.2)]
    # A run rate of one month: the month times 12.
    april = run_report(spend_db, "card-spend", params={"since": "2024-04", "run_rate_months": "1"})
    assert pick(april, "tool", "run_rate")[:2] == [("hubspot-marketing-hub", 9600.0), ("canva", 1595.76)]
    assert run_report(spend_db, "card-spend", params={"until": "2024-02"}) == []


def test_unmanaged_spend(spend_db):
    report = run_report(spend_db, "unmanaged-spend")
    assert pick(report, "tool", "why", "amount", "transactions", "months", "paying_teams") == [
        ("figma", "not in the inventory", 113.4, 2, 2, "design"),  # 129.60 - 16.20
        ("adobe-creative-cloud", "in the inventory with no annual cost", 99.98, 3, 2, "demand-gen"),  # 39.99 + 59.99
        ("notion", "not in the inventory", 96.0, 1, 1, "design"),
        ("acme-analytics", "not in the inventory", 45.0, 1, 1, "demand-gen"),
        ("hotjar", "not in the inventory", None, 1, 1, "design"),
    ]
    rows = {row["tool"]: row for row in report}
    assert rows["figma"]["merchants"] == "FIGMA; Figma"  # Brex's, then Expensify's spelling
    assert rows["adobe-creative-cloud"]["merchants"] == "ADOBE *CREATIVE CLD 800-833-6687 CA"
    assert rows["hotjar"]["unconverted"] == "80.00 GBP: no rate on 2024-03-31"
    assert (rows["figma"]["first_period"], rows["figma"]["last_period"]) == ("2024-03", "2024-04")


def test_duplicate_subscriptions(spend_db):
    report = run_report(spend_db, "duplicate-subscriptions")
    assert pick(report, "period", "kind", "tool", "paying_teams", "amount", "annual_cost") == [
        # Tools with a contract in use, paid on cards too: HubSpot, Canva (USD) and Zoom Workplace (GBP: no rate).
        ("2024-03", "contract-and-cards", "hubspot-marketing-hub", "marketing", 800.0, 48000.0),
        ("2024-03", "contract-and-cards", "canva", "demand-gen, unassigned", 25.98, 1200.0),
        ("2024-03", "contract-and-cards", "zoom-workplace", "marketing", 20.0, None),
        # Canva paid by two teams in March, three in April.
        ("2024-03", "several-teams", "canva", "demand-gen, unassigned", 25.98, None),
        ("2024-04", "contract-and-cards", "hubspot-marketing-hub", "marketing", 800.0, 48000.0),
        ("2024-04", "contract-and-cards", "canva", "design, marketing, unassigned", 132.98, 1200.0),
        ("2024-04", "several-teams", "canva", "design, marketing, unassigned", 132.98, None),
    ]
    zoom = report[2]
    assert zoom["unconverted"] == "annual_cost 1500.00 GBP: no rate on 2024-03-31"
    assert report[3]["detail"] == ("2 teams paid for Canva on their own cards or expense claims in 2024-03: one "
                                   "subscription could serve them all.")
    assert report[0]["detail"] == ("HubSpot Marketing Hub has a contract in the inventory (48000.00 USD a year) and was "
                                   "paid on cards too in 2024-03 (800.00 USD): is that spend covered by the contract?")
    # Findings a team's payments are part of; three teams or more.
    assert pick(run_report(spend_db, "duplicate-subscriptions", team="Design"), "period", "kind", "tool") == [
        ("2024-04", "contract-and-cards", "canva"), ("2024-04", "several-teams", "canva")]
    assert pick(run_report(spend_db, "duplicate-subscriptions", params={"min_teams": "3"}), "kind", "tool")[-1] == (
        "several-teams", "canva")


def test_gaps_shows_tools_found_only_in_spend_as_shadow_it(spend_db):
    gaps = run_report(spend_db, "gaps", period="2024-03")
    shadow = [(row["team"], row["tool"], row["detail"]) for row in gaps if row["kind"] == "shadow-it"]
    assert shadow == [
        ("demand-gen", "acme-analytics", "Pays for Acme Analytics on cards or expenses, which is not in the inventory "
                                         "(45.00 USD, source spend)."),
        ("design", "figma", "Pays for Figma on cards or expenses, which is not in the inventory (120.00 EUR, source spend)."),
        ("design", "hotjar", "Pays for Hotjar on cards or expenses, which is not in the inventory (80.00 GBP, source spend)."),
        ("design", "notion", "Pays for Notion on cards or expenses, which is not in the inventory (96.00 USD, source spend)."),
    ]
    # Usage recorded for a team and tool makes it usage's finding, not a second one from spend.
    spend_db["usage"].insert({"team": "design", "tool": "notion", "period": "2024-03", "source": "reported",
                              "active_users": 3})
    derived.refresh_derived(spend_db, {"usage"})
    shadow = [row["detail"] for row in run_report(spend_db, "gaps", period="2024-03")
              if row["kind"] == "shadow-it" and row["tool"] == "notion"]
    assert shadow == ["Uses Notion, which is not in the inventory (3 active users, source reported)."]


def test_the_reports_run_from_the_command_line(spend_db):
    path = spend_db.execute("pragma database_list").fetchone()[2]
    text = run("report", path, "unmanaged-spend", "--format", "csv").output
    assert text.splitlines()[0].startswith("tool,tool_name,status,why,merchants,amount,currency,unconverted")
    result = run("report", path, "card-spend", "--team", "Nobody", exit_code=1)
    assert "unknown team 'Nobody'" in result.output
