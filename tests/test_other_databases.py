"""No command writes into a database that is not stack-tracker's, or reads one as if it were.

A stack-tracker database carries stack-tracker's mark in its header (``PRAGMA
application_id``). Every command refuses a file without it, before anything
is created in it, unless the file is new (empty) or was written by the first
release, which did not mark its databases yet.
"""

from __future__ import annotations

import sqlite3

import pytest

from conftest import FIXTURES, free_port, rows, run, write
from stack_tracker.database.schema import APPLICATION_ID, SCHEMA_VERSION
from stack_tracker.errors import StackTrackerError
from stack_tracker.site.serve import prepare_live_database


def make_database(path, *statements: str):
    """A database as another program (or an earlier stack-tracker) leaves it."""
    connection = sqlite3.connect(path)
    with connection:
        for statement in statements:
            connection.execute(statement)
    # All of it in the file itself, none left in a write-ahead log for the next opener to fold in:
    # the tests compare the file's bytes before and after.
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    return path


def command_line(command: str, db, tmp_path) -> list:
    """``command`` run on DB, with arguments that would make it write if it went ahead."""
    return {
        "init": ["init", db],
        "ingest": ["ingest", db, "teams", write(tmp_path / "teams.csv", "team\nMarketing\n")],
        "import-logins": ["import-logins", db, FIXTURES / "logins" / "proxy-logins.csv", "--source", "csv"],
        "import-users": ["import-users", db, write(tmp_path / "users.csv", "email,last login\na@example.com,2026-03-01\n"),
                         "--tool", "Slack", "--as-of", "2026-03-31", "--allow-new"],
        "report": ["report", db, "adoption"],
        "summary": ["summary", db],
        "check": ["check", db, "--repair"],
        "backup": ["backup", db, tmp_path / "copy.db"],
        "publish": ["publish", db, tmp_path / "site"],
        "serve": ["serve", db, "--port", free_port()],
        "calendar": ["calendar", db, "-o", tmp_path / "renewals.ics"],
        "remind": ["remind", db, "--webhook", f"http://127.0.0.1:{free_port()}/hook"],
    }[command]


@pytest.fixture
def not_served(monkeypatch):
    """`serve` must stop before Datasette starts: starting it fails the test instead of serving."""
    monkeypatch.setattr("stack_tracker.site.serve._run", lambda command: pytest.fail(f"served: {command}"))


@pytest.mark.parametrize("command", [
    "init", "ingest", "import-logins", "import-users", "report", "summary", "check", "backup", "publish", "serve",
    "calendar", "remind",
])
def test_every_command_refuses_another_programs_database_and_writes_nothing(command, tmp_path, not_served):
    # Another program's database that happens to have a table called teams (and one called tools).
    other = make_database(tmp_path / "crm.db", "create table teams (id integer primary key, name text)",
                          "create table tools (id integer primary key, name text)",
                          "insert into teams (name) values ('Sales')")
    args = command_line(command, other, tmp_path)
    before, files = other.read_bytes(), sorted(tmp_path.iterdir())
    result = run(*args, exit_code=1)
    # (serve says what it is about to serve first.)
    assert result.output.removeprefix(f"Serving {other} at http://127.0.0.1:{args[-1]}/ (Ctrl-C to stop)\n") == (
        f"Error: {other} is not a stack-tracker database (it has no stack-tracker mark and lacks 10 of "
        f"stack-tracker's tables: ingests, capabilities, tool_aliases, …): give a new file name to create one\n"
    )
    assert other.read_bytes() == before
    assert sorted(tmp_path.iterdir()) == files  # no copy, no site, no key file, no journal


@pytest.mark.parametrize("statements, reason", [
    (["create table teams (slug text primary key, name text)", "PRAGMA user_version = 1"],
     "it has no stack-tracker mark and lacks 11 of stack-tracker's tables: ingests, capabilities, tools, …"),
    (["create table teams (slug text primary key, name text)", "PRAGMA user_version = 42"],
     "it has no stack-tracker mark and lacks 11 of stack-tracker's tables: ingests, capabilities, tools, …"),
    (["create table tools (slug text primary key)", "PRAGMA application_id = 1196444487"],
     "it is marked as another program's: application id 0x47504b47"),
    (["create table recipes (name text)"], "it has tables, none of them stack-tracker's"),
    (["PRAGMA user_version = 7"], "it has no tables, but another program's schema version: 7"),
], ids=["teams table alone", "another program's user_version", "another program's mark", "no table of ours",
        "empty but versioned"])
def test_only_a_marked_new_or_first_release_database_is_taken(statements, reason, tmp_path):
    other = make_database(tmp_path / "other.db", *statements)
    before = other.read_bytes()
    result = run("ingest", other, "teams", write(tmp_path / "teams.csv", "team\nMarketing\n"), exit_code=1)
    assert result.output == f"Error: {other} is not a stack-tracker database ({reason}): give a new file name to create one\n"
    assert other.read_bytes() == before


def test_a_new_database_is_marked_as_stack_trackers(tmp_path):
    path = tmp_path / "stack.db"
    run("init", path, "--silent")
    assert rows(path, "select * from pragma_application_id") == [{"application_id": APPLICATION_ID}]
    assert APPLICATION_ID.to_bytes(4, "big") == b"STKT"
    # An empty file is a new database too, ready to be created in.
    empty = tmp_path / "empty.db"
    empty.touch()
    run("init", empty, "--silent")
    assert rows(empty, "select * from pragma_application_id") == [{"application_id": APPLICATION_ID}]


def test_a_database_of_the_first_release_is_used_and_marked_once_written(db_path, tmp_path):
    # The first release recorded its schema version, every table, and no mark.
    make_database(db_path, "PRAGMA application_id = 0")
    assert "ok: stack.db" in run("check", db_path).output
    run("backup", db_path, tmp_path / "copy.db", "--silent")
    # Commands that only read leave it as it is; the first that writes marks it.
    assert rows(db_path, "select * from pragma_application_id") == [{"application_id": 0}]
    run("ingest", db_path, "teams", write(tmp_path / "teams.csv", "team\nMarketing\n"), "--silent")
    assert rows(db_path, "select * from pragma_application_id") == [{"application_id": APPLICATION_ID}]
    assert rows(db_path, "select slug from teams") == [{"slug": "marketing"}]


def test_a_first_release_database_missing_a_table_is_not_taken_for_one(db_path, tmp_path):
    make_database(db_path, "PRAGMA application_id = 0", "drop table user_activity_days")
    before = db_path.read_bytes()
    result = run("ingest", db_path, "teams", write(tmp_path / "teams.csv", "team\nMarketing\n"), exit_code=1)
    assert result.output == (
        f"Error: {db_path} is not a stack-tracker database (it has no stack-tracker mark and lacks 1 of "
        f"stack-tracker's tables: user_activity_days): give a new file name to create one\n"
    )
    assert db_path.read_bytes() == before


def test_serve_refuses_a_database_of_a_newer_version_and_writes_nothing(db_path, not_served):
    make_database(db_path, "PRAGMA user_version = 99")
    before = db_path.read_bytes()
    port = free_port()
    result = run("serve", db_path, "--port", port, exit_code=1)
    assert result.output == (
        f"Serving {db_path} at http://127.0.0.1:{port}/ (Ctrl-C to stop)\n"
        f"Error: {db_path} was written by a newer stack-tracker (schema version 99; this one knows up to {SCHEMA_VERSION}): "
        f"upgrade stack-tracker to use it\n"
    )
    assert db_path.read_bytes() == before
    assert rows(db_path, "select count(*) as n from sqlite_master where name like '%_fts%'") == [{"n": 0}]


def test_a_missing_database_is_an_error_and_no_command_creates_it(tmp_path):
    nowhere = tmp_path / "nowhere"
    nowhere.mkdir()
    missing = nowhere / "missing.db"
    with pytest.raises(StackTrackerError, match="no such database"):
        prepare_live_database(missing)
    for command in ("ingest", "import-logins", "import-users", "report", "summary", "check", "backup", "publish", "serve"):
        result = run(*command_line(command, missing, tmp_path), exit_code=2)
        assert "Error: Invalid value for 'DB" in result.output and "does not exist" in result.output
    assert list(nowhere.iterdir()) == []
    assert sorted(path.name for path in tmp_path.iterdir()) == ["nowhere", "teams.csv", "users.csv"]
