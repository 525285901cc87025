"""The custom fields: the columns an ops team's files have beyond a kind's, kept with each row.

A table that keeps them (tools, teams, capabilities) has a column
``custom_fields`` holding a JSON object, field -> value, as the files wrote
them: stored with the row, so the table's CSV and JSON exports carry it.
An ingest merges a file's fields into it (`inputs.rows`): a field the file
leaves out stays as it was, one it gives empty is cleared. The view
``custom_field_values`` (`schema`) lists every field of every row, one a
line: the site facets it and links it from each page. The full-text index
of tools searches their values (`search`).
"""

from __future__ import annotations

import sqlite_utils

from .schema import CUSTOM_FIELD_TABLES, CUSTOM_FIELDS, CUSTOM_FIELDS_VIEW

__all__ = ["CUSTOM_FIELD_TABLES", "CUSTOM_FIELDS", "CUSTOM_FIELDS_VIEW", "custom_field_counts"]


def custom_field_counts(db: sqlite_utils.Database, table: str) -> dict[str, int]:
    """The custom fields ``table`` holds, each with how many rows have a value for it, by name."""
    if table not in CUSTOM_FIELD_TABLES or not db.table(table).exists() or CUSTOM_FIELDS not in db.table(table).columns_dict:
        return {}
    rows = db.execute(
        f"select field.key, count(*) from [{table}] as row, json_each(row.[{CUSTOM_FIELDS}]) as field "
        f"where row.[{CUSTOM_FIELDS}] is not null and field.value is not null "
        "group by field.key order by lower(field.key), field.key"
    )
    return dict(rows.fetchall())
