"""Inputs and places made to break stack-tracker: whatever it is given, and wherever
its files are, a command ends in success or in one `Error:` line and exit status 1,
never a traceback, and the database is as it was.

- JSON nested 100,000 deep, in every reader of JSON (written here: too large to keep in
  tests/bad_inputs/, where names given twice and NUL escapes are);
- dates at the ends of the calendar, where only a year between 1900 and 2200 makes sense;
- a database in a read-only folder, or a read-only database file, and output to a
  read-only folder;
- a disk that fills up while a command writes.

The last two run the command as a process of its own: as root, as CI runs the tests,
with root's powers over file permissions given up (`as_anyone`); on a full disk, with
a file size limit (`on_a_full_disk`), which makes every write past it fail as a full
disk does.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import re
import resource
import shutil
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import SAMPLE_SECRET, content_hash, rows, write
from stack_tracker.cli import cli
from stack_tracker.inputs.json_text import MAX_DEPTH
from stack_tracker.inputs.readers import ReadError, open_source, parse_json

DEEP = 100_000
SECRET = SAMPLE_SECRET  # the sample's key: its card holders' hashes


@pytest.fixture
def sample_copy(sample_db, tmp_path, monkeypatch) -> Path:
    """A copy of the sample organisation, alone in a folder of its own."""
    monkeypatch.setenv("STACK_TRACKER_SECRET", SECRET)
    folder = tmp_path / "database"
    folder.mkdir()
    path = folder / "sample.db"
    shutil.copy(sample_db, path)
    return path


def invoke(*args) -> object:
    return CliRunner().invoke(cli, [str(arg) for arg in args])


def assert_rejected(result, file: str, line: int, message: str) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 1, result.output
    assert result.output.startswith(f"Error: {file} was not loaded"), result.output
    assert f"{file}:{line}: {message}" in result.output


# -- JSON nested 100,000 deep ----------------------------------------------------

def objects(depth: int) -> str:
    return '{"a": ' * depth + "1" + "}" * depth


def lists(depth: int) -> str:
    return "[" * depth + "]" * depth


SIGN_IN = {
    "okta": '{"eventType": "user.authentication.sso", "outcome": {"result": "SUCCESS"}, "actor": {"type": "User", '
            '"alternateId": "jane.doe@example.com"}, "target": [{"type": "AppInstance", "displayName": "Slack"}], '
            '"published": "2027-01-04T09:00:00.000Z"',
    "entra": '{"createdDateTime": "2027-01-04T09:00:00Z", "userPrincipalName": "jane.doe@example.com", '
             '"appDisplayName": "Slack", "status": {"errorCode": 0}',
    "google": '{"id": {"applicationName": "saml", "time": "2027-01-04T09:00:00.000Z"}, "actor": {"email": '
              '"jane.doe@example.com", "callerType": "USER"}, "events": [{"name": "login_success", "parameters": '
              '[{"name": "application_name", "value": "Slack"}]}]',
}


def deep_files() -> list[tuple[str, str, str, int]]:
    """(command, kind or source, file name, the line the deep record starts on) and the file's text, for every JSON reader."""
    usage = '{"team": "Content", "tool": "Slack", "period": "2027-01", "active_users": 3'
    files = [
        ("ingest", "usage", "usage-deep-lists.json", 1, "[" + lists(DEEP) + "]\n"),
        ("ingest", "usage", "usage-deep-objects.json", 3, f"[\n{usage}}},\n{usage}, \"seats\": {objects(DEEP)}}}\n]\n"),
        ("ingest", "usage", "usage-deep.jsonl", 2, f"{usage}}}\n{usage}, \"seats\": {objects(DEEP)}}}\n"),
    ]
    for source, event in SIGN_IN.items():
        files += [
            ("import-logins", source, f"{source}-deep.json", 3, f"[\n{event}}},\n{event}, \"more\": {objects(DEEP)}}}\n]\n"),
            ("import-logins", source, f"{source}-deep.jsonl", 2, f"{event}}}\n{event}, \"more\": {lists(DEEP)}}}\n"),
        ]
    # An API page, the events in one member of an object; and such pages one per line, the first one deep.
    files += [
        ("import-logins", "entra", "entra-deep-page.json", 1, f'{{"value": [{SIGN_IN["entra"]}}}], "more": {objects(DEEP)}}}\n'),
        ("import-logins", "google", "google-deep-pages.jsonl", 1,
         f'{{"items": [{SIGN_IN["google"]}, "more": {objects(DEEP)}}}]}}\n{{"items": []}}\n'),
    ]
    return files


@pytest.mark.parametrize("command, what, name, line, text", deep_files(), ids=[file[2] for file in deep_files()])
def test_json_nested_100000_deep_is_refused_naming_the_line(sample_copy, tmp_path, command, what, name, line, text):
    path = write(tmp_path / name, text)
    before = content_hash(sample_copy, exclude=("ingests",))
    if command == "ingest":
        result = invoke("ingest", sample_copy, what, path)
    else:
        result = invoke("import-logins", sample_copy, path, "--source", what)
    assert_rejected(result, name, line, "lists and objects nested more than")
    assert "which no export writes" in result.output
    assert content_hash(sample_copy, exclude=("ingests",)) == before


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_both_json_readers_take_values_nested_max_depth_deep_and_no_deeper(tmp_path, fmt):
    """JSON Lines are read by orjson, arrays by json: both draw the line in the same place."""
    for depth in (MAX_DEPTH, MAX_DEPTH + 1):
        record = objects(depth)
        path = write(tmp_path / f"deep-{depth}.{fmt}", f"[{record}]\n" if fmt == "json" else f"{record}\n")
        with open_source(path) as source:
            if depth == MAX_DEPTH:
                assert [line for line, _ in source.records] == [1]
            else:
                with pytest.raises(ReadError, match=f"nested more than {MAX_DEPTH} deep"):
                    list(source.records)


@pytest.mark.parametrize("text, refused", [
    ('{"a": 1, "a" : 2}', "given twice"),
    ('{"time": "12:00", "time": "13:00"}', "given twice"),
    ('{"x": {"t": 1}, "y": {"t": 1, "t": 1}}', "given twice"),
    ('{"a:": 1, "a\\u003a": 2}', "given twice"),  # a colon spelled as an escape is still a colon
    ('{"a\\u0000": 1}', "NUL"),
    ('{"a": "\\ud800"}', "lone surrogate"),
    ('{"a": "b:c", "d": {"e": "f"}}', None),
    ('{"a": "\\\\u0000"}', None),  # a backslash, then the text u0000: no NUL
    ('{"a": "\\u00e9:"}', None),
])
def test_a_json_value_is_refused_for_a_name_given_twice_a_nul_or_half_a_character_only(text, refused):
    for content in (text, text.encode()):
        if refused:
            with pytest.raises(ValueError, match=refused):
                parse_json(content)
        else:
            assert parse_json(content) == json.loads(text)


# -- The ends of the calendar ------------------------------------------------------

ENDS_OF_THE_CALENDAR = ["0001-01-01", "0001-01-01T00:10:00+01:00", "9999-12-31", "9999-12-31T23:30:00-01:00"]


@pytest.mark.parametrize("as_of", ENDS_OF_THE_CALENDAR)
def test_report_as_of_the_ends_of_the_calendar_says_which_years_make_sense(sample_copy, as_of):
    result = invoke("report", sample_copy, "renewals", "--as-of", as_of)
    assert result.exit_code == 1, result.output
    assert result.output == f"Error: --as-of {as_of!r}: expected a year between 1900 and 2200\n"


def test_report_as_of_what_is_not_a_date_is_an_error_not_an_empty_report(sample_copy):
    result = invoke("report", sample_copy, "renewals", "--as-of", "next Tuesday")
    assert result.exit_code == 1, result.output
    assert result.output.startswith("Error: --as-of 'next Tuesday': expected a date such as 2026-03-31")
    result = invoke("summary", sample_copy, "--as-of", "9999-12-31")
    assert result.output == "Error: --as-of '9999-12-31': expected a year between 1900 and 2200\n"
    # A date written another way is the same day.
    assert invoke("report", sample_copy, "renewals", "--as-of", "Nov 30, 2026").output == \
        invoke("report", sample_copy, "renewals", "--as-of", "2026-11-30").output


@pytest.mark.parametrize("as_of", ENDS_OF_THE_CALENDAR)
def test_import_users_as_of_the_ends_of_the_calendar(sample_copy, tmp_path, as_of):
    users = write(tmp_path / "users.csv", "email,last login\njane.doe@example.com,2026-11-02\n")
    before = content_hash(sample_copy, exclude=("ingests",))
    result = invoke("import-users", sample_copy, users, "--tool", "Slack", "--as-of", as_of)
    assert result.exit_code == 1, result.output
    assert result.output == f"Error: --as-of {as_of!r}: expected a year between 1900 and 2200\n"
    assert content_hash(sample_copy, exclude=("ingests",)) == before


def test_import_users_active_days_reaching_back_before_the_calendar(sample_copy, tmp_path):
    users = write(tmp_path / "users.csv", "email,last login\njane.doe@example.com,2026-11-02\n")
    result = invoke("import-users", sample_copy, users, "--tool", "Slack", "--as-of", "2026-11-30", "--active-days", "999999999")
    assert result.exit_code == 1, result.output
    assert result.output == "Error: --active-days 999999999 reaches back before the calendar begins\n"


def test_generate_ending_past_the_years_usage_months_can_be(tmp_path):
    result = invoke("generate", tmp_path / "org", "--teams", "2", "--tools", "5", "--months", "1", "--users", "2",
                    "--end", "9999-12")
    assert result.exit_code == 1, result.output
    assert result.output == "Error: cannot generate: --end 9999-12: expected a year between 1900 and 2200\n"
    assert not (tmp_path / "org").exists()


# -- Read-only places --------------------------------------------------------------

PR_SET_SECUREBITS, SECBIT_NOROOT = 28, 1


def as_anyone() -> None:
    """Run in the child before the command: bind root, as CI runs the tests, by file permissions as anyone.

    Root writes where the permissions forbid it (CAP_DAC_OVERRIDE). With
    SECBIT_NOROOT, a program root starts has none of root's capabilities, so a
    folder's or a file's mode holds for it too; another user is not needed.
    """
    if os.geteuid() == 0:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_SECUREBITS, SECBIT_NOROOT, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "cannot give up root's powers (prctl PR_SET_SECUREBITS)")


def run_command(*args, preexec_fn=as_anyone, cwd: Path) -> subprocess.CompletedProcess:
    """The CLI as a process of its own, run by anyone (as `as_anyone` has it) unless told otherwise."""
    return subprocess.run(
        [sys.executable, "-m", "stack_tracker", *map(str, args)], capture_output=True, text=True, cwd=cwd,
        env={**os.environ, "STACK_TRACKER_SECRET": SECRET}, preexec_fn=preexec_fn, timeout=300,
    )


def assert_one_error_line(process: subprocess.CompletedProcess) -> str:
    assert process.returncode == 1, process.stderr
    assert "Traceback" not in process.stderr
    [line] = process.stderr.strip().splitlines()
    assert line.startswith("Error: "), line
    return line


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def listing(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


@pytest.fixture
def inputs(tmp_path) -> Path:
    """A folder anyone may write to, with a small file for every command that imports one."""
    folder = tmp_path / "inputs"
    folder.mkdir()
    write(folder / "tools.csv", "tool,vendor\nLoom,Atlassian\n")
    write(folder / "logins.csv", "user,application,time\njane.doe@example.com,Slack,2026-11-02T09:00:00Z\n")
    write(folder / "users.csv", "email,last login\njane.doe@example.com,2026-11-02\n")
    return folder


def read_only(path: Path) -> None:
    path.chmod(stat.S_IMODE(path.stat().st_mode) & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


@pytest.fixture
def writable_again(tmp_path):
    """Give the test's folders their write permission back, so that they can be removed."""
    yield
    for folder, _, _ in os.walk(tmp_path):
        Path(folder).chmod(0o755)


def commands_on(db: Path, inputs: Path, out: Path) -> dict[str, tuple]:
    """Every command that opens a database, on ``db``, with its output going to ``out``."""
    return {
        "init": ("init", db, "--silent"),
        "ingest": ("ingest", db, "tools", inputs / "tools.csv", "--silent"),
        "import-logins": ("import-logins", db, inputs / "logins.csv", "--source", "csv", "--silent"),
        "import-users": ("import-users", db, inputs / "users.csv", "--tool", "Slack", "--as-of", "2026-11-30", "--silent"),
        "report": ("report", db, "stack"),
        "summary": ("summary", db),
        "check": ("check", db),
        "backup": ("backup", db, out / "backup.db", "--silent"),
        "publish": ("publish", db, out / "site", "--silent"),
    }


def test_a_read_only_folder_is_read_only_for_the_commands_even_run_by_root(tmp_path, writable_again):
    folder = tmp_path / "read-only"
    folder.mkdir()
    read_only(folder)
    probe = subprocess.run([sys.executable, "-c", "open('probe', 'w')"], capture_output=True, text=True, cwd=folder,
                           preexec_fn=as_anyone)
    assert probe.returncode == 1 and "PermissionError" in probe.stderr
    assert listing(folder) == []


@pytest.mark.parametrize("command", list(commands_on(Path(), Path(), Path())))
def test_every_command_on_a_database_in_a_read_only_folder_ends_in_one_error_line(
        sample_copy, inputs, tmp_path, writable_again, command):
    """WAL needs its -wal and -shm files beside the database: in a read-only folder even a read fails."""
    folder = sample_copy.parent
    read_only(sample_copy)
    read_only(folder)
    before = sha256(sample_copy)
    out = tmp_path / "out"
    out.mkdir()
    line = assert_one_error_line(run_command(*commands_on(sample_copy, inputs, out)[command], cwd=tmp_path))
    assert str(sample_copy) in line and "permissions" in line, line
    assert sha256(sample_copy) == before
    assert listing(folder) == ["sample.db"]
    assert listing(out) == []


@pytest.mark.parametrize("command", list(commands_on(Path(), Path(), Path())))
def test_every_command_on_a_read_only_database_file_works_or_ends_in_one_error_line(
        sample_copy, inputs, tmp_path, writable_again, command):
    read_only(sample_copy)
    before = sha256(sample_copy)
    out = tmp_path / "out"
    out.mkdir()
    process = run_command(*commands_on(sample_copy, inputs, out)[command], cwd=tmp_path)
    if command in ("init", "ingest", "import-logins", "import-users"):
        assert "cannot be written" in assert_one_error_line(process)
    elif process.returncode != 0:
        assert_one_error_line(process)
    assert "Traceback" not in process.stderr
    assert sha256(sample_copy) == before


@pytest.mark.parametrize("command", ["init", "demo", "summary", "backup", "publish", "generate"])
def test_writing_into_a_read_only_folder_ends_in_one_error_line(sample_copy, tmp_path, writable_again, command):
    folder = tmp_path / "read-only"
    folder.mkdir()
    read_only(folder)
    before = sha256(sample_copy)
    args = {
        "init": ("init", folder / "new.db", "--silent"),
        "demo": ("demo", "--db", folder / "demo.db", "--no-serve", "--silent"),
        "summary": ("summary", sample_copy, "--output", folder / "summary.md"),
        "backup": ("backup", sample_copy, folder / "backup.db", "--silent"),
        "publish": ("publish", sample_copy, folder / "site", "--silent"),
        "generate": ("generate", folder / "org", "--teams", "2", "--tools", "5", "--months", "1", "--users", "2", "--silent"),
    }[command]
    line = assert_one_error_line(run_command(*args, cwd=tmp_path))
    assert str(folder) in line, line
    assert re.search(r"permission|cannot open", line), line
    assert listing(folder) == []
    assert sha256(sample_copy) == before


# -- A full disk ---------------------------------------------------------------------

#: Files may grow to this size and no further: enough to start, far too little to finish.
DISK_LEFT = 64 * 1024


def on_a_full_disk() -> None:
    """Run in the child before the command: every write past `DISK_LEFT` bytes of a file fails, as on a full disk.

    Past the limit, the kernel sends SIGXFSZ, which would kill the command
    outright; ignored, the write fails with EFBIG instead, and the command
    sees the error as it would see ENOSPC on a full disk.
    """
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (DISK_LEFT, DISK_LEFT))


@pytest.fixture
def settled_copy(sample_copy) -> Path:
    """The sample's copy as a command leaves it (in WAL mode, nothing in its WAL), so that its bytes can be compared."""
    process = run_command("check", sample_copy, preexec_fn=None, cwd=sample_copy.parent)
    assert process.returncode == 0, process.stderr
    assert listing(sample_copy.parent) == ["sample.db"]
    return sample_copy


def many_usage_rows(path: Path) -> Path:
    lines = ["team,tool,period,seats,active users"]
    for year in range(2000, 2020):
        for month in range(1, 13):
            for team in ("Content", "Events", "Social Media"):
                for tool in ("Slack", "Canva", "Asana"):
                    lines.append(f"{team},{tool},{year}-{month:02d},20,{month}")
    return write(path, "\n".join(lines) + "\n")


def many_sign_ins(path: Path) -> Path:
    lines = ["user,application,time"]
    for person in range(300):
        for month in range(1, 13):
            lines.append(f"person{person}@example.com,{('Slack', 'Canva', 'Asana')[person % 3]},2026-{month:02d}-02T09:00:00Z")
    return write(path, "\n".join(lines) + "\n")


@pytest.mark.parametrize("command", ["ingest", "import-logins"])
def test_a_disk_filling_up_during_an_import_leaves_every_byte_as_it_was(settled_copy, tmp_path, command):
    if command == "ingest":
        args = ("ingest", settled_copy, "usage", many_usage_rows(tmp_path / "usage.csv"))
    else:
        args = ("import-logins", settled_copy, many_sign_ins(tmp_path / "logins.csv"), "--source", "csv")
    before = sha256(settled_copy)
    hashed = content_hash(settled_copy)
    line = assert_one_error_line(run_command(*args, preexec_fn=on_a_full_disk, cwd=tmp_path))
    assert str(settled_copy) in line and re.search(r"full|space", line), line
    assert sha256(settled_copy) == before
    assert listing(settled_copy.parent) == ["sample.db"]
    assert content_hash(settled_copy) == hashed
    # Given the room, the same import goes through.
    assert run_command(*args, preexec_fn=None, cwd=tmp_path).returncode == 0


def test_a_disk_filling_up_during_publish_leaves_no_half_site(settled_copy, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    before = sha256(settled_copy)
    line = assert_one_error_line(run_command("publish", settled_copy, out / "site", "--silent",
                                             preexec_fn=on_a_full_disk, cwd=tmp_path))
    assert re.search(r"full|space", line), line
    assert sha256(settled_copy) == before
    assert listing(settled_copy.parent) == ["sample.db"]
    assert listing(out) == []
    assert rows(settled_copy, "select count(*) as n from tools")[0]["n"] > 0
