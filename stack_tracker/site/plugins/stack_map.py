"""The stack map: every tool of the stack on one 16:9 page, as SVG, and the site's ``/stack-map``.

One drawing for every reader: `stack-tracker map` writes what `stack_map_svg`
returns, the summary embeds it, and this Datasette plugin serves the same
picture at ``/stack-map.svg`` and on the page ``/stack-map``. All of them hand
it the rows of the ``stack-map`` report, the one SQL definition of what each
tile says (category, owner, cost, utilisation band, marks): nothing here
judges a tool, it only lays the rows out.

The layout: the groups (the category of each tool's main capability, or its
owner team; tools not reviewed apart) share the page as a squarified treemap
weighted by annual cost, and each group's tiles share its box the same way:
boxes that split a rectangle, so nothing overlaps by construction. A tile's
area grows with the square root of its cost (linear, one tool of millions
would leave the long tail no room to be read), with a floor: half an average.

Text is fitted, never cut: its width is worked out from the advance widths of
Liberation Sans (metric-compatible with Arial and Helvetica, which `FONT_FAMILY`
asks for), with a margin; a name is wrapped at spaces, written smaller down to
`MIN_FONT_SIZE`, then shortened with an ellipsis; a tile too small shows no
text. The full name is always in the tile's ``<title>``. No font is embedded:
it would add hundreds of kilobytes to every summary, and every system has one
of these three.

Copied into every published site beside ``stack_site.py``, where stack-tracker
is not installed: it imports only the standard library and pluggy, so that the
command line can import it without loading Datasette.
"""

# No ``from __future__ import annotations``: Datasette loads this file as a module that is not in
# sys.modules, where dataclasses cannot resolve annotations written as strings.
import datetime as dt
import math
import re
import sqlite3
import urllib.parse
from collections import defaultdict
from dataclasses import dataclass
from xml.sax.saxutils import escape

import pluggy

hookimpl = pluggy.HookimplMarker("datasette")

PLUGIN = "stack-tracker"
MAP_REPORT = "stack_map"
PAGE_PATH = "/stack-map"
SVG_PATH = "/stack-map.svg"
PAGE_WIDTH, PAGE_HEIGHT = 1600, 900
GROUPINGS = ("category", "team")
FONT_FAMILY = "'Liberation Sans', Arial, Helvetica, sans-serif"
MAX_FONT_SIZE, MIN_FONT_SIZE = 15, 7
LINE_HEIGHT = 1.18
#: Measured widths are rounded up by this much, for a renderer whose substitute font runs a little wider.
WIDTH_MARGIN = 1.06
UNREVIEWED = "Not reviewed (shadow IT)"
NO_OWNER = "No owner"
#: The fill of each ``utilization_band`` the report gives a tool, from the most used down.
BAND_FILLS = {"high": "#9ad7a9", "medium": "#ffd98a", "low": "#f5a9a3", "unknown": "#d5dbe1"}


def band_legend(rows: list[dict]) -> list[tuple[str, str]]:
    """(words, fill) of each band, at the thresholds the report applied (no rows: its defaults)."""
    low, high = (rows[0]["low_utilization"], rows[0]["high_utilization"]) if rows else (0.4, 0.7)
    words = (f"{high:.0%} or more of seats used", f"{low:.0%} to under {high:.0%}", f"under {low:.0%}", "no usage data")
    return list(zip(words, BAND_FILLS.values()))
#: (report column, letter, legend words, colour): the marks a tile may carry.
MARKS = (
    ("cut", "C", "cut candidate: kept tools do all its jobs", "#6741a8"),
    ("shelfware", "S", "shelfware: nobody used it for months", "#8a5a2b"),
    ("shadow_it", "!", "shadow IT", "#b42318"),
    ("renewing", "R", "renewal or notice due within 90 days", "#1f5fbf"),
)
#: Advance widths of Liberation Sans in thousandths of an em (the wider of regular and bold); others count 1000.
_WIDTH_GROUPS = {
    237: "'", 277: " ,./I\\ijl\xa0·ÌÍÎÏìíîïĨĩĪīĬĭĮįİıĵĺļłſ‘’", 279: "|¦", 333: "!()-:;[]`ft¡¨\xad²³´¸¹ţŧ", 350: "•",
    365: "º", 370: "ª", 385: "ľ", 389: "*r{}ŕŗř", 399: "°", 474: '"', 479: "ŀť", 500: "zźżž“”", 548: "±÷", 552: "¯",
    556: "#$0123456789J_aceksvxy¢£¤¥§«¶»àáâãäåçèéêëýÿāăąćĉċčēĕėęěĳĴķĸśŝşšŷ–€",
    576: "µ", 583: "+<=>^~¬×", 610: "?FLTZbdghnopqu¿ßðñòóôõöøùúûüþđĝğġģĥħĹĻĽĿŁńņňŋōŏőŢŤŦũūŭůűųŹŻŽ",
    666: "EPSVXYÈÉÊËÝÞĒĔĖĘĚŚŜŞŠŶŸ", 708: "ŉ", 718: "ď", 722: "&ABCDHKNRUÀÁÂÃÄÅÇÐÑÙÚÛÜĀĂĄĆĈĊČĎĐĤĦĶŃŅŇŔŖŘŨŪŬŮŰŲ",
    723: "Ŋ", 736: "©®", 777: "GOQwÒÓÔÕÖØĜĞĠĢŌŎŐŵ", 784: "Ĳ", 833: "M¼½¾", 889: "%mæ", 943: "WœŴ",
    1000: "ÆŒ…—", 1015: "@",
}
CHAR_WIDTHS = {char: width for width, chars in _WIDTH_GROUPS.items() for char in chars}
#: Characters XML 1.0 does not allow, and line breaks: a name is drawn on the lines the layout chooses.
_UNWRITABLE = re.compile(r"[\x00-\x1f\x7f\ufffe\uffff\ud800-\udfff]")
#: The latest month with usage data on or before a day's month: the month a map of that day reads.
PERIOD_SQL = "select max(period) from tool_period_summary where period <= :month"
TEAM_NAME_SQL = ("select name from teams where slug = (select slug from spellings where kind = 'team' "
                 "and spelling = lower(trim(:team)) order by preference limit 1)")


def text_width(text: str, size: float) -> float:
    """How wide ``text`` is at font ``size`` (pixels), rounded up by `WIDTH_MARGIN`."""
    return sum(CHAR_WIDTHS.get(char, 1000) for char in text) * size / 1000 * WIDTH_MARGIN


def plain(value) -> str:
    """User text on one line, with nothing XML cannot hold."""
    return " ".join(_UNWRITABLE.sub(" ", "" if value is None else str(value)).split())


def shorten(text: str, width: float, size: float) -> str:
    """``text``, or as much of it as fits ``width`` with an ellipsis; '' if not even one letter does."""
    if text_width(text, size) <= width:
        return text
    while text and text_width(text.rstrip() + "…", size) > width:
        text = text[:-1]
    return text.rstrip() + "…" if text.strip() else ""


def wrap(text: str, width: float, size: float, max_lines: int) -> list[str] | None:
    """``text`` on at most ``max_lines`` lines of ``width``, broken at spaces; None if it needs more."""
    lines: list[str] = []
    for word in text.split(" "):
        if lines and text_width(f"{lines[-1]} {word}", size) <= width:
            lines[-1] += f" {word}"
        elif text_width(word, size) <= width:
            lines.append(word)
        else:
            return None
    return lines if len(lines) <= max_lines else None


def fit_text(text: str, width: float, height: float, *, largest: float = MAX_FONT_SIZE,
             smallest: float = MIN_FONT_SIZE) -> tuple[float, list[str]]:
    """The font size and lines that show ``text`` in a ``width`` × ``height`` box: whole if it can be,
    largest first; else shortened at the smallest size. ``(0, [])`` when no letter fits."""
    size = min(largest, height / LINE_HEIGHT) if text else 0
    while size >= smallest:
        lines = wrap(text, width, size, int(height // (size * LINE_HEIGHT)))
        if lines:
            return size, lines
        size -= 1
    size = smallest
    max_lines = int(height // (size * LINE_HEIGHT)) if text else 0
    lines: list[str] = []
    for word in text.split(" ") if max_lines > 1 else [text]:  # on one line: as much of the whole name as fits
        if lines and text_width(f"{lines[-1]} {word}", size) <= width:
            lines[-1] += f" {word}"
        else:
            lines.append(word)
    kept = lines[:max_lines]
    if kept and len(lines) > max_lines:
        kept[-1] += "…"
    shown = []
    for line in kept:  # up to the first line that had to be shortened: the name is read in order
        shown.append(shorten(line, width, size))
        if shown[-1] != line:
            break
    kept = [line for line in shown if line.rstrip("…").strip()]
    return (size, kept) if kept else (0, [])


@dataclass(frozen=True)
class Box:
    """A rectangle on the page, in pixels."""

    x: float
    y: float
    w: float
    h: float

    def inset(self, by: float) -> "Box":
        return Box(self.x + by, self.y + by, max(self.w - 2 * by, 0), max(self.h - 2 * by, 0))


def _worst(areas: list[float], side: float) -> float:
    return max(max(areas) * side * side / sum(areas) ** 2, sum(areas) ** 2 / (side * side * min(areas)))


def squarify(weights: list[float], box: Box) -> list[Box]:
    """Boxes that split ``box`` in proportion to ``weights`` (largest first), each as square as it can be
    (Bruls, Huizing and van Wijk's squarified treemap). They tile the box: none overlaps another."""
    total = sum(weights)
    if not weights or total <= 0 or box.w <= 0 or box.h <= 0:
        return [Box(box.x, box.y, 0, 0) for _ in weights]
    areas = [weight * box.w * box.h / total for weight in weights]
    boxes, x, y, w, h, index = [], box.x, box.y, box.w, box.h, 0
    while index < len(areas):
        side = min(w, h)
        row = [areas[index]]
        index += 1
        while index < len(areas) and _worst(row + [areas[index]], side) <= _worst(row, side):
            row.append(areas[index])
            index += 1
        # The last row takes what is left exactly, whatever rounding did.
        row_total = w * h if index == len(areas) else sum(row)
        scale = row_total / sum(row)
        if w >= h:
            column, top = row_total / h, y
            for area in row:
                boxes.append(Box(x, top, column, area * scale / column))
                top += area * scale / column
            x, w = x + column, w - column
        else:
            band, left = row_total / w, x
            for area in row:
                boxes.append(Box(left, y, area * scale / band, band))
                left += area * scale / band
            y, h = y + band, h - band
    return boxes


@dataclass(frozen=True)
class Tile:
    row: dict
    box: Box


@dataclass(frozen=True)
class Group:
    name: str
    box: Box
    tiles: list[Tile]


def group_name(row: dict, by: str) -> str:
    """The group a tool's tile goes in: its category or its owner, or the group of tools not reviewed."""
    if row.get("status") == "unreviewed":
        return UNREVIEWED
    if by == "team":
        return plain(row.get("owner_team_name") or row.get("owner_team")) or NO_OWNER
    return plain(row.get("category")) or "Uncategorised"


def tool_name(row: dict) -> str:
    return plain(row.get("tool_name") or row.get("tool")) or "?"


def layout(rows: list[dict], by: str, area: Box, *, header: float = 18, gap: float = 3) -> list[Group]:
    """Groups and their tiles on ``area``: a treemap of groups, each a treemap of its tools by annual cost."""
    if by not in GROUPINGS:
        raise ValueError(f"expected one of {', '.join(GROUPINGS)}, not {by!r}")
    if not rows:
        return []
    costs = [math.sqrt(max(row.get("annual_cost") or 0, 0)) for row in rows]
    floor = sum(costs) / len(rows) / 2 or 1
    weighted = sorted(((max(cost, floor), row) for cost, row in zip(costs, rows)),
                      key=lambda pair: (-pair[0], tool_name(pair[1]).lower(), pair[1]["tool"]))
    members = defaultdict(list)
    for weight, row in weighted:
        members[group_name(row, by)].append((weight, row))
    names = sorted(members, key=lambda name: (-sum(weight for weight, _ in members[name]), name))
    groups = []
    for name, box in zip(names, squarify([sum(weight for weight, _ in members[name]) for name in names], area)):
        inner = box.inset(gap / 2)
        # A group too short for its heading keeps all its height for tiles.
        top = header if inner.h >= header * 3 else 0
        body = Box(inner.x, inner.y + top, inner.w, max(inner.h - top, 0)).inset(1)
        boxes = squarify([weight for weight, _ in members[name]], body)
        groups.append(Group(name, inner, [Tile(row, tile.inset(1)) for (_, row), tile in zip(members[name], boxes)]))
    return groups


def money(amount, currency: str | None) -> str:
    """``48000, "EUR"`` as ``48k EUR``: a tile has room for little."""
    if amount is None:
        return ""
    limit, suffix = next(((limit, suffix) for limit, suffix in ((1e6, "M"), (1e3, "k")) if amount >= limit), (1, ""))
    figure = f"{amount / limit:.1f}".rstrip("0").rstrip(".") + suffix
    return f"{figure} {currency}" if currency else figure


def describe(row: dict, group: str) -> str:
    """The tooltip of a tile: the full name and everything the tile shows in signs."""
    parts = [tool_name(row), group]
    if row.get("annual_cost") is not None:
        parts.append(f"{row['annual_cost']:,.0f} {row.get('currency') or ''} a year".replace("  ", " "))
    if row.get("utilization") is not None:
        parts.append(f"{row['utilization']:.0%} of seats used ({row.get('active_users') or 0} of {row.get('seats') or 0})")
    else:
        parts.append("no usage data")
    for column, _, words, _ in MARKS:
        if row.get(column):
            parts.append(words + (f" (in {row['renews_in_days']} days)" if column == "renewing" and
                                  row.get("renews_in_days") is not None else ""))
    return plain(" · ".join(parts))


def _number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _text(x: float, y: float, size: float, lines: list[str], *, cls: str, weight: str = "normal",
          fill: str = "#1f2933", anchor: str = "start") -> str:
    """Lines of text from a baseline at ``(x, y)``; each line already fits its box."""
    spans = "".join(f'<tspan x="{_number(x)}" y="{_number(y + index * size * LINE_HEIGHT)}">{escape(line)}</tspan>'
                    for index, line in enumerate(lines))
    return (f'<text class="{cls}" font-size="{_number(size)}" font-weight="{weight}" fill="{fill}" '
            f'text-anchor="{anchor}">{spans}</text>')


def _marks(row: dict, box: Box) -> tuple[list[str], float]:
    """The badges of a tile's marks in its bottom-right corner, and the height they take."""
    shown = [(letter, colour, words) for column, letter, words, colour in MARKS if row.get(column)]
    if not shown:
        return [], 0
    size = min(12, (box.w - 4) / len(shown) - 2, (box.h - 4) / 2)
    if size < 5:
        return [], 0
    parts, right = [], box.x + box.w - 2
    for letter, colour, words in reversed(shown):
        left, top = right - size, box.y + box.h - 2 - size
        parts.append(
            f'<g class="mark" data-mark="{escape(words.split(":")[0])}"><rect x="{_number(left)}" y="{_number(top)}" '
            f'width="{_number(size)}" height="{_number(size)}" rx="2" fill="{colour}"/>'
            + _text(left + size / 2, top + size * 0.8, size * 0.78, [letter], cls="mark-letter", weight="bold",
                    fill="#ffffff", anchor="middle") + "</g>")
        right = left - 2
    return parts, size + 2


def _tile(tile: Tile, group: str, link) -> str:
    row, box = tile.row, tile.box
    fill = BAND_FILLS.get(row.get("utilization_band"), BAND_FILLS["unknown"])
    marks, marks_height = _marks(row, box)
    inner = box.inset(3)
    cost = money(row.get("annual_cost"), row.get("currency"))
    size, lines = fit_text(tool_name(row), inner.w, max(inner.h - marks_height, 0))
    parts = [f'<title>{escape(describe(row, group))}</title>',
             f'<rect class="tile" x="{_number(box.x)}" y="{_number(box.y)}" width="{_number(box.w)}" '
             f'height="{_number(box.h)}" rx="2" fill="{fill}" stroke="#ffffff" stroke-width="0.5"/>']
    if lines:
        parts.append(_text(inner.x, inner.y + size * 0.9, size, lines, cls="label"))
        used = len(lines) * size * LINE_HEIGHT
        cost_size = max(min(size - 2, 11), MIN_FONT_SIZE)
        if cost and used + cost_size * LINE_HEIGHT <= inner.h - marks_height \
                and text_width(cost, cost_size) <= inner.w:
            parts.append(_text(inner.x, inner.y + used + cost_size * 0.9, cost_size, [cost], cls="cost",
                               fill="#3e4c59"))
    parts += marks
    body = "".join(parts)
    href = link(row["tool"]) if link else None
    if href:
        body = f'<a href="{escape(href, {chr(34): "&quot;"})}" target="_top">{body}</a>'
    return f'<g class="tool" data-tool="{escape(str(row["tool"]), {chr(34): "&quot;"})}">{body}</g>'


def _legend(y: float, currency: str | None, bands: list[tuple[str, str]]) -> str:
    parts, x = ['<g class="legend">'], 16
    for words, colour in bands:
        parts.append(f'<rect x="{x}" y="{y}" width="14" height="14" rx="2" fill="{colour}"/>')
        parts.append(_text(x + 19, y + 11.5, 12, [words], cls="legend-text"))
        x += 24 + text_width(words, 12) + 14
    for _, letter, words, colour in MARKS:
        parts.append(f'<rect x="{_number(x)}" y="{y}" width="14" height="14" rx="2" fill="{colour}"/>')
        parts.append(_text(x + 7, y + 11, 11, [letter], cls="legend-text", weight="bold", fill="#ffffff",
                           anchor="middle"))
        words = words.split(":")[0]
        parts.append(_text(x + 19, y + 11.5, 12, [words], cls="legend-text"))
        x += 24 + text_width(words, 12) + 14
    area = f"Tile area: square root of annual cost{f' in {plain(currency)}' if currency else ''}"
    parts.append(_text(PAGE_WIDTH - 16, y + 11.5, 12, [area], cls="legend-text", fill="#52606d", anchor="end"))
    return "".join(parts) + "</g>"


def _integrations(groups: list[Group], integrations) -> str:
    centres = {tile.row["tool"]: (tile.box.x + tile.box.w / 2, tile.box.y + tile.box.h / 2)
               for group in groups for tile in group.tiles}
    lines = [f'<line x1="{_number(centres[a][0])}" y1="{_number(centres[a][1])}" x2="{_number(centres[b][0])}" '
             f'y2="{_number(centres[b][1])}"/>'
             for a, b in integrations if a in centres and b in centres and a != b]
    return (f'<g class="integrations" stroke="#1f2933" stroke-opacity="0.35" stroke-width="1.2">{"".join(lines)}</g>'
            if lines else "")


def stack_map_svg(rows: list[dict], *, by: str = "category", title: str = "Marketing technology stack",
                  subtitle: str = "", integrations=(), link=None) -> str:
    """The stack map of the ``stack-map`` report's ``rows``: an SVG document of `PAGE_WIDTH` × `PAGE_HEIGHT`.

    ``by`` groups tiles by ``category`` or ``team``; ``integrations`` are
    ``(source tool, target tool)`` slugs drawn as lines between tiles;
    ``link(slug)`` gives each tile a link (the site's tool pages). Every
    piece of user text is escaped.
    """
    area = Box(12, 64, PAGE_WIDTH - 24, PAGE_HEIGHT - 64 - 40)
    groups = layout(rows, by, area)
    currency = next((row.get("currency") for row in rows if row.get("currency")), None)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{PAGE_WIDTH}" height="{PAGE_HEIGHT}" '
        f'viewBox="0 0 {PAGE_WIDTH} {PAGE_HEIGHT}" font-family="{FONT_FAMILY}" role="img" class="stack-map">',
        f'<title>{escape(plain(title))}</title>',
        f'<rect class="page" x="0" y="0" width="{PAGE_WIDTH}" height="{PAGE_HEIGHT}" fill="#ffffff"/>',
        _text(16, 34, 24, [shorten(plain(title), PAGE_WIDTH - 32, 24)], cls="title", weight="bold"),
        _text(16, 54, 13, [shorten(plain(subtitle), PAGE_WIDTH - 32, 13)], cls="subtitle", fill="#52606d"),
    ]
    if not groups:
        parts.append(_text(PAGE_WIDTH / 2, PAGE_HEIGHT / 2, 18, ["No tools in the inventory"], cls="empty",
                           anchor="middle", fill="#52606d"))
    for group in groups:
        box = group.box
        parts.append(f'<g class="group" data-group="{escape(group.name, {chr(34): "&quot;"})}">'
                     f'<title>{escape(group.name)}: {len(group.tiles)} tool{"" if len(group.tiles) == 1 else "s"}'
                     f'</title><rect class="group-box" x="{_number(box.x)}" y="{_number(box.y)}" '
                     f'width="{_number(box.w)}" height="{_number(box.h)}" rx="3" fill="#f0f3f6" stroke="#cbd2d9"/>')
        if box.h >= 54:
            heading = shorten(f"{group.name} ({len(group.tiles)})", box.w - 8, 12)
            if heading:
                parts.append(_text(box.x + 4, box.y + 13, 12, [heading], cls="group-label", weight="bold",
                                   fill="#323f4b"))
        parts += [_tile(tile, group.name, link) for tile in group.tiles]
        parts.append("</g>")
    parts.append(_integrations(groups, integrations))
    parts.append(_legend(PAGE_HEIGHT - 28, currency, band_legend(rows)))
    parts.append("</svg>")
    return "".join(parts)


def map_subtitle(rows: list[dict], *, by: str, team_name: str | None, as_of: str | None, period: str | None) -> str:
    """What the picture is of: its grouping, team, day, month of usage, tools and annual cost."""
    currency = next((row.get("currency") for row in rows if row.get("currency")), "")
    total = sum(row.get("annual_cost") or 0 for row in rows)
    words = [f"By {'team that owns each tool' if by == 'team' else 'category of each tool’s main capability'}"]
    if team_name:
        words.append(f"tools {plain(team_name)} owns or uses")
    words.append(f"{len(rows)} tool{'' if len(rows) == 1 else 's'}, {total:,.0f} {currency} a year".rstrip())
    if as_of:
        words.append(f"inventory as of {as_of}")
    known = any(row.get("utilization") is not None for row in rows)
    words.append(f"usage of {period}" if period and known else f"no usage data{f' for {period}' if period else ''}")
    return " · ".join(words)


def usage_period(conn: sqlite3.Connection, as_of: str | None) -> str:
    """The month of usage a map of ``as_of`` reads: the latest with data on or before it (its own if none
    has: no usage known then); blank without a day, so that the report takes its latest month."""
    return (conn.execute(PERIOD_SQL, {"month": as_of[:7]}).fetchone()[0] or as_of[:7]) if as_of else ""


# -- The site ----------------------------------------------------------------


def site_database(datasette) -> str:
    """The database the site is about, as ``stack_site.database_name`` finds it (repeated: plugins load alone)."""
    configured = (datasette.plugin_config(PLUGIN) or {}).get("database")
    if configured in datasette.databases:
        return configured
    return next((name for name in datasette.databases if name != "_internal"), configured)


async def _send(send, status: int, content_type: str, body: str) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", content_type.encode("latin-1"))]})
    await send({"type": "http.response.body", "body": body.encode("utf-8")})


async def _snapshot(datasette, database: str, canned: dict, *, as_of: str, team: str, by: str, period: str = "") -> dict:
    """The map of one day: its rows from the canned query, and its SVG with tiles linking to tool pages."""
    db = datasette.get_database(database)
    period = period or await db.execute_fn(lambda conn: usage_period(conn, as_of))
    results = await db.execute(canned["sql"], defaultdict(str, as_of=as_of, team=team, period=period),
                               log_sql_errors=False)
    rows = [dict(zip(results.columns, row)) for row in results.rows]
    tools = datasette.urls.table(database, "tools")
    team_name = None
    if team:
        found = (await db.execute(TEAM_NAME_SQL, {"team": team})).first()
        team_name = found[0] if found else team
    day = as_of or (rows[0]["as_of"] if rows else dt.date.today().isoformat())
    svg = stack_map_svg(rows, by=by, title=f"Marketing technology stack on {day}",
                        subtitle=map_subtitle(rows, by=by, team_name=team_name, as_of=day,
                                              period=rows[0]["period"] if rows else None),
                        link=lambda slug: f"{tools}/{urllib.parse.quote(str(slug), safe='')}")
    return {"as_of": day, "rows": rows, "svg": svg, "tools": {row["tool"]: row for row in rows}}


def _day(value: str | None) -> str:
    """A day from a form field (blank: none), checked to be one."""
    return dt.date.fromisoformat(value.strip()).isoformat() if (value or "").strip() else ""


async def stack_map_page(datasette, request, send):
    """``/stack-map`` (the page) and ``/stack-map.svg`` (the picture), ``?team=&as_of=&by=&compare=``."""
    database = site_database(datasette)
    await datasette.ensure_permissions(request.actor, [("view-query", (database, MAP_REPORT)),
                                                      ("view-database", database), "view-instance"])
    by = request.args.get("by") or "category"
    team = (request.args.get("team") or "").strip()
    try:
        as_of, compare = _day(request.args.get("as_of")), _day(request.args.get("compare"))
        if by not in GROUPINGS:
            raise ValueError(f"by: expected one of {', '.join(GROUPINGS)}, not {by!r}")
    except ValueError as error:
        return await _send(send, 400, "text/plain; charset=utf-8", f"{error}\n")
    canned = await datasette.get_canned_query(database, MAP_REPORT, request.actor)
    if canned is None:
        return await _send(send, 404, "text/plain; charset=utf-8", f"this site has no {MAP_REPORT} report\n")
    try:
        now = await _snapshot(datasette, database, canned, as_of=as_of, team=team, by=by,
                              period=(request.args.get("period") or "").strip())
        if request.path.endswith(".svg"):
            return await _send(send, 200, "image/svg+xml; charset=utf-8", now["svg"])
        db = datasette.get_database(database)
        if not compare and request.args.get("compare") is None:
            first = (await db.execute("select min(changed_on) from tool_history")).first()[0]
            compare = first if first and first < now["as_of"] else ""
        then = await _snapshot(datasette, database, canned, as_of=compare, team=team, by=by) if compare else None
    except sqlite3.Error as error:  # a team nothing is called
        return await _send(send, 400, "text/plain; charset=utf-8", f"{error}\n")
    teams = [dict(zip(("slug", "name"), row)) for row in (await db.execute(
        "select slug, name from teams order by name collate nocase")).rows]
    added = [now["tools"][slug] for slug in now["tools"] if then and slug not in then["tools"]]
    left = [then["tools"][slug] for slug in then["tools"] if slug not in now["tools"]] if then else []
    html = await datasette.render_template("stack_map.html", {
        "map_now": now, "map_then": then, "added": added, "left": left, "teams": teams, "team": team,
        "by": by, "as_of": as_of, "compare": compare, "svg_path": SVG_PATH, "page_path": PAGE_PATH,
        "marks": MARKS,
    }, request=request, view_name="stack-map")
    await _send(send, 200, "text/html; charset=utf-8", html)


@hookimpl
def register_routes():
    return [(rf"^{re.escape(PAGE_PATH)}(\.svg)?$", stack_map_page)]


@hookimpl
def extra_template_vars():
    return {"stack_map": {"path": PAGE_PATH, "svg_path": SVG_PATH}}
