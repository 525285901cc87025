"""An organisation whose every field a person can type holds a payload.

Each field gets its own payload, so that a failing check names the field:
scripts and event handlers that would open a dialog (``alert``) or set
``window.__pwned``, ``javascript:`` addresses, a template expression, and
spreadsheet formulas for the CSV exports.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from conftest import run

TOOL = "<script>alert(1)</script>"
# Drawn as a chart label (utilisation by tool) and written into a page's script data.
CHART_TOOL = "</script><script>window.__pwned=1</script>"
VENDOR = "<img src=x onerror=alert(2)>"
CONTACT = '"><svg onload=alert(3)>'
URL = "javascript:alert(4)"
DOCS_URL = " JavaScript:window.__pwned=2"
NOTES = '<img src=x onerror="window.__pwned=3">'
TEAM = "<svg onload=alert(5)>Growth"
# A template expression: shown as typed, never evaluated (it would read 49).
OTHER_TEAM = "Ops {{7*7}} <b onmouseover=alert(6)>"
BUSINESS_UNIT = "<script>window.__pwned=4</script>"
LEAD = "'\"><img src=x onerror=alert(7)>"
CAPABILITY = "<img src=x onerror=alert(8)>"  # two tools provide it: the overlaps chart's label
GAP_CAPABILITY = "\"><iframe src=javascript:alert(9)>"  # needed, provided by nothing
CATEGORY = "</h3><script>alert(10)</script>"
DESCRIPTION = "<iframe src=\"javascript:alert(11)\"></iframe>"
NEED_NOTE = '<a href="javascript:alert(12)">why</a>'
INTEGRATION_DATA = "<script>alert(13)</script> leads"
ALIAS = "<svg/onload=alert(14)>"
FORMULA_TOOL = '=HYPERLINK("http://x","y")'
AT_TOOL = "@SUM(1)"
SAFE_URL = "https://example.com/learn"

#: Text that must show, as typed, somewhere a reader can see it.
SHOWN = [TOOL, CHART_TOOL, VENDOR, CONTACT, URL, NOTES, TEAM, OTHER_TEAM, BUSINESS_UNIT, LEAD,
         CAPABILITY, GAP_CAPABILITY, CATEGORY, DESCRIPTION, NEED_NOTE, INTEGRATION_DATA, ALIAS]
TOOLS = [TOOL, CHART_TOOL, FORMULA_TOOL, AT_TOOL]
PERIODS = ["2026-07", "2026-08", "2026-09", "2026-10"]


def write_csv(path: Path, rows: list[list[object]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as file:
        csv.writer(file).writerows(rows)
    return path


def build_hostile_org(directory: Path) -> Path:
    """The hostile organisation's database in ``directory``, with usage enough for every report."""
    db = directory / "hostile.db"
    renews = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    taxonomy = write_csv(directory / "taxonomy.csv", [
        ["capability", "category", "description"],
        [CAPABILITY, CATEGORY, DESCRIPTION],
        [GAP_CAPABILITY, CATEGORY, DESCRIPTION],
    ])
    run("init", db, "--taxonomy", taxonomy, "--silent")
    files = {
        "teams": [["team", "parent", "business unit", "headcount", "team lead"],
                  [TEAM, "", BUSINESS_UNIT, 12, LEAD],
                  [OTHER_TEAM, TEAM, BUSINESS_UNIT, 3, LEAD]],
        "tools": [["tool", "vendor", "owner team", "owner contact", "annual cost", "licenses", "renewal date",
                   "website", "docs", "notes"],
                  [TOOL, VENDOR, TEAM, CONTACT, 12000, 10, renews, URL, DOCS_URL, NOTES],
                  [CHART_TOOL, VENDOR, OTHER_TEAM, CONTACT, 6000, 10, "", SAFE_URL, SAFE_URL, NOTES],
                  [FORMULA_TOOL, VENDOR, TEAM, CONTACT, 1000, 5, "", "", "", NOTES],
                  [AT_TOOL, VENDOR, TEAM, CONTACT, 1000, 5, "", "", "", NOTES]],
        "aliases": [["alias", "tool"], [ALIAS, TOOL]],
        "tool-capabilities": [["tool", "capability", "primary"],
                              [TOOL, CAPABILITY, "yes"], [CHART_TOOL, CAPABILITY, "yes"]],
        "needs": [["team", "capability", "priority", "note"],
                  [TEAM, CAPABILITY, "must", NEED_NOTE], [TEAM, GAP_CAPABILITY, "must", NEED_NOTE],
                  [OTHER_TEAM, GAP_CAPABILITY, "could", NEED_NOTE]],
        "usage": [["team", "tool", "period", "seats", "active users"]]
                 + [[TEAM, tool, period, 10, 8 - index] for index, period in enumerate(PERIODS) for tool in TOOLS]
                 + [[OTHER_TEAM, CHART_TOOL, period, 3, 1] for period in PERIODS],
        "integrations": [["source", "target", "data", "criticality"], [TOOL, CHART_TOOL, INTEGRATION_DATA, "high"]],
    }
    for kind, rows in files.items():
        run("ingest", db, kind, write_csv(directory / f"{kind}.csv", rows), "--silent")
    return db
