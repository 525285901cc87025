"""The full-text indexes the site searches: tools and capabilities by what people type.

A tool is found by its name, its vendor, any alias an input spelled it with
("GA4", "SFDC"), its notes, its owners and its custom fields' values; a capability by its name, category and
description. The aliases live in their own table, so an index is an FTS5
table of its own rather than sqlite-utils' index over one table's columns.
Its rowid is the searched row's: Datasette's table search finds rows through
it (``fts_table`` in metadata.yml), and the site's plugin makes every word a
prefix ("sales" finds Salesforce, "hub" HubSpot).

    enable_search(db, triggers=True)    # a live database: kept current as ingests write
    enable_search(db, triggers=False)   # a published copy: indexed once, after it is scrubbed
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils

TOKENIZER = "porter unicode61 remove_diacritics 2"


@dataclass(frozen=True)
class SearchIndex:
    """One full-text index: the table whose rows a search finds, and what it reads of each row.

    ``columns`` maps each indexed column to SQL over the row (``row``);
    ``weights`` say how much a match in each counts (bm25: a name outranks
    notes); ``related`` maps another table whose rows feed the index to its
    column that holds the searched row's slug.
    """

    table: str
    columns: dict[str, str]
    weights: tuple[float, ...]
    related: dict[str, str]

    @property
    def name(self) -> str:
        return f"{self.table}_fts"


SEARCH_INDEXES = (
    SearchIndex(
        table="tools",
        columns={
            "name": "row.name",
            "vendor": "row.vendor",
            "aliases": "(select group_concat(alias, ' ') from tool_aliases where tool_aliases.tool = row.slug)",
            "notes": "row.notes",
            # The custom fields' values, and the owners people ask for ("who owns it" is half of why they look).
            "more": "coalesce(row.business_owner, '') || ' ' || coalesce(row.technical_owner, '') || ' ' || "
                    "coalesce(row.admin, '') || ' ' || "
                    "coalesce((select group_concat(field.value, ' ') from json_each(row.custom_fields) as field), '')",
        },
        weights=(10.0, 4.0, 6.0, 1.0, 2.0),
        related={"tool_aliases": "tool"},
    ),
    SearchIndex(
        table="capabilities",
        columns={"name": "row.name", "category": "row.category", "description": "row.description"},
        weights=(10.0, 4.0, 1.0),
        related={},
    ),
)


def _create_statement(index: SearchIndex) -> str:
    columns = ", ".join(f"[{column}]" for column in index.columns)
    return f"CREATE VIRTUAL TABLE [{index.name}] USING fts5({columns}, tokenize='{TOKENIZER}')"


def _index_rows(index: SearchIndex, where: str) -> str:
    """The statement that indexes the searched rows matching ``where`` (SQL over ``row``)."""
    columns = ", ".join(f"[{column}]" for column in index.columns)
    values = ", ".join(index.columns.values())
    return f"INSERT INTO [{index.name}] (rowid, {columns}) SELECT row.rowid, {values} FROM [{index.table}] AS row WHERE {where}"


def _reindex_rows(index: SearchIndex, where: str) -> str:
    """A trigger's statements that index the searched rows matching ``where`` afresh."""
    return (f"DELETE FROM [{index.name}] WHERE rowid IN (SELECT row.rowid FROM [{index.table}] AS row WHERE {where});\n"
            f"{_index_rows(index, where)};")


def _triggers(index: SearchIndex) -> dict[str, str]:
    """Each trigger that keeps ``index`` current, by name: the searched table's rows, and the related tables'."""
    table, fts = index.table, index.name
    triggers = {
        f"{fts}_after_insert": f"AFTER INSERT ON [{table}] BEGIN\n{_reindex_rows(index, 'row.rowid = new.rowid')}\nEND",
        f"{fts}_after_update": (
            f"AFTER UPDATE ON [{table}] BEGIN\nDELETE FROM [{fts}] WHERE rowid = old.rowid;\n"
            f"{_reindex_rows(index, 'row.rowid = new.rowid')}\nEND"
        ),
        f"{fts}_after_delete": f"AFTER DELETE ON [{table}] BEGIN\nDELETE FROM [{fts}] WHERE rowid = old.rowid;\nEND",
    }
    for related, column in index.related.items():
        for event, rows in (("insert", ("new",)), ("update", ("old", "new")), ("delete", ("old",))):
            body = "\n".join(_reindex_rows(index, f"row.slug = {row}.[{column}]") for row in rows)
            triggers[f"{fts}_after_{related}_{event}"] = f"AFTER {event.upper()} ON [{related}] BEGIN\n{body}\nEND"
    return triggers


def _is_current(db: sqlite_utils.Database, index: SearchIndex, triggers: bool) -> bool:
    """Whether ``index`` exists as this version defines it, with its triggers or without, as asked."""
    found = db.execute("select sql from sqlite_master where type = 'table' and name = ?", [index.name]).fetchone()
    if found is None or found[0] != _create_statement(index):
        return False
    wanted = set(_triggers(index)) if triggers else set()
    return _triggers_of(db, index) == wanted


def _triggers_of(db: sqlite_utils.Database, index: SearchIndex) -> set[str]:
    """The triggers that write to ``index``: ours, and those of sqlite-utils' index an older version made."""
    rows = db.execute("select name from sqlite_master where type = 'trigger' and sql like ?", [f"%{index.name}%"])
    return {row[0] for row in rows}


def disable_search(db: sqlite_utils.Database) -> None:
    """Drop the full-text indexes and the triggers that feed them."""
    for index in SEARCH_INDEXES:
        for trigger in _triggers_of(db, index):
            db.execute(f"DROP TRIGGER [{trigger}]")
        db.execute(f"DROP TABLE IF EXISTS [{index.name}]")


def enable_search(db: sqlite_utils.Database, *, triggers: bool) -> None:
    """Build the full-text indexes, unless they are already as this version defines them (idempotent).

    ``triggers`` keeps them current as ingests change the tables: what a live
    database needs. A published, immutable copy is indexed once instead. An
    index of an older shape (one without aliases) is rebuilt.
    """
    for index in SEARCH_INDEXES:
        if not all(db.table(table).exists() for table in (index.table, *index.related)):
            continue
        if _is_current(db, index, triggers):
            continue
        # One savepoint: readers see the old index or the new one, never none.
        db.execute("SAVEPOINT enable_search")
        try:
            for trigger in _triggers_of(db, index):
                db.execute(f"DROP TRIGGER [{trigger}]")
            db.execute(f"DROP TABLE IF EXISTS [{index.name}]")
            db.execute(_create_statement(index))
            # How results rank: bm25 with a weight per column, so a match in a name comes first.
            weights = ", ".join(str(weight) for weight in index.weights)
            db.execute(f"INSERT INTO [{index.name}] ([{index.name}], rank) VALUES ('rank', 'bm25({weights})')")
            db.execute(_index_rows(index, "1"))
            if triggers:
                for name, body in _triggers(index).items():
                    db.execute(f"CREATE TRIGGER [{name}] {body}")
        except BaseException:
            db.execute("ROLLBACK TO enable_search")
            db.execute("RELEASE enable_search")
            raise
        db.execute("RELEASE enable_search")
