"""The small organisation the spend tests import card and expense exports into.

Three teams (Marketing, and under it Demand Gen and Design); five tools, two
of them with a contract in dollars, one in pounds, two with no annual cost;
euro rates (1.10 from January 2024, 1.08 from 29 March 2024) and none for
pounds. The exports in tests/fixtures/spend/ are written by hand from each
product's documented columns; tests/fixtures/spend/directory.csv places Jane
Doe in Demand Gen, Raj Patel in Marketing and Li Wei in Design, by email and
by name; Sam Contractor is in no team.
"""

from __future__ import annotations

from pathlib import Path

from conftest import run, write

SPEND = Path(__file__).parent / "fixtures" / "spend"
DIRECTORY = SPEND / "directory.csv"
#: Everything the fixtures say about the people who hold the cards: none of it may reach the database.
CARD_HOLDERS = ("jane doe", "jane.doe@example.com", "raj patel", "raj.patel@example.com", "li wei",
                "li.wei@example.com", "sam contractor", "sam.contractor@example.com")


def build_spend_org(db_path: Path, folder: Path) -> Path:
    """Teams, tools and rates in the database at ``db_path`` (already made by ``init``)."""
    run("ingest", db_path, "teams", write(folder / "teams.csv", "team,parent\nMarketing,\nDemand Gen,Marketing\n"
                                                               "Design,Marketing\n"), "--silent")
    run("ingest", db_path, "tools", write(folder / "tools.csv", (
        "tool,vendor,owner team,annual cost,currency\n"
        "HubSpot Marketing Hub,HubSpot,Demand Gen,48000,USD\n"
        "Canva,Canva,Design,1200,USD\n"
        "Adobe Creative Cloud,Adobe,Design,,\n"
        "Zoom Workplace,Zoom,Marketing,1500,GBP\n"
        "Zoom Webinars,Zoom,Marketing,,\n"
    )), "--silent")
    run("ingest", db_path, "rates", write(folder / "rates.csv", "currency,rate,date\nEUR,1.10,2024-01-01\n"
                                                                "EUR,1.08,2024-03-29\n"), "--silent")
    return db_path


def import_spend(db_path: Path, *files: str, extra: tuple = (), directory: bool = True, exit_code: int = 0):
    """Run import-spend on fixture files (names in tests/fixtures/spend/, or paths)."""
    args = ["import-spend", db_path, *(SPEND / file if isinstance(file, str) else file for file in files)]
    if directory:
        args += ["--directory", DIRECTORY]
    return run(*args, *extra, exit_code=exit_code)
