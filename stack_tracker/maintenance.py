"""Keeping the database file safe: consistent backups and health checks.

`backup(db, path)` copies a database that may be in use with SQLite's online
backup API: the copy is one consistent state, the state before or after any
ingest running at the same time, never half of one. `check(db)` says whether a
database is intact and consistent, in plain words, and can rebuild the derived
report tables when they no longer agree with the base tables.

Example::

    db = open_existing("stack.db")
    backup(db, "stack-2026-03-31.db")
    result = check(db, repair=True)
    print(result.summary())
"""

from __future__ import annotations

import glob
import os
import shlex
import sqlite3
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import sqlite_utils

from .database import database_error, refuse_foreign_database, schema, write_transaction
from .database.derived import DERIVED_TABLES, derived_rows, refresh_derived
from .database.names import Resolver
from .errors import StackTrackerError
from .privacy import database_file, key_file_for
from .scratch import process_alive

#: Pages copied per backup step (4 MiB at SQLite's default page size): between
#: steps the source is free, so the copy never holds up a writer for long.
BACKUP_PAGES_PER_STEP = 1024
#: A writer committing between two steps restarts the copy from the start, so
#: that it stays one consistent state. After this many restarts the rest is
#: copied in one step, from one snapshot: in WAL mode that blocks no writer.
BACKUP_MAX_RESTARTS = 3
#: The suffix of a copy being written: `.{backup}.{pid}.{random}.partial`, beside the backup.
PARTIAL = ".partial"
#: `check` lists at most this many lines of the integrity check and this many
#: keys per broken reference; the counts always cover everything.
MAX_LISTED = 5


class MaintenanceError(StackTrackerError):
    """A backup that cannot be made: the target is in the way, or the copy failed its check."""


# ---------------------------------------------------------------------------
# Backup


@dataclass
class BackupResult:
    """What a backup copied, and what it could not."""

    source: str
    target: str
    pages: int
    page_size: int
    warnings: list[str] = field(default_factory=list)

    @property
    def bytes(self) -> int:
        return self.pages * self.page_size

    def summary(self) -> str:
        """One line for people."""
        return f"Backed up {self.source} to {self.target} ({self.bytes / 1_000_000:,.1f} MB, checked)"


class _Restarted(Exception):
    """The source changed under a stepped copy once too often."""


def backup(
    db: sqlite_utils.Database,
    path: str | Path,
    *,
    force: bool = False,
    pages_per_step: int = BACKUP_PAGES_PER_STEP,
    progress: Callable[[int, int], None] | None = None,
) -> BackupResult:
    """Copy ``db`` to ``path``: one consistent state, safe while the database is in use.

    The copy is written beside ``path`` under a temporary name, checked
    (``PRAGMA quick_check``) and only then renamed into place, so ``path`` is
    never left half-written. It is a single file in rollback-journal mode,
    ready to copy elsewhere; opening it with stack-tracker turns WAL back on.
    ``progress(pages_done, pages_total)`` is called after every step. Refuses
    to overwrite ``path`` unless ``force``, and never overwrites the database
    itself.
    """
    source = database_file(db)
    if source is None:
        raise MaintenanceError("an in-memory database has no file to back up")
    target = Path(path)
    _check_target(source, target, force)
    remove_stale_partials(target)
    pages, page_size = _write_checked_copy(db, source, target, pages_per_step, progress)
    return BackupResult(source=source.name, target=str(target), pages=pages, page_size=page_size,
                        warnings=_key_file_warnings(source))


def _check_target(source: Path, target: Path, force: bool) -> None:
    """Refuse a target that is the database, one of its files, a directory, or (without ``force``) a file that exists."""
    if target.resolve() == source.resolve() or (target.exists() and os.path.samefile(target, source)):
        raise MaintenanceError(f"{target} is the database itself: give the backup another name")
    # Replacing the write-ahead log or the key file would lose what they hold.
    companions = {source.resolve().with_name(source.name + suffix) for suffix in ("-wal", "-shm", "-journal")}
    if target.resolve() in companions | {key_file_for(source.resolve())}:
        raise MaintenanceError(f"{target} belongs to the database {source.name}: give the backup another name")
    if target.is_dir():
        raise MaintenanceError(f"{target} is a directory: give the backup a file name, e.g. {target / source.name}")
    if target.exists() and not force:
        raise MaintenanceError(f"{target} exists: pass --force to replace it")
    if not target.parent.is_dir():
        raise MaintenanceError(f"{target.parent}: no such directory")


def _write_checked_copy(db: sqlite_utils.Database, source: Path, target: Path, pages_per_step: int,
                        progress) -> tuple[int, int]:
    """Copy the database beside ``target``, check the copy and rename it into place; its (page count, page size)."""
    descriptor, scratch_name = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}.", suffix=PARTIAL, dir=target.parent)
    os.close(descriptor)
    scratch = Path(scratch_name)
    # The copy may be read by whoever may read the database, no one else.
    scratch.chmod(stat.S_IMODE(source.stat().st_mode))
    try:
        copy = sqlite3.connect(scratch)
        try:
            _copy_pages(db.conn, copy, pages_per_step, progress)
            # A backup should be one self-contained file, readable even from read-only media.
            copy.execute("PRAGMA journal_mode = DELETE")
            problems = [row[0] for row in copy.execute(f"PRAGMA quick_check({MAX_LISTED})")]
            pages, page_size = (copy.execute(f"PRAGMA {pragma}").fetchone()[0] for pragma in ("page_count", "page_size"))
        finally:
            copy.close()
        if problems != ["ok"]:
            raise MaintenanceError(
                f"the copy of {source.name} failed its check ({'; '.join(problems)}): the database is damaged; "
                f"run stack-tracker check {source}"
            )
        os.replace(scratch, target)
    except sqlite3.DatabaseError as error:
        raise (database_error(error, source) or error) from None
    finally:
        scratch.unlink(missing_ok=True)
    return pages, page_size


def _key_file_warnings(source: Path) -> list[str]:
    """A warning that the pseudonymisation key, kept beside the database, is not in its backup."""
    key_file = key_file_for(source.resolve())
    if not key_file.exists():
        return []
    return [
        f"{key_file.name}, the key that pseudonymises people, is not in the backup: keep a copy of it with "
        f"your backups, or sign-ins imported into a restored database will not match"
    ]


def remove_stale_partials(target: Path) -> None:
    """Delete the half-written copies that backups to ``target`` killed outright left behind."""
    prefix = f".{target.name}."
    for partial in target.parent.glob(f"{glob.escape(prefix)}*{PARTIAL}"):
        pid = partial.name[len(prefix):].split(".")[0]
        if pid.isdigit() and partial.is_file() and not partial.is_symlink() and not process_alive(int(pid)):
            partial.unlink(missing_ok=True)


def _copy_pages(source: sqlite3.Connection, copy: sqlite3.Connection, pages_per_step: int, progress) -> None:
    """The online backup, in steps; in one step once writers have restarted it too often."""
    restarts = 0
    remaining_before: int | None = None

    def on_step(status: int, remaining: int, total: int) -> None:
        nonlocal restarts, remaining_before
        if remaining_before is not None and remaining >= remaining_before:
            restarts += 1
            if restarts > BACKUP_MAX_RESTARTS:
                raise _Restarted()
        remaining_before = remaining
        if progress:
            progress(total - remaining, total)

    try:
        source.backup(copy, pages=pages_per_step, progress=on_step)
    except _Restarted:
        source.backup(copy, pages=-1)
        if progress:
            total = copy.execute("PRAGMA page_count").fetchone()[0]
            progress(total, total)


# ---------------------------------------------------------------------------
# Check

@dataclass(frozen=True)
class Finding:
    """One problem, in words a person can act on; ``repairable`` if `check` can fix it."""

    message: str
    repairable: bool = False


@dataclass
class CheckResult:
    """What `check` found in a database, and what it repaired."""

    database: str
    findings: list[Finding] = field(default_factory=list)
    rows_checked: int = 0
    repaired: list[str] = field(default_factory=list)
    #: What a person should know that is not a problem (the catalog's unconfirmed guesses).
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def summary(self) -> str:
        """``ok: …`` for a healthy database, else one line per finding; then a line per note."""
        if self.ok:
            lines = [
                f"ok: {self.database}: the file is intact, its {self.rows_checked:,} rows refer only to rows "
                f"that exist, and the report tables agree with them"
            ]
        else:
            count = len(self.findings)
            lines = [f"{self.database}: {count} problem{'s' if count != 1 else ''}"]
            lines += [f"- {finding.message}" for finding in self.findings]
        lines += [f"note: {note}" for note in self.notes]
        return "\n".join(lines)


def check(db: sqlite_utils.Database, *, repair: bool = False) -> CheckResult:
    """Whether ``db`` is intact and consistent; with ``repair``, rebuild out-of-date report tables.

    In order, stopping where later checks could not be trusted: the file's
    structure (``PRAGMA integrity_check``), the schema (a stack-tracker
    database of a version this one reads, no table missing), references
    between rows (``PRAGMA foreign_key_check``, orphans grouped by table,
    column and key), aliases that are another tool's own name, and whether
    each derived report table holds exactly the rows its one SQL definition
    gives (`derived.derived_rows`). What cannot be repaired here comes with the
    command that repairs it.
    """
    source = database_file(db)
    result = CheckResult(database=source.name if source else ":memory:")
    try:
        damage = _integrity_problems(db, result.database)
        if damage:
            result.findings.append(Finding(damage))
            return result
        missing = _missing_tables(db, result.database)
        if missing:
            # References to missing tables and report tables with nothing to agree with cannot be checked.
            result.findings.append(missing)
            return result
        result.rows_checked = sum(db.table(name).count for name in schema.TABLES)
        result.findings += _broken_references(db, list(schema.TABLES), result.database)
        result.findings += _aliases_of_other_tools(db, result.database)
        result.notes += _catalog_guesses(db, result.database)
        stale = _stale_derived_tables(db)
        if stale and repair:
            rebuild_derived_tables(db)
            result.repaired.append("rebuilt the derived report tables from the base tables")
            stale = _stale_derived_tables(db)
        if stale:
            result.findings.append(Finding(
                f"the derived report tables are out of date ({'; '.join(stale)}): "
                f"run stack-tracker check {result.database} --repair",
                repairable=True,
            ))
    except sqlite3.DatabaseError as error:
        if not _is_damage(error):
            raise
        result.findings.append(Finding(_damaged(result.database, str(error))))
    return result


def _is_damage(error: sqlite3.DatabaseError) -> bool:
    """Whether SQLite gave up reading because the file is damaged (rather than busy, or a bug)."""
    return (getattr(error, "sqlite_errorname", "") or "").startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB"))


def _damaged(database: str, detail: str) -> str:
    return (
        f"the database file is damaged ({detail}): restore it from a backup, or rescue what is left "
        f"with: sqlite3 {database} .recover | sqlite3 recovered.db"
    )


def _integrity_problems(db: sqlite_utils.Database, database: str) -> str | None:
    """The damage ``PRAGMA integrity_check`` finds, in one line; None when the file is intact."""
    try:
        found = [row[0] for row in db.execute(f"PRAGMA integrity_check({MAX_LISTED + 1})")]
    except sqlite3.DatabaseError as error:
        if not _is_damage(error):
            raise
        return _damaged(database, str(error))
    if found == ["ok"]:
        return None
    # A message may hold several lines, under a header naming the schema ("*** in database main ***").
    lines = [line for message in found for line in message.splitlines() if line and not line.startswith("***")]
    shown = "; ".join(lines[:MAX_LISTED]) + ("; …" if len(lines) > MAX_LISTED else "")
    return _damaged(database, f"integrity check: {shown}")


def _missing_tables(db: sqlite_utils.Database, database: str) -> Finding | None:
    """Tables this version declares that the database lacks; raises for a database that is not ours."""
    refuse_foreign_database(db, database)
    present = set(db.table_names())
    missing = [name for name in [*schema.TABLES, *DERIVED_TABLES] if name not in present]
    if not missing:
        return None
    return Finding(f"tables missing: {', '.join(missing)}: run stack-tracker init on the database to add them")


def _broken_references(db: sqlite_utils.Database, tables: list[str], database: str) -> list[Finding]:
    """Rows naming a row that does not exist, grouped by table, column and key, with counts and the repair.

    ``PRAGMA foreign_key_check`` finds which references are broken; only
    those are then grouped by the key they name.
    """
    findings = []
    for table in tables:
        broken = db.execute(f"select distinct fkid from pragma_foreign_key_check('{table}')").fetchall()
        if not broken:
            continue
        references = {
            row[0]: (row[1], row[2], row[3])
            for row in db.execute(f"select id, [table], [from], [to] from pragma_foreign_key_list('{table}')")
        }
        for (fkid,) in broken:
            parent, column, parent_column = references[fkid]
            keys = db.execute(
                f"select [{column}], count(*) from [{table}] as child where [{column}] is not null and not exists "
                f"(select 1 from [{parent}] where [{parent}].[{parent_column}] = child.[{column}]) "
                f"group by 1 order by 2 desc, 1"
            ).fetchall()
            repair = _orphans_repair(database, table, column, parent, parent_column)
            findings.append(Finding(f"{_orphans_message(table, column, parent, keys)}: {repair}"))
    return findings


def _orphans_message(table: str, column: str, parent: str, keys: list[tuple[object, int]]) -> str:
    total = sum(count for _, count in keys)
    listed = ", ".join(f"{key!r} ({count} row{'s' if count != 1 else ''})" for key, count in keys[:MAX_LISTED])
    if len(keys) > MAX_LISTED:
        listed += f" and {len(keys) - MAX_LISTED} more"
    article = "an" if column[0] in "aeiou" else "a"
    names = "name" if total != 1 else "names"
    return (
        f"{total} {table} row{'s' if total != 1 else ''} {names} {article} {column} that is not in {parent}: {listed}"
    )


def _orphans_repair(database: str, table: str, column: str, parent: str, parent_column: str) -> str:
    """How to repair broken references: add what they name, or else delete the rows.

    Where the row stands without the column (a tool's owner team, a team's
    parent), emptying the column does instead: the rest of the row is kept.
    """
    spec = schema.TABLES[table]
    broken = f"{column} not in (select {parent_column} from {parent})"
    if column in ((spec.pk,) if isinstance(spec.pk, str) else spec.pk) or column in spec.not_null:
        return f"add the missing {parent}, or delete the rows with: " + _sql_command(database, f"delete from {table} where {broken}")
    return f"add the missing {parent}, or empty the column with: " + _sql_command(
        database, f"update {table} set {column} = null where {broken}"
    )


def _aliases_of_other_tools(db: sqlite_utils.Database, database: str) -> list[Finding]:
    """Aliases that are another tool's own name or slug, with the command that deletes them.

    Ingest refuses them (`names.Resolver.other_tool_named`); written by hand
    or by an earlier release, they send one tool's rows to another.
    """
    resolver = Resolver(db)
    wrong = [(alias, tool, other) for alias, tool in resolver.aliases.items()
             if (other := resolver.other_tool_named(alias, tool)) is not None]
    if not wrong:
        return []
    listed = ", ".join(f"{alias!r} (the tool {other}) leads to {tool}" for alias, tool, other in wrong[:MAX_LISTED])
    if len(wrong) > MAX_LISTED:
        listed += f" and {len(wrong) - MAX_LISTED} more"
    params = {f"alias{number}": alias for number, (alias, _, _) in enumerate(wrong, start=1)}
    delete = _sql_command(database, f"delete from tool_aliases where alias in ({', '.join(f':{name}' for name in params)})", params)
    one = len(wrong) == 1
    return [Finding(
        f"{len(wrong):,} tool_aliases {'row makes' if one else 'rows make'} a tool's own name lead to another tool: "
        f"{listed}: an alias can't name another tool; delete {'it' if one else 'them'} with: {delete}"
    )]


def _catalog_guesses(db: sqlite_utils.Database, database: str) -> list[str]:
    """The tool capabilities only the catalog says a tool has, by tool: reports use them, and say so.

    Not a problem (the tool is still there to be judged); a note, so that the
    ops team confirms or corrects them in a tool-capabilities file.
    """
    if "source" not in db.table("tool_capabilities").columns_dict:
        return []
    guesses = db.execute(
        """
        select tools.name, group_concat(capabilities.name, ', '), count(*)
        from (select * from tool_capabilities where source = 'catalog' order by tool, "primary" desc, capability) as guess
        join tools on tools.slug = guess.tool
        left join capabilities on capabilities.slug = guess.capability
        group by guess.tool
        order by tools.name
        """
    ).fetchall()
    if not guesses:
        return []
    total = sum(count for _, _, count in guesses)
    listed = "; ".join(f"{tool} ({capabilities})" for tool, capabilities, _ in guesses[:MAX_LISTED])
    if len(guesses) > MAX_LISTED:
        listed += f" and {len(guesses) - MAX_LISTED} more tools"
    return [
        f"{total:,} tool {'capability is' if total == 1 else 'capabilities are'} from the catalog, unconfirmed: "
        f"{listed}: reports use them and say so; confirm or correct them with "
        f"stack-tracker ingest {shlex.quote(database)} tool-capabilities FILE (it replaces the guesses for the tools it lists)"
    ]


def _sql_command(database: str, sql: str, params: dict[str, str] | None = None) -> str:
    """The command that runs ``sql`` on the database, to paste into a shell (sqlite-utils comes with stack-tracker)."""
    words = ["sqlite-utils", "query", database, sql]
    for name, value in (params or {}).items():
        words += ["-p", name, value]
    return shlex.join(words)


def _stale_derived_tables(db: sqlite_utils.Database) -> list[str]:
    """For each derived table that differs from what its SQL gives now, how many rows differ.

    The table is compared with its own definition, not with a second account
    of what it should hold: the rows are computed once, into a temporary
    table, and compared both ways.
    """
    stale = []
    for table, spec in DERIVED_TABLES.items():
        columns = ", ".join(f"[{column}]" for column in spec.columns)
        db.execute("drop table if exists temp.check_expected")
        db.execute(f"create temp table check_expected as {derived_rows(table)}")
        try:
            lacking = db.execute(
                f"select count(*) from (select * from temp.check_expected except select {columns} from [{table}])"
            ).fetchone()[0]
            extra = db.execute(
                f"select count(*) from (select {columns} from [{table}] except select * from temp.check_expected)"
            ).fetchone()[0]
        finally:
            db.execute("drop table temp.check_expected")
        if lacking or extra:
            stale.append(f"{table}: {_rows(lacking)} missing or different, {extra:,} that should not be there")
    return stale


def _rows(count: int) -> str:
    return f"{count:,} row{'s' if count != 1 else ''}"


def rebuild_derived_tables(db: sqlite_utils.Database) -> None:
    """Rebuild every derived report table in one write transaction.

    The write lock is taken first, waiting for a running ingest to finish, so
    the rebuild reads the base tables as they stand.
    """
    with write_transaction(db):
        refresh_derived(db)
