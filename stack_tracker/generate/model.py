"""The organisation's plan: teams, tools, who uses what and when, needs and integrations.

Nothing here writes a file: `files` turns the plan into CSV rows and
`people` and `events` put people and their sign-ins on top of it.
"""

from __future__ import annotations

import csv
import math
import random
from dataclasses import dataclass, field

from ..inputs.catalog import Product, default_catalog, loose_key
from ..inputs.taxonomy import default_taxonomy
from ..normalise import lookup_key

# Popularity of the tool ranked r (from 0): the share of teams using it is
# min(WIDEST_SHARE, breadth / (r + 1)), with breadth = min(MAX_BREADTH, tools / 4).
# At 500 teams and 2,000 tools that is about 60 tools per team, a million usage
# rows over 36 months, and a tail of tools used by one to three teams.
WIDEST_SHARE, MAX_BREADTH = 0.95, 11.0
CATALOG_TOOLS = 60  # at most this many tools take their names from data/catalog.csv

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
DATA_FLOWS = ("leads", "contacts and accounts", "campaign members", "web events and traits", "form submissions",
              "webinar registrations and attendance", "ad spend and conversions", "audiences", "orders",
              "support tickets", "assets", "survey responses", "email engagement", "pipeline and revenue")
NEED_NOTES = ("Raised in the annual planning survey", "Blocks a campaign on the roadmap", "Asked for by leadership",
              "Done by hand in spreadsheets today", "Needed for the next product launch")


def cumulative(weights: list[float]) -> list[float]:
    """Running totals of ``weights``: the ``cum_weights`` of `random.choices`, made once for many draws."""
    total, running = 0.0, []
    for weight in weights:
        total += weight
        running.append(total)
    return running


@dataclass
class Team:
    """A team as teams.csv lists it, with its headcount and what it needs."""

    name: str
    parent: int | None
    business_unit: str
    headcount: int = 0
    month_names: bool = False  # writes months as "Mar 2026" rather than 2026-03
    needs: list[tuple[int, str, str]] = field(default_factory=list)  # (capability, priority, note)


@dataclass
class Tool:
    """A tool, ranked by popularity, with the part it plays in the findings (``role``)."""

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
        """Whether the tool is in tools.csv (a shadow tool only turns up in usage and sign-ins)."""
        return self.role != "shadow"


@dataclass
class Pair:
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

    def active_in(self, month: int) -> bool:
        """Whether the team has a row for the tool in ``month`` with someone active."""
        return self.start <= month < self.stop and month < self.idle_from


class Organisation:
    """Teams, tools, who uses what and when: everything but the people and their sign-ins."""

    def __init__(self, seed: int, first_month: int, months: int):
        self.seed, self.first_month, self.months = seed, first_month, months
        self.capabilities: list[str] = []  # names, as in the taxonomy
        self.unprovided: list[int] = []  # capabilities no inventory tool provides
        self.teams: list[Team] = []
        self.person_teams: list[int] = []  # each person's team
        self.tools: list[Tool] = []
        self.pairs: list[Pair] = []  # sorted by team, then tool rank
        self.integrations: list[tuple[int, int, str, str, str]] = []
        self.usage_rows = 0

    @classmethod
    def plan(cls, seed: int, *, teams: int, tools: int, months: int, users: int, first_month: int) -> "Organisation":
        """The whole plan, drawn from one generator seeded with ``seed``, in an order that must not change."""
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
        self.teams.append(Team("Marketing", None, "Global Marketing"))
        for number in range(1, count):
            function, business_unit = FUNCTIONS[(number - 1) % len(FUNCTIONS)]
            if number <= len(FUNCTIONS):
                self.teams.append(Team(function, 0, business_unit))
                continue
            regional = (number - 1 - len(FUNCTIONS)) // len(FUNCTIONS)
            region = REGIONS[regional % len(REGIONS)]
            suffix = f" {regional // len(REGIONS) + 1}" if regional >= len(REGIONS) else ""
            self.teams.append(Team(f"{function} {region}{suffix}", (number - 1) % len(FUNCTIONS) + 1, business_unit))
        for team in self.teams:
            team.month_names = rng.random() < 0.1
        # Everyone in one team: each team gets one person, the rest by skewed team sizes.
        weights = [0.2] + [math.exp(rng.gauss(0, 0.6)) for _ in range(count - 1)]
        self.person_teams = list(range(count)) + rng.choices(range(count), cum_weights=cumulative(weights),
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
                self.tools.append(Tool(product.name, 0.0, capabilities[0], capabilities, vendor=product.vendor,
                                        product=product))
        # A few capabilities nothing will provide (organisation gaps), the rest
        # shared among the synthetic tools, some far more crowded than others.
        provided = {index for tool in self.tools for index in tool.capabilities}
        free = [index for index in range(len(self.capabilities)) if index not in provided]
        self.unprovided = sorted(rng.sample(free, min(len(free), max(1, len(self.capabilities) // 12))))
        open_capabilities = [index for index in range(len(self.capabilities)) if index not in self.unprovided]
        rng.shuffle(open_capabilities)
        open_capabilities = open_capabilities[: max(3, min(len(open_capabilities), count // 4))]
        crowding = cumulative([1 / (rank + 1) ** 0.7 for rank in range(len(open_capabilities))])
        vendors = [self._vendor_name(number) for number in range(max(3, count // 3))]
        vendor_weights = cumulative([1 / (rank + 1) for rank in range(len(vendors))])
        width = max(4, len(str(count)))
        for number in range(len(self.tools) + 1, count + 1):
            primary = rng.choices(open_capabilities, cum_weights=crowding)[0]
            capabilities = [primary] + [index for index in rng.sample(open_capabilities, min(2, len(open_capabilities)))
                                        if index != primary][: rng.choice((0, 0, 1, 1, 2))]
            word = self.capabilities[primary].split()[-1]  # "Web & mobile analytics" -> Analytics
            word = word if word.isupper() else word.capitalize()
            vendor = rng.choices(vendors, cum_weights=vendor_weights)[0]
            self.tools.append(Tool(f"Tool {number:0{width}d} {word}", 0.0, primary, capabilities, vendor=vendor))

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
            self.tools.append(Tool(product.name, rng.uniform(0.02, 0.1), 0, [], vendor=product.vendor, role="shadow",
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

    def _pair(self, rng: random.Random, team: int, index: int, tool: Tool) -> Pair:
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
        return Pair(team, index, start, stop, idle_from, seats, expected, ramp, trend)

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
        weights = cumulative([self.tools[index].popularity + 0.01 for index in linkable])
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

    @property
    def last_month(self) -> int:
        """The month number of the last month of usage."""
        return self.first_month + self.months - 1
