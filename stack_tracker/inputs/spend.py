"""Import card and expense exports: what the organisation pays for software, per tool, team and month.

``import_spend`` reads the exports finance already has (`spend_formats`:
Ramp, Brex, Expensify, American Express, a QuickBooks bank feed, any CSV or
.xlsx with a date, an amount and a merchant), finds the tool each merchant is
(`merchants`: the ops team's merchant rules, the inventory's names, the
catalog), places each card holder in a team through ``--directory``
(`directory`; people it does not list go to team ``unassigned``), and writes

    spend    tool × team × month × currency × file:  amount, transactions, refunds, merchants

A refund or credit counts against its month; a declined or failed transaction
is left out and counted, and so is every merchant that is not software. Card
holders are never stored: each is only looked up in the directory.

The rule when files overlap. Each transaction counted is remembered in
``spend_fingerprints`` as a keyed hash (the database's pseudonymisation key,
`stack_tracker.privacy`) of the export's own transaction id where it has
one, else of its day, amount, currency, merchant and card holder (the second
of two identical transactions in one file is hashed as the second). So:

- importing the same file again changes nothing: a file is known by its
  content, and its rows are replaced by what it counts now;
- two exports covering the same days count each transaction once, for the
  file that counted it first; the second says how many it found already counted.

Each file is one transaction, logged in ``ingests`` (kind ``spend``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import sqlite_utils

from .. import normalise as n
from ..database.settings import base_currency
from ..errors import StackTrackerError
from ..privacy import PseudonymKey, check_key, load_key, normalise_identifier
from . import merchants as m
from . import spend_formats as f
from .directory import UNASSIGNED, Directory, load_directory
from .readers import ReadError, Source, open_source
from .runs import ChangeCounts, Problems, counted_changes, date_window, logged_run, printable
from .spend_summary import SpendResult, nothing_counted

KIND = "spend"
PROGRESS_EVERY = 1_000
BATCH = 5_000
#: Reasons a transaction is left out before its merchant is looked at.
DECLINED, ZERO, OUTSIDE_WINDOW, ALREADY_COUNTED = (
    "declined or failed", "zero amounts", "outside --since/--until", "already counted from another file")


@dataclass
class _Transaction:
    """One line of an export, read: what the rest of the import needs of it (never the card holder's name)."""

    day: str
    cents: int
    currency: str
    merchant: str
    software_category: bool
    holder: str  # normalised, for the directory and the fingerprint; never written anywhere
    status: str | None
    transaction_id: str


def import_spend(
    db: sqlite_utils.Database,
    paths: list[Path | str],
    fmt: str = "auto",
    *,
    directory: Path | str | None = None,
    since: str | None = None,
    until: str | None = None,
    allow_new: bool = True,
    date_format: str | None = None,
    key: PseudonymKey | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[SpendResult]:
    """Import each card or expense export of ``paths`` (``fmt``: a format of `spend_formats.FORMATS`, or ``auto``).

    Each file is one transaction; ``since``/``until`` (days) limit what is
    counted; with ``allow_new`` software the inventory lacks becomes an
    unreviewed tool, else it is left out and listed. Raises `IngestError`
    listing every problem of a file that cannot be read.
    """
    if fmt not in f.FORMAT_CHOICES:
        raise StackTrackerError(f"unknown format {fmt!r}: expected one of {', '.join(f.FORMAT_CHOICES)}")
    window = date_window(since, until, date_format)
    key = key or load_key(db)
    results = []
    for path in paths:
        result = _import_file(db, Path(path), fmt, key, Path(directory) if directory else None, window, allow_new,
                              date_format, progress)
        result.warnings[:0] = key.warnings
        key.warnings = []
        results.append(result)
    return results


def _import_file(db: sqlite_utils.Database, path: Path, fmt: str, key: PseudonymKey, directory_path: Path | None,
                 window: tuple[str | None, str | None], allow_new: bool, date_format: str | None, progress) -> SpendResult:
    result = SpendResult(file=path.name)
    try:
        with logged_run(db, KIND, path.name) as run:
            result.ingest_id = run.id
            check_key(db, key)
            people = load_directory(db, directory_path, allow_new=allow_new, date_format=date_format)
            result.warnings += people.warnings
            result.directory = people.file
            matcher = m.MerchantMatcher(db, allow_new=allow_new)
            reader = _Reader(db, path, fmt, key, people, matcher, window, date_format, result, base_currency(db))
            try:
                with open_source(path) as source:
                    reader.read(source, progress)
                    sha256 = source.sha256()
            except ReadError as error:
                reader.problems.add_error(error)
            finally:
                run.rows_read = result.transactions
            reader.problems.raise_if_any()
            changed = _write(db, sha256, reader, run.id, result)
            result.warnings += nothing_counted(result)
            run.refresh(changed)
            run.commit(sha256=sha256, rows_read=result.transactions, rows_written=result.rows_written,
                       message=result.summary())
            return result
    finally:
        _drop_temporary_tables(db)


class _Reader:
    """Reads one export's transactions into ``temp.spend_staged``, noting problems, and what it left out and why."""

    def __init__(self, db, path: Path, fmt: str, key: PseudonymKey, people: Directory, matcher: m.MerchantMatcher,
                 window, date_format: str | None, result: SpendResult, base: str):
        self.db, self.path, self.fmt, self.key, self.people, self.matcher = db, path, fmt, key, people, matcher
        self.window, self.date_format, self.result, self.base = window, date_format, result, base
        self.problems = Problems(path.name)
        self.format: f.SpendFormat | None = None
        self.columns: dict[str, str] = {}
        self.signs = [0, 0]  # charges read as positive, as negative: for a format whose amounts run either way
        self.unassigned: set[str] = set()
        _drop_temporary_tables(db)
        db.execute("create temp table spend_staged (line integer, base_fingerprint text, tool text, team text, "
                   "period text, currency text, cents integer, refund integer, merchant text)")
        self.batch: list[tuple] = []

    def read(self, source: Source, progress) -> None:
        records = source.records
        first = next(records, None)
        headers = source.headers or (list(first[1]) if first else [])
        if first is None and not headers:  # an empty JSON array: no transactions, which the summary says
            self.format = f.FORMATS["csv" if self.fmt == "auto" else self.fmt]
            self.result.format = self.format.title
            return
        if not self._choose_format(headers):
            return
        for line, record in itertools.chain([first], records) if first else ():
            self.result.transactions += 1
            if progress and self.result.transactions % PROGRESS_EVERY == 0:
                progress(source.bytes_read, source.size)
            transaction = self._transaction(line, record)
            if transaction is not None and not self.problems:
                self._count(line, transaction)
        if self.batch and not self.problems:
            self._flush()
        if progress:
            progress(source.size, source.size)
        self.result.charges_negative = self.charge_sign() < 0 and self.format.charges == f.MOST
        self.result.unassigned_people = len(self.unassigned)

    def _choose_format(self, headers: list[str]) -> bool:
        """The export's format, from ``--format`` or its headers, and its columns; a problem if it lacks what it needs."""
        self.format = f.detect_format(headers) if self.fmt == "auto" else f.FORMATS[self.fmt]
        self.result.format = self.format.title
        self.columns, missing = f.format_columns(self.format, headers)
        for what in missing:
            hint = "" if self.fmt != "auto" else f"; or give --format ({', '.join(f.FORMATS)})"
            self.problems.add(1, what.split(" (")[0], None,
                              f"required column not found for a {self.format.title} export {what[what.index('('):]}{hint}")
        self.result.card_holders = "card_holder" in self.columns
        return not missing

    def _value(self, record: dict, field: str) -> str:
        header = self.columns.get(field)
        value = record.get(header) if header is not None else None
        if value is None or isinstance(value, (bool, dict, list)):
            return ""
        # Escaped, anything UTF-8 cannot carry (a lone surrogate from broken JSON): it is hashed and stored.
        return printable(" ".join(str(value).split()))

    def _transaction(self, line: int, record: dict) -> _Transaction | None:
        """One record's values, parsed; None, with the problems noted, if one cannot be."""
        ok = True
        day = cents = currency = None
        raw_day, raw_amount = self._value(record, "date"), self._value(record, "amount")
        try:
            day = f.transaction_day(raw_day, self.date_format) if raw_day else None
            if day is None:
                self.problems.add(line, self.columns["date"], None, "a date is required")
                ok = False
        except n.BadValue as error:
            self.problems.add(line, self.columns["date"], raw_day, str(error))
            ok = False
        try:
            if not raw_amount:
                self.problems.add(line, self.columns["amount"], None, "an amount is required")
                ok = False
            else:
                cents, currency = f.signed_amount(raw_amount)
        except n.BadValue as error:
            self.problems.add(line, self.columns["amount"], raw_amount, str(error))
            ok = False
        stated = self._value(record, "currency")
        if stated:
            try:
                stated = n.parse_currency(stated)
            except n.BadValue as error:
                self.problems.add(line, self.columns["currency"], stated, str(error))
                return None
            if currency and currency != stated:
                self.problems.add(line, self.columns["currency"], stated, f"the amount is in {currency}; the two must agree")
                return None
        merchant = self._value(record, "merchant") or self._value(record, "description")
        if not merchant:
            column = self.columns.get("merchant") or self.columns["description"]
            self.problems.add(line, column, None, "a merchant or description is required")
            ok = False
        if not ok:
            return None
        holder = normalise_identifier(self._value(record, "card_holder"))
        return _Transaction(day, cents, stated or currency or self.base, merchant,
                            f.is_software_category(self._value(record, "category")), holder,
                            f.status_meaning(self._value(record, "status")), self._value(record, "transaction_id"))

    def _count(self, line: int, transaction: _Transaction) -> None:
        """Leave a transaction out, saying why, or stage it under its tool and team."""
        result = self.result
        if transaction.status == f.LEFT_OUT:
            result.leave_out(DECLINED)
            return
        if transaction.cents == 0:
            result.leave_out(ZERO)
            return
        refund = transaction.status == f.REFUND
        if not refund:  # the file's charges, whatever their merchant: which way round the file writes them
            self.signs[transaction.cents < 0] += 1
        since, until = self.window
        if (since and transaction.day < since) or (until and transaction.day > until):
            result.leave_out(OUTSIDE_WINDOW)
            return
        match = self.matcher.match(transaction.merchant, transaction.software_category)
        if match.tool is None:
            result.leave_out(match.reason, m.label(transaction.merchant))
            return
        team = UNASSIGNED
        if transaction.holder:
            team = self.people.person(transaction.holder)[1]
            if team == UNASSIGNED:
                self.unassigned.add(transaction.holder)
        self.batch.append((line, self._fingerprint(transaction), match.tool, team, transaction.day[:7],
                           transaction.currency, transaction.cents, int(refund), transaction.merchant))
        result.found(match.tool, match.reason)
        if len(self.batch) >= BATCH:
            self._flush()

    def _fingerprint(self, transaction: _Transaction) -> str:
        """The keyed hash a transaction is remembered by (`spend_fingerprints`): its id, else what it is."""
        if transaction.transaction_id and "transaction_id" in self.columns:
            material = f"spend transaction\x1f{self.format.name}\x1f{transaction.transaction_id}"
        else:
            material = "\x1f".join(("spend transaction", transaction.day, str(transaction.cents), transaction.currency,
                                    n.lookup_key(transaction.merchant), transaction.holder))
        return self.key.user_key(material)

    def _flush(self) -> None:
        self.db.conn.executemany("insert into temp.spend_staged values (?, ?, ?, ?, ?, ?, ?, ?, ?)", self.batch)
        self.batch.clear()

    def charge_sign(self) -> int:
        """1 if the export writes a charge as a positive amount, -1 if as a negative one."""
        if self.format.charges == f.MOST:
            positive, negative = self.signs
            return -1 if negative > positive else 1
        return -1 if self.format.charges == f.NEGATIVE else 1


def _write(db: sqlite_utils.Database, sha256: str, reader: _Reader, ingest_id: int, result: SpendResult) -> set[str]:
    """Count the staged transactions not counted from another file, and replace the file's rows; the tables changed."""
    execute = db.conn.execute
    # The nth of identical transactions in a file is the nth: its fingerprint says so.
    execute(
        "create temp table spend_counted as select *, "
        "base_fingerprint || '-' || row_number() over (partition by base_fingerprint order by line) as fingerprint, "
        "case when refund then -abs(cents) else cents * ? end as amount_cents from temp.spend_staged",
        [reader.charge_sign()],
    )
    for file, count in execute(
        "select stored.source_file, count(*) from temp.spend_counted as counted "
        "join spend_fingerprints as stored on stored.fingerprint = counted.fingerprint "
        "where stored.source_sha256 <> ? group by stored.source_file order by stored.source_file", [sha256]
    ).fetchall():
        result.leave_out(ALREADY_COUNTED, file, count=count)
    execute("delete from temp.spend_counted where fingerprint in "
            "(select fingerprint from spend_fingerprints where source_sha256 <> ?)", [sha256])
    result.tally(execute("select tool, currency, count(*), sum(amount_cents), sum(amount_cents < 0), min(period), "
                         "max(period) from temp.spend_counted group by tool, currency order by tool, currency").fetchall(),
                 reader.matcher.tool_name)
    result.created["unreviewed tools"] = reader.matcher.write_new_tools(db, ingest_id)
    teams = {team for (team,) in execute("select distinct team from temp.spend_counted")}
    reader.people.create_teams(db, ingest_id, teams)
    result.created["teams"] = reader.people.created_teams
    with counted_changes(db, "spend") as counts:
        _write_rows(db, sha256, result.file, ingest_id, counts)
    result.inserted, result.updated = counts.inserted, counts.updated
    result.removed = execute(
        "delete from spend where source_sha256 = ? and (tool, team, period, currency) not in "
        "(select tool, team, period, currency from temp.spend_rows)", [sha256]
    ).rowcount
    execute("delete from spend_fingerprints where source_sha256 = ? and fingerprint not in "
            "(select fingerprint from temp.spend_counted)", [sha256])
    execute("insert into spend_fingerprints (fingerprint, source_sha256, source_file, ingest_id) "
            "select fingerprint, ?, ?, ? from temp.spend_counted where true on conflict (fingerprint) do nothing",
            [sha256, result.file, ingest_id])
    return {"spend", "tools", "tool_capabilities"} if result.created["unreviewed tools"] else {"spend"}


def _write_rows(db: sqlite_utils.Database, sha256: str, file: str, ingest_id: int, counts: ChangeCounts) -> None:
    """Write the file's rows to ``spend`` (``temp.spend_rows``), leaving alone those that did not change."""
    execute = db.conn.execute
    execute(
        """
        create temp table spend_rows as
        select tool, team, period, currency, sum(amount_cents) / 100.0 as amount, count(*) as transactions,
               sum(amount_cents < 0) as refunds,
               (select json_group_array(merchant) from (
                  select distinct merchant from temp.spend_counted as each_one
                  where each_one.tool = counted.tool and each_one.team = counted.team
                    and each_one.period = counted.period and each_one.currency = counted.currency
                  order by merchant limit 3)) as merchants
        from temp.spend_counted as counted
        group by tool, team, period, currency
        """
    )
    counts.add(execute(
        """
        insert into spend (tool, team, period, currency, source_sha256, source_file, amount, transactions, refunds,
                           merchants, ingest_id)
        select tool, team, period, currency, ?, ?, amount, transactions, refunds, merchants, ?
        from temp.spend_rows where true
        on conflict (tool, team, period, currency, source_sha256) do update set
          source_file = excluded.source_file, amount = excluded.amount, transactions = excluded.transactions,
          refunds = excluded.refunds, merchants = excluded.merchants, ingest_id = excluded.ingest_id
        where source_file is not excluded.source_file or amount is not excluded.amount
           or transactions is not excluded.transactions or refunds is not excluded.refunds
           or merchants is not excluded.merchants
        """,
        [sha256, file, ingest_id],
    ))


def _drop_temporary_tables(db: sqlite_utils.Database) -> None:
    for table in ("spend_staged", "spend_counted", "spend_rows"):
        db.execute(f"drop table if exists temp.{table}")
