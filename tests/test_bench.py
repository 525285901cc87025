"""The benchmark scripts in bench/ still run, each at a size that takes seconds.

Timings are printed, never asserted: these tests check that every query the
script promises is measured, and that what it measures is the real thing.
"""

from __future__ import annotations

import importlib.util
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from stack_tracker.reports.registry import REPORTS, run_report, sql_parameters
from stack_tracker.resources import resource
from stack_tracker.database import open_database
from stack_tracker.database.derived import DERIVED_INPUTS, DERIVED_TABLES

BENCH = Path(__file__).resolve().parent.parent / "bench"


def load_bench(name: str):
    """A script in bench/ as a module (bench/ is not a package)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def small_enterprise(tmp_path_factory) -> Path:
    """A generated organisation, built by the reports benchmark itself."""
    path = tmp_path_factory.mktemp("bench") / "org.db"
    load_bench("reports").build(path, teams=8, tools=40, months=5, users=120, events=6000)
    return path


def test_reports_benchmark_times_every_report_and_chart(small_enterprise):
    result = subprocess.run(
        [sys.executable, str(BENCH / "reports.py"), "--db", str(small_enterprise), "--runs", "1", "--cap", "20"],
        capture_output=True, text=True, check=True,
    )
    # The table: label, rows, served ms, all rows ms, without ms, verdict.
    row = re.compile(r"^(\S.*?)\s+([\d,]+)\s+([\d.]+)\s+([\d.]+)\s+(\d+|>20 s)\s+(pass|FAIL)$")
    measured = {match[1]: match for match in map(row.match, result.stdout.splitlines()) if match}
    dashboards = yaml.safe_load(resource("metadata.yml").read_text())["plugins"]["datasette-dashboards"]
    expected = set()
    for report in REPORTS.values():
        expected.add(report.name)
        parameters = sql_parameters(report.sql)
        if "team" in parameters:
            expected.add(next(label for label in measured if label.startswith(f"{report.name} team=")))
        if "tool" in parameters:
            expected.add(next(label for label in measured if label.startswith(f"{report.name} tool=")))
    for name, dashboard in dashboards.items():
        expected |= {f"chart {name}/{chart}" for chart in dashboard["charts"]}
        expected |= {f"filter {name}/{item}" for item in dashboard.get("filters") or {}}
    assert set(measured) == expected
    # The rows counted are the report's own, as the CLI gives them.
    db = open_database(small_enterprise)
    for name in ("adoption", "gaps", "concentration"):
        assert int(measured[name][2].replace(",", "")) == len(run_report(db, name)), name
    db.close()
    passed, total = map(int, re.search(r"^(\d+) of (\d+) queries served", result.stdout, re.MULTILINE).groups())
    assert (passed, total) == (sum(match[6] == "pass" for match in measured.values()), len(expected))
    # Reused, not rebuilt: the database given is timed as it is.
    assert "built" not in result.stdout


def test_without_derived_tables_the_reports_give_the_same_rows(small_enterprise):
    # What the benchmark times as "without derived tables" must be the same
    # report, computed from the base tables on the fly.
    bench = load_bench("reports")
    derived, shadowed = sqlite3.connect(small_enterprise), sqlite3.connect(small_enterprise)
    bench.shadow_derived_tables(shadowed)
    queries = bench.queries(derived, small_enterprise)
    assert len(queries) > len(REPORTS)
    for query in queries:
        rows = derived.execute(query.sql, query.params).fetchall()
        assert rows == shadowed.execute(query.sql, query.params).fetchall(), query.label
    derived.close()
    shadowed.close()
    # The organisation gives the reports something to find.
    db = open_database(small_enterprise)
    assert all(run_report(db, name) for name in ("concentration", "overlap-users", "overlap-teams", "gaps"))
    db.close()


def figures(output: str) -> dict[str, float]:
    """label -> the first figure after it, from a benchmark's ``label:   1.23 s ...`` lines."""
    found = {}
    for line in output.splitlines():
        match = re.match(r"^\s*(.+?:)\s+([\d.]+)(?:\s*s|x)\b", line)
        if match:
            found[match[1]] = float(match[2])
    return found


def test_ingest_benchmark_splits_the_ingest_and_measures_its_baselines():
    result = subprocess.run(
        [sys.executable, str(BENCH / "ingest_usage.py"), "--teams", "6", "--tools", "30", "--months", "3"],
        capture_output=True, text=True, check=True,
    )
    measured = figures(result.stdout)
    assert set(measured) >= {
        "stack-tracker ingest usage, total:", "load (read, validate, resolve, write):",
        "refresh of the derived report tables:", "baseline executemany only:", "baseline csv parse + executemany:",
        "executemany into the usage table:", "sqlite-utils insert --csv:", "ratio load to executemany:",
        "ratio total to executemany:", "ratio total to parse + executemany:",
    }
    # The split adds up (to the printed rounding).
    total = measured["stack-tracker ingest usage, total:"]
    assert measured["load (read, validate, resolve, write):"] + measured["refresh of the derived report tables:"] == \
        pytest.approx(total, abs=0.02)
    assert int(re.search(r"^usage\.csv: ([\d,]+) rows", result.stdout, re.MULTILINE)[1].replace(",", "")) > 100


def test_refresh_benchmark_times_a_month_against_a_whole_rebuild_and_a_scan():
    result = subprocess.run(
        [sys.executable, str(BENCH / "refresh.py"), "--teams", "6", "--tools", "30", "--months", "3"],
        capture_output=True, text=True, check=True,
    )
    measured = figures(result.stdout)
    assert set(measured) >= {
        "baseline full aggregate scan of usage:", "full refresh, every derived table:", "ingest of one more month, total:",
        "load:", "refresh, that month only:", "same refresh done whole:",
    }
    # What the month's refresh left is what rebuilding gives.
    assert re.search(r"^month refresh = whole refresh:\s+yes$", result.stdout, re.MULTILINE)
    assert int(re.search(r"one more month \(\d{4}-\d\d\): ([\d,]+) rows", result.stdout)[1].replace(",", "")) > 0
    # Where the time goes: every derived table in the full refresh's profile, the month's refresh only for
    # the tables a month of usage feeds (none built from sign-ins or integrations alone).
    profile = dict(re.findall(r"^  ([a-z_]+)\s+[\d.]+\s+([\d.]+|-)$", result.stdout, re.MULTILINE))
    assert set(profile) == set(DERIVED_TABLES)
    assert {name for name, month in profile.items() if month != "-"} == \
        {name for name in DERIVED_TABLES if "usage" in DERIVED_INPUTS[name]}


def test_import_logins_benchmark_measures_the_import_against_duckdb_and_an_orjson_baseline():
    result = subprocess.run(
        [sys.executable, str(BENCH / "import_logins.py"), "--events", "3000", "--users", "300", "--teams", "4",
         "--tools", "20", "--months", "1"],
        capture_output=True, text=True, check=True,
    )
    measured = figures(result.stdout)
    assert set(measured) >= {"stack-tracker import-logins:", "baseline orjson parse + count:", "ratio to the orjson loop:",
                             "ratio to DuckDB:"}
    assert re.search(r"^baseline DuckDB [\d.]+, 2 threads:\s+[\d.]+ s", result.stdout, re.MULTILINE)
    # Ratios are printed, never judged here: on a busy machine any of them may move.
    assert all(measured[label] > 0 for label in ("ratio to DuckDB:", "ratio to the orjson loop:"))
    assert re.search(r"events/s\s+peak\s+\d+ MiB", result.stdout)
    # The import and DuckDB counted the same (the benchmark asserts it too).
    assert re.search(r"^same counts as DuckDB:\s+yes \([\d,]+ person-app-months, [\d,]+ sign-ins\)$", result.stdout, re.MULTILINE)
    # The log is the generator's, and the import counted its sign-ins.
    assert re.search(r"^okta\.jsonl: 3,000 events, generated in ", result.stdout, re.MULTILINE)
    assert int(re.search(r"^counted: ([\d,]+) sign-ins", result.stdout, re.MULTILINE)[1].replace(",", "")) > 1000
    # The floor: the rows the import kept, written again bare, as many as the import wrote.
    floor = re.search(r"^floor: the import's rows written bare:\s+[\d.]+ s  \(([\d,]+) user_activity_days, ([\d,]+) "
                      r"user_activity, ([\d,]+) usage;", result.stdout, re.MULTILINE)
    person_months = int(re.search(r"([\d,]+) person-months", result.stdout)[1].replace(",", ""))
    assert int(floor[2].replace(",", "")) == person_months
    assert int(floor[1].replace(",", "")) >= person_months and int(floor[3].replace(",", "")) > 0


def test_make_bench_runs_every_script_on_one_generated_organisation(tmp_path):
    """bench/all.py, which `make bench` runs, at a size that takes seconds."""
    work = tmp_path / "work"
    result = subprocess.run(
        [sys.executable, str(BENCH / "all.py"), "--workdir", str(work), "--teams", "6", "--tools", "25",
         "--months", "3", "--users", "60", "--events", "3000", "--requests", "16"],
        capture_output=True, text=True, check=True,
    )
    output = result.stdout
    for title in ("generate", "ingest", "refresh", "sign-in import, 50 teams", "sign-in import", "reports", "publish",
                  "site under load"):
        assert f"## {title}" in output
    assert (work / "results.txt").read_text(encoding="utf-8").strip() == output.strip()
    # The sign-in import left the enterprise database, publish the site, and the load measured its pages.
    assert (work / "enterprise.db").exists() and (work / "site" / "stack.db").exists()
    assert "baseline /-/versions.json" in output
    pages = re.findall(r"^(home|tool page|team page|report \w+|dashboard \w+|chart \S+ \(json\)).*\s(ok|OVER|FAILED)$",
                       output, re.MULTILINE)
    assert len(pages) >= 3 + len(REPORTS)
    assert "FAILED" not in [verdict for _, verdict in pages]
    # A second run reuses the generated files.
    again = subprocess.run(
        [sys.executable, str(BENCH / "all.py"), "--workdir", str(work), "--teams", "6", "--tools", "25",
         "--months", "3", "--users", "60", "--events", "3000", "--requests", "4"],
        capture_output=True, text=True, check=True,
    ).stdout
    assert "reusing the organisation" in again and "## generate" not in again
