"""How fast does `stack-tracker import-logins` take an Okta log of 2,000,000 events, and in how much memory?

The log is what `stack-tracker generate` writes: an Okta System Log in JSON
Lines (about 1.4 KB a line, in time order, with a real log's mix: successful
and failed SSO sign-ins, sessions, MFA, policy evaluations …) for an
organisation of 50 teams, 200 tools and 10,000 people over 3 months, with its
people directory. The organisation's inventory is ingested first, untimed.

The import is compared, in the same run and on the same file, with two baselines:

- what a data engineer would reach for: DuckDB (`read_json`, 2 threads), asked
  how many people used each application each month (group by application and
  month, count distinct people) and how many sign-ins there were. The import
  must find exactly the same person-app-months and sign-ins: checked on every
  run. DuckDB is the optional 'scale' extra; without it this baseline is left out;
- reading each line and parsing it with orjson, counting the lines.

Beside them, a floor: the rows the import keeps (every person's days and months,
and the measured usage) written again bare into empty tables of the same schema,
one `executemany` per table: what storing them costs whatever reads the log.

Each runs in a process of its own, which reports its own time and peak memory
(resident high-water mark); the file is read once beforehand, so each finds it
in the page cache.

    python bench/import_logins.py                      # 2,000,000 events (a 2.7 GB log)
    python bench/import_logins.py --events 200000      # a quick check
"""

from __future__ import annotations

import argparse
import importlib.util
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

# The question a data engineer would answer with DuckDB, with the same rules as the import
# (successful SSO sign-ins of a User, to the first AppInstance target), on UTC months.
DUCKDB = PEAK + '''
import json, sys, time
import duckdb
started = time.perf_counter()
connection = duckdb.connect(config={"threads": 2})
connection.execute("set enable_progress_bar = false")
connection.execute("set TimeZone = 'UTC'")
person_app_months, events = connection.execute("""
    select sum(people), sum(events) from (
      select app, month, count(distinct login) as people, count(*) as events from (
        select coalesce(nullif(app.displayName, ''), app.alternateId) as app, login, month from (
          select list_filter(target, lambda t: t.type = 'AppInstance')[1] as app, actor.alternateId as login,
                 strftime(published::timestamptz, '%Y-%m') as month
          from read_json(?, format = 'newline_delimited')
          where eventType = 'user.authentication.sso' and outcome.result = 'SUCCESS' and actor.type = 'User'
            and actor.alternateId not in ('', 'unknown')))
      where coalesce(app, '') <> ''
      group by app, month)""", [sys.argv[1]]).fetchone()
print(json.dumps({"seconds": time.perf_counter() - started, "peak_mib": peak_mib(), "version": duckdb.__version__,
                  "person_app_months": int(person_app_months or 0), "sign_ins": int(events or 0)}))
'''

# What any engine would pay to keep what the import keeps: the rows it wrote to the
# tables of sign-ins, written again bare (one executemany per table, one
# transaction) into empty tables of the same schema, indexes included, in a new
# file; read from the imported database beforehand, untimed.
WRITE_FLOOR = PEAK + """
import json, pathlib, sqlite3, sys, time
source = sqlite3.connect(sys.argv[1])
tables = ("user_activity_days", "user_activity", "usage")
rows = {table: source.execute(f"select * from {table}" + (" where source = 'sso'" if table == "usage" else "")).fetchall()
        for table in tables}
schema = [sql for (sql,) in source.execute(
    "select sql from sqlite_master where tbl_name in (?, ?, ?) and sql is not null order by type = 'index'", tables)]
for suffix in ("", "-wal", "-shm"):
    pathlib.Path(sys.argv[2] + suffix).unlink(missing_ok=True)
target = sqlite3.connect(sys.argv[2], isolation_level=None)
target.execute("pragma journal_mode = wal")
for statement in schema:
    target.execute(statement)
started = time.perf_counter()
target.execute("begin")
for table, values in rows.items():
    if values:
        target.executemany(f"insert into {table} values ({', '.join('?' * len(values[0]))})", values)
target.execute("commit")
print(json.dumps({"seconds": time.perf_counter() - started, "rows": {table: len(values) for table, values in rows.items()}}))
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
    return json.loads(output.strip().splitlines()[-1])


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
    parser.add_argument("--events", type=int, default=2_000_000)
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
        duck = child(DUCKDB, str(log)) if importlib.util.find_spec("duckdb") else None
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
        if duck:
            print(f"baseline DuckDB {duck['version']}, 2 threads: {duck['seconds']:6.1f} s  {events / duck['seconds']:>10,.0f} "
                  f"events/s  peak {duck['peak_mib']:5.0f} MiB  (read_json; people per app and month)")
            print(f"ratio to DuckDB:               {measured['seconds'] / duck['seconds']:8.2f}x")
        print(f"ratio to the orjson loop:      {measured['seconds'] / baseline['seconds']:8.2f}x")
        floor = child(WRITE_FLOOR, str(database), str(directory / "floor.db"))
        written = ", ".join(f"{count:,} {table}" for table, count in floor["rows"].items())
        print(f"floor: the import's rows written bare: {floor['seconds']:5.1f} s  ({written}; executemany into empty "
              "tables of the same schema, one transaction)")
        if duck:
            print(f"floor ratio to DuckDB:         {floor['seconds'] / duck['seconds']:8.2f}x  (what keeping these rows in "
                  "SQLite costs on its own, before any file is read)")
        skipped = ", ".join(f"{count:,} {reason}" for reason, count in sorted(measured["skipped"].items()))
        print(f"counted: {measured['sign_ins']:,} sign-ins by {measured['people']:,} people to {measured['tools']} tools, "
              f"{measured['person_months']:,} person-months; skipped {skipped}")
        if duck:
            # Into a database that had no sign-ins, every person-month the import writes is new.
            same = (duck["person_app_months"], duck["sign_ins"]) == (measured["person_months"], measured["sign_ins"])
            print(f"same counts as DuckDB:         {'yes' if same else 'NO'} ({duck['person_app_months']:,} person-app-months, "
                  f"{duck['sign_ins']:,} sign-ins)")
            assert same, (duck, measured)
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
