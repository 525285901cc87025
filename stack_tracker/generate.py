"""A synthetic organisation at any scale, written in the shapes of ``data/sample/``.

`generate` invents a marketing organisation from a seed and writes it as the
files the sample is made of (teams, tools, aliases, tool capabilities, needs,
monthly usage, integrations), so the commands that load the sample load it.
With ``events`` it also writes an Okta System Log in JSON Lines and a people
directory, for ``import-logins --source okta --directory directory.csv``.

The organisation is built to give every report something to find, the way
real stacks do:

- tool popularity is Zipf-like: a few tools used by nearly every team, a long
  tail used by one or two; several tools share each capability (overlap);
- teams need capabilities none of their tools provide (team gaps), and a few
  capabilities nothing in the inventory provides (organisation gaps);
- some tools have seats and nobody active (shelfware), some one active user
  (concentration), some no usage data at all (blind spots), and a few tools
  teams use are missing from the inventory (shadow IT, loaded with
  ``--allow-new`` as the sample's usage is);
- renewals fall over the year after the last month, costs are skewed, a few
  tools bill in EUR, teams spell tool names their own way (case, stray
  spaces, aliases), and integrations form chains into hub tools.

Everything comes from ``random.Random`` seeded with the seed and the part being
made (so adding ``events`` leaves the other files as they were): the same
arguments give byte-identical files. Rows stream to the files: what is held
in memory is the organisation (teams × tools, people) and one day of events
as integers, never the usage rows or the log's lines.
"""

from __future__ import annotations

import bisect
import calendar
import csv
import datetime as dt
import io
import math
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .catalog import Product, default_catalog, loose_key
from .errors import StackTrackerError
from .normalise import lookup_key, slugify
from .taxonomy import default_taxonomy

TEAMS_FILE, TOOLS_FILE, ALIASES_FILE = "teams.csv", "tools.csv", "aliases.csv"
CAPABILITIES_FILE, NEEDS_FILE, USAGE_FILE = "tool-capabilities.csv", "needs.csv", "usage.csv"
INTEGRATIONS_FILE, DIRECTORY_FILE, LOG_FILE = "integrations.csv", "directory.csv", "okta.jsonl"
# In the order `stack-tracker ingest` takes them (as `demo.SAMPLE_FILES`), then the sign-in files.
FILES = (TEAMS_FILE, TOOLS_FILE, ALIASES_FILE, CAPABILITIES_FILE, NEEDS_FILE, USAGE_FILE, INTEGRATIONS_FILE,
         DIRECTORY_FILE, LOG_FILE)

MIN_TEAMS, MIN_TOOLS, MAX_MONTHS = 2, 5, 1200

# Popularity of the tool ranked r (from 0): the share of teams using it is
# min(WIDEST_SHARE, breadth / (r + 1)), with breadth = min(MAX_BREADTH, tools / 4).
# At 500 teams and 2,000 tools that is about 60 tools per team, a million usage
# rows over 36 months, and a tail of tools used by one to three teams.
WIDEST_SHARE, MAX_BREADTH = 0.95, 11.0
CATALOG_TOOLS = 60  # at most this many tools take their names from data/catalog.csv

# The Okta log's mix of events. Successful SSO sign-ins are what import-logins
# counts; everything else is the noise of a real System Log, which it skips.
SIGN_IN_SHARE, FAILED_SIGN_IN_SHARE = 0.54, 0.015
# Of a month's sign-ins, this share opens a new person × tool × month; the rest
# are repeat visits. Sign-ins are scarce next to people × tools × months at the
# scales this is meant for, so most months see someone once or twice per tool.
FIRST_VISIT_SHARE = 0.93
TOOLS_PER_PERSON = (4, 10)  # a handful each, from their team's tools
LEFT_OUT_OF_DIRECTORY = 0.04  # contractors and new joiners the directory misses
WEEKEND_WEIGHT = 0.3
# Share of the day's events in each UTC hour: an organisation spread over
# Europe and the Americas, quiet at night.
HOURLY_WEIGHTS = (1, 1, 1, 1, 1, 2, 4, 7, 10, 11, 11, 10, 10, 11, 12, 12, 11, 9, 7, 5, 4, 3, 2, 1)


class GenerateError(StackTrackerError):
    """Arguments that cannot make an organisation, or an output directory in the way."""


@dataclass
class GenerateResult:
    """What `generate` wrote: rows per file (events for the log), in `FILES` order."""

    outdir: Path
    rows: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        """One line for people: the directory and each file's row count."""
        parts = [f"{name} {count:,} {'events' if name.endswith('.jsonl') else 'rows'}" for name, count in self.rows.items()]
        return f"Wrote {len(self.rows)} files to {self.outdir}: " + ", ".join(parts)


def generate(
    outdir: Path | str,
    *,
    teams: int,
    tools: int,
    months: int,
    users: int,
    events: int = 0,
    seed: int = 0,
    end: str = "2026-11",
    force: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> GenerateResult:
    """Write a synthetic organisation into ``outdir`` and return the row count of each file.

    ``teams`` teams and ``users`` people use ``tools`` tools over the
    ``months`` months that end with ``end`` (``YYYY-MM``). With ``events``,
    also an Okta System Log of that many events and the people directory.
    ``outdir`` must not hold files unless ``force`` (then the files of this
    module are replaced, and a log and directory left from an earlier run with
    events are removed). ``progress(done, total)`` counts usage rows and
    events as they are written. Raises `GenerateError` for bad arguments.
    """
    outdir = Path(outdir)
    first_month = _check(outdir, teams=teams, tools=tools, months=months, users=users, events=events, end=end,
                         force=force)
    organisation = _Organisation.plan(seed, teams=teams, tools=tools, months=months, users=users, first_month=first_month)
    outdir.mkdir(parents=True, exist_ok=True)
    result = GenerateResult(outdir)
    total = organisation.usage_rows + events
    done = 0

    def advance(count: int) -> None:
        nonlocal done
        done += count
        if progress:
            progress(done, total)

    result.rows[TEAMS_FILE] = organisation.write_teams(outdir / TEAMS_FILE)
    result.rows[TOOLS_FILE] = organisation.write_tools(outdir / TOOLS_FILE)
    result.rows[ALIASES_FILE] = organisation.write_aliases(outdir / ALIASES_FILE)
    result.rows[CAPABILITIES_FILE] = organisation.write_capabilities(outdir / CAPABILITIES_FILE)
    result.rows[NEEDS_FILE] = organisation.write_needs(outdir / NEEDS_FILE)
    result.rows[USAGE_FILE] = organisation.write_usage(outdir / USAGE_FILE, random.Random(f"{seed}:usage"), advance)
    result.rows[INTEGRATIONS_FILE] = organisation.write_integrations(outdir / INTEGRATIONS_FILE)
    if events:
        people = _People.plan(organisation, random.Random(f"{seed}:people"), users)
        result.rows[DIRECTORY_FILE] = people.write_directory(outdir / DIRECTORY_FILE)
        log = _OktaLog(organisation, people, random.Random(f"{seed}:okta"))
        result.rows[LOG_FILE] = log.write(outdir / LOG_FILE, events, advance)
    else:
        for stale in (DIRECTORY_FILE, LOG_FILE):
            (outdir / stale).unlink(missing_ok=True)
    return result


def _check(outdir: Path, *, teams: int, tools: int, months: int, users: int, events: int, end: str, force: bool) -> int:
    """Raise `GenerateError` naming every bad argument; return the first month as a month number."""
    problems = []
    if teams < MIN_TEAMS:
        problems.append(f"--teams must be at least {MIN_TEAMS} (a parent team and one under it), not {teams}")
    if tools < MIN_TOOLS:
        problems.append(f"--tools must be at least {MIN_TOOLS} (enough for overlaps and gaps), not {tools}")
    if not 1 <= months <= MAX_MONTHS:
        problems.append(f"--months must be from 1 to {MAX_MONTHS}, not {months}")
    if users < teams:
        problems.append(f"--users must be at least the number of teams ({teams}): every team has someone in it, not {users}")
    if events < 0:
        problems.append(f"--events must be zero or more, not {events}")
    match = re.fullmatch(r"(\d{4})-(\d{2})", end or "")
    if not match or not 1 <= int(match[2]) <= 12:
        problems.append(f"--end must be a month written YYYY-MM, such as 2026-11, not {end!r}")
        last_month = 0
    else:
        last_month = int(match[1]) * 12 + int(match[2]) - 1
        if 1 <= months <= MAX_MONTHS and last_month - months + 1 < 1900 * 12:
            problems.append(f"--months {months} before --end {end} starts before the year 1900")
    if outdir.exists() and not outdir.is_dir():
        problems.append(f"{outdir} is a file, not a directory")
    elif outdir.is_dir() and any(outdir.iterdir()) and not force:
        problems.append(f"{outdir} is not empty: choose a new directory, or pass --force to write into it")
    if problems:
        raise GenerateError("cannot generate: " + "; ".join(problems))
    return last_month - months + 1


# -- Names --------------------------------------------------------------------

FUNCTIONS = (
    ("Demand Generation", "Revenue Marketing"), ("Content", "Brand & Product Marketing"),
    ("Brand & Creative", "Brand & Product Marketing"), ("Social Media", "Brand & Product Marketing"),
    ("Field Marketing", "Revenue Marketing"), ("Marketing Operations", "Marketing Operations"),
    ("Product Marketing", "Brand & Product Marketing"), ("Web & Digital", "Digital"),
    ("Customer Marketing", "Revenue Marketing"), ("Events", "Revenue Marketing"),
    ("Partner Marketing", "Revenue Marketing"), ("Growth", "Digital"), ("Communications", "Brand & Product Marketing"),
    ("Marketing Analytics", "Marketing Operations"), ("Lifecycle Marketing", "Revenue Marketing"),
    ("Paid Media", "Digital"), ("Search", "Digital"), ("Community", "Brand & Product Marketing"),
    ("Sales Development", "Revenue Marketing"), ("Developer Relations", "Brand & Product Marketing"),
)
REGIONS = ("EMEA", "North America", "APAC", "LATAM", "DACH", "UK & Ireland", "Nordics", "France", "Japan", "ANZ",
           "India", "Benelux", "Iberia", "Italy", "Canada", "Middle East", "Korea", "Brazil", "Mexico", "Singapore")
VENDOR_STEMS = ("North", "Bright", "Blue", "Clear", "Swift", "Open", "True", "Silver", "Red", "Green", "Peak",
                "Quant", "Pixel", "Signal", "Beacon", "Harbor", "Summit", "Lumen", "Vector", "Nimbus")
VENDOR_ENDINGS = ("wind", "lane", "stack", "path", "forge", "works", "labs", "ly", "soft", "metrics", "cloud",
                  "wave", "point", "bridge", "loop", "grid")
FIRST_NAMES = ("ana", "ben", "chloe", "dev", "elena", "farid", "grace", "hiro", "ines", "jonas", "kofi", "lena",
               "marco", "nadia", "omar", "priya", "quinn", "rosa", "sam", "tomas", "uma", "victor", "wei", "yara")
LAST_NAMES = ("silva", "berg", "chen", "dubois", "evans", "fischer", "garcia", "haddad", "ito", "jensen", "kim",
              "lopez", "moreau", "novak", "okafor", "patel", "rossi", "schmidt", "tanaka", "varga", "weber", "yilmaz")
INTERNAL_APPS = ("Campaign Request Portal", "Brand Asset Tracker", "Event Budget Sheet", "Lead Router Admin",
                 "Partner Deal Desk", "Webinar Signup Tool", "Content Calendar App", "Survey Builder Beta")
DATA_FLOWS = ("leads", "contacts and accounts", "campaign members", "web events and traits", "form submissions",
              "webinar registrations and attendance", "ad spend and conversions", "audiences", "orders",
              "support tickets", "assets", "survey responses", "email engagement", "pipeline and revenue")
NEED_NOTES = ("Raised in the annual planning survey", "Blocks a campaign on the roadmap", "Asked for by leadership",
              "Done by hand in spreadsheets today", "Needed for the next product launch")
MONTH_NAMES = tuple(calendar.month_abbr[number] for number in range(1, 13))


def _csv_line(fields: list[object]) -> str:
    """One CSV line as `csv.writer` writes it (quoting only where needed), without the newline."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(fields)
    return buffer.getvalue()


def _cumulative(weights: list[float]) -> list[float]:
    total, running = 0.0, []
    for weight in weights:
        total += weight
        running.append(total)
    return running


def _split(total: int, weights: list[float]) -> list[int]:
    """``total`` split in proportion to ``weights``, in whole numbers that add up to it exactly."""
    cumulative = _cumulative(weights)
    whole = cumulative[-1] or 1.0
    shares, given = [], 0
    for running in cumulative:
        upto = round(total * running / whole)
        shares.append(upto - given)
        given = upto
    return shares


def _month_text(month: int) -> str:
    return f"{month // 12:04d}-{month % 12 + 1:02d}"


# -- The organisation -----------------------------------------------------------


@dataclass
class _Team:
    name: str
    parent: int | None
    business_unit: str
    headcount: int = 0
    month_names: bool = False  # writes months as "Mar 2026" rather than 2026-03
    needs: list[tuple[int, str, str]] = field(default_factory=list)  # (capability, priority, note)


@dataclass
class _Tool:
    name: str
    popularity: float  # share of teams using it
    primary: int  # capability index
    capabilities: list[int]
    vendor: str = ""
    product: Product | None = None
    role: str = "regular"  # regular, shelfware, single-user, blind-spot, shadow (used but not in the inventory)
    status: str = "active"
    retire_month: int | None = None  # month index from which nobody uses a retired tool
    sso: bool = False  # signs in through Okta
    alias: str | None = None
    label: str = ""  # the application's name in the Okta log
    owner: int = 0

    @property
    def in_inventory(self) -> bool:
        return self.role != "shadow"


@dataclass
class _Pair:
    """A team's use of a tool: the months it has rows for and the shape of its figures."""

    team: int
    tool: int
    start: int  # first month index with a row
    stop: int  # month index after the last row
    idle_from: int  # from this month index on, seats but nobody active
    seats: int
    expected_active: float
    ramp: int  # months to full use after starting
    trend: float  # change of use per month
    prefix: str = ""  # "Team,Tool spelling," as the team writes it
    month_names: bool = False  # the team writes months as "Mar 2026"

    def active_in(self, month: int) -> bool:
        return self.start <= month < self.stop and month < self.idle_from


class _Organisation:
    """Teams, tools, who uses what and when: everything but the people and their sign-ins."""

    def __init__(self, seed: int, first_month: int, months: int):
        self.seed, self.first_month, self.months = seed, first_month, months
        self.capabilities: list[str] = []  # names, as in the taxonomy
        self.unprovided: list[int] = []  # capabilities no inventory tool provides
        self.teams: list[_Team] = []
        self.person_teams: list[int] = []  # each person's team
        self.tools: list[_Tool] = []
        self.pairs: list[_Pair] = []  # sorted by team, then tool rank
        self.integrations: list[tuple[int, int, str, str, str]] = []
        self.usage_rows = 0

    @classmethod
    def plan(cls, seed: int, *, teams: int, tools: int, months: int, users: int, first_month: int) -> "_Organisation":
        organisation = cls(seed, first_month, months)
        rng = random.Random(f"{seed}:organisation")
        organisation._plan_teams(rng, teams, users)
        organisation._plan_tools(rng, tools)
        organisation._plan_pairs(rng)
        organisation._plan_needs(rng)
        organisation._plan_integrations(rng)
        return organisation

    # Teams: "Marketing" (the CMO office), one team per function under it, then
    # regional teams under their function's global team.
    def _plan_teams(self, rng: random.Random, count: int, users: int) -> None:
        self.teams.append(_Team("Marketing", None, "Global Marketing"))
        for number in range(1, count):
            function, business_unit = FUNCTIONS[(number - 1) % len(FUNCTIONS)]
            if number <= len(FUNCTIONS):
                self.teams.append(_Team(function, 0, business_unit))
                continue
            regional = (number - 1 - len(FUNCTIONS)) // len(FUNCTIONS)
            region = REGIONS[regional % len(REGIONS)]
            suffix = f" {regional // len(REGIONS) + 1}" if regional >= len(REGIONS) else ""
            self.teams.append(_Team(f"{function} {region}{suffix}", (number - 1) % len(FUNCTIONS) + 1, business_unit))
        for team in self.teams:
            team.month_names = rng.random() < 0.1
        # Everyone in one team: each team gets one person, the rest by skewed team sizes.
        weights = [0.2] + [math.exp(rng.gauss(0, 0.6)) for _ in range(count - 1)]
        self.person_teams = list(range(count)) + rng.choices(range(count), cum_weights=_cumulative(weights),
                                                               k=users - count)
        for team in self.person_teams:
            self.teams[team].headcount += 1

    def _plan_tools(self, rng: random.Random, count: int) -> None:
        with open(default_taxonomy(), newline="", encoding="utf-8") as file:
            self.capabilities = [row["capability"].strip() for row in csv.DictReader(file)]
        capability_index = {lookup_key(name): index for index, name in enumerate(self.capabilities)}
        catalog = default_catalog()

        # The first tools are real products from the catalog, as an identity provider labels them.
        products = [product for product in catalog.products if product.capabilities]
        chosen = rng.sample(products, min(len(products), CATALOG_TOOLS, count // 10))
        taken = {loose_key(product.name) for product in chosen}
        for product in chosen:
            capabilities = []
            for name in product.capabilities:
                index = capability_index.get(lookup_key(name))
                if index is not None and index not in capabilities:
                    capabilities.append(index)
            if capabilities:
                self.tools.append(_Tool(product.name, 0.0, capabilities[0], capabilities, vendor=product.vendor,
                                        product=product))
        # A few capabilities nothing will provide (organisation gaps), the rest
        # shared among the synthetic tools, some far more crowded than others.
        provided = {index for tool in self.tools for index in tool.capabilities}
        free = [index for index in range(len(self.capabilities)) if index not in provided]
        self.unprovided = sorted(rng.sample(free, min(len(free), max(1, len(self.capabilities) // 12))))
        open_capabilities = [index for index in range(len(self.capabilities)) if index not in self.unprovided]
        rng.shuffle(open_capabilities)
        open_capabilities = open_capabilities[: max(3, min(len(open_capabilities), count // 4))]
        crowding = _cumulative([1 / (rank + 1) ** 0.7 for rank in range(len(open_capabilities))])
        vendors = [self._vendor_name(number) for number in range(max(3, count // 3))]
        vendor_weights = _cumulative([1 / (rank + 1) for rank in range(len(vendors))])
        width = max(4, len(str(count)))
        for number in range(len(self.tools) + 1, count + 1):
            primary = rng.choices(open_capabilities, cum_weights=crowding)[0]
            capabilities = [primary] + [index for index in rng.sample(open_capabilities, min(2, len(open_capabilities)))
                                        if index != primary][: rng.choice((0, 0, 1, 1, 2))]
            word = self.capabilities[primary].split()[-1]  # "Web & mobile analytics" -> Analytics
            word = word if word.isupper() else word.capitalize()
            vendor = rng.choices(vendors, cum_weights=vendor_weights)[0]
            self.tools.append(_Tool(f"Tool {number:0{width}d} {word}", 0.0, primary, capabilities, vendor=vendor))

        breadth = min(MAX_BREADTH, count / 4)
        for rank, tool in enumerate(self.tools):
            tool.popularity = min(WIDEST_SHARE, breadth / (rank + 1))
        self._plan_roles(rng)
        self._plan_shadow_tools(rng, chosen_names=taken)
        self._plan_names(rng)

    @staticmethod
    def _vendor_name(number: int) -> str:
        stem = VENDOR_STEMS[number % len(VENDOR_STEMS)]
        ending = VENDOR_ENDINGS[(number // len(VENDOR_STEMS)) % len(VENDOR_ENDINGS)]
        series = number // (len(VENDOR_STEMS) * len(VENDOR_ENDINGS))
        return f"{stem}{ending}" + (f" {series + 1}" if series else "")

    def _plan_roles(self, rng: random.Random) -> None:
        """The planted findings: shelfware, one-person tools, blind spots, trials, retiring and retired tools."""
        count = len(self.tools)
        tail = list(range(count // 2, count))
        rng.shuffle(tail)
        for role, share in (("shelfware", 50), ("single-user", 40), ("blind-spot", 100)):
            for _ in range(max(1, count // share)):
                if tail:
                    self.tools[tail.pop()].role = role
        middle = [rank for rank in range(1, count) if self.tools[rank].role == "regular"]
        rng.shuffle(middle)
        for status, share in (("retiring", 60), ("trial", 50)):
            for _ in range(max(1, count // share)):
                if middle:
                    self.tools[middle.pop()].status = status
        if self.months > 1:
            for _ in range(count // 100):
                if middle:
                    tool = self.tools[middle.pop()]
                    tool.status, tool.retire_month = "retired", rng.randrange(max(1, self.months // 2), self.months)
        widest = max(3, count // 10)
        for rank, tool in enumerate(self.tools):
            tool.sso = tool.role == "regular" and tool.status != "retired" and (rank < widest or rng.random() < 0.6)

    def _plan_shadow_tools(self, rng: random.Random, chosen_names: set[str]) -> None:
        """Products teams use that nobody put in the inventory: loaded with --allow-new, as the sample's Canva."""
        names = {loose_key(tool.name) for tool in self.tools}
        candidates = [product for product in default_catalog().products if loose_key(product.name) not in chosen_names
                      and loose_key(product.name) not in names]
        for product in rng.sample(candidates, min(len(candidates), max(1, len(self.tools) // 200))):
            self.tools.append(_Tool(product.name, rng.uniform(0.02, 0.1), 0, [], vendor=product.vendor, role="shadow",
                                    sso=rng.random() < 0.5))

    def _plan_names(self, rng: random.Random) -> None:
        """Aliases some teams use, and each application's label in the identity provider."""
        catalog = default_catalog()
        keys = {key for tool in self.tools for key in (lookup_key(tool.name), loose_key(tool.name))}
        width = max(4, len(str(len(self.tools))))
        for number, tool in enumerate(self.tools, start=1):
            if not tool.in_inventory:
                tool.label = tool.name
                continue
            if tool.product is not None:
                # A label must lead back to this product, and not to another tool by its name.
                candidates = [alias for alias in tool.product.aliases
                              if catalog.find(alias) is tool.product and loose_key(alias) not in keys]
                tool.label = candidates[0] if candidates else tool.name
                alias = candidates[0] if candidates and rng.random() < 0.5 else None
            else:
                tool.label = tool.name if rng.random() < 0.9 else tool.name.upper()
                alias = rng.choice((f"Tool {number}", f"T{number:0{width}d}")) if rng.random() < 0.06 else None
            if alias and lookup_key(alias) not in keys and loose_key(alias) not in keys:
                tool.alias = alias
                keys.update((lookup_key(alias), loose_key(alias)))
                if tool.product is None and rng.random() < 0.3:
                    tool.label = alias

    def _plan_pairs(self, rng: random.Random) -> None:
        count, months = len(self.teams), self.months
        pairs = []
        for index, tool in enumerate(self.tools):
            if tool.role == "blind-spot":
                continue
            if tool.role in ("shelfware", "single-user"):
                using = 1
            else:
                using = max(1, min(count, round(count * tool.popularity * rng.uniform(0.7, 1.3))))
            for team in sorted(rng.sample(range(count), using)):
                pairs.append(self._pair(rng, team, index, tool))
        pairs.sort(key=lambda pair: (pair.team, pair.tool))
        self.pairs = pairs
        owners: dict[int, list[int]] = {}
        for pair in pairs:
            owners.setdefault(pair.tool, []).append(pair.team)
        for index, tool in enumerate(self.tools):
            teams = owners.get(index)
            tool.owner = rng.choice(teams) if teams else rng.randrange(count)
        self.usage_rows = sum(min(pair.stop, months) - pair.start for pair in pairs)

    def _pair(self, rng: random.Random, team: int, index: int, tool: _Tool) -> _Pair:
        months, headcount = self.months, self.teams[team].headcount
        start = 0 if months == 1 or rng.random() < 0.7 else rng.randrange(months)
        stop = months
        if tool.retire_month is not None:
            start, stop = min(start, tool.retire_month - 1), tool.retire_month
        elif months > 2 and rng.random() < 0.05:
            stop = rng.randrange(start + 1, months) if start + 1 < months else months  # dropped by the team
        idle_from = months
        if tool.role == "shelfware":
            start, stop = 0, months
            idle_from = max(0, months - 3 - rng.randrange(max(1, months // 3)))
        elif tool.role == "regular" and rng.random() < 0.015:
            idle_from = max(start, months - 1 - rng.randrange(2))  # seats nobody used lately
        if tool.role == "single-user":
            seats, expected = rng.randint(1, 5), 1.0
        else:
            # Everyone has the tools most teams use; a share of the team has the rest.
            if tool.popularity >= 0.5:
                share = 1.0
            else:
                share = rng.uniform(0.3, 0.8) if tool.popularity >= 0.1 else rng.uniform(0.05, 0.4)
            seats = max(1, round(headcount * share))
            expected = seats * rng.uniform(0.3, 0.98)
        ramp = 1 if start == 0 else rng.randint(1, 6)
        trend = rng.choice((0.0, 0.0, 0.01, -0.015))
        return _Pair(team, index, start, stop, idle_from, seats, expected, ramp, trend)

    def _plan_needs(self, rng: random.Random) -> None:
        """What each team needs: mostly what its tools do, plus gaps in its stack and in the inventory."""
        last = self.months - 1
        inventory = [tool for tool in self.tools if tool.in_inventory and tool.status in ("active", "trial", "retiring")]
        provided = sorted({index for tool in inventory for index in tool.capabilities})
        covered: list[set[int]] = [set() for _ in self.teams]
        for pair in self.pairs:
            if pair.active_in(last):
                covered[pair.team].update(self.tools[pair.tool].capabilities)
        priorities = ("must", "should", "could")
        for number, team in enumerate(self.teams):
            if number > 1 and rng.random() < 0.08:
                continue  # some teams never wrote their needs down (the CMO office and the first team always do)
            chosen: list[int] = rng.sample(sorted(covered[number]), min(len(covered[number]), rng.randint(2, 5)))
            missing = [index for index in provided if index not in covered[number]]
            chosen += rng.sample(missing, min(len(missing), rng.randint(1, 2)))
            if self.unprovided and (number == 1 or rng.random() < 0.3):
                chosen.append(rng.choice(self.unprovided))
            for index in dict.fromkeys(chosen):
                priority = rng.choices(priorities, weights=(35, 45, 20))[0]
                note = rng.choice(NEED_NOTES) if rng.random() < 0.3 else ""
                team.needs.append((index, priority, note))

    def _plan_integrations(self, rng: random.Random) -> None:
        """Chains of data flows from niche tools into hubs, and from each retiring tool downstream."""
        linkable = [index for index, tool in enumerate(self.tools)
                    if tool.in_inventory and tool.status != "retired" and tool.role != "blind-spot"]
        weights = _cumulative([self.tools[index].popularity + 0.01 for index in linkable])
        seen: set[tuple[int, int]] = set()

        def link(chain: list[int]) -> None:
            for source, target in zip(chain, chain[1:]):
                if source == target or (source, target) in seen or (target, source) in seen:
                    continue
                seen.add((source, target))
                direction = "two-way" if rng.random() < 0.2 else "one-way"
                criticality = rng.choices(("high", "medium", "low"), weights=(3, 5, 2))[0]
                self.integrations.append((source, target, rng.choice(DATA_FLOWS), direction, criticality))

        for index, tool in enumerate(self.tools):
            if tool.status == "retiring":
                downstream = rng.choices(linkable, cum_weights=weights, k=3)
                link([index] + sorted(set(downstream) - {index}, reverse=True))
        for _ in range(max(2, len(self.tools) // 4)):
            chain = sorted(set(rng.choices(linkable, cum_weights=weights, k=rng.randint(2, 4))), reverse=True)
            link(chain)  # from the least used (highest rank) to the most used

    # -- Writing the files --

    def write_teams(self, path: Path) -> int:
        rows = [[team.name, self.teams[team.parent].name if team.parent is not None else "", team.business_unit,
                 team.headcount, f"Head of {team.name}" if team.parent is not None else "Chief Marketing Officer"]
                for team in self.teams]
        rows = rows[1:2] + rows[:1] + rows[2:]  # as in the sample, the parent is not the first row
        return _write_csv(path, ["Team Name", "Parent Team", "Business Unit", "Headcount", "Team Lead"], rows)

    def write_tools(self, path: Path) -> int:
        rng = random.Random(f"{self.seed}:tools")
        seats: dict[int, int] = {}
        for pair in self.pairs:
            seats[pair.tool] = seats.get(pair.tool, 0) + pair.seats
        last_day = dt.date(self.last_month // 12, self.last_month % 12 + 1,
                           calendar.monthrange(self.last_month // 12, self.last_month % 12 + 1)[1])
        rows = []
        for index, tool in enumerate(self.tools):
            if not tool.in_inventory:
                continue
            owner = self.teams[tool.owner]
            contact = f"{slugify(owner.name)}@example.com" if rng.random() < 0.6 else f"{owner.name} ops lead"
            free = tool.role == "regular" and rng.random() < 0.08
            purchased = seats.get(index) or rng.randint(5, 50)  # a blind spot has no usage to count seats from
            purchased = round(purchased * rng.uniform(1.0, 1.4)) if tool.role != "single-user" else purchased
            euro = rng.random() < 0.04
            if free:
                cost = currency = billing = start = renewal = auto_renew = ""
                purchased_text = ""
            else:
                per_seat = min(5000.0, max(5.0, math.exp(rng.gauss(math.log(250), 1.0))))
                amount = max(500, round(purchased * per_seat, -2))
                cost = _money(rng, amount, euro)
                currency = "EUR" if euro else rng.choice(("USD", "USD", ""))
                billing = rng.choices(("annual", "multi-year", "monthly", "quarterly", "usage-based"),
                                      weights=(70, 10, 10, 5, 5))[0]
                renews = last_day + dt.timedelta(days=rng.randint(1, 365))
                term = 3 if billing == "multi-year" else 1
                begun = renews - dt.timedelta(days=365 * term - 1)
                start, renewal = _date(rng, begun), _date(rng, renews)
                auto_renew = rng.choice(("yes", "yes", "no"))
                purchased_text = purchased
            website = "" if tool.product else f"https://{slugify(tool.name)}.example.com/"
            docs = "" if tool.product or rng.random() < 0.5 else f"https://docs.example.com/{slugify(tool.name)}"
            note = {"retiring": "Being replaced; not renewing", "trial": "Pilot with one team",
                    "retired": "Contract ended"}.get(tool.status, "")
            rows.append([tool.name, tool.vendor, tool.status, owner.name, contact, cost, currency, purchased_text,
                         billing or "free", start, renewal, auto_renew, website, docs, note])
        header = ["Tool", "Vendor", "Status", "Owner Team", "Owner Contact", "Annual Cost", "Currency", "Licenses",
                  "Billing Cycle", "Contract Start", "Renewal Date", "Auto Renew", "Website", "Docs", "Notes"]
        return _write_csv(path, header, rows)

    def write_aliases(self, path: Path) -> int:
        rows = [[tool.alias, tool.name] for tool in self.tools if tool.alias]
        return _write_csv(path, ["Alias", "Tool"], rows)

    def write_capabilities(self, path: Path) -> int:
        rows = [[tool.name, self.capabilities[index], "yes" if index == tool.primary else "no"]
                for tool in self.tools if tool.in_inventory for index in tool.capabilities]
        return _write_csv(path, ["tool", "capability", "primary"], rows)

    def write_needs(self, path: Path) -> int:
        rows = [[team.name, self.capabilities[index], priority, note]
                for team in self.teams for index, priority, note in team.needs]
        return _write_csv(path, ["Team", "Capability", "Priority", "Note"], rows)

    def write_integrations(self, path: Path) -> int:
        rng = random.Random(f"{self.seed}:integrations")
        rows = [[self._spelling(rng, source), self._spelling(rng, target), data, direction, criticality]
                for source, target, data, direction, criticality in self.integrations]
        return _write_csv(path, ["Source", "Target", "Data", "Direction", "Criticality"], rows)

    def _spelling(self, rng: random.Random, index: int) -> str:
        tool = self.tools[index]
        return tool.alias if tool.alias and rng.random() < 0.4 else tool.name

    def write_usage(self, path: Path, rng: random.Random, advance: Callable[[int], None]) -> int:
        """One row per team, tool and month, month by month; the figures drift, ramp up and go idle."""
        for pair in self.pairs:
            tool = self.tools[pair.tool]
            spelling = tool.name
            # Only inventory tools: a tool the usage file introduces is named as first written.
            if tool.in_inventory and rng.random() < 0.12:
                variants = [tool.name.lower(), tool.name + " ", tool.name.replace(" ", "  ", 1)]
                spelling = rng.choice(variants + [tool.alias] * 2 if tool.alias else variants)
            pair.prefix = _csv_line([self.teams[pair.team].name, spelling]) + ","
            pair.month_names = self.teams[pair.team].month_names
        # Plain tuples: this loop runs once per usage row.
        shapes = [(pair.prefix, pair.month_names, pair.start, pair.stop, pair.idle_from, pair.seats, pair.expected_active,
                   pair.ramp, pair.trend, self.tools[pair.tool].role == "single-user") for pair in self.pairs]
        random_number = rng.random
        written = 0
        with open(path, "w", encoding="utf-8", newline="") as out:
            out.write("Team Name,Application,Month,Licenses,MAU,Usage Level\n")
            for month in range(self.months):
                absolute = self.first_month + month
                iso = _month_text(absolute) + ","
                named = f"{MONTH_NAMES[absolute % 12]} {absolute // 12},"
                lines = []
                append = lines.append
                for prefix, month_names, start, stop, idle_from, seats, expected, ramp, trend, single_user in shapes:
                    if month < start or month >= stop:
                        continue
                    if month >= idle_from:
                        active = 0
                    elif single_user:
                        active = 1
                    else:
                        age = month - start
                        grown = (1.0 if age >= ramp else (age + 1) / ramp) * (1 + trend * age)
                        active = int(expected * grown * (0.85 + 0.3 * random_number()) + 0.5)
                        active = seats if active > seats else active or 1
                    level = 0 if active == 0 else 1 + 4 * active // (seats + 1)  # 1 to 4: active <= seats
                    append(f"{prefix}{named if month_names else iso}{seats},{active},{level}\n")
                out.write("".join(lines))
                written += len(lines)
                advance(len(lines))
        return written

    @property
    def last_month(self) -> int:
        return self.first_month + self.months - 1


def _write_csv(path: Path, header: list[str], rows: list[list[object]]) -> int:
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return len(rows)


def _money(rng: random.Random, amount: float, euro: bool) -> str:
    """An amount written the ways spreadsheets do: 42000, $48,000.00, USD 24,000, 9,000 USD, €12.000."""
    whole = int(amount)
    if euro:
        return rng.choice((str(whole), f"€{whole:,}".replace(",", "."), f"EUR {whole:,}"))
    return rng.choices((str(whole), f"${whole:,.2f}", f"USD {whole:,}", f"{whole:,} USD"), weights=(5, 3, 1, 1))[0]


def _date(rng: random.Random, day: dt.date) -> str:
    """A date written the ways spreadsheets do: 2027-01-15, Jan 15, 2027, 15.01.2027."""
    style = rng.random()
    if style < 0.7:
        return day.isoformat()
    if style < 0.85:
        return f"{MONTH_NAMES[day.month - 1]} {day.day}, {day.year}"
    return f"{day.day:02d}.{day.month:02d}.{day.year}"


# -- People and their sign-ins --------------------------------------------------

OFFICES = (  # city, state, country, latitude, longitude, the first three parts of its addresses
    ("Lisbon", "Lisbon", "Portugal", "38.7223", "-9.1393", "198.51.100"),
    ("London", "England", "United Kingdom", "51.5072", "-0.1276", "203.0.113"),
    ("Berlin", "Berlin", "Germany", "52.52", "13.405", "192.0.2"),
    ("New York", "New York", "United States", "40.7128", "-74.006", "198.18.10"),
    ("Austin", "Texas", "United States", "30.2672", "-97.7431", "198.18.20"),
    ("Sao Paulo", "Sao Paulo", "Brazil", "-23.5505", "-46.6333", "198.18.30"),
)
USER_AGENTS = (  # raw user agent, os, browser
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 "
     "Safari/537.36", "Mac OS X", "CHROME"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 "
     "Safari/537.36 Edg/122.0.0.0", "Windows 10", "EDGE_CHROMIUM"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 "
     "Safari/605.1.15", "Mac OS X", "SAFARI"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:123.0) Gecko/20100101 Firefox/123.0", "Windows 10", "FIREFOX"),
)


class _People:
    """Who is in which team, when they were there, and the handful of applications each signs in to.

    A person's use of an application is a *cell*, numbered
    ``person * len(labels) + application``; the log's sign-ins are drawn from
    the cells open in each month.
    """

    def __init__(self, organisation: _Organisation):
        self.organisation = organisation
        self.teams = organisation.person_teams
        self.emails: list[str] = []
        self.names: list[str] = []
        self.joined: list[int] = []
        self.left: list[int] = []
        self.listed: list[bool] = []  # in the directory
        self.labels: list[str] = []  # application names as the identity provider shows them
        # Grouped so that a month's open cells are gathered list by list, not
        # person by person: cells of people there throughout, by the team's use
        # of the tool (a pair) they belong to, or with no pair (an app IT does
        # not know); cells of people who joined or left, one by one.
        self.cells_by_pair: dict[int, list[int]] = {}
        self.unlisted_app_cells: list[int] = []
        self.steady: list[int] = []  # people there every month
        self.movers: list[int] = []
        self.mover_cells: list[tuple[int, int, int]] = []  # (person, pair index or -1, cell)

    @classmethod
    def plan(cls, organisation: _Organisation, rng: random.Random, count: int) -> "_People":
        people = cls(organisation)
        months, tools = organisation.months, organisation.tools
        app_of_tool: dict[int, int] = {}
        for index, tool in enumerate(tools):
            if tool.sso:
                app_of_tool[index] = len(people.labels)
                people.labels.append(tool.label)
        internal = []  # in-house apps behind the identity provider: shadow IT once imported
        for number in range(max(1, len(tools) // 100)):
            series = number // len(INTERNAL_APPS)
            internal.append(INTERNAL_APPS[number % len(INTERNAL_APPS)] + (f" {series + 1}" if series else ""))
        internal_apps = list(range(len(people.labels), len(people.labels) + len(internal)))
        people.labels += internal
        apps = len(people.labels)
        # Each team's applications, weighted by its seats: a tool the whole team has is picked by most of it.
        choices: dict[int, tuple[list[int], list[float]]] = {}
        for index, pair in enumerate(organisation.pairs):
            if pair.tool in app_of_tool:
                indexes, weights = choices.setdefault(pair.team, ([], []))
                indexes.append(index)
                weights.append(pair.seats)
        cumulative = {team: (indexes, _cumulative(weights)) for team, (indexes, weights) in choices.items()}
        low, high = TOOLS_PER_PERSON
        for number in range(count):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            people.emails.append(f"{first}.{last}{number}@example.com")
            people.names.append(f"{first.capitalize()} {last.capitalize()}")
            tenure = rng.random()
            joined, left = 0, months
            if months > 1 and tenure < 0.1:
                joined = rng.randrange(1, months)
            elif months > 1 and tenure < 0.15:
                left = rng.randrange(1, months)
            people.joined.append(joined)
            people.left.append(left)
            people.listed.append(rng.random() >= LEFT_OUT_OF_DIRECTORY)
            indexes, weights = cumulative.get(people.teams[number], ([], []))
            wanted = min(len(indexes), rng.randint(low, high))
            # Drawn with replacement, twice over: the widely held tools come up again, so fewer distinct ones.
            picked = list(dict.fromkeys(rng.choices(indexes, cum_weights=weights, k=2 * wanted)))[:wanted] if wanted else []
            cells = [(index, number * apps + app_of_tool[organisation.pairs[index].tool]) for index in picked]
            if rng.random() < 0.03:
                cells.append((-1, number * apps + rng.choice(internal_apps)))  # an app nobody told IT about
            if joined == 0 and left == months:
                people.steady.append(number)
                for index, cell in cells:
                    if index < 0:
                        people.unlisted_app_cells.append(cell)
                    else:
                        people.cells_by_pair.setdefault(index, []).append(cell)
            else:
                people.movers.append(number)
                people.mover_cells += [(number, index, cell) for index, cell in cells]
        return people

    def open_cells(self, month: int) -> tuple[list[int], list[int]]:
        """The people present in ``month``, and the cells they may sign in to: tools their team used that month."""
        joined, left = self.joined, self.left
        active = [pair.active_in(month) for pair in self.organisation.pairs]
        cells = list(self.unlisted_app_cells)
        for index, pair_cells in self.cells_by_pair.items():
            if active[index]:
                cells += pair_cells
        for person, index, cell in self.mover_cells:
            if joined[person] <= month < left[person] and (index < 0 or active[index]):
                cells.append(cell)
        present = self.steady + [person for person in self.movers if joined[person] <= month < left[person]]
        return present or list(range(len(self.emails))), cells

    def write_directory(self, path: Path) -> int:
        teams = self.organisation.teams
        rows = [[self.names[number], self.emails[number], teams[self.teams[number]].name]
                for number in range(len(self.emails)) if self.listed[number]]
        return _write_csv(path, ["Name", "Email", "Team"], rows)


@dataclass(frozen=True)
class _EventKind:
    weight: int  # among the events that are not SSO sign-ins
    event_type: str
    result: str
    message: str
    legacy_type: str
    target: str | None  # JSON of a fixed target, or None for the application signed in to


EVENT_KINDS = (
    # The first two are placed by the sign-in model, not by weight.
    _EventKind(0, "user.authentication.sso", "SUCCESS", "User single sign on to app", "app.auth.sso", None),
    _EventKind(0, "user.authentication.sso", "FAILURE", "User single sign on to app", "app.auth.sso", None),
    _EventKind(22, "user.session.start", "SUCCESS", "User login to Okta", "core.user_auth.login_success", "null"),
    _EventKind(2, "user.session.start", "FAILURE", "User login to Okta", "core.user_auth.login_failed", "null"),
    _EventKind(11, "user.authentication.auth_via_mfa", "SUCCESS", "Authentication of user via MFA",
               "core.user.factor.attempt_success", "null"),
    _EventKind(9, "policy.evaluate_sign_on", "ALLOW", "Evaluation of sign-on policy", "",
               '[{"id":"00p1a2b3c4d5e6f7g8h9","type":"PolicyEntity","alternateId":"unknown","displayName":"Default Policy",'
               '"detailEntry":{"policyType":"OktaSignOn"}},{"id":"0pr1a2b3c4d5e6f7g8h9","type":"PolicyRule",'
               '"alternateId":"00p1a2b3c4d5e6f7g8h9","displayName":"Default Rule","detailEntry":null}]'),
    _EventKind(5, "user.session.end", "SUCCESS", "User logout from Okta", "core.user_auth.logout_success", "null"),
    # An application in the target, but not a sign-in: the importer must look at the event type.
    _EventKind(2, "application.user_membership.add", "SUCCESS", "Add user to application membership",
               "app.generic.provision.assign_user_to_app", None),
)
SIGN_IN, FAILED_SIGN_IN = 0, 1
WRITE_EVERY = 250_000  # pieces of lines (about 16,000 events, 20 MB) held before they are written


class _OktaLog:
    """An Okta System Log in JSON Lines, in time order, written a day at a time.

    Each line is put together from strings made once (a person's actor and
    client, an application's target, a kind of event's fixed fields) with an
    f-string: no JSON encoding per event.
    """

    def __init__(self, organisation: _Organisation, people: _People, rng: random.Random):
        self.organisation, self.people, self.rng = organisation, people, rng
        uuid_prefix = "%08x-%04x-4%03x-8%03x-" % (rng.getrandbits(32), rng.getrandbits(16), rng.getrandbits(12),
                                                    rng.getrandbits(12))
        # A line is: actor, id, head, date and time, middle, id, tail, id, close, id, version, target.
        parts = [self._fixed_parts(kind) for kind in EVENT_KINDS]
        self.heads, self.middles, self.tails = ([part[number] for part in parts] for number in range(3))
        self.close = f'","detail":{{}}}},"uuid":"{uuid_prefix}'
        self.fixed_targets = [kind.target for kind in EVENT_KINDS]
        self.other_kinds = [number for number, kind in enumerate(EVENT_KINDS) if kind.weight]
        self.other_weights = _cumulative([EVENT_KINDS[number].weight for number in self.other_kinds])
        self.actors = [self._actor(number) for number in range(len(people.emails))]
        self.app_users = [
            f'{{"id":"0ua{number:017d}","type":"AppUser","alternateId":"{people.emails[number]}",'
            f'"displayName":"{people.names[number]}","detailEntry":null}}]'
            for number in range(len(people.emails))
        ]
        self.app_targets = [
            f'[{{"id":"0oa{number:017d}","type":"AppInstance","alternateId":"{_json_text(label)}",'
            f'"displayName":"{_json_text(label)}","detailEntry":{{"signOnModeType":"SAML_2_0"}}}},'
            for number, label in enumerate(people.labels)
        ]
        self.times = [f"{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}." for second in range(86_400)]
        self.milliseconds = [f"{number:03d}" for number in range(1000)]
        shares = [weight / sum(HOURLY_WEIGHTS) for weight in HOURLY_WEIGHTS]
        self.hour_ends = _cumulative(shares)
        self.hour_starts = [end - share for end, share in zip(self.hour_ends, shares)]
        self.hour_lengths = [3_600_000 / share for share in shares]  # milliseconds per unit of the day's share

    @staticmethod
    def _fixed_parts(kind: _EventKind) -> tuple[str, str, str]:
        """What a kind of event writes after the actor's session id, after the time, and after the request id."""
        failed = kind.result == "FAILURE"
        reason = '"INVALID_CREDENTIALS"' if failed else "null"
        head = (f'"}},"displayMessage":"{kind.message}","eventType":"{kind.event_type}",'
                f'"outcome":{{"result":"{kind.result}","reason":{reason}}},"published":"')
        middle = ('Z","securityContext":{"asNumber":64496,"asOrg":"example telecom","isp":"example telecom",'
                  f'"domain":"example.net","isProxy":false}},"severity":"{"WARN" if failed else "INFO"}",'
                  '"debugContext":{"debugData":{"requestId":"Ze')
        tail = f'"}}}},"legacyEventType":"{kind.legacy_type}","transaction":{{"type":"WEB","id":"Ze'
        return head, middle, tail

    def _actor(self, number: int) -> str:
        """The start of each of a person's events: who, from where, with what; up to the session id."""
        people = self.people
        city, state, country, latitude, longitude, network = OFFICES[number % len(OFFICES)]
        agent, system, browser = USER_AGENTS[number // len(OFFICES) % len(USER_AGENTS)]
        login = people.emails[number]
        if number % 20 == 7:  # some accounts were created with capitals; the directory has them in lower case
            login = login[0].upper() + login[1:]
        return (
            f'{{"actor":{{"id":"00u{number:017d}","type":"User","alternateId":"{login}",'
            f'"displayName":"{people.names[number]}","detailEntry":null}},"client":{{"userAgent":{{"rawUserAgent":'
            f'"{agent}","os":"{system}","browser":"{browser}"}},"zone":"null","device":"Computer","id":null,'
            f'"ipAddress":"{network}.{number % 250 + 1}","geographicalContext":{{"city":"{city}","state":"{state}",'
            f'"country":"{country}","geolocation":{{"lat":{latitude},"lon":{longitude}}}}}}},'
            '"device":null,"authenticationContext":{"authenticationStep":0,"externalSessionId":"102'
        )

    def write(self, path: Path, events: int, advance: Callable[[int], None]) -> int:
        """Write ``events`` events over the organisation's months, in proportion to the people there; return the count."""
        people, months = self.people, self.organisation.months
        arrivals = [0] * (months + 1)
        for joined, left in zip(people.joined, people.left):
            arrivals[joined] += 1
            arrivals[left] -= 1
        headcount = _cumulative(arrivals)[:months]
        written = 0
        with open(path, "w", encoding="utf-8", newline="\n", buffering=1 << 20) as out:
            for month, month_events in enumerate(_split(events, headcount)):
                written = self._write_month(out, month, month_events, written, advance)
        return written

    def _write_month(self, out, month: int, events: int, sequence: int, advance: Callable[[int], None]) -> int:
        """One month's events, day by day; returns the number of the last event written."""
        rng, random_number = self.rng, self.rng.random
        present, open_cells = self.people.open_cells(month)
        apps = len(self.people.labels)
        cells = apps * len(self.people.emails)  # codes are kind * cells + cell
        sign_ins = round(events * SIGN_IN_SHARE) if open_cells else 0
        failures = round(events * FAILED_SIGN_IN_SHARE) if open_cells else 0
        # Each of `firsts` is someone's first sign-in to an application this month.
        firsts = rng.sample(open_cells, min(len(open_cells), round(sign_ins * FIRST_VISIT_SHARE)))
        absolute = self.organisation.first_month + month
        year, month_number = absolute // 12, absolute % 12 + 1
        days = calendar.monthrange(year, month_number)[1]
        weights = [WEEKEND_WEIGHT if dt.date(year, month_number, day).weekday() >= 5 else 1.0 for day in range(1, days + 1)]
        day_events, day_sign_ins = _split(events, weights), _split(sign_ins, weights)
        day_failures, day_firsts = _split(failures, weights), _split(len(firsts), weights)
        opened = 0
        for day in range(days):
            total = day_events[day]
            signing = min(day_sign_ins[day], total)
            failing = min(day_failures[day], total - signing)
            new = min(day_firsts[day], signing, len(firsts) - opened)
            codes = firsts[opened:opened + new]  # kind SIGN_IN is 0: its code is the cell
            opened += new
            if opened:  # repeat visits, to what is already open
                codes += [firsts[int(random_number() * opened)] for _ in range(signing - new)]
            if firsts:
                codes += [FAILED_SIGN_IN * cells + firsts[int(random_number() * len(firsts))] for _ in range(failing)]
            for kind in rng.choices(self.other_kinds, cum_weights=self.other_weights, k=total - len(codes)):
                person = present[int(random_number() * len(present))]
                app = firsts[int(random_number() * len(firsts))] % apps if firsts else 0
                codes.append(kind * cells + person * apps + app)
            rng.shuffle(codes)
            sequence = self._write_day(out, f"{year:04d}-{month_number:02d}-{day + 1:02d}T", codes, sequence)
            advance(len(codes))
        return sequence

    def _write_day(self, out, date: str, codes: list[int], sequence: int) -> int:
        """The day's events in time order (busier in working hours), in the order of ``codes``.

        The pieces of every line go into one list joined once: building each
        line as a string of its own first costs twice as much.
        """
        apps = len(self.people.labels)
        cells = apps * len(self.people.emails)
        random_number, locate = self.rng.random, bisect.bisect_left
        hour_ends, hour_starts, hour_lengths = self.hour_ends, self.hour_starts, self.hour_lengths
        actors, app_users, app_targets = self.actors, self.app_users, self.app_targets
        heads, middles, tails, close, fixed_targets = self.heads, self.middles, self.tails, self.close, self.fixed_targets
        times, milliseconds = self.times, self.milliseconds
        version = '","version":"0","target":'
        count = len(codes)
        pieces: list[str] = []
        extend = pieces.extend
        for position, code in enumerate(codes):
            share = (position + random_number()) / count
            hour = locate(hour_ends, share)
            hour = hour if hour < 24 else 23
            moment = int(hour * 3_600_000 + (share - hour_starts[hour]) * hour_lengths[hour])
            moment = moment if moment < 86_400_000 else 86_399_999
            kind, cell = divmod(code, cells)
            person, app = divmod(cell, apps)
            sequence += 1
            number = f"{sequence:012x}"
            extend((actors[person], number, heads[kind], date, times[moment // 1000], milliseconds[moment % 1000],
                    middles[kind], number, tails[kind], number, close, number, version))
            target = fixed_targets[kind]
            if target is None:
                extend((app_targets[app], app_users[person], "}\n"))
            else:
                extend((target, "}\n"))
            if len(pieces) >= WRITE_EVERY:
                out.write("".join(pieces))
                pieces.clear()
        out.write("".join(pieces))
        return sequence


def _json_text(text: str) -> str:
    """``text`` as the inside of a JSON string (names here are plain ASCII but for & and quotes)."""
    return text.replace("\\", "\\\\").replace('"', '\\"')
