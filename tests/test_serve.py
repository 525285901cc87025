"""stack-tracker serve: Datasette on the database, with the project's catalog."""

from __future__ import annotations

import socket
import sys

import httpx
import yaml
from datasette.app import Datasette

from conftest import fetch, free_port, run, serving
from stack_tracker.database.schema import TABLES
from stack_tracker.resources import resource
from stack_tracker.site.serve import datasette_command, site_metadata


def test_metadata_describes_every_table_and_column():
    metadata = yaml.safe_load(resource("metadata.yml").read_text())
    tables = metadata["databases"]["stack"]["tables"]
    for name, spec in TABLES.items():
        assert tables[name]["description"].strip(), name
        described = set(tables[name]["columns"])
        assert set(spec.columns) == described, f"{name}: undescribed {set(spec.columns) - described}"


def test_site_metadata_is_renamed_for_the_database_served(tmp_path):
    metadata = site_metadata(tmp_path / "acme.db")
    assert "acme" in metadata["databases"] and "stack" not in metadata["databases"]


async def test_datasette_shows_the_catalog(org_db):
    datasette = Datasette([str(org_db)], metadata=site_metadata(org_db))
    response = await datasette.client.get("/stack/tools.json?_shape=array&_sort=slug")
    assert response.status_code == 200
    assert [tool["name"] for tool in response.json()] == ["HubSpot Marketing Hub", "Salesforce Sales Cloud"]
    page = await datasette.client.get("/stack/tools")
    assert "The inventory: one row per tool" in page.text


def test_the_command_passes_the_catalog_templates_and_settings(tmp_path):
    command = datasette_command(tmp_path / "stack.db", tmp_path / "metadata.json", port=8123)
    assert command[1:4] == ["-m", "datasette", "serve"]
    assert command[command.index("--template-dir") + 1] == str(resource("templates"))
    assert ["--setting", "suggest_facets", "off"] == command[command.index("suggest_facets") - 1:command.index("suggest_facets") + 2]
    assert command[command.index("--host") + 1] == "127.0.0.1" and command[command.index("--port") + 1] == "8123"


def test_serve_runs_datasette_on_localhost(org_db):
    port = free_port()
    with serving([sys.executable, "-m", "stack_tracker", "serve", str(org_db), "--port", str(port)], port) as base:
        tools = fetch(f"{base}/stack/tools.json?_shape=array")
        assert "HubSpot Marketing Hub" in tools
        assert "Our marketing technology stack" in fetch(f"{base}/")


def test_serve_refuses_a_missing_database(tmp_path):
    result = run("serve", tmp_path / "nope.db", exit_code=2)
    assert "does not exist" in result.output


def test_serve_says_so_when_the_port_is_taken(org_db):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("serve", org_db, "--port", port, exit_code=1)
    assert f"cannot listen on 127.0.0.1:{port}" in result.output
    assert "--port" in result.output
    assert "Traceback" not in result.output


def test_a_live_site_answers_its_sql_page_and_refuses_a_huge_value(org_db):
    port = free_port()
    with serving([sys.executable, "-m", "stack_tracker", "serve", str(org_db), "--port", str(port)], port) as base:
        page = httpx.get(f"{base}/stack", params={"sql": "select 1 as one"}, timeout=30)
        assert page.status_code == 200 and "select 1 as one" in page.text
        huge = httpx.get(f"{base}/stack.json", params={"sql": "select zeroblob(900000000)"}, timeout=30)
        assert huge.status_code == 400 and huge.json()["error"] == "string or blob too big"
