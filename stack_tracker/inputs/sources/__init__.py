"""Sign-in logs, as identity providers export them, read as one stream of sign-ins.

One module per source (`okta`, `entra`, `google`, `csv_logins`), each with a
``sign_ins(log)`` function that streams a file and yields a `SignIn` for every
successful sign-in of a person to an application, already in UTC. What a source
leaves out (failed sign-ins, other event types, service accounts …) is counted
in ``log.skipped`` by reason, so the import can say what it did not count. The
format of a file is told from its content (and extension): a JSON array, JSON
Lines, a JSON object wrapping the array (an API page), CSV, or a spreadsheet.

Nothing here holds more than one event in memory.

What the sources share lies below them: `log_file` (the log being read and
the `SignIn`), `layouts` (telling and reading a file's layout), `fields` and
`timestamps`.
"""

from __future__ import annotations

from typing import Callable, Iterator

from . import csv_logins, entra, google, okta
from .log_file import NON_INTERACTIVE, SIGN_INS, LogFile, SignIn
from .timestamps import Timestamps

__all__ = ["NON_INTERACTIVE", "READERS", "SIGN_INS", "SOURCES", "LogFile", "SignIn", "Timestamps", "reader"]

#: source -> its ``sign_ins`` function
READERS: dict[str, Callable[[LogFile], Iterator[SignIn]]] = {
    "okta": okta.sign_ins, "entra": entra.sign_ins, "google": google.sign_ins, "csv": csv_logins.sign_ins,
}
#: The sources' names, in the order ``--source`` offers them.
SOURCES = tuple(READERS)


def reader(source: str) -> Callable[[LogFile], Iterator[SignIn]]:
    """The ``sign_ins`` function of a source."""
    return READERS[source]
