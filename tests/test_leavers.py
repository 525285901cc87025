"""Leavers still holding seats (issue 16, part 3): the directory's status and left_on,
import-users' seat holders, import-logins' sign-ins after leaving, and the reclaim report.

The organisation (conftest's org_db): Salesforce Sales Cloud costs 30,000 a year for
50 seats, so a seat costs 30,000 / 50 = 600 (USD, the base currency); HubSpot
Marketing Hub 48,000 for 100 seats, 480 a seat.

The directory, as of the export's day, 31 March 2024:
  ann   Marketing   active                              active
  bob   Marketing   Terminated, left 15 February        leaver (by status)
  cat   Demand Gen  no status, left 10 March            leaver (left_on on or before the day)
  dan   Demand Gen  employed                            active
  eve   Demand Gen  no status, leaving 31 December      active on 31 March (a leaver from 31 December)
  fay   Marketing   Deprovisioned, no date              leaver (by status; no day to count sign-ins after)

The Salesforce export, as of 31 March 2024:
  ann  Salesforce licence, last login 28 March
  bob  Salesforce licence, last login 10 February
  cat  Salesforce licence, last login 9 March
  dan  Salesforce licence, last login 15 January
  eve  Salesforce licence, never signed in
  fay  Chatter Free (no seat), last login 1 March
  gus  Salesforce licence but deactivated (no seat); not in the directory
Seats: ann, bob, cat, dan, eve = 5; held by leavers: bob, cat = 2.
"""

from __future__ import annotations

import pytest
import sqlite_utils

from conftest import content_hash, rows, run, write

EMAILS = [f"{name}@example.com" for name in ("ann", "bob", "cat", "dan", "eve", "fay", "gus")]
DIRECTORY = (
    "email,team,status,left on\n"
    "ann@example.com,Marketing,active,\n"
    "Bob@Example.com,Marketing,Terminated,2024-02-15\n"
    "cat@example.com,Demand Gen,,2024-03-10\n"
    "dan@example.com,Demand Gen,employed,\n"
    "eve@example.com,Demand Gen,,2024-12-31\n"
    "fay@example.com,Marketing,Deprovisioned,\n"
)
EXPORT = (
    "Email,User License,Active,Last Login\n"
    "ann@example.com,Salesforce,true,2024-03-28\n"
    "bob@example.com,Salesforce,true,2024-02-10\n"
    "cat@example.com,Salesforce,true,2024-03-09\n"
    "dan@example.com,Salesforce,true,2024-01-15\n"
    "eve@example.com,Salesforce,true,\n"
    "fay@example.com,Chatter Free,true,2024-03-01\n"
    "gus@example.com,Salesforce,false,2024-03-20\n"
)
# Sign-ins after the day each person left: bob's on 16 February and 1 March (not the
# 15th, the day he left), cat's on 11 March = 3 sign-ins by 2 people. eve signed in
# before her day; fay left on no known day, so none of hers is counted; ann is active.
LOGINS = (
    "user,application,time\n"
    "bob@example.com,Salesforce,2024-02-15T10:00:00Z\n"
    "bob@example.com,Salesforce,2024-02-16T09:00:00Z\n"
    "bob@example.com,Salesforce,2024-03-01T09:00:00Z\n"
    "cat@example.com,Salesforce,2024-03-11T09:00:00Z\n"
    "ann@example.com,Salesforce,2024-03-11T09:00:00Z\n"
    "eve@example.com,Salesforce,2024-03-12T09:00:00Z\n"
    "fay@example.com,Salesforce,2024-03-12T09:00:00Z\n"
)


@pytest.fixture(autouse=True)
def fixed_key(monkeypatch):
    monkeypatch.setenv("STACK_TRACKER_SECRET", "a-test-secret-of-32-characters!!")


@pytest.fixture
def files(tmp_path):
    return {
        "directory": write(tmp_path / "people.csv", DIRECTORY),
        "export": write(tmp_path / "salesforce.csv", EXPORT),
        "logins": write(tmp_path / "logins.csv", LOGINS),
    }


def import_users(db_path, files, *extra):
    return run("import-users", db_path, files["export"], "--tool", "Salesforce", "--as-of", "2024-03-31",
               "--directory", files["directory"], *extra)


def import_logins(db_path, files):
    return run("import-logins", db_path, files["logins"], "--source", "csv", "--directory", files["directory"])


def reclaim(db_path, *args):
    import json

    return json.loads(run("report", db_path, "reclaim", "--format", "json", *args).output)


def test_the_directory_reads_every_leaver_spelling_and_left_on(org_db, tmp_path):
    from stack_tracker.inputs.directory import load_directory

    spellings = ["leaver", "Left", "TERMINATED", "inactive", "deprovisioned", "suspended", "active", "Employed", "current"]
    text = "email,team,employment status\n" + "".join(
        f"p{number}@example.com,Marketing,{status}\n" for number, status in enumerate(spellings))
    directory = load_directory(sqlite_utils.Database(org_db), write(tmp_path / "hr.csv", text), allow_new=False)
    assert directory.tells_leavers
    # The first six words are leavers' (p0 … p5), the last three active people's.
    assert sorted(directory.leavers) == [f"p{number}@example.com" for number in range(6)]
    # left_on alone: on or before the import's day makes a leaver; after it, not yet.
    dated = load_directory(sqlite_utils.Database(org_db), write(tmp_path / "dated.csv", DIRECTORY), allow_new=False,
                           day="2024-03-31")
    assert sorted(dated.leavers) == ["bob@example.com", "cat@example.com", "fay@example.com"]
    assert dated.left("bob@example.com") == "2024-02-15"
    assert dated.left("fay@example.com") == ""  # a leaver, on no known day
    assert dated.left("eve@example.com") is None


def test_a_bad_status_or_date_is_refused_with_its_line(org_db, files, tmp_path):
    before = content_hash(org_db, exclude=("ingests",))
    bad = write(tmp_path / "bad.csv", "email,team,status,left on\n"
                                      "ann@example.com,Marketing,on leave,\n"
                                      "bob@example.com,Marketing,leaver,2024-02-30\n")
    result = run("import-users", org_db, files["export"], "--tool", "Salesforce", "--as-of", "2024-03-31",
                 "--directory", bad, exit_code=1)
    assert 'bad.csv:2: status: "on leave": expected a status: active, employed, current (active) or leaver' in result.output
    assert 'bad.csv:3: left on: "2024-02-30": ' in result.output
    assert content_hash(org_db, exclude=("ingests",)) == before


def test_import_users_counts_the_seats_leavers_hold(org_db, files):
    result = import_users(org_db, files)
    assert "5 holding a seat" in result.output
    assert "  2 seats held by people who left (per the directory)\n" in result.output
    holders = rows(org_db, "select team, as_of, last_login, holds_seat from seat_holders "
                           "where tool = 'salesforce-sales-cloud' order by team, last_login")
    # Seven users stored by user_key: five seats, and fay (free) and gus (deactivated) without one.
    assert [(row["team"], row["last_login"], row["holds_seat"]) for row in holders] == [
        ("demand-gen", None, 1), ("demand-gen", "2024-01-15", 1), ("demand-gen", "2024-03-09", 1),
        ("marketing", "2024-02-10", 1), ("marketing", "2024-03-01", 0), ("marketing", "2024-03-28", 1),
        ("unassigned", "2024-03-20", 0),
    ]
    assert {row["as_of"] for row in holders} == {"2024-03-31"}
    # Six people from the directory, with the status it states (none for cat and eve).
    assert rows(org_db, "select team, status, left_on from people order by team, left_on, status") == [
        {"team": "demand-gen", "status": "active", "left_on": None},
        {"team": "demand-gen", "status": None, "left_on": "2024-03-10"},
        {"team": "demand-gen", "status": None, "left_on": "2024-12-31"},
        {"team": "marketing", "status": "active", "left_on": None},
        {"team": "marketing", "status": "leaver", "left_on": None},
        {"team": "marketing", "status": "leaver", "left_on": "2024-02-15"},
    ]


def test_a_new_export_replaces_the_tools_holders(org_db, files, tmp_path):
    import_users(org_db, files)
    write(files["export"], "Email,User License,Last Login\nann@example.com,Salesforce,2024-04-28\n")
    run("import-users", org_db, files["export"], "--tool", "Salesforce", "--as-of", "2024-04-30")
    assert rows(org_db, "select as_of, team, last_login from seat_holders") == [
        {"as_of": "2024-04-30", "team": "unassigned", "last_login": "2024-04-28"}]


def test_import_logins_counts_sign_ins_after_leaving(org_db, files):
    result = import_logins(org_db, files)
    assert "  3 sign-ins by 2 people after they left: their accounts are still open\n" in result.output
    # The same user_key in both tables: bob's sign-ins and his row in people are one person.
    assert rows(org_db, "select count(distinct people.user_key) as people from people "
                        "join user_activity using (user_key) where people.status = 'leaver'") == [{"people": 2}]


def test_reclaim_prices_leavers_and_idle_seats(org_db, files):
    import_users(org_db, files)
    # As of the export's day, idle for 30 days: a last login before 1 March, or none.
    # Leavers: bob, cat = 2 seats. Idle among the rest: dan (15 January), eve (never) = 2;
    # ann (28 March) is not. 4 seats x 600 = 2,400 a year.
    (row,) = reclaim(org_db)
    assert {key: row[key] for key in ("tool", "as_of", "seats", "leaver_seats", "idle_seats", "reclaimable_seats",
                                      "price_per_seat", "currency", "leaver_cost", "idle_cost", "reclaimable_cost",
                                      "note")} == {
        "tool": "salesforce-sales-cloud", "as_of": "2024-03-31", "seats": 5, "leaver_seats": 2, "idle_seats": 2,
        "reclaimable_seats": 4, "price_per_seat": 600.0, "currency": "USD", "leaver_cost": 1200.0,
        "idle_cost": 1200.0, "reclaimable_cost": 2400.0, "note": None}
    assert row["tool_name"] == "Salesforce Sales Cloud"
    # idle_days=90: a last login before 1 January; dan's 15 January is not, eve's never is: 1 idle seat, 600.
    (row,) = reclaim(org_db, "--param", "idle_days=90")
    assert (row["idle_seats"], row["idle_cost"], row["reclaimable_cost"]) == (1, 600.0, 1800.0)
    # As of 15 January 2025 eve has left too (31 December): leavers bob, cat, eve = 3; idle
    # (before 16 December 2024): ann and dan = 2; 5 seats x 600 = 3,000.
    (row,) = reclaim(org_db, "--as-of", "2025-01-15")
    assert (row["leaver_seats"], row["idle_seats"], row["reclaimable_cost"]) == (3, 2, 3000.0)
    # Marketing's seats: ann (active, 28 March) and bob (left): 1 leaver seat, 600.
    (row,) = reclaim(org_db, "--team", "Marketing")
    assert (row["seats"], row["leaver_seats"], row["idle_seats"], row["reclaimable_cost"]) == (2, 1, 0, 600.0)
    assert "unknown team" in run("report", org_db, "reclaim", "--team", "Nobody", exit_code=1).output


def test_no_person_can_be_read_from_any_table(org_db, files):
    import_users(org_db, files)
    import_logins(org_db, files)
    db = sqlite_utils.Database(org_db)
    for table in db.table_names():
        for row in db.execute(f"select * from [{table}]").fetchall():
            text = " ".join(str(value) for value in row).casefold()
            assert not [email for email in EMAILS if email in text or email.split("@")[0] + "@" in text], table


def test_importing_again_changes_nothing(org_db, files):
    import_users(org_db, files)
    import_logins(org_db, files)
    before = content_hash(org_db, exclude=("ingests",))
    import_users(org_db, files)
    import_logins(org_db, files)
    assert content_hash(org_db, exclude=("ingests",)) == before


def test_a_published_site_holds_no_leavers_or_seat_holders(org_db, files, tmp_path):
    from stack_tracker.site.publish import DATABASE_FILE, publish

    import_users(org_db, files)
    site = publish(org_db, tmp_path / "site").directory
    assert rows(site / DATABASE_FILE, "select (select count(*) from people) + (select count(*) from seat_holders) as n") == [
        {"n": 0}]
