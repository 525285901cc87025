"""The adoption summary: a page a leader reads in two minutes.

Every figure comes from a report (`reports.run_report`); this module only picks
which rows to show, and the templates in ``templates/summary.*.j2`` lay them
out. The HTML is one self-contained file: inline CSS, charts drawn here as
inline SVG, no JavaScript, every piece of user text escaped.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import jinja2
import sqlite_utils
from markupsafe import Markup, escape

from ..database.names import slug_for
from ..errors import StackTrackerError
from ..resources import resource
from .registry import run_report

FORMATS = ("markdown", "html")

# Gartner's marketing technology surveys: the share of their martech stack's
# capabilities that organisations said they use. The stack report's
# capability utilisation is that measure; seat utilisation is another one.
SURVEY_UTILIZATION = ((2020, 0.58), (2022, 0.42), (2023, 0.33))

TREND_PERIODS = 12
# The order gaps are shown in: what a team cannot do first, housekeeping last.
GAP_KINDS = ("team-gap", "org-gap", "shelfware", "unused-seats", "shadow-it", "blind-spot")
TOP_FINDINGS = 5


def resolve_team(db: sqlite_utils.Database, team: str | None) -> str | None:
    """A team's slug from its name or slug; an error suggesting the closest teams if unknown."""
    return None if team is None else slug_for(db, "team", team)


def usage_periods(db: sqlite_utils.Database) -> list[str]:
    """Every month with usage data, oldest first."""
    return [row[0] for row in db.execute("select distinct period from usage order by period")]


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None
    text: str


def bar_chart(bars: list[Bar], *, maximum: float = 1.0, width: int = 560) -> Markup:
    """Horizontal bars as inline SVG; labels are escaped."""
    row, label_width, bar_width = 22, 190, width - 190 - 70
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{row * len(bars) + 4}" '
        f'role="img" class="chart" viewBox="0 0 {width} {row * len(bars) + 4}">'
    ]
    for index, bar in enumerate(bars):
        y = index * row + 2
        length = 0 if not bar.value or not maximum else max(1, round(bar_width * min(bar.value, maximum) / maximum))
        parts.append(
            f'<text x="{label_width - 8}" y="{y + 15}" text-anchor="end">{escape(bar.label)}</text>'
            f'<rect x="{label_width}" y="{y + 3}" width="{length}" height="{row - 8}" rx="2" class="bar"/>'
            f'<text x="{label_width + length + 6}" y="{y + 15}">{escape(bar.text)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(points: list[tuple[str, float | None]], *, width: int = 560, height: int = 160) -> Markup:
    """A line over months as inline SVG, 0–100% on the vertical axis."""
    known = [(label, value) for label, value in points if value is not None]
    left, bottom, top = 36, height - 24, 10
    step = (width - left - 10) / max(len(known) - 1, 1)
    y = lambda value: bottom - (bottom - top) * value  # noqa: E731
    coordinates = " ".join(f"{left + i * step:.1f},{y(value):.1f}" for i, (_, value) in enumerate(known))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" class="chart" '
        f'viewBox="0 0 {width} {height}">',
    ]
    for share in (0, 0.5, 1):
        parts.append(f'<line x1="{left}" x2="{width - 10}" y1="{y(share):.1f}" y2="{y(share):.1f}" class="grid"/>'
                     f'<text x="{left - 4}" y="{y(share) + 4:.1f}" text-anchor="end">{share:.0%}</text>')
    if known:
        parts.append(f'<polyline points="{coordinates}" class="line"/>')
        for i, (label, value) in enumerate(known):
            if i in (0, len(known) - 1) or len(known) <= 6:
                parts.append(f'<text x="{left + i * step:.1f}" y="{height - 6}" text-anchor="middle">{escape(label)}</text>')
            parts.append(f'<circle cx="{left + i * step:.1f}" cy="{y(value):.1f}" r="3" class="dot"><title>{escape(label)}: {value:.0%}</title></circle>')
    parts.append("</svg>")
    return Markup("".join(parts))


def summary_context(
    db: sqlite_utils.Database, *, team: str | None = None, period: str | None = None, as_of: str | None = None
) -> dict:
    """Everything the summary templates show, read from the reports."""
    team = resolve_team(db, team)
    periods = usage_periods(db)
    if period and period not in periods:
        raise StackTrackerError(f"no usage data for {period}: the months with data are {', '.join(periods) or '(none yet)'}")
    period = period or (periods[-1] if periods else None)
    previous = periods[periods.index(period) - 1] if period and periods.index(period) > 0 else None
    as_of = as_of or dt.date.today().isoformat()

    def report(name: str, **options) -> list[dict]:
        return run_report(db, name, period=options.pop("period", period), team=team, **options)

    stack = report("stack")[0]
    previous_stack = report("stack", period=previous)[0] if previous else None
    trend = [(month, report("stack", period=month)[0]["stack_utilization"]) for month in periods[-TREND_PERIODS:]]
    adoption = report("adoption-by-team" if team else "adoption")
    movers = sorted((row for row in adoption if row["stage"] in ("growing", "declining", "new", "dormant")),
                    key=lambda row: -abs(row["change"] or 0))
    busiest = sorted((row for row in adoption if row["utilization"] is not None), key=lambda row: -(row["seats"] or 0))
    # One row per tool that could go: summed, each tool's cost counts once.
    consolidation = report("consolidation")
    overlaps = [row for row in report("overlap") if row["kind"] == "overlap"]
    findings = {
        "renewals": report("renewals", as_of=as_of),
        "overlap": overlaps,
        "cuts": [row for row in consolidation if row["finding"] == "cut"],
        "savings": sum(row["saving"] or 0 for row in consolidation),
        "standardise": [row for row in consolidation if row["finding"] == "standardise"],
        "partly": [row for row in overlaps if row["overlaps_partly"]][:TOP_FINDINGS],
        "gaps": report("gaps"),
        "concentration": report("concentration")[:TOP_FINDINGS],
        # Money found: software paid outside the inventory, paid twice (card and expense exports),
        # and seats to take back (vendors' user exports, each judged on its own day).
        "unmanaged": run_report(db, "unmanaged-spend", team=team),
        "duplicates": run_report(db, "duplicate-subscriptions", team=team),
        "reclaim": [row for row in run_report(db, "reclaim", team=team) if row["reclaimable_seats"]],
    }
    findings["unmanaged_total"] = sum(row["amount"] or 0 for row in findings["unmanaged"])
    findings["duplicates_total"] = sum(row["amount"] or 0 for row in findings["duplicates"])
    findings["reclaim_seats"] = sum(row["reclaimable_seats"] for row in findings["reclaim"])
    findings["reclaim_total"] = sum(row["reclaimable_cost"] or 0 for row in findings["reclaim"])
    team_row = db.execute("select name, lead, headcount from teams where slug = ?", [team]).fetchone() if team else None
    return {
        "team": team,
        "team_name": team_row[0] if team_row else None,
        "team_lead": team_row[1] if team_row else None,
        "period": period,
        "previous": previous,
        "as_of": as_of,
        "stack": stack,
        "previous_stack": previous_stack,
        "survey": SURVEY_UTILIZATION,
        "adoption": adoption,
        "movers": movers[:TOP_FINDINGS * 2],
        "findings": findings,
        "top": TOP_FINDINGS,
        "gap_kinds": [kind for kind in GAP_KINDS if any(row["kind"] == kind for row in findings["gaps"])],
        "trend": trend,
        "trend_chart": line_chart(trend),
        "utilization_chart": bar_chart([
            Bar(row["tool_name"], row["utilization"], f"{row['utilization']:.0%} of {row['seats']}") for row in busiest[:12]
        ]),
    }


def render(context: dict, fmt: str) -> str:
    """The summary in ``fmt`` (markdown or html) from `summary_context`."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(resource("templates")),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    environment.filters["money"] = lambda value: "" if value is None else f"{value:,.0f}"
    environment.filters["percent"] = lambda value: "n/a" if value is None else f"{value:.0%}"
    environment.filters["md"] = markdown_text
    return environment.get_template(f"summary.{'md' if fmt == 'markdown' else 'html'}.j2").render(**context)


#: What Markdown would read as markup in user text, and how to write it as plain text.
MARKDOWN_ESCAPES = (("\\", "\\\\"), ("<", "&lt;"), (">", "&gt;"), ("|", "\\|"), ("[", "\\["), ("]", "\\]"),
                    ("*", "\\*"), ("_", "\\_"), ("`", "\\`"))
#: Words a Markdown renderer would make a link of (GitHub's autolinks and more): schemes, www., e-mail addresses.
LINKABLE = re.compile(r"((?:[A-Za-z][A-Za-z0-9+.-]*:/{1,3}|www\.)\S+|\S+@\S+|\b(?:mailto|javascript|data|file):\S+)",
                      re.IGNORECASE)


def markdown_text(value: object) -> str:
    """User text made inert in Markdown: no HTML, no table breaks, no links.

    Renderers turn a bare address (``https://…``, ``www.…``, ``name@host``)
    into a link; such words are written as code, which no renderer follows.
    """
    text = " ".join(("" if value is None else str(value)).split())
    parts = []
    for number, part in enumerate(LINKABLE.split(text)):
        if number % 2:
            parts.append("`" + part.replace("`", "'").replace("|", "\\|") + "`")
            continue
        for char, replacement in MARKDOWN_ESCAPES:
            part = part.replace(char, replacement)
        parts.append(part)
    return "".join(parts)


def summary(db: sqlite_utils.Database, *, team: str | None = None, period: str | None = None,
            as_of: str | None = None, fmt: str = "markdown", stack_map: str | None = None) -> str:
    """The adoption summary for the organisation, or for one team; with ``stack_map``, the stack map
    drawn by the caller (the SVG itself for HTML, the name of its image file for Markdown)."""
    context = summary_context(db, team=team, period=period, as_of=as_of)
    context["stack_map"] = Markup(stack_map) if stack_map and fmt == "html" else stack_map
    return render(context, fmt)
