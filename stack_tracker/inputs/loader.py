"""Load the records of one file: map its headers, convert each record, stage the rows, write them, check them.

`FileLoader` drives one file through the pieces below it: a `Converter` with
the kind's rules (`kind_rules.converter_for`) turns records into rows and
never writes; `StagedRows` holds the rows until the file has been read
clean; then the names the file added (`NewNames`) and its rows are written
in one step, the rows counted by `runs.counted_changes`. Checks that need
the whole file (a key given twice, a team above itself) run after.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Callable, Iterable

import sqlite_utils

from ..database.custom_fields import custom_field_counts
from ..database.names import Resolver
from ..database.schema import CUSTOM_FIELDS
from . import kinds as k
from .conversion import Options
from .kind_rules import converter_for
from .readers import Source, open_source
from .rows import StagedRows
from .runs import ChangeCounts, counted_changes
from .table_bounds import header_line_note, shape_of

BATCH_SIZE = 5_000
TABLE_FORMATS = ("csv", "tsv", "xlsx")


class FileLoader:
    """Validates and writes the records of one file, inside the caller's transaction."""

    def __init__(self, db: sqlite_utils.Database, kind: k.Kind, file: str, ingest_id: int, options: Options):
        self.db, self.kind, self.file, self.ingest_id, self.options = db, kind, file, ingest_id, options
        self.resolver = Resolver(db)
        self.converter, self.rules = converter_for(kind, file, options, self.resolver)
        self.problems = self.converter.problems
        self.warnings: list[str] = []
        self.rows_read = 0
        self.rejected_rows = 0
        self.keys: dict[str, str] = {}  # column -> its key in each record
        self.headed: set[str] = set()  # the columns a table's header names
        self.custom: dict[str, str] = {}  # the file's header -> the custom field it feeds (kinds that keep them)
        self.shape = shape_of(kind, options.header_row)  # how to find the table in a sheet people keep
        self.notes: list[str] = []  # what the output says about how the file was read (the header it took)
        self.staged: StagedRows | None = None
        self.counts = ChangeCounts()  # what the upsert of the file's rows changed
        self.changed_periods: set[str] | None = None  # the months the file changed, for tables kept by month

    def map_headers(self, headers: list[str], line: int = 1) -> dict[str, str]:
        """File header -> column; keeps unknown headers as custom fields (or warns), rejects duplicates and missing ones.

        ``line``: the header's line in the file.
        """
        accepted = k.header_map(self.kind)
        mapping: dict[str, str] = {}
        seen: dict[str, str] = {}
        known_fields = self.known_custom_fields() if self.kind.custom_fields else {}
        custom_seen: dict[str, str] = {}
        for header in headers:
            column = accepted.get(k.header_key(header))
            if column is None:
                if header.strip() and self.kind.custom_fields:
                    key = k.header_key(header)
                    if key in custom_seen:
                        self.problems.add(line, header.strip(), header, f"two columns mean the same custom field: "
                                                                     f"{custom_seen[key]!r} and {header!r}; keep one")
                    else:
                        custom_seen[key] = header
                        # A field already kept under another spelling ("Data classification", "data_classification") is that field.
                        self.custom[header] = known_fields.get(key, header.strip())
                elif header.strip():
                    self.warnings.append(f"{self.file}: column {header.strip()!r} is not a {self.kind.name} column and was ignored")
                continue
            if column in seen:
                self.problems.add(line, column, header, f"two columns mean {column}: {seen[column]!r} and {header!r}; keep one")
                continue
            seen[column] = header
            mapping[header] = column
        self.headed = set(seen)
        # One value where the header should be: a title, with the header further down than the reader looks.
        title = "; is the header below a title? --header-row N gives its line" if sum(1 for h in headers if h.strip()) == 1 else ""
        for column in self.kind.columns:
            if column.required and column.name not in seen:
                self.problems.add(
                    line, column.name, None,
                    f"required column not found (accepted headers: {', '.join((column.name,) + column.aliases)}){title}",
                )
        return mapping

    def known_custom_fields(self) -> dict[str, str]:
        """The custom fields the kind's table holds already, by the key their header has (`kinds.header_key`)."""
        return {k.header_key(name): name for name in custom_field_counts(self.db, self.kind.table)}

    def describe_layout(self, source: Source) -> None:
        """Say which line was the header and which rows were left out: titles above it, totals and notes."""
        note = header_line_note(self.file, source.header_line, source.skipped)
        if note:
            self.notes.append(note)
        for what, one, many in (("a totals row", "a totals row", "totals rows"),
                                ("a note", "a note below the data", "notes below the data")):
            rows = [row for row in source.skipped if row.what == what]
            if rows:
                listed = "; ".join(f"line {row.line}: {row.text!r}" for row in rows[:5]) + (" ..." if len(rows) > 5 else "")
                self.warnings.append(f"{self.file}: left out {one if len(rows) == 1 else f'{len(rows)} {many}'} ({listed}): "
                                     f"not {self.kind.name} rows")

    def load(self, source: Source, progress: Callable[[int, int], None] | None = None) -> None:
        """Convert every record and stage it while the file is still clean; then write the new names and the staged rows."""
        records = source.records
        first = next(records, None)
        if first is not None:
            # A table's headers are known once its first row is read: only then can a kind read another layout.
            source.records = itertools.chain([first], records)
            self.rules.reshape(source)
            records = source.records
            first = next(records, None)
        if source.format in TABLE_FORMATS:
            self.keys = {column: header for header, column in self.map_headers(source.headers, source.header_line).items()}
            if self.problems:
                return  # without the columns it needs, no row can be read
        else:
            self.keys = {column.name: column.name for column in self.kind.columns}
        if first is None:
            return
        self.converter.plan(self.keys, self.custom)
        columns = table_columns(self.kind, set(self.keys), self.rules.derived_columns) + ([CUSTOM_FIELDS] if self.custom else [])
        self.staged = StagedRows(self.db.conn, self.kind.table, columns, self.ingest_id)
        try:
            self.stage(itertools.chain([first], records), source, progress, fields=source.format not in TABLE_FORMATS)
            if not self.problems:
                self.converter.new_names.write(self.db, self.ingest_id)
                with counted_changes(self.db, self.kind.table) as self.counts:
                    self.counts.add(self.staged.write())
                self.changed_periods = self.staged.changed_periods(self.counts.written)
        finally:
            self.staged.drop()
        if progress:
            progress(source.size, source.size)

    def stage(self, records: Iterable[tuple[int, dict]], source: Source, progress, *, fields: bool) -> None:
        """Convert each record (``fields``: a JSON object, whose keys are mapped here) and stage its row, in batches.

        Once the file has a problem, rows are still converted, to list every
        problem, but no longer staged.
        """
        # The hot loop: a million rows pass here, so it is written out, not split into calls.
        convert, problems, staged = self.converter.convert, self.problems, self.staged
        columns = staged.columns
        accepted = k.header_map(self.kind)
        json_headers: dict[str, str | None] = {}
        batch: list[tuple] = []
        batch_lines: list[int] = []
        count = 0
        try:
            for count, (line, record) in enumerate(records, start=1):
                if fields:
                    mapped = {}
                    for key, value in record.items():
                        if key not in json_headers:
                            json_headers[key] = accepted.get(k.header_key(key))
                            if json_headers[key] is None:
                                self.warnings.append(f"{self.file}: field {key!r} is not a {self.kind.name} field and was ignored")
                        column = json_headers[key]
                        if column in mapped:  # as two headers meaning one column are, in a table
                            first = next(other for other in record if json_headers[other] == column)
                            problems.add(line, column, key, f"two fields mean {column}: {first!r} and {key!r}; keep one")
                        elif column:
                            mapped[column] = value
                    record = mapped
                values = convert(line, record)
                if values is not None and not problems:
                    batch.append(tuple(map(values.get, columns)))
                    batch_lines.append(line)
                elif values is None:
                    self.rejected_rows += 1
                if len(batch) >= BATCH_SIZE:
                    if not problems:
                        staged.add(batch, batch_lines)
                    batch.clear()
                    batch_lines.clear()
                    if progress:
                        progress(source.bytes_read, source.size)
            if batch and not problems:
                staged.add(batch, batch_lines)
        finally:
            self.rows_read = count

    def check_repeated_keys(self, path: Path, fmt: str | None) -> None:
        """A row key (team, tool and month; a tool's name …) given twice in the file with other values is a problem.

        Which of the two would win is an accident of order, so neither does:
        both lines are named. The same row twice over is only a warning.
        """
        if self.staged is None or self.counts.written == 0:
            return  # nothing changed: a row given twice can only have repeated what the database holds
        repeats = self.staged.repeats
        if len(repeats) == self.counts.inserted:
            return  # every row written was a new one, so no key came twice
        groups = repeats.repeated_lines()
        if not groups:
            return
        values_at = self.values_at(path, fmt, {line for lines in groups for line in lines})
        key_columns = [self.kind.names_column if key == "slug" else key for key in repeats.key_names]
        # The key as the file gives it: a column it leaves to its default (usage's source) goes unsaid.
        shown_columns = [column for column in key_columns if self.kind.column(column).required or column in self.headed]
        for lines in groups:
            first_line = lines[0]
            first = values_at.get(first_line)
            for line in lines[1:]:
                values = values_at.get(line)
                if first is None or values is None or repeats.key_of(repeats.row(first)) != repeats.key_of(repeats.row(values)):
                    continue  # two keys whose hashes happen to be equal
                differences = [
                    f"{column} {_shown(first.get(column))} on line {first_line}, {_shown(values.get(column))} here"
                    for column in repeats.columns if column not in repeats.key_names and first.get(column) != values.get(column)
                ]
                if differences:
                    key = [values.get("slug" if column == self.kind.names_column else column) for column in shown_columns]
                    self.problems.add(
                        line, ", ".join(shown_columns), key if len(key) > 1 else key[0],
                        f"already on line {first_line} with other values ({'; '.join(differences)}): "
                        "a file gives each row once; keep the right one",
                    )
                else:
                    self.converter.warn_row(line, "the same row as an earlier line, loaded once")

    def values_at(self, path: Path, fmt: str | None, lines: set[int]) -> dict[int, dict[str, object]]:
        """The converted values of the records on ``lines``, read again from the file by a fresh converter, quietly.

        It shares the resolver, which knows every name the file gave; its own
        problems, odd rows and new names go with it.
        """
        converter, _ = converter_for(self.kind, self.file, self.options, self.resolver)
        converter.plan(self.keys, self.custom)
        found: dict[int, dict[str, object]] = {}
        with open_source(path, fmt, sheet=self.options.sheet, shape=self.shape) as source:
            accepted = None if source.format in TABLE_FORMATS else k.header_map(self.kind)
            for line, record in source.records:
                if line not in lines:
                    continue
                if accepted is not None:
                    record = {accepted[k.header_key(key)]: value for key, value in record.items() if k.header_key(key) in accepted}
                values = converter.convert(line, record)
                if values is not None:
                    found[line] = values
                if len(found) == len(lines):
                    break
        return found

    def finish(self) -> None:
        """Checks that can only run once the whole file has been read and written; the warnings about its rows."""
        file_warnings = self.rules.check_file(self.db, self.ingest_id)
        self.warnings += self.converter.row_warning_texts()
        self.warnings += file_warnings


def table_columns(kind: k.Kind, present: set[str], derived_columns: dict[str, str]) -> list[str]:
    """The table columns a file writes: the ones it has, keys, columns with defaults, and what the kind derives."""
    columns = []
    for column in kind.columns:
        if column.name in present or column.required or column.name in kind.defaults:
            if kind.names_column == column.name:
                columns += ["slug", "name"]
            else:
                columns.append(column.name)
    for source_column, derived in derived_columns.items():
        if source_column in columns and derived not in columns:
            columns.append(derived)
    return columns


def _shown(value: object) -> str:
    return "(empty)" if value is None else json.dumps(value, ensure_ascii=False) if isinstance(value, str) else str(value)
