"""The catalog of known martech tools: its data, how it names things, and what ingest takes from it."""

from __future__ import annotations

import csv
from collections import defaultdict

import pytest

from conftest import content_hash, rows, run, write
from stack_tracker.inputs.catalog import default_catalog, host_of, loose_key
from stack_tracker.inputs.kinds import KINDS
from stack_tracker.inputs.readers import open_source
from stack_tracker.inputs.table_bounds import shape_of
from stack_tracker.resources import resource


@pytest.fixture(scope="module")
def catalog():
    return default_catalog()


def test_the_catalog_has_enough_products_and_no_clashes(catalog):
    assert len(catalog.products) >= 150
    spellings, domains = defaultdict(set), defaultdict(set)
    for product in catalog.products:
        assert product.name and product.vendor and product.capabilities, product
        for spelling in (product.name, *product.aliases):
            spellings[loose_key(spelling)].add(product.name)
        for domain in product.domains:
            domains[domain].add(product.name)
    assert {key: names for key, names in spellings.items() if len(names) > 1} == {}
    assert {domain: names for domain, names in domains.items() if len(names) > 1} == {}


def test_every_catalog_capability_is_in_the_shipped_taxonomy(catalog):
    with open(resource("data/taxonomy.csv"), newline="") as file:
        taxonomy = {row["capability"] for row in csv.DictReader(file)}
    assert {capability for product in catalog.products for capability in product.capabilities} <= taxonomy


def test_the_sample_tools_are_in_the_catalog_as_the_sample_describes_them(catalog):
    """The demo ingests tools before their capabilities: the catalog must not add any the sample does not list."""
    with open(resource("data/sample/tool-capabilities.csv"), newline="") as file:
        sample = defaultdict(set)
        for row in csv.DictReader(file):
            sample[row["tool"]].add((row["capability"], row["primary"] == "yes"))
    # Read as ingest reads it: below its title rows, without its totals row and note.
    with open_source(resource("data/sample/tools.csv"), shape=shape_of(KINDS["tools"])) as source:
        for _, row in source.records:
            product = catalog.find(row["Tool"])
            assert product is not None and product.name == row["Tool"] and product.vendor == row["Vendor"], row["Tool"]
            assert {(capability, i == 0) for i, capability in enumerate(product.capabilities)} == sample[row["Tool"]]


@pytest.mark.parametrize("spelling, name", [
    ("Salesforce.com", "Salesforce Sales Cloud"),
    ("SFDC", "Salesforce Sales Cloud"),
    ("Salesforce - Production", "Salesforce Sales Cloud"),
    ("https://acme.my.salesforce.com/lightning/page/home", "Salesforce Sales Cloud"),
    ("acme.lightning.force.com", "Salesforce Sales Cloud"),
    ("HubSpot - Marketing Hub", "HubSpot Marketing Hub"),
    ("hubspot marketing hub", "HubSpot Marketing Hub"),
    ("app.hubspot.com", "HubSpot Marketing Hub"),
    ("Zoom (SSO)", "Zoom Workplace"),
    ("Pardot", "Salesforce Marketing Cloud Account Engagement"),
    ("analytics.google.com", "Google Analytics 4"),
    ("lookerstudio.google.com", "Looker Studio"),
    ("Monday.com", "Monday.com"),
    ("MONDAY", "Monday.com"),
    ("Café Analytics", None),
    ("google.com", None),
    ("", None),
])
def test_finding_a_product_by_name_alias_label_or_domain(catalog, spelling, name):
    product = catalog.find(spelling)
    assert (product.name if product else None) == name


def test_host_of():
    assert host_of("https://www.canva.com/design?x=1") == "canva.com"
    assert host_of("app.hubspot.com") == "app.hubspot.com"
    assert host_of("HubSpot") is None


def test_ingest_tools_fills_vendor_and_capabilities_left_empty(db_path, tmp_path):
    tools = write(tmp_path / "tools.csv", "tool,vendor,website\nHubSpot Marketing Hub,,\nFigma,Figma Inc.,\nIn-house CRM,,\nMystery,,https://www.typeform.com/\n")
    result = run("ingest", db_path, "tools", tools)
    assert "created 4 aliases, 5 capabilities from the catalog" in result.output
    assert rows(db_path, "select slug, vendor from tools order by slug") == [
        {"slug": "figma", "vendor": "Figma Inc."},  # given: kept
        {"slug": "hubspot-marketing-hub", "vendor": "HubSpot"},
        {"slug": "in-house-crm", "vendor": None},  # unknown to the catalog
        {"slug": "mystery", "vendor": "Typeform"},  # found by its website's domain
    ]
    assert rows(db_path, 'select tool, capability, "primary" from tool_capabilities order by tool, capability') == [
        {"tool": "figma", "capability": "collaboration", "primary": 0},
        {"tool": "figma", "capability": "content-marketing", "primary": 1},  # design: the catalog's first
        {"tool": "hubspot-marketing-hub", "capability": "email-marketing", "primary": 0},
        {"tool": "hubspot-marketing-hub", "capability": "marketing-automation", "primary": 1},
        {"tool": "mystery", "capability": "interactive-content", "primary": 1},
    ]
    before = content_hash(db_path, exclude=("ingests",))
    assert "wrote 0 (0 new, 0 updated, 4 unchanged)" in run("ingest", db_path, "tools", tools).output
    assert content_hash(db_path, exclude=("ingests",)) == before


def test_a_file_without_a_vendor_column_fills_only_empty_vendors(db_path, tmp_path):
    run("ingest", db_path, "tools", write(tmp_path / "a.csv", "tool,vendor\nSemrush,Semrush Holdings\n"), "--silent")
    run("ingest", db_path, "tools", write(tmp_path / "b.csv", "tool,notes\nSemrush,SEO team\nAhrefs,\n"), "--silent")
    assert rows(db_path, "select slug, vendor from tools order by slug") == [
        {"slug": "ahrefs", "vendor": "Ahrefs"},
        {"slug": "semrush", "vendor": "Semrush Holdings"},
    ]


def test_capabilities_are_added_only_to_a_tool_that_has_none(db_path, tmp_path):
    run("ingest", db_path, "tools", write(tmp_path / "a.csv", "tool\nSemrush\n"), "--silent")
    run("ingest", db_path, "tool-capabilities", write(tmp_path / "tc.csv", "tool,capability\nSemrush,PR\n"), "--silent")
    run("ingest", db_path, "tools", write(tmp_path / "a.csv", "tool\nSemrush\n"), "--silent")
    # The file is the word on Semrush: the catalog's SEO and content marketing went, and stay gone.
    assert rows(db_path, "select tool, capability, source from tool_capabilities") == [
        {"tool": "semrush", "capability": "pr", "source": "stated"},
    ]
    run("ingest", db_path, "tools", write(tmp_path / "c.csv", "tool\nAhrefs\n"), "--silent")
    db_rows = rows(db_path, "select capability, source from tool_capabilities where tool = 'ahrefs'")
    assert db_rows == [{"capability": "seo", "source": "catalog"}]


def test_the_demo_gets_no_capability_its_sample_does_not_list(tmp_path):
    path = tmp_path / "sample.db"
    run("demo", "--db", path, "--no-serve", "--silent")
    # The inventory's tools have what the sample lists; the two the card exports found (Notion, Loom: unreviewed,
    # products of the catalog) have the catalog's, unconfirmed.
    with open(resource("data/sample/tool-capabilities.csv"), newline="") as file:
        assert rows(path, "select count(*) as n from tool_capabilities where tool not in ('notion', 'loom')") == [
            {"n": sum(1 for _ in csv.DictReader(file))}]
    assert rows(path, "select tool, count(*) as n, min(source) as source from tool_capabilities "
                      "where tool in ('notion', 'loom') group by tool order by tool") == [
        {"tool": "loom", "n": 2, "source": "catalog"}, {"tool": "notion", "n": 1, "source": "catalog"}]
