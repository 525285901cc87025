"""A synthetic organisation at any scale, written in the shapes of ``data/sample/``.

`generate` invents a marketing organisation from a seed and writes it as the
files the sample is made of (teams, tools, aliases, tool capabilities, needs,
monthly usage, integrations), so the commands that load the sample load it.
With ``events`` it also writes an Okta System Log in JSON Lines and a people
directory, for ``import-logins --source okta --directory directory.csv``.

The organisation is built to give every report something to find, the way
real stacks do:

- tool popularity is Zipf-like: a few tools used by nearly every team, a long
  tail used by one or two; several tools share each capability (overlap);
- teams need capabilities none of their tools provide (team gaps), and a few
  capabilities nothing in the inventory provides (organisation gaps);
- some tools have seats and nobody active (shelfware), some one active user
  (concentration), some no usage data at all (blind spots), and a few tools
  teams use are missing from the inventory (shadow IT, loaded with
  ``--allow-new`` as the sample's usage is);
- renewals fall over the year after the last month, costs are skewed, a few
  tools bill in EUR, teams spell tool names their own way (case, stray
  spaces, aliases), and integrations form chains into hub tools.

Everything comes from ``random.Random`` seeded with the seed and the part being
made (so adding ``events`` leaves the other files as they were): the same
arguments give byte-identical files. Rows stream to the files: what is held
in memory is the organisation (teams × tools, people) and one day of events
as integers, never the usage rows or the log's lines.

The package keeps the plan apart from the files: `model` plans the teams,
tools and who uses what when, `people` the people on top of it; `files`
writes the CSV files and `events` the directory and the sign-in log.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .. import normalise as n
from ..errors import StackTrackerError
from .events import OktaLog, write_directory
from .files import (
    write_aliases,
    write_capabilities,
    write_integrations,
    write_needs,
    write_teams,
    write_tools,
    write_usage,
)
from .model import Organisation
from .people import People

TEAMS_FILE, TOOLS_FILE, ALIASES_FILE = "teams.csv", "tools.csv", "aliases.csv"
CAPABILITIES_FILE, NEEDS_FILE, USAGE_FILE = "tool-capabilities.csv", "needs.csv", "usage.csv"
INTEGRATIONS_FILE, DIRECTORY_FILE, LOG_FILE = "integrations.csv", "directory.csv", "okta.jsonl"
# In the order `stack-tracker ingest` takes them, then the sign-in files.
FILES = (TEAMS_FILE, TOOLS_FILE, ALIASES_FILE, CAPABILITIES_FILE, NEEDS_FILE, USAGE_FILE, INTEGRATIONS_FILE,
         DIRECTORY_FILE, LOG_FILE)
#: How to ingest what it writes, in order: (kind, file, allow_new). Usage may name a tool the inventory lacks.
INGEST_ORDER = (
    ("teams", TEAMS_FILE, False), ("tools", TOOLS_FILE, False), ("aliases", ALIASES_FILE, False),
    ("tool-capabilities", CAPABILITIES_FILE, False), ("needs", NEEDS_FILE, False), ("usage", USAGE_FILE, True),
    ("integrations", INTEGRATIONS_FILE, False),
)

MIN_TEAMS, MIN_TOOLS, MAX_MONTHS = 2, 5, 1200


class GenerateError(StackTrackerError):
    """Arguments that cannot make an organisation, or an output directory in the way."""


@dataclass
class GenerateResult:
    """What `generate` wrote: rows per file (events for the log), in `FILES` order."""

    outdir: Path
    rows: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        """One line for people: the directory and each file's row count."""
        parts = [f"{name} {count:,} {'events' if name.endswith('.jsonl') else 'rows'}" for name, count in self.rows.items()]
        return f"Wrote {len(self.rows)} files to {self.outdir}: " + ", ".join(parts)


def generate(
    outdir: Path | str,
    *,
    teams: int,
    tools: int,
    months: int,
    users: int,
    events: int = 0,
    seed: int = 0,
    end: str = "2026-11",
    force: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> GenerateResult:
    """Write a synthetic organisation into ``outdir`` and return the row count of each file.

    ``teams`` teams and ``users`` people use ``tools`` tools over the
    ``months`` months that end with ``end`` (``YYYY-MM``). With ``events``,
    also an Okta System Log of that many events and the people directory.
    ``outdir`` must not hold files unless ``force`` (then the files of this
    package are replaced, and a log and directory left from an earlier run with
    events are removed). ``progress(done, total)`` counts usage rows and
    events as they are written. Raises `GenerateError` for bad arguments.
    """
    outdir = Path(outdir)
    first_month = _check(outdir, teams=teams, tools=tools, months=months, users=users, events=events, end=end,
                         force=force)
    organisation = Organisation.plan(seed, teams=teams, tools=tools, months=months, users=users, first_month=first_month)
    outdir.mkdir(parents=True, exist_ok=True)
    result = GenerateResult(outdir)
    total = organisation.usage_rows + events
    done = 0

    def advance(count: int) -> None:
        nonlocal done
        done += count
        if progress:
            progress(done, total)

    result.rows[TEAMS_FILE] = write_teams(organisation, outdir / TEAMS_FILE)
    result.rows[TOOLS_FILE] = write_tools(organisation, outdir / TOOLS_FILE)
    result.rows[ALIASES_FILE] = write_aliases(organisation, outdir / ALIASES_FILE)
    result.rows[CAPABILITIES_FILE] = write_capabilities(organisation, outdir / CAPABILITIES_FILE)
    result.rows[NEEDS_FILE] = write_needs(organisation, outdir / NEEDS_FILE)
    result.rows[USAGE_FILE] = write_usage(organisation, outdir / USAGE_FILE, random.Random(f"{seed}:usage"), advance)
    result.rows[INTEGRATIONS_FILE] = write_integrations(organisation, outdir / INTEGRATIONS_FILE)
    if events:
        people = People.plan(organisation, random.Random(f"{seed}:people"), users)
        result.rows[DIRECTORY_FILE] = write_directory(people, outdir / DIRECTORY_FILE)
        log = OktaLog(organisation, people, random.Random(f"{seed}:okta"))
        result.rows[LOG_FILE] = log.write(outdir / LOG_FILE, events, advance)
    else:
        for stale in (DIRECTORY_FILE, LOG_FILE):
            (outdir / stale).unlink(missing_ok=True)
    return result


def _check(outdir: Path, *, teams: int, tools: int, months: int, users: int, events: int, end: str, force: bool) -> int:
    """Raise `GenerateError` naming every bad argument; return the first month as a month number."""
    problems = []
    if teams < MIN_TEAMS:
        problems.append(f"--teams must be at least {MIN_TEAMS} (a parent team and one under it), not {teams}")
    if tools < MIN_TOOLS:
        problems.append(f"--tools must be at least {MIN_TOOLS} (enough for overlaps and gaps), not {tools}")
    if not 1 <= months <= MAX_MONTHS:
        problems.append(f"--months must be from 1 to {MAX_MONTHS}, not {months}")
    if users < teams:
        problems.append(f"--users must be at least the number of teams ({teams}): every team has someone in it, not {users}")
    if events < 0:
        problems.append(f"--events must be zero or more, not {events}")
    match = re.fullmatch(r"(\d{4})-(\d{2})", end or "")
    if not match or not 1 <= int(match[2]) <= 12:
        problems.append(f"--end must be a month written YYYY-MM, such as 2026-11, not {end!r}")
        last_month = 0
    else:
        last_month = int(match[1]) * 12 + int(match[2]) - 1
        try:
            n.parse_period(end)  # a month the usage file can hold, as ingest reads it
        except n.BadValue as error:
            problems.append(f"--end {end}: {error}")
        else:
            if 1 <= months <= MAX_MONTHS and last_month - months + 1 < 1900 * 12:
                problems.append(f"--months {months} before --end {end} starts before the year 1900")
    if outdir.exists() and not outdir.is_dir():
        problems.append(f"{outdir} is a file, not a directory")
    elif outdir.is_dir() and any(outdir.iterdir()) and not force:
        problems.append(f"{outdir} is not empty: choose a new directory, or pass --force to write into it")
    if problems:
        raise GenerateError("cannot generate: " + "; ".join(problems))
    return last_month - months + 1
