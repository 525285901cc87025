"""stack-tracker check: is the database intact and consistent? In plain words, and --repair."""

from __future__ import annotations

import re
import shlex
import sqlite3

import pytest
from click.testing import CliRunner

from conftest import FIXTURES, content_hash, rows, run, write
from stack_tracker.database import open_existing
from stack_tracker.database.schema import SCHEMA_VERSION, TABLES
from stack_tracker.maintenance import check


@pytest.fixture
def stack_db(org_db, tmp_path):
    """``org_db`` with what its tools do stated (no catalog guess left to note), three months
    of usage and an integration: every derived table has rows but consolidation_candidates
    (no two tools are mainly for the same job)."""
    run("ingest", org_db, "tool-capabilities",
        write(tmp_path / "tool-capabilities.csv",
              "tool,capability,primary\nHubSpot Marketing Hub,Marketing automation,yes\nSalesforce Sales Cloud,CRM,yes\n"),
        "--silent")
    lines = ["team,tool,period,seats,active users"]
    for period in ("2026-01", "2026-02", "2026-03"):
        for team in ("Marketing", "Demand Gen"):
            for tool in ("HubSpot Marketing Hub", "Salesforce Sales Cloud"):
                lines.append(f"{team},{tool},{period},10,4")
    run("ingest", org_db, "usage", write(tmp_path / "usage.csv", "\n".join(lines) + "\n"), "--silent")
    run("ingest", org_db, "integrations",
        write(tmp_path / "integrations.csv", "source_tool,target_tool,data\nHubSpot Marketing Hub,Salesforce Sales Cloud,leads\n"),
        "--silent")
    return org_db


def write_behind_its_back(db_path, *statements: str) -> None:
    """Change the database as another program might: foreign keys off, report tables not rebuilt."""
    connection = sqlite3.connect(db_path)
    connection.execute("PRAGMA foreign_keys = off")
    with connection:
        for statement in statements:
            connection.execute(statement)
    connection.close()


def test_a_healthy_database_is_ok(stack_db):
    before = content_hash(stack_db)
    result = run("check", stack_db)
    counted = " + ".join(f"(select count(*) from [{table}])" for table in TABLES)
    total = rows(stack_db, f"select {counted} as n")[0]["n"]
    assert total > 49 + 12  # the taxonomy and the usage, at least
    assert result.output == (
        f"ok: stack.db: the file is intact, its {total:,} rows refer only to rows that exist, "
        f"and the report tables agree with them\n"
    )
    assert content_hash(stack_db) == before


def test_rows_naming_missing_teams_and_tools_are_listed_by_table_column_and_key(stack_db):
    write_behind_its_back(
        stack_db,
        "insert into usage (team, tool, period, source) values ('x', 'hubspot-marketing-hub', '2026-03', 'reported')",
        "insert into usage (team, tool, period, source) values ('x', 'salesforce-sales-cloud', '2026-03', 'reported')",
        "insert into usage (team, tool, period, source) values ('y', 'hubspot-marketing-hub', '2026-03', 'reported')",
        "update tools set owner_team = 'ghosts' where slug = 'salesforce-sales-cloud'",
    )
    result = run("check", stack_db, exit_code=1)
    assert "Error: stack.db: 3 problems" in result.output
    assert "- 1 tools row names an owner_team that is not in teams: 'ghosts' (1 row)" in result.output
    assert "- 3 usage rows name a team that is not in teams: 'x' (2 rows), 'y' (1 row)" in result.output
    # The rows went in without the report tables being rebuilt, so they are out of date too.
    assert (
        "- the derived report tables are out of date (usage_effective: 3 rows missing or different, "
        "0 that should not be there): run stack-tracker check stack.db --repair"
    ) in result.output

    # --repair rebuilds the report tables; the broken references are for a person to fix.
    result = run("check", stack_db, "--repair", exit_code=1)
    assert "repaired: rebuilt the derived report tables from the base tables" in result.output
    assert "Error: stack.db: 2 problems" in result.output and "out of date" not in result.output


def test_out_of_date_report_tables_are_found_and_repaired(stack_db):
    before = content_hash(stack_db)
    write_behind_its_back(
        stack_db,
        "delete from usage_effective where period = '2026-01'",
        "insert into tool_period_summary (period, tool) values ('1999-01', 'gone')",
        "delete from tool_blast_radius",
    )
    result = run("check", stack_db, exit_code=1)
    assert "Error: stack.db: 1 problem\n" in result.output
    assert "usage_effective: 4 rows missing or different, 0 that should not be there" in result.output
    # The month inserted, and what the damaged usage_effective now gives the tables built from it.
    assert re.search(r"tool_period_summary: 0 rows missing or different, [1-9]\d* that should not be there", result.output)
    assert "tool_blast_radius: 1 row missing or different, 0 that should not be there" in result.output

    result = run("check", stack_db, "--repair")
    assert "repaired: rebuilt the derived report tables" in result.output and "ok: stack.db" in result.output
    assert content_hash(stack_db) == before


def test_a_damaged_file_is_reported_without_a_traceback(stack_db, tmp_path):
    # Enough rows that the middle of the file is table data, not the schema.
    lines = ["team,tool,period,seats,active users"] + [
        f"Team {i % 50},HubSpot Marketing Hub,{1990 + i // 600}-{i // 50 % 12 + 1:02d},10,4" for i in range(6000)
    ]
    run("ingest", stack_db, "usage", write(tmp_path / "more.csv", "\n".join(lines) + "\n"), "--allow-new", "--silent")
    damaged = tmp_path / "damaged.db"
    run("backup", stack_db, damaged, "--silent")
    [layout] = rows(damaged, "select rootpage, (select page_size from pragma_page_size) as page_size "
                             "from sqlite_master where name = 'usage'")
    with damaged.open("r+b") as file:
        # Bytes overwritten in the middle of the file, and the first page of the usage table.
        for offset in (damaged.stat().st_size // 2, (layout["rootpage"] - 1) * layout["page_size"]):
            file.seek(offset)
            file.write(b"\x00\xff" * 2048)
    untouched = damaged.read_bytes()

    result = run("check", damaged, exit_code=1)
    assert "Error: damaged.db: 1 problem\n- the database file is damaged (integrity check: Page " in result.output
    assert len(result.output.splitlines()) == 2
    assert "restore it from a backup, or rescue what is left with: sqlite3 damaged.db .recover" in result.output
    assert "Traceback" not in result.output
    assert damaged.read_bytes() == untouched

    # Other commands that trip over the damage say so as plainly.
    result = run("ingest", damaged, "usage", tmp_path / "more.csv", "--allow-new", exit_code=1)
    assert f"Error: {damaged} is damaged (database disk image is malformed)" in result.output
    assert f"stack-tracker check {damaged}" in result.output


def test_a_file_that_is_not_a_database(tmp_path):
    notes = write(tmp_path / "notes.db", "these are my notes, not a database\n" * 100)
    result = run("check", notes, exit_code=1)
    assert result.output == f"Error: {notes} is not a SQLite database: is it the right file?\n"
    # Every command that opens the database says the same.
    assert run("ingest", notes, "teams", write(tmp_path / "teams.csv", "team\nA\n"), exit_code=1).output == result.output


def test_a_sqlite_database_of_something_else(tmp_path):
    other = tmp_path / "other.db"
    connection = sqlite3.connect(other)
    connection.execute("create table recipes (name text)")
    connection.close()
    result = run("check", other, exit_code=1)
    assert result.output == (
        f"Error: {other} is not a stack-tracker database (it has tables, none of them stack-tracker's): "
        "give a new file name to create one\n"
    )
    # Nothing adds stack-tracker's tables to another program's database: every command says the same.
    assert run("ingest", other, "teams", write(tmp_path / "teams.csv", "team\nA\n"), exit_code=1).output == result.output
    assert rows(other, "select name from sqlite_master") == [{"name": "recipes"}]


def test_a_database_from_a_newer_version(stack_db):
    write_behind_its_back(stack_db, "PRAGMA user_version = 99")
    result = run("check", stack_db, exit_code=1)
    assert f"was written by a newer stack-tracker (schema version 99; this one knows up to {SCHEMA_VERSION})" in result.output
    result = run("report", stack_db, "stack", exit_code=1)
    assert f"Error: {stack_db} was written by a newer stack-tracker (schema version 99" in result.output
    assert rows(stack_db, "select * from pragma_user_version") == [{"user_version": 99}]


def test_a_table_missing_is_reported(stack_db):
    write_behind_its_back(stack_db, "drop table teams", "drop table tool_blast_radius")
    result = run("check", stack_db, exit_code=1)
    assert result.output == (
        "Error: stack.db: 1 problem\n"
        "- tables missing: teams, tool_blast_radius: run stack-tracker init on the database to add them\n"
    )


def test_the_report_tables_agree_after_sign_in_imports(stack_db, monkeypatch):
    monkeypatch.setenv("STACK_TRACKER_SECRET", "a-secret-only-for-this-test")
    logins = FIXTURES / "logins"
    run("import-logins", stack_db, logins / "okta-system-log.json", "--source", "okta",
        "--directory", logins / "directory.csv", "--silent")
    assert rows(stack_db, "select count(*) as n from team_tool_activity_summary")[0]["n"] > 0
    result = check(open_existing(stack_db))
    assert result.ok and result.findings == [] and result.rows_checked > 0

    # One tool's sign-ins of one month deleted behind the report tables' back.
    write_behind_its_back(
        stack_db, "delete from user_activity where (tool, period) = (select tool, period from user_activity limit 1)"
    )
    result = run("check", stack_db, exit_code=1)
    assert "tool_activity_summary: 0 rows missing or different, 1 that should not be there" in result.output


def repair_as_told(output: str, monkeypatch, db_path) -> None:
    """Run the sqlite-utils command a finding gives, as a person would paste it, beside the database."""
    from sqlite_utils.cli import cli as sqlite_utils_cli

    [command] = re.findall(r"with: (sqlite-utils .*)$", output, re.M)
    monkeypatch.chdir(db_path.parent)
    result = CliRunner().invoke(sqlite_utils_cli, shlex.split(command)[1:], catch_exceptions=False)
    assert result.exit_code == 0, result.output


def test_an_alias_that_is_another_tools_name_is_found_with_the_rows_to_delete(stack_db, monkeypatch):
    # Written by hand, or by an earlier release: both tools' own names now lead to HubSpot.
    write_behind_its_back(
        stack_db,
        "update tool_aliases set tool = 'hubspot-marketing-hub' where alias = 'Salesforce Sales Cloud'",
        "insert into tool_aliases (alias, tool) values ('salesforce-sales-cloud', 'hubspot-marketing-hub')",
    )
    result = run("check", stack_db, exit_code=1)
    assert result.output == (
        "Error: stack.db: 1 problem\n"
        "- 2 tool_aliases rows make a tool's own name lead to another tool: 'Salesforce Sales Cloud' "
        "(the tool salesforce-sales-cloud) leads to hubspot-marketing-hub, 'salesforce-sales-cloud' (the tool "
        "salesforce-sales-cloud) leads to hubspot-marketing-hub: an alias can't name another tool; delete them with: "
        "sqlite-utils query stack.db 'delete from tool_aliases where alias in (:alias1, :alias2)' "
        "-p alias1 'Salesforce Sales Cloud' -p alias2 salesforce-sales-cloud\n"
    )
    repair_as_told(result.output, monkeypatch, stack_db)
    assert run("check", stack_db).output.startswith("ok: stack.db")
    assert rows(stack_db, "select alias from tool_aliases where tool = 'salesforce-sales-cloud'") == []


def test_an_alias_of_a_tool_not_in_tools_is_found_with_the_rows_to_delete(stack_db, monkeypatch):
    write_behind_its_back(stack_db, "insert into tool_aliases (alias, tool) values ('Ghost', 'ghost-tool')")
    result = run("check", stack_db, exit_code=1)
    assert result.output == (
        "Error: stack.db: 1 problem\n"
        "- 1 tool_aliases row names a tool that is not in tools: 'ghost-tool' (1 row): add the missing tools, or "
        "delete the rows with: sqlite-utils query stack.db 'delete from tool_aliases where tool not in "
        "(select slug from tools)'\n"
    )
    repair_as_told(result.output, monkeypatch, stack_db)
    assert run("check", stack_db).output.startswith("ok: stack.db")
    assert rows(stack_db, "select count(*) as n from tool_aliases where alias = 'Ghost'") == [{"n": 0}]
