"""The files that belong to a database, which no output may ever replace, and writing
an output file whole or not at all."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import StackTrackerError
from .privacy import key_file_for

#: SQLite's companions of a database file: while they exist, they hold part of it.
DATABASE_COMPANIONS = ("-wal", "-shm", "-journal")


def database_files(db_path: Path) -> list[Path]:
    """The database and every file that belongs to it: its write-ahead log, shared memory, journal and key."""
    db_path = Path(db_path)
    return [db_path, *(db_path.with_name(db_path.name + suffix) for suffix in DATABASE_COMPANIONS),
            key_file_for(db_path)]


def write_output(path: Path, text: str, *, db_path: Path) -> None:
    """Write ``text`` to ``path``, never over the database or its files, and never half a file."""
    path = Path(path)
    for own in database_files(db_path):
        if path.resolve() == own.resolve():
            raise StackTrackerError(f"{path} is {'the database' if own == Path(db_path) else 'a file of the database'}"
                                    f" {Path(db_path).name}: give the output another name")
    descriptor, scratch = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(scratch, path)
    finally:
        Path(scratch).unlink(missing_ok=True)
