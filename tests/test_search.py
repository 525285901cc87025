"""Search finds what people type: a tool by the start of any word of its name, its vendor or any
alias, a capability by the start of a word; on the home page's search and on the table pages,
through a real Datasette, live and published."""

from __future__ import annotations

import html
import re
import sys
import urllib.parse

import pytest
import sqlite_utils
from datasette.app import Datasette

from conftest import fetch, free_port, run, serving, write
from stack_tracker.database.search import SEARCH_INDEXES, enable_search
from stack_tracker.resources import resource
from stack_tracker.site.publish import publish
from stack_tracker.site.serve import PLUGINS_DIR, prepare_live_database, site_metadata

#: What a person types, and the tool it must find: by the start of a name, a vendor, an alias.
TYPED = {
    "sales": "Salesforce",
    "SALES": "Salesforce",
    "hub": "HubSpot Marketing Hub",
    "GA4": "Google Analytics 4",
    "ga4": "Google Analytics 4",
    "sfdc": "Salesforce",
    "twilio": "Segment",
    "Twil": "Segment",
    "google an": "Google Analytics 4",
}


@pytest.fixture
def org(db_path, tmp_path):
    """A few tools whose names people shorten: Salesforce is one word, so "sales" is only its start."""
    run("ingest", db_path, "teams", write(tmp_path / "teams.csv", "team\nGrowth\n"), "--silent")
    run("ingest", db_path, "tools", write(tmp_path / "tools.csv",
        "tool,vendor,owner team,notes\n"
        "Salesforce,Salesforce,Growth,CRM of record; ask ops-lead@example.com\n"
        "HubSpot Marketing Hub,HubSpot,Growth,Syncs leads to Salesforce\n"
        "Google Analytics 4,Google,Growth,\n"
        "Segment,Twilio,Growth,Customer data platform\n"
        "Mailchimp,Intuit,Growth,Newsletters\n"), "--silent")
    run("ingest", db_path, "aliases", write(tmp_path / "aliases.csv", "alias,tool\nGA4,Google Analytics 4\nSFDC,Salesforce\n"),
        "--silent")
    return db_path


def text_of(page: str) -> str:
    page = re.sub(r"<(head|style|script)\b.*?</\1>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def found_tools(page: str) -> list[str]:
    """The tools the search page lists, in order."""
    section = page.split('id="found-tools"', 1)[1]
    return re.findall(r'<a href="[^"]*/tools/[^"]*">([^<]*)</a>', section)


async def search(datasette, q: str) -> str:
    response = await datasette.client.get("/search?q=" + urllib.parse.quote(q))
    assert response.status_code == 200
    return response.text


async def table_search(datasette, database: str, table: str, q: str) -> list[str]:
    response = await datasette.client.get(f"/{database}/{table}.json?_shape=array&_search=" + urllib.parse.quote(q))
    assert response.status_code == 200, response.text
    return [row["name"] for row in response.json()]


async def test_a_published_site_finds_tools_by_prefix_alias_and_vendor(org, tmp_path):
    datasette = Datasette([], config_dir=publish(org, tmp_path / "site").directory)
    for typed, tool in TYPED.items():
        assert found_tools(await search(datasette, typed))[:1] == [html.escape(tool)], typed
        assert tool in await table_search(datasette, "stack", "tools", typed), typed
    # Capabilities, by the start of a word of their name or category.
    assert "Events, meetings &amp; webinars" in await search(datasette, "webin")
    assert "Events, meetings & webinars" in await table_search(datasette, "stack", "capabilities", "webin")
    assert "Web & mobile analytics" in await table_search(datasette, "stack", "capabilities", "analyt")
    # A match in a name outranks one in the notes.
    assert found_tools(await search(datasette, "salesforce")) == ["Salesforce", "HubSpot Marketing Hub"]
    # The table page keeps its own order (by name).
    assert await table_search(datasette, "stack", "tools", "sales") == ["HubSpot Marketing Hub", "Salesforce"]
    # Words, never query syntax; nothing typed, nothing searched.
    assert found_tools(await search(datasette, 'sales" OR')) == []
    assert found_tools(await search(datasette, "sales NOT")) == []
    assert "No tool matches “zzzz”." in text_of(await search(datasette, "zzzz"))
    assert 'id="found-tools"' not in await search(datasette, "  ")


def test_the_published_index_holds_only_what_was_published(org, tmp_path):
    site = publish(org, tmp_path / "site").directory
    db = sqlite_utils.Database(site / "stack.db")
    indexed = " ".join(str(value) for row in db.execute("select * from tools_fts") for value in row)
    assert "GA4" in indexed and "Twilio" in indexed
    # Scrubbed before it was indexed: the index keeps no copy of an address publish removed.
    assert "ops-lead@example.com" not in indexed
    # Indexed once, for an immutable file: no triggers.
    assert db.execute("select count(*) from sqlite_master where type = 'trigger' and sql like '%_fts%'").fetchone()[0] == 0
    db.close()


async def test_a_live_database_stays_searchable_as_ingests_change_it(org, tmp_path):
    prepare_live_database(org)
    datasette = Datasette([str(org)], metadata=site_metadata(org), template_dir=str(resource("templates")),
                          plugins_dir=str(PLUGINS_DIR))
    assert found_tools(await search(datasette, "sfdc")) == ["Salesforce"]
    # A new spelling, a new tool, a tool's new vendor: each found at once.
    run("ingest", org, "aliases", write(tmp_path / "more-aliases.csv", "alias,tool\nMC,Mailchimp\n"), "--silent")
    run("ingest", org, "tools", write(tmp_path / "more-tools.csv", "tool,vendor\nPardot,Salesforce\nMailchimp,Intuit Mailchimp\n"),
        "--silent")
    assert found_tools(await search(datasette, "mc")) == ["Mailchimp"]
    assert found_tools(await search(datasette, "pard")) == ["Pardot"]
    assert found_tools(await search(datasette, "salesf")) == ["Salesforce", "Pardot", "HubSpot Marketing Hub"]
    assert await table_search(datasette, "stack", "tools", "intuit") == ["Mailchimp"]


def test_an_index_of_an_older_version_is_rebuilt_with_aliases(org):
    db = sqlite_utils.Database(org)
    # What earlier versions made: sqlite-utils' index over the tools table alone, with its triggers.
    db["tools"].enable_fts(("name", "vendor", "notes"), create_triggers=True, tokenize="porter")
    db.close()
    prepare_live_database(org)
    db = sqlite_utils.Database(org)
    [columns] = db.execute("select sql from sqlite_master where name = 'tools_fts'").fetchone()
    assert "[aliases]" in columns
    assert db.execute("select name from tools_fts where tools_fts match 'ga4*'").fetchall() == [("Google Analytics 4",)]
    # Its old triggers are gone with it: writing a tool still works.
    assert not db.execute("select 1 from sqlite_master where type = 'trigger' and name like 'tools_a_'").fetchall()
    db.close()
    run("ingest", org, "tools", write(org.parent / "new.csv", "tool\nCanva\n"), "--silent")
    # Idempotent: a second start changes nothing.
    db = sqlite_utils.Database(org)
    before = db.execute("pragma schema_version").fetchone()[0]
    enable_search(db, triggers=True)
    assert db.execute("pragma schema_version").fetchone()[0] == before
    assert {index.name for index in SEARCH_INDEXES} <= set(db.table_names())
    db.close()


def test_the_served_site_finds_what_people_type(org):
    port = free_port()
    with serving([sys.executable, "-m", "stack_tracker", "serve", str(org), "--port", str(port)], port) as base:
        for typed, tool in (("sales", "Salesforce"), ("hub", "HubSpot Marketing Hub"), ("GA4", "Google Analytics 4"),
                            ("twilio", "Segment")):
            assert found_tools(fetch(f"{base}/search?q={urllib.parse.quote(typed)}"))[:1] == [tool], typed
            assert f'"name": "{tool}"' in fetch(f"{base}/stack/tools.json?_shape=array&_search={urllib.parse.quote(typed)}")
