"""Serve a stack-tracker database, or a published site, as a Datasette site.

The site's catalog (titles, descriptions, units, facets, the dashboard) lives
in ``metadata.yml``; it names the database ``stack``, and the metadata handed
to Datasette is renamed to match whatever file is being served. Pages are
``templates/*.html``; what they may read (reports, lookups, search) is the
small plugin in ``site/plugins/``.

Two ways to serve:

- a database file (``serve stack.db``, ``demo``): live, so that an ingest
  shows up at once. The first time, full-text indexes on tools and
  capabilities are added, kept current by triggers.
- a directory written by ``stack-tracker publish``: a Datasette configuration
  directory, served read-only (immutable) exactly as it will be deployed.

Pages find the database by the plugin setting ``database`` rather than by
name, and the row pages branch on the table name inside the generic
``row.html``: so the same templates serve ``sample.db`` (as ``sample``) and a
published ``stack.db`` (as ``stack``).
"""

from __future__ import annotations

import importlib.util
import json
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import sqlite_utils
import yaml

from ..database import refuse_foreign_database
from ..database.search import enable_search
from ..errors import StackTrackerError
from ..reports.registry import NAMED_COLUMNS, canned_queries
from ..resources import resource

METADATA_DATABASE = "stack"
PLUGIN = "stack-tracker"
DASHBOARDS_PLUGIN = "datasette-dashboards"
#: What makes a published site private (`stack-tracker publish --password-hash`).
PASSWORD_PLUGIN = "datasette-auth-passwords"
PLUGINS_DIR = Path(__file__).with_name("plugins")
SETTINGS = {
    # Facet suggestions run a query per column on every table page: too slow on big tables.
    "suggest_facets": "off",
    # Arbitrary SQL stays allowed (the dashboard's charts run through it), but
    # no query may hold a worker for long.
    "sql_time_limit_ms": "1500",
    # Pages are for reading: longer reports are truncated there (the CLI and
    # the table pages' streamed CSV give every row), and render in good time.
    "max_returned_rows": "1000",
    "default_page_size": "50",
}


class SiteError(StackTrackerError):
    """A directory that is not a published site, or a site that cannot be served."""


def site_metadata(db_path: Path | str) -> dict:
    """The Datasette metadata for serving ``db_path``: the catalog, every report as a
    canned query, and the dashboard with each chart's reports spelled out."""
    metadata = yaml.safe_load(resource("metadata.yml").read_text(encoding="utf-8"))
    name = Path(db_path).stem
    databases = metadata.setdefault("databases", {})
    database = databases.pop(METADATA_DATABASE, {})
    queries = database.setdefault("queries", {})
    queries.update(canned_queries())
    databases[name] = database
    plugins = metadata.setdefault("plugins", {})
    plugins.setdefault(PLUGIN, {})["database"] = name
    # Which table names each slug column of the reports, for their pages to show names.
    plugins[PLUGIN]["named_columns"] = dict(NAMED_COLUMNS)
    for dashboard in (plugins.get(DASHBOARDS_PLUGIN) or {}).values():
        for item in [*(dashboard.get("filters") or {}).values(), *(dashboard.get("charts") or {}).values()]:
            if "db" in item:
                item["db"] = name
            if "reports" in item:
                item["query"] = with_reports(item["query"], {report: queries[report]["sql"] for report in item.pop("reports")})
    return metadata


def with_reports(sql: str, reports: dict[str, str]) -> str:
    """``sql`` with each report's SQL in front of it as a named table expression.

    A chart says ``reports: [adoption]`` and selects ``from adoption``: it reads
    the report's rows, with the report's parameters (``:period`` …) free for
    the dashboard's filters, and repeats none of its logic.
    """
    if not reports:
        return sql
    definitions = ",\n".join(f"[{name}] as (\n{text.strip()}\n)" for name, text in reports.items())
    body = sql.strip()
    opening = re.match(r"with(\s+recursive)?\s", body, re.IGNORECASE)
    if opening:
        return f"{opening.group(0).strip()} {definitions},\n{body[opening.end():]}"
    return f"with {definitions}\n{body}"


def prepare_live_database(db_path: Path) -> None:
    """Make a database file ready to be served live: its search indexes.

    Another program's database, or a newer stack-tracker's, is refused before
    anything is written to it (`refuse_foreign_database`); a missing file is
    not created. A file this process may not write is served as it is; its
    search page says why it finds nothing.
    """
    if not Path(db_path).is_file():
        raise SiteError(f"{db_path}: no such database")
    db = sqlite_utils.Database(db_path)
    try:
        db.execute("PRAGMA busy_timeout = 30000")
        refuse_foreign_database(db, db_path)
        try:
            enable_search(db, triggers=True)
        except sqlite3.OperationalError:
            pass
    finally:
        db.close()


def site_templates() -> list[Path]:
    """The site's templates (``*.html`` under ``templates/``, pages included), not the summary's."""
    root = resource("templates")
    return sorted(path for path in root.rglob("*.html") if path.is_file())


def is_published_site(path: Path) -> bool:
    """Whether ``path`` is a directory written by ``stack-tracker publish``."""
    return Path(path).is_dir() and (Path(path) / "stack.db").is_file() and (Path(path) / "metadata.yml").is_file()


def is_private_site(path: Path) -> bool:
    """Whether the published site in ``path`` asks its readers for a password."""
    metadata = yaml.safe_load((Path(path) / "metadata.yml").read_text(encoding="utf-8")) or {}
    return PASSWORD_PLUGIN in (metadata.get("plugins") or {})


def datasette_command(db_path: Path, metadata_path: Path, *, host: str = "127.0.0.1", port: int = 8001) -> list[str]:
    """The command line that runs Datasette live on ``db_path`` with the project's catalog, templates and plugin."""
    command = [
        sys.executable, "-m", "datasette", "serve", str(db_path),
        "--metadata", str(metadata_path),
        "--template-dir", str(resource("templates")),
        "--plugins-dir", str(PLUGINS_DIR),
        "--host", host, "--port", str(port),
    ]
    for name, value in SETTINGS.items():
        command += ["--setting", name, value]
    return command


def published_site_command(site: Path, *, host: str = "127.0.0.1", port: int = 8001) -> list[str]:
    """The command line that serves a published directory as Datasette's configuration
    directory: its metadata, templates, plugins and settings, the database immutable."""
    return [sys.executable, "-m", "datasette", "serve", str(site), "--host", host, "--port", str(port)]


def serve(path: Path, *, host: str = "127.0.0.1", port: int = 8001) -> int:
    """Run Datasette on a database file or a published directory until interrupted;
    returns its exit status."""
    path = Path(path)
    ensure_port_free(host, port)
    if path.is_dir():
        if not is_published_site(path):
            raise SiteError(f"{path} is not a published site (no stack.db and metadata.yml); "
                            f"write one with: stack-tracker publish DB {path}")
        if is_private_site(path) and importlib.util.find_spec(PASSWORD_PLUGIN.replace("-", "_")) is None:
            # Without the plugin nobody could sign in: every page would refuse everyone.
            raise SiteError(f"{path} is a private site: install {PASSWORD_PLUGIN} to serve it "
                            f"(pip install {PASSWORD_PLUGIN})")
        return _run(published_site_command(path, host=host, port=port))
    prepare_live_database(path)
    with tempfile.TemporaryDirectory(prefix="stack-tracker-") as scratch:
        metadata_path = Path(scratch) / "metadata.json"
        metadata_path.write_text(json.dumps(site_metadata(path), indent=2), encoding="utf-8")
        return _run(datasette_command(path, metadata_path, host=host, port=port))


def ensure_port_free(host: str, port: int) -> None:
    """Refuse, in words, a port another program listens on, before Datasette fails on it."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server itself binds
        try:
            probe.bind((host, port))
        except OSError as error:
            raise SiteError(
                f"cannot listen on {host}:{port} ({error.strerror}): another program, perhaps an earlier "
                f"stack-tracker serve, is using it; stop it or pass --port with another number"
            ) from None


def _run(command: list[str]) -> int:
    """Run Datasette as a child; a SIGTERM sent to this process stops it too, rather than orphaning it."""
    process = subprocess.Popen(command)
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: process.terminate())
    try:
        return process.wait()
    except KeyboardInterrupt:
        # Ctrl-C reached the child as well: let it finish shutting down.
        process.wait()
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
