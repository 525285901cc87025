"""The exceptions the library raises for people to read.

The CLI turns every `StackTrackerError` into a message and exit status 1,
never a traceback; so it does with `storage_error` the failures to store data
that are the user's to act on.
"""

from __future__ import annotations

import errno
import sqlite3


class StackTrackerError(Exception):
    """Something the user can fix: bad input, a missing file, a wrong option."""


_PERMISSION = "permission denied: check the permissions of the file and its folder"
#: What a person can do when the system refuses to write (or read) a file, by errno.
_OS_ERRORS = {
    errno.ENOSPC: "no space left on the disk: free some space and run the command again",
    errno.EDQUOT: "the disk quota is used up: free some space and run the command again",
    errno.EFBIG: "the file would grow past the largest size allowed here: free some space (or raise the limit) "
                 "and run the command again",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: _PERMISSION,
    errno.EPERM: _PERMISSION,
}


def storage_error(error: Exception, database: object) -> StackTrackerError | None:
    """What a failure to store data means, for a person; None for any other error.

    A full disk, a read-only place, a database file that cannot be opened:
    from SQLite (working on ``database``, or a file made from it) or from the
    system. SQLite rolls a transaction back when it fails so, and the command
    leaves what it wrote before it as it was.
    """
    if isinstance(error, sqlite3.DatabaseError):
        name = getattr(error, "sqlite_errorname", "") or ""
        if name == "SQLITE_FULL":
            return StackTrackerError(f"{database}: {error}: free some space and run the command again")
        if name.startswith("SQLITE_IOERR"):
            return StackTrackerError(f"{database}: {error}: is the disk full, or failing? Free some space and run the command again")
        if name.startswith("SQLITE_CANTOPEN"):
            return StackTrackerError(f"cannot open {database} ({error}): check that its folder exists, and its permissions")
        return None
    if isinstance(error, OSError) and error.errno in _OS_ERRORS:
        return StackTrackerError(f"{error.filename}: {_OS_ERRORS[error.errno]}" if error.filename else _OS_ERRORS[error.errno])
    return None
