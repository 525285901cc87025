"""What every command shares: the database argument, common options, errors
shown as messages, progress bars and printing a command's result."""

from __future__ import annotations

import functools
import sqlite3
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

import click

from ..database import database_error
from ..errors import StackTrackerError, storage_error


def friendly_errors(command):
    """Show a `StackTrackerError` as a message and exit status 1, never a traceback.

    So are SQLite's errors about the database file itself (another command
    writing to it, damaged, not a database) and failures to store data (a
    full disk, a read-only folder), SQLite's or the system's; any other is a
    bug, shown in full.
    """

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except StackTrackerError as error:
            raise click.ClickException(str(error)) from None
        except (sqlite3.DatabaseError, OSError) as error:
            database = kwargs.get("db_path") or kwargs.get("path") or "the database"
            explain = database_error if isinstance(error, sqlite3.DatabaseError) else storage_error
            explained = explain(error, database)
            if explained is None:
                raise
            raise click.ClickException(str(explained)) from None

    return wrapper


def database_argument(must_exist: bool = True):
    """The DB argument every command takes: the path of the SQLite file."""
    return click.argument(
        "db_path", metavar="DB", type=click.Path(dir_okay=False, path_type=Path, exists=must_exist)
    )


silent_option = click.option("--silent", is_flag=True, help="Print nothing but errors; no progress bar.")


class Result(Protocol):
    """What a library function behind a command returns (ingest, import-logins, import-users, backup …)."""

    warnings: list[str]

    def summary(self) -> str: ...


def echo_result(result: Result, silent: bool) -> None:
    """Print a command's summary and its warnings on stderr; nothing with --silent."""
    if silent:
        return
    click.echo(result.summary(), err=True)
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)


@contextmanager
def progress_bar(label: str, silent: bool, length: int = 1):
    """Yield a ``progress(done, total)`` callback that draws a bar on stderr: on a terminal only, never with --silent."""
    hidden = silent or not sys.stderr.isatty()
    with click.progressbar(length=length, label=label, file=sys.stderr, hidden=hidden) as bar:

        def progress(done: int, total: int) -> None:
            bar.length = total or bar.length
            bar.update(done - bar.pos)

        yield progress


def parse_params(values: tuple[str, ...]) -> dict[str, str]:
    """``--param key=value`` options as a dictionary."""
    params = {}
    for value in values:
        key, sep, setting = value.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"expected key=value, got {value!r}", param_hint="--param")
        params[key.strip()] = setting.strip()
    return params


period_option = click.option("--period", metavar="YYYY-MM", help="The month to report on (default: the latest month with usage).")
team_option = click.option("--team", help="Only this team (its name or slug).")

date_format_option = click.option(
    "--date-format", help="How to read slashed dates that could be either way round: mdy, dmy, or a strptime pattern such as %d/%m/%Y."
)
sheet_option = click.option("--sheet", help="The worksheet of an .xlsx file to read (default: the first).")
