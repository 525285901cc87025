"""The database shape, declared as data and applied by one idempotent function.

`ensure_schema(db)` creates every table, foreign key and index that is missing,
adds columns that a newer version declares, and records the schema version in
``PRAGMA user_version`` and stack-tracker's mark in ``PRAGMA application_id``.
It is safe to run on every start. `refuse_foreign_database(db, path)` runs
before it, and before any command reads a file: it refuses a file that is not
a stack-tracker database, or is a newer stack-tracker's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import sqlite_utils

from .errors import StackTrackerError

SCHEMA_VERSION = 1
#: Stack-tracker's mark in the header of every database it writes (``PRAGMA
#: application_id``): the bytes "STKT". A file without it is another program's.
APPLICATION_ID = int.from_bytes(b"STKT", "big")
#: How long a command waits for another one's write to finish before giving up.
#: A small file ingested into a database of a few million usage rows holds the
#: write lock for tens of seconds (the report tables are rebuilt in the same
#: transaction); readers never wait, in WAL mode.
BUSY_TIMEOUT_SECONDS = 300


@dataclass(frozen=True)
class TableSpec:
    """One table: its columns in order, natural key, references and indexes."""

    columns: dict[str, type]
    pk: str | tuple[str, ...]
    foreign_keys: tuple[tuple[str, str, str], ...] = ()
    not_null: frozenset[str] = frozenset()
    defaults: dict[str, object] = field(default_factory=dict)
    indexes: tuple[tuple[str, ...], ...] = ()


INGEST_REF = ("ingest_id", "ingests", "id")

TABLES: dict[str, TableSpec] = {
    "ingests": TableSpec(
        columns={
            "id": int,
            "kind": str,
            "file": str,
            "sha256": str,
            "rows_read": int,
            "rows_written": int,
            "rows_rejected": int,
            "started_at": str,
            "finished_at": str,
            "status": str,
            "message": str,
        },
        pk="id",
        indexes=(("file",), ("sha256",)),
    ),
    "capabilities": TableSpec(
        columns={"slug": str, "name": str, "category": str, "description": str, "ingest_id": int},
        pk="slug",
        foreign_keys=(INGEST_REF,),
        not_null=frozenset({"name"}),
        indexes=(("category",),),
    ),
    "teams": TableSpec(
        columns={
            "slug": str,
            "name": str,
            "parent": str,
            "business_unit": str,
            "headcount": int,
            "lead": str,
            "ingest_id": int,
        },
        pk="slug",
        foreign_keys=(("parent", "teams", "slug"), INGEST_REF),
        not_null=frozenset({"name"}),
        indexes=(("parent",),),
    ),
    "tools": TableSpec(
        columns={
            "slug": str,
            "name": str,
            "vendor": str,
            "status": str,
            "owner_team": str,
            "owner_contact": str,
            "annual_cost": float,
            "currency": str,
            "seats_purchased": int,
            "billing_cycle": str,
            "contract_start": str,
            "renewal_date": str,
            "auto_renew": int,
            "url": str,
            "docs_url": str,
            "notes": str,
            "ingest_id": int,
        },
        pk="slug",
        foreign_keys=(("owner_team", "teams", "slug"), INGEST_REF),
        not_null=frozenset({"name", "status"}),
        defaults={"status": "active"},
        indexes=(("owner_team",), ("status",), ("renewal_date",)),
    ),
    "tool_aliases": TableSpec(
        columns={"alias": str, "tool": str, "ingest_id": int},
        pk="alias",
        foreign_keys=(("tool", "tools", "slug"), INGEST_REF),
        not_null=frozenset({"tool"}),
        indexes=(("tool",),),
    ),
    "tool_capabilities": TableSpec(
        columns={"tool": str, "capability": str, "primary": int, "ingest_id": int},
        pk=("tool", "capability"),
        foreign_keys=(("tool", "tools", "slug"), ("capability", "capabilities", "slug"), INGEST_REF),
        defaults={"primary": 0},
        indexes=(("capability",),),
    ),
    "team_needs": TableSpec(
        columns={"team": str, "capability": str, "priority": str, "note": str, "ingest_id": int},
        pk=("team", "capability"),
        foreign_keys=(("team", "teams", "slug"), ("capability", "capabilities", "slug"), INGEST_REF),
        defaults={"priority": "should"},
        indexes=(("capability",),),
    ),
    "usage": TableSpec(
        columns={
            "team": str,
            "tool": str,
            "period": str,
            "source": str,
            "seats": int,
            "active_users": int,
            "usage_level": int,
            "sessions": int,
            "ingest_id": int,
        },
        pk=("team", "tool", "period", "source"),
        foreign_keys=(("team", "teams", "slug"), ("tool", "tools", "slug"), INGEST_REF),
        defaults={"source": "reported"},
        indexes=(("tool", "period"), ("period",)),
    ),
    "user_activity": TableSpec(
        columns={
            "tool": str,
            "user_key": str,
            "period": str,
            "team": str,
            "active_days": int,
            "events": int,
            "last_seen": str,
            "source": str,
            "ingest_id": int,
        },
        pk=("tool", "user_key", "period"),
        foreign_keys=(("tool", "tools", "slug"), ("team", "teams", "slug"), INGEST_REF),
        defaults={"source": "sso"},
        indexes=(("period", "tool"), ("user_key",), ("team",)),
    ),
    # Sign-ins per person, tool and UTC day: what `user_activity` is summed from, so
    # that files covering parts of one month (API pages, weekly exports) add up
    # without counting a day twice. Written by `stack-tracker import-logins`.
    "user_activity_days": TableSpec(
        columns={"tool": str, "user_key": str, "day": str, "events": int, "last_seen": str, "ingest_id": int},
        pk=("tool", "user_key", "day"),
        foreign_keys=(("tool", "tools", "slug"), INGEST_REF),
        not_null=frozenset({"events"}),
    ),
    # Small facts about the database itself, such as the fingerprint of the key
    # that pseudonymises people (never the key).
    "settings": TableSpec(
        columns={"key": str, "value": str},
        pk="key",
    ),
    "integrations": TableSpec(
        columns={
            "source_tool": str,
            "target_tool": str,
            "data": str,
            "direction": str,
            "criticality": str,
            "ingest_id": int,
        },
        pk=("source_tool", "target_tool", "data"),
        foreign_keys=(("source_tool", "tools", "slug"), ("target_tool", "tools", "slug"), INGEST_REF),
        indexes=(("target_tool",),),
    ),
}


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
    those only if it records a schema version and has every table of `TABLES`
    (a table called ``teams`` proves nothing). `ensure_schema` marks it.
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
    missing = [name for name in TABLES if name not in tables]
    if missing:
        listed = ", ".join(missing[:3]) + (", …" if len(missing) > 3 else "")
        return f"it has no stack-tracker mark and lacks {len(missing)} of stack-tracker's tables: {listed}"
    if not version:
        return "it has stack-tracker's tables, but no stack-tracker mark or schema version"
    return None


def ensure_schema(db: sqlite_utils.Database) -> None:
    """Create or upgrade every table and index; record the schema version and stack-tracker's mark.

    Idempotent: running it on an up-to-date database changes nothing.
    """
    with db.conn:
        for name, spec in TABLES.items():
            table = db.table(name)
            if not table.exists():
                table.create(
                    spec.columns,
                    pk=spec.pk,
                    foreign_keys=list(spec.foreign_keys),
                    not_null=set(spec.not_null),
                    defaults=dict(spec.defaults),
                )
            else:
                existing = set(table.columns_dict)
                for column, column_type in spec.columns.items():
                    if column not in existing:
                        table.add_column(column, column_type)
            for columns in spec.indexes:
                table.create_index(columns, if_not_exists=True, find_unique_name=False)
        if db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        if db.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
            db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    # The reports read the base tables declared here, so they are created after them.
    from .reports import ensure_report_objects

    ensure_report_objects(db)


def schema_version(db: sqlite_utils.Database) -> int:
    """The schema version this database records (0 for an empty file)."""
    return db.execute("PRAGMA user_version").fetchone()[0]
