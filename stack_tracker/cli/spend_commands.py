"""The command that reads card and expense exports: `import-spend`. Kept apart from
`commands` only for its size; `cli/__init__.py` adds it to the group."""

from __future__ import annotations

from pathlib import Path

import click

from ..database import open_database
from ..inputs.spend import import_spend as import_spend_files
from ..inputs.spend_formats import FORMAT_CHOICES
from .options import database_argument, date_format_option, echo_result, friendly_errors, progress_bar, silent_option


@click.command(name="import-spend")
@database_argument()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(FORMAT_CHOICES), default="auto", show_default=True,
              help="Whose export the files are; auto tells it from the headers. csv: any table with a date, an "
                   "amount and a merchant or description.")
@click.option("--directory", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Who is in which team, as for import-logins, with each card holder as the exports write them "
                   "(an email, or a name in a person column). Card holders not in it are counted in team "
                   "'unassigned'; none is ever stored.")
@click.option("--since", metavar="DATE", help="Count only transactions on or after this day.")
@click.option("--until", metavar="DATE", help="Count only transactions on or before this day.")
@click.option("--allow-new/--no-allow-new", default=True, show_default=True,
              help="Record software the inventory lacks (a product of the catalog of known tools, or what the "
                   "export's category calls software) as 'unreviewed' tools, and create the directory's unknown "
                   "teams; with --no-allow-new such software is left out and listed.")
@date_format_option
@silent_option
@friendly_errors
def import_spend(db_path, files, fmt, directory, since, until, allow_new, date_format, silent):
    """Count what the organisation pays for software from card and expense exports.

    Reads Ramp, Brex, Expensify, American Express and QuickBooks bank-feed
    exports, or any table with a date, an amount and a merchant. Each
    merchant is matched to a tool: the merchant rules you ingest first
    (ingest merchant-rules), then the inventory's names and aliases, then the
    catalog of known tools, after taking off what statements add (SQ *,
    PAYPAL *, INC, phone numbers, states). Spend is written per tool, team,
    month and currency: refunds reduce their month, declined transactions and
    merchants that are not software are left out and counted. Each file is
    one transaction; importing it again changes nothing, and a transaction
    two overlapping exports both hold counts once.

    \b
        stack-tracker ingest stack.db merchant-rules merchant-rules.csv
        stack-tracker import-spend stack.db amex-2024-03.csv brex-2024-03.csv --directory people.csv
        stack-tracker import-spend stack.db bank-feed.csv --format quickbooks --date-format mdy
        stack-tracker import-spend stack.db expenses.xlsx --since 2024-01-01 --no-allow-new
    """
    db = open_database(db_path, must_exist=True)
    for path in files:
        with progress_bar(path.name, silent, path.stat().st_size) as progress:
            [result] = import_spend_files(db, [path], fmt, directory=directory, since=since, until=until,
                                          allow_new=allow_new, date_format=date_format, progress=progress)
        echo_result(result, silent)
