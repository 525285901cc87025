"""stack-tracker import-logins: sign-in logs become per-person activity and measured usage.

The fixtures in tests/fixtures/logins/ follow each vendor's published schema
(Okta's LogEvent, Microsoft Graph's signIn, the Reports API's activity) and tell
the same small story about four people at example.com:

    jane   Demand Gen   Salesforce 2024-03-04 (twice), HubSpot
    raj    Marketing    Salesforce 2024-03-05 (one failure, then a success)
    li     Demand Gen   HubSpot 2024-03-31 23:59:59 UTC and 2024-04-01 00:00 UTC;
                        the directory also lists li in Marketing, further down
    sam    (not in the directory)  Canva, which is not in the inventory: shadow IT

with the awkward events each source has around them: failed and interrupted
sign-ins, other event types, events with no user or no application, service
principals and managed identities.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import sqlite3
import stat
import threading
import time
from pathlib import Path

import pytest
import sqlite_utils

from conftest import content_hash, rows, run, write
from stack_tracker.errors import StackTrackerError
from stack_tracker.inputs import logins
from stack_tracker.privacy import PseudonymKey

LOGINS = Path(__file__).parent / "fixtures" / "logins"
USERS = Path(__file__).parent / "fixtures" / "users"
PEOPLE = {"jane": "jane.doe@example.com", "raj": "raj.patel@example.com", "li": "li.wei@example.com", "sam": "sam.contractor@example.com"}

SF, HS = "salesforce-sales-cloud", "hubspot-marketing-hub"
OKTA = [
    ("canva", "sam", "2024-03", "unassigned", 1, 1, "2024-03-07T16:45:30Z"),
    (HS, "jane", "2024-03", "demand-gen", 1, 1, "2024-03-05T08:01:10Z"),
    (HS, "li", "2024-03", "demand-gen", 1, 1, "2024-03-31T23:59:59Z"),
    (HS, "li", "2024-04", "demand-gen", 1, 1, "2024-04-01T00:00:00Z"),
    (SF, "jane", "2024-03", "demand-gen", 1, 2, "2024-03-04T15:40:02Z"),
    (SF, "raj", "2024-03", "marketing", 1, 1, "2024-03-05T10:22:45Z"),
]
ENTRA = [
    ("canva", "sam", "2024-03", "unassigned", 1, 1, "2024-03-07T16:45:30Z"),
    (HS, "jane", "2024-03", "demand-gen", 1, 1, "2024-03-06T14:15:00Z"),
    (HS, "li", "2024-03", "demand-gen", 1, 1, "2024-03-31T23:59:59Z"),
    (HS, "li", "2024-04", "demand-gen", 1, 1, "2024-04-01T00:00:01Z"),
    # Two days: 03-04 (an interactive and a non-interactive sign-in) and 03-07.
    (SF, "jane", "2024-03", "demand-gen", 2, 3, "2024-03-07T08:30:00Z"),
    (SF, "raj", "2024-03", "marketing", 1, 1, "2024-03-05T10:22:45Z"),
]


@pytest.fixture(autouse=True)
def key_from_the_key_file(monkeypatch):
    monkeypatch.delenv("STACK_TRACKER_SECRET", raising=False)


def import_logins(db_path, *files, source, directory=True, extra=(), exit_code=0):
    args = ["import-logins", db_path, *(LOGINS / f if isinstance(f, str) else f for f in files), "--source", source]
    if directory:
        args += ["--directory", LOGINS / "directory.csv"]
    return run(*args, *extra, exit_code=exit_code)


def names(db_path: Path) -> dict[str, str]:
    """user_key -> who it is, worked out with the database's key file (as only its holder can)."""
    key = PseudonymKey(bytes.fromhex(Path(f"{db_path}.key").read_text()), "test")
    return {key.user_key(email): name for name, email in PEOPLE.items()}


def activity(db_path: Path) -> list[tuple]:
    who = names(db_path)
    return sorted(
        (row["tool"], who[row["user_key"]], row["period"], row["team"], row["active_days"], row["events"], row["last_seen"])
        for row in rows(db_path, "select * from user_activity where source = 'sso'")
    )


def sso_usage(db_path: Path) -> list[tuple]:
    return [
        tuple(row.values())
        for row in rows(db_path, "select team, tool, period, active_users, sessions from usage where source = 'sso' order by tool, period, team")
    ]


# ---------------------------------------------------------------------------
# Okta System Log


@pytest.mark.parametrize("fixture", ["okta-system-log.json", "okta-system-log.jsonl", "okta-system-log.csv"])
def test_okta_api_array_json_lines_and_console_csv(org_db, fixture):
    result = import_logins(org_db, fixture, source="okta")
    assert f"{fixture}: 7 successful sign-ins by 4 people to 3 tools, 2024-03 to 2024-04; wrote 6 person-months (6 new, 0 updated)" in result.output
    # Failed sign-ins, other event types, an actor that is an app or missing, targets that are null,
    # missing or hold no AppInstance: none of them count.
    assert "not counted: 2 events without a user, 3 events without an application, 1 failed sign-ins, 1 other events" in result.output
    assert activity(org_db) == OKTA
    assert sso_usage(org_db) == [
        ("unassigned", "canva", "2024-03", 1, 1),
        ("demand-gen", HS, "2024-03", 2, 2),
        ("demand-gen", HS, "2024-04", 1, 1),
        ("demand-gen", SF, "2024-03", 1, 2),
        ("marketing", SF, "2024-03", 1, 1),
    ]


def test_a_day_is_the_utc_day_so_months_split_at_utc_midnight(org_db):
    import_logins(org_db, "okta-system-log.json", source="okta")
    days = rows(org_db, "select day, events, last_seen from user_activity_days where tool = ? order by day", [HS])
    assert days[-2:] == [
        {"day": "2024-03-31", "events": 1, "last_seen": "2024-03-31T23:59:59Z"},
        {"day": "2024-04-01", "events": 1, "last_seen": "2024-04-01T00:00:00Z"},
    ]


def test_importing_the_same_file_twice_changes_nothing(org_db):
    import_logins(org_db, "okta-system-log.jsonl", source="okta")
    before = content_hash(org_db, exclude=("ingests",))
    result = import_logins(org_db, "okta-system-log.jsonl", source="okta")
    assert "wrote 0 person-months (0 new, 0 updated)" in result.output
    assert content_hash(org_db, exclude=("ingests",)) == before
    # The same sign-ins in another format are the same facts.
    import_logins(org_db, "okta-system-log.csv", source="okta")
    assert content_hash(org_db, exclude=("ingests",)) == before


def test_a_file_cut_off_mid_line_is_rejected_naming_the_line(org_db, tmp_path):
    text = (LOGINS / "okta-system-log.jsonl").read_text()
    cut = write(tmp_path / "okta-cut.jsonl", text[: text.index("\n", len(text) // 2) + 400])
    lines = cut.read_text().count("\n") + 1
    before = content_hash(org_db, exclude=("ingests",))
    result = import_logins(org_db, cut, source="okta", exit_code=1)
    assert f"okta-cut.jsonl:{lines}: the line ends before its JSON object does: the file looks cut off" in result.output
    assert "Traceback" not in result.output
    assert content_hash(org_db, exclude=("ingests",)) == before
    assert rows(org_db, "select kind, file, status from ingests order by id desc limit 1") == [
        {"kind": "logins", "file": "okta-cut.jsonl", "status": "failed"}
    ]


def test_an_array_or_csv_cut_off_is_rejected_too(org_db, tmp_path):
    text = (LOGINS / "okta-system-log.json").read_text()
    cut = write(tmp_path / "okta-cut.json", text[: len(text) // 2])
    result = import_logins(org_db, cut, source="okta", exit_code=1)
    assert "okta-cut.json:" in result.output and ("not valid JSON" in result.output or "not closed" in result.output)
    text = (LOGINS / "okta-system-log.csv").read_text()
    cut = write(tmp_path / "okta-cut.csv", text[: text.index("SUCCESS", text.index("c04")) + 3])
    result = import_logins(org_db, cut, source="okta", exit_code=1)
    assert "okta-cut.csv:5: the last row has 6 of the header's 23 fields and no line end: the file looks cut off" in result.output
    assert rows(org_db, "select count(*) as n from user_activity") == [{"n": 0}]


def test_a_line_that_is_not_json_is_named(org_db, tmp_path):
    text = (LOGINS / "okta-system-log.jsonl").read_text().splitlines(keepends=True)
    text[3] = text[3].replace('"eventType":"user.authentication.sso"', '"eventType":"user.authentication.sso",,')
    result = import_logins(org_db, write(tmp_path / "bad.jsonl", "".join(text)), source="okta", exit_code=1)
    assert "bad.jsonl:4: not valid JSON: Expecting property name enclosed in double quotes" in result.output


# ---------------------------------------------------------------------------
# Microsoft Entra ID


def test_entra_graph_pages_add_up_and_a_page_again_changes_nothing(org_db):
    import_logins(org_db, "entra-signins-page-1.json", source="entra")
    assert [row for row in activity(org_db) if row[0] == SF] == [
        (SF, "jane", "2024-03", "demand-gen", 1, 2, "2024-03-04T18:02:11Z"),
        (SF, "raj", "2024-03", "marketing", 1, 1, "2024-03-05T10:22:45Z"),
    ]
    result = import_logins(org_db, "entra-signins-page-2.json", source="entra")
    assert "wrote 5 person-months (4 new, 1 updated)" in result.output
    assert activity(org_db) == ENTRA
    before = content_hash(org_db, exclude=("ingests",))
    import_logins(org_db, "entra-signins-page-1.json", source="entra")
    assert content_hash(org_db, exclude=("ingests",)) == before


def test_entra_skips_failures_interruptions_service_principals_and_managed_identities(org_db):
    result = import_logins(org_db, "entra-signins-page-1.json", source="entra")
    assert "3 successful sign-ins (1 non-interactive) by 2 people" in result.output
    assert "not counted: 2 failed or interrupted sign-ins, 2 service principal and managed identity sign-ins" in result.output
    assert rows(org_db, "select count(*) as n from tools where name like '%Data Sync%' or name like '%Resource Manager%'") == [{"n": 0}]


@pytest.mark.parametrize("fixture", ["entra-portal-signins.json", "entra-InteractiveSignIns.csv"])
def test_entra_admin_center_downloads_give_what_the_api_gives(org_db, fixture):
    result = import_logins(org_db, fixture, source="entra")
    # The JSON download says which sign-in was non-interactive; the CSV download does not, nor need it: the counts agree.
    said = " (1 non-interactive)" if fixture.endswith(".json") else ""
    assert f"8 successful sign-ins{said} by 4 people to 3 tools" in result.output
    assert activity(org_db) == ENTRA


def test_graph_pages_one_per_line(org_db, tmp_path):
    pages = [json.loads((LOGINS / f"entra-signins-page-{n}.json").read_text()) for n in (1, 2)]
    path = write(tmp_path / "signins.jsonl", "".join(json.dumps(page) + "\n" for page in pages))
    import_logins(org_db, path, source="entra")
    assert activity(org_db) == ENTRA


def test_the_service_principal_download_counts_nobody(org_db):
    result = import_logins(org_db, "entra-ServicePrincipalSignIns.csv", source="entra")
    assert "0 successful sign-ins" in result.output
    assert "1 service principal and managed identity sign-ins" in result.output
    assert rows(org_db, "select count(*) as n from user_activity") == [{"n": 0}]


# ---------------------------------------------------------------------------
# Google Workspace


def test_google_reports_api_saml_token_and_login_activities(org_db):
    result = import_logins(org_db, "google-saml-activities.json", "google-token-activities.jsonl", "google-login-activities.json", source="google")
    assert "google-saml-activities.json: 5 successful sign-ins" in result.output
    # token: an API call made by the app and a revocation are not sign-ins; nor is a service account's grant.
    assert "google-token-activities.jsonl: 1 successful sign-ins by 1 person to 1 tool" in result.output
    assert "1 activities without a person, 2 failed sign-ins and other events" in result.output
    # login: a failed login and a logout are not.
    assert "google-login-activities.json: 1 successful sign-ins" in result.output
    assert activity(org_db) == sorted([
        ("canva", "sam", "2024-03", "unassigned", 1, 1, "2024-03-07T16:45:30Z"),
        ("google-workspace", "jane", "2024-03", "demand-gen", 1, 1, "2024-03-04T08:55:00Z"),
        *[row for row in OKTA if row[0] == SF or row[1] == "li"],
    ])
    assert rows(org_db, "select name, vendor, status from tools where slug = 'google-workspace'") == [
        {"name": "Google Workspace", "vendor": "Google", "status": "unreviewed"}
    ]


def test_google_admin_console_export_in_the_browsers_time_zone(org_db):
    """The console writes local times with their offset: 5pm in California on 31 March is April in UTC."""
    import_logins(org_db, "google-saml-log-events.csv", source="google")
    assert activity(org_db) == [row for row in OKTA if row[0] == SF or row[1] == "li"]


# ---------------------------------------------------------------------------
# Any CSV


def test_csv_source_reads_header_aliases_offsets_and_urls(org_db):
    result = import_logins(org_db, "proxy-logins.csv", source="csv")
    assert "6 successful sign-ins by 4 people" in result.output and "1 failed sign-ins" in result.output
    # Logins (jdoe) are the people the directory lists beside their email: the same user_key.
    assert activity(org_db) == [row for row in OKTA if not (row[0] == HS and row[1] == "jane")]
    assert {row["alias"] for row in rows(org_db, "select alias from tool_aliases")} >= {"Salesforce.com", "app.hubspot.com", "https://www.canva.com/"}


def test_csv_source_needs_its_three_columns(org_db, tmp_path):
    result = import_logins(org_db, write(tmp_path / "x.csv", "who,what\na@example.com,Slack\n"), source="csv", exit_code=1)
    assert "x.csv:1: user: (empty): required column not found (accepted headers: user, email" in result.output
    assert "x.csv:1: time: (empty): required column not found" in result.output


def test_bad_times_are_listed_with_their_lines(org_db, tmp_path):
    path = write(tmp_path / "t.csv", "email,app,timestamp\na@example.com,Slack,2024-03-01T10:00:00Z\nb@example.com,Slack,yesterday\n"
                                     "c@example.com,Slack,2024-02-30T10:00:00Z\nd@example.com,Slack,03/04/2024 10:00\n")
    result = import_logins(org_db, path, source="csv", exit_code=1)
    assert 't.csv:3: time: "yesterday": expected a time such as 2024-03-31T23:30:00Z' in result.output
    assert 't.csv:4: time: "2024-02-30T10:00:00Z": is not a date on the calendar' in result.output
    assert 't.csv:5: time: "03/04/2024 10:00": is ambiguous' in result.output
    assert rows(org_db, "select count(*) as n from tools where slug = 'slack'") == [{"n": 0}]
    run("import-logins", org_db, write(tmp_path / "u.csv", "email,app,timestamp\nd@example.com,Slack,03/04/2024 10:00\n"),
        "--source", "csv", "--date-format", "dmy", "--silent")
    assert rows(org_db, "select day from user_activity_days") == [{"day": "2024-04-03"}]


def test_csv_source_reads_spreadsheets(org_db, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    import datetime as dt

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Email", "Application", "Signed in at"])
    sheet.append(["jane.doe@example.com", "HubSpot", dt.datetime(2024, 3, 5, 8, 1, 10)])
    sheet.append([])
    sheet.append(["li.wei@example.com", "HubSpot", "2024-03-31T16:59:59-07:00"])
    workbook.save(tmp_path / "logins.xlsx")
    import_logins(org_db, tmp_path / "logins.xlsx", source="csv")
    assert activity(org_db) == [(HS, "jane", "2024-03", "demand-gen", 1, 1, "2024-03-05T08:01:10Z"),
                                (HS, "li", "2024-03", "demand-gen", 1, 1, "2024-03-31T23:59:59Z")]


# ---------------------------------------------------------------------------
# People and teams


def test_people_not_in_the_directory_are_unassigned_and_counted(org_db):
    result = import_logins(org_db, "okta-system-log.json", source="okta")
    assert "1 person not in the directory counted in team unassigned" in result.output
    assert rows(org_db, "select slug, name from teams where slug = 'unassigned'") == [{"slug": "unassigned", "name": "Unassigned"}]


def test_a_person_in_two_teams_stays_in_the_first(org_db):
    result = import_logins(org_db, "okta-system-log.json", source="okta")
    assert "warning: directory.csv:5: this person is already in team Demand Gen (line 4); counted in Demand Gen only" in result.output
    assert {row[3] for row in activity(org_db) if row[1] == "li"} == {"demand-gen"}


def test_without_a_directory_everyone_is_unassigned(org_db):
    result = import_logins(org_db, "okta-system-log.json", source="okta", directory=False)
    assert "4 people not in the directory counted in team unassigned" in result.output
    assert sso_usage(org_db)[1:3] == [("unassigned", HS, "2024-03", 2, 2), ("unassigned", HS, "2024-04", 1, 1)]


def test_a_new_directory_moves_people_for_the_months_a_file_covers(org_db, tmp_path):
    import_logins(org_db, "okta-system-log.json", source="okta", directory=False)
    moved = write(tmp_path / "people.csv", "user principal name,team\njane.doe@example.com,Marketing\n")
    run("import-logins", org_db, LOGINS / "okta-system-log.json", "--source", "okta", "--directory", moved, "--silent")
    assert {(row[0], row[3]) for row in activity(org_db) if row[1] == "jane"} == {(SF, "marketing"), (HS, "marketing")}
    # Usage follows: nobody from unassigned uses Salesforce any more but raj.
    assert ("unassigned", SF, "2024-03", 1, 1) in sso_usage(org_db)
    assert ("marketing", SF, "2024-03", 1, 2) in sso_usage(org_db)


def test_a_directory_creates_only_the_teams_someone_was_counted_in(org_db, tmp_path):
    # The company's directory names two teams the database lacks; only Lifecycle has someone who signed in.
    people = write(tmp_path / "people.csv", "email,department\njane.doe@example.com,Lifecycle\nnobody@example.com,Events\n")
    result = run("import-logins", org_db, LOGINS / "okta-system-log.json", "--source", "okta", "--directory", people)
    teams = {row["slug"] for row in rows(org_db, "select slug from teams")}
    assert "lifecycle" in teams and "events" not in teams
    assert "created " in result.output and "1 team" in result.output and "1 teams" not in result.output
    assert {row[3] for row in activity(org_db) if row[1] == "jane"} == {"lifecycle"}


def test_unknown_directory_teams_need_allow_new(org_db, tmp_path):
    people = write(tmp_path / "people.csv", "email,department\njane.doe@example.com,Lifecycle\n,Marketing\n")
    result = run("import-logins", org_db, LOGINS / "okta-system-log.json", "--source", "okta", "--directory", people,
                 "--no-allow-new", exit_code=1)
    assert 'people.csv:2: team: "Lifecycle": unknown team' in result.output
    assert "people.csv:3: person: (empty): an email or login is required" in result.output


# ---------------------------------------------------------------------------
# Privacy


def test_no_identifier_from_the_inputs_reaches_the_database_file(org_db, tmp_path):
    for source, files in {
        "okta": ["okta-system-log.json", "okta-system-log.jsonl", "okta-system-log.csv"],
        "entra": ["entra-signins-page-1.json", "entra-signins-page-2.json", "entra-portal-signins.json", "entra-InteractiveSignIns.csv"],
        "google": ["google-saml-activities.json", "google-token-activities.jsonl", "google-login-activities.json", "google-saml-log-events.csv"],
        "csv": ["proxy-logins.csv"],
    }.items():
        import_logins(org_db, *files, source=source)
    run("import-users", org_db, USERS / "salesforce-users.csv", "--tool", "Salesforce", "--as-of", "2024-03-31",
        "--date-format", "mdy", "--directory", LOGINS / "directory.csv", "--silent")
    run("import-users", org_db, USERS / "hubspot-users.csv", "--tool", "HubSpot", "--as-of", "2024-03-31", "--silent")
    identifiers = set(PEOPLE.values()) | {
        "jane.doe", "raj.patel", "li.wei", "sam.contractor", "old.account", "integration@example",  # local parts
        "jdoe", "rpatel", "lwei",  # logins
        "Jane Doe", "Raj Patel", "Li Wei", "Sam Contractor",  # display names
        "00u1qw1mqitPHM8AJ0g7", "6e8a4c2f-31b5-4f0e-9d7a-2b1c3d4e5f60", "114511147312345678901", "51234001",  # vendor user ids
    }
    key = Path(f"{org_db}.key").read_text().strip()

    def stored_bytes() -> bytes:
        return b"".join(Path(f"{org_db}{suffix}").read_bytes().lower() for suffix in ("", "-wal", "-shm")
                        if Path(f"{org_db}{suffix}").exists())

    assert Path(f"{org_db}-wal").exists()  # the check reads the write-ahead log too, not only the main file
    for moment in ("before", "after"):
        content = stored_bytes()
        found = [identifier for identifier in identifiers if identifier.lower().encode() in content]
        assert found == [], f"{moment} checkpoint: {found}"
        assert key.encode() not in content
        connection = sqlite3.connect(org_db)
        connection.execute("pragma wal_checkpoint(truncate)")
        connection.close()
    # What is stored instead: 64-hex-digit keyed hashes.
    keys = {row["user_key"] for row in rows(org_db, "select user_key from user_activity")}
    assert len(keys) == 4 and all(len(key) == 64 and int(key, 16) >= 0 for key in keys)


def test_the_key_file_is_made_beside_the_database_readable_only_by_its_owner(org_db):
    key_file = Path(f"{org_db}.key")
    assert not key_file.exists()
    result = import_logins(org_db, "okta-system-log.json", source="okta")
    assert f"warning: created {key_file.name} (mode 0600)" in result.output
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(bytes.fromhex(key_file.read_text())) == 32
    fingerprint = rows(org_db, "select value from settings where key = 'user_key_fingerprint'")[0]["value"]
    assert fingerprint == PseudonymKey(bytes.fromhex(key_file.read_text()), "").fingerprint
    assert key_file.read_text().strip() not in fingerprint
    # Used again, not replaced.
    import_logins(org_db, "okta-system-log.csv", source="okta")
    assert rows(org_db, "select count(distinct user_key) as n from user_activity") == [{"n": 4}]


def test_an_import_with_another_key_is_refused(org_db, monkeypatch):
    import_logins(org_db, "okta-system-log.json", source="okta")
    before = content_hash(org_db, exclude=("ingests",))
    monkeypatch.setenv("STACK_TRACKER_SECRET", "a-completely-different-secret-of-some-length")
    result = import_logins(org_db, "okta-system-log.csv", source="okta", exit_code=1)
    assert "is not the key this database's people were pseudonymised with" in result.output
    assert content_hash(org_db, exclude=("ingests",)) == before


def test_the_secret_may_come_from_the_environment(org_db, monkeypatch):
    monkeypatch.setenv("STACK_TRACKER_SECRET", "short")
    assert "too short" in import_logins(org_db, "okta-system-log.json", source="okta", exit_code=1).output
    secret = "0123456789abcdef-a-test-secret"
    monkeypatch.setenv("STACK_TRACKER_SECRET", secret)
    import_logins(org_db, "okta-system-log.json", source="okta")
    assert not Path(f"{org_db}.key").exists()
    key = PseudonymKey(secret.encode(), "test")
    assert {row["user_key"] for row in rows(org_db, "select user_key from user_activity where team = 'marketing'")} == {
        key.user_key("Raj.Patel@Example.com")
    }


# ---------------------------------------------------------------------------
# Tools, the catalog and shadow IT


def test_applications_resolve_through_the_catalog_and_unknown_ones_are_shadow_it(org_db):
    import_logins(org_db, "okta-system-log.json", source="okta")
    aliases = {row["alias"]: row["tool"] for row in rows(org_db, "select alias, tool from tool_aliases")}
    assert aliases["Salesforce.com"] == SF and aliases["HubSpot - Marketing Hub"] == HS
    assert rows(org_db, "select slug, name, vendor, status from tools where status = 'unreviewed'") == [
        {"slug": "canva", "name": "Canva", "vendor": "Canva", "status": "unreviewed"}
    ]
    assert rows(org_db, "select capability, \"primary\" from tool_capabilities where tool = 'canva'") == [
        {"capability": "content-marketing", "primary": 1}
    ]
    shadow = rows(org_db, "select team, tool from usage_effective where tool in (select slug from tools where status = 'unreviewed')")
    assert shadow == [{"team": "unassigned", "tool": "canva"}]


def test_no_allow_new_makes_unknown_applications_an_error(org_db):
    before = content_hash(org_db, exclude=("ingests",))
    result = import_logins(org_db, "okta-system-log.json", source="okta", extra=["--no-allow-new"], exit_code=1)
    assert 'okta-system-log.json:1104: application: "Canva": unknown tool' in result.output
    assert content_hash(org_db, exclude=("ingests",)) == before


# ---------------------------------------------------------------------------
# Usage from activity


def test_measured_usage_is_kept_apart_and_preferred_to_reported(org_db, tmp_path):
    run("ingest", org_db, "usage", write(tmp_path / "usage.csv", "team,tool,month,licenses,MAU\nDemand Gen,HubSpot Marketing Hub,2024-03,50,40\n"), "--silent")
    import_logins(org_db, "okta-system-log.json", source="okta")
    assert rows(org_db, "select source, seats, active_users from usage where team = 'demand-gen' and tool = ? and period = '2024-03' order by source", [HS]) == [
        {"source": "reported", "seats": 50, "active_users": 40},
        {"source": "sso", "seats": None, "active_users": 2},
    ]
    assert rows(org_db, "select source, seats_source, seats, active_users from usage_effective where team = 'demand-gen' and tool = ? and period = '2024-03'", [HS]) == [
        {"source": "sso", "seats_source": "reported", "seats": 50, "active_users": 2}
    ]


def test_since_and_until_keep_the_days_between(org_db):
    result = import_logins(org_db, "okta-system-log.json", source="okta", extra=["--since", "2024-03-05", "--until", "Mar 31, 2024"])
    assert "3 sign-ins outside --since/--until" in result.output
    assert [row[:3] for row in activity(org_db)] == [("canva", "sam", "2024-03"), (HS, "jane", "2024-03"), (HS, "li", "2024-03"), (SF, "raj", "2024-03")]
    result = import_logins(org_db, "okta-system-log.json", source="okta", extra=["--since", "2024-04-02", "--until", "2024-04-01"], exit_code=1)
    assert "--since 2024-04-02 is after --until 2024-04-01" in result.output


def test_the_rollup_gives_the_same_answer_however_often_it_flushes(org_db, monkeypatch, tmp_path):
    """Memory is bounded by flushing the in-memory counts; a flush every 2 keys must change nothing."""
    events = json.loads((LOGINS / "okta-system-log.json").read_text())
    path = write(tmp_path / "many.jsonl", "".join(json.dumps(event) + "\n" for event in events * 5))
    monkeypatch.setattr(logins, "FLUSH_EVERY", 2)
    import_logins(org_db, path, source="okta")
    assert activity(org_db) == [row[:5] + (row[5] * 5,) + row[6:] for row in OKTA]


def test_silent_prints_nothing(org_db):
    assert import_logins(org_db, "okta-system-log.json", source="okta", extra=["--silent"]).output == ""
    assert rows(org_db, "select kind, status, rows_read, rows_written from ingests where kind = 'logins'") == [
        {"kind": "logins", "status": "ok", "rows_read": 7, "rows_written": 6}
    ]


def test_every_person_month_comes_from_its_days(org_db):
    for source, files in {"okta": ["okta-system-log.jsonl"], "entra": ["entra-signins-page-1.json", "entra-signins-page-2.json"]}.items():
        import_logins(org_db, *files, source=source)
    mismatched = rows(org_db, """
        select a.tool, a.period from user_activity a
        left join (select tool, user_key, substr(day, 1, 7) as period, count(distinct day) as days, sum(events) as events, max(last_seen) as last
                   from user_activity_days group by 1, 2, 3) d using (tool, user_key, period)
        where a.active_days is not d.days or a.events is not d.events or a.last_seen is not d.last""")
    assert mismatched == []
    assert os.path.exists(f"{org_db}.key")


# ---------------------------------------------------------------------------
# Large logs: read fast, and still read right


def okta_events() -> list[dict]:
    return [json.loads(line) for line in (LOGINS / "okta-system-log.jsonl").read_text().splitlines()]


def compact(event: dict) -> str:
    return json.dumps(event, separators=(",", ":"))


def test_lines_are_passed_over_only_when_they_cannot_be_a_sign_in(org_db, tmp_path):
    """Lines without the event type's name are not decoded; spaces and escapes must not hide a sign-in."""
    lines = []
    for number, event in enumerate(okta_events()):
        text = json.dumps(event) if number % 2 else compact(event)  # with spaces and without
        if number == 1:
            text = text.replace('"user.authentication.sso"', '"user.authentication.ss\\u006f"')
        lines.append(text + "\n")
    assert lines[1].count("user.authentication.sso") == 0 and '": "' in lines[1]
    result = import_logins(org_db, write(tmp_path / "spaced.jsonl", "".join(lines)), source="okta")
    assert "7 successful sign-ins by 4 people to 3 tools" in result.output
    assert "not counted: 2 events without a user, 3 events without an application, 1 failed sign-ins, 1 other events" in result.output
    assert activity(org_db) == OKTA


def test_times_with_an_offset_are_counted_on_their_utc_day(org_db, tmp_path):
    events = [event for event in okta_events() if (event["actor"] or {}).get("alternateId") == "raj.patel@example.com"
              and event["outcome"]["result"] == "SUCCESS" and event["eventType"] == "user.authentication.sso"]
    early, late = dict(events[0], published="2024-04-01T01:30:00.000+02:00"), dict(events[0], published="2024-03-31T20:00:00-05:00")
    import_logins(org_db, write(tmp_path / "offsets.jsonl", json.dumps(early) + "\n" + json.dumps(late) + "\n"), source="okta")
    assert rows(org_db, "select day, events, last_seen from user_activity_days order by day") == [
        {"day": "2024-03-31", "events": 1, "last_seen": "2024-03-31T23:30:00Z"},
        {"day": "2024-04-01", "events": 1, "last_seen": "2024-04-01T01:00:00Z"},
    ]
    assert [row[2:] for row in activity(org_db)] == [
        ("2024-03", "marketing", 1, 1, "2024-03-31T23:30:00Z"), ("2024-04", "marketing", 1, 1, "2024-04-01T01:00:00Z"),
    ]


def test_broken_lines_of_a_large_log_are_named(org_db, tmp_path):
    events = okta_events()
    other = compact(next(event for event in events if event["eventType"] != "user.authentication.sso")) + "\n"
    padding = other * (70_000 // len(other) + 1)  # past the first 64 KB, where the encoding is told
    first_line = padding.count("\n") + 1
    sign_in = compact(events[0])
    # JavaScript's NaN is read as json reads it; a byte that is not UTF-8 is named with its line.
    nan = sign_in.replace('"lat":38.7223', '"lat":NaN')
    assert nan != sign_in
    path = tmp_path / "big.jsonl"
    path.write_bytes((padding + nan + "\n").encode() + sign_in.replace("Jane Doe", "Jane D\xf6e").encode("latin-1") + b"\n")
    result = import_logins(org_db, path, source="okta", exit_code=1)
    assert f"big.jsonl:{first_line + 1}: the text is not valid utf-8 (invalid start byte); save the file as UTF-8" in result.output
    path.write_bytes((padding + nan + "\n" + sign_in.replace('"eventType"', '"eventType" "')).encode() + b"\n")
    result = import_logins(org_db, path, source="okta", exit_code=1)
    assert f"big.jsonl:{first_line + 1}: not valid JSON: Expecting ':' delimiter (column" in result.output
    path.write_bytes((padding + nan + "\n").encode())
    result = import_logins(org_db, path, source="okta")
    assert "1 successful sign-ins by 1 person" in result.output
    assert f"{first_line - 1:,} other events" in result.output


def test_the_file_hash_is_the_files_whether_hashed_alongside_or_inline(org_db, tmp_path, monkeypatch):
    from stack_tracker.inputs import hashing

    for threshold in (0, hashing.SIDE_HASH_MIN_BYTES):  # every file hashed on the helper thread, then none
        monkeypatch.setattr(hashing, "SIDE_HASH_MIN_BYTES", threshold)
        for name in ("okta-system-log.jsonl", "okta-system-log.csv"):
            copy = write(tmp_path / f"{threshold}-{name}", (LOGINS / name).read_text())
            import_logins(org_db, copy, source="okta")
            assert rows(org_db, "select sha256 from ingests where file = ?", [copy.name]) == [
                {"sha256": hashlib.sha256(copy.read_bytes()).hexdigest()}
            ]
    # A file rejected half way leaves no helper behind waiting for it.
    monkeypatch.setattr(hashing, "SIDE_HASH_MIN_BYTES", 0)
    text = (LOGINS / "okta-system-log.jsonl").read_text()
    import_logins(org_db, write(tmp_path / "cut.jsonl", text[: len(text) // 2]), source="okta", exit_code=1)
    gc.collect()
    deadline = time.monotonic() + 5
    while any(thread.name == "sha256" for thread in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not any(thread.name == "sha256" for thread in threading.enumerate())


def test_small_caches_give_the_same_answer(org_db, monkeypatch, tmp_path):
    """People and application names are remembered up to a limit, then forgotten and looked up again."""
    path = write(tmp_path / "many.jsonl", "".join(json.dumps(event) + "\n" for event in okta_events() * 3))
    monkeypatch.setattr(logins, "CACHE_LIMIT", 1)
    monkeypatch.setattr(logins, "FLUSH_EVERY", 3)
    import_logins(org_db, path, source="okta")
    assert activity(org_db) == [row[:5] + (row[5] * 3,) + row[6:] for row in OKTA]


def test_two_people_whose_keys_begin_alike_are_refused(org_db):
    """The roll-up numbers people by the first 64 bits of their user_key; two keys sharing them must not merge."""
    db = sqlite_utils.Database(org_db)
    rollup = logins._Rollup(db)
    first = rollup.person("0123456789abcdef" + "a" * 48, "marketing")
    assert rollup.person("0123456789abcdef" + "a" * 48, "marketing") == first
    with pytest.raises(StackTrackerError, match="cannot tell them apart"):
        rollup.person("0123456789abcdef" + "b" * 48, "marketing")


@pytest.mark.parametrize("start, end", [("\ufeff", "\r\n"), ("", "\n")], ids=["bom-crlf", "lf"])
def test_a_byte_order_mark_and_windows_line_ends_read_alike(org_db, tmp_path, start, end):
    text = start + "".join(compact(event) + end for event in okta_events())
    result = import_logins(org_db, write(tmp_path / "ends.jsonl", text), source="okta")
    assert "7 successful sign-ins by 4 people to 3 tools" in result.output
    assert "1 failed sign-ins, 1 other events" in result.output
    assert activity(org_db) == OKTA


def test_applications_named_in_other_scripts_stay_apart(org_db, tmp_path):
    logins = write(tmp_path / "logins.csv", "User Name,App Name,Login Time,Result\n"
                   "jdoe,Яндекс Метрика,2024-03-04 09:12:33+00:00,success\n"
                   "jdoe,百度统计,2024-03-04 10:12:33+00:00,success\n"
                   "rpatel,Битрикс24,2024-03-05 09:12:33+00:00,success\n")
    result = import_logins(org_db, logins, source="csv")
    assert "created 3 unreviewed tools" in result.output
    assert rows(org_db, "select tool, count(*) as people from user_activity where tool not glob '[a-z]*' group by tool order by tool") == [
        {"tool": "битрикс24", "people": 1}, {"tool": "яндекс-метрика", "people": 1}, {"tool": "百度统计", "people": 1},
    ]


def test_a_file_whose_every_sign_in_failed_says_so(org_db, tmp_path):
    failed = write(tmp_path / "proxy.csv", "user,app,time,outcome\n"
                   "jane.doe@example.com,Salesforce,2024-03-05T09:00:00Z,failure\n"
                   "raj@example.com,HubSpot,2024-03-06T09:00:00Z,denied\n")
    result = run("import-logins", org_db, failed, "--source", "csv")
    assert ("warning: proxy.csv: no sign-in was counted: all 2 records were left out, all of them as failed sign-ins: "
            "every sign-in in the file failed") in result.output


def test_a_file_of_other_events_names_the_source_as_the_likely_cause(org_db, tmp_path):
    # Okta events, none of them a sign-in to an application (session starts, a password change, and one SSO that failed).
    events = [
        {"eventType": "user.session.start", "published": "2024-03-05T09:00:00Z", "outcome": {"result": "SUCCESS"},
         "actor": {"type": "User", "alternateId": "jane.doe@example.com"}},
        {"eventType": "user.account.update_password", "published": "2024-03-05T09:01:00Z", "outcome": {"result": "SUCCESS"},
         "actor": {"type": "User", "alternateId": "jane.doe@example.com"}},
        {"eventType": "user.session.start", "published": "2024-03-06T09:00:00Z", "outcome": {"result": "SUCCESS"},
         "actor": {"type": "User", "alternateId": "raj@example.com"}},
    ]
    log = write(tmp_path / "okta.jsonl", "".join(json.dumps(event) + "\n" for event in events))
    result = run("import-logins", org_db, log, "--source", "okta")
    assert "0 successful sign-ins" in result.output
    assert ("warning: okta.jsonl: no sign-in was counted: all 3 records were left out, all of them as other events: "
            "the file holds none of the sign-in events this source writes: is --source okta right for it?") in result.output


def test_sign_ins_all_outside_the_window_point_at_since_and_until(org_db):
    result = import_logins(org_db, "okta-system-log.json", source="okta", extra=["--since", "2030-01-01"])
    assert "no sign-in was counted: all " in result.output
    assert "as sign-ins outside --since/--until: check --since and --until" in result.output


def test_a_file_with_sign_ins_counted_has_no_such_warning(org_db):
    assert "no sign-in was counted" not in import_logins(org_db, "okta-system-log.json", source="okta").output
