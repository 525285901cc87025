"""Columns a kind doesn't know are kept as custom fields: stored with the row, merged by later files,
listed by `kinds`, searchable, facetable, shown on the tool's page and carried by its exports."""

from __future__ import annotations

import csv
import html
import io
import json
import re

import pytest
import sqlite_utils
from datasette.app import Datasette

from conftest import content_hash, rows, run, write
from stack_tracker.site.publish import publish

openpyxl = pytest.importorskip("openpyxl")

INVENTORY = (
    "Tool,Vendor,Business Owner,Technical Owner,Admin,Data classification,Criticality,Processes customer data\n"
    "HubSpot Marketing Hub,HubSpot,VP Demand Generation,Marketing ops engineer,IT service desk,Restricted,Tier 1,yes\n"
    "Figma,Figma,Head of Brand,,Design ops,Internal,Tier 2,no\n"
    "Asana,Asana,,,,Internal,Tier 2,no\n"
)


def custom(db_path, slug: str) -> dict | None:
    value = rows(db_path, "select custom_fields from tools where slug = ?", [slug])[0]["custom_fields"]
    return None if value is None else json.loads(value)


@pytest.fixture
def inventory(org_db, tmp_path):
    run("ingest", org_db, "tools", write(tmp_path / "inventory.csv", INVENTORY), "--silent")
    return org_db


def test_unknown_columns_are_kept_with_each_row_and_owners_are_columns(inventory):
    assert custom(inventory, "hubspot-marketing-hub") == {
        "Data classification": "Restricted", "Criticality": "Tier 1", "Processes customer data": "yes"}
    assert rows(inventory, "select business_owner, technical_owner, admin from tools where slug = 'figma'") == [
        {"business_owner": "Head of Brand", "technical_owner": None, "admin": "Design ops"}]
    # Business owner is a person, not the owning team any more.
    assert rows(inventory, "select owner_team from tools where slug = 'hubspot-marketing-hub'") == [{"owner_team": "demand-gen"}]


def test_reingesting_the_same_file_changes_nothing(inventory, tmp_path):
    before = content_hash(inventory, exclude=("ingests",))
    result = run("ingest", inventory, "tools", tmp_path / "inventory.csv")
    assert "wrote 0 (0 new, 0 updated, 3 unchanged)" in result.output
    assert content_hash(inventory, exclude=("ingests",)) == before


def test_a_field_a_later_file_omits_stays_and_one_it_gives_empty_is_cleared(inventory, tmp_path):
    run("ingest", inventory, "tools", write(tmp_path / "later.csv",
        "tool,criticality,data_classification,Renewal owner\n"
        "HubSpot Marketing Hub,,Confidential,Finance\n"
        "Figma,Tier 3,Internal,\n"), "--silent")
    # Criticality given empty: cleared; the other spelling of "Data classification" is the same field;
    # "Processes customer data", not in the file, stays.
    assert custom(inventory, "hubspot-marketing-hub") == {
        "Data classification": "Confidential", "Processes customer data": "yes", "Renewal owner": "Finance"}
    assert custom(inventory, "figma") == {"Data classification": "Internal", "Criticality": "Tier 3",
                                          "Processes customer data": "no"}
    # A file with none of the fields leaves them all.
    run("ingest", inventory, "tools", write(tmp_path / "plain.csv", "tool,vendor\nFigma,Figma Inc\n"), "--silent")
    assert custom(inventory, "figma")["Criticality"] == "Tier 3"


def test_every_field_emptied_leaves_no_object(inventory, tmp_path):
    run("ingest", inventory, "tools", write(tmp_path / "empty.csv",
        "tool,Data classification,Criticality,Processes customer data\nAsana,,,\n"), "--silent")
    assert custom(inventory, "asana") is None


def test_two_headers_for_one_custom_field_are_refused(org_db, tmp_path):
    result = run("ingest", org_db, "tools", write(tmp_path / "tools.csv", "tool,Tier,TIER\nFigma,1,2\n"), exit_code=1)
    assert "two columns mean the same custom field: 'Tier' and 'TIER'; keep one" in result.output


def test_kinds_without_custom_fields_still_warn(org_db, tmp_path):
    result = run("ingest", org_db, "usage", write(tmp_path / "usage.csv",
                 "team,tool,month,MAU,Cost centre\nDemand Gen,HubSpot Marketing Hub,2026-01,3,CC1\n"))
    assert "column 'Cost centre' is not a usage column and was ignored" in result.output


def test_teams_keep_theirs_too(db_path, tmp_path):
    run("ingest", db_path, "teams", write(tmp_path / "teams.csv", "team,region,cost centre\nGrowth,EMEA,CC-12\n"), "--silent")
    assert rows(db_path, "select custom_fields from teams") == [{"custom_fields": '{"region":"EMEA","cost centre":"CC-12"}'}]


async def test_a_team_page_shows_its_custom_fields(db_path, tmp_path):
    teams = "team,region,cost centre\nGrowth,EMEA,CC-12\nBrand,EMEA,CC-40\nWeb,<b>AMER</b>,\n"
    run("ingest", db_path, "teams", write(tmp_path / "teams.csv", teams), "--silent")
    datasette = Datasette([], config_dir=publish(db_path, tmp_path / "site").directory)
    growth = (await datasette.client.get("/stack/teams/growth")).text
    assert "More about this team cost centre CC-12 region EMEA (and 1 other team)" in text_of(growth) or \
        "More about this team region EMEA (and 1 other team) cost centre CC-12" in text_of(growth)
    assert "custom_field_values?table=teams&amp;field=region&amp;value=EMEA" in growth
    web = (await datasette.client.get("/stack/teams/web")).text
    assert "&lt;b&gt;AMER&lt;/b&gt;" in web and "<b>AMER</b>" not in web


def test_kinds_lists_the_custom_fields_a_database_holds(inventory):
    text = run("kinds", "tools", "--db", inventory).output
    assert "  any other column: kept as a custom field of the row" in text
    assert ("  custom fields in this database:\n    Criticality (3 rows)\n    Data classification (3 rows)\n"
            "    Processes customer data (3 rows)\n") in text
    assert "custom fields in this database" not in run("kinds", "usage", "--db", inventory).output


def test_custom_fields_from_an_xlsx(db_path, tmp_path):
    book = openpyxl.Workbook()
    book.active.append(["Tool", "Tier", "Go-live"])
    book.active.append(["Figma", 2, None])
    book.save(tmp_path / "tools.xlsx")
    run("ingest", db_path, "tools", tmp_path / "tools.xlsx", "--silent")
    assert custom(db_path, "figma") == {"Tier": "2"}


def text_of(page: str) -> str:
    page = re.sub(r"<(head|style|script)\b.*?</\1>", " ", page, flags=re.S)
    page = re.sub(r"</?(a|span|strong|b|em)\b[^>]*>", "", page)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


async def test_the_site_shows_searches_facets_and_exports_them(inventory, tmp_path):
    datasette = Datasette([], config_dir=publish(inventory, tmp_path / "site").directory)
    page = (await datasette.client.get("/stack/tools/hubspot-marketing-hub")).text
    text = text_of(page)
    assert ("More about this tool Criticality Tier 1 Data classification Restricted Processes customer data yes" in text
            or "More about this tool Data classification Restricted Criticality Tier 1 Processes customer data yes" in text)
    assert "Business owner VP Demand Generation Technical owner Marketing ops engineer Grants access IT service desk" in text
    # A value other tools share links to them; the field to its facet.
    figma = (await datasette.client.get("/stack/tools/figma")).text
    assert "custom_field_values?table=tools&amp;field=Data%20classification&amp;value=Internal" in figma
    assert "(and 1 other tool)" in text_of(figma)
    facet = (await datasette.client.get(
        "/stack/custom_field_values.json?_shape=array&table=tools&field=Data+classification&value=Internal")).json()
    assert sorted(row["name"] for row in facet) == ["Asana", "Figma"]
    facets = (await datasette.client.get("/stack/custom_field_values.json?table=tools&field=Criticality&_facet=value")).json()
    assert {item["value"]: item["count"] for item in facets["facet_results"]["value"]["results"]} == {"Tier 1": 1, "Tier 2": 2}
    # Searchable: a custom field's value and an owner find the tool.
    found = (await datasette.client.get("/stack/tools.json?_shape=array&_search=restricted")).json()
    assert [row["name"] for row in found] == ["HubSpot Marketing Hub"]
    found = (await datasette.client.get("/stack/tools.json?_shape=array&_search=design+ops")).json()
    assert [row["name"] for row in found] == ["Figma"]
    # The exports carry them: the row's JSON and the table's CSV.
    row = (await datasette.client.get("/stack/tools/figma.json?_shape=array")).json()[0]
    assert json.loads(row["custom_fields"])["Criticality"] == "Tier 2" and row["business_owner"] == "Head of Brand"
    exported = list(csv.DictReader(io.StringIO((await datasette.client.get("/stack/tools.csv?_size=max")).text)))
    figma_row = next(row for row in exported if row["name"] == "Figma")
    assert json.loads(figma_row["custom_fields"]) == {"Data classification": "Internal", "Criticality": "Tier 2",
                                                      "Processes customer data": "no"}


def test_an_older_database_gains_the_columns(tmp_path):
    """A database made before custom fields and owners opens, and upgrades, with its rows kept."""
    path = tmp_path / "old.db"
    run("init", path, "--silent")
    db = sqlite_utils.Database(path)
    for kind, name in db.execute("select type, name from sqlite_master where type in ('view', 'trigger')").fetchall():
        db.execute(f"drop {kind} [{name}]")
    for column in ("custom_fields", "business_owner", "technical_owner", "admin"):
        db.execute(f"alter table tools drop column [{column}]")
    db.execute("insert into tools (slug, name, status) values ('figma', 'Figma', 'active')")
    db.conn.commit()
    db.close()
    run("ingest", path, "tools", write(tmp_path / "tools.csv", "tool,tier,admin\nFigma,2,Design ops\n"), "--silent")
    assert rows(path, "select name, admin, custom_fields from tools") == [
        {"name": "Figma", "admin": "Design ops", "custom_fields": '{"tier":"2"}'}]
    assert rows(path, "select field, value from custom_field_values") == [{"field": "tier", "value": "2"}]
