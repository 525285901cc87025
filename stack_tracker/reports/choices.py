"""What a report's parameters may be, enforced inside the SQL every reader runs
(the command line, the site's forms and pages, its charts): a team by any name,
and the words a closed-choice parameter takes.

A team. A report's SQL reads ``:team`` as a team's slug (``nullif(:team, '')``).
`with_team_names` turns every ``:team`` into `TEAM_SLUG`, the one lookup: a
name, an alias or the slug, in any case, becomes the slug; a name nothing has
is an error saying so, never a report with no rows.

Report parameters that take one of a few words: an unknown word is an error, never the default.

A report's SQL reads such a parameter with a default (``coalesce(nullif(:basis,
''), 'seats')``) and then branches on it: left alone, ``basis=actve`` would
quietly come out as seats. The words each parameter takes are data here, and
are checked twice over: by `unknown_choice` before the command line runs a
report (a message naming the words), and by `with_choices` inside the SQL that
every reader runs, so the site's forms, its pages and its charts refuse the
word as well.
"""

from __future__ import annotations

import re
from typing import Iterable

#: A team by its slug or name, in any case: the slug, or none for a blank; a name nothing has is an error.
#: ``json_extract`` with a made-up path is SQLite's one error whose message carries our words.
TEAM_SLUG = (
    "(case when trim(:team) <> '' then coalesce("
    "(select slug from spellings where kind = 'team' and spelling = lower(trim(:team)) order by preference limit 1), "
    "json_extract('{}', 'unknown team: ' || :team)) end)"
)
_TEAM_PARAMETER = re.compile(r":team\b")


def with_team_names(sql: str) -> str:
    """``sql`` with each ``:team`` read through `TEAM_SLUG`, so a name works wherever a slug does."""
    return _TEAM_PARAMETER.sub(lambda _: TEAM_SLUG, sql)


#: The words each such parameter takes, exactly as written (blank: the report's default).
PARAMETER_CHOICES: dict[str, tuple[str, ...]] = {
    "basis": ("seats", "active"),
}


def unknown_choice(name: str, value: str) -> str | None:
    """What is wrong with ``value`` for parameter ``name``, naming the words it takes; None if nothing."""
    choices = PARAMETER_CHOICES.get(name)
    if choices is None or value == "" or value in choices:
        return None
    return f"{name} {value!r} is not one of {', '.join(choices)}"


def with_choices(sql: str, parameters: Iterable[str]) -> str:
    """``sql`` refusing a value of ``parameters`` outside `PARAMETER_CHOICES`, with an SQLite error naming the words.

    The check is a WHERE term over bound parameters alone: SQLite evaluates such
    a term once, before reading any row, so the error comes even when the
    report has no rows; and a single-table outer select keeps the report's
    order. ``json_extract`` with a made-up path is SQLite's one error whose
    message carries our words, as the reports' unknown-team check uses it.
    """
    checks = []
    for name in parameters:
        if name not in PARAMETER_CHOICES:
            continue
        choices = PARAMETER_CHOICES[name]
        # Words and names are plain identifiers (this module's own data): nothing to escape.
        listed = ", ".join(f"'{choice}'" for choice in choices)
        checks.append(
            f"case when coalesce(:{name}, '') in ('', {listed}) then 1 "
            f"else json_extract('{{}}', 'unknown {name}: ' || :{name} || ' (expected {' or '.join(choices)})') end"
        )
    if not checks:
        return sql
    return f"select * from (\n{sql.strip()}\n) as report\nwhere " + "\n  and ".join(checks)
