"""The commands that turn the renewals report into dates in people's calendars and
chat: `calendar` and `remind`. Kept apart from `commands` only for its size;
`cli/__init__.py` adds them to the group."""

from __future__ import annotations

from pathlib import Path

import click

from ..database import open_database
from ..output import write_output
from ..reminders import WEBHOOK_TIMEOUT_SECONDS, remind as remind_deadlines
from ..renewal_calendar import renewal_calendar
from ..site.plugins.renewals_ics import DEFAULT_REMINDER_DAYS, FEED_PATH, HORIZON_DAYS, parse_reminder_days
from .options import database_argument, echo_result, friendly_errors, silent_option, team_option

_DEFAULT_DAYS = ",".join(map(str, DEFAULT_REMINDER_DAYS))


def reminder_days_option(*names: str, help: str):
    """An option taking days before a deadline, comma-separated (``90,30,7``)."""

    def parse(context, parameter, value):
        try:
            return parse_reminder_days(value)
        except ValueError as error:
            raise click.BadParameter(str(error)) from None

    return click.option(*names, "reminder_days", default=_DEFAULT_DAYS, show_default=True, metavar="DAYS",
                        callback=parse, help=help)


as_of_option = click.option("--as-of", metavar="YYYY-MM-DD", help="What counts as today (default: today, UTC).")


@click.command()
@database_argument()
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="Write to this file instead of printing.")
@reminder_days_option("--remind", help="Alarms this many days before each event; an alarm that would go off "
                                       "before --as-of is left out. An empty value for none.")
@as_of_option
@team_option
@friendly_errors
def calendar(db_path, output, reminder_days, as_of, team):
    """Write the renewal calendar: an iCalendar file any calendar app imports.

    Every contract whose renewal or notice deadline falls within {horizon_days}
    days of --as-of gets an all-day event on its renewal day and, if it has a
    notice period, one on its cancel-by day. Each says what the tool costs,
    its seats, utilisation, the recommendation and what to do by when, all
    from the renewals report, with an alarm at each --remind offset still
    ahead. Events keep their identity when a date moves, so importing the
    file again updates them instead of adding copies. The site serves the
    same calendar at {feed_path} to subscribe to.

    \b
        stack-tracker calendar stack.db -o renewals.ics
        stack-tracker calendar stack.db --team "Field Marketing" --remind 60,14 -o field.ics
    """
    db = open_database(db_path, must_exist=True)
    text = renewal_calendar(db, as_of=as_of, team=team, reminder_days=reminder_days)
    if output:
        write_output(output, text, db_path=db_path)
        click.echo(f"Wrote {output}", err=True)
    else:
        click.echo(text.encode("utf-8"), nl=False)  # as bytes: CRLF and UTF-8 whatever the terminal's encoding


@click.command()
@database_argument()
@click.option("--webhook", metavar="URL", envvar="STACK_TRACKER_WEBHOOK", show_envvar=True,
              help="The chat's incoming webhook (Slack, or any that takes Slack's JSON), http or https. "
                   "Only its host is shown or stored.")
@reminder_days_option("--days", help="Remind this many days before each deadline.")
@as_of_option
@click.option("--dry-run", is_flag=True, help="Print the messages due; send and record nothing.")
@silent_option
@friendly_errors
def remind(db_path, webhook, reminder_days, as_of, dry_run, silent):
    """Post a chat message for each renewal and notice deadline that has come near.

    A deadline (a renewal, or the last day to give notice) that is --days or
    fewer away gets one message with the tool, the day, the days left, the
    cost and what to do, from the renewals report. Each is recorded in
    reminders_sent, so a daily run sends the 90-day reminder once, then the
    30-day one, then the 7-day one; when several are reached at once (the
    first run) only the closest is sent. A message the webhook refuses, or
    does not answer within {timeout} seconds, is an error and is
    not recorded: the next run tries again.

    \b
        stack-tracker remind stack.db --dry-run
        export STACK_TRACKER_WEBHOOK='https://hooks.slack.com/services/T000/B000/XXXX'
        stack-tracker remind stack.db --silent
    """
    db = open_database(db_path, must_exist=True)
    result = remind_deadlines(db, webhook, as_of=as_of, reminder_days=reminder_days, dry_run=dry_run)
    # A dry run is asked for to see the messages, --silent or not.
    if dry_run or not silent:
        for reminder in result.due if dry_run else result.sent:
            click.echo(reminder.text)
    echo_result(result, silent)


# The figures the help quotes, from where they are defined.
calendar.help = calendar.help.format(horizon_days=HORIZON_DAYS, feed_path=FEED_PATH)
remind.help = remind.help.format(timeout=WEBHOOK_TIMEOUT_SECONDS)
