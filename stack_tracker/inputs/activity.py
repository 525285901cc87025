"""Import activity rolled up upstream: one row per person key, tool and day, with its sign-ins.

Past one machine, sign-in logs live in a warehouse or a data lake, and the
per-person-day roll-up is done there, by an engine made for it (DuckDB, Spark
SQL, BigQuery: the queries are in ``docs/scale.md``). What reaches
stack-tracker is small: a CSV or Parquet file of

    person_key  the person's user_key, computed in the warehouse with the same
                keyed hash (HMAC-SHA256 of the normalised identifier, `privacy`):
                raw identities never leave it, and none is accepted here
    tool        the application as the identity provider names it
    day         the UTC day, YYYY-MM-DD
    events      the person's successful sign-ins to it that day
    last_seen   (optional) the last of them, a UTC time
    log         (optional) which of the provider's logs of sign-ins (`sources.SIGN_INS`,
                or Entra's non-interactive ones, which add up with it)

From there the rows go through the very pipeline of `inputs.logins`: one
logged run per file, problems listed with their line, tools resolved by
`catalog.ApplicationResolver`, the same roll-up and merge (a day keeps the
larger of two counts, so importing a file again changes nothing), teams from
the directory, the derived tables refreshed in the same transaction. The
directory maps identities, so its identities are hashed here with the same key:
a key in it maps to the person's team (and to the key of their first identifier,
as `import-logins` keys people), a key not in it is counted in ``unassigned``.
Importing the roll-up of a log gives the same ``user_activity`` as importing the
log itself (tested on a generated Okta log, through DuckDB).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from pathlib import Path
from typing import Callable, Iterator

import sqlite_utils

from .. import normalise as n
from ..errors import StackTrackerError
from ..privacy import PseudonymKey, check_key, load_key
from . import kinds as k
from .catalog import ApplicationResolver
from .directory import UNASSIGNED, Directory, load_directory
from .login_summary import LoginsResult
from .logins import Rollup, drop_temporary_tables, settle_sign_ins
from .readers import ReadError, open_source
from .runs import Problems, logged_run
from .sources import NON_INTERACTIVE, SIGN_INS, Timestamps

KIND = "activity"
#: Each column, and the headers accepted for it (compared as `kinds.header_key` compares them).
COLUMNS = {
    "person_key": ("person_key", "user_key", "person", "person_hash", "user_hash", "key"),
    "tool": ("tool", "application", "app", "app_name", "application_name", "target"),
    "day": ("day", "date", "activity_date", "event_date"),
    "events": ("events", "event_count", "sign_ins", "signins", "logins", "count"),
    "last_seen": ("last_seen", "last_sign_in", "last_event", "last_time"),
    "log": ("log",),
}
REQUIRED = ("person_key", "tool", "day", "events")
LOGS = {SIGN_INS: SIGN_INS, NON_INTERACTIVE: NON_INTERACTIVE, "interactive": SIGN_INS, "non-interactive": NON_INTERACTIVE}
_KEY = re.compile(r"[0-9a-f]{64}")
#: The optional dependency that reads Parquet, and what to install for it.
PARQUET_EXTRA = "stack-tracker[scale]"
PARQUET_BATCH = 50_000
PROGRESS_EVERY = 50_000


class ParquetUnavailable(StackTrackerError):
    """A Parquet file, and no DuckDB to read it with."""


def import_activity(
    db: sqlite_utils.Database,
    path: Path | str,
    *,
    directory: Path | str | None = None,
    allow_new: bool = True,
    date_format: str | None = None,
    key: PseudonymKey | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> LoginsResult:
    """Import one file of pre-aggregated activity (CSV or Parquet) in one transaction.

    ``directory`` maps people to teams (its identities are hashed with ``key``,
    default `privacy.load_key`, to match the file's person keys); ``allow_new``
    records applications no tool matches as ``unreviewed`` tools. Raises
    `IngestError` listing every problem of a rejected file.
    """
    path = Path(path)
    key = key or load_key(db)
    result = LoginsResult(file=path.name, source=KIND, warnings=key.warnings)
    key.warnings = []
    problems = Problems(path.name)
    try:
        with logged_run(db, KIND, path.name) as run:
            result.ingest_id = run.id
            check_key(db, key)
            people = load_directory(db, Path(directory) if directory else None, allow_new=allow_new, date_format=date_format)
            result.warnings += people.warnings
            applications = ApplicationResolver(db, run.id, allow_new=allow_new)
            rollup = Rollup(db)
            try:
                reading = _parquet_records(path, problems) if _is_parquet(path) else _csv_records(path, problems)
                _read(reading, problems, key, people, applications, rollup, date_format, result, progress)
            except ReadError as error:
                problems.add_error(error)
            run.rows_read = result.sign_ins
            problems.raise_if_any()
            settle_sign_ins(db, run, rollup, people, key, applications, result, _sha256(path))
            return result
    finally:
        drop_temporary_tables(db)


def _read(reading: "Reading", problems: Problems, key: PseudonymKey, directory: Directory,
          applications: ApplicationResolver, rollup: Rollup, date_format: str | None, result: LoginsResult,
          progress) -> None:
    """Check each row and count it into the roll-up; every problem is noted with its line."""
    by_key = {key.user_key(identifier): identifier for identifier in directory.teams}  # hashed once, kept in memory only
    people: dict[str, int] = {}
    tools: dict[str, str | None] = {}
    days: dict[str, str] = {}
    timestamps = Timestamps(date_format)
    after_leaving: set[int] = set()
    rows = 0
    for line, record in reading.records:
        rows += 1
        if progress and rows % PROGRESS_EVERY == 0:
            progress(int(reading.done() * 1000), 1000)
        person_key = str(record.get("person_key") or "").strip().lower()
        if not _KEY.fullmatch(person_key):
            expected = ("expected a user_key: the 64 hex digits of the keyed hash of the person's identifier "
                        "(raw identities are never imported; see docs/scale.md)")
            if "@" in person_key:  # an email: named as such, never repeated
                problems.add_error(ReadError(problems.file, line, f"person_key: an email address (not shown): {expected}"))
            else:
                problems.add(line, "person_key", person_key or None, expected)
            continue
        application = str(record.get("tool") or "").strip()
        day = _day(record.get("day"), days, date_format, problems, line)
        events = _events(record.get("events"), problems, line)
        in_log = LOGS.get(str(record.get("log") or SIGN_INS).strip().casefold())
        if in_log is None:
            problems.add(line, "log", record.get("log"), f"expected one of: {', '.join(LOGS)}")
        last_seen = _last_seen(record.get("last_seen"), day, timestamps, problems, line)
        if not application:
            problems.add(line, "tool", None, "a value is required")
            continue
        if None in (day, events, in_log, last_seen):
            continue
        if events == 0:
            continue
        tool = tools.get(application, "")
        if tool == "":
            tool = tools[application] = _tool(applications, application, problems, line)
        if tool is None:
            continue
        person = people.get(person_key)
        if person is None:
            person = people[person_key] = _person(rollup, key, directory, by_key, person_key)
        identifier = by_key.get(person_key)
        left = directory.left(directory.person(identifier)[0]) if identifier else None
        if left is not None and day > left:
            result.after_leaving += events
            after_leaving.add(person)
        rollup.count(tool, person, day, in_log, events, last_seen)
        result.sign_ins += events
        if in_log != SIGN_INS:
            result.non_interactive += events
    result.leavers_signed_in += len(after_leaving)
    if by_key and people and not any(person_key in by_key for person_key in people):
        result.warnings.append(f"no person key matched anyone in {directory.file}: were the keys computed with this "
                               "database's key (STACK_TRACKER_SECRET or its key file)? See docs/scale.md")
    if progress:
        progress(1000, 1000)


def _person(rollup: Rollup, key: PseudonymKey, directory: Directory, by_key: dict[str, str], person_key: str) -> int:
    """The roll-up's number for a person key: the directory's person (their team, their first identifier's key), or unassigned."""
    identifier = by_key.get(person_key)
    if identifier is None:
        return rollup.person(person_key, UNASSIGNED)
    canonical, team = directory.person(identifier)
    return rollup.person(key.user_key(canonical), team)


def _tool(applications: ApplicationResolver, application: str, problems: Problems, line: int) -> str | None:
    try:
        tool = applications.tool(application)
    except StackTrackerError:
        problems.add(line, "tool", application, "has no letter or digit to make a tool of")
        return None
    if tool is None:
        problems.add(line, "tool", application, "unknown tool: add it to the inventory or an aliases file, "
                                                "or import without --no-allow-new to record it as an unreviewed tool")
    return tool


def _day(value: object, days: dict[str, str], date_format: str | None, problems: Problems, line: int) -> str | None:
    written = value.isoformat()[:10] if isinstance(value, dt.date) else str(value or "").strip()
    day = days.get(written)
    if day is None:
        try:
            day = n.parse_date(written, date_format)
            n.parse_period(day)
        except n.BadValue as error:
            problems.add(line, "day", written or None, str(error))
            return None
        days[written] = day
    return day


def _events(value: object, problems: Problems, line: int) -> int | None:
    try:
        events = int(value) if isinstance(value, int) else int(str(value).strip().replace(",", ""))
    except ValueError:
        events = -1
    if events < 0:
        problems.add(line, "events", value, "expected a whole number of sign-ins, 0 or more")
        return None
    return events


def _last_seen(value: object, day: str | None, timestamps: Timestamps, problems: Problems, line: int) -> str | None:
    """The last sign-in's UTC time; without one, the day itself (it sorts before any time of that day)."""
    if value is None or value == "":
        return day
    if isinstance(value, dt.datetime):
        value = (value.astimezone(dt.timezone.utc) if value.tzinfo else value).strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        return timestamps.utc(value)
    except n.BadValue as error:
        problems.add(line, "last_seen", value, str(error))
        return None


class Reading:
    """A file's rows as ``(line, {column: value})``, and how far through it the reading is (0 to 1)."""

    def __init__(self, records: Iterator[tuple[int, dict]], done: Callable[[], float]):
        self.records, self.done = records, done


def _csv_records(path: Path, problems: Problems) -> Reading:
    """The rows of a CSV (or TSV) file, keyed by column name; headers matched through their aliases."""
    source = open_source(path, "tsv" if path.suffix.lower() in (".tsv", ".tab") else "csv")
    size = max(path.stat().st_size, 1)

    def records() -> Iterator[tuple[int, dict]]:
        columns = None
        with source:
            for line, record in source.records:
                if columns is None:
                    columns = _columns(source.headers or list(record), problems)
                    if columns is None:
                        return
                yield line, {name: record.get(header) for name, header in columns.items()}

    return Reading(records(), lambda: source.bytes_read / size)


def _columns(headers: list[str], problems: Problems) -> dict[str, str] | None:
    by_key = {k.header_key(header): header for header in reversed(headers)}
    columns = {}
    for name, accepted in COLUMNS.items():
        header = next((by_key[k.header_key(alias)] for alias in accepted if k.header_key(alias) in by_key), None)
        if header is not None:
            columns[name] = header
        elif name in REQUIRED:
            problems.add(1, name, None, f"required column not found (accepted headers: {', '.join(accepted)})")
    return None if problems else columns


def _is_parquet(path: Path) -> bool:
    if path.suffix.lower() in (".parquet", ".pq"):
        return True
    with open(path, "rb") as file:
        return file.read(4) == b"PAR1"


def _parquet_records(path: Path, problems: Problems) -> Reading:
    """The rows of a Parquet file, numbered from 1, read in batches through DuckDB (the optional extra)."""
    try:
        # Imported here, not at the top: it takes a fifth of a second, and only Parquet needs it.
        import duckdb
    except ImportError:
        raise ParquetUnavailable(
            f"{path.name}: reading Parquet needs DuckDB, an optional extra: pip install '{PARQUET_EXTRA}' "
            "(or give the file as CSV)"
        ) from None
    connection = duckdb.connect()
    try:
        total = connection.execute("select count(*) from read_parquet(?)", [str(path)]).fetchone()[0] or 1
        cursor = connection.execute("select * from read_parquet(?)", [str(path)])
    except duckdb.Error as error:
        connection.close()
        raise ReadError(path.name, None, f"not a Parquet file DuckDB can read: {error}") from None
    headers = [column[0] for column in cursor.description]
    columns = _columns(headers, problems)
    read = [0]

    def records() -> Iterator[tuple[int, dict]]:
        if columns is None:
            connection.close()
            return
        at = [headers.index(columns[name]) if name in columns else None for name in COLUMNS]
        try:
            while batch := cursor.fetchmany(PARQUET_BATCH):
                for row in batch:
                    read[0] += 1
                    yield read[0], {name: (row[index] if index is not None else None) for name, index in zip(COLUMNS, at)}
        finally:
            connection.close()

    return Reading(records(), lambda: read[0] / total)


def _sha256(path: Path) -> str:
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()
