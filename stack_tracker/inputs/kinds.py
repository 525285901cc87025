"""What each kind of input file holds: its columns, their header aliases and types.

Headers are compared after dropping case, spaces, underscores and hyphens, so
``Team Name``, ``team_name`` and ``TEAM-NAME`` are the same header. Each column
lists the other headers people use for it; `docs/` and ``stack-tracker kinds``
print these tables, so they are the documentation too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

from .. import normalise as n

# What a column holds. References are resolved against the database (and, for
# a kind that names its own rows, the file itself) by the ingest.
TEXT, NAME, INT, MONEY, CURRENCY, DATE, PERIOD, BOOL, CHOICE, LEVEL, DURATION, RATE = (
    "text", "name", "int", "money", "currency", "date", "period", "bool", "choice", "level", "duration", "rate"
)
TEAM_REF, TOOL_REF, CAPABILITY_REF = "team", "tool", "capability"
# A tool by its own name or slug, never through an alias: what an alias points at.
TOOL_ITSELF_REF = "tool itself"


@dataclass(frozen=True)
class Column:
    """One column of an input kind."""

    name: str
    type: str = TEXT
    required: bool = False
    aliases: tuple[str, ...] = ()
    description: str = ""
    parse: Callable[[str], object] | None = None  # for CHOICE columns
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Kind:
    """One kind of input file and the table it loads."""

    name: str
    table: str
    columns: tuple[Column, ...]
    # The column whose display name becomes the row's slug, for kinds that name things.
    names_column: str | None = None
    description: str = ""
    defaults: dict[str, object] = field(default_factory=dict)
    #: Whether the columns a file has beyond the kind's are kept, as the row's custom fields
    #: (``custom_fields``, a JSON object); else they are left out with a warning.
    custom_fields: bool = False

    def column(self, name: str) -> Column:
        return next(column for column in self.columns if column.name == name)


def header_key(header: str) -> str:
    """How headers are compared: no case, spaces, underscores, hyphens or dots."""
    return re.sub(r"[\s_\-.]+", "", header.strip().lstrip("\ufeff")).casefold()


def _choice(canonical: dict[str, tuple[str, ...]], expected: str) -> tuple[Callable[[str], str], tuple[str, ...]]:
    spellings = {value: value for value in canonical}
    for value, others in canonical.items():
        spellings.update({other: value for other in others})
    return n.choice_parser(spellings, expected), tuple(canonical)


STATUS_PARSE, STATUSES = _choice(
    {
        "active": ("in use", "live", "current", "production"),
        "trial": ("pilot", "evaluation", "poc", "proof of concept", "testing"),
        "retiring": ("sunsetting", "deprecated", "being retired", "phasing out"),
        "retired": ("cancelled", "canceled", "decommissioned", "inactive", "ended"),
        "unreviewed": ("unknown", "shadow", "shadow it", "new"),
    },
    "a status: active, trial, retiring, retired or unreviewed",
)
PRIORITY_PARSE, PRIORITIES = _choice(
    {
        "must": ("must have", "required", "high", "critical", "p1", "1"),
        "should": ("should have", "medium", "important", "p2", "2"),
        "could": ("could have", "nice to have", "low", "optional", "p3", "3"),
    },
    "a priority: must, should or could",
)
SOURCE_PARSE, SOURCES = _choice(
    {"reported": ("survey", "self reported", "manual"), "vendor": ("admin console", "export"), "sso": ("idp", "sign in", "login")},
    "a source: reported, vendor or sso",
)
DIRECTION_PARSE, DIRECTIONS = _choice(
    {"one-way": ("one way", "oneway", "push", "->", "uni"), "two-way": ("two way", "twoway", "bidirectional", "sync", "<->", "bi")},
    "a direction: one-way or two-way",
)
CRITICALITY_PARSE, CRITICALITIES = _choice(
    {"low": ("minor", "nice to have"), "medium": ("moderate", "normal"), "high": ("critical", "major", "essential")},
    "a criticality: low, medium or high",
)
BILLING_PARSE, BILLING_CYCLES = _choice(
    {
        "annual": ("annually", "yearly", "year", "12 months"),
        "monthly": ("month", "per month"),
        "quarterly": ("quarter", "3 months"),
        "multi-year": ("multi year", "multiyear", "2 years", "3 years", "biennial"),
        "usage-based": ("usage based", "pay as you go", "payg", "consumption"),
        "free": ("none", "free tier"),
    },
    "a billing cycle: annual, monthly, quarterly, multi-year, usage-based or free",
)

MATCH_PARSE, MATCHES = _choice(
    {
        "contains": ("contain", "includes", "substring", "in"),
        "equals": ("equal", "exact", "exactly", "is", "="),
        "regex": ("regexp", "regular expression", "re", "pattern"),
    },
    "a match: contains, equals or regex",
)

TEAM_ALIASES = ("team name", "team_name", "department", "group")
TOOL_ALIASES = ("tool name", "application", "app", "app name", "application name", "product", "software", "platform")
CAPABILITY_ALIASES = ("capability name", "capability slug", "function")

KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind(
            name="capabilities",
            table="capabilities",
            names_column="capability",
            description="The capability taxonomy: what jobs tools can do, grouped by category.",
            custom_fields=True,
            columns=(
                Column("capability", NAME, True, ("name",) + CAPABILITY_ALIASES, "Display name of the capability"),
                Column("category", TEXT, False, ("category name", "group", "area"), "The category it belongs to"),
                Column("description", TEXT, False, ("definition", "what it is", "summary"), "One line in plain words"),
            ),
        ),
        Kind(
            name="teams",
            table="teams",
            names_column="team",
            description="The organisation: one row per team.",
            custom_fields=True,
            columns=(
                Column("team", NAME, True, ("name",) + TEAM_ALIASES, "Display name of the team"),
                Column("parent", TEAM_REF, False, ("parent team", "reports to", "parent name"), "The team it belongs to"),
                Column("business_unit", TEXT, False, ("bu", "business unit", "division", "org"), "Business unit"),
                Column("headcount", INT, False, ("people", "size", "members", "team size", "employees"), "People in the team"),
                Column("lead", TEXT, False, ("team lead", "manager", "head", "leader"), "Who leads the team"),
            ),
        ),
        Kind(
            name="tools",
            table="tools",
            names_column="tool",
            description="The inventory: one row per tool, with owner, cost and contract.",
            defaults={"status": "active"},
            custom_fields=True,
            columns=(
                Column("tool", NAME, True, ("name",) + TOOL_ALIASES, "Display name of the tool"),
                Column("vendor", TEXT, False, ("vendor name", "supplier", "provider", "company"), "Who sells it"),
                Column("status", CHOICE, False, ("state", "lifecycle", "tool status"), "active, trial, retiring, retired or unreviewed", STATUS_PARSE, STATUSES),
                Column("owner_team", TEAM_REF, False, ("owner team", "owning team", "owner", "team"), "The team that owns it"),
                Column("owner_contact", TEXT, False, ("contact", "owner contact", "who to ask", "point of contact", "poc"), "Who to ask about it"),
                Column("business_owner", TEXT, False, ("business owner", "business contact", "budget owner", "business lead", "business sponsor", "exec sponsor"), "Who answers for it to the business (budget, renewal)"),
                Column("technical_owner", TEXT, False, ("technical owner", "tech owner", "technical contact", "tech contact", "it owner", "system owner", "technical lead", "tech lead"), "Who looks after it technically (setup, integrations)"),
                Column("admin", TEXT, False, ("admin", "administrator", "admins", "system admin", "access", "access owner", "who grants access", "grants access", "provisioning", "provisioned by", "access requests"), "Who grants access to it"),
                Column("annual_cost", MONEY, False, ("annual cost", "cost per year", "cost", "annual spend", "yearly cost", "spend", "price", "contract value", "acv"), "Cost per year"),
                Column("currency", CURRENCY, False, ("ccy", "currency code"), "Currency of annual_cost"),
                Column("seats_purchased", INT, False, ("seats", "licenses", "licences", "seats purchased", "seat count", "license count", "licence count"), "Seats in the contract"),
                Column("billing_cycle", CHOICE, False, ("billing", "billing cycle", "billing frequency", "billing period", "term"), "annual, monthly, quarterly, multi-year, usage-based or free", BILLING_PARSE, BILLING_CYCLES),
                Column("contract_start", DATE, False, ("contract start", "start date", "start", "signed"), "Date the contract began"),
                Column("renewal_date", DATE, False, ("renewal", "renewal date", "renews", "contract end", "end date", "expiry", "expires"), "Date the contract renews"),
                Column("auto_renew", BOOL, False, ("auto renew", "autorenew", "auto renewal", "renews automatically", "evergreen"), "Renews unless cancelled"),
                Column("notice_period", DURATION, False, ("notice", "notice period", "cancellation notice", "cancellation period", "notice days", "termination notice", "notice required"), "How long before the renewal one must cancel: 30 days, 3 months, 90, P3M"),
                Column("price_per_seat", MONEY, False, ("price per seat", "seat price", "per seat", "cost per seat", "price per license", "price per licence", "cost per license", "cost per licence", "unit price", "price per user", "cost per user"), "Price of one seat for a year (else annual_cost / seats_purchased)"),
                Column("url", TEXT, False, ("website", "homepage", "login url", "link", "web"), "Where to sign in"),
                Column("docs_url", TEXT, False, ("docs", "documentation", "training", "help", "help url", "learning", "training url"), "Where to learn it"),
                Column("notes", TEXT, False, ("note", "comments", "comment", "remarks"), "Anything else"),
            ),
        ),
        Kind(
            name="aliases",
            table="tool_aliases",
            description="Other spellings of tool names, as they appear in other files.",
            columns=(
                Column("alias", TEXT, True, ("spelling", "other name", "alternative name", "as seen", "name seen", "synonym"), "The spelling seen in an input"),
                Column("tool", TOOL_ITSELF_REF, True, ("canonical", "canonical name") + TOOL_ALIASES, "The tool it means"),
            ),
        ),
        Kind(
            name="tool-capabilities",
            table="tool_capabilities",
            description=(
                "What each tool does: one row per tool and capability. It is the word on the tools it lists: "
                "what the catalog guessed for them and the file does not state is dropped."
            ),
            columns=(
                Column("tool", TOOL_REF, True, TOOL_ALIASES, "The tool"),
                Column("capability", CAPABILITY_REF, True, CAPABILITY_ALIASES, "A capability it provides"),
                Column("primary", BOOL, False, ("is primary", "main", "primary use", "core"), "Whether this is what the tool is mainly for"),
            ),
            defaults={"primary": 0},
        ),
        Kind(
            name="needs",
            table="team_needs",
            description="What each team needs to be able to do: one row per team and capability.",
            defaults={"priority": "should"},
            columns=(
                Column("team", TEAM_REF, True, TEAM_ALIASES, "The team"),
                Column("capability", CAPABILITY_REF, True, CAPABILITY_ALIASES + ("need",), "A capability it needs"),
                Column("priority", CHOICE, False, ("importance", "moscow", "level"), "must, should or could", PRIORITY_PARSE, PRIORITIES),
                Column("note", TEXT, False, ("notes", "comment", "why"), "Why, in a sentence"),
            ),
        ),
        Kind(
            name="usage",
            table="usage",
            description="How much each team uses each tool, per month.",
            defaults={"source": "reported"},
            columns=(
                Column("team", TEAM_REF, True, TEAM_ALIASES, "The team"),
                Column("tool", TOOL_REF, True, TOOL_ALIASES, "The tool"),
                Column("period", PERIOD, True, ("month", "reporting month", "date", "period month"), "The calendar month, YYYY-MM"),
                Column("seats", INT, False, ("licenses", "licences", "seats purchased", "seats assigned", "assigned seats", "license count"), "Seats assigned to the team"),
                Column("active_users", INT, False, ("active users", "mau", "monthly active users", "active", "users active"), "People who used it that month"),
                Column("usage_level", LEVEL, False, ("usage level", "level", "intensity", "how much"), "Self-reported 0 (none) to 4 (critical)"),
                Column("sessions", INT, False, ("logins", "sign ins", "visits", "session count"), "Sessions or sign-ins that month"),
                Column("source", CHOICE, False, ("data source", "measured by"), "reported, vendor or sso", SOURCE_PARSE, SOURCES),
            ),
        ),
        Kind(
            name="integrations",
            table="integrations",
            description="How tools feed each other: one row per data flow.",
            defaults={"data": "", "direction": "one-way"},
            columns=(
                Column("source_tool", TOOL_REF, True, ("source", "from", "source tool", "from tool", "upstream", "source app"), "The tool data comes from"),
                Column("target_tool", TOOL_REF, True, ("target", "to", "target tool", "to tool", "destination", "downstream", "target app"), "The tool data goes to"),
                Column("data", TEXT, False, ("data", "what", "objects", "payload", "flows", "data flow"), "What flows (leads, contacts, spend …)"),
                Column("direction", CHOICE, False, ("sync", "direction", "flow direction"), "one-way or two-way", DIRECTION_PARSE, DIRECTIONS),
                Column("criticality", CHOICE, False, ("importance", "impact", "critical"), "low, medium or high", CRITICALITY_PARSE, CRITICALITIES),
            ),
        ),
        Kind(
            name="rates",
            table="rates",
            description=(
                "Exchange rates into the base currency, each in force from its date; or the European Central "
                "Bank's reference-rate file as published (Date, USD, JPY, ...: units per euro)."
            ),
            columns=(
                Column("currency", CURRENCY, True, ("ccy", "currency code", "code", "from currency"), "The currency the rate converts"),
                Column("rate", RATE, True, ("exchange rate", "fx rate", "rate to base", "conversion rate", "value"), "Base-currency units for one unit of the currency"),
                Column("date", DATE, True, ("in force from", "valid from", "effective date", "from", "as of", "day"), "The day the rate is in force from"),
            ),
        ),
        Kind(
            name="merchant-rules",
            table="merchant_rules",
            description=(
                "Which tool a card or expense export's merchant is (import-spend): the ops team's word, which wins "
                "over every name and guess. One row per pattern: the tool, or ignore to leave the merchant out."
            ),
            defaults={"match": "contains", "ignore": 0},
            columns=(
                Column("pattern", TEXT, True, ("merchant", "merchant pattern", "descriptor", "statement descriptor"), "What the merchant, as the export writes it, contains, equals or matches"),
                Column("match", CHOICE, False, ("match type", "matching", "how"), "contains (the default), equals (the whole merchant) or regex (a Python regular expression); any case", MATCH_PARSE, MATCHES),
                Column("tool", TOOL_REF, False, TOOL_ALIASES, "The tool the merchant is"),
                Column("ignore", BOOL, False, ("skip", "exclude", "not software", "leave out"), "yes: leave the merchant's transactions out"),
                Column("note", TEXT, False, ("notes", "comment", "why"), "Why, in a sentence"),
            ),
        ),
        Kind(
            name="tiers",
            table="tiers",
            description=(
                "The plans or licence tiers each tool sells seats in, as its user exports write them (import-users), "
                "with a seat's price a year and a rank, 1 the cheapest: what the right-size report prices with."
            ),
            columns=(
                Column("tool", TOOL_REF, True, TOOL_ALIASES, "The tool"),
                Column("tier", TEXT, True, ("plan", "licence", "license", "user license", "user licence", "seat type",
                                            "licence type", "license type", "edition", "product profile"),
                       "The tier as the tool's user export writes it (Salesforce's user licence, HubSpot's seat type …)"),
                Column("price_per_seat", MONEY, False, ("price per seat", "seat price", "per seat", "cost per seat",
                                                        "price", "price per user", "cost per user", "annual price"),
                       "Price of one seat of the tier for a year, in the tool's currency"),
                Column("rank", INT, True, ("order", "level", "tier rank", "position"),
                       "1 for the cheapest tier, 2 for the next …"),
            ),
        ),
    )
}


def header_map(kind: Kind) -> dict[str, str]:
    """Every accepted header (as `header_key` sees it) -> the column it names."""
    mapping: dict[str, str] = {}
    for column in kind.columns:
        for header in (column.name, *column.aliases):
            mapping.setdefault(header_key(header), column.name)
    return mapping


def find_columns(headers: list[str], accepted: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """Column -> the file's header for it, for a table whose columns are known by lists of accepted headers.

    Headers are compared as `header_key` compares them; for each column the
    first accepted header the file has wins, and a header feeds one column only.
    """
    by_key = {header_key(header): header for header in reversed(headers)}
    mapping: dict[str, str] = {}
    for column, aliases in accepted.items():
        for alias in aliases:
            header = by_key.get(header_key(alias))
            if header is not None and header not in mapping.values():
                mapping[column] = header
                break
    return mapping


def describe_kind(kind: Kind, custom_fields: dict[str, int] | None = None) -> str:
    """A kind for people: its description, then each column, whether it is required, and its header aliases.

    ``custom_fields``: the custom fields a database holds for the kind, each with how many rows have it.
    """
    lines = [f"{kind.name}: {kind.description}"]
    for column in kind.columns:
        lines.append(f"  {column.name}{' (required)' if column.required else ''}: {column.description}")
        if column.aliases:
            lines.append(f"      also: {', '.join(column.aliases)}")
    if kind.custom_fields:
        lines.append("  any other column: kept as a custom field of the row")
    if custom_fields:
        lines.append("  custom fields in this database:")
        lines += [f"    {name} ({count} row{'s' if count != 1 else ''})" for name, count in custom_fields.items()]
    elif custom_fields is not None and kind.custom_fields:
        lines.append("  custom fields in this database: none yet")
    return "\n".join(lines)
