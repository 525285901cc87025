"""Load a workbook whose sheets are named after kinds (Tools, Teams, Usage …) in one go: one transaction for all.

Each sheet is read as the kind its name says (`kind_of_sheet`: any case and
spacing, singular or plural, the table's name too: "Tool capabilities",
"team_needs", "Tool"), in dependency order (teams before the tools they
own, tools before their usage), each after the ones it needs are written,
inside one transaction with one row in ``ingests``. A sheet with a problem
rejects the whole workbook, and every sheet's problems are listed, each
under its sheet's name (a sheet rejected writes nothing, so a later sheet
that names its rows may list those names as unknown too). A sheet named after no kind (a README, a pivot, a
chart) is skipped with a warning that names it: workbooks that grew for
years hold such sheets, and refusing them would send people to delete their
own work first.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import sqlite_utils

from ..errors import StackTrackerError
from . import kinds as k
from .conversion import Options
from .ingest import IngestResult, load_file, settle, snapshot_day, with_currencies
from .runs import IngestError, logged_run
from .workbooks import sheet_names

#: The order sheets load in: each after the kinds it refers to.
DEPENDENCY_ORDER = (
    "capabilities", "teams", "rates", "tools", "tiers", "aliases", "tool-capabilities", "needs", "usage",
    "integrations", "merchant-rules",
)
#: Other names people give a kind's sheet.
SHEET_NAMES = {
    "inventory": "tools", "stack": "tools", "applications": "tools", "apps": "tools",
    "organisation": "teams", "organization": "teams", "org": "teams", "taxonomy": "capabilities",
    "spellings": "aliases", "exchangerates": "rates", "fxrates": "rates", "plans": "tiers",
}


def _key(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "", name.casefold())


def _sheet_keys() -> dict[str, str]:
    keys: dict[str, str] = {_key(other): kind for other, kind in SHEET_NAMES.items()}
    for kind in k.KINDS.values():
        for name in (kind.name, kind.table):
            keys[_key(name)] = kind.name
            keys.setdefault(_key(name).removesuffix("s"), kind.name)
    return keys


def kind_of_sheet(name: str) -> str | None:
    """The kind a sheet's name says, or None: any case and spacing, singular or plural, or the kind's table."""
    keys = _sheet_keys()
    key = _key(name)
    return keys.get(key) or keys.get(key.removesuffix("s")) or keys.get(key + "s")


@dataclass
class WorkbookResult:
    """What a workbook's ingest read and changed, sheet by sheet."""

    file: str
    ingest_id: int | None
    sheets: list[IngestResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = False

    def summary(self) -> str:
        head = (f"{self.file}: {'would load' if self.dry_run else 'loaded'} {len(self.sheets)} "
                f"sheet{'s' if len(self.sheets) != 1 else ''} in one transaction")
        return "\n".join([head] + ["  " + sheet.summary().replace("\n", "\n  ") for sheet in self.sheets])


def ingest_workbook(
    db: sqlite_utils.Database,
    path: Path | str,
    *,
    dry_run: bool = False,
    options: Options = Options(),
    progress: Callable[[int, int], None] | None = None,
) -> WorkbookResult:
    """Load every sheet of the workbook ``path`` named after a kind, as that kind, in one transaction.

    Raises `IngestError` listing every sheet's problems if any sheet has one;
    the database is then as it was, but for the failed run's row in ``ingests``.
    """
    path = Path(path)
    file = path.name
    if options.sheet:
        raise StackTrackerError("--sheet picks one sheet to load as one kind: a workbook loads every sheet named after a kind")
    plan, skipped = _plan(path)
    if not plan:
        raise StackTrackerError(
            f"{file}: no sheet is named after a kind of input (sheets: {', '.join(map(repr, skipped))}); name each "
            f"sheet after the kind it holds: {', '.join(DEPENDENCY_ORDER)}"
        )
    kinds = [kind for kind, _ in plan]
    if options.as_of and "tools" not in kinds:
        raise StackTrackerError("--as-of dates a snapshot of the inventory: the workbook has no tools sheet")
    as_of = snapshot_day(k.KINDS["tools"], options)
    options = with_currencies(db, options)
    result = WorkbookResult(file=file, ingest_id=None, dry_run=dry_run)
    result.warnings += [f"{file}: sheet {sheet!r} is named after no kind of input, so it was skipped (name it "
                        f"after one to load it: {', '.join(DEPENDENCY_ORDER)})" for sheet in skipped]
    with logged_run(db, "workbook", file, log_failure=not dry_run) as run:
        if as_of:
            run.date_changes(as_of)
        problems: list[str] = []
        more = 0
        changed: set[str] = set()
        for kind_name, sheet in plan:
            label = f"{file} [{sheet}]"
            loader, sheet_result, _ = load_file(db, run, k.KINDS[kind_name], path, fmt="xlsx",
                                                options=replace(options, sheet=sheet), progress=progress,
                                                dry_run=dry_run, label=label)
            if loader.problems:
                problems += loader.problems.listed
                more += loader.problems.more
                continue
            changed |= settle(db, run, loader, sheet_result)
            result.sheets.append(sheet_result)
            result.warnings += sheet_result.warnings
        if problems:
            raise IngestError(file, problems, more)
        result.ingest_id = None if dry_run else run.id
        if dry_run:
            run.discard()
            return result
        run.refresh(changed)
        rows_read = sum(sheet.rows_read for sheet in result.sheets)
        rows_written = sum(sheet.rows_written for sheet in result.sheets)
        run.commit(sha256=_sha256(path), rows_read=rows_read, rows_written=rows_written, message=result.summary())
    return result


def _plan(path: Path) -> tuple[list[tuple[str, str]], list[str]]:
    """The sheets to load as (kind, sheet), in dependency order, and the sheets named after no kind."""
    by_kind: dict[str, str] = {}
    skipped: list[str] = []
    for sheet in sheet_names(path):
        kind = kind_of_sheet(sheet)
        if kind is None:
            skipped.append(sheet)
        elif kind in by_kind:
            raise StackTrackerError(f"{path.name}: sheets {by_kind[kind]!r} and {sheet!r} both hold {kind}: keep one, "
                                    "or ingest one of them with --sheet")
        else:
            by_kind[kind] = sheet
    order = [kind for kind in DEPENDENCY_ORDER if kind in by_kind] + [kind for kind in by_kind if kind not in DEPENDENCY_ORDER]
    return [(kind, by_kind[kind]) for kind in order], skipped


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(1 << 16):
            digest.update(chunk)
    return digest.hexdigest()
