"""How long does every report and every dashboard chart take at enterprise scale?

Builds an organisation of 500 teams, 2,000 tools and 36 months with
`stack-tracker generate` (a usage file of about 1,000,000 rows, and an Okta log
that imports as about 5,000,000 person-months of activity), or reuses the
database given with ``--db``: building one takes about a quarter of an hour,
most of it importing the log. Then, through a plain sqlite3 connection, it times:

- every report with default parameters, and for one team where the report
  takes ``team`` (for one tool: ``dependencies``), as its canned query runs;
- every dashboard chart and filter query in ``metadata.yml``, expanded as the
  site serves it, every parameter blank.

Each query is timed two ways, median of ``--runs`` runs:

- served: running it and reading the rows Datasette reads, up to
  ``max_returned_rows`` + 1 (it shows at most ``max_returned_rows``). This is
  the query's cost on the site, and what ``--target`` (50 ms) applies to;
- all rows: reading every row into Python, as ``stack-tracker report`` does.
  For reports of thousands of rows this is mostly Python making row tuples.

and once more, served, "without derived tables": TEMP views named after the
derived tables, each computing its table from the base tables on the fly,
shadow the real ones (SQLite looks in ``temp`` first), so every report pays for
the summaries it reads. Run once, and stopped after ``--cap`` seconds.

    python bench/reports.py                               # build in a scratch directory, then time
    python bench/reports.py --db enterprise.db            # build it once, reuse it after
    python bench/reports.py --teams 12 --tools 60 --months 6 --users 300 --events 20000   # a quick check
"""

from __future__ import annotations

import argparse
import math
import shutil
import sqlite3
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from stack_tracker.database import open_database
from stack_tracker.database.derived import DERIVED_TABLES, SQL_DIR
from stack_tracker.generate import DIRECTORY_FILE, INGEST_ORDER, LOG_FILE, generate
from stack_tracker.inputs.ingest import Options, ingest
from stack_tracker.inputs.logins import import_logins
from stack_tracker.inputs.taxonomy import init
from stack_tracker.reports.registry import REPORTS, sql_parameters
from stack_tracker.site.serve import DASHBOARDS_PLUGIN, SETTINGS, site_metadata

#: Datasette reads this many rows of a canned query or a chart's SQL, then stops.
SERVED_ROWS = int(SETTINGS["max_returned_rows"]) + 1


def build(path: Path, *, teams: int, tools: int, months: int, users: int, events: int, seed: int = 1) -> None:
    """Write a generated organisation of the given size to a new database at ``path``.

    The files `generate` writes are loaded the way a user would: ingested in
    the sample's order, then the Okta log imported with its directory (which
    fills ``user_activity``, one row per person, tool and month).
    """
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-reports-files-") as scratch:
        started = time.perf_counter()
        files = generate(Path(scratch) / "org", teams=teams, tools=tools, months=months, users=users,
                         events=events, seed=seed).outdir
        print(f"generated the files in {time.perf_counter() - started:.1f} s", flush=True)
        db = open_database(path)
        try:
            init(db)
            for kind, name, allow_new in INGEST_ORDER:
                started = time.perf_counter()
                ingest(db, kind, files / name, options=Options(allow_new=allow_new))
                print(f"ingest {kind}: {time.perf_counter() - started:.1f} s", flush=True)
            if events:
                started = time.perf_counter()
                import_logins(db, [files / LOG_FILE], "okta", directory=files / DIRECTORY_FILE)
                print(f"import-logins: {time.perf_counter() - started:.1f} s", flush=True)
        finally:
            db.close()


# ---------------------------------------------------------------------------
# What to time


@dataclass
class Query:
    """One query to time, and what was measured."""

    label: str
    sql: str
    params: dict[str, str]
    rows: int = 0
    served_ms: float = math.nan
    all_rows_ms: float = math.nan
    without_ms: float | None = None  # None: not run; inf: stopped at the cap


def queries(conn: sqlite3.Connection, db_path: Path) -> list[Query]:
    """Every report (defaults, then one team or one tool), every dashboard filter and chart query."""
    # The largest team of the organisation chart (people a sign-in log could
    # not place are in a team of their own, with no headcount).
    team = conn.execute(
        "select slug from teams where headcount is not null order by headcount desc, slug limit 1"
    ).fetchone()
    tool = conn.execute("select tool from tool_blast_radius order by downstream_tools desc, tool limit 1").fetchone()
    found = []
    for report in REPORTS.values():
        # As the site serves it: with the names beside the slugs.
        blank = {name: "" for name in sql_parameters(report.named_sql)}
        found.append(Query(report.name, report.named_sql, blank))
        if "team" in blank and team:
            found.append(Query(f"{report.name} team={team[0]}", report.named_sql, {**blank, "team": team[0]}))
        if "tool" in blank and tool:
            found.append(Query(f"{report.name} tool={tool[0]}", report.named_sql, {**blank, "tool": tool[0]}))
    dashboards = site_metadata(db_path)["plugins"].get(DASHBOARDS_PLUGIN) or {}
    for dashboard_name, dashboard in dashboards.items():
        for kind, items in (("filter", dashboard.get("filters") or {}), ("chart", dashboard.get("charts") or {})):
            for name, item in items.items():
                if "query" in item:
                    sql = item["query"]
                    blank = {key: "" for key in sql_parameters(sql)}
                    found.append(Query(f"{kind} {dashboard_name}/{name}", sql, blank))
    return found


# ---------------------------------------------------------------------------
# Timing


class Interrupted(Exception):
    """A query ran past its cap."""


def timed(conn: sqlite3.Connection, query: Query, *, rows: int | None, cap: float | None = None) -> tuple[float, int]:
    """Seconds to run ``query`` and read ``rows`` of its rows (None: all), and how many it read.

    With ``cap``, SQLite is interrupted after that many seconds.
    """
    started = time.perf_counter()
    if cap is not None:
        conn.set_progress_handler(lambda: int(time.perf_counter() - started > cap), 10_000)
    try:
        cursor = conn.execute(query.sql, query.params)
        read = cursor.fetchall() if rows is None else cursor.fetchmany(rows)
        cursor.close()
    except sqlite3.OperationalError as error:
        if "interrupted" in str(error):
            raise Interrupted from None
        raise
    finally:
        conn.set_progress_handler(None, 0)
    return time.perf_counter() - started, len(read)


def median_ms(conn: sqlite3.Connection, query: Query, runs: int, *, rows: int | None) -> tuple[float, int]:
    """The median of ``runs`` runs in ms (after one that warms the cache), and the rows read."""
    timed(conn, query, rows=rows)
    times = []
    for _ in range(runs):
        seconds, count = timed(conn, query, rows=rows)
        times.append(seconds)
    return statistics.median(times) * 1000, count


def shadow_derived_tables(conn: sqlite3.Connection) -> None:
    """TEMP views named after the derived tables, computing them from the base tables.

    TEMP objects come first in SQLite's name resolution, so every report, and
    every derived table's SQL that reads an earlier one, now reads a view.
    """
    for name in DERIVED_TABLES:
        conn.execute(f"create temp view [{name}] as {(SQL_DIR / 'derived' / f'{name}.sql').read_text()}")


def measure(db_path: Path, *, runs: int, cap: float | None) -> list[Query]:
    """Time every query on ``db_path``: served and all rows, then (unless ``cap`` is None) without derived tables."""
    conn = sqlite3.connect(db_path)
    try:
        for table in ("usage", "user_activity", *DERIVED_TABLES):
            print(f"  {table}: {conn.execute(f'select count(*) from [{table}]').fetchone()[0]:,} rows")
        found = queries(conn, db_path)
        for query in found:
            query.served_ms, _ = median_ms(conn, query, runs, rows=SERVED_ROWS)
            query.all_rows_ms, query.rows = median_ms(conn, query, runs, rows=None)
        if cap is not None:
            shadow_derived_tables(conn)
            for query in found:
                try:
                    query.without_ms = timed(conn, query, rows=SERVED_ROWS, cap=cap)[0] * 1000
                except Interrupted:
                    query.without_ms = math.inf
    finally:
        conn.close()
    return found


def print_table(found: list[Query], *, target: float, cap: float | None) -> int:
    """The results, one query a line; returns how many missed the target."""
    width = max(len(query.label) for query in found)
    print(f"{'query':<{width}}  {'rows':>7}  {'served ms':>9}  {'all rows ms':>11}  {'without ms':>10}  "
          f"served under {target:g} ms")
    for query in found:
        if query.without_ms is None:
            without = "-"
        elif math.isinf(query.without_ms):
            without = f">{cap:g} s"
        else:
            without = f"{query.without_ms:.0f}"
        verdict = "pass" if query.served_ms < target else "FAIL"
        print(f"{query.label:<{width}}  {query.rows:>7,}  {query.served_ms:>9.1f}  {query.all_rows_ms:>11.1f}  "
              f"{without:>10}  {verdict}")
    missed = sum(query.served_ms >= target for query in found)
    print(f"{len(found) - missed} of {len(found)} queries served in under {target:g} ms "
          f"(median of runs; first {SERVED_ROWS:,} rows, as Datasette reads them)")
    return missed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="Use this database; build it there first if it does not exist.")
    parser.add_argument("--teams", type=int, default=500)
    parser.add_argument("--tools", type=int, default=2000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--users", type=int, default=50_000, help="People in the organisation.")
    parser.add_argument("--events", type=int, default=11_000_000,
                        help="Okta log events; each is about 0.45 person-months of activity.")
    parser.add_argument("--runs", type=int, default=7, help="Runs per query with derived tables (the median is shown).")
    parser.add_argument("--cap", type=float, default=5,
                        help="Seconds before a query without derived tables is stopped.")
    parser.add_argument("--target", type=float, default=50, help="Milliseconds a served query must stay under.")
    parser.add_argument("--no-shadow", action="store_true", help="Skip the runs without derived tables.")
    args = parser.parse_args()

    scratch = None
    db_path = args.db
    if db_path is None:
        scratch = Path(tempfile.mkdtemp(prefix="bench-reports-"))
        db_path = scratch / "enterprise.db"
    try:
        if not db_path.exists():
            started = time.perf_counter()
            build(db_path, teams=args.teams, tools=args.tools, months=args.months, users=args.users, events=args.events)
            print(f"built {db_path.name} in {time.perf_counter() - started:.1f} s")
        cap = None if args.no_shadow else args.cap
        started = time.perf_counter()
        found = measure(db_path, runs=args.runs, cap=cap)
        print(f"timed {len(found)} queries in {time.perf_counter() - started:.0f} s")
        print_table(found, target=args.target, cap=cap)
    finally:
        if scratch is not None:
            shutil.rmtree(scratch)


if __name__ == "__main__":
    main()
