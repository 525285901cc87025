"""Sign-in logs, as identity providers export them, read as one stream of sign-ins.

One module per source (`okta`, `entra`, `google`, `csv_logins`), each with a
``sign_ins(log)`` function that streams a file and yields a `SignIn` for every
successful sign-in of a person to an application, already in UTC. What a source
leaves out (failed sign-ins, other event types, service accounts …) is counted
in ``log.skipped`` by reason, so the import can say what it did not count. The
format of a file is told from its content (and extension): a JSON array, JSON
Lines, a JSON object wrapping the array (an API page), CSV, or a spreadsheet.

Nothing here holds more than one event in memory.
"""

from __future__ import annotations

import codecs
import datetime as dt
import json
import itertools
import re
from collections import Counter
from pathlib import Path
from typing import Callable, Iterator

from ... import normalise as n
from ..runs import Problems
from ..readers import CHUNK, ReadError, RefusedJson, Source, open_source, open_text, parse_json, sniff_encoding

#: (line, user, application, time): the line of the file the event starts on, the
#: person's login or email as written, the application's name as written, and
#: the time in UTC as ``YYYY-MM-DDTHH:MM:SSZ``.
SignIn = tuple[int, str, str, str]

SOURCES = ("okta", "entra", "google", "csv")


class LogFile:
    """One sign-in log being read: where it is, what was skipped and why, what is wrong with it."""

    def __init__(self, path: Path, *, date_format: str | None = None):
        self.path, self.name = Path(path), Path(path).name
        self.problems = Problems(self.name)
        self.skipped: Counter[str] = Counter()
        self.source: Source | None = None
        self.timestamps = Timestamps(date_format)

    def utc(self, line: int, field: str, value: object) -> str | None:
        """``value`` as a UTC time, or None after noting the problem."""
        try:
            return self.timestamps.utc(value)
        except n.BadValue as error:
            self.problems.add(line, field, value, str(error))
            return None

    @property
    def bytes_read(self) -> int:
        return self.source.bytes_read if self.source else 0

    @property
    def size(self) -> int:
        return self.path.stat().st_size

    def sha256(self) -> str:
        return self.source.sha256() if self.source else ""

    def close(self) -> None:
        if self.source:
            self.source.raw.close()


# ---------------------------------------------------------------------------
# Formats

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


def json_objects(log: LogFile, layout: str, member: str) -> Iterator[tuple[int, dict]]:
    """The objects of a JSON log, whatever its layout; pages (objects with a ``member`` array) are opened up."""
    if layout == "lines":
        yield from _page_items(json_lines(log), member)
        return
    log.source = open_source(log.path, "json", member=member)
    yield from _page_items(log.source.records, member)


def _page_items(records: Iterator[tuple[int, dict]], member: str) -> Iterator[tuple[int, dict]]:
    for line, record in records:
        items = record.get(member)
        if isinstance(items, list):
            for item in items:
                if isinstance(item, dict):
                    yield line, item
        else:
            yield line, record


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
                raise ReadError(log.name, number, _not_utf8(error)) from None
            if value.__class__ is not dict:
                raise ReadError(log.name, number, f"expected one JSON object per line, found {type(value).__name__}")
            yield number, value
    except UnicodeDecodeError as error:
        # Read as text, a line is decoded before it is seen: the bad byte is on the next one.
        raise ReadError(log.name, number + 1, _not_utf8(error)) from None
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


def _not_utf8(error: UnicodeDecodeError) -> str:
    return f"the text is not valid {error.encoding} ({error.reason}); save the file as UTF-8"


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


def field_key(header: str) -> str:
    """How the fields of identity providers' exports are compared: letters and digits only, so that the
    API's field path and the admin console's column match (``actor.alternateId``, ``Actor Alternate ID``).

    Looser than `kinds.header_key`, which keeps letters of every script and
    punctuation other than spaces, underscores, hyphens and dots: the
    providers' fields are English words and paths, an ops team's headers are not.
    """
    return re.sub(r"[^0-9a-z]+", "", header.casefold())


def find_column(headers: list[str], *names: str) -> str | None:
    """The first header (as the file spells it) that matches one of ``names``."""
    keys = {field_key(header): header for header in reversed(headers)}
    for name in names:
        header = keys.get(field_key(name))
        if header is not None:
            return header
    return None


def text(value: object) -> str:
    """A field's value as trimmed text ('' for none)."""
    if value is None:
        return ""
    return value.strip() if isinstance(value, str) else str(value).strip()


# ---------------------------------------------------------------------------
# Time

_ISO_UTC = re.compile(r"\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d+)?Z")
_HUMAN = re.compile(
    r"(?P<date>.+?)[,\sT]+(?P<time>\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*(?P<ampm>[ap]\.?m\.?)?"
    r"\s*(?P<zone>z|utc|gmt|(?:utc|gmt)?\s*[+-]\d{1,2}(?::?\d{2})?)?",
    re.I,
)
EXPECTED_TIME = "expected a time such as 2024-03-31T23:30:00Z, 2024-03-31 23:30:00+02:00 or Mar 31, 2024, 11:30 PM GMT-7"


class Timestamps:
    """Turns the times logs write into UTC ``YYYY-MM-DDTHH:MM:SSZ``.

    ISO 8601 in UTC (what the APIs give) is taken as it is; an offset is
    converted; a time with no zone at all is read as UTC. ``date_format``
    settles slashed dates that read both ways, as for ``ingest``.
    """

    def __init__(self, date_format: str | None = None):
        self.date_format = date_format
        self.valid_days: set[str] = set()

    def utc(self, value: object) -> str:
        # Called for every sign-in: the usual case, ISO 8601 in UTC on a day
        # already seen, costs one regular expression and a slice.
        if value.__class__ is str and _ISO_UTC.fullmatch(value) and value[:10] in self.valid_days:
            return value[:19] + "Z"
        if value.__class__ is str and _ISO_UTC.fullmatch(value):
            self._check_day(value[:10])
            return value[:19] + "Z"
        return self._convert(text(value))

    def _check_day(self, day: str) -> None:
        n.parse_period(day)  # a day on the calendar, in a month usage can be counted in
        if len(self.valid_days) > 10_000:
            self.valid_days.clear()
        self.valid_days.add(day)

    def _convert(self, value: str) -> str:
        if not value:
            raise n.BadValue(EXPECTED_TIME)
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            moment = self._human(value)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.timezone.utc)
        # Checked before converting too: in the years 1 and 9999 an offset would carry the time off the calendar.
        _in_usage_years(moment)
        moment = moment.astimezone(dt.timezone.utc)
        _in_usage_years(moment)
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

    def _human(self, value: str) -> dt.datetime:
        match = _HUMAN.fullmatch(value)
        try:
            if not match:
                return dt.datetime.fromisoformat(n.parse_date(value, self.date_format))
            day = dt.date.fromisoformat(n.parse_date(match["date"].strip(" ,"), self.date_format))
        except n.BadValue as error:
            if "ambiguous" in str(error):
                raise
            raise n.BadValue(EXPECTED_TIME) from None
        parts = match["time"].split(":")
        hour, minute = int(parts[0]), int(parts[1])
        second = float(parts[2]) if len(parts) > 2 else 0.0
        if match["ampm"]:
            if not 1 <= hour <= 12:
                raise n.BadValue(EXPECTED_TIME)
            hour = hour % 12 + (12 if match["ampm"][0].lower() == "p" else 0)
        if hour > 23 or minute > 59 or second >= 60:
            raise n.BadValue(EXPECTED_TIME)
        zone = dt.timezone.utc
        if match["zone"] and (offset := re.search(r"([+-])(\d{1,2}):?(\d{2})?", match["zone"])):
            minutes = int(offset[2]) * 60 + int(offset[3] or 0)
            if minutes >= 24 * 60:
                raise n.BadValue(EXPECTED_TIME)
            zone = dt.timezone(dt.timedelta(minutes=minutes if offset[1] == "+" else -minutes))
        return dt.datetime.combine(day, dt.time(hour, minute, int(second), int(second % 1 * 1_000_000)), zone)


def _in_usage_years(moment: dt.datetime) -> None:
    """Refuse a time in a month no usage can be counted in (see `normalise.parse_period`)."""
    n.parse_period(f"{moment.year:04d}-{moment.month:02d}")


def reader(source: str) -> Callable[[LogFile], Iterator[SignIn]]:
    """The ``sign_ins`` function of a source."""
    from . import csv_logins, entra, google, okta

    return {"okta": okta.sign_ins, "entra": entra.sign_ins, "google": google.sign_ins, "csv": csv_logins.sign_ins}[source]
