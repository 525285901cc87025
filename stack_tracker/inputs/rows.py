"""A file's rows on their way into their table: staged in a temporary table, then upserted in key order.

`StagedRows` holds the rows of one file until the whole file has been read
clean, and notes the key of each (`RepeatedKeys`) so that a key given twice
can be found afterwards; `StagedRows.write` upserts them in one statement
that leaves alone a row whose values did not change.
"""

from __future__ import annotations

import operator
from array import array

from ..database.bulk import indexes_built_after
from ..database.schema import CUSTOM_FIELDS, TABLES
from .runs import MAX_PROBLEMS


class RepeatedKeys:
    """Notices a row key given twice in one file, in 12 bytes a row.

    Each row written leaves the hash of its key and its line. Once the file is
    read, sorting the hashes finds any that repeat (well under a second for a
    million rows), and only those rows are looked at again, closely. A set of
    the keys themselves would hold every key's strings: hundreds of MiB for a
    million rows.
    """

    def __init__(self, columns: list[str], key_names: list[str]):
        self.columns, self.key_names = columns, key_names
        self.key_of = operator.itemgetter(*(columns.index(key) for key in key_names))
        self.hashes = array("q")
        self.lines = array("I")

    def __len__(self) -> int:
        return len(self.hashes)

    def add(self, batch: list[tuple], lines: list[int]) -> None:
        self.hashes.extend(map(hash, map(self.key_of, batch)))
        self.lines.extend(lines)

    def row(self, values: dict[str, object]) -> tuple:
        return tuple(values.get(column) for column in self.columns)

    def repeated_lines(self, limit: int = MAX_PROBLEMS) -> list[list[int]]:
        """The lines of each key hash seen more than once (at most ``limit`` groups), in file order."""
        ordered = sorted(self.hashes)
        following = iter(ordered)
        next(following, None)
        if not any(map(operator.eq, ordered, following)):
            return []
        repeated = {first for first, second in zip(ordered, ordered[1:]) if first == second}
        del ordered
        groups: dict[int, list[int]] = {}
        for key_hash, line in zip(self.hashes, self.lines):
            if key_hash in repeated:
                groups.setdefault(key_hash, []).append(line)
        return list(groups.values())[:limit]


def _upsert_sql(table: str, columns: list[str], rows_from: str) -> str:
    """INSERT … ON CONFLICT DO UPDATE of every row of ``rows_from``, leaving alone a row whose values did not change.

    Rows go in in key order (a file's later row after its earlier one); the
    one parameter is their ``ingest_id``.
    """
    spec = TABLES[table]
    keys = [spec.pk] if isinstance(spec.pk, str) else list(spec.pk)
    data = [column for column in columns if column not in keys]
    named = ", ".join(f'"{column}"' for column in columns)
    conflict = ", ".join(f'"{key}"' for key in keys)
    # WHERE true: without it, ON CONFLICT would read as a join's ON.
    rows = f"select {named}, ? from {rows_from} where true order by {conflict}, rowid"
    insert = f'insert into {table} ({named}, "ingest_id") {rows} on conflict({conflict})'
    if not data:
        return f"{insert} do nothing"
    new = {column: f'excluded."{column}"' for column in data + ["ingest_id"]}
    if CUSTOM_FIELDS in new:
        # The file's custom fields merge into the row's: a field it leaves out stays, one it gives empty (null) goes.
        new[CUSTOM_FIELDS] = f"nullif(json_patch(coalesce({table}.\"{CUSTOM_FIELDS}\", '{{}}'), excluded.\"{CUSTOM_FIELDS}\"), '{{}}')"
    sets = ", ".join(f'"{column}" = {value}' for column, value in new.items())
    changed = " or ".join(f'{table}."{column}" is not {new[column]}' for column in data)
    return f"{insert} do update set {sets} where {changed}"


def _tidy_custom_fields_sql(table: str) -> str:
    """The UPDATE that drops the empty fields (nulls) of the custom fields the upsert inserted with new rows."""
    tidy = f"nullif(json_patch('{{}}', \"{CUSTOM_FIELDS}\"), '{{}}')"
    return f'update {table} set "{CUSTOM_FIELDS}" = {tidy} where ingest_id = ? and "{CUSTOM_FIELDS}" is not {tidy}'


class Written:
    """What an upsert changed, counted before any tidying after it (`counted_changes` reads ``rowcount``)."""

    def __init__(self, rowcount: int):
        self.rowcount = rowcount


class StagedRows:
    """A file's rows, held in a temporary table until the whole file has been read, and their keys (`repeats`).

    Upserted in file order, a million rows land at random places in the
    table's key and each of its indexes, and SQLite's page cache thrashes.
    Appended to a scratch table instead and then upserted by one INSERT …
    SELECT … ORDER BY key, they go into the key in order and into the indexes
    nearly so (1,000,000 usage rows: 4.7 s of CPU instead of 17 s).
    """

    def __init__(self, conn, table: str, columns: list[str], ingest_id: int):
        self.conn, self.table, self.columns, self.ingest_id = conn, table, columns, ingest_id
        conn.execute("DROP TABLE IF EXISTS temp.staged_rows")
        conn.execute(f"CREATE TEMP TABLE staged_rows ({', '.join(f'[{column}]' for column in columns)})")
        self.insert = f"INSERT INTO temp.staged_rows VALUES ({', '.join('?' for _ in columns)})"
        self.rows = 0
        # The months the file holds rows of, for tables kept by month.
        self.periods: set[str] | None = set() if "period" in columns else None
        self.period_of = operator.itemgetter(columns.index("period")) if "period" in columns else None
        keys = TABLES[table].pk
        self.repeats = RepeatedKeys(columns, [keys] if isinstance(keys, str) else list(keys))

    def add(self, batch: list[tuple], lines: list[int]) -> None:
        """Stage a batch of rows, given as tuples of ``columns``, from the file's ``lines``."""
        self.conn.executemany(self.insert, batch)
        self.rows += len(batch)
        if self.periods is not None:
            self.periods.update(map(self.period_of, batch))
        self.repeats.add(batch, lines)

    def write(self) -> Written:
        """Upsert the staged rows into the table, in key order; what it changed, for the caller to count
        (`counted_changes`)."""
        # The rows arrive in key order but not in the order of the other indexes (`database.bulk`).
        with indexes_built_after(self.conn, self.table, self.rows):
            cursor = self.conn.execute(_upsert_sql(self.table, self.columns, "temp.staged_rows"), [self.ingest_id])
            rowcount = cursor.rowcount
            if CUSTOM_FIELDS in self.columns:
                self.conn.execute(_tidy_custom_fields_sql(self.table), [self.ingest_id])
        return Written(rowcount)

    def changed_periods(self, changes: int) -> set[str] | None:
        """The months in which the write changed a row (None for a table not kept by month).

        What `refresh_derived` needs to refresh only those months: a file of
        every month in which one month changed refreshes that month alone.
        """
        if self.periods is None or changes == 0:
            return None if self.periods is None else set()
        if changes >= self.rows:
            return set(self.periods)  # every row was new or changed
        # A row this ingest wrote carries its id: look for one in each month, through the period index.
        exists = f"SELECT EXISTS (SELECT 1 FROM [{self.table}] WHERE period = ? AND ingest_id = ?)"
        return {period for period in self.periods if self.conn.execute(exists, [period, self.ingest_id]).fetchone()[0]}

    def drop(self) -> None:
        self.conn.execute("DROP TABLE IF EXISTS temp.staged_rows")
