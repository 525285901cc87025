"""Run every benchmark at enterprise scale, on one generated organisation, and print every figure.

`make bench` runs this. It generates one organisation with `stack-tracker
generate` (500 teams, 2,000 tools, 36 months: about 1,000,000 usage rows; 25,000
people and a 10,000,000-event Okta log) into ``--workdir``, then runs each
script in bench/ on it, in this order, each printing its figures beside the
baseline it measured in the same run:

1. ingest_usage.py   the usage file vs sqlite3 executemany (and sqlite-utils insert --csv)
2. refresh.py        the derived tables, whole and by month, vs one aggregate scan
3. import_logins.py  an Okta log of 2,000,000 events into a 50-team organisation, vs DuckDB and an orjson loop
4. import_logins.py  the enterprise's Okta log, vs the same; leaves the enterprise database
5. reports.py        every report and chart query on that database, with and without derived tables
6. publish.py        publish of that database: time and size; leaves the site
7. site_load.py      a bounded load on that site vs /-/versions.json

Everything printed is also written to ``<workdir>/results.txt``. The generated
files are reused by a later run with the same sizes (``--fresh`` makes them again).

    python bench/all.py                                     # enterprise scale
    python bench/all.py --workdir /tmp/small --teams 12 --tools 60 --months 6 --users 300 --events 20000
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, default=BENCH / ".work", help="where the data and results go")
    parser.add_argument("--teams", type=int, default=500)
    parser.add_argument("--tools", type=int, default=2000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--users", type=int, default=25_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--requests", type=int, default=300, help="site load: requests per page")
    parser.add_argument("--fresh", action="store_true", help="generate the organisation again even if it is there")
    args = parser.parse_args()

    work = args.workdir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    results = open(work / "results.txt", "w", encoding="utf-8")
    started = time.perf_counter()

    def say(text: str) -> None:
        print(text, flush=True)
        results.write(text + "\n")
        results.flush()

    def step(title: str, *command: object) -> None:
        say(f"\n## {title}\n")
        began = time.perf_counter()
        process = subprocess.Popen([sys.executable, *map(str, command)], stdout=subprocess.PIPE, text=True)
        for line in process.stdout:
            say(line.rstrip("\n"))
        if process.wait():
            say(f"FAILED with exit status {process.returncode}")
            raise SystemExit(process.returncode)
        say(f"\n({title}: {time.perf_counter() - began:.0f} s)")

    org, sizes = work / "org", {key: getattr(args, key) for key in ("teams", "tools", "months", "users", "events")}
    marker = work / "org.json"
    if args.fresh or not marker.exists() or json.loads(marker.read_text()) != sizes:
        shutil.rmtree(org, ignore_errors=True)
        marker.unlink(missing_ok=True)
        step("generate", "-m", "stack_tracker", "generate", org, *[f"--{key}={value}" for key, value in sizes.items()])
        marker.write_text(json.dumps(sizes))
    else:
        say(f"reusing the organisation in {org} ({sizes})")

    enterprise, site = work / "enterprise.db", work / "site"
    step("ingest", BENCH / "ingest_usage.py", "--files", org)
    step("refresh", BENCH / "refresh.py", "--files", org)
    # The comparison with DuckDB: 2,000,000 events, 50 teams (smaller if the run is).
    small = {"events": min(args.events, 2_000_000), "users": min(args.users, 10_000), "teams": min(args.teams, 50),
             "tools": min(args.tools, 200), "months": min(args.months, 3)}
    step("sign-in import, 50 teams", BENCH / "import_logins.py", *[f"--{key}={value}" for key, value in small.items()])
    step("sign-in import", BENCH / "import_logins.py", "--files", org, "--keep-db", enterprise)
    step("reports", BENCH / "reports.py", "--db", enterprise, "--runs", 5, "--cap", 3)
    step("publish", BENCH / "publish.py", "--db", enterprise, "--keep", site)
    step("site under load", BENCH / "site_load.py", "--site", site, "--requests", args.requests)
    say(f"\nall benchmarks: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
