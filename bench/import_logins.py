"""How fast does `stack-tracker import-logins` take 10,000,000 Okta events, and in how much memory?

The log is what `stack-tracker generate` writes: an Okta System Log in JSON
Lines (about 1.4 KB a line, in time order, with a real log's mix: successful
and failed SSO sign-ins, sessions, MFA, policy evaluations …) for an
organisation of 50 teams, 200 tools and 10,000 people over 3 months, with its
people directory. The organisation's inventory is ingested first, untimed.

The import is compared, in the same run and on the same file, with a baseline
that only reads each line and parses it with the fastest JSON parser there is
(orjson), counting the lines. Each runs in a process of its own, which reports
its own time and peak memory (resident high-water mark); the file is read once
beforehand, so both find it in the page cache.

    python bench/import_logins.py                      # 10,000,000 events (a 13 GiB log)
    python bench/import_logins.py --events 200000      # a quick check
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SECRET = "bench-secret-0123456789abcdef"

# A child's peak memory: VmHWM, the high-water mark of its own address space.
# (ru_maxrss would carry over the parent's, which a fork copies before exec.)
PEAK = """
def peak_mib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
"""

IMPORT = PEAK + """
import json, sys, time
from stack_tracker.database import open_database
from stack_tracker.inputs.logins import import_logins
db = open_database(sys.argv[1])
started = time.perf_counter()
[result] = import_logins(db, [sys.argv[2]], "okta", directory=sys.argv[3])
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "peak_mib": peak_mib(),
                  "sign_ins": result.sign_ins, "person_months": result.inserted, "people": result.people,
                  "tools": result.tools, "skipped": result.skipped, "created": result.created}))
"""

BASELINE = PEAK + """
import json, sys, time
from orjson import loads
started = time.perf_counter()
count = 0
with open(sys.argv[1], "rb") as lines:
    for line in lines:
        loads(line)
        count += 1
print(json.dumps({"seconds": time.perf_counter() - started, "events": count,
                  "peak_mib": peak_mib()}))
"""


def child(code: str, *args: str) -> dict:
    """Run ``code`` in a fresh Python and return the JSON it prints (its own timings and peak memory)."""
    environment = dict(os.environ, STACK_TRACKER_SECRET=SECRET)
    output = subprocess.run([sys.executable, "-c", code, *args], check=True, capture_output=True, text=True, env=environment).stdout
    return json.loads(output)


def prepare(directory: Path, *, teams: int, tools: int, months: int, users: int, events: int,
            files: Path | None = None) -> tuple[Path, Path, Path]:
    """Generate the organisation and its log (or take those `generate` wrote in ``files``); load the
    organisation into a new database. Returns (database, log, directory file)."""
    from stack_tracker.generate import DIRECTORY_FILE, INGEST_ORDER, LOG_FILE, generate
    from stack_tracker.inputs.ingest import Options, ingest
    from stack_tracker.database import open_database
    from stack_tracker.inputs.taxonomy import init

    started = time.perf_counter()
    if files is None:
        files = generate(directory / "org", teams=teams, tools=tools, months=months, users=users, events=events, seed=1,
                         force=True).outdir
        made = f"{events:,} events, generated in {time.perf_counter() - started:.0f} s"
    else:
        made = f"from {files}"
    log = files / LOG_FILE
    size = log.stat().st_size
    print(f"okta.jsonl: {made}, {size / 2**20:,.0f} MiB", flush=True)
    database = directory / "logins.db"
    for suffix in ("", "-wal", "-shm", ".key"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    db = open_database(database)
    init(db)
    for kind, name, allow_new in INGEST_ORDER:
        ingest(db, kind, files / name, options=Options(allow_new=allow_new))
    db.close()
    return database, log, files / DIRECTORY_FILE


def warm(path: Path) -> None:
    """Read ``path`` once, so that neither measurement pays for the disk."""
    with open(path, "rb") as file:
        while file.read(1 << 24):
            pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--teams", type=int, default=50)
    parser.add_argument("--tools", type=int, default=200)
    parser.add_argument("--months", type=int, default=3)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--keep", type=Path, help="Write the files and the database here and keep them.")
    parser.add_argument("--files", type=Path, help="Use the organisation and log `stack-tracker generate` wrote here "
                        "instead of generating them (the sizes above are then ignored).")
    parser.add_argument("--keep-db", type=Path, help="Keep the database the log was imported into at this path.")
    args = parser.parse_args()

    directory = Path(args.keep or tempfile.mkdtemp(prefix="bench-logins-"))
    directory.mkdir(parents=True, exist_ok=True)
    try:
        database, log, people = prepare(directory, teams=args.teams, tools=args.tools, months=args.months,
                                        users=args.users, events=args.events, files=args.files)
        warm(log)
        baseline = child(BASELINE, str(log))
        measured = child(IMPORT, str(database), str(log), str(people))
        events = baseline["events"]
        assert args.files or events == args.events, baseline
        rate, base_rate = events / measured["seconds"], events / baseline["seconds"]
        print(f"stack-tracker import-logins:   {measured['seconds']:8.1f} s  {rate:>10,.0f} events/s  "
              f"peak {measured['peak_mib']:5.0f} MiB  (read, filter, parse, pseudonymise, resolve, roll up, write, "
              "refresh the report tables)")
        print(f"baseline orjson parse + count: {baseline['seconds']:8.1f} s  {base_rate:>10,.0f} events/s  "
              f"peak {baseline['peak_mib']:5.0f} MiB")
        print(f"ratio to the baseline:         {measured['seconds'] / baseline['seconds']:8.2f}x")
        skipped = ", ".join(f"{count:,} {reason}" for reason, count in sorted(measured["skipped"].items()))
        print(f"counted: {measured['sign_ins']:,} sign-ins by {measured['people']:,} people to {measured['tools']} tools, "
              f"{measured['person_months']:,} person-months; skipped {skipped}")
        print(f"database: {database.stat().st_size / 2**20:,.0f} MiB")
        if args.keep_db:
            for suffix in ("-wal", "-shm"):
                Path(f"{args.keep_db}{suffix}").unlink(missing_ok=True)
            shutil.move(database, args.keep_db)
    finally:
        if not args.keep:
            shutil.rmtree(directory)


if __name__ == "__main__":
    main()
