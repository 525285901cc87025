"""What a kind of input needs beyond converting its columns, looked up by the kind's name.

`kinds.py` declares each kind's columns; most kinds need nothing more. The
ones that do have a `KindRules` class in `RULES`, one instance per file:

- ``finish_row``: what to derive for each row (a slug and display name for a
  kind that names things, a tool's currency and vendor), and what to note;
- ``unknown_team``: what a team reference the database lacks means (in a teams
  file, a parent defined further down);
- ``check_file``: checks that need the whole file (a team above itself, an
  alias that is another tool's name), once its rows are written;
- ``after_write``: what else the rows fill in or settle (a tool's capabilities,
  from the catalog; the catalog's guesses a tool-capabilities file overrules);
- ``derived_columns``: a table column the kind writes when the file has another.

The row hooks read values and the resolver only; writing is the loader's.
"""

from __future__ import annotations

import json
import re
from typing import Callable

import sqlite_utils

from .. import normalise as n
from ..database.names import Resolver
from . import kinds as k
from .catalog import default_catalog, fill_tools
from .conversion import Converter, Options
from .ecb import ecb_rows, is_ecb_layout
from .merchants import rule_pattern_error
from .source_file import Source

#: What the published site links: the same test as its ``web_url`` filter.
WEB_ADDRESS = re.compile(r"^https?://[^\s\"'<>]+$", re.IGNORECASE)


class KindRules:
    """The rules of a kind that needs nothing beyond its columns; the others extend it."""

    #: A column the file has -> a table column the rows then also write.
    derived_columns: dict[str, str] = {}
    #: A kind's own meaning of a team reference the resolver does not know (a method), if it has one.
    unknown_team: Callable[[str], str] | None = None

    def __init__(self, converter: Converter):
        self.converter = converter
        self.problems = converter.problems
        self.resolver = converter.resolver

    def finish_row(self, line: int, values: dict[str, object]) -> dict[str, object] | None:
        """Derive what a row needs beyond its own columns; None after noting why it can't load."""
        return values

    def check_file(self, db: sqlite_utils.Database, ingest_id: int) -> list[str]:
        """Note the problems only the whole file shows, once its rows are written; return warnings about it."""
        return []

    def after_write(self, db: sqlite_utils.Database, ingest_id: int, created: dict[str, int]) -> set[str]:
        """Fill in what the rows imply, counting it in ``created``; return the other tables it changed."""
        return set()

    def reshape(self, source: Source) -> None:
        """Turn a file laid out another way than the kind's columns into the kind's rows, in place (most need not)."""


def converter_for(kind: k.Kind, file: str, options: Options, resolver: Resolver) -> tuple[Converter, KindRules]:
    """A converter for one file of ``kind``, with the kind's rules fitted to it."""
    converter = Converter(kind, file, options, resolver)
    rules = RULES.get(kind.name, KindRules)(converter)
    converter.finish_row = rules.finish_row
    if rules.unknown_team is not None:
        converter.unknown_team = rules.unknown_team
    return converter, rules


class NamingRules(KindRules):
    """A kind whose rows name things (teams, tools, capabilities): each row's name becomes its slug."""

    def __init__(self, converter: Converter):
        super().__init__(converter)
        self.named: dict[str, object] = {}  # slug -> its url

    def finish_row(self, line: int, values: dict[str, object]) -> dict[str, object] | None:
        return values if self.name_row(line, values) is not None else None

    def name_row(self, line: int, values: dict[str, object]) -> str | None:
        """Give the row its slug and display name; return the name as the file spells it (None: noted, no slug)."""
        names_column = self.converter.kind.names_column
        name = values.pop(names_column)
        slug = self.find(name) or n.slugify(name)
        if not slug:
            self.problems.add(line, names_column, name, "a name needs at least one letter or digit")
            return None
        values["slug"] = slug
        self.named[slug] = values.get("url")
        values["name"] = self.display_name(slug, name)
        self.register(slug, values["name"])
        return name

    def find(self, name: str) -> str | None:
        raise NotImplementedError

    def display_name(self, slug: str, name: str) -> str:
        return name

    def register(self, slug: str, name: str) -> None:
        """Make the name known, so that later rows of the file find it."""
        raise NotImplementedError


class CapabilityRules(NamingRules):
    def find(self, name: str) -> str | None:
        return self.resolver.capability(name)

    def register(self, slug: str, name: str) -> None:
        self.resolver.capabilities[slug] = slug
        self.resolver.capabilities[n.lookup_key(name)] = slug


class TeamRules(NamingRules):
    """Teams name their parents, which may come further down the file; no team may be above itself."""

    def __init__(self, converter: Converter):
        super().__init__(converter)
        self.team_lines: dict[str, int] = {}  # slug -> its line
        self.parents_later: list[tuple[int, str, str]] = []  # (line, name, slug) of parents not yet seen

    def find(self, name: str) -> str | None:
        return self.resolver.team(name)

    def register(self, slug: str, name: str) -> None:
        self.resolver.add_team(slug, name)

    def finish_row(self, line: int, values: dict[str, object]) -> dict[str, object] | None:
        if self.name_row(line, values) is None:
            return None
        self.team_lines[values["slug"]] = line
        return values

    def unknown_team(self, name: str) -> str:
        """A parent may be defined further down the same file: `check_file` looks for it at the end."""
        slug = n.slugify(name)
        self.parents_later.append((self.converter.line, name, slug))
        return slug

    def check_file(self, db: sqlite_utils.Database, ingest_id: int) -> list[str]:
        for line, name, slug in self.parents_later:
            if self.resolver.team(slug) is None:
                self.problems.add(line, "parent", name, "unknown team: it is neither in this file nor in the database")
        if not self.problems:
            self.check_circles(db, ingest_id)
        return []

    def check_circles(self, db: sqlite_utils.Database, ingest_id: int) -> None:
        """A team above itself (its own parent, or its parent's parent …) is a problem on its line.

        Only teams this file wrote can have closed a circle, so the walk starts
        from them; it stops after as many steps as there are teams.
        """
        teams = db.execute("select count(*) from teams").fetchone()[0]
        circles = db.execute(
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
            [ingest_id, teams],
        ).fetchall()
        names = dict(db.execute("select slug, name from teams")) if circles else {}
        for team, path, steps in circles:
            parent = db.execute("select parent from teams where slug = ?", [team]).fetchone()[0]
            members = path.split(" > ")
            circle = " > ".join(names.get(slug, slug) for slug in members + [team])
            elsewhere = [f"{names.get(slug, slug)} is on line {self.team_lines[slug]}" for slug in members[1:] if slug in self.team_lines]
            expected = "a team cannot be its own parent" if steps == 1 else (
                f"a team cannot be above itself ({circle}{'; ' if elsewhere else ''}{', '.join(elsewhere)})"
            )
            self.problems.add(self.team_lines.get(team), "parent", names.get(parent, parent), expected)


class ToolRules(NamingRules):
    """Tools: a name seen through an alias keeps the tool's own; costs carry a currency; the catalog fills gaps."""

    derived_columns = {"annual_cost": "currency", "price_per_seat": "currency"}

    def __init__(self, converter: Converter):
        super().__init__(converter)
        self.currencies: set[str] = set()

    def find(self, name: str) -> str | None:
        return self.resolver.tool(name)

    def display_name(self, slug: str, name: str) -> str:
        return self.resolver.tool_names.get(slug, name)

    def register(self, slug: str, name: str) -> None:
        self.resolver.add_tool(slug, name)

    def finish_row(self, line: int, values: dict[str, object]) -> dict[str, object] | None:
        name = self.name_row(line, values)
        if name is None:
            return None
        # Money columns carry the currency their symbol names ("€5"): it must agree with the stated one, and each other's.
        stated, stated_in = values.get("currency"), "currency"
        for column in ("annual_cost", "price_per_seat"):
            money = values.get(column)
            if money is None:
                continue
            amount, named_currency = money
            values[column] = amount
            if stated and named_currency and stated != named_currency:
                self.problems.add(line, stated_in, stated, f"{column} is in {named_currency}; the two must agree")
                return None
            if named_currency and not stated:
                stated, stated_in = named_currency, column
        if any(values.get(column) is not None for column in ("annual_cost", "price_per_seat")):
            values["currency"] = stated or self.converter.options.default_currency
            self.currencies.add(values["currency"])
        for column in ("url", "docs_url"):
            address = values.get(column)
            if address and not WEB_ADDRESS.match(address):
                self.converter.warn_row(line, f"{column} is not a web address (http:// or https://): kept as written, "
                                              "but the published site will not link it")
        if values.get("vendor") is None:
            values["vendor"] = _catalog_vendor(values["name"], values.get("url"))
        # Both the file's spelling and the tool's display name find it again later.
        self.converter.new_names.alias(name, values["slug"])
        self.converter.new_names.alias(values["name"], values["slug"])
        return values

    def check_file(self, db: sqlite_utils.Database, ingest_id: int) -> list[str]:
        """Name the currencies the reports cannot convert yet: none of their rates is recorded."""
        base = self.converter.options.base_currency
        without = sorted(currency for currency in self.currencies - {base}
                         if not db.execute("select exists (select 1 from rates where currency = ?)", [currency]).fetchone()[0])
        if not without:
            return []
        return [
            f"{self.converter.file}: costs in {', '.join(without)}, which no exchange rate converts into {base}, the base "
            "currency, yet: ingest their rates (kind rates), or the reports leave these tools out of every total, by name"
        ]

    def after_write(self, db: sqlite_utils.Database, ingest_id: int, created: dict[str, int]) -> set[str]:
        created["capabilities from the catalog"] = fill_tools(db, self.named, ingest_id)
        return {"tool_capabilities"} if created["capabilities from the catalog"] else set()


class AliasRules(KindRules):
    """Aliases: a spelling can't be another tool's own name, and can't point at another alias."""

    def __init__(self, converter: Converter):
        super().__init__(converter)
        self.alias_lines: dict[int, tuple[str, str]] = {}  # line -> its alias and tool

    def finish_row(self, line: int, values: dict[str, object]) -> dict[str, object] | None:
        # A later line that names this spelling as its tool makes a chain (`tool_itself_ref`); whether
        # the spelling is another tool's own name is known once the file is read (`check_file`).
        self.alias_lines[line] = (values["alias"], values["tool"])
        self.resolver.add_alias(values["alias"], values["tool"])
        return values

    def check_file(self, db: sqlite_utils.Database, ingest_id: int) -> list[str]:
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
        return []


class ToolCapabilityRules(KindRules):
    """A tool-capabilities file is the ops team's word on the tools it lists.

    Its rows are recorded as ``stated``; what the catalog guessed for those
    tools and the file does not state is dropped (and stays dropped: the
    catalog only fills a tool that has no capabilities at all).
    """

    # Every row writes its source: the file always has the tool column.
    derived_columns = {"tool": "source"}

    def __init__(self, converter: Converter):
        super().__init__(converter)
        self.listed: set[str] = set()  # the slugs of the tools the file speaks for

    def finish_row(self, line: int, values: dict[str, object]) -> dict[str, object] | None:
        values["source"] = "stated"
        self.listed.add(values["tool"])
        return values

    def check_file(self, db: sqlite_utils.Database, ingest_id: int) -> list[str]:
        """Say which catalog guesses the file overrules (`after_write` drops them)."""
        if self.problems:
            return []
        guesses = db.execute(
            """
            select tools.name, capabilities.name
            from tool_capabilities as guess
            join tools on tools.slug = guess.tool
            join capabilities on capabilities.slug = guess.capability
            where guess.source = 'catalog' and guess.tool in (select value from json_each(?))
            order by tools.name, capabilities.name
            """,
            [_json_list(self.listed)],
        ).fetchall()
        if not guesses:
            return []
        listed = "; ".join(f"{tool}: {capability}" for tool, capability in guesses[:10])
        more = f" and {len(guesses) - 10} more" if len(guesses) > 10 else ""
        return [f"{self.converter.file}: states what its tools do, so {len(guesses)} "
                f"{'capability' if len(guesses) == 1 else 'capabilities'} the catalog had guessed for them "
                f"and the file does not state {'was' if len(guesses) == 1 else 'were'} dropped ({listed}{more})"]

    def after_write(self, db: sqlite_utils.Database, ingest_id: int, created: dict[str, int]) -> set[str]:
        dropped = db.execute(
            "delete from tool_capabilities where source = 'catalog' and tool in (select value from json_each(?))",
            [_json_list(self.listed)],
        ).rowcount
        return {"tool_capabilities"} if dropped else set()


def _json_list(values: set[str]) -> str:
    return json.dumps(sorted(values))


class UsageRules(KindRules):
    def finish_row(self, line: int, values: dict[str, object]) -> dict[str, object] | None:
        active, seats = values.get("active_users"), values.get("seats")
        if active is not None and seats is not None and active > seats:
            self.converter.warn_row(line, "more active users than seats: loaded as written; check the seat count")
        return values


#: Kind name -> its rules; a kind not listed needs nothing beyond its columns.
class RateRules(KindRules):
    """Rates: into the database's base currency; the ECB's file as published is read as rates rows."""

    def __init__(self, converter: Converter):
        super().__init__(converter)
        self.base = converter.options.base_currency
        self.skipped: dict[str, int] = {}

    def reshape(self, source: Source) -> None:
        if source.headers and is_ecb_layout(source.headers):
            source.headers = ["date", "currency", "rate"]
            source.records = ecb_rows(source.records, self.base, self.skipped)

    def finish_row(self, line: int, values: dict[str, object]) -> dict[str, object] | None:
        if values.get("currency") == self.base:
            if values.get("rate") != 1:
                self.problems.add(line, "currency", self.base, "is the base currency, whose rate is always 1")
                return None
            self.skipped["rates of the base currency itself"] = self.skipped.get("rates of the base currency itself", 0) + 1
            return None
        return values

    def check_file(self, db: sqlite_utils.Database, ingest_id: int) -> list[str]:
        return [f"{self.converter.file}: left out {count:,} {what}" for what, count in sorted(self.skipped.items()) if count]


class MerchantRuleRules(KindRules):
    """Merchant rules: each names a tool or ignores the merchant, never both or neither; a regex must compile."""

    def finish_row(self, line: int, values: dict[str, object]) -> dict[str, object] | None:
        if values.get("ignore") and values.get("tool"):
            self.problems.add(line, "ignore", "yes", "a rule names a tool or ignores the merchant, not both")
            return None
        if not values.get("ignore") and not values.get("tool"):
            self.problems.add(line, "tool", None, "a tool is required (or ignore: yes, to leave the merchant out)")
            return None
        error = rule_pattern_error(values["pattern"]) if values.get("match") == "regex" else None
        if error:
            self.problems.add(line, "pattern", values["pattern"], error)
            return None
        return values


class TierRules(KindRules):
    """Tiers: a seat's price is in its tool's currency; a currency the amount names ("€500") must be that one."""

    def __init__(self, converter: Converter):
        super().__init__(converter)
        self.named_currencies: list[tuple[int, str, str]] = []  # line, tool, the currency its price names

    def finish_row(self, line: int, values: dict[str, object]) -> dict[str, object] | None:
        money = values.get("price_per_seat")
        if money is not None:
            values["price_per_seat"], currency = money
            if currency:
                self.named_currencies.append((line, values["tool"], currency))
        return values

    def check_file(self, db: sqlite_utils.Database, ingest_id: int) -> list[str]:
        """A price in another currency than its tool's contract is a problem: the report would misprice it."""
        base = self.converter.options.base_currency
        for line, tool, currency in self.named_currencies:
            row = db.execute("select upper(coalesce(currency, ?)) from tools where slug = ?", [base, tool]).fetchone()
            if row and row[0] != currency:
                self.problems.add(line, "price_per_seat", currency,
                                  f"the tool's prices are in {row[0]}: a tier's price is in its tool's currency")
        return []


RULES: dict[str, type[KindRules]] = {
    "capabilities": CapabilityRules,
    "teams": TeamRules,
    "tools": ToolRules,
    "aliases": AliasRules,
    "tool-capabilities": ToolCapabilityRules,
    "usage": UsageRules,
    "rates": RateRules,
    "merchant-rules": MerchantRuleRules,
    "tiers": TierRules,
}


def _catalog_vendor(name: str, url: object) -> str | None:
    """The vendor the known-tool catalog gives for a tool, when the input names none."""
    catalog = default_catalog()
    product = catalog.find(name) or (catalog.find(url) if isinstance(url, str) else None)
    return product.vendor if product else None
