"""stack-tracker summary: the two-minute read, with the same figures as the reports."""

from __future__ import annotations

import json
import re

from conftest import rows, run, write

AS_OF = "2026-11-30"


def report_json(db, name, *args):
    return json.loads(run("report", db, name, "--format", "json", *args).output)


def test_markdown_summary_shows_headline_and_planted_findings(sample_db):
    text = run("summary", sample_db, "--as-of", AS_OF).output
    stack = report_json(sample_db, "stack")[0]
    assert (stack["active_users"], stack["seats"], stack["annual_spend"]) == (612, 765, 970850.0)
    assert f"**Seat utilisation {stack['stack_utilization']:.0%}**: 612 active users on 765 seats" in text
    # Gartner's figures stand beside the measure they are: the capabilities in use.
    assert (stack["used_capabilities"], stack["paid_capabilities"]) == (49, 56)
    assert "**Capability utilisation 88%**: 49 of the 56 capabilities the organisation pays for" in text
    assert "58% (2020), 42% (2022) and 33% (2023)" in text
    assert "**Annual spend USD 970,850** on 43 tools" in text
    assert f"**Idle-seat cost USD {stack['idle_seat_cost']:,.0f} a year**" in text
    assert "other currencies converted at the rates in force since 2026-07-01" in text
    assert "not counted because" not in text  # every currency has a rate
    # The planted findings of data/sample/README.md, each with what to do.
    assert "**Adobe Creative Cloud** renews 2026-12-15 (15 days, renews automatically): 22 of 60 seats active in 2026-11 (37%). **Right-size** to 25 seats." in text
    assert "**HubSpot Marketing Hub** renews 2027-01-15 (46 days" in text and "**Renew**." in text
    assert "**Bynder** renews 2027-01-31 (62 days" in text and "**Cancel**." in text
    assert "Needs Account-based marketing but uses no tool that provides it" in text
    assert "Call analytics" in text and "Canva" in text and "Drift" in text
    assert "**Tableau**" in text  # one person holds it
    assert "| WordPress VIP | declining | 8 | -60% |" in text
    assert "| Contentful | growing | 30 | 50% |" in text


def test_summary_agrees_with_the_reports(sample_db):
    text = run("summary", sample_db, "--as-of", AS_OF).output
    for row in report_json(sample_db, "renewals", "--as-of", AS_OF):
        assert f"**{row['tool_name']}** renews {row['renewal_date']} ({row['days_left']} days" in text
    consolidation = report_json(sample_db, "consolidation")
    # Each tool once: the savings are the sum of the consolidation report's, not of the overlaps'.
    savings = sum(row["saving"] or 0 for row in consolidation)
    assert savings == sum(row["savings_ceiling"] or 0 for row in report_json(sample_db, "overlap")) == 48200
    assert f"Could go, saving up to USD {savings:,.0f} a year (each tool counted once)" in text
    for finding in ("cut", "standardise"):
        rows_of = [row for row in consolidation if row["finding"] == finding]
        for row in rows_of[:5]:
            assert f"**{row['tool_name']}** (USD {row['annual_cost']:,.0f} a year): {row['detail']}" in text
        if len(rows_of) > 5:  # the sample's 7 standardisation questions: 5 in full, then the others named
            assert f"- And {len(rows_of) - 5} more: {', '.join(row['tool_name'] for row in rows_of[5:])} (" in text
    for row in report_json(sample_db, "gaps"):
        assert row["detail"].replace("_", "\\_") in text, row


def test_team_summary(sample_db):
    text = run("summary", sample_db, "--team", "Field Marketing", "--as-of", AS_OF).output
    assert text.startswith("# Martech adoption summary: Field Marketing")
    team_tools = report_json(sample_db, "adoption-by-team", "--team", "field-marketing")
    table = [line for line in text.splitlines() if line.startswith("| ") and line.count("|") == 6][1:]
    assert len(table) == len(team_tools) == 10
    assert "| Marketo Engage | 12 | 10 | 83% | stable |" in table
    assert "**Field Marketing**: Needs Account-based marketing" in text


def test_html_summary_is_self_contained(sample_db, tmp_path):
    output = tmp_path / "summary.html"
    result = run("summary", sample_db, "--format", "html", "--as-of", AS_OF, "-o", output)
    assert f"Wrote {output}" in result.output
    html = output.read_text()
    assert html.startswith("<!DOCTYPE html>") and "<style>" in html
    assert "<script" not in html
    assert not re.search(r"""(src|href)=["']?https?:""", html)
    assert html.count("<svg") == 3 and "<polyline" in html  # two charts and the stack map
    assert "seat utilisation: 612 active users on 765 seats" in html
    assert "capability utilisation: 49 of the 56 capabilities paid for" in html
    assert "Adobe Creative Cloud</strong> renews 2026-12-15" in html


def test_user_text_is_escaped(org_db, tmp_path):
    hostile = "<script>alert(1)</script>"
    run("ingest", org_db, "tools", write(tmp_path / "t.csv", f'tool,annual cost,licenses\n"{hostile}",100,4\n'), "--silent")
    run("ingest", org_db, "usage", write(tmp_path / "u.csv", f'team,tool,period,seats,mau\nMarketing,"{hostile}",2026-01,4,1\n'), "--silent")
    html = run("summary", org_db, "--format", "html").output
    assert hostile not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    markdown = run("summary", org_db).output
    assert hostile not in markdown and "&lt;script&gt;alert(1)&lt;/script&gt;" in markdown


def test_addresses_in_user_text_are_not_links_in_markdown(org_db, tmp_path):
    names = ["Login https://evil.example/sso", "Portal www.evil.example", "Ask help@evil.example"]
    tools = "tool,annual cost,licenses\n" + "".join(f'"{name}",100,4\n' for name in names)
    usage = "team,tool,period,seats,mau\n" + "".join(f'Marketing,"{name}",2026-01,4,1\n' for name in names)
    run("ingest", org_db, "tools", write(tmp_path / "t.csv", tools), "--silent")
    run("ingest", org_db, "usage", write(tmp_path / "u.csv", usage), "--silent")
    markdown = run("summary", org_db).output
    for address in ("https://evil.example/sso", "www.evil.example", "help@evil.example"):
        assert f"`{address}`" in markdown
    # Outside code spans, which no renderer makes a link of, no address is left.
    assert "evil.example" not in re.sub(r"`[^`]*`", "", markdown)


def test_summary_without_usage_data(db_path):
    assert "No usage data yet" in run("summary", db_path).output
    assert "No usage data yet" in run("summary", db_path, "--format", "html").output


def test_summary_errors_are_for_people(sample_db):
    result = run("summary", sample_db, "--team", "Nobody", exit_code=1)
    assert "unknown team 'Nobody': the teams are" in result.output and "Field Marketing" in result.output
    result = run("summary", sample_db, "--period", "2019-01", exit_code=1)
    assert "no usage data for 2019-01: the months with data are 2025-12" in result.output


def test_summary_does_not_change_the_database(sample_db):
    before = rows(sample_db, "select count(*) as n from ingests")
    run("summary", sample_db)
    assert rows(sample_db, "select count(*) as n from ingests") == before


def test_summary_tools_table_is_the_adoption_report(sample_db):
    text = run("summary", sample_db, "--as-of", AS_OF).output
    adoption = report_json(sample_db, "adoption")
    assert len(adoption) == 43
    for row in adoption:
        cells = [row["tool_name"], "" if row["seats"] is None else row["seats"], "" if row["active_users"] is None else row["active_users"],
                 "n/a" if row["utilization"] is None else f"{row['utilization']:.0%}", row["stage"] or ""]
        assert "| " + " | ".join(map(str, cells)) + " |" in text, row


def test_the_summary_says_what_money_the_exports_found(sample_db):
    """data/sample/cards-2026-q4.csv and expenses-2026-11.csv, worked out by hand:

    outside the inventory: Canva 3 x 119.99 less a 119.99 refund = 239.98 (Brand & Creative, 2026-09 to 2026-11),
    Notion 3 x 79 = 237 (Content and Marketing Operations), Loom 15: 491.98, shown as 492;
    paid more than once: Slack 1,750 on a card beside its contract (2026-09), Hotjar 39 EUR x 1.10 = 42.90 on an
    expense claim beside its contract, Notion by two teams in 2026-11 (79 + 79): 1,950.90, shown as 1,951.
    The two are not added up: Notion's November is in both.

    Seats to take back, from the user lists of 30 November (salesforce-users-2026-11.csv, hubspot-users-2026-11.csv)
    and people.csv, at each tool's annual cost over its seats:
    HubSpot Marketing Hub, 48,000 / 30 = 1,600 a seat: 1 leaver (left 9 October, last login 7 October) and
    2 idle (last logins 2 September and 14 August, over 30 days before 30 November): 3 x 1,600 = 4,800;
    Salesforce Sales Cloud, 72,000 / 40 = 1,800 a seat: the same leaver (last login 8 October) and one
    Field Marketing user last in on 2 October: 2 x 1,800 = 3,600. The user deactivated in June holds no seat.
    In all 5 seats, 8,400 a year.
    """
    text = run("summary", sample_db, "--as-of", AS_OF).output
    assert "Software paid for outside the inventory, USD 492 so far" in text
    assert "- **Canva**: USD 240 over 3 months (2026-09 to 2026-11), paid by Brand & Creative." in text
    assert "- **Notion**: USD 237 over 2 months (2026-10 to 2026-11), paid by Content, Marketing Operations." in text
    assert "Paid more than once, USD 1,951 on cards and expense claims" in text
    assert "- **Hotjar** (2026-11): Hotjar has a contract in the inventory" in text
    html = run("summary", sample_db, "--as-of", AS_OF, "--format", "html").output
    assert "<h3>Money found</h3>" in html and "<strong>Loom</strong>: USD 15 over 1 month" in html
    headline = "USD 492 paid outside the inventory so far; USD 1,951 paid twice; USD 8,400 a year in 5 seats to take back."
    assert headline in text and f"<p>{headline}</p>" in html
    assert "Seats to take back, USD 8,400 a year" in text
    assert ("- **HubSpot Marketing Hub** (user list of 2026-11-30): 1 held by leavers, 2 idle, of 30: USD 4,800 a year.\n"
            "- **Salesforce Sales Cloud** (user list of 2026-11-30): 1 held by leavers, 1 idle, of 39: USD 3,600 a year.") in text
    # A team's summary counts only the seats its people hold: Field Marketing's one idle Salesforce seat.
    field = run("summary", sample_db, "--as-of", AS_OF, "--team", "Field Marketing").output
    assert "USD 1,800 a year in 1 seat to take back" in field and "HubSpot Marketing Hub** (user list" not in field
