"""stack-tracker init: a database with its schema and the capability taxonomy."""

import sqlite_utils

from conftest import content_hash, rows, run, write
from stack_tracker.database import ensure_schema
from stack_tracker.database.schema import SCHEMA_VERSION, TABLES, schema_version


def test_init_loads_the_shipped_taxonomy(tmp_path):
    path = tmp_path / "stack.db"
    result = run("init", path)
    assert "read 49 capabilities rows, wrote 49 (49 new" in result.output
    categories = rows(path, "select category, count(*) as n from capabilities group by category order by category")
    assert categories == [
        {"category": "Advertising & Promotion", "n": 7},
        {"category": "Commerce & Sales", "n": 6},
        {"category": "Content & Experience", "n": 10},
        {"category": "Data", "n": 9},
        {"category": "Management", "n": 7},
        {"category": "Social & Relationships", "n": 10},
    ]
    described = rows(path, "select count(*) as n from capabilities where length(description) > 20 and instr(description, char(10)) = 0")
    assert described == [{"n": 49}]


def test_init_creates_every_table_and_records_the_schema_version(tmp_path):
    path = tmp_path / "stack.db"
    run("init", path, "--silent")
    db = sqlite_utils.Database(path)
    assert set(TABLES) <= set(db.table_names())
    assert schema_version(db) == SCHEMA_VERSION
    assert db["usage"].pks == ["team", "tool", "period", "source"]
    assert {(fk.column, fk.other_table) for fk in db["usage"].foreign_keys} >= {("team", "teams"), ("tool", "tools")}
    assert {tuple(index.columns) for index in db["usage"].indexes} >= {("tool", "period"), ("period",)}


def test_init_twice_changes_nothing(tmp_path):
    path = tmp_path / "stack.db"
    run("init", path, "--silent")
    before = content_hash(path, exclude=("ingests",))
    result = run("init", path)
    assert "wrote 0 (0 new, 0 updated, 49 unchanged)" in result.output
    assert content_hash(path, exclude=("ingests",)) == before


def test_init_with_an_organisations_own_taxonomy(tmp_path):
    path = tmp_path / "stack.db"
    taxonomy = write(tmp_path / "ours.csv", "Name,Category,Description\nLead routing,Data,Send each lead to the right rep\n")
    run("init", path, "--taxonomy", taxonomy, "--silent")
    assert rows(path, "select slug, name, category from capabilities") == [
        {"slug": "lead-routing", "name": "Lead routing", "category": "Data"}
    ]


def test_ensure_schema_upgrades_an_older_database(tmp_path):
    db = sqlite_utils.Database(tmp_path / "old.db")
    db["tools"].create({"slug": str, "name": str}, pk="slug")
    db["tools"].insert({"slug": "asana", "name": "Asana"})
    ensure_schema(db)
    assert "renewal_date" in db["tools"].columns_dict
    assert list(db["tools"].rows) [0]["name"] == "Asana"
    assert schema_version(db) == SCHEMA_VERSION
