"""Refreshing the derived report tables month by month gives the rows a full rebuild gives.

An ingest of usage (or of sign-ins) that touched a few months has
`refresh_derived` replace just those months' rows of the tables built month by
month, and mend their ``first_period`` columns in the other months. Each step
below ingests something, checks which way each table was refreshed, and then
checks that rebuilding every derived table from scratch changes nothing.
"""

from __future__ import annotations

import pytest
import sqlite_utils

from conftest import rows, run, write
from stack_tracker.database import derived, open_database
from stack_tracker.database.derived import DERIVED_INPUTS, DERIVED_TABLES, MONTHLY_TABLES

HS, SF = "hubspot-marketing-hub", "salesforce-sales-cloud"
USAGE_TABLES = [name for name in DERIVED_TABLES if "usage" in DERIVED_INPUTS[name]]
ACTIVITY_TABLES = [name for name in DERIVED_TABLES if "user_activity" in DERIVED_INPUTS[name]]


@pytest.fixture(autouse=True)
def key_from_the_key_file(monkeypatch):
    monkeypatch.delenv("STACK_TRACKER_SECRET", raising=False)


@pytest.fixture
def refreshes(monkeypatch) -> dict[str, tuple]:
    """How each derived table was refreshed since the dict was last cleared:
    ``("months", (...))`` for just those months' rows, ``("whole",)`` for a rebuild."""
    seen: dict[str, tuple] = {}
    by_months, whole = derived._refresh_months, derived._rebuild

    def spy_months(db, name, spec, months):
        done = by_months(db, name, spec, months)
        if done:
            seen[name] = ("months", tuple(months))
        return done

    def spy_whole(db, name, spec):
        seen[name] = ("whole",)
        whole(db, name, spec)

    monkeypatch.setattr(derived, "_refresh_months", spy_months)
    monkeypatch.setattr(derived, "_rebuild", spy_whole)
    return seen


def derived_rows(db_path) -> dict[str, list[tuple]]:
    db = sqlite_utils.Database(db_path)
    try:
        return {
            name: db.execute(f"select * from [{name}] order by {', '.join(derived._pk(spec))}").fetchall()
            for name, spec in DERIVED_TABLES.items()
        }
    finally:
        db.close()


def assert_as_rebuilt(db_path) -> None:
    """The derived tables hold exactly what rebuilding them all from the base tables gives."""
    refreshed = derived_rows(db_path)
    db = sqlite_utils.Database(db_path)
    try:
        derived.refresh_derived(db)
    finally:
        db.close()
    rebuilt = derived_rows(db_path)
    for name in DERIVED_TABLES:
        assert refreshed[name] == rebuilt[name], name


def effective(db_path, period, team, tool) -> dict:
    [row] = rows(db_path, "select * from usage_effective where period = ? and team = ? and tool = ?", [period, team, tool])
    return row


def first_periods(db_path, team, tool) -> dict[str, str]:
    found = rows(db_path, "select period, first_period from usage_effective where team = ? and tool = ?", [team, tool])
    return {row["period"]: row["first_period"] for row in found}


def ingest_usage(db_path, tmp_path, name, text, *extra):
    return run("ingest", db_path, "usage", write(tmp_path / name, "team,tool,month,licenses,active users,source\n" + text),
               "--silent", *extra)


def import_sign_ins(db_path, tmp_path, name, sign_ins, directory):
    log = write(tmp_path / name, "email,application,time\n" + sign_ins)
    people = write(tmp_path / f"directory-{name}", "Email,Department\n" + directory)
    return run("import-logins", db_path, log, "--source", "csv", "--directory", people, "--silent")


Q1 = (
    "Marketing,HubSpot Marketing Hub,2024-01,10,4,reported\n"
    "Marketing,HubSpot Marketing Hub,2024-02,10,5,reported\n"
    "Marketing,HubSpot Marketing Hub,2024-03,10,6,reported\n"
    "Demand Gen,Salesforce Sales Cloud,2024-02,5,5,reported\n"
    "Demand Gen,Salesforce Sales Cloud,2024-03,5,4,reported\n"
    "Demand Gen,HubSpot Marketing Hub,2024-03,8,2,reported\n"
)
APRIL = (
    "Marketing,HubSpot Marketing Hub,2024-04,10,7,reported\n"
    "Demand Gen,Salesforce Sales Cloud,2024-04,5,5,reported\n"
    "Events,Canva,2024-04,3,3,reported\n"
    "Demand Gen,Canva,2024-04,2,1,reported\n"
)


def test_each_ingest_refreshes_only_its_months_and_matches_a_rebuild(org_db, tmp_path, refreshes):
    # What the tools do, so that the tables about capabilities have rows too.
    capabilities = "tool,capability,primary\nHubSpot Marketing Hub,Marketing automation,yes\nHubSpot Marketing Hub,CRM,no\n" \
                   "Salesforce Sales Cloud,CRM,yes\n"
    run("ingest", org_db, "tool-capabilities", write(tmp_path / "capabilities.csv", capabilities), "--silent")
    # Into empty tables: built whole.
    ingest_usage(org_db, tmp_path, "q1.csv", Q1)
    assert refreshes["usage_effective"] == ("whole",)
    assert_as_rebuilt(org_db)

    # A new month with a new team and a new tool: that month alone.
    refreshes.clear()
    ingest_usage(org_db, tmp_path, "april.csv", APRIL, "--allow-new")
    # No two tools are mainly for the same job, so consolidation_candidates is
    # empty, and an empty table is built whole.
    assert refreshes.pop("consolidation_candidates") == ("whole",)
    assert {refreshes[name] for name in USAGE_TABLES if name in MONTHLY_TABLES and name in refreshes} == {("months", ("2024-04",))}
    assert not set(refreshes) - set(USAGE_TABLES)  # nothing built from other tables
    assert effective(org_db, "2024-04", "events", "canva")["first_period"] == "2024-04"
    assert first_periods(org_db, "marketing", HS) == dict.fromkeys(["2024-01", "2024-02", "2024-03", "2024-04"], "2024-01")
    assert_as_rebuilt(org_db)

    # Every month again, one figure changed: only February is refreshed.
    refreshes.clear()
    ingest_usage(org_db, tmp_path, "again.csv", Q1.replace("2024-02,5,5", "2024-02,5,3") + APRIL, "--allow-new")
    assert refreshes["usage_effective"] == ("months", ("2024-02",))
    assert effective(org_db, "2024-02", "demand-gen", SF)["active_users"] == 3
    assert_as_rebuilt(org_db)

    # An earlier month for a team and tool seen since January moves its first
    # month in every month; a vendor export for March beats the survey there.
    refreshes.clear()
    ingest_usage(
        org_db, tmp_path, "backfill.csv",
        "Marketing,HubSpot Marketing Hub,2023-12,10,3,reported\n"
        "Marketing,Salesforce Sales Cloud,2023-12,4,4,reported\n"
        "Demand Gen,HubSpot Marketing Hub,2024-03,8,3,vendor\n",
    )
    assert refreshes["usage_effective"] == ("months", ("2023-12", "2024-03"))
    assert first_periods(org_db, "marketing", HS) == dict.fromkeys(["2023-12", "2024-01", "2024-02", "2024-03", "2024-04"], "2023-12")
    assert effective(org_db, "2024-03", "demand-gen", HS)["source"] == "vendor"
    assert effective(org_db, "2024-03", "demand-gen", HS)["active_users"] == 3
    assert rows(org_db, "select distinct first_period from tool_period_summary where tool = ?", [HS]) == [{"first_period": "2023-12"}]
    assert_as_rebuilt(org_db)

    # Sign-ins: Jane (Demand Gen) in Salesforce in November and January, months
    # with no other Demand Gen row for it, and Raj (Marketing) in HubSpot and
    # Salesforce in January: two tools for the same job, shared by one person.
    refreshes.clear()
    sign_ins = (
        "jane@example.com,Salesforce Sales Cloud,2023-11-15T10:00:00Z\n"
        "jane@example.com,Salesforce Sales Cloud,2024-01-10T10:00:00Z\n"
        "raj@example.com,HubSpot Marketing Hub,2024-01-05T09:00:00Z\n"
        "raj@example.com,HubSpot Marketing Hub,2024-01-06T09:00:00Z\n"
        "raj@example.com,Salesforce Sales Cloud,2024-01-06T10:00:00Z\n"
    )
    import_sign_ins(org_db, tmp_path, "logins.csv", sign_ins, "jane@example.com,Demand Gen\nraj@example.com,Marketing\n")
    months = ("months", ("2023-11", "2024-01"))
    assert refreshes["usage_effective"] == months
    assert refreshes["tool_activity_summary"] == ("whole",)  # the first activity: its tables were empty
    assert first_periods(org_db, "demand-gen", SF) == dict.fromkeys(["2023-11", "2024-01", "2024-02", "2024-03", "2024-04"], "2023-11")
    january = effective(org_db, "2024-01", "marketing", HS)
    assert (january["source"], january["active_users"], january["seats_source"], january["seats"]) == ("sso", 1, "reported", 10)
    assert rows(org_db, "select tool_a, tool_b, period, shared_users from tool_pair_shared_users") == \
        [{"tool_a": HS, "tool_b": SF, "period": "2024-01", "shared_users": 1}]
    assert_as_rebuilt(org_db)

    # The same sign-ins with Jane moved to Marketing: Demand Gen's Salesforce
    # rows of November and January go, all it had in those months, and its
    # first month is February again.
    refreshes.clear()
    import_sign_ins(org_db, tmp_path, "logins-again.csv", sign_ins, "jane@example.com,Marketing\nraj@example.com,Marketing\n")
    assert refreshes["usage_effective"] == months
    assert refreshes["tool_activity_summary"] == ("whole",)  # all its months changed
    assert not set(refreshes) - set(USAGE_TABLES) - set(ACTIVITY_TABLES)
    assert first_periods(org_db, "demand-gen", SF) == dict.fromkeys(["2024-02", "2024-03", "2024-04"], "2024-02")
    assert first_periods(org_db, "marketing", SF) == dict.fromkeys(["2023-11", "2023-12", "2024-01"], "2023-11")
    assert_as_rebuilt(org_db)

    # The same file twice changes nothing, so nothing is refreshed.
    refreshes.clear()
    ingest_usage(org_db, tmp_path, "backfill.csv", "Demand Gen,HubSpot Marketing Hub,2024-03,8,3,vendor\n")
    assert {refreshes[name] for name in USAGE_TABLES} == {("months", ())}

    # Most months changed: rebuilt whole, which is quicker then.
    refreshes.clear()
    everything = Q1 + APRIL + "Marketing,HubSpot Marketing Hub,2023-11,10,2,reported\nMarketing,HubSpot Marketing Hub,2023-12,10,3,reported\n"
    for active in range(8, 0, -1):
        everything = everything.replace(f",{active},reported", f",{active + 1},reported")
    ingest_usage(org_db, tmp_path, "everything.csv", everything, "--allow-new")
    assert refreshes["usage_effective"] == ("whole",)
    assert_as_rebuilt(org_db)


def test_a_refresh_by_months_is_undone_with_the_transaction_around_it(org_db, tmp_path, refreshes):
    ingest_usage(org_db, tmp_path, "q1.csv", Q1 + APRIL, "--allow-new")
    before = derived_rows(org_db)
    db = sqlite_utils.Database(org_db)
    db.conn.execute("begin immediate")
    db.execute("update usage set active_users = 0 where period = '2024-01'")
    derived.refresh_derived(db, changed={"usage"}, periods={"2024-01"})
    assert refreshes["usage_effective"] == ("months", ("2024-01",))
    assert db.execute("select sum(active_users) from usage_effective where period = '2024-01'").fetchone()[0] == 0
    db.conn.rollback()
    db.close()
    assert derived_rows(org_db) == before


def test_a_failed_ingest_refreshes_nothing(org_db, tmp_path, refreshes):
    ingest_usage(org_db, tmp_path, "q1.csv", Q1)
    before = derived_rows(org_db)
    refreshes.clear()
    bad = write(tmp_path / "bad.csv", "team,tool,month,active users\nMarketing,HubSpot Marketing Hub,2024-05,lots\n")
    run("ingest", org_db, "usage", bad, "--silent", exit_code=1)
    assert refreshes == {}
    assert derived_rows(org_db) == before


def test_tables_built_by_month_are_keyed_by_month_first():
    for name in MONTHLY_TABLES:
        assert derived._pk(DERIVED_TABLES[name])[0] == "period", name


def test_first_period_is_the_first_month_the_rest_of_the_key_has_a_row(org_db, tmp_path):
    """What the month-by-month refresh relies on to mend ``first_period`` from the table itself."""
    ingest_usage(org_db, tmp_path, "q1.csv", Q1 + APRIL, "--allow-new")
    db = sqlite_utils.Database(org_db)
    checked = 0
    for name in MONTHLY_TABLES:
        spec = DERIVED_TABLES[name]
        if "first_period" not in spec.columns:
            continue
        rest = ", ".join(derived._pk(spec)[1:])
        wrong = db.execute(
            f"select count(*) from [{name}] as t where first_period is not "
            f"(select min(period) from [{name}] where ({rest}) = (t.{rest.replace(', ', ', t.')}))"
        ).fetchone()[0]
        assert db.execute(f"select count(*) from [{name}]").fetchone()[0] > 0, name
        assert wrong == 0, name
        checked += 1
    assert checked >= 2  # usage_effective and tool_period_summary


def test_a_refresh_says_how_long_each_table_it_refreshed_took(org_db, tmp_path):
    ingest_usage(org_db, tmp_path, "q1.csv", Q1, "--allow-new")
    db = open_database(org_db)
    whole: dict[str, float] = {}
    derived.refresh_derived(db, seconds_by_table=whole)
    assert set(whole) == set(DERIVED_TABLES) and all(seconds >= 0 for seconds in whole.values())
    # Only the tables built from what changed; the seconds add up over refreshes.
    integrations = {"tool_blast_radius": 0.25}
    derived.refresh_derived(db, changed={"integrations"}, seconds_by_table=integrations)
    assert set(integrations) == {"tool_blast_radius"} and integrations["tool_blast_radius"] >= 0.25
