"""Create a database and load a capability taxonomy into it."""

from __future__ import annotations

from pathlib import Path

import sqlite_utils

from ..database.settings import base_currency as current_base_currency
from ..database.settings import set_base_currency
from ..resources import resource
from .ingest import IngestResult, ingest


def default_taxonomy() -> Path:
    """The taxonomy that ships with stack-tracker: 6 categories, 49 capabilities."""
    return resource("data/taxonomy.csv")


def init(db: sqlite_utils.Database, taxonomy: Path | None = None, *, base_currency: str | None = None,
         **ingest_options) -> IngestResult:
    """Set the base currency and load a capability taxonomy (the shipped one by default) into ``db``.

    The schema is already in place once ``db`` is open; loading the same
    taxonomy again changes nothing, and an organisation's own file (same
    columns: capability, category, description) extends or corrects it. The
    base currency (`database.settings`) is ``base_currency``, else the one the
    database has, else USD.
    """
    with db.conn:
        set_base_currency(db, base_currency or current_base_currency(db))
    return ingest(db, "capabilities", taxonomy or default_taxonomy(), **ingest_options)
