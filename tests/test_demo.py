"""stack-tracker demo: the sample organisation, built and served."""

from __future__ import annotations

import json
import sys

from conftest import fetch, free_port, rows, run, serving
from stack_tracker.demo import SAMPLE_FILES, SAMPLE_SPEND, SAMPLE_USERS
from stack_tracker.resources import resource


def test_demo_builds_the_sample_organisation(tmp_path):
    path = tmp_path / "sample.db"
    result = run("demo", "--db", path, "--no-serve")
    assert f"Built {path}" in result.output
    assert "problem" not in result.output
    for _, name, _, _ in SAMPLE_FILES:
        assert f"{name}: read" in result.output
    # The admin consoles' user lists: seats by team and tier, a leaver still holding two.
    assert ("salesforce-users-2026-11.csv: 42 users of Salesforce Sales Cloud as of 2026-11-30: 39 holding a seat, "
            "37 signed in within 30 days") in result.output
    assert ("hubspot-users-2026-11.csv: 32 users of HubSpot Marketing Hub as of 2026-11-30: 30 holding a seat, "
            "27 signed in within 30 days") in result.output
    counts = rows(path, "select (select count(*) from teams) as teams, (select count(*) from tools) as tools, "
                        "(select count(distinct period) from usage) as months, (select count(*) from capabilities) as capabilities")[0]
    assert 8 <= counts["teams"] <= 14
    assert 35 <= counts["tools"] <= 50
    assert counts["months"] == 12
    assert counts["capabilities"] == 49
    # The planted shadow IT: a tool seen in usage that nobody put in the inventory (Canva, also paid on a card),
    # and two the card and expense exports show (Notion and Loom, both products of the catalog).
    assert rows(path, "select name from tools where status = 'unreviewed' order by name") == [
        {"name": "Canva"}, {"name": "Loom"}, {"name": "Notion"}]
    assert rows(path, "select count(*) as n from ingests where status != 'ok'") == [{"n": 0}]


def test_demo_rebuilds_from_scratch(tmp_path):
    path = tmp_path / "sample.db"
    run("demo", "--db", path, "--no-serve", "--silent")
    first = rows(path, "select count(*) as n from usage")
    assert run("demo", "--db", path, "--no-serve", "--silent").output == ""
    assert rows(path, "select count(*) as n from usage") == first
    # The taxonomy, every sample file, the user lists and the two spend exports: nothing of the first build is left.
    assert rows(path, "select count(*) as n from ingests") == [{"n": 1 + len(SAMPLE_FILES) + len(SAMPLE_USERS) + len(SAMPLE_SPEND)}]


def test_sample_files_use_alias_headers():
    header = resource("data/sample/usage.csv").read_text().splitlines()[0]
    assert header.split(",") != ["team", "tool", "period", "seats", "active_users"]


def test_demo_serves_the_sample_on_localhost(tmp_path):
    port = free_port()
    command = [sys.executable, "-m", "stack_tracker", "demo", "--db", str(tmp_path / "sample.db"), "--port", str(port), "--silent"]
    with serving(command, port) as base:
        tools = json.loads(fetch(f"{base}/sample/tools.json?_shape=array&_size=max"))
        assert any(tool["name"] == "Canva" and tool["status"] == "unreviewed" for tool in tools)
        assert "Our marketing technology stack" in fetch(f"{base}/")
