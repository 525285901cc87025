"""The exceptions the library raises for people to read.

The CLI turns every `StackTrackerError` into a message and exit status 1,
never a traceback; so it does with `storage_error` the system's failures to
store a file that are the user's to act on (SQLite's are `database.database_error`).
"""

from __future__ import annotations

import errno


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


def storage_error(error: OSError, database: object) -> StackTrackerError | None:
    """What the system's refusal to store (or read) a file means, for a person; None for any other error.

    A full disk, a read-only place, a file without permission: the message
    names the file, or ``database`` when the system did not say which.
    """
    if error.errno not in _OS_ERRORS:
        return None
    return StackTrackerError(f"{error.filename or database}: {_OS_ERRORS[error.errno]}")
