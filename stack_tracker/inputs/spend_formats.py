"""The card and expense exports `import-spend` reads, as data: each product's columns, and what its amounts mean.

A format is told by its headers (`detect_format`): the first of `FORMATS`
whose signature the file's headers have, ``csv`` (any table with a date, an
amount and a merchant or description) when none fits. Each format says which
of its headers feed which field (`SpendFormat.columns`) and which way round
its amounts run (`SpendFormat.charges`), from the product's own documentation:

- **Ramp**: the columns of Ramp's card-transaction template (``transaction_time,
  amount, user, merchant_name``, support.ramp.com "Migrate your card vendors"),
  and the Developer API's transaction fields (``user_transaction_time``,
  ``currency_code``, ``state``: CLEARED, PENDING, DECLINED, ERROR). A charge is
  positive; Ramp's exports show a refund as a negative amount.
- **Brex**: ``Transaction ID, Amount, Currency, Date, Merchant name, Status,
  Card holder, Department, Category``. A refund comes back as a credit (Brex
  support, "How do refunds work?"): a negative amount.
- **Expensify**: the expense download (``Date, Merchant, Description, From,
  To, Category, Tag, Tax, Amount, Currency, Type, Receipt URL``; Expensify
  help, "Search and download expenses"; ``From`` is the submitter) and the
  classic one (``Timestamp, Merchant, Amount, Category, Tag, Comment``). An
  expense is positive, a credit negative.
- **American Express**: ``Date, Description, Card Member, Account #, Amount``
  and, with extended details, ``Appears On Your Statement As``, ``Reference``,
  ``Category``. Charges are positive, credits and payments negative.
- **QuickBooks** bank feed: exactly ``Date, Description, Amount`` (QuickBooks
  Online's three-column upload). A bank's view: money out is negative, a
  deposit (a refund among them) positive.
- **csv**: anything else with a date, an amount and a merchant or description.
  Whichever sign most of its amounts carry is taken for a charge: card and
  expense exports are mostly charges, whichever way round they write them.

Exports without a currency column are read in the database's base currency,
unless an amount names its own (``€12.00``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .. import normalise as n
from .kinds import find_columns, header_key

#: The fields a transaction has; a format maps its headers to them.
FIELDS = ("date", "amount", "currency", "merchant", "description", "category", "card_holder", "status", "transaction_id")

#: Which way an export writes a charge (and so a refund or credit the other way).
POSITIVE, NEGATIVE, MOST = "positive", "negative", "most"


@dataclass(frozen=True)
class SpendFormat:
    """One product's export: how to tell it, which headers feed which field, and what its amounts mean."""

    name: str
    title: str
    #: field -> the headers that may hold it, best first (compared as `kinds.header_key` compares headers)
    columns: dict[str, tuple[str, ...]]
    #: Sets of headers any one of which, all present, marks a file as this format (none: the fallback)
    signatures: tuple[tuple[str, ...], ...] = ()
    #: Only a file with exactly these headers and no others is this format (QuickBooks' three columns)
    exact: bool = False
    charges: str = POSITIVE
    how_to_export: str = ""


_CSV_COLUMNS = {
    "date": ("date", "transaction date", "posted date", "posting date", "purchase date", "transaction time",
             "timestamp", "day", "booking date"),
    "amount": ("amount", "transaction amount", "charge amount", "billing amount", "total", "amount (usd)",
               "amount (eur)", "amount (gbp)", "value"),
    "currency": ("currency", "currency code", "ccy", "transaction currency"),
    "merchant": ("merchant", "merchant name", "vendor", "vendor name", "payee", "supplier", "paid to", "store"),
    "description": ("description", "memo", "details", "narrative", "transaction description", "statement description"),
    "category": ("category", "expense category", "merchant category", "spend category", "expense type"),
    "card_holder": ("card holder", "cardholder", "card member", "cardmember", "employee", "spender", "user",
                    "email", "submitted by", "submitter", "from"),
    "status": ("status", "state", "transaction status"),
}

FORMATS: dict[str, SpendFormat] = {
    spend_format.name: spend_format
    for spend_format in (
        SpendFormat(
            name="amex",
            title="American Express",
            columns={
                "date": ("date",),
                "amount": ("amount",),
                "merchant": ("description", "appears on your statement as"),
                "description": ("extended details",),
                "category": ("category",),
                "card_holder": ("card member", "cardmember"),
                "transaction_id": ("reference",),
            },
            signatures=(("card member",), ("appears on your statement as",), ("extended details",)),
            how_to_export="americanexpress.com: Statements & Activity, choose the period, Download, CSV, with "
                          "\"Include all additional transaction details\" ticked.",
        ),
        SpendFormat(
            name="ramp",
            title="Ramp",
            columns={
                "date": ("transaction_time", "user_transaction_time", "transaction date", "date"),
                "amount": ("amount",),
                "currency": ("currency_code", "currency"),
                "merchant": ("merchant_name", "merchant", "merchant_descriptor"),
                "category": ("sk_category_name", "category"),
                "card_holder": ("user", "card_holder", "cardholder", "user email"),
                "status": ("state", "status"),
                "transaction_id": ("id", "transaction_id"),
            },
            signatures=(("transaction_time", "merchant_name"), ("user_transaction_time", "merchant_name")),
            how_to_export="Ramp: Transactions, filter the period, Export, CSV (keep transaction_time, amount, user "
                          "and merchant_name).",
        ),
        SpendFormat(
            name="brex",
            title="Brex",
            columns={
                "date": ("date", "posted date", "transaction date"),
                "amount": ("amount",),
                "currency": ("currency",),
                "merchant": ("merchant name", "merchant"),
                "category": ("category",),
                "card_holder": ("card holder", "cardholder", "user"),
                "status": ("status",),
                "transaction_id": ("transaction id", "id"),
            },
            signatures=(("transaction id", "merchant name", "card holder"),),
            how_to_export="Brex: Expenses (or Card, Transactions), filter the period, Export, CSV.",
        ),
        SpendFormat(
            name="expensify",
            title="Expensify",
            columns={
                "date": ("date", "timestamp"),
                "amount": ("amount",),
                "currency": ("currency",),
                "merchant": ("merchant",),
                "description": ("description", "comment"),
                "category": ("category",),
                "card_holder": ("from", "submitter", "email", "employee"),
            },
            signatures=(("merchant", "tag"),),
            how_to_export="Expensify: Search, Expenses, filter the period, select all, Download (a CSV).",
        ),
        SpendFormat(
            name="quickbooks",
            title="QuickBooks bank feed",
            columns={"date": ("date",), "amount": ("amount",), "description": ("description",)},
            signatures=(("date", "description", "amount"),),
            exact=True,
            charges=NEGATIVE,
            how_to_export="QuickBooks Online: the three-column bank-transactions file (Date, Description, Amount), "
                          "as a bank's download or Banking, Upload transactions expects it.",
        ),
        SpendFormat(
            name="csv",
            title="CSV",
            columns=_CSV_COLUMNS,
            charges=MOST,
            how_to_export="Any table (CSV, TSV, .xlsx) with a date, an amount and a merchant or description.",
        ),
    )
}

#: What ``--format`` accepts.
FORMAT_CHOICES = ("auto", *FORMATS)

#: What a transaction's status means: left out, or a refund; any other word (cleared, pending, posted …) a charge.
LEFT_OUT, REFUND = "left out", "refund"
STATUS_MEANING = {
    **dict.fromkeys(("declined", "denied", "failed", "failure", "error", "void", "voided", "cancelled", "canceled",
                     "reversed", "expired", "blocked", "rejected"), LEFT_OUT),
    **dict.fromkeys(("refunded", "refund", "credit", "credited", "returned", "return"), REFUND),
}

#: The categories, as exports word them, of what is software: "Software", "SaaS", "Subscriptions", "Computer Software" …
SOFTWARE_CATEGORY = re.compile(r"\b(software|saas|subscriptions?|cloud\s+services)\b", re.IGNORECASE)


def detect_format(headers: list[str]) -> SpendFormat:
    """The export a file's headers come from: the first format whose signature they have, else ``csv``."""
    keys = {header_key(header) for header in headers if header.strip()}
    for spend_format in FORMATS.values():
        for signature in spend_format.signatures:
            wanted = {header_key(header) for header in signature}
            if (keys == wanted) if spend_format.exact else wanted <= keys:
                return spend_format
    return FORMATS["csv"]


def format_columns(spend_format: SpendFormat, headers: list[str]) -> tuple[dict[str, str], list[str]]:
    """field -> the file's header for it, and what is missing: a description of each required field the file lacks."""
    columns = find_columns(headers, spend_format.columns)
    missing = []
    for field in ("date", "amount"):
        if field not in columns:
            missing.append(f"{field} (accepted headers: {', '.join(spend_format.columns[field])})")
    if "merchant" not in columns and "description" not in columns:
        accepted = spend_format.columns.get("merchant", ()) + spend_format.columns.get("description", ())
        missing.append(f"merchant or description (accepted headers: {', '.join(accepted)})")
    return columns, missing


#: The most a single card or expense transaction is taken to be: past it, a value is a typo or a stray number.
LARGEST_AMOUNT = 10**12
_MINUS = re.compile(r"^(?P<before>[^\d]*?)\s*[-\u2212]\s*(?P<after>.*\d.*)$")


def signed_amount(text: str) -> tuple[int, str | None]:
    """An amount as the export writes it, in hundredths, with its sign, and the currency it names if any.

    ``-12.50``, ``$-12.50``, ``-$12.50``, ``(12.50)``, ``12.50-`` and ``12.50 CR``
    are all minus 1250; the number itself is read as `normalise.parse_money`
    reads money (thousands separators, a decimal comma, a symbol or code).
    """
    value = " ".join(text.split())
    negative = False
    if value.startswith("(") and value.endswith(")"):
        negative, value = True, value[1:-1].strip()
    elif re.search(r"\s?CR$", value, re.IGNORECASE) and re.search(r"\d", value):
        negative, value = True, re.sub(r"\s?CR$", "", value, flags=re.IGNORECASE)
    elif value.endswith(("-", "\u2212")):
        negative, value = True, value[:-1].strip()
    elif minus := _MINUS.match(value):
        negative, value = True, f"{minus['before']}{minus['after']}".strip()
    if value.startswith("+"):
        value = value[1:].strip()
    try:
        amount, currency = n.parse_money(value)
    except n.BadValue:
        raise n.BadValue("expected an amount such as 12.50, -12.50, $1,200.00 or (12.50)") from None
    if abs(amount) >= LARGEST_AMOUNT:
        raise n.BadValue("is too large for one card or expense transaction")
    cents = round(amount * 100)
    return (-cents if negative else cents), currency


_TIME_AFTER_DAY = re.compile(
    r"^(?P<day>.*?\d)(?:[T\s,]+)\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:[ap]\.?m\.?)?\s*"
    r"(?:z|utc|gmt|[+-]\d{1,2}(?::?\d{2})?)?$",
    re.IGNORECASE,
)


def transaction_day(text: str, date_format: str | None) -> str:
    """The day of a transaction as the export writes it (``YYYY-MM-DD``), a time after it ignored.

    The day is the one on the statement: a time zone does not move it, as the
    card network's posting day is the day finance reconciles.
    """
    value = text.strip()
    try:
        return n.parse_as_of(value, date_format)
    except n.BadValue as error:
        timed = _TIME_AFTER_DAY.match(value)
        if "ambiguous" in str(error) or not timed:
            raise
        return n.parse_as_of(timed["day"].strip(" ,T"), date_format)


def status_meaning(status: str) -> str | None:
    """`LEFT_OUT`, `REFUND`, or None (a charge) for a status as an export writes it."""
    return STATUS_MEANING.get(" ".join(status.split()).casefold()) if status else None


def is_software_category(category: str | None) -> bool:
    """Whether an export's own category says the transaction is software."""
    return bool(category) and SOFTWARE_CATEGORY.search(category) is not None
