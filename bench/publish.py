"""How long does `stack-tracker publish` take on a database, and how big is what it writes?

Publishing copies the database, drops per-person rows, scrubs stray emails,
builds full-text indexes and statistics, vacuums, and writes the site files.
For reference, in the same run: a plain copy of the database file (the least
any publish must do) and SQLite's ``VACUUM INTO`` (a compacted copy).

    python bench/publish.py --db enterprise.db
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def size_of(directory: Path) -> tuple[int, int]:
    files = [path for path in directory.rglob("*") if path.is_file()]
    return sum(path.stat().st_size for path in files), len(files)


def mib(size: int) -> str:
    return f"{size / 2**20:,.1f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, required=True, help="the stack-tracker database to publish")
    parser.add_argument("--keep", type=Path, help="publish into this directory and keep it (default: a temporary one)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="publish-bench-") as scratch:
        scratch = Path(scratch)
        site = args.keep or scratch / "site"
        if site.exists():
            shutil.rmtree(site)
        source_size = args.db.stat().st_size

        started = time.perf_counter()
        shutil.copyfile(args.db, scratch / "copy.db")
        copy_seconds = time.perf_counter() - started
        (scratch / "copy.db").unlink()

        started = time.perf_counter()
        with sqlite3.connect(args.db) as db:
            db.execute("vacuum into ?", [str(scratch / "vacuumed.db")])
        vacuum_seconds = time.perf_counter() - started
        vacuumed_size = (scratch / "vacuumed.db").stat().st_size
        (scratch / "vacuumed.db").unlink()

        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "stack_tracker", "publish", str(args.db), str(site)],
                       check=True, capture_output=True, text=True)
        publish_seconds = time.perf_counter() - started
        total, files = size_of(site)
        published_db = (site / "stack.db").stat().st_size

    print(f"database published:          {args.db.name}, {mib(source_size)}")
    print(f"publish:                     {publish_seconds:.1f} s")
    print(f"published directory:         {mib(total)} in {files} files (stack.db {mib(published_db)}, "
          f"{published_db / source_size:.0%} of the source)")
    print(f"reference, file copy:        {copy_seconds:.1f} s")
    print(f"reference, VACUUM INTO:      {vacuum_seconds:.1f} s ({mib(vacuumed_size)})")
    print(f"publish / VACUUM INTO:       {publish_seconds / vacuum_seconds:.2f}x")


if __name__ == "__main__":
    main()
