"""The renewal calendar for `stack-tracker calendar`: the renewals report as an iCalendar file.

The text is written by `site.plugins.renewals_ics`, the same code that serves
``/renewals.ics`` on the site; this module feeds it the report's rows through
`run_report`, so the command line names a team or an as-of day as every other
report does, and its mistakes get the same messages.

Example::

    text = renewal_calendar(db, as_of="2025-01-15", team="Field Marketing", reminder_days=(30, 7))
"""

from __future__ import annotations

import datetime as dt

import sqlite_utils

from .reports.registry import run_report
from .site.plugins.renewals_ics import (
    DEFAULT_REMINDER_DAYS,
    HORIZON_DAYS,
    RENEWALS_REPORT,
    contract_stamps,
    renewal_calendar as calendar_text,
)


def renewal_calendar(
    db: sqlite_utils.Database,
    *,
    as_of: str | None = None,
    team: str | None = None,
    reminder_days: tuple[int, ...] = DEFAULT_REMINDER_DAYS,
    generated_at: dt.datetime | None = None,
) -> str:
    """The iCalendar text of every renewal and notice deadline within `HORIZON_DAYS` of ``as_of`` (default: today).

    ``team`` keeps the contracts that team owns; ``reminder_days`` are the
    alarms' offsets. Raises what `run_report` raises for an as-of day that is
    no date or a team nothing is called.
    """
    rows = run_report(db, RENEWALS_REPORT, as_of=as_of, team=team,
                      params={"renewal_window_days": str(HORIZON_DAYS)})
    return calendar_text(rows, contract_stamps(db.conn, rows), reminder_days=reminder_days,
                         generated_at=generated_at, team=team)
