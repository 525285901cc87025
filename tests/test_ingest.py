"""stack-tracker ingest: every file loads whole or not at all, and says why."""

from __future__ import annotations

import json

import pytest

from conftest import content_hash, rows, run, write
from stack_tracker.inputs.ingest import BATCH_SIZE


def monthly_rows(count: int) -> list[tuple[str, str, str]]:
    """``count`` distinct (team, tool, period) keys of the org_db fixture."""
    pairs = [(team, tool) for team in ("Marketing", "Demand Gen") for tool in ("Salesforce Sales Cloud", "HubSpot Marketing Hub")]
    return [(*pairs[i % 4], f"{1900 + i // 48}-{i // 4 % 12 + 1:02d}") for i in range(count)]


def test_header_aliases_and_value_forms(org_db, tmp_path):
    usage = write(
        tmp_path / "usage.csv",
        "TEAM-NAME,Application,Month,Licences,Monthly Active Users,Usage_Level,Logins\n"
        "Demand Gen,HubSpot Marketing Hub,Mar 2026,\"1,200\",800,high,5000\n"
        "demand gen,HubSpot Marketing Hub,2026-04-01,1200,810,3,\n"
        "Demand Gen,HubSpot Marketing Hub,05/2026,1200,820,4,\n"
        "Marketing,Salesforce Sales Cloud,2026-03,50,40,,\n",
    )
    result = run("ingest", org_db, "usage", usage)
    assert "read 4 usage rows, wrote 4 (4 new, 0 updated, 0 unchanged)" in result.output
    assert rows(org_db, "select team, tool, period, seats, active_users, usage_level, sessions, source from usage order by team, period") == [
        {"team": "demand-gen", "tool": "hubspot-marketing-hub", "period": "2026-03", "seats": 1200, "active_users": 800, "usage_level": 3, "sessions": 5000, "source": "reported"},
        {"team": "demand-gen", "tool": "hubspot-marketing-hub", "period": "2026-04", "seats": 1200, "active_users": 810, "usage_level": 3, "sessions": None, "source": "reported"},
        {"team": "demand-gen", "tool": "hubspot-marketing-hub", "period": "2026-05", "seats": 1200, "active_users": 820, "usage_level": 4, "sessions": None, "source": "reported"},
        {"team": "marketing", "tool": "salesforce-sales-cloud", "period": "2026-03", "seats": 50, "active_users": 40, "usage_level": None, "sessions": None, "source": "reported"},
    ]


@pytest.mark.parametrize("header", ["MAU", "active users", "Active_Users", "monthly-active-users"])
def test_active_user_header_spellings(org_db, tmp_path, header):
    usage = write(tmp_path / "usage.csv", f"team,tool,month,{header}\nMarketing,Salesforce Sales Cloud,2026-01,7\n")
    run("ingest", org_db, "usage", usage, "--silent")
    assert rows(org_db, "select active_users from usage") == [{"active_users": 7}]


def test_tools_money_dates_booleans_and_currency(db_path, tmp_path):
    run("ingest", db_path, "teams", write(tmp_path / "teams.csv", "Team Name\nWeb\n"), "--silent")
    tools = write(
        tmp_path / "tools.csv",
        "Application,Owner,Cost per year,Currency,Seats Purchased,Renewal,Contract Start,Auto-Renew,Status\n"
        "Contentful,Web,\"$48,000.00\",,20,Jan 15 2027,2026-01-15,yes,Active\n"
        "Bynder,Web,€18.000,,10,31.03.2027,04/15/2026,no,pilot\n"
        "Optimizely,Web,9500,GBP,,12/31/2026,,TRUE,\n"
        "Hotjar,Web,,,5,,,,retiring\n",
    )
    run("ingest", db_path, "tools", tools)
    assert rows(db_path, "select slug, annual_cost, currency, seats_purchased, renewal_date, contract_start, auto_renew, status from tools order by slug") == [
        {"slug": "bynder", "annual_cost": 18000.0, "currency": "EUR", "seats_purchased": 10, "renewal_date": "2027-03-31", "contract_start": "2026-04-15", "auto_renew": 0, "status": "trial"},
        {"slug": "contentful", "annual_cost": 48000.0, "currency": "USD", "seats_purchased": 20, "renewal_date": "2027-01-15", "contract_start": "2026-01-15", "auto_renew": 1, "status": "active"},
        {"slug": "hotjar", "annual_cost": None, "currency": None, "seats_purchased": 5, "renewal_date": None, "contract_start": None, "auto_renew": None, "status": "retiring"},
        {"slug": "optimizely", "annual_cost": 9500.0, "currency": "GBP", "seats_purchased": None, "renewal_date": "2026-12-31", "contract_start": None, "auto_renew": 1, "status": "active"},
    ]


def test_currency_column_and_symbol_must_agree(db_path, tmp_path):
    tools = write(tmp_path / "tools.csv", "tool,annual cost,currency\nBynder,€18.000,USD\n")
    result = run("ingest", db_path, "tools", tools, exit_code=1)
    assert 'tools.csv:2: currency: "USD": annual_cost is in EUR; the two must agree' in result.output


def test_spellings_differing_in_case_or_spaces_resolve_and_become_aliases(org_db, tmp_path):
    usage = write(
        tmp_path / "usage.csv",
        "team,tool,period,active users\n"
        "Demand Gen,  hubspot marketing hub ,2026-01,5\n"
        "Demand Gen,HUBSPOT MARKETING HUB,2026-02,6\n",
    )
    run("ingest", org_db, "usage", usage, "--silent")
    assert rows(org_db, "select distinct tool from usage") == [{"tool": "hubspot-marketing-hub"}]
    aliases = {row["alias"] for row in rows(org_db, "select alias from tool_aliases where tool = 'hubspot-marketing-hub'")}
    assert aliases == {"HubSpot Marketing Hub", "hubspot marketing hub", "HUBSPOT MARKETING HUB"}


def test_aliases_file_maps_other_spellings(org_db, tmp_path):
    run("ingest", org_db, "aliases", write(tmp_path / "aliases.csv", "Alias,Tool\nHubSpot,HubSpot Marketing Hub\nSFDC,salesforce-sales-cloud\n"), "--silent")
    usage = write(tmp_path / "usage.csv", "team,app,month,mau\nDemand Gen,HubSpot,2026-01,5\nMarketing,sfdc,2026-01,9\n")
    run("ingest", org_db, "usage", usage, "--silent")
    assert rows(org_db, "select tool, active_users from usage order by tool") == [
        {"tool": "hubspot-marketing-hub", "active_users": 5},
        {"tool": "salesforce-sales-cloud", "active_users": 9},
    ]


def test_unknown_tool_is_an_error_naming_it_and_its_line(org_db, tmp_path):
    usage = write(tmp_path / "usage.csv", "team,tool,period,mau\nDemand Gen,HubSpot Marketing Hub,2026-01,5\nDemand Gen,Canva,2026-01,3\n")
    before = content_hash(org_db, exclude=("ingests",))
    result = run("ingest", org_db, "usage", usage, exit_code=1)
    assert 'usage.csv:3: tool: "Canva": unknown tool' in result.output
    assert "--allow-new" in result.output
    assert content_hash(org_db, exclude=("ingests",)) == before


def test_allow_new_records_unknown_tools_as_unreviewed(org_db, tmp_path):
    usage = write(tmp_path / "usage.csv", "team,tool,period,mau\nDemand Gen,Canva,2026-01,3\nNew Team,Canva,2026-01,2\n")
    result = run("ingest", org_db, "usage", usage, "--allow-new")
    assert "created 1 tool, 1 team" in result.output
    assert rows(org_db, "select slug, name, status from tools where slug = 'canva'") == [{"slug": "canva", "name": "Canva", "status": "unreviewed"}]
    assert rows(org_db, "select slug, name from teams where slug = 'new-team'") == [{"slug": "new-team", "name": "New Team"}]
    assert rows(org_db, "select count(*) as n from usage where tool = 'canva'") == [{"n": 2}]


def test_a_bad_file_loads_nothing_and_lists_every_problem(org_db, tmp_path):
    usage = write(
        tmp_path / "usage.csv",
        "team,tool,period,seats,active users\n"
        "Demand Gen,HubSpot Marketing Hub,2026-01,10,5\n"
        "Demand Gen,HubSpot Marketing Hub,2026-13,10,5\n"
        "Demand Gen,HubSpot Marketing Hub,2026-02,ten,abc\n"
        "Nobody,HubSpot Marketing Hub,2026-03,-4,1\n"
        ",HubSpot Marketing Hub,2026-04,1,1\n",
    )
    before = content_hash(org_db, exclude=("ingests",))
    result = run("ingest", org_db, "usage", usage, exit_code=1)
    assert result.output.splitlines() == [
        "Error: usage.csv was not loaded: 6 problems",
        'usage.csv:3: period: "2026-13": expected a month from 01 to 12',
        'usage.csv:4: seats: "ten": expected a whole number',
        'usage.csv:4: active_users: "abc": expected a whole number',
        'usage.csv:5: team: "Nobody": unknown team: add it to the teams file first, or pass --allow-new to create it',
        'usage.csv:5: seats: "-4": expected a number that is zero or more',
        "usage.csv:6: team: (empty): a value is required",
    ]
    assert "Traceback" not in result.output
    assert content_hash(org_db, exclude=("ingests",)) == before


def test_problems_are_capped_at_fifty(org_db, tmp_path):
    lines = "".join(f"Demand Gen,HubSpot Marketing Hub,2026-01,x{i}\n" for i in range(70))
    result = run("ingest", org_db, "usage", write(tmp_path / "usage.csv", "team,tool,period,mau\n" + lines), exit_code=1)
    problems = [line for line in result.output.splitlines() if line.startswith("usage.csv:")]
    assert len(problems) == 50
    assert problems[0].startswith("usage.csv:2: active_users")
    assert "... and 20 more" in result.output
    assert "70 problems" in result.output


def test_multi_line_fields_keep_line_numbers_true(org_db, tmp_path):
    tools = write(tmp_path / "tools.csv", 'tool,notes,annual cost\nA,"one\ntwo\nthree",5\nB,fine,lots\n')
    result = run("ingest", org_db, "tools", tools, exit_code=1)
    assert 'tools.csv:5: annual_cost: "lots"' in result.output


def test_missing_required_column_names_the_accepted_headers(org_db, tmp_path):
    result = run("ingest", org_db, "usage", write(tmp_path / "usage.csv", "team,tool,mau\nDemand Gen,HubSpot Marketing Hub,5\n"), exit_code=1)
    assert "usage.csv:1: period: (empty): required column not found (accepted headers: period, month" in result.output


def test_two_columns_meaning_the_same_thing_are_rejected(org_db, tmp_path):
    usage = write(tmp_path / "usage.csv", "team,tool,period,MAU,active users\nDemand Gen,HubSpot Marketing Hub,2026-01,5,6\n")
    result = run("ingest", org_db, "usage", usage, exit_code=1)
    assert "two columns mean active_users: 'MAU' and 'active users'" in result.output


def test_unknown_columns_are_ignored_with_a_warning(org_db, tmp_path):
    usage = write(tmp_path / "usage.csv", "team,tool,period,mau,Favourite colour\nDemand Gen,HubSpot Marketing Hub,2026-01,5,blue\n")
    result = run("ingest", org_db, "usage", usage)
    assert "warning: usage.csv: column 'Favourite colour' is not a usage column and was ignored" in result.output
    assert rows(org_db, "select active_users from usage") == [{"active_users": 5}]


def test_reingesting_an_unchanged_file_changes_no_row(org_db, tmp_path):
    usage = write(tmp_path / "usage.csv", "team,tool,period,mau\nDemand Gen,HubSpot Marketing Hub,2026-01,5\nMarketing,Salesforce Sales Cloud,2026-01,9\n")
    run("ingest", org_db, "usage", usage, "--silent")
    before = content_hash(org_db, exclude=("ingests",))
    result = run("ingest", org_db, "usage", usage)
    assert "wrote 0 (0 new, 0 updated, 2 unchanged)" in result.output
    assert content_hash(org_db, exclude=("ingests",)) == before


def test_a_corrected_file_updates_rows_by_natural_key(org_db, tmp_path):
    usage = tmp_path / "usage.csv"
    write(usage, "team,tool,period,mau\nDemand Gen,HubSpot Marketing Hub,2026-01,5\nMarketing,Salesforce Sales Cloud,2026-01,9\n")
    run("ingest", org_db, "usage", usage, "--silent")
    first_ingest = rows(org_db, "select max(id) as id from ingests")[0]["id"]
    write(usage, "team,tool,period,mau\nDemand Gen,HubSpot Marketing Hub,2026-01,6\nMarketing,Salesforce Sales Cloud,2026-01,9\n")
    result = run("ingest", org_db, "usage", usage)
    assert "wrote 1 (0 new, 1 updated, 1 unchanged)" in result.output
    assert rows(org_db, "select team, active_users, ingest_id from usage order by team") == [
        {"team": "demand-gen", "active_users": 6, "ingest_id": first_ingest + 1},
        {"team": "marketing", "active_users": 9, "ingest_id": first_ingest},
    ]


def test_columns_a_file_does_not_have_are_left_alone(org_db, tmp_path):
    run("ingest", org_db, "tools", write(tmp_path / "notes.csv", "tool,notes\nSalesforce Sales Cloud,Ask Priya\n"), "--silent")
    assert rows(org_db, "select annual_cost, notes from tools where slug = 'salesforce-sales-cloud'") == [
        {"annual_cost": 30000.0, "notes": "Ask Priya"}
    ]


def test_dry_run_writes_nothing_and_says_what_would_change(org_db, tmp_path):
    usage = write(tmp_path / "usage.csv", "team,tool,period,mau\nDemand Gen,HubSpot Marketing Hub,2026-01,5\nDemand Gen,Canva,2026-01,2\n")
    before = content_hash(org_db)
    result = run("ingest", org_db, "usage", usage, "--dry-run", "--allow-new")
    assert "read 2 usage rows, would write 2 (2 new, 0 updated, 0 unchanged); would create 1 tool" in result.output
    assert content_hash(org_db) == before


def test_dry_run_of_a_bad_file_reports_its_problems_and_logs_nothing(org_db, tmp_path):
    before = content_hash(org_db)
    result = run("ingest", org_db, "usage", write(tmp_path / "usage.csv", "team,tool,period\nDemand Gen,Nope,2026-01\n"), "--dry-run", exit_code=1)
    assert 'usage.csv:2: tool: "Nope": unknown tool' in result.output
    assert content_hash(org_db) == before


def test_every_run_is_logged_in_ingests(org_db, tmp_path):
    good = write(tmp_path / "good.csv", "team,tool,period,mau\nDemand Gen,HubSpot Marketing Hub,2026-01,5\n")
    bad = write(tmp_path / "bad.csv", "team,tool,period,mau\nDemand Gen,HubSpot Marketing Hub,2026-01,many\n")
    run("ingest", org_db, "usage", good, "--silent")
    run("ingest", org_db, "usage", bad, exit_code=1)
    log = rows(org_db, "select kind, file, sha256, rows_read, rows_written, rows_rejected, status, message, started_at, finished_at from ingests order by id")
    assert [(entry["kind"], entry["file"], entry["status"]) for entry in log] == [
        ("capabilities", "taxonomy.csv", "ok"),
        ("teams", "teams.csv", "ok"),
        ("tools", "tools.csv", "ok"),
        ("usage", "good.csv", "ok"),
        ("usage", "bad.csv", "failed"),
    ]
    import hashlib

    assert log[3]["sha256"] == hashlib.sha256(good.read_bytes()).hexdigest()
    assert (log[3]["rows_read"], log[3]["rows_written"], log[3]["rows_rejected"]) == (1, 1, 0)
    assert (log[4]["rows_read"], log[4]["rows_written"], log[4]["rows_rejected"]) == (1, 0, 1)
    assert 'bad.csv:2: active_users: "many": expected a whole number' in log[4]["message"]
    assert all(entry["started_at"] <= entry["finished_at"] for entry in log)


def test_json_jsonl_tsv_and_format_override(org_db, tmp_path):
    records = [
        {"team": "Demand Gen", "tool": "HubSpot Marketing Hub", "month": "2026-01", "MAU": 5, "seats": 10.0},
        {"Team Name": "Marketing", "Application": "Salesforce Sales Cloud", "period": "Feb 2026", "active users": "9"},
    ]
    run("ingest", org_db, "usage", write(tmp_path / "a.json", json.dumps(records, indent=2)), "--silent")
    run("ingest", org_db, "usage", write(tmp_path / "b.jsonl", "\n".join(json.dumps(r) for r in records).replace("2026-01", "2026-03") + "\n"), "--silent")
    run("ingest", org_db, "usage", write(tmp_path / "c.tsv", "team\ttool\tperiod\tmau\nMarketing\tSalesforce Sales Cloud\t2026-04\t11\n"), "--silent")
    run("ingest", org_db, "usage", write(tmp_path / "d.txt", "team,tool,period,mau\nMarketing,Salesforce Sales Cloud,2026-05,12\n"), "--format", "csv", "--silent")
    assert rows(org_db, "select period, team, seats, active_users from usage order by period, team") == [
        {"period": "2026-01", "team": "demand-gen", "seats": 10, "active_users": 5},
        {"period": "2026-02", "team": "marketing", "seats": None, "active_users": 9},
        {"period": "2026-03", "team": "demand-gen", "seats": 10, "active_users": 5},
        {"period": "2026-04", "team": "marketing", "seats": None, "active_users": 11},
        {"period": "2026-05", "team": "marketing", "seats": None, "active_users": 12},
    ]


def test_unknown_extension_asks_for_a_format(org_db, tmp_path):
    result = run("ingest", org_db, "usage", write(tmp_path / "usage.txt", "team\n"), exit_code=1)
    assert "cannot tell the format from the extension '.txt'; use --format" in result.output


def test_json_errors_name_their_line(org_db, tmp_path):
    result = run("ingest", org_db, "usage", write(tmp_path / "o.json", '{"team": "x"}'), exit_code=1)
    assert "o.json:1: expected a JSON array of objects" in result.output
    broken = '{"team": "Marketing", "tool": "Salesforce Sales Cloud", "period": "2026-01"}\n{"team": \n'
    result = run("ingest", org_db, "usage", write(tmp_path / "b.jsonl", broken), exit_code=1)
    assert "b.jsonl:2: not valid JSON" in result.output
    array = '[\n  {"team": "Marketing", "tool": "Salesforce Sales Cloud", "period": "2026-01"},\n  {"team": "Marketing", "tool": "Salesforce Sales Cloud", "period": "nope"}\n]\n'
    result = run("ingest", org_db, "usage", write(tmp_path / "a.json", array), exit_code=1)
    assert 'a.json:3: period: "nope"' in result.output


def test_large_json_arrays_stream_across_buffer_boundaries(org_db, tmp_path):
    records = [{"team": team, "tool": tool, "period": period, "mau": i} for i, (team, tool, period) in enumerate(monthly_rows(3000))]
    path = write(tmp_path / "big.json", json.dumps(records, indent=4))
    assert path.stat().st_size > 4 * 65536
    result = run("ingest", org_db, "usage", path)
    assert "read 3000 usage rows, wrote 3000" in result.output
    assert rows(org_db, "select sum(active_users) as total from usage") == [{"total": sum(range(3000))}]


def test_ambiguous_dates_need_date_format(db_path, tmp_path):
    tools = write(tmp_path / "tools.csv", "tool,renewal date\nAsana,03/04/2027\n")
    result = run("ingest", db_path, "tools", tools, exit_code=1)
    assert 'tools.csv:2: renewal_date: "03/04/2027": is ambiguous' in result.output
    run("ingest", db_path, "tools", tools, "--date-format", "dmy", "--silent")
    assert rows(db_path, "select renewal_date from tools") == [{"renewal_date": "2027-04-03"}]


def test_team_parents_may_come_later_in_the_file_but_must_exist(db_path, tmp_path):
    run("ingest", db_path, "teams", write(tmp_path / "teams.csv", "team,parent\nContent,Marketing\nMarketing,\n"), "--silent")
    assert rows(db_path, "select slug, parent from teams order by slug") == [
        {"slug": "content", "parent": "marketing"}, {"slug": "marketing", "parent": None},
    ]
    result = run("ingest", db_path, "teams", write(tmp_path / "more.csv", "team,parent\nSocial,Brand\n"), exit_code=1)
    assert 'more.csv:2: parent: "Brand": unknown team: it is neither in this file nor in the database' in result.output


def test_needs_tool_capabilities_and_integrations(org_db, tmp_path):
    run("ingest", org_db, "tool-capabilities", write(tmp_path / "tc.csv", "tool,capability,primary\nHubSpot Marketing Hub,Marketing automation,yes\nhubspot marketing hub,crm,no\n"), "--silent")
    run("ingest", org_db, "needs", write(tmp_path / "needs.csv", "team,capability,priority\nDemand Gen,marketing-automation,must-have\nMarketing,CRM,\n"), "--silent")
    run("ingest", org_db, "integrations", write(tmp_path / "int.csv", "Source,Target,Data,Direction,Criticality\nHubSpot Marketing Hub,Salesforce Sales Cloud,leads,sync,critical\n"), "--silent")
    # The file is the word on HubSpot: the catalog's guess that it does email marketing went. Salesforce,
    # which the file does not list, keeps what the known-tool catalog gave it when it was ingested.
    assert rows(org_db, 'select tool, capability, "primary", source from tool_capabilities order by capability, tool') == [
        {"tool": "hubspot-marketing-hub", "capability": "crm", "primary": 0, "source": "stated"},
        {"tool": "salesforce-sales-cloud", "capability": "crm", "primary": 1, "source": "catalog"},
        {"tool": "hubspot-marketing-hub", "capability": "marketing-automation", "primary": 1, "source": "stated"},
        {"tool": "salesforce-sales-cloud", "capability": "sales-automation-enablement-and-intelligence", "primary": 0,
         "source": "catalog"},
    ]
    assert rows(org_db, "select team, capability, priority from team_needs order by team") == [
        {"team": "demand-gen", "capability": "marketing-automation", "priority": "must"},
        {"team": "marketing", "capability": "crm", "priority": "should"},
    ]
    assert rows(org_db, "select source_tool, target_tool, data, direction, criticality from integrations") == [
        {"source_tool": "hubspot-marketing-hub", "target_tool": "salesforce-sales-cloud", "data": "leads", "direction": "two-way", "criticality": "high"}
    ]
    result = run("ingest", org_db, "needs", write(tmp_path / "bad.csv", "team,capability\nMarketing,Telepathy\n"), exit_code=1)
    assert 'bad.csv:2: capability: "Telepathy": unknown capability' in result.output


def test_several_files_in_one_command(org_db, tmp_path):
    a = write(tmp_path / "jan.csv", "team,tool,period,mau\nMarketing,Salesforce Sales Cloud,2026-01,1\n")
    b = write(tmp_path / "feb.csv", "team,tool,period,mau\nMarketing,Salesforce Sales Cloud,2026-02,2\n")
    result = run("ingest", org_db, "usage", a, b)
    assert "jan.csv: read 1" in result.output and "feb.csv: read 1" in result.output
    assert rows(org_db, "select count(*) as n from usage") == [{"n": 2}]


def test_silent_prints_nothing_and_progress_is_hidden_off_a_terminal(org_db, tmp_path):
    usage = write(tmp_path / "usage.csv", "team,tool,period,mau\n" + "".join(
        f"{team},{tool},{period},{i}\n" for i, (team, tool, period) in enumerate(monthly_rows(BATCH_SIZE + 10))))
    assert run("ingest", org_db, "usage", usage, "--silent").output == ""
    result = run("ingest", org_db, "usage", usage)
    assert "%" not in result.output and "usage.csv: read" in result.output


def test_encodings_are_sniffed(org_db, tmp_path):
    text = "tool,notes\nSalesforce Sales Cloud,Café team owns it\n"
    for encoding in ("utf-8-sig", "utf-16", "cp1252"):
        path = tmp_path / f"{encoding}.csv"
        path.write_bytes(text.encode(encoding))
        run("ingest", org_db, "tools", path, "--silent")
        assert rows(org_db, "select notes from tools where slug = 'salesforce-sales-cloud'") == [{"notes": "Café team owns it"}]
        run("ingest", org_db, "tools", write(tmp_path / "reset.csv", "tool,notes\nSalesforce Sales Cloud,x\n"), "--silent")


def test_progress_bar_shows_on_a_terminal(org_db, tmp_path):
    import os
    import pty
    import subprocess
    import sys

    usage = write(tmp_path / "usage.csv", "team,tool,period,mau\n" + "".join(
        f"{team},{tool},{period},{i}\n" for i, (team, tool, period) in enumerate(monthly_rows(2 * BATCH_SIZE + 1000))))
    leader, follower = pty.openpty()
    command = [sys.executable, "-m", "stack_tracker", "ingest", str(org_db), "usage", str(usage)]
    process = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=follower, timeout=120)
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    text = shown.decode()
    assert process.returncode == 0, text
    assert "usage.csv  [" in text and "100%" in text
    assert "read 11000 usage rows" in text


def test_a_large_file_into_an_empty_table_keeps_the_tables_indexes(org_db, tmp_path):
    # Rows are staged and written in key order at the end; into a table smaller
    # than the file, the other indexes are dropped and built again after.
    def indexes():
        return rows(org_db, "select name, sql from sqlite_master where type = 'index' and tbl_name = 'usage' order by name")

    before = indexes()
    assert len(before) >= 2
    usage = write(tmp_path / "usage.csv", "team,tool,period,mau\n" + "".join(
        f"{team},{tool},{period},{i}\n" for i, (team, tool, period) in enumerate(monthly_rows(2 * BATCH_SIZE + 1000))))
    result = run("ingest", org_db, "usage", usage)
    assert f"wrote {2 * BATCH_SIZE + 1000} ({2 * BATCH_SIZE + 1000} new, 0 updated" in result.output
    assert indexes() == before
    # The months index is complete: it finds every row of a month.
    assert rows(org_db, "select count(*) as n from usage indexed by idx_usage_period where period = '1900-01'") == [{"n": 4}]
    assert rows(org_db, "select max(active_users) as most from usage") == [{"most": 2 * BATCH_SIZE + 999}]


def test_a_bad_value_is_reported_on_every_line_that_has_it(org_db, tmp_path):
    # Parsed values are remembered per spelling; problems never are.
    usage = write(tmp_path / "usage.csv", "team,tool,period,mau\n" + "".join(
        f"Marketing,HubSpot Marketing Hub,2024-{month:02d},{'lots' if month % 2 else 3}\n" for month in range(1, 7)))
    result = run("ingest", org_db, "usage", usage, exit_code=1)
    for line in (2, 4, 6):
        assert f'usage.csv:{line}: active_users: "lots": expected a whole number' in result.output
    assert "usage.csv:3:" not in result.output


def test_names_in_every_script_are_accepted_with_readable_slugs(db_path, tmp_path):
    run("ingest", db_path, "teams", write(tmp_path / "teams.csv", "team,parent\nМаркетинг,\n市场部,Маркетинг\nΠωλήσεις,\n"), "--silent")
    tools = write(
        tmp_path / "tools.csv",
        "tool,owner team\nЯндекс Метрика,Маркетинг\n百度统计,市场部\nתחזית,Πωλήσεις\nتحليلات الويب,市场部\n",
    )
    run("ingest", db_path, "tools", tools, "--silent")
    assert rows(db_path, "select slug, name, parent from teams order by name") == [
        {"slug": "πωλήσεις", "name": "Πωλήσεις", "parent": None},
        {"slug": "маркетинг", "name": "Маркетинг", "parent": None},
        {"slug": "市场部", "name": "市场部", "parent": "маркетинг"},
    ]
    assert rows(db_path, "select slug, name, owner_team from tools order by name") == [
        {"slug": "яндекс-метрика", "name": "Яндекс Метрика", "owner_team": "маркетинг"},
        {"slug": "תחזית", "name": "תחזית", "owner_team": "πωλήσεις"},
        {"slug": "تحليلات-الويب", "name": "تحليلات الويب", "owner_team": "市场部"},
        {"slug": "百度统计", "name": "百度统计", "owner_team": "市场部"},
    ]
    # Slugs, and names in another case, resolve as names do.
    usage = write(tmp_path / "usage.csv", "team,tool,period,mau\nмаркетинг,ЯНДЕКС МЕТРИКА,2026-01,4\n市场部,百度统计,2026-01,2\n")
    run("ingest", db_path, "usage", usage, "--silent")
    assert rows(db_path, "select team, tool from usage order by active_users") == [
        {"team": "市场部", "tool": "百度统计"}, {"team": "маркетинг", "tool": "яндекс-метрика"},
    ]
    # A name with no letter or digit in any script is still refused.
    result = run("ingest", db_path, "tools", write(tmp_path / "bad.csv", "tool\n!!!\n—·—\n"), exit_code=1)
    assert 'bad.csv:2: tool: "!!!": a name needs at least one letter or digit' in result.output
    assert 'bad.csv:3: tool: "—·—": a name needs at least one letter or digit' in result.output


def test_a_name_in_composed_and_decomposed_form_is_one_name(org_db, tmp_path):
    composed, decomposed = "Caf\u00e9", "Cafe\u0301"
    result = run("ingest", org_db, "tools", write(tmp_path / "tools.csv", f"tool\n{composed}\n{decomposed}\n"))
    assert "read 2 tools rows, wrote 1 (1 new, 0 updated, 1 unchanged); created 1 alias" in result.output
    assert rows(org_db, "select slug, name from tools where slug = 'cafe'") == [{"slug": "cafe", "name": composed}]
    assert rows(org_db, "select alias from tool_aliases where tool = 'cafe'") == [{"alias": composed}]
    # A new tool and team met in a usage file, in both forms: created once, and said so.
    usage = write(
        tmp_path / "usage.csv",
        "team,tool,period,mau\n"
        f"{decomposed} Crew,{decomposed} Studio,2026-01,3\n"
        f"{composed} Crew,{composed} Studio,2026-02,4\n",
    )
    result = run("ingest", org_db, "usage", usage, "--allow-new")
    assert "wrote 2 (2 new, 0 updated, 0 unchanged); created 1 tool, 1 team, 1 alias" in result.output
    assert rows(org_db, "select slug, name from tools where status = 'unreviewed'") == [{"slug": "cafe-studio", "name": "Café Studio"}]
    assert rows(org_db, "select slug, name from teams where slug = 'cafe-crew'") == [{"slug": "cafe-crew", "name": "Café Crew"}]
    # Another spelling with the same slug is the tool already made, not a second one counted.
    usage = write(tmp_path / "more.csv", "team,tool,period,mau\nMarketing,Cafe-Studio,2026-03,1\nCafe Crew!,Cafe-Studio,2026-04,1\n")
    result = run("ingest", org_db, "usage", usage, "--allow-new")
    assert "created 1 alias" in result.output and "tools" not in result.output.split("created")[1]
    assert rows(org_db, "select count(*) as n from tools where status = 'unreviewed'") == [{"n": 1}]


def test_an_alias_cannot_be_another_tool_either_way_round(org_db, tmp_path):
    before = content_hash(org_db, exclude=("ingests",))
    for alias, tool in (("Salesforce Sales Cloud", "HubSpot Marketing Hub"), ("hubspot-marketing-hub", "Salesforce Sales Cloud")):
        result = run("ingest", org_db, "aliases", write(tmp_path / "aliases.csv", f"alias,tool\n{alias},{tool}\n"), exit_code=1)
        other = "Salesforce Sales Cloud" if tool == "HubSpot Marketing Hub" else "HubSpot Marketing Hub"
        assert result.output == (
            f"Error: aliases.csv was not loaded: 1 problem\n"
            f'aliases.csv:2: alias: "{alias}": is the tool {other} itself, not another name for {tool}: '
            f"an alias can't name another tool\n"
        )
    assert content_hash(org_db, exclude=("ingests",)) == before
    # Nor can a later file turn an alias round into a circle: Hub -> HubSpot Marketing Hub, then the reverse.
    run("ingest", org_db, "aliases", write(tmp_path / "aliases.csv", "alias,tool\nHub,HubSpot Marketing Hub\n"), "--silent")
    before = content_hash(org_db, exclude=("ingests",))
    result = run("ingest", org_db, "aliases", write(tmp_path / "later.csv", "alias,tool\nHubSpot Marketing Hub,Hub\n"), exit_code=1)
    assert result.output == (
        "Error: later.csv was not loaded: 1 problem\n"
        'later.csv:2: tool: "Hub": is an alias of HubSpot Marketing Hub, not a tool: give the tool\'s own name; '
        "an alias can't point at another alias\n"
    )
    assert content_hash(org_db, exclude=("ingests",)) == before


def test_every_contradicting_line_of_an_aliases_file_is_named_and_none_loads(org_db, tmp_path):
    aliases = write(
        tmp_path / "aliases.csv",
        "alias,tool\n"
        "HS,HubSpot Marketing Hub\n"  # fine on its own
        "salesforce-sales-cloud,HubSpot Marketing Hub\n"  # another tool's slug
        "Hubby,HS\n"  # an alias of an alias given two lines up
        "SFDC,Salesforce Sales Cloud\n"  # fine on its own
        "HUBSPOT MARKETING HUB,Salesforce Sales Cloud\n",  # another tool's name, in capitals
    )
    before = content_hash(org_db, exclude=("ingests",))
    result = run("ingest", org_db, "aliases", aliases, exit_code=1)
    assert result.output == (
        "Error: aliases.csv was not loaded: 3 problems\n"
        'aliases.csv:4: tool: "HS": is an alias of HubSpot Marketing Hub, not a tool: give the tool\'s own name; '
        "an alias can't point at another alias\n"
        'aliases.csv:3: alias: "salesforce-sales-cloud": is the tool Salesforce Sales Cloud itself, not another name '
        "for HubSpot Marketing Hub: an alias can't name another tool\n"
        'aliases.csv:6: alias: "HUBSPOT MARKETING HUB": is the tool HubSpot Marketing Hub itself, not another name '
        "for Salesforce Sales Cloud: an alias can't name another tool\n"
    )
    assert content_hash(org_db, exclude=("ingests",)) == before
    assert rows(org_db, "select status from ingests order by id desc limit 1") == [{"status": "failed"}]


def test_a_circle_of_new_tools_in_one_file_is_named_where_it_closes(org_db, tmp_path):
    """With --allow-new, `X,Y` makes the tool Y; `Y,X` on the next line would make Y an alias of an alias of itself."""
    before = content_hash(org_db, exclude=("ingests",))
    result = run("ingest", org_db, "aliases", write(tmp_path / "aliases.csv", "alias,tool\nX,Y\nY,X\n"), "--allow-new",
                 exit_code=1)
    assert result.output == (
        "Error: aliases.csv was not loaded: 1 problem\n"
        'aliases.csv:3: tool: "X": is an alias of Y, not a tool: give the tool\'s own name; '
        "an alias can't point at another alias\n"
    )
    assert content_hash(org_db, exclude=("ingests",)) == before


def test_an_aliases_file_counts_its_own_rows_and_the_spellings_it_records_apart(org_db, tmp_path):
    # The tool column names one tool by its slug, a spelling not recorded yet: it is recorded too,
    # and counted as created, not among the file's rows (which once made "-1 updated").
    aliases = write(tmp_path / "aliases.csv", "Alias,Tool\nHubSpot,HubSpot Marketing Hub\nSFDC,salesforce-sales-cloud\n")
    result = run("ingest", org_db, "aliases", aliases)
    assert "read 2 aliases rows, wrote 2 (2 new, 0 updated, 0 unchanged); created 1 alias" in result.output
    assert {row["alias"] for row in rows(org_db, "select alias from tool_aliases where tool = 'salesforce-sales-cloud'")} >= {
        "SFDC", "salesforce-sales-cloud"}
    assert "wrote 0 (0 new, 0 updated, 2 unchanged)" in run("ingest", org_db, "aliases", aliases).output
