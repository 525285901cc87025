"""What an .xlsx workbook may make the reader hold, checked before openpyxl parses it.

An .xlsx file is a zip of XML parts, and a few megabytes of it can inflate to
gigabytes (a zip bomb). openpyxl, even read-only, parses most parts whole and
keeps every shared string in memory. So before it reads a part, the zip's own
directory is checked (how many parts, how large each inflates to, how far it
is compressed), and the parts that may be large, the worksheets and the
shared strings, are read through once as bytes, a chunk at a time, for what
would make a parser hold too much: a value or tag longer than any cell, more
rows than a spreadsheet has, a row of more elements than its columns allow.
The shared strings are then kept as one block of UTF-8 text and their
offsets, not as a list of Python strings (8 bytes each instead of about 100).

Everything refused raises `WorkbookRefused`, whose message says which part
and why; the caller names the file.
"""

from __future__ import annotations

import re
import struct
from array import array
from collections.abc import Sequence
from typing import BinaryIO
from xml.etree.ElementTree import XMLPullParser

from openpyxl.cell.text import Text
from openpyxl.packaging.relationship import get_rels_path
from openpyxl.reader.excel import ExcelReader, _find_workbook_part
from openpyxl.reader.workbook import WorkbookParser
from openpyxl.xml.constants import (
    ARC_APP, ARC_CONTENT_TYPES, ARC_CORE, ARC_CUSTOM, ARC_STYLE, ARC_THEME, SHARED_STRINGS, SHEET_MAIN_NS,
)

#: A workbook has tens of parts. zipfile lists every part before any is read
#: (a few hundred bytes each), so a directory of millions is refused from its end record.
MAX_PARTS = 10_000
MAX_DIRECTORY_BYTES = 4 << 20
#: Deflate shrinks real sheet XML 5 to 20 times (openpyxl's own output of one
#: row repeated: 15); a zip bomb inflates hundreds of times. Parts below the
#: floor may compress as well as they like: they inflate to little anyway.
MAX_COMPRESSION_RATIO = 100
RATIO_FLOOR_BYTES = 8 << 20
#: Parts openpyxl parses whole (workbook, styles, theme, relationships …) take
#: many times their size in memory. Real ones are kilobytes; a styles part
#: bloated by years of copied cell formats runs to a few MiB.
MAX_WHOLE_PART_BYTES = 8 << 20
#: The shared strings are held whole (as UTF-8 text, 8 bytes of offset each):
#: their XML may inflate to this much. A million distinct 30-character texts take 46 MiB.
MAX_SHARED_STRINGS_BYTES = 64 << 20
#: Distinct texts in one workbook. Tool, team and month names repeat down a
#: sheet; even a million rows of free notes stay below this.
MAX_SHARED_STRINGS = 2_000_000
#: The longest stretch of XML without markup: one value, or one tag and its
#: attributes, which a parser holds whole. Excel keeps at most 32,767
#: characters in a cell; this is the CSV reader's limit on one field.
MAX_TOKEN_BYTES = 16 << 20
#: Excel's own limit: no spreadsheet program saves more rows in a sheet.
MAX_ROWS = 1_048_576
#: The elements in one row (or one shared string), which a parser holds until
#: it ends: Excel's 16,384 columns, each cell with its value, formula and inline text, fit.
MAX_ELEMENTS_PER_RECORD = 100_000
#: A tag name (with its namespace prefix) longer than this is no spreadsheet's.
MAX_NAME_BYTES = 100

CHUNK = 1 << 16
#: A tag that starts this close to the end of a chunk is read with the next chunk, so no tag name is cut.
_DEFER = 256
_LONG_NAME = re.compile(rb"<[^\s/>!?<]{%d}" % MAX_NAME_BYTES)
_SPECIAL = re.compile(rb"<[!?]")
#: What ends a comment, a CDATA section or a processing instruction.
_SPECIAL_ENDS = ((b"<!--", b"-->"), (b"<![CDATA[", b"]]>"), (b"<?", b"?>"))
_MIB = 1 << 20


class WorkbookRefused(Exception):
    """A workbook that would make the reader hold too much; the message says which part and why."""


def open_workbook(file: BinaryIO | str, *, data_only: bool = True, shared_strings: SharedStrings | None = None):
    """openpyxl's read-only workbook of ``file`` and its shared strings, once its parts pass the checks.

    ``shared_strings`` from an earlier opening of the same (checked) file are
    used again instead of reading and checking the file a second time.
    """
    if shared_strings is None and hasattr(file, "seek"):
        check_zip_directory(file)
    reader = _CheckedReader(file, data_only=data_only, shared_strings=shared_strings)
    reader.read()
    return reader.wb, reader.shared_strings


def check_zip_directory(file: BinaryIO) -> None:
    """Refuse a zip whose directory lists more parts than a workbook has, from its end record, before zipfile reads it."""
    file.seek(0, 2)
    size = file.tell()
    file.seek(max(0, size - (1 << 16) - 22))
    tail = file.read()
    file.seek(0)
    end = tail.rfind(b"PK\x05\x06")
    if end < 0 or len(tail) - end < 22:
        return  # not a zip: openpyxl says so
    parts, directory = struct.unpack_from("<HL", tail, end + 10)
    if (parts != 0xFFFF and parts > MAX_PARTS) or (directory != 0xFFFFFFFF and directory > MAX_DIRECTORY_BYTES):
        raise WorkbookRefused(f"the zip lists {parts:,} parts in {directory / _MIB:,.1f} MiB; a workbook has tens "
                              f"(at most {MAX_PARTS:,} are read)")


class SharedStrings(Sequence):
    """A workbook's shared strings as one block of UTF-8 and the offset where each ends."""

    def __init__(self):
        self._text = bytearray()
        self._ends = array("Q")

    def append(self, text: str) -> None:
        self._text += text.encode("utf-8", "surrogatepass")
        self._ends.append(len(self._text))

    def __len__(self) -> int:
        return len(self._ends)

    def __getitem__(self, index: int) -> str:
        if index < 0:
            index += len(self._ends)
        if not 0 <= index < len(self._ends):
            raise IndexError("shared string index out of range")
        start = self._ends[index - 1] if index else 0
        return self._text[start:self._ends[index]].decode("utf-8", "surrogatepass")


class PartScan:
    """One pass over a part's XML bytes, fed a chunk at a time, that refuses what a parser would hold too much of.

    It measures the longest stretch without a ``<`` (a value, or a tag with its
    attributes: XML allows no ``<`` inside either), comments, CDATA sections
    and processing instructions by what ends them, and refuses a document
    type declaration (its entities can inflate a value; no spreadsheet writes
    one). Given a ``record`` tag (``row``, ``si``), it counts the records and
    the elements in each, whatever namespace prefix they are written with.
    """

    def __init__(self, part: str, record: bytes | None = None, max_records: int = 0, what: str = "", one: str = ""):
        self.part, self.max_records, self.what, self.one = part, max_records, what, one
        self.record = re.compile(rb"<(?:[^\s/>!?<:]+:)?" + record + rb"[\s/>]") if record else None
        self.records = 0
        self.elements = 0  # start tags since the current record began
        self.run = 0  # bytes since the last "<" that began a tag
        self.end_marker: bytes | None = None  # inside a comment, CDATA section or processing instruction
        self.pending = b""

    def feed(self, chunk: bytes) -> None:
        """Check the next ``chunk`` of the part; an empty one ends it."""
        data = self.pending + chunk if self.pending else chunk
        final = not chunk
        limit = len(data)
        last = data.rfind(b"<")
        if not final and last >= 0 and limit - last < _DEFER:
            limit = last
        self.pending = data[limit:]
        position = 0
        while position < limit:
            if self.end_marker:
                end = data.find(self.end_marker, position, limit)
                if end < 0:
                    self._grow(limit - position)
                    # The marker may be cut by the chunk's end: read its first bytes again with the next chunk.
                    keep = max(position, limit - len(self.end_marker) + 1)
                    self.pending = data[keep:]
                    return
                self._grow(end - position)
                position = end + len(self.end_marker)
                self.end_marker = None
                continue
            special = _SPECIAL.search(data, position, limit)
            stop = special.start() if special else limit
            self._markup(data, position, stop)
            if not special:
                return
            for start, end in _SPECIAL_ENDS:
                if data.startswith(start, stop):
                    self.end_marker = end
                    position = stop + len(start)
                    break
            else:
                raise WorkbookRefused(f"{self.part} holds a document type declaration, which no spreadsheet writes "
                                      "(its entities can make one value of any size)")

    def _markup(self, data: bytes, start: int, stop: int) -> None:
        """Check tags and text in ``data[start:stop]``, which holds no comment or the like."""
        first = data.find(b"<", start, stop)
        if first < 0:
            self._grow(stop - start)
            return
        self._grow(first - start)
        self.run = stop - data.rfind(b"<", start, stop) - 1
        self._grow(0)
        if _LONG_NAME.search(data, start, stop):
            raise WorkbookRefused(f"{self.part} holds a tag name longer than {MAX_NAME_BYTES} characters: not spreadsheet XML")
        if self.record is None:
            return
        starts = [match.start() for match in self.record.finditer(data, start, stop)]
        self.elements += _start_tags(data, start, starts[0] if starts else stop)
        self._check_elements()
        if starts:
            # Between two records inside one chunk there are fewer elements than the limit.
            self.records += len(starts)
            if self.records > self.max_records:
                raise WorkbookRefused(f"{self.part} holds more than {self.max_records:,} {self.what}")
            self.elements = _start_tags(data, starts[-1], stop)
            self._check_elements()

    def _check_elements(self) -> None:
        if self.elements > MAX_ELEMENTS_PER_RECORD:
            raise WorkbookRefused(f"{self.part} holds more than {MAX_ELEMENTS_PER_RECORD:,} elements in one {self.one} "
                                  "(or after the last): more than any spreadsheet writes")

    def _grow(self, size: int) -> None:
        self.run += size
        if self.run > MAX_TOKEN_BYTES:
            raise WorkbookRefused(f"{self.part} holds a value or tag of more than {MAX_TOKEN_BYTES // _MIB} MiB "
                                  "(a spreadsheet cell holds at most 32,767 characters)")


def _start_tags(data: bytes, start: int, stop: int) -> int:
    return data.count(b"<", start, stop) - data.count(b"</", start, stop)


def scan_part(archive, part: str, scan: PartScan) -> None:
    """Feed the whole of ``part`` to ``scan``."""
    with archive.open(part) as stream:
        while chunk := stream.read(CHUNK):
            scan.feed(chunk)
        scan.feed(b"")


def read_shared_strings(archive, part: str) -> SharedStrings:
    """The shared strings of a checked workbook (see `_CheckedReader`), as openpyxl reads them, in little memory.

    Each string's element is dropped once its text is kept.
    """
    strings = SharedStrings()
    parser = XMLPullParser(("start", "end"))
    string_tag = "{%s}si" % SHEET_MAIN_NS
    root = None
    with archive.open(part) as stream:
        while True:
            chunk = stream.read(CHUNK)
            if chunk:
                parser.feed(chunk)
            else:
                parser.close()
            for event, element in parser.read_events():
                if root is None:
                    root = element
                elif event == "end" and element.tag == string_tag:
                    strings.append(Text.from_tree(element).content.replace("x005F_", ""))
                    root.clear()
            if not chunk:
                return strings


class _CheckedReader(ExcelReader):
    """openpyxl's reader, read-only, with the parts checked before it parses them and compact shared strings."""

    def __init__(self, file, *, data_only: bool, shared_strings: SharedStrings | None):
        super().__init__(file, read_only=True, data_only=data_only)
        self.given_strings = shared_strings

    def read_manifest(self) -> None:
        if self.given_strings is not None:
            return super().read_manifest()
        parts = {info.filename: info for info in self.archive.infolist()}
        if len(parts) > MAX_PARTS:
            raise WorkbookRefused(f"the zip holds {len(parts):,} parts; a workbook has tens (at most {MAX_PARTS:,} are read)")
        self._check_whole(parts, ARC_CONTENT_TYPES)
        super().read_manifest()
        workbook = _find_workbook_part(self.package).PartName[1:]
        rels_path = get_rels_path(workbook)
        self._check_whole(parts, workbook)
        self._check_whole(parts, rels_path)
        # Which parts openpyxl streams as worksheets, found as it finds them (links to other files left unread).
        book = WorkbookParser(self.archive, workbook, keep_links=False)
        book.parse()
        sheet_rels = [rel for _, rel in book.find_sheets() if rel is not None and rel.target in parts]
        rels = book.rels.values() if rels_path in parts else []
        strings = self.package.find(SHARED_STRINGS)
        strings_part = strings.PartName[1:] if strings is not None else None
        # The parts it reads whole: the package's own, each sheet's relationships, links to other workbooks.
        whole = {ARC_CONTENT_TYPES, workbook, rels_path, ARC_STYLE, ARC_THEME, ARC_CORE, ARC_APP, ARC_CUSTOM}
        whole |= {get_rels_path(rel.target) for rel in sheet_rels}
        for rel in rels:
            if "externalLink" in (rel.Type or "") and rel.TargetMode != "External":
                whole |= {rel.target, get_rels_path(rel.target)}
        sheets = {rel.target for rel in sheet_rels if "chartsheet" not in (rel.Type or "")} - whole
        if any("chartsheet" in (rel.Type or "") for rel in sheet_rels):
            # A chartsheet's drawings and charts are read too: hold every other part to the limit.
            whole |= set(parts) - sheets - {strings_part}
        for name in sorted(whole & parts.keys()):
            self._check_whole(parts, name)
        for name in sorted(sheets):
            self._check_ratio(parts[name])
            scan_part(self.archive, name, PartScan(name, b"row", MAX_ROWS, "rows", "row"))
        if strings_part in parts and strings_part not in whole:
            info = parts[strings_part]
            self._check_ratio(info)
            if info.file_size > MAX_SHARED_STRINGS_BYTES:
                raise WorkbookRefused(
                    f"{strings_part} (the text of its cells) inflates to {info.file_size / _MIB:,.0f} MiB, more than the "
                    f"{MAX_SHARED_STRINGS_BYTES // _MIB} MiB read: save the sheet alone, or as CSV"
                )
        if strings_part in parts:
            # Counted at the speed of reading bytes, before parsing them (much slower) finds too many.
            scan_part(self.archive, strings_part,
                      PartScan(strings_part, b"si", MAX_SHARED_STRINGS, "distinct texts (shared strings)", "text"))

    @staticmethod
    def _check_ratio(info) -> None:
        if info.file_size > RATIO_FLOOR_BYTES and info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1):
            raise WorkbookRefused(
                f"{info.filename} inflates from {info.compress_size / _MIB:,.1f} MiB to {info.file_size / _MIB:,.0f} MiB, "
                f"more than {MAX_COMPRESSION_RATIO} times: a zip bomb, not a spreadsheet"
            )

    @staticmethod
    def _check_whole(parts: dict, name: str) -> None:
        info = parts.get(name)
        if info is not None and info.file_size > MAX_WHOLE_PART_BYTES:
            raise WorkbookRefused(f"{name} inflates to {info.file_size / _MIB:,.0f} MiB; a part like it is read whole, "
                                  f"so at most {MAX_WHOLE_PART_BYTES // _MIB} MiB of it")

    def read_strings(self) -> None:
        if self.given_strings is not None:
            self.shared_strings = self.given_strings
            return
        part = self.package.find(SHARED_STRINGS)
        if part is not None:
            self.shared_strings = read_shared_strings(self.archive, part.PartName[1:])
