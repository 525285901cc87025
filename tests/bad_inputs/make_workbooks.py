"""Write the spreadsheets of the bad-input corpus (run it from anywhere; it writes beside itself).

    python tests/bad_inputs/make_workbooks.py

- ``usage-merged-formulas.xlsx``: the way people keep a usage sheet by hand.
  The team is one merged cell down three rows, and active users and
  utilisation are formulas. The formulas carry the values a spreadsheet
  program saves with them (openpyxl writes formulas without values, so they
  are added to the sheet's XML afterwards, as Excel would have saved them).
- ``tools-formulas-without-values.xlsx``: formulas as a script leaves them,
  with no saved values: nothing says what they come to.
- ``usage-workbook-renamed.csv``: the first workbook under a ``.csv`` name.

The files are written with fixed timestamps, so running this again gives the
same bytes.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from pathlib import Path

import openpyxl

HERE = Path(__file__).parent
WHEN = dt.datetime(2026, 1, 1)


def workbook_bytes(workbook: openpyxl.Workbook, saved_values: dict[str, object] | None = None) -> bytes:
    """The .xlsx file of ``workbook``, its formula cells holding ``saved_values`` (cell -> value) if given."""
    workbook.properties.created = workbook.properties.modified = WHEN
    buffer = io.BytesIO()
    workbook.save(buffer)
    output = io.BytesIO()
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if saved_values and info.filename.startswith("xl/worksheets/"):
                data = _with_saved_values(data.decode("utf-8"), saved_values).encode("utf-8")
            target.writestr(zipfile.ZipInfo(info.filename, date_time=WHEN.timetuple()[:6]), data, zipfile.ZIP_DEFLATED)
    return output.getvalue()


def _with_saved_values(xml: str, saved_values: dict[str, object]) -> str:
    def saved(match: re.Match) -> str:
        cell = match["cell"]
        if cell not in saved_values:
            return match[0]
        return f'<c r="{cell}"{match["attributes"]}><f>{match["formula"]}</f><v>{saved_values[cell]}</v></c>'

    return re.sub(r'<c r="(?P<cell>[A-Z]+[0-9]+)"(?P<attributes>[^>]*)><f>(?P<formula>[^<]*)</f><v\s*/></c>', saved, xml)


def usage_merged_formulas() -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Usage"
    sheet.append(["Team", "Tool", "Month", "Licenses", "MAU", "Utilisation"])
    sheet.append(["Demand Generation", "HubSpot Marketing Hub", "2027-01", 30, "=ROUND(D2*0.8,0)", "=E2/D2"])
    sheet.append([None, "Salesforce Sales Cloud", "2027-01", 40, "=D3-10", "=E3/D3"])
    sheet.append([None, "Slack", "2027-01", 20, "=D4/2", "=E4/D4"])
    sheet.merge_cells("A2:A4")
    return workbook_bytes(workbook, {"E2": 24, "F2": 0.8, "E3": 30, "F3": 0.75, "E4": 10, "F4": 0.5})


def tools_formulas_without_values() -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Tool", "Licenses", "Annual Cost"])
    sheet.append(["Slack", 140, 21000])
    sheet.append(["Asana", 30, "=B3*1000"])
    return workbook_bytes(workbook)


def main() -> None:
    merged = usage_merged_formulas()
    (HERE / "usage-merged-formulas.xlsx").write_bytes(merged)
    (HERE / "usage-workbook-renamed.csv").write_bytes(merged)
    (HERE / "tools-formulas-without-values.xlsx").write_bytes(tools_formulas_without_values())


if __name__ == "__main__":
    main()
