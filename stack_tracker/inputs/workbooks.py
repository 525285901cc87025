"""Spreadsheets (.xlsx) read as records, one per row below the header row, as a person reads the sheet.

openpyxl parses the workbook (after `workbook_limits` has checked it is safe to);
what its streaming reader leaves out, merged cells and formulas with no saved
value, is read from the sheet's XML here.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path
from typing import Iterator

from .hashing import HashedFile
from .source_file import CHUNK, ReadError, Record, Source, open_file
from .table_bounds import TableShape, split_header, trimmed_records


def open_spreadsheet(path: Path, sheet: str | None, shape: TableShape | None = None) -> Source:
    """A spreadsheet's rows as records; formulas read as the values last saved with them.

    ``sheet`` is a worksheet's name; without it, the first sheet is read.
    ``shape`` finds the table below title rows and above totals and notes (`table_bounds`).
    """
    # Imported here, not at the top: openpyxl takes about 0.2 s to import, which would
    # add some 40% to the start of every command, and only a workbook needs it.
    from .workbook_limits import WorkbookRefused, open_workbook

    raw = open_file(path)
    counter = HashedFile(raw)
    raw.seek(0)
    source = Source(path=path, format="xlsx", size=path.stat().st_size, raw=raw, counter=counter)
    try:
        workbook, shared_strings = open_workbook(raw, data_only=True)
    except WorkbookRefused as error:
        raw.close()
        raise ReadError(path.name, None, f"not read: {error}") from None
    except Exception as error:  # openpyxl raises zipfile, KeyError and its own errors alike
        raw.close()
        raise ReadError(path.name, None, f"not readable as an .xlsx workbook ({type(error).__name__}: {error})") from None
    if sheet is None:
        worksheet = workbook.worksheets[0]
    elif sheet in workbook.sheetnames:
        worksheet = workbook[sheet]
    else:
        workbook.close()
        raw.close()
        raise ReadError(path.name, None, f"no sheet named {sheet!r}: the sheets are {', '.join(map(repr, workbook.sheetnames))}")
    merged, has_formulas = _sheet_markup(path, getattr(worksheet, "_worksheet_path", None))
    # Read a second time for the formulas themselves, to tell an empty cell from
    # a formula whose value was never saved (as a script writing the file leaves it).
    formula_book = open_workbook(path, data_only=False, shared_strings=shared_strings)[0] if has_formulas else None
    source.records = _sheet_records(source, workbook, worksheet, merged, formula_book, shape)
    return source


def sheet_names(path: Path) -> list[str]:
    """The names of a workbook's worksheets, in order (checked as safe to read, as every workbook is)."""
    from .workbook_limits import WorkbookRefused, open_workbook  # deferred, as in open_spreadsheet

    with open_file(path) as raw:
        try:
            workbook, _ = open_workbook(raw, data_only=True)
        except WorkbookRefused as error:
            raise ReadError(path.name, None, f"not read: {error}") from None
        except Exception as error:  # openpyxl raises zipfile, KeyError and its own errors alike
            raise ReadError(path.name, None, f"not readable as an .xlsx workbook ({type(error).__name__}: {error})") from None
        try:
            return [worksheet.title for worksheet in workbook.worksheets]
        finally:
            workbook.close()


#: The most cells merged ranges may cover; past that a sheet is a layout, not a table.
MAX_MERGED_CELLS = 100_000
_MERGE_REF = re.compile(rb'<mergeCell ref="([A-Z]+)([0-9]+)(?::([A-Z]+)([0-9]+))?"')
_FORMULA_TAG = re.compile(rb"<f[ >/]")


def _sheet_markup(path: Path, member: str | None) -> tuple[dict[int, list[tuple[int, tuple[int, int]]]], bool]:
    """A sheet's merged cells, and whether it has formulas.

    The merged cells map a row to its cells that a range covers, each with the
    range's top-left cell (row, column from 0), which holds the value. openpyxl's
    streaming reader reports neither, so the sheet's XML is scanned for them.
    """
    merged: dict[int, list[tuple[int, tuple[int, int]]]] = {}
    covered = 0
    if not member:
        return merged, False
    refs: set[tuple[bytes, ...]] = set()
    has_formulas = False
    with zipfile.ZipFile(path) as archive, archive.open(member) as xml:
        tail = b""
        while chunk := xml.read(CHUNK):
            window = tail + chunk
            has_formulas = has_formulas or _FORMULA_TAG.search(window) is not None
            refs.update(match.groups() for match in _MERGE_REF.finditer(window))
            if len(refs) > MAX_MERGED_CELLS:  # each range covers a cell at least: stop before holding millions
                raise ReadError(path.name, None, f"merged cells cover more than {MAX_MERGED_CELLS:,} cells: unmerge them")
            tail = window[-256:]
    for first_column, first_row, last_column, last_row in refs:
        top, left = int(first_row), _column_index(first_column.decode())
        bottom, right = (int(last_row), _column_index(last_column.decode())) if last_row else (top, left)
        covered += (bottom - top + 1) * (right - left + 1)
        if covered > MAX_MERGED_CELLS:
            raise ReadError(path.name, top, f"merged cells cover more than {MAX_MERGED_CELLS:,} cells: unmerge them")
        for row in range(top, bottom + 1):
            merged.setdefault(row, []).extend((column, (top, left)) for column in range(left, right + 1) if (row, column) != (top, left))
    return merged, has_formulas


def _column_index(letters: str) -> int:
    """0 for column A, 25 for Z, 26 for AA."""
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - 64
    return index - 1


def _sheet_records(source: Source, workbook, worksheet, merged: dict[int, list[tuple[int, tuple[int, int]]]],
                   formula_book, shape: TableShape | None) -> Iterator[tuple[int, Record]]:
    """The rows of a sheet below its header; a merged range's value fills each of its cells, as a person reads it."""
    name = source.path.name
    try:
        found = split_header(_sheet_rows(source, worksheet, merged, formula_book), shape, name, source.skipped)
        if found is None:
            raise ReadError(name, 1, "the sheet is empty: expected a header row")
        source.header_line, headers, rows = found
        # A sheet is as wide as its widest row: the header ends at its last named column.
        while headers and not headers[-1].strip():
            headers.pop()
        source.headers = headers
        yield from trimmed_records(_row_records(name, headers, rows), headers, shape, source.skipped)
    finally:
        workbook.close()
        if formula_book:
            formula_book.close()
    source.counter.bytes_read = source.size


def _sheet_rows(source: Source, worksheet, merged: dict, formula_book) -> Iterator[tuple[int, list[str]]]:
    """Each row of a sheet that holds anything, as text, with its row number."""
    rows_total = worksheet.max_row or 0
    anchors: dict[int, list[int]] = {}  # row -> the columns in it that hold a merged range's value
    for cells in merged.values():
        for _, (row, column) in cells:
            if column not in anchors.setdefault(row, []):
                anchors[row].append(column)
    values: dict[tuple[int, int], object] = {}
    formulas = formula_book[worksheet.title].iter_rows(values_only=True) if formula_book else None
    for row_number, row in enumerate(worksheet.iter_rows(values_only=True), start=1):
        if rows_total:
            source.counter.bytes_read = source.size * min(row_number, rows_total) // rows_total
        if formulas is not None:
            _check_saved_values(source.path.name, row_number, row, next(formulas, ()))
        if merged:
            row = _fill_merged(row_number, row, merged, anchors, values)
        cells = [_cell_text(value) for value in row]
        if any(cell.strip() for cell in cells):
            yield row_number, cells


def _row_records(name: str, headers: list[str], rows: Iterator[tuple[int, list[str]]]) -> Iterator[tuple[int, Record]]:
    for row_number, cells in rows:
        if len(cells) > len(headers) and any(cell.strip() for cell in cells[len(headers):]):
            column = next(i for i in range(len(headers), len(cells)) if cells[i].strip())
            raise ReadError(name, row_number, f"a value in column {_column_letter(column)}, which has no header")
        yield row_number, dict(zip(headers, cells))


def _check_saved_values(name: str, row_number: int, values: tuple, formulas: tuple) -> None:
    """A formula cell that reads as empty has no saved value: what it comes to is unknown, so it is an error."""
    for column, (value, formula) in enumerate(zip(values, formulas)):
        if value is None and isinstance(formula, str) and formula.startswith("="):
            raise ReadError(
                name, row_number,
                f"column {_column_letter(column)} holds a formula ({formula}) with no value saved with it: open the "
                "workbook in a spreadsheet program and save it, so its values are saved too",
            )


def _fill_merged(row_number: int, row: tuple, merged: dict, anchors: dict, values: dict) -> tuple:
    """``row`` with each cell a merged range covers given the value of the range's top-left cell."""
    cells = list(row)
    for column in anchors.get(row_number, ()):
        values[(row_number, column)] = cells[column] if column < len(cells) else None
    for column, anchor in merged.get(row_number, ()):
        if column >= len(cells):
            cells.extend([None] * (column + 1 - len(cells)))
        cells[column] = values.get(anchor)
    return tuple(cells)


def _cell_text(value: object) -> str:
    """A cell as the text a CSV export of the sheet would hold."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) and value.tzinfo is None else value.isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def _column_letter(index: int) -> str:
    """A for column 0, Z for 25, AA for 26: the column as a spreadsheet names it."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters
