"""Read input files as a stream of records, whatever their format.

Every reader yields ``(line, record)`` pairs, where ``line`` is the line of the
file on which the record starts (what a person sees in an editor) and
``record`` maps the file's own header to the raw value. Nothing is held in
memory beyond one buffer, so a file of any size streams.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Iterator

from .errors import StackTrackerError

FORMATS = ("csv", "tsv", "json", "jsonl")
EXTENSIONS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl"}
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


def open_source(path: Path, fmt: str | None = None) -> Source:
    """Open ``path`` for streaming its records; the format comes from ``fmt`` or the extension."""
    fmt = detect_format(path, fmt)
    try:
        raw = open(path, "rb")
    except OSError as error:
        raise StackTrackerError(f"{path.name}: cannot open: {error.strerror}") from None
    encoding = sniff_encoding(raw.read(CHUNK))
    raw.seek(0)
    counter = CountingReader(raw)
    source = Source(path=path, format=fmt, size=path.stat().st_size, raw=raw, counter=counter)
    text = io.TextIOWrapper(io.BufferedReader(counter, CHUNK), encoding=encoding, newline="")
    readers = {"csv": _csv_records, "tsv": _csv_records, "json": _json_array_records, "jsonl": _json_lines_records}
    source.records = readers[fmt](source, text)
    return source


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


def _json_array_records(source: Source, text: io.TextIOBase) -> Iterator[tuple[int, Record]]:
    """Stream the objects of a top-level JSON array without loading the whole file."""
    name = source.path.name
    decoder = json.JSONDecoder()
    buffer, position, line, finished = "", 0, 1, False

    def fill() -> None:
        """Drop what has been consumed and read the next chunk."""
        nonlocal buffer, position, finished
        try:
            chunk = text.read(CHUNK)
        except UnicodeDecodeError as error:
            raise _decoding_guard(source, line, error) from None
        buffer, position = buffer[position:] + chunk, 0
        finished = not chunk

    def skip_space() -> None:
        nonlocal position, line
        while True:
            while position < len(buffer) and buffer[position] in " \t\r\n":
                if buffer[position] == "\n":
                    line += 1
                position += 1
            if position < len(buffer) or finished:
                return
            fill()

    fill()
    skip_space()
    if position >= len(buffer):
        raise ReadError(name, None, "the file is empty: expected a JSON array of objects")
    if buffer[position] != "[":
        found = "an object" if buffer[position] == "{" else "something else"
        raise ReadError(name, line, f"expected a JSON array of objects ([{{...}}, ...]), found {found}")
    position += 1
    expect_value = True
    while True:
        skip_space()
        if position >= len(buffer):
            raise ReadError(name, line, "the JSON array is not closed: the file ends early")
        char = buffer[position]
        if char == "]":
            position += 1
            skip_space()
            if position < len(buffer):
                raise ReadError(name, line, "unexpected content after the end of the JSON array")
            return
        if char == "," and not expect_value:
            position += 1
            expect_value = True
            continue
        if not expect_value:
            raise ReadError(name, line, "expected ',' or ']' between the array's objects")
        while True:
            try:
                value, end = decoder.raw_decode(buffer, position)
                break
            except json.JSONDecodeError as error:
                if finished:
                    raise ReadError(name, line + buffer.count("\n", position, error.pos), f"not valid JSON: {error.msg}") from None
                fill()
        yield line, _object_or_error(name, line, value)
        line += buffer.count("\n", position, end)
        position = end
        expect_value = False
