"""The derived tables: small summary tables the reports read, rebuilt from the base tables.

Each is declared here as data (`DERIVED_TABLES`: columns and key) with the
base tables it reads (`DERIVED_INPUTS`); the SELECT that fills it is
``database/sql/derived/<table>.sql``, its one definition. `refresh_derived`
brings them up to date after every write, inside the writer's transaction, so
readers never see base rows and derived rows out of step: an importer calls it
(through `inputs.runs`) for the tables it changed, and for the months it
changed where a table is kept by month. `ensure_report_objects` creates them
and the shared views when the database is opened.

Example::

    refresh_derived(db, {"usage"})                         # after an ingest of usage
    refresh_derived(db, {"usage"}, periods={"2024-07"})   # only July changed: July's rows replaced
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

import sqlite_utils

from .schema import TableSpec

SQL_DIR = Path(__file__).with_name("sql")


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
        # A month's rows for a few tools (the gaps report's shadow IT, a tool's
        # page) without reading every team's.
        indexes=(("period", "tool"),),
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
    # Team '' is the whole stack: what a blank team parameter asks for.
    "stack_by_month": TableSpec(
        columns={
            "period": str,
            "team": str,
            "tools_in_use": int,
            "teams_in_use": int,
            "seats": int,
            "active_users": int,
            "stack_utilization": float,
        },
        pk=("period", "team"),
    ),
    "tool_activity_summary": TableSpec(
        columns={"period": str, "tool": str, "users": int, "activity": int, "top_user_activity": int},
        pk=("period", "tool"),
    ),
    "team_tool_activity_summary": TableSpec(
        columns={"period": str, "team": str, "tool": str, "users": int, "activity": int, "top_user_activity": int},
        pk=("period", "team", "tool"),
    ),
    # Team '' is the whole tool; '' sorts first, as the report lists whole tools first.
    "concentration_inputs": TableSpec(
        columns={"period": str, "team": str, "tool": str, "active_users": int, "top_user_share": float},
        pk=("period", "team", "tool"),
    ),
    # Keyed capability first: the overlap reports count teams per capability,
    # and a (team, capability) lookup is as direct in this order.
    "team_capability_coverage": TableSpec(
        columns={
            "period": str,
            "capability": str,
            "team": str,
            "tools_in_use": int,
            "primary_tools": int,
            "tool_list": str,
        },
        pk=("period", "capability", "team"),
    ),
    "capability_tool_teams": TableSpec(
        columns={"period": str, "capability": str, "tool": str, "primary": int, "teams_using": int, "team_list": str},
        pk=("period", "capability", "tool"),
    ),
    "tool_pair_shared_users": TableSpec(
        columns={"period": str, "tool_a": str, "tool_b": str, "shared_users": int, "shared_capabilities": str},
        pk=("period", "tool_a", "tool_b"),
    ),
    # What overlaps are judged on: active tools in use, by capability, ranked among
    # the tools mainly for it. Keyed tool first: a tool's jobs are read together.
    "capability_contenders": TableSpec(
        columns={
            "period": str,
            "tool": str,
            "capability": str,
            "primary": int,
            "source": str,
            "active_users": int,
            "teams_using": int,
            "place": int,
            "providers": int,
            "keep_tool": str,
            "challenged": int,
            "best_kept_tool": str,
            "main_keep_tool": str,
        },
        pk=("period", "tool", "capability"),
        indexes=(("period", "capability"),),
    ),
    # The one verdict the overlap and consolidation reports share, per challenged tool.
    "consolidation_candidates": TableSpec(
        columns={
            "period": str,
            "tool": str,
            "capability": str,
            "keep_tool": str,
            "jobs": str,
            "uncovered_jobs": int,
            "teams_moving": str,
            "shared_users": int,
            "rests_on_catalog": int,
            "finding": str,
            "confidence": str,
        },
        pk=("period", "tool"),
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
    "stack_by_month": frozenset({"usage"}),
    "tool_activity_summary": frozenset({"user_activity"}),
    "team_tool_activity_summary": frozenset({"user_activity"}),
    "concentration_inputs": frozenset({"usage", "user_activity"}),
    "team_capability_coverage": frozenset({"usage", "tool_capabilities"}),
    "capability_tool_teams": frozenset({"usage", "tool_capabilities"}),
    "tool_pair_shared_users": frozenset({"user_activity", "tool_capabilities"}),
    # A tool's status decides whether it is judged at all: tools are an input here.
    "capability_contenders": frozenset({"usage", "tool_capabilities", "tools"}),
    "consolidation_candidates": frozenset({"usage", "tool_capabilities", "tools", "user_activity"}),
    "tool_blast_radius": frozenset({"integrations"}),
}

#: Derived tables built month by month: their rows for a month read only the
#: rows of that month in their inputs (and in the derived tables before them),
#: save a ``first_period`` column, the first month in which the rest of the
#: row's key has a row (`refresh_derived` keeps it right in the other months).
#: After an ingest that touched a few months, `refresh_derived` replaces just
#: those months' rows. Their key starts with ``period``, and their SQL should
#: let a ``period IN (…)`` filter on its result reach the tables it reads (the
#: planner pushes it through plain subqueries and a GROUP BY on period, not
#: through window functions, UNION ALL inside an aggregate or an ordered
#: subquery); where it cannot, a month still comes out right, at the cost of
#: reading every month.
MONTHLY_TABLES: frozenset[str] = frozenset({
    "usage_effective",
    "tool_period_summary",
    "stack_by_month",
    "tool_activity_summary",
    "team_tool_activity_summary",
    "concentration_inputs",
    "team_capability_coverage",
    "capability_tool_teams",
    "tool_pair_shared_users",
    "capability_contenders",
    "consolidation_candidates",
})

#: Views the reports share, from ``sql/views/<view>.sql``.
#: In dependency order: a view is created after the views it reads.
REPORT_VIEWS: tuple[str, ...] = ("integration_flows", "spellings", "base_currency", "rates_in_force", "tool_costs",
                                  "spend_rates", "tool_values_in_force")

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
        # On a full disk or an I/O error SQLite may have rolled back the whole
        # transaction, savepoint and all: then there is nothing left to undo.
        if db.conn.in_transaction:
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

    Idempotent; meant to be called by `connection.ensure_schema` once the base
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
            elif not db.table(name).exists():
                # New in this version: a database made by an older one has
                # the rows to fill it with.
                reshaped = True
            _create_derived_table(db, name, spec)
            _create_indexes(db, name, spec)
    if reshaped:
        refresh_derived(db)


def refresh_derived(
    db: sqlite_utils.Database, changed: Iterable[str] | None = None, periods: Iterable[str] | None = None,
    *, seconds_by_table: dict[str, float] | None = None,
) -> None:
    """Bring the derived report tables up to date with the base tables.

    Every derived table is rebuilt, or with ``changed`` (names of base tables
    an ingest wrote, e.g. ``{"usage"}``) only those built from them: see
    `DERIVED_INPUTS`. ``periods`` narrows it further: the months (``YYYY-MM``)
    outside which nothing in those tables changed. A table built month by month
    (`MONTHLY_TABLES`) then has just those months' rows replaced, unless it is
    empty or most of its months changed, when rebuilding it whole is quicker;
    either way it ends up with the very rows a rebuild would give. One
    transaction (a savepoint inside the caller's, if any), so readers never see
    half a refresh; idempotent, and correct on an empty database. Run it after
    every successful ingest. ``seconds_by_table``, if given, gains each refreshed
    table's wall-clock seconds: where a refresh spends its time (``bench/refresh.py``).
    """
    changed = None if changed is None else set(changed)
    months = None if periods is None else sorted(set(periods))
    with _savepoint(db, "refresh_derived"):
        _ensure_views(db)
        for name, spec in DERIVED_TABLES.items():
            exists = db.table(name).exists()
            if changed is not None and exists and not DERIVED_INPUTS[name] & changed:
                continue
            started = time.perf_counter()
            by_month = months is not None and exists and name in MONTHLY_TABLES
            if not (by_month and _refresh_months(db, name, spec, months)):
                _rebuild(db, name, spec)
            if seconds_by_table is not None:
                seconds_by_table[name] = seconds_by_table.get(name, 0.0) + time.perf_counter() - started


#: Rebuild a monthly table whole when more than this share of its months changed:
#: a month's rows are found through indexes, which beats one sequential pass
#: over everything only while the months are not most of them. Measured on
#: 1,000,000 usage rows over 37 months, the tables built from usage: 0.7 s of
#: CPU for one new month, 13.5 s to replace 18 months, 19 s for 27, 22 s whole.
WHOLE_REBUILD_SHARE = 0.7


def derived_rows(name: str) -> str:
    """The SELECT giving every row derived table ``name`` should hold, in its columns' order:
    what a refresh writes, and what `maintenance.check` compares the table with."""
    return f"SELECT {_quoted(DERIVED_TABLES[name].columns)} FROM ({_sql(f'derived/{name}')})"


def _rebuild(db: sqlite_utils.Database, name: str, spec: TableSpec) -> None:
    # From scratch: rows go in in key order and the indexes are built once at
    # the end, several times faster than updating in place.
    db.execute(f"DROP TABLE IF EXISTS [{name}]")
    _create_derived_table(db, name, spec)
    db.execute(
        f"INSERT INTO [{name}] ({_quoted(spec.columns)}) {derived_rows(name)} ORDER BY {_quoted(_pk(spec))}"
    )
    _create_indexes(db, name, spec)


def _refresh_months(db: sqlite_utils.Database, name: str, spec: TableSpec, months: list[str]) -> bool:
    """Replace the rows of ``months`` in a table built by month; False if it had better be rebuilt whole."""
    if not months:
        return True
    held = _months_held(db, name)
    if not held or len(months) > WHOLE_REBUILD_SHARE * len(held | set(months)):
        return False
    in_months = f"period IN ({', '.join('?' * len(months))})"
    rest = _pk(spec)[1:]
    keeps_first_period = "first_period" in spec.columns
    if keeps_first_period:
        db.execute("DROP TABLE IF EXISTS temp.refresh_first_periods")
        db.execute(
            f"CREATE TEMP TABLE refresh_first_periods ({_quoted(rest)}, old_first TEXT, new_first TEXT, "
            f"PRIMARY KEY ({_quoted(rest)})) WITHOUT ROWID"
        )
        _note_first_periods(db, name, rest, in_months, months, "old_first")
    db.execute(f"DELETE FROM [{name}] WHERE {in_months}", months)
    # The filter reaches the tables the SQL reads where the planner can push it down.
    db.execute(
        f"INSERT INTO [{name}] ({_quoted(spec.columns)}) {derived_rows(name)} WHERE {in_months} "
        f"ORDER BY {_quoted(_pk(spec))}",
        months,
    )
    if keeps_first_period:
        _note_first_periods(db, name, rest, in_months, months, "new_first")
        _mend_first_periods(db, name, rest, months, sorted(held - set(months)))
        db.execute("DROP TABLE temp.refresh_first_periods")
    return True


def _months_held(db: sqlite_utils.Database, name: str) -> set[str]:
    """The months a table keyed by period holds: one index seek per month, not a scan."""
    rows = db.execute(
        f"""
        WITH RECURSIVE held(period) AS (
          SELECT min(period) FROM [{name}]
          UNION ALL
          SELECT (SELECT min(period) FROM [{name}] WHERE period > held.period) FROM held WHERE held.period IS NOT NULL
        )
        SELECT period FROM held WHERE period IS NOT NULL
        """
    ).fetchall()
    return {period for (period,) in rows}


def _note_first_periods(db, name: str, rest: tuple[str, ...], in_months: str, months: list[str], column: str) -> None:
    """Record the first month of each key with rows in ``months``, before (``old_first``) or after (``new_first``)."""
    keys = _quoted(rest)
    db.execute(
        f"INSERT INTO temp.refresh_first_periods ({keys}, {column}) "
        f"SELECT {keys}, min(first_period) FROM [{name}] WHERE {in_months} GROUP BY {keys} "
        f"ON CONFLICT ({keys}) DO UPDATE SET {column} = excluded.{column}",
        months,
    )


def _mend_first_periods(db, name: str, rest: tuple[str, ...], months: list[str], others: list[str]) -> None:
    """Carry each key's new first month to its rows in the months that were not replaced.

    The replaced rows got theirs from the SQL. A key's first month can only
    have moved if its earliest row was, or now is, in a replaced month; after
    a new month is added, that is only the keys new in it, whose rows are all
    there, so this usually writes nothing.
    """
    in_months = ", ".join("?" * len(months))
    db.execute(
        f"""
        DELETE FROM temp.refresh_first_periods WHERE NOT (
          old_first IS NOT NULL AND new_first IS NOT NULL AND old_first <> new_first
          OR old_first IS NULL AND new_first IN ({in_months})
          OR new_first IS NULL AND old_first IN ({in_months})
        )
        """,
        months + months,
    )
    if not others or not db.execute("SELECT EXISTS (SELECT 1 FROM temp.refresh_first_periods)").fetchone()[0]:
        return
    in_others = f"IN ({', '.join('?' * len(others))})"
    same_key = " AND ".join(f"[{name}].[{column}] = keys.[{column}]" for column in rest)
    # A key whose rows left the replaced months now starts at its earliest remaining row.
    db.execute(
        f"UPDATE temp.refresh_first_periods AS keys SET new_first = "
        f"(SELECT min(period) FROM [{name}] WHERE period {in_others} AND {same_key}) WHERE new_first IS NULL",
        others,
    )
    # Written so that the planner seeks each key's row in each month (a join
    # would have it scan the whole table instead).
    db.execute(
        f"UPDATE [{name}] SET first_period = "
        f"(SELECT new_first FROM temp.refresh_first_periods AS keys WHERE {same_key}) "
        f"WHERE period {in_others} AND ({_quoted(rest)}) IN (SELECT {_quoted(rest)} FROM temp.refresh_first_periods)",
        others,
    )
