"""The reports: each one defined once, in SQL, over the derived tables in the database.

Every report is a SQL file in ``reports/sql/`` that reads small derived
tables (``usage_effective``, ``tool_period_summary`` …, see
`database.derived`) rebuilt after each ingest. The CLI (`run_report`), the
Datasette canned queries (`canned_queries`) and the charts all run that same
SQL; nothing in Python recomputes a report.

The SQL applies its own defaults, because Datasette passes every parameter as a
string and a blank field as ``''``: ``coalesce(nullif(:period, ''), …)``.
`run_report` passes parameters the same way, so both give the same rows.

People read names, programs read slugs: every reader runs a report's SQL with
the display name added beside each slug column (`with_names`: ``tool`` is
followed by ``tool_name``), and a ``team`` or ``tool`` parameter takes a name,
an alias or a slug in any case (in Python, `database.names.slug_for`; in the
SQL, through the view ``spellings``, so the site's forms take names too).

How the SQL is written: each file opens with a one-row ``params`` CTE that
applies the defaults. Big derived tables are read with
``x.period = (select period from params)`` and ``CROSS JOIN params`` rather
than by joining on params: the month is then a constant the planner seeks to
directly, and the table's key order survives (joined, the planner may first
scan the whole table to build a Bloom filter, 2-3 times slower at a million
rows once ANALYZE has run).

Example::

    run_report(db, "renewals", as_of="2024-07-01", params={"renewal_window_days": "30"})
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Mapping

import sqlite_utils

from .. import normalise as n
from ..database.names import NAMED_TABLES, slug_for
from ..errors import StackTrackerError
from .choices import unknown_choice, with_choices, with_team_names
# SQL_DIR and sql_parameters are read from here by the tests and the benchmarks.
from .sql_text import SQL_DIR, read_report_sql, report_columns, sql_parameters  # noqa: F401


class ReportError(StackTrackerError):
    """An unknown report or parameter; the message lists the valid ones."""


def _sql(name: str) -> str:
    return read_report_sql(name)


#: Columns that hold a slug, and the table that names it. Beside each, every
#: report row carries ``<column>_name``, the display name (the slug itself for
#: something no table names): programs read the slug, people the name.
NAMED_COLUMNS = {
    "tool": "tools",
    "team": "teams",
    "capability": "capabilities",
    "owner_team": "teams",
    "keep_candidate": "tools",
    "downstream_tool": "tools",
    "tool_a": "tools",
    "tool_b": "tools",
}
#: Columns that hold a list of slugs (a JSON array, or joined by ``, ``), and the table that names them.
NAMED_LISTS = {"shared_capabilities": "capabilities", "takeover_tools": "tools", "paying_teams": "teams"}


def with_names(sql: str, columns: list[str]) -> str:
    """``sql`` with ``<column>_name`` after each of its ``columns`` in `NAMED_COLUMNS` or `NAMED_LISTS`.

    Written once here rather than in every report, so no report can forget a
    name; a column whose name the report already gives is left as it is. The
    outer select only reads the report's rows, in their order, looking each
    name up by its table's key.
    """
    selected = []
    for column in columns:
        selected.append(f"report.[{column}]")
        named = f"{column}_name"
        if named in columns:
            continue
        if column in NAMED_COLUMNS:
            selected.append(f"coalesce((select name from [{NAMED_COLUMNS[column]}] where slug = report.[{column}]), "
                            f"report.[{column}]) as [{named}]")
        elif column in NAMED_LISTS:
            # Slugs hold neither commas nor quotes: a joined list is a JSON array once quoted.
            listed = (f"iif(json_valid(report.[{column}]), report.[{column}], "
                      f"'[\"' || replace(report.[{column}], ', ', '\",\"') || '\"]')")
            selected.append(f"(select group_concat(coalesce(named.name, listed.value), ', ') "
                            f"from json_each({listed}) as listed "
                            f"left join [{NAMED_LISTS[column]}] as named on named.slug = listed.value) as [{named}]")
    if len(selected) == len(columns):
        return sql
    return "select\n  " + ",\n  ".join(selected) + f"\nfrom (\n{sql.strip()}\n) as report"


@dataclass(frozen=True)
class Report:
    """One report: its name on the command line, words for people, and its SQL.

    ``parameters`` maps each parameter the SQL takes to its default, as the
    SQL applies it (``None``: worked out from the data, see `PARAMETER_HELP`).
    """

    name: str
    title: str
    description: str
    sql: str
    parameters: Mapping[str, str | None]

    @functools.cached_property
    def named_sql(self) -> str:
        """The SQL every reader runs: the report's, taking a team by any name (`choices.with_team_names`), with the
        display name beside each slug column (`with_names`), refusing a word a closed-choice parameter does not take
        (`choices.with_choices`)."""
        return with_choices(with_names(with_team_names(self.sql), report_columns(self.sql)), self.parameters)


#: What every parameter means; `Report.parameters` gives each report's defaults.
PARAMETER_HELP: dict[str, str] = {
    "period": "The month, YYYY-MM. Default: the latest month with usage data.",
    "team": (
        "A team, by its name or slug in any case: only rows about that team, counting the tools it owns for "
        "renewals, shelfware, blind spots and the stack's spend. Default: all teams."
    ),
    "as_of": "The day to count from, YYYY-MM-DD. Default: today.",
    "change_periods": "Compare active users with this many months earlier.",
    "growth_threshold": "A change in active users of at least this fraction (either way) is growing or declining.",
    "max_active_users": "A tool, or a team's use of it, with this many active users or fewer rests on too few people.",
    "top_user_share": "One person doing this share of the recorded activity or more is a concentration.",
    "primary_only": "1: count only the capabilities a tool is mainly for; 0: every capability it provides.",
    "min_shared_users": "Show pairs of tools with at least this many people using both.",
    "shelfware_periods": "An active tool nobody used for this many months running is shelfware.",
    "renewal_window_days": "Show contracts renewing within this many days of as_of.",
    "utilization_floor": "Below this utilisation (active users / contract seats), recommend right-sizing.",
    "low_utilization": "The stack map's colours: a tool's utilisation under this is low, under high_utilization medium.",
    "high_utilization": "The stack map's colours: a tool's utilisation at or above this is high.",
    "seat_headroom": "Right-size to active users times (1 + this), rounded up.",
    "basis": "How to share a tool's cost among teams: seats (each team's assigned seats; seats nobody holds are "
             "unallocated) or active (each team's active users).",
    "since": "The first day (changes: YYYY-MM-DD) or month (spend-by-month and the card-spend reports: YYYY-MM) to "
             "show. Default: all (changes), or eleven months before until (spend-by-month, card spend).",
    "until": "The last day (changes) or month (spend-by-month, card spend) to show. Default: all (changes), the "
             "month of as_of (spend-by-month), or the latest month with card spend (spend, unmanaged-spend, "
             "duplicate-subscriptions).",
    "run_rate_months": "The annualised run rate is the spend of this many months up to the row's, scaled to a year "
                       "(3: the last three months times 4).",
    "idle_days": "A seat whose holder last signed in more than this many days before as_of (or never) is idle.",
    "min_teams": "A tool paid for by this many teams or more in a month, each on its own cards, is a duplicate "
                 "subscription (at least 2).",
    "tool": (
        "A tool, by its name, any alias or its slug in any case: list every tool downstream of it. "
        "Blank: rank tools by blast radius."
    ),
}

_ADOPTION_PARAMETERS = {
    "period": None,
    "team": None,
    "change_periods": "3",
    "growth_threshold": "0.1",
}

REPORTS: dict[str, Report] = {
    report.name: report
    for report in (
        Report(
            name="adoption",
            title="Adoption by tool",
            description=(
                "For each tool used in the month: teams using it, seats, active users, utilisation, the change "
                "against three months earlier, what an active user and the idle seats cost, and whether use "
                "is new, growing, stable, declining or dormant."
            ),
            sql=_sql("adoption"),
            parameters=_ADOPTION_PARAMETERS,
        ),
        Report(
            name="adoption-by-team",
            title="Adoption by team and tool",
            description=(
                "The same figures for each team's use of each tool, with the source each figure came from "
                "(sign-in logs and vendor exports are preferred to what teams report)."
            ),
            sql=_sql("adoption_by_team"),
            parameters=_ADOPTION_PARAMETERS,
        ),
        Report(
            name="stack",
            title="The stack at a glance",
            description=(
                "One row: tools and teams in use, annual spend, idle-seat cost, seat utilisation (all active "
                "users over all seats) and capability utilisation (the share of the capabilities paid for that "
                "are used), the number to set beside Gartner's surveys: 58% (2020), 42% (2022), 33% (2023)."
            ),
            sql=_sql("stack"),
            parameters={"period": None, "team": None},
        ),
        Report(
            name="concentration",
            title="Tools in the hands of one person",
            description=(
                "Tools, and teams' use of tools, with at most one active user, or where one person does half "
                "or more of the recorded activity. A tool one power user holds helps no one else."
            ),
            sql=_sql("concentration"),
            parameters={"period": None, "team": None, "max_active_users": "1", "top_user_share": "0.5"},
        ),
        Report(
            name="overlap",
            title="Overlapping tools",
            description=(
                "Capabilities two or more tools in use are mainly for: their combined cost, the tool to keep "
                "(most active users), the tools that could go and what they cost (the savings ceiling), the "
                "ones different teams chose (a standardisation question, not a saving) and the ones that "
                "overlap only partly, with why. Capabilities another tool only also does are listed apart, "
                "as 'also does': not an overlap."
            ),
            sql=_sql("overlap"),
            parameters={"period": None, "team": None},
        ),
        Report(
            name="consolidation",
            title="Tools that could go",
            description=(
                "One row per tool whose every job a tool being kept also does: its cost, its jobs and the tool "
                "that takes over each, the active users who would move, and how sure that is (sign-ins showing "
                "people already on both raise it; resting on a catalog guess lowers it). A saving when its teams "
                "already use the tools that take over; a standardisation question when other teams would move."
            ),
            sql=_sql("consolidation"),
            parameters={"period": None, "team": None},
        ),
        Report(
            name="overlap-teams",
            title="Teams using different tools for the same job",
            description="Capabilities where teams have not settled on the same tools, and which team uses which.",
            sql=_sql("overlap_teams"),
            parameters={"period": None, "team": None, "primary_only": "0"},
        ),
        Report(
            name="overlap-users",
            title="Tools the same people use for the same job",
            description=(
                "Pairs of tools that share a capability and are used by the same people in the month, "
                "from per-person activity."
            ),
            sql=_sql("overlap_users"),
            parameters={"period": None, "min_shared_users": "1"},
        ),
        Report(
            name="gaps",
            title="Gaps, waste and blind spots",
            description=(
                "Capabilities teams need but do not have, seats nobody uses, shelfware, tools used outside "
                "the inventory (shadow IT) and inventory tools with no usage data."
            ),
            sql=_sql("gaps"),
            parameters={"period": None, "team": None, "shelfware_periods": "3"},
        ),
        Report(
            name="renewals",
            title="Upcoming renewals",
            description=(
                "Contracts renewing soon, with their utilisation and a recommendation: cancel, right-size "
                "(to the active users plus 10%) or renew."
            ),
            sql=_sql("renewals"),
            parameters={
                "period": None,
                "team": None,
                "as_of": None,
                "renewal_window_days": "90",
                "utilization_floor": "0.8",
                "seat_headroom": "0.1",
            },
        ),
        Report(
            name="dependencies",
            title="Dependencies and blast radius",
            description=(
                "What breaks downstream if a tool goes: every tool fed by it, directly or through others, "
                "and how many hops away. Without a tool, the tools with the widest blast radius."
            ),
            sql=_sql("dependencies"),
            parameters={"tool": None},
        ),
        Report(
            name="cost-by-team",
            title="Cost by team",
            description=(
                "Showback: each tool's annual cost shared among the teams using it in the month, by their share of "
                "its seats (basis=seats) or of its active users (basis=active); what no team covers is unallocated. "
                "Each tool's rows add up to its cost exactly."
            ),
            sql=_sql("cost_by_team"),
            parameters={"period": None, "team": None, "basis": "seats"},
        ),
        Report(
            name="changes",
            title="What changed in the inventory",
            description=(
                "Tools added, retired or brought back, and each change of a tool's cost, currency, seats, owner, "
                "status, renewal date or notice period, old value to new, with the day it took effect."
            ),
            sql=_sql("changes"),
            parameters={"since": None, "until": None},
        ),
        Report(
            name="spend-by-month",
            title="Annual spend month by month",
            description=(
                "The annual spend in force at the end of each month, per currency, from the inventory's history: "
                "what a price rise, a new tool or a cancellation did to the budget."
            ),
            sql=_sql("spend_by_month"),
            parameters={"since": None, "until": None, "as_of": None},
        ),
        Report(
            name="card-spend",
            title="Card and expense spend by tool",
            description=(
                "What card and expense exports show the organisation paid for each tool, month by month, in the "
                "base currency (with the rate used, and any currency without a rate named), the teams that paid, "
                "an annualised run rate (the last three months times 4) and the tool's annual cost in the inventory."
            ),
            sql=_sql("card_spend"),
            parameters={"since": None, "until": None, "team": None, "run_rate_months": "3"},
        ),
        Report(
            name="unmanaged-spend",
            title="Software paid for outside the inventory",
            description=(
                "Tools paid for on cards or expenses that the inventory has not reviewed, or holds with no annual "
                "cost: the merchants as statements wrote them, the amount, the months paid in and the teams that paid."
            ),
            sql=_sql("unmanaged_spend"),
            parameters={"since": None, "until": None, "team": None},
        ),
        Report(
            name="duplicate-subscriptions",
            title="Duplicate subscriptions",
            description=(
                "The same tool paid for twice over in a month: by two or more teams on their own cards or expense "
                "claims, or on cards while the inventory holds a contract for it."
            ),
            sql=_sql("duplicate_subscriptions"),
            parameters={"since": None, "until": None, "team": None, "min_teams": "2"},
        ),
        Report(
            name="reclaim",
            title="Seats to reclaim",
            description=(
                "Per tool, from vendors' user exports and the people directory: seats held by people who left, seats "
                "nobody has signed in with for idle_days days, and what they cost a year. Each tool is judged as of "
                "its export's day unless as_of is given."
            ),
            sql=_sql("reclaim"),
            parameters={"as_of": None, "team": None, "idle_days": "30"},
        ),
        Report(name="right-size", title="Seats by plan tier", sql=_sql("right_size"),
               parameters={"as_of": None, "team": None, "idle_days": "30"},
               description="Per tool and plan tier, from vendors' user exports and the tiers file: seats, active holders, idle "
                           "seats and their cost a year, and idle holders above the cheapest tier, with what moving them saves."),
        Report(
            name="stack-map",
            title="The stack on one page",
            description=(
                "One row per tool in the inventory on the as-of day, as the stack map draws it: the category of its "
                "main capability, its owner, its annual cost, its utilisation band (low under low_utilization, "
                "medium under high_utilization, else high), and its marks: a cut candidate, shelfware, shadow IT, "
                "a deadline within the renewal window."
            ),
            sql=_sql("stack_map"),
            parameters={"period": None, "team": None, "as_of": None, "low_utilization": "0.4",
                        "high_utilization": "0.7", "change_periods": "3", "growth_threshold": "0.1",
                        "shelfware_periods": "3", "renewal_window_days": "90", "utilization_floor": "0.8",
                        "seat_headroom": "0.1"},
        ),
    )
}


def _as_parameter(value: object) -> str:
    """A value as Datasette would pass it: a string, blank for none."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def run_report(
    db: sqlite_utils.Database,
    name: str,
    *,
    period: str | None = None,
    team: str | None = None,
    as_of: str | None = None,
    params: dict[str, str] | None = None,
) -> list[dict]:
    """Run report ``name`` and return its rows as dictionaries.

    Parameters not given are passed as ``''``, exactly as a blank Datasette
    form field, so the SQL applies its defaults. ``as_of`` is any date
    `normalise.parse_as_of` reads; a team, tool or capability may be given by
    name, alias or slug, and is passed on as its slug. Raises `ReportError` for
    an unknown report, a parameter the report does not take, an ``as_of``
    that is no such date or a word a closed-choice parameter does not take
    (``basis``), and `database.names.UnknownName` for a name nothing has.
    """
    report = find_report(name)
    if as_of:
        try:
            as_of = n.parse_as_of(as_of)
        except n.BadValue as error:  # SQLite's date functions would read it as no date, and the report come out empty
            raise ReportError(f"--as-of {as_of!r}: {error}") from None
    given = {"period": period, "team": team, "as_of": as_of}
    given = {key: value for key, value in given.items() if value is not None}
    given.update(params or {})
    unknown = sorted(set(given) - set(report.parameters))
    if unknown:
        raise ReportError(
            f"report {name!r} has no parameter {', '.join(map(repr, unknown))}: "
            f"its parameters are {', '.join(report.parameters)}"
        )
    for kind in NAMED_TABLES:
        if kind in given and _as_parameter(given[kind]).strip():
            given[kind] = slug_for(db, kind, _as_parameter(given[kind]).strip())
    values = {key: _as_parameter(given.get(key)) for key in report.parameters}
    problems = [problem for key, value in values.items() if (problem := unknown_choice(key, value))]
    if problems:  # the SQL refuses it too, but in SQLite's words
        raise ReportError(f"report {name!r}: {'; '.join(problems)}")
    cursor = db.execute(report.named_sql, values)
    columns = [column[0] for column in cursor.description]
    return [dict(zip(columns, row)) for row in cursor.fetchall()]


def find_report(name: str) -> Report:
    """The report called ``name``; a `ReportError` listing the reports if there is none."""
    try:
        return REPORTS[name]
    except KeyError:
        raise ReportError(f"unknown report {name!r}: expected one of {', '.join(REPORTS)}") from None


#: The options the command line offers every report, as it spells them.
SHARED_OPTIONS = {"period": "--period", "team": "--team", "as_of": "--as-of"}


@dataclass(frozen=True)
class ReportAnswer:
    """A report's rows, and notes for the person who asked (options it left out)."""

    rows: list[dict]
    notes: list[str]


def answer_report(
    db: sqlite_utils.Database,
    name: str,
    *,
    period: str | None = None,
    team: str | None = None,
    as_of: str | None = None,
    params: dict[str, str] | None = None,
) -> ReportAnswer:
    """Run report ``name`` as the command line asks for it.

    Of ``period``, ``team`` and ``as_of``, those the report does not use are
    left out with a note rather than refused, so that one script can pass the
    same options to every report; ``params`` are the report's own and are
    checked as `run_report` checks them.
    """
    report = find_report(name)
    shared = {"period": period, "team": team, "as_of": as_of}
    unused = [key for key, value in shared.items() if value is not None and key not in report.parameters]
    notes = []
    if unused:
        options = [SHARED_OPTIONS[key] for key in unused]
        listed = options[0] if len(options) == 1 else f"{', '.join(options[:-1])} and {options[-1]}"
        notes.append(f"the {name} report does not use {listed}: left out")
    used = {key: value for key, value in shared.items() if key not in unused}
    return ReportAnswer(run_report(db, name, **used, params=params), notes)


def canned_queries() -> dict[str, dict[str, str]]:
    """The Datasette ``queries:`` block: one canned query per report.

    Query names use ``_`` where report names use ``-``: ``adoption-by-team``
    is served as ``/<database>/adoption_by_team``.
    """
    return {
        report.name.replace("-", "_"): {"title": report.title, "description": report.description, "sql": report.named_sql}
        for report in REPORTS.values()
    }

