"""The database never loses data and is never corrupted: not when an ingest is
killed half-way, not when two commands write at once, not for a reader
watching while an ingest runs.

Ingests run as real processes (``python -m stack_tracker``) on a usage file
large enough to take a few seconds; where a process has got to is read from
``/proc`` (how far it has read the file), so that every kill lands where the
test says it does.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest

from conftest import content_hash, fetch, free_port, read_position, rows, run, serving, write
from stack_tracker.database import connection, open_database

TEAMS = 20
TOOLS = 50
PAIRS = TEAMS * TOOLS  # usage rows per month


def write_usage(path: Path, count: int, *, first_month: int) -> Path:
    """``count`` usage rows, one per team, tool and month, months counted from January 2000."""
    with path.open("w", encoding="utf-8") as file:
        file.write("team,tool,period,seats,active users\n")
        for index in range(count):
            month = first_month + index // PAIRS
            file.write(
                f"Team {index % TEAMS},Tool {index // TEAMS % TOOLS},{2000 + month // 12}-{month % 12 + 1:02d},"
                f"{10 + index % 7},{index % 11}\n"
            )
    return path


@pytest.fixture(scope="module")
def base_db(tmp_path_factory) -> Path:
    """Teams, tools and two months of usage: the state every test starts from (copy it first)."""
    folder = tmp_path_factory.mktemp("base")
    path = folder / "stack.db"
    run("init", path, "--silent")
    run("ingest", path, "teams", write(folder / "teams.csv", "team\n" + "".join(f"Team {i}\n" for i in range(TEAMS))), "--silent")
    run("ingest", path, "tools", write(folder / "tools.csv", "tool\n" + "".join(f"Tool {i}\n" for i in range(TOOLS))), "--silent")
    run("ingest", path, "usage", write_usage(folder / "usage.csv", 2 * PAIRS, first_month=0), "--silent")
    return path


def copy_database(source: Path, target: Path) -> Path:
    """A copy of ``source`` with everything committed in it (its WAL folded in)."""
    with sqlite3.connect(source) as original, sqlite3.connect(target) as copy:
        original.backup(copy)
    original.close()
    copy.close()
    return target


@pytest.fixture
def db(base_db, tmp_path) -> Path:
    return copy_database(base_db, tmp_path / "stack.db")


def start_ingest(db: Path, usage_file: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "stack_tracker", "ingest", str(db), "usage", str(usage_file), "--silent"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def wait_for(process: subprocess.Popen, condition, what: str, timeout: float = 60) -> None:
    """Poll ``condition()`` until true; fail if the process ends first."""
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            pytest.fail(f"the ingest ended before {what}: {process.communicate()}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting until {what}")
        time.sleep(0.005)


def wait_until_read(process: subprocess.Popen, path: Path, fraction: float) -> int:
    """Wait until ``process`` has read ``fraction`` of ``path`` and still has it open; return the position."""
    size = path.stat().st_size
    seen = []

    def far_enough() -> bool:
        position = read_position(process, path)
        seen.append(position)
        return position is not None and position >= fraction * size

    wait_for(process, far_enough, f"{fraction:.0%} of {path.name} was read")
    return seen[-1]


def wait_until_whole_file_read(process: subprocess.Popen, path: Path) -> None:
    """Wait until ``process`` has opened ``path``, read it all and closed it: it is past the rows,
    rebuilding the report tables in the same transaction."""
    wait_for(process, lambda: read_position(process, path) is not None, f"{path.name} was opened")
    wait_for(process, lambda: read_position(process, path) is None, f"{path.name} was read and closed")


def integrity(db: Path) -> str:
    with sqlite3.connect(db) as connection:
        result = connection.execute("PRAGMA integrity_check").fetchall()
    connection.close()
    return "; ".join(row[0] for row in result)


def usage_count(db: Path) -> int:
    return rows(db, "select count(*) as n from usage")[0]["n"]


def test_the_database_runs_in_wal_mode_and_writers_wait_for_each_other(tmp_path):
    db = open_database(tmp_path / "stack.db")
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] == connection.BUSY_TIMEOUT_SECONDS * 1000
    # Long enough for an ingest into a big database to finish first.
    assert connection.BUSY_TIMEOUT_SECONDS >= 60
    db.close()
    # WAL is a property of the file: every later connection, Datasette's too, reads alongside a writer.
    with sqlite3.connect(tmp_path / "stack.db") as other:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    other.close()


def test_an_ingest_killed_at_any_point_leaves_the_database_as_it_was(db, tmp_path):
    big = write_usage(tmp_path / "big.csv", 60 * PAIRS, first_month=12)
    before = content_hash(db)
    before_rows = usage_count(db)
    kills = []
    for moment in ("a quarter of the file read", "two thirds of the file read", "report tables being rebuilt"):
        process = start_ingest(db, big)
        if moment == "report tables being rebuilt":
            wait_until_whole_file_read(process, big)
        else:
            position = wait_until_read(process, big, 0.25 if moment.startswith("a quarter") else 0.66)
            # Provably half-way: rows are being written, the end of the file not reached.
            assert 0 < position < big.stat().st_size
        os.kill(process.pid, signal.SIGKILL)
        process.communicate()
        assert process.returncode == -signal.SIGKILL, moment
        kills.append(moment)

        assert integrity(db) == "ok", moment
        assert content_hash(db) == before, f"killed with {moment}, the database changed"
        # The run's `running` row was part of its transaction: it went with it.
        assert rows(db, "select count(*) as n from ingests where status <> 'ok'")[0]["n"] == 0
    assert len(kills) == 3

    run("ingest", db, "usage", big, "--silent")
    assert usage_count(db) == before_rows + 60 * PAIRS
    assert integrity(db) == "ok"
    assert [row["status"] for row in rows(db, "select status from ingests where file = 'big.csv'")] == ["ok"]
    assert run("check", db).output.startswith("ok: ")


def test_two_ingests_at_once_both_load_as_if_one_after_the_other(db, tmp_path):
    first = write_usage(tmp_path / "first.csv", 30 * PAIRS, first_month=24)
    second = write_usage(tmp_path / "second.csv", 5 * PAIRS, first_month=54)
    sequential = copy_database(db, tmp_path / "sequential.db")

    writer = start_ingest(db, first)
    # The first holds the write lock from before it opens its file until it commits.
    wait_until_read(writer, first, 0.05)
    waiter = start_ingest(db, second)
    outputs = [process.communicate(timeout=120) for process in (writer, waiter)]
    assert [writer.returncode, waiter.returncode] == [0, 0], outputs
    assert not any("Traceback" in stderr or "locked" in stderr for _, stderr in outputs)
    # The second was started while the first held the lock, so it waited and ran after it.
    order = [row["file"] for row in rows(db, "select file from ingests where kind = 'usage' order by id")]
    assert order[-2:] == ["first.csv", "second.csv"]

    for path in (first, second):
        run("ingest", sequential, "usage", path, "--silent")
    assert integrity(db) == "ok"
    assert content_hash(db, exclude=("ingests",)) == content_hash(sequential, exclude=("ingests",))
    logged = "select id, kind, file, sha256, rows_read, rows_written, status from ingests order by id"
    assert rows(db, logged) == rows(sequential, logged)


def test_a_writer_that_cannot_wait_long_enough_says_why(db, tmp_path, monkeypatch):
    monkeypatch.setattr(connection, "BUSY_TIMEOUT_SECONDS", 0.2)
    usage = write_usage(tmp_path / "more.csv", 10, first_month=24)
    before = content_hash(db)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("begin immediate")
    try:
        result = run("ingest", db, "usage", usage, exit_code=1)
    finally:
        holder.execute("rollback")
        holder.close()
    assert f"Error: another stack-tracker command is writing to {db}; try again when it finishes" in result.output
    assert "Traceback" not in result.output and "database is locked" not in result.output
    assert content_hash(db) == before


def test_readers_see_the_state_before_an_ingest_or_after_it_never_half(db, tmp_path):
    big = write_usage(tmp_path / "big.csv", 60 * PAIRS, first_month=24)
    port = free_port()
    counts_sql = "select (select count(*) from usage) as usage, (select count(*) from usage_effective) as effective"
    with serving([sys.executable, "-m", "stack_tracker", "serve", str(db), "--port", str(port)], port,
                 log=tmp_path / "datasette.log") as base:
        site_counts = f"{base}/stack.json?_shape=array&sql={urllib.parse.quote(counts_sql)}"
        stack_report = f"{base}/stack/stack.json?_shape=array"
        connection = sqlite3.connect(db)

        def observe() -> tuple:
            return (
                connection.execute(counts_sql).fetchone(),
                tuple(json.loads(fetch(site_counts))[0].values()),
                fetch(stack_report),
            )

        before = observe()
        process = start_ingest(db, big)
        seen_while_running = []
        while process.poll() is None:
            seen_while_running.append(observe())
            time.sleep(0.02)
        assert process.returncode == 0, process.communicate()
        after = observe()
        connection.close()

    assert before[0] == (2 * PAIRS, 2 * PAIRS) and after[0] == (62 * PAIRS, 62 * PAIRS)
    assert before[0] == before[1] and after[0] == after[1] and before[2] != after[2]
    assert len(seen_while_running) >= 5
    for observation in seen_while_running:
        for reader, seen in enumerate(observation):
            assert seen in (before[reader], after[reader]), observation
    # The ingest was watched from its start: the reader saw the old state while it ran.
    assert seen_while_running[0] == before
