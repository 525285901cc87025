"""stack-tracker import-activity: a warehouse's per-person-day roll-up counts as the log itself would.

The roll-up is the DuckDB query of docs/scale.md, run for real on the hand-written
Okta fixture (failures, other events, events without a user or an application, an
application the inventory lacks, a person in two teams of the directory) and on a
generated Okta log; importing its output must give the rows `import-logins` gives
for the raw log. The keyed hash is computed in SQL with the padded keys the document's
Python snippet prints.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import rows, run, write
from stack_tracker.generate import DIRECTORY_FILE, INGEST_ORDER, LOG_FILE, generate

duckdb = pytest.importorskip("duckdb")  # the 'scale' extra, which the 'test' extra installs

ROOT = Path(__file__).resolve().parent.parent
LOGINS = Path(__file__).parent / "fixtures" / "logins"
SCALE = (ROOT / "docs" / "scale.md").read_text(encoding="utf-8")
SECRET = "a-secret-for-the-activity-tests-0123"
TABLES = {
    "user_activity": "select tool, user_key, period, team, active_days, events, last_seen, source from user_activity",
    "user_activity_days": "select tool, user_key, day, log, events, last_seen from user_activity_days",
    "usage": "select team, tool, period, source, active_users, sessions from usage where source = 'sso'",
    "people": "select user_key, team, status, left_on from people",
    "tools": "select slug, name, status from tools",
}


@pytest.fixture(autouse=True)
def secret(monkeypatch):
    monkeypatch.setenv("STACK_TRACKER_SECRET", SECRET)


def pads() -> tuple[str, str]:
    """The padded keys, from the Python snippet docs/scale.md gives (run as written, with the secret in the environment)."""
    snippet = re.search(r"```bash\npython3 - stack\.db\.key <<'EOF'\n(.*?)\nEOF\n```", SCALE, re.DOTALL)[1]
    output = subprocess.run([sys.executable, "-", "no-key-file"], input=snippet, capture_output=True, text=True, check=True,
                            env=dict(os.environ, STACK_TRACKER_SECRET=SECRET)).stdout
    found = dict(line.split() for line in output.splitlines())
    return found["ipad"], found["opad"]


def duckdb_okta_query() -> str:
    """The DuckDB roll-up of an Okta System Log, as docs/scale.md gives it."""
    return re.search(r"```sql\n(-- duckdb: okta\n.*?)```", SCALE, re.DOTALL)[1]


def roll_up(log: Path, target: Path) -> Path:
    """Run the document's DuckDB query on ``log``, writing ``target`` (Parquet or CSV, by its extension)."""
    ipad, opad = pads()
    connection = duckdb.connect()
    connection.execute("set variable log = ?", [str(log)])
    connection.execute("set variable ipad = ?", [ipad])
    connection.execute("set variable opad = ?", [opad])
    options = "(format parquet)" if target.suffix == ".parquet" else "(header)"
    connection.execute(f"copy ({duckdb_okta_query()}) to '{target}' {options}")
    connection.close()
    return target


def contents(db_path: Path) -> dict[str, list[tuple]]:
    connection = sqlite3.connect(db_path)
    found = {name: sorted(connection.execute(sql).fetchall()) for name, sql in TABLES.items()}
    connection.close()
    return found


def twin(db_path: Path, tmp_path: Path) -> Path:
    """A copy of the database, for importing the same sign-ins another way."""
    copy = tmp_path / f"twin-{len(list(tmp_path.glob('twin-*.db')))}.db"
    connection = sqlite3.connect(db_path)
    connection.execute("vacuum into ?", [str(copy)])  # the rows still in the write-ahead log too
    connection.close()
    return copy


def test_the_duckdb_roll_up_of_the_okta_fixture_imports_as_the_log_does(org_db, tmp_path):
    other = twin(org_db, tmp_path)
    logged = run("import-logins", org_db, LOGINS / "okta-system-log.jsonl", "--source", "okta",
                 "--directory", LOGINS / "directory.csv").output
    rolled = roll_up(LOGINS / "okta-system-log.jsonl", tmp_path / "activity.csv")
    imported = run("import-activity", other, rolled, "--directory", LOGINS / "directory.csv").output
    assert "activity.csv: 7 successful sign-ins by 4 people to 3 tools, 2024-03 to 2024-04; wrote 6 person-months" in imported
    assert "created 1 unreviewed tool" in imported and "created 1 unreviewed tool" in logged
    assert contents(other) == contents(org_db)
    # Importing the file again changes nothing.
    again = run("import-activity", other, rolled, "--directory", LOGINS / "directory.csv").output
    assert "wrote 0 person-months" in again
    assert contents(other) == contents(org_db)
    assert rows(other, "select kind, status from ingests order by id desc limit 1") == [{"kind": "activity", "status": "ok"}]


def test_leavers_sign_ins_after_they_left_are_flagged_alike(org_db, tmp_path):
    directory = write(tmp_path / "people.csv", "Email,Login,Department,Status,Left on\n"
                      "jane.doe@example.com,jdoe,Demand Gen,active,\n"
                      "Raj.Patel@Example.com,rpatel,Marketing,leaver,2024-03-01\n"
                      "li.wei@example.com,lwei,Demand Gen,,\n")
    other = twin(org_db, tmp_path)
    logged = run("import-logins", org_db, LOGINS / "okta-system-log.jsonl", "--source", "okta", "--directory", directory).output
    rolled = roll_up(LOGINS / "okta-system-log.jsonl", tmp_path / "activity.parquet")
    imported = run("import-activity", other, rolled, "--directory", directory).output
    flagged = "1 sign-in by 1 person after they left: their accounts are still open"
    assert flagged in logged and flagged in imported
    assert contents(other) == contents(org_db)
    assert len(contents(other)["people"]) == 3


def test_a_generated_okta_log_rolled_up_in_duckdb_imports_as_the_raw_log(tmp_path):
    files = generate(tmp_path / "org", teams=5, tools=20, months=2, users=60, events=8000, seed=4).outdir
    first = tmp_path / "logins.db"
    run("init", first, "--silent")
    for kind, name, allow_new in INGEST_ORDER:
        run("ingest", first, kind, files / name, *(["--allow-new"] if allow_new else []), "--silent")
    second, third = twin(first, tmp_path), twin(first, tmp_path)
    run("import-logins", first, files / LOG_FILE, "--source", "okta", "--directory", files / DIRECTORY_FILE)
    for database, suffix in ((second, ".parquet"), (third, ".csv")):
        rolled = roll_up(files / LOG_FILE, tmp_path / f"activity{suffix}")
        run("import-activity", database, rolled, "--directory", files / DIRECTORY_FILE)
        assert contents(database) == contents(first), suffix
    assert len(contents(first)["user_activity"]) > 100


def test_raw_identities_are_refused_and_never_echoed(org_db, tmp_path):
    path = write(tmp_path / "activity.csv", "user_key,application,date,sign_ins\n"
                 "jane.doe@example.com,Salesforce,2024-03-04,2\n"
                 f"{'a' * 64},Salesforce,2024-13-04,2\n"
                 f"{'b' * 64},Salesforce,2024-03-04,many\n"
                 f"{'c' * 64},,2024-03-04,1\n")
    result = run("import-activity", org_db, path, exit_code=1)
    assert "jane.doe" not in result.output
    assert "activity.csv:2: person_key: an email address (not shown): expected a user_key: the 64 hex digits of the keyed " \
        "hash" in result.output
    assert 'activity.csv:3: day: "2024-13-04"' in result.output
    assert 'activity.csv:4: events: "many": expected a whole number of sign-ins' in result.output
    assert "activity.csv:5: tool: (empty): a value is required" in result.output
    assert rows(org_db, "select count(*) as n from user_activity") == [{"n": 0}]
    assert rows(org_db, "select status from ingests where kind = 'activity'") == [{"status": "failed"}]


def test_a_file_without_the_columns_says_which_it_needs(org_db, tmp_path):
    result = run("import-activity", org_db, write(tmp_path / "activity.csv", "who,what\nx,y\n"), exit_code=1)
    assert "activity.csv:1: person_key: (empty): required column not found (accepted headers: person_key, user_key" in result.output
    assert "activity.csv:1: events: (empty): required column not found" in result.output


def test_without_duckdb_a_parquet_file_names_the_extra(org_db, tmp_path, monkeypatch):
    rolled = roll_up(LOGINS / "okta-system-log.jsonl", tmp_path / "activity.parquet")
    monkeypatch.setitem(sys.modules, "duckdb", None)  # as if the extra were not installed: importing it fails
    result = run("import-activity", org_db, rolled, exit_code=1)
    assert "Error: activity.parquet: reading Parquet needs DuckDB, an optional extra: pip install 'stack-tracker[scale]'" \
        in result.output


def test_keys_made_with_another_secret_match_nobody_and_say_so(org_db, tmp_path, monkeypatch):
    rolled = roll_up(LOGINS / "okta-system-log.jsonl", tmp_path / "activity.csv")
    monkeypatch.setenv("STACK_TRACKER_SECRET", "not-the-secret-the-warehouse-used-0123")
    result = run("import-activity", org_db, rolled, "--directory", LOGINS / "directory.csv")
    assert "warning: no person key matched anyone in directory.csv: were the keys computed with this database's key" \
        in result.output
    assert rows(org_db, "select distinct team from user_activity") == [{"team": "unassigned"}]
