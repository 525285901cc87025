"""Facts about a database as a whole, kept in ``settings``: its base currency.

Every money figure a report gives is in the base currency, converted at the
rates of ``rates`` (base-currency units for one unit of another currency, in
force from a day). The base is chosen at `stack-tracker init` and changes only
while no rate is recorded: the rates are in it.
"""

from __future__ import annotations

import sqlite_utils

from .. import normalise as n
from ..errors import StackTrackerError

BASE_CURRENCY = "base_currency"
#: The base of a database that never chose one (made before there was a choice, or with no --base-currency).
DEFAULT_BASE_CURRENCY = "USD"


def base_currency(db: sqlite_utils.Database) -> str:
    """The currency every report totals in."""
    row = db.execute("select value from settings where key = ?", [BASE_CURRENCY]).fetchone()
    return row[0] if row else DEFAULT_BASE_CURRENCY


def set_base_currency(db: sqlite_utils.Database, code: str) -> str:
    """Make ``code`` (a three-letter code or a symbol) the base currency; refused once rates in another are recorded."""
    try:
        code = n.parse_currency(code)
    except n.BadValue as error:
        raise StackTrackerError(f"--base-currency {code!r}: {error}") from None
    current = base_currency(db)
    if code != current and db.execute("select exists (select 1 from rates)").fetchone()[0]:
        raise StackTrackerError(
            f"the database's rates are in {current}, its base currency: to total in {code}, make a new database "
            f"with --base-currency {code} and import its rates there"
        )
    db.execute("insert or replace into settings (key, value) values (?, ?)", [BASE_CURRENCY, code])
    return code
