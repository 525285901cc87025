"""How does the published site hold up under load?

Serves a published site (`stack-tracker publish`) with Datasette on 127.0.0.1
and sends a bounded load to each page a reader uses: the home page, a tool
page, a team page, every canned report, the dashboard and every chart's JSON.
The baseline is Datasette's own ``/-/versions.json`` (no query, a tiny
template-free response) on the same server in the same run. For each target:
the first (cold) request's time, then ``--requests`` requests, ``--concurrency``
at a time over keep-alive connections: p50, p95 and requests per second.
Target: every page's p95 within 3x of the baseline's p95.

    python bench/site_load.py --db enterprise.db            # publishes it first, then loads it
    python bench/site_load.py --site published/ --requests 3000

The load is bounded (requests x targets) and never leaves the loopback interface.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

import yaml

HOST = "127.0.0.1"


# ---------------------------------------------------------------------------
# A small HTTP/1.1 keep-alive client: enough for Datasette's responses, and
# light, so that the client's own work does not dominate the figures.


class Connection:
    def __init__(self, port: int):
        self.port = port
        self.reader = self.writer = None

    async def get(self, path: str) -> tuple[int, int]:
        """GET ``path``; returns (status, body bytes)."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\nConnection: keep-alive\r\n\r\n".encode())
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length, chunked, close = None, False, False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value:
                chunked = True
            elif name == "connection" and value == "close":
                close = True
        size = 0
        if chunked:
            while True:
                chunk = int((await self.reader.readline()).split(b";")[0], 16)
                await self.reader.readexactly(chunk + 2)
                size += chunk
                if chunk == 0:
                    break
        elif length is not None:
            size = len(await self.reader.readexactly(length))
        else:
            size = len(await self.reader.read())
            close = True
        if close:
            self.writer.close()
            self.reader = self.writer = None
        return status, size


async def load(port: int, path: str, requests: int, concurrency: int) -> dict:
    """``requests`` GETs of ``path``, ``concurrency`` at a time; latencies in ms."""
    latencies: list[float] = []
    failures: list[int] = []
    remaining = iter(range(requests))

    async def worker():
        connection = Connection(port)
        for _ in remaining:
            started = time.perf_counter()
            status, _ = await connection.get(path)
            latencies.append((time.perf_counter() - started) * 1000)
            if status != 200:
                failures.append(status)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "p50": statistics.median(latencies),
        "p95": latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))],
        "rps": requests / elapsed,
        "failures": len(failures),
    }


async def cold(port: int, path: str) -> tuple[float, int, int]:
    started = time.perf_counter()
    status, size = await Connection(port).get(path)
    return (time.perf_counter() - started) * 1000, status, size


# ---------------------------------------------------------------------------


def publish(db: Path, outdir: Path) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "stack_tracker", "publish", str(db), str(outdir)], check=True,
                   capture_output=True)
    return time.perf_counter() - started


def targets(site: Path) -> list[tuple[str, str]]:
    """(label, path) for each page a reader uses, read from the published site itself."""
    metadata = yaml.safe_load((site / "metadata.yml").read_text(encoding="utf-8"))
    [(database, config)] = metadata["databases"].items()
    db = sqlite3.connect(f"file:{site / 'stack.db'}?immutable=1", uri=True)
    tool = db.execute("select tool from tool_period_summary group by tool order by sum(active_users) desc limit 1").fetchone()
    team = db.execute("select team from usage_effective group by team order by count(*) desc limit 1").fetchone()
    found = [("home", "/")]
    if tool:
        found.append((f"tool page ({tool[0]})", f"/{database}/tools/{urllib.parse.quote(tool[0])}"))
    if team:
        found.append((f"team page ({team[0]})", f"/{database}/teams/{urllib.parse.quote(team[0])}"))
    found += [(f"report {name}", f"/{database}/{name}") for name in config.get("queries", {})]
    dashboards = metadata.get("plugins", {}).get("datasette-dashboards", {})
    for slug, dashboard in dashboards.items():
        found.append((f"dashboard {slug}", f"/-/dashboards/{slug}"))
        for chart_name, chart in dashboard.get("charts", {}).items():
            if chart.get("query"):
                query = urllib.parse.urlencode({"sql": chart["query"], "_shape": "array"})
                found.append((f"chart {chart_name} (json)", f"/{chart.get('db', database)}.json?{query}"))
    return found


#: What uvicorn writes once it listens: the port the kernel gave it.
LISTENING = re.compile(r"Uvicorn running on http://[^:]+:(\d+)")


def serve(site: Path) -> tuple[subprocess.Popen, int]:
    """Datasette serving ``site`` on a port the kernel assigns it when it binds (``--port 0``); (process, port).

    Choosing a free port first and handing it over leaves a moment in which
    any other program on the machine (another test run's server, a client's
    outgoing connection) may take it: Datasette then fails to start, or the
    load is sent to somebody else's server. Binding port 0 leaves no such moment.
    """
    process = subprocess.Popen(
        [sys.executable, "-m", "datasette", "serve", str(site), "--host", HOST, "--port", "0"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    said = []
    for line in process.stderr:  # until it listens, or exits (end of its output)
        said.append(line)
        match = LISTENING.search(line)
        if match:
            # Keep reading what it writes, so that a full pipe never stalls it.
            threading.Thread(target=lambda: [None for _ in process.stderr], daemon=True).start()
            return process, int(match[1])
    process.wait()
    raise SystemExit("datasette exited before serving:\n" + "".join(said[-10:]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    given = parser.add_mutually_exclusive_group(required=True)
    given.add_argument("--db", type=Path, help="a stack-tracker database: published to a temporary directory first")
    given.add_argument("--site", type=Path, help="a directory written by stack-tracker publish")
    parser.add_argument("--requests", type=int, default=1000, help="requests per target (default 1000)")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight at once (default 8)")
    parser.add_argument("--without-response-cache", action="store_true",
                        help="with --db: publish without the site's response cache, to see what it buys")
    parser.add_argument("--json", type=Path, help="also write the figures to this file as JSON")
    args = parser.parse_args()

    scratch = tempfile.TemporaryDirectory(prefix="site-load-")
    site = args.site
    if site is None:
        site = Path(scratch.name) / "site"
        seconds = publish(args.db, site)
        print(f"published {args.db} in {seconds:.1f} s")
        if args.without_response_cache:
            (site / "plugins" / "response_cache.py").unlink()
            print("without the response cache")
    server, port = serve(site)
    rows = []
    try:
        pages = targets(site)
        print(f"{len(pages)} pages plus the baseline; {args.requests} requests each, {args.concurrency} at a time; "
              f"{args.requests * (len(pages) + 1):,} requests in all, on {HOST} only")
        baseline_cold = asyncio.run(cold(port, "/-/versions.json"))
        baseline = asyncio.run(load(port, "/-/versions.json", args.requests, args.concurrency))
        for label, path in pages:
            cold_ms, status, size = asyncio.run(cold(port, path))
            if status != 200:
                raise SystemExit(f"{label}: {path} answered {status}")
            figures = asyncio.run(load(port, path, args.requests, args.concurrency))
            rows.append({"target": label, "cold_ms": cold_ms, "bytes": size, **figures})
        baseline_again = asyncio.run(load(port, "/-/versions.json", args.requests, args.concurrency))
    finally:
        server.terminate()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:  # a machine too busy to shut it down gracefully in time
            server.kill()
            server.wait()
        scratch.cleanup()

    limit = 3 * baseline["p95"]
    print(f"\n{'target':46} {'cold ms':>8} {'p50 ms':>7} {'p95 ms':>7} {'req/s':>7} {'p95/base':>8}  result")
    print(f"{'baseline /-/versions.json':46} {baseline_cold[0]:8.1f} {baseline['p50']:7.2f} {baseline['p95']:7.2f} "
          f"{baseline['rps']:7.0f} {'1.00':>8}")
    for row in rows:
        ratio = row["p95"] / baseline["p95"]
        verdict = "ok" if row["p95"] <= limit and not row["failures"] else "OVER" if not row["failures"] else "FAILED"
        print(f"{row['target'][:46]:46} {row['cold_ms']:8.1f} {row['p50']:7.2f} {row['p95']:7.2f} {row['rps']:7.0f} "
              f"{ratio:8.2f}  {verdict}")
    print(f"{'baseline again, after the pages':46} {'':8} {baseline_again['p50']:7.2f} {baseline_again['p95']:7.2f} "
          f"{baseline_again['rps']:7.0f}")
    over = [row["target"] for row in rows if row["p95"] > limit or row["failures"]]
    print(f"\ntarget: p95 of every page within 3x the baseline's p95 ({limit:.2f} ms): "
          + ("met by all " + str(len(rows)) if not over else f"missed by {len(over)}: {', '.join(over)}"))
    if args.json:
        args.json.write_text(json.dumps({"baseline": baseline, "baseline_again": baseline_again, "pages": rows}, indent=2))


if __name__ == "__main__":
    main()
