"""Which tool a card statement's merchant is: the noise statements add, and the ops team's merchant rules.

The database is tests/spend_org.py's: HubSpot Marketing Hub, Canva, Adobe
Creative Cloud, Zoom Workplace and Zoom Webinars in the inventory. Notion,
Google Workspace, Figma, Semrush and Webflow are products of the bundled
catalog the inventory lacks: new unreviewed tools.
"""

from __future__ import annotations

import pytest
import sqlite_utils

from conftest import content_hash, rows, run
from spend_org import SPEND, build_spend_org, import_spend
from stack_tracker.inputs import merchants as m


@pytest.fixture(autouse=True)
def secret(monkeypatch):
    monkeypatch.setenv("STACK_TRACKER_SECRET", "merchant-tests-secret-0123456789")


@pytest.fixture
def spend_db(db_path, tmp_path):
    return build_spend_org(db_path, tmp_path)


def matcher(db_path, *, allow_new=True) -> m.MerchantMatcher:
    return m.MerchantMatcher(sqlite_utils.Database(db_path), allow_new=allow_new)


@pytest.mark.parametrize("merchant, tool, reason", [
    # A processor's tag before a '*' is not the merchant.
    ("SQ *CANVA", "canva", m.IN_INVENTORY),
    ("PAYPAL *ZOOM.US", "zoom-workplace", m.IN_INVENTORY),  # zoom.us is a domain of Zoom Workplace in the catalog
    # A vendor's name before a '*' is part of the product's; a phone number, a state, an abbreviation (CLD) are noise.
    ("ADOBE *CREATIVE CLD 800-833-6687 CA", "adobe-creative-cloud", m.IN_INVENTORY),
    ("GOOGLE *GSUITE_example.com", "google-workspace", m.NEW_FROM_CATALOG),  # G Suite is another name of it
    # Legal forms and the words companies add.
    ("HUBSPOT INC", "hubspot-marketing-hub", m.IN_INVENTORY),
    ("NOTION LABS INC", "notion", m.NEW_FROM_CATALOG),
    ("FIGMA GMBH", "figma", m.NEW_FROM_CATALOG),
    ("SEMRUSH LTD", "semrush", m.NEW_FROM_CATALOG),
    ("HUBSPOT LLC", "hubspot-marketing-hub", m.IN_INVENTORY),
    # .COM and .IO.
    ("CANVA.COM", "canva", m.IN_INVENTORY),
    ("WEBFLOW.IO", "webflow", m.NEW_FROM_CATALOG),
    # A city and state after the name: fixed-width, after a legal form, or after a phone number.
    ("HUBSPOT INC         CAMBRIDGE           MA", "hubspot-marketing-hub", m.IN_INVENTORY),
    ("NOTION LABS INC SAN FRANCISCO CA", "notion", m.NEW_FROM_CATALOG),
    ("ZOOM.US 888-799-9666 CA", "zoom-workplace", m.IN_INVENTORY),
    # A reference after the name, and a bank's words before it.
    ("CANVA* 104857263", "canva", m.IN_INVENTORY),
    ("CHECKCARD 0328 HUBSPOT INC 888-4827768 MA", "hubspot-marketing-hub", m.IN_INVENTORY),
    # A software vendor's product the catalog does not list by that name.
    ("ADOBE *ACROBAT PRO", "adobe-acrobat-pro", m.NEW_BY_VENDOR),
    # Marketplaces name no product; travel and coffee are not software.
    ("AMZN Mktp US*2K4XY12Z3", None, m.MARKETPLACE),
    ("AMAZON.COM*MK1234", None, m.MARKETPLACE),
    ("DELTA AIR LINES", None, m.NOT_SOFTWARE),
    ("STARBUCKS STORE 12345", None, m.NOT_SOFTWARE),
])
def test_the_noise_statements_add_is_taken_off(spend_db, merchant, tool, reason):
    assert m.MerchantMatcher(sqlite_utils.Database(spend_db), allow_new=True).match(merchant) == m.Match(tool, reason)


def test_what_the_category_calls_software_is_software(spend_db):
    found = matcher(spend_db)
    assert found.match("ACME ANALYTICS", category_says_software=True) == m.Match("acme-analytics", m.NEW_BY_CATEGORY)
    assert found.match("ACME ANALYTICS") == m.Match("acme-analytics", m.IN_INVENTORY)  # now known, under its new name
    assert found.match("BOLT INSIGHTS") == m.Match(None, m.NOT_SOFTWARE)
    # A marketplace stays one whatever its category.
    assert found.match("AMZN Mktp US*2K4", category_says_software=True) == m.Match(None, m.MARKETPLACE)
    assert matcher(spend_db, allow_new=False).match("NOTION LABS INC") == m.Match(None, m.NOT_ALLOWED)


def test_statements_are_labelled_without_their_numbers():
    assert m.label("DELTA AIR LINES 0062345678901 ATLANTA GA") == "DELTA AIR LINES ATLANTA"
    assert m.label("AMZN Mktp US*2K4XY12Z3") == "AMZN MKTP US"
    assert m.label("ADOBE *CREATIVE CLD 800-833-6687 CA") == "ADOBE CREATIVE CLOUD"


# -- The ops team's merchant rules ---------------------------------------------

def test_merchant_rules_win_over_names_and_the_catalog(spend_db):
    result = run("ingest", spend_db, "merchant-rules", SPEND / "merchant-rules.csv")
    assert "read 3 merchant-rules rows, wrote 3 (3 new" in result.output
    assert rows(spend_db, 'select pattern, "match", tool, "ignore" from merchant_rules order by pattern') == [
        {"pattern": "SQ *CANVA", "match": "equals", "tool": None, "ignore": 1},
        {"pattern": "ZOOM.US", "match": "contains", "tool": "zoom-webinars", "ignore": 0},
        {"pattern": r"^ACME (ANALYTICS|INSIGHTS)\b", "match": "regex", "tool": "hubspot-marketing-hub", "ignore": 0},
    ]
    found = matcher(spend_db)
    # The catalog says zoom.us is Zoom Workplace; the ops team says it is the webinar licence.
    assert found.match("PAYPAL *ZOOM.US") == m.Match("zoom-webinars", m.BY_RULE)
    assert found.match("ZOOM.US 888-799-9666 CA") == m.Match("zoom-webinars", m.BY_RULE)
    # equals: the whole merchant, in any case and spacing; anything more is not it.
    assert found.match("sq  *canva") == m.Match(None, m.IGNORED)
    assert found.match("SQ *CANVA PRO") == m.Match("canva", m.IN_INVENTORY)
    # regex, in any case.
    assert found.match("Acme Insights") == m.Match("hubspot-marketing-hub", m.BY_RULE)
    assert found.match("ACME INSIGHTFUL") == m.Match(None, m.NOT_SOFTWARE)


def test_the_rules_shape_an_import(spend_db):
    run("ingest", spend_db, "merchant-rules", SPEND / "merchant-rules.csv", "--silent")
    result = import_spend(spend_db, "brex-2024-03.csv")
    # Zoom: by rule; Canva (SQ *CANVA) ignored; Acme Analytics: HubSpot's reseller, by rule.
    assert "  Zoom Webinars: 2 transactions, 20.00 USD, 1 refund (by merchant rule)" in result.output
    assert "  HubSpot Marketing Hub: 1 transaction, 45.00 USD (by merchant rule)" in result.output
    assert "  left out, ignored by merchant rules: 1 transaction, e.g. CANVA" in result.output
    assert rows(spend_db, "select count(*) as n from tools where slug = 'acme-analytics'") == [{"n": 0}]


def test_equals_beats_contains_and_the_longest_pattern_wins(spend_db, tmp_path):
    rules = tmp_path / "rules.csv"
    rules.write_text("pattern,match,tool,ignore\nZOOM,contains,Zoom Workplace,\nZOOM.US WEBINAR,contains,Zoom Webinars,\n"
                     "ZOOM.US,equals,,yes\n", encoding="utf-8")
    run("ingest", spend_db, "merchant-rules", rules, "--silent")
    found = matcher(spend_db)
    assert found.match("ZOOM.US") == m.Match(None, m.IGNORED)
    assert found.match("ZOOM.US WEBINAR 888-799-9666") == m.Match("zoom-webinars", m.BY_RULE)
    assert found.match("ZOOM.US 888-799-9666") == m.Match("zoom-workplace", m.BY_RULE)


def test_a_bad_rules_file_lists_every_problem(spend_db):
    before = content_hash(spend_db, exclude=("ingests",))
    result = run("ingest", spend_db, "merchant-rules", SPEND / "merchant-rules-bad.csv", exit_code=1)
    assert result.output.splitlines() == [
        "Error: merchant-rules-bad.csv was not loaded: 3 problems",
        'merchant-rules-bad.csv:2: pattern: "^ACME (ANALYTICS": not a regular expression: missing ), unterminated '
        "subpattern at position 6",
        "merchant-rules-bad.csv:3: tool: (empty): a tool is required (or ignore: yes, to leave the merchant out)",
        'merchant-rules-bad.csv:4: ignore: "yes": a rule names a tool or ignores the merchant, not both',
    ]
    assert content_hash(spend_db, exclude=("ingests",)) == before


def test_the_kinds_command_documents_merchant_rules():
    text = run("kinds", "merchant-rules").output
    assert text.startswith("merchant-rules: Which tool a card or expense export's merchant is (import-spend)")
    assert "  match: contains (the default), equals (the whole merchant) or regex" in text
