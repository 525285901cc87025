"""JSON read carefully, one value at a time: `parse_json` for one value, and the streaming
readers of JSON Lines files and of (very long) JSON arrays.

Careful, because where readers differ (which of two values given for one name
counts) or where the text cannot be kept whole (a NUL, a lone surrogate), the
JSON is refused, saying why (`RefusedJson`), rather than read one way here and
another wherever the file is read next.
"""

from __future__ import annotations

import io
import json
from typing import Callable, Generator, Iterator

import orjson

from .source_file import CHUNK, ReadError, Record, Source, decoding_error


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
#: Where an object may hold its array of records: paths of member names, such as
#: ``(("value",), ("data", "events"))``.
Wrappers = tuple[tuple[str, ...], ...]


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
        raise RefusedJson(_given_twice(name))
    return value


def _given_twice(name: str) -> str:
    # Shown as JSON writes it, with anything UTF-8 cannot carry (half a character) escaped.
    shown = json.dumps(name, ensure_ascii=False).encode("utf-8", "backslashreplace").decode("utf-8")
    return f"the field {shown} is given twice in one object; keep one"


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


def _object_or_error(name: str, line: int, value: object) -> Record:
    if not isinstance(value, dict):
        raise ReadError(name, line, f"expected an object with named fields, found {type(value).__name__}")
    return value


def json_lines_records(source: Source, text: io.TextIOBase) -> Iterator[tuple[int, Record]]:
    """The objects of a JSON Lines file, one per line; blank lines are passed over."""
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
        raise decoding_error(source, line + 1, error) from None
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
            raise decoding_error(self.source, self.line, error) from None
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

    def wrapped_objects(self, wrappers: Wrappers) -> Generator[tuple[int, Record], None, Record | None]:
        """The objects of the arrays at ``wrappers`` in the object whose ``{`` is the next character.

        A wrapper is a path of member names: ``("value",)`` for a Graph page,
        ``("data", "events")`` for an object nested in it. The arrays are
        streamed however long they are. Returns None when the object held one,
        else the object itself, read whole (it is then no wrapper but a record).
        """
        self.position += 1
        held: Record | None = {}  # the object's other members, until an array is found in it
        first = True
        while True:
            char = self.peek()
            if char is None:
                raise self.error("the JSON object is not closed: the file ends early")
            if char == "}":
                self.position += 1
                return held
            if not first:
                if char != ",":
                    raise self.error("expected ',' or '}' between the object's members")
                self.position += 1
                self.peek()
            first = False
            key = self.value()
            if not isinstance(key, str) or self.peek() != ":":
                raise self.error("expected a member name and ':'")
            self.position += 1
            within = tuple(path[1:] for path in wrappers if path[0] == key)
            char = self.peek()
            if char == "[" and () in within:
                held = None
                yield from self.objects()
                continue
            inner = tuple(path for path in within if path)
            if char == "{" and inner:
                value = yield from self.wrapped_objects(inner)
                if value is None:
                    held = None
            else:
                value = self.value()
            if held is not None:
                if key in held:
                    raise self.error(_given_twice(key))
                held[key] = value


def json_array_records(source: Source, text: io.TextIOBase, wrappers: Wrappers = (),
                       lone: Callable[[int, Record], None] | None = None) -> Iterator[tuple[int, Record]]:
    """Stream the objects of a top-level JSON array without loading the whole file.

    With ``wrappers`` (paths of member names, see `_JsonText.wrapped_objects`),
    the file may also be an object holding the array there, as an API page
    does, or an object that holds none: then it is the one record, once
    ``lone`` (given the line it starts on) has not refused it.
    """
    stream = _JsonText(source, text)
    char = stream.peek()
    if char is None:
        raise ReadError(stream.name, 1, "the file is empty: expected a JSON array of objects")
    if char == "{" and wrappers:
        line = stream.line
        whole = yield from stream.wrapped_objects(wrappers)
        if whole is not None:
            if lone:
                lone(line, whole)
            yield line, whole
    elif char != "[":
        found = "an object" if char == "{" else "something else"
        raise stream.error(f"expected a JSON array of objects ([{{...}}, ...]), found {found}")
    else:
        yield from stream.objects()
    if stream.peek() is not None:
        raise stream.error("unexpected content after the end of the JSON array")
