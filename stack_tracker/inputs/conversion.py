"""Turn the records of one input file into column values: parse, check and resolve names, in memory.

A `Converter` reads and never writes. A name the database lacks (a team or an
unreviewed tool, with ``--allow-new``; a spelling of a tool not seen before)
gets its slug at once through the in-memory `Resolver`, so later rows of the
same file find it by the same slug, and waits in `NewNames` until the whole
file has been read; the loader writes it with the file's rows. What a kind
needs beyond its own columns (a row's slug, a currency, checks across rows)
are the kind's rules (`kind_rules`), which the converter calls for each row.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable

from .. import normalise as n
from ..database.names import NewNames, Resolver
from ..database.schema import CUSTOM_FIELDS
from . import kinds as k
from .runs import Problems

#: How many distinct spellings each column remembers the parsed value of.
PARSED_VALUES_KEPT = 20_000
WARNED_LINES = 5  # the lines a warning about rows lists; it counts the others


@dataclass(frozen=True)
class Options:
    """How to read values: the knobs a user sets on the command line."""

    allow_new: bool = False
    date_format: str | None = None
    default_currency: str | None = None  # of amounts that name none (None: the base currency)
    base_currency: str = "USD"  # the database's (`database.settings`), which rates convert into: set by `ingest`
    sheet: str | None = None  # the worksheet of an .xlsx file to read (default: the first)
    as_of: str | None = None  # the day a tools file's snapshot is as of: when its changes took effect
    header_row: int | None = None  # the line of a table's header, when a person says (default: found below any titles)


def _as_is(line: int, values: dict[str, object]) -> dict[str, object]:
    return values


class Converter:
    """Turns the records of one file into column values, noting problems and odd rows as it goes.

    The kind's rules fit two hooks: ``finish_row(line, values)``, what a row
    needs beyond its own columns, and ``unknown_team(name)``, what a team
    reference the resolver does not know means (by default: a new team with
    ``--allow-new``, else a problem).
    """

    def __init__(self, kind: k.Kind, file: str, options: Options, resolver: Resolver):
        self.kind, self.file, self.options, self.resolver = kind, file, options, resolver
        self.problems = Problems(file)
        self.new_names = NewNames(resolver)
        self.row_warnings: dict[str, list[int]] = {}  # what is odd -> how many, then its first lines
        self.finish_row: Callable[[int, dict[str, object]], dict[str, object] | None] = _as_is
        self.unknown_team: Callable[[str], str] = self.new_team
        self.line = 0  # the line being converted, for what is checked once the file is read
        self.custom: list[tuple[str, str]] = []  # (the file's header, the custom field it feeds)
        self.parsers = {column.name: self._parser(column) for column in kind.columns}

    # -- odd rows ---------------------------------------------------------
    def warn_row(self, line: int, what: str) -> None:
        """Note something odd but loadable about a row; `row_warning_texts` lists the lines once per kind of oddity.

        Five lines are kept and the rest counted, so a million odd rows cost no memory.
        """
        lines = self.row_warnings.setdefault(what, [0])
        lines[0] += 1
        if len(lines) <= WARNED_LINES:
            lines.append(line)

    def row_warning_texts(self) -> list[str]:
        texts = []
        for what, (count, *lines) in self.row_warnings.items():
            shown = ", ".join(map(str, lines)) + (f" and {count - len(lines)} more" if count > len(lines) else "")
            texts.append(f"{self.file}: {what} (line{'s' if count > 1 else ''} {shown})")
        return texts

    # -- values -----------------------------------------------------------
    def _parser(self, column: k.Column) -> Callable[[str], object]:
        options = self.options
        simple = {
            k.TEXT: str,
            k.NAME: n.display_name,
            k.INT: n.parse_int,
            k.MONEY: n.parse_money,
            k.CURRENCY: n.parse_currency,
            k.DATE: lambda text: n.parse_date(text, options.date_format),
            k.PERIOD: _cached(n.parse_period),
            k.BOOL: n.parse_bool,
            k.LEVEL: n.parse_usage_level,
            k.DURATION: n.parse_notice_period,
            k.RATE: n.parse_rate,
            k.CHOICE: column.parse,
        }
        if column.type in simple:
            return simple[column.type]
        # References repeat on every row of a usage file; each spelling is resolved once,
        # in its composed form, so a name typed in two Unicode forms is one name.
        resolve = {k.TEAM_REF: self.team_ref, k.TOOL_REF: self.tool_ref, k.TOOL_ITSELF_REF: self.tool_itself_ref,
                   k.CAPABILITY_REF: self.capability_ref}[column.type]
        return _cached(lambda text: resolve(n.display_name(text)))

    def team_ref(self, name: str) -> str:
        return self.resolver.team(name) or self.unknown_team(name)

    def new_team(self, name: str) -> str:
        if not self.options.allow_new:
            raise n.BadValue("unknown team: add it to the teams file first, or pass --allow-new to create it")
        return self.new_names.team(name)

    def tool_ref(self, name: str) -> str:
        slug = self.resolver.tool(name)
        if slug is None:
            if not self.options.allow_new:
                raise n.BadValue(
                    "unknown tool: add it to the tools file, map this spelling in an aliases file, "
                    "or pass --allow-new to record it as an unreviewed tool"
                )
            slug = self.new_names.tool(name)
        self.new_names.alias(name, slug)
        return slug

    def tool_itself_ref(self, name: str) -> str:
        """The tool an alias points at, by its own name or slug: never another alias, which would make a chain."""
        slug = self.resolver.tool_itself(name)
        if slug is None:
            through_alias = self.resolver.tool(name)
            if through_alias is not None:
                raise n.BadValue(
                    f"is an alias of {self.resolver.tool_names.get(through_alias, through_alias)}, not a tool: "
                    "give the tool's own name; an alias can't point at another alias"
                )
            return self.tool_ref(name)  # unknown: an error, or with --allow-new a new tool
        self.new_names.alias(name, slug)
        return slug

    def capability_ref(self, name: str) -> str:
        slug = self.resolver.capability(name)
        if slug is None:
            raise n.BadValue("unknown capability: use a name or slug from the capabilities table (stack-tracker init loads the taxonomy)")
        return slug

    # -- rows -------------------------------------------------------------
    def plan(self, keys: dict[str, str], custom: dict[str, str] | None = None) -> None:
        """Fix which record keys feed which columns; columns the file lacks take their default.

        ``keys`` maps a column to the key it has in each record (the file's own
        header for CSV, the column name for JSON after renaming); ``custom``
        maps the file's other headers to the custom field each feeds.
        """
        self.custom = list((custom or {}).items())
        # Values repeat down a file (teams, tools, months, small counts): each
        # column but free text remembers what its spellings parsed to. Rows
        # whose values were all seen before skip stripping and parsing.
        self.steps = [
            (
                keys[column.name], column.name, self.parsers[column.name], column.required,
                self.kind.defaults.get(column.name), None if column.type in (k.TEXT, k.NAME) else {},
            )
            for column in self.kind.columns
            if column.name in keys
        ]
        self.absent = {column.name: self.kind.defaults.get(column.name) for column in self.kind.columns if column.name not in keys}

    def convert(self, line: int, record: dict[str, object]) -> dict[str, object] | None:
        """One record -> column values, or None after noting its problems."""
        # The hot loop: a million rows pass here, so it stays one flat function.
        self.line = line
        values = dict(self.absent)
        ok = True
        for key, column, parse, required, default, parsed in self.steps:
            raw = record.get(key)
            if raw.__class__ is str:
                if parsed is not None:
                    value = parsed.get(raw)
                    if value is not None:
                        values[column] = value
                        continue
            elif raw is not None:
                raw = self.scalar_text(line, column, raw)
                if raw is False:
                    ok = False
                    continue
            text = raw.strip() if raw else None
            if not text:
                if required:
                    self.problems.add(line, column, raw, "a value is required")
                    ok = False
                values[column] = default
                continue
            try:
                value = values[column] = parse(text)
            except n.BadValue as error:
                self.problems.add(line, column, text, str(error))
                ok = False
                continue
            if parsed is not None and len(parsed) < PARSED_VALUES_KEPT:
                parsed[raw] = value
        if not ok:
            return None
        if self.custom:
            values[CUSTOM_FIELDS] = custom_fields_json(self.custom, record)
        return self.finish_row(line, values)

    def scalar_text(self, line: int, column: str, raw: object) -> str | bool:
        """A JSON value as the text a spreadsheet would hold; False (noted) for lists and objects."""
        if isinstance(raw, bool):
            return "yes" if raw else "no"
        if isinstance(raw, (int, float)):
            return repr(raw)
        self.problems.add(line, column, raw, "expected a single value, not a list or object")
        return False


def custom_fields_json(custom: list[tuple[str, str]], record: dict[str, object]) -> str:
    """A row's custom fields as the JSON object its table keeps: an empty value is null, which clears the field."""
    fields = {}
    for header, name in custom:
        value = record.get(header)
        text = value.strip() if isinstance(value, str) else value
        fields[name] = text if text not in ("", None) else None
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":"), default=str)


def _cached(parse: Callable[[str], object]) -> Callable[[str], object]:
    """Memoise a parser whose inputs repeat (months in a usage file)."""
    cache: dict[str, object] = {}

    def parse_cached(text: str) -> object:
        try:
            return cache[text]
        except KeyError:
            value = cache[text] = parse(text)
            if len(cache) > 10_000:
                cache.clear()
            return value

    return parse_cached
