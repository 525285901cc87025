"""The base tables, declared as data: columns, natural keys, references and indexes.

`create_tables(db)` applies them: it creates what is missing, adds columns a
newer version declares, and records the schema version (``PRAGMA
user_version``) and stack-tracker's mark (``PRAGMA application_id``).
`database.connection.ensure_schema` runs it, then creates the derived tables,
every time a database is opened. Nothing here imports anything of the package.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import sqlite_utils

#: 2: ``user_activity_days`` is keyed by the log of sign-ins too.
SCHEMA_VERSION = 2
#: Triggers on the base tables, one per file (``tool_history_added.sql`` …): the history the database keeps itself.
TRIGGERS_DIR = Path(__file__).with_name("sql") / "triggers"
#: Stack-tracker's mark in the header of every database it writes (``PRAGMA
#: application_id``): the bytes "STKT". A file without it is another program's.
APPLICATION_ID = int.from_bytes(b"STKT", "big")


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
#: The column of a table that keeps the columns its input files have beyond the kind's: a JSON object of
#: field -> value (text), or null. An ingest merges into it: a field a file leaves out stays as it was.
CUSTOM_FIELDS = "custom_fields"

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
        columns={"slug": str, "name": str, "category": str, "description": str, "custom_fields": str, "ingest_id": int},
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
            "custom_fields": str,
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
            "business_owner": str,
            "technical_owner": str,
            "admin": str,
            "annual_cost": float,
            "currency": str,
            "seats_purchased": int,
            "billing_cycle": str,
            "contract_start": str,
            "renewal_date": str,
            "auto_renew": int,
            "notice_period": str,
            "price_per_seat": float,
            "url": str,
            "docs_url": str,
            "notes": str,
            "custom_fields": str,
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
    # `source`: 'stated' (a tool-capabilities file the ops team wrote) or 'catalog' (guessed
    # from data/catalog.csv, unconfirmed). Rows an older version wrote get theirs on open
    # (`connection.record_capability_sources`).
    "tool_capabilities": TableSpec(
        columns={"tool": str, "capability": str, "primary": int, "source": str, "ingest_id": int},
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
    # Sign-ins per person, tool, UTC day and log: what `user_activity` is summed
    # from, so that files covering parts of one month (API pages, weekly exports)
    # add up without counting a day twice, and the logs a provider keeps apart
    # (Entra's interactive and non-interactive sign-ins) add up. Written by
    # `stack-tracker import-logins`. Version 1 had no log: its rows are 'sign-ins'.
    "user_activity_days": TableSpec(
        columns={"tool": str, "user_key": str, "day": str, "log": str, "events": int, "last_seen": str, "ingest_id": int},
        pk=("tool", "user_key", "day", "log"),
        foreign_keys=(("tool", "tools", "slug"), INGEST_REF),
        not_null=frozenset({"events", "log"}),
        defaults={"log": "sign-ins"},
    ),
    # Exchange rates: base-currency units for one unit of ``currency``, in force
    # from ``date`` until the currency's next rate. Written by `ingest rates`.
    "rates": TableSpec(
        columns={"currency": str, "date": str, "rate": float, "ingest_id": int},
        pk=("currency", "date"),
        foreign_keys=(INGEST_REF,),
        not_null=frozenset({"rate"}),
    ),
    # The inventory's history: a tool's contract and ownership fields, each change
    # with the day it took effect. Written by the database's own triggers
    # (sql/triggers/tool_history.sql), whatever writes the tools table.
    "tool_history": TableSpec(
        columns={"tool": str, "field": str, "changed_on": str, "old_value": str, "new_value": str, "ingest_id": int},
        pk=("tool", "field", "changed_on"),
        foreign_keys=(("tool", "tools", "slug"), INGEST_REF),
        indexes=(("changed_on",),),
    ),
    # The deadline reminders `stack-tracker remind` posted: one row per tool,
    # deadline ('renewal' or 'cancel-by'), its day and the offset reached, so a
    # daily run sends each once. Only the webhook's host: its address holds a secret.
    "reminders_sent": TableSpec(
        columns={"tool": str, "deadline": str, "deadline_date": str, "days_before": int, "sent_at": str,
                 "webhook_host": str},
        pk=("tool", "deadline", "deadline_date", "days_before"),
        foreign_keys=(("tool", "tools", "slug"),),
        not_null=frozenset({"sent_at"}),
    ),
    # Card and expense spend (`stack-tracker import-spend`): per tool, team,
    # month and currency, from one file, known by its content (sha256): two
    # exports both called activity.csv are two files, the same file imported
    # again is the same rows. Card holders are never stored, only the team each
    # maps to. ``merchants``: a JSON array of a few merchants as the file wrote them.
    "spend": TableSpec(
        columns={"tool": str, "team": str, "period": str, "currency": str, "source_sha256": str, "source_file": str,
                 "amount": float, "transactions": int, "refunds": int, "merchants": str, "ingest_id": int},
        pk=("tool", "team", "period", "currency", "source_sha256"),
        foreign_keys=(("tool", "tools", "slug"), ("team", "teams", "slug"), INGEST_REF),
        not_null=frozenset({"amount", "transactions"}),
        indexes=(("period", "tool"), ("source_sha256",)),
    ),
    # Every transaction `spend` counts, as a keyed hash (`stack_tracker.privacy`)
    # of the export's transaction id, or of its day, amount, merchant and card
    # holder: a transaction two overlapping exports both hold counts once, for
    # the file that counted it first; no card holder can be read back from it.
    "spend_fingerprints": TableSpec(
        columns={"fingerprint": str, "source_sha256": str, "source_file": str, "ingest_id": int},
        pk="fingerprint",
        foreign_keys=(INGEST_REF,),
        not_null=frozenset({"source_sha256"}),
        indexes=(("source_sha256",),),
    ),
    # The ops team's word on which tool a card statement's merchant is (kind
    # merchant-rules): a tool, or ignore (1) to leave the merchant out.
    "merchant_rules": TableSpec(
        columns={"pattern": str, "match": str, "tool": str, "ignore": int, "note": str, "ingest_id": int},
        pk=("pattern", "match"),
        foreign_keys=(("tool", "tools", "slug"), INGEST_REF),
        defaults={"match": "contains", "ignore": 0},
    ),
    # The people directory, pseudonymised: who has left, by the same user_key as
    # user_activity (never an identifier). Written by import-logins and
    # import-users from a directory with a status or left_on column; personal:
    # a published site holds none of it.
    "people": TableSpec(
        columns={"user_key": str, "team": str, "status": str, "left_on": str, "ingest_id": int},
        pk="user_key",
        foreign_keys=(INGEST_REF,),
    ),
    # The users a vendor's export counted for a tool (import-users), by user_key:
    # a snapshot, each export replacing the tool's rows. Personal, like people.
    # ``tier``: the licence or plan as the export writes it ('' without a licence column).
    "seat_holders": TableSpec(
        columns={"tool": str, "user_key": str, "as_of": str, "team": str, "last_login": str, "holds_seat": int,
                 "tier": str, "ingest_id": int},
        pk=("tool", "user_key"),
        foreign_keys=(("tool", "tools", "slug"), INGEST_REF),
        not_null=frozenset({"as_of", "holds_seat"}),
        indexes=(("user_key",),),
    ),
    # The plans or licence tiers each tool sells seats in (kind tiers): a seat's
    # price a year in the tool's currency, and its rank (1: the cheapest).
    "tiers": TableSpec(
        columns={"tool": str, "tier": str, "price_per_seat": float, "rank": int, "ingest_id": int},
        pk=("tool", "tier"),
        foreign_keys=(("tool", "tools", "slug"), INGEST_REF),
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


#: The tables of the first release, which did not mark its databases yet: a file
#: without the mark is taken for one of those only if it has every one of them.
FIRST_RELEASE_TABLES = (
    "ingests", "capabilities", "teams", "tools", "tool_aliases", "tool_capabilities", "team_needs", "usage",
    "user_activity", "user_activity_days", "settings", "integrations",
)


def create_tables(db: sqlite_utils.Database) -> None:
    """Create every base table and index that is missing, add the columns a newer version declares,
    rebuild a table a newer version keys differently, and record the schema version and
    stack-tracker's mark. Idempotent; inside the caller's transaction."""
    for name, spec in TABLES.items():
        table = db.table(name)
        if not table.exists():
            _create(db, name, spec)
        elif table.pks != list(_key(spec)):
            _rekey(db, name, spec)
        else:
            existing = set(table.columns_dict)
            for column, column_type in spec.columns.items():
                if column not in existing:
                    table.add_column(column, column_type)
        for columns in spec.indexes:
            table.create_index(columns, if_not_exists=True, find_unique_name=False)
    _ensure_triggers(db)
    _ensure_custom_fields_view(db)
    if db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    if db.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
        db.execute(f"PRAGMA application_id = {APPLICATION_ID}")


def _ensure_triggers(db: sqlite_utils.Database) -> None:
    """Create each trigger of `TRIGGERS_DIR` (one per file, named after it), or replace it if its
    definition changed (and only then, so that opening an up-to-date file leaves it untouched)."""
    for path in sorted(TRIGGERS_DIR.glob("*.sql")):
        text = path.read_text(encoding="utf-8")
        # SQLite keeps the statement from CREATE to END, without the semicolon that ends it: the comments
        # above it are the file's alone.
        definition = text[text.index("CREATE TRIGGER"):].rstrip().removesuffix(";").rstrip()
        existing = db.execute("select sql from sqlite_master where type = 'trigger' and name = ?", [path.stem]).fetchone()
        if existing is None or existing[0] != definition:
            db.execute(f"DROP TRIGGER IF EXISTS [{path.stem}]")
            db.execute(definition)


#: The tables that keep custom fields, and the view of every field of every row, one a line (`custom_fields`).
CUSTOM_FIELD_TABLES = tuple(name for name, spec in TABLES.items() if CUSTOM_FIELDS in spec.columns)
CUSTOM_FIELDS_VIEW = "custom_field_values"


def _ensure_custom_fields_view(db: sqlite_utils.Database) -> None:
    """Create the view of custom fields (table, row, name, field, value), or replace it if its definition changed."""
    definition = f"CREATE VIEW [{CUSTOM_FIELDS_VIEW}] AS\n" + "\nunion all\n".join(
        f"select '{table}' as [table], row.slug as row, row.name as name, field.key as field, field.value as value\n"
        f"from [{table}] as row, json_each(row.[{CUSTOM_FIELDS}]) as field\n"
        f"where row.[{CUSTOM_FIELDS}] is not null and field.value is not null"
        for table in CUSTOM_FIELD_TABLES
    )
    existing = db.execute("select sql from sqlite_master where type = 'view' and name = ?", [CUSTOM_FIELDS_VIEW]).fetchone()
    if existing is None or existing[0] != definition:
        db.execute(f"DROP VIEW IF EXISTS [{CUSTOM_FIELDS_VIEW}]")
        db.execute(definition)


def _create(db: sqlite_utils.Database, name: str, spec: TableSpec) -> None:
    db.table(name).create(
        spec.columns,
        pk=spec.pk,
        foreign_keys=list(spec.foreign_keys),
        not_null=set(spec.not_null),
        defaults=dict(spec.defaults),
    )


def _key(spec: TableSpec) -> tuple[str, ...]:
    return (spec.pk,) if isinstance(spec.pk, str) else spec.pk


def _rekey(db: sqlite_utils.Database, name: str, spec: TableSpec) -> None:
    """Rebuild a table under the key a newer version declares, keeping every row.

    Columns the table lacks take their defaults. Only for a table no other
    table refers to: renaming the rebuilt one into place would not carry
    references along.
    """
    had = set(db.table(name).columns_dict)
    rebuilt = f"{name}_rekeyed"
    db.execute(f"drop table if exists [{rebuilt}]")
    _create(db, rebuilt, spec)
    kept = ", ".join(f"[{column}]" for column in spec.columns if column in had)
    db.execute(f"insert into [{rebuilt}] ({kept}) select {kept} from [{name}]")
    db.execute(f"drop table [{name}]")
    db.execute(f"alter table [{rebuilt}] rename to [{name}]")


def schema_version(db: sqlite_utils.Database) -> int:
    """The schema version this database records (0 for an empty file)."""
    return db.execute("PRAGMA user_version").fetchone()[0]
