"""stack-tracker import-logins --source entra: interactive and non-interactive sign-ins add up.

Entra ID keeps a person's interactive sign-ins (a password, an MFA prompt)
apart from the non-interactive ones (a client renewing its token for them),
and the admin center downloads the two logs as two files. Both are the person
using the application, so files of the two logs for the same days add up,
while two files of one log covering the same day keep the larger count (the
later export of a log sees at least what the earlier one saw).

Which log a sign-in is in: the Azure Monitor record's ``category``; else its
``isInteractive`` or ``signInEventTypes`` (Graph's beta API); else a table's
``Category`` or ``IsInteractive`` column (a Log Analytics export); else the
file's name ("NonInteractiveSignIns_…" is the non-interactive log).

The files here are written in the admin center's JSON download shape (an
array of Graph signIn objects, which do not say which log they are in) and its
CSV shape. Everyone is jane, in team demand-gen; the application is Slack.

    interactive:      2024-03-04 09:00, 09:30; 2024-03-06 11:00          3 sign-ins
    non-interactive:  2024-03-04 10:00, 11:00, 12:00; 2024-03-05 08:00   4 sign-ins

Added up, jane's March on Slack: days 03-04, 03-05, 03-06 = 3 active days,
3 + 4 = 7 sign-ins, last seen 2024-03-06 11:00. Either log alone: 2 days.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from conftest import content_hash, rows, run, write

DIRECTORY = Path(__file__).parent / "fixtures" / "logins" / "directory.csv"
INTERACTIVE = ["2024-03-04T09:00:00Z", "2024-03-04T09:30:00Z", "2024-03-06T11:00:00Z"]
NON_INTERACTIVE = ["2024-03-04T10:00:00Z", "2024-03-04T11:00:00Z", "2024-03-04T12:00:00Z", "2024-03-05T08:00:00Z"]
#: (active days, sign-ins, last seen) of jane's March on Slack
BOTH = (3, 7, "2024-03-06T11:00:00Z")
INTERACTIVE_ONLY = (2, 3, "2024-03-06T11:00:00Z")
NON_INTERACTIVE_ONLY = (2, 4, "2024-03-05T08:00:00Z")


@pytest.fixture(autouse=True)
def key_from_the_key_file(monkeypatch):
    monkeypatch.delenv("STACK_TRACKER_SECRET", raising=False)


def import_logins(db_path: Path, *paths: Path, exit_code: int = 0):
    return run("import-logins", db_path, *paths, "--source", "entra", "--directory", DIRECTORY, exit_code=exit_code)


def sign_in(time: str, **more) -> dict:
    """A Graph signIn of jane's to Slack at ``time``, as the admin center's JSON download has it."""
    return {"id": f"id-{time}", "createdDateTime": time, "userPrincipalName": "jane.doe@example.com",
            "appDisplayName": "Slack", "status": {"errorCode": 0}} | more


def download(path: Path, times: list[str], **more) -> Path:
    return write(path, json.dumps([sign_in(time, **more) for time in times], indent=2))


def csv_download(path: Path, times: list[str], extra: tuple[str, str] | None = None) -> Path:
    """The admin center's CSV download (a few of its columns), with an ``extra`` (column, value) a Log Analytics export has."""
    header = "Date (UTC),Request ID,User,Username,Application,Status,Sign-in error code"
    lines = [header + (f",{extra[0]}" if extra else "")]
    for time in times:
        lines.append(f"{time},req-{time},Jane Doe,jane.doe@example.com,Slack,Success,0" + (f",{extra[1]}" if extra else ""))
    return write(path, "\n".join(lines) + "\n")


def march(db_path: Path) -> tuple:
    found = rows(db_path, "select active_days, events, last_seen from user_activity where tool = 'slack' and period = '2024-03'")
    return tuple(found[0].values()) if found else ()


def days(db_path: Path) -> list[tuple]:
    return [tuple(row.values()) for row in rows(db_path, "select day, log, events from user_activity_days order by day, log")]


def test_the_two_downloads_for_the_same_days_add_up(org_db, tmp_path):
    interactive = download(tmp_path / "InteractiveSignIns_2024-03-04_2024-03-06.json", INTERACTIVE)
    non_interactive = download(tmp_path / "NonInteractiveSignIns_2024-03-04_2024-03-06.json", NON_INTERACTIVE)
    result = import_logins(org_db, interactive)
    assert "InteractiveSignIns_2024-03-04_2024-03-06.json: 3 successful sign-ins by 1 person" in result.output
    assert march(org_db) == INTERACTIVE_ONLY
    result = import_logins(org_db, non_interactive)
    assert ("NonInteractiveSignIns_2024-03-04_2024-03-06.json: 4 successful sign-ins (4 non-interactive) by 1 person to 1 tool, "
            "2024-03; wrote 1 person-months (0 new, 1 updated)") in result.output
    assert march(org_db) == BOTH
    assert days(org_db) == [
        ("2024-03-04", "non-interactive sign-ins", 3), ("2024-03-04", "sign-ins", 2),
        ("2024-03-05", "non-interactive sign-ins", 1), ("2024-03-06", "sign-ins", 1),
    ]
    # Measured usage counts jane once, with every sign-in.
    assert rows(org_db, "select team, active_users, sessions from usage where tool = 'slack' and source = 'sso'") == [
        {"team": "demand-gen", "active_users": 1, "sessions": 7}
    ]


def test_importing_either_again_in_any_order_changes_nothing(org_db, tmp_path):
    interactive = download(tmp_path / "InteractiveSignIns.json", INTERACTIVE)
    non_interactive = download(tmp_path / "NonInteractiveSignIns.json", NON_INTERACTIVE)
    import_logins(org_db, non_interactive, interactive)
    assert march(org_db) == BOTH
    before = content_hash(org_db, exclude=("ingests",))
    result = import_logins(org_db, interactive, non_interactive, interactive)
    assert result.output.count("wrote 0 person-months (0 new, 0 updated)") == 3
    assert content_hash(org_db, exclude=("ingests",)) == before


def test_two_exports_of_one_log_that_overlap_keep_the_larger_day(org_db, tmp_path):
    """A later export of the interactive log sees 03-04 whole; the earlier one saw only its first sign-in."""
    import_logins(org_db, download(tmp_path / "signins-early.json", INTERACTIVE[:1]))
    import_logins(org_db, download(tmp_path / "signins-late.json", INTERACTIVE))
    assert march(org_db) == INTERACTIVE_ONLY


def test_the_csv_downloads_add_up_too(org_db, tmp_path):
    import_logins(org_db, csv_download(tmp_path / "InteractiveSignIns_2024-03-04_2024-03-06.csv", INTERACTIVE))
    import_logins(org_db, csv_download(tmp_path / "NonInteractiveSignIns_2024-03-04_2024-03-06.csv", NON_INTERACTIVE))
    assert march(org_db) == BOTH


@pytest.mark.parametrize("column, interactive, non_interactive", [
    ("Category", "SignInLogs", "NonInteractiveUserSignInLogs"),
    ("IsInteractive", "true", "false"),
])
def test_a_log_analytics_export_says_which_log_in_a_column(org_db, tmp_path, column, interactive, non_interactive):
    """Files named alike: the column decides. Two files of the two logs add up; each imported twice changes nothing."""
    first = csv_download(tmp_path / "query-1.csv", INTERACTIVE, (column, interactive))
    second = csv_download(tmp_path / "query-2.csv", NON_INTERACTIVE, (column, non_interactive))
    import_logins(org_db, first, second, first, second)
    assert march(org_db) == BOTH


def test_a_log_analytics_query_of_both_tables_as_one_csv(org_db, tmp_path):
    """SigninLogs and AADNonInteractiveUserSignInLogs queried together, with Log Analytics' own column names;
    one failure (ResultType 50126, a wrong password) left out."""
    lines = ["TimeGenerated [UTC],UserPrincipalName,AppDisplayName,ResultType,Category"]
    lines += [f"{time},jane.doe@example.com,Slack,0,SignInLogs" for time in INTERACTIVE]
    lines += [f"{time},jane.doe@example.com,Slack,0,NonInteractiveUserSignInLogs" for time in NON_INTERACTIVE]
    lines.append("2024-03-07T09:00:00Z,jane.doe@example.com,Slack,50126,SignInLogs")
    result = import_logins(org_db, write(tmp_path / "query_data.csv", "\n".join(lines) + "\n"))
    assert "query_data.csv: 7 successful sign-ins (4 non-interactive) by 1 person" in result.output
    assert "not counted: 1 failed or interrupted sign-ins" in result.output
    assert march(org_db) == BOTH


@pytest.mark.parametrize("says", [{"isInteractive": False}, {"signInEventTypes": ["nonInteractiveUser"]}])
def test_a_graph_beta_sign_in_says_which_log_itself(org_db, tmp_path, says):
    import_logins(org_db, download(tmp_path / "signins-a.json", INTERACTIVE, isInteractive=True))
    import_logins(org_db, download(tmp_path / "signins-b.json", NON_INTERACTIVE, **says))
    assert march(org_db) == BOTH


def test_without_a_sign_of_either_log_two_files_are_one_log(org_db, tmp_path):
    """Nothing says the second file is the non-interactive log: its days are taken for the same log's, the larger kept.

    03-04: 2 interactive, 3 as the same log → 3; 03-05: 1; 03-06: 1. So 3 days, 5 sign-ins.
    """
    import_logins(org_db, download(tmp_path / "signins-a.json", INTERACTIVE))
    import_logins(org_db, download(tmp_path / "signins-b.json", NON_INTERACTIVE))
    assert march(org_db) == (3, 5, "2024-03-06T11:00:00Z")


def test_one_file_of_both_logs_counts_a_day_once(org_db, tmp_path):
    """Azure Monitor records of both categories in one file, as Log Analytics' SigninLogs and
    AADNonInteractiveUserSignInLogs are exported together."""
    records = [{"time": time, "category": category, "resultType": "0",
                "properties": sign_in(time) | {"isInteractive": category == "SignInLogs"}}
               for times, category in ((INTERACTIVE, "SignInLogs"), (NON_INTERACTIVE, "NonInteractiveUserSignInLogs"))
               for time in times]
    path = write(tmp_path / "PT1H.json", "".join(json.dumps(item) + "\n" for item in records))
    result = import_logins(org_db, path)
    assert "PT1H.json: 7 successful sign-ins (4 non-interactive) by 1 person to 1 tool" in result.output
    assert march(org_db) == BOTH


def test_a_database_of_the_first_schema_keeps_its_days_as_the_sign_in_log(org_db, tmp_path):
    """A database written before days had a log: its days are the (interactive) sign-in log's after the upgrade."""
    import_logins(org_db, download(tmp_path / "signins.json", INTERACTIVE))
    with sqlite3.connect(org_db) as connection:  # the first schema's table, as that version wrote it
        connection.executescript("""
            create table old_days as select tool, user_key, day, events, last_seen, ingest_id from user_activity_days;
            drop table user_activity_days;
            create table user_activity_days (tool text references tools(slug), user_key text, day text,
                events integer not null, last_seen text, ingest_id integer references ingests(id),
                primary key (tool, user_key, day));
            insert into user_activity_days select * from old_days;
            drop table old_days;
            pragma user_version = 1;
        """)
    connection.close()
    import_logins(org_db, download(tmp_path / "NonInteractiveSignIns.json", NON_INTERACTIVE))
    assert march(org_db) == BOTH
    assert rows(org_db, "select count(*) as n from user_activity_days where log = 'sign-ins'") == [{"n": 2}]
    assert rows(org_db, "pragma user_version") == [{"user_version": 2}]
