"""Import sign-in logs: per-person activity, and measured usage derived from it.

``import_logins`` streams each file's sign-ins (see `stack_tracker.sources`),
pseudonymises each person (`stack_tracker.privacy`), maps the application to a
tool (`stack_tracker.catalog`) and the person to a team (`stack_tracker.directory`),
and rolls the events up:

    user_activity_days   tool × person × UTC day × log:  events, last_seen
    user_activity        tool × person × month:          active_days, events, last_seen, team   (source 'sso')
    usage                team × tool × month:            active_users, sessions                 (source 'sso')

Memory does not grow with the file: events are counted in a dictionary of at
most `FLUSH_EVERY` (tool, person, day) keys, appended to a temporary table
when it fills; at the end of the file SQLite adds the rows up in one sort, and
the file's totals go to the database in a few INSERT … SELECT statements.

Fast too (``bench/import_logins.py``): lines are read as bytes, one that cannot be
a sign-in passed over undecoded (`sources.layouts.json_lines`); each person is
pseudonymised and each application resolved once per file, the file hashed on a
helper thread (`hashing.SideHash`); the database work is a few statements in key order.

The rule when files overlap. Days are counted per log of sign-ins
(`sources.SIGN_INS`, or Entra's `sources.NON_INTERACTIVE`, which the admin
center downloads apart). A file's count for a (tool, person, day, log)
replaces what the database had only if it is larger; it is never added. So:

- importing the same file again changes nothing;
- files that cover different days of a month (API pages, weekly exports) add
  up to the month, each day counted once;
- two exports of one log that both cover a day do not double it: the day
  keeps the larger count (the later export sees at least what the earlier one
  saw). Only a day split between two files (a page boundary at noon) is
  undercounted, in events, never in active days;
- files of different logs for the same days add up: a person's interactive
  and non-interactive sign-ins on a day are that day's events, and one active day.

A month's figures in ``user_activity`` and ``usage`` are then recomputed from the
days, for the tools, people and months the file covers. Each file is one
transaction, logged in ``ingests`` (kind ``logins``), and the derived report
tables are rebuilt inside it. A directory that says who has left is written to
``people`` (by user_key), and the summary counts the sign-ins of people after
the day they left: accounts still open.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Callable

import sqlite_utils

from ..database.bulk import indexes_built_after
from ..errors import StackTrackerError
from ..privacy import PseudonymKey, check_key, load_key, normalise_identifier
from .catalog import ApplicationResolver
from .directory import UNASSIGNED, Directory, created_names, load_directory
from .login_summary import LoginsResult, nothing_counted
from .readers import ReadError
from .runs import ChangeCounts, counted_changes, date_window, logged_run
from .sources import SIGN_INS, SOURCES, LogFile, reader

FLUSH_EVERY = 100_000
#: How many people and application names `_read` remembers before starting afresh.
CACHE_LIMIT = 100_000
PROGRESS_EVERY = 50_000
KIND = "logins"


def import_logins(
    db: sqlite_utils.Database,
    paths: list[Path | str],
    source: str,
    *,
    directory: Path | str | None = None,
    since: str | None = None,
    until: str | None = None,
    allow_new: bool = True,
    date_format: str | None = None,
    key: PseudonymKey | None = None,
    progress: Callable[[int, int], None] | None = None,
    on_result: Callable[[LoginsResult], None] | None = None,
) -> list[LoginsResult]:
    """Import sign-in logs from ``source`` (okta, entra, google or csv), one transaction per file.

    ``directory`` maps people to teams; ``since`` and ``until`` (dates, inclusive,
    UTC) keep only the sign-ins between them; ``allow_new`` records applications
    no tool matches as ``unreviewed`` tools (otherwise they are an error).
    ``key`` defaults to `privacy.load_key`. Raises `IngestError` for a rejected
    file; the files before it stay imported (``on_result`` has been told of them).
    """
    if source not in SOURCES:
        raise StackTrackerError(f"unknown source {source!r}: expected one of {', '.join(SOURCES)}")
    window = date_window(since, until, date_format)
    key = key or load_key(db)
    results = []
    for path in paths:
        result = _import_file(db, Path(path), source, key, Path(directory) if directory else None, window, allow_new, date_format, progress)
        result.warnings[:0] = key.warnings
        key.warnings = []
        results.append(result)
        if on_result:
            on_result(result)
    return results


def _import_file(db, path: Path, source: str, key: PseudonymKey, directory_path: Path | None,
                 window: tuple[str | None, str | None], allow_new: bool, date_format: str | None, progress) -> LoginsResult:
    result = LoginsResult(file=path.name, source=source)
    log = LogFile(path, date_format=date_format)
    try:
        with logged_run(db, KIND, path.name) as run:
            result.ingest_id = run.id
            check_key(db, key)
            directory = load_directory(db, directory_path, allow_new=allow_new, date_format=date_format)
            result.warnings += directory.warnings
            applications = ApplicationResolver(db, run.id, allow_new=allow_new)
            rollup = _Rollup(db)
            try:
                _read(log, source, key, directory, applications, rollup, window, result, progress)
                sha256 = log.sha256()
            except ReadError as error:
                log.problems.add_error(error)
            finally:
                log.close()
                run.rows_read = result.sign_ins
            result.skipped = dict(log.skipped)
            log.problems.raise_if_any()
            settle_sign_ins(db, run, rollup, directory, key, applications, result, sha256)
            return result
    finally:
        _drop_temporary_tables(db)


def _read(log: LogFile, source: str, key: PseudonymKey, directory: Directory, applications: ApplicationResolver,
          rollup: "_Rollup", window, result: LoginsResult, progress) -> None:
    """Stream the file's sign-ins into the roll-up.

    This loop runs once per sign-in, millions of times: a log names a few
    thousand people and a few hundred applications over and over, so each is
    pseudonymised, placed in a team and resolved once, and remembered here.
    """
    since, until = window
    people: dict[str, int] = {}  # identifier as written -> the person's number in the roll-up
    tools: dict[str, str | None] = {}  # application as written -> tool slug (None: unknown, already reported)
    left_on: dict[int, str] = {}  # person -> the day they left, for the directory's leavers with one
    after_leaving: set[int] = set()
    add = rollup.add
    count = counted = outside = non_interactive = 0
    for line, user, application, time, in_log in reader(source)(log):
        count += 1
        if progress and count % PROGRESS_EVERY == 0:
            progress(log.bytes_read, log.size)
        day = time[:10]
        if (since and day < since) or (until and day > until):
            outside += 1
            continue
        tool = tools.get(application, _UNSEEN)
        if tool is _UNSEEN:
            tool = _resolve(log, line, application, applications)
            if len(tools) > CACHE_LIMIT:
                tools.clear()
            tools[application] = tool
        if tool is None:
            continue
        person = people.get(user)
        if person is None:
            identifier, team = directory.person(normalise_identifier(user))
            person = rollup.person(key.user_key(identifier), team)
            if len(people) > CACHE_LIMIT:
                people.clear()
            people[user] = person
            if directory.left(identifier):
                left_on[person] = directory.left(identifier)
        if left_on and day > left_on.get(person, day):
            result.after_leaving += 1
            after_leaving.add(person)
        add(tool, person, day, in_log, time)
        counted += 1
        if in_log != SIGN_INS:
            non_interactive += 1
    result.sign_ins += counted
    result.non_interactive += non_interactive
    result.outside_window += outside
    result.leavers_signed_in += len(after_leaving)
    if progress:
        progress(log.size, log.size)


_UNSEEN = object()


def _resolve(log: LogFile, line: int, application: str, applications: ApplicationResolver) -> str | None:
    """The tool an application is, noting a problem if it is none (with ``--no-allow-new``)."""
    try:
        tool = applications.tool(application)
    except StackTrackerError:  # a name with no letter or digit ("!!!", "[]") cannot become a tool
        log.problems.add(line, "application", application, "has no letter or digit to make a tool of")
        return None
    if tool is None:
        log.problems.add(line, "application", application,
                    "unknown tool: add it to the inventory or an aliases file, or import without --no-allow-new "
                    "to record it as an unreviewed tool")
    return tool


class _Rollup:
    """Counts sign-ins per (tool, person, day) in bounded memory, adding up in temporary tables.

    Up to `FLUSH_EVERY` counts are kept in a dictionary, then appended to
    ``temp.login_events``; `_write` adds the rows up. A person is a number
    here: the first 64 bits of their user_key (``temp.login_people`` maps it
    back, with their team). Numbers sort as the keys do, so the days still
    reach ``user_activity_days`` in key order, and the rows to store and sort
    are half the size.
    """

    def __init__(self, db: sqlite_utils.Database):
        self.db = db
        self.counts: dict[tuple[str, int, str, str], tuple[int, str]] = {}  # (tool, person, day, log) -> (events, last_seen)
        self.people: dict[int, tuple[str, str]] = {}  # person -> (user_key, team), until written with the counts
        _drop_temporary_tables(db)
        db.execute("create temp table login_people (person integer primary key, user_key text not null, team text not null)")
        db.execute("create temp table login_events (tool text, person integer, day text, log text, events integer, last_seen text)")

    def person(self, user_key: str, team: str) -> int:
        """The number that stands for ``user_key`` (in ``team``) in the roll-up."""
        number = int(user_key[:16], 16) - (1 << 63)  # order-preserving, into SQLite's signed 64 bits
        held = self.people.get(number)
        if held is None:
            self.people[number] = (user_key, team)
        elif held[0] != user_key:  # two people whose keys share 64 bits: about one chance in 10^10 for 100,000 people
            raise StackTrackerError(_ALIKE)
        elif team > held[1]:  # a person listed in two teams keeps the same one whatever the order of the log
            self.people[number] = (user_key, team)
        return number

    def _write_people(self) -> None:
        """Write the people numbered since the last flush, in one statement (a key met before keeps its number, its
        team the greater); a number already standing for another key is refused (user_key cannot become null)."""
        try:
            self.db.conn.executemany(
                "insert into temp.login_people values (?, ?, ?) on conflict (person) do update set team = "
                "max(team, excluded.team), user_key = iif(user_key = excluded.user_key, user_key, null)",
                [(number, *held) for number, held in self.people.items()],
            )
        except sqlite3.IntegrityError:
            raise StackTrackerError(_ALIKE) from None
        self.people.clear()

    def add(self, tool: str, person: int, day: str, in_log: str, time: str) -> None:
        """Count one sign-in."""
        key = (tool, person, day, in_log)
        counted = self.counts.get(key)
        if counted is None:
            self.counts[key] = (1, time)
            if len(self.counts) >= FLUSH_EVERY:
                self.flush()
        else:
            # Tuples of numbers and text, not lists: the garbage collector need not walk them.
            self.counts[key] = (counted[0] + 1, time if time > counted[1] else counted[1])

    def count(self, tool: str, person: int, day: str, in_log: str, events: int, last_seen: str) -> None:
        """Count ``events`` sign-ins at once: a day's count rolled up upstream (`inputs.activity`)."""
        key = (tool, person, day, in_log)
        counted = self.counts.get(key)
        self.counts[key] = (events, last_seen) if counted is None else (counted[0] + events, max(last_seen, counted[1]))
        if counted is None and len(self.counts) >= FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        """Append the counts so far to ``temp.login_events`` (unsorted: `_write` sorts them all once)."""
        self._write_people()
        if self.counts:
            self.db.conn.executemany(
                "insert into temp.login_events values (?, ?, ?, ?, ?, ?)", [key + counted for key, counted in self.counts.items()]
            )
            self.counts.clear()


_ALIKE = "two people's user_keys begin alike; this import cannot tell them apart"


def settle_sign_ins(db: sqlite_utils.Database, run, rollup: _Rollup, people: Directory, key: PseudonymKey,
                    applications: ApplicationResolver, result: LoginsResult, sha256: str) -> None:
    """How every import of sign-ins ends once its file is read clean (import-logins, import-activity): the
    roll-up merged, the directory's people written, what was created counted, the months it touched
    refreshed, the run committed."""
    result.warnings += nothing_counted(result)
    rollup.flush()
    _write(db, people, run.id, result)
    people.write_people(db, key, run.id)
    result.created = created_names(applications, people)
    # Sign-ins change user_activity and sso usage in their own months only.
    months = {period for (period,) in db.execute("select distinct period from temp.login_months")}
    run.refresh({"usage", "user_activity"}, periods=months)
    run.commit(sha256=sha256, rows_read=result.sign_ins, rows_written=result.rows_written, message=result.summary())


def _drop_temporary_tables(db: sqlite_utils.Database) -> None:
    for table in ("login_people", "login_events", "login_days", "login_months"):
        db.execute(f"drop table if exists temp.{table}")


def _write(db: sqlite_utils.Database, directory: Directory, ingest_id: int, result: LoginsResult) -> None:
    """Merge the file's days into the database; recompute the months and the usage they touch."""
    _sum_days(db)
    _sum_months(db)
    _note_what_the_file_covers(db, result)
    if result.people == 0:
        return
    directory.create_teams(db, ingest_id, (team for (team,) in db.execute("select distinct team from temp.login_months")))
    _merge_days(db, ingest_id)
    months = db.conn.execute("select count(*) from temp.login_months").fetchone()[0]
    with counted_changes(db, "user_activity") as counts, indexes_built_after(db.conn, "user_activity", months):
        _merge_months(db, ingest_id, counts)
    result.inserted, result.updated = counts.inserted, counts.updated
    derive_usage(db, ingest_id, "temp.login_months")


def _sum_days(db: sqlite_utils.Database) -> None:
    """Add up ``temp.login_events`` into ``temp.login_days``: the file's total per (tool, person, day)."""
    execute = db.conn.execute
    # The file's total per (tool, person, day), in key order. The period leads
    # the day in the key so that the months below group without sorting again.
    execute(
        "create temp table login_days (tool text, person integer, period text, day text, log text, events integer, "
        "last_seen text, primary key (tool, person, period, day, log)) without rowid"
    )
    # The one big sort of the import: SQLite may hand parts of it to a helper thread, on another core.
    threads = execute("pragma threads").fetchone()[0]
    execute("pragma threads = 2")
    try:
        execute(
            "insert into temp.login_days select tool, person, substr(day, 1, 7), day, log, sum(events), max(last_seen) "
            "from temp.login_events group by tool, person, day, log"
        )
    finally:
        execute(f"pragma threads = {threads}")
    execute("drop table temp.login_events")


def _sum_months(db: sqlite_utils.Database) -> None:
    """``temp.login_months``: the file's (tool, person, month) totals, and whether the database had days of them."""
    # The file's months, as they would be if the database had none of their days
    # yet, and whether it has some (before the file's days join them).
    # CROSS JOIN keeps login_days the outer loop, read in its key order.
    db.conn.execute(
        """
        create temp table login_months as
        select months.*, exists (
                 select 1 from user_activity_days as stored
                 where stored.tool = months.tool and stored.user_key = months.user_key
                   and stored.day >= months.period || '-01' and stored.day <= months.period || '-31'
               ) as stored_before
        from (
          select days.tool, people.user_key, days.period, people.team,
                 count(distinct days.day) as active_days, sum(days.events) as events, max(days.last_seen) as last_seen
          from temp.login_days as days cross join temp.login_people as people on people.person = days.person
          group by days.tool, days.person, days.period
        ) as months
        """
    )


def _note_what_the_file_covers(db: sqlite_utils.Database, result: LoginsResult) -> None:
    """The people, tools and months of the file's sign-ins, and how many people are in no team."""
    facts = db.conn.execute(
        "select count(distinct user_key), count(distinct tool), min(period), max(period), "
        "count(distinct case when team = ? then user_key end) from temp.login_months",
        [UNASSIGNED],
    ).fetchone()
    result.people, result.tools, result.first_period, result.last_period, result.unassigned_people = facts


def _merge_days(db: sqlite_utils.Database, ingest_id: int) -> None:
    """Merge the file's days into ``user_activity_days``, each keeping the larger count (the rule in the module docstring)."""
    # Rows go in in user_activity_days' own key order: person numbers sort as user_keys do.
    db.conn.execute(
        "insert into user_activity_days (tool, user_key, day, log, events, last_seen, ingest_id) "
        "select days.tool, people.user_key, days.day, days.log, days.events, days.last_seen, ? "
        "from temp.login_days as days cross join temp.login_people as people on people.person = days.person where true "
        "on conflict (tool, user_key, day, log) do update set "
        "events = max(events, excluded.events), last_seen = max(last_seen, excluded.last_seen), ingest_id = excluded.ingest_id "
        "where excluded.events > events or excluded.last_seen > last_seen",
        [ingest_id],
    )


def _merge_months(db: sqlite_utils.Database, ingest_id: int, counts: ChangeCounts) -> None:
    """Write the file's months to ``user_activity``, counting the rows changed."""
    execute = db.conn.execute
    # A month the database had no day of is the file's month as counted; a
    # month it had days of is summed again from all of them.
    counts.add(execute(
        _UPSERT_MONTHS.format(select="select tool, user_key, period, team, active_days, events, last_seen, 'sso', ? "
                                     "from temp.login_months where not stored_before"),
        [ingest_id],
    ))
    counts.add(execute(
        _UPSERT_MONTHS.format(select="""
            select months.tool, months.user_key, months.period, months.team,
                   count(distinct days.day), sum(days.events), max(days.last_seen), 'sso', ?
            from temp.login_months as months
            join user_activity_days as days
              on days.tool = months.tool and days.user_key = months.user_key
             and days.day >= months.period || '-01' and days.day <= months.period || '-31'
            where months.stored_before
            group by months.tool, months.user_key, months.period"""),
        [ingest_id],
    ))


_UPSERT_MONTHS = """
    insert into user_activity (tool, user_key, period, team, active_days, events, last_seen, source, ingest_id)
    {select}
    on conflict (tool, user_key, period) do update set
      team = excluded.team, active_days = excluded.active_days, events = excluded.events,
      last_seen = excluded.last_seen, source = excluded.source, ingest_id = excluded.ingest_id
    where team is not excluded.team or active_days is not excluded.active_days or events is not excluded.events
       or last_seen is not excluded.last_seen or source is not excluded.source
"""


def derive_usage(db: sqlite_utils.Database, ingest_id: int, scope: str) -> None:
    """Recompute ``usage`` rows with source ``sso`` from ``user_activity`` for the (tool, period) pairs in ``scope``.

    Active users are the people with at least one active day in the month;
    sessions, their sign-ins. A team nobody in it signed in with any more
    loses its row. Rows whose figures did not change are left alone.
    """
    execute = db.conn.execute
    execute("drop table if exists temp.usage_scope")
    execute("drop table if exists temp.usage_measured")
    execute("create temp table usage_scope (tool text, period text, primary key (tool, period)) without rowid")
    execute(f"insert into temp.usage_scope select distinct tool, period from {scope}")
    # Counted once, then written and used to tell which rows no longer have anybody.
    execute(
        "create temp table usage_measured (team text, tool text, period text, active_users integer, sessions integer, "
        "primary key (team, tool, period)) without rowid"
    )
    execute(
        "insert into temp.usage_measured select team, tool, period, count(*), sum(events) from user_activity "
        "where source = 'sso' and active_days > 0 and team is not null "
        "and (tool, period) in (select tool, period from temp.usage_scope) group by team, tool, period"
    )
    execute(
        """
        insert into usage (team, tool, period, source, active_users, sessions, ingest_id)
        select team, tool, period, 'sso', active_users, sessions, ? from temp.usage_measured where true
        on conflict (team, tool, period, source) do update set
          active_users = excluded.active_users, sessions = excluded.sessions, ingest_id = excluded.ingest_id
        where active_users is not excluded.active_users or sessions is not excluded.sessions
        """,
        [ingest_id],
    )
    execute(
        """
        delete from usage
        where source = 'sso'
          and (tool, period) in (select tool, period from temp.usage_scope)
          and (team, tool, period) not in (select team, tool, period from temp.usage_measured)
        """
    )
    execute("drop table temp.usage_scope")
    execute("drop table temp.usage_measured")


#: What `inputs.activity` shares with this importer: the roll-up, its write, its clean-up.
Rollup, drop_temporary_tables = _Rollup, _drop_temporary_tables
