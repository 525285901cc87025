"""Build the sample organisation's database from ``data/sample/``."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from .ingest import IngestResult, Options, ingest
from .resources import resource
from .schema import open_database
from .taxonomy import init

# In dependency order: teams before the tools they own, tools before usage.
# Usage runs with allow_new, so the tool nobody put in the inventory shows up
# as an unreviewed tool: shadow IT for the gaps report.
SAMPLE_FILES = (
    ("teams", "teams.csv", False),
    ("tools", "tools.csv", False),
    ("aliases", "aliases.csv", False),
    ("tool-capabilities", "tool-capabilities.csv", False),
    ("needs", "needs.csv", False),
    ("usage", "usage.csv", True),
    ("integrations", "integrations.csv", False),
)


def build_demo(db_path: Path, *, on_result: Callable[[IngestResult], None] = lambda result: None) -> None:
    """Create ``db_path`` afresh with the taxonomy and the sample organisation."""
    db_path = Path(db_path)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    db = open_database(db_path)
    try:
        on_result(init(db))
        sample = resource("data/sample")
        for kind, name, allow_new in SAMPLE_FILES:
            on_result(ingest(db, kind, sample / name, options=Options(allow_new=allow_new)))
    finally:
        db.close()
