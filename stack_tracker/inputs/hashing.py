"""Counting and hashing the bytes of an input file as its reader reads them.

The count drives the progress bar; the sha256 is recorded with the run. Both
come from the pass the reader makes anyway (a large file is hashed on a spare
core: `SideHash`); where a library reads the file itself, as openpyxl reads a
workbook, `HashedFile` hashes it up front.
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
import time
import weakref
from pathlib import Path
from typing import BinaryIO

from .source_file import CHUNK, ReadError


def nul_byte_error(path: Path, offset: int) -> ReadError:
    """The error for a NUL byte at ``offset``: where it is (line, column) and what the file may really be."""
    with open(path, "rb") as file:
        before = file.read(offset)
    line = before.count(b"\n") + 1
    column = len(before) - (before.rfind(b"\n") + 1) + 1
    return ReadError(
        path.name, line,
        f"a NUL byte (column {column}), which text never holds: is this a binary file, or text saved as UTF-16 "
        "without a byte-order mark? Save it as CSV UTF-8",
    )


class CountingReader(io.RawIOBase):
    """Wraps a binary file, counting and hashing the bytes that pass through.

    With ``refuse_nul``, a NUL byte is a `ReadError`: text in an 8-bit
    encoding never holds one, so the file is binary or damaged (and SQLite
    text, Datasette pages and CSV exports would all cut the value short there).
    """

    def __init__(self, raw: BinaryIO, *, refuse_nul: bool = False):
        self.raw = raw
        self.bytes_read = 0
        self.sha256 = _hasher(raw, self)
        self.refuse_nul = refuse_nul

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.raw.read(len(buffer))
        size = len(data)
        if self.refuse_nul and b"\0" in data:
            raise nul_byte_error(Path(self.raw.name), self.bytes_read + data.index(b"\0"))
        buffer[:size] = data
        self.bytes_read += size
        self.sha256.update(data)
        return size


#: Files at least this large are hashed on a helper thread (`SideHash`).
SIDE_HASH_MIN_BYTES = 64 << 20


def _hasher(raw: BinaryIO, reader: CountingReader):
    """A sha256 for what ``reader`` reads: `SideHash` for a large file, else hashlib's own."""
    try:
        large = os.fstat(raw.fileno()).st_size >= SIDE_HASH_MIN_BYTES
    except (AttributeError, OSError, io.UnsupportedOperation):
        large = False
    return SideHash(raw.name, reader) if large else hashlib.sha256()


class SideHash:
    """The sha256 of a large file, computed on a helper thread that follows its reader through the file.

    Hashing a 13 GiB log takes a core 8 seconds. The helper reads the file
    again through a descriptor of its own (from the page cache, never past
    what the reader has read), in blocks large enough that it seldom needs the
    GIL (file reads and hashlib let go of it): with a core to spare, the hash
    costs the import no time. `update` does nothing, as the helper reads for
    itself; `hexdigest` waits for it to reach where the reader stopped.
    """

    BLOCK = 1 << 23

    def __init__(self, path: str, reader: CountingReader):
        self._path, self._hash = path, hashlib.sha256()
        # Weak, so that a file dropped unhashed (a rejected import) stops the helper.
        self._reader = weakref.ref(reader)
        self._end: int | None = None
        self._failure: str | None = None
        self._thread = threading.Thread(target=self._follow, name="sha256", daemon=True)
        self._thread.start()

    def update(self, data: bytes) -> None:
        pass

    def hexdigest(self) -> str:
        """The file's sha256, once the helper has hashed as far as the reader read."""
        reader = self._reader()
        self._end = reader.bytes_read if reader else 0
        self._thread.join()
        if self._failure:
            raise ReadError(Path(self._path).name, None, self._failure)
        return self._hash.hexdigest()

    def _follow(self) -> None:
        try:
            self._hash_behind_the_reader()
        except OSError as error:  # the file moved or vanished: say so where the hash is wanted, not on stderr
            self._failure = f"cannot read the file again to hash it: {error.strerror}"

    def _hash_behind_the_reader(self) -> None:
        buffer = memoryview(bytearray(self.BLOCK))
        hashed = 0
        with open(self._path, "rb", buffering=0) as file:
            while True:
                end, reader = self._end, self._reader()
                if reader is None and end is None:
                    return
                available = (reader.bytes_read if end is None else end) - hashed
                del reader
                if end is None and available < self.BLOCK:
                    time.sleep(0.01)
                    continue
                if available <= 0:
                    return
                size = file.readinto(buffer[:min(self.BLOCK, available)])
                if not size:
                    self._failure = "the file got shorter while it was read; export it again"
                    return
                self._hash.update(buffer[:size])
                hashed += size


class HashedFile:
    """Stands in for `CountingReader` where a library reads the file: hashed up front, progress by row."""

    def __init__(self, raw: BinaryIO):
        self.sha256 = hashlib.sha256()
        while chunk := raw.read(CHUNK):
            self.sha256.update(chunk)
        self.bytes_read = 0

    def read(self, size: int = -1) -> bytes:
        return b""
