"""One sign-in log being read, and the `SignIn` each source yields from it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from ... import normalise as n
from ..readers import Source
from ..runs import Problems
from .timestamps import Timestamps

#: (line, user, application, time, log): the line of the file the event starts
#: on, the person's login or email as written, the application's name as written,
#: the time in UTC as ``YYYY-MM-DDTHH:MM:SSZ``, and which of the provider's logs
#: of sign-ins it is in (`SIGN_INS` or `NON_INTERACTIVE`).
SignIn = tuple[int, str, str, str, str]

#: The logs of sign-ins that a provider keeps apart, and that add up. Most log
#: every sign-in of a person in one log: `SIGN_INS`. Entra ID keeps a person's
#: interactive sign-ins (a password, an MFA prompt) apart from the
#: non-interactive ones (a client renewing its token on the person's behalf),
#: and the admin center downloads them apart.
SIGN_INS = "sign-ins"
NON_INTERACTIVE = "non-interactive sign-ins"


class LogFile:
    """One sign-in log being read: where it is, what was skipped and why, what is wrong with it."""

    def __init__(self, path: Path, *, date_format: str | None = None):
        self.path, self.name = Path(path), Path(path).name
        self.problems = Problems(self.name)
        self.skipped: Counter[str] = Counter()
        self.source: Source | None = None
        self.timestamps = Timestamps(date_format)

    def utc(self, line: int, field: str, value: object) -> str | None:
        """``value`` as a UTC time, or None after noting the problem."""
        try:
            return self.timestamps.utc(value)
        except n.BadValue as error:
            self.problems.add(line, field, value, str(error))
            return None

    @property
    def bytes_read(self) -> int:
        return self.source.bytes_read if self.source else 0

    @property
    def size(self) -> int:
        return self.path.stat().st_size

    def sha256(self) -> str:
        """The file's sha256 ('' if it was never opened)."""
        return self.source.sha256() if self.source else ""

    def close(self) -> None:
        """Close the file, if it was opened."""
        if self.source:
            self.source.raw.close()
