"""Turn the values people type into spreadsheets into clean, typed values.

Every parser takes the raw text (already stripped, never empty) and returns the
normalised value, or raises `BadValue` with what was expected, in words a person
can act on.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from decimal import Decimal, InvalidOperation


class BadValue(ValueError):
    """A value could not be normalised; the message says what was expected."""


def slugify(name: str) -> str:
    """The natural key for a display name: lower case, hyphenated, in the name's own script.

    Latin letters lose their accents, as people type them in addresses;
    letters of other scripts stay (NFKC-normalised and casefolded), so a name
    in Cyrillic or Chinese gets a slug a person can still read. A name with no
    letter or digit gets the empty slug, which callers refuse.

    >>> slugify("  HubSpot Marketing Hub ")
    'hubspot-marketing-hub'
    >>> slugify("Ads & Promotion")
    'ads-and-promotion'
    >>> slugify("Маркетинг"), slugify("市场部")
    ('маркетинг', '市场部')
    """
    text = unicodedata.normalize("NFKC", name).replace("&", " and ").replace("+", " plus ")
    spelled: list[str] = []
    for char in text:
        kept = _slug_char(char)
        # A mark (an accent, a vowel sign) belongs to the letter before it; alone it is punctuation.
        if kept and (unicodedata.category(kept[0])[0] != "M" or (spelled and spelled[-1] != "-")):
            spelled.append(kept)
        elif spelled and spelled[-1] != "-":
            spelled.append("-")
    # Casefolded, but a Greek word keeps its final sigma (lower() places it), as Greek is written.
    slug = "".join(char if char == "ς" else char.casefold() for char in "".join(spelled).lower())
    return unicodedata.normalize("NFKC", slug).strip("-")


def _slug_char(char: str) -> str:
    """One character as a slug spells it ("" for one it leaves out): an accented Latin letter as its ASCII letter."""
    if char.isascii():
        return char if char.isalnum() else ""
    category = unicodedata.category(char)[0]
    if category not in "LNM":
        return ""
    if category == "L":
        folded = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode("ascii")
        if folded.isalnum():
            return folded
    return char


def display_name(name: str) -> str:
    """A name as it is stored and shown: composed (NFC), so one name typed two ways is one name."""
    return unicodedata.normalize("NFC", name)


def lookup_key(name: str) -> str:
    """How spellings are compared: the same but for case, surrounding spaces and Unicode form."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", " ".join(name.split())).casefold())


#: The largest whole number SQLite stores (a signed 64-bit integer).
LARGEST_INT = 2**63 - 1
_THOUSANDS = re.compile(r"[+-]?[1-9]\d{0,2}(?:(?P<mark>[.,])\d{3})(?:(?P=mark)\d{3})*")


def parse_int(text: str, *, allow_negative: bool = False) -> int:
    """A whole number, with thousands separators allowed: ``1,200`` and ``1.200`` -> 1200."""
    try:
        number = int(text)
    except ValueError:
        number = _int_with_separators(text)
    if number < 0 and not allow_negative:
        raise BadValue("expected a number that is zero or more")
    if abs(number) > LARGEST_INT:
        raise BadValue("is too large: expected a count, at most 9,223,372,036,854,775,807")
    return number


def _int_with_separators(text: str) -> int:
    cleaned = text.replace("_", "").replace(" ", "").replace("'", "")
    # As in amounts of money, a mark followed by groups of three digits groups
    # thousands: "1.200" in a file saved with a European list separator is 1200.
    if _THOUSANDS.fullmatch(cleaned) and len(cleaned) < 40:
        return int(cleaned.replace(",", "").replace(".", ""))
    cleaned = cleaned.replace(",", "")
    try:
        return int(cleaned)
    except ValueError:
        try:
            as_float = float(cleaned)
        except ValueError:
            raise BadValue("expected a whole number") from None
        if not as_float.is_integer():
            raise BadValue("expected a whole number") from None
        return int(as_float)


CURRENCY_SYMBOLS = {"$": "USD", "US$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "C$": "CAD", "A$": "AUD", "CHF": "CHF"}
_MONEY = re.compile(
    r"^(?P<pre>[A-Z]{3}|US\$|C\$|A\$|[$€£¥])?\s*(?P<sign>-)?\s*(?P<num>[0-9][0-9.,\s']*?)\s*(?P<k>[kKmM])?\s*(?P<post>[A-Z]{3}|[$€£¥])?$"
)


def parse_money(text: str) -> tuple[float, str | None]:
    """An amount of money and its currency if the text names one.

    Accepts symbols and codes before or after the number, thousands separators
    (``,`` ``.`` space or apostrophe), a decimal comma, and ``k``/``m`` suffixes:
    ``$12,000.00`` -> (12000.0, 'USD'); ``1.200,50 €`` -> (1200.5, 'EUR').
    """
    match = _MONEY.match(text.strip().upper())
    if not match:
        raise BadValue("expected an amount of money such as 12000, $12,000.00 or EUR 9.500")
    if match["sign"]:
        raise BadValue("expected an amount that is zero or more")
    pre, post = match["pre"], match["post"]
    if pre and post:
        raise BadValue("expected one currency, found two")
    symbol = pre or post
    currency = CURRENCY_SYMBOLS.get(symbol, symbol) if symbol else None
    number = re.sub(r"[\s']", "", match["num"])
    decimal_mark = _decimal_mark(number)
    for mark in {",", "."} - {decimal_mark}:
        number = number.replace(mark, "")
    number = number.replace(",", ".")
    try:
        amount = Decimal(number)
    except InvalidOperation:
        raise BadValue("expected an amount of money such as 12000, $12,000.00 or EUR 9.500") from None
    if match["k"]:
        amount *= 1_000 if match["k"] == "K" else 1_000_000
    if not math.isfinite(float(amount)):
        raise BadValue("is too large to be an amount of money")
    return float(amount), currency


def _decimal_mark(number: str) -> str | None:
    """Which of ``,`` and ``.`` separates decimals; the other groups thousands.

    With both present the later one is decimal; a lone mark followed by exactly
    three digits groups thousands (``12.000``, ``12,000``), otherwise it is decimal.
    """
    if "," in number and "." in number:
        return max((",", "."), key=number.rfind)
    for mark in (",", "."):
        if number.count(mark) == 1:
            head, tail = number.split(mark)
            if len(tail) != 3 or head == "0":
                return mark
    return None


def parse_currency(text: str) -> str:
    """A three-letter currency code, or a symbol standing for one."""
    code = CURRENCY_SYMBOLS.get(text.strip(), text.strip().upper())
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise BadValue("expected a three-letter currency code such as USD or EUR")
    return code


TRUE_WORDS = {"yes", "y", "true", "t", "1", "on", "x"}
FALSE_WORDS = {"no", "n", "false", "f", "0", "off"}


def parse_bool(text: str) -> int:
    """yes/no, true/false, 1/0, on/off (any case) as 1 or 0."""
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return 1
    if word in FALSE_WORDS:
        return 0
    raise BadValue("expected yes or no (also true/false, 1/0)")


MONTHS = {
    name: number
    for number in range(1, 13)
    for name in (
        dt.date(2000, number, 1).strftime("%b").lower(),
        dt.date(2000, number, 1).strftime("%B").lower(),
    )
}
MONTHS["sept"] = 9

DATE_FORMATS = {"ymd": "%Y-%m-%d", "mdy": "%m/%d/%Y", "dmy": "%d/%m/%Y"}


def _checked_date(year: int, month: int, day: int) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise BadValue("is not a date on the calendar") from None


def parse_date(text: str, date_format: str | None = None) -> str:
    """An ISO date ``YYYY-MM-DD`` from the common ways of writing one.

    ISO (``2026-03-31``, also with a time), ``31.03.2026`` (day first),
    ``Mar 31, 2026``, ``31 March 2026``, and slashed ``MM/DD/YYYY``. A slashed
    date whose first two parts are both 12 or less is ambiguous (``03/04/2026``)
    and needs ``date_format`` (``mdy``, ``dmy`` or a strptime pattern).
    """
    value = text.strip()
    if date_format:
        pattern = DATE_FORMATS.get(date_format, date_format)
        try:
            return dt.datetime.strptime(value, pattern).date().isoformat()
        except ValueError:
            pass
    if m := re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ][0-9:.]+(?:Z|[+-]\d\d:?\d\d)?)?", value):
        return _checked_date(int(m[1]), int(m[2]), int(m[3])).isoformat()
    if m := re.fullmatch(r"(\d{1,2})\.(\d{1,2})\.(\d{4})", value):
        return _checked_date(int(m[3]), int(m[2]), int(m[1])).isoformat()
    if m := re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", value):
        first, second, year = int(m[1]), int(m[2]), int(m[3])
        if first > 12 and second <= 12:
            return _checked_date(year, second, first).isoformat()
        if first <= 12 and second <= 12 and first != second:
            raise BadValue(
                "is ambiguous: month/day or day/month? Pass --date-format mdy or --date-format dmy"
            )
        return _checked_date(year, first, second).isoformat()
    if m := re.fullmatch(r"([A-Za-z]+)\.? (\d{1,2}),? (\d{4})", value):
        if m[1].lower() in MONTHS:
            return _checked_date(int(m[3]), MONTHS[m[1].lower()], int(m[2])).isoformat()
    if m := re.fullmatch(r"(\d{1,2}) ([A-Za-z]+)\.?,? (\d{4})", value):
        if m[2].lower() in MONTHS:
            return _checked_date(int(m[3]), MONTHS[m[2].lower()], int(m[1])).isoformat()
    raise BadValue("expected a date such as 2026-03-31, 31.03.2026 or Mar 31, 2026")


def parse_period(text: str) -> str:
    """A calendar month ``YYYY-MM`` from ``2026-03``, ``2026-03-01``, ``Mar 2026`` or ``03/2026``."""
    value = text.strip()
    if m := re.fullmatch(r"(\d{4})-(\d{1,2})(?:-(\d{1,2}))?(?:[T ].*)?", value):
        year, month = int(m[1]), int(m[2])
        if m[3] is not None and 1 <= month <= 12:
            _checked_date(year, month, int(m[3]))
    elif m := re.fullmatch(r"(\d{1,2})/(\d{4})", value):
        year, month = int(m[2]), int(m[1])
    elif m := re.fullmatch(r"([A-Za-z]+)\.?[ -]'?(\d{4}|\d{2})", value):
        if m[1].lower() not in MONTHS:
            raise BadValue("expected a month such as 2026-03, Mar 2026 or 03/2026")
        year = int(m[2]) + (2000 if len(m[2]) == 2 else 0)
        month = MONTHS[m[1].lower()]
    else:
        raise BadValue("expected a month such as 2026-03, Mar 2026 or 03/2026")
    if not 1 <= month <= 12:
        raise BadValue("expected a month from 01 to 12")
    if not 1900 <= year <= 2200:
        raise BadValue("expected a year between 1900 and 2200")
    return f"{year:04d}-{month:02d}"


def parse_as_of(text: str, date_format: str | None = None) -> str:
    """The day a report or an export is as of: a date as `parse_date` reads it, in the
    years `parse_period` accepts (so that a window of days around it stays on the calendar)."""
    day = parse_date(text, date_format)
    parse_period(day)
    return day


def parse_rate(text: str) -> float:
    """An exchange rate: a positive number with a decimal point or comma, such as ``1.081`` or ``0,9249``.

    Not read as money: ``1.081`` is a rate of a little over one, never a thousand and eighty-one.
    """
    number = text.strip()
    if "," in number and "." not in number:
        number = number.replace(",", ".")
    try:
        rate = Decimal(number)
    except InvalidOperation:
        raise BadValue("expected a rate such as 1.0811 (base-currency units for one unit of the currency)") from None
    if not rate.is_finite() or not rate > 0:
        raise BadValue("expected a rate above zero")
    return float(rate)


#: The longest notice period taken: longer is a typo (days for months, a year for a date).
MAX_NOTICE_DAYS, MAX_NOTICE_MONTHS = 3660, 120
_NOTICE_UNITS = {
    "d": ("days", 1), "day": ("days", 1), "days": ("days", 1),
    "w": ("days", 7), "wk": ("days", 7), "wks": ("days", 7), "week": ("days", 7), "weeks": ("days", 7),
    "m": ("months", 1), "mo": ("months", 1), "mos": ("months", 1), "mth": ("months", 1), "mths": ("months", 1),
    "month": ("months", 1), "months": ("months", 1),
    "y": ("months", 12), "yr": ("months", 12), "yrs": ("months", 12), "year": ("months", 12), "years": ("months", 12),
}
_ISO_DURATION = re.compile(r"p(?:(\d+)y)?(?:(\d+)m)?(?:(\d+)w)?(?:(\d+)d)?")


def parse_notice_period(text: str) -> str:
    """A contract's notice period as ``N days`` or ``N months`` (``1 day``, ``1 month``), from ``30 days``, ``3 months``,
    ``1 year``, ``2 weeks``, ``90`` (days) or ISO 8601's ``P3M``, ``P30D``, ``P1Y6M``.

    Months stay months, so that a notice date falls on the same day of an
    earlier month (as a contract counts it), not a number of days before.
    """
    word = " ".join(text.strip().lower().replace("_", " ").split())
    if word in ("none", "no notice", "0"):
        return "0 days"
    days = months = 0
    if iso := _ISO_DURATION.fullmatch(word.replace(" ", "")):
        if not any(iso.groups()):
            raise BadValue("expected a notice period such as 30 days, 3 months, 90 or P3M")
        years, month_count, weeks, day_count = (int(part or 0) for part in iso.groups())
        months, days = years * 12 + month_count, weeks * 7 + day_count
        if months and days:
            raise BadValue("expected a notice period in months or in days, not both")
    elif plain := re.fullmatch(r"(\d+)(?: ?([a-z]+)\.?)?(?: notice)?", word):
        unit, size = _NOTICE_UNITS.get(plain[2] or "days", (None, 0))
        if unit is None:
            raise BadValue("expected a notice period such as 30 days, 3 months, 90 or P3M")
        count = int(plain[1]) * size
        days, months = (count, 0) if unit == "days" else (0, count)
    else:
        raise BadValue("expected a notice period such as 30 days, 3 months, 90 or P3M")
    if days > MAX_NOTICE_DAYS or months > MAX_NOTICE_MONTHS:
        raise BadValue("expected a notice period of at most ten years")
    count, unit = (months, "month") if months else (days, "day")
    return f"{count} {unit}{'' if count == 1 else 's'}"


def choice_parser(canonical: dict[str, str], expected: str):
    """A parser for a closed set of words; ``canonical`` maps accepted spellings to values."""
    lookup = {key.lower(): value for key, value in canonical.items()}

    def parse(text: str) -> str:
        word = " ".join(text.strip().lower().replace("_", " ").replace("-", " ").split())
        try:
            return lookup[word]
        except KeyError:
            raise BadValue(f"expected {expected}") from None

    return parse


USAGE_LEVEL_WORDS = {"none": 0, "low": 1, "light": 1, "medium": 2, "moderate": 2, "regular": 2, "high": 3, "heavy": 3, "critical": 4}


def parse_usage_level(text: str) -> int:
    """Self-reported intensity: 0 (none) to 4 (critical), as a number or a word."""
    word = text.strip().lower()
    if word in USAGE_LEVEL_WORDS:
        return USAGE_LEVEL_WORDS[word]
    try:
        level = parse_int(word)
    except BadValue:
        level = -1
    if not 0 <= level <= 4:
        raise BadValue("expected a usage level from 0 (none) to 4 (critical), or none/low/medium/high/critical")
    return level
