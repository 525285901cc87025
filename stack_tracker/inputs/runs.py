"""The one pipeline every importer runs a file through, after reading it.

Reading differs per format; what follows is the same for ``ingest``,
``import-logins`` and ``import-users`` (and whatever importer comes next):

1. `logged_run`: one file, one transaction, holding the write lock from the
   start, with a row in ``ingests`` that ends ``ok``, or ``failed`` saying why;
2. `Problems`: every problem of the file, up to `MAX_PROBLEMS`, in one
   wording, ``FILE:LINE: column: value: what was expected``; a file with any
   is rejected whole (`IngestError`);
3. `counted_changes`: how many rows a write inserted and updated;
4. `LoggedRun.refresh`: the derived tables the file's tables feed, rebuilt
   inside the same transaction (for the months it changed, where a table is
   kept by month), so readers never see one without the other;
5. `LoggedRun.commit`, with what the run read and wrote.

Example::

    with logged_run(db, "users", path.name) as run:
        problems = Problems(path.name)
        ...                                   # read, noting problems.add(line, column, value, expected)
        problems.raise_if_any()
        with counted_changes(db, "usage") as counts:
            counts.add(db.conn.execute(...))  # write
        run.refresh({"usage"}, periods={"2024-03"})
        run.commit(sha256=..., rows_read=..., rows_written=counts.written, message=...)
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterable, Iterator

import sqlite_utils

from .. import normalise as n
from ..database import begin_write
from ..database.derived import refresh_derived
from ..errors import StackTrackerError

#: The problems a rejected file lists; the rest are counted.
MAX_PROBLEMS = 50


class IngestError(StackTrackerError):
    """A file was rejected; ``problems`` lists every problem found (up to a cap)."""

    def __init__(self, file: str, problems: list[str], more: int = 0, rejected_rows: int | None = None):
        self.file, self.problems, self.more, self.rejected_rows = file, problems, more, rejected_rows
        lines = [f"{file} was not loaded: {len(problems) + more} problem{'s' if len(problems) + more != 1 else ''}"]
        lines += problems
        if more:
            lines.append(f"... and {more} more")
        super().__init__("\n".join(lines))


class Problems:
    """The problems of one file, in the one form people read: ``FILE:LINE: column: value: what was expected``.

    The first `MAX_PROBLEMS` are kept and the rest counted, so a file wrong
    on every one of a million lines costs no memory.
    """

    def __init__(self, file: str):
        self.file = file
        self.listed: list[str] = []
        self.more = 0

    def add(self, line: int | None, column: str, value: object, expected: str) -> None:
        """Note a problem with one value (``line`` None: the file as a whole)."""
        if len(self.listed) >= MAX_PROBLEMS:
            self.more += 1
            return
        shown = "(empty)" if value is None or value == "" else printable(json.dumps(value, ensure_ascii=False, default=str))
        where = f"{self.file}:{line}" if line else self.file
        self.listed.append(f"{where}: {column}: {shown}: {expected}")

    def add_error(self, error: Exception) -> None:
        """Note a problem that already says where it is (a `readers.ReadError`: the file cannot be read on)."""
        self.listed.append(printable(str(error)))

    def __bool__(self) -> bool:
        return bool(self.listed)

    def __len__(self) -> int:
        return len(self.listed) + self.more

    def raise_if_any(self, *, rejected_rows: int | None = None) -> None:
        """Reject the file, listing its problems, if it has any."""
        if self.listed:
            raise IngestError(self.file, self.listed, self.more, rejected_rows=rejected_rows)


@dataclass
class ChangeCounts:
    """Rows a write inserted and updated (a row written with the values it had is neither)."""

    inserted: int = 0
    updated: int = 0
    changed: int = 0  # rows the block's statements changed themselves, inserted or updated

    @property
    def written(self) -> int:
        return self.inserted + self.updated

    def add(self, cursor: sqlite3.Cursor) -> None:
        """Count the rows a statement changed: its own, not what triggers it fired wrote elsewhere."""
        self.changed += cursor.rowcount


@contextmanager
def counted_changes(db: sqlite_utils.Database, table: str) -> Iterator[ChangeCounts]:
    """Count what the block writes to ``table``: new rows by the table's growth, the rest of the rows its
    statements changed (each passed to `ChangeCounts.add`) as updates.

    The block's statements must write only ``table`` (deletes aside, which the
    caller counts itself); what triggers write elsewhere is not counted.
    """
    counts = ChangeCounts()
    rows_before = _row_count(db, table)
    yield counts
    counts.inserted = _row_count(db, table) - rows_before
    counts.updated = counts.changed - counts.inserted


def _row_count(db: sqlite_utils.Database, table: str) -> int:
    return db.conn.execute(f"select count(*) from [{table}]").fetchone()[0]


def date_window(since: str | None, until: str | None, date_format: str | None) -> tuple[str | None, str | None]:
    """``--since`` and ``--until`` as ISO days (None where not given), refusing a bad day or a window backwards."""
    window = tuple(_day(value, option, date_format) for value, option in ((since, "--since"), (until, "--until")))
    if window[0] and window[1] and window[0] > window[1]:
        raise StackTrackerError(f"--since {window[0]} is after --until {window[1]}")
    return window


def _day(value: str | None, option: str, date_format: str | None) -> str | None:
    if not value:
        return None
    try:
        return n.parse_as_of(value, date_format)
    except n.BadValue as error:
        raise StackTrackerError(f"{option} {value!r}: {error}") from None


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def printable(text: str) -> str:
    """``text`` with anything UTF-8 cannot carry (a lone surrogate, from a file name or broken JSON) escaped."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


#: The settings key the tool_history triggers read the day a change takes effect from
#: (`LoggedRun.date_changes`); it lives only inside the run's transaction.
CHANGES_AS_OF = "changes_as_of"


class LoggedRun:
    """One input file's transaction and its row in ``ingests`` (see `logged_run`)."""

    def __init__(self, db: sqlite_utils.Database, kind: str, file: str):
        self.db, self.kind, self.file = db, kind, file
        self.started = now()
        self.rows_read: int | None = None  # set by the caller as it learns it, for the failure row
        self.id: int | None = None
        self.finished = False

    def refresh(self, changed: Iterable[str], *, periods: Iterable[str] | None = None) -> None:
        """Rebuild the derived tables built from the base tables ``changed``, only for ``periods`` if given."""
        refresh_derived(self.db, changed=changed, periods=periods)

    def date_changes(self, as_of: str) -> None:
        """Date the inventory's changes this run writes (``tool_history``) ``as_of``, not today.

        So that last year's snapshots can be loaded in order. One older than a
        change already recorded is refused: loaded after it, it would undo it.
        """
        latest = self.db.execute("select max(changed_on) from tool_history").fetchone()[0]
        if latest and as_of < latest:
            raise StackTrackerError(
                f"the inventory already records changes as of {latest}: load snapshots in date order, oldest first "
                f"(a snapshot as of {as_of} loaded now would undo them)"
            )
        self.db.conn.execute(f"insert or replace into settings (key, value) values ('{CHANGES_AS_OF}', ?)", [as_of])

    def commit(self, *, sha256: str, rows_read: int, rows_written: int, message: str) -> None:
        """Mark the run ok and commit everything it wrote."""
        self.db.conn.execute(f"delete from settings where key = '{CHANGES_AS_OF}'")
        self.db.conn.execute(
            "update ingests set sha256 = ?, rows_read = ?, rows_written = ?, rows_rejected = 0, "
            "finished_at = ?, status = 'ok', message = ? where id = ?",
            [sha256, rows_read, rows_written, now(), printable(message), self.id],
        )
        self.db.conn.commit()
        self.finished = True

    def discard(self) -> None:
        """Undo everything, its row in ``ingests`` included (a dry run)."""
        self.db.conn.rollback()
        self.finished = True


@contextmanager
def logged_run(db: sqlite_utils.Database, kind: str, file: str, *, log_failure: bool = True) -> Iterator[LoggedRun]:
    """One file, one transaction: a ``running`` row in ``ingests``, then ok or nothing.

    The body writes and ends with `LoggedRun.commit` (or `discard`); leaving it
    any other way rolls everything back, and a `StackTrackerError` leaves a
    ``failed`` row saying why. The write lock is taken first (`begin_write`),
    so a second writer waits for the first instead of failing half-way.
    """
    conn = db.conn
    begin_write(db)
    run = LoggedRun(db, kind, file)
    try:
        run.id = conn.execute(
            "insert into ingests (kind, file, started_at, status) values (?, ?, ?, 'running')", [kind, printable(file), run.started]
        ).lastrowid
        yield run
    except BaseException as error:
        conn.rollback()
        if log_failure and isinstance(error, StackTrackerError):
            with conn:
                conn.execute(
                    "insert into ingests (kind, file, rows_read, rows_written, rows_rejected, started_at, "
                    "finished_at, status, message) values (?, ?, ?, 0, ?, ?, ?, 'failed', ?)",
                    [kind, printable(file), run.rows_read, getattr(error, "rejected_rows", None), run.started, now(),
                     printable(str(error))],
                )
        raise
    if not run.finished:
        conn.rollback()
