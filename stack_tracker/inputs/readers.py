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
import os
import re
import threading
import time
import weakref
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Iterator

import orjson

from ..errors import StackTrackerError

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


class RefusedJson(ValueError):
    """JSON that reads, but that no input may hold: a name given twice in one object,
    a NUL character, or lists and objects nested past `MAX_DEPTH`."""


#: How deep lists and objects may nest in one value: as deep as orjson writes them
#: (exports nest theirs a few levels). Deeper, a value would exhaust the stack of
#: json's reader, or of whatever walks it next.
MAX_DEPTH = 254
#: Why a JSON text whose ``\\ud800``-style escapes do not pair up is refused.
LONE_SURROGATE = "a \\u escape stands for half a character (a lone surrogate), which no text can hold"
#: Why JSON that reads is refused all the same (`RefusedJson`).
TOO_DEEP = f"lists and objects nested more than {MAX_DEPTH} deep, which no export writes: is the file damaged?"
NUL_ESCAPE = "a \\u0000 escape: a NUL character, which text never holds"


def parse_json(content: bytes | str) -> object:
    """One JSON value, as `json.loads` reads it but several times faster, refusing what no input may hold.

    orjson does the work. What it refuses (NaN and Infinity, lone surrogates,
    broken text, deep nesting), and what it reads but `plainly_once` cannot
    vouch for, is read again by `parse_json_carefully`.
    """
    try:
        value = orjson.loads(content)
    except orjson.JSONDecodeError:
        return parse_json_carefully(content)
    return value if plainly_once(value, content) else parse_json_carefully(content)


def plainly_once(value: object, text: bytes | str, start: int = 0, end: int | None = None) -> bool:
    """Whether ``text[start:end]``, read as ``value``, surely gives each name once per object and has no ``\\u`` escape.

    Quick enough for every record. Outside strings, a colon follows each name;
    inside, an escape other than ``\\u`` never spells one. So, escapes aside,
    the text has as many colons as ``value`` written back by orjson, unless an
    object gave a name twice, for readers keep one of them. orjson writes
    nothing nested past `MAX_DEPTH`, nor integers past 64 bits: those are left
    to the careful reading too, as is any ``\\u`` escape (which can spell a NUL).
    """
    backslash, escape, colon = ("\\", "\\u", ":") if text.__class__ is str else (b"\\", b"\\u", b":")
    if text.find(backslash, start, end) >= 0 and text.find(escape, start, end) >= 0:
        return False
    try:
        written = orjson.dumps(value)
    except orjson.JSONEncodeError:
        return False
    # Compact JSON, as most exports write it, is the very text orjson writes: no colons to count.
    if text.__class__ is bytes and written == text[start:end].strip():
        return True
    return text.count(colon, start, end) == written.count(b":")


def parse_json_carefully(content: bytes | str) -> object:
    """One JSON value read by json, which raises its own `json.JSONDecodeError` (whose messages
    people know: "Expecting ',' delimiter", and a lone surrogate's), `RefusedJson`, or
    `UnicodeDecodeError` for bytes that are not UTF-8."""
    text = content.decode("utf-8") if isinstance(content, bytes) else content
    try:
        value = json.loads(text, object_pairs_hook=_named_once)
    except RecursionError:
        raise RefusedJson(TOO_DEEP) from None
    _refuse_what_no_text_holds(value, text)
    return value


def _named_once(pairs: list[tuple[str, object]]) -> dict:
    """An object's members, refusing a name given twice: which of its values counts is up to the reader
    (json and orjson keep the last, silently; others the first)."""
    value = dict(pairs)
    if len(value) < len(pairs):
        seen: set[str] = set()
        name = next(name for name, _ in pairs if name in seen or seen.add(name))
        # Shown as JSON writes it, with anything UTF-8 cannot carry (half a character) escaped.
        shown = json.dumps(name, ensure_ascii=False).encode("utf-8", "backslashreplace").decode("utf-8")
        raise RefusedJson(f"the field {shown} is given twice in one object; keep one")
    return value


def _refuse_what_no_text_holds(value: object, text: str) -> None:
    """Raise for nesting past `MAX_DEPTH`, a NUL, or a lone surrogate, in any name or value.

    Walked without recursion: the value may nest as deep as json's reader goes.
    """
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if item.__class__ is str:
            strings = (item,)
        elif isinstance(item, (dict, list)):
            if depth == MAX_DEPTH:
                raise RefusedJson(TOO_DEEP)
            members = item.values() if isinstance(item, dict) else item
            stack.extend((member, depth + 1) for member in members)
            strings = item.keys() if isinstance(item, dict) else ()
        else:
            continue
        for string in strings:
            if "\0" in string:
                raise RefusedJson(NUL_ESCAPE)
            try:
                string.encode("utf-8")
            except UnicodeEncodeError:
                raise json.JSONDecodeError(LONE_SURROGATE, text, max(text.lower().find("\\ud"), 0)) from None


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
    """Wraps a binary file, counting and hashing the bytes that pass through.

    With ``refuse_nul``, a NUL byte is a `ReadError`: text in an 8-bit
    encoding never holds one, so the file is binary or damaged (and SQLite
    text, Datasette pages and CSV exports would all cut the value short there).
    """

    def __init__(self, raw: BinaryIO, *, refuse_nul: bool = False):
        self.raw = raw
        self.bytes_read = 0
        self.sha256 = _hasher(raw, self)
        self.refuse_nul = refuse_nul

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.raw.read(len(buffer))
        size = len(data)
        if self.refuse_nul and b"\0" in data:
            raise nul_byte_error(Path(self.raw.name), self.bytes_read + data.index(b"\0"))
        buffer[:size] = data
        self.bytes_read += size
        self.sha256.update(data)
        return size


#: Files at least this large are hashed on a helper thread (`SideHash`).
SIDE_HASH_MIN_BYTES = 64 << 20


def _hasher(raw: BinaryIO, reader: CountingReader):
    """A sha256 for what ``reader`` reads: `SideHash` for a large file, else hashlib's own."""
    try:
        large = os.fstat(raw.fileno()).st_size >= SIDE_HASH_MIN_BYTES
    except (AttributeError, OSError, io.UnsupportedOperation):
        large = False
    return SideHash(raw.name, reader) if large else hashlib.sha256()


class SideHash:
    """The sha256 of a large file, computed on a helper thread that follows its reader through the file.

    Hashing a 13 GiB log takes a core 8 seconds. The helper reads the file
    again through a descriptor of its own (from the page cache, never past
    what the reader has read), in blocks large enough that it seldom needs the
    GIL (file reads and hashlib let go of it): with a core to spare, the hash
    costs the import no time. `update` does nothing, as the helper reads for
    itself; `hexdigest` waits for it to reach where the reader stopped.
    """

    BLOCK = 1 << 23

    def __init__(self, path: str, reader: CountingReader):
        self._path, self._hash = path, hashlib.sha256()
        # Weak, so that a file dropped unhashed (a rejected import) stops the helper.
        self._reader = weakref.ref(reader)
        self._end: int | None = None
        self._failure: str | None = None
        self._thread = threading.Thread(target=self._follow, name="sha256", daemon=True)
        self._thread.start()

    def update(self, data: bytes) -> None:
        pass

    def hexdigest(self) -> str:
        reader = self._reader()
        self._end = reader.bytes_read if reader else 0
        self._thread.join()
        if self._failure:
            raise ReadError(Path(self._path).name, None, self._failure)
        return self._hash.hexdigest()

    def _follow(self) -> None:
        try:
            self._hash_behind_the_reader()
        except OSError as error:  # the file moved or vanished: say so where the hash is wanted, not on stderr
            self._failure = f"cannot read the file again to hash it: {error.strerror}"

    def _hash_behind_the_reader(self) -> None:
        buffer = memoryview(bytearray(self.BLOCK))
        hashed = 0
        with open(self._path, "rb", buffering=0) as file:
            while True:
                end, reader = self._end, self._reader()
                if reader is None and end is None:
                    return
                available = (reader.bytes_read if end is None else end) - hashed
                del reader
                if end is None and available < self.BLOCK:
                    time.sleep(0.01)
                    continue
                if available <= 0:
                    return
                size = file.readinto(buffer[:min(self.BLOCK, available)])
                if not size:
                    self._failure = "the file got shorter while it was read; export it again"
                    return
                self._hash.update(buffer[:size])
                hashed += size


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


def nul_byte_error(path: Path, offset: int) -> ReadError:
    """The error for a NUL byte at ``offset``: where it is (line, column) and what the file may really be."""
    with open(path, "rb") as file:
        before = file.read(offset)
    line = before.count(b"\n") + 1
    column = len(before) - (before.rfind(b"\n") + 1) + 1
    return ReadError(
        path.name, line,
        f"a NUL byte (column {column}), which text never holds: is this a binary file, or text saved as UTF-16 "
        "without a byte-order mark? Save it as CSV UTF-8",
    )


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


def _decoding_guard(source: Source, line: int, error: UnicodeDecodeError) -> ReadError:
    encoding = {"charmap": "Windows-1252"}.get(error.encoding, error.encoding)  # cp1252's codec calls itself charmap
    return ReadError(source.path.name, line, f"the text is not valid {encoding} ({error.reason}); save the file as UTF-8")


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


def _csv_records(source: Source, text: io.TextIOBase) -> Iterator[tuple[int, Record]]:
    name = source.path.name
    try:
        first = text.readline()
    except UnicodeDecodeError as error:
        raise _decoding_guard(source, 1, error) from None
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
                value = parse_json(content)
            except json.JSONDecodeError as error:
                raise ReadError(name, line, f"not valid JSON: {error.msg} (column {error.colno})") from None
            except RefusedJson as error:
                raise ReadError(name, line, str(error)) from None
            yield line, _object_or_error(name, line, value)
    except UnicodeDecodeError as error:
        raise _decoding_guard(source, line + 1, error) from None
    if line == 0:
        raise ReadError(name, 1, "the file is empty: expected one JSON object per line")


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
                    column = error.pos - self.buffer.rfind("\n", 0, error.pos)
                    if error.msg.startswith("Unterminated string") or error.pos >= len(self.buffer.rstrip()):
                        raise ReadError(self.name, line, f"not valid JSON: the file ends in the middle of a value (column {column}): "
                                                         "it looks cut off; export it again") from None
                    raise ReadError(self.name, line, f"not valid JSON: {error.msg} (column {column})") from None
                self.fill()
            except RecursionError:  # nested deeper than json's reader goes, before the value even ends
                raise self.error(TOO_DEEP) from None
        if not plainly_once(value, self.buffer, self.position, end):
            try:
                value = parse_json_carefully(self.buffer[self.position:end])
            except json.JSONDecodeError as error:  # a lone surrogate
                raise self.error(f"not valid JSON: {error.msg}") from None
            except RefusedJson as error:
                raise self.error(str(error)) from None
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
            raise ReadError(self.name, 1, f'expected a JSON array of objects, or an object with a "{member}" array')


def _json_array_records(source: Source, text: io.TextIOBase, member: str | None = None) -> Iterator[tuple[int, Record]]:
    """Stream the objects of a top-level JSON array (or of its ``member``) without loading the whole file."""
    stream = _JsonText(source, text)
    char = stream.peek()
    if char is None:
        raise ReadError(stream.name, 1, "the file is empty: expected a JSON array of objects")
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
        from .workbook_limits import WorkbookRefused, open_workbook
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
        workbook, shared_strings = open_workbook(raw, data_only=True)
    except WorkbookRefused as error:
        raw.close()
        raise ReadError(path.name, None, f"not read: {error}") from None
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
    merged, has_formulas = _sheet_markup(path, getattr(worksheet, "_worksheet_path", None))
    # Read a second time for the formulas themselves, to tell an empty cell from
    # a formula whose value was never saved (as a script writing the file leaves it).
    formula_book = open_workbook(path, data_only=False, shared_strings=shared_strings)[0] if has_formulas else None
    source.records = _sheet_records(source, workbook, worksheet, merged, formula_book)
    return source


#: The most cells merged ranges may cover; past that a sheet is a layout, not a table.
MAX_MERGED_CELLS = 100_000
_MERGE_REF = re.compile(rb'<mergeCell ref="([A-Z]+)([0-9]+)(?::([A-Z]+)([0-9]+))?"')
_FORMULA_TAG = re.compile(rb"<f[ >/]")


def _sheet_markup(path: Path, member: str | None) -> tuple[dict[int, list[tuple[int, tuple[int, int]]]], bool]:
    """A sheet's merged cells, and whether it has formulas.

    The merged cells map a row to its cells that a range covers, each with the
    range's top-left cell (row, column from 0), which holds the value. openpyxl's
    streaming reader reports neither, so the sheet's XML is scanned for them.
    """
    merged: dict[int, list[tuple[int, tuple[int, int]]]] = {}
    covered = 0
    if not member:
        return merged, False
    refs: set[tuple[bytes, ...]] = set()
    has_formulas = False
    with zipfile.ZipFile(path) as archive, archive.open(member) as xml:
        tail = b""
        while chunk := xml.read(CHUNK):
            window = tail + chunk
            has_formulas = has_formulas or _FORMULA_TAG.search(window) is not None
            refs.update(match.groups() for match in _MERGE_REF.finditer(window))
            if len(refs) > MAX_MERGED_CELLS:  # each range covers a cell at least: stop before holding millions
                raise ReadError(path.name, None, f"merged cells cover more than {MAX_MERGED_CELLS:,} cells: unmerge them")
            tail = window[-256:]
    for first_column, first_row, last_column, last_row in refs:
        top, left = int(first_row), _column_index(first_column.decode())
        bottom, right = (int(last_row), _column_index(last_column.decode())) if last_row else (top, left)
        covered += (bottom - top + 1) * (right - left + 1)
        if covered > MAX_MERGED_CELLS:
            raise ReadError(path.name, top, f"merged cells cover more than {MAX_MERGED_CELLS:,} cells: unmerge them")
        for row in range(top, bottom + 1):
            merged.setdefault(row, []).extend((column, (top, left)) for column in range(left, right + 1) if (row, column) != (top, left))
    return merged, has_formulas


def _column_index(letters: str) -> int:
    """0 for column A, 25 for Z, 26 for AA."""
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - 64
    return index - 1


class _HashedFile:
    """Stands in for `CountingReader` where a library reads the file: hashed up front, progress by row."""

    def __init__(self, raw: BinaryIO):
        self.sha256 = hashlib.sha256()
        while chunk := raw.read(CHUNK):
            self.sha256.update(chunk)
        self.bytes_read = 0

    def read(self, size: int = -1) -> bytes:
        return b""


def _sheet_records(source: Source, workbook, worksheet, merged: dict[int, list[tuple[int, tuple[int, int]]]],
                   formula_book) -> Iterator[tuple[int, Record]]:
    """The rows of a sheet; a merged range's value fills each of its cells, as a person reads it."""
    name = source.path.name
    rows_total = worksheet.max_row or 0
    headers: list[str] | None = None
    anchors: dict[int, list[int]] = {}  # row -> the columns in it that hold a merged range's value
    for cells in merged.values():
        for _, (row, column) in cells:
            if column not in anchors.setdefault(row, []):
                anchors[row].append(column)
    values: dict[tuple[int, int], object] = {}
    formulas = formula_book[worksheet.title].iter_rows(values_only=True) if formula_book else None
    try:
        for row_number, row in enumerate(worksheet.iter_rows(values_only=True), start=1):
            if rows_total:
                source.counter.bytes_read = source.size * min(row_number, rows_total) // rows_total
            if formulas is not None:
                _check_saved_values(name, row_number, row, next(formulas, ()))
            if merged:
                row = _fill_merged(row_number, row, merged, anchors, values)
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
        if formula_book:
            formula_book.close()
    if headers is None:
        raise ReadError(name, 1, "the sheet is empty: expected a header row")
    source.counter.bytes_read = source.size


def _check_saved_values(name: str, row_number: int, values: tuple, formulas: tuple) -> None:
    """A formula cell that reads as empty has no saved value: what it comes to is unknown, so it is an error."""
    for column, (value, formula) in enumerate(zip(values, formulas)):
        if value is None and isinstance(formula, str) and formula.startswith("="):
            raise ReadError(
                name, row_number,
                f"column {_column_letter(column)} holds a formula ({formula}) with no value saved with it: open the "
                "workbook in a spreadsheet program and save it, so its values are saved too",
            )


def _fill_merged(row_number: int, row: tuple, merged: dict, anchors: dict, values: dict) -> tuple:
    """``row`` with each cell a merged range covers given the value of the range's top-left cell."""
    cells = list(row)
    for column in anchors.get(row_number, ()):
        values[(row_number, column)] = cells[column] if column < len(cells) else None
    for column, anchor in merged.get(row_number, ()):
        if column >= len(cells):
            cells.extend([None] * (column + 1 - len(cells)))
        cells[column] = values.get(anchor)
    return tuple(cells)


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
