"""stack-tracker generate: a synthetic organisation that loads like the sample and gives every report something to find.

A small organisation (6 teams, 20 tools, 4 months, 50 people, 2,000 sign-in
events) is generated, loaded with the real commands in the sample's order
and imported with import-logins; the reports must then find overlaps, gaps,
shelfware, shadow IT and concentration in it.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections import Counter
from pathlib import Path

import pytest
import sqlite_utils

from conftest import rows, run
from stack_tracker.generate import INGEST_ORDER
from stack_tracker.generate import FILES, GenerateError, generate
from stack_tracker.generate.people import INTERNAL_APPS
from stack_tracker.reports.registry import run_report

SMALL = ("--teams", 6, "--tools", 20, "--months", 4, "--users", 50, "--events", 2000)


def digests(directory: Path) -> dict[str, str]:
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(directory.iterdir())}


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


@pytest.fixture(scope="module")
def organisation(tmp_path_factory) -> dict:
    """The small organisation, generated and loaded through the CLI once for the module."""
    directory = tmp_path_factory.mktemp("generated")
    outdir, db_path = directory / "org", directory / "org.db"
    generated = run("generate", outdir, *SMALL)
    run("init", db_path, "--silent")
    loaded = {}
    for kind, name, allow_new in INGEST_ORDER:
        loaded[name] = run("ingest", db_path, kind, outdir / name, *(["--allow-new"] if allow_new else []))
    imported = run("import-logins", db_path, outdir / "okta.jsonl", "--source", "okta",
                   "--directory", outdir / "directory.csv")
    return {"outdir": outdir, "db_path": db_path, "summary": generated.stderr, "loaded": loaded, "imported": imported.stderr}


def test_writes_every_file_and_says_how_many_rows(organisation):
    outdir, summary = organisation["outdir"], organisation["summary"]
    assert sorted(path.name for path in outdir.iterdir()) == sorted(FILES)
    for name in FILES:
        count = sum(1 for _ in open(outdir / name, encoding="utf-8")) - (0 if name.endswith(".jsonl") else 1)
        unit = "events" if name.endswith(".jsonl") else "rows"
        assert f"{name} {count:,} {unit}" in summary
    assert "okta.jsonl 2,000 events" in summary


def test_same_arguments_give_the_same_bytes_and_another_seed_does_not(organisation, tmp_path):
    run("generate", tmp_path / "again", *SMALL, "--silent")
    assert digests(tmp_path / "again") == digests(organisation["outdir"])
    run("generate", tmp_path / "other", *SMALL, "--seed", 1, "--silent")
    other, first = digests(tmp_path / "other"), digests(organisation["outdir"])
    for name in ("tools.csv", "usage.csv", "needs.csv", "directory.csv", "okta.jsonl"):
        assert other[name] != first[name], name


def test_events_add_the_log_without_changing_the_organisation(organisation, tmp_path):
    result = run("generate", tmp_path / "no-log", *SMALL[:-2])
    assert "okta.jsonl" not in result.stderr
    without = digests(tmp_path / "no-log")
    with_log = digests(organisation["outdir"])
    assert sorted(without) == sorted(set(FILES) - {"okta.jsonl", "directory.csv"})
    assert all(with_log[name] == digest for name, digest in without.items())


def test_every_file_loads_through_the_cli(organisation):
    db_path = organisation["db_path"]
    assert rows(db_path, "select count(*) as n from ingests where status != 'ok'") == [{"n": 0}]
    for name, result in organisation["loaded"].items():
        assert "rejected" not in result.stderr, result.stderr
    summary = organisation["summary"]
    usage_rows = int(re.search(r"usage\.csv ([\d,]+) rows", summary)[1].replace(",", ""))
    assert rows(db_path, "select count(*) as n from usage where source = 'reported'") == [{"n": usage_rows}]
    tools = read_csv(organisation["outdir"] / "tools.csv")
    assert rows(db_path, "select count(*) as n from tools where status != 'unreviewed'") == [{"n": len(tools)}]
    assert {row["Status"] for row in tools} >= {"active", "trial", "retiring"}
    assert any(row["currency"] == "EUR" for row in rows(db_path, "select currency from tools"))


def test_sign_ins_resolve_to_the_generated_tools(organisation):
    db_path, outdir = organisation["db_path"], organisation["outdir"]
    imported = organisation["imported"]
    assert "failed sign-ins" in imported and "other events" in imported
    assert "not in the directory counted in team unassigned" in imported
    activity = rows(db_path, "select count(*) as n, count(distinct tool) as tools, count(distinct team) as teams "
                             "from user_activity")[0]
    assert activity["n"] > 500 and activity["tools"] >= 5 and activity["teams"] >= 4
    # Applications the log names that match no generated tool are only the in-house apps: shadow IT.
    usage_names = {row["Application"].strip().lower() for row in read_csv(outdir / "usage.csv")}
    inventory = {row["Tool"].lower() for row in read_csv(outdir / "tools.csv")}
    for row in rows(db_path, "select name from tools where status = 'unreviewed'"):
        name = row["name"]
        assert name.lower() in usage_names - inventory or name.rstrip(" 0123456789") in INTERNAL_APPS, name


def test_the_log_is_a_realistic_okta_system_log(organisation):
    events = [json.loads(line) for line in open(organisation["outdir"] / "okta.jsonl", encoding="utf-8")]
    assert len(events) == 2000
    kinds = Counter(event["eventType"] for event in events)
    assert kinds["user.authentication.sso"] < len(events) * 0.6  # two lines in five or more are other events
    assert len(kinds) >= 5
    assert Counter(event["outcome"]["result"] for event in events)["FAILURE"] > 0
    sign_ins = [event for event in events if event["eventType"] == "user.authentication.sso"]
    assert all(event["target"][0]["type"] == "AppInstance" for event in sign_ins)
    published = [event["published"] for event in events]
    assert published == sorted(published)
    people = {row["Email"] for row in read_csv(organisation["outdir"] / "directory.csv")}
    actors = {event["actor"]["alternateId"].lower() for event in events}
    assert actors - people, "some people are left out of the directory on purpose"
    assert len(actors & people) > len(actors) / 2


def test_reports_find_what_real_stacks_have(organisation):
    db = sqlite_utils.Database(organisation["db_path"])
    try:
        overlaps = [row for row in run_report(db, "overlap") if row["kind"] == "overlap"]
        assert overlaps and all(row["tools"] >= 2 for row in overlaps)
        gaps = Counter(row["kind"] for row in run_report(db, "gaps"))
        for kind in ("team-gap", "org-gap", "shelfware", "shadow-it", "unused-seats"):
            assert gaps[kind] > 0, kind
        concentration = run_report(db, "concentration")
        assert any(row["team"] is None and row["active_users"] == 1 for row in concentration)
        renewals = run_report(db, "renewals", as_of="2026-11-30", params={"renewal_window_days": "365"})
        assert len(renewals) >= 5
    finally:
        db.close()


def test_popularity_is_skewed_at_a_larger_scale(tmp_path):
    result = generate(tmp_path / "org", teams=40, tools=200, months=2, users=400, seed=3)
    usage = read_csv(tmp_path / "org" / "usage.csv")
    assert len(usage) == result.rows["usage.csv"]
    teams_per_tool = Counter(row["Application"].strip().lower() for row in usage if row["Month"] in ("2026-11", "Nov 2026"))
    assert max(teams_per_tool.values()) >= 30  # a few tools nearly every team uses
    long_tail = [tool for tool, teams in teams_per_tool.items() if teams <= 2]
    assert len(long_tail) >= len(teams_per_tool) / 3  # and a long tail
    costs = sorted(float(row["Annual Cost"].replace("$", "").replace(",", "").replace("USD", "").strip() or 0)
                   for row in read_csv(tmp_path / "org" / "tools.csv") if row["Currency"] != "EUR" and row["Annual Cost"])
    assert costs[-1] > 20 * costs[len(costs) // 2]  # costs are skewed


@pytest.mark.parametrize(
    "arguments, message",
    [
        (("--teams", 1), "--teams must be at least 2"),
        (("--tools", 4), "--tools must be at least 5"),
        (("--months", 0), "--months must be from 1"),
        (("--users", 5), "--users must be at least the number of teams"),
        (("--events", -1), "--events must be zero or more"),
        (("--end", "2026-13"), "--end must be a month written YYYY-MM"),
    ],
)
def test_bad_arguments_exit_1_with_a_message(tmp_path, arguments, message):
    options = dict(zip(SMALL[::2], SMALL[1::2]))
    options.update(dict(zip(arguments[::2], arguments[1::2])))
    result = run("generate", tmp_path / "org", *[part for pair in options.items() for part in pair], exit_code=1)
    assert message in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "org").exists()


def test_a_non_empty_directory_needs_force(tmp_path):
    outdir = tmp_path / "org"
    run("generate", outdir, *SMALL, "--silent")
    result = run("generate", outdir, *SMALL, exit_code=1)
    assert "is not empty" in result.output and "--force" in result.output
    result = run("generate", outdir, *SMALL[:-2], "--force")
    assert "Wrote 7 files" in result.stderr
    assert not (outdir / "okta.jsonl").exists() and not (outdir / "directory.csv").exists()


def test_the_library_validates_too(tmp_path):
    with pytest.raises(GenerateError, match="--tools must be at least 5"):
        generate(tmp_path / "org", teams=3, tools=2, months=1, users=3)
    (tmp_path / "file").write_text("x")
    with pytest.raises(GenerateError, match="is a file"):
        generate(tmp_path / "file", teams=3, tools=5, months=1, users=3)
