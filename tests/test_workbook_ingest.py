"""stack-tracker ingest DB --workbook: every sheet named after a kind, in dependency order, one transaction."""

from __future__ import annotations

import pytest

from conftest import content_hash, rows, run, write_workbook
from stack_tracker.inputs.workbook_ingest import kind_of_sheet


def stack_sheets(active_users: object = 12) -> dict[str, list[list]]:
    """Four kinds, in the order a person might keep them (usage first), with a readme sheet beside them."""
    return {
        "Usage": [["Team", "Tool", "Month", "MAU", "Seats"],
                  ["Demand Gen", "HubSpot", "2026-03", active_users, 20],
                  ["Brand", "Figma", "2026-03", 4, 5]],
        "Tools": [["Marketing stack, March 2026"],
                  ["Tool", "Vendor", "Owner team", "Annual cost", "Criticality"],
                  ["HubSpot", "HubSpot", "Demand Gen", 48000, "Tier 1"],
                  ["Figma", "Figma", "Brand", 9000, "Tier 2"],
                  ["Total", None, None, 57000, None]],
        "Teams": [["Team", "Parent"], ["Marketing", None], ["Demand Gen", "Marketing"], ["Brand", "Marketing"]],
        "Tool capabilities": [["Tool", "Capability", "Primary"],
                              ["HubSpot", "marketing-automation", "yes"], ["Figma", "collaboration", "yes"]],
        "Read me": [["Kept by marketing ops; ask before editing"]],
    }


def test_a_workbook_of_four_sheets_loads_in_one_go(db_path, tmp_path):
    path = write_workbook(tmp_path / "stack.xlsx", stack_sheets())
    result = run("ingest", db_path, "--workbook", path)
    assert rows(db_path, "select count(*) as n from teams") == [{"n": 3}]
    assert rows(db_path, "select slug, owner_team, custom_fields from tools order by slug") == [
        {"slug": "figma", "owner_team": "brand", "custom_fields": '{"Criticality":"Tier 2"}'},
        {"slug": "hubspot", "owner_team": "demand-gen", "custom_fields": '{"Criticality":"Tier 1"}'},
    ]
    assert rows(db_path, "select sum(active_users) as n from usage") == [{"n": 16}]
    assert rows(db_path, "select tool, capability from tool_capabilities where source = 'stated' order by tool") == [
        {"tool": "figma", "capability": "collaboration"}, {"tool": "hubspot", "capability": "marketing-automation"}]
    # One transaction, one row in ingests; every row written carries its id.
    ingests = rows(db_path, "select id, kind, file, status, rows_read from ingests where kind = 'workbook'")
    assert [(row["file"], row["status"], row["rows_read"]) for row in ingests] == [("stack.xlsx", "ok", 9)]
    assert rows(db_path, "select count(distinct ingest_id) as n from (select ingest_id from teams union all "
                         "select ingest_id from tools union all select ingest_id from usage)") == [{"n": 1}]
    # In dependency order, each sheet said; the readme skipped with a warning; the tools sheet's title and total said.
    output = result.output
    assert output.index("[Teams]") < output.index("[Tools]") < output.index("[Tool capabilities]") < output.index("[Usage]")
    assert "stack.xlsx: loaded 4 sheets in one transaction" in output
    assert "warning: stack.xlsx: sheet 'Read me' is named after no kind of input, so it was skipped" in output
    assert "stack.xlsx [Tools]: took line 2 as the header; skipped 1 row (line 1: 'Marketing stack, March 2026')" in output
    assert "warning: stack.xlsx [Tools]: left out a totals row (line 5: 'Total | 57000'): not tools rows" in output
    # Again: nothing changes.
    before = content_hash(db_path, exclude=("ingests",))
    run("ingest", db_path, "--workbook", path, "--silent")
    assert content_hash(db_path, exclude=("ingests",)) == before


def test_a_workbook_with_one_bad_sheet_loads_nothing_and_lists_every_sheets_problems(db_path, tmp_path):
    sheets = stack_sheets(active_users="lots")
    sheets["Teams"].append(["Events", "Nowhere"])
    before = content_hash(db_path, exclude=("ingests",))
    result = run("ingest", db_path, "--workbook", write_workbook(tmp_path / "stack.xlsx", sheets), exit_code=1)
    assert "stack.xlsx was not loaded: 2 problems" in result.output
    assert 'stack.xlsx [Teams]:5: parent: "Nowhere": unknown team' in result.output
    assert 'stack.xlsx [Usage]:2: active_users: "lots": expected a whole number' in result.output
    assert content_hash(db_path, exclude=("ingests",)) == before
    assert rows(db_path, "select status from ingests where kind = 'workbook'") == [{"status": "failed"}]


def test_a_dry_run_writes_nothing(db_path, tmp_path):
    before = content_hash(db_path)
    result = run("ingest", db_path, "--workbook", write_workbook(tmp_path / "stack.xlsx", stack_sheets()), "--dry-run")
    assert "stack.xlsx: would load 4 sheets in one transaction" in result.output
    assert content_hash(db_path) == before


def test_two_sheets_of_one_kind_or_none_at_all_are_errors(db_path, tmp_path):
    path = write_workbook(tmp_path / "two.xlsx", {"Tools": [["Tool"], ["Figma"]], "tool": [["Tool"], ["Asana"]]})
    assert "sheets 'Tools' and 'tool' both hold tools: keep one" in run("ingest", db_path, "--workbook", path, exit_code=1).output
    path = write_workbook(tmp_path / "none.xlsx", {"Sheet1": [["Tool"], ["Figma"]]})
    assert "no sheet is named after a kind of input (sheets: 'Sheet1')" in run("ingest", db_path, "--workbook", path, exit_code=1).output


def test_workbook_goes_instead_of_kind_and_files(db_path, tmp_path):
    path = write_workbook(tmp_path / "stack.xlsx", stack_sheets())
    assert "give KIND and FILES, or --workbook, not both" in run("ingest", db_path, "tools", path, "--workbook", path, exit_code=2).output
    assert "give KIND and FILES (or --workbook FILE)" in run("ingest", db_path, exit_code=2).output
    assert "--sheet picks one sheet" in run("ingest", db_path, "--workbook", path, "--sheet", "Tools", exit_code=1).output


@pytest.mark.parametrize("sheet, kind", [
    ("Tools", "tools"), ("tool", "tools"), ("TOOLS ", "tools"), ("Inventory", "tools"), ("Teams", "teams"),
    ("Tool capabilities", "tool-capabilities"), ("tool_capabilities", "tool-capabilities"), ("Team needs", "needs"),
    ("Needs", "needs"), ("Usage", "usage"), ("Aliases", "aliases"), ("Integrations", "integrations"),
    ("Capabilities", "capabilities"), ("Merchant rules", "merchant-rules"), ("Tiers", "tiers"),
    ("Read me", None), ("Sheet1", None), ("Pivot", None),
])
def test_sheet_names(sheet, kind):
    assert kind_of_sheet(sheet) == kind
