"""Read input files as a stream of records, whatever their format.

Every reader yields ``(line, record)`` pairs, where ``line`` is the line of the
file on which the record starts (what a person sees in an editor; for a
spreadsheet, its row number) and ``record`` maps the file's own header to the
raw value. Nothing is held in memory beyond one buffer, so a file of any size
streams.

This module is where callers come in: it tells a file's format and opens it.
Each format is read by a module of its own (`csv_text`, `json_text`,
`workbooks`) over the open file and its errors (`source_file`) and the bytes
counted and hashed as they are read (`hashing`); the names callers need are
imported from here.
"""

from __future__ import annotations

import codecs
import io
from pathlib import Path
from typing import Callable

from ..errors import StackTrackerError
from .csv_text import csv_records
from .hashing import CountingReader
from .json_text import RefusedJson, Wrappers, json_array_records, json_lines_records, parse_json
from .source_file import CHUNK, ReadError, Record, Source, open_file
from .table_bounds import TableShape
from .workbooks import open_spreadsheet

__all__ = [
    "CHUNK", "EXTENSIONS", "FORMATS", "ReadError", "RefusedJson", "Source", "TableShape", "Wrappers",
    "detect_format", "open_source", "open_text", "parse_json", "sniff_encoding",
]

FORMATS = ("csv", "tsv", "json", "jsonl", "xlsx")
EXTENSIONS = {
    ".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl",
    ".xlsx": "xlsx", ".xlsm": "xlsx",
}

#: The readers of text formats, by format (JSON is read apart: it may wrap its records in an object).
TEXT_READERS = {"csv": csv_records, "tsv": csv_records, "jsonl": json_lines_records}


def detect_format(path: Path, fmt: str | None = None) -> str:
    """The format to read ``path`` as: ``fmt`` if given, else from its extension."""
    if fmt:
        if fmt not in FORMATS:
            raise StackTrackerError(f"unknown format {fmt!r}: expected one of {', '.join(FORMATS)}")
        return fmt
    try:
        return EXTENSIONS[path.suffix.lower()]
    except KeyError:
        raise StackTrackerError(
            f"{path.name}: cannot tell the format from the extension {path.suffix or '(none)'!r}; "
            f"use --format ({', '.join(FORMATS)})"
        ) from None


def sniff_encoding(head: bytes) -> str:
    """The text encoding of a file from its first bytes: BOM, else UTF-8, else cp1252."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    # UTF-16 saved without a byte-order mark: every other byte of Latin text is NUL.
    if len(head) >= 4 and b"\0" in head:
        even_nul, odd_nul = head[0::2].count(0), head[1::2].count(0)
        if odd_nul >= len(head) // 2 * 0.9 and even_nul == 0:
            return "utf-16-le"
        if even_nul >= len(head) // 2 * 0.9 and odd_nul == 0:
            return "utf-16-be"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


#: How files that are not text begin, and what to tell a person who gave one as text.
BINARY_SIGNATURES = {
    b"PK\x03\x04": "a zip archive (an .xlsx workbook under another name?): give it the .xlsx extension or --format xlsx",
    b"\xd0\xcf\x11\xe0": "an Excel 97-2003 workbook (.xls): open it and save it as .xlsx or CSV UTF-8",
    b"%PDF": "a PDF document: export the table it shows as CSV instead",
    b"SQLite format 3\0": "an SQLite database, not a file to ingest",
    b"\x1f\x8b": "gzip-compressed: uncompress it first",
    b"\x89PNG": "a PNG image",
}


def open_source(path: Path, fmt: str | None = None, *, sheet: str | None = None, wrappers: Wrappers = (),
                lone: Callable[[int, Record], None] | None = None, shape: TableShape | None = None) -> Source:
    """Open ``path`` for streaming its records; the format comes from ``fmt`` or the extension.

    ``sheet`` picks a spreadsheet's worksheet by name (default: the first).
    ``wrappers`` lets a JSON file be an object holding the array of records
    at one of these paths of member names, as API responses are
    (``{"value": [...], "@odata.nextLink": ...}``), or an object holding none,
    which is then the one record if ``lone`` does not refuse it
    (`json_text.json_array_records`); a plain array is read as usual.
    ``shape`` finds a table's header below title rows, and leaves out totals
    rows and notes after its data (`table_bounds`; CSV, TSV and xlsx).
    """
    fmt = detect_format(path, fmt)
    if fmt == "xlsx":
        return open_spreadsheet(path, sheet, shape)
    source, text = open_text(path, fmt)
    if fmt == "json":
        source.records = json_array_records(source, text, wrappers, lone)
    elif fmt in ("csv", "tsv"):
        source.records = csv_records(source, text, shape)
    else:
        source.records = TEXT_READERS[fmt](source, text)
    return source


def open_text(path: Path, fmt: str = "text") -> tuple[Source, io.TextIOBase]:
    """Open ``path`` as text with its encoding sniffed, counting and hashing the bytes read.

    For readers that walk the lines themselves; ``source.records`` is left empty.
    """
    raw = open_file(path)
    head = raw.read(CHUNK)
    for signature, what in BINARY_SIGNATURES.items():
        if head.startswith(signature):
            raw.close()
            raise ReadError(path.name, 1, f"this is not text but {what}")
    encoding = sniff_encoding(head)
    raw.seek(0)
    counter = CountingReader(raw, refuse_nul=not encoding.startswith("utf-16"))
    source = Source(path=path, format=fmt, size=path.stat().st_size, raw=raw, counter=counter)
    text = io.TextIOWrapper(io.BufferedReader(counter, CHUNK), encoding=encoding, newline="")
    return source, text
