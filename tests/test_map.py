"""`stack-tracker map`: the stack on one 16:9 page, the stack-map report it draws, the
summary's map and the site's /stack-map, checked by reading the SVG back as XML and
its geometry as numbers: one tile per tool, no two tiles overlapping, every label
inside its tile."""

from __future__ import annotations

import itertools
import shutil
import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import sqlite_utils
from datasette.app import Datasette

from conftest import rows, run, write
from stack_tracker.reports.registry import run_report
from stack_tracker.resources import resource
from stack_tracker.site.plugins.stack_map import (
    LINE_HEIGHT,
    PAGE_HEIGHT,
    PAGE_WIDTH,
    UNREVIEWED,
    Box,
    fit_text,
    squarify,
    text_width,
)
from stack_tracker.site.publish import publish
from stack_tracker.site.serve import PLUGINS_DIR, site_metadata
from stack_tracker.stack_map import draw_stack_map

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert("x")</script> & "Co"'
AS_OF = "2026-12-01"

TEAMS = "team\nBrand\nWeb\n"
TOOLS = f"""tool,vendor,owner team,annual cost,licenses,renewal date,contract start
Alpha CRM,Alpha,Web,50000,10,2026-12-31,2026-01-01
Beta Mail,Beta,Brand,12000,10,2027-06-30,2026-01-01
Gamma Ads,Gamma,Brand,6000,5,2027-06-30,2026-01-01
Delta Docs,Delta,Web,3000,4,2027-06-30,2026-01-01
"{HOSTILE.replace('"', '""')}",Evil,Brand,1000,2,2027-06-30,2026-01-01
"""
CAPABILITIES = f"""tool,capability,primary
Alpha CRM,CRM,yes
Beta Mail,Email marketing,yes
Gamma Ads,Search & social advertising,yes
Delta Docs,Collaboration,yes
"{HOSTILE.replace('"', '""')}",Collaboration,yes
"""
USAGE = """team,tool,period,seats,active users
Web,Alpha CRM,2026-09,10,9
Web,Alpha CRM,2026-10,10,9
Web,Alpha CRM,2026-11,10,9
Brand,Beta Mail,2026-11,10,5
Brand,Gamma Ads,2026-09,5,0
Brand,Gamma Ads,2026-10,5,0
Brand,Gamma Ads,2026-11,5,0
Brand,HOSTILE,2026-11,2,1
Web,Loomy,2026-11,3,3
""".replace("HOSTILE", '"' + HOSTILE.replace('"', '""') + '"')


@pytest.fixture(scope="module")
def org(tmp_path_factory) -> Path:
    """Five tools in the inventory, one more used without being reviewed, worked out by hand below."""
    directory = tmp_path_factory.mktemp("map")
    db = directory / "org.db"
    run("init", db, "--silent")
    run("ingest", db, "teams", write(directory / "teams.csv", TEAMS), "--silent")
    run("ingest", db, "tools", write(directory / "tools.csv", TOOLS), "--as-of", "2026-01-01", "--silent")
    run("ingest", db, "tool-capabilities", write(directory / "capabilities.csv", CAPABILITIES), "--silent")
    run("ingest", db, "usage", write(directory / "usage.csv", USAGE), "--allow-new", "--silent")
    return db


def tiles(svg: str) -> list[dict]:
    """Each tool's tile as the SVG draws it: its slug, box, title, label lines with their sizes, marks."""
    root = ET.fromstring(svg)
    found = []
    for group in root.iter(f"{SVG}g"):
        if group.get("class") != "tool":
            continue
        rect = next(r for r in group.iter(f"{SVG}rect") if r.get("class") == "tile")
        box = Box(*(float(rect.get(name)) for name in ("x", "y", "width", "height")))
        labels = [(float(text.get("font-size")), [(float(span.get("x")), float(span.get("y")), span.text)
                                                  for span in text.iter(f"{SVG}tspan")])
                  for text in group.iter(f"{SVG}text") if text.get("class") in ("label", "cost")]
        marks = [Box(*(float(r.get(name)) for name in ("x", "y", "width", "height")))
                 for mark in group.iter(f"{SVG}g") if mark.get("class") == "mark" for r in mark.iter(f"{SVG}rect")]
        found.append({"tool": group.get("data-tool"), "box": box, "title": group.find(f".//{SVG}title").text,
                      "labels": labels, "marks": marks, "href": (group.find(f"{SVG}a") is not None)})
    return found


def overlaps(a: Box, b: Box) -> bool:
    return a.x < b.x + b.w and b.x < a.x + a.w and a.y < b.y + b.h and b.y < a.y + a.h


def inside(inner: Box, outer: Box) -> bool:
    return (inner.x >= outer.x - 0.01 and inner.y >= outer.y - 0.01
            and inner.x + inner.w <= outer.x + outer.w + 0.01 and inner.y + inner.h <= outer.y + outer.h + 0.01)


def assert_legible(svg: str, count: int) -> list[dict]:
    """One tile per tool, on the page, none over another, every label and mark inside its tile."""
    drawn = tiles(svg)
    assert len(drawn) == count == len({tile["tool"] for tile in drawn})
    page = Box(0, 0, PAGE_WIDTH, PAGE_HEIGHT)
    for tile in drawn:
        assert tile["box"].w > 0 and tile["box"].h > 0 and inside(tile["box"], page), tile["tool"]
        for size, spans in tile["labels"]:
            for x, y, line in spans:
                # The line's box: from its ascent above the baseline to its descent below, as wide as measured.
                assert inside(Box(x, y - 0.9 * size, text_width(line, size), size * LINE_HEIGHT), tile["box"]), line
        for mark in tile["marks"]:
            assert inside(mark, tile["box"]), tile["tool"]
    # Sorted by left edge, a tile can only overlap those that start before it ends.
    ordered = sorted(drawn, key=lambda tile: tile["box"].x)
    for index, tile in enumerate(ordered):
        for other in ordered[index + 1:]:
            if other["box"].x >= tile["box"].x + tile["box"].w:
                break
            assert not overlaps(tile["box"], other["box"]), (tile["tool"], other["tool"])
    return drawn


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


# -- The report ---------------------------------------------------------------


def test_the_report_gives_each_tool_its_group_cost_band_and_marks(org):
    found = {row["tool"]: row for row in run_report(sqlite_utils.Database(org), "stack-map", as_of=AS_OF)}
    hostile = next(slug for slug in found if slug.startswith("script"))
    assert set(found) == {"alpha-crm", "beta-mail", "gamma-ads", "delta-docs", hostile, "loomy"}
    picked = {slug: (row["category"], row["annual_cost"], row["utilization_band"], row["cut"], row["shelfware"],
                     row["shadow_it"], row["renewing"], row["renews_in_days"]) for slug, row in found.items()}
    assert picked == {
        # 9 of 10 seats: high; renews on 2026-12-31, 30 days after 2026-12-01.
        "alpha-crm": ("Social & Relationships", 50000, "high", 0, 0, 0, 1, 30),
        "beta-mail": ("Content & Experience", 12000, "medium", 0, 0, 0, 0, None),  # 5 of 10
        "gamma-ads": ("Advertising & Promotion", 6000, "low", 0, 1, 0, 0, None),  # nobody for three months
        "delta-docs": ("Management", 3000, "unknown", 0, 0, 0, 0, None),  # no usage data
        hostile: ("Management", 1000, "medium", 0, 0, 0, 0, None),  # 1 of 2
        "loomy": ("Uncategorised", None, "high", 0, 0, 1, 0, None),  # used, never reviewed
    }
    assert found[hostile]["tool_name"] == HOSTILE and found["loomy"]["status"] == "unreviewed"


def test_the_colour_bands_are_thresholds_the_map_and_its_legend_share(org, tmp_path):
    # Alpha CRM 9 of 10, Beta Mail 5 of 10, the hostile tool 1 of 2: with bands at 60% and 95%, Alpha CRM is
    # medium (0.9 < 0.95) and Beta Mail and the hostile tool low (0.5 < 0.6).
    params = {"low_utilization": "0.6", "high_utilization": "0.95"}
    found = {row["tool"]: row["utilization_band"]
             for row in run_report(sqlite_utils.Database(org), "stack-map", as_of=AS_OF, params=params)}
    assert (found["alpha-crm"], found["beta-mail"], found["gamma-ads"], found["delta-docs"]) == ("medium", "low", "low", "unknown")
    assert [band for slug, band in found.items() if slug.startswith("script")] == ["low"]
    out = tmp_path / "bands.svg"
    run("map", org, "-o", out, "--as-of", AS_OF, "--param", "low_utilization=0.6", "--param", "high_utilization=0.95")
    legend = " ".join("".join(text.itertext()) for text in ET.parse(out).getroot().iter(f"{SVG}text")
                      if "legend-text" in (text.get("class") or ""))
    assert "95% or more of seats used" in legend and "60% to under 95%" in legend and "under 60%" in legend
    default = draw_stack_map(sqlite_utils.Database(org), as_of=AS_OF).svg
    assert "70% or more of seats used" in default and "40% to under 70%" in default


def test_the_marks_are_the_rows_of_the_reports_that_own_them(sample_db):
    db = sqlite_utils.Database(sample_db)
    tiles_ = run_report(db, "stack-map", as_of=AS_OF)
    marked = lambda column: {row["tool"] for row in tiles_ if row[column]}  # noqa: E731
    assert marked("cut") == {row["tool"] for row in run_report(db, "consolidation") if row["finding"] == "cut"}
    gaps = run_report(db, "gaps")
    assert marked("shelfware") == {row["tool"] for row in gaps if row["kind"] == "shelfware"}
    assert marked("shadow_it") >= {row["tool"] for row in gaps if row["kind"] == "shadow-it"}
    assert marked("renewing") == {row["tool"] for row in run_report(db, "renewals", as_of=AS_OF)}
    assert {"figma", "hotjar", "cvent"} <= marked("cut") and marked("shadow_it") == {"canva", "loom", "notion"}


def test_the_stack_as_it_was_comes_from_the_history(sample_db):
    db = sqlite_utils.Database(sample_db)
    now = {row["tool"] for row in draw_stack_map(db, as_of=AS_OF).rows}
    # The map of a day reads the usage of its month or the latest before it: none, that far back.
    then = {row["tool"]: row for row in draw_stack_map(db, as_of="2025-07-01").rows}
    assert {row["period"] for row in then.values()} == {"2025-07"}
    assert {row["utilization_band"] for row in then.values()} == {"unknown"}
    history = rows(sample_db, "select distinct tool from tool_history where changed_on = '2025-06-30' "
                              "and field = 'status' and new_value in ('active', 'trial', 'retiring')")
    assert set(then) == {row["tool"] for row in history}
    assert len(now) == 46 and len(then) == 42 and set(then) - now == set()


# -- The layout ---------------------------------------------------------------


def test_squarify_tiles_its_box_in_proportion():
    boxes = squarify([6, 6, 4, 3, 2, 2, 1], Box(0, 0, 6, 4))  # Bruls, Huizing and van Wijk's own example
    assert [round(box.w * box.h, 6) for box in boxes] == [6, 6, 4, 3, 2, 2, 1]
    assert all(not overlaps(a, b) for a, b in itertools.combinations(boxes, 2))
    assert (boxes[0], boxes[1]) == (Box(0, 0, 3, 2), Box(0, 2, 3, 2))


def test_a_long_name_wraps_then_shortens_and_never_leaves_its_box():
    assert fit_text("HubSpot Marketing Hub", 300, 40) == (15, ["HubSpot Marketing Hub"])
    size, lines = fit_text("HubSpot Marketing Hub", 80, 60)
    assert lines == ["HubSpot", "Marketing", "Hub"] and all(text_width(line, size) <= 80 for line in lines)
    size, lines = fit_text("Supercalifragilistic Expialidocious Platform", 40, 10)
    assert size == 7 and len(lines) == 1 and lines[0].endswith("…") and text_width(lines[0], 7) <= 40
    assert fit_text("Anything", 3, 3) == (0, [])


# -- The command --------------------------------------------------------------


def test_the_svg_parses_has_a_tile_per_tool_and_escapes_a_hostile_name(org, tmp_path):
    output = tmp_path / "stack.svg"
    result = run("map", org, "-o", output, "--as-of", AS_OF)
    assert "Wrote" in result.output and "6 tools" in result.output
    svg = output.read_text(encoding="utf-8")
    drawn = {tile["tool"]: tile for tile in assert_legible(svg, 6)}
    hostile = next(slug for slug in drawn if slug.startswith("script"))
    assert drawn[hostile]["title"].startswith(HOSTILE + " · Management")
    assert "<script" not in svg and not list(ET.fromstring(svg).iter(f"{SVG}script"))
    # Marks, by hand: Alpha renews within 90 days, Gamma is shelfware, Loomy is shadow IT.
    assert [len(drawn[slug]["marks"]) for slug in ("alpha-crm", "gamma-ads", "loomy", "beta-mail")] == [1, 1, 1, 0]
    assert "renewal or notice due within 90 days (in 30 days)" in drawn["alpha-crm"]["title"]
    groups = [group.get("data-group") for group in ET.fromstring(svg).iter(f"{SVG}g") if group.get("class") == "group"]
    assert sorted(groups) == sorted(["Social & Relationships", "Content & Experience", "Advertising & Promotion",
                                     "Management", UNREVIEWED])
    # The biggest tile is the dearest tool's.
    assert max(drawn.values(), key=lambda tile: tile["box"].w * tile["box"].h)["tool"] == "alpha-crm"


def test_by_team_with_integrations_and_for_one_team(org, tmp_path):
    svg = run("map", org, "--by", "team", "--as-of", AS_OF).output
    groups = {group.get("data-group") for group in ET.fromstring(svg).iter(f"{SVG}g") if group.get("class") == "group"}
    assert groups == {"Web", "Brand", UNREVIEWED}
    brand = run("map", org, "--team", "brand", "--as-of", AS_OF).output
    assert {tile["tool"] for tile in assert_legible(brand, 3)} >= {"beta-mail", "gamma-ads"}
    assert "Marketing technology stack: Brand on 2026-12-01" in brand


def test_png_and_html(org, tmp_path):
    run("map", org, "-o", tmp_path / "stack.png")
    assert png_size((tmp_path / "stack.png").read_bytes()) == (1920, 1080)
    run("map", org, "-o", tmp_path / "stack.html")
    page = (tmp_path / "stack.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") == 1 and "<script" not in page
    assert "&lt;script&gt;" in page


def test_mistakes_are_messages(org, tmp_path):
    assert "a stack map is written as .svg, .png, .html, not '.pdf'" in run(
        "map", org, "-o", tmp_path / "x.pdf", exit_code=1).output
    assert "unknown team 'Nobody'" in run("map", org, "--team", "Nobody", exit_code=1).output
    assert "--as-of 'soon'" in run("map", org, "--as-of", "soon", exit_code=1).output
    assert not (tmp_path / "x.pdf").exists()


@pytest.mark.parametrize("tools", [5, 500])
def test_generated_organisations_render_without_overlap_or_cut_labels(tools, tmp_path):
    run("generate", tmp_path / "org", "--teams", 3 if tools == 5 else 40, "--tools", tools, "--months", 3,
        "--users", 30 if tools == 5 else 1500, "--silent")
    db = tmp_path / "org.db"
    run("init", db, "--silent")
    for kind in ("teams", "tools", "aliases", "tool-capabilities", "needs"):
        run("ingest", db, kind, tmp_path / "org" / f"{kind}.csv", "--silent")
    run("ingest", db, "usage", tmp_path / "org" / "usage.csv", "--allow-new", "--silent")
    expected = rows(db, "select count(*) as n from tools where status in ('active', 'trial', 'retiring', 'unreviewed')")
    svg = run("map", db).output
    drawn = assert_legible(svg, expected[0]["n"])
    names = {row["slug"]: row["name"] for row in rows(db, "select slug, name from tools")}
    for tile in drawn:
        # The full name is in every tooltip; a label is the name, wrapped, or its start with an ellipsis.
        assert tile["title"].startswith(names[tile["tool"]] + " · ")
        label = " ".join(span[2] for span in (tile["labels"][0][1] if tile["labels"] else []))
        assert label in ("", names[tile["tool"]]) or (label.endswith("…") and names[tile["tool"]].startswith(label[:-1]))
    labelled = sum(1 for tile in drawn if tile["labels"])
    assert labelled >= len(drawn) * 0.9, f"only {labelled} of {len(drawn)} tiles have a label"


# -- The summary --------------------------------------------------------------


def test_the_html_summary_embeds_the_map_and_the_markdown_links_to_a_file_beside_it(org, tmp_path):
    run("summary", org, "--format", "html", "-o", tmp_path / "summary.html")
    html = (tmp_path / "summary.html").read_text(encoding="utf-8")
    start = html.index('<svg xmlns="http://www.w3.org/2000/svg" width="1600"')
    assert_legible(html[start:html.index("</svg>", start) + 6], 6)
    run("summary", org, "-o", tmp_path / "summary.md")
    text = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert "![The stack map: every tool a tile, grouped by category, sized by cost, coloured by use]" \
           "(summary-stack-map.png)" in text
    assert png_size((tmp_path / "summary-stack-map.png").read_bytes()) == (1920, 1080)
    assert "stack-map" not in run("summary", org).output  # printed: nowhere to put a picture


# -- The site -----------------------------------------------------------------


async def test_the_site_serves_the_map_page_and_the_svg(sample_db, tmp_path):
    path = tmp_path / "sample.db"
    shutil.copy(sample_db, path)
    live = Datasette([str(path)], metadata=site_metadata(path), template_dir=str(resource("templates")),
                     plugins_dir=str(PLUGINS_DIR))
    published = Datasette([], config_dir=publish(path, tmp_path / "site").directory)
    cli_tiles = {tile["tool"] for tile in tiles(run("map", path, "--as-of", AS_OF).output)}
    for datasette, database in ((live, "sample"), (published, "stack")):
        picture = await datasette.client.get(f"/stack-map.svg?as_of={AS_OF}")
        assert picture.status_code == 200 and picture.headers["content-type"] == "image/svg+xml; charset=utf-8"
        drawn = assert_legible(picture.text, 46)
        assert {tile["tool"] for tile in drawn} == cli_tiles and all(tile["href"] for tile in drawn)
        assert f'href="/{database}/tools/slack"' in picture.text
        page = await datasette.client.get(f"/stack-map?as_of={AS_OF}")
        assert page.status_code == 200
        # The stack as the first snapshot of the inventory had it, beside today's, and what changed.
        assert "On 2025-06-30: 42 tools" in page.text and f"On {AS_OF}: 46 tools" in page.text
        assert page.text.count('<svg xmlns="http://www.w3.org/2000/svg"') == 2
        added = page.text[page.text.index('id="map-added"'):page.text.index('id="map-left"')]
        assert added.count("<li>") == 4 and "None." in page.text[page.text.index('id="map-left"'):]
        assert '<option value="field-marketing">Field Marketing</option>' in page.text
        assert 'id="download-svg"' in page.text and 'id="download-png"' in page.text
        team = await datasette.client.get(f"/stack-map.svg?team=Field%20Marketing&as_of={AS_OF}")
        assert len(tiles(team.text)) == 10
        for wrong in ("team=Nobody", "as_of=soon", "by=colour"):
            assert (await datasette.client.get(f"/stack-map?{wrong}")).status_code == 400, wrong
        home = (await datasette.client.get("/")).text
        assert 'href="/stack-map">Stack map</a>' in home
