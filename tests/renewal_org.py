"""A small organisation with contracts, for the renewal calendar and the reminders.

Every date below is worked out by hand, as of 2025-01-15, a Wednesday. Days from
2025-01-15: to Jan 31 is 16, then Feb 28 (44), Mar 31 (75), Apr 30 (105), May 31
(136), Jun 30 (166), Jul 31 (197), Aug 31 (228), Sep 30 (258); a year on, 2026-01-15,
is 365, and 400 days reach 2026-02-19.

    tool        owner          renews      auto cycle    notice    next renewal  cancel by    days left / to cancel by
    Delta Chat  -              2024-11-20  yes  monthly  30 days   2025-01-20    2024-12-21   5 / -25   (two cycles on; notice passed)
    Alpha CRM   Marketing Ops  2025-03-31  no            1 month   2025-03-31    2025-02-28   75 / 44
    Bravo Mail  Marketing Ops  2025-06-15  no            3 months  2025-06-15    2025-03-15   151 / 59
    Acme …      -              2025-04-30  no            2 weeks   2025-04-30    2025-04-16   105 / 91  (14 days)
    Echo Ads    Brand          2025-09-30  no            1 month   2025-09-30    2025-08-30   258 / 227 (retiring)
    Foxtrot     -              2026-03-31  no            -         440 days away, past the calendar's 400: left out

The renewals report lists them by the earlier of the two dates: Delta (2024-12-21),
Alpha (02-28), Bravo (03-15), Acme (04-16), Echo (08-30).

Usage in 2024-12, the latest month: Alpha 5 of 20 seats active (25%, under the 80% floor:
right-size to 5 x 1.1 = 5.5, so 6 seats); Bravo 45 of 50 (90%: renew); Echo 3 of 12 (but
retiring: cancel). Delta and Acme have no usage: no recommendation, "find out who uses it".
Alpha costs 12,000 USD for 20 seats: 600 a seat; Bravo states 120 a seat.
"""

from __future__ import annotations

from pathlib import Path

from conftest import run, write

AS_OF = "2025-01-15"
HOSTILE_NAME = 'Acme, Inc.; "Ops"\nLine \\ 🚀'
TEAMS = "team\nMarketing Ops\nBrand\n"
TOOLS = """tool,status,owner team,annual cost,currency,licenses,renewal date,auto renew,billing cycle,notice period,price per seat
Alpha CRM,active,Marketing Ops,12000,USD,20,2025-03-31,no,annual,1 month,
Bravo Mail,active,Marketing Ops,6000,EUR,50,2025-06-15,no,annual,3 months,120
Delta Chat,active,,600,USD,5,2024-11-20,yes,monthly,30 days,
Echo Ads,retiring,Brand,2400,USD,12,2025-09-30,no,annual,1 month,
"Acme, Inc.; ""Ops""
Line \\ 🚀",active,,1000,EUR,5,2025-04-30,no,annual,2 weeks,
Foxtrot,active,,100,USD,1,2026-03-31,no,annual,,
"""
USAGE = """team,tool,period,seats,active users
Marketing Ops,Alpha CRM,2024-12,20,5
Marketing Ops,Bravo Mail,2024-12,50,45
Brand,Echo Ads,2024-12,12,3
"""


def build(db_path: Path, folder: Path) -> Path:
    """Load the organisation into the database at ``db_path`` (made by the ``db_path`` fixture)."""
    run("ingest", db_path, "teams", write(folder / "teams.csv", TEAMS), "--silent")
    run("ingest", db_path, "tools", write(folder / "tools.csv", TOOLS), "--silent")
    run("ingest", db_path, "usage", write(folder / "usage.csv", USAGE), "--silent")
    return db_path
