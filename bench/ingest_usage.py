"""How fast does `stack-tracker ingest usage` load 1,000,000 rows, and in how much memory?

Compared, in the same run and on the same file, against:
- the baseline: plain sqlite3 `executemany` of the same parsed rows in one
  transaction, into a table of the same shape (timed with and without the
  CSV parsing that produced the rows);
- for reference, `sqlite-utils insert --csv` of the same file.

Each measurement runs in its own process so that its peak memory (max RSS) is
its own.

    python bench/ingest_usage.py                 # 1,000,000 rows
    python bench/ingest_usage.py --rows 20000    # a quick check
"""

from __future__ import annotations

import argparse
import csv
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TEAMS, TOOLS, MONTHS = 500, 2000, 36


def write_inputs(directory: Path, rows: int) -> Path:
    """Teams, tools and a usage file of ``rows`` distinct team × tool × month rows."""
    with open(directory / "teams.csv", "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["team"])
        writer.writerows([f"Team {t:03d}"] for t in range(TEAMS))
    with open(directory / "tools.csv", "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["tool", "annual cost", "licenses"])
        writer.writerows([f"Tool {t:04d}", f"${1000 * (t % 50 + 1):,}", 100] for t in range(TOOLS))
    pairs = -(-rows // MONTHS)
    usage = directory / "usage.csv"
    with open(usage, "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["Team Name", "Application", "Month", "Licenses", "MAU"])
        written = 0
        for month in range(MONTHS):
            period = f"{2024 + month // 12}-{month % 12 + 1:02d}"
            for pair in range(pairs):
                if written == rows:
                    break
                team, tool = pair % TEAMS, (pair // TEAMS * 37 + pair) % TOOLS
                seats = 5 + pair % 40
                writer.writerow([f"Team {team:03d}", f"Tool {tool:04d}", period, seats, (pair * 7 + month) % (seats + 1)])
                written += 1
    return usage


def child(code: str, *args: str) -> tuple[list[str], float]:
    """Run ``code`` in a fresh Python; return what it printed and its peak memory in MiB.

    RUSAGE_CHILDREN reports the largest child so far, so measure the
    smaller-memory run (the ingest) first.
    """
    output = subprocess.run([sys.executable, "-c", code, *args], check=True, capture_output=True, text=True).stdout
    return output.split(), resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


INGEST = """
import sys, time
from stack_tracker.ingest import ingest
from stack_tracker.schema import open_database
db = open_database(sys.argv[1])
started = time.perf_counter()
ingest(db, "usage", sys.argv[2])
print(f"{time.perf_counter() - started:.3f}")
"""

BASELINE = """
import csv, sqlite3, sys, time
started = time.perf_counter()
with open(sys.argv[2], newline="") as f:
    reader = csv.reader(f)
    next(reader)
    rows = [(t.lower().replace(" ", "-"), a.lower().replace(" ", "-"), p, "reported", int(s), int(m)) for t, a, p, s, m in reader]
parsed = time.perf_counter()
conn = sqlite3.connect(sys.argv[1])
conn.execute("create table usage_plain (team text, tool text, period text, source text, seats integer, active_users integer, primary key (team, tool, period, source))")
with conn:
    conn.executemany("insert into usage_plain values (?, ?, ?, ?, ?, ?)", rows)
print(f"{parsed - started:.3f} {time.perf_counter() - parsed:.3f}")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="Write the inputs and databases here and keep them.")
    args = parser.parse_args()

    directory = Path(args.keep or tempfile.mkdtemp(prefix="bench-ingest-"))
    directory.mkdir(parents=True, exist_ok=True)
    try:
        usage = write_inputs(directory, args.rows)
        size_mib = usage.stat().st_size / 2**20
        print(f"usage.csv: {args.rows:,} rows, {size_mib:.1f} MiB")

        from stack_tracker.ingest import ingest
        from stack_tracker.schema import open_database

        template = directory / "template.db"
        db = open_database(template)
        ingest(db, "teams", directory / "teams.csv")
        ingest(db, "tools", directory / "tools.csv")
        db.close()

        target = directory / "ingest.db"
        shutil.copy(template, target)
        [ingest_seconds], ingest_mib = child(INGEST, str(target), str(usage))
        ingest_seconds = float(ingest_seconds)
        timings, _ = child(BASELINE, str(directory / "baseline.db"), str(usage))
        parse_seconds, executemany_seconds = map(float, timings)

        reference_db = directory / "sqlite-utils.db"
        sqlite_utils_cli = Path(sys.executable).with_name("sqlite-utils")
        started = time.perf_counter()
        subprocess.run([str(sqlite_utils_cli), "insert", str(reference_db), "usage", str(usage), "--csv"],
                       check=True, capture_output=True)
        sqlite_utils_seconds = time.perf_counter() - started

        rate = args.rows / ingest_seconds
        print(f"stack-tracker ingest usage:       {ingest_seconds:7.2f} s  ({rate:,.0f} rows/s, peak {ingest_mib:.0f} MiB, "
              "validation, name resolution and upsert included)")
        print(f"baseline executemany only:        {executemany_seconds:7.2f} s  (rows parsed beforehand, one transaction)")
        print(f"baseline csv parse + executemany: {parse_seconds + executemany_seconds:7.2f} s")
        print(f"sqlite-utils insert --csv:        {sqlite_utils_seconds:7.2f} s  (reference)")
        print(f"ratio to executemany only:        {ingest_seconds / executemany_seconds:7.2f}x")
        print(f"ratio to parse + executemany:     {ingest_seconds / (parse_seconds + executemany_seconds):7.2f}x")
    finally:
        if not args.keep:
            shutil.rmtree(directory)


if __name__ == "__main__":
    main()
