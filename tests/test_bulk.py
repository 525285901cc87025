"""Writing many rows at once: a table's secondary indexes dropped for the write and built again after."""

from __future__ import annotations

import sqlite3

import pytest

from stack_tracker.database.bulk import indexes_built_after


def indexes(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    return conn.execute("select name, sql from sqlite_master where type = 'index' and tbl_name = 'seen' order by name").fetchall()


@pytest.fixture
def conn() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.execute("create table seen (person text, tool text, day text, unique (person, day))")
    conn.execute("create index seen_by_tool on seen (tool)")
    conn.execute("insert into seen values ('ada', 'crm', '2024-01-01'), ('bo', 'crm', '2024-01-01')")
    return conn


def test_more_rows_than_the_table_has_are_written_without_its_secondary_indexes(conn):
    before = indexes(conn)
    with indexes_built_after(conn, "seen", incoming_rows=3):
        # Dropped: the index that enforces nothing; kept: the unique one, which still refuses a repeated key.
        assert [name for name, _ in indexes(conn)] == ["sqlite_autoindex_seen_1"]
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute("insert into seen values ('ada', 'wiki', '2024-01-01')")
        conn.executemany("insert into seen values (?, 'wiki', ?)", [("cy", "2024-01-02"), ("di", "2024-01-02")])
    assert indexes(conn) == before
    assert conn.execute("select count(*) from seen indexed by seen_by_tool where tool = 'wiki'").fetchone()[0] == 2


def test_fewer_rows_than_the_table_has_leave_its_indexes_in_place(conn):
    with indexes_built_after(conn, "seen", incoming_rows=2):
        assert "seen_by_tool" in [name for name, _ in indexes(conn)]


def test_a_failed_write_rolls_back_with_the_dropped_indexes(conn):
    before = indexes(conn)
    conn.execute("begin")
    with pytest.raises(RuntimeError):
        with indexes_built_after(conn, "seen", incoming_rows=10):
            conn.execute("insert into seen values ('ed', 'crm', '2024-01-03')")
            raise RuntimeError("the import failed")
    conn.execute("rollback")
    assert indexes(conn) == before
    assert conn.execute("select count(*) from seen").fetchone()[0] == 2
