"""Read input files as a stream of records, whatever their format.

Every reader yields ``(line, record)`` pairs, where ``line`` is the line of the
file on which the record starts (what a person sees in an editor; for a
spreadsheet, its row number) and ``record`` maps the file's own header to the
raw value. Nothing is held in memory beyond one buffer, so a file of any size
streams.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Iterator

from .errors import StackTrackerError

FORMATS = ("csv", "tsv", "json", "jsonl", "xlsx")
EXTENSIONS = {
    ".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl",
    ".xlsx": "xlsx", ".xlsm": "xlsx",
}
CHUNK = 1 << 16

Record = dict[str, object]


class ReadError(StackTrackerError):
    """The file cannot be read as the format it claims to be."""

    def __init__(self, path: str, line: int | None, message: str):
        self.path, self.line = path, line
        super().__init__(f"{path}:{line}: {message}" if line else f"{path}: {message}")


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


class CountingReader(io.RawIOBase):
    """Wraps a binary file, counting and hashing the bytes that pass through."""

    def __init__(self, raw: BinaryIO):
        self.raw = raw
        self.bytes_read = 0
        self.sha256 = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.raw.read(len(buffer))
        size = len(data)
        buffer[:size] = data
        self.bytes_read += size
        self.sha256.update(data)
        return size


def sniff_encoding(head: bytes) -> str:
    """The text encoding of a file from its first bytes: BOM, else UTF-8, else cp1252."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


@dataclass
class Source:
    """An open input file: its records, and how far through it we are.

    Use it as a context manager; ``records`` yields ``(line, record)`` pairs.
    """

    path: Path
    format: str
    size: int
    raw: BinaryIO
    counter: CountingReader
    records: Iterator[tuple[int, Record]] = iter(())
    headers: list[str] = field(default_factory=list)

    @property
    def bytes_read(self) -> int:
        return self.counter.bytes_read

    def sha256(self) -> str:
        """The file's sha256; reads whatever the records did not, so it is always whole."""
        while self.counter.read(CHUNK):
            pass
        return self.counter.sha256.hexdigest()

    def __enter__(self) -> "Source":
        return self

    def __exit__(self, *exc_info) -> None:
        self.raw.close()


def open_source(path: Path, fmt: str | None = None, *, sheet: str | None = None, member: str | None = None) -> Source:
    """Open ``path`` for streaming its records; the format comes from ``fmt`` or the extension.

    ``sheet`` picks a spreadsheet's worksheet by name (default: the first).
    ``member`` lets a JSON file be an object whose ``member`` is the array of
    records, as API responses are (``{"value": [...], "@odata.nextLink": ...}``);
    a plain array is read as usual.
    """
    fmt = detect_format(path, fmt)
    if fmt == "xlsx":
        return _open_workbook(path, sheet)
    source, text = open_text(path, fmt)
    if fmt == "json":
        source.records = _json_array_records(source, text, member)
    else:
        readers = {"csv": _csv_records, "tsv": _csv_records, "jsonl": _json_lines_records}
        source.records = readers[fmt](source, text)
    return source


def open_text(path: Path, fmt: str = "text") -> tuple[Source, io.TextIOBase]:
    """Open ``path`` as text with its encoding sniffed, counting and hashing the bytes read.

    For readers that walk the lines themselves; ``source.records`` is left empty.
    """
    try:
        raw = open(path, "rb")
    except OSError as error:
        raise StackTrackerError(f"{path.name}: cannot open: {error.strerror}") from None
    encoding = sniff_encoding(raw.read(CHUNK))
    raw.seek(0)
    counter = CountingReader(raw)
    source = Source(path=path, format=fmt, size=path.stat().st_size, raw=raw, counter=counter)
    text = io.TextIOWrapper(io.BufferedReader(counter, CHUNK), encoding=encoding, newline="")
    return source, text


def _decoding_guard(source: Source, line: int, error: UnicodeDecodeError) -> ReadError:
    return ReadError(source.path.name, line, f"the text is not valid {error.encoding} ({error.reason}); save the file as UTF-8")


def _csv_records(source: Source, text: io.TextIOBase) -> Iterator[tuple[int, Record]]:
    name = source.path.name
    try:
        first = text.readline()
    except UnicodeDecodeError as error:
        raise _decoding_guard(source, 1, error) from None
    if not first.strip():
        raise ReadError(name, None, "the file is empty: expected a header row")
    delimiter = "\t" if source.format == "tsv" else ","
    if delimiter == "," and "," not in first and first.count(";") >= 1:
        delimiter = ";"  # a spreadsheet saved with a semicolon list separator
    reader = csv.reader(_chain([first], text), delimiter=delimiter, strict=False)
    try:
        headers = next(reader)
        source.headers = headers
        start = reader.line_num + 1
        for row in reader:
            line, start = start, reader.line_num + 1
            if not any(cell.strip() for cell in row):
                continue
            if len(row) > len(headers):
                extra = row[len(headers):]
                if any(cell.strip() for cell in extra):
                    raise ReadError(name, line, f"{len(row)} fields but the header has {len(headers)}; is a value missing its quotes?")
            yield line, dict(zip(headers, row))
    except csv.Error as error:
        raise ReadError(name, reader.line_num, f"not readable as {source.format.upper()}: {error}") from None
    except UnicodeDecodeError as error:
        raise _decoding_guard(source, reader.line_num + 1, error) from None


def _chain(first: list[str], rest: io.TextIOBase) -> Iterator[str]:
    yield from first
    yield from rest


def _object_or_error(name: str, line: int, value: object) -> Record:
    if not isinstance(value, dict):
        raise ReadError(name, line, f"expected an object with named fields, found {type(value).__name__}")
    return value


def _json_lines_records(source: Source, text: io.TextIOBase) -> Iterator[tuple[int, Record]]:
    name = source.path.name
    line = 0
    try:
        for line, content in enumerate(text, start=1):
            if not content.strip():
                continue
            try:
                value = json.loads(content)
            except json.JSONDecodeError as error:
                raise ReadError(name, line, f"not valid JSON: {error.msg} (column {error.colno})") from None
            yield line, _object_or_error(name, line, value)
    except UnicodeDecodeError as error:
        raise _decoding_guard(source, line + 1, error) from None
    if line == 0:
        raise ReadError(name, None, "the file is empty: expected one JSON object per line")


class _JsonText:
    """A sliding window on JSON text: values are decoded one at a time, lines counted."""

    def __init__(self, source: Source, text: io.TextIOBase):
        self.name, self.source, self.text = source.path.name, source, text
        self.decoder = json.JSONDecoder()
        self.buffer, self.position, self.line, self.finished = "", 0, 1, False
        self.fill()

    def fill(self) -> None:
        """Drop what has been consumed and read the next chunk."""
        try:
            chunk = self.text.read(CHUNK)
        except UnicodeDecodeError as error:
            raise _decoding_guard(self.source, self.line, error) from None
        self.buffer, self.position = self.buffer[self.position:] + chunk, 0
        self.finished = not chunk

    def peek(self) -> str | None:
        """The next character that is not white space (not consumed), or None at the end."""
        while True:
            buffer, position = self.buffer, self.position
            while position < len(buffer) and buffer[position] in " \t\r\n":
                if buffer[position] == "\n":
                    self.line += 1
                position += 1
            self.position = position
            if position < len(buffer):
                return buffer[position]
            if self.finished:
                return None
            self.fill()

    def value(self) -> object:
        """Decode the value that starts here, reading on until it is whole."""
        while True:
            try:
                value, end = self.decoder.raw_decode(self.buffer, self.position)
                break
            except json.JSONDecodeError as error:
                if self.finished:
                    line = self.line + self.buffer.count("\n", self.position, error.pos)
                    raise ReadError(self.name, line, f"not valid JSON: {error.msg}") from None
                self.fill()
        self.line += self.buffer.count("\n", self.position, end)
        self.position = end
        return value

    def error(self, message: str) -> ReadError:
        return ReadError(self.name, self.line, message)

    def objects(self) -> Iterator[tuple[int, Record]]:
        """The objects of the array whose ``[`` is the next character."""
        self.position += 1
        expect_value = True
        while True:
            char = self.peek()
            if char is None:
                raise self.error("the JSON array is not closed: the file ends early")
            if char == "]":
                self.position += 1
                return
            if char == "," and not expect_value:
                self.position += 1
                expect_value = True
                continue
            if not expect_value:
                raise self.error("expected ',' or ']' between the array's objects")
            line = self.line
            yield line, _object_or_error(self.name, line, self.value())
            expect_value = False

    def member_objects(self, member: str) -> Iterator[tuple[int, Record]]:
        """The objects of the array ``member`` of the object whose ``{`` is the next character."""
        self.position += 1
        found = False
        first = True
        while True:
            char = self.peek()
            if char is None:
                raise self.error("the JSON object is not closed: the file ends early")
            if char == "}":
                self.position += 1
                break
            if not first:
                if char != ",":
                    raise self.error("expected ',' or '}' between the object's members")
                self.position += 1
                self.peek()
            key = self.value()
            if not isinstance(key, str) or self.peek() != ":":
                raise self.error("expected a member name and ':'")
            self.position += 1
            if self.peek() == "[" and key == member:
                found = True
                yield from self.objects()
            else:
                self.value()
            first = False
        if not found:
            raise ReadError(self.name, None, f'expected a JSON array of objects, or an object with a "{member}" array')


def _json_array_records(source: Source, text: io.TextIOBase, member: str | None = None) -> Iterator[tuple[int, Record]]:
    """Stream the objects of a top-level JSON array (or of its ``member``) without loading the whole file."""
    stream = _JsonText(source, text)
    char = stream.peek()
    if char is None:
        raise ReadError(stream.name, None, "the file is empty: expected a JSON array of objects")
    if char == "{" and member:
        yield from stream.member_objects(member)
    elif char != "[":
        found = "an object" if char == "{" else "something else"
        raise stream.error(f"expected a JSON array of objects ([{{...}}, ...]), found {found}")
    else:
        yield from stream.objects()
    if stream.peek() is not None:
        raise stream.error("unexpected content after the end of the JSON array")


def _open_workbook(path: Path, sheet: str | None) -> Source:
    """A spreadsheet's rows as records; formulas read as the values last saved with them."""
    try:
        import openpyxl
    except ImportError:  # pragma: no cover - a dependency, but say so if it is missing
        raise StackTrackerError("reading .xlsx files needs openpyxl: pip install openpyxl") from None
    try:
        raw = open(path, "rb")
    except OSError as error:
        raise StackTrackerError(f"{path.name}: cannot open: {error.strerror}") from None
    counter = _HashedFile(raw)
    raw.seek(0)
    source = Source(path=path, format="xlsx", size=path.stat().st_size, raw=raw, counter=counter)
    try:
        workbook = openpyxl.load_workbook(raw, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises zipfile, KeyError and its own errors alike
        raw.close()
        raise ReadError(path.name, None, f"not readable as an .xlsx workbook ({type(error).__name__}: {error})") from None
    if sheet is None:
        worksheet = workbook.worksheets[0]
    elif sheet in workbook.sheetnames:
        worksheet = workbook[sheet]
    else:
        workbook.close()
        raw.close()
        raise ReadError(path.name, None, f"no sheet named {sheet!r}: the sheets are {', '.join(map(repr, workbook.sheetnames))}")
    source.records = _sheet_records(source, workbook, worksheet)
    return source


class _HashedFile:
    """Stands in for `CountingReader` where a library reads the file: hashed up front, progress by row."""

    def __init__(self, raw: BinaryIO):
        self.sha256 = hashlib.sha256()
        while chunk := raw.read(CHUNK):
            self.sha256.update(chunk)
        self.bytes_read = 0

    def read(self, size: int = -1) -> bytes:
        return b""


def _sheet_records(source: Source, workbook, worksheet) -> Iterator[tuple[int, Record]]:
    name = source.path.name
    rows_total = worksheet.max_row or 0
    headers: list[str] | None = None
    try:
        for row_number, row in enumerate(worksheet.iter_rows(values_only=True), start=1):
            if rows_total:
                source.counter.bytes_read = source.size * min(row_number, rows_total) // rows_total
            cells = [_cell_text(value) for value in row]
            if not any(cell.strip() for cell in cells):
                continue
            if headers is None:
                # A sheet is as wide as its widest row: the header ends at its last named column.
                while not cells[-1].strip():
                    cells.pop()
                headers = cells
                source.headers = headers
                continue
            if len(cells) > len(headers) and any(cell.strip() for cell in cells[len(headers):]):
                column = next(i for i in range(len(headers), len(cells)) if cells[i].strip())
                raise ReadError(name, row_number, f"a value in column {_column_letter(column)}, which has no header")
            yield row_number, dict(zip(headers, cells))
    finally:
        workbook.close()
    if headers is None:
        raise ReadError(name, None, "the sheet is empty: expected a header row")
    source.counter.bytes_read = source.size


def _cell_text(value: object) -> str:
    """A cell as the text a CSV export of the sheet would hold."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) and value.tzinfo is None else value.isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters
