"""How fast does `stack-tracker ingest usage` load 1,000,000 rows, and in how much memory?

The files come from `stack_tracker.generate` (500 teams, 2,000 tools and 36
months by default: about 1,000,000 usage rows, with the display names, alias
spellings and month formats people write). The inventory (teams, tools,
aliases, tool capabilities, needs) is loaded first, as the sample's order has
it; then the usage file is timed: in total, split into the load (read,
validate, resolve names, write) and the refresh of the derived report tables
that follows it in the same transaction.

Compared, in the same run and on the same file, against:
- the baseline: plain sqlite3 `executemany` of the same rows, parsed
  beforehand, in one transaction, into a table of the same columns and key
  (timed with and without the CSV parsing that produced the rows);
- the same `executemany` into stack-tracker's own `usage` table (its indexes,
  WAL), which is where the rows really go;
- for reference, `sqlite-utils insert --csv` of the same file.

Each measurement runs in its own process and reports its own peak memory
(max RSS); CPU seconds are shown beside the wall-clock ones, as the wall clock
of a shared machine also counts other people's work.

    python bench/ingest_usage.py                                  # about 1,000,000 rows
    python bench/ingest_usage.py --teams 20 --tools 80 --months 6  # a quick check
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD_PRELUDE = """
import resource, sys, time
def finish(*figures):
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # Full precision: at a test's size a figure is a millisecond or less, and a ratio of rounded ones could divide by zero.
    print(*[repr(float(figure)) for figure in figures], f"{peak:.1f}")
"""

# The refresh is timed by wrapping the function the ingest calls for it.
INGEST = CHILD_PRELUDE + """
import stack_tracker.inputs.runs as pipeline
from stack_tracker.database import open_database
from stack_tracker.inputs.ingest import Options, ingest
refresh = [0.0, 0.0]
def timed_refresh(*args, **kwargs):
    wall, cpu = time.perf_counter(), time.process_time()
    pipeline_refresh(*args, **kwargs)
    refresh[0] += time.perf_counter() - wall
    refresh[1] += time.process_time() - cpu
pipeline_refresh, pipeline.refresh_derived = pipeline.refresh_derived, timed_refresh
db = open_database(sys.argv[1])
wall, cpu = time.perf_counter(), time.process_time()
ingest(db, "usage", sys.argv[2], options=Options(allow_new=True))
finish(time.perf_counter() - wall, time.process_time() - cpu, *refresh)
"""

# Rows parsed as simply as can be: names lower-cased and hyphenated, months
# as written, numbers with int(). No validation, no name resolution.
PARSE = """
import csv
started, cpu_started = time.perf_counter(), time.process_time()
with open(sys.argv[2], newline="", encoding="utf-8") as f:
    reader = csv.reader(f)
    next(reader)
    rows = [(t.lower().replace(" ", "-"), a.lower().replace(" ", "-"), p, "reported", int(s), int(m), int(u), 1)
            for t, a, p, s, m, u in reader]
parsed, cpu_parsed = time.perf_counter(), time.process_time()
"""

BASELINE = CHILD_PRELUDE + PARSE + """
import sqlite3
conn = sqlite3.connect(sys.argv[1])
conn.execute("create table usage_plain (team text, tool text, period text, source text, seats integer, "
             "active_users integer, usage_level integer, ingest_id integer, primary key (team, tool, period, source))")
with conn:
    conn.executemany("insert into usage_plain values (?, ?, ?, ?, ?, ?, ?, ?)", rows)
finish(parsed - started, cpu_parsed - cpu_started, time.perf_counter() - parsed, time.process_time() - cpu_parsed)
"""

# The same rows into the table the ingest writes: its three indexes, WAL.
OWN_TABLE = CHILD_PRELUDE + PARSE + """
from stack_tracker.database import open_database
db = open_database(sys.argv[1])
conn = db.conn
wall, cpu = time.perf_counter(), time.process_time()
with conn:
    conn.executemany("insert into usage (team, tool, period, source, seats, active_users, usage_level, ingest_id) "
                     "values (?, ?, ?, ?, ?, ?, ?, ?)", rows)
finish(time.perf_counter() - wall, time.process_time() - cpu)
"""


def child(code: str, *args: str) -> list[float]:
    """Run ``code`` in a fresh Python; return the figures it printed, its peak memory in MiB last."""
    output = subprocess.run([sys.executable, "-c", code, *args], check=True, capture_output=True, text=True).stdout
    return [float(figure) for figure in output.split()]


def ratio(ours: float, theirs: float) -> float:
    """``ours / theirs``; a baseline too quick for the clock to see (a tiny run) counts as a microsecond."""
    return ours / max(theirs, 1e-6)


def build_inventory(directory: Path, teams: int, tools: int, months: int,
                    files: Path | None = None) -> tuple[Path, Path, int]:
    """Generate the files (or take those in ``files``) and load all but the usage into a template database."""
    from stack_tracker.generate import INGEST_ORDER, USAGE_FILE, generate
    from stack_tracker.inputs.ingest import Options, ingest
    from stack_tracker.database import open_database
    from stack_tracker.inputs.taxonomy import init

    if files is None:
        files = generate(directory / "files", teams=teams, tools=tools, months=months, users=teams * 50).outdir
    template = directory / "template.db"
    db = open_database(template)
    try:
        init(db)
        for kind, name, allow_new in INGEST_ORDER:
            if name != USAGE_FILE and kind != "integrations":
                ingest(db, kind, files / name, options=Options(allow_new=allow_new))
    finally:
        db.close()
    usage = files / USAGE_FILE
    with open(usage, "rb") as lines:
        rows = sum(1 for _ in lines) - 1  # generate quotes no line breaks
    return template, usage, rows


def fresh_copy(template: Path, target: Path) -> Path:
    shutil.copy(template, target)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teams", type=int, default=500)
    parser.add_argument("--tools", type=int, default=2000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--keep", type=Path, help="Write the files and databases here and keep them.")
    parser.add_argument("--files", type=Path, help="Use the files `stack-tracker generate` wrote here instead of generating them.")
    args = parser.parse_args()

    directory = Path(args.keep or tempfile.mkdtemp(prefix="bench-ingest-"))
    directory.mkdir(parents=True, exist_ok=True)
    try:
        template, usage, rows = build_inventory(directory, args.teams, args.tools, args.months, args.files)
        size_mib = usage.stat().st_size / 2**20
        print(f"usage.csv: {rows:,} rows, {size_mib:.1f} MiB ({args.teams:,} teams, {args.tools:,} tools, {args.months} months)")

        total, total_cpu, refresh, refresh_cpu, ingest_mib = child(INGEST, str(fresh_copy(template, directory / "ingest.db")), str(usage))
        load, load_cpu = total - refresh, total_cpu - refresh_cpu
        parse, parse_cpu, executemany, executemany_cpu, baseline_mib = child(BASELINE, str(directory / "baseline.db"), str(usage))
        own, own_cpu, own_mib = child(OWN_TABLE, str(fresh_copy(template, directory / "own-table.db")), str(usage))

        sqlite_utils_cli = Path(sys.executable).with_name("sqlite-utils")
        started = time.perf_counter()
        subprocess.run([str(sqlite_utils_cli), "insert", str(directory / "sqlite-utils.db"), "usage", str(usage), "--csv"],
                       check=True, capture_output=True)
        sqlite_utils_seconds = time.perf_counter() - started

        def line(label: str, seconds: float, cpu: float | None = None, note: str = "") -> None:
            shown_cpu = f"  (cpu {cpu:6.2f} s)" if cpu is not None else " " * 17
            print(f"{label:<40} {seconds:7.2f} s{shown_cpu}  {note}".rstrip())

        line("stack-tracker ingest usage, total:", total, total_cpu,
             f"{rows / total:,.0f} rows/s, peak {ingest_mib:.0f} MiB")
        line("  load (read, validate, resolve, write):", load, load_cpu)
        line("  refresh of the derived report tables:", refresh, refresh_cpu)
        line("baseline executemany only:", executemany, executemany_cpu,
             f"rows parsed beforehand, one transaction, peak {baseline_mib:.0f} MiB")
        line("baseline csv parse + executemany:", parse + executemany, parse_cpu + executemany_cpu)
        line("executemany into the usage table:", own, own_cpu, f"its indexes and WAL, peak {own_mib:.0f} MiB")
        line("sqlite-utils insert --csv:", sqlite_utils_seconds, None, "reference")
        for label, ours, theirs in (
            ("ratio load to executemany:", load, executemany),
            ("ratio total to executemany:", total, executemany),
            ("ratio total to parse + executemany:", total, parse + executemany),
        ):
            print(f"{label:<40} {ratio(ours, theirs):7.2f}x")
        print(f"{'ratio total to executemany, cpu:':<40} {ratio(total_cpu, executemany_cpu):7.2f}x")
    finally:
        if not args.keep:
            shutil.rmtree(directory)


if __name__ == "__main__":
    main()
