"""stack-tracker import-logins --source entra: Entra ID sign-ins as Azure Monitor writes them.

Diagnostic settings send sign-in logs to a storage account (``PT1H.json``
blobs, one record per line), to Event Hubs (``{"records": [...]}`` messages)
or to Log Analytics. Each record wraps the sign-in in ``properties`` and names
its kind in ``category``. The fixtures in tests/fixtures/entra-monitor/ are
written by hand for these tests:

    portal-PT1H.json         jane signs in to the Azure Portal twice on 2024-03-05
    mixed-PT1H.json          eleven records, one per line (below)
    records-PT1H.json        the same eleven as one {"records": [...]} object
    eventhubs-messages.json  the same eleven in three {"records": [...]} messages,
                             one per line, the second with an AuditLogs record too

mixed-PT1H.json, line by line:

    1  SignInLogs                    jane  Salesforce  2024-03-04 09:12  counted
    2  NonInteractiveUserSignInLogs  jane  Salesforce  2024-03-04 10:02  counted
    3  SignInLogs                    raj   Salesforce  2024-03-05 10:22  failed: 50126, wrong password
    4  SignInLogs                    raj   Salesforce  2024-03-05 10:23  counted
    5  ServicePrincipalSignInLogs    Marketing Data Sync                 left out
    6  SignInLogs                    jane  HubSpot     2024-03-31 23:59:59.9999999  counted, in March
    7  ManagedIdentitySignInLogs     vm-reporting                        left out
    8  NonInteractiveUserSignInLogs  raj   HubSpot     2024-04-01 00:00  failed: 70044, session expired
    9  NonInteractiveUserSignInLogs  raj   HubSpot     2024-04-01 00:05  counted
   10  SignInLogs                    jane  HubSpot     2024-04-02 08:00  counted
   11  NonInteractiveUserSignInLogs  jane  Salesforce  2024-03-20 16:45  counted

So 7 sign-ins by 2 people to 2 tools; 5 person-tool-months (jane Salesforce
March: lines 1, 2 and 11 on two days; raj Salesforce March: line 4; jane
HubSpot March: line 6 and April: line 10; raj HubSpot April: line 9); 2 failed
sign-ins and 2 service principal and managed identity sign-ins left out.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import content_hash, rows, run, write
from stack_tracker.privacy import PseudonymKey

FIXTURES = Path(__file__).parent / "fixtures" / "entra-monitor"
DIRECTORY = Path(__file__).parent / "fixtures" / "logins" / "directory.csv"
PEOPLE = {"jane": "jane.doe@example.com", "raj": "raj.patel@example.com"}
SF, HS = "salesforce-sales-cloud", "hubspot-marketing-hub"

MIXED = "7 successful sign-ins (3 non-interactive) by 2 people to 2 tools, 2024-03 to 2024-04; wrote 5 person-months (5 new, 0 updated)"
MIXED_LEFT_OUT = "not counted: 2 failed or interrupted sign-ins, 2 service principal and managed identity sign-ins"
#: (tool, person, month, team, active days, sign-ins, last seen)
MIXED_ACTIVITY = [
    (HS, "jane", "2024-03", "demand-gen", 1, 1, "2024-03-31T23:59:59Z"),
    (HS, "jane", "2024-04", "demand-gen", 1, 1, "2024-04-02T08:00:00Z"),
    (HS, "raj", "2024-04", "marketing", 1, 1, "2024-04-01T00:05:00Z"),
    (SF, "jane", "2024-03", "demand-gen", 2, 3, "2024-03-20T16:45:10Z"),
    (SF, "raj", "2024-03", "marketing", 1, 1, "2024-03-05T10:23:30Z"),
]


@pytest.fixture(autouse=True)
def key_from_the_key_file(monkeypatch):
    monkeypatch.delenv("STACK_TRACKER_SECRET", raising=False)


def import_logins(db_path: Path, file: str | Path, exit_code: int = 0):
    path = FIXTURES / file if isinstance(file, str) else file
    return run("import-logins", db_path, path, "--source", "entra", "--directory", DIRECTORY, exit_code=exit_code)


def activity(db_path: Path) -> list[tuple]:
    key = PseudonymKey(bytes.fromhex(Path(f"{db_path}.key").read_text()), "test")
    who = {key.user_key(email): name for name, email in PEOPLE.items()}
    return sorted(
        (row["tool"], who[row["user_key"]], row["period"], row["team"], row["active_days"], row["events"], row["last_seen"])
        for row in rows(db_path, "select * from user_activity where source = 'sso'")
    )


def record(category: str = "SignInLogs", **changes) -> dict:
    """One Azure Monitor sign-in record of jane's to Salesforce, with ``changes`` (``properties`` merged in)."""
    properties = {
        "id": "0f1e2d3c-4b5a-4968-8776-655443322110", "createdDateTime": "2024-03-12T14:00:00.0000000Z",
        "userDisplayName": "Jane Doe", "userPrincipalName": "jane.doe@example.com",
        "appId": "f8f1c1c6-6b1e-4f6a-9f3b-3a3b1d2e4c10", "appDisplayName": "Salesforce",
        "status": {"errorCode": 0}, "isInteractive": category == "SignInLogs",
    } | changes.pop("properties", {})
    return {
        "time": "2024-03-12T14:00:00.0000000Z", "resourceId": "/tenants/5f1d2c3b-4a59-4e68-9d7c-8b6a5f4e3d2c/providers/Microsoft.aadiam",
        "operationName": "Sign-in activity", "category": category, "resultType": "0", "resultSignature": "None",
        "durationMs": 0, "identity": "Jane Doe", "Level": 4, "location": "IE", "properties": properties,
    } | changes


def json_lines(path: Path, *records: dict) -> Path:
    return write(path, "".join(json.dumps(item) + "\n" for item in records))


def test_two_interactive_sign_ins_to_the_azure_portal(org_db):
    result = import_logins(org_db, "portal-PT1H.json")
    assert "portal-PT1H.json: 2 successful sign-ins by 1 person to 1 tool, 2024-03; wrote 1 person-months (1 new, 0 updated)" in result.output
    assert "not counted" not in result.output
    # The times' seven decimals are dropped, as every source's are.
    assert activity(org_db) == [("azure-portal", "jane", "2024-03", "demand-gen", 1, 2, "2024-03-05T13:40:02Z")]
    assert rows(org_db, "select name, status from tools where slug = 'azure-portal'") == [{"name": "Azure Portal", "status": "unreviewed"}]


def test_people_count_interactive_or_not_and_machines_and_failures_are_left_out(org_db):
    result = import_logins(org_db, "mixed-PT1H.json")
    assert f"mixed-PT1H.json: {MIXED}" in result.output
    assert MIXED_LEFT_OUT in result.output
    assert "without a user" not in result.output
    assert activity(org_db) == MIXED_ACTIVITY
    assert rows(org_db, "select count(*) as n from user_activity") == [{"n": 5}]
    # Signed in at 23:59:59.9999999 UTC on 31 March: March, not rounded into April.
    assert rows(org_db, "select day, events from user_activity_days where tool = ? order by day", [HS])[0] == {"day": "2024-03-31", "events": 1}
    # The service principal, the managed identity and what they signed in to are no tools.
    assert rows(org_db, "select count(*) as n from tools where name in ('Marketing Data Sync', 'vm-reporting', 'Azure Key Vault', 'Microsoft Graph')") == [{"n": 0}]
    assert rows(org_db, "select kind, status, rows_read, rows_written from ingests where file = 'mixed-PT1H.json'") == [
        {"kind": "logins", "status": "ok", "rows_read": 7, "rows_written": 5}
    ]


@pytest.mark.parametrize("fixture, left_out", [
    ("records-PT1H.json", MIXED_LEFT_OUT),
    # The Event Hub carries the directory's audit log too: not a sign-in.
    ("eventhubs-messages.json", "not counted: 2 failed or interrupted sign-ins, 1 other events, 2 service principal and managed identity sign-ins"),
])
def test_records_wrapped_in_one_object_or_one_message_per_line(org_db, fixture, left_out):
    result = import_logins(org_db, fixture)
    assert f"{fixture}: {MIXED}" in result.output
    assert left_out in result.output
    assert activity(org_db) == MIXED_ACTIVITY


def test_importing_the_same_file_twice_changes_nothing(org_db):
    import_logins(org_db, "mixed-PT1H.json")
    before = content_hash(org_db, exclude=("ingests",))
    result = import_logins(org_db, "mixed-PT1H.json")
    assert "wrote 0 person-months (0 new, 0 updated)" in result.output
    assert content_hash(org_db, exclude=("ingests",)) == before
    # The same sign-ins in the other layouts are the same facts.
    for fixture in ("records-PT1H.json", "eventhubs-messages.json"):
        assert "wrote 0 person-months (0 new, 0 updated)" in import_logins(org_db, fixture).output
        assert content_hash(org_db, exclude=("ingests",)) == before


def test_what_each_odd_record_counts_as(org_db, tmp_path):
    path = json_lines(
        tmp_path / "odd.json",
        # No "time": the sign-in's own createdDateTime is read instead.
        {key: value for key, value in record().items() if key != "time"},
        # The category spelt otherwise is still the category.
        record("signinlogs", time="2024-03-13T09:00:00Z"),
        # resultType and status.errorCode disagree, or one is missing and the other not 0: a failure.
        record(properties={"status": {"errorCode": 50074, "failureReason": "Strong Authentication is required."}}),
        record(resultType="53003", properties={"status": {}}),
        record(resultType=None, properties={"status": None}),
        # No person: a service principal by its fields, else a record without a user.
        record(category=None, properties={"userPrincipalName": None, "servicePrincipalId": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"}),
        record(properties={"userPrincipalName": ""}),
        record(properties={"appDisplayName": None}),
        record("ADFSSignInLogs"),
    )
    result = import_logins(org_db, path)
    assert "odd.json: 2 successful sign-ins by 1 person to 1 tool, 2024-03; wrote 1 person-months (1 new, 0 updated)" in result.output
    assert ("not counted: 3 failed or interrupted sign-ins, 1 other events, 1 service principal and managed identity sign-ins, "
            "1 sign-ins without a user, 1 sign-ins without an application") in result.output
    assert activity(org_db) == [(SF, "jane", "2024-03", "demand-gen", 2, 2, "2024-03-13T09:00:00Z")]


def test_a_time_that_is_no_time_is_named_with_its_line(org_db, tmp_path):
    path = json_lines(tmp_path / "bad-time.json", record(), record(time="2024-02-30T10:00:00.0000000Z"))
    before = content_hash(org_db, exclude=("ingests",))
    result = import_logins(org_db, path, exit_code=1)
    assert 'bad-time.json:2: time: "2024-02-30T10:00:00.0000000Z": is not a date on the calendar' in result.output
    assert "Traceback" not in result.output
    assert content_hash(org_db, exclude=("ingests",)) == before


def test_no_name_from_the_records_reaches_the_database(org_db):
    import_logins(org_db, "mixed-PT1H.json")
    stored = b"".join(Path(f"{org_db}{suffix}").read_bytes().lower() for suffix in ("", "-wal") if Path(f"{org_db}{suffix}").exists())
    for identifier in (*PEOPLE.values(), "jane doe", "raj patel", "6e8a4c2f-31b5-4f0e-9d7a-2b1c3d4e5f60", "203.0.113.41"):
        assert identifier.encode() not in stored, identifier


@pytest.mark.parametrize("newline", ["\n", ""])
def test_a_single_graph_sign_in_on_one_line_is_a_log_of_one(org_db, tmp_path, newline):
    """A Graph signIn alone, with or without a line end: a file of one record, whatever it is taken for."""
    sign_in = {"id": "66ea54eb-6301-4ee5-be62-ff5a759b0100", "createdDateTime": "2024-03-05T09:12:44Z",
               "userPrincipalName": "jane.doe@example.com", "appDisplayName": "Azure Portal", "status": {"errorCode": 0}}
    result = import_logins(org_db, write(tmp_path / "one.json", json.dumps(sign_in) + newline))
    assert "one.json: 1 successful sign-ins by 1 person to 1 tool, 2024-03" in result.output
    assert rows(org_db, "select tool, active_days, events from user_activity") == [
        {"tool": "azure-portal", "active_days": 1, "events": 1}
    ]
