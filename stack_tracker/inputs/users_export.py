"""Import a vendor's user list: seats and active users, as the admin console knows them.

Admin consoles export their users with a last login and a licence or role:
Salesforce (a users report: ``Username``, ``Email``, ``User License``,
``Profile``, ``Active``, ``Last Login``; the User object through SOQL or Data
Loader: ``Username``, ``IsActive``, ``Profile.Name``,
``Profile.UserLicense.Name``, ``LastLoginDate``), HubSpot (``Email``, ``Last
login date``, ``Assigned role``, ``Seats``), Adobe Admin Console (``Email``,
``Product Configurations``, ``Admin Roles``) and the like. For one tool and one
day (``as_of``) this gives, per team:

- **seats**: users holding a licence: the licence column is set and is not a
  free or empty one (``None``, ``Chatter Free``, ``View-only`` …); without a
  licence column, every user whose role or profile is not a free one
  (``View-only``, ``Chatter Free User``); without either, every user listed.
  Deactivated users (an active flag of ``false``, ``0``, ``inactive`` …) hold
  none. A file without a licence column says what seats were counted from; a
  file in which nobody holds a seat imports, and says why that may be.
- **active users**: seat holders whose last login falls within ``active_days``
  days up to ``as_of`` (a login after ``as_of`` counts too). A file with no
  last-login column gives seats only, and says so.

Written to ``usage`` with source ``vendor`` for the month of ``as_of``; the
export is a snapshot of every user, so it replaces the vendor figures of that
tool and month (a team no longer in it loses its row).

People are stored only as ``user_key``, the keyed hash import-logins stores
(`stack_tracker.privacy`), never an identifier: ``seat_holders`` keeps, per
tool, every user the export lists, with their team, last login day and
whether they hold a seat (the export is a snapshot: it replaces the tool's
earlier rows) and the tier (the licence column's value, trimmed), for the
``reclaim`` and ``right-size`` reports. A directory with a status or
left_on column (`stack_tracker.inputs.directory`) is written to ``people``,
and the summary says how many seats people who left (as of ``as_of``) still hold.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import sqlite_utils

from .. import normalise as n
from ..errors import StackTrackerError
from ..privacy import PseudonymKey, check_key, load_key, normalise_identifier
from . import kinds as k
from .catalog import ApplicationResolver
from .directory import UNASSIGNED, Directory, created_names, load_directory, summary_of_people
from .readers import ReadError, open_source
from .runs import Problems, counted_changes, logged_run
from .sources import Timestamps

KIND = "users"

COLUMNS = {
    "user": ("email", "e-mail", "email address", "username", "user name", "login", "user principal name", "upn",
             "user", "user email", "work email", "federated id"),
    "last_login": ("last login", "last login date", "last login time", "last logged in", "last active", "last activity",
                   "last active date", "last seen", "last sign in", "last signed in", "last accessed", "last access",
                   "last used", "lastlogindate", "last login (utc)"),
    # Salesforce's API names the licence through the profile: Profile.UserLicense.Name
    # (Profile_UserLicense_Name in some tools; its reports say "Profile: User License").
    "licence": ("user license", "user licence", "profile.userlicense.name", "profile: user license", "license", "licence",
                "license type", "licence type", "seat", "seats", "seat type", "assigned seat", "assigned seats", "paid seat",
                "product configurations", "product profiles", "products", "product", "plan", "subscription",
                "license assigned"),
    # A profile before a role: in Salesforce the profile follows the licence (Chatter Free User),
    # the role is a place in the hierarchy (CMO) that says nothing of one.
    "role": ("profile", "profile.name", "role", "assigned role", "user role", "permission set", "permission sets",
             "admin roles", "access level", "access"),
    "active": ("active", "is active", "status", "user status", "account status", "state", "enabled"),
}
#: Values that name no licence at all.
NO_LICENCE = r"|-|none|no|n/?a|null|no (seat|license|licence)s?|unassigned|unlicen[sc]ed"
#: Licences and roles that cost nothing. Salesforce's no-cost user licences are Chatter Free and
#: Chatter External, and the Guest User License of public sites; Chatter Only, Salesforce Platform
#: and Salesforce Integration are paid.
FREE = r"view[ -]?only|viewer|.*\b(free|chatter external|guest user licen[sc]e)\b.*"
NO_SEAT = re.compile(f"^({NO_LICENCE}|{FREE})$", re.I)
INACTIVE = {"inactive", "deactivated", "disabled", "suspended", "deleted", "removed", "false", "no", "0", "frozen",
            "locked", "archived", "blocked"}
NEVER = {"", "never", "-", "n/a", "none", "null", "never logged in", "not yet"}


@dataclass
class UsersResult:
    """What one user export counted and wrote."""

    file: str
    tool: str
    period: str
    as_of: str
    active_days: int
    ingest_id: int | None = None
    users: int = 0
    seats: int = 0
    active: int | None = None
    deactivated: int = 0
    without_seat: int = 0
    leaver_seats: int = 0
    # the licence (or role) values that held no seat, with how many enabled users had each
    no_seat_values: dict[str, int] = field(default_factory=dict)
    teams: int = 0
    unassigned_people: int = 0
    inserted: int = 0
    updated: int = 0
    removed: int = 0
    created: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        active = "active users unknown (no last-login column)" if self.active is None else (
            f"{self.active:,} signed in within {self.active_days} days")
        lines = [
            f"{self.file}: {self.users:,} users of {self.tool} as of {self.as_of}: {self.seats:,} holding a seat, {active}; "
            f"wrote {self.inserted + self.updated:,} team rows for {self.period} ({self.inserted} new, {self.updated} updated"
            + (f", {self.removed} removed" if self.removed else "") + ")"
        ]
        if self.deactivated:
            one = self.deactivated == 1
            lines.append(f"  {self.deactivated:,} deactivated {'user holds' if one else 'users hold'} no seat")
        if self.leaver_seats:
            one = self.leaver_seats == 1
            lines.append(f"  {self.leaver_seats:,} {'seat' if one else 'seats'} held by "
                         f"{'someone' if one else 'people'} who left (per the directory)")
        if self.without_seat:
            one = self.without_seat == 1
            lines.append(f"  {self.without_seat:,} {'user' if one else 'users'} without a paid licence "
                         f"{'holds' if one else 'hold'} no seat")
        lines += summary_of_people(self.unassigned_people, self.created)
        return "\n".join(lines)


def import_users(
    db: sqlite_utils.Database,
    path: Path | str,
    *,
    tool: str,
    as_of: str,
    active_days: int = 30,
    directory: Path | str | None = None,
    allow_new: bool = False,
    date_format: str | None = None,
    sheet: str | None = None,
    key: PseudonymKey | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> UsersResult:
    """Count the seats and active users of ``tool`` in a vendor's user export, per team, as of ``as_of``.

    One transaction, logged in ``ingests`` (kind ``users``); the derived report
    tables are rebuilt inside it. ``key`` defaults to `privacy.load_key`.
    Raises `IngestError` listing every problem.
    """
    path = Path(path)
    as_of_date, window_start = _window(as_of, active_days, date_format)
    result = UsersResult(file=path.name, tool=tool, period=as_of_date.isoformat()[:7], as_of=as_of_date.isoformat(), active_days=active_days)
    key = key or load_key(db)
    result.warnings += key.warnings
    with logged_run(db, KIND, path.name) as run:
        result.ingest_id = run.id
        check_key(db, key)
        applications = ApplicationResolver(db, run.id, allow_new=allow_new)
        tool_slug = _tool(applications, tool)
        result.tool = applications.resolver.tool_names.get(tool_slug, tool)
        people = load_directory(db, Path(directory) if directory else None, allow_new=allow_new, day=result.as_of,
                                date_format=date_format)
        result.warnings += people.warnings
        holders: dict[str, tuple] = {}
        try:
            counts, sha256 = _count(path, result, people, window_start, date_format, sheet, progress,
                                    _Holders(key, holders))
        finally:
            run.rows_read = result.users
        people.create_teams(db, run.id, counts)
        _write(db, tool_slug, result, counts, run.id)
        people.write_people(db, key, run.id)
        _write_holders(db, tool_slug, result.as_of, holders, run.id)
        result.created = created_names(applications, people)
        run.refresh({"usage"}, periods={result.period})  # one tool's month changed
        run.commit(sha256=sha256, rows_read=result.users, rows_written=result.inserted + result.updated, message=result.summary())
        return result


def _window(as_of: str, active_days: int, date_format: str | None) -> tuple[dt.date, str]:
    """The day the export is as of, and the first day of the ``active_days`` up to it."""
    try:
        as_of_date = dt.date.fromisoformat(n.parse_as_of(as_of, date_format))
    except n.BadValue as error:
        raise StackTrackerError(f"--as-of {as_of!r}: {error}") from None
    if active_days < 1:
        raise StackTrackerError("--active-days must be 1 or more")
    try:
        return as_of_date, (as_of_date - dt.timedelta(days=active_days - 1)).isoformat()
    except OverflowError:
        raise StackTrackerError(f"--active-days {active_days} reaches back before the calendar begins") from None


def _tool(applications: ApplicationResolver, tool: str) -> str:
    """The slug of the tool the export is of (an unreviewed tool, created, with ``allow_new``)."""
    tool_slug = applications.tool(tool)
    if tool_slug is None:
        raise StackTrackerError(
            f"unknown tool {tool!r}: add it to the inventory or an aliases file, or pass --allow-new to record it as an unreviewed tool"
        )
    return tool_slug


@dataclass
class _Holders:
    """The export's users by user_key: (team, last login day, holds a seat, tier), for ``seat_holders``."""

    key: PseudonymKey
    rows: dict[str, tuple[str, str | None, int, str]]

    def add(self, person: str, team: str, last_login: str | None, holds_seat: bool, tier: str) -> None:
        user_key = self.key.user_key(person)
        known = self.rows.get(user_key)
        if known is not None:  # listed twice: the later login, a seat if either row holds one, and that seat's tier
            last_login = max(filter(None, (last_login, known[1])), default=None)
            if known[2] and not holds_seat:
                tier = known[3]
            holds_seat = holds_seat or bool(known[2])
        self.rows[user_key] = (team, last_login, int(holds_seat), tier)


def _count(path: Path, result: UsersResult, people: Directory, window_start: str, date_format: str | None,
           sheet: str | None, progress, holders: _Holders) -> tuple[dict[str, list], str]:
    """team -> [seats, active] over the file's users; checks every row first. Every user goes into ``holders``."""
    problems = Problems(path.name)
    counts: dict[str, list] = {}
    unassigned: set[str] = set()
    timestamps = Timestamps(date_format)
    sha256 = ""
    try:
        with open_source(path, sheet=sheet) as source:
            records = source.records
            first = next(records, None)
            columns = _columns(path.name, source.headers or (list(first[1]) if first else []), first is None, problems,
                               result.warnings)
            users = itertools.chain([first], records) if first and not problems else ()
            for line, record in users:
                user = _text(record.get(columns["user"]))
                if not user:
                    problems.add(line, columns["user"], None, "a user (email or login) is required")
                    continue
                result.users += 1
                if progress and result.users % 1000 == 0:
                    progress(source.bytes_read, source.size)
                active = _seat(line, record, columns, timestamps, window_start, problems, result)
                canonical, team = people.person(normalise_identifier(user))
                holders.add(canonical, team, _last_login(record, columns, timestamps), active is not _NOT_COUNTED,
                            _text(record.get(columns["licence"])) if "licence" in columns else "")
                if active is _NOT_COUNTED:
                    continue
                if people.left(canonical) is not None:
                    result.leaver_seats += 1
                if team == UNASSIGNED:
                    unassigned.add(canonical)
                entry = counts.setdefault(team, [0, 0 if active is not None else None])
                entry[0] += 1
                if active:
                    entry[1] += 1
            sha256 = source.sha256()
    except ReadError as error:
        problems.add_error(error)
    problems.raise_if_any()
    _total(result, counts, unassigned)
    _warn_if_nobody_holds_a_seat(result, columns)
    return counts, sha256


def _columns(file: str, headers: list[str], empty: bool, problems: Problems, warnings: list[str]) -> dict[str, str]:
    """Column -> the export's header for it.

    A problem without a user column or without users; a warning without a licence column or a last-login one.
    """
    columns = k.find_columns(headers, COLUMNS)
    if "user" not in columns:
        problems.add(1, "user", None, f"required column not found (accepted headers: {', '.join(COLUMNS['user'])})")
    elif empty:
        problems.add(None, "file", None, "no users in the file")
    else:
        if "licence" not in columns:
            accepted = ", ".join(COLUMNS["licence"])
            warnings.append(f"{file}: no licence column (accepted headers: {accepted}): {_seats_from(columns)}")
        if "last_login" not in columns:
            warnings.append(
                f"{file}: no last-login column (accepted headers: {', '.join(COLUMNS['last_login'])}): "
                "seats are counted, active users are left unknown"
            )
    return columns


def _seats_from(columns: dict[str, str]) -> str:
    """What seats are counted from in a file without a licence column, for its warning."""
    users = "every enabled user" if "active" in columns else "every listed user"
    if "role" in columns:
        return f"seats counted from {columns['role']}: {users} whose role or profile is not a free one"
    return f"{users} counted as a seat"


def _warn_if_nobody_holds_a_seat(result: UsersResult, columns: dict[str, str]) -> None:
    """A file of users none of whom holds a seat imports, with a warning naming what left them out."""
    if not result.users or result.seats:
        return
    column = columns.get("licence") or columns.get("role")
    causes = []
    if result.deactivated:
        causes.append(f"{result.deactivated:,} deactivated by {columns['active']}")
    if result.without_seat:
        seen = sorted(result.no_seat_values.items(), key=lambda item: (-item[1], item[0]))
        values = ", ".join(f"{value or '(empty)'} ({users:,})" for value, users in seen[:5]) + (" …" if len(seen) > 5 else "")
        causes.append(f"{result.without_seat:,} with no paid licence in {column}: {values}")
    if result.deactivated == result.users:
        hint = f"was the export filtered to deactivated users, or does {columns['active']} mean something else?"
    elif result.deactivated:
        hint = "was the export filtered to deactivated and free users?"
    else:
        hint = f"was the export filtered to free users, or is the paid licence in a column other than {column}?"
    result.warnings.append(f"{result.file}: none of the {result.users:,} users holds a seat ({'; '.join(causes)}): {hint}")


#: How many distinct licence values without a seat are tallied for the warning: a file is not made to grow memory.
_NO_SEAT_VALUES_KEPT = 100

#: What `_seat` gives for a user counted in no team: one holding no seat, or whose last login is no date.
_NOT_COUNTED = object()


def _seat(line: int, record: dict, columns: dict[str, str], timestamps: Timestamps, window_start: str,
          problems: Problems, result: UsersResult) -> bool | None | object:
    """Whether a user holding a seat signed in since ``window_start`` (None: the file does not say); else `_NOT_COUNTED`."""
    if "active" in columns and _text(record.get(columns["active"])).casefold() in INACTIVE:
        result.deactivated += 1
        return _NOT_COUNTED
    if not _holds_seat(record, columns):
        value = _text(record.get(columns.get("licence") or columns["role"]))
        result.without_seat += 1
        if value in result.no_seat_values or len(result.no_seat_values) < _NO_SEAT_VALUES_KEPT:
            result.no_seat_values[value] = result.no_seat_values.get(value, 0) + 1
        return _NOT_COUNTED
    if "last_login" not in columns:
        return None
    value = _text(record.get(columns["last_login"]))
    if value.casefold() in NEVER:
        return False
    try:
        return timestamps.utc(value)[:10] >= window_start
    except n.BadValue as error:
        problems.add(line, columns["last_login"], value, str(error))
        return _NOT_COUNTED


def _last_login(record: dict, columns: dict[str, str], timestamps: Timestamps) -> str | None:
    """The UTC day of a user's last login; None for never, no column, or a value `_seat` reported."""
    value = _text(record.get(columns["last_login"])) if "last_login" in columns else ""
    if value.casefold() in NEVER:
        return None
    try:
        return timestamps.utc(value)[:10]
    except n.BadValue:
        return None


def _holds_seat(record: dict, columns: dict[str, str]) -> bool:
    """By the licence column; without one, by the role; without either, every user holds a seat."""
    if "licence" in columns:
        return not NO_SEAT.match(_text(record.get(columns["licence"])))
    if "role" in columns:
        role = _text(record.get(columns["role"]))
        return not (role and NO_SEAT.match(role))
    return True


def _total(result: UsersResult, counts: dict[str, list], unassigned: set[str]) -> None:
    """The file's totals, from the per-team counts."""
    result.unassigned_people = len(unassigned)
    result.seats = sum(seats for seats, _ in counts.values())
    result.active = None if any(active is None for _, active in counts.values()) else sum(active for _, active in counts.values())
    result.teams = len(counts)


def _write(db, tool: str, result: UsersResult, counts: dict[str, list], ingest_id: int) -> None:
    """Write the per-team counts as the tool's vendor figures for the month; remove the teams no longer in the export."""
    with counted_changes(db, "usage") as changes:
        changes.add(db.conn.executemany(
            "insert into usage (team, tool, period, source, seats, active_users, ingest_id) values (?, ?, ?, 'vendor', ?, ?, ?) "
            "on conflict (team, tool, period, source) do update set seats = excluded.seats, active_users = excluded.active_users, "
            "ingest_id = excluded.ingest_id where seats is not excluded.seats or active_users is not excluded.active_users",
            [(team, tool, result.period, seats, active, ingest_id) for team, (seats, active) in sorted(counts.items())],
        ))
    result.inserted, result.updated = changes.inserted, changes.updated
    teams = sorted(counts)
    result.removed = db.conn.execute(
        f"delete from usage where tool = ? and period = ? and source = 'vendor' and team not in ({', '.join('?' for _ in teams)})",
        [tool, result.period, *teams],
    ).rowcount


def _write_holders(db, tool: str, as_of: str, holders: dict[str, tuple], ingest_id: int) -> None:
    """Replace the tool's ``seat_holders`` with the export's users, leaving rows that did not change alone."""
    db.conn.executemany(
        "insert into seat_holders (tool, user_key, as_of, team, last_login, holds_seat, tier, ingest_id) "
        "values (?, ?, ?, ?, ?, ?, ?, ?) on conflict (tool, user_key) do update set as_of = excluded.as_of, "
        "team = excluded.team, last_login = excluded.last_login, holds_seat = excluded.holds_seat, "
        "tier = excluded.tier, ingest_id = excluded.ingest_id where as_of is not excluded.as_of "
        "or team is not excluded.team or last_login is not excluded.last_login "
        "or holds_seat is not excluded.holds_seat or tier is not excluded.tier",
        [(tool, user_key, as_of, team, last_login, holds_seat, tier, ingest_id)
         for user_key, (team, last_login, holds_seat, tier) in sorted(holders.items())],
    )
    db.conn.execute("delete from seat_holders where tool = ? and user_key not in (select value from json_each(?))",
                    [tool, json.dumps(sorted(holders))])


def _text(value: object) -> str:
    return " ".join(str(value).split()) if value is not None else ""
