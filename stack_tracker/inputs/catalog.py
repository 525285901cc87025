"""A catalog of widely used martech products, for naming what the inputs only hint at.

``data/catalog.csv`` lists products with their vendor, web domains, the other
names they go by and the capabilities they provide. Two uses:

- ``ingest tools`` fills a tool's vendor, and its capabilities, when the input
  leaves them empty (`fill_tools`);
- sign-in logs and vendor user exports name applications the way an identity
  provider or an admin console does ("Salesforce.com", "HubSpot - Marketing
  Hub", "app.hubspot.com"). `ApplicationResolver` maps such a spelling to a
  tool of the database, through the catalog's names and domains, before it
  records an unknown application as an ``unreviewed`` tool: shadow IT.
"""

from __future__ import annotations

import csv
import functools
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from .. import normalise as n
from ..database.names import Resolver, create_unreviewed_tool, record_alias
from ..errors import StackTrackerError
from ..resources import resource

LIST_SEPARATOR = ";"


@dataclass(frozen=True)
class Product:
    """One catalog entry."""

    name: str
    vendor: str
    domains: tuple[str, ...]
    aliases: tuple[str, ...]
    capabilities: tuple[str, ...]  # the first is the product's primary capability


def loose_key(text: str) -> str:
    """How catalog names are compared: letters and digits only, any case or accent.

    >>> loose_key("HubSpot - Marketing Hub") == loose_key("hubspot marketing hub")
    True
    """
    # Accents go, but letters of every script stay: a name in Cyrillic or Chinese
    # must not come down to the empty key, which every other such name shares.
    text = "".join(char for char in unicodedata.normalize("NFKD", text) if not unicodedata.combining(char))
    return "".join(char for char in unicodedata.normalize("NFKC", text).casefold() if char.isalnum() and char != "_")


_HOST = re.compile(r"^(?:[a-z][a-z0-9+.-]*://)?(?:[^@/\s]+@)?(?P<host>(?:[a-z0-9-]+\.)+[a-z]{2,})(?::\d+)?(?:[/?#].*)?$", re.I)


def host_of(text: str) -> str | None:
    """The host name in a URL or bare domain ("https://app.hubspot.com/x" -> "app.hubspot.com"), else None."""
    match = _HOST.match(text.strip())
    if not match:
        return None
    host = match["host"].lower()
    return host[4:] if host.startswith("www.") else host


class Catalog:
    """The products, indexed by every name, alias and domain."""

    def __init__(self, products: list[Product]):
        self.products = products
        self.by_name: dict[str, Product] = {}
        self.by_domain: dict[str, Product] = {}
        for product in products:
            for spelling in (product.name, *product.aliases):
                self.by_name.setdefault(loose_key(spelling), product)
            for domain in product.domains:
                self.by_domain.setdefault(domain, product)

    @classmethod
    def from_csv(cls, path: Path) -> "Catalog":
        """Read a catalog file: name, vendor, domain, aliases, capabilities (lists separated by ';')."""
        products = []
        with open(path, newline="", encoding="utf-8") as file:
            for row in csv.DictReader(file):
                products.append(
                    Product(
                        name=row["name"].strip(),
                        vendor=row["vendor"].strip(),
                        domains=_split(row["domain"].lower()),
                        aliases=_split(row["aliases"]),
                        capabilities=_split(row["capabilities"]),
                    )
                )
        return cls(products)

    def find(self, spelling: str | None) -> Product | None:
        """The product a spelling names: by name or alias (ignoring case and punctuation), or by domain.

        A label an identity provider made up around a product's name is tried
        part by part: "Salesforce - Production" finds Salesforce, "Zoom (SSO)" Zoom.
        """
        if not spelling or not spelling.strip():
            return None
        host = host_of(spelling)
        if host:
            labels = host.split(".")
            for start in range(len(labels) - 1):
                product = self.by_domain.get(".".join(labels[start:]))
                if product:
                    return product
        product = self.by_name.get(loose_key(spelling))
        if product:
            return product
        for part in re.split(r"\s+[-–—|:]\s+|[()\[\]]", spelling):
            product = self.by_name.get(loose_key(part)) if part.strip() else None
            if product:
                return product
        return None


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (text or "").split(LIST_SEPARATOR) if part.strip())


@functools.lru_cache(maxsize=1)
def default_catalog() -> Catalog:
    """The catalog that ships with stack-tracker (``data/catalog.csv``)."""
    return Catalog.from_csv(resource("data/catalog.csv"))


def fill_tools(db: sqlite_utils.Database, tools: dict[str, str | None], ingest_id: int, catalog: Catalog | None = None) -> int:
    """Fill what the catalog knows about ``tools`` (slug -> its url, if any) and the input left empty.

    The vendor is set where it is empty; the capabilities are added to a tool
    that has none yet, the first one primary, with source ``catalog``: a tool
    a tool-capabilities file has spoken for keeps only what the file stated,
    however often its tools file is ingested again. Capabilities the database's
    taxonomy does not have are skipped. Returns the number of tool
    capabilities added. Runs inside the caller's transaction.
    """
    catalog = catalog or default_catalog()
    resolver = None
    added = 0
    for slug, url in tools.items():
        name = db.execute("select name from tools where slug = ?", [slug]).fetchone()
        product = (catalog.find(name[0]) if name else None) or (catalog.find(url) if url else None)
        if product is None:
            continue
        db.execute("update tools set vendor = ? where slug = ? and vendor is null", [product.vendor, slug])
        if db.execute("select 1 from tool_capabilities where tool = ? limit 1", [slug]).fetchone():
            continue
        resolver = resolver or Resolver(db)
        added += _add_capabilities(db, resolver, slug, product, ingest_id)
    return added


def _add_capabilities(db, resolver: Resolver, slug: str, product: Product, ingest_id: int) -> int:
    added = 0
    for position, capability in enumerate(product.capabilities):
        capability_slug = resolver.capability(capability)
        if capability_slug is None:
            continue
        # Marked as a guess: pages and check say it is unconfirmed, and a tool-capabilities file replaces it.
        cursor = db.execute(
            'insert or ignore into tool_capabilities (tool, capability, "primary", source, ingest_id) '
            "values (?, ?, ?, 'catalog', ?)",
            [slug, capability_slug, int(position == 0), ingest_id],
        )
        added += cursor.rowcount
    return added


class ApplicationResolver:
    """Maps the application names of sign-in logs and user exports to tools, creating unknown ones.

    In order: the database's own names and aliases (as ``ingest`` resolves
    them), the same ignoring punctuation, then the catalog's names and domains
    matched to a database tool; failing all of these, with ``allow_new``, a new
    tool with status ``unreviewed`` under the catalog's name for the product
    (or the spelling seen), with the catalog's vendor and capabilities. Every
    spelling seen is recorded in ``tool_aliases``. Answers are cached: logs
    repeat a few hundred names millions of times.
    """

    def __init__(self, db: sqlite_utils.Database, ingest_id: int, *, allow_new: bool, catalog: Catalog | None = None):
        self.db, self.ingest_id, self.allow_new = db, ingest_id, allow_new
        self.catalog = catalog or default_catalog()
        self.resolver = Resolver(db)
        self.loose: dict[str, str] = {}
        for slug, name in self.resolver.tool_names.items():
            self.loose.setdefault(loose_key(name), slug)
        for alias, slug in self.resolver.aliases.items():
            self.loose.setdefault(loose_key(alias), slug)
        self.cache: dict[str, str | None] = {}
        self.created_tools = 0
        self.created_aliases = 0

    def tool(self, spelling: str) -> str | None:
        """The slug of the tool ``spelling`` names; None if unknown and new tools are not allowed."""
        try:
            return self.cache[spelling]
        except KeyError:
            pass
        slug = self._find(spelling)
        if slug is None and self.allow_new:
            slug = self._create(spelling)
        if slug is not None and record_alias(self.db, self.resolver, spelling, slug, self.ingest_id):
            self.created_aliases += 1
        if len(self.cache) > 100_000:
            self.cache.clear()
        self.cache[spelling] = slug
        return slug

    def _find(self, spelling: str) -> str | None:
        slug = self.resolver.tool(spelling) or self.loose.get(loose_key(spelling))
        if slug:
            return slug
        product = self.catalog.find(spelling)
        if product is None:
            return None
        for name in (product.name, *product.aliases):
            slug = self.resolver.tool(name) or self.loose.get(loose_key(name))
            if slug:
                return slug
        return None

    def _create(self, spelling: str) -> str:
        product = self.catalog.find(spelling)
        name = product.name if product else " ".join(spelling.split())
        if not n.slugify(name):
            raise StackTrackerError(f"the application name {spelling!r} has no letter or digit to make a tool of")
        known = len(self.resolver.tool_names)
        slug = create_unreviewed_tool(self.db, self.resolver, name, self.ingest_id, vendor=product.vendor if product else None)
        self.loose.setdefault(loose_key(name), slug)
        # Another spelling of a tool already known by this slug creates nothing: count what was written.
        self.created_tools += len(self.resolver.tool_names) - known
        if product:
            _add_capabilities(self.db, self.resolver, slug, product, self.ingest_id)
        return slug
