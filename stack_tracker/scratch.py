"""Scratch files of long writes: telling a killed run's leftovers from a running one's,
and holding back signals while a swap must not be cut short.

Scratch files carry the id of the process writing them in their names; one
whose process is gone was left by a run killed outright (SIGKILL, power
loss), which no ``finally`` could clean up, and the next run removes it.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager

#: Signals that would stop a swap half-way: held back until it is done.
DEFERRED_SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}


def process_alive(pid: int) -> bool:
    """Whether a process with this id is running (so its scratch files are still in use)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


@contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold back Ctrl-C, SIGTERM and SIGHUP until the block is done: they are delivered after it."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, DEFERRED_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
