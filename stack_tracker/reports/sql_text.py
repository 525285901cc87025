"""Reading a report's SQL text: the files it is written in, the parameters and
columns it has, and the reports it reads whole.

A report may read another report's rows whole: ``{report:gaps}`` in its file
stands for the gaps report's SQL, run as a subquery with the same parameters
(`read_report_sql`). The stack map reads its marks that way, so a finding is
defined by the one report that owns it.
"""

from __future__ import annotations

import functools
import re
import sqlite3
from pathlib import Path

import sqlite_utils

from ..database import ensure_schema

SQL_DIR = Path(__file__).with_name("sql")
#: Where a report reads another report whole: ``{report:gaps}``.
INCLUDED_REPORT = re.compile(r"\{report:([a-z0-9-]+)\}")


def read_report_sql(name: str) -> str:
    """The SQL of report file ``name`` (``adoption_by_team``), each ``{report:NAME}`` replaced by that report's SQL."""
    text = (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")
    return INCLUDED_REPORT.sub(lambda match: "\n" + read_report_sql(match.group(1).replace("-", "_")).strip() + "\n", text)


@functools.cache
def _empty_schema() -> str:
    """This version's schema as one script: tables, views and triggers, in the order they were made."""
    db = sqlite_utils.Database(memory=True)
    try:
        ensure_schema(db)
        return ";\n".join(row[0] for row in db.execute("select sql from sqlite_master where sql is not null order by rowid"))
    finally:
        db.close()


def report_columns(sql: str) -> list[str]:
    """The columns a report's SQL returns, in order, read from an empty database of this version's shape."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.executescript(_empty_schema())
        blank = {name: "" for name in sql_parameters(sql)}
        return [column[0] for column in conn.execute(f"select * from (\n{sql}\n) limit 0", blank).description]
    finally:
        conn.close()


def sql_parameters(sql: str) -> list[str]:
    """The named parameters a SQL text uses, found the way Datasette finds them."""
    sql = re.sub(r"--.*", "", sql)
    sql = re.sub(r"/\*.*?\*/", "", sql, flags=re.DOTALL)
    sql = re.sub(r"'(?:''|[^'])*'", "", sql)
    sql = re.sub(r'"(?:""|[^"])*"', "", sql)
    return list(dict.fromkeys(re.findall(r":(\w+)", sql)))
