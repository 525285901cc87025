"""Whatever spreadsheets and admin consoles produce, stack-tracker never loses data,
never corrupts the database and never shows a traceback.

Every file of the corpus in tests/bad_inputs/ is given to the real command, as
tests/bad_inputs/expected.yml says, on a copy of the sample organisation. A
rejected file leaves a message naming the file and line (and the column,
where the problem is one value) and the database as it was; an accepted one
leaves the values the manifest lists, and its warnings.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import openpyxl
import pytest
import sqlite_utils
import yaml
from click.testing import CliRunner

from conftest import SAMPLE_SECRET, content_hash, rows
from stack_tracker.cli import cli

CORPUS = Path(__file__).parent / "bad_inputs"
MANIFEST = yaml.safe_load((CORPUS / "expected.yml").read_text(encoding="utf-8"))
NOT_INPUTS = {"expected.yml", "make_workbooks.py"}


def entry_id(entry: dict) -> str:
    return " ".join([entry["file"], *entry.get("options", [])])


@pytest.fixture
def sample_copy(sample_db, tmp_path, monkeypatch) -> Path:
    """A copy of the sample organisation that a test may change."""
    monkeypatch.setenv("STACK_TRACKER_SECRET", SAMPLE_SECRET)  # the sample's key: its card holders' hashes
    path = tmp_path / "sample.db"
    shutil.copy(sample_db, path)
    return path


def run_entry(db_path: Path, entry: dict):
    command, what = entry["command"].split()
    if command == "ingest":
        args = ["ingest", db_path, what, CORPUS / entry["file"]]
    else:
        args = ["import-logins", db_path, CORPUS / entry["file"], "--source", what]
    return CliRunner().invoke(cli, [str(arg) for arg in args] + entry.get("options", []))


@pytest.mark.parametrize("entry", MANIFEST, ids=entry_id)
def test_each_file_is_taken_as_the_manifest_says(sample_copy, entry):
    before = content_hash(sample_copy, exclude=("ingests",))
    result = run_entry(sample_copy, entry)
    # A message for people, never a traceback.
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    file = entry["file"]
    if entry["outcome"] == "rejected":
        assert result.exit_code == 1, result.output
        assert result.output.startswith(f"Error: {file} was not loaded"), result.output
        assert f"{file}:{entry['line']}: " in result.output
        assert entry.get("column", "") in result.output
        assert entry["message"] in result.output
        assert content_hash(sample_copy, exclude=("ingests",)) == before
        [failure] = rows(sample_copy, "select file, status, message from ingests order by id desc limit 1")
        assert (failure["file"], failure["status"]) == (file, "failed")
        assert entry["message"] in failure["message"]
    else:
        assert entry["outcome"] == "accepted"
        assert result.exit_code == 0, result.output
        for warning in entry.get("warnings", []):
            assert warning in result.output
        db = sqlite_utils.Database(sample_copy)
        try:
            assert [list(row) for row in db.execute(entry["query"]).fetchall()] == entry["rows"]
        finally:
            db.close()
        assert rows(sample_copy, "select status from ingests order by id desc limit 1") == [{"status": "ok"}]


def test_the_corpus_has_forty_files_and_each_has_an_expected_outcome():
    files = {path.name for path in CORPUS.iterdir()} - NOT_INPUTS
    described = {entry["file"] for entry in MANIFEST}
    assert files == described
    assert len(files) >= 40
    outcomes = {entry["outcome"] for entry in MANIFEST}
    assert outcomes == {"accepted", "rejected"}
    for entry in MANIFEST:
        if entry["outcome"] == "rejected":
            assert entry["line"] >= 1 and entry["message"]
        else:
            assert entry["query"] and "rows" in entry


def test_the_workbook_really_has_merged_cells_and_formulas_with_saved_values():
    # What the corpus entry stands for: checked here, so that regenerating the file cannot quietly weaken it.
    path = CORPUS / "usage-merged-formulas.xlsx"
    sheet = openpyxl.load_workbook(path).active
    assert [str(cells) for cells in sheet.merged_cells.ranges] == ["A2:A4"]
    assert sheet["E2"].value == "=ROUND(D2*0.8,0)"
    assert openpyxl.load_workbook(path, data_only=True).active["E2"].value == 24
    unsaved = openpyxl.load_workbook(CORPUS / "tools-formulas-without-values.xlsx", data_only=True).active
    assert unsaved["C3"].value is None
    assert (CORPUS / "usage-workbook-renamed.csv").read_bytes() == path.read_bytes()


def test_a_rejected_file_after_an_accepted_one_leaves_the_first_in_place(sample_copy):
    """Files load one transaction each: the bad one takes nothing of the good one with it."""
    good, bad = CORPUS / "usage-utf8-bom.csv", CORPUS / "usage-conflicting-duplicate.csv"
    result = CliRunner().invoke(cli, ["ingest", str(sample_copy), "usage", str(good), str(bad)])
    assert result.exit_code == 1
    assert "usage-conflicting-duplicate.csv:4: " in result.output
    assert rows(sample_copy, "select team, tool, active_users from usage where period = '2027-01'") == [
        {"team": "demand-generation", "tool": "hubspot-marketing-hub", "active_users": 18}
    ]


def test_a_key_given_twice_is_found_however_far_apart(sample_copy, tmp_path):
    """The second copy of a row 6,000 lines on, in another batch of writes, is still found, and both lines named."""
    teams = ["Content", "Events", "Social Media", "Field Marketing", "Product Marketing"]
    lines = [f"{team},Slack,{1900 + month // 12}-{month % 12 + 1:02d},10,5\n" for month in range(1300) for team in teams]
    lines.append("content,SLACK,1900-01,10,6\n")
    usage = tmp_path / "usage.csv"
    usage.write_text("team,tool,period,seats,active users\n" + "".join(lines), encoding="utf-8")
    before = content_hash(sample_copy, exclude=("ingests",))
    result = CliRunner().invoke(cli, ["ingest", str(sample_copy), "usage", str(usage)])
    assert result.exit_code == 1
    assert (f"usage.csv:{len(lines) + 1}: team, tool, period: " '["content", "slack", "1900-01"]: '
            "already on line 2 with other values (active_users 5 on line 2, 6 here)") in result.output
    assert content_hash(sample_copy, exclude=("ingests",)) == before


def test_a_key_given_twice_is_found_when_the_first_copy_changes_nothing(sample_copy, tmp_path):
    """Line 2 repeats what the database holds (so writes nothing); line 3 gives the same key other figures."""
    [held] = rows(sample_copy, "select seats, active_users from usage where team = 'content' and tool = 'slack' "
                               "and period = '2026-11' and source = 'reported'")
    usage = tmp_path / "usage.json"
    usage.write_text(
        '[{"team": "Content", "tool": "Slack", "period": "2026-11", "seats": %d, "active_users": %d},\n'
        ' {"team": "Content", "tool": "Slack", "period": "Nov 2026", "seats": %d, "active_users": %d}]\n'
        % (held["seats"], held["active_users"], held["seats"], held["active_users"] - 1),
        encoding="utf-8",
    )
    before = content_hash(sample_copy, exclude=("ingests",))
    result = CliRunner().invoke(cli, ["ingest", str(sample_copy), "usage", str(usage)])
    assert result.exit_code == 1
    assert "usage.json:2: team, tool, period: " in result.output
    assert f"already on line 1 with other values (active_users {held['active_users']} on line 1" in result.output
    assert content_hash(sample_copy, exclude=("ingests",)) == before


def test_warnings_about_rows_list_five_lines_and_count_the_rest(sample_copy, tmp_path):
    usage = tmp_path / "usage.csv"
    usage.write_text("team,tool,period,seats,active users\n"
                     + "".join(f"Content,Slack,2027-{month:02d},5,9\n" for month in range(1, 13)), encoding="utf-8")
    result = CliRunner().invoke(cli, ["ingest", str(sample_copy), "usage", str(usage)])
    assert result.exit_code == 0
    assert ("usage.csv: more active users than seats: loaded as written; check the seat count "
            "(lines 2, 3, 4, 5, 6 and 7 more)") in result.output
