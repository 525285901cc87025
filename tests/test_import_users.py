"""stack-tracker import-users: a vendor's user list becomes seats and active users per team.

The fixtures in tests/fixtures/users/ are shaped like the exports of
Salesforce (a users report), HubSpot (Settings > Users & Teams > Export users)
and the Adobe Admin Console (Users > Export users list), with the people of
tests/fixtures/logins/directory.csv; and like Salesforce's User object as a
SOQL query or Data Loader export gives it (API field names: IsActive,
Profile.UserLicense.Name, LastLoginDate …), with the people of
tests/fixtures/users/salesforce-directory.csv.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from conftest import content_hash, rows, run, write

USERS = Path(__file__).parent / "fixtures" / "users"
DIRECTORY = Path(__file__).parent / "fixtures" / "logins" / "directory.csv"


@pytest.fixture(autouse=True)
def key_from_the_environment(monkeypatch):
    # Users are stored by user_key (seat_holders): a fixed key keeps the key file's
    # first-use warning out of the outputs these tests compare.
    monkeypatch.setenv("STACK_TRACKER_SECRET", "a-test-secret-of-32-characters!!")


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
    assert "1 deactivated user holds no seat" in result.output
    assert "1 user without a paid licence holds no seat" in result.output
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
    assert ("warning: hubspot-users.csv: no licence column (accepted headers: user license, user licence, "
            "profile.userlicense.name,") in result.output
    assert "license assigned): seats counted from Assigned role: every listed user whose role or profile is not a free one\n" in result.output
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


# Salesforce's User object as SOQL or Data Loader gives it: API field names, relationship
# fields with dots, IsActive true/false, LastLoginDate in ISO 8601 UTC. Seven people in two teams
# (salesforce-directory.csv), counted by hand as of 31 March 2024 with 30 active days (2-31 March):
#   Demand Gen: jane (Salesforce, 28 March: active), li (Salesforce, never signed in), omar (Chatter Free)
#   Marketing:  raj (Salesforce, 1 March 23:59:59: one second outside), ana (Salesforce Platform,
#               2 March 00:00:01: inside), sam (Chatter Free), old.account (Salesforce, IsActive false,
#               though signed in on 15 March)
# Seats: jane, li | raj, ana = 2 | 2; active: jane | ana = 1 | 1; 2 free and 1 deactivated hold none.
SALESFORCE_DIRECTORY = USERS / "salesforce-directory.csv"
SALESFORCE_API_FIGURES = [("demand-gen", "2024-03", 2, 1), ("marketing", "2024-03", 2, 1)]


def import_salesforce(db_path, path, *extra):
    return run("import-users", db_path, path, "--tool", "Salesforce", "--as-of", "2024-03-31",
               "--directory", SALESFORCE_DIRECTORY, *extra)


@pytest.mark.parametrize("export", [
    "salesforce-dataloader-users.csv",          # Profile.UserLicense.Name, IsActive true/false
    "salesforce-dataloader-users-numeric.csv",  # PROFILE_USERLICENSE_NAME, ISACTIVE 1/0
])
def test_salesforce_user_object_with_api_field_names(org_db, export):
    result = import_salesforce(org_db, USERS / export)
    assert result.output == (
        f"{export}: 7 users of Salesforce Sales Cloud as of 2024-03-31: 4 holding a seat, 2 signed in within 30 days; "
        "wrote 2 team rows for 2024-03 (2 new, 0 updated)\n"
        "  1 deactivated user holds no seat\n"
        "  2 users without a paid licence hold no seat\n"
        "  created 1 alias\n"
    )
    assert vendor_usage(org_db, "salesforce-sales-cloud") == SALESFORCE_API_FIGURES
    assert rows(org_db, "select kind, file, status, rows_read, rows_written from ingests order by id desc limit 1") == [
        {"kind": "users", "file": export, "status": "ok", "rows_read": 7, "rows_written": 2}
    ]


def test_salesforce_api_export_imported_again_changes_nothing(org_db):
    import_salesforce(org_db, USERS / "salesforce-dataloader-users.csv", "--silent")
    before = content_hash(org_db, exclude=("ingests",))
    for export in ("salesforce-dataloader-users.csv", "salesforce-dataloader-users-numeric.csv"):
        result = import_salesforce(org_db, USERS / export)
        assert "wrote 0 team rows for 2024-03 (0 new, 0 updated)" in result.output
        assert content_hash(org_db, exclude=("ingests",)) == before
    assert vendor_usage(org_db, "salesforce-sales-cloud") == SALESFORCE_API_FIGURES


@pytest.mark.parametrize("header", ["Profile.UserLicense.Name", "Profile_UserLicense_Name", "PROFILE.USERLICENSE.NAME",
                                    "Profile: User License", "UserLicense", "User License"])
def test_the_licence_column_by_each_of_its_salesforce_names(org_db, tmp_path, header):
    export = write(tmp_path / "users.csv", (
        f"Email,IsActive,Profile.Name,{header},LastLoginDate\n"
        "jane.doe@example.com,true,Marketing User,Salesforce,2024-03-28T14:03:11.000Z\n"
        "li.wei@example.com,true,Chatter Only User,Chatter Only,2024-03-28T14:03:11.000Z\n"
        "raj.patel@example.com,true,Marketing User,Chatter External,2024-03-28T14:03:11.000Z\n"
        "site.guest@example.com,true,Events Site Profile,Guest User License,\n"
    ))
    # Chatter Only is paid; Chatter External and a site's Guest User License cost nothing,
    # whatever the profile (the licence column is read first).
    result = import_salesforce(org_db, export)
    assert "4 users of Salesforce Sales Cloud as of 2024-03-31: 2 holding a seat, 2 signed in within 30 days" in result.output
    assert "  2 users without a paid licence hold no seat\n" in result.output
    assert "warning" not in result.output
    assert vendor_usage(org_db, "salesforce-sales-cloud") == [("demand-gen", "2024-03", 2, 2)]


def test_without_a_licence_column_the_import_says_what_seats_were_counted_from(org_db, tmp_path):
    export = USERS / "salesforce-soql-users-no-licence.csv"
    result = import_salesforce(org_db, export)
    # Profile.Name instead: the two "Chatter Free User" profiles hold no seat, so the figures are the licence column's.
    assert ("salesforce-soql-users-no-licence.csv: 7 users of Salesforce Sales Cloud as of 2024-03-31: 4 holding a seat, "
            "2 signed in within 30 days; wrote 2 team rows for 2024-03 (2 new, 0 updated)\n") in result.output
    assert ("warning: salesforce-soql-users-no-licence.csv: no licence column (accepted headers: user license, user licence, "
            "profile.userlicense.name, profile: user license, license, licence,") in result.output
    assert ("license assigned): seats counted from Profile.Name: every enabled user whose role or profile is not a free one\n"
            in result.output)
    assert vendor_usage(org_db, "salesforce-sales-cloud") == SALESFORCE_API_FIGURES

    # Without the profile either, every enabled user holds a seat: omar and sam (Chatter Free) too,
    # and both signed in in March. The deactivated user still holds none.
    lines = export.read_text().splitlines()
    without_profile = write(tmp_path / "users.csv", "".join(
        ",".join(field for index, field in enumerate(line.split(",")) if index != 3) + "\n" for line in lines
    ))
    assert without_profile.read_text().startswith("Username,Email,IsActive,LastLoginDate\n")
    result = import_salesforce(org_db, without_profile)
    assert "7 users of Salesforce Sales Cloud as of 2024-03-31: 6 holding a seat, 4 signed in within 30 days" in result.output
    assert "warning: users.csv: no licence column (accepted headers: user license," in result.output
    assert "license assigned): every enabled user counted as a seat\n" in result.output
    assert vendor_usage(org_db, "salesforce-sales-cloud") == [("demand-gen", "2024-03", 3, 2), ("marketing", "2024-03", 3, 2)]


def test_a_file_in_which_nobody_holds_a_seat_imports_and_says_why(org_db, tmp_path):
    import_salesforce(org_db, USERS / "salesforce-dataloader-users.csv", "--silent")
    header, *users = (USERS / "salesforce-dataloader-users.csv").read_text().splitlines(keepends=True)

    # Everyone deactivated: the month's vendor figures for Salesforce go, with a warning.
    everyone_gone = write(tmp_path / "deactivated.csv", header + "".join(line.replace('"true"', '"false"') for line in users))
    result = import_salesforce(org_db, everyone_gone)
    assert ("deactivated.csv: 7 users of Salesforce Sales Cloud as of 2024-03-31: 0 holding a seat, 0 signed in within "
            "30 days; wrote 0 team rows for 2024-03 (0 new, 0 updated, 2 removed)\n"
            "  7 deactivated users hold no seat\n") in result.output
    assert ("warning: deactivated.csv: none of the 7 users holds a seat (7 deactivated by IsActive): "
            "was the export filtered to deactivated users, or does IsActive mean something else?\n") in result.output
    assert vendor_usage(org_db, "salesforce-sales-cloud") == []

    # Only free licences (omar and sam on Chatter Free, one more on Chatter External).
    free = write(tmp_path / "free.csv", header + "".join(line for line in users if "Chatter Free" in line) +
                 '"0055g00000AbCdE08","guest.expert@example.com.acme","guest.expert@example.com","Guest Expert","true",'
                 '"Chatter External User","Chatter External","","2024-03-30T10:00:00.000Z","CsnOnly"\n')
    result = import_salesforce(org_db, free)
    assert "3 users of Salesforce Sales Cloud as of 2024-03-31: 0 holding a seat" in result.output
    assert ("warning: free.csv: none of the 3 users holds a seat (3 with no paid licence in Profile.UserLicense.Name: "
            "Chatter Free (2), Chatter External (1)): was the export filtered to free users, or is the paid licence "
            "in a column other than Profile.UserLicense.Name?\n") in result.output

    # Both: the deactivated user and the two Chatter Free ones.
    left_out = write(tmp_path / "left-out.csv", header + "".join(
        line for line in users if "Chatter Free" in line or '"false"' in line))
    result = import_salesforce(org_db, left_out)
    assert ("warning: left-out.csv: none of the 3 users holds a seat (1 deactivated by IsActive; 2 with no paid licence "
            "in Profile.UserLicense.Name: Chatter Free (2)): was the export filtered to deactivated and free users?\n"
            ) in result.output
    assert vendor_usage(org_db, "salesforce-sales-cloud") == []
    assert rows(org_db, "select status, rows_read from ingests order by id desc limit 1") == [{"status": "ok", "rows_read": 3}]
