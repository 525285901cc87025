"""What the command line prints or writes: report rows as a terminal table,
Markdown, CSV or JSON, and output files written whole or not at all."""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path

from .database import database_files
from .errors import StackTrackerError

# One definition of a spreadsheet-safe cell, shared with the published site's CSV exports.
from .site.plugins.safe_csv import spreadsheet_safe

FORMATS = ("table", "markdown", "csv", "json")


def display(value: object) -> str:
    """A value as a person reads it in a table: floats to two places, nothing for null."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def for_people(rows: list[dict]) -> list[dict]:
    """Rows as people read them: a slug column shows the display name the row
    carries beside it (``tool`` shows ``tool_name``), and the name is not repeated."""
    if not rows:
        return rows
    named = {column for column in rows[0] if f"{column}_name" in rows[0]}
    names = {f"{column}_name" for column in named}
    return [
        {column: row[f"{column}_name"] if column in named else value
         for column, value in row.items() if column not in names}
        for row in rows
    ]


def render(rows: list[dict], fmt: str) -> str:
    """``rows`` in ``fmt``: one of table, markdown, csv, json. Programs get every
    column (slugs and names); the table and Markdown show names (`for_people`)."""
    if fmt == "json":
        return json.dumps(rows, indent=2, ensure_ascii=False) + "\n"
    if not rows:
        return "" if fmt == "csv" else "(no rows)\n"
    if fmt in ("table", "markdown"):
        rows = for_people(rows)
    columns = list(rows[0])
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([spreadsheet_safe(row[column]) for column in columns] for row in rows)
        return buffer.getvalue()
    cells = [[display(row[column]) for column in columns] for row in rows]
    numeric = [
        any(isinstance(row[column], (int, float)) for row in rows)
        and all(isinstance(row[column], (int, float)) or row[column] is None for row in rows)
        for column in columns
    ]
    if fmt == "markdown":
        escape = lambda text: text.replace("|", "\\|").replace("\n", " ")  # noqa: E731
        lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---:" if num else "---" for num in numeric) + "|"]
        lines += ["| " + " | ".join(escape(cell) for cell in row) + " |" for row in cells]
        return "\n".join(lines) + "\n"
    widths = [max(len(column), *(len(row[i]) for row in cells)) for i, column in enumerate(columns)]
    align = lambda text, i: text.rjust(widths[i]) if numeric[i] else text.ljust(widths[i])  # noqa: E731
    lines = ["  ".join(align(column, i) for i, column in enumerate(columns)).rstrip()]
    lines.append("  ".join("-" * width for width in widths))
    lines += ["  ".join(align(cell, i) for i, cell in enumerate(row)).rstrip() for row in cells]
    return "\n".join(lines) + "\n"


def refuse_database_files(path: Path, *, db_path: Path) -> None:
    """Raise if ``path`` is the database or one of its files (its key, its journal): output never goes there."""
    for own in database_files(db_path):
        if Path(path).resolve() == own.resolve():
            raise StackTrackerError(f"{path} is {'the database' if own == Path(db_path) else 'a file of the database'}"
                                    f" {Path(db_path).name}: give the output another name")


def write_output(path: Path, text: str | bytes, *, db_path: Path) -> None:
    """Write ``text`` (or bytes: an image) to ``path``, never over the database or its files, and never half a file."""
    path = Path(path)
    refuse_database_files(path, db_path=db_path)
    descriptor, scratch = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with (os.fdopen(descriptor, "wb") if isinstance(text, bytes) else os.fdopen(descriptor, "w", encoding="utf-8")) as file:
            file.write(text)
        os.replace(scratch, path)
    finally:
        Path(scratch).unlink(missing_ok=True)
