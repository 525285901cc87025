"""Where the table is in a sheet people keep: the header below the titles, the data above the totals and notes.

A stack inventory kept for years in a spreadsheet grows a title above its
header ("Marketing tools", "Last updated 3 March", a merged banner), blank
rows, and below its data a totals row and a note or two ("Prices exclude
VAT"). The readers (`csv_text`, `workbooks`) find the table in it with a
`TableShape`, which the loader makes from the kind's columns:

- **The header** is the first row that names every column the kind requires
  (by name or alias). Below other rows, it is the header only when it is
  clearly one: it names two columns the kind knows at least and each row
  above it holds two values at most (a title, "Last updated" and a date, a
  merged banner), or it has two values at least and each row above one (a
  title over ``Tool,Tier``); up to `MAX_ROWS_ABOVE` rows above. The rows above it are
  skipped and listed. If there is no such row, the first row is the header,
  as it always was (and the missing columns are reported: a data row that
  happens to say "Software" never becomes the header). ``header_row`` forces
  a line.
- **A totals row** is skipped wherever it is: its first value is a total's
  label (``Total``, ``Totals``, ``Sum``, any case, with a colon, a bracket
  or a dash after it: ``Total (USD)``; anything starting ``Grand total`` or
  ``Subtotal``; anything ending in ``total``: ``Analytics subtotal``; but a
  tool called "Total Expert" is a tool), or the columns that name the row
  are empty and each of its values is the sum of its column above (in the
  first `SUMMED_ROWS` rows).
- **A note** is a row with a single value, in words, that comes after the
  last row with two or more values (only blank rows, totals and other such
  rows follow it). A single value in the column that names the row is a row
  with only a name (a tool nobody has filled in yet) unless it reads as a
  sentence: see `reads_as_note`. From the first note on, every such row is a
  note too. A single value between fuller rows is always data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Iterator

from .. import normalise as n
from .kinds import Kind, header_key
from .source_file import ReadError, Record

#: How many rows (not counting blank ones) may sit above the header.
MAX_ROWS_ABOVE = 30
#: While a file has at most this many rows, its columns are summed, to tell a totals row with no label;
#: past it (a usage file of a million rows) only a labelled one is.
SUMMED_ROWS = 10_000
#: A block of single-value rows longer than this is data, not notes.
MAX_NOTE_ROWS = 1_000

#: The first letters a total's label starts with, to pass over other rows without matching `TOTAL_LABEL` (a row
#: that names itself in two required columns and ends its first cell in "total" is the one it misses).
TOTAL_START = frozenset("tTgGsSoO ")
TOTAL_LABEL = re.compile(
    r"^(?:(?:grand|sub|overall)[\s\-]*totals?\b.*"      # Grand total, Subtotal: Analytics, Sub-total (EUR)
    r"|(?:totals?|sum)\s*(?:[:(\-\u2013].*)?"          # Total, TOTALS, Sum, Total: 2026, Total (USD), Total - all
    r"|.*\s(?:sub[\s\-]*)?totals?:?)$",                   # Analytics subtotal, Marketing total
    re.IGNORECASE,
)
#: The small words a product's name may hold in lower case ("Sales Navigator for LinkedIn").
NAME_CONNECTORS = frozenset({"for", "of", "and", "by", "&", "+", "de", "la", "le", "on"})
#: Words that alone are a remark on the sheet, never a tool's name.
NOTE_WORDS = frozenset({"confidential", "internal", "draft", "notes", "note", "end", "tbc", "tbd", "n/a"})
#: A name has at most this many words; a longer single value is a sentence.
MAX_NAME_WORDS = 6


@dataclass(frozen=True)
class TableShape:
    """What a reader needs to find a kind's table in a sheet: its required columns, and the column that names a row.

    ``required``: for each required column, every header key (`kinds.header_key`)
    that names it; ``names``: the header keys of the columns that identify a
    row; ``header_row``: the header's line, when a person says where it is.
    """

    required: tuple[frozenset[str], ...] = ()
    names: frozenset[str] = frozenset()
    header_row: int | None = None
    known: frozenset[str] = frozenset()  # every header key the kind knows

    def is_header(self, cells: Iterable[str]) -> bool:
        """Whether a row names every column the kind requires."""
        keys = {header_key(cell) for cell in cells if cell and cell.strip()}
        return bool(self.required) and all(keys & accepted for accepted in self.required)

    def is_header_below(self, cells: list[str], above: list[list[str]]) -> bool:
        """Whether a row below others is clearly the header: it names every required column, and either
        it names two columns the kind knows and each row above holds two values at most (a title,
        "Last updated" and a day, a merged banner), or it has two values and each row above one (a title)."""
        keys = {header_key(cell) for cell in cells if cell and cell.strip()}
        widths = [len({cell.strip() for cell in row if cell and cell.strip()}) for row in above]
        return self.is_header(cells) and (
            (len(keys & self.known) >= 2 and all(width <= 2 for width in widths))
            or (len(keys) >= 2 and all(width <= 1 for width in widths))
        )


def shape_of(kind: Kind, header_row: int | None = None) -> TableShape:
    """The shape of ``kind``'s table: its required columns, and the column that names each row
    (the kind's names column, else its required columns)."""
    def keys(name: str) -> frozenset[str]:
        column = kind.column(name)
        return frozenset(header_key(header) for header in (column.name, *column.aliases))

    required = tuple(keys(column.name) for column in kind.columns if column.required)
    names = keys(kind.names_column) if kind.names_column else frozenset().union(*required)
    known = frozenset().union(*(keys(column.name) for column in kind.columns))
    return TableShape(required=required, names=names, header_row=header_row, known=known)


@dataclass
class Skipped:
    """A row the reader left out, and why."""

    line: int
    what: str  # "above the header", "a totals row", "a note"
    text: str


def row_text(cells: Iterable[object]) -> str:
    """A row as one line for people: its values, without the empty ones (a merged banner's value once)."""
    values = [str(cell).strip() for cell in cells if cell is not None and str(cell).strip()]
    text = " | ".join(value for i, value in enumerate(values) if i == 0 or value != values[i - 1])
    return text if len(text) <= 80 else text[:77] + "..."


def is_blank(cells: Iterable[object]) -> bool:
    return not any(cell is not None and str(cell).strip() for cell in cells)


def split_header(rows: Iterator[tuple[int, list[str]]], shape: TableShape | None, file: str,
                 skipped: list[Skipped]) -> tuple[int, list[str], Iterator[tuple[int, list[str]]]] | None:
    """The header row's line and cells, and the rows after it; None for a file with no row at all.

    Without a shape the first row that holds anything is the header. The rows
    left out above the header go to ``skipped``.
    """
    held: list[tuple[int, list[str]]] = []
    for line, cells in rows:
        if shape is not None and shape.header_row is not None:
            if line < shape.header_row:
                if not is_blank(cells):
                    held.append((line, cells))
                continue
            if line > shape.header_row or is_blank(cells):
                raise ReadError(file, shape.header_row, f"--header-row {shape.header_row}: that line is "
                                f"{'blank' if line == shape.header_row else 'blank or inside a value'}: "
                                "give the line of the header")
            skipped.extend(Skipped(above, "above the header", row_text(above_cells)) for above, above_cells in held)
            return line, cells, rows
        if is_blank(cells):
            continue
        if shape is None or not shape.required or (shape.is_header_below(cells, [row for _, row in held])
                                                   if held else shape.is_header(cells)):
            skipped.extend(Skipped(above, "above the header", row_text(above_cells)) for above, above_cells in held)
            return line, cells, rows
        held.append((line, cells))
        if len(held) > MAX_ROWS_ABOVE or len({cell.strip() for cell in cells if cell and cell.strip()}) > 2:
            break  # no title has so many values: this row is the header (or data), and the header is not below
    if shape is not None and shape.header_row is not None:
        raise ReadError(file, shape.header_row, f"--header-row {shape.header_row}: the file has no such line")
    if not held:
        return None
    # No row names the required columns: the first is the header, as in a file without titles, and the loader
    # says which columns it lacks.
    (line, cells), rest = held[0], held[1:]
    return line, cells, _chain(rest, rows)


def _chain(first: list, rest: Iterator) -> Iterator:
    yield from first
    yield from rest


def header_line_note(file: str, header_line: int, skipped: list[Skipped]) -> str | None:
    """What the output says when the header was not the first line: which line it took, and what it skipped."""
    above = [row for row in skipped if row.what == "above the header"]
    if header_line <= 1:
        return None
    blank = header_line - 1 - len(above)
    shown = "; ".join(f"line {row.line}: {row.text!r}" for row in above[:5]) + (" ..." if len(above) > 5 else "")
    parts = [f"{len(above)} row{'s' if len(above) != 1 else ''}" + (f" ({shown})" if above else "")]
    if blank > 0:
        parts.append(f"{blank} blank line{'s' if blank != 1 else ''}")
    return (f"{file}: took line {header_line} as the header; skipped {' and '.join(parts)} above it "
            f"(--header-row N says which line it is)")


def trimmed_records(records: Iterator[tuple[int, Record]], headers: list[str], shape: TableShape | None,
                    skipped: list[Skipped]) -> Iterator[tuple[int, Record]]:
    """``records`` without their totals rows and the notes after the data (noted in ``skipped``)."""
    if shape is None or not shape.required:
        yield from records
        return
    keys = {header: header_key(header) for header in headers}
    naming = [header for header in headers if keys[header] in shape.names]
    required = [header for header in headers if any(keys[header] in accepted for accepted in shape.required)]
    several_required = len(shape.required) >= 2
    first_header = headers[0] if headers else None
    # The two required columns the fast path reads (a usage row's team and tool).
    one, two = (required + [None, None])[:2] if several_required else (None, None)
    sums = ColumnSums()
    pending: list[tuple[int, Record, str, str]] = []  # single-value rows after the last fuller one
    for line, record in records:
        # The hot loop (a usage file of a million rows passes here): a row that names itself in two required
        # columns, and whose first cell cannot start a total's label, is data at once.
        if one is not None:
            a, b, first = record.get(one), record.get(two), record.get(first_header)
            if (a.__class__ is str and a and b.__class__ is str and b and not pending
                    and (first.__class__ is not str or first[:1] not in TOTAL_START) and a.strip() and b.strip()):
                if sums.rows <= SUMMED_ROWS:  # one past the limit, it forgets the sums
                    sums.add(record)
                yield line, record
                continue
        values = [(header, value) for header, value in record.items() if _filled(value)]
        if not values:
            continue
        if TOTAL_LABEL.match(str(values[0][1]).strip()):
            skipped.append(Skipped(line, "a totals row", row_text(value for _, value in values)))
            continue
        if not any(_filled(record.get(header)) for header in naming) and sums.are_totals(values):
            skipped.append(Skipped(line, "a totals row", row_text(value for _, value in values)))
            continue
        if len(values) == 1 and len(headers) >= 2:
            header, value = values[0]
            pending.append((line, record, header, str(value)))
            if len(pending) > MAX_NOTE_ROWS:
                yield from _flush(pending, sums)
            continue
        yield from _flush(pending, sums)
        sums.add(record)
        yield line, record
    # The single-value rows after the last fuller row: data up to the first that reads as a note, notes from it on.
    noting = False
    for line, record, header, value in pending:
        # Words, not a lone figure: a number with no name is a broken row (or a total that does not add up).
        noting = noting or any(char.isalpha() for char in value) and (
            several_required or header not in naming or reads_as_note(value))
        if noting:
            skipped.append(Skipped(line, "a note", row_text([value])))
        else:
            yield line, record


def _flush(pending: list, sums: "ColumnSums") -> Iterator[tuple[int, Record]]:
    for line, record, _, _ in pending:
        sums.add(record)
        yield line, record
    pending.clear()


def _filled(value: object) -> bool:
    return value is not None and (value.strip() != "" if isinstance(value, str) else True)


def reads_as_note(value: str) -> bool:
    """Whether a lone value below the data reads as a remark on the sheet rather than a name.

    A remark ends like a sentence (``.`` ``!`` ``?`` ``:``), holds a colon,
    starts with a mark (``*``, ``†``, ``(``), has more words than a name, is a
    word such as ``Confidential``, or has a word in lower case that a product's
    name would not ("Prices exclude VAT"; "Sales Navigator for LinkedIn" and
    "monday.com" are names).
    """
    text = value.strip()
    if not text:
        return False
    if text[-1] in ".!?:;" or ": " in text or not (text[0].isalnum()):
        return True
    words = text.split()
    if len(words) > MAX_NAME_WORDS or (len(words) == 1 and text.casefold() in NOTE_WORDS):
        return True
    return any(word.isalpha() and word.islower() and word not in NAME_CONNECTORS for word in words[1:])


class ColumnSums:
    """The sum of each column's numbers so far, to tell a totals row that has no label."""

    def __init__(self):
        self.sums: dict[str, float] = {}
        self.rows = 0

    def add(self, record: Record) -> None:
        self.rows += 1
        if self.rows > SUMMED_ROWS:
            self.sums.clear()
            return
        for header, value in record.items():
            number = _number(value)
            if number is not None:
                self.sums[header] = self.sums.get(header, 0.0) + number

    def are_totals(self, values: list[tuple[str, object]]) -> bool:
        """Whether every value is a number, equal to the sum of its column above (and there is a row above)."""
        if not self.rows or self.rows > SUMMED_ROWS:
            return False
        for header, value in values:
            number = _number(value)
            if number is None or header not in self.sums or abs(self.sums[header] - number) > max(0.01, abs(number) * 1e-9):
                return False
        return True


def _number(value: object) -> float | None:
    """A cell's number (an amount of money too), or None."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, str) or not value.strip() or not any(char.isdigit() for char in value):
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return n.parse_money(value)[0]
    except n.BadValue:
        return None
