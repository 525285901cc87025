"""The command that draws the stack on one page: `map`. Kept apart from `commands`
only for its size; `cli/__init__.py` adds it to the group."""

from __future__ import annotations

from pathlib import Path

import click

from ..database import open_database
from ..site.plugins.stack_map import GROUPINGS, PAGE_PATH
from ..stack_map import PNG_HEIGHT, PNG_WIDTH, draw_stack_map, write_stack_map
from .options import database_argument, friendly_errors, parse_params, period_option, team_option


@click.command("map")
@database_argument()
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="Write to this file: .svg, .png or .html, by its extension. Default: print the SVG.")
@team_option
@period_option
@click.option("--as-of", metavar="YYYY-MM-DD",
              help="Draw the inventory as it was on this day, from its history (default: today).")
@click.option("--by", type=click.Choice(GROUPINGS), default="category", show_default=True,
              help="Group tiles by the category of each tool's main capability, or by the team that owns it.")
@click.option("--integrations", is_flag=True, help="Draw a line for each integration between two tools.")
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE",
              help="A threshold of the stack-map report, e.g. low_utilization=0.5 or high_utilization=0.8 "
                   "(the colour bands; repeatable).")
@friendly_errors
def stack_map(db_path, output, team, period, as_of, by, integrations, params):
    """Draw the stack on one 16:9 page: a picture for a slide or a wall.

    Every tool in the inventory is a tile in its group (the category of what
    it is mainly for, or with --by team its owner; tools nobody reviewed in a
    group of their own), its area growing with its annual cost in the base
    currency (as the square root, so the long tail stays readable), its
    colour how much of its seats are used, with a mark where it is a cut
    candidate (C), shelfware (S), shadow IT (!) or renewing within 90 days
    (R). All of it comes from the stack-map report. With --as-of, the
    inventory as its history had it that day, with the usage of that month
    or the latest before it. A PNG is {png_width} x {png_height}; an SVG uses
    fonts every system has. The site shows the same map at {page_path},
    beside the stack as it was.

    \b
        stack-tracker map stack.db -o stack.png
        stack-tracker map stack.db --by team --team "Field Marketing" -o field.svg
        stack-tracker map stack.db --as-of 2025-07-01 -o stack-2025.html
    """
    db = open_database(db_path, must_exist=True)
    options = dict(team=team, period=period, as_of=as_of, by=by, integrations=integrations, params=parse_params(params))
    if output:
        drawn = write_stack_map(db, output, db_path=db_path, **options)
        click.echo(f"Wrote {output}: {len(drawn.rows)} tool{'' if len(drawn.rows) == 1 else 's'}", err=True)
    else:
        click.echo(draw_stack_map(db, **options).svg)


stack_map.help = stack_map.help.format(png_width=PNG_WIDTH, png_height=PNG_HEIGHT, page_path=PAGE_PATH)
