"""The European Central Bank's euro reference rates, as it publishes them, read as rows of a rates file.

The ECB's historical file (``eurofxref-hist.csv``) and its daily one
(``eurofxref.csv``) are one row per day: ``Date`` and a column per currency,
giving units of that currency for one euro, ``N/A`` where it published none
(a currency before it joined, or after it left), the header and rows often
ending in a comma. stack-tracker keeps rates as base-currency units for one
unit of a currency, so each day's row becomes one rate per currency:

    rate(C) = units of the base per euro / units of C per euro      (the euro: units of the base per euro)

A day on which the ECB published no rate for the base currency gives none.
"""

from __future__ import annotations

import re
from typing import Iterator

from .kinds import header_key

#: A column of the ECB's file that holds a currency's rates: its ISO 4217 code.
_CODE = re.compile(r"[A-Z]{3}")
#: How the ECB writes a missing rate.
_MISSING = {"", "n/a", "na", "-"}


def is_ecb_layout(headers: list[str]) -> bool:
    """Whether a table's headers are the ECB's: a date, then one column per currency code, and nothing else."""
    named = [header.strip() for header in headers if header.strip()]
    return (len(named) >= 2 and header_key(named[0]) == "date"
            and all(_CODE.fullmatch(header) for header in named[1:]))


def ecb_rows(records: Iterator[tuple[int, dict]], base: str, skipped: dict[str, int]) -> Iterator[tuple[int, dict]]:
    """The ECB's rows as rates rows (``date``, ``currency``, ``rate`` as text) in ``base``, counting what gives none.

    ``skipped`` counts the gaps (``N/A``) and the days without a rate for the base.
    """
    for line, record in records:
        values = {key.strip(): (value or "").strip() for key, value in record.items() if key and key.strip()}
        day = next(iter(values.values()), "")
        per_euro = {code: value for code, value in list(values.items())[1:] if value.casefold() not in _MISSING}
        skipped["gaps (N/A)"] = skipped.get("gaps (N/A)", 0) + len(values) - 1 - len(per_euro)
        base_per_euro = "1" if base == "EUR" else per_euro.pop(base, None)
        if base_per_euro is None:
            skipped["days without a rate for the base currency"] = skipped.get("days without a rate for the base currency", 0) + 1
            continue
        if base != "EUR":
            yield line, {"date": day, "currency": "EUR", "rate": base_per_euro}
        for code, value in per_euro.items():
            yield line, {"date": day, "currency": code, "rate": _divided(base_per_euro, value)}


def _divided(base_per_euro: str, code_per_euro: str) -> str:
    """``base_per_euro / code_per_euro`` as text a rate parser reads, or the pair as written when either is no number
    (so that the rates column's parser names the bad value)."""
    try:
        return repr(float(base_per_euro) / float(code_per_euro))
    except (ValueError, ZeroDivisionError):
        return code_per_euro
