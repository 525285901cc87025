"""An input file open for reading: `Source`, and `ReadError` for a file that cannot be read on.

The bottom of the readers: the byte counters (`hashing`), the format readers
(`csv_text`, `json_text`, `workbooks`) and their face (`readers`) all build on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Iterator, Protocol

from ..errors import StackTrackerError

#: How many bytes (or characters) a reader takes at a time.
CHUNK = 1 << 16

Record = dict[str, object]


class ReadError(StackTrackerError):
    """The file cannot be read as the format it claims to be."""

    def __init__(self, path: str, line: int | None, message: str):
        self.path, self.line = path, line
        super().__init__(f"{path}:{line}: {message}" if line else f"{path}: {message}")


class ByteCounter(Protocol):
    """What a `Source` reads its file through: `hashing.CountingReader`, or `hashing.HashedFile`
    where a library reads the file itself."""

    bytes_read: int
    #: hashlib's sha256, or anything else with ``hexdigest()``.
    sha256: Any

    def read(self, size: int = -1) -> bytes: ...


@dataclass
class Source:
    """An open input file: its records, and how far through it we are.

    Use it as a context manager; ``records`` yields ``(line, record)`` pairs.
    """

    path: Path
    format: str
    size: int
    raw: BinaryIO
    counter: ByteCounter
    records: Iterator[tuple[int, Record]] = iter(())
    headers: list[str] = field(default_factory=list)
    #: The line of the header row, and the rows the reader left out (titles above it, totals, notes: `table_bounds`).
    header_line: int = 1
    skipped: list = field(default_factory=list)

    @property
    def bytes_read(self) -> int:
        return self.counter.bytes_read

    def sha256(self) -> str:
        """The file's sha256; reads whatever the records did not, so it is always whole."""
        while self.counter.read(CHUNK):
            pass
        return self.counter.sha256.hexdigest()

    def __enter__(self) -> "Source":
        return self

    def __exit__(self, *exc_info) -> None:
        self.raw.close()


def open_file(path: Path) -> BinaryIO:
    """``path`` opened for reading bytes, or a `StackTrackerError` saying why it cannot be."""
    try:
        return open(path, "rb")
    except OSError as error:
        raise StackTrackerError(f"{path.name}: cannot open: {error.strerror}") from None


def decoding_error(source: Source, line: int, error: UnicodeDecodeError) -> ReadError:
    """The error for text that is not valid in the encoding it was read as, naming the encoding as people know it."""
    encoding = {"charmap": "Windows-1252"}.get(error.encoding, error.encoding)  # cp1252's codec calls itself charmap
    return ReadError(source.path.name, line, f"the text is not valid {encoding} ({error.reason}); save the file as UTF-8")
