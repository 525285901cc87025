"""The published site in a real browser: Debian's headless Chromium, driven by Playwright.

The sample organisation plus one hostile tool name is published and served with
`stack-tracker serve` on a free localhost port. Every page is checked for what a
person sees, for requests leaving localhost, for console errors and for script
that user text could smuggle in. Screenshots land in test-artifacts/ (git-ignored)
for a person to look at.
"""

from __future__ import annotations

import shutil
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlite_utils
import yaml
from playwright.sync_api import sync_playwright

from conftest import run, write
from stack_tracker.reports.registry import run_report
from stack_tracker.resources import resource
from stack_tracker.site.publish import publish
from test_publish import serving_site

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
HOSTILE = "<script>alert(1)</script>"
HOSTILE_SLUG = "script-alert-1-script"
CHARTS = list(yaml.safe_load(resource("metadata.yml").read_text())["plugins"]["datasette-dashboards"]["adoption"]["charts"])


@dataclass
class Site:
    base: str
    db: Path

    def report(self, name: str) -> list[dict]:
        db = sqlite_utils.Database(self.db)
        try:
            return run_report(db, name)
        finally:
            db.close()


@dataclass
class Watched:
    """A page, and everything it did that it should not have."""

    page: object
    outside_requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        assert self.outside_requests == []
        assert self.console_errors == []
        assert self.dialogs == []


@pytest.fixture(scope="module")
def site(sample_db, tmp_path_factory):
    """The sample organisation with a tool named like a script, published and served."""
    directory = tmp_path_factory.mktemp("browser")
    db = directory / "stack.db"
    shutil.copy(sample_db, db)
    run("ingest", db, "tools", write(directory / "tools.csv",
        f"tool,vendor,owner team,annual cost,licenses\n{HOSTILE},Evil Corp,Social Media,1200,4\n"), "--silent")
    run("ingest", db, "tool-capabilities", write(directory / "capabilities.csv",
        f"tool,capability,primary\n{HOSTILE},Social media marketing & monitoring,yes\n"), "--silent")
    run("ingest", db, "usage", write(directory / "usage.csv",
        f"team,tool,period,seats,active users\nSocial Media,{HOSTILE},2026-11,4,2\n"), "--silent")
    published = publish(db, directory / "site").directory
    with serving_site(published, directory / "serve.log") as base:
        yield Site(base, published / "stack.db")


@pytest.fixture(scope="module")
def browser():
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: `make test` installs Debian's chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def watched(browser, site):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    watched = Watched(page)
    local = urllib.parse.urlsplit(site.base).netloc

    def route(route):
        if urllib.parse.urlsplit(route.request.url).netloc == local:
            route.continue_()
        else:
            watched.outside_requests.append(route.request.url)
            route.abort()

    context.route("**/*", route)
    page.on("console", lambda message: message.type == "error" and watched.console_errors.append(message.text))
    page.on("pageerror", lambda error: watched.console_errors.append(str(error)))

    def dialog(dialog):
        watched.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dialog)
    yield watched
    context.close()


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_home_page_shows_the_headline_numbers(site, watched):
    page = watched.page
    page.goto(f"{site.base}/")
    stack = site.report("stack")[0]
    assert page.inner_text("#stack-utilization .st-value") == f"{stack['stack_utilization']:.0%}"
    assert f"{stack['active_users']} active users on {stack['seats']} seats" in page.inner_text("#stack-utilization")
    assert page.inner_text("#tools-in-use .st-value") == str(stack["tools"])
    assert page.inner_text("#annual-spend .st-value") == f"${stack['annual_spend']:,.0f}"
    assert page.inner_text("#idle-seat-cost .st-value") == f"${stack['idle_seat_cost']:,.0f}"
    page.fill("#q", "webinars")
    page.click("form.st-search input[type=submit]")
    page.wait_for_url("**/search?q=webinars")
    assert "Events, meetings & webinars" in page.inner_text("#found-capabilities")
    page.goto(f"{site.base}/")
    screenshot(page, "home.png")
    watched.assert_clean()


def test_tool_page_renders_its_figures_and_trend(site, watched):
    page = watched.page
    page.goto(f"{site.base}/stack/tools/adobe-creative-cloud")
    assert page.inner_text("h1") == "Adobe Creative Cloud active"
    assert page.inner_text("#tool-active-users .st-value") == "22"
    assert page.inner_text("#tool-utilization .st-value") == "37%"
    assert page.inner_text("#tool-idle-cost .st-value") == "$22,800"
    assert page.locator("#teams-using tr").count() == 1 + 5
    page.wait_for_selector("#adoption-trend-chart svg.marks")
    # A point for seats and one for active users, each of the 12 months.
    assert page.locator("#adoption-trend-chart svg.marks .mark-symbol.role-mark path").count() == 2 * 12
    screenshot(page, "tool.png")
    watched.assert_clean()


def test_team_page_renders_its_figures(site, watched):
    page = watched.page
    page.goto(f"{site.base}/stack/teams/field-marketing")
    assert page.inner_text("h1") == "Field Marketing"
    assert page.inner_text("#team-tools .st-value") == "10"
    assert page.inner_text("#team-utilization .st-value") == "90%"
    assert page.inner_text("#team-needs-met .st-value") == "4 of 5"
    assert "the inventory has 6sense" in page.inner_text("#team-needs")
    watched.assert_clean()


def test_tool_page_shows_its_history(site, watched):
    page = watched.page
    page.goto(f"{site.base}/stack/tools/hubspot-marketing-hub")
    history = page.locator("section#history")
    assert history.locator("h2").inner_text() == "History"
    # The changes report's rows for the tool. The sample records history from the day it is built,
    # whatever day that is: the tool's being added is there, whatever else is.
    changes = [row for row in site.report("changes") if row["tool"] == "hubspot-marketing-hub"]
    assert history.locator("tr").count() == 1 + len(changes)
    assert history.locator("tr", has_text="Added to the inventory").count() >= 1
    watched.assert_clean()


def test_team_page_shows_what_its_tools_cost(site, watched):
    page = watched.page
    page.goto(f"{site.base}/stack/teams/field-marketing")
    section = page.locator("section#team-cost")
    assert section.locator("h2").inner_text().startswith("What its tools cost")
    top = [row for row in site.report("cost-by-team") if row["team"] == "field-marketing"][0]
    first = section.locator("tr").nth(1)
    assert first.locator("td").first.inner_text() == top["tool_name"]
    first.locator("a").click()
    page.wait_for_url(f"**/stack/tools/{top['tool']}")
    watched.assert_clean()


def drawn_chart(page, site, name: str) -> str:
    """The selector of dashboard chart ``name``, once the dashboard has drawn it."""
    page.goto(f"{site.base}/-/dashboards/adoption")
    page.wait_for_selector(f"#chart-{name} svg.marks")
    return f"#chart-{name}"


def test_the_cost_by_team_chart_draws_a_bar_per_team(site, watched):
    page = watched.page
    chart = drawn_chart(page, site, "cost-by-team")
    # One bar per team and currency the report shares cost to, the unallocated cost among them, labelled.
    shared = {(row["team"], row["currency"]) for row in site.report("cost-by-team") if row["allocated_cost"] is not None}
    assert ("unallocated", "USD") in shared and len(shared) > 10
    assert page.locator(f"{chart} svg.marks .mark-rect.role-mark path").count() == len(shared)
    assert page.locator(f"{chart} svg.marks text", has_text="Unallocated (seats no team holds)").count() == 1
    assert page.locator(f"{chart} svg.marks text", has_text="Field Marketing").count() == 1
    watched.assert_clean()


def test_the_spend_against_contract_chart_sets_each_tool_paid_by_card_beside_its_contract(site, watched):
    page = watched.page
    chart = drawn_chart(page, site, "spend-vs-contract")
    # Two bars per tool cards or expense claims paid for: the run rate, and the contract (none: a bar of 0).
    paid = {row["tool_name"] for row in site.report("card-spend")}
    assert {"Slack", "Hotjar", "Canva"} <= paid
    assert page.locator(f"{chart} svg.marks .mark-rect.role-mark path").count() == 2 * len(paid)
    for name in paid:
        assert page.locator(f"{chart} svg.marks text", has_text=name).count() == 1
    # Slack: 1,750 on a card in September, 7,000 a year at that rate, beside its 21,000 contract.
    page.locator(f'{chart} svg.marks .mark-rect path[aria-label*="Slack"][aria-label*="Contract"]').hover()
    assert "21,000" in page.locator("#vg-tooltip-element").inner_text()
    watched.assert_clean()


def test_every_dashboard_chart_draws(site, watched):
    page = watched.page
    page.goto(f"{site.base}/-/dashboards/adoption")
    for chart in CHARTS:
        page.wait_for_selector(f"#chart-{chart} svg.marks")
    assert page.locator(".dashboard-card svg.marks").count() == len(CHARTS) == 8
    screenshot(page, "dashboard.png")
    # A month picked in the filter redraws every chart for that month.
    page.select_option("#period", "2026-08")
    page.click(".dashboard-filters input[type=submit]")
    page.wait_for_url("**period=2026-08")
    for chart in CHARTS:
        page.wait_for_selector(f"#chart-{chart} svg.marks")
    watched.assert_clean()


def test_a_tool_named_like_a_script_shows_as_text(site, watched):
    page = watched.page
    page.goto(f"{site.base}/stack/tools/{HOSTILE_SLUG}")
    assert page.inner_text("h1").startswith(HOSTILE)
    page.goto(f"{site.base}/")
    # As text wherever it is named: the tools by category, and the changes of the latest snapshot.
    assert page.get_by_text(HOSTILE, exact=True).count() >= 1
    page.goto(f"{site.base}/search?q=evil")
    assert HOSTILE in page.inner_text("#found-tools")
    page.goto(f"{site.base}/-/dashboards/adoption")
    chart = "#chart-utilisation-by-tool"
    page.wait_for_selector(f"{chart} svg.marks")
    assert page.locator(f"{chart} svg.marks text", has_text=HOSTILE).count() == 1  # the axis label, as text
    # Its bar's tooltip shows the name as text too.
    page.locator(f'{chart} svg.marks .mark-rect path[aria-label*="alert(1)"]').hover()
    tooltip = page.locator("#vg-tooltip-element")
    tooltip.wait_for(state="visible")
    assert HOSTILE in tooltip.text_content()
    assert "&lt;script&gt;" in tooltip.inner_html() and tooltip.locator("script").count() == 0
    watched.assert_clean()
