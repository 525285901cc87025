"""stack-tracker import-spend: card and expense exports become spend per tool, team and month.

The exports in tests/fixtures/spend/ are written by hand from each product's
documented columns (see stack_tracker/inputs/spend_formats.py) and tell one
story about March and April 2024 at example.com; tests/spend_org.py has the
organisation they are imported into. Every figure below is worked out by hand
from the fixture's lines.
"""

from __future__ import annotations

import csv
import io
import sqlite3
from contextlib import closing

import pytest
import sqlite_utils
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import content_hash, rows, run, write
from stack_tracker.cli import cli
from spend_org import CARD_HOLDERS, DIRECTORY, SPEND, build_spend_org, import_spend
from stack_tracker.inputs.spend_formats import FORMATS, detect_format, signed_amount


@pytest.fixture(autouse=True)
def secret(monkeypatch):
    monkeypatch.setenv("STACK_TRACKER_SECRET", "spend-tests-secret-0123456789")


@pytest.fixture
def spend_db(db_path, tmp_path):
    return build_spend_org(db_path, tmp_path)


def spend_rows(db_path, file=None):
    where = "where source_file = ?" if file else ""
    return [tuple(row.values()) for row in rows(
        db_path, f"select tool, team, period, currency, amount, transactions, refunds from spend {where} "
                 "order by period, tool, team, currency", [file] if file else [])]


# -- Each export, detected and read --------------------------------------------

# (fixture, options, format detected, spend rows: tool, team, month, currency, amount, transactions, refunds)
EXPORTS = [
    # American Express: charges positive, credits negative; dates MM/DD/YYYY.
    ("amex-2024-03.csv", ("--date-format", "mdy"), "American Express", [
        # 59.99 on 03/04, less the 20.00 credit on 03/15 (a negative amount): 39.99, two transactions, one refund.
        ("adobe-creative-cloud", "demand-gen", "2024-03", "USD", 39.99, 2, 1),
        # SAM CONTRACTOR is not in the directory.
        ("canva", "unassigned", "2024-03", "USD", 12.99, 1, 0),
        # "HUBSPOT INC         CAMBRIDGE           MA": the fixed-width city and state are not the name.
        ("hubspot-marketing-hub", "marketing", "2024-03", "USD", 800.0, 1, 0),
        # NOTION LABS INC: Notion, a catalog product the inventory lacks: a new unreviewed tool.
        ("notion", "design", "2024-03", "USD", 96.0, 1, 0),
        # Left out: DELTA AIR LINES and STARBUCKS (not software), AMZN Mktp (a marketplace).
    ]),
    # Brex: a Refunded status is a refund, a Declined one is left out.
    ("brex-2024-03.csv", (), "Brex", [
        # ACME ANALYTICS is in no catalog, but Brex's category says Software.
        ("acme-analytics", "demand-gen", "2024-03", "USD", 45.0, 1, 0),
        ("canva", "demand-gen", "2024-03", "USD", 12.99, 1, 0),
        ("figma", "design", "2024-03", "EUR", 120.0, 1, 0),
        # A currency with no rate is still stored as it was paid.
        ("hotjar", "design", "2024-03", "GBP", 80.0, 1, 0),
        # PAYPAL *ZOOM.US: 30.00 settled, the 30.00 declined left out, 10.00 refunded: 30 - 10 = 20.
        ("zoom-workplace", "marketing", "2024-03", "USD", 20.0, 2, 1),
    ]),
    # Ramp's template: transaction_time, amount, user, merchant_name; users by email.
    ("ramp-2024-04.csv", (), "Ramp", [
        ("adobe-creative-cloud", "demand-gen", "2024-04", "USD", 59.99, 1, 0),
        # 12.99 and its refund, -12.99: nothing, in two transactions.
        ("canva", "unassigned", "2024-04", "USD", 0.0, 2, 1),
        ("hubspot-marketing-hub", "marketing", "2024-04", "USD", 800.0, 1, 0),
    ]),
    # Expensify's download: From is the submitter; a credit is negative.
    ("expensify-2024-04.csv", (), "Expensify", [
        ("canva", "design", "2024-04", "USD", 119.99, 1, 0),
        ("figma", "design", "2024-04", "EUR", -15.0, 1, 1),
        # Starbucks and Uber are not software.
    ]),
    # QuickBooks' three columns: money out is negative; no card holder, so team unassigned.
    ("quickbooks-bank-feed.csv", ("--date-format", "mdy"), "QuickBooks bank feed", [
        # GOOGLE *GSUITE_example.com: Google Workspace, from the catalog (G Suite).
        ("google-workspace", "unassigned", "2024-03", "USD", 72.0, 1, 0),
        # CHECKCARD 0328 HUBSPOT INC 888-4827768 MA: the bank's prefix, the phone and the state are noise.
        ("hubspot-marketing-hub", "unassigned", "2024-03", "USD", 800.0, 1, 0),
        # CUSTOMER PAYMENT ACME CORP (+5,000.00, a deposit) is not software.
    ]),
    # Any CSV: most amounts are negative, so charges are negative and the +20.00 Return a refund.
    ("bank-card-2024-04.csv", (), "CSV", [
        # -87.50 charged, +20.00 returned: 67.50.
        ("slack", "unassigned", "2024-04", "USD", 67.5, 2, 1),
    ]),
]


@pytest.mark.parametrize("fixture, options, title, expected", EXPORTS, ids=[export[0] for export in EXPORTS])
def test_each_export_is_detected_and_read(spend_db, fixture, options, title, expected):
    result = import_spend(spend_db, fixture, extra=options)
    assert f"{fixture} ({title}):" in result.output
    assert spend_rows(spend_db) == expected
    [ingest] = rows(spend_db, "select kind, file, status from ingests where kind = 'spend'")
    assert ingest == {"kind": "spend", "file": fixture, "status": "ok"}


def test_formats_are_told_from_the_headers():
    assert detect_format(["Transaction ID", "Amount", "Currency", "Date", "Merchant name", "Status", "Card holder",
                          "Department", "Category"]).name == "brex"
    assert detect_format(["transaction_time", "amount", "user", "merchant_name"]).name == "ramp"
    assert detect_format(["Date", "Description", "Card Member", "Account #", "Amount"]).name == "amex"
    assert detect_format(["Date", "Merchant", "Description", "From", "To", "Category", "Tag", "Tax", "Amount",
                          "Currency", "Type", "Receipt URL"]).name == "expensify"
    assert detect_format(["Date", "Description", "Amount"]).name == "quickbooks"
    # A fourth column makes it some other bank's export: read as any CSV.
    assert detect_format(["Date", "Description", "Amount", "Balance"]).name == "csv"
    assert set(FORMATS) == {"amex", "ramp", "brex", "expensify", "quickbooks", "csv"}


@pytest.mark.parametrize("text, expected", [
    ("12.50", (1250, None)), ("-12.50", (-1250, None)), ("$-12.50", (-1250, "USD")), ("-$1,200.00", (-120000, "USD")),
    ("(12.50)", (-1250, None)), ("12.50-", (-1250, None)), ("12.50 CR", (-1250, None)), ("1.200,50 €", (120050, "EUR")),
    ("+0.29", (29, None)),
])
def test_amounts_keep_their_sign(text, expected):
    assert signed_amount(text) == expected


def test_the_format_can_be_given_and_a_wrong_one_is_explained(spend_db):
    import_spend(spend_db, "brex-2024-03.csv", extra=("--format", "brex"))
    assert len(spend_rows(spend_db)) == 5
    result = import_spend(spend_db, "brex-2024-03.csv", extra=("--format", "quickbooks"), exit_code=1)
    # A bank feed names what was paid in its Description, which Brex's export does not have.
    assert ("brex-2024-03.csv:1: merchant or description: (empty): required column not found for a QuickBooks bank "
            "feed export (accepted headers: description)") in result.output


# -- Refunds, declines, what is not software -----------------------------------

def test_what_is_left_out_is_counted_and_said(spend_db):
    result = import_spend(spend_db, "amex-2024-03.csv", "brex-2024-03.csv", extra=("--date-format", "mdy"))
    assert result.output.splitlines() == [
        # 8 lines: Adobe twice (one a credit), HubSpot, Canva and Notion counted; Delta, Starbucks, Amazon left out.
        "amex-2024-03.csv (American Express): 8 transactions; counted 5 on 4 tools, 2024-03; wrote 4 spend rows "
        "(4 new, 0 updated)",
        "  Adobe Creative Cloud: 2 transactions, 39.99 USD, 1 refund",
        "  Canva: 1 transaction, 12.99 USD",
        "  HubSpot Marketing Hub: 1 transaction, 800.00 USD",
        "  Notion: 1 transaction, 96.00 USD (new, unreviewed: a product of the catalog)",
        "  left out, not software: 2 transactions, e.g. DELTA AIR LINES, STARBUCKS STORE",
        "  left out, a marketplace or app store, naming no product: 1 transaction, e.g. AMZN MKTP US",
        "  1 person not in the directory counted in team unassigned",
        "  created 1 unreviewed tool",
        # 8 lines: one declined, one Uber ride; six counted, two of them Zoom (a payment and its refund).
        "brex-2024-03.csv (Brex): 8 transactions; counted 6 on 5 tools, 2024-03; wrote 5 spend rows (5 new, 0 updated)",
        "  Acme Analytics: 1 transaction, 45.00 USD (new, unreviewed: the export's category says software)",
        "  Canva: 1 transaction, 12.99 USD",
        "  Figma: 1 transaction, 120.00 EUR (new, unreviewed: a product of the catalog)",
        "  Hotjar: 1 transaction, 80.00 GBP (new, unreviewed: a product of the catalog)",
        "  Zoom Workplace: 2 transactions, 20.00 USD, 1 refund",
        "  left out, declined or failed: 1 transaction",
        "  left out, not software: 1 transaction, e.g. UBER TRIP",
        "  created 3 unreviewed tools",
    ]
    assert rows(spend_db, "select slug, status, vendor from tools where status = 'unreviewed' order by slug") == [
        {"slug": "acme-analytics", "status": "unreviewed", "vendor": None},
        {"slug": "figma", "status": "unreviewed", "vendor": "Figma"},
        {"slug": "hotjar", "status": "unreviewed", "vendor": "Contentsquare"},
        {"slug": "notion", "status": "unreviewed", "vendor": "Notion"},
    ]
    # The catalog's capabilities come with them, marked as its guess.
    assert rows(spend_db, "select capability, source from tool_capabilities where tool = 'notion'") == [
        {"capability": "collaboration", "source": "catalog"}]


def test_software_the_inventory_lacks_is_only_listed_without_allow_new(spend_db):
    before = rows(spend_db, "select slug from tools order by slug")
    result = import_spend(spend_db, "brex-2024-03.csv", extra=("--no-allow-new",))
    # In the order the file names them.
    assert ("  left out, software not in the inventory (--no-allow-new): 3 transactions, e.g. FIGMA, ACME ANALYTICS, "
            "HOTJAR") in result.output
    assert rows(spend_db, "select slug from tools order by slug") == before
    assert {row[0] for row in spend_rows(spend_db)} == {"canva", "zoom-workplace"}


def test_a_file_of_which_nothing_is_counted_says_why(spend_db, tmp_path):
    travel = write(tmp_path / "travel.csv", "Date,Merchant,Amount\n2024-03-01,DELTA AIR LINES,412.30\n"
                                            "2024-03-02,MARRIOTT HOTELS,220.00\n")
    result = import_spend(spend_db, travel, directory=False)
    assert ("warning: travel.csv: no transaction was counted: all 2 were left out, all of them as not software: none "
            "of its merchants is a tool of the inventory or the catalog") in result.output
    result = import_spend(spend_db, "brex-2024-03.csv", extra=("--since", "2024-04-01"))
    # The declined one is left out as declined: its day is not looked at.
    assert "all 8 were left out, 7 of them as outside --since/--until: check --since and --until" in result.output


def test_since_and_until_limit_the_days_counted(spend_db):
    result = import_spend(spend_db, "brex-2024-03.csv", extra=("--since", "2024-03-10", "--until", "2024-03-12"))
    # 03-10 Figma, 03-11 Acme, 03-12 Canva; the 03-09 decline is left out as declined before its day is looked at.
    assert [row[0] for row in spend_rows(spend_db)] == ["acme-analytics", "canva", "figma"]
    assert "left out, outside --since/--until: 4 transactions" in result.output
    run("import-spend", spend_db, SPEND / "brex-2024-03.csv", "--since", "2024-03-20", "--until", "2024-03-01",
        exit_code=1)


# -- One file, one transaction; re-imports and overlaps --------------------------

def test_importing_the_same_file_again_changes_nothing(spend_db):
    import_spend(spend_db, "amex-2024-03.csv", "brex-2024-03.csv", extra=("--date-format", "mdy"))
    before = content_hash(spend_db, exclude=("ingests",))
    result = import_spend(spend_db, "brex-2024-03.csv")
    assert "wrote 0 spend rows (0 new, 0 updated)" in result.output
    # Counted as before, not as already counted: a file is its own.
    assert "already counted" not in result.output
    assert content_hash(spend_db, exclude=("ingests",)) == before


def test_overlapping_exports_count_each_transaction_once(spend_db):
    import_spend(spend_db, "ramp-2024-04.csv")
    # The later export repeats 04-03 (Adobe) and 04-05 (Canva), and adds Raj's Canva on 04-12.
    result = import_spend(spend_db, "ramp-2024-04-later.csv")
    assert "left out, already counted from another file: 2 transactions, e.g. ramp-2024-04.csv" in result.output
    assert spend_rows(spend_db) == [
        ("adobe-creative-cloud", "demand-gen", "2024-04", "USD", 59.99, 1, 0),
        ("canva", "marketing", "2024-04", "USD", 12.99, 1, 0),
        ("canva", "unassigned", "2024-04", "USD", 0.0, 2, 1),
        ("hubspot-marketing-hub", "marketing", "2024-04", "USD", 800.0, 1, 0),
    ]
    # Each transaction counted once: 4 from the first file, 1 from the second.
    assert rows(spend_db, "select source_file, count(*) as n from spend_fingerprints group by source_file "
                          "order by source_file") == [{"source_file": "ramp-2024-04-later.csv", "n": 1},
                                                      {"source_file": "ramp-2024-04.csv", "n": 4}]
    # Either order gives the same April.
    totals = rows(spend_db, "select tool, sum(amount) as amount from spend group by tool order by tool")
    run("init", spend_db.with_name("other.db"), "--silent")
    other = build_spend_org(spend_db.with_name("other.db"), spend_db.parent)
    import_spend(other, "ramp-2024-04-later.csv")
    import_spend(other, "ramp-2024-04.csv")
    assert rows(other, "select tool, sum(amount) as amount from spend group by tool order by tool") == totals


def test_two_identical_transactions_in_one_file_are_two(spend_db, tmp_path):
    twice = write(tmp_path / "twice.csv", "Date,Merchant,Amount,Card holder\n2024-03-01,SQ *CANVA,12.99,Jane Doe\n"
                                          "2024-03-01,SQ *CANVA,12.99,Jane Doe\n")
    once = write(tmp_path / "once.csv", "Date,Merchant,Amount,Card holder\n2024-03-01,SQ *CANVA,12.99,Jane Doe\n")
    import_spend(spend_db, twice)
    # The other export holds the first of the two: nothing new.
    assert "already counted from another file: 1 transaction, e.g. twice.csv" in import_spend(spend_db, once).output
    assert spend_rows(spend_db) == [("canva", "demand-gen", "2024-03", "USD", 25.98, 2, 0)]


def test_a_file_is_known_by_its_content_not_its_name(spend_db, tmp_path):
    # Amex downloads are all called activity.csv: two cards' exports are two files.
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    first = write(tmp_path / "one" / "activity.csv", "Date,Description,Card Member,Amount\n03/13/2024,SQ *CANVA,"
                                                     "JANE DOE,12.99\n")
    second = write(tmp_path / "two" / "activity.csv", "Date,Description,Card Member,Amount\n03/14/2024,HUBSPOT INC,"
                                                      "RAJ PATEL,800.00\n")
    import_spend(spend_db, first)
    import_spend(spend_db, second)
    assert [row[0] for row in spend_rows(spend_db)] == ["canva", "hubspot-marketing-hub"]


# -- Bad files, and people ------------------------------------------------------

def test_a_bad_file_lists_every_problem_and_changes_nothing(spend_db, tmp_path):
    before = content_hash(spend_db, exclude=("ingests",))
    result = import_spend(spend_db, "amex-2024-03.csv", exit_code=1)
    # Five of the eight dates read either way round (03/04 … 03/12); 03/15, 03/20 and 03/25 do not.
    assert result.output.startswith("Error: amex-2024-03.csv was not loaded: 5 problems\n")
    assert ('amex-2024-03.csv:2: Date: "03/04/2024": is ambiguous: month/day or day/month? Pass --date-format mdy '
            "or --date-format dmy") in result.output
    assert "Traceback" not in result.output
    bad = write(tmp_path / "bad.csv", "Date,Merchant,Amount,Currency\n2024-03-01,SQ *CANVA,twelve,USD\n"
                                      "2024-02-30,HUBSPOT INC,800,USD\n2024-03-02,,5,USD\n2024-03-03,FIGMA,10,dollars\n")
    result = import_spend(spend_db, bad, exit_code=1)
    assert result.output.splitlines()[1:] == [
        'bad.csv:2: Amount: "twelve": expected an amount such as 12.50, -12.50, $1,200.00 or (12.50)',
        'bad.csv:3: Date: "2024-02-30": is not a date on the calendar',
        "bad.csv:4: Merchant: (empty): a merchant or description is required",
        'bad.csv:5: Currency: "dollars": expected a three-letter currency code such as USD or EUR',
    ]
    assert content_hash(spend_db, exclude=("ingests",)) == before
    assert rows(spend_db, "select file, status from ingests where kind = 'spend' order by id") == [
        {"file": "amex-2024-03.csv", "status": "failed"}, {"file": "bad.csv", "status": "failed"}]
    result = import_spend(spend_db, write(tmp_path / "odd.csv", "When,What\n2024-03-01,x\n"), exit_code=1)
    assert "odd.csv:1: date: (empty): required column not found for a CSV export (accepted headers: date" in result.output
    assert "or give --format (amex, ramp, brex, expensify, quickbooks, csv)" in result.output


def test_card_holders_map_to_teams_and_are_never_stored(spend_db):
    import_spend(spend_db, "amex-2024-03.csv", "quickbooks-bank-feed.csv", extra=("--date-format", "mdy"))
    import_spend(spend_db, "brex-2024-03.csv", "ramp-2024-04.csv", "ramp-2024-04-later.csv", "expensify-2024-04.csv")
    # JANE DOE (Amex, by name), jane.doe@example.com (Ramp, by email): both Demand Gen.
    assert {row[1] for row in spend_rows(spend_db) if row[0] == "adobe-creative-cloud"} == {"demand-gen"}
    db = sqlite_utils.Database(spend_db)
    found = []
    for table in db.table_names():
        for row in db.execute(f"select * from [{table}]"):
            text = " ".join(str(value) for value in row).casefold()
            found += [(table, holder) for holder in CARD_HOLDERS if holder in text]
    db.close()
    assert found == []


def test_without_a_directory_everyone_is_unassigned(spend_db):
    result = import_spend(spend_db, "brex-2024-03.csv", directory=False)
    assert "  no --directory: all spend is counted in team unassigned" in result.output
    assert {row[1] for row in spend_rows(spend_db)} == {"unassigned"}
    assert rows(spend_db, "select name from teams where slug = 'unassigned'") == [{"name": "Unassigned"}]


def test_xlsx_exports_are_read_too(spend_db, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Transaction ID", "Amount", "Currency", "Date", "Merchant name", "Status", "Card holder"])
    sheet.append(["tx_1", 30, "USD", "2024-03-02", "PAYPAL *ZOOM.US", "Settled", "Raj Patel"])
    workbook.save(tmp_path / "brex.xlsx")
    import_spend(spend_db, tmp_path / "brex.xlsx")
    assert spend_rows(spend_db) == [("zoom-workplace", "marketing", "2024-03", "USD", 30.0, 1, 0)]
    assert DIRECTORY.is_file()


# -- Whatever an export holds: success or a message, never a traceback ----------

ODD = ["", " ", "12.50", "-12.50", "(3.00)", "1e400", "99999999999999999999", "NaN", "€1.000,50", "USD", "dollars",
       "2024-03-01", "03/04/2024", "31/02/2024", "2024-03-01T23:59:59Z", "Mar 4, 2024 11:30 PM", "declined",
       "Refunded", "SQ *CANVA", "PAYPAL *", "*", "**", "AMZN Mktp US*", "HUBSPOT INC", "Software", "jane.doe@example.com",
       "\u00a0", "\u200b", '"', "😀", "a" * 200, "=1+2"]


@st.composite
def export(draw):
    """A table with some of a product's headers (or any) and rows of odd values."""
    headers = draw(st.sampled_from([
        ["Date", "Merchant", "Amount"], ["Date", "Description", "Amount"],
        ["Transaction ID", "Amount", "Currency", "Date", "Merchant name", "Status", "Card holder", "Category"],
        ["transaction_time", "amount", "user", "merchant_name"], ["Date", "Description", "Card Member", "Amount"],
        ["Date", "Merchant", "Description", "From", "Category", "Tag", "Amount", "Currency"],
    ]))
    cell = st.one_of(st.sampled_from(ODD), st.text(max_size=12))
    rows = draw(st.lists(st.lists(cell, min_size=len(headers), max_size=len(headers)), max_size=5))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8", "surrogatepass")


@settings(derandomize=True, database=None, deadline=None, max_examples=150,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(content=export(), allow_new=st.booleans())
def test_any_export_ends_in_success_or_a_message(spend_db, tmp_path, content, allow_new):
    path = tmp_path / "export.csv"
    path.write_bytes(content)
    before = content_hash(spend_db, exclude=("ingests",))
    result = CliRunner().invoke(cli, ["import-spend", str(spend_db), str(path), "--directory", str(DIRECTORY)]
                                + ([] if allow_new else ["--no-allow-new"]))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code in (0, 1), result.output
    if result.exit_code == 1:
        assert result.output.startswith("Error: "), result.output
        assert content_hash(spend_db, exclude=("ingests",)) == before
    with closing(sqlite3.connect(spend_db)) as conn:
        assert conn.execute("pragma foreign_key_check").fetchall() == []
        assert "running" not in {status for (status,) in conn.execute("select status from ingests")}
