"""The exceptions the library raises for people to read.

The CLI turns every `StackTrackerError` into a message and exit status 1,
never a traceback.
"""


class StackTrackerError(Exception):
    """Something the user can fix: bad input, a missing file, a wrong option."""
