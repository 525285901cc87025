"""stack-tracker ingest reads .xlsx workbooks: the first sheet (or a named one), row numbers as lines."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import content_hash, rows, run, write_workbook
from stack_tracker.inputs.ingest import Options, ingest
from stack_tracker.database import open_database


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
    path = with_saved_values(write_workbook(tmp_path / "usage.xlsx", {
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
    path = write_workbook(tmp_path / "usage.xlsx", {"Sheet1": [
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
    path = write_workbook(tmp_path / "tools.xlsx", {"Sheet1": [["tool", "notes"], ["Asana", "ok", None, "stray"]]})
    result = run("ingest", org_db, "tools", path, exit_code=1)
    assert "tools.xlsx:2: a value in column D, which has no header" in result.output


def test_a_named_sheet(org_db, tmp_path):
    path = write_workbook(tmp_path / "tools.xlsx", {
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

    path = write_workbook(tmp_path / "export.bin", {"Sheet": [["tool"], ["Miro"]]})
    run("ingest", org_db, "tools", path, "--format", "xlsx", "--silent")
    assert rows(org_db, "select sha256 from ingests order by id desc limit 1") == [{"sha256": hashlib.sha256(path.read_bytes()).hexdigest()}]


def test_a_file_that_is_not_a_workbook(org_db, tmp_path):
    path = tmp_path / "usage.xlsx"
    path.write_text("team,tool\n")
    result = run("ingest", org_db, "usage", path, exit_code=1)
    assert "usage.xlsx: not readable as an .xlsx workbook" in result.output


# Hostile workbooks: memory stays bounded, and the refusal says why.

MEMORY_BOUND_MIB = 300
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '{sheets}'
    '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    '</Types>'
)
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def raw_workbook(path: Path, sheets: dict[str, object], shared_strings=None) -> Path:
    """A workbook written part by part, as a spreadsheet program would, but with any content.

    Each sheet (and the shared strings) is an iterable of XML chunks, streamed
    into the zip: a part may inflate to gigabytes while the file stays small.
    """
    names = list(sheets)
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for i in range(1, len(names) + 1)
    )
    workbook_xml = (
        f'<workbook xmlns="{MAIN}" xmlns:r="{RELATIONSHIPS}"><sheets>'
        + "".join(f'<sheet name="{name}" sheetId="{i}" r:id="rId{i}"/>' for i, name in enumerate(names, 1))
        + "</sheets></workbook>"
    )
    workbook_rels = (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        + "".join(f'<Relationship Id="rId{i}" Type="{RELATIONSHIPS}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                  for i in range(1, len(names) + 1))
        + f'<Relationship Id="rIdS" Type="{RELATIONSHIPS}/sharedStrings" Target="sharedStrings.xml"/></Relationships>'
    )
    root_rels = (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{RELATIONSHIPS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        book.writestr("[Content_Types].xml", CONTENT_TYPES.format(sheets=overrides))
        book.writestr("_rels/.rels", root_rels)
        book.writestr("xl/workbook.xml", workbook_xml)
        book.writestr("xl/_rels/workbook.xml.rels", workbook_rels)
        parts = {f"xl/worksheets/sheet{i}.xml": chunks for i, chunks in enumerate(sheets.values(), 1)}
        parts["xl/sharedStrings.xml"] = shared_strings or [f'<sst xmlns="{MAIN}"/>'.encode()]
        for name, chunks in parts.items():
            with book.open(name, "w", force_zip64=True) as part:
                for chunk in chunks:
                    part.write(chunk)
    return path


def sheet_xml(rows, dimension: str | None = None):
    """A sheet's XML: ``rows`` is an iterable of byte strings, one ``<row>`` each."""
    yield f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}">'.encode()
    if dimension:
        yield f'<dimension ref="{dimension}"/>'.encode()
    yield b"<sheetData>"
    yield from batched(rows)
    yield b"</sheetData></worksheet>"


def shared_strings_xml(texts):
    yield f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN}">'.encode()
    yield from batched(b"<si><t>" + text + b"</t></si>" for text in texts)
    yield b"</sst>"


def batched(pieces, size: int = 1 << 20):
    """``pieces`` joined into chunks of about ``size`` bytes, for writing quickly."""
    batch, length = [], 0
    for piece in pieces:
        batch.append(piece)
        length += len(piece)
        if length >= size:
            yield b"".join(batch)
            batch, length = [], 0
    yield b"".join(batch)


def cell_row(number: int, *cells: str) -> bytes:
    """A row whose cells are shared strings (by index) or numbers: ("s", 3) or ("n", 12)."""
    xml = "".join(
        f'<c r="{chr(65 + column)}{number}" t="s"><v>{value[1:]}</v></c>' if value.startswith("s")
        else f'<c r="{chr(65 + column)}{number}"><v>{value}</v></c>'
        for column, value in enumerate(cells)
    )
    return f'<row r="{number}">{xml}</row>'.encode()


#: Runs a command and prints its peak memory (KiB) last. A child forked from pytest would count
#: pytest's own memory as its peak; one forked from this small process counts only its own.
PEAK_MEMORY = ("import os, subprocess, sys; process = subprocess.Popen(sys.argv[1:]); "
               "_, status, usage = os.wait4(process.pid, 0); sys.stdout.flush(); "
               "print(f'peak {usage.ru_maxrss}'); sys.exit(os.waitstatus_to_exitcode(status))")


def ingest_in_a_process(db: Path, kind: str, path: Path) -> tuple[int, str, float]:
    """Run ``stack-tracker ingest`` as a person would; its exit status, output and peak memory in MiB."""
    result = subprocess.run(
        [sys.executable, "-c", PEAK_MEMORY, sys.executable, "-m", "stack_tracker", "ingest", str(db), kind, str(path), "--silent"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600,
    )
    output, _, peak = result.stdout.decode().rpartition("peak ")
    return result.returncode, output, int(peak) / 1024


def repeated(chunk: bytes, total: int):
    for _ in range(total // len(chunk)):
        yield chunk


def refused(db: Path, kind: str, path: Path, reason: str) -> float:
    """Ingest ``path`` in its own process and check it is refused for ``reason``, the database unchanged; its peak memory."""
    before = content_hash(db, exclude=("ingests",))
    status, output, peak = ingest_in_a_process(db, kind, path)
    assert status == 1, output
    assert output.startswith(f"Error: {path.name} was not loaded: 1 problem\n{path.name}: not read: "), output
    assert re.search(reason, output), output
    assert "Traceback" not in output
    assert content_hash(db, exclude=("ingests",)) == before
    assert rows(db, "select status, message from ingests order by id desc limit 1")[0]["status"] == "failed"
    return peak


def test_a_zip_bomb_sheet_is_refused_in_bounded_memory(org_db, tmp_path):
    # One row over and over: 1 GiB of sheet XML in about a megabyte.
    row = b'<row><c t="inlineStr"><is><t>Demand Gen</t></is></c></row>' * 1024
    path = raw_workbook(tmp_path / "book.xlsx", {"Usage": sheet_xml(repeated(row, 1 << 30))})
    assert path.stat().st_size < 4 << 20
    peak = refused(org_db, "usage", path, r"xl/worksheets/sheet1.xml inflates from [0-9.]+ MiB to 1,024 MiB, "
                                          r"more than 100 times: a zip bomb, not a spreadsheet")
    assert peak < MEMORY_BOUND_MIB, peak


def test_a_gigabyte_shared_string_is_refused_in_bounded_memory(org_db, tmp_path):
    huge = [f'<sst xmlns="{MAIN}"><si><t>'.encode(), *repeated(b"x" * (1 << 20), 1 << 30), b"</t></si></sst>"]
    path = raw_workbook(tmp_path / "book.xlsx", {"Tools": sheet_xml([cell_row(1, "s0")])}, huge)
    assert path.stat().st_size < 4 << 20
    peak = refused(org_db, "tools", path, r"xl/sharedStrings.xml inflates from [0-9.]+ MiB to 1,024 MiB")
    assert peak < MEMORY_BOUND_MIB, peak


def test_millions_of_shared_strings_are_refused_in_bounded_memory(org_db, tmp_path):
    # 2.5 million distinct texts: each a number, so the part compresses as real text does (about 10 times).
    texts = shared_strings_xml(b"%d" % number for number in range(2_500_000))
    path = raw_workbook(tmp_path / "book.xlsx", {"Tools": sheet_xml([cell_row(1, "s0"), cell_row(2, "s1")])}, texts)
    assert path.stat().st_size < 8 << 20
    peak = refused(org_db, "tools", path, r"xl/sharedStrings.xml holds more than 2,000,000 distinct texts")
    assert peak < MEMORY_BOUND_MIB, peak


def test_more_rows_than_a_spreadsheet_holds_or_a_row_wider_than_one_is_refused(org_db, tmp_path):
    rows_ = (b'<x:row r="%d"><x:c r="A%d"><x:v>%d</x:v></x:c></x:row>' % (n, n, n) for n in range(1, 1_100_000))
    sheet = (chunk.replace(f'<worksheet xmlns="{MAIN}">'.encode(), f'<x:worksheet xmlns:x="{MAIN}">'.encode())
             .replace(b"<sheetData>", b"<x:sheetData>").replace(b"</sheetData></worksheet>", b"</x:sheetData></x:worksheet>")
             for chunk in sheet_xml(rows_))
    path = raw_workbook(tmp_path / "book.xlsx", {"Usage": sheet})
    peak = refused(org_db, "usage", path, r"xl/worksheets/sheet1.xml holds more than 1,048,576 rows")
    assert peak < MEMORY_BOUND_MIB, peak
    wide = b"<row>" + b"".join(b'<c s="%d"><v>%d</v></c>' % (n % 7, n) for n in range(150_000)) + b"</row>"
    path = raw_workbook(tmp_path / "wide.xlsx", {"Usage": sheet_xml([wide])})
    refused(org_db, "usage", path, r"xl/worksheets/sheet1.xml holds more than 100,000 elements in one row")


def test_a_large_but_sane_workbook_loads(org_db, tmp_path):
    # 14,400 usage rows, and beside them a sheet of 600,000 distinct notes: all their text is held, compactly.
    teams, tools = ["Marketing", "Demand Gen"], ["Salesforce Sales Cloud", "HubSpot Marketing Hub"]
    header = ["team", "tool", "period", "seats", "mau"]
    texts = [name.encode() for name in header + teams + tools]
    periods = [f"{1900 + i // 12}-{i % 12 + 1:02d}" for i in range(3600)]
    texts += [period.encode() for period in periods]
    notes_from = len(texts)
    texts += [b"note %07d about a tool and why a team uses it" % n for n in range(600_000)]
    usage = [cell_row(1, *(f"s{i}" for i in range(5)))]
    for i in range(14_400):
        period, team, tool = i // 4, i % 2, i // 2 % 2
        usage.append(cell_row(i + 2, f"s{5 + team}", f"s{7 + tool}", f"s{9 + period}", str(10 + i % 7), str(i % 9)))
    notes = (cell_row(n + 1, f"s{notes_from + n}") for n in range(600_000))
    path = raw_workbook(tmp_path / "usage.xlsx", {"Usage": sheet_xml(usage, f"A1:E{len(usage)}"),
                                                  "Notes": sheet_xml(notes, "A1:A600000")}, shared_strings_xml(texts))
    status, output, peak = ingest_in_a_process(org_db, "usage", path)
    assert status == 0, output
    assert rows(org_db, "select count(*) as n, sum(active_users) as active from usage") == [
        {"n": 14_400, "active": sum(i % 9 for i in range(14_400))}
    ]
    assert rows(org_db, "select seats, active_users from usage where team = 'demand-gen' and tool = 'hubspot-marketing-hub' "
                        "and period = '2199-12'") == [{"seats": 10 + 14_399 % 7, "active_users": 14_399 % 9}]
    assert peak < MEMORY_BOUND_MIB, peak


@pytest.mark.parametrize("xml, refusal", [
    (b'<x:sheetData xmlns:x="m">' + b'<x:row r="1"><x:c/></x:row>' * 6 + b"</x:sheetData>", "holds more than 5 rows"),
    (b"<sheetData><row>" + b'<c r="A1"/>' * 40 + b"</row></sheetData>", "more than 30 elements in one row"),
    (b"<sheetData><row><c><v>" + b"9" * 5000 + b"</v></c></row></sheetData>", "a value or tag of more than"),
    (b'<sheetData><row><c r="A1" s="' + b"1" * 5000 + b'"/></row></sheetData>', "a value or tag of more than"),
    (b"<sheetData><!--" + b"<row>" * 1000 + b"--></sheetData>", "a value or tag of more than"),
    (b"<sheetData><row><c><is><t><![CDATA[" + b"<" * 5000 + b"]]></t></is></c></row></sheetData>", "a value or tag of more than"),
    (b'<!DOCTYPE x [<!ENTITY a "aaaa">]><sheetData/>', "document type declaration"),
    (b"<" + b"p" * 200 + b":row/>", "tag name longer than 100"),
])
@pytest.mark.parametrize("chunk", [1, 7, 4096])
def test_a_part_is_checked_as_bytes_whatever_its_chunks(monkeypatch, xml, refusal, chunk):
    from stack_tracker.inputs import workbook_limits as limits

    monkeypatch.setattr(limits, "MAX_TOKEN_BYTES", 4096)
    monkeypatch.setattr(limits, "MAX_ELEMENTS_PER_RECORD", 30)
    scan = limits.PartScan("sheet.xml", b"row", 5, "rows", "row")
    with pytest.raises(limits.WorkbookRefused, match=refusal):
        for start in range(0, len(xml), chunk):
            scan.feed(xml[start:start + chunk])
        scan.feed(b"")


def test_a_real_part_passes_the_byte_checks_whatever_its_chunks():
    from stack_tracker.inputs import workbook_limits as limits

    xml = (b'<?xml version="1.0"?><!-- a < comment --><x:worksheet xmlns:x="m"><x:sheetData>'
           + b"".join(b'<x:row r="%d"><x:c r="A%d" t="inlineStr"><x:is><x:t><![CDATA[a < b]]></x:t></x:is></x:c></x:row>' % (n, n)
                      for n in range(1, 300))
           + b"</x:sheetData></x:worksheet>")
    for chunk in (1, 5, 64, 1 << 16):
        scan = limits.PartScan("sheet.xml", b"row", 299, "rows", "row")
        for start in range(0, len(xml), chunk):
            scan.feed(xml[start:start + chunk])
        scan.feed(b"")
        assert scan.records == 299
