"""The renewal calendar as iCalendar (RFC 5545), and the site's ``/renewals.ics``.

One definition for every reader: `stack-tracker calendar` writes what
`renewal_calendar` returns, and this Datasette plugin serves the same text at
``/renewals.ics`` on a live database or a published site. Both hand it the
rows of the ``renewals`` report, the one SQL definition of every date and
sentence in it (next renewal, cancel-by, days left, recommendation, action):
nothing here works out a deadline. Each contract renewing within
`HORIZON_DAYS` gets an all-day event on its renewal day and, when it has a
notice period, one on its cancel-by day, each with an alarm per reminder
offset that has not passed yet (an imported calendar must not greet its
reader with a pile of overdue alerts; `stack-tracker remind` covers what is due).

How a calendar app knows an event again: its UID is made from the database's
identity (`calendar_identity`: its first ingest, which every copy, backup and
published site keeps), the tool's slug and the kind of deadline, never the
date, so a moved renewal updates the event it was. SEQUENCE is the ingest that
last changed the tool's row (ingests are numbered in order, so it only grows
when the contract is edited), LAST-MODIFIED when that ingest finished, and
DTSTAMP when the text was made.

Copied into every published site beside ``stack_site.py``, where stack-tracker
is not installed. It imports only the standard library and pluggy, so that the
command line can import it without loading Datasette.
"""

# No ``from __future__ import annotations``: Datasette loads this file as a module that is not in
# sys.modules, where dataclasses cannot resolve annotations written as strings.
import datetime as dt
import hashlib
import json
import re
import sqlite3
from collections import defaultdict
from dataclasses import dataclass

import pluggy

# Datasette's own marker (`datasette.hookimpl` is this very object's twin).
hookimpl = pluggy.HookimplMarker("datasette")

PLUGIN = "stack-tracker"
RENEWALS_REPORT = "renewals"
FEED_PATH = "/renewals.ics"
#: How far ahead the calendar looks: every contract whose renewal or notice deadline falls within
#: this many days, a little over a year, so that each annual contract shows its next renewal.
HORIZON_DAYS = 400
DEFAULT_REMINDER_DAYS = (90, 30, 7)
#: The longest reminder offset taken: more is a typo (ten years).
MAX_REMINDER_DAYS = 3660
PRODUCT_ID = "-//stack-tracker//Renewal calendar//EN"
UID_DOMAIN = "stack-tracker"
#: How often a subscribed calendar app should fetch the feed again.
REFRESH_INTERVAL = "PT12H"
#: Octets a content line may hold before it is folded (RFC 5545, 3.1).
LINE_OCTETS = 75
CRLF = "\r\n"
#: Characters RFC 5545 allows in no TEXT value (every control but tab; newlines are escaped before this runs).
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

#: The first ingest of a database: when it was made and what it read. Every copy keeps it.
IDENTITY_SQL = "select started_at, sha256 from ingests order by id limit 1"
#: For each tool listed in :tools (a JSON array of slugs), the ingest that last changed its row and when it finished.
REVISIONS_SQL = """
select tools.slug, tools.ingest_id, ingests.finished_at
from tools left join ingests on ingests.id = tools.ingest_id
where tools.slug in (select value from json_each(:tools))
"""


@dataclass(frozen=True)
class DeadlineKind:
    """A kind of deadline a renewals row carries: the columns holding its day and the days left to it."""

    name: str
    day_column: str
    days_left_column: str
    title: str


DEADLINE_KINDS = (
    DeadlineKind("renewal", "renewal_date", "days_left", "Renewal"),
    DeadlineKind("cancel-by", "cancel_by", "days_to_cancel_by", "Cancel-by deadline"),
)


@dataclass(frozen=True)
class Deadline:
    """One deadline of one contract: a row of the renewals report seen through one `DeadlineKind`."""

    kind: DeadlineKind
    day: str
    days_left: int
    row: dict

    @property
    def tool(self) -> str:
        return self.row["tool"]

    @property
    def tool_name(self) -> str:
        return self.row.get("tool_name") or self.row["tool"]


@dataclass(frozen=True)
class ContractStamps:
    """What a calendar needs beyond the report: the database's identity, and each tool's last change."""

    identity: str
    #: tool slug -> (the ingest that last changed its row, when that ingest finished)
    revisions: dict[str, tuple[int | None, str | None]]


def deadlines(row: dict) -> list[Deadline]:
    """The deadlines of one row of the renewals report: its renewal, and its cancel-by day if it has one."""
    return [
        Deadline(kind, row[kind.day_column], row[kind.days_left_column], row)
        for kind in DEADLINE_KINDS
        if row.get(kind.day_column)
    ]


def parse_reminder_days(text: str | None) -> tuple[int, ...]:
    """``"90,30,7"`` as ``(90, 30, 7)``: days before a deadline, largest first, each once. Blank: none."""
    days = set()
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdigit() or int(part) > MAX_REMINDER_DAYS:
            raise ValueError(f"expected whole numbers of days from 0 to {MAX_REMINDER_DAYS}, comma-separated "
                             f"(e.g. 90,30,7), not {text!r}")
        days.add(int(part))
    return tuple(sorted(days, reverse=True))


def calendar_identity(first_ingest) -> str:
    """A short fingerprint of a database: its first ingest (`IDENTITY_SQL`), when it started and the
    fingerprint of the file it read. A copy, a backup and a published site keep it; two databases
    share it only if both were started in the same second from the same file."""
    started_at, sha256 = tuple(first_ingest) if first_ingest else ("", "")
    return hashlib.sha256(f"{started_at}\0{sha256 or ''}".encode()).hexdigest()[:16]


def contract_stamps(conn: sqlite3.Connection, rows: list[dict]) -> ContractStamps:
    """The database's identity and the revision of each tool in ``rows``, read through ``conn``."""
    tools = json.dumps(sorted({row["tool"] for row in rows}))
    revisions = {slug: (ingest, finished) for slug, ingest, finished in conn.execute(REVISIONS_SQL, {"tools": tools})}
    return ContractStamps(calendar_identity(conn.execute(IDENTITY_SQL).fetchone()), revisions)


def event_uid(identity: str, tool: str, kind: str) -> str:
    """The UID of a tool's event of one kind: the same for as long as the database and the tool exist."""
    digest = hashlib.sha256(f"{identity}\0{tool}".encode()).hexdigest()[:24]
    return f"{kind}-{digest}@{UID_DOMAIN}"


def money(amount, currency: str | None) -> str:
    """``6000.0, "EUR"`` as ``6,000 EUR``; cents only when there are some."""
    amount = float(amount)
    figure = f"{amount:,.0f}" if amount == int(amount) else f"{amount:,.2f}"
    return f"{figure} {currency}" if currency else figure


def describe_cost(row: dict) -> str:
    """A contract's cost a year, with its currency, as a person reads it."""
    if row.get("annual_cost") is None:
        if row.get("contract_cost") is not None:  # in a currency with no rate into the base: as the contract has it
            return f"{money(row['contract_cost'], row.get('contract_currency'))} a year"
        return "cost not recorded"
    converted = f"{money(row['annual_cost'], row.get('currency'))} a year"
    if row.get("contract_currency") and row.get("contract_currency") != row.get("currency"):
        converted += f" ({money(row.get('contract_cost'), row.get('contract_currency'))} at the rate of {row.get('rate_date')})"
    return converted


def describe_contract(row: dict) -> str:
    """The lines of an event's description: the tool, its contract, how much it is used and what to do."""
    renews = f"Renews on {row['renewal_date']}"
    if row.get("auto_renew") in (0, 1):
        renews += " (renews itself unless cancelled)" if row["auto_renew"] else " (ends unless renewed)"
    if row.get("notice_period"):
        notice = f"Notice: {row['notice_period']}; cancel by {row['cancel_by']}"
    else:
        notice = "Notice: not recorded"
    seats = "not recorded" if row.get("seats") is None else f"{row['seats']:,}"
    if row.get("seats") is not None and row.get("price_per_seat") is not None:
        seats += f" at {money(row['price_per_seat'], row.get('currency'))} a seat"
    if row.get("utilization") is None:
        used = "not known" if row.get("active_users") is None else f"{row['active_users']:,} active users"
    else:
        used = f"{row['utilization']:.0%} ({row['active_users']:,} active users)"
    recommendation = {
        "right-size": f"right-size to {row.get('recommended_seats')} seats",
        None: "none until its use is known",
    }.get(row.get("recommendation"), row.get("recommendation"))
    lines = [
        f"Tool: {row.get('tool_name') or row['tool']}",
        *([f"Owner: {row.get('owner_team_name') or row['owner_team']}"] if row.get("owner_team") else []),
        renews,
        notice,
        f"Cost: {describe_cost(row)}",
        f"Seats: {seats}",
        f"Utilisation: {used}",
        f"Recommendation: {recommendation}",
        f"Why: {row.get('reason') or ''}",
        f"Action: {row.get('action') or ''}",
    ]
    return "\n".join(lines)


def escape_text(value: object) -> str:
    """A TEXT value as RFC 5545 writes it: backslash, semicolon, comma and newline escaped, controls gone."""
    text = str(value)
    for newline in ("\r\n", "\r", "\u2028", "\u2029"):
        text = text.replace(newline, "\n")
    text = CONTROL.sub(" ", text)
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def fold(line: str) -> str:
    """One content line, folded at `LINE_OCTETS` octets without splitting a character, ending in CRLF."""
    pieces, piece, size, limit = [], [], 0, LINE_OCTETS
    for character in line:
        width = len(character.encode("utf-8"))
        if size + width > limit:
            pieces.append("".join(piece))
            # A continuation line opens with the space that folding adds: one octet of its 75.
            piece, size, limit = [], 0, LINE_OCTETS - 1
        piece.append(character)
        size += width
    pieces.append("".join(piece))
    return (CRLF + " ").join(pieces) + CRLF


def _utc_stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _modified_stamp(finished_at: str | None) -> str | None:
    """An ingest's ``finished_at`` (ISO 8601, UTC) as an iCalendar UTC time; None if it is not one."""
    try:
        moment = dt.datetime.fromisoformat(finished_at)
    except (TypeError, ValueError):
        return None
    return _utc_stamp(moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc))


def _trigger(days: int) -> str:
    return f"-P{days}D" if days else "PT0S"


def _when(days: int) -> str:
    return {0: "today", 1: "tomorrow"}.get(days, f"in {days} days")


def event_lines(deadline: Deadline, stamps: ContractStamps, *, reminder_days, generated_at: dt.datetime) -> list[str]:
    """The unfolded content lines of one deadline's VEVENT, its alarms inside."""
    revision, finished_at = stamps.revisions.get(deadline.tool, (None, None))
    day = dt.date.fromisoformat(deadline.day)
    summary = f"{deadline.kind.title}: {deadline.tool_name}"
    lines = [
        "BEGIN:VEVENT",
        f"UID:{event_uid(stamps.identity, deadline.tool, deadline.kind.name)}",
        f"DTSTAMP:{_utc_stamp(generated_at)}",
    ]
    modified = _modified_stamp(finished_at)
    if modified:
        lines.append(f"LAST-MODIFIED:{modified}")
    lines += [
        f"SEQUENCE:{revision or 0}",
        f"DTSTART;VALUE=DATE:{day:%Y%m%d}",
        f"DTEND;VALUE=DATE:{day + dt.timedelta(days=1):%Y%m%d}",
        f"SUMMARY:{escape_text(summary)}",
        f"DESCRIPTION:{escape_text(describe_contract(deadline.row))}",
        f"CATEGORIES:{escape_text(deadline.kind.title)}",
        # A deadline is a reminder, not a meeting: it must not show the reader as busy all day.
        "TRANSP:TRANSPARENT",
    ]
    for days in reminder_days:
        if days > deadline.days_left:  # it would fire before the as-of day
            continue
        lines += [
            "BEGIN:VALARM",
            "ACTION:DISPLAY",
            f"DESCRIPTION:{escape_text(f'{summary} {_when(days)} ({deadline.day})')}",
            f"TRIGGER:{_trigger(days)}",
            "END:VALARM",
        ]
    return lines + ["END:VEVENT"]


def renewal_calendar(rows: list[dict], stamps: ContractStamps, *, reminder_days=DEFAULT_REMINDER_DAYS,
                     generated_at: dt.datetime | None = None, team: str | None = None) -> str:
    """The iCalendar text of the renewals report's ``rows`` (run with a `HORIZON_DAYS` window).

    One event per renewal and per cancel-by day, in the report's order; an
    alarm at each of ``reminder_days`` before it that is still ahead of the
    report's as-of day. ``generated_at`` (default: now) is every DTSTAMP;
    ``team`` names the calendar after the team it was asked for.
    """
    generated_at = generated_at or dt.datetime.now(dt.timezone.utc)
    name = "Contract renewals"
    if team:
        name += f": {rows[0].get('owner_team_name') or team}" if rows else f": {team}"
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODUCT_ID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape_text(name)}",
        f"NAME:{escape_text(name)}",
        f"X-WR-CALDESC:{escape_text(f'Renewals and notice deadlines of the contracts renewing within {HORIZON_DAYS} days, from the renewals report of stack-tracker.')}",
        f"REFRESH-INTERVAL;VALUE=DURATION:{REFRESH_INTERVAL}",
        f"X-PUBLISHED-TTL:{REFRESH_INTERVAL}",
    ]
    for row in rows:
        for deadline in deadlines(row):
            lines += event_lines(deadline, stamps, reminder_days=reminder_days, generated_at=generated_at)
    lines.append("END:VCALENDAR")
    return "".join(fold(line) for line in lines)


# -- The site's feed ---------------------------------------------------------


def site_database(datasette) -> str:
    """The database the site is about, as ``stack_site.database_name`` finds it.

    Repeated rather than imported: Datasette loads each plugin file on its
    own, by path, so one plugin cannot import another.
    """
    configured = (datasette.plugin_config(PLUGIN) or {}).get("database")
    if configured in datasette.databases:
        return configured
    return next((name for name in datasette.databases if name != "_internal"), configured)


async def _send(send, status: int, content_type: str, body: str) -> None:
    """Answer with raw ASGI messages: Datasette's Response would need Datasette imported at the top."""
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", content_type.encode("latin-1"))]})
    await send({"type": "http.response.body", "body": body.encode("utf-8")})


async def renewals_feed(datasette, request, send):
    """``/renewals.ics[?team=&as_of=&remind=]``: the renewal calendar, for readers who may see the database."""
    database = site_database(datasette)
    await datasette.ensure_permissions(
        request.actor, [("view-query", (database, RENEWALS_REPORT)), ("view-database", database), "view-instance"]
    )
    as_of = (request.args.get("as_of") or "").strip()
    try:
        reminder_days = parse_reminder_days(request.args.get("remind", ",".join(map(str, DEFAULT_REMINDER_DAYS))))
        if as_of:
            dt.date.fromisoformat(as_of)
    except ValueError as error:
        return await _send(send, 400, "text/plain; charset=utf-8", f"{error}\n")
    canned = await datasette.get_canned_query(database, RENEWALS_REPORT, request.actor)
    if canned is None:
        return await _send(send, 404, "text/plain; charset=utf-8", f"this site has no {RENEWALS_REPORT} report\n")
    team = (request.args.get("team") or "").strip()
    # Every parameter not set here is blank, as in a blank form field: the report applies its defaults.
    params = defaultdict(str, as_of=as_of, team=team, renewal_window_days=str(HORIZON_DAYS))
    db = datasette.get_database(database)
    try:
        results = await db.execute(canned["sql"], params, log_sql_errors=False)
    except sqlite3.Error as error:  # a team nothing is called
        return await _send(send, 400, "text/plain; charset=utf-8", f"{error}\n")
    rows = [dict(zip(results.columns, row)) for row in results.rows]
    stamps = await db.execute_fn(lambda conn: contract_stamps(conn, rows))
    text = renewal_calendar(rows, stamps, reminder_days=reminder_days, team=team or None)
    await _send(send, 200, "text/calendar; charset=utf-8", text)


@hookimpl
def register_routes():
    return [(rf"^{re.escape(FEED_PATH)}$", renewals_feed)]


@hookimpl
def extra_template_vars():
    return {
        "renewal_calendar": {
            "path": FEED_PATH,
            "horizon_days": HORIZON_DAYS,
            "reminder_days": list(DEFAULT_REMINDER_DAYS),
        }
    }
