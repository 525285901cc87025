"""Load one input file into the database: validate, normalise, resolve names, upsert.

One file is one transaction: it loads whole or not at all. Rows are upserted
by natural key, and a row whose values did not change is not touched, so
re-ingesting the same file changes nothing. Every run that is not a dry run
appends a row to ``ingests``, also when the file is rejected.
"""

from __future__ import annotations

import datetime as dt
import json
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import sqlite_utils

from . import kinds as k
from . import normalise as n
from .errors import StackTrackerError
from .readers import ReadError, Source, open_source
from .reports import refresh_derived
from .schema import TABLES

MAX_PROBLEMS = 50
BATCH_SIZE = 5_000


class IngestError(StackTrackerError):
    """A file was rejected; ``problems`` lists every problem found (up to a cap)."""

    def __init__(self, file: str, problems: list[str], more: int = 0, rejected_rows: int | None = None):
        self.file, self.problems, self.more, self.rejected_rows = file, problems, more, rejected_rows
        lines = [f"{file} was not loaded: {len(problems) + more} problem{'s' if len(problems) + more != 1 else ''}"]
        lines += problems
        if more:
            lines.append(f"... and {more} more")
        super().__init__("\n".join(lines))


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


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class Resolver:
    """Turns the names people write into the slugs the database keys on.

    Holds every team, tool spelling and capability in memory: they number in
    the thousands at most, unlike usage rows, which stream.
    """

    def __init__(self, db: sqlite_utils.Database):
        self.teams: dict[str, str] = {}
        for slug, name in db.execute("select slug, name from teams"):
            self.teams[slug] = slug
            self.teams[n.lookup_key(name)] = slug
        self.capabilities: dict[str, str] = {}
        for slug, name in db.execute("select slug, name from capabilities"):
            self.capabilities[slug] = slug
            self.capabilities[n.lookup_key(name)] = slug
        self.tools: dict[str, str] = {}
        self.tool_names: dict[str, str] = {}
        for slug, name in db.execute("select slug, name from tools"):
            self.tools[slug] = slug
            self.tools[n.lookup_key(name)] = slug
            self.tool_names[slug] = name
        self.aliases: dict[str, str] = {}
        for alias, tool in db.execute("select alias, tool from tool_aliases"):
            self.aliases[alias] = tool
            self.tools.setdefault(n.lookup_key(alias), tool)

    def team(self, name: str) -> str | None:
        return self.teams.get(name) or self.teams.get(n.lookup_key(name))

    def capability(self, name: str) -> str | None:
        key = n.lookup_key(name)
        return self.capabilities.get(key) or self.capabilities.get(n.slugify(name))

    def tool(self, name: str) -> str | None:
        return self.aliases.get(name) or self.tools.get(n.lookup_key(name))

    def add_team(self, slug: str, name: str) -> None:
        self.teams[slug] = slug
        self.teams[n.lookup_key(name)] = slug

    def add_tool(self, slug: str, name: str) -> None:
        self.tools[slug] = slug
        self.tools[n.lookup_key(name)] = slug
        self.tool_names[slug] = name

    def add_alias(self, alias: str, tool: str) -> None:
        self.aliases[alias] = tool
        self.tools.setdefault(n.lookup_key(alias), tool)


def record_alias(db: sqlite_utils.Database, resolver: Resolver, spelling: str, tool: str, ingest_id: int) -> bool:
    """Record a spelling of a tool seen in an input, so later files and reports can trace it.

    Returns whether the spelling was new.
    """
    if spelling in resolver.aliases:
        return False
    db.execute("insert or ignore into tool_aliases (alias, tool, ingest_id) values (?, ?, ?)", [spelling, tool, ingest_id])
    resolver.add_alias(spelling, tool)
    return True


def create_unreviewed_tool(
    db: sqlite_utils.Database, resolver: Resolver, name: str, ingest_id: int, *, vendor: str | None = None
) -> str:
    """Add a tool that an input uses but the inventory lacks, with status ``unreviewed`` (shadow IT)."""
    slug = n.slugify(name)
    if not slug:
        raise n.BadValue("a name needs at least one letter or digit")
    if slug in resolver.tool_names:
        return slug
    db.execute(
        "insert into tools (slug, name, vendor, status, ingest_id) values (?, ?, ?, 'unreviewed', ?)",
        [slug, name, vendor, ingest_id],
    )
    resolver.add_tool(slug, name)
    return slug


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
        self.problems: list[str] = []
        self.more_problems = 0
        self.warnings: list[str] = []
        self.created = {"tools": 0, "teams": 0, "aliases": 0}
        self.pending_team_refs: list[tuple[int, str, str, str]] = []
        self.parsers = {column.name: self._parser(column) for column in kind.columns}
        self.batch: list[tuple] = []
        self.main_changes = 0
        self.rejected_rows = 0
        self.named: dict[str, object] = {}  # slug -> its url, for the rows of a kind that names things

    # -- problems ---------------------------------------------------------
    def problem(self, line: int | None, column: str, value: object, expected: str) -> None:
        if len(self.problems) >= MAX_PROBLEMS:
            self.more_problems += 1
            return
        shown = "(empty)" if value in (None, "") else json.dumps(value, ensure_ascii=False)
        where = f"{self.file}:{line}" if line else self.file
        self.problems.append(f"{where}: {column}: {shown}: {expected}")

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
                self.problem(1, column, header, f"two columns mean {column}: {seen[column]!r} and {header!r}; keep one")
                continue
            seen[column] = header
            mapping[header] = column
        for column in self.kind.columns:
            if column.required and column.name not in seen:
                self.problem(
                    1, column.name, None,
                    f"required column not found (accepted headers: {', '.join((column.name,) + column.aliases)})",
                )
        return mapping

    # -- values -----------------------------------------------------------
    def _parser(self, column: k.Column) -> Callable[[str], object]:
        options = self.options
        simple = {
            k.TEXT: str,
            k.NAME: str,
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
        # References repeat on every row of a usage file; each spelling is resolved once.
        return _cached({k.TEAM_REF: self.team_ref, k.TOOL_REF: self.tool_ref, k.CAPABILITY_REF: self.capability_ref}[column.type])

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
            slug = create_unreviewed_tool(self.db, self.resolver, name, self.ingest_id)
            self.created["tools"] += 1
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
        self.steps = [
            (keys[column.name], column.name, self.parsers[column.name], column.required, self.kind.defaults.get(column.name))
            for column in self.kind.columns
            if column.name in keys
        ]
        self.absent = {column.name: self.kind.defaults.get(column.name) for column in self.kind.columns if column.name not in keys}

    def convert(self, line: int, record: dict[str, object]) -> dict[str, object] | None:
        """One record -> column values, or None after noting its problems."""
        self._line = line
        values = dict(self.absent)
        ok = True
        for key, column, parse, required, default in self.steps:
            raw = record.get(key)
            if raw.__class__ is not str and raw is not None:
                raw = self.scalar_text(line, column, raw)
                if raw is False:
                    ok = False
                    continue
            text = raw.strip() if raw else None
            if not text:
                if required:
                    self.problem(line, column, raw, "a value is required")
                    ok = False
                values[column] = default
                continue
            try:
                values[column] = parse(text)
            except n.BadValue as error:
                self.problem(line, column, text, str(error))
                ok = False
        if not ok:
            return None
        return self.finish_row(line, values)

    def scalar_text(self, line: int, column: str, raw: object) -> str | bool:
        """A JSON value as the text a spreadsheet would hold; False (noted) for lists and objects."""
        if isinstance(raw, bool):
            return "yes" if raw else "no"
        if isinstance(raw, (int, float)):
            return repr(raw)
        self.problem(line, column, raw, "expected a single value, not a list or object")
        return False

    def finish_row(self, line: int, values: dict[str, object]) -> dict[str, object] | None:
        """Derive what a row needs beyond its own columns: its slug, money's currency."""
        kind = self.kind.name
        if self.kind.names_column:
            name = values.pop(self.kind.names_column)
            existing = {"teams": self.resolver.team, "tools": self.resolver.tool, "capabilities": self.resolver.capability}[kind](name)
            slug = existing or n.slugify(name)
            if not slug:
                self.problem(line, self.kind.names_column, name, "a name needs at least one letter or digit")
                return None
            values["slug"] = slug
            self.named[slug] = values.get("url")
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
                    self.problem(line, "currency", stated, f"annual_cost is in {named_currency}; the two must agree")
                    return None
                values["currency"] = stated or named_currency or self.options.default_currency
        if kind == "tools" and values.get("vendor") is None:
            values["vendor"] = _catalog_vendor(values["name"], values.get("url"))
        if kind == "tools":
            # Both the file's spelling and the tool's display name find it again later.
            self.remember_alias(name, slug)
            self.remember_alias(values["name"], slug)
        return values

    def finish(self) -> None:
        """Checks that can only run once the whole file has been read."""
        for line, column, name, slug in self.pending_team_refs:
            if self.resolver.team(slug) is None:
                self.problem(line, column, name, "unknown team: it is neither in this file nor in the database")


def _catalog_vendor(name: str, url: object) -> str | None:
    """The vendor the known-tool catalog gives for a tool, when the input names none."""
    from .catalog import default_catalog  # the catalog resolves names with this module's Resolver

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


def _upsert_sql(table: str, columns: list[str]) -> str:
    """INSERT … ON CONFLICT DO UPDATE that leaves a row alone when nothing in it changed."""
    spec = TABLES[table]
    keys = [spec.pk] if isinstance(spec.pk, str) else list(spec.pk)
    data = [column for column in columns if column not in keys]
    quoted = ", ".join(f'"{column}"' for column in columns + ["ingest_id"])
    placeholders = ", ".join("?" for _ in columns + ["ingest_id"])
    conflict = ", ".join(f'"{key}"' for key in keys)
    if not data:
        return f"insert into {table} ({quoted}) values ({placeholders}) on conflict({conflict}) do nothing"
    sets = ", ".join(f'"{column}" = excluded."{column}"' for column in data + ["ingest_id"])
    changed = " or ".join(f'"{column}" is not excluded."{column}"' for column in data)
    return (
        f"insert into {table} ({quoted}) values ({placeholders}) "
        f"on conflict({conflict}) do update set {sets} where {changed}"
    )


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


class LoggedRun:
    """One input file's transaction and its row in ``ingests`` (see `logged_run`)."""

    def __init__(self, db: sqlite_utils.Database, kind: str, file: str):
        self.db, self.kind, self.file = db, kind, file
        self.started = now()
        self.rows_read: int | None = None  # set by the caller as it learns it, for the failure row
        self.id: int | None = None
        self.finished = False

    def commit(self, *, sha256: str, rows_read: int, rows_written: int, message: str) -> None:
        """Mark the run ok and commit everything it wrote."""
        self.db.conn.execute(
            "update ingests set sha256 = ?, rows_read = ?, rows_written = ?, rows_rejected = 0, "
            "finished_at = ?, status = 'ok', message = ? where id = ?",
            [sha256, rows_read, rows_written, now(), message, self.id],
        )
        self.db.conn.commit()
        self.finished = True

    def discard(self) -> None:
        """Undo everything, its row in ``ingests`` included (a dry run)."""
        self.db.conn.rollback()
        self.finished = True


@contextmanager
def logged_run(db: sqlite_utils.Database, kind: str, file: str, *, log_failure: bool = True) -> Iterator[LoggedRun]:
    """One file, one transaction: a ``running`` row in ``ingests``, then ok or nothing.

    The body writes and ends with `LoggedRun.commit` (or `discard`); leaving it
    any other way rolls everything back, and a `StackTrackerError` leaves a
    ``failed`` row saying why. ``begin immediate`` makes a second writer wait
    for the first (the busy timeout) instead of failing half-way.
    """
    conn = db.conn
    if conn.in_transaction:
        conn.commit()
    conn.execute("begin immediate")
    run = LoggedRun(db, kind, file)
    try:
        run.id = conn.execute(
            "insert into ingests (kind, file, started_at, status) values (?, ?, ?, 'running')", [kind, file, run.started]
        ).lastrowid
        yield run
    except BaseException as error:
        conn.rollback()
        if log_failure and isinstance(error, StackTrackerError):
            with conn:
                conn.execute(
                    "insert into ingests (kind, file, rows_read, rows_written, rows_rejected, started_at, "
                    "finished_at, status, message) values (?, ?, ?, 0, ?, ?, ?, 'failed', ?)",
                    [kind, file, run.rows_read, getattr(error, "rejected_rows", None), run.started, now(), str(error)],
                )
        raise
    if not run.finished:
        conn.rollback()


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
    by default it rebuilds the derived report tables that read this kind's
    table, so readers never see base rows and reports out of step. Raises `IngestError` listing every problem when the file is rejected;
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
            loader.problems.append(str(error))
        finally:
            run.rows_read = result.rows_read
        loader.finish()
        result.warnings = loader.warnings
        if loader.problems:
            raise IngestError(file, loader.problems, loader.more_problems, rejected_rows=loader.rejected_rows)
        result.inserted = conn.execute(f"select count(*) from {kind.table}").fetchone()[0] - rows_before
        result.updated = loader.main_changes - result.inserted
        if kind.name == "tools":
            from .catalog import fill_tools

            loader.created["capabilities from the catalog"] = fill_tools(db, loader.named, run.id)
        result.created = {what: count for what, count in loader.created.items() if count}
        if dry_run:
            run.discard()
            return result
        if after_load:
            after_load(db)
        else:
            refresh_derived(db, changed={kind.table})
        run.commit(sha256=sha256, rows_read=result.rows_read, rows_written=result.rows_written, message=result.summary())
        return result


def _load_records(loader: _FileLoader, source: Source, result: IngestResult, progress) -> None:
    """Convert every record; write in batches while the file is still clean."""
    records = source.records
    first = next(records, None)
    if source.format in ("csv", "tsv", "xlsx"):
        header_to_column = loader.map_headers(source.headers)
        keys = {column: header for header, column in header_to_column.items()}
    else:
        header_to_column = None
        keys = {column.name: column.name for column in loader.kind.columns}
    loader.plan(keys)
    columns = _table_columns(loader.kind, set(keys))
    sql = _upsert_sql(loader.kind.table, columns)
    conn = loader.db.conn
    json_headers: dict[str, str | None] = {}
    accepted = k.header_map(loader.kind)

    def flush() -> None:
        if loader.batch and not loader.problems:
            before = conn.total_changes
            conn.executemany(sql, loader.batch)
            loader.main_changes += conn.total_changes - before
        loader.batch.clear()

    if first is None:
        return
    stream = _prepend(first, records)
    for count, (line, record) in enumerate(stream, start=1):
        if header_to_column is None:
            mapped = {}
            for key, value in record.items():
                if key not in json_headers:
                    json_headers[key] = accepted.get(k.header_key(key))
                    if json_headers[key] is None:
                        loader.warnings.append(f"{loader.file}: field {key!r} is not a {loader.kind.name} field and was ignored")
                if json_headers[key]:
                    mapped[json_headers[key]] = value
            record = mapped
        result.rows_read += 1
        values = loader.convert(line, record)
        if values is not None and not loader.problems:
            loader.batch.append(tuple(values.get(column) for column in columns) + (loader.ingest_id,))
        elif values is None:
            loader.rejected_rows += 1
        if len(loader.batch) >= BATCH_SIZE:
            flush()
        if progress and count % BATCH_SIZE == 0:
            progress(source.bytes_read, source.size)
    flush()
    if progress:
        progress(source.size, source.size)


def _prepend(first, rest):
    yield first
    yield from rest
