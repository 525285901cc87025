"""How long does refreshing the derived report tables take at enterprise scale, whole and by month?

Builds a generated organisation (500 teams, 2,000 tools and 36 months by
default: about 1,000,000 usage rows) from `stack_tracker.generate`, loaded as
the sample is, and keeps one more month of usage aside in a file of its own.
Then times, each in its own process with its own peak memory:

- the baseline: one full aggregate scan of ``usage`` (rows, seats and active
  users per team, tool and month);
- a full refresh: every derived table rebuilt from the base tables;
- the ingest of the month kept aside: its load, and the refresh it runs,
  which replaces that month's rows only;
- on the same data, the tables built from usage rebuilt whole instead, and
  whether that gives the very rows the month's refresh gave.

CPU seconds are shown beside the wall-clock ones, as the wall clock of a
shared machine also counts other people's work.

    python bench/refresh.py                                  # about 1,000,000 usage rows
    python bench/refresh.py --teams 20 --tools 80 --months 6  # a quick check
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD_PRELUDE = """
import json, resource, sys, time
from stack_tracker.database import open_database
seconds_by_table = {}  # where the refresh timed spent its time, table by table
def finish(*figures):
    print("profile", json.dumps(seconds_by_table))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # Full precision: at a test's size a figure is a millisecond or less, and a ratio of rounded ones could divide by zero.
    print(*[repr(float(figure)) for figure in figures], f"{peak:.1f}")
def timed(work):
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - wall, time.process_time() - cpu
"""

SCAN = CHILD_PRELUDE + """
import sqlite3
conn = sqlite3.connect(sys.argv[1])
sql = '''select count(*), sum(rows), sum(seats), sum(active_users) from (
  select team, tool, period, count(*) as rows, sum(seats) as seats, sum(active_users) as active_users
  from usage group by team, tool, period)'''
finish(*timed(lambda: conn.execute(sql).fetchall()))
"""

FULL = CHILD_PRELUDE + """
from stack_tracker.database.derived import refresh_derived
db = open_database(sys.argv[1])
finish(*timed(lambda: refresh_derived(db, seconds_by_table=seconds_by_table)))
"""

# The ingest's refresh is timed by wrapping the function it calls for it.
# Then the tables built from usage are rebuilt whole and compared with what
# the month's refresh left.
MONTH = CHILD_PRELUDE + """
import stack_tracker.inputs.runs as pipeline
from stack_tracker.database.derived import DERIVED_INPUTS, DERIVED_TABLES, refresh_derived
from stack_tracker.inputs.ingest import Options, ingest
refresh = [0.0, 0.0]
def timed_refresh(*args, **kwargs):
    wall, cpu = timed(lambda: by_month(*args, **kwargs, seconds_by_table=seconds_by_table))
    refresh[0] += wall
    refresh[1] += cpu
by_month, pipeline.refresh_derived = pipeline.refresh_derived, timed_refresh
db = open_database(sys.argv[1])
total, total_cpu = timed(lambda: ingest(db, "usage", sys.argv[2], options=Options(allow_new=True)))
from_usage = [name for name in DERIVED_TABLES if "usage" in DERIVED_INPUTS[name]]
for name in from_usage:
    db.execute(f"create temp table [month_{name}] as select * from [{name}]")
whole, whole_cpu = timed(lambda: refresh_derived(db, changed={"usage"}))
differing = sum(
    db.execute(f"select count(*) from (select * from [{name}] except select * from temp.[month_{name}])").fetchone()[0]
    + db.execute(f"select count(*) from (select * from temp.[month_{name}] except select * from [{name}])").fetchone()[0]
    for name in from_usage
)
finish(total, total_cpu, *refresh, whole, whole_cpu, differing)
"""


def child(code: str, *args: str) -> tuple[list[float], dict[str, float]]:
    """Run ``code`` in a fresh Python; return the figures it printed (its peak memory in MiB last), and the
    seconds each derived table took in the refresh it timed."""
    output = subprocess.run([sys.executable, "-c", code, *args], check=True, capture_output=True, text=True).stdout
    *_, profile, figures = output.strip().splitlines()
    return [float(figure) for figure in figures.split()], json.loads(profile.removeprefix("profile "))


def split_last_month(usage: Path, history: Path, last: Path) -> tuple[int, int, str]:
    """Copy ``usage`` into two files: every month but the last, and the last. Returns their row counts and the month."""
    from stack_tracker.normalise import parse_period

    with open(usage, newline="", encoding="utf-8") as source:
        reader = csv.reader(source)
        header = next(reader)
        month_at = [column.lower() for column in header].index("month")
        newest = max({parse_period(row[month_at]) for row in reader})
    counts = [0, 0]
    with open(usage, newline="", encoding="utf-8") as source, \
            open(history, "w", newline="", encoding="utf-8") as old, open(last, "w", newline="", encoding="utf-8") as new:
        reader = csv.reader(source)
        next(reader)
        writers = [csv.writer(old), csv.writer(new)]
        for writer in writers:
            writer.writerow(header)
        for row in reader:
            is_last = parse_period(row[month_at]) == newest
            writers[is_last].writerow(row)
            counts[is_last] += 1
    return counts[0], counts[1], newest


def build(directory: Path, teams: int, tools: int, months: int,
          files: Path | None = None) -> tuple[Path, Path, int, int, str]:
    """Generate ``months`` + 1 months (or take the files in ``files``), load all but the last;
    return the database, the last month's file, row counts."""
    from stack_tracker.generate import INGEST_ORDER, USAGE_FILE, generate
    from stack_tracker.inputs.ingest import Options, ingest
    from stack_tracker.database import open_database
    from stack_tracker.inputs.taxonomy import init

    if files is None:
        files = generate(directory / "files", teams=teams, tools=tools, months=months + 1, users=teams * 50).outdir
    history, last = directory / "usage-history.csv", directory / "usage-last-month.csv"
    history_rows, last_rows, month = split_last_month(files / USAGE_FILE, history, last)
    template = directory / "enterprise.db"
    db = open_database(template)
    try:
        init(db)
        for kind, name, allow_new in INGEST_ORDER:
            ingest(db, kind, history if name == USAGE_FILE else files / name, options=Options(allow_new=allow_new))
    finally:
        db.close()
    return template, last, history_rows, last_rows, month


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teams", type=int, default=500)
    parser.add_argument("--tools", type=int, default=2000)
    parser.add_argument("--months", type=int, default=36, help="Months in the database before the one more.")
    parser.add_argument("--keep", type=Path, help="Write the files and databases here and keep them.")
    parser.add_argument("--files", type=Path, help="Use the files `stack-tracker generate` wrote here (their last month "
                        "is the one more) instead of generating them.")
    args = parser.parse_args()

    directory = Path(args.keep or tempfile.mkdtemp(prefix="bench-refresh-"))
    directory.mkdir(parents=True, exist_ok=True)
    try:
        template, last, history_rows, last_rows, month = build(directory, args.teams, args.tools, args.months, args.files)
        print(f"database: {history_rows:,} usage rows over the months before {month}; "
              f"one more month ({month}): {last_rows:,} rows")

        def copy(name: str) -> str:
            target = directory / name
            shutil.copy(template, target)
            return str(target)

        (scan, scan_cpu, scan_mib), _ = child(SCAN, copy("scan.db"))
        (full, full_cpu, full_mib), full_profile = child(FULL, copy("full.db"))
        (total, total_cpu, refresh, refresh_cpu, whole, whole_cpu, differing, month_mib), month_profile = child(
            MONTH, copy("month.db"), str(last))

        def line(label: str, seconds: float, cpu: float, note: str = "") -> None:
            print(f"{label:<42} {seconds:7.2f} s  (cpu {cpu:6.2f} s)  {note}".rstrip())

        line("baseline full aggregate scan of usage:", scan, scan_cpu, f"peak {scan_mib:.0f} MiB")
        line("full refresh, every derived table:", full, full_cpu, f"{full / max(scan, 1e-6):.1f}x the scan, peak {full_mib:.0f} MiB")
        line("ingest of one more month, total:", total, total_cpu, f"peak {month_mib:.0f} MiB")
        line("  load:", total - refresh, total_cpu - refresh_cpu)
        line("  refresh, that month only:", refresh, refresh_cpu, f"{refresh / max(scan, 1e-6):.2f}x the scan")
        line("same refresh done whole:", whole, whole_cpu, f"{whole / max(scan, 1e-6):.1f}x the scan")
        print(f"{'month refresh = whole refresh:':<42} {'yes' if differing == 0 else f'NO, {differing:.0f} rows differ':>7}")
        print("\nwhere the time goes, table by table (wall s; the month's refresh: the tables the month's usage feeds)")
        print(f"  {'derived table':<28} {'full':>8} {'month':>8}")
        for name in sorted(full_profile, key=full_profile.get, reverse=True):
            month_seconds = f"{month_profile[name]:8.3f}" if name in month_profile else f"{'-':>8}"
            print(f"  {name:<28} {full_profile[name]:8.3f} {month_seconds}")
    finally:
        if not args.keep:
            shutil.rmtree(directory)


if __name__ == "__main__":
    main()
