"""The reports: each one defined once, in SQL, over derived tables in the database.

Every report is a SQL file in ``stack_tracker/sql/`` that reads small derived
tables (``usage_effective``, ``tool_period_summary`` …) rebuilt by
`refresh_derived` after each ingest. The CLI (`run_report`), the Datasette
canned queries (`canned_queries`) and the charts all run that same SQL; nothing
in Python recomputes a report.

The SQL applies its own defaults, because Datasette passes every parameter as a
string and a blank field as ``''``: ``coalesce(nullif(:period, ''), …)``.
`run_report` passes parameters the same way, so both give the same rows.

How the SQL is written: each file opens with a one-row ``params`` CTE that
applies the defaults. Big derived tables are read with
``x.period = (select period from params)`` and ``CROSS JOIN params`` rather
than by joining on params: the month is then a constant the planner seeks to
directly, and the table's key order survives (joined, the planner may first
scan the whole table to build a Bloom filter, 2-3 times slower at a million
rows once ANALYZE has run).

Example::

    ensure_report_objects(db)       # from schema.ensure_schema: tables and views
    refresh_derived(db, {"usage"})  # after an ingest of usage
    run_report(db, "renewals", as_of="2024-07-01", params={"renewal_window_days": "30"})
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Mapping

import sqlite_utils

from .errors import StackTrackerError
from .schema import TableSpec

SQL_DIR = Path(__file__).with_name("sql")


class ReportError(StackTrackerError):
    """An unknown report or parameter; the message lists the valid ones."""


def _sql(name: str) -> str:
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


# ---------------------------------------------------------------------------
# Derived tables: rebuilt from the base tables by `refresh_derived`, in this
# order (later ones read earlier ones). The SELECT that fills each one is
# ``sql/derived/<table>.sql``, with the columns declared here.
#
# Every derived table is WITHOUT ROWID, stored in primary-key order: the key
# starts with `period` where reports read one month, so a report reads one
# contiguous run of rows instead of a scattered million.

DERIVED_TABLES: dict[str, TableSpec] = {
    "usage_effective": TableSpec(
        columns={
            "period": str,
            "team": str,
            "tool": str,
            "source": str,
            "seats_source": str,
            "seats": int,
            "active_users": int,
            "usage_level": int,
            "sessions": int,
            "in_use": int,
            "idle_seats": int,
            "first_period": str,
        },
        pk=("period", "team", "tool"),
    ),
    "tool_period_summary": TableSpec(
        columns={
            "period": str,
            "tool": str,
            "teams_reporting": int,
            "teams_using": int,
            "seats": int,
            "active_users": int,
            "compared_seats": int,
            "compared_active_users": int,
            "idle_seats": int,
            "sessions": int,
            "sources": str,
            "first_period": str,
        },
        pk=("period", "tool"),
    ),
    "tool_activity_summary": TableSpec(
        columns={"period": str, "tool": str, "users": int, "activity": int, "top_user_activity": int},
        pk=("period", "tool"),
    ),
    "team_tool_activity_summary": TableSpec(
        columns={"period": str, "team": str, "tool": str, "users": int, "activity": int, "top_user_activity": int},
        pk=("period", "team", "tool"),
    ),
    "tool_pair_shared_users": TableSpec(
        columns={"period": str, "tool_a": str, "tool_b": str, "shared_users": int},
        pk=("period", "tool_a", "tool_b"),
    ),
    "tool_blast_radius": TableSpec(
        columns={"tool": str, "downstream_tools": int, "direct_downstream_tools": int},
        pk=("tool",),
    ),
}

#: The base tables each derived table is built from: what `refresh_derived`
#: must rebuild when only some tables changed. Reports join small base tables
#: (tools, teams, capabilities, needs) live, so changing those rebuilds nothing.
DERIVED_INPUTS: dict[str, frozenset[str]] = {
    "usage_effective": frozenset({"usage"}),
    "tool_period_summary": frozenset({"usage"}),
    "tool_activity_summary": frozenset({"user_activity"}),
    "team_tool_activity_summary": frozenset({"user_activity"}),
    "tool_pair_shared_users": frozenset({"user_activity", "tool_capabilities"}),
    "tool_blast_radius": frozenset({"integrations"}),
}

#: Views the reports share, from ``sql/views/<view>.sql``.
REPORT_VIEWS: tuple[str, ...] = ("integration_flows",)

_SQL_TYPES = {str: "TEXT", int: "INTEGER", float: "FLOAT"}


def _pk(spec: TableSpec) -> tuple[str, ...]:
    return (spec.pk,) if isinstance(spec.pk, str) else spec.pk


def _quoted(columns) -> str:
    return ", ".join(f"[{column}]" for column in columns)


def _create_derived_table(db: sqlite_utils.Database, name: str, spec: TableSpec) -> None:
    # Plain DDL rather than sqlite-utils' create(), which commits: this must
    # stay inside the caller's transaction.
    columns = [f"[{column}] {_SQL_TYPES[kind]}" for column, kind in spec.columns.items()]
    columns.append(f"PRIMARY KEY ({_quoted(_pk(spec))})")
    db.execute(f"CREATE TABLE IF NOT EXISTS [{name}] ({', '.join(columns)}) WITHOUT ROWID")


def _create_indexes(db: sqlite_utils.Database, name: str, spec: TableSpec) -> None:
    for index in spec.indexes:
        db.execute(f"CREATE INDEX IF NOT EXISTS [idx_{name}_{'_'.join(index)}] ON [{name}] ({_quoted(index)})")


def _has_its_shape(db: sqlite_utils.Database, name: str, spec: TableSpec) -> bool:
    columns = db.execute("select name, pk from pragma_table_info(?) order by cid", [name]).fetchall()
    primary_key = tuple(column for column, position in sorted(columns, key=lambda c: c[1]) if position)
    return [column for column, _ in columns] == list(spec.columns) and primary_key == _pk(spec)


@contextmanager
def _savepoint(db: sqlite_utils.Database, name: str) -> Iterator[None]:
    """All or nothing, inside the caller's transaction if there is one.

    The ingest calls `refresh_derived` inside its own transaction, where a
    second BEGIN would fail; a savepoint nests there and is a transaction of
    its own everywhere else.
    """
    db.execute(f"savepoint {name}")
    try:
        yield
    except BaseException:
        db.execute(f"rollback to {name}")
        db.execute(f"release {name}")
        raise
    db.execute(f"release {name}")


def _ensure_views(db: sqlite_utils.Database) -> None:
    """Create each view, or replace it if its definition changed (and only then,
    so that a start-up leaves an up-to-date file untouched)."""
    for view in REPORT_VIEWS:
        # SQLite keeps the statement's text, less trailing white space.
        definition = f"CREATE VIEW [{view}] AS {_sql(f'views/{view}').rstrip()}"
        existing = db.execute("select sql from sqlite_master where type = 'view' and name = ?", [view]).fetchone()
        if existing is None or existing[0] != definition:
            db.execute(f"DROP VIEW IF EXISTS [{view}]")
            db.execute(definition)


def ensure_report_objects(db: sqlite_utils.Database) -> None:
    """Create the report views and the derived tables (empty) if they are missing.

    Idempotent; meant to be called by `schema.ensure_schema` once the base
    tables exist. A view whose definition changed is replaced; a derived table
    whose shape differs from this version's is dropped and rebuilt with
    `refresh_derived`: it holds nothing the base tables cannot remake.
    """
    reshaped = False
    with _savepoint(db, "ensure_report_objects"):
        _ensure_views(db)
        for name, spec in DERIVED_TABLES.items():
            if db.table(name).exists() and not _has_its_shape(db, name, spec):
                db.execute(f"DROP TABLE [{name}]")
                reshaped = True
            _create_derived_table(db, name, spec)
            _create_indexes(db, name, spec)
    if reshaped:
        refresh_derived(db)


def refresh_derived(db: sqlite_utils.Database, changed: Iterable[str] | None = None) -> None:
    """Rebuild the derived report tables from the base tables.

    Every derived table, or with ``changed`` (names of base tables an ingest
    wrote, e.g. ``{"usage"}``) only those built from them: see
    `DERIVED_INPUTS`. One transaction (a savepoint inside the caller's, if
    any), so readers never see half a refresh; idempotent, and correct on an
    empty database. Run it after every successful ingest.
    """
    with _savepoint(db, "refresh_derived"):
        _ensure_views(db)
        for name, spec in DERIVED_TABLES.items():
            if changed is not None and db.table(name).exists() and not DERIVED_INPUTS[name] & set(changed):
                continue
            # Rebuilt from scratch: rows go in in key order and the indexes are
            # built once at the end, several times faster than updating in place.
            db.execute(f"DROP TABLE IF EXISTS [{name}]")
            _create_derived_table(db, name, spec)
            db.execute(
                f"INSERT INTO [{name}] ({_quoted(spec.columns)}) "
                f"SELECT {_quoted(spec.columns)} FROM ({_sql(f'derived/{name}')}) ORDER BY {_quoted(_pk(spec))}"
            )
            _create_indexes(db, name, spec)


# ---------------------------------------------------------------------------
# Reports


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


#: What every parameter means; `Report.parameters` gives each report's defaults.
PARAMETER_HELP: dict[str, str] = {
    "period": "The month, YYYY-MM. Default: the latest month with usage data.",
    "team": (
        "A team slug: only rows about that team, counting the tools it owns for renewals, shelfware, "
        "blind spots and the stack's spend. Default: all teams."
    ),
    "as_of": "The day to count from, YYYY-MM-DD. Default: today.",
    "currency": "The base currency: money in any other currency is left out of totals, and the report says so.",
    "change_periods": "Compare active users with this many months earlier.",
    "growth_threshold": "A change in active users of at least this fraction (either way) is growing or declining.",
    "max_active_users": "A tool, or a team's use of it, with this many active users or fewer rests on too few people.",
    "top_user_share": "One person doing this share of the recorded activity or more is a concentration.",
    "primary_only": "1: count only the capabilities a tool is mainly for; 0: every capability it provides.",
    "min_shared_users": "Show pairs of tools with at least this many people using both.",
    "shelfware_periods": "An active tool nobody used for this many months running is shelfware.",
    "renewal_window_days": "Show contracts renewing within this many days of as_of.",
    "utilization_floor": "Below this utilisation (active users / contract seats), recommend right-sizing.",
    "seat_headroom": "Right-size to active users times (1 + this), rounded up.",
    "tool": "A tool slug: list every tool downstream of it. Blank: rank tools by blast radius.",
}

_ADOPTION_PARAMETERS = {
    "period": None,
    "team": None,
    "currency": "USD",
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
                "One row: tools and teams in use, annual spend, idle-seat cost, and stack utilisation, "
                "all active users over all seats, the number to set beside Gartner's 33% (2023)."
            ),
            sql=_sql("stack"),
            parameters={"period": None, "team": None, "currency": "USD"},
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
                "Capabilities served by two or more tools in use: their combined cost, the tool to keep "
                "(most active users) and the cost of the others, the most consolidation could save."
            ),
            sql=_sql("overlap"),
            parameters={"period": None, "team": None, "currency": "USD", "primary_only": "0"},
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
    form field, so the SQL applies its defaults. Raises `ReportError` for an
    unknown report or a parameter the report does not take.
    """
    try:
        report = REPORTS[name]
    except KeyError:
        raise ReportError(f"unknown report {name!r}: expected one of {', '.join(REPORTS)}") from None
    given = {"period": period, "team": team, "as_of": as_of}
    given = {key: value for key, value in given.items() if value is not None}
    given.update(params or {})
    unknown = sorted(set(given) - set(report.parameters))
    if unknown:
        raise ReportError(
            f"report {name!r} has no parameter {', '.join(map(repr, unknown))}: "
            f"its parameters are {', '.join(report.parameters)}"
        )
    values = {key: _as_parameter(given.get(key)) for key in report.parameters}
    cursor = db.execute(report.sql, values)
    columns = [column[0] for column in cursor.description]
    return [dict(zip(columns, row)) for row in cursor.fetchall()]


def canned_queries() -> dict[str, dict[str, str]]:
    """The Datasette ``queries:`` block: one canned query per report.

    Query names use ``_`` where report names use ``-``: ``adoption-by-team``
    is served as ``/<database>/adoption_by_team``.
    """
    return {
        report.name.replace("-", "_"): {"title": report.title, "description": report.description, "sql": report.sql}
        for report in REPORTS.values()
    }


def sql_parameters(sql: str) -> list[str]:
    """The named parameters a SQL text uses, found the way Datasette finds them."""
    sql = re.sub(r"--.*", "", sql)
    sql = re.sub(r"/\*.*?\*/", "", sql, flags=re.DOTALL)
    sql = re.sub(r"'(?:''|[^'])*'", "", sql)
    sql = re.sub(r'"(?:""|[^"])*"', "", sql)
    return list(dict.fromkeys(re.findall(r":(\w+)", sql)))
