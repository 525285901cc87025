"""The stack map for `stack-tracker map` and the summary: the whole stack on one 16:9 page.

The picture is drawn by `site.plugins.stack_map`, the same code that serves
``/stack-map`` on the site; this module feeds it the rows of the ``stack-map``
report through `run_report` (so a team, a month or an as-of day is named as for
every other report, and its mistakes get the same messages), and writes it as
the file's extension asks: ``.svg``, ``.html`` (the SVG with a title and the
marks spelled out) or ``.png`` (for slides).

PNG is rasterised by resvg (the ``resvg-py`` package: a wheel with the renderer
compiled in, no system library), at `PNG_WIDTH` × `PNG_HEIGHT`, with the
system's fonts: Liberation Sans, Arial or Helvetica, as the SVG asks.

Example::

    drawn = draw_stack_map(db, team="Field Marketing", as_of="2025-07-01", by="team")
    Path("stack.png").write_bytes(map_file(drawn, ".png"))
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from pathlib import Path

import resvg_py
import sqlite_utils

from . import normalise as n
from .database.names import slug_for
from .errors import StackTrackerError
from .output import refuse_database_files, write_output
from .reports.registry import run_report
from .site.plugins.stack_map import (
    FONT_FAMILY,
    GROUPINGS,
    MARKS,
    PAGE_WIDTH,
    map_subtitle,
    plain,
    stack_map_svg,
    usage_period,
)

MAP_REPORT = "stack-map"
PNG_WIDTH, PNG_HEIGHT = 1920, 1080
EXTENSIONS = (".svg", ".png", ".html")
#: Which way data flows between tools, from the view the dependency reports read.
INTEGRATIONS_SQL = "select distinct upstream_tool, downstream_tool from integration_flows order by 1, 2"


@dataclass(frozen=True)
class StackMap:
    """A drawn map: the report's rows, the title and the SVG."""

    rows: list[dict]
    title: str
    svg: str


def draw_stack_map(db: sqlite_utils.Database, *, team: str | None = None, period: str | None = None,
                   as_of: str | None = None, by: str = "category", integrations: bool = False,
                   params: dict[str, str] | None = None) -> StackMap:
    """The stack map of the inventory on ``as_of`` (default: today), with the usage of ``period`` (default:
    the latest month with data on or before ``as_of``'s month), for one team or all, grouped ``by`` category
    or team; with ``integrations``, a line for each integration between two tools on it; ``params``, the
    report's thresholds (``low_utilization``, ``high_utilization`` …)."""
    if by not in GROUPINGS:
        raise StackTrackerError(f"--by {by!r}: expected one of {', '.join(GROUPINGS)}")
    if as_of:
        try:
            as_of = n.parse_as_of(as_of)
        except n.BadValue as error:
            raise StackTrackerError(f"--as-of {as_of!r}: {error}") from None
    team_name = None
    if team:
        team_name = db.execute("select name from teams where slug = ?", [slug_for(db, "team", team)]).fetchone()[0]
    rows = run_report(db, MAP_REPORT, team=team, as_of=as_of, period=period or usage_period(db.conn, as_of) or None,
                      params=params)
    day = as_of or (rows[0]["as_of"] if rows else None)
    title = "Marketing technology stack" + (f": {team_name}" if team_name else "") + (f" on {day}" if day else "")
    subtitle = map_subtitle(rows, by=by, team_name=team_name, as_of=day, period=rows[0]["period"] if rows else period)
    edges = [tuple(row) for row in db.execute(INTEGRATIONS_SQL).fetchall()] if integrations else ()
    return StackMap(rows, title, stack_map_svg(rows, by=by, title=title, subtitle=subtitle, integrations=edges))


def png(svg: str) -> bytes:
    """The SVG as a PNG of `PNG_WIDTH` × `PNG_HEIGHT` on white."""
    return bytes(resvg_py.svg_to_bytes(svg_string=svg, width=PNG_WIDTH, height=PNG_HEIGHT, background="#ffffff"))


def html_page(drawn: StackMap) -> str:
    """A page holding the map: the SVG with its title and the marks in words, to open or attach to an email."""
    legend = "".join(f'<li><b style="color:{colour}">{letter}</b> {escape(words)}</li>' for _, letter, words, colour in MARKS)
    title = escape(plain(drawn.title))
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>body{{font-family:{FONT_FAMILY};margin:24px;color:#1f2933}}"
        f"svg{{width:100%;height:auto;max-width:{PAGE_WIDTH}px;border:1px solid #d9e2ec}}</style></head>"
        f'<body><h1>{title}</h1>\n{drawn.svg}\n<ul class="legend">{legend}</ul>'
        "<p>Hover over a tile for the tool's full name, cost, use and marks.</p></body></html>\n"
    )


def map_file(drawn: StackMap, extension: str) -> str | bytes:
    """The map as a file with ``extension`` holds it: SVG text, an HTML page or PNG bytes."""
    writers = {".svg": lambda: drawn.svg, ".html": lambda: html_page(drawn), ".png": lambda: png(drawn.svg)}
    if extension.lower() not in writers:
        raise StackTrackerError(f"a stack map is written as {', '.join(EXTENSIONS)}, not {extension or 'no extension'!r}")
    return writers[extension.lower()]()


def write_stack_map(db: sqlite_utils.Database, path: Path, *, db_path: Path, **options) -> StackMap:
    """Draw the map (`draw_stack_map` ``options``) and write it to ``path``, as its extension says."""
    path = Path(path)
    if path.suffix.lower() not in EXTENSIONS:  # before the drawing: a typo should not cost the wait
        map_file(StackMap([], "", ""), path.suffix)
    drawn = draw_stack_map(db, **options)
    write_output(path, map_file(drawn, path.suffix), db_path=db_path)
    return drawn


def summary_map_file(output: Path) -> Path:
    """Where a Markdown summary written to ``output`` finds its map: beside it, ``<name>-stack-map.png``."""
    return output.with_name(f"{output.stem}-stack-map.png")


def summary_stack_map(db: sqlite_utils.Database, *, fmt: str, output: Path | None, db_path: Path,
                      team: str | None = None, period: str | None = None) -> str | None:
    """The map a summary shows: the SVG itself for HTML; for Markdown written to a file, the name of the
    PNG written beside it (None when the Markdown is printed: there is nowhere to put a picture)."""
    if fmt == "html":
        return draw_stack_map(db, team=team, period=period).svg
    if output is None:
        return None
    # The summary itself must be allowed where it goes before anything is written beside it.
    refuse_database_files(Path(output), db_path=db_path)
    image = summary_map_file(Path(output))
    write_stack_map(db, image, db_path=db_path, team=team, period=period)
    return image.name

