"""stack-tracker backup: a consistent, checked copy, also while the database is in use."""

from __future__ import annotations

import os
import pty
import sqlite3
import subprocess
import sys
import time

import pytest

from conftest import content_hash, read_position, rows, run, write
from stack_tracker import maintenance
from stack_tracker.database import DatabaseFileError, open_existing
from stack_tracker.maintenance import backup


def usage_file(path, months: int, *, first_month: int = 0):
    """Both teams' use of both tools of ``org_db``, for ``months`` months from January 2020."""
    lines = ["team,tool,period,seats,active users"]
    for month in range(first_month, first_month + months):
        period = f"{2020 + month // 12}-{month % 12 + 1:02d}"
        for team in ("Marketing", "Demand Gen"):
            for tool in ("HubSpot Marketing Hub", "Salesforce Sales Cloud"):
                lines.append(f"{team},{tool},{period},{10 + month % 5},{month % 9}")
    return write(path, "\n".join(lines) + "\n")


@pytest.fixture
def stack_db(org_db, tmp_path):
    run("ingest", org_db, "usage", usage_file(tmp_path / "usage.csv", 12), "--silent")
    return org_db


def integrity(path) -> str:
    connection = sqlite3.connect(path)
    try:
        return connection.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        connection.close()


def test_backup_writes_a_checked_copy_in_one_file(stack_db, tmp_path):
    target = tmp_path / "backups" / "stack-2026-03-31.db"
    target.parent.mkdir()
    result = run("backup", stack_db, target)
    assert f"Backed up stack.db to {target} (" in result.output
    assert integrity(target) == "ok"
    assert content_hash(target) == content_hash(stack_db)
    # One self-contained file: no write-ahead log to carry along, nothing left behind.
    connection = sqlite3.connect(target)
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    connection.close()
    assert sorted(path.name for path in target.parent.iterdir()) == ["stack-2026-03-31.db"]
    # Not a terminal: no progress bar.
    assert "%" not in result.output


def test_backup_refuses_to_overwrite_a_file_unless_forced(stack_db, tmp_path):
    target = write(tmp_path / "precious.txt", "not a backup")
    result = run("backup", stack_db, target, exit_code=1)
    assert f"Error: {target} exists: pass --force to replace it" in result.output
    assert target.read_text() == "not a backup"
    run("backup", stack_db, target, "--force", "--silent")
    assert content_hash(target) == content_hash(stack_db)


def test_backup_refuses_to_copy_the_database_onto_itself(stack_db, tmp_path):
    before = content_hash(stack_db)
    for spelling in (stack_db, tmp_path / "." / stack_db.name, tmp_path / "sub" / ".." / stack_db.name):
        result = run("backup", stack_db, spelling, "--force", exit_code=1)
        assert "is the database itself: give the backup another name" in result.output
    os.link(stack_db, tmp_path / "hard-link.db")
    result = run("backup", stack_db, tmp_path / "hard-link.db", "--force", exit_code=1)
    assert "is the database itself" in result.output
    # Nor onto the files that go with it: its write-ahead log, or the key that pseudonymises people.
    for companion in ("stack.db-wal", "stack.db-shm", "stack.db.key"):
        result = run("backup", stack_db, tmp_path / companion, "--force", exit_code=1)
        assert f"{tmp_path / companion} belongs to the database stack.db: give the backup another name" in result.output
    assert content_hash(stack_db) == before


def test_backup_while_another_process_ingests_is_the_state_before_or_after(stack_db, tmp_path):
    # 48,000 rows, a few seconds' work: 80 teams (new ones: --allow-new), 2 tools, 25 years.
    lines = ["team,tool,period,seats,active users"]
    for month in range(300):
        for team in range(80):
            for tool in ("HubSpot Marketing Hub", "Salesforce Sales Cloud"):
                lines.append(f"Team {team},{tool},{1990 + month // 12}-{month % 12 + 1:02d},10,{team % 9}")
    big = write(tmp_path / "big.csv", "\n".join(lines) + "\n")
    before = content_hash(stack_db)
    ingest = subprocess.Popen(
        [sys.executable, "-m", "stack_tracker", "ingest", str(stack_db), "usage", str(big), "--allow-new", "--silent"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    # Once the ingest reads its file it holds the write lock and has rows in its open transaction.
    while ingest.poll() is None and (read_position(ingest, big) or 0) < big.stat().st_size // 10:
        time.sleep(0.005)
    copies = []
    while ingest.poll() is None and len(copies) < 3:
        copies.append(tmp_path / f"copy-{len(copies)}.db")
        run("backup", stack_db, copies[-1], "--silent")
    assert ingest.wait(timeout=120) == 0, ingest.communicate()
    after = content_hash(stack_db)
    assert before != after
    assert copies, "the ingest ended before a backup could run beside it"
    for copy in copies:
        assert integrity(copy) == "ok"
        assert content_hash(copy) in (before, after)
    # The first copy was taken while the ingest had not committed: the state before.
    assert content_hash(copies[0]) == before


def test_a_writer_committing_between_steps_cannot_hold_a_backup_up_for_ever(stack_db, tmp_path):
    """Each commit by another connection restarts a stepped copy; after a few, it finishes in one step."""
    writer = sqlite3.connect(stack_db, isolation_level=None)
    commits = []

    def commit_something(done: int, total: int) -> None:
        writer.execute("insert into settings (key, value) values (?, 'x')", [f"step {len(commits)}"])
        commits.append(done)

    result = backup(open_existing(stack_db), tmp_path / "copy.db", pages_per_step=2, progress=commit_something)
    writer.close()
    # Restarted by every commit, then finished in one step: not a step more.
    assert maintenance.BACKUP_MAX_RESTARTS < len(commits) <= maintenance.BACKUP_MAX_RESTARTS + 2
    assert commits[-1] == result.pages
    assert integrity(tmp_path / "copy.db") == "ok"
    copied = rows(tmp_path / "copy.db", "select count(*) as n from settings where key like 'step %'")[0]["n"]
    assert maintenance.BACKUP_MAX_RESTARTS <= copied <= len(commits)


def test_backup_reports_progress_in_steps(stack_db, tmp_path):
    steps = []
    result = backup(open_existing(stack_db), tmp_path / "copy.db", pages_per_step=4,
                    progress=lambda done, total: steps.append((done, total)))
    assert len(steps) == -(-result.pages // 4)
    assert steps == sorted(steps) and steps[-1] == (result.pages, result.pages)


def test_backup_says_the_key_file_is_not_in_it(stack_db, tmp_path):
    write(stack_db.with_name("stack.db.key"), "00" * 32)
    result = run("backup", stack_db, tmp_path / "copy.db")
    assert "warning: stack.db.key, the key that pseudonymises people, is not in the backup" in result.output
    assert not (tmp_path / "copy.db.key").exists()


def test_backup_of_a_damaged_database_fails_and_leaves_no_file(stack_db, tmp_path):
    damaged = tmp_path / "damaged.db"
    run("backup", stack_db, damaged, "--silent")
    with damaged.open("r+b") as file:
        file.seek(damaged.stat().st_size // 2)
        file.write(b"\xff" * 4096)
    out = tmp_path / "out"
    out.mkdir()
    result = run("backup", damaged, out / "copy.db", exit_code=1)
    assert "Error: " in result.output and "damaged" in result.output and "Traceback" not in result.output
    assert list(out.iterdir()) == []


def test_backup_refuses_a_file_that_is_not_a_database(tmp_path):
    notes = write(tmp_path / "notes.db", "these are my notes, not a database\n" * 100)
    result = run("backup", notes, tmp_path / "copy.db", exit_code=1)
    assert f"Error: {notes} is not a SQLite database" in result.output
    assert not (tmp_path / "copy.db").exists()
    with pytest.raises(DatabaseFileError, match="no such database"):
        open_existing(tmp_path / "missing.db")


def test_progress_bar_shows_on_a_terminal_only(stack_db, tmp_path):
    def on_a_terminal(*args: str) -> str:
        leader, follower = pty.openpty()
        command = [sys.executable, "-m", "stack_tracker", "backup", str(stack_db), *args]
        process = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=follower, stderr=follower, timeout=60)
        os.close(follower)
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closed
                break
            if not chunk:
                break
            shown += chunk
        os.close(leader)
        assert process.returncode == 0, shown
        return shown.decode()

    shown = on_a_terminal(str(tmp_path / "copy.db"))
    assert "stack.db  [" in shown and "100%" in shown and "Backed up stack.db to" in shown
    assert on_a_terminal(str(tmp_path / "quiet.db"), "--silent") == ""
