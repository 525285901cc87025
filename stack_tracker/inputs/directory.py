"""Who is in which team: a directory file that maps people to teams.

A directory is any table (CSV, TSV, JSON, JSON Lines, .xlsx) with a team column
and one or more columns that identify a person: an email, a login, a user
principal name. Every identifier in a row maps to the row's team, and to the
same person: someone who signs in with a login to one system and an email to
another is one ``user_key``, made from the row's first identifier. Headers are
matched as ``ingest`` matches them.

Optional columns say who has left: ``status`` (``active``, ``employed``,
``current``; or ``leaver``, ``left``, ``terminated``, ``inactive``,
``deprovisioned``, ``suspended``, the words HR exports use) and ``left_on`` (a
date). A person is a leaver whose status says so, or whose ``left_on`` is on or
before the import's day, whatever the status says.

The directory is read into memory as normalised identifier -> team slug; it
holds people, not events, so its size is the organisation's, not the logs'.
What reaches the database: the teams it creates and, from a directory with a
status or left_on column, the table ``people`` (`write_people`): each person's
``user_key``, team, stated status and left_on, never an identifier. The status
stored is the one the file states (none if it states none), so that what is
stored does not depend on the day of the import; readers apply the left_on rule.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import sqlite_utils

from .. import normalise as n
from ..database.names import NewNames, Resolver, created_text
from ..privacy import PseudonymKey, normalise_identifier
from . import kinds as k
from .catalog import ApplicationResolver
from .readers import ReadError, open_source
from .runs import Problems, counted_changes

UNASSIGNED = "unassigned"
PERSON_HEADERS = (
    "person", "email", "e-mail", "email address", "mail", "work email", "user email", "login", "username",
    "user name", "user principal name", "upn", "user", "sign in name", "account",
)
TEAM_HEADERS = ("team",) + k.TEAM_ALIASES
STATUS_HEADERS = ("status", "employment status", "employee status", "worker status", "hr status")
LEFT_ON_HEADERS = ("left on", "left_on", "leaving date", "leave date", "termination date", "terminated on",
                   "end date", "last day", "last working day", "departure date", "date left")
#: The words HR exports write for someone gone, and for someone still here.
LEAVER_STATUSES = ("leaver", "left", "terminated", "inactive", "deprovisioned", "suspended")
ACTIVE_STATUSES = ("active", "employed", "current")


@dataclass
class Directory:
    """People's teams, by normalised identifier."""

    file: str | None = None
    teams: dict[str, str] = field(default_factory=dict)
    # identifier -> the identifier the person is keyed by: the first of their row's
    # (so a login and an email of one person make one user_key)
    canonical: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    # the teams it names that the database lacks (with --allow-new), created only once someone in them is counted
    new_teams: NewNames | None = None
    created_teams: int = 0
    # the import's day (YYYY-MM-DD): a left_on on or before it makes a leaver
    day: str = ""
    # whether the file has a status or left_on column: only then does it say who is active
    tells_leavers: bool = False
    # the person's first identifier -> left_on, for everyone with one; -> their stated status; and the set of leavers
    left_on: dict[str, str] = field(default_factory=dict)
    statuses: dict[str, str] = field(default_factory=dict)
    leavers: set[str] = field(default_factory=set)

    def person(self, identifier: str) -> tuple[str, str]:
        """(the identifier to key the person by, the slug of their team), for a normalised identifier.

        Someone the directory does not list keeps their own identifier, in team ``unassigned``.
        """
        return self.canonical.get(identifier, identifier), self.teams.get(identifier, UNASSIGNED)

    def left(self, canonical: str) -> str | None:
        """The day a leaver (by the identifier `person` gives) left, ``""`` if the directory gives none; None: not a leaver."""
        if canonical not in self.leavers:
            return None
        return self.left_on.get(canonical, "")

    def write_people(self, db: sqlite_utils.Database, key: PseudonymKey, ingest_id: int) -> int:
        """Upsert everyone the directory lists into ``people`` by user_key, if it says who has left; rows changed.

        People no longer listed keep their row: HR exports often drop those who left.
        """
        if not self.tells_leavers:
            return 0
        rows = [
            (key.user_key(person), self.teams[person], self.statuses.get(person), self.left_on.get(person), ingest_id)
            for person in sorted(set(self.canonical.values()))
        ]
        with counted_changes(db, "people") as changes:
            changes.add(db.conn.executemany(
                "insert into people (user_key, team, status, left_on, ingest_id) values (?, ?, ?, ?, ?) "
                "on conflict (user_key) do update set team = excluded.team, status = excluded.status, "
                "left_on = excluded.left_on, ingest_id = excluded.ingest_id "
                "where team is not excluded.team or status is not excluded.status or left_on is not excluded.left_on",
                rows,
            ))
        return changes.inserted + changes.updated

    def create_teams(self, db: sqlite_utils.Database, ingest_id: int, counted: Iterable[str]) -> None:
        """Create the teams people were counted in that the database lacks: ``unassigned``, the directory's new ones."""
        counted = set(counted)
        if UNASSIGNED in counted:
            db.execute("insert or ignore into teams (slug, name, ingest_id) values (?, 'Unassigned', ?)", [UNASSIGNED, ingest_id])
        if self.new_teams is not None:
            self.created_teams += self.new_teams.write(db, ingest_id, teams_in_use=counted)


def created_names(applications: ApplicationResolver, directory: Directory) -> dict[str, int]:
    """What an import of people created, by kind: the counts `summary_of_people` lists."""
    return {"unreviewed tools": applications.created_tools, "aliases": applications.created_aliases,
            "teams": directory.created_teams}


def summary_of_people(unassigned_people: int, created: dict[str, int]) -> list[str]:
    """The lines an importer of people ends its summary with: who fell in team ``unassigned``, and what it created."""
    lines = []
    if unassigned_people:
        lines.append(
            f"  {unassigned_people:,} {'person' if unassigned_people == 1 else 'people'} not in the "
            f"directory counted in team {UNASSIGNED}"
        )
    made = created_text(created)
    if made:
        lines.append(f"  created {made}")
    return lines


def load_directory(db: sqlite_utils.Database, path: Path | None, *, allow_new: bool, sheet: str | None = None,
                   day: str | None = None, date_format: str | None = None) -> Directory:
    """Read a directory file; with ``allow_new`` its unknown teams become new teams, written to the
    database (`Directory.create_teams`) only once the import has counted someone in them.
    ``day`` (default today) is the import's: a ``left_on`` on or before it makes a leaver.

    A person listed in two teams stays in the first, with a warning naming
    both lines (never the person). Raises `IngestError` listing every problem.
    """
    if path is None:
        return Directory()
    path = Path(path)
    resolver = Resolver(db)
    directory = Directory(file=path.name, new_teams=NewNames(resolver), day=day or dt.date.today().isoformat())
    problems = Problems(path.name)
    first_line: dict[str, int] = {}
    team_names: dict[str, str] = {}

    try:
        with open_source(path, sheet=sheet) as source:
            person_columns: list[str] | None = None
            team_column: str | None = None
            for line, record in source.records:
                if person_columns is None:
                    headers = source.headers or list(record)
                    person_columns, team_column = _required_columns(headers, problems)
                    status_columns = _status_columns(headers)
                    directory.tells_leavers = any(status_columns)
                    if problems:
                        break
                identifiers = [normalise_identifier(str(record.get(column) or "")) for column in person_columns]
                identifiers = [identifier for identifier in identifiers if identifier]
                team_name = n.display_name(" ".join(str(record.get(team_column) or "").split()))
                if not identifiers:
                    problems.add(line, "person", None, "an email or login is required")
                    continue
                if not team_name:
                    problems.add(line, "team", None, "a value is required")
                    continue
                team = _team(resolver, directory, problems, line, team_name, allow_new=allow_new)
                if team is None:
                    continue
                leaving = _leaving(directory, problems, line, record, status_columns, date_format)
                if leaving is None:
                    continue
                team_names.setdefault(team, team_name)
                _add_person(directory, line, identifiers, team, first_line, team_names, leaving)
    except ReadError as error:
        problems.add_error(error)
    problems.raise_if_any()
    return directory


def _required_columns(headers: list[str], problems: Problems) -> tuple[list[str], str | None]:
    """The person columns and the team column, noting a problem for each kind the headers lack."""
    person_columns, team_column = _columns(headers)
    if team_column is None:
        problems.add(1, "team", None, f"required column not found (accepted headers: {', '.join(TEAM_HEADERS)})")
    if not person_columns:
        problems.add(1, "person", None, f"required column not found (accepted headers: {', '.join(PERSON_HEADERS)})")
    return person_columns, team_column


def _status_columns(headers: list[str]) -> tuple[str | None, str | None]:
    """The status column and the left_on column, each None if the file has none."""
    by_key = {k.header_key(header): header for header in reversed(headers)}
    return tuple(next((by_key[key] for key in map(k.header_key, accepted) if key in by_key), None)
                 for accepted in (STATUS_HEADERS, LEFT_ON_HEADERS))


def _leaving(directory: Directory, problems: Problems, line: int, record: dict, columns: tuple[str | None, str | None],
             date_format: str | None) -> tuple[bool, str | None] | None:
    """(the row's status, active, leaver or None, and the day they left); None, with a problem noted, if bad."""
    status_column, left_column = columns
    written = " ".join(str(record.get(status_column) or "").split()) if status_column else ""
    status = written.casefold()
    left_text = str(record.get(left_column) or "").strip() if left_column else ""
    left_on = None
    if left_text:
        try:
            left_on = n.parse_date(left_text, date_format)
        except n.BadValue as error:
            problems.add(line, left_column, left_text, str(error))
            return None
    if status and status not in LEAVER_STATUSES + ACTIVE_STATUSES:
        problems.add(line, status_column, written,
                     f"expected a status: {', '.join(ACTIVE_STATUSES)} (active) or {', '.join(LEAVER_STATUSES)} (leaver)")
        return None
    stated = "leaver" if status in LEAVER_STATUSES else "active" if status else None
    return stated, left_on


def _team(resolver: Resolver, directory: Directory, problems: Problems, line: int, team_name: str, *,
          allow_new: bool) -> str | None:
    """The slug of a row's team, a new one with ``allow_new`` if unknown; None, with a problem noted, if it cannot be."""
    team = resolver.team(team_name)
    if team is not None:
        return team
    if not allow_new:
        problems.add(line, "team", team_name, "unknown team: add it to the teams file first, or pass --allow-new to create it")
        return None
    try:
        return directory.new_teams.team(team_name)
    except n.BadValue as error:
        problems.add(line, "team", team_name, str(error))
        return None


def _add_person(directory: Directory, line: int, identifiers: list[str], team: str, first_line: dict[str, int],
                team_names: dict[str, str], leaving: tuple[bool, str | None]) -> None:
    """Map a row's identifiers to its team and to one person; one already in another team stays there, with a warning."""
    canonical = next((directory.canonical[i] for i in identifiers if i in directory.canonical), identifiers[0])
    stated, left_on = leaving
    if stated == "leaver" or (left_on is not None and left_on <= directory.day):
        directory.leavers.add(canonical)
    if left_on and canonical not in directory.left_on:
        directory.left_on[canonical] = left_on
    if stated and canonical not in directory.statuses:
        directory.statuses[canonical] = stated
    for identifier in identifiers:
        known = directory.teams.get(identifier)
        if known is None:
            directory.teams[identifier] = team
            directory.canonical[identifier] = canonical
            first_line[identifier] = line
        elif known != team:
            directory.warnings.append(
                f"{directory.file}:{line}: this person is already in team {team_names[known]} "
                f"(line {first_line[identifier]}); counted in {team_names[known]} only"
            )


def _columns(headers: list[str]) -> tuple[list[str], str | None]:
    person_keys = {k.header_key(header) for header in PERSON_HEADERS}
    team_keys = [k.header_key(header) for header in TEAM_HEADERS]
    persons = [header for header in headers if k.header_key(header) in person_keys]
    by_key = {k.header_key(header): header for header in reversed(headers)}
    team = next((by_key[key] for key in team_keys if key in by_key), None)
    return persons, team
