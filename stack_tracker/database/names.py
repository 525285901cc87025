"""The names the database keys on: turning what people write into slugs, and recording new spellings.

Teams, tools and capabilities are keyed by slugs; people write names, in any
case and spacing, and tools by many names ("HubSpot", "hubspot.com", "HubSpot
Marketing Hub"). `Resolver` finds the slug each spelling means, through the
tables and ``tool_aliases``; `record_alias` remembers a spelling seen in an
input, and `create_unreviewed_tool` adds a tool an input uses but the
inventory lacks. Every importer resolves names here, and so do the reports
and checks that take a name: `slug_for` answers a name nothing has with an
error that suggests the closest ones, never with an empty result.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection

import sqlite_utils

from .. import normalise as n
from ..errors import StackTrackerError

#: What a person may name where a report or a command takes a name, and the table that holds its names.
NAMED_TABLES = {"team": "teams", "tool": "tools", "capability": "capabilities"}
#: How alike (difflib's ratio) a spelling must be to what was typed to be suggested.
CLOSE_ENOUGH = 0.6
SUGGESTIONS = 5
#: Up to this many names, an unknown one is answered with all of them: a list a person reads at a glance.
LISTED_IN_FULL = 20


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
        self.own_tool_names: dict[str, str] = {}  # each tool's slug and name (as lookup_key has it), no alias
        for slug, name in db.execute("select slug, name from tools"):
            self.add_tool(slug, name)
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

    def tool_itself(self, name: str) -> str | None:
        """The tool whose own name or slug ``name`` is; None for an alias, or a name no tool has."""
        return self.own_tool_names.get(n.lookup_key(name))

    def other_tool_named(self, alias: str, tool: str) -> str | None:
        """The tool other than ``tool`` whose own name or slug ``alias`` is: an alias of ``tool`` can't be one."""
        itself = self.tool_itself(alias)
        return itself if itself != tool else None

    def add_team(self, slug: str, name: str) -> None:
        self.teams[slug] = slug
        self.teams[n.lookup_key(name)] = slug

    def add_tool(self, slug: str, name: str) -> None:
        for key in (slug, n.lookup_key(name)):
            self.tools[key] = slug
            self.own_tool_names[key] = slug
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
    name = n.display_name(name)
    slug = new_slug(name)
    if slug in resolver.tool_names:
        return slug
    db.execute(
        "insert into tools (slug, name, vendor, status, ingest_id) values (?, ?, ?, 'unreviewed', ?)",
        [slug, name, vendor, ingest_id],
    )
    resolver.add_tool(slug, name)
    return slug


class NewNames:
    """The teams, unreviewed tools and tool spellings a file names that the database lacks.

    Each is known to the resolver as soon as it is seen; `write` adds them
    all once the file has been read.
    """

    def __init__(self, resolver: Resolver):
        self.resolver = resolver
        self.teams: list[tuple[str, str]] = []  # (slug, name)
        self.tools: list[tuple[str, str]] = []  # (slug, name)
        self.aliases: list[tuple[str, str]] = []  # (spelling, tool)

    @property
    def created(self) -> dict[str, int]:
        """How many of each a file adds, as its summary counts them."""
        return {"tools": len(self.tools), "teams": len(self.teams), "aliases": len(self.aliases)}

    def team(self, name: str) -> str:
        """A team the database lacks (``--allow-new``): another spelling of a team already known by its slug adds nothing."""
        slug = new_slug(name)
        if self.resolver.teams.get(slug) != slug:
            self.teams.append((slug, name))
            self.resolver.add_team(slug, name)
        return slug

    def tool(self, name: str) -> str:
        """An unreviewed tool (shadow IT): another spelling of a tool already known by its slug adds nothing."""
        name = n.display_name(name)
        slug = new_slug(name)
        if slug not in self.resolver.tool_names:
            self.tools.append((slug, name))
            self.resolver.add_tool(slug, name)
        return slug

    def alias(self, spelling: str, tool: str) -> None:
        """Every spelling seen, so that later files and reports can trace it."""
        if spelling not in self.resolver.aliases:
            self.aliases.append((spelling, tool))
            self.resolver.add_alias(spelling, tool)

    def write(self, db: sqlite_utils.Database, ingest_id: int, *, teams_in_use: Collection[str] | None = None) -> int:
        """Add them all, teams and tools before the spellings that point at the tools; return how many teams.

        With ``teams_in_use``, only those of the new teams: a directory of the
        whole company names teams nobody counted in an import belongs to.
        """
        teams = self.teams if teams_in_use is None else [team for team in self.teams if team[0] in teams_in_use]
        conn = db.conn
        conn.executemany("insert into teams (slug, name, ingest_id) values (?, ?, ?)",
                         [(slug, name, ingest_id) for slug, name in teams])
        conn.executemany("insert into tools (slug, name, vendor, status, ingest_id) values (?, ?, null, 'unreviewed', ?)",
                         [(slug, name, ingest_id) for slug, name in self.tools])
        conn.executemany("insert or ignore into tool_aliases (alias, tool, ingest_id) values (?, ?, ?)",
                         [(spelling, tool, ingest_id) for spelling, tool in self.aliases])
        return len(teams)


#: What an import may create, each in the plural its summary counts it by, with its singular.
_CREATED_ONE = {"tools": "tool", "unreviewed tools": "unreviewed tool", "teams": "team", "aliases": "alias",
                "capabilities from the catalog": "capability from the catalog"}


def created_text(created: dict[str, int]) -> str:
    """What an import created, as its summary says it: ``1 unreviewed tool, 5 aliases`` (empty: nothing)."""
    return ", ".join(f"{count} {_CREATED_ONE.get(what, what) if count == 1 else what}"
                     for what, count in created.items() if count)


def new_slug(name: str) -> str:
    """The slug a new team or tool gets from its name; a name without a letter or digit can't have one."""
    slug = n.slugify(name)
    if not slug:
        raise n.BadValue("a name needs at least one letter or digit")
    return slug


#: How a `Resolver` finds each kind of name.
RESOLVE = {"team": Resolver.team, "tool": Resolver.tool, "capability": Resolver.capability}


class UnknownName(StackTrackerError):
    """A team, tool or capability that nothing in the database is called; the message suggests the closest names."""


def slug_for(db: sqlite_utils.Database, kind: str, name: str) -> str:
    """The slug of the ``kind`` (team, tool or capability) that ``name`` means.

    ``name`` may be the display name, the slug or, for a tool, any alias, in
    any case and spacing. Raises `UnknownName` when nothing is called that.
    """
    table = NAMED_TABLES[kind]
    # The slug itself, as pages and scripts pass it, without reading every name.
    if db.execute(f"select 1 from [{table}] where slug = ?", [name]).fetchone():
        return name
    slug = RESOLVE[kind](Resolver(db), name)
    if slug is None:
        raise UnknownName(f"unknown {kind} {name!r}: {closest_names(db, kind, name)}")
    return slug



def closest_names(db: sqlite_utils.Database, kind: str, name: str) -> str:
    """What to suggest for a ``kind`` nothing is called ``name``: the names like it, or every name if few."""
    spellings = _spellings(db, kind)
    plural = NAMED_TABLES[kind]
    names = list(dict.fromkeys(spellings.values()))
    if not names:
        return f"there are no {plural} yet"
    typed = n.lookup_key(name)
    containing = [spellings[spelling] for spelling in spellings if typed and typed in spelling]
    alike = [spellings[spelling] for spelling in difflib.get_close_matches(typed, spellings, SUGGESTIONS, CLOSE_ENOUGH)]
    suggested = list(dict.fromkeys(containing + alike))[:SUGGESTIONS]
    if suggested:
        return f"did you mean {_listed(suggested, 'or')}?"
    if len(names) <= LISTED_IN_FULL:
        return f"the {plural} are {_listed(sorted(names, key=str.casefold), 'and')}"
    nearest = [spellings[spelling] for spelling in difflib.get_close_matches(typed, spellings, SUGGESTIONS, 0)]
    return f"the closest {plural} are {_listed(list(dict.fromkeys(nearest)), 'and')}"


def _spellings(db: sqlite_utils.Database, kind: str) -> dict[str, str]:
    """Every spelling of a ``kind`` as `normalise.lookup_key` compares them, with the display name it stands for."""
    spellings: dict[str, str] = {}
    for slug, name in db.execute(f"select slug, name from [{NAMED_TABLES[kind]}] order by name"):
        spellings.setdefault(n.lookup_key(name), name)
        spellings.setdefault(slug, name)
    if kind == "tool":
        aliases = "select alias, tools.name from tool_aliases join tools on tools.slug = tool_aliases.tool order by alias"
        for alias, name in db.execute(aliases):
            spellings.setdefault(n.lookup_key(alias), name)
    return spellings


def _listed(names: list[str], conjunction: str) -> str:
    """``["a", "b", "c"]`` as ``a, b or c``."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} {conjunction} {names[-1]}"
