"""CSV and TSV files read as records keyed by their header row.

A value past the header's last column, a quote never closed, or text after a
closing quote is an error that says where, not a row quietly read askew.
"""

from __future__ import annotations

import csv
import io
from typing import Iterator

from .source_file import ReadError, Record, Source, decoding_error


#: The longest value a CSV field may hold. csv's own default (128 KiB) refuses
#: long notes people really write; a limit still stops one unclosed quote from
#: reading a whole large file into memory as a single value.
MAX_FIELD_CHARS = 16 * 1024 * 1024
csv.field_size_limit(max(csv.field_size_limit(), MAX_FIELD_CHARS))


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


def csv_records(source: Source, text: io.TextIOBase) -> Iterator[tuple[int, Record]]:
    """The rows of a CSV or TSV file after its header row; a row of blank values is passed over.

    The delimiter follows ``source.format``, unless the header shows the file
    uses another (a semicolon, as spreadsheets in some locales save, or a tab).
    """
    name = source.path.name
    try:
        first = text.readline()
    except UnicodeDecodeError as error:
        raise decoding_error(source, 1, error) from None
    if not first.strip():
        raise ReadError(name, 1, "the file is empty: expected a header row")
    delimiter = "\t" if source.format == "tsv" else ","
    if delimiter == "," and "," not in first and first.count(";") >= 1:
        delimiter = ";"  # a spreadsheet saved with a semicolon list separator
    elif delimiter == "," and "," not in first and "\t" in first:
        delimiter = "\t"  # tab-separated text given a .csv name
    # strict: a quoted value still open when the file ends is an error, not a
    # value that quietly swallows every line after its opening quote.
    reader = csv.reader(_chain([first], text), delimiter=delimiter, strict=True)
    start = 1
    try:
        headers = next(reader)
        source.headers = headers
        start = reader.line_num + 1
        for row in reader:
            line, start = start, reader.line_num + 1
            if not any(map(str.strip, row)):  # map, not a generator: this runs for every row
                continue
            if len(row) > len(headers):
                extra = row[len(headers):]
                if any(cell.strip() for cell in extra):
                    raise ReadError(name, line, f"{len(row)} fields but the header has {len(headers)}; is a value missing its quotes?")
            yield line, dict(zip(headers, row))
    except csv.Error as error:
        line, problem = _csv_problem(error, start, reader.line_num)
        raise ReadError(name, line, f"not readable as {source.format.upper()}: {problem}") from None
    except UnicodeDecodeError as error:
        raise decoding_error(source, reader.line_num + 1, error) from None


def _chain(first: list[str], rest: io.TextIOBase) -> Iterator[str]:
    """The header line, already read to tell the delimiter, then the rest of the file."""
    yield from first
    yield from rest
