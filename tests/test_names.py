"""People read names, programs read slugs: every parameter that names a team or a tool takes its
name, an alias or its slug in any case; an unknown one is an error that suggests the closest names;
JSON and CSV carry slugs and names; the table, the Markdown, the summary and the site show names."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import urllib.parse

import pytest
import sqlite_utils
import yaml
from click.testing import CliRunner
from datasette.app import Datasette

from conftest import run, write
from stack_tracker.cli import cli
from stack_tracker.database.names import UnknownName
from stack_tracker.reports.registry import NAMED_COLUMNS, NAMED_LISTS, REPORTS, run_report
from stack_tracker.resources import resource
from stack_tracker.site.publish import publish
from stack_tracker.site.serve import site_metadata

AS_OF = "2026-11-30"


@pytest.fixture
def org(db_path, tmp_path):
    """Two teams and five tools, spelled in other files by aliases; two months of usage; a chain of integrations."""
    files = {
        "teams": "team\nGrowth\nBrand Studio\n",
        "tools": "tool,vendor,owner team,annual cost,licenses,renewal date\n"
                 "Salesforce Sales Cloud,Salesforce,Growth,30000,20,2026-12-20\n"
                 "HubSpot Marketing Hub,HubSpot,Growth,12000,10,2027-01-15\n"
                 "Google Analytics 4,Google,Brand Studio,,,\n"
                 "Segment,Twilio,Growth,6000,5,2027-02-01\n"
                 "Mailchimp,Intuit,Brand Studio,2400,5,2026-12-31\n",
        "aliases": "alias,tool\nSFDC,Salesforce Sales Cloud\nGA4,Google Analytics 4\nTwilio Segment,Segment\n",
        "tool-capabilities": "tool,capability,primary\n"
                             "HubSpot Marketing Hub,Email marketing,yes\nMailchimp,Email marketing,yes\n"
                             "Salesforce Sales Cloud,CRM,yes\nGoogle Analytics 4,Web & mobile analytics,yes\n",
        "needs": "team,capability,priority\nBrand Studio,CRM,must\nGrowth,Email marketing,must\n",
        "usage": "team,tool,period,seats,active users\n"
                 + "".join(f"Growth,{tool},{period},{seats},{active}\n"
                           for period in ("2026-10", "2026-11")
                           for tool, seats, active in (("SFDC", 20, 12), ("HubSpot Marketing Hub", 6, 5), ("Segment", 5, 1)))
                 + "".join(f"Brand Studio,{tool},{period},{seats},{active}\n"
                           for period in ("2026-10", "2026-11")
                           for tool, seats, active in (("Mailchimp", 5, 2), ("GA4", 4, 4), ("HubSpot Marketing Hub", 4, 1))),
        "integrations": "source tool,target tool,data\nTwilio Segment,SFDC,events\nSFDC,HubSpot Marketing Hub,leads\n",
    }
    for kind, text in files.items():
        run("ingest", db_path, kind, write(tmp_path / f"{kind}.csv", text), "--silent")
    return db_path


def report_json(db, name, *args) -> list[dict]:
    return json.loads(run("report", db, name, "--format", "json", *args).output)


def test_a_tool_by_name_alias_or_slug_in_any_case_gives_the_same_rows(org):
    by_slug = report_json(org, "dependencies", "--param", "tool=segment")
    assert [(row["downstream_tool"], row["distance"]) for row in by_slug] == [
        ("salesforce-sales-cloud", 1), ("hubspot-marketing-hub", 2)]
    for spelling in ("Segment", "SEGMENT", "Twilio Segment", "twilio segment", "  Segment "):
        assert report_json(org, "dependencies", "--param", f"tool={spelling}") == by_slug, spelling
    downstream = [row["downstream_tool"] for row in report_json(org, "dependencies", "--param", "tool=sfdc")]
    assert downstream == ["hubspot-marketing-hub"]


def test_a_team_by_name_or_slug_in_any_case_gives_the_same_rows(org):
    for report in ("adoption-by-team", "gaps", "stack", "renewals"):
        by_slug = report_json(org, report, "--team", "brand-studio", "--as-of", AS_OF) if report == "renewals" \
            else report_json(org, report, "--team", "brand-studio")
        assert by_slug, report
        for spelling in ("Brand Studio", "brand studio", "BRAND-STUDIO"):
            args = ("--team", spelling) + (("--as-of", AS_OF) if report == "renewals" else ())
            assert report_json(org, report, *args) == by_slug, (report, spelling)


def test_an_unknown_name_is_an_error_that_suggests_the_closest_names(org):
    result = run("report", org, "dependencies", "--param", "tool=Segmnt", exit_code=1)
    assert "Error: unknown tool 'Segmnt': did you mean Segment?" in result.output
    # An alias is a spelling like any other: a typo of one points at its tool.
    result = run("report", org, "dependencies", "--param", "tool=GA 4", exit_code=1)
    assert "did you mean Google Analytics 4?" in result.output
    result = run("report", org, "gaps", "--team", "Brand Stdio", exit_code=1)
    assert "Error: unknown team 'Brand Stdio': did you mean Brand Studio?" in result.output
    # Nothing like it: a short list of every team instead.
    result = run("report", org, "gaps", "--team", "Nobody", exit_code=1)
    assert "unknown team 'Nobody': the teams are Brand Studio and Growth" in result.output
    result = run("summary", org, "--team", "Grwth", exit_code=1)
    assert "unknown team 'Grwth': did you mean Growth?" in result.output
    assert "Traceback" not in result.output
    db = sqlite_utils.Database(org)
    with pytest.raises(UnknownName, match="did you mean Salesforce Sales Cloud"):
        run_report(db, "dependencies", params={"tool": "salesforce sales clod"})
    db.close()


async def test_the_site_forms_take_names_and_refuse_unknown_ones(org):
    datasette = Datasette([str(org)], metadata=site_metadata(org))

    async def rows(report, **params):
        query = urllib.parse.urlencode({"_shape": "array", **params})
        response = await datasette.client.get(f"/stack/{report}.json?{query}")
        return response.status_code, response.json()

    status, by_slug = await rows("dependencies", tool="segment")
    assert status == 200 and len(by_slug) == 2
    for spelling in ("Segment", "twilio segment", "TWILIO SEGMENT"):
        assert await rows("dependencies", tool=spelling) == (200, by_slug), spelling
    status, gaps = await rows("gaps", team="brand-studio")
    assert status == 200 and gaps
    assert await rows("gaps", team="Brand Studio") == (200, gaps)
    # An unknown name is an error the page shows, never an empty table.
    status, error = await rows("dependencies", tool="Segmnt")
    assert status == 400 and "unknown tool: Segmnt" in error["error"]
    page = await datasette.client.get("/stack/gaps?team=Nobody")
    assert "unknown team: Nobody" in page.text


def test_options_a_report_does_not_use_are_accepted_and_noted(org):
    runner = CliRunner()
    plain = runner.invoke(cli, ["report", str(org), "dependencies", "--param", "tool=Segment", "--format", "json"])
    shared = runner.invoke(cli, ["report", str(org), "dependencies", "--param", "tool=Segment", "--format", "json",
                                 "--period", "2026-11", "--team", "Growth", "--as-of", AS_OF])
    assert shared.exit_code == 0, shared.output
    assert json.loads(shared.stdout) == json.loads(plain.stdout)
    assert shared.stderr == "note: the dependencies report does not use --period, --team and --as-of: left out\n"
    # One script, the same options, every report.
    for name in REPORTS:
        result = runner.invoke(cli, ["report", str(org), name, "--format", "json",
                                     "--period", "2026-11", "--team", "Growth", "--as-of", AS_OF])
        assert result.exit_code == 0, (name, result.output)
        used = {"period", "team", "as_of"} & set(REPORTS[name].parameters)
        assert ("note:" in result.stderr) == (used != {"period", "team", "as_of"}), name
        json.loads(result.stdout)
    # A report parameter of its own that it does not have is still a mistake.
    result = run("report", org, "stack", "--param", "as_of=2026-11-30", exit_code=1)
    assert "report 'stack' has no parameter 'as_of'" in result.output


def test_json_and_csv_carry_each_slug_with_its_name(org):
    [stack] = report_json(org, "stack", "--team", "Growth")
    assert (stack["team"], stack["team_name"]) == ("growth", "Growth")
    renewals = report_json(org, "renewals", "--as-of", AS_OF)
    first = renewals[0]
    assert {key: first[key] for key in ("tool", "tool_name", "owner_team", "owner_team_name")} == {
        "tool": "salesforce-sales-cloud", "tool_name": "Salesforce Sales Cloud",
        "owner_team": "growth", "owner_team_name": "Growth"}
    # Every slug column, in every report, is followed by its name.
    for name in REPORTS:
        args = ("--as-of", AS_OF) if "as_of" in REPORTS[name].parameters else ()
        for row in report_json(org, name, *args):
            columns = list(row)
            for position, column in enumerate(columns):
                if column in NAMED_COLUMNS or column in NAMED_LISTS:
                    assert columns[position + 1] == f"{column}_name", (name, column)
    text = run("report", org, "concentration", "--format", "csv").output
    rows = list(csv.DictReader(io.StringIO(text)))
    # Segment has one active user; so has Brand Studio's HubSpot.
    assert {(row["tool"], row["tool_name"]) for row in rows} == {
        ("segment", "Segment"), ("hubspot-marketing-hub", "HubSpot Marketing Hub")}


def test_the_table_and_markdown_show_names(org):
    table = run("report", org, "renewals", "--as-of", AS_OF).output
    assert table.splitlines()[0].split()[:3] == ["tool", "owner_team", "renewal_date"]
    assert "Salesforce Sales Cloud" in table and "salesforce-sales-cloud" not in table
    markdown = run("report", org, "adoption-by-team", "--format", "markdown").output
    assert "| Brand Studio | Google Analytics 4 |" in markdown
    assert "brand-studio" not in markdown and "google-analytics-4" not in markdown


# -- The sample organisation: no slug where a person reads -------------------


def differing_slugs(db_path) -> list[str]:
    """The sample's slugs a person would notice: hyphenated and unlike the name they stand for."""
    db = sqlite_utils.Database(db_path)
    try:
        found = [slug for table in ("teams", "tools", "capabilities")
                 for slug, name in db.execute(f"select slug, name from {table}")
                 if "-" in slug and slug != name.casefold()]
    finally:
        db.close()
    assert "salesforce-sales-cloud" in found and "field-marketing" in found
    return found


def slugs_in(text: str, slugs: list[str]) -> list[str]:
    # Not inside an address: a contact such as customer-marketing@example.com is no slug.
    return [slug for slug in slugs if re.search(rf"(?<![\w/.#@-]){re.escape(slug)}(?![\w@-])", text)]


def text_of(page: str) -> str:
    """What a person reads of a page: no tags, scripts, styles or addresses."""
    page = re.sub(r"<(head|style|script)\b.*?</\1>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def test_the_summary_shows_no_slug(sample_db):
    slugs = differing_slugs(sample_db)
    for args in ((), ("--team", "Field Marketing"), ("--team", "brand-and-creative")):
        markdown = run("summary", sample_db, "--as-of", AS_OF, *args).output
        assert slugs_in(markdown.replace("\\", ""), slugs) == [], args
        page = run("summary", sample_db, "--as-of", AS_OF, "--format", "html", *args).output
        assert slugs_in(text_of(page), slugs) == [], args
    markdown = run("summary", sample_db, "--as-of", AS_OF).output
    assert "Standardise on HubSpot Marketing Hub" in markdown or "Standardise on" not in markdown


def test_report_tables_show_no_slug(sample_db):
    slugs = differing_slugs(sample_db)
    for name in REPORTS:
        args = ("--as-of", AS_OF) if "as_of" in REPORTS[name].parameters else ()
        for fmt in ("table", "markdown"):
            output = run("report", sample_db, name, "--format", fmt, *args).output
            assert slugs_in(output, slugs) == [], (name, fmt)


async def test_the_site_shows_no_slug(sample_db, tmp_path):
    slugs = differing_slugs(sample_db)
    datasette = Datasette([], config_dir=publish(sample_db, tmp_path / "site").directory)
    pages = ["/", "/search?q=marketing", "/search?q=sales"]
    pages += [f"/stack/{name.replace('-', '_')}" for name in REPORTS]
    pages += [f"/stack/tools/{slug}" for slug in ("salesforce-sales-cloud", "hubspot-marketing-hub", "adobe-creative-cloud",
                                                  "google-analytics-4", "wordpress-vip")]
    pages += [f"/stack/teams/{slug}" for slug in ("field-marketing", "brand-and-creative", "marketing-operations")]
    pages += [f"/stack/capabilities/{slug}" for slug in ("marketing-automation", "account-based-marketing")]
    for path in pages:
        response = await datasette.client.get(path)
        assert response.status_code == 200, path
        # Except the row's raw fields, folded away under the page: the slug is one of them.
        page = re.sub(r'<details class="st-all-fields">.*?</details>', " ", response.text, flags=re.S)
        assert slugs_in(text_of(page), slugs) == [], path
    # A report's page links each slug column to the row's page, by name.
    page = (await datasette.client.get("/stack/renewals?as_of=" + AS_OF)).text
    assert '<a href="/stack/tools/adobe-creative-cloud">Adobe Creative Cloud</a>' in page
    # The dashboard's charts label tools, teams and capabilities by name.
    db = sqlite_utils.Database(sample_db)
    charts = site_metadata(sample_db)["plugins"]["datasette-dashboards"]["adoption"]["charts"]
    for chart_name, chart in charts.items():
        sql = chart["query"]
        rows = db.execute(sql, {key: "" for key in re.findall(r":(\w+)", re.sub(r"--.*", "", sql))}).fetchall()
        cells = " | ".join(str(cell) for row in rows for cell in row)
        assert slugs_in(cells, slugs) == [], chart_name
    db.close()
    assert yaml.safe_load(resource("metadata.yml").read_text())  # the catalog still reads
