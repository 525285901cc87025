"""Which tool a card statement's merchant is: the ops team's rules, then the inventory's names, then the catalog.

Card and expense exports name a merchant as the card network passed it on:
``SQ *CANVA``, ``PAYPAL *ZOOM.US``, ``ADOBE *CREATIVE CLD 800-833-6687 CA``,
``HUBSPOT INC``, ``GOOGLE *GSUITE_example.com``. `MerchantMatcher.match` finds
the tool, in this order:

1. the ops team's ``merchant_rules`` (kind ``merchant-rules``), which win over
   everything else: a tool, or ``ignore`` to leave the merchant out. Of the
   rules that match, an ``equals`` rule wins, then the longest ``contains``
   pattern, then ``regex`` rules in the order of their patterns;
2. marketplaces and app stores (``AMZN Mktp``, ``APPLE.COM/BILL``) name no
   product: left out, whatever the export's category says;
3. the database's tools by name or alias, then the bundled catalog's products
   by name, other name or domain (a product the inventory has under one of
   those names is that tool), tried on the merchant as written and then with
   the noise statements add taken off, one step at a time (`spellings`);
4. software the inventory lacks: a catalog product, a product sold under a
   software vendor's name (``ADOBE *ACROBAT PRO``), or anything the export's
   own category calls software. It becomes an ``unreviewed`` tool (shadow IT)
   when new tools are allowed, and is left out and listed when they are not;
5. everything else is not software: left out, counted.

Matching reads and never writes: the tools it would create wait in `NewNames`
until the file is read clean (`MerchantMatcher.write_new_tools`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlite_utils

from .. import normalise as n
from ..database.names import NewNames, Resolver
from ..errors import StackTrackerError
from .catalog import Catalog, default_catalog, fill_tools, host_of, loose_key

# Why a merchant's transactions were counted or left out: the words the import's summary uses.
BY_RULE, IN_INVENTORY, NEW_FROM_CATALOG, NEW_BY_VENDOR, NEW_BY_CATEGORY = (
    "merchant rule", "inventory", "catalog", "software vendor", "category")
IGNORED = "ignored by merchant rules"
NOT_SOFTWARE = "not software"
MARKETPLACE = "a marketplace or app store, naming no product"
NOT_ALLOWED = "software not in the inventory (--no-allow-new)"

MATCH_KINDS = ("contains", "equals", "regex")

#: Tags of payment processors written before the merchant: ``SQ *CANVA`` is Canva, paid through Square.
PROCESSORS = frozenset({
    "SQ", "SQU", "TST", "PAYPAL", "PP", "SP", "FS", "PADDLE", "PADDLE.NET", "2CO", "CKO", "DNH", "STRIPE", "WPY", "PY",
})
#: What banks write before a card payment in a bank feed: ``CHECKCARD 0304 HUBSPOT INC``.
BANK_PREFIX = re.compile(
    r"^(?:CHECKCARD|POS(?: PURCHASE| DEBIT)?|DEBIT(?: CARD)?(?: PURCHASE)?|CARD PURCHASE(?: WITH PIN)?|PURCHASE"
    r"(?: AUTHORIZED ON)?|RECURRING(?: CARD)? PAYMENT|ACH DEBIT|ONLINE PAYMENT|VISA(?: DEBIT)?|MC DEBIT)"
    r"(?:\s+\d{2}/\d{2}(?:/\d{2,4})?|\s+\d{4})?\s+"
)
#: Merchants that sell everything and so name no product: left out even when the category says software.
MARKETPLACES = re.compile(
    r"^(?:AMZN|AMAZON)(?:\.COM|\.CO\.UK|\.DE)?(?:$|\s*\*| (?:MKTP|MKTPL|MARKETPLACE|RETAIL|DIGITAL|PRIME)\b)"
    r"|^APPLE\.COM/BILL|^ITUNES|^GOOGLE \*?(?:GOOGLE )?PLAY\b|^WALMART|^TARGET\b|^COSTCO|^EBAY\b"
)
#: Legal forms: the name ends before them, whatever follows (a city, a state).
LEGAL_FORMS = frozenset({
    "INC", "INC.", "LLC", "L.L.C.", "LTD", "LTD.", "LIMITED", "GMBH", "CORP", "CORP.", "CORPORATION", "CO", "CO.",
    "COMPANY", "PLC", "SA", "SAS", "SARL", "BV", "B.V.", "AG", "PTY", "ULC", "LP", "LLP", "AB", "OY", "SL", "SRL",
})
#: Words companies add to a product's name on a statement: ``NOTION LABS`` is Notion.
COMPANY_WORDS = frozenset({
    "LABS", "LAB", "TECHNOLOGIES", "TECHNOLOGY", "SOFTWARE", "SYSTEMS", "SOLUTIONS", "HQ", "INTERNATIONAL", "INTL",
    "HOLDINGS", "GROUP", "PLATFORMS", "APP", "APPS", "ONLINE", "SUBSCRIPTION", "SUBSCR", "SUBS", "MONTHLY", "ANNUAL",
    "YEARLY", "RENEWAL", "BILLING", "PAYMENT", "US", "USA", "EU", "EMEA", "UK", "IE",
})
#: The two-letter codes of US states and Canadian provinces, which end a statement's merchant: ``… 800-833-6687 CA``.
REGIONS = frozenset(
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH OK OR "
    "PA RI SC SD TN TX UT VT VA WA WV WI WY AB BC MB NB NL NS ON PE QC SK".split()
)
#: How statements shorten the words of product names (22 characters are all a descriptor has).
ABBREVIATIONS = {"CLD": "CLOUD", "SVCS": "SERVICES", "SVC": "SERVICE", "MKTG": "MARKETING", "SFTWR": "SOFTWARE",
                 "MGMT": "MANAGEMENT", "ANLYTCS": "ANALYTICS", "COMM": "COMMUNICATIONS", "WKSP": "WORKSPACE"}
_PHONE = re.compile(r"(?<![\d\w])\+?(?:1[\s.-])?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}(?!\d)")
_DOMAIN_SUFFIX = re.compile(r"\.(?:COM|IO|CO|NET|ORG|SO|AI|APP|US|CO\.UK|DE|FR|IE)$")


def clean(text: str) -> str:
    """A merchant as statements write it, on one line, in capitals: how the noise is recognised."""
    return " ".join(text.split()).upper()


def spellings(descriptor: str) -> tuple[list[str], str | None]:
    """The names a merchant descriptor may be, least changed first, and the vendor it names before a ``*``, if any.

    >>> spellings("ADOBE *CREATIVE CLD 800-833-6687 CA")[0][:3]
    ['ADOBE *CREATIVE CLD 800-833-6687 CA', 'ADOBE CREATIVE CLD', 'ADOBE CREATIVE CLOUD']
    """
    written = " ".join(descriptor.split())
    found = [written]
    # Fixed-width statements pad the name from the city with spaces: the name is what comes first.
    text = BANK_PREFIX.sub("", clean(re.split(r"\s{2,}", descriptor.strip())[0]))
    found += [token for token in text.split() if host_of(token)]
    vendor = None
    star = re.match(r"^\*?\s*([^*]{1,30}?)\s*\*\s*(.+)$", text)
    if star:
        tag, product = star[1].strip(), _product_part(star[2])
        if tag in PROCESSORS:
            text = product
        else:
            vendor = tag
            found += [token for token in product.split() if host_of(token)]
            joined = _stripped_steps(f"{vendor} {product}")
            # "MICROSOFT 365 BUSINESS": the vendor's name and the first words of the product's.
            words = joined[-1].split()
            found += joined + [" ".join(words[:count]) for count in range(len(words) - 1, 1, -1)]
            text = product
    elif text.startswith("*"):
        text = text.lstrip("* ")
    found += _stripped_steps(text)
    return list(dict.fromkeys(spelling for spelling in found if spelling.strip())), vendor


def label(descriptor: str) -> str:
    """A merchant as the summary shows it: its name without the numbers, places and processor tags around it."""
    steps, vendor = spellings(descriptor)
    shown = steps[-1] if len(steps) > 1 else steps[0]
    if vendor and not shown.startswith(vendor):
        return " ".join([vendor, *(word for word in shown.split() if not _is_number(word))])
    return shown


def _product_part(text: str) -> str:
    """What follows a ``*``: ``GSUITE_example.com`` is GSUITE, ``ADS1234567`` is ADS."""
    first = re.split(r"[_#]", text.strip(), maxsplit=1)[0].strip() or text.strip()
    return " ".join(re.sub(r"(?<=[A-Z])\d{4,}$", "", word) for word in first.split())


def _stripped_steps(text: str) -> list[str]:
    """``text`` with the noise taken off one kind at a time, each step a spelling to try."""
    steps = []

    def step(value: str) -> str:
        value = " ".join(value.split())
        if value and (not steps or steps[-1] != value):
            steps.append(value)
        return value

    value = step(text)
    value = step(_PHONE.sub(" ", value))
    words = [word for word in value.split() if not _is_number(word)]
    while len(words) > 1 and words[-1] in REGIONS:
        words.pop()
    value = step(" ".join(words))
    # A legal form ends the name: what follows is an address.
    for position, word in enumerate(words[:-1]):
        if position and word in LEGAL_FORMS:
            words = words[: position + 1]
            value = step(" ".join(words))
            break
    while len(words) > 1 and (words[-1] in LEGAL_FORMS or words[-1].rstrip(",.") in LEGAL_FORMS):
        words.pop()
        value = step(" ".join(words))
    while len(words) > 1 and words[-1] in COMPANY_WORDS:
        words.pop()
        value = step(" ".join(words))
    if words and _DOMAIN_SUFFIX.search(words[-1]):
        words[-1] = _DOMAIN_SUFFIX.sub("", words[-1])
        value = step(" ".join(words))
    step(" ".join(ABBREVIATIONS.get(word, word) for word in value.split()))
    return steps


def _is_number(word: str) -> bool:
    """A store number, a reference or a date: ``#1234``, ``0062345678901``, ``T0123ABC``, ``03/04``."""
    digits = sum(char.isdigit() for char in word)
    return word.startswith("#") or digits >= 4 or (digits and not word.isalnum() and "." not in word) or (
        digits >= 2 and len(word) >= 6)


def rule_pattern_error(pattern: str) -> str | None:
    """What is wrong with a ``regex`` rule's pattern, in words; None if Python's regular expressions take it."""
    try:
        re.compile(pattern, re.IGNORECASE)
    except (re.error, OverflowError, RecursionError, ValueError) as error:
        return f"not a regular expression: {error}"
    return None


@dataclass(frozen=True)
class Rule:
    """One of the ops team's merchant rules, ready to test."""

    pattern: str
    match: str
    tool: str | None  # None: ignore the merchant
    key: str = ""  # the pattern as `normalise.lookup_key` compares it
    regex: re.Pattern | None = None

    def applies(self, merchant: str, merchant_key: str) -> bool:
        """Whether the rule matches a merchant (as written, runs of spaces as one; ``merchant_key``: its lookup key)."""
        if self.match == "equals":
            return merchant_key == self.key
        if self.match == "regex":
            return self.regex.search(merchant) is not None
        return self.key in merchant_key


def load_rules(db: sqlite_utils.Database) -> list[Rule]:
    """The database's merchant rules, in the order they are tried (see the module docstring)."""
    rules = []
    rows = db.execute('select pattern, "match", tool, "ignore" from merchant_rules').fetchall()
    for pattern, match, tool, ignore in rows:
        regex = None
        if match == "regex":
            if rule_pattern_error(pattern):
                raise StackTrackerError(f"the merchant rule {pattern!r} is {rule_pattern_error(pattern)}: ingest a "
                                        "corrected merchant-rules file")
            regex = re.compile(pattern, re.IGNORECASE)
        rules.append(Rule(pattern, match, None if ignore else tool, n.lookup_key(pattern), regex))
    order = {"equals": 0, "contains": 1, "regex": 2}
    return sorted(rules, key=lambda rule: (order.get(rule.match, 3), -len(rule.pattern) if rule.match == "contains" else 0,
                                           rule.pattern))


@dataclass(frozen=True)
class Match:
    """What a merchant is: a tool's slug and why (`BY_RULE` …), or None and why it is left out."""

    tool: str | None
    reason: str


class MerchantMatcher:
    """Finds the tool each merchant is (see the module docstring); remembers its answers, as exports repeat merchants."""

    def __init__(self, db: sqlite_utils.Database, *, allow_new: bool, catalog: Catalog | None = None):
        self.allow_new = allow_new
        self.catalog = catalog or default_catalog()
        self.rules = load_rules(db)
        self.resolver = Resolver(db)
        self.new_names = NewNames(self.resolver)
        self.loose: dict[str, str] = {}
        for slug, name in self.resolver.tool_names.items():
            self.loose.setdefault(loose_key(name), slug)
        for alias, slug in self.resolver.aliases.items():
            self.loose.setdefault(loose_key(alias), slug)
        self.vendors = {loose_key(product.vendor): product.vendor for product in self.catalog.products}
        self.new_tools: dict[str, str | None] = {}  # slug -> vendor, of the tools this file would create
        self.cache: dict[tuple[str, bool], Match] = {}

    def match(self, merchant: str, category_says_software: bool = False) -> Match:
        """The tool ``merchant`` is, or why it is none."""
        key = (merchant, category_says_software)
        found = self.cache.get(key)
        if found is None:
            found = self._match(merchant, category_says_software)
            if len(self.cache) > 100_000:
                self.cache.clear()
            self.cache[key] = found
        return found

    def tool_name(self, slug: str) -> str:
        return self.resolver.tool_names.get(slug, slug)

    def _match(self, merchant: str, category_says_software: bool) -> Match:
        written = " ".join(merchant.split())
        written_key = n.lookup_key(written)
        for rule in self.rules:
            if rule.applies(written, written_key):
                return Match(rule.tool, BY_RULE) if rule.tool else Match(None, IGNORED)
        names, vendor = spellings(written)
        if MARKETPLACES.search(BANK_PREFIX.sub("", clean(written))):
            return Match(None, MARKETPLACE)
        for name in names:
            slug = self.resolver.tool(name) or self.loose.get(loose_key(name))
            if slug:
                return Match(slug, IN_INVENTORY)
        for name in names:
            product = self.catalog.find(name)
            if product is None:
                continue
            for product_name in (product.name, *product.aliases):
                slug = self.resolver.tool(product_name) or self.loose.get(loose_key(product_name))
                if slug:
                    return Match(slug, IN_INVENTORY)
            return self._new(product.name, product.vendor, NEW_FROM_CATALOG)
        if vendor and loose_key(vendor) in self.vendors:
            return self._new(label(written), self.vendors[loose_key(vendor)], NEW_BY_VENDOR)
        if category_says_software:
            return self._new(label(written), None, NEW_BY_CATEGORY)
        return Match(None, NOT_SOFTWARE)

    def _new(self, name: str, vendor: str | None, reason: str) -> Match:
        """Software the inventory lacks: a new unreviewed tool, or left out with ``--no-allow-new``."""
        if not self.allow_new:
            return Match(None, NOT_ALLOWED)
        display = name.title() if name.isupper() else name
        try:
            slug = self.new_names.tool(display)
        except n.BadValue:  # a merchant of punctuation only: nothing to name a tool after
            return Match(None, NOT_SOFTWARE)
        self.new_tools.setdefault(slug, vendor)
        self.loose.setdefault(loose_key(display), slug)
        return Match(slug, reason)

    def write_new_tools(self, db: sqlite_utils.Database, ingest_id: int) -> int:
        """Create the unreviewed tools the file found, with the catalog's vendor and capabilities; how many."""
        created = len(self.new_names.tools)
        self.new_names.write(db, ingest_id)
        for slug, vendor in self.new_tools.items():
            if vendor:
                db.execute("update tools set vendor = ? where slug = ? and vendor is null", [vendor, slug])
        if self.new_tools:
            fill_tools(db, dict.fromkeys(self.new_tools), ingest_id, self.catalog)
        return created
