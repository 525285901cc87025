"""How sign-in logs are laid out, told from their content, and read as records whatever the layout.

JSON arrays, JSON Lines, API pages (an object wrapping the array), CSV, TSV
and spreadsheets: every source reads its log through these.
"""

from __future__ import annotations

import codecs
import itertools
import json
from pathlib import Path
from typing import Callable, Iterator

from ..readers import CHUNK, ReadError, RefusedJson, Wrappers, open_source, open_text, parse_json, sniff_encoding
from ..source_file import decoding_error
from .log_file import LogFile


def sniff_format(path: Path) -> str:
    """How a log file is laid out, from its content: ``array``, ``lines``, ``object``, ``csv``, ``tsv`` or ``xlsx``.

    ``object`` is a single JSON object that wraps the events, as an API page
    does (``{"value": [...]}``); ``lines`` is JSON Lines, whose lines may also
    be such pages.
    """
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return "xlsx"
    try:
        with open(path, "rb") as file:
            head = file.read(CHUNK)
    except OSError as error:
        raise ReadError(path.name, None, f"cannot open: {error.strerror}") from None
    text = codecs.getincrementaldecoder(sniff_encoding(head))(errors="replace").decode(head)
    stripped = text.lstrip("\ufeff \t\r\n")
    if not stripped:
        raise ReadError(path.name, 1, "the file is empty")
    if stripped[0] == "[":
        return "array"
    if stripped[0] == "{":
        first_line, newline, _ = stripped.partition("\n")
        if newline:
            try:
                parse_json(first_line)
                return "lines"
            except RefusedJson:
                return "lines"  # a whole line of JSON, which its reader refuses, saying why
            except json.JSONDecodeError:
                pass
        return "object"
    return "tsv" if path.suffix.lower() in (".tsv", ".tab") else "csv"


def json_objects(log: LogFile, layout: str, wrappers: Wrappers, *, expected: str,
                 is_record: Callable[[dict], bool]) -> Iterator[tuple[int, dict]]:
    """The records of a JSON log, whatever its layout.

    An object holding the records in an array at one of ``wrappers`` (paths of
    member names: an API page's ``value``, an event hook's ``data.events``) is
    opened up, be it the whole file (its array streamed however long) or one
    line of JSON Lines; any other object is a record itself. A file that is
    one object holding no such array, and which ``is_record`` does not take for
    a record, is refused, saying what was ``expected`` and what it holds.
    """
    if layout == "lines":
        yield from opened(log, json_lines(log), wrappers)
        return

    def lone(line: int, value: dict) -> None:
        if not is_record(value):
            raise ReadError(log.name, line, f"{expected}; found {_members(value)}")

    log.source = open_source(log.path, "json", wrappers=wrappers, lone=lone)
    records = log.source.records
    yield from records if layout == "object" else opened(log, records, wrappers)


def opened(log: LogFile, records: Iterator[tuple[int, dict]], wrappers: Wrappers) -> Iterator[tuple[int, dict]]:
    """Each record, or the objects it holds in an array at one of ``wrappers`` (numbered by the record's line).

    What such an array holds that is no object is counted as one of the ``other events``.
    """
    for line, record in records:
        for path in wrappers:
            items = record
            for name in path:
                items = items.get(name) if items.__class__ is dict else None
            if items.__class__ is list:
                for item in items:
                    if item.__class__ is dict:
                        yield line, item
                    else:
                        log.skipped["other events"] += 1
                break
        else:
            yield line, record


def _members(value: dict) -> str:
    """What an object holds, for a person to recognise it by."""
    if not value:
        return "an empty object"
    names = list(value)
    return "an object with " + ", ".join(names[:5]) + (", …" if len(names) > 5 else "")


#: What `json_lines` looks for in a line: newline, backslash, braces, and the ends of a whole object.
_MARKS_IN_BYTES = (b"\n", b"\\", b"{", b"}", (b"}\n", b"}\r\n"))
_MARKS_IN_TEXT = ("\n", "\\", "{", "}", ("}\n", "}\r\n"))


def json_lines(log: LogFile, containing: str | None = None) -> Iterator[tuple[int, dict]]:
    """The objects of a JSON Lines file, one per line.

    With ``containing``, a line that holds neither that text nor a backslash
    (whose escapes could spell it) cannot be an event worth reading and is
    passed over undecoded, counted as one of the ``other events``. It is still
    checked to look like one whole object, and the last line is always
    decoded, so that a file cut off in the middle of a line is never taken for
    a complete one.
    """
    stream, binary = _open_lines(log)
    newline, backslash, opening, closing, whole = _MARKS_IN_BYTES if binary else _MARKS_IN_TEXT
    wanted = None if containing is None else containing.encode("utf-8") if binary else containing
    number = passed_over = 0
    try:
        for number, content in enumerate(stream, start=1):
            # The last line is always decoded: it is where a cut-off file ends.
            if wanted is not None and wanted not in content and backslash not in content and content[-1:] == newline:
                if not (content[:1] == opening and content.endswith(whole)):
                    stripped = content.strip()
                    if not stripped:
                        continue
                    if stripped[:1] != opening or stripped[-1:] != closing:
                        raise ReadError(log.name, number, _cut_off(content, newline))
                passed_over += 1
                continue
            try:
                value = parse_json(content)
            except json.JSONDecodeError as error:
                if content.isspace():
                    continue
                message = _cut_off(content, newline) if not content.endswith(newline) else f"not valid JSON: {error.msg} (column {error.colno})"
                raise ReadError(log.name, number, message) from None
            except RefusedJson as error:
                raise ReadError(log.name, number, str(error)) from None
            except UnicodeDecodeError as error:
                raise decoding_error(log.source, number, error) from None
            if value.__class__ is not dict:
                raise ReadError(log.name, number, f"expected one JSON object per line, found {type(value).__name__}")
            yield number, value
    except UnicodeDecodeError as error:
        # Read as text, a line is decoded before it is seen: the bad byte is on the next one.
        raise decoding_error(log.source, number + 1, error) from None
    finally:
        log.skipped["other events"] += passed_over


def _open_lines(log: LogFile) -> tuple[Iterator[bytes] | Iterator[str], bool]:
    """The lines of a JSON Lines file, and whether they come as bytes.

    A UTF-8 file (the usual case) is read as bytes: orjson takes them as they
    are, and the lines passed over are never decoded. A file in another
    encoding is read as text.
    """
    log.source, text = open_text(log.path, "jsonl")
    if text.encoding not in ("utf-8", "utf-8-sig"):
        return text, False
    stream = text.detach()
    if stream.peek(len(codecs.BOM_UTF8)).startswith(codecs.BOM_UTF8):
        stream.read(len(codecs.BOM_UTF8))
    return stream, True


def _cut_off(content: str | bytes, newline: str | bytes) -> str:
    if not content.endswith(newline):
        return "the line ends before its JSON object does: the file looks cut off; export it again"
    return "not valid JSON: expected one whole JSON object on the line"


def table_records(log: LogFile, layout: str) -> Iterator[tuple[int, dict]]:
    """The rows of a CSV, TSV or spreadsheet log, keyed by its own headers.

    A text file whose last row stops short of the header's fields, with no
    newline after it, was cut off: that is an error, not a short row.
    """
    log.source = open_source(log.path, layout)
    if layout == "xlsx":
        yield from log.source.records
        return
    last = None
    for last in log.source.records:
        yield last
    if last is not None and len(last[1]) < len(dict.fromkeys(log.source.headers)) and not _ends_with_newline(log.path):
        raise ReadError(log.name, last[0], f"the last row has {len(last[1])} of the header's {len(dict.fromkeys(log.source.headers))} "
                                           "fields and no line end: the file looks cut off; export it again")


def with_headers(log: LogFile, records: Iterator[tuple[int, dict]]) -> tuple[list[str], Iterator[tuple[int, dict]]] | None:
    """A table's headers and every one of its rows; None when it has no rows.

    A file opens as its first row is read, so its headers are known only then.
    """
    first = next(records, None)
    if first is None:
        return None
    return log.source.headers or list(first[1]), itertools.chain((first,), records)


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as file:
        file.seek(0, 2)
        if file.tell() == 0:
            return True
        file.seek(-1, 2)
        return file.read(1) in (b"\n", b"\r")
