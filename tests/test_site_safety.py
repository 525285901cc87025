"""The published site is safe to share: read-only, bounded, inert to hostile text,
spreadsheet-safe in its CSV, and private behind a password when asked.

The hostile organisation (tests/hostile_org.py) is published and served by a real
Datasette process, visited in Debian's headless Chromium, exported as CSV, and
summarised; a second copy is published with a password.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import re
import shlex
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from importlib import metadata as package_metadata
from pathlib import Path

import httpx
import markdown
import pytest
import yaml
from datasette_auth_passwords.utils import hash_password
from playwright.sync_api import sync_playwright

from conftest import run
from hostile_org import (
    AT_TOOL, BUSINESS_UNIT, CAPABILITY, CATEGORY, CHART_TOOL, CONTACT, DESCRIPTION, FORMULA_TOOL, GAP_CAPABILITY,
    INTEGRATION_DATA, LEAD, NEED_NOTE, NOTES, DOCS_URL, OTHER_TEAM, SAFE_URL, SHOWN, TEAM, TOOL, URL, VENDOR, ALIAS,
    build_hostile_org,
)
from stack_tracker.resources import resource
from stack_tracker.site.publish import SITE_ACCOUNT, deploy_command, publish
from test_browser import CHROMIUM, CHROMIUM_FLAGS
from test_publish import serving_site

PASSWORD = "correct horse battery staple"
RUNAWAY_SQL = ("with recursive counter(n) as (select 1 union all select n + 1 from counter where n < 1000000000000) "
               "select count(*) from counter")
CHARTS = list(yaml.safe_load(resource("metadata.yml").read_text())["plugins"]["datasette-dashboards"]["adoption"]["charts"])
# What a reader's page must never contain: an element, attribute or address that user text smuggled in.
INJECTED = """() => {
  const found = [];
  for (const element of document.querySelectorAll('*')) {
    for (const attribute of element.attributes) {
      const name = attribute.name.toLowerCase(), value = attribute.value;
      if (name.startsWith('on') && /alert|__pwned/.test(value)) found.push(`${element.tagName} ${name}=${value}`);
      if (['href', 'src', 'action', 'formaction', 'xlink:href'].includes(name) && /^\\s*javascript:/i.test(value))
        found.push(`${element.tagName} ${name}=${value}`);
    }
  }
  for (const element of document.querySelectorAll('img[src="x"], iframe, b[onmouseover]')) found.push(element.outerHTML.slice(0, 80));
  for (const script of document.scripts) if (/alert\\(|__pwned/.test(script.textContent)) found.push('script: ' + script.textContent.slice(0, 80));
  if (typeof window.__pwned !== 'undefined') found.push('window.__pwned = ' + window.__pwned);
  return found;
}"""


@dataclass
class HostileSite:
    base: str
    db: Path
    directory: Path


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory) -> Path:
    return build_hostile_org(tmp_path_factory.mktemp("hostile"))


@pytest.fixture(scope="module")
def hostile_site(hostile_db):
    """The hostile organisation, published and served by `stack-tracker serve SITE`."""
    directory = publish(hostile_db, hostile_db.parent / "site", publish_names=True).directory  # leads too: every field must show as text
    with serving_site(directory, hostile_db.parent / "serve.log") as base:
        yield HostileSite(base, hostile_db, directory)


def get(site: HostileSite, path: str, **params) -> httpx.Response:
    return httpx.get(site.base + path, params=params, timeout=30)


# Read-only and bounded.

def test_a_runaway_query_is_stopped_and_the_site_keeps_answering(hostile_site):
    response = get(hostile_site, "/stack.json", sql=RUNAWAY_SQL)
    assert response.status_code == 400
    answer = response.json()
    assert answer["ok"] is False and answer["title"] == "SQL Interrupted"
    assert "SQL query took too long" in answer["error"] and "sql_time_limit_ms" in answer["error"]
    # The worker is free again at once.
    assert get(hostile_site, "/stack.json", sql="select count(*) as n from tools", _shape="array").json() == [{"n": 4}]
    assert TOOL in get(hostile_site, "/stack/tools/script-alert-1-script.json", _shape="array").json()[0]["name"]


def test_sql_cannot_write_and_the_database_is_immutable(hostile_site):
    for sql in ("delete from tools", "update tools set name = 'x'", "drop table tools", "pragma writable_schema = 1",
                "attach database 'other.db' as other"):
        response = get(hostile_site, "/stack.json", sql=sql)
        assert response.status_code == 400, sql
        assert response.json()["title"] == "Invalid SQL", sql
    [database] = get(hostile_site, "/-/databases.json").json()
    assert (database["name"], database["is_mutable"]) == ("stack", False)
    # POSTs to the database are not a way in either.
    assert httpx.post(hostile_site.base + "/stack", data={"sql": "delete from tools"}).status_code in (403, 405)
    assert get(hostile_site, "/stack.json", sql="select count(*) as n from tools", _shape="array").json() == [{"n": 4}]


def test_one_query_returns_at_most_max_returned_rows(hostile_site):
    settings = get(hostile_site, "/-/settings.json").json()
    assert settings["max_returned_rows"] == 1000 and settings["sql_time_limit_ms"] <= 2000
    answer = get(hostile_site, "/stack.json",
                 sql="with recursive n(x) as (select 1 union all select x + 1 from n where x < 5000) select x from n").json()
    assert len(answer["rows"]) == 1000 and answer["truncated"] is True


# CSV exports a spreadsheet opens as text.

def csv_rows(response: httpx.Response) -> list[list[str]]:
    assert response.status_code == 200, response.text[:500]
    return list(csv.reader(io.StringIO(response.text, newline="")))


@pytest.mark.parametrize("path", ["/stack/tools.csv", "/stack/adoption.csv", "/stack.csv"])
@pytest.mark.parametrize("options", [{}, {"_stream": "on"}, {"_dl": "1"}, {"_stream": "on", "_dl": "1"}])
def test_csv_exports_neutralise_formula_cells(hostile_site, path, options):
    if path == "/stack.csv":
        options = {**options, "sql": "select name, -2 as negative, '-3' as negative_text from tools order by name"}
    response = get(hostile_site, path, _size="max", **options)
    assert response.headers["content-type"].startswith("text/csv" if "_dl" in options else "text/plain")
    rows = csv_rows(response)
    header, cells = rows[0], [cell for row in rows[1:] for cell in row]
    assert ("tool_name" if path == "/stack/adoption.csv" else "name") in header
    assert "'" + FORMULA_TOOL in cells and "'" + AT_TOOL in cells
    assert not [cell for cell in cells if cell.startswith(("=", "+", "@", "\t", "\r"))]
    # The other text comes through unchanged, and so do plain (negative) numbers.
    assert TOOL in cells and CHART_TOOL in cells
    if path == "/stack.csv":
        assert {row[1] for row in rows[1:]} == {"-2"} and {row[2] for row in rows[1:]} == {"-3"}
    if path == "/stack/adoption.csv":
        assert any(re.fullmatch(r"-0\.\d+", cell) for cell in cells)  # the change column: declining tools


def test_report_command_and_site_share_one_cell_rule(hostile_db):
    from stack_tracker.output import spreadsheet_safe as used_by_the_cli
    from stack_tracker.site.plugins.safe_csv import spreadsheet_safe

    assert used_by_the_cli is spreadsheet_safe
    assert [spreadsheet_safe(value) for value in ("=1+1", "+1+1", "-x", "@SUM(1)", "\tx", "-12", "-0.5", -3, "plain")] == [
        "'=1+1", "'+1+1", "'-x", "'@SUM(1)", "'\tx", "-12", "-0.5", -3, "plain"]
    output = run("report", hostile_db, "adoption", "--format", "csv").output
    names = {row["tool_name"] for row in csv.DictReader(io.StringIO(output))}
    assert {"'" + FORMULA_TOOL, "'" + AT_TOOL, TOOL} <= names


# Hostile text in a reader's browser.

@dataclass
class Reader:
    """One browser page, and everything it did that it should not have."""

    page: object
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def visit(self, url: str, *, ready: str | None = None) -> list[str]:
        """Load ``url`` (waiting for ``ready`` to show, if given); what was injected into it."""
        self.page.goto(url)
        if ready:
            self.page.wait_for_selector(ready)
        return self.page.evaluate(INJECTED)

    def text(self) -> str:
        return self.page.inner_text("body")


@pytest.fixture(scope="module")
def reader():
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: `make test` installs Debian's chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        reader = Reader(page)

        def dialog(dialog):
            reader.dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", dialog)
        page.on("pageerror", lambda error: reader.errors.append(str(error)))
        yield reader
        browser.close()


def site_pages(site: HostileSite) -> dict[str, str | None]:
    """Every page a reader can reach, with the element that shows it has finished drawing."""
    def rows(path):
        return get(site, path, _shape="array", _size="max").json()

    pages = {"/": None, "/search?q=alert": None, "/stack": None, "/-/dashboards/adoption": ".dashboard-card svg.marks"}
    pages.update({f"/-/dashboards/adoption/{chart}": "svg.marks" for chart in CHARTS})
    pages.update({f"/stack/{table['name']}": None for table in get(site, "/stack.json").json()["tables"] if not table["hidden"]})
    pages.update({f"/stack/{query}": None for query in get(site, "/-/metadata.json").json()["databases"]["stack"]["queries"]})
    for table in ("tools", "teams", "capabilities"):
        pages.update({f"/stack/{table}/{row['slug']}": None for row in rows(f"/stack/{table}.json")})
    return pages


def test_hostile_text_shows_as_text_on_every_page(hostile_site, reader):
    pages = site_pages(hostile_site)
    assert len(pages) > 40
    # What a link can carry in its address is reflected in a page as text, too.
    pages["/search?" + urllib.parse.urlencode({"q": "<script>alert(15)</script>"})] = None
    pages["/-/dashboards/adoption?" + urllib.parse.urlencode({"period": "');alert(16);//<script>alert(17)</script>"})] = None
    injected, texts = {}, []
    for path, ready in pages.items():
        found = reader.visit(hostile_site.base + path, ready=ready)
        if found:
            injected[path] = found
        texts.append(reader.text())
    assert injected == {}
    # Every payload a reader can see shows as the text that was typed.
    assert [payload for payload in SHOWN if not any(payload in text for text in texts)] == []
    assert reader.dialogs == [] and reader.errors == []
    # Every chart drew its hostile labels as text.
    reader.visit(hostile_site.base + "/-/dashboards/adoption", ready="#chart-overlaps svg.marks")
    for chart in CHARTS:
        reader.page.wait_for_selector(f"#chart-{chart} svg.marks")
    labels = {chart: set(reader.page.locator(f"#chart-{chart} svg.marks text").all_text_contents()) for chart in CHARTS}
    assert {TOOL, FORMULA_TOOL, AT_TOOL} <= labels["utilisation-by-tool"]
    assert CAPABILITY in labels["overlaps"]
    assert {TEAM, OTHER_TEAM, CAPABILITY, GAP_CAPABILITY} <= labels["coverage"]


@pytest.mark.parametrize("path, shown", [
    ("/stack/tools/script-alert-1-script", [TOOL, VENDOR, CONTACT, NOTES, TEAM, CAPABILITY, INTEGRATION_DATA, CHART_TOOL]),
    ("/stack/tools?_size=max", [TOOL, VENDOR, CONTACT, URL, DOCS_URL.strip(), NOTES, FORMULA_TOOL, AT_TOOL]),
    ("/stack/teams/svg-onload-alert-5-growth", [TEAM, BUSINESS_UNIT, LEAD, NEED_NOTE, CAPABILITY, GAP_CAPABILITY, TOOL]),
    ("/stack/teams/ops-7-7-b-onmouseover-alert-6", [OTHER_TEAM, TEAM, CHART_TOOL]),
    ("/stack/capabilities/img-src-x-onerror-alert-8", [CAPABILITY, CATEGORY, DESCRIPTION, TOOL, CHART_TOOL, TEAM, CONTACT]),
    ("/stack/tool_aliases", [ALIAS]),
    ("/stack/integrations", [INTEGRATION_DATA]),
    ("/", [TOOL, CHART_TOOL, CATEGORY, CONTACT]),
    ("/search?q=alert", [TOOL, CAPABILITY, DESCRIPTION, VENDOR]),
])
def test_each_field_shows_as_typed(hostile_site, reader, path, shown):
    assert reader.visit(hostile_site.base + path) == []
    text = reader.text()
    assert [payload for payload in shown if payload not in text] == []
    assert "Ops 49" not in text  # a template expression in a name is never evaluated
    assert reader.dialogs == []


def test_addresses_link_only_when_they_are_web_addresses(hostile_site, reader):
    reader.visit(hostile_site.base + "/stack/tools/script-alert-1-script")
    # The javascript: addresses are no link: the page says there is none to follow.
    assert "no training link recorded" in reader.text()
    assert reader.page.locator("a", has_text="javascript").count() == 0
    reader.visit(hostile_site.base + "/stack/tools/script-script-window-pwned-1-script")
    # Where to sign in, and where to learn it: web addresses are links.
    assert reader.page.locator(f'p.st-meta a[href="{SAFE_URL}"], #who-to-ask a[href="{SAFE_URL}"]').count() == 2
    reader.visit(hostile_site.base + "/stack/tools?_size=max")
    assert reader.page.locator('a[href^="javascript" i]').count() == 0
    assert reader.page.locator(f'a[href="{SAFE_URL}"]').count() == 2


def test_chart_tooltips_show_hostile_labels_as_text(hostile_site, reader):
    reader.visit(hostile_site.base + "/-/dashboards/adoption/overlaps", ready="svg.marks")
    reader.page.locator("svg.marks .mark-rect path").first.hover()
    tooltip = reader.page.locator("#vg-tooltip-element")
    tooltip.wait_for(state="visible")
    assert CAPABILITY in tooltip.text_content() and TOOL in tooltip.text_content()
    assert tooltip.locator("img, script, svg, iframe").count() == 0
    assert "&lt;img src=x" in tooltip.inner_html()
    assert reader.page.evaluate(INJECTED) == [] and reader.dialogs == []


def test_summaries_escape_hostile_text(hostile_db, reader, tmp_path):
    for args in ([], ["--team", TEAM]):
        page = tmp_path / "summary.html"
        run("summary", hostile_db, "--format", "html", "-o", page, *args)
        reader.page.goto(page.as_uri())
        assert reader.page.evaluate(INJECTED) == []
        assert TOOL in reader.text() and CAPABILITY in reader.text()
        text = run("summary", hostile_db, *args).output
        # The Markdown, rendered the way a Markdown viewer would, is as inert.
        reader.page.set_content(markdown.markdown(text, extensions=["tables"]))
        assert reader.page.evaluate(INJECTED) == []
        assert reader.page.locator("a, img, iframe, svg, script").count() == 0
        assert TOOL in reader.text() and GAP_CAPABILITY in reader.text()
    assert TEAM in reader.text() and reader.dialogs == [] and reader.errors == []


def test_every_chart_draws_its_data_as_svg_text():
    # datasette-dashboards' metric and table charts write query results as HTML (innerHTML):
    # the site's charts are all Vega, which draws text.
    charts = yaml.safe_load(resource("metadata.yml").read_text())["plugins"]["datasette-dashboards"]["adoption"]["charts"]
    assert {chart["library"] for chart in charts.values()} <= {"vega", "vega-lite"}
    assert yaml.safe_load(resource("metadata.yml").read_text())["plugins"]["datasette-render-markdown"]["patterns"] == []


# A private site.

@pytest.fixture(scope="module")
def private_site(hostile_db):
    """The hostile organisation published with a password, and served."""
    password_hash = hash_password(PASSWORD)
    directory = publish(hostile_db, hostile_db.parent / "private", password_hash=password_hash).directory
    with serving_site(directory, hostile_db.parent / "private.log") as base:
        yield HostileSite(base, hostile_db, directory)


PRIVATE_PAGES = [
    "/", "/stack", "/stack/tools", "/stack/tools.json", "/stack/tools.csv", "/stack/tools/script-alert-1-script",
    "/stack/tools/script-alert-1-script.json", "/stack/teams/svg-onload-alert-5-growth", "/stack/adoption",
    "/stack/adoption.json", "/stack/adoption.csv?_stream=on",
    "/stack.json?" + urllib.parse.urlencode({"sql": "select name from tools"}),
    "/stack.db", "/search?q=alert", "/-/dashboards", "/-/dashboards/adoption", "/-/dashboards/adoption/overlaps",
    "/-/metadata.json",
]


def sign_in(client: httpx.Client, password: str) -> httpx.Response:
    """Sign in through the login form, as a browser would: its CSRF token comes with the form."""
    form = client.get("/-/login")
    assert form.status_code == 200
    token = re.search(r'name="csrftoken" value="([^"]+)"', form.text).group(1)
    return client.post("/-/login", data={"username": SITE_ACCOUNT, "password": password, "csrftoken": token})


def test_a_private_site_refuses_anonymous_readers(private_site):
    with httpx.Client(base_url=private_site.base, timeout=30) as anonymous:
        refused = {path: anonymous.get(path).status_code for path in PRIVATE_PAGES}
        assert refused == {path: 403 for path in PRIVATE_PAGES}
        for path in ("/stack/tools.json", "/stack.json?sql=select+1"):
            assert TOOL not in anonymous.get(path).text
        # A wrong password changes nothing.
        assert "Invalid username or password" in sign_in(anonymous, "guess").text
        assert anonymous.get("/stack/tools.json").status_code == 403


def test_a_private_site_serves_a_signed_in_reader(private_site):
    with httpx.Client(base_url=private_site.base, timeout=30) as reader:
        assert sign_in(reader, PASSWORD).status_code == 302
        served = {path: reader.get(path).status_code for path in PRIVATE_PAGES}
        assert served == {path: 200 for path in PRIVATE_PAGES}
        assert TOOL in reader.get("/stack/tools/script-alert-1-script.json", params={"_shape": "array"}).text
        assert reader.get("/stack/tools.csv").text.count("'" + FORMULA_TOOL.replace('"', '""')) == 1


def test_a_private_site_is_published_with_the_password_plugin(private_site, hostile_db, monkeypatch, tmp_path):
    site = private_site.directory
    metadata = yaml.safe_load((site / "metadata.yml").read_text())
    plugin = metadata["plugins"]["datasette-auth-passwords"]
    assert plugin["actors"] == {SITE_ACCOUNT: {"id": SITE_ACCOUNT}}
    assert plugin[f"{SITE_ACCOUNT}_password_hash"].startswith("pbkdf2_sha256$")
    assert metadata["allow"] == metadata["allow_sql"] == {"id": SITE_ACCOUNT}
    version = package_metadata.version("datasette-auth-passwords")
    assert f"datasette-auth-passwords=={version}" in (site / "requirements.txt").read_text().splitlines()
    assert "The site is private" in (site / "README.md").read_text()
    command = deploy_command(site, "cloudrun", app="martech")
    assert command[command.index(f"datasette-auth-passwords=={version}") - 1] == "--install"
    assert command[command.index("--metadata") + 1] == str(site / "metadata.yml")
    # A public site installs no password plugin.
    public = publish(hostile_db, tmp_path / "public").directory
    assert "datasette-auth-passwords" not in " ".join(deploy_command(public, "cloudrun"))
    assert "datasette-auth-passwords" not in (public / "requirements.txt").read_text()
    assert "The site is public" in (public / "README.md").read_text()
    # The hash can come from the environment rather than the command line.
    monkeypatch.setenv("STACK_TRACKER_PASSWORD_HASH", hash_password(PASSWORD, iterations=1000))
    result = run("publish", hostile_db, tmp_path / "deploy", "--to", "heroku", "--dry-run", "--silent")
    printed = shlex.split(result.output)
    assert printed[printed.index(f"datasette-auth-passwords=={version}") - 1] == "--install"
    assert yaml.safe_load((tmp_path / "deploy" / "metadata.yml").read_text())["allow"] == {"id": SITE_ACCOUNT}
    result = run("publish", hostile_db, tmp_path / "private")
    assert f"private: readers sign in at /-/login as {SITE_ACCOUNT}" in result.output


def test_publish_refuses_a_password_for_a_hash(hostile_db, tmp_path):
    result = run("publish", hostile_db, tmp_path / "site", "--password-hash", PASSWORD, exit_code=1)
    assert "must be what `datasette hash-password` prints" in result.output and "not the password" in result.output
    assert not (tmp_path / "site").exists()
    # `$480000` and the rest eaten by a shell's double quotes.
    result = run("publish", hostile_db, tmp_path / "site", "--password-hash", "pbkdf2_sha256", exit_code=1)
    assert "single quotes" in result.output


def test_serving_a_private_site_needs_the_password_plugin(private_site, monkeypatch):
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *args: None if name == "datasette_auth_passwords" else find_spec(name, *args))
    result = run("serve", private_site.directory, exit_code=1)
    assert "is a private site: install datasette-auth-passwords" in result.output


# One query cannot take the server's memory.

def server_memory_mib(site: HostileSite) -> tuple[float, float]:
    """The Datasette process serving ``site``: its resident memory now and at its peak, in MiB."""
    port = site.base.rsplit(":", 1)[1].encode()
    for process in Path("/proc").glob("[0-9]*"):
        try:
            command = (process / "cmdline").read_bytes().split(b"\0")
            if b"datasette" in command and port in command:
                status = dict(line.split(":", 1) for line in (process / "status").read_text().splitlines())
                return int(status["VmRSS"].split()[0]) / 1024, int(status["VmHWM"].split()[0]) / 1024
        except OSError:
            continue
    pytest.fail(f"no Datasette process serves {site.base}")


ROWS_1000 = "with recursive n(x) as (select 1 union all select x + 1 from n where x < 1000) "


def assert_values_are_bounded(site: HostileSite) -> None:
    """Ask for a 10 MB value first: a server that builds it would take gigabytes for the queries that follow."""
    response = get(site, "/stack.json", sql="select zeroblob(10000000)")
    assert response.status_code == 400 and response.json()["error"] == "string or blob too big"


def test_the_sql_page_answers_a_plain_query(hostile_site):
    page = get(hostile_site, "/stack", sql="select 1 as one")
    assert page.status_code == 200 and "select 1 as one" in page.text
    assert get(hostile_site, "/stack.json", sql="select 1 as one", _shape="array").json() == [{"one": 1}]


@pytest.mark.parametrize("sql, error", [
    ("select zeroblob(900000000)", "string or blob too big"),
    ("select length(replace(hex(zeroblob(100000000)), '0', 'abc'))", "string or blob too big"),
    ("select group_concat(printf('%.*c', 1000000, 'x')) from (" + ROWS_1000 + "select x from n)", "string or blob too big"),
    (ROWS_1000 + "select printf('%.*c', 8000000, 'x') from n", "the query returns more than 16 MiB"),
    (ROWS_1000 + "select zeroblob(8000000) from n", "the query returns more than 16 MiB"),
])
def test_a_huge_value_or_result_is_refused_in_bounded_memory(hostile_site, sql, error):
    assert_values_are_bounded(hostile_site)
    _, peak_before = server_memory_mib(hostile_site)
    started = time.monotonic()
    for path in ("/stack.json", "/stack", "/stack.csv"):
        response = get(hostile_site, path, sql=sql)
        if path == "/stack.json":
            assert response.status_code == 400 and error in response.json()["error"]
        elif path == "/stack":
            assert response.status_code == 400 and error in response.text
        else:
            assert len(response.content) < 1024  # the CSV stops where the error is
    assert time.monotonic() - started < 20
    _, peak = server_memory_mib(hostile_site)
    assert peak - peak_before < 150 and peak < 400, (peak_before, peak)
    assert get(hostile_site, "/stack/tools/script-alert-1-script.json", _shape="array").status_code == 200


def test_a_value_printf_cannot_build_comes_back_empty_while_other_readers_are_served(hostile_site):
    # SQLite's printf gives NULL past the length limit, though it spends seconds counting to 900 million.
    assert_values_are_bounded(hostile_site)
    sql = "select printf('%.*c', 900000000, 'x') as huge"
    answer: dict = {}
    slow = threading.Thread(target=lambda: answer.update(response=get(hostile_site, "/stack.json", sql=sql, _shape="array")))
    _, peak_before = server_memory_mib(hostile_site)
    slow.start()
    time.sleep(0.3)
    started = time.monotonic()
    assert get(hostile_site, "/-/versions.json").status_code == 200
    assert time.monotonic() - started < 2  # the server is not held up
    assert get(hostile_site, "/stack/tools.json", _shape="array", _nocache=time.time()).status_code == 200
    slow.join(60)
    assert answer["response"].json() == [{"huge": None}]
    _, peak = server_memory_mib(hostile_site)
    assert peak - peak_before < 150, (peak_before, peak)
