"""Build the sample organisation's database from ``data/sample/``."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Callable

from .database import open_database
from .errors import StackTrackerError
from .inputs.ingest import IngestResult, Options, ingest
from .inputs.spend import import_spend
from .inputs.taxonomy import init
from .inputs.users_export import import_users
from .resources import resource

# In dependency order: teams before the tools they own, tools before usage.
# Two snapshots of the inventory, the older first, each dated (--as-of), so the
# tools' history shows a price rise, an owner change and a tool added. Usage
# runs with allow_new, so the tool nobody put in the inventory shows up as an
# unreviewed tool: shadow IT for the gaps report. (kind, file, allow_new, as_of)
SAMPLE_FILES = (
    ("teams", "teams.csv", False, None),
    ("rates", "rates.csv", False, None),
    ("tools", "tools-2025-06.csv", False, "2025-06-30"),
    ("tools", "tools.csv", False, "2026-10-31"),
    ("tiers", "tiers.csv", False, None),
    ("aliases", "aliases.csv", False, None),
    ("tool-capabilities", "tool-capabilities.csv", False, None),
    ("needs", "needs.csv", False, None),
    ("usage", "usage.csv", True, None),
    ("integrations", "integrations.csv", False, None),
)
#: What the sample's finance team exports: a card export and an expense report, their
#: holders placed in teams by the directory (`stack-tracker import-spend`).
SAMPLE_SPEND = ("cards-2026-q4.csv", "expenses-2026-11.csv")
SAMPLE_DIRECTORY = "people.csv"
#: The admin consoles' user lists at the end of November, each (file, tool): seats by team and plan
#: tier, and the seats a leaver still holds (`stack-tracker import-users`).
SAMPLE_USERS = (("salesforce-users-2026-11.csv", "Salesforce Sales Cloud"), ("hubspot-users-2026-11.csv", "HubSpot Marketing Hub"))
SAMPLE_USERS_AS_OF = "2026-11-30"
#: The setting that marks a database as the sample, which demo may build again from scratch.
SAMPLE_SETTING = "sample"


def build_demo(db_path: Path, *, on_result: Callable[[IngestResult], None] = lambda result: None) -> None:
    """Create ``db_path`` afresh with the taxonomy and the sample organisation.

    An existing ``db_path`` is replaced only if demo built it and nothing was
    imported into it since: any other file, above all a database of real
    imports, is refused.
    """
    db_path = Path(db_path)
    if db_path.exists() or db_path.is_symlink():
        if not is_sample_database(db_path):
            raise StackTrackerError(
                f"{db_path} exists and is not a sample database built by demo, or has imports of its own since: "
                f"give --db another file name"
            )
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    db = open_database(db_path)
    try:
        on_result(init(db))
        sample = resource("data/sample")
        for kind, name, allow_new, as_of in SAMPLE_FILES:
            on_result(ingest(db, kind, sample / name, options=Options(allow_new=allow_new, as_of=as_of)))
        for name, tool in SAMPLE_USERS:
            on_result(import_users(db, sample / name, tool=tool, as_of=SAMPLE_USERS_AS_OF, directory=sample / SAMPLE_DIRECTORY))
        for result in import_spend(db, [sample / name for name in SAMPLE_SPEND], directory=sample / SAMPLE_DIRECTORY):
            on_result(result)
        with db.conn:
            # The last ingest demo made: a later one is the user's, and makes the database theirs.
            db.execute("insert or replace into settings (key, value) select ?, max(id) from ingests", [SAMPLE_SETTING])
    finally:
        db.close()


def is_sample_database(db_path: Path) -> bool:
    """Whether ``db_path`` is a database demo built with nothing imported since (so it may build it again)."""
    if db_path.is_symlink() or not db_path.is_file():
        return False
    try:
        connection = sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            last_demo_ingest = connection.execute(
                "select value from settings where key = ?", [SAMPLE_SETTING]).fetchone()
            last_ingest = connection.execute("select max(id) from ingests").fetchone()
        finally:
            connection.close()
    except sqlite3.DatabaseError:
        return False
    return last_demo_ingest is not None and last_demo_ingest[0] == str(last_ingest[0])
