"""Sign-ins from any table with a person, an application and a time: one row per sign-in.

For the sources that have no reader of their own (another identity provider,
a warehouse query, a proxy log): CSV, TSV, JSON, JSON Lines or a spreadsheet,
with headers matched as ``ingest`` matches them (case, spaces, underscores and
hyphens aside) against the aliases below. An optional outcome column drops
the rows that record a failure.
"""

from __future__ import annotations

from typing import Iterator

from .. import kinds as k
from ..readers import EXTENSIONS, open_source
from .fields import text
from .layouts import sniff_format, with_headers
from .log_file import SIGN_INS, LogFile, SignIn

#: column -> the headers accepted for it
COLUMNS = {
    "user": ("user", "email", "e-mail", "email address", "login", "username", "user name", "user principal name",
             "upn", "user email", "actor", "person", "employee", "employee email", "work email", "account"),
    "application": ("application", "tool") + k.TOOL_ALIASES + ("service", "app display name", "target", "target app",
                                                               "target application", "resource", "saas app"),
    "time": ("time", "timestamp", "date", "datetime", "date time", "date (utc)", "event time", "login time",
             "sign in time", "signed in at", "logged in at", "created at", "published", "when", "occurred at"),
    "outcome": ("outcome", "result", "status", "success", "succeeded"),
}
FAILURE_WORDS = {"failure", "failed", "fail", "denied", "deny", "error", "blocked", "rejected", "no", "false", "0",
                 "interrupted", "unsuccessful"}


def sign_ins(log: LogFile) -> Iterator[SignIn]:
    """One sign-in per row of a generic table of sign-ins."""
    layout = sniff_format(log.path)
    fmt = EXTENSIONS.get(log.path.suffix.lower())
    if fmt is None:
        fmt = {"array": "json", "lines": "jsonl", "object": "json"}.get(layout, layout)
    log.source = open_source(log.path, fmt)
    table = with_headers(log, log.source.records)
    if table is None:
        return
    headers, rows = table
    columns = k.find_columns(headers, COLUMNS)
    missing = [name for name in ("user", "application", "time") if name not in columns]
    if missing:
        for name in missing:
            log.problems.add(1, name, None, f"required column not found (accepted headers: {', '.join(COLUMNS[name])})")
        return
    user, application, time, outcome = (columns.get(name) for name in ("user", "application", "time", "outcome"))

    for line, row in rows:
        if outcome and text(row.get(outcome)).casefold() in FAILURE_WORDS:
            log.skipped["failed sign-ins"] += 1
            continue
        person, name = text(row.get(user)), text(row.get(application))
        if not person:
            log.skipped["rows without a user"] += 1
            continue
        if not name:
            log.skipped["rows without an application"] += 1
            continue
        moment = log.utc(line, "time", row.get(time))
        if moment is not None:
            yield line, person, name, moment, SIGN_INS

