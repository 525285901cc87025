"""Reading a report's SQL text: the files it is written in, the parameters and
columns it has, and the reports it reads whole.

A report may read another report's rows whole: ``{report:gaps}`` in its file
stands for the gaps report's SQL, run as a subquery with the same parameters
(`read_report_sql`). The stack map reads its marks that way, so a finding is
defined by the one report that owns it. Reports that judge the same rows the
same way share the table expressions that do it: ``{part:seats_on_the_day}``
(``sql/parts/``) gives reclaim and right-size one rule for a leaver's and an
idle seat.
"""

from __future__ import annotations

import functools
import re
import sqlite3
from pathlib import Path

import sqlite_utils

from ..database import ensure_schema

SQL_DIR = Path(__file__).with_name("sql")
#: Where a report reads another report whole, ``{report:gaps}``, or shares table expressions with
#: others, ``{part:seats_on_the_day}`` (a file of ``sql/parts/``).
INCLUDED = re.compile(r"\{(report|part):([a-z0-9_-]+)\}")


def read_report_sql(name: str) -> str:
    """The SQL of report file ``name`` (``adoption_by_team``, or ``parts/…``), each ``{report:NAME}`` replaced by
    that report's SQL and each ``{part:NAME}`` by that part's."""
    text = (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")

    def included(match: re.Match) -> str:
        kind, named = match.group(1), match.group(2).replace("-", "_")
        return "\n" + read_report_sql(named if kind == "report" else f"parts/{named}").strip() + "\n"

    return INCLUDED.sub(included, text)


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
