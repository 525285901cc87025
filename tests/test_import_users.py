"""stack-tracker import-users: a vendor's user list becomes seats and active users per team.

The fixtures in tests/fixtures/users/ are shaped like the exports of
Salesforce (a users report), HubSpot (Settings > Users & Teams > Export users)
and the Adobe Admin Console (Users > Export users list), with the people of
tests/fixtures/logins/directory.csv.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from conftest import content_hash, rows, run, write

USERS = Path(__file__).parent / "fixtures" / "users"
DIRECTORY = Path(__file__).parent / "fixtures" / "logins" / "directory.csv"


@pytest.fixture(autouse=True)
def key_from_the_key_file(monkeypatch):
    monkeypatch.delenv("STACK_TRACKER_SECRET", raising=False)


def vendor_usage(db_path, tool):
    return [
        tuple(row.values())
        for row in rows(db_path, "select team, period, seats, active_users from usage where source = 'vendor' and tool = ? order by team", [tool])
    ]


def test_salesforce_users_report(org_db):
    result = run("import-users", org_db, USERS / "salesforce-users.csv", "--tool", "Salesforce", "--as-of", "2024-03-31",
                 "--date-format", "mdy", "--directory", DIRECTORY)
    # 6 users: a Chatter Free user holds no seat, a deactivated one neither; of the 4 seats,
    # jane (28 March) and the integration user (31 March) signed in within 30 days, li never did.
    assert ("salesforce-users.csv: 6 users of Salesforce Sales Cloud as of 2024-03-31: 4 holding a seat, "
            "2 signed in within 30 days; wrote 3 team rows for 2024-03 (3 new, 0 updated)") in result.output
    assert "1 deactivated users hold no seat" in result.output
    assert "1 person not in the directory counted in team unassigned" in result.output
    assert vendor_usage(org_db, "salesforce-sales-cloud") == [
        ("demand-gen", "2024-03", 2, 1),
        ("marketing", "2024-03", 1, 0),
        ("unassigned", "2024-03", 1, 1),
    ]
    assert rows(org_db, "select kind, file, status, rows_read, rows_written from ingests order by id desc limit 1") == [
        {"kind": "users", "file": "salesforce-users.csv", "status": "ok", "rows_read": 6, "rows_written": 3}
    ]


def test_slashed_dates_that_read_both_ways_need_date_format(org_db):
    before = content_hash(org_db, exclude=("ingests",))
    result = run("import-users", org_db, USERS / "salesforce-users.csv", "--tool", "Salesforce", "--as-of", "2024-03-31", exit_code=1)
    assert 'salesforce-users.csv:3: Last Login: "2/1/2024, 4:02 PM": is ambiguous' in result.output
    assert content_hash(org_db, exclude=("ingests",)) == before


def test_hubspot_export_seats_by_role_and_the_window_edge(org_db):
    result = run("import-users", org_db, USERS / "hubspot-users.csv", "--tool", "HubSpot", "--as-of", "2024-03-31",
                 "--directory", DIRECTORY)
    # No licence column: everyone with a role that is not view-only holds a seat (li has no role: still a user).
    # li last signed in on 2 March: the 30th day of the window that ends on 31 March.
    assert "4 users of HubSpot Marketing Hub as of 2024-03-31: 3 holding a seat, 2 signed in within 30 days" in result.output
    assert vendor_usage(org_db, "hubspot-marketing-hub") == [("demand-gen", "2024-03", 2, 2), ("marketing", "2024-03", 1, 0)]
    run("import-users", org_db, USERS / "hubspot-users.csv", "--tool", "HubSpot", "--as-of", "2024-04-01",
        "--directory", DIRECTORY, "--silent")
    assert ("demand-gen", "2024-04", 2, 1) in vendor_usage(org_db, "hubspot-marketing-hub")


def test_adobe_admin_console_export_has_seats_but_no_logins(org_db):
    result = run("import-users", org_db, USERS / "adobe-admin-console-users.csv", "--tool", "Adobe CC", "--as-of", "2024-03-31",
                 "--directory", DIRECTORY, "--allow-new")
    assert "3 users of Adobe Creative Cloud as of 2024-03-31: 2 holding a seat, active users unknown (no last-login column)" in result.output
    assert "warning: adobe-admin-console-users.csv: no last-login column" in result.output
    assert vendor_usage(org_db, "adobe-creative-cloud") == [("demand-gen", "2024-03", 2, None)]
    # The catalog named it, gave its vendor and capabilities; nobody had put it in the inventory.
    assert rows(org_db, "select name, vendor, status from tools where slug = 'adobe-creative-cloud'") == [
        {"name": "Adobe Creative Cloud", "vendor": "Adobe", "status": "unreviewed"}
    ]


def test_an_unknown_tool_needs_allow_new(org_db):
    result = run("import-users", org_db, USERS / "hubspot-users.csv", "--tool", "Mystery CRM", "--as-of", "2024-03-31", exit_code=1)
    assert "unknown tool 'Mystery CRM'" in result.output and "--allow-new" in result.output
    assert rows(org_db, "select status from ingests order by id desc limit 1") == [{"status": "failed"}]


def test_a_snapshot_replaces_the_months_vendor_figures(org_db, tmp_path):
    args = ["--tool", "Salesforce", "--as-of", "2024-03-31", "--date-format", "mdy", "--directory", DIRECTORY, "--silent"]
    run("import-users", org_db, USERS / "salesforce-users.csv", *args)
    before = content_hash(org_db, exclude=("ingests",))
    run("import-users", org_db, USERS / "salesforce-users.csv", *args)
    assert content_hash(org_db, exclude=("ingests",)) == before
    # Later that month the integration user is gone: the unassigned team's row goes too.
    lines = (USERS / "salesforce-users.csv").read_text().splitlines(keepends=True)
    smaller = write(tmp_path / "salesforce-users.csv", "".join(line for line in lines if "Integration" not in line))
    result = run("import-users", org_db, smaller, *args[:-1])
    assert "(0 new, 0 updated, 1 removed)" in result.output
    assert [row[0] for row in vendor_usage(org_db, "salesforce-sales-cloud")] == ["demand-gen", "marketing"]


def test_a_spreadsheet_export_and_its_sheet(org_db, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    workbook = openpyxl.Workbook()
    workbook.active.title = "Summary"
    workbook.active.append(["Exported by", "admin"])
    sheet = workbook.create_sheet("Users")
    sheet.append(["Email", "Seat", "Last active"])
    sheet.append(["jane.doe@example.com", "Marketing Hub Professional", dt.datetime(2024, 3, 20, 9, 30)])
    sheet.append(["raj.patel@example.com", "None", dt.datetime(2024, 3, 21, 9, 30)])
    sheet.append(["li.wei@example.com", "Marketing Hub Professional", dt.datetime(2024, 1, 5, 9, 30)])
    workbook.save(tmp_path / "users.xlsx")
    result = run("import-users", org_db, tmp_path / "users.xlsx", "--tool", "HubSpot", "--as-of", "2024-03-31", exit_code=1)
    assert "users.xlsx:1: user: (empty): required column not found" in result.output
    run("import-users", org_db, tmp_path / "users.xlsx", "--tool", "HubSpot", "--as-of", "2024-03-31", "--sheet", "Users",
        "--directory", DIRECTORY, "--silent")
    assert vendor_usage(org_db, "hubspot-marketing-hub") == [("demand-gen", "2024-03", 2, 1)]


def test_vendor_figures_sit_beside_measured_ones(org_db):
    run("import-users", org_db, USERS / "hubspot-users.csv", "--tool", "HubSpot", "--as-of", "2024-03-31",
        "--directory", DIRECTORY, "--silent")
    run("import-logins", org_db, Path(__file__).parent / "fixtures" / "logins" / "okta-system-log.json", "--source", "okta",
        "--directory", DIRECTORY, "--silent")
    assert rows(org_db, "select source, seats_source, seats, active_users from usage_effective "
                        "where team = 'demand-gen' and tool = 'hubspot-marketing-hub' and period = '2024-03'") == [
        {"source": "sso", "seats_source": "vendor", "seats": 2, "active_users": 2}
    ]
