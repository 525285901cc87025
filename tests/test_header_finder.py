"""Spreadsheets as people keep them: titles above the header, totals and notes below the data.

The header is the first row naming the kind's required columns; the rows above
it are skipped and said; --header-row N forces it. Totals rows and notes after
the data are left out with a warning naming them, never loaded as a tool; a tool
row with only a name is still a tool.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import content_hash, rows, run, write
from stack_tracker.inputs.table_bounds import TOTAL_LABEL, reads_as_note

openpyxl = pytest.importorskip("openpyxl")

MESSY_CSV = (
    "Larkspur marketing tools,,,,\n"
    "\"Last updated 3 March 2026, by marketing ops\",,,,\n"
    ",,,,\n"
    "Tool,Vendor,Annual Cost,Licenses,Owner Team\n"
    "HubSpot Marketing Hub,HubSpot,\"$48,000.00\",30,Demand Gen\n"
    "Figma,Figma,9000,20,Marketing\n"
    "Notion,,,,\n"
    "Total,,\"$57,000.00\",50,\n"
    ",,,,\n"
    "Prices exclude VAT,,,,\n"
)


def messy_workbook(path: Path) -> Path:
    """The same sheet in .xlsx: a merged banner, a last-updated row, a blank row, totals and a note."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Inventory"
    sheet.append(["Larkspur marketing tools"])
    sheet.merge_cells("A1:E1")
    sheet.append(["Last updated", "2026-03-03"])
    sheet.append([])
    sheet.append(["Tool", "Vendor", "Annual Cost", "Licenses", "Owner Team"])
    sheet.append(["HubSpot Marketing Hub", "HubSpot", 48000, 30, "Demand Gen"])
    sheet.append(["Figma", "Figma", 9000, 20, "Marketing"])
    sheet.append(["Notion"])
    sheet.append([None, None, 57000, 50, None])  # a totals row with no label: its values are the sums above
    sheet.append([])
    sheet.append(["Prices exclude VAT"])
    book.save(path)
    return path


def tools(db_path: Path) -> list[dict]:
    return rows(db_path, "select name, annual_cost, seats_purchased, owner_team from tools order by name")


EXPECTED = [
    {"name": "Figma", "annual_cost": 9000.0, "seats_purchased": 20, "owner_team": "marketing"},
    {"name": "HubSpot Marketing Hub", "annual_cost": 48000.0, "seats_purchased": 30, "owner_team": "demand-gen"},
    {"name": "Notion", "annual_cost": None, "seats_purchased": None, "owner_team": None},
]


def test_a_csv_with_titles_totals_and_a_note_loads_only_its_tools(org_db, tmp_path):
    run("ingest", org_db, "tools", write(tmp_path / "old.csv", "tool\nDrop Me\n"), "--silent")
    db = org_db
    result = run("ingest", db, "tools", write(tmp_path / "tools.csv", MESSY_CSV))
    names = {row["name"] for row in tools(db)}
    assert {"Figma", "HubSpot Marketing Hub", "Notion"} <= names
    assert not {"Total", "Prices exclude VAT", "Larkspur marketing tools"} & names
    assert [row for row in tools(db) if row["name"] in {"Figma", "HubSpot Marketing Hub", "Notion"}] == EXPECTED
    assert "tools.csv: read 3 tools rows" in result.output
    assert ("tools.csv: took line 4 as the header; skipped 2 rows (line 1: 'Larkspur marketing tools'; line 2: "
            "'Last updated 3 March 2026, by marketing ops') and 1 blank line above it") in result.output
    assert "warning: tools.csv: left out a totals row (line 8: 'Total | $57,000.00 | 50'): not tools rows" in result.output
    assert "warning: tools.csv: left out a note below the data (line 10: 'Prices exclude VAT'): not tools rows" in result.output


def test_an_xlsx_with_a_merged_banner_and_an_unlabelled_totals_row(db_path, tmp_path):
    run("ingest", db_path, "teams", write(tmp_path / "teams.csv", "team\nMarketing\nDemand Gen\n"), "--silent")
    result = run("ingest", db_path, "tools", messy_workbook(tmp_path / "tools.xlsx"))
    assert tools(db_path) == EXPECTED
    assert "tools.xlsx: took line 4 as the header; skipped 2 rows (line 1: 'Larkspur marketing tools'; " in result.output
    assert "left out a totals row (line 8: '57000 | 50')" in result.output
    assert "left out a note below the data (line 10: 'Prices exclude VAT')" in result.output
    before = content_hash(db_path, exclude=("ingests",))
    run("ingest", db_path, "tools", tmp_path / "tools.xlsx", "--silent")
    assert content_hash(db_path, exclude=("ingests",)) == before, "re-ingesting changed something"


def test_a_file_that_starts_with_its_header_says_nothing_of_it(org_db, tmp_path):
    result = run("ingest", org_db, "tools", write(tmp_path / "tools.csv", "tool,vendor\nFigma,Figma\n"))
    assert "header" not in result.output and "warning" not in result.output


def test_header_row_forces_the_line(org_db, tmp_path):
    # Line 2 names the required column too (a tool called "Tool name"): only --header-row says which is the header.
    text = "Tool name,Vendor\nTool,Vendor\nFigma,Figma\n"
    run("ingest", org_db, "tools", write(tmp_path / "tools.csv", text), "--header-row", "2")
    assert rows(org_db, "select name, vendor from tools where slug = 'figma'") == [{"name": "Figma", "vendor": "Figma"}]
    assert rows(org_db, "select count(*) as n from tools where name = 'Tool'") == [{"n": 0}]


def test_header_row_on_a_blank_or_missing_line_is_an_error(org_db, tmp_path):
    path = write(tmp_path / "tools.csv", "Title\n\ntool\nFigma\n")
    assert "tools.csv:2: --header-row 2: that line is blank" in run("ingest", org_db, "tools", path, "--header-row", "2", exit_code=1).output
    assert "--header-row 9: the file has no such line" in run("ingest", org_db, "tools", path, "--header-row", "9", exit_code=1).output


def test_a_title_with_no_header_below_says_what_to_do(org_db, tmp_path):
    result = run("ingest", org_db, "tools", write(tmp_path / "tools.csv", "Our tools\nHubSpot\nFigma\n"), exit_code=1)
    assert "tools.csv:1: tool: (empty): required column not found" in result.output
    assert "--header-row N gives its line" in result.output


def test_a_tool_row_with_only_a_name_at_the_end_is_a_tool(org_db, tmp_path):
    text = "tool,vendor\nFigma,Figma\nAsana\nMonday.com\nSales Navigator for LinkedIn\n"
    result = run("ingest", org_db, "tools", write(tmp_path / "tools.csv", text))
    names = {row["name"] for row in rows(org_db, "select name from tools")}
    assert {"Asana", "Monday.com", "Sales Navigator for LinkedIn"} <= names
    assert "note" not in result.output


def test_notes_in_the_name_column_and_everything_after_the_first(org_db, tmp_path):
    text = "tool,vendor\nFigma,Figma\nAsana\n* estimated\nFinance\n"
    result = run("ingest", org_db, "tools", write(tmp_path / "tools.csv", text))
    names = {row["name"] for row in rows(org_db, "select name from tools")}
    assert "Asana" in names and "Finance" not in names and "* estimated" not in names
    assert "left out 2 notes below the data (line 4: '* estimated'; line 5: 'Finance')" in result.output


def test_a_sparse_row_between_full_rows_is_always_data(org_db, tmp_path):
    text = "tool,vendor\nFigma,Figma\nPrices exclude VAT\nAsana,Asana\n"
    run("ingest", org_db, "tools", write(tmp_path / "tools.csv", text))
    assert rows(org_db, "select count(*) as n from tools where name = 'Prices exclude VAT'") == [{"n": 1}]


def test_a_tool_named_like_a_total_is_not_a_total(org_db, tmp_path):
    run("ingest", org_db, "tools", write(tmp_path / "tools.csv", "tool,annual cost\nTotal Expert,1000\nSumo,20\n"))
    assert {row["name"] for row in rows(org_db, "select name from tools")} >= {"Total Expert", "Sumo"}


def test_a_row_that_is_not_the_sums_is_not_a_totals_row(org_db, tmp_path):
    # No name and a value that is not the column's sum: a broken row, reported, not quietly dropped.
    text = "tool,annual cost\nFigma,1000\nAsana,20\n,999\n"
    result = run("ingest", org_db, "tools", write(tmp_path / "tools.csv", text), exit_code=1)
    assert "tools.csv:4: tool: (empty): a value is required" in result.output


def test_usage_totals_and_titles(org_db, tmp_path):
    text = ("Usage, March 2026\n"
            "team,tool,month,active users\n"
            "Demand Gen,HubSpot Marketing Hub,2026-03,12\n"
            "Marketing,HubSpot Marketing Hub,2026-03,3\n"
            "Grand Total,,,15\n"
            "Source: admin console\n")
    result = run("ingest", org_db, "usage", write(tmp_path / "usage.csv", text))
    assert rows(org_db, "select sum(active_users) as n, count(*) as c from usage") == [{"n": 15, "c": 2}]
    assert "left out a totals row (line 5: 'Grand Total | 15')" in result.output
    assert "left out a note below the data (line 6: 'Source: admin console')" in result.output


def test_a_semicolon_file_below_a_title(org_db, tmp_path):
    text = "Inventaire des outils\nDernière mise à jour; 2026-03-01\ntool;vendor\nFigma;Figma\n"
    run("ingest", org_db, "tools", write(tmp_path / "tools.csv", text))
    assert rows(org_db, "select vendor from tools where slug = 'figma'") == [{"vendor": "Figma"}]


@pytest.mark.parametrize("text, note", [
    ("Prices exclude VAT", True),
    ("Source: finance export", True),
    ("* estimated", True),
    ("Confidential", True),
    ("Costs are as contracted in each currency, before tax", True),
    ("Updated quarterly", True),
    ("HubSpot Marketing Hub", False),
    ("monday.com", False),
    ("Sales Navigator for LinkedIn", False),
    ("Salesforce Marketing Cloud Account Engagement", False),
    ("6sense", False),
    ("Figma", False),
])
def test_what_reads_as_a_note(text, note):
    assert reads_as_note(text) is note


def test_a_data_row_that_names_a_column_never_becomes_the_header(org_db, tmp_path):
    # "Software" is a header for the tool column; below a header of its own, the row is data, and the file lacks tools.
    result = run("ingest", org_db, "tools", write(tmp_path / "tools.csv", "Vendor,Category\nAdobe,Software\n"), exit_code=1)
    assert "tools.csv:1: tool: (empty): required column not found" in result.output


@pytest.mark.parametrize("label, total", [
    ("Total", True), ("TOTAL:", True), ("totals", True), ("Grand total", True), ("Grand Total (USD)", True),
    ("Subtotal", True), ("Sub-total: Analytics", True), ("Sum", True), ("Total (EUR)", True), ("Analytics subtotal", True),
    ("Marketing total", True),
    ("Total Expert", False), ("Sumo", False), ("Totango", False), ("Summit", False), ("Salesforce", False),
])
def test_what_labels_a_totals_row(label, total):
    assert bool(TOTAL_LABEL.match(label)) is total


def test_a_title_over_a_header_of_the_tool_and_a_custom_column(org_db, tmp_path):
    result = run("ingest", org_db, "tools", write(tmp_path / "tools.csv", "Our tools\nTool,Tier\nFigma,1\n"))
    assert "took line 2 as the header; skipped 1 row (line 1: 'Our tools')" in result.output
    assert rows(org_db, "select custom_fields from tools where slug = 'figma'") == [{"custom_fields": '{"Tier":"1"}'}]
