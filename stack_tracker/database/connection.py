"""The database file: open, create and upgrade it; take the write lock; refuse
another program's database; and say in words what SQLite's errors about the
file mean.

Every command opens its database through here: `open_database` to read and
write (creating it and bringing its schema up to date), `open_existing` to
examine a file exactly as it is (backup, check, publish). Every writer holds
the lock through `write_transaction` (or `begin_write`), so a second writer
waits for the first instead of failing half-way.
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import sqlite_utils

from ..errors import StackTrackerError
from ..privacy import key_file_for
from .derived import ensure_report_objects
from .schema import APPLICATION_ID, FIRST_RELEASE_TABLES, SCHEMA_VERSION, TABLES, create_tables, schema_version

#: How long a command waits for another one's write to finish before giving up.
#: A small file ingested into a database of a few million usage rows holds the
#: write lock for tens of seconds (the report tables are rebuilt in the same
#: transaction); readers never wait, in WAL mode.
BUSY_TIMEOUT_SECONDS = 300
#: SQLite's companions of a database file: while they exist, they hold part of it.
DATABASE_COMPANIONS = ("-wal", "-shm", "-journal")


class DatabaseFileError(StackTrackerError):
    """A database file that cannot be used as it is: missing, not a database, damaged, read-only, full."""


class DatabaseBusyError(DatabaseFileError):
    """Another connection held the write lock for longer than the busy timeout."""


def open_database(path: str | Path, *, must_exist: bool = False) -> sqlite_utils.Database:
    """Open (or create) a stack-tracker database, with its schema up to date.

    WAL lets Datasette read while an ingest writes; the busy timeout makes a
    second writer wait for the first instead of failing at once.
    """
    if must_exist and not Path(path).exists():
        raise StackTrackerError(f"{path}: no such database; create it with: stack-tracker init {path}")
    db = sqlite_utils.Database(path)
    db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
    refuse_foreign_database(db, path)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    ensure_schema(db)
    return db


def open_existing(path: str | Path) -> sqlite_utils.Database:
    """Open a database exactly as it is, to back up, check or publish.

    Unlike `open_database` it upgrades nothing and writes nothing: a damaged
    file must be examined, not changed. Raises `DatabaseFileError` for a
    missing file or one that is not SQLite, and refuses, as every command
    does, a database that is another program's or a newer stack-tracker's
    (`refuse_foreign_database`).
    """
    path = Path(path)
    if not path.is_file():
        raise DatabaseFileError(f"{path}: no such database")
    db = sqlite_utils.Database(path)
    db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
    try:
        refuse_foreign_database(db, path)
    except sqlite3.DatabaseError as error:
        db.close()
        raise (database_error(error, path) or error) from None
    except StackTrackerError:
        db.close()
        raise
    return db


def ensure_schema(db: sqlite_utils.Database) -> None:
    """Create or upgrade every base table and index, then the derived tables and views the reports read.

    Idempotent: running it on an up-to-date database changes nothing.
    """
    with db.conn:
        create_tables(db)
        record_capability_sources(db)
    # The derived tables read the base tables, so they are created after them.
    ensure_report_objects(db)


def record_capability_sources(db: sqlite_utils.Database) -> None:
    """Fill in ``tool_capabilities.source`` on rows written before it was recorded.

    The ingest that last wrote a row tells: a tool-capabilities file is the ops
    team's word (``stated``); any other ingest (a tools file, a sign-in or user
    import) only writes what the catalog guessed (``catalog``). A row with no
    ingest was put in by hand: ``stated``. The one case read wrongly is a guess a
    tool-capabilities file repeated unchanged (the row kept its first ingest):
    it shows as unconfirmed until that file is ingested again. Reads only, once
    every row has its source.
    """
    if not db.execute("select exists (select 1 from tool_capabilities where source is null)").fetchone()[0]:
        return
    db.execute(
        """
        update tool_capabilities set source = case
          when coalesce((select kind from ingests where ingests.id = tool_capabilities.ingest_id), 'tool-capabilities')
            = 'tool-capabilities' then 'stated'
          else 'catalog'
        end
        where source is null
        """
    )


def begin_write(db: sqlite_utils.Database) -> None:
    """Take the write lock now (``begin immediate``), waiting up to the busy timeout for another writer.

    Taken at the start, not at the first write, a second writer waits for the
    first instead of failing half-way through its work.
    """
    if db.conn.in_transaction:
        db.conn.commit()
    db.conn.execute("begin immediate")


@contextmanager
def write_transaction(db: sqlite_utils.Database) -> Iterator[None]:
    """One write transaction holding the lock from its start: committed at the end, rolled back on any error."""
    begin_write(db)
    try:
        yield
    except BaseException:
        db.conn.rollback()
        raise
    db.conn.commit()


def refuse_foreign_database(db: sqlite_utils.Database, path: str | Path) -> None:
    """Refuse a database this version must not read or change: another program's, or a newer stack-tracker's.

    `ensure_schema` would otherwise add its tables to another program's
    database, or stamp a newer schema with this version's number; reports
    would read another program's rows as stack-tracker's.
    """
    reason = _foreign_reason(db)
    if reason:
        raise StackTrackerError(f"{path} is not a stack-tracker database ({reason}): give a new file name to create one")
    version = schema_version(db)
    if version > SCHEMA_VERSION:
        raise StackTrackerError(
            f"{path} was written by a newer stack-tracker (schema version {version}; this one knows up to "
            f"{SCHEMA_VERSION}): upgrade stack-tracker to use it"
        )


def _foreign_reason(db: sqlite_utils.Database) -> str | None:
    """Why ``db`` is not a stack-tracker database, in words; None if it is one, or a new, empty file.

    A stack-tracker database carries `APPLICATION_ID`. The first release did
    not mark its databases yet: a file without the mark is taken for one of
    those only if it records a schema version and has every table it had
    (`FIRST_RELEASE_TABLES`: a table called ``teams`` proves nothing).
    `ensure_schema` marks it, and adds the tables later versions have.
    """
    application_id = db.execute("PRAGMA application_id").fetchone()[0]
    if application_id == APPLICATION_ID:
        return None
    if application_id:
        return f"it is marked as another program's: application id {application_id:#010x}"
    tables, version = set(db.table_names()), schema_version(db)
    if not tables:
        return f"it has no tables, but another program's schema version: {version}" if version else None
    if not tables & set(TABLES):
        return "it has tables, none of them stack-tracker's"
    missing = [name for name in FIRST_RELEASE_TABLES if name not in tables]
    if missing:
        listed = ", ".join(missing[:3]) + (", …" if len(missing) > 3 else "")
        return f"it has no stack-tracker mark and lacks {len(missing)} of stack-tracker's tables: {listed}"
    if not version:
        return "it has stack-tracker's tables, but no stack-tracker mark or schema version"
    return None


def database_error(error: sqlite3.DatabaseError, database: object) -> StackTrackerError | None:
    """What an SQLite error about the database file means, for a person; None for any other error.

    Errors about the file itself (another writer, not a database, damaged,
    read-only, a full disk, cannot be opened) are the user's to act on. SQLite
    rolls a transaction back when it fails so, and the command leaves what it
    wrote before it as it was. Any other SQLite error is a bug, and is better
    shown in full.
    """
    name = getattr(error, "sqlite_errorname", "") or ""
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return DatabaseBusyError(
            f"another stack-tracker command is writing to {database}; try again when it finishes "
            f"(waited {BUSY_TIMEOUT_SECONDS:g} s for it)"
        )
    if name == "SQLITE_NOTADB":
        return DatabaseFileError(f"{database} is not a SQLite database: is it the right file?")
    if name.startswith("SQLITE_CORRUPT"):
        return DatabaseFileError(
            f"{database} is damaged ({error}): `stack-tracker check {database}` says what is wrong; "
            f"restore it from a backup"
        )
    if name.startswith("SQLITE_READONLY"):
        return DatabaseFileError(f"{database} cannot be written ({error}): check the permissions of the file and its directory")
    if name == "SQLITE_FULL":
        return DatabaseFileError(f"{database}: {error}: free some space and run the command again")
    if name.startswith("SQLITE_IOERR"):
        return DatabaseFileError(f"{database}: {error}: is the disk full, or failing? Free some space and run the command again")
    if name.startswith("SQLITE_CANTOPEN"):
        return DatabaseFileError(f"cannot open {database} ({error}): check that its folder exists, and its permissions")
    return None


def database_files(db_path: Path) -> list[Path]:
    """The database and every file that belongs to it: its write-ahead log, shared memory, journal and key."""
    db_path = Path(db_path)
    return [db_path, *(db_path.with_name(db_path.name + suffix) for suffix in DATABASE_COMPANIONS),
            key_file_for(db_path)]
