"""The site's stack map in a real browser (Debian's headless Chromium, driven by Playwright):
the page draws both snapshots, a tile click opens the tool's page, the PNG download is a
slide-sized image made in the browser, and nothing reaches outside the site. A screenshot
lands in test-artifacts/stack-map.png for a person to look at."""

from __future__ import annotations

import shutil
import struct
import urllib.parse
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from conftest import run, write
from stack_tracker.site.publish import publish
from test_publish import serving_site

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def site(sample_db, tmp_path_factory):
    """The sample organisation plus a tool named like markup, published and served."""
    directory = tmp_path_factory.mktemp("map-browser")
    db = directory / "stack.db"
    shutil.copy(sample_db, db)
    run("ingest", db, "tools", write(directory / "tools.csv",
        f"tool,vendor,owner team,annual cost,licenses\n{HOSTILE},Evil Corp,Social Media,1200,4\n"), "--silent")
    published = publish(db, directory / "site").directory
    with serving_site(published, directory / "serve.log") as base:
        yield base


@pytest.fixture
def page(site):
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: `make test` installs Debian's chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
        page = context.new_page()
        local = urllib.parse.urlsplit(site).netloc
        page.outside, page.errors, page.dialogs = [], [], []

        def route(route):
            if urllib.parse.urlsplit(route.request.url).netloc in (local, ""):
                route.continue_()
            else:
                page.outside.append(route.request.url)
                route.abort()

        context.route("**/*", route)
        page.on("console", lambda message: message.type == "error" and page.errors.append(message.text))
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
        yield page
        assert (page.outside, page.errors, page.dialogs) == ([], [], [])
        context.close()
        browser.close()


def test_the_map_page_draws_both_snapshots_and_a_tile_opens_its_tool(site, page):
    page.goto(f"{site}/")
    page.click("#stack-map-link a")
    assert urllib.parse.urlsplit(page.url).path == "/stack-map"
    now = page.locator("#map-now svg.stack-map")
    assert now.count() == 1 and page.locator("#map-then svg.stack-map").count() == 1
    # One tile per tool of today's inventory (the sample's 46 and the tool named like markup), drawn with a size.
    assert page.locator("#map-now g.tool").count() == 47
    box = now.locator('g.tool[data-tool="slack"] rect.tile').bounding_box()
    assert box["width"] > 20 and box["height"] > 20
    assert "On 2025-06-30: 42 tools" in page.inner_text("#map-then h2")
    assert page.locator("#map-added li").count() == 5
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "stack-map.png"), full_page=True)
    assert (ARTIFACTS / "stack-map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # The tool named like markup is a tile whose title is its name, as text.
    titles = page.eval_on_selector_all("#map-now g.tool title", "titles => titles.map(title => title.textContent)")
    assert any(title.startswith(HOSTILE + " · ") for title in titles) and page.locator("#map-now img").count() == 0
    now.locator('g.tool[data-tool="slack"] rect.tile').click()
    page.wait_for_url("**/stack/tools/slack")
    assert "Slack" in page.inner_text("h1")


def test_the_team_selector_and_the_png_download(site, page):
    page.goto(f"{site}/stack-map")
    page.select_option("#team", label="Field Marketing")
    page.click("input[type=submit]")
    assert "team=field-marketing" in page.url
    assert page.locator("#map-now g.tool").count() == 10
    with page.expect_download() as download:
        page.click("#download-png")
    data = Path(download.value.path()).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", data[16:24]) == (1920, 1080)
    assert download.value.suggested_filename == "stack-map.png"
    svg = page.get_attribute("#download-svg", "href")
    assert svg.startswith("/stack-map.svg?") and "team=field-marketing" in svg
