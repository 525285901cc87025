"""The one SQLite file: its shape (base tables and derived tables, declared as
data), opening, creating and upgrading it, the write transaction, and the
names it keys on. Everything else reads and writes the database through here.

    db = open_database("stack.db")          # created, or upgraded, on open
    with write_transaction(db):
        ...
"""

from .connection import (
    DatabaseBusyError,
    DatabaseFileError,
    begin_write,
    database_error,
    database_files,
    ensure_schema,
    open_database,
    open_existing,
    refuse_foreign_database,
    write_transaction,
)

__all__ = [
    "DatabaseBusyError", "DatabaseFileError", "begin_write", "database_error", "database_files", "ensure_schema",
    "open_database", "open_existing", "refuse_foreign_database", "write_transaction",
]
