"""Serve a stack-tracker database as a Datasette site.

The site's catalog (titles, descriptions, units) lives in ``metadata.yml``;
it names the database ``stack``, and the metadata handed to Datasette is
renamed to match whatever file is being served.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from .reports import canned_queries
from .resources import resource

METADATA_DATABASE = "stack"
SETTINGS = {
    # Facet suggestions run a query per column on every table page: too slow on big tables.
    "suggest_facets": "off",
    "sql_time_limit_ms": "3000",
    "max_returned_rows": "5000",
    "default_page_size": "50",
}


def site_metadata(db_path: Path) -> dict:
    """The Datasette metadata for serving ``db_path``: the catalog plus every report as a canned query."""
    metadata = yaml.safe_load(resource("metadata.yml").read_text(encoding="utf-8"))
    databases = metadata.setdefault("databases", {})
    database = databases.pop(METADATA_DATABASE, {})
    database.setdefault("queries", {}).update(canned_queries())
    databases[Path(db_path).stem] = database
    return metadata


def datasette_command(db_path: Path, metadata_path: Path, *, host: str = "127.0.0.1", port: int = 8001) -> list[str]:
    """The command line that runs Datasette on ``db_path`` with the project's catalog and templates."""
    command = [
        sys.executable, "-m", "datasette", "serve", str(db_path),
        "--metadata", str(metadata_path),
        "--template-dir", str(resource("templates")),
        "--host", host, "--port", str(port),
    ]
    for name, value in SETTINGS.items():
        command += ["--setting", name, value]
    return command


def serve(db_path: Path, *, host: str = "127.0.0.1", port: int = 8001) -> int:
    """Run Datasette on ``db_path`` until interrupted; returns its exit status."""
    with tempfile.TemporaryDirectory(prefix="stack-tracker-") as scratch:
        metadata_path = Path(scratch) / "metadata.json"
        metadata_path.write_text(json.dumps(site_metadata(db_path), indent=2), encoding="utf-8")
        try:
            return subprocess.call(datasette_command(db_path, metadata_path, host=host, port=port))
        except KeyboardInterrupt:
            return 0
