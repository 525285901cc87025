"""Shared fixtures: a CLI runner, a fresh database, and a way to fingerprint its content."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import openpyxl
import pytest
import sqlite_utils
from click.testing import CliRunner

from stack_tracker.cli import cli

FIXTURES = Path(__file__).parent / "fixtures"


def run(*args: str, exit_code: int = 0):
    """Invoke the CLI as a user would and check how it exited."""
    result = CliRunner().invoke(cli, [str(arg) for arg in args], catch_exceptions=False)
    assert result.exit_code == exit_code, result.output
    return result


def content_hash(db_path: Path, *, exclude: tuple[str, ...] = ()) -> str:
    """A fingerprint of every row of every table, in key order."""
    db = sqlite_utils.Database(db_path)
    digest = hashlib.sha256()
    for table in sorted(db.table_names()):
        if table.startswith("sqlite_"):
            continue
        if table in exclude:
            continue
        digest.update(table.encode())
        order = ", ".join(str(position + 1) for position in range(len(db[table].columns)))
        for row in db.execute(f"select * from [{table}] order by {order}"):
            digest.update(repr(row).encode())
    db.close()
    return digest.hexdigest()


def rows(db_path: Path, sql: str, params=()) -> list[dict]:
    db = sqlite_utils.Database(db_path)
    try:
        return [dict(row) for row in db.query(sql, params)]
    finally:
        db.close()


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def write_workbook(path: Path, sheets: dict[str, list[list]]) -> Path:
    """An .xlsx file at ``path`` with a sheet per entry of ``sheets``, its rows appended in order."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, cells in sheets.items():
        sheet = book.create_sheet(title)
        for row in cells:
            sheet.append(row)
    book.save(path)
    return path


@pytest.fixture
def db_path(tmp_path) -> Path:
    """A database with the shipped taxonomy loaded."""
    path = tmp_path / "stack.db"
    run("init", path, "--silent")
    return path


@pytest.fixture
def org_db(db_path, tmp_path) -> Path:
    """A database with two teams and two tools: the ground most ingest tests stand on."""
    run("ingest", db_path, "teams", write(tmp_path / "teams.csv", "team,parent\nMarketing,\nDemand Gen,Marketing\n"), "--silent")
    run(
        "ingest", db_path, "tools",
        write(tmp_path / "tools.csv",
              "tool,vendor,owner team,annual cost,licenses\n"
              "HubSpot Marketing Hub,HubSpot,Demand Gen,\"$48,000.00\",100\n"
              "Salesforce Sales Cloud,Salesforce,Marketing,30000,50\n"),
        "--silent",
    )
    return db_path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serving(args: list[str], port: int, timeout: float = 60, log: Path | None = None):
    """Run a command that serves HTTP on ``port``; yield its base URL once it answers.

    The server's log goes to a file: Datasette logs every request, and a pipe
    nobody reads fills up after a few hundred of them and stalls the server.
    """
    base = f"http://127.0.0.1:{port}"
    with (open(log, "w+b") if log else tempfile.TemporaryFile()) as output:
        process = subprocess.Popen(args, stdout=output, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    urllib.request.urlopen(f"{base}/-/versions.json", timeout=2)
                    break
                except urllib.error.HTTPError:
                    break  # it answers, if only to refuse: a private site
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        output.seek(0)
                        pytest.fail(f"server did not start: {output.read().decode(errors='replace')}")
                    time.sleep(0.2)
            yield base
        finally:
            process.terminate()
            process.wait(timeout=20)


def read_position(process: subprocess.Popen, path: Path) -> int | None:
    """How far a running ``process`` has read ``path`` (from Linux's /proc); None while it does not have it open.

    Lets a test act at a known point of a long command, e.g. kill an ingest half-way through its file.
    """
    target = str(Path(path).resolve())
    try:
        descriptors = list(Path(f"/proc/{process.pid}/fd").iterdir())
    except OSError:
        return None
    for descriptor in descriptors:
        try:
            if os.readlink(descriptor) != target:
                continue
            info = Path(f"/proc/{process.pid}/fdinfo/{descriptor.name}").read_text()
        except OSError:  # closed in the meantime
            continue
        return int(next(line for line in info.splitlines() if line.startswith("pos:")).split()[1])
    return None


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


#: The key the sample's card holders are hashed with in `sample_db`: a test importing into a copy sets it.
SAMPLE_SECRET = "sample-secret-0123456789abcdef"


@pytest.fixture(scope="session")
def sample_db(tmp_path_factory) -> Path:
    """The sample organisation, built once for the whole run with `SAMPLE_SECRET`; tests must not change it."""
    from stack_tracker.demo import build_demo

    path = tmp_path_factory.mktemp("sample") / "sample.db"
    saved = os.environ.get("STACK_TRACKER_SECRET")
    os.environ["STACK_TRACKER_SECRET"] = SAMPLE_SECRET
    try:
        build_demo(path)
    finally:
        if saved is None:
            del os.environ["STACK_TRACKER_SECRET"]
        else:
            os.environ["STACK_TRACKER_SECRET"] = saved
    return path
