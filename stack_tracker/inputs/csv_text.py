"""CSV and TSV files read as records keyed by their header row.

A value past the header's last column, a quote never closed, or text after a
closing quote is an error that says where, not a row quietly read askew.
"""

from __future__ import annotations

import csv
import io
from typing import Iterator

from .source_file import ReadError, Record, Source, decoding_error
from .table_bounds import TableShape, split_header, trimmed_records


#: The longest value a CSV field may hold. csv's own default (128 KiB) refuses
#: long notes people really write; a limit still stops one unclosed quote from
#: reading a whole large file into memory as a single value.
MAX_FIELD_CHARS = 16 * 1024 * 1024
csv.field_size_limit(max(csv.field_size_limit(), MAX_FIELD_CHARS))
#: The lines read first, to find the header below any title rows and tell the delimiter from it.
HEAD_LINES = 64


def _csv_problem(error: csv.Error, start: int, line: int) -> tuple[int, str]:
    """Where a csv module error is, and what it means: ``start`` is the line its record starts on."""
    text = str(error)
    if "unexpected end of data" in text:
        return start, "a quoted value starts in this record and is never closed: is its closing quote missing?"
    if "expected after" in text:
        return line, "text after a closing quote: quote the whole value and double any quote inside it (\"\")"
    if "field larger than field limit" in text:
        return start, f"a value in this record runs on for more than {MAX_FIELD_CHARS:,} characters: is a closing quote missing?"
    return line, text


def csv_records(source: Source, text: io.TextIOBase, shape: TableShape | None = None) -> Iterator[tuple[int, Record]]:
    """The rows of a CSV or TSV file after its header row; a row of blank values is passed over.

    The delimiter follows ``source.format``, unless the header shows the file
    uses another (a semicolon, as spreadsheets in some locales save, or a tab).
    With a ``shape`` (`table_bounds`), the header is the first row that names
    the kind's required columns, below any title rows, and totals rows and
    notes after the data are left out; each row left out is noted in
    ``source.skipped``.
    """
    name = source.path.name
    head: list[str] = []
    try:
        while len(head) < HEAD_LINES:
            line = text.readline()
            if not line:
                break
            head.append(line)
            if shape is None:
                break
    except UnicodeDecodeError as error:
        raise decoding_error(source, len(head) + 1, error) from None
    if not head or not head[0].strip() and (shape is None or not any(line.strip() for line in head)):
        raise ReadError(name, 1, "the file is empty: expected a header row")
    delimiter = _delimiter(source.format, head, shape)
    # strict: a quoted value still open when the file ends is an error, not a
    # value that quietly swallows every line after its opening quote.
    reader = csv.reader(_chain(head, text), delimiter=delimiter, strict=True)
    start = 1

    def rows() -> Iterator[tuple[int, list[str]]]:
        nonlocal start
        for row in reader:
            line, start = start, reader.line_num + 1
            yield line, row

    try:
        found = split_header(rows(), shape, name, source.skipped)
        if found is None:
            raise ReadError(name, 1, "the file is empty: expected a header row")
        source.header_line, headers, rest = found
        source.headers = headers
        yield from trimmed_records(_records(name, headers, rest), headers, shape, source.skipped)
    except csv.Error as error:
        line, problem = _csv_problem(error, start, reader.line_num)
        raise ReadError(name, line, f"not readable as {source.format.upper()}: {problem}") from None
    except UnicodeDecodeError as error:
        raise decoding_error(source, reader.line_num + 1, error) from None


def _records(name: str, headers: list[str], rows: Iterator[tuple[int, list[str]]]) -> Iterator[tuple[int, Record]]:
    for line, row in rows:
        if not any(map(str.strip, row)):  # map, not a generator: this runs for every row
            continue
        if len(row) > len(headers):
            extra = row[len(headers):]
            if any(cell.strip() for cell in extra):
                raise ReadError(name, line, f"{len(row)} fields but the header has {len(headers)}; is a value missing its quotes?")
        yield line, dict(zip(headers, row))


def _delimiter(fmt: str, head: list[str], shape: TableShape | None) -> str:
    """The delimiter: a tab for TSV; for CSV a comma, unless the header line shows a semicolon or a tab.

    Which line is the header depends on the delimiter, so with a ``shape``
    each delimiter is tried on the first lines until one finds the header.
    """
    if fmt == "tsv":
        return "\t"
    if shape is not None and shape.header_row is None and shape.required:
        for delimiter in (",", ";", "\t"):
            try:
                rows = list(csv.reader(head, delimiter=delimiter))
            except csv.Error:
                continue
            if any(shape.is_header(row) for row in rows):
                return delimiter
    if shape is not None and shape.header_row is not None and shape.header_row <= len(head):
        first = head[shape.header_row - 1]
    else:
        first = next((line for line in head if line.strip()), "")
    if "," not in first and first.count(";") >= 1:
        return ";"  # a spreadsheet saved with a semicolon list separator
    if "," not in first and "\t" in first:
        return "\t"  # tab-separated text given a .csv name
    return ","


def _chain(first: list[str], rest: io.TextIOBase) -> Iterator[str]:
    """The header line, already read to tell the delimiter, then the rest of the file."""
    yield from first
    yield from rest
