"""Create a database and load a capability taxonomy into it."""

from __future__ import annotations

from pathlib import Path

import sqlite_utils

from ..resources import resource
from .ingest import IngestResult, ingest


def default_taxonomy() -> Path:
    """The taxonomy that ships with stack-tracker: 6 categories, 49 capabilities."""
    return resource("data/taxonomy.csv")


def init(db: sqlite_utils.Database, taxonomy: Path | None = None, **ingest_options) -> IngestResult:
    """Load a capability taxonomy (the shipped one by default) into ``db``.

    The schema is already in place once ``db`` is open; loading the same
    taxonomy again changes nothing, and an organisation's own file (same
    columns: capability, category, description) extends or corrects it.
    """
    return ingest(db, "capabilities", taxonomy or default_taxonomy(), **ingest_options)
