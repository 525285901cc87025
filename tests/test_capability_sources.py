"""What the ops team stated beats what the catalog guessed: every tool capability says where it
came from, a tool-capabilities file is the word on the tools it lists, and the guesses left
are marked as unconfirmed in check, on tool pages and in the reports that rest on them."""

from __future__ import annotations

import sqlite_utils
from datasette.app import Datasette

from conftest import rows, run, write
from stack_tracker.database import open_database
from stack_tracker.reports.registry import run_report
from stack_tracker.resources import resource
from stack_tracker.site.serve import PLUGINS_DIR, prepare_live_database, site_metadata

CAPABILITIES = 'select tool, capability, "primary", source from tool_capabilities order by tool, capability'


def test_a_stated_file_drops_the_catalogs_guess_for_good(db_path, tmp_path):
    # The catalog says Marketo Engage does marketing automation (mainly) and email marketing.
    tools = write(tmp_path / "tools.csv", "tool\nMarketo Engage\nSemrush\n")
    run("ingest", db_path, "tools", tools, "--silent")
    assert rows(db_path, CAPABILITIES) == [
        {"tool": "marketo-engage", "capability": "email-marketing", "primary": 0, "source": "catalog"},
        {"tool": "marketo-engage", "capability": "marketing-automation", "primary": 1, "source": "catalog"},
        {"tool": "semrush", "capability": "content-marketing", "primary": 0, "source": "catalog"},
        {"tool": "semrush", "capability": "seo", "primary": 1, "source": "catalog"},
    ]
    # The ops team says Marketo does marketing automation only: the email guess goes, and the
    # import says so. Semrush, which the file does not list, keeps its guesses.
    stated = write(tmp_path / "tool-capabilities.csv", "tool,capability,primary\nMarketo Engage,Marketing automation,yes\n")
    result = run("ingest", db_path, "tool-capabilities", stated)
    assert "wrote 1 (0 new, 1 updated, 0 unchanged)" in result.output
    assert ("warning: tool-capabilities.csv: states what its tools do, so 1 capability the catalog had guessed for "
            "them and the file does not state was dropped (Marketo Engage: Email marketing)") in result.output
    expected = [
        {"tool": "marketo-engage", "capability": "marketing-automation", "primary": 1, "source": "stated"},
        {"tool": "semrush", "capability": "content-marketing", "primary": 0, "source": "catalog"},
        {"tool": "semrush", "capability": "seo", "primary": 1, "source": "catalog"},
    ]
    assert rows(db_path, CAPABILITIES) == expected
    # The tools file again: the catalog fills only a tool with no capabilities, so the guess stays gone.
    assert "capabilities from the catalog" not in run("ingest", db_path, "tools", tools).output
    assert rows(db_path, CAPABILITIES) == expected
    # And the stated file again changes nothing, and drops nothing more.
    result = run("ingest", db_path, "tool-capabilities", stated)
    assert "wrote 0 (0 new, 0 updated, 1 unchanged)" in result.output and "dropped" not in result.output
    assert rows(db_path, CAPABILITIES) == expected


def test_the_guess_no_longer_makes_an_overlap_or_a_saving(db_path, tmp_path):
    # The report on another organisation: Marketo, the only marketing-automation tool in use,
    # counted in an email-marketing overlap through the catalog's guess, its cost as savings.
    run("ingest", db_path, "teams", write(tmp_path / "teams.csv", "team\nField\nBrand\n"), "--silent")
    run("ingest", db_path, "tools", write(tmp_path / "tools.csv",
        "tool,annual cost\nMarketo Engage,42000\nMailchimp,4200\n"), "--silent")
    run("ingest", db_path, "tool-capabilities", write(tmp_path / "tc.csv",
        "tool,capability,primary\nMarketo Engage,Marketing automation,yes\nMailchimp,Email marketing,yes\n"), "--silent")
    run("ingest", db_path, "usage", write(tmp_path / "usage.csv",
        "team,tool,month,seats,active users\nField,Marketo Engage,2026-01,10,8\nBrand,Mailchimp,2026-01,4,3\n"), "--silent")
    db = sqlite_utils.Database(db_path)
    try:
        assert run_report(db, "overlap") == []  # one tool for each job: nothing to compare
        assert run_report(db, "consolidation") == []
    finally:
        db.close()


def test_check_lists_the_guesses_as_unconfirmed(db_path, tmp_path):
    run("ingest", db_path, "tools", write(tmp_path / "tools.csv", "tool\nSemrush\nMarketo Engage\n"), "--silent")
    run("ingest", db_path, "tool-capabilities",
        write(tmp_path / "tc.csv", "tool,capability,primary\nMarketo Engage,Marketing automation,yes\n"), "--silent")
    result = run("check", db_path)  # a note, not a problem: exit status 0
    assert result.output.startswith("ok: stack.db")
    assert (
        "note: 2 tool capabilities are from the catalog, unconfirmed: Semrush (SEO, Content marketing): "
        "reports use them and say so; confirm or correct them with stack-tracker ingest stack.db "
        "tool-capabilities FILE (it replaces the guesses for the tools it lists)\n"
    ) in result.output
    assert "Marketo" not in result.output


def test_rows_written_before_sources_were_recorded_get_theirs_on_open(db_path, tmp_path):
    run("ingest", db_path, "tools", write(tmp_path / "tools.csv", "tool\nSemrush\nMarketo Engage\n"), "--silent")
    run("ingest", db_path, "tool-capabilities",
        write(tmp_path / "tc.csv", "tool,capability,primary\nMarketo Engage,Marketing automation,yes\n"), "--silent")
    before = rows(db_path, CAPABILITIES)
    # As an older version left them: no source, and a row put in by hand (no ingest).
    db = sqlite_utils.Database(db_path)
    with db.conn:
        db.execute("update tool_capabilities set source = null")
        db.execute("insert into tool_capabilities (tool, capability, \"primary\") values ('semrush', 'pr', 0)")
    db.close()
    # Opening it reads each row's source from the ingest that wrote it: the tools file's rows
    # were the catalog's, the tool-capabilities file's stated; the hand-made row is taken as stated.
    open_database(db_path).close()
    assert rows(db_path, CAPABILITIES) == sorted(
        before + [{"tool": "semrush", "capability": "pr", "primary": 0, "source": "stated"}],
        key=lambda row: (row["tool"], row["capability"]))


async def test_the_tool_page_marks_a_guess(db_path, tmp_path):
    run("ingest", db_path, "tools", write(tmp_path / "tools.csv", "tool\nSemrush\nMarketo Engage\n"), "--silent")
    run("ingest", db_path, "tool-capabilities",
        write(tmp_path / "tc.csv", "tool,capability,primary\nMarketo Engage,Marketing automation,yes\n"), "--silent")
    prepare_live_database(db_path)
    datasette = Datasette([str(db_path)], metadata=site_metadata(db_path), template_dir=str(resource("templates")),
                          plugins_dir=str(PLUGINS_DIR))
    guessed = (await datasette.client.get("/stack/tools/semrush")).text
    assert guessed.count("from the catalog, unconfirmed") == 2  # SEO and content marketing
    stated = (await datasette.client.get("/stack/tools/marketo-engage")).text
    assert "Marketing automation" in stated and "from the catalog, unconfirmed" not in stated
