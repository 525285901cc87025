"""Reminders of renewal and notice deadlines, posted to a chat webhook, each once.

`remind` reads the renewals report (its one SQL definition of every date and
sentence) and posts, as Slack-compatible JSON ``{"text": …}``, one message per
deadline (a renewal, or the last day to give notice) that has come within one
of the reminder offsets and has not been reminded of at that offset or a closer
one. A daily cron job thus sends each reminder once: the 90-day one, the
30-day one, the 7-day one. A run that finds several offsets reached at once
(the first run, or one after a pause) sends only the closest, once. A deadline
already past gets no reminder: the renewal's own message says what is left to do.

What was sent is recorded in ``reminders_sent`` with the webhook's host, never
its address, which holds the secret that lets anyone post. Each message is
recorded as soon as the webhook accepts it, so a failure part-way keeps what
went before; the failed message is not recorded, and the next run tries again.

Example::

    result = remind(db, "https://hooks.slack.com/services/T000/B000/XXXX", as_of="2025-01-15")
    print(result.summary())
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

import sqlite_utils

from .database import write_transaction
from .errors import StackTrackerError
from .reports.registry import run_report
from .site.plugins.renewals_ics import DEFAULT_REMINDER_DAYS, RENEWALS_REPORT, Deadline, deadlines, describe_cost

#: How long to wait for the webhook to answer, in seconds.
WEBHOOK_TIMEOUT_SECONDS = 10
SENT_TABLE = "reminders_sent"
#: Slack reads these three as markup (``<!channel>`` would notify everyone): a tool's name must not.
SLACK_ESCAPES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"))


class WebhookError(StackTrackerError):
    """A webhook address that is not one, or a webhook that did not take a message."""


@dataclass(frozen=True)
class Reminder:
    """One message to post: a deadline, the offset it has reached, and the words."""

    deadline: Deadline
    days_before: int
    text: str


@dataclass
class RemindResult:
    """What `remind` found due and what it sent."""

    due: list[Reminder]
    sent: list[Reminder]
    host: str | None
    dry_run: bool
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for the command line."""
        if not self.due:
            return "No reminders due."
        count = f"{len(self.due)} reminder{'s' if len(self.due) != 1 else ''}"
        if self.dry_run:
            return f"Would send {count}" + (f" to {self.host}" if self.host else "") + " (dry run: nothing sent or recorded)."
        return f"Sent {count} to {self.host}."


def webhook_host(url: str) -> str:
    """The host (and port) of a webhook address: what may be shown and stored. Refuses anything but http(s)."""
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise WebhookError("--webhook must be an http:// or https:// address, such as the one Slack gives an "
                           "incoming webhook")
    try:
        port = parts.port
    except ValueError:
        raise WebhookError(f"--webhook: the address for {parts.hostname} has a port that is not a number") from None
    return f"{parts.hostname}:{port}" if port else parts.hostname


def reminder_text(deadline: Deadline) -> str:
    """The message for a deadline: the tool, the day, the days left, the cost and what to do."""
    row = deadline.row
    when = {0: "today", 1: "tomorrow"}.get(deadline.days_left, f"in {deadline.days_left} days")
    cost = describe_cost(row) + (f", {row['seats']:,} seats" if row.get("seats") is not None else "")
    if deadline.kind.name == "cancel-by":
        opening = (f"Last day to give notice for {deadline.tool_name}: {deadline.day} ({when}); "
                   f"it renews on {row['renewal_date']}.")
    else:
        opening = f"{deadline.tool_name} renews on {deadline.day} ({when})."
    text = f"{opening} {cost[0].upper()}{cost[1:]}. {row.get('action') or ''}".strip()
    for character, escaped in SLACK_ESCAPES:
        text = text.replace(character, escaped)
    return text


def sent_offsets(db: sqlite_utils.Database, deadline: Deadline) -> set[int]:
    """The offsets this deadline (tool, kind, day) has already been reminded of."""
    return {
        days for (days,) in db.execute(
            f"select days_before from [{SENT_TABLE}] where tool = ? and deadline = ? and deadline_date = ?",
            (deadline.tool, deadline.kind.name, deadline.day),
        )
    }


def due_reminders(db: sqlite_utils.Database, *, as_of: str | None = None,
                  reminder_days: tuple[int, ...] = DEFAULT_REMINDER_DAYS) -> list[Reminder]:
    """The reminders to send now: per deadline still ahead, the closest offset it has reached,
    unless that offset or a closer one was sent before. In the report's order."""
    if not reminder_days:
        return []
    rows = run_report(db, RENEWALS_REPORT, as_of=as_of, params={"renewal_window_days": str(max(reminder_days))})
    due = []
    for row in rows:
        for deadline in deadlines(row):
            reached = [days for days in reminder_days if 0 <= deadline.days_left <= days]
            if not reached:
                continue
            closest = min(reached)
            if any(sent <= closest for sent in sent_offsets(db, deadline)):
                continue
            due.append(Reminder(deadline, closest, reminder_text(deadline)))
    return due


def post_message(url: str, text: str, *, timeout: float = WEBHOOK_TIMEOUT_SECONDS) -> None:
    """POST ``{"text": text}`` to the webhook; a `WebhookError` naming its host if it does not take it."""
    host = webhook_host(url)
    request = urllib.request.Request(
        url.strip(), data=json.dumps({"text": text}).encode("utf-8"), method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": "stack-tracker"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
    except urllib.error.HTTPError as error:
        raise WebhookError(f"the webhook at {host} answered HTTP {error.code} {error.reason}") from None
    except (TimeoutError, socket.timeout):
        raise WebhookError(f"the webhook at {host} did not answer within {timeout:g} seconds") from None
    except urllib.error.URLError as error:
        reason = getattr(error.reason, "strerror", None) or error.reason
        raise WebhookError(f"could not reach the webhook at {host}: {reason}") from None
    except OSError as error:
        raise WebhookError(f"could not reach the webhook at {host}: {error.strerror or error}") from None


def record_sent(db: sqlite_utils.Database, reminder: Reminder, host: str) -> None:
    """Record one reminder as sent, in a transaction of its own: it stays recorded whatever follows."""
    with write_transaction(db):
        db.execute(
            f"insert or replace into [{SENT_TABLE}] (tool, deadline, deadline_date, days_before, sent_at, webhook_host) "
            "values (?, ?, ?, ?, ?, ?)",
            (reminder.deadline.tool, reminder.deadline.kind.name, reminder.deadline.day, reminder.days_before,
             dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), host),
        )


def remind(db: sqlite_utils.Database, webhook: str | None, *, as_of: str | None = None,
           reminder_days: tuple[int, ...] = DEFAULT_REMINDER_DAYS, dry_run: bool = False,
           timeout: float = WEBHOOK_TIMEOUT_SECONDS) -> RemindResult:
    """Post every reminder due as of ``as_of`` (default: today) to ``webhook`` and record each one sent.

    With ``dry_run`` nothing is posted or recorded (and ``webhook`` may be
    None). A message the webhook does not take raises `WebhookError`, saying
    how many went before it; those stay recorded.
    """
    host = webhook_host(webhook) if webhook else None
    if host is None and not dry_run:
        raise WebhookError("give --webhook URL (or STACK_TRACKER_WEBHOOK), or --dry-run to see the messages")
    due = due_reminders(db, as_of=as_of, reminder_days=reminder_days)
    sent: list[Reminder] = []
    if not dry_run:
        for reminder in due:
            try:
                post_message(webhook, reminder.text, timeout=timeout)
            except WebhookError as error:
                before = f"the {len(sent)} sent before it are recorded" if sent else "none was sent before it"
                raise WebhookError(
                    f"{error}: the reminder about {reminder.deadline.tool_name} ({reminder.deadline.kind.name} "
                    f"{reminder.deadline.day}) was not sent and is not recorded, so the next run tries again; {before}"
                ) from None
            record_sent(db, reminder, host)
            sent.append(reminder)
    return RemindResult(due, sent, host, dry_run)
