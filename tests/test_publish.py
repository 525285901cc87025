"""stack-tracker publish: a deployable directory, served read-only, that names nobody."""

from __future__ import annotations

import json
import shlex
import shutil
import socket
import sys
import time
import urllib.parse
import urllib.request
from contextlib import contextmanager
from importlib import metadata as package_metadata
from pathlib import Path

import pytest
import sqlite_utils
import yaml
from datasette_auth_passwords.utils import hash_password

from conftest import FIXTURES, SAMPLE_SECRET, fetch, free_port, rows, run, serving, write
from stack_tracker.database.derived import DERIVED_TABLES
from stack_tracker.site import publish as publish_module
from stack_tracker.site.publish import DATABASE_FILE, deploy_command, publish

PAGE_BUDGET_SECONDS = 0.3


@contextmanager
def serving_site(site: Path, log: Path, timeout: float = 60):
    """`stack-tracker serve SITE` on a free port; yields its base URL once it answers."""
    port = free_port()
    command = [sys.executable, "-m", "stack_tracker", "serve", str(site), "--port", str(port)]
    with serving(command, port, timeout, log=log) as base:
        yield base


@pytest.fixture(scope="module")
def site(sample_db, tmp_path_factory) -> Path:
    """The sample organisation, published with the CLI."""
    outdir = tmp_path_factory.mktemp("published") / "site"
    result = run("publish", sample_db, outdir)
    assert f"Wrote {outdir}: stack.db" in result.output
    assert f"Serve it with: stack-tracker serve {outdir}" in result.output
    return outdir


def test_publish_writes_a_deployable_directory(site):
    assert sorted(path.name for path in site.iterdir()) == [
        "README.md", "inspect-data.json", "metadata.yml", "plugins", "requirements.txt", "settings.json", "stack-tracker-manifest.json",
        "stack.db", "templates",
    ]
    db = sqlite_utils.Database(site / DATABASE_FILE)
    # Derived tables built, search indexes, statistics; a plain rollback journal, for an immutable file.
    assert set(DERIVED_TABLES) <= set(db.table_names())
    for table in ("usage_effective", "tool_period_summary", "tool_blast_radius"):
        assert db[table].count > 0, table
    assert {"tools_fts", "capabilities_fts"} <= set(db.table_names())
    assert db.execute("select count(*) from sqlite_stat1 where tbl = 'usage_effective'").fetchone()[0] > 0
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    db.close()
    # The catalog is the database `stack`'s, with the reports and the dashboard pointed at it.
    metadata = yaml.safe_load((site / "metadata.yml").read_text())
    assert list(metadata["databases"]) == ["stack"]
    assert "adoption_by_team" in metadata["databases"]["stack"]["queries"]
    charts = metadata["plugins"]["datasette-dashboards"]["adoption"]["charts"]
    assert {chart["db"] for chart in charts.values()} == {"stack"}
    assert metadata["plugins"]["stack-tracker"]["database"] == "stack"
    # Which table names each slug column of the reports, for the reports' pages to show names.
    assert metadata["plugins"]["stack-tracker"]["named_columns"]["owner_team"] == "teams"
    assert json.loads((site / "settings.json").read_text())["suggest_facets"] is False
    assert json.loads((site / "inspect-data.json").read_text())["stack"]["file"] == "stack.db"
    assert {"index.html", "row.html", "_tool.html", "_team.html", "search.html"} <= {
        str(path.relative_to(site / "templates")) for path in (site / "templates").rglob("*.html")}
    assert not list((site / "templates").rglob("*.j2"))  # the summary's templates are not the site's
    assert (site / "plugins" / "stack_site.py").is_file()
    # Pinned to what is installed here: the versions the site was built and tested with.
    requirements = (site / "requirements.txt").read_text().splitlines()
    for package in ("datasette", "datasette-dashboards"):
        assert f"{package}=={package_metadata.version(package)}" in requirements
    readme = (site / "README.md").read_text()
    assert "datasette serve . --host 127.0.0.1" in readme and "datasette publish cloudrun stack.db" in readme
    assert "$" + "publish_options" not in readme


def test_reports_of_people_say_why_a_published_site_shows_none(sample_db, site):
    # The sample has seats to reclaim and to move down a tier; the published copy has no rows about people.
    assert json.loads(run("report", sample_db, "reclaim", "--format", "json").output)
    db = sqlite_utils.Database(site / DATABASE_FILE)
    assert db.execute("select count(*) from seat_holders").fetchone()[0] == 0
    db.close()
    queries = yaml.safe_load((site / "metadata.yml").read_text())["databases"]["stack"]["queries"]
    said = {name for name, query in queries.items() if "A published site holds no rows about people" in query["description"]}
    assert said == {"reclaim", "right_size"}
    assert "`stack-tracker report DB right-size` on the database." in queries["right_size"]["description"]


def test_publish_replaces_an_earlier_site_but_nothing_else(sample_db, tmp_path):
    outdir = tmp_path / "site"
    run("publish", sample_db, outdir, "--silent")
    (outdir / "notes.txt").write_text("the user's")
    assert run("publish", sample_db, outdir, "--silent").output == ""
    assert (outdir / "notes.txt").read_text() == "the user's" and (outdir / "stack.db").is_file()
    other = tmp_path / "documents"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    result = run("publish", sample_db, other, exit_code=1)
    assert "is not empty and was not written by stack-tracker publish" in result.output
    assert (other / "notes.txt").read_text() == "keep me"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["documents", "site"]  # no half-built leftovers


def test_the_published_site_names_nobody(sample_db, tmp_path, monkeypatch):
    db_path = tmp_path / "stack.db"
    shutil.copy(sample_db, db_path)
    # The sample's card holders were pseudonymised with its key: the copy's imports use it too.
    monkeypatch.setenv("STACK_TRACKER_SECRET", SAMPLE_SECRET)
    # Sign-ins (with a directory of people), a rejected usage file that quotes an address,
    # and an address a team wrote into a note.
    run("import-logins", db_path, FIXTURES / "logins" / "proxy-logins.csv", "--source", "csv",
        "--directory", FIXTURES / "logins" / "directory.csv", "--silent")
    # Display names come with an identity provider's log and a vendor's user list.
    run("import-logins", db_path, FIXTURES / "logins" / "okta-system-log.csv", "--source", "okta", "--silent")
    run("import-users", db_path, FIXTURES / "users" / "salesforce-users.csv", "--tool", "Salesforce Sales Cloud",
        "--as-of", "2024-03-31", "--date-format", "mdy", "--silent")
    rejected = write(tmp_path / "usage-from-bob.jones@corp.example.csv",
                     "team,tool,period,seats,active users\nbob.jones@corp.example,Slack,2026-11,1,1\n")
    run("ingest", db_path, "usage", rejected, "--silent", exit_code=1)
    run("ingest", db_path, "tools", write(tmp_path / "tools.csv", "tool,notes\nSlack,admin is eve.admin@corp.example\n"), "--silent")
    people_months = rows(db_path, "select count(*) as n from user_activity")[0]["n"]
    assert people_months > 0

    site = publish(db_path, tmp_path / "site").directory
    # A private site adds a password's hash and an account, and no one's identity.
    private = publish(db_path, tmp_path / "private", password_hash=hash_password("s3cret", iterations=1000)).directory

    identifiers = ["jane.doe@example.com", "raj.patel@example.com", "li.wei@example.com", "sam.contractor@example.com",
                   "jdoe", "rpatel", "lwei", "bob.jones@corp.example", "eve.admin@corp.example",
                   "jane doe", "raj patel", "li wei", "sam contractor"]
    for directory in (site, private):
        for path in directory.rglob("*"):
            if path.is_file():
                content = path.read_bytes().lower()
                for identifier in identifiers:
                    assert identifier.encode() not in content, f"{identifier} in {path.relative_to(directory)}"
        assert not list(directory.rglob("*.key"))
    assert b"s3cret" not in (private / "metadata.yml").read_bytes()
    # What the reports need stays: the sign-ins summed per tool, and the contacts the ops team published.
    published = site / DATABASE_FILE
    assert rows(published, "select count(*) as n from user_activity")[0]["n"] == 0
    assert rows(published, "select sum(users) as n from tool_activity_summary")[0]["n"] == people_months
    assert b"demand-gen@example.com" in published.read_bytes()
    assert rows(published, "select notes from tools where slug = 'slack'")[0]["notes"] == "admin is [redacted]"


def test_deploy_commands_hand_the_site_to_datasette_publish(site):
    command = deploy_command(site, "cloudrun", app="martech-stack")
    assert command[:5] == [sys.executable, "-m", "datasette", "publish", "cloudrun"]
    assert command[5] == str(site / "stack.db")
    for option, value in (("--metadata", "metadata.yml"), ("--template-dir", "templates"), ("--plugins-dir", "plugins")):
        assert command[command.index(option) + 1] == str(site / value)
    installs = [command[index + 1] for index, part in enumerate(command) if part == "--install"]
    assert f"datasette=={package_metadata.version('datasette')}" in installs
    assert f"datasette-dashboards=={package_metadata.version('datasette-dashboards')}" in installs
    extra = command[command.index("--extra-options") + 1]
    assert "--setting suggest_facets off" in extra and "--setting sql_time_limit_ms" in extra
    assert command[-2:] == ["--service", "martech-stack"]
    assert deploy_command(site, "heroku", app="martech-stack")[-2:] == ["--name", "martech-stack"]
    assert "--service" not in deploy_command(site, "cloudrun")


def test_publish_to_a_platform(sample_db, tmp_path, monkeypatch):
    result = run("publish", sample_db, tmp_path / "site", "--to", "heroku", "--app", "martech", "--dry-run", "--silent")
    assert shlex.split(result.output) == deploy_command(tmp_path / "site", "heroku", app="martech")
    ran = []

    def fake_call(command):
        # The directory handed over is a complete site while the command runs.
        ran.append((command, sorted(path.name for path in Path(command[5]).parent.iterdir())))
        return 0

    monkeypatch.setattr(publish_module.subprocess, "call", fake_call)
    run("publish", sample_db, "--to", "cloudrun", "--app", "martech", "--silent")
    [(command, files)] = ran
    assert command[3:5] == ["publish", "cloudrun"] and command[-2:] == ["--service", "martech"]
    assert "stack.db" in files and "metadata.yml" in files
    assert not Path(command[5]).exists()  # the temporary directory is gone afterwards
    assert "give OUTDIR, or --to" in run("publish", sample_db, exit_code=2).output
    assert "--dry-run needs OUTDIR" in run("publish", sample_db, "--to", "heroku", "--dry-run", exit_code=2).output


def site_pages(base: str) -> list[str]:
    """Every page of the site: home, search, tables, reports, dashboard and its charts' data, every row page."""
    def get_json(path):
        return json.loads(fetch(base + path))

    metadata = get_json("/-/metadata.json")
    pages = ["/", "/search?q=email", "/stack", "/-/dashboards/adoption"]
    pages += [f"/stack/{table['name']}" for table in get_json("/stack.json")["tables"] if not table["hidden"]]
    pages += [f"/stack/{query}" for query in metadata["databases"]["stack"]["queries"]]
    for chart in metadata["plugins"]["datasette-dashboards"]["adoption"]["charts"].values():
        pages.append("/stack.json?" + urllib.parse.urlencode({"sql": chart["query"], "_shape": "objects"}))
    for table in ("tools", "teams", "capabilities"):
        pages += [f"/stack/{table}/{row['slug']}" for row in get_json(f"/stack/{table}.json?_shape=array&_size=max")]
    return pages


def timed_fetch(url: str) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200, url
        response.read()
    return time.perf_counter() - started


def test_serve_a_published_site_read_only_and_fast(site, tmp_path):
    with serving_site(site, tmp_path / "serve.log") as base:
        [database] = json.loads(fetch(f"{base}/-/databases.json"))
        assert (database["name"], database["is_mutable"]) == ("stack", False)
        assert "612 active users on 765 seats" in fetch(f"{base}/")
        pages = site_pages(base)
        assert len(pages) > 120
        slow = {}
        for page in pages:
            # The first request of a page may compile its templates: measure the second if so.
            seconds = timed_fetch(base + page)
            if seconds >= PAGE_BUDGET_SECONDS:
                seconds = timed_fetch(base + page)
            if seconds >= PAGE_BUDGET_SECONDS:
                slow[page] = round(seconds, 3)
        assert slow == {}
    # Stopping stack-tracker stops Datasette too: nothing is left listening.
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", urllib.parse.urlsplit(base).port), timeout=1).close()


def test_serve_refuses_a_directory_that_is_not_a_site(tmp_path):
    result = run("serve", tmp_path, exit_code=1)
    assert "is not a published site" in result.output


ADDRESSES = [
    "jane.doe@localhost", "josé@correo.es", "jürgen.müller@beispiel.de", '"jane doe"@example.com',
    "jane.doe%40example.com", "ops@[192.168.10.20]", "ops@[IPv6:2001:db8::1]", "li.wei＠example.cn",
    "raj﹫example.in", "sam&#64;example.com", "ДмитрийИванов@пример.рф",
]


@pytest.mark.parametrize("address", ADDRESSES)
def test_every_form_of_an_address_is_redacted_whole(address):
    redacted = publish_module.redact_emails(f"ask {address} (admin)")
    assert redacted == "ask [redacted] (admin)"


def test_the_published_site_names_no_team_lead_unless_asked(tmp_path, db_path):
    run("ingest", db_path, "teams", write(tmp_path / "teams.csv",
                                          "team,lead,notes\nField Marketing,Priya Raman,\n"), "--silent")
    run("ingest", db_path, "tools", write(tmp_path / "tools.csv",
                                          "tool,notes\nSlack,ask josé@correo.es or jürgen.müller@beispiel.de\n"),
        "--silent")
    site = publish(db_path, tmp_path / "site").directory
    content = (site / DATABASE_FILE).read_bytes()
    for personal in ("Priya Raman", "josé", "müller", "correo", "beispiel"):
        assert personal.encode() not in content, personal
    assert rows(site / DATABASE_FILE, "select notes from tools where slug = 'slack'")[0]["notes"] == \
        "ask [redacted] or [redacted]"
    named = publish(db_path, tmp_path / "named", publish_names=True).directory
    assert rows(named / DATABASE_FILE, "select lead from teams")[0]["lead"] == "Priya Raman"
