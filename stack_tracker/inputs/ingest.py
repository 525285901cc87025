"""Load one input file into the database: validate, normalise, resolve names, upsert.

One file is one transaction: it loads whole or not at all. Rows are upserted
by natural key, and a row whose values did not change is not touched, so
re-ingesting the same file changes nothing. Every run that is not a dry run
appends a row to ``ingests``, also when the file is rejected.

`ingest` runs the pipeline of `runs.py` around a `loader.FileLoader`, which
converts the records (`conversion.py`, with each kind's rules from
`kind_rules.py`) and stages and writes the rows (`rows.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import sqlite_utils

from .. import normalise as n
from ..database.names import created_text
from ..database.settings import base_currency
from ..errors import StackTrackerError
from . import kinds as k
from .conversion import Options
from .loader import BATCH_SIZE, FileLoader
from .readers import ReadError, open_source
from .runs import LoggedRun, logged_run

__all__ = ["BATCH_SIZE", "IngestResult", "Options", "ingest", "load_file", "settle", "snapshot_day", "with_currencies"]


@dataclass
class IngestResult:
    """What an ingest read and changed (or, in a dry run, would change)."""

    kind: str
    file: str
    ingest_id: int | None
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    created: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    #: How the file was read, where it was not plain: the line taken as the header, the rows above it skipped.
    notes: list[str] = field(default_factory=list)
    dry_run: bool = False

    @property
    def rows_written(self) -> int:
        return self.inserted + self.updated

    @property
    def unchanged(self) -> int:
        return self.rows_read - self.rows_written

    def summary(self) -> str:
        """One line for people: what was (or would be) written."""
        verb = "would write" if self.dry_run else "wrote"
        text = (
            f"{self.file}: read {self.rows_read} {self.kind} rows, {verb} {self.rows_written} "
            f"({self.inserted} new, {self.updated} updated, {self.unchanged} unchanged)"
        )
        made = created_text(self.created)
        if made:
            text += f"; {'would create' if self.dry_run else 'created'} {made}"
        return "\n".join([text, *self.notes])


def ingest(
    db: sqlite_utils.Database,
    kind_name: str,
    path: Path | str,
    *,
    fmt: str | None = None,
    dry_run: bool = False,
    options: Options = Options(),
    progress: Callable[[int, int], None] | None = None,
    after_load: Callable[[sqlite_utils.Database], None] | None = None,
) -> IngestResult:
    """Load ``path`` as ``kind_name`` in one transaction and return what changed.

    ``progress(bytes_read, total_bytes)`` is called as the file streams.
    ``after_load(db)`` runs inside the same transaction once the rows are in;
    by default it refreshes the derived report tables that read this kind's
    table (for usage and activity, only the months the file changed), so
    readers never see base rows and reports out of step. Raises `IngestError`
    listing every problem when the file is rejected; the database is then as it
    was, but for the failed run's row in ``ingests``.
    """
    try:
        kind = k.KINDS[kind_name]
    except KeyError:
        raise StackTrackerError(f"unknown kind {kind_name!r}: expected one of {', '.join(k.KINDS)}") from None
    as_of = snapshot_day(kind, options)
    options = with_currencies(db, options)
    path = Path(path)
    file = path.name
    with logged_run(db, kind.name, file, log_failure=not dry_run) as run:
        if as_of:
            run.date_changes(as_of)
        loader, result, sha256 = load_file(db, run, kind, path, fmt=fmt, options=options, progress=progress, dry_run=dry_run)
        loader.problems.raise_if_any(rejected_rows=loader.rejected_rows)
        changed = settle(db, run, loader, result)
        if dry_run:
            run.discard()
            return result
        if after_load:
            after_load(db)
        else:
            run.refresh(changed, periods=loader.changed_periods)
        run.commit(sha256=sha256, rows_read=result.rows_read, rows_written=result.rows_written, message=result.summary())
        return result


def load_file(db: sqlite_utils.Database, run: LoggedRun, kind: k.Kind, path: Path, *, fmt: str | None, options: Options,
              progress: Callable[[int, int], None] | None = None, dry_run: bool = False,
              label: str | None = None) -> tuple[FileLoader, IngestResult, str | None]:
    """Read, check and write one file (or one sheet of a workbook) of ``kind`` inside ``run``'s transaction.

    Its problems are left in ``loader.problems`` for the caller to raise;
    ``label`` names the file in every message (default: its name).
    """
    file = label or path.name
    loader = FileLoader(db, kind, file, run.id, options)
    result = IngestResult(kind=kind.name, file=file, ingest_id=None if dry_run else run.id, dry_run=dry_run)
    sha256 = None
    try:
        with open_source(path, fmt, sheet=options.sheet, shape=loader.shape) as source:
            try:
                loader.load(source, progress)
            finally:
                loader.describe_layout(source)
            sha256 = source.sha256()
    except ReadError as error:
        if label:  # a workbook's sheet: named as every other problem of it is
            where = f"{error.path}:{error.line}:" if error.line else f"{error.path}:"
            error = ReadError(label, error.line, str(error).removeprefix(where).strip())
        loader.problems.add_error(error)
    finally:
        run.rows_read = (run.rows_read or 0) + loader.rows_read  # a workbook's sheets add up
        result.rows_read = loader.rows_read
    loader.check_repeated_keys(path, fmt)
    loader.finish()
    if result.rows_read == 0 and not loader.problems:
        loader.warnings.append(f"{file}: the file holds no rows: nothing was loaded")
    result.warnings, result.notes = loader.warnings, loader.notes
    return loader, result, sha256


def settle(db: sqlite_utils.Database, run: LoggedRun, loader: FileLoader, result: IngestResult) -> set[str]:
    """Once a file is clean: count what it wrote, fill in what its rows imply; return the tables it changed."""
    # The file's own rows; the names it made along the way (an aliases file's tool spellings among
    # them) are counted apart, as created.
    result.inserted, result.updated = loader.counts.inserted, loader.counts.updated
    created = loader.converter.new_names.created
    changed = {loader.kind.table} | loader.rules.after_write(db, run.id, created)
    result.created = {what: count for what, count in created.items() if count}
    return changed


def snapshot_day(kind: k.Kind, options: Options) -> str | None:
    """The day a tools file's snapshot is as of (``--as-of``), when one is given."""
    if not options.as_of:
        return None
    if kind.name != "tools":
        raise StackTrackerError("--as-of dates a snapshot of the inventory: it applies to tools files only")
    try:
        return n.parse_as_of(options.as_of, options.date_format)
    except n.BadValue as error:
        raise StackTrackerError(f"--as-of {options.as_of!r}: {error}") from None


def with_currencies(db: sqlite_utils.Database, options: Options) -> Options:
    """``options`` with the database's base currency, also for amounts that name none unless ``--currency`` says."""
    base = base_currency(db)
    try:
        default = n.parse_currency(options.default_currency) if options.default_currency else base
    except n.BadValue as error:
        raise StackTrackerError(f"--currency {options.default_currency!r}: {error}") from None
    return replace(options, base_currency=base, default_currency=default)
