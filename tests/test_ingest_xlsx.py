"""stack-tracker ingest reads .xlsx workbooks: the first sheet (or a named one), row numbers as lines."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import pytest

from conftest import content_hash, rows, run
from stack_tracker.ingest import Options, ingest
from stack_tracker.schema import open_database

openpyxl = pytest.importorskip("openpyxl")


def workbook(path: Path, sheets: dict[str, list[list]]) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, cells in sheets.items():
        sheet = book.create_sheet(title)
        for row in cells:
            sheet.append(row)
    book.save(path)
    return path


def with_saved_values(path: Path, values: dict[str, str]) -> Path:
    """Give formulas the values a spreadsheet application saves beside them (openpyxl saves none)."""
    with zipfile.ZipFile(path) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    for name, content in parts.items():
        if name.startswith("xl/worksheets/"):
            text = content.decode()
            for formula, value in values.items():
                text = text.replace(f"<f>{formula}</f><v />", f"<f>{formula}</f><v>{value}</v>")
            parts[name] = text.encode()
    with zipfile.ZipFile(path, "w") as target:
        for name, content in parts.items():
            target.writestr(name, content)
    return path


def test_usage_from_a_workbook_with_formulas_dates_and_empty_rows(org_db, tmp_path):
    path = with_saved_values(workbook(tmp_path / "usage.xlsx", {
        "Usage": [
            ["Team Name", "Application", "Month", "Licenses", "MAU"],
            ["Demand Gen", "HubSpot Marketing Hub", dt.datetime(2026, 3, 1), 12, "=D2-2"],
            [None, None, None, None, None],
            ["Marketing", "Salesforce Sales Cloud", "Apr 2026", 50.0, 40],
        ],
        "Notes": [["not", "read"]],
    }), {"D2-2": "10"})
    result = run("ingest", org_db, "usage", path)
    assert "usage.xlsx: read 2 usage rows, wrote 2 (2 new, 0 updated, 0 unchanged)" in result.output
    assert rows(org_db, "select team, tool, period, seats, active_users from usage order by period") == [
        {"team": "demand-gen", "tool": "hubspot-marketing-hub", "period": "2026-03", "seats": 12, "active_users": 10},
        {"team": "marketing", "tool": "salesforce-sales-cloud", "period": "2026-04", "seats": 50, "active_users": 40},
    ]
    before = content_hash(org_db, exclude=("ingests",))
    assert "wrote 0 (0 new, 0 updated, 2 unchanged)" in run("ingest", org_db, "usage", path).output
    assert content_hash(org_db, exclude=("ingests",)) == before


def test_errors_name_spreadsheet_rows(org_db, tmp_path):
    path = workbook(tmp_path / "usage.xlsx", {"Sheet1": [
        [None],
        ["team", "tool", "period", "mau"],
        ["Demand Gen", "HubSpot Marketing Hub", "2026-01", 5],
        [],
        ["Demand Gen", "HubSpot Marketing Hub", "2026-13", "lots"],
    ]})
    result = run("ingest", org_db, "usage", path, exit_code=1)
    assert 'usage.xlsx:5: period: "2026-13": expected a month from 01 to 12' in result.output
    assert 'usage.xlsx:5: active_users: "lots": expected a whole number' in result.output
    assert rows(org_db, "select count(*) as n from usage") == [{"n": 0}]


def test_a_value_outside_the_header_is_an_error(org_db, tmp_path):
    path = workbook(tmp_path / "tools.xlsx", {"Sheet1": [["tool", "notes"], ["Asana", "ok", None, "stray"]]})
    result = run("ingest", org_db, "tools", path, exit_code=1)
    assert "tools.xlsx:2: a value in column D, which has no header" in result.output


def test_a_named_sheet(org_db, tmp_path):
    path = workbook(tmp_path / "tools.xlsx", {
        "Cover": [["Our tools, as of March"]],
        "Inventory": [["Tool", "Annual cost", "Renewal"], ["Asana", 9000, dt.date(2027, 1, 31)]],
    })
    db = open_database(org_db)
    result = ingest(db, "tools", path, options=Options(sheet="Inventory"))
    assert result.rows_written == 1
    assert rows(org_db, "select annual_cost, renewal_date from tools where slug = 'asana'") == [
        {"annual_cost": 9000.0, "renewal_date": "2027-01-31"}
    ]
    with pytest.raises(Exception) as error:
        ingest(db, "tools", path, options=Options(sheet="Tools"))
    assert "no sheet named 'Tools': the sheets are 'Cover', 'Inventory'" in str(error.value)
    # The first sheet by default: the cover sheet has no tool column.
    assert "required column not found" in run("ingest", org_db, "tools", path, exit_code=1).output


def test_xlsx_is_a_format_choice_and_the_hash_is_logged(org_db, tmp_path):
    import hashlib

    path = workbook(tmp_path / "export.bin", {"Sheet": [["tool"], ["Miro"]]})
    run("ingest", org_db, "tools", path, "--format", "xlsx", "--silent")
    assert rows(org_db, "select sha256 from ingests order by id desc limit 1") == [{"sha256": hashlib.sha256(path.read_bytes()).hexdigest()}]


def test_a_file_that_is_not_a_workbook(org_db, tmp_path):
    path = tmp_path / "usage.xlsx"
    path.write_text("team,tool\n")
    result = run("ingest", org_db, "usage", path, exit_code=1)
    assert "usage.xlsx: not readable as an .xlsx workbook" in result.output
