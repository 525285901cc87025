"""The published site answers repeated pages from memory; a live database never does."""

from __future__ import annotations

import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from stack_tracker.site.serve import published_site_command

from conftest import free_port, run, serving


def get(url: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=20) as response:
        return response.status, {name.lower(): value for name, value in response.headers.items()}, response.read()


@pytest.fixture(scope="module")
def published(sample_db, tmp_path_factory) -> Path:
    site = tmp_path_factory.mktemp("cached") / "site"
    run("publish", sample_db, site)
    return site


def test_a_published_page_is_computed_once_then_served_from_memory(published, tmp_path):
    port = free_port()
    with serving(published_site_command(published, port=port), port, log=tmp_path / "datasette.log") as base:
        for path in ("/", "/stack/adoption", "/stack/tools/slack", "/stack.json?sql=select+count(*)+from+tools"):
            status, first_headers, first = get(base + path)
            status_again, headers, again = get(base + path)
            assert (status, status_again) == (200, 200)
            assert "x-response-cache" not in first_headers
            assert headers["x-response-cache"] == "hit", path
            assert again == first
            assert int(headers["content-length"]) == len(again)
            assert headers["content-type"] == first_headers["content-type"]
        # Another query string is another page.
        _, headers, other = get(base + "/stack.json?sql=select+count(*)+from+teams")
        assert "x-response-cache" not in headers
        assert b"count" in other
        # A reader with a cookie (signed in to a private site) is never served from the cache.
        _, headers, _ = get(base + "/", {"Cookie": "ds_actor=someone"})
        assert "x-response-cache" not in headers
        # Errors are not kept: a bad query fails every time, freshly.
        for _ in range(2):
            with pytest.raises(urllib.error.HTTPError) as failed:
                get(base + "/stack.json?sql=select+nonsense+from+nowhere")
            assert "x-response-cache" not in {name.lower() for name in failed.value.headers}


def test_a_live_database_is_never_served_from_the_cache(tmp_path):
    db = tmp_path / "live.db"
    run("init", db, "--silent")
    port = free_port()
    with serving([sys.executable, "-m", "stack_tracker", "serve", str(db), "--port", str(port)], port, log=tmp_path / "serve.log") as base:
        _, _, before = get(base + "/live.json?sql=select+count(*)+as+n+from+teams&_shape=array")
        _, headers, _ = get(base + "/live.json?sql=select+count(*)+as+n+from+teams&_shape=array")
        assert "x-response-cache" not in headers
        teams = tmp_path / "teams.csv"
        teams.write_text("team\nMarketing\n", encoding="utf-8")
        run("ingest", db, "teams", teams, "--silent")
        _, _, after = get(base + "/live.json?sql=select+count(*)+as+n+from+teams&_shape=array")
        assert before != after
        assert b'"n": 1' in after.replace(b'"n":1', b'"n": 1')


def test_a_page_of_a_few_megabytes_is_kept_and_a_larger_one_is_not(published, tmp_path):
    # randomblob gives other bytes on every run of the query: the same bytes twice means served from memory.
    port = free_port()
    with serving(published_site_command(published, port=port), port, log=tmp_path / "datasette.log") as base:
        pages = base + "/stack.json?sql=" + urllib.parse.quote(
            "with recursive row(n) as (select 1 union all select n + 1 from row where n < cast(:rows as integer)) "
            "select hex(randomblob(500000)) as part from row")
        report_sized = pages + "&rows=3"  # 3 MB, as an enterprise report's page
        first, again = get(report_sized)[2], get(report_sized)
        assert len(first) > 3_000_000 and again[1]["x-response-cache"] == "hit" and again[2] == first
        too_large = pages + "&rows=9"  # 9 MB: past MAX_ENTRY_BYTES
        first, again = get(too_large)[2], get(too_large)
        assert len(first) > 9_000_000 and "x-response-cache" not in again[1] and again[2] != first
