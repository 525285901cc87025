"""The commands that count real usage: `import-logins` (identity providers' sign-in
logs), `import-activity` (the same, rolled up in a warehouse) and `import-users`
(vendors' user exports). Kept apart from `commands` for its
size; `cli/__init__.py` adds them to the group."""

from __future__ import annotations

from pathlib import Path

import click

from ..database import open_database
from ..inputs.activity import import_activity as import_activity_file
from ..inputs.logins import import_logins as import_login_files
from ..inputs.sources import SOURCES as LOGIN_SOURCES
from ..inputs.users_export import import_users as import_user_export
from .options import database_argument, date_format_option, echo_result, friendly_errors, progress_bar, sheet_option, silent_option


@click.command(name="import-logins")
@database_argument()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--source", required=True, type=click.Choice(LOGIN_SOURCES),
              help="Who wrote the files: Okta System Log, Entra ID sign-ins, Google Workspace reports, or any CSV "
                   "with a user, an application and a time.")
@click.option("--directory", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Who is in which team: a table of people (email or login) and their team, and optionally "
                   "who has left (a status column: leaver, terminated …; a left_on date). People not in it are "
                   "counted in team 'unassigned'; sign-ins after someone left are counted and said.")
@click.option("--since", metavar="DATE", help="Count only sign-ins on or after this day (UTC).")
@click.option("--until", metavar="DATE", help="Count only sign-ins on or before this day (UTC).")
@click.option("--allow-new/--no-allow-new", default=True, show_default=True,
              help="Record applications that match no tool, here or in the catalog of known tools, as 'unreviewed' "
                   "tools (shadow IT), and create the directory's unknown teams; with --no-allow-new they are errors.")
@date_format_option
@silent_option
@friendly_errors
def import_logins(db_path, files, source, directory, since, until, allow_new, date_format, silent):
    """Count who uses which tool from identity-provider sign-in logs.

    Successful sign-ins are rolled up per tool, person and month (active days,
    sign-ins, last seen, in UTC) into user_activity, and the month's active users
    per team into usage with source 'sso', which reports prefer to reported
    figures. People are stored only as a keyed hash (user_key): the key comes
    from STACK_TRACKER_SECRET or from the key file beside the database, made on
    first use. Each file is one transaction; importing a file again changes
    nothing, files covering different days of a month add up, and so do
    Entra's interactive and non-interactive sign-in logs for the same days.

    \b
        stack-tracker import-logins stack.db okta-2024-03.jsonl --source okta --directory people.csv
        stack-tracker import-logins stack.db signins-page-*.json --source entra --since 2024-03-01
        stack-tracker import-logins stack.db saml.json token.json --source google
        stack-tracker import-logins stack.db proxy.csv --source csv --no-allow-new
    """
    db = open_database(db_path, must_exist=True)
    for path in files:
        with progress_bar(path.name, silent, path.stat().st_size) as progress:
            [result] = import_login_files(
                db, [path], source, directory=directory, since=since, until=until, allow_new=allow_new,
                date_format=date_format, progress=progress,
            )
        echo_result(result, silent)


@click.command(name="import-users")
@database_argument()
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--tool", required=True, help="The tool the export is of: its name, an alias, or a name the catalog knows.")
@click.option("--as-of", required=True, metavar="DATE", help="The day the export was taken; its month is the period written.")
@click.option("--active-days", default=30, show_default=True, type=click.IntRange(min=1),
              help="A seat holder who last signed in within this many days up to --as-of is active.")
@click.option("--directory", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Who is in which team and who has left, as for import-logins; people not in it are counted in "
                   "team 'unassigned'; seats held by people who left by --as-of are said and feed the reclaim report.")
@click.option("--allow-new", is_flag=True, help="Record a --tool the database does not know as an 'unreviewed' tool.")
@date_format_option
@sheet_option
@silent_option
@friendly_errors
def import_users(db_path, file, tool, as_of, active_days, directory, allow_new, date_format, sheet, silent):
    """Count seats and active users from a vendor's export of its users.

    Reads the user lists admin consoles export (Salesforce, HubSpot, Adobe
    Admin Console …): seats are the users holding a licence (or a role),
    active users those of them whose last login falls within --active-days of
    --as-of. Written per team to usage with source 'vendor' for the month of
    --as-of, replacing that month's vendor figures for the tool. Only the
    counts are stored, never the people.

    \b
        stack-tracker import-users stack.db salesforce-users.csv --tool Salesforce --as-of 2024-03-31
        stack-tracker import-users stack.db hubspot-users.xlsx --tool "HubSpot Marketing Hub" \\
            --as-of 2024-03-31 --active-days 60 --directory people.csv
    """
    db = open_database(db_path, must_exist=True)
    with progress_bar(file.name, silent, file.stat().st_size) as progress:
        result = import_user_export(
            db, file, tool=tool, as_of=as_of, active_days=active_days, directory=directory, allow_new=allow_new,
            date_format=date_format, sheet=sheet, progress=progress,
        )
    echo_result(result, silent)


@click.command(name="import-activity")
@database_argument()
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--directory", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Who is in which team, as for import-logins: its people are hashed with the same key to match the "
                   "file's person keys. Keys not in it are counted in team 'unassigned'.")
@click.option("--allow-new/--no-allow-new", default=True, show_default=True,
              help="Record applications that match no tool as 'unreviewed' tools, and create the directory's unknown "
                   "teams; with --no-allow-new they are errors.")
@date_format_option
@silent_option
@friendly_errors
def import_activity(db_path, file, directory, allow_new, date_format, silent):
    """Count who uses which tool from activity rolled up in a warehouse.

    For organisations whose sign-in logs live in a warehouse or data lake: the
    warehouse rolls the logs up (DuckDB, Spark SQL or BigQuery; the queries are
    in docs/scale.md) to one row per person key, tool and UTC day with its
    sign-ins, and this imports that file (CSV, or Parquet with the 'scale'
    extra). Columns: person_key (the person's user_key, computed there with
    the same keyed hash, so raw identities never leave the warehouse), tool,
    day, events, and optionally last_seen and log. The rows are counted as
    import-logins counts a log: the same tables, the same rules, one
    transaction per file; importing a file again changes nothing.

    \b
        stack-tracker import-activity stack.db activity-2024-03.parquet --directory people.csv
        stack-tracker import-activity stack.db activity.csv --no-allow-new
    """
    db = open_database(db_path, must_exist=True)
    with progress_bar(file.name, silent, 1000) as progress:
        result = import_activity_file(db, file, directory=directory, allow_new=allow_new, date_format=date_format,
                                      progress=progress)
    echo_result(result, silent)
