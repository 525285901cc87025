"""Load one input file into the database: validate, normalise, resolve names, upsert.

One file is one transaction: it loads whole or not at all. Rows are upserted
by natural key, and a row whose values did not change is not touched, so
re-ingesting the same file changes nothing. Every run that is not a dry run
appends a row to ``ingests``, also when the file is rejected.
"""

from __future__ import annotations

import itertools
import json
import operator
import re
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import sqlite_utils

from .. import normalise as n
from ..database.names import Resolver, create_unreviewed_tool, record_alias
from ..database.schema import TABLES
from ..errors import StackTrackerError
from . import kinds as k
from .catalog import default_catalog, fill_tools
from .readers import ReadError, Source, open_source
from .runs import MAX_PROBLEMS, Problems, logged_run
BATCH_SIZE = 5_000
#: How many distinct spellings each column remembers the parsed value of.
PARSED_VALUES_KEPT = 20_000


@dataclass
class IngestResult:
    """What an ingest read and changed (or, in a dry run, would change)."""

    kind: str
    file: str
    ingest_id: int | None
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    created: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = False

    @property
    def rows_written(self) -> int:
        return self.inserted + self.updated

    @property
    def unchanged(self) -> int:
        return self.rows_read - self.rows_written

    def summary(self) -> str:
        """One line for people: what was (or would be) written."""
        verb = "would write" if self.dry_run else "wrote"
        text = (
            f"{self.file}: read {self.rows_read} {self.kind} rows, {verb} {self.rows_written} "
            f"({self.inserted} new, {self.updated} updated, {self.unchanged} unchanged)"
        )
        made = [f"{count} {what}" for what, count in self.created.items() if count]
        if made:
            text += f"; {'would create' if self.dry_run else 'created'} " + ", ".join(made)
        return text


@dataclass(frozen=True)
class Options:
    """How to read values: the knobs a user sets on the command line."""

    allow_new: bool = False
    date_format: str | None = None
    default_currency: str = "USD"
    sheet: str | None = None  # the worksheet of an .xlsx file to read (default: the first)


class _FileLoader:
    """Validates and writes the records of one file, inside one transaction."""

    def __init__(self, db: sqlite_utils.Database, kind: k.Kind, file: str, ingest_id: int, options: Options):
        self.db, self.kind, self.file, self.ingest_id, self.options = db, kind, file, ingest_id, options
        self.resolver = Resolver(db)
        self.problems = Problems(file)
        self.warnings: list[str] = []
        self.created = {"tools": 0, "teams": 0, "aliases": 0}
        self.pending_team_refs: list[tuple[int, str, str, str]] = []
        self.parsers = {column.name: self._parser(column) for column in kind.columns}
        self.batch: list[tuple] = []
        self.main_changes = 0
        self.changed_periods: set[str] | None = None  # the months the file changed, for tables kept by month
        self.rejected_rows = 0
        self.named: dict[str, object] = {}  # slug -> its url, for the rows of a kind that names things
        self.batch_lines: list[int] = []  # the line of each row in ``batch``
        self.repeats: _RepeatedKeys | None = None
        self.row_warnings: dict[str, list[int]] = {}  # what is odd -> its first lines, then how many more
        self.currencies: set[str] = set()
        self.team_lines: dict[str, int] = {}  # for a teams file: slug -> its line
        self.alias_lines: dict[int, tuple[str, str]] = {}  # for an aliases file: line -> its alias and tool
        self.headed: set[str] = set()  # the columns a table's header names

    # -- problems ---------------------------------------------------------
    def warn_row(self, line: int, what: str) -> None:
        """Note something odd but loadable about a row; `finish` lists the lines once per kind of oddity.

        Five lines are kept and the rest counted, so a million odd rows cost no memory.
        """
        lines = self.row_warnings.setdefault(what, [0])
        lines[0] += 1
        if len(lines) <= WARNED_LINES:
            lines.append(line)

    # -- headers ----------------------------------------------------------
    def map_headers(self, headers: list[str]) -> dict[str, str]:
        """File header -> column; warns about unknown headers, rejects duplicates and missing ones."""
        accepted = k.header_map(self.kind)
        mapping: dict[str, str] = {}
        seen: dict[str, str] = {}
        for header in headers:
            column = accepted.get(k.header_key(header))
            if column is None:
                if header.strip():
                    self.warnings.append(f"{self.file}: column {header.strip()!r} is not a {self.kind.name} column and was ignored")
                continue
            if column in seen:
                self.problems.add(1, column, header, f"two columns mean {column}: {seen[column]!r} and {header!r}; keep one")
                continue
            seen[column] = header
            mapping[header] = column
        self.headed = set(seen)
        for column in self.kind.columns:
            if column.required and column.name not in seen:
                self.problems.add(
                    1, column.name, None,
                    f"required column not found (accepted headers: {', '.join((column.name,) + column.aliases)})",
                )
        return mapping

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
        slug = self.resolver.team(name)
        if slug:
            return slug
        if self.kind.name == "teams":
            # A parent may be defined further down the same file: check at the end.
            slug = n.slugify(name)
            self.pending_team_refs.append((self._line, "parent", name, slug))
            return slug
        if not self.options.allow_new:
            raise n.BadValue("unknown team: add it to the teams file first, or pass --allow-new to create it")
        slug = self._new_slug(name)
        if self.resolver.teams.get(slug) == slug:
            return slug  # another spelling of a team already known by this slug
        self.db.execute("insert into teams (slug, name, ingest_id) values (?, ?, ?)", [slug, name, self.ingest_id])
        self.resolver.add_team(slug, name)
        self.created["teams"] += 1
        return slug

    def tool_ref(self, name: str) -> str:
        slug = self.resolver.tool(name)
        if slug is None:
            if not self.options.allow_new:
                raise n.BadValue(
                    "unknown tool: add it to the tools file, map this spelling in an aliases file, "
                    "or pass --allow-new to record it as an unreviewed tool"
                )
            known = len(self.resolver.tool_names)
            slug = create_unreviewed_tool(self.db, self.resolver, name, self.ingest_id)
            # Another spelling of a tool already known by this slug creates nothing: count what was written.
            self.created["tools"] += len(self.resolver.tool_names) - known
        self.remember_alias(name, slug)
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
        self.remember_alias(name, slug)
        return slug

    def remember_alias(self, spelling: str, tool: str) -> None:
        """Record every spelling seen, so that later files and reports can trace it."""
        if record_alias(self.db, self.resolver, spelling, tool, self.ingest_id):
            self.created["aliases"] += 1

    def capability_ref(self, name: str) -> str:
        slug = self.resolver.capability(name)
        if slug is None:
            raise n.BadValue("unknown capability: use a name or slug from the capabilities table (stack-tracker init loads the taxonomy)")
        return slug

    def _new_slug(self, name: str) -> str:
        slug = n.slugify(name)
        if not slug:
            raise n.BadValue("a name needs at least one letter or digit")
        return slug

    # -- rows -------------------------------------------------------------
    def plan(self, keys: dict[str, str]) -> None:
        """Fix which record keys feed which columns; columns the file lacks take their default.

        ``keys`` maps a column to the key it has in each record (the file's own
        header for CSV, the column name for JSON after renaming).
        """
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
        self._line = line
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
        return self.finish_row(line, values)

    def scalar_text(self, line: int, column: str, raw: object) -> str | bool:
        """A JSON value as the text a spreadsheet would hold; False (noted) for lists and objects."""
        if isinstance(raw, bool):
            return "yes" if raw else "no"
        if isinstance(raw, (int, float)):
            return repr(raw)
        self.problems.add(line, column, raw, "expected a single value, not a list or object")
        return False

    def finish_row(self, line: int, values: dict[str, object]) -> dict[str, object] | None:
        """Derive what a row needs beyond its own columns: its slug, money's currency."""
        kind = self.kind.name
        if self.kind.names_column:
            name = values.pop(self.kind.names_column)
            existing = {"teams": self.resolver.team, "tools": self.resolver.tool, "capabilities": self.resolver.capability}[kind](name)
            slug = existing or n.slugify(name)
            if not slug:
                self.problems.add(line, self.kind.names_column, name, "a name needs at least one letter or digit")
                return None
            values["slug"] = slug
            self.named[slug] = values.get("url")
            if kind == "teams":
                self.team_lines[slug] = line
            # A name seen through an alias keeps the tool's own display name.
            values["name"] = self.resolver.tool_names.get(slug, name) if kind == "tools" else name
            if kind == "teams":
                self.resolver.add_team(slug, name)
            elif kind == "capabilities":
                self.resolver.capabilities[slug] = slug
                self.resolver.capabilities[n.lookup_key(name)] = slug
            elif kind == "tools":
                self.resolver.add_tool(slug, values["name"])
        if kind == "tools":
            cost = values.get("annual_cost")
            if cost is not None:
                amount, named_currency = cost
                values["annual_cost"] = amount
                stated = values.get("currency")
                if stated and named_currency and stated != named_currency:
                    self.problems.add(line, "currency", stated, f"annual_cost is in {named_currency}; the two must agree")
                    return None
                values["currency"] = stated or named_currency or self.options.default_currency
                self.currencies.add(values["currency"])
            for column in ("url", "docs_url"):
                address = values.get(column)
                if address and not WEB_ADDRESS.match(address):
                    self.warn_row(line, f"{column} is not a web address (http:// or https://): kept as written, "
                                        "but the published site will not link it")
        if kind == "usage":
            active, seats = values.get("active_users"), values.get("seats")
            if active is not None and seats is not None and active > seats:
                self.warn_row(line, "more active users than seats: loaded as written; check the seat count")
        if kind == "tools" and values.get("vendor") is None:
            values["vendor"] = _catalog_vendor(values["name"], values.get("url"))
        if kind == "tools":
            # Both the file's spelling and the tool's display name find it again later.
            self.remember_alias(name, slug)
            self.remember_alias(values["name"], slug)
        if kind == "aliases":
            # A later line that names this spelling as its tool makes a chain (`tool_itself_ref`); whether
            # the spelling is another tool's own name is known once the file is read (`check_alias_spellings`).
            self.alias_lines[line] = (values["alias"], values["tool"])
            self.resolver.add_alias(values["alias"], values["tool"])
        return values

    def finish(self) -> None:
        """Checks that can only run once the whole file has been read."""
        for line, column, name, slug in self.pending_team_refs:
            if self.resolver.team(slug) is None:
                self.problems.add(line, column, name, "unknown team: it is neither in this file nor in the database")
        if self.kind.name == "teams" and not self.problems:
            self.check_team_circles()
        if self.kind.name == "aliases":
            self.check_alias_spellings()
        for what, (count, *lines) in self.row_warnings.items():
            shown = ", ".join(map(str, lines)) + (f" and {count - len(lines)} more" if count > len(lines) else "")
            self.warnings.append(f"{self.file}: {what} (line{'s' if count > 1 else ''} {shown})")
        if len(self.currencies) > 1:
            self.warnings.append(
                f"{self.file}: annual costs in {len(self.currencies)} currencies ({', '.join(sorted(self.currencies))}): "
                "each tool keeps its own; reports total one currency at a time (--param currency=...)"
            )

    def check_alias_spellings(self) -> None:
        """An alias that is another tool's own name or slug is a problem on its line.

        It would send that tool's rows to the other one, and a pair of them
        makes a circle. Checked once the file is read, so that a tool created
        further down the file (--allow-new) counts too.
        """
        names = self.resolver.tool_names
        for line, (alias, tool) in self.alias_lines.items():
            other = self.resolver.other_tool_named(alias, tool)
            if other is not None:
                self.problems.add(line, "alias", alias, f"is the tool {names[other]} itself, not another name for "
                                                   f"{names[tool]}: an alias can't name another tool")

    def check_team_circles(self) -> None:
        """A team above itself (its own parent, or its parent's parent …) is a problem on its line.

        Only teams this file wrote can have closed a circle, so the walk starts
        from them; it stops after as many steps as there are teams.
        """
        teams = self.db.execute("select count(*) from teams").fetchone()[0]
        circles = self.db.execute(
            """
            with recursive up(team, ancestor, path, steps) as (
              select slug, parent, slug, 1 from teams where ingest_id = ? and parent is not null
              union all
              select up.team, teams.parent, up.path || ' > ' || up.ancestor, up.steps + 1
              from up join teams on teams.slug = up.ancestor
              where up.ancestor <> up.team and teams.parent is not null and up.steps < ?
            )
            select team, path, steps from up where ancestor = team order by team
            """,
            [self.ingest_id, teams],
        ).fetchall()
        names = dict(self.db.execute("select slug, name from teams")) if circles else {}
        for team, path, steps in circles:
            parent = self.db.execute("select parent from teams where slug = ?", [team]).fetchone()[0]
            members = path.split(" > ")
            circle = " > ".join(names.get(slug, slug) for slug in members + [team])
            elsewhere = [f"{names.get(slug, slug)} is on line {self.team_lines[slug]}" for slug in members[1:] if slug in self.team_lines]
            expected = "a team cannot be its own parent" if steps == 1 else (
                f"a team cannot be above itself ({circle}{'; ' if elsewhere else ''}{', '.join(elsewhere)})"
            )
            self.problems.add(self.team_lines.get(team), "parent", names.get(parent, parent), expected)

    def check_repeated_keys(self, path: Path, fmt: str | None, rows_inserted: int) -> None:
        """A row key (team, tool and month; a tool's name …) given twice in the file with other values is a problem.

        Which of the two would win is an accident of order, so neither does:
        both lines are named. The same row twice over is only a warning.
        """
        if self.repeats is None or self.main_changes == 0:
            return  # nothing changed: a row given twice can only have repeated what the database holds
        if len(self.repeats) == rows_inserted and self.kind.table != "tool_aliases":
            return  # every row written was a new one, so no key came twice (an aliases file also records spellings)
        groups = self.repeats.repeated_lines()
        if not groups:
            return
        wanted = {line for lines in groups for line in lines}
        values_at = self.values_at(path, fmt, wanted)
        key_columns = [self.kind.names_column if key == "slug" else key for key in self.repeats.key_names]
        # The key as the file gives it: a column it leaves to its default (usage's source) goes unsaid.
        shown_columns = [column for column in key_columns if self.kind.column(column).required or column in self.headed]
        for lines in groups:
            first_line = lines[0]
            first = values_at.get(first_line)
            for line in lines[1:]:
                values = values_at.get(line)
                if first is None or values is None or self.repeats.key_of(self.repeats.row(first)) != self.repeats.key_of(self.repeats.row(values)):
                    continue  # two keys whose hashes happen to be equal
                differences = [
                    f"{column} {_shown(first.get(column))} on line {first_line}, {_shown(values.get(column))} here"
                    for column in self.repeats.columns if column not in self.repeats.key_names and first.get(column) != values.get(column)
                ]
                if differences:
                    key = [values.get("slug" if column == self.kind.names_column else column) for column in shown_columns]
                    self.problems.add(
                        line, ", ".join(shown_columns), key if len(key) > 1 else key[0],
                        f"already on line {first_line} with other values ({'; '.join(differences)}): "
                        "a file gives each row once; keep the right one",
                    )
                else:
                    self.warn_row(line, "the same row as an earlier line, loaded once")

    def values_at(self, path: Path, fmt: str | None, lines: set[int]) -> dict[int, dict[str, object]]:
        """The converted values of the records on ``lines``, read again from the file, quietly."""
        saved = (self.problems, self.pending_team_refs, self.rejected_rows, self.row_warnings)
        self.problems, self.pending_team_refs, self.row_warnings = Problems(self.file), [], {}
        found: dict[int, dict[str, object]] = {}
        try:
            with open_source(path, fmt, sheet=self.options.sheet) as source:
                accepted = None if source.format in TABLE_FORMATS else k.header_map(self.kind)
                for line, record in source.records:
                    if line not in lines:
                        continue
                    if accepted is not None:
                        record = {accepted[k.header_key(key)]: value for key, value in record.items() if k.header_key(key) in accepted}
                    values = self.convert(line, record)
                    if values is not None:
                        found[line] = values
                    if len(found) == len(lines):
                        break
        finally:
            self.problems, self.pending_team_refs, self.rejected_rows, self.row_warnings = saved
        return found


TABLE_FORMATS = ("csv", "tsv", "xlsx")
WARNED_LINES = 5  # the lines a warning about rows lists; it counts the others
#: What the published site links: the same test as its ``web_url`` filter.
WEB_ADDRESS = re.compile(r"^https?://[^\s\"'<>]+$", re.IGNORECASE)


def _shown(value: object) -> str:
    return "(empty)" if value is None else json.dumps(value, ensure_ascii=False) if isinstance(value, str) else str(value)


class _RepeatedKeys:
    """Notices a row key given twice in one file, in 12 bytes a row.

    Each row written leaves the hash of its key and its line. Once the file is
    read, sorting the hashes finds any that repeat (well under a second for a
    million rows), and only those rows are looked at again, closely. A set of
    the keys themselves would hold every key's strings: hundreds of MiB for a
    million rows.
    """

    def __init__(self, columns: list[str], key_names: list[str]):
        self.columns, self.key_names = columns, key_names
        self.key_of = operator.itemgetter(*(columns.index(key) for key in key_names))
        self.hashes = array("q")
        self.lines = array("I")

    def __len__(self) -> int:
        return len(self.hashes)

    def add(self, batch: list[tuple], lines: list[int]) -> None:
        self.hashes.extend(map(hash, map(self.key_of, batch)))
        self.lines.extend(lines)

    def row(self, values: dict[str, object]) -> tuple:
        return tuple(values.get(column) for column in self.columns)

    def repeated_lines(self, limit: int = MAX_PROBLEMS) -> list[list[int]]:
        """The lines of each key hash seen more than once (at most ``limit`` groups), in file order."""
        ordered = sorted(self.hashes)
        following = iter(ordered)
        next(following, None)
        if not any(map(operator.eq, ordered, following)):
            return []
        repeated = {first for first, second in zip(ordered, ordered[1:]) if first == second}
        del ordered
        groups: dict[int, list[int]] = {}
        for key_hash, line in zip(self.hashes, self.lines):
            if key_hash in repeated:
                groups.setdefault(key_hash, []).append(line)
        return list(groups.values())[:limit]


def _catalog_vendor(name: str, url: object) -> str | None:
    """The vendor the known-tool catalog gives for a tool, when the input names none."""
    catalog = default_catalog()
    product = catalog.find(name) or (catalog.find(url) if isinstance(url, str) else None)
    return product.vendor if product else None


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


def _upsert_sql(table: str, columns: list[str], rows_from: str) -> str:
    """INSERT … ON CONFLICT DO UPDATE of every row of ``rows_from``, leaving alone a row whose values did not change.

    Rows go in in key order (a file's later row after its earlier one); the
    one parameter is their ``ingest_id``.
    """
    spec = TABLES[table]
    keys = [spec.pk] if isinstance(spec.pk, str) else list(spec.pk)
    data = [column for column in columns if column not in keys]
    named = ", ".join(f'"{column}"' for column in columns)
    conflict = ", ".join(f'"{key}"' for key in keys)
    # WHERE true: without it, ON CONFLICT would read as a join's ON.
    rows = f"select {named}, ? from {rows_from} where true order by {conflict}, rowid"
    insert = f'insert into {table} ({named}, "ingest_id") {rows} on conflict({conflict})'
    if not data:
        return f"{insert} do nothing"
    sets = ", ".join(f'"{column}" = excluded."{column}"' for column in data + ["ingest_id"])
    changed = " or ".join(f'"{column}" is not excluded."{column}"' for column in data)
    return f"{insert} do update set {sets} where {changed}"


def _table_columns(kind: k.Kind, present: set[str]) -> list[str]:
    """The table columns a file writes: the ones it has, keys, and columns with defaults."""
    columns = []
    for column in kind.columns:
        if column.name in present or column.required or column.name in kind.defaults:
            if kind.names_column == column.name:
                columns += ["slug", "name"]
            else:
                columns.append(column.name)
    if kind.name == "tools" and "annual_cost" in columns and "currency" not in columns:
        columns.append("currency")
    return columns


def ingest(
    db: sqlite_utils.Database,
    kind_name: str,
    path: Path | str,
    *,
    fmt: str | None = None,
    dry_run: bool = False,
    options: Options = Options(),
    progress: Callable[[int, int], None] | None = None,
    after_load: Callable[[sqlite_utils.Database], None] | None = None,
) -> IngestResult:
    """Load ``path`` as ``kind_name`` in one transaction and return what changed.

    ``progress(bytes_read, total_bytes)`` is called as the file streams.
    ``after_load(db)`` runs inside the same transaction once the rows are in;
    by default it refreshes the derived report tables that read this kind's
    table (for usage and activity, only the months the file changed), so
    readers never see base rows and reports out of step. Raises `IngestError` listing every problem when the file is rejected;
    the database is then as it was, but for the failed run's row in ``ingests``.
    """
    try:
        kind = k.KINDS[kind_name]
    except KeyError:
        raise StackTrackerError(f"unknown kind {kind_name!r}: expected one of {', '.join(k.KINDS)}") from None
    path = Path(path)
    file = path.name
    conn = db.conn
    with logged_run(db, kind.name, file, log_failure=not dry_run) as run:
        loader = _FileLoader(db, kind, file, run.id, options)
        result = IngestResult(kind=kind.name, file=file, ingest_id=None if dry_run else run.id, dry_run=dry_run)
        rows_before = conn.execute(f"select count(*) from {kind.table}").fetchone()[0]
        try:
            source = open_source(path, fmt, sheet=options.sheet)
            with source:
                _load_records(loader, source, result, progress)
                sha256 = source.sha256()
        except ReadError as error:
            loader.problems.add_error(error)
        finally:
            run.rows_read = result.rows_read
        result.inserted = conn.execute(f"select count(*) from {kind.table}").fetchone()[0] - rows_before
        loader.check_repeated_keys(path, fmt, result.inserted)
        loader.finish()
        if result.rows_read == 0 and not loader.problems:
            loader.warnings.append(f"{file}: the file holds no rows: nothing was loaded")
        result.warnings = loader.warnings
        loader.problems.raise_if_any(rejected_rows=loader.rejected_rows)
        result.updated = loader.main_changes - result.inserted
        if kind.name == "tools":
            loader.created["capabilities from the catalog"] = fill_tools(db, loader.named, run.id)
        result.created = {what: count for what, count in loader.created.items() if count}
        if dry_run:
            run.discard()
            return result
        if after_load:
            after_load(db)
        else:
            changed = {kind.table}
            if loader.created.get("capabilities from the catalog"):
                changed.add("tool_capabilities")
            run.refresh(changed, periods=loader.changed_periods)
        run.commit(sha256=sha256, rows_read=result.rows_read, rows_written=result.rows_written, message=result.summary())
        return result


def _load_records(loader: _FileLoader, source: Source, result: IngestResult, progress) -> None:
    """Convert every record and stage it while the file is still clean; then write the staged rows."""
    records = source.records
    first = next(records, None)
    if source.format in TABLE_FORMATS:
        header_to_column = loader.map_headers(source.headers)
        keys = {column: header for header, column in header_to_column.items()}
        if loader.problems:
            return  # without the columns it needs, no row can be read
    else:
        header_to_column = None
        keys = {column.name: column.name for column in loader.kind.columns}
    if first is None:
        return
    loader.plan(keys)
    columns = _table_columns(loader.kind, set(keys))
    spec = TABLES[loader.kind.table]
    loader.repeats = _RepeatedKeys(columns, [spec.pk] if isinstance(spec.pk, str) else list(spec.pk))
    staged = _StagedRows(loader.db.conn, loader.kind.table, columns, loader.ingest_id)
    json_headers: dict[str, str | None] = {}
    accepted = k.header_map(loader.kind)
    batch, batch_lines = loader.batch, loader.batch_lines

    def flush() -> None:
        if batch and not loader.problems:
            staged.add(batch)
            loader.repeats.add(batch, batch_lines)
        batch.clear()
        batch_lines.clear()

    count = 0
    try:
        for count, (line, record) in enumerate(itertools.chain([first], records), start=1):
            if header_to_column is None:
                mapped = {}
                for key, value in record.items():
                    if key not in json_headers:
                        json_headers[key] = accepted.get(k.header_key(key))
                        if json_headers[key] is None:
                            loader.warnings.append(f"{loader.file}: field {key!r} is not a {loader.kind.name} field and was ignored")
                    column = json_headers[key]
                    if column in mapped:  # as two headers meaning one column are, in a table
                        first = next(other for other in record if json_headers[other] == column)
                        loader.problems.add(line, column, key, f"two fields mean {column}: {first!r} and {key!r}; keep one")
                    elif column:
                        mapped[column] = value
                record = mapped
            values = loader.convert(line, record)
            if values is not None and not loader.problems:
                batch.append(tuple(map(values.get, columns)))
                batch_lines.append(line)
            elif values is None:
                loader.rejected_rows += 1
            if len(batch) >= BATCH_SIZE:
                flush()
                if progress:
                    progress(source.bytes_read, source.size)
        flush()
        if not loader.problems:
            loader.main_changes = staged.write()
            loader.changed_periods = staged.changed_periods(loader.main_changes)
    finally:
        result.rows_read = count
        staged.drop()
    if progress:
        progress(source.size, source.size)


class _StagedRows:
    """A file's rows, held in a temporary table until the whole file has been read.

    Upserted in file order, a million rows land at random places in the
    table's key and each of its indexes, and SQLite's page cache thrashes.
    Appended to a scratch table instead and then upserted by one INSERT …
    SELECT … ORDER BY key, they go into the key in order and into the indexes
    nearly so (1,000,000 usage rows: 4.7 s of CPU instead of 17 s).
    """

    def __init__(self, conn, table: str, columns: list[str], ingest_id: int):
        self.conn, self.table, self.columns, self.ingest_id = conn, table, columns, ingest_id
        conn.execute("DROP TABLE IF EXISTS temp.staged_rows")
        conn.execute(f"CREATE TEMP TABLE staged_rows ({', '.join(f'[{column}]' for column in columns)})")
        self.insert = f"INSERT INTO temp.staged_rows VALUES ({', '.join('?' for _ in columns)})"
        self.rows = 0
        # The months the file holds rows of, for tables kept by month.
        self.periods: set[str] | None = set() if "period" in columns else None
        self.period_of = operator.itemgetter(columns.index("period")) if "period" in columns else None

    def add(self, batch: list[tuple]) -> None:
        self.conn.executemany(self.insert, batch)
        self.rows += len(batch)
        if self.periods is not None:
            self.periods.update(map(self.period_of, batch))

    def write(self) -> int:
        """Upsert the staged rows into the table, in key order; return how many rows were inserted or changed."""
        # The rows arrive in key order but not in the order of the other
        # indexes: into a table smaller than the file, building those indexes
        # afresh is quicker than adding to them (1,000,000 usage rows into an
        # empty table: 2.3 s of CPU instead of 4.8).
        rebuilt = []
        if self.rows > self.conn.execute(f"SELECT count(*) FROM [{self.table}]").fetchone()[0]:
            rebuilt = self.conn.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND name IN "
                "(SELECT name FROM pragma_index_list(?) WHERE origin = 'c' AND NOT \"unique\")",
                [self.table, self.table],
            ).fetchall()
        for name, _ in rebuilt:
            self.conn.execute(f"DROP INDEX [{name}]")
        before = self.conn.total_changes
        self.conn.execute(_upsert_sql(self.table, self.columns, "temp.staged_rows"), [self.ingest_id])
        changes = self.conn.total_changes - before
        for _, definition in rebuilt:
            self.conn.execute(definition)
        return changes

    def changed_periods(self, changes: int) -> set[str] | None:
        """The months in which the write changed a row (None for a table not kept by month).

        What `refresh_derived` needs to refresh only those months: a file of
        every month in which one month changed refreshes that month alone.
        """
        if self.periods is None or changes == 0:
            return None if self.periods is None else set()
        if changes >= self.rows:
            return set(self.periods)  # every row was new or changed
        # A row this ingest wrote carries its id: look for one in each month, through the period index.
        exists = f"SELECT EXISTS (SELECT 1 FROM [{self.table}] WHERE period = ? AND ingest_id = ?)"
        return {period for period in self.periods if self.conn.execute(exists, [period, self.ingest_id]).fetchone()[0]}

    def drop(self) -> None:
        self.conn.execute("DROP TABLE IF EXISTS temp.staged_rows")
