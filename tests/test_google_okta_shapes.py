"""stack-tracker import-logins: the shapes that log exporters, SIEM pipelines and event hooks write.

The fixtures in tests/fixtures/shapes/ are written from the providers' published
schemas (the Reports API's activity resource, Okta's LogEvent and event hook
request), about two people at example.com, jane and raj:

    google-activities-one-per-line.jsonl  Reports API activities one per line, each
                                          line's ``events`` a single object (one
                                          line keeps the list the API writes)
    okta-single-logevent.json             one LogEvent, as Okta's documentation shows one
    okta-event-hook.json                  an event hook's delivery: LogEvents in data.events
    okta-api-error.json                   what the API answers to a bad token: no log at all

No directory is given: everyone is in team unassigned.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import content_hash, rows, run, write
from stack_tracker.privacy import PseudonymKey

SHAPES = Path(__file__).parent / "fixtures" / "shapes"
PEOPLE = {"jane": "jane.doe@example.com", "raj": "raj.patel@example.com"}
SF = "salesforce-sales-cloud"

# Worked out by hand, line by line:
#   1 login  login_success  jane 2024-03-04  Google Workspace
#   2 saml   login_success  jane 2024-03-05  Slack
#   3 login  login_failure  raj             not counted: a failed sign-in
#   4 drive  view           jane            not counted: another application's event
#   5 saml   login_success  jane 2024-04-01  Slack (its events a list, as the API writes them)
#   6 saml   login_success  raj  2024-04-02  Salesforce
#   7 token  authorize      raj  2024-04-02  Zoom
# 5 sign-ins by 2 people to 4 tools, in 5 person-months across March and April.
GOOGLE = [
    ("google-workspace", "jane", "2024-03", "unassigned", 1, 1, "2024-03-04T08:55:00Z"),
    (SF, "raj", "2024-04", "unassigned", 1, 1, "2024-04-02T14:00:00Z"),
    ("slack", "jane", "2024-03", "unassigned", 1, 1, "2024-03-05T09:12:44Z"),
    ("slack", "jane", "2024-04", "unassigned", 1, 1, "2024-04-01T10:00:00Z"),
    ("zoom-workplace", "raj", "2024-04", "unassigned", 1, 1, "2024-04-02T14:05:00Z"),  # the catalog knows Zoom
]
GOOGLE_SUMMARY = ("5 successful sign-ins by 2 people to 4 tools, 2024-03 to 2024-04; wrote 5 person-months (5 new, 0 updated)\n"
                  "  not counted: 1 failed sign-ins and other events, 1 other applications' events")

# The delivery's four events: jane to Salesforce.com; raj to Slack, failed, then again, signed in;
# jane starting an Okta session, which is no sign-in to an application.
OKTA_HOOK = [
    (SF, "jane", "2024-03", "unassigned", 1, 1, "2024-03-04T15:40:02Z"),
    ("slack", "raj", "2024-03", "unassigned", 1, 1, "2024-03-05T10:22:45Z"),
]
OKTA_HOOK_SUMMARY = ("2 successful sign-ins by 2 people to 2 tools, 2024-03; wrote 2 person-months (2 new, 0 updated)\n"
                     "  not counted: 1 failed sign-ins, 1 other events")


@pytest.fixture(autouse=True)
def key_from_the_key_file(monkeypatch):
    monkeypatch.delenv("STACK_TRACKER_SECRET", raising=False)


def import_logins(db_path: Path, path: Path, source: str, exit_code: int = 0):
    return run("import-logins", db_path, path, "--source", source, exit_code=exit_code)


def activity(db_path: Path) -> list[tuple]:
    """Each row of user_activity, its person named (as only the key file's holder can)."""
    key = PseudonymKey(bytes.fromhex(Path(f"{db_path}.key").read_text()), "test")
    who = {key.user_key(email): name for name, email in PEOPLE.items()}
    return sorted(
        (row["tool"], who[row["user_key"]], row["period"], row["team"], row["active_days"], row["events"], row["last_seen"])
        for row in rows(db_path, "select * from user_activity where source = 'sso'")
    )


def one_line(path: Path, tmp_path: Path, newline: str = "\n") -> Path:
    """A pretty-printed fixture written again on one line, as a receiver saves what it is sent."""
    return write(tmp_path / f"one-line-{path.name}", json.dumps(json.loads(path.read_text())) + newline)


# ---------------------------------------------------------------------------
# Google Workspace: activities one per line, events a single object


def test_google_activities_one_per_line_count_like_the_reports_api(org_db):
    result = import_logins(org_db, SHAPES / "google-activities-one-per-line.jsonl", source="google")
    assert f"google-activities-one-per-line.jsonl: {GOOGLE_SUMMARY}\n" in result.output
    assert "2 people not in the directory counted in team unassigned" in result.output
    assert activity(org_db) == GOOGLE
    assert rows(org_db, "select count(*) as n from user_activity") == [{"n": 5}]


def test_the_same_activities_as_a_reports_api_page_count_the_same(org_db, tmp_path):
    activities = [json.loads(line) for line in (SHAPES / "google-activities-one-per-line.jsonl").read_text().splitlines()]
    for item in activities:
        item["events"] = item["events"] if isinstance(item["events"], list) else [item["events"]]
    page = write(tmp_path / "page.json", json.dumps({"kind": "admin#reports#activities", "items": activities}, indent=2))
    result = import_logins(org_db, page, source="google")
    assert f"page.json: {GOOGLE_SUMMARY}\n" in result.output
    assert activity(org_db) == GOOGLE


def test_google_activities_with_nothing_to_count_are_counted_by_reason(org_db, tmp_path):
    lines = (SHAPES / "google-activities-one-per-line.jsonl").read_text().splitlines(keepends=True)
    no_events = json.loads(lines[0])
    del no_events["events"]
    no_person = dict(json.loads(lines[1]), actor={"callerType": "KEY", "key": "SYSTEM"})
    path = write(tmp_path / "left-out.jsonl", lines[2] + lines[3] + json.dumps(no_events) + "\n" + json.dumps(no_person) + "\n")
    result = import_logins(org_db, path, source="google")
    assert "left-out.jsonl: 0 successful sign-ins by 0 people to 0 tools; wrote 0 person-months (0 new, 0 updated)\n" in result.output
    assert ("  not counted: 1 activities without a person, 1 activities without events, 1 failed sign-ins and other events, "
            "1 other applications' events") in result.output
    assert rows(org_db, "select status, rows_read, rows_written from ingests where file = 'left-out.jsonl'") == [
        {"status": "ok", "rows_read": 0, "rows_written": 0}
    ]


@pytest.mark.parametrize("layout", ["pretty", "one line, no line end"])
def test_a_single_google_activity_is_a_log_of_one(org_db, tmp_path, layout):
    """Line 2 of the fixture alone: jane's SAML sign-in to Slack on 2024-03-05."""
    activity_of_jane = json.loads((SHAPES / "google-activities-one-per-line.jsonl").read_text().splitlines()[1])
    text = json.dumps(activity_of_jane, indent=2 if layout == "pretty" else None)
    result = import_logins(org_db, write(tmp_path / "one.json", text), source="google")
    assert "one.json: 1 successful sign-ins by 1 person to 1 tool, 2024-03; wrote 1 person-months (1 new, 0 updated)" in result.output
    assert activity(org_db) == [("slack", "jane", "2024-03", "unassigned", 1, 1, "2024-03-05T09:12:44Z")]


def test_a_reports_api_page_with_no_activities_counts_none_and_says_so(org_db, tmp_path):
    """The API leaves ``items`` out of a page when nothing happened."""
    page = write(tmp_path / "quiet.json", json.dumps({"kind": "admin#reports#activities", "etag": '"Jk9Tz2f1bQ"'}, indent=2))
    result = import_logins(org_db, page, source="google")
    assert "quiet.json: 0 successful sign-ins by 0 people to 0 tools" in result.output
    assert "quiet.json: no sign-in was counted: the file holds no records" in result.output
    assert rows(org_db, "select count(*) as n from user_activity") == [{"n": 0}]


# ---------------------------------------------------------------------------
# Okta: a single LogEvent, an event hook's delivery


@pytest.mark.parametrize("layout", ["pretty", "one line", "one line, no line end"])
def test_a_single_okta_logevent_is_a_log_of_one(org_db, tmp_path, layout):
    path = SHAPES / "okta-single-logevent.json"
    if layout != "pretty":
        path = one_line(path, tmp_path, newline="\n" if layout == "one line" else "")
    result = import_logins(org_db, path, source="okta")
    assert f"{path.name}: 1 successful sign-ins by 1 person to 1 tool, 2024-03; wrote 1 person-months (1 new, 0 updated)" in result.output
    assert "not counted" not in result.output
    assert activity(org_db) == [(SF, "raj", "2024-03", "unassigned", 1, 1, "2024-03-05T09:12:44Z")]


@pytest.mark.parametrize("layout", ["pretty", "one line"])
def test_an_okta_event_hook_delivery_is_read_for_its_events(org_db, tmp_path, layout):
    path = SHAPES / "okta-event-hook.json"
    if layout != "pretty":
        path = one_line(path, tmp_path)
    result = import_logins(org_db, path, source="okta")
    assert f"{path.name}: {OKTA_HOOK_SUMMARY}\n" in result.output
    assert activity(org_db) == OKTA_HOOK


def test_event_hook_deliveries_one_per_line_among_logevents(org_db, tmp_path):
    """A receiver that appends what it is sent, beside a LogEvent that came another way."""
    hook = json.loads((SHAPES / "okta-event-hook.json").read_text())
    single = json.loads((SHAPES / "okta-single-logevent.json").read_text())
    path = write(tmp_path / "received.jsonl", "".join(json.dumps(value) + "\n" for value in (hook, single)))
    result = import_logins(org_db, path, source="okta")
    assert "received.jsonl: 3 successful sign-ins by 2 people to 2 tools, 2024-03" in result.output
    assert "not counted: 1 failed sign-ins, 1 other events" in result.output
    assert activity(org_db) == sorted([*OKTA_HOOK, (SF, "raj", "2024-03", "unassigned", 1, 1, "2024-03-05T09:12:44Z")])


def test_an_event_hook_delivery_with_nothing_to_count_still_imports_and_says_why(org_db, tmp_path):
    hook = json.loads((SHAPES / "okta-event-hook.json").read_text())
    hook["data"]["events"] = [event for event in hook["data"]["events"] if event["outcome"]["result"] != "SUCCESS"
                              or event["eventType"] != "user.authentication.sso"]
    result = import_logins(org_db, write(tmp_path / "nothing.json", json.dumps(hook, indent=2)), source="okta")
    assert "nothing.json: 0 successful sign-ins by 0 people to 0 tools; wrote 0 person-months (0 new, 0 updated)\n" in result.output
    assert "  not counted: 1 failed sign-ins, 1 other events" in result.output


@pytest.mark.parametrize("name, text, found", [
    ("okta-api-error.json", None, "an object with errorCode, errorSummary, errorLink, errorId, errorCauses"),
    ("empty.json", "{\n}\n", "an empty object"),
    ("events-not-a-list.json", '{\n  "events": {"eventType": "user.authentication.sso"}\n}\n', "an object with events"),
])
def test_an_object_that_is_no_system_log_names_what_was_expected(org_db, tmp_path, name, text, found):
    path = SHAPES / name if text is None else write(tmp_path / name, text)
    before = content_hash(org_db, exclude=("ingests",))
    result = import_logins(org_db, path, source="okta", exit_code=1)
    assert (f"{name}:1: expected an Okta System Log: a JSON array of LogEvents, one LogEvent per line, "
            f"a single LogEvent, or an event hook's data.events; found {found}") in result.output
    assert "Traceback" not in result.output
    assert content_hash(org_db, exclude=("ingests",)) == before
    assert rows(org_db, "select file, status from ingests order by id desc limit 1") == [{"file": name, "status": "failed"}]


def test_a_problem_in_an_event_hook_delivery_names_the_events_own_line(org_db, tmp_path):
    """The delivery's events are streamed from the file, each numbered by the line its object starts on."""
    hook = json.loads((SHAPES / "okta-event-hook.json").read_text())
    third = hook["data"]["events"][2]  # raj's sign-in to Slack, the one that succeeded
    third["published"] = "the fifth of March"
    lines = json.dumps(hook, indent=2).splitlines()
    # The event's "{" is the line before its first member, "uuid".
    line = next(number for number, text in enumerate(lines, start=1) if third["uuid"] in text) - 1
    assert lines[line - 1].strip() == "{"
    result = import_logins(org_db, write(tmp_path / "hook.json", "\n".join(lines)), source="okta", exit_code=1)
    assert f"hook.json:{line}: published: " in result.output and "the fifth of March" in result.output


def test_an_object_naming_a_field_twice_is_refused(org_db, tmp_path):
    """Readers differ on which of the two values counts: neither is taken."""
    text = (SHAPES / "okta-single-logevent.json").read_text().rstrip().removesuffix("}") + ', "eventType": "user.session.start"\n}\n'
    result = import_logins(org_db, write(tmp_path / "twice.json", text), source="okta", exit_code=1)
    assert 'the field "eventType" is given twice in one object; keep one' in result.output
    assert rows(org_db, "select count(*) as n from user_activity") == [{"n": 0}]


def test_an_okta_object_cut_off_says_so(org_db, tmp_path):
    text = (SHAPES / "okta-event-hook.json").read_text()
    result = import_logins(org_db, write(tmp_path / "cut.json", text[: len(text) // 2]), source="okta", exit_code=1)
    assert "cut.json:" in result.output and "the file ends in the middle of a value" in result.output


# ---------------------------------------------------------------------------
# Again: nothing changes


@pytest.mark.parametrize("name, source", [
    ("google-activities-one-per-line.jsonl", "google"), ("okta-single-logevent.json", "okta"), ("okta-event-hook.json", "okta"),
])
def test_importing_the_same_file_twice_changes_nothing(org_db, name, source):
    import_logins(org_db, SHAPES / name, source=source)
    before = content_hash(org_db, exclude=("ingests",))
    result = import_logins(org_db, SHAPES / name, source=source)
    assert "wrote 0 person-months (0 new, 0 updated)" in result.output
    assert content_hash(org_db, exclude=("ingests",)) == before
