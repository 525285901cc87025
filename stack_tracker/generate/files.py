"""The CSV files of the organisation, one writer per file, in the shapes of the sample's."""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import io
import math
import random
from pathlib import Path
from typing import Callable

from ..normalise import slugify
from .model import Organisation

MONTH_NAMES = tuple(calendar.month_abbr[number] for number in range(1, 13))


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> int:
    """Write ``header`` and ``rows`` to ``path`` as CSV with plain newlines; return the row count."""
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return len(rows)


def _csv_line(fields: list[object]) -> str:
    """One CSV line as `csv.writer` writes it (quoting only where needed), without the newline."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(fields)
    return buffer.getvalue()


def _month_text(month: int) -> str:
    """A month number (year * 12 + month - 1) as YYYY-MM."""
    return f"{month // 12:04d}-{month % 12 + 1:02d}"


def _money(rng: random.Random, amount: float, euro: bool) -> str:
    """An amount written the ways spreadsheets do: 42000, $48,000.00, USD 24,000, 9,000 USD, €12.000."""
    whole = int(amount)
    if euro:
        return rng.choice((str(whole), f"€{whole:,}".replace(",", "."), f"EUR {whole:,}"))
    return rng.choices((str(whole), f"${whole:,.2f}", f"USD {whole:,}", f"{whole:,} USD"), weights=(5, 3, 1, 1))[0]


def _date(rng: random.Random, day: dt.date) -> str:
    """A date written the ways spreadsheets do: 2027-01-15, Jan 15, 2027, 15.01.2027."""
    style = rng.random()
    if style < 0.7:
        return day.isoformat()
    if style < 0.85:
        return f"{MONTH_NAMES[day.month - 1]} {day.day}, {day.year}"
    return f"{day.day:02d}.{day.month:02d}.{day.year}"


def write_teams(organisation: Organisation, path: Path) -> int:
    """Write teams.csv: each team, its parent, business unit, headcount and lead; return the row count."""
    rows = [[team.name, organisation.teams[team.parent].name if team.parent is not None else "", team.business_unit,
             team.headcount, f"Head of {team.name}" if team.parent is not None else "Chief Marketing Officer"]
            for team in organisation.teams]
    rows = rows[1:2] + rows[:1] + rows[2:]  # as in the sample, the parent is not the first row
    return write_csv(path, ["Team Name", "Parent Team", "Business Unit", "Headcount", "Team Lead"], rows)


def write_tools(organisation: Organisation, path: Path) -> int:
    """Write tools.csv: the inventory, with contracts written the many ways spreadsheets do; return the row count."""
    rng = random.Random(f"{organisation.seed}:tools")
    seats: dict[int, int] = {}
    for pair in organisation.pairs:
        seats[pair.tool] = seats.get(pair.tool, 0) + pair.seats
    last_day = dt.date(organisation.last_month // 12, organisation.last_month % 12 + 1,
                       calendar.monthrange(organisation.last_month // 12, organisation.last_month % 12 + 1)[1])
    rows = []
    for index, tool in enumerate(organisation.tools):
        if not tool.in_inventory:
            continue
        owner = organisation.teams[tool.owner]
        contact = f"{slugify(owner.name)}@example.com" if rng.random() < 0.6 else f"{owner.name} ops lead"
        free = tool.role == "regular" and rng.random() < 0.08
        purchased = seats.get(index) or rng.randint(5, 50)  # a blind spot has no usage to count seats from
        purchased = round(purchased * rng.uniform(1.0, 1.4)) if tool.role != "single-user" else purchased
        euro = rng.random() < 0.04
        if free:
            cost = currency = billing = start = renewal = auto_renew = ""
            purchased_text = ""
        else:
            per_seat = min(5000.0, max(5.0, math.exp(rng.gauss(math.log(250), 1.0))))
            amount = max(500, round(purchased * per_seat, -2))
            cost = _money(rng, amount, euro)
            currency = "EUR" if euro else rng.choice(("USD", "USD", ""))
            billing = rng.choices(("annual", "multi-year", "monthly", "quarterly", "usage-based"),
                                  weights=(70, 10, 10, 5, 5))[0]
            renews = last_day + dt.timedelta(days=rng.randint(1, 365))
            term = 3 if billing == "multi-year" else 1
            begun = renews - dt.timedelta(days=365 * term - 1)
            start, renewal = _date(rng, begun), _date(rng, renews)
            auto_renew = rng.choice(("yes", "yes", "no"))
            purchased_text = purchased
        website = "" if tool.product else f"https://{slugify(tool.name)}.example.com/"
        docs = "" if tool.product or rng.random() < 0.5 else f"https://docs.example.com/{slugify(tool.name)}"
        note = {"retiring": "Being replaced; not renewing", "trial": "Pilot with one team",
                "retired": "Contract ended"}.get(tool.status, "")
        rows.append([tool.name, tool.vendor, tool.status, owner.name, contact, cost, currency, purchased_text,
                     billing or "free", start, renewal, auto_renew, website, docs, note])
    header = ["Tool", "Vendor", "Status", "Owner Team", "Owner Contact", "Annual Cost", "Currency", "Licenses",
              "Billing Cycle", "Contract Start", "Renewal Date", "Auto Renew", "Website", "Docs", "Notes"]
    return write_csv(path, header, rows)


def write_aliases(organisation: Organisation, path: Path) -> int:
    """Write aliases.csv: the other names some teams use for a tool; return the row count."""
    rows = [[tool.alias, tool.name] for tool in organisation.tools if tool.alias]
    return write_csv(path, ["Alias", "Tool"], rows)


def write_capabilities(organisation: Organisation, path: Path) -> int:
    """Write tool-capabilities.csv: what each inventory tool does, the primary marked; return the row count."""
    rows = [[tool.name, organisation.capabilities[index], "yes" if index == tool.primary else "no"]
            for tool in organisation.tools if tool.in_inventory for index in tool.capabilities]
    return write_csv(path, ["tool", "capability", "primary"], rows)


def write_needs(organisation: Organisation, path: Path) -> int:
    """Write needs.csv: the capabilities each team asked for, with priority and note; return the row count."""
    rows = [[team.name, organisation.capabilities[index], priority, note]
            for team in organisation.teams for index, priority, note in team.needs]
    return write_csv(path, ["Team", "Capability", "Priority", "Note"], rows)


def write_integrations(organisation: Organisation, path: Path) -> int:
    """Write integrations.csv: the data flows between tools, named by name or alias; return the row count."""
    rng = random.Random(f"{organisation.seed}:integrations")
    rows = [[_spelling(organisation, rng, source), _spelling(organisation, rng, target), data, direction, criticality]
            for source, target, data, direction, criticality in organisation.integrations]
    return write_csv(path, ["Source", "Target", "Data", "Direction", "Criticality"], rows)


def _spelling(organisation: Organisation, rng: random.Random, index: int) -> str:
    tool = organisation.tools[index]
    return tool.alias if tool.alias and rng.random() < 0.4 else tool.name


def write_usage(organisation: Organisation, path: Path, rng: random.Random, advance: Callable[[int], None]) -> int:
    """Write usage.csv: one row per team, tool and month, month by month; the figures drift, ramp up and go idle.

    ``advance(rows)`` is called after each month; returns the row count.
    """
    shapes = _usage_shapes(organisation, rng)
    random_number = rng.random
    written = 0
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write("Team Name,Application,Month,Licenses,MAU,Usage Level\n")
        for month in range(organisation.months):
            absolute = organisation.first_month + month
            iso = _month_text(absolute) + ","
            named = f"{MONTH_NAMES[absolute % 12]} {absolute // 12},"
            lines = []
            append = lines.append
            for prefix, month_names, start, stop, idle_from, seats, expected, ramp, trend, single_user in shapes:
                if month < start or month >= stop:
                    continue
                if month >= idle_from:
                    active = 0
                elif single_user:
                    active = 1
                else:
                    age = month - start
                    grown = (1.0 if age >= ramp else (age + 1) / ramp) * (1 + trend * age)
                    active = int(expected * grown * (0.85 + 0.3 * random_number()) + 0.5)
                    active = seats if active > seats else active or 1
                level = 0 if active == 0 else 1 + 4 * active // (seats + 1)  # 1 to 4: active <= seats
                append(f"{prefix}{named if month_names else iso}{seats},{active},{level}\n")
            out.write("".join(lines))
            written += len(lines)
            advance(len(lines))
    return written


def _usage_shapes(organisation: Organisation, rng: random.Random) -> list[tuple]:
    """Each pair's figures as a plain tuple, led by "Team,Tool spelling," as the team writes it.

    Tuples rather than the `Pair` itself: the loop over them runs once per usage row.
    """
    shapes = []
    for pair in organisation.pairs:
        tool, team = organisation.tools[pair.tool], organisation.teams[pair.team]
        spelling = tool.name
        # Only inventory tools: a tool the usage file introduces is named as first written.
        if tool.in_inventory and rng.random() < 0.12:
            variants = [tool.name.lower(), tool.name + " ", tool.name.replace(" ", "  ", 1)]
            spelling = rng.choice(variants + [tool.alias] * 2 if tool.alias else variants)
        shapes.append((_csv_line([team.name, spelling]) + ",", team.month_names, pair.start, pair.stop, pair.idle_from,
                       pair.seats, pair.expected_active, pair.ramp, pair.trend, tool.role == "single-user"))
    return shapes
