"""The Datasette site's pages, read through datasette.client: home, tool, team, capability,
search, reports and dashboard, on the published sample organisation."""

from __future__ import annotations

import html
import re
import shutil
import urllib.parse

import pytest
import sqlite_utils
import yaml
from datasette.app import Datasette
from datasette.utils import tilde_encode

from conftest import run, write
from stack_tracker.database.derived import DERIVED_TABLES
from stack_tracker.reports.registry import REPORTS, run_report
from stack_tracker.resources import resource
from stack_tracker.site.publish import publish
from stack_tracker.site.serve import PLUGINS_DIR, SETTINGS, prepare_live_database, site_metadata


@pytest.fixture(scope="module")
def site_dir(sample_db, tmp_path_factory):
    """The sample organisation, published."""
    return publish(sample_db, tmp_path_factory.mktemp("site") / "site").directory


@pytest.fixture
def datasette(site_dir):
    """Datasette on the published directory, as `stack-tracker serve SITE` runs it."""
    return Datasette([], config_dir=site_dir)


def stack_figures(sample_db) -> dict:
    db = sqlite_utils.Database(sample_db)
    try:
        return run_report(db, "stack")[0]
    finally:
        db.close()


def text_of(page: str) -> str:
    """A page's text, tags dropped and white space folded, for asserting on what a person reads."""
    page = re.sub(r"<(head|style|script)\b.*?</\1>", " ", page, flags=re.S)
    page = re.sub(r"</?(a|span|strong|b|em)\b[^>]*>", "", page)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


async def get(datasette, path: str) -> str:
    response = await datasette.client.get(path)
    assert response.status_code == 200, (path, response.text[-2000:])
    return response.text


async def test_home_page_answers_what_is_our_stack(datasette, sample_db):
    page = await get(datasette, "/")
    text = text_of(page)
    stack = stack_figures(sample_db)
    # The headline is the stack report's row (data/sample/README.md: 612 of 765 seats, $970,850).
    assert (stack["active_users"], stack["seats"], stack["annual_spend"]) == (612, 765, 970850.0)
    assert "The stack in 2026-11" in text
    assert f"{stack['stack_utilization']:.0%} seat utilisation: 612 active users on 765 seats" in text
    # Gartner's survey figures stand beside the measure they are about: capabilities in use, not seats.
    assert (f"{stack['capability_utilization']:.0%} capability utilisation: 49 of the 56 capabilities paid for are "
            "used by a team that needs them (Gartner's surveys found 58% in 2020, 42% in 2022, 33% in 2023)") in text
    assert f"{stack['tools']} tools in use by {stack['teams']} teams; {stack['inventory_tools']} in the inventory" in text
    assert ("$970,850 a year on the inventory's tools, in USD, the base currency (other currencies at the rates in "
            "force since 2026-07-01)") in text
    assert f"${stack['idle_seat_cost']:,.0f} a year on seats nobody used in 2026-11" in text
    assert "Left out of the money figures" not in text  # every currency has a rate
    # Every report, linked, with its one-line explanation; and the dashboard.
    for report in REPORTS.values():
        name = report.name.replace("-", "_")
        assert f'href="/stack/{name}"' in page
        assert text_of(html.escape(report.description)) in text
    assert 'href="/-/dashboards/adoption"' in page
    # The search box, and the tools by category with their owners and who to ask.
    assert 'action="/search"' in page and 'name="q"' in page
    categories = re.findall(r"<h3>(.*?)</h3>", page)
    assert categories == sorted(categories) and "Content &amp; Experience" in categories
    assert "Not categorised yet" in categories  # Canva, shadow IT, has no capabilities
    assert "HubSpot Marketing Hub Marketing automation Demand Generation demand-gen@example.com" in text
    assert '<a href="/stack/tools/hubspot-marketing-hub">HubSpot Marketing Hub</a>' in page
    assert '<a href="/stack/teams/demand-generation">Demand Generation</a>' in page


async def test_tool_page_shows_what_it_does_who_to_ask_and_how_it_is_used(datasette):
    text = text_of(await get(datasette, "/stack/tools/adobe-creative-cloud"))
    # The planted unused seats (data/sample/README.md, finding 6).
    assert "22 active users in 2026-11, in 5 teams" in text
    assert "37% utilisation: active users over 60 assigned seats (stable)" in text
    assert "$36,000 a year for 60 seats; $1,636 per active user" in text
    assert "$22,800 a year on 38 idle seats" in text
    assert "Content marketing (what it is mainly for)" in text
    assert "Owner Brand & Creative Who to ask creative-ops@example.com Learn it https://" in text
    assert "Renewal 2026-12-15 (renews automatically)" in text
    assert "Brand & Creative 20 14 70% stable reported" in text
    assert "Web & Digital 10 2 20% stable reported" in text
    assert "Other tools in the inventory for the same jobs" in text and "Canva" not in text
    page = await get(datasette, "/stack/tools/hubspot-marketing-hub")
    text = text_of(page)
    # Adoption trend: a chart of the twelve months of tool_period_summary.
    assert 'id="adoption-trend-chart"' in page and page.count('"period": "20') == 12
    assert "Fed by Contentful: website form submissions (high)" in text
    assert "Feeds Salesforce Sales Cloud: leads, contacts and campaign members (high)" in text
    assert "If it stopped, 8 tools downstream would miss data." in text
    # Marketing automation is an overlap, but Marketo Engage is Field Marketing's: no saving, a question.
    assert "Marketing automation overlap HubSpot Marketing Hub (3 teams, 27 active); Marketo Engage (1 team, 10 active) $0" in text
    assert "Email marketing also does Mailchimp (1 team, 4 active) HubSpot Marketing Hub (3 teams, 27 active)" in text


async def test_team_page_shows_its_tools_needs_and_gaps(datasette):
    text = text_of(await get(datasette, "/stack/teams/field-marketing"))
    assert "Field Marketing Part of Marketing." in text
    assert "10 tools in use in 2026-11" in text
    assert "90% utilisation: 71 active users on 79 seats" in text
    assert "4 of 5 needs met by a tool the team uses" in text
    assert "$51,000 a year on the 2 tools it owns" in text
    assert "Marketo Engage 12 10 83% $7,000 stable reported" in text
    # The planted team gap (data/sample/README.md, finding 2), with the gaps report's words.
    assert "Account-based marketing Regional plays for named accounts in EMEA and North America must " \
           "Gap: Needs Account-based marketing but uses no tool that provides it; the inventory has 6sense." in text
    text = text_of(await get(datasette, "/stack/teams/brand-and-creative"))
    assert "Seats nobody uses: 15 seats on Bynder and nobody active in 2026-11." in text
    assert "Shadow IT: Uses Canva, which is not in the inventory (8 active users, source reported)." in text


async def test_team_page_shows_what_its_tools_cost(datasette, sample_db, tmp_path):
    db = sqlite_utils.Database(sample_db)
    try:
        rows = run_report(db, "cost-by-team", team="field-marketing")
    finally:
        db.close()
    # Field Marketing's share of each tool's cost, by the seats it holds, from the report's rows in their order.
    text = text_of(await get(datasette, "/stack/teams/field-marketing"))
    assert {row["currency"] for row in rows} == {"USD"} and len(rows) > 3
    total = sum(row["allocated_cost"] for row in rows)
    assert (f"What its tools cost in {rows[0]['period']} ${total:,.0f} a year: its share of the cost of the "
            f"{len(rows)} tools it holds seats of") in text
    assert " ".join(f"{row['tool_name']} ${row['allocated_cost']:,.0f} {row['share']:.0%} ${row['tool_cost']:,.0f}"
                    for row in rows[:3]) in text
    assert rows == sorted(rows, key=lambda row: -row["allocated_cost"])
    # A team that holds no seats says so.
    path = tmp_path / "sample.db"
    shutil.copy(sample_db, path)
    run("ingest", path, "teams", write(tmp_path / "teams.csv", "team,parent\nPartner Marketing,Marketing\n"), "--silent")
    text = text_of(await get(Datasette([], config_dir=publish(path, tmp_path / "site").directory),
                             "/stack/teams/partner-marketing"))
    assert "What its tools cost No tool's cost falls to this team in 2026-11: it holds no seats of a tool with a cost." in text


async def test_capability_page_and_search(datasette):
    text = text_of(await get(datasette, "/stack/capabilities/account-based-marketing"))
    assert "6sense (mainly for this)" in text
    assert "Field Marketing (must): a gap: none of its tools provides it" in text
    text = text_of(await get(datasette, "/search?q=webinar"))
    assert "Events, meetings & webinars Plan, promote and run" in text and "Cvent, ON24, Zoom Webinars" in text
    # A match in a tool's name ranks above one in its notes.
    assert "Tools tool vendor owner Zoom Webinars Zoom Product Marketing ON24 ON24 Demand Generation" in text
    # What people type is searched for as words, never as query syntax.
    text = text_of(await get(datasette, "/search?q=" + urllib.parse.quote('hubspot "')))
    assert "HubSpot Marketing Hub HubSpot Demand Generation" in text
    text = text_of(await get(datasette, "/search?q=zzzz"))
    assert "No capability matches “zzzz”." in text and "No tool matches “zzzz”." in text


async def test_every_report_and_the_dashboard_render(datasette):
    for report in REPORTS:
        text = text_of(await get(datasette, f"/stack/{report.replace('-', '_')}"))
        assert REPORTS[report].title in text
    page = await get(datasette, "/-/dashboards/adoption")
    charts = yaml.safe_load(resource("metadata.yml").read_text())["plugins"]["datasette-dashboards"]["adoption"]["charts"]
    for chart in charts:
        assert f'id="chart-{chart}"' in page


async def test_user_text_is_escaped(sample_db, tmp_path):
    path = tmp_path / "evil.db"
    shutil.copy(sample_db, path)
    run("ingest", path, "tools", write(tmp_path / "tools.csv",
        "tool,owner team,contact,docs,notes\n"
        "<script>alert(1)</script>,Content,<b>ops</b>,javascript:alert(2),<img src=x onerror=alert(3)>\n"), "--silent")
    site = publish(path, tmp_path / "site").directory
    datasette = Datasette([], config_dir=site)
    slug = "script-alert-1-script"
    for page in (await get(datasette, f"/stack/tools/{slug}"), await get(datasette, "/"),
                 await get(datasette, "/search?q=script")):
        assert "<script>alert(1)</script>" not in page
        assert "<img src=x" not in page and "<b>ops</b>" not in page
        assert 'href="javascript' not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "no training link recorded" in await get(datasette, f"/stack/tools/{slug}")


async def test_settings_keep_the_site_fast_and_safe(datasette, site_dir):
    settings = (await datasette.client.get("/-/settings.json")).json()
    assert settings["suggest_facets"] is False
    assert settings["sql_time_limit_ms"] == int(SETTINGS["sql_time_limit_ms"]) <= 2000
    [database] = (await datasette.client.get("/-/databases.json")).json()
    assert (database["name"], database["is_mutable"]) == ("stack", False)
    # Every table has a default sort order, and the big ones no facet that scans them.
    tables = yaml.safe_load((site_dir / "metadata.yml").read_text())["databases"]["stack"]["tables"]
    db = sqlite_utils.Database(site_dir / "stack.db")
    for table in db.table_names():
        if table.endswith(("_fts", "_fts_data", "_fts_idx", "_fts_docsize", "_fts_config", "_fts_content")) \
                or table.startswith("sqlite_"):
            continue
        assert "sort" in tables[table] or "sort_desc" in tables[table], table
    for table in ("usage_effective",):
        assert not tables[table].get("facets"), table
    # Foreign keys show names: a usage row names its team and tool.
    page = await get(datasette, "/stack/usage?team=field-marketing&tool=marketo-engage")
    assert ">Field Marketing</a>" in page and ">Marketo Engage</a>" in page
    # Full-text search is on for tools and capabilities.
    assert (await datasette.client.get("/stack/tools.json?_search=webinars&_shape=array")).json()


def test_metadata_describes_the_derived_tables():
    tables = yaml.safe_load(resource("metadata.yml").read_text())["databases"]["stack"]["tables"]
    for name, spec in DERIVED_TABLES.items():
        assert tables[name]["description"].strip(), name
        assert set(tables[name]["columns"]) == set(spec.columns), name


def test_every_chart_reads_a_report_or_a_derived_table(sample_db):
    charts = yaml.safe_load(resource("metadata.yml").read_text())["plugins"]["datasette-dashboards"]["adoption"]["charts"]
    canned = site_metadata(sample_db)["databases"]["sample"]["queries"]
    db = sqlite_utils.Database(sample_db)
    expanded = site_metadata(sample_db)["plugins"]["datasette-dashboards"]["adoption"]["charts"]
    for name, chart in charts.items():
        sources = set(re.findall(r"\b(?:from|join)\s+(\w+)", chart["query"]))
        reports = set(chart.get("reports", []))
        assert reports <= set(canned), name
        assert sources & (reports | set(DERIVED_TABLES)), f"{name} reads neither a report nor a derived table"
        # Besides reports and derived tables, only small lookups (and json_each, to read a derived list).
        lookups = {"tools", "teams", "capabilities", "tool_capabilities", "json_each"}
        assert sources <= reports | set(DERIVED_TABLES) | lookups, name
        # Expanded, the chart's query runs with every parameter blank, as the dashboard sends it.
        sql = expanded[name]["query"]
        names = set(re.findall(r":(\w+)", re.sub(r"--.*", "", sql)))
        assert db.execute(sql, {key: "" for key in names}).fetchall(), name
    # The stack utilisation chart draws the stack report's figure for every month.
    trend = db.execute(expanded["stack-utilisation"]["query"]).fetchall()
    for period, utilization, *_ in trend:
        assert utilization == run_report(db, "stack", period=period)[0]["stack_utilization"], period
    db.close()


def test_the_coverage_chart_shows_what_each_teams_tools_provide_and_the_gaps(sample_db):
    sql = site_metadata(sample_db)["plugins"]["datasette-dashboards"]["adoption"]["charts"]["coverage"]["query"]
    db = sqlite_utils.Database(sample_db)
    names = {table: dict(db.execute(f"select slug, name from {table}").fetchall())
             for table in ("teams", "tools", "capabilities")}
    provides = db.execute("select tool, capability from tool_capabilities").fetchall()
    for period in ("", "2026-06"):
        # Worked out from the reports: each team's tools in use (not dormant), what they provide...
        expected = {}
        for row in run_report(db, "adoption-by-team", period=period or None):
            if row["stage"] != "dormant":
                for capability in (capability for tool, capability in provides if tool == row["tool"]):
                    cell = (names["teams"][row["team"]], names["capabilities"][capability])
                    expected.setdefault(cell, []).append(names["tools"][row["tool"]])
        cells = {cell: (len(tools), "two or more tools" if len(tools) > 1 else "one tool", sorted(tools))
                 for cell, tools in expected.items()}
        # ...and the needs no tool covers.
        for gap in run_report(db, "gaps", period=period or None):
            if gap["kind"] in ("team-gap", "org-gap"):
                cells[names["teams"][gap["team"]], names["capabilities"][gap["capability"]]] = (0, "needed, no tool", [])
        chart = db.execute(sql, {name: "" for name in re.findall(r":(\w+)", sql)} | {"period": period}).fetchall()
        assert len(chart) == len(cells) > 20, period
        assert {(team, capability): (tools, coverage, sorted((tool_names or "").split(", ")) if tool_names else [])
                for team, capability, tools, coverage, tool_names in chart} == cells, period
    db.close()


async def test_a_database_file_is_served_with_the_same_pages(sample_db, tmp_path):
    path = tmp_path / "sample.db"
    shutil.copy(sample_db, path)
    settings = {name: int(value) if value.isdigit() else value == "on" for name, value in SETTINGS.items()}

    def site():
        return Datasette([str(path)], metadata=site_metadata(path), template_dir=str(resource("templates")),
                         plugins_dir=str(PLUGINS_DIR), settings=settings)

    assert "Search is not available" in text_of(await get(site(), "/search?q=webinar"))
    prepare_live_database(path)  # what `stack-tracker serve sample.db` does first
    datasette = site()
    assert "612 active users on 765 seats" in text_of(await get(datasette, "/"))
    text = text_of(await get(datasette, "/sample/tools/tableau"))
    assert "1 active users in 2026-11, in 1 team" in text and "20% utilisation" in text
    assert "Zoom Webinars" in text_of(await get(datasette, "/search?q=webinar"))
    # Search stays current as ingests change the tools.
    run("ingest", path, "tools", write(tmp_path / "tools.csv", "tool,notes\nWebinarJam,webinar platform\n"), "--silent")
    assert "WebinarJam" in text_of(await get(datasette, "/search?q=webinar"))


async def test_names_in_other_scripts_have_pages_and_are_found(sample_db, tmp_path):
    path = tmp_path / "world.db"
    shutil.copy(sample_db, path)
    run("ingest", path, "teams", write(tmp_path / "teams.csv", "team\nМаркетинг\n市场部\n"), "--silent")
    run("ingest", path, "tools", write(tmp_path / "tools.csv",
        "tool,owner team,notes\nЯндекс Метрика,Маркетинг,веб-аналитика\n百度统计,市场部,网站分析\n"), "--silent")
    datasette = Datasette([], config_dir=publish(path, tmp_path / "site").directory)
    home = await get(datasette, "/")
    # Row pages are linked tilde-encoded, as Datasette addresses any key, and answer.
    for table, slug, name in (("tools", "яндекс-метрика", "Яндекс Метрика"), ("tools", "百度统计", "百度统计"),
                              ("teams", "маркетинг", "Маркетинг")):
        address = f"/stack/{table}/{tilde_encode(slug)}"
        assert f'href="{address}"' in home
        assert name in text_of(await get(datasette, address))
    assert "Owner Маркетинг" in text_of(await get(datasette, f"/stack/tools/{tilde_encode('яндекс-метрика')}"))
    # Search finds them by a word in any case, and a name written without spaces by how it starts.
    for typed, found in (("метрика", "Яндекс Метрика Маркетинг"), ("ЯНДЕКС", "Яндекс Метрика Маркетинг"),
                         ("百度", "百度统计 市场部"), ("百度统计", "百度统计 市场部")):
        assert found in text_of(await get(datasette, "/search?q=" + urllib.parse.quote(typed))), typed


async def test_a_tool_page_shows_what_was_paid_for_it_on_cards(datasette):
    """data/sample/cards-2026-q4.csv: Canva 119.99 a month for Brand & Creative, refunded in 2026-10."""
    text = text_of(await get(datasette, "/stack/tools/canva"))
    assert "Paid on cards and expense claims" in text
    assert "2026-09 $120 Brand & Creative" in text and "2026-10 $0 Brand & Creative" in text  # in whole dollars
    # A tool nobody paid for on a card shows no such section.
    assert "Paid on cards and expense claims" not in text_of(await get(datasette, "/stack/tools/adobe-analytics"))
