"""Property-based fuzzing: whatever a file holds, every ingest kind and every
sign-in source ends in success or a clean error (exit status 1, a message),
never a traceback and never a damaged database; and on random organisations
the reports keep the promises their definitions make.

Hypothesis runs a fixed number of examples per test, chosen by a fixed seed
(``derandomize``), so a run in CI is the run on a laptop, and it keeps no
example database in the repository. The number of examples run is printed at
the end of the module.
"""

from __future__ import annotations

import csv
import io
import json
import math
import shutil
import sqlite3
import tempfile
from collections import Counter
from contextlib import closing
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings, strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from conftest import content_hash, run, write
from stack_tracker.cli import cli
from stack_tracker.inputs.ingest import Options, ingest
from stack_tracker.inputs.kinds import KINDS
from stack_tracker.reports.registry import run_report
from stack_tracker.database import open_database
from stack_tracker.inputs.sources import SOURCES

# Hypothesis caches data under its home directory: keep it out of the repository.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "stack-tracker-hypothesis")
settings.register_profile(
    "stack-tracker-fuzz",
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
FUZZ = settings.get_profile("stack-tracker-fuzz")
EXAMPLES: Counter[str] = Counter()

# Values from real spreadsheets and exports, and values made to break parsers.
ODD_VALUES = [
    "", " ", "  padded  ", "=1+2", '=HYPERLINK("http://x","y")', "@SUM(A1)", "+1", "-1", "0", "1e400", "-0",
    "99999999999999999999999", "NaN", "inf", "$", "€1.000,50", "1.200", "$48,000.00", "EUR 9.500", "12k", "1,2,3",
    "2026-13", "31/02/2026", "03/04/2026", "2026-03", "Mar 2026", "2026-03-31T23:30:00Z", "0001-01-01T00:00:00+05:00",
    "9999-12-31T23:59:59-05:00", "Feb 30, 2024, 11:30 PM", "yes", "no", "TRUE", "\ufeff", "\u00a0", "\u200b", '"', '""',
    ",", ";", "\t", "\r\n", "\n", "Marketing", "Demand Gen", "demand gen ", "HubSpot Marketing Hub", "hubspot",
    "Salesforce Sales Cloud", "Email marketing", "CRM", "must", "high", "two-way", "active", "reported", "sso",
    "0x10", "١٢", "１２", "Ω≈ç√∫", "😀", "javascript:alert(1)", "<script>alert(1)</script>", "a" * 300,
]
odd_text = st.one_of(
    st.sampled_from(ODD_VALUES),
    st.text(max_size=16),
    st.integers(-(10**20), 10**20).map(str),
    st.floats().map(str),
)
json_scalar = st.one_of(st.none(), st.booleans(), st.integers(-(10**25), 10**25), st.floats(), odd_text, st.just("\ud800"))
json_value = st.recursive(
    json_scalar, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(odd_text, inner, max_size=3), max_leaves=6
)


@pytest.fixture(scope="module")
def base_db(tmp_path_factory) -> Path:
    """A small organisation every example starts from, on a copy."""
    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / "stack.db"
    run("init", path, "--silent")
    run("ingest", path, "teams", write(folder / "teams.csv", "team,parent\nMarketing,\nDemand Gen,Marketing\n"), "--silent")
    run("ingest", path, "tools", write(folder / "tools.csv",
                                       "tool,owner team,annual cost,licenses\nHubSpot Marketing Hub,Demand Gen,48000,100\n"
                                       "Salesforce Sales Cloud,Marketing,30000,50\n"), "--silent")
    run("ingest", path, "usage", write(folder / "usage.csv",
                                       "team,tool,period,seats,active users\nDemand Gen,HubSpot Marketing Hub,2026-02,100,40\n"), "--silent")
    return settled(path)


def settled(path: Path) -> Path:
    """``path`` with everything written to it folded in from its WAL, so that copying the file copies it all."""
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("pragma wal_checkpoint(truncate)")
    return path


@pytest.fixture(scope="module", autouse=True)
def report_example_count(request):
    yield
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None and EXAMPLES:
        examples = {name: count for name, count in EXAMPLES.items() if not name.startswith("checked ")}
        checks = {name: count for name, count in EXAMPLES.items() if name.startswith("checked ")}
        with capture.global_and_fixture_disabled():
            reporter.write_line("")
            reporter.write_line(f"fuzz examples run: {sum(examples.values())} ("
                                + ", ".join(f"{name} {count}" for name, count in sorted(examples.items())) + ")")
            if checks:
                reporter.write_line("report invariants " + ", ".join(f"{name} {count}" for name, count in sorted(checks.items())))


def run_on_copy(base: Path, args: tuple[str, str], name: str, content: bytes, extra: tuple[str, ...] = ()) -> None:
    """Run the CLI on ``content`` saved as ``name``, on a copy of ``base``, and check how it ended."""
    with tempfile.TemporaryDirectory() as folder:
        db_path = Path(folder) / "stack.db"
        shutil.copy(base, db_path)
        path = Path(folder) / name
        path.write_bytes(content)
        before = content_hash(db_path, exclude=("ingests",))
        command, kind_or_source = args
        if command == "ingest":
            arguments = ["ingest", str(db_path), kind_or_source, str(path)]
        else:
            arguments = ["import-logins", str(db_path), str(path), "--source", kind_or_source]
        result = CliRunner().invoke(cli, arguments + list(extra))
        assert result.exception is None or isinstance(result.exception, SystemExit), result.output
        assert "Traceback" not in result.output
        assert result.exit_code in (0, 1), result.output
        if result.exit_code == 1:
            assert result.output.startswith(f"Error: {name}"), result.output
            assert content_hash(db_path, exclude=("ingests",)) == before
        with closing(sqlite3.connect(db_path)) as conn:
            assert conn.execute("pragma integrity_check").fetchone() == ("ok",)
            # Every reference an accepted file wrote points at a row that exists.
            assert conn.execute("pragma foreign_key_check").fetchall() == []
            # Every run ended, as ok or failed.
            assert "running" not in {status for (status,) in conn.execute("select status from ingests")}


def as_csv(headers: list[str], rows: list[list[str]], delimiter: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(headers)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8", "surrogatepass")


def as_xlsx(headers: list[str], rows: list[list[str]]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in [headers, *rows]:
        # A workbook cannot hold control characters or lone surrogates: they stay out.
        sheet.append(["".join(c for c in cell if c.isprintable() or c == " ") for cell in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def render(headers: list[str], rows: list[list[str]], fmt: str) -> tuple[str, bytes]:
    if fmt == "json":
        return "json", json.dumps([dict(zip(headers, row)) for row in rows]).encode()
    if fmt == "jsonl":
        return "jsonl", "".join(json.dumps(dict(zip(headers, row))) + "\n" for row in rows).encode()
    if fmt == "xlsx":
        return "xlsx", as_xlsx(headers, rows)
    delimiter = {"csv": ",", "semicolon": ";", "tsv": "\t"}[fmt]
    return "tsv" if fmt == "tsv" else "csv", as_csv(headers, rows, delimiter)


@st.composite
def table(draw, columns: list[str]):
    """A header of the columns (some dropped, some doubled, an odd one added) and rows of odd values."""
    headers = [column for column in columns if draw(st.integers(0, 9)) > 0] or columns[:1]
    if draw(st.booleans()):
        headers.append(draw(st.sampled_from(columns + ["Notes", "", "Cost Centre"])))
    rows = draw(st.lists(st.lists(odd_text, min_size=len(headers), max_size=len(headers) + 1), max_size=4))
    return headers, rows


@pytest.mark.parametrize("kind", list(KINDS))
@settings(FUZZ, max_examples=15)
@given(data=st.binary(max_size=300), extension=st.sampled_from(["csv", "tsv", "json", "jsonl", "xlsx"]))
def test_random_bytes_to_every_kind(base_db, kind, data, extension):
    EXAMPLES["random bytes to ingest"] += 1
    run_on_copy(base_db, ("ingest", kind), f"{kind}.{extension}", data)


@pytest.mark.parametrize("kind", list(KINDS))
@settings(FUZZ, max_examples=20)
@given(data=st.data(), fmt=st.sampled_from(["csv", "semicolon", "tsv", "json", "jsonl", "xlsx"]), allow_new=st.booleans())
def test_odd_rows_to_every_kind(base_db, kind, data, fmt, allow_new):
    EXAMPLES["odd rows to ingest"] += 1
    headers, rows = data.draw(table([column.name for column in KINDS[kind].columns]))
    extension, content = render(headers, rows, fmt)
    run_on_copy(base_db, ("ingest", kind), f"{kind}.{extension}", content, ("--allow-new",) if allow_new else ())


def _maybe(usual, strategy=json_value):
    """The value a real export holds, or anything at all."""
    return st.one_of(st.just(usual), strategy)


EVENTS = {
    "okta": st.fixed_dictionaries({
        "eventType": _maybe("user.authentication.sso"), "outcome": _maybe({"result": "SUCCESS"}),
        "actor": _maybe({"type": "User", "alternateId": "jane@example.com"}),
        "target": _maybe([{"type": "AppInstance", "displayName": "HubSpot"}]),
        "published": _maybe("2026-03-01T10:00:00.000Z", json_scalar),
    }),
    "entra": st.fixed_dictionaries({
        "userPrincipalName": _maybe("jane@example.com"), "status": _maybe({"errorCode": 0}),
        "appDisplayName": _maybe("Canva"), "createdDateTime": _maybe("2026-03-01T10:00:00Z", json_scalar),
        "signInEventTypes": _maybe(["interactiveUser"]),
    }),
    "google": st.fixed_dictionaries({
        "id": _maybe({"applicationName": "saml", "time": "2026-03-01T10:00:00.000Z"}),
        "actor": _maybe({"email": "jane@example.com", "callerType": "USER"}),
        "events": _maybe([{"name": "login_success", "parameters": [{"name": "application_name", "value": "Salesforce"}]}]),
    }),
    "csv": st.fixed_dictionaries({
        "user": _maybe("jane@example.com"), "application": _maybe("HubSpot"), "time": _maybe("2026-03-01 10:00", json_scalar),
        "outcome": _maybe("success"),
    }),
}
TABLE_HEADERS = {
    "okta": ["event_type", "outcome.result", "actor.alternate_id", "published", "target0.type", "target0.display_name"],
    "entra": ["Date (UTC)", "Username", "Application", "Status", "Sign-in error code"],
    "google": ["Event", "Actor", "Date", "Application name"],
    "csv": ["user", "application", "time", "outcome"],
}


@pytest.mark.parametrize("source", SOURCES)
@settings(FUZZ, max_examples=20)
@given(data=st.data(), layout=st.sampled_from(["array", "lines", "page", "table"]))
def test_odd_sign_ins_from_every_source(base_db, source, data, layout):
    EXAMPLES["odd sign-ins"] += 1
    if layout == "table":
        headers, rows = data.draw(table(TABLE_HEADERS[source]))
        name, content = f"{source}.csv", as_csv(headers, rows, ",")
    else:
        events = data.draw(st.lists(EVENTS[source], max_size=4))
        if layout == "array":
            name, text = f"{source}.json", json.dumps(events)
        elif layout == "lines":
            name, text = f"{source}.jsonl", "".join(json.dumps(event) + "\n" for event in events)
        else:
            name, text = f"{source}.json", json.dumps({"value": events, "items": events, "events": events})
        content = text.encode()
    run_on_copy(base_db, ("import-logins", source), name, content)


@pytest.mark.parametrize("source", SOURCES)
@settings(FUZZ, max_examples=12)
@given(data=st.binary(max_size=300), extension=st.sampled_from(["csv", "json", "jsonl", "xlsx", "log"]))
def test_random_bytes_to_every_source(base_db, source, data, extension):
    EXAMPLES["random bytes to import-logins"] += 1
    run_on_copy(base_db, ("import-logins", source), f"{source}.{extension}", data)


# ---------------------------------------------------------------------------
# Report invariants on random organisations

TEAMS = ["Marketing", "Demand Gen", "Content", "Events", "Field"]
TOOLS = ["HubSpot", "Marketo", "Salesforce", "Canva", "Figma", "Slack"]
CAPABILITIES = ["Email marketing", "Marketing automation", "CRM", "Collaboration", "Content marketing"]
PERIODS = ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05"]


@st.composite
def organisation(draw) -> dict[str, list[list[object]]]:
    """A small organisation: teams, tools, what they do, what teams need, and months of usage."""
    teams = draw(st.lists(st.sampled_from(TEAMS), min_size=1, max_size=4, unique=True))
    tools = draw(st.lists(st.sampled_from(TOOLS), min_size=1, max_size=5, unique=True))
    tool_rows = [
        [tool, draw(st.sampled_from(["active", "active", "trial", "retiring", "retired"])),
         draw(st.one_of(st.none(), st.integers(0, 90_000))), draw(st.sampled_from(["USD", "USD", "EUR"])),
         draw(st.one_of(st.none(), st.integers(0, 60)))]
        for tool in tools
    ]
    provides = [[tool, capability] for tool in tools for capability in CAPABILITIES if draw(st.integers(0, 2)) == 0]
    needs = [[team, capability, draw(st.sampled_from(["must", "should", "could"]))]
             for team in teams for capability in CAPABILITIES if draw(st.integers(0, 3)) == 0]
    first = draw(st.integers(0, len(PERIODS) - 1))
    periods = PERIODS[first:first + draw(st.integers(1, len(PERIODS) - first))]
    # Some tools nobody uses (shelfware, if it lasts), whatever seats they hold.
    dormant = {tool for tool in tools if draw(st.integers(0, 2)) == 0}
    usage = [
        [team, tool, period, draw(st.one_of(st.none(), st.integers(0, 40))),
         0 if tool in dormant else draw(st.one_of(st.none(), st.integers(0, 50)))]
        for period in periods for team in teams for tool in tools if draw(st.integers(0, 2)) > 0
    ]
    return {
        "teams": [["team"]] + [[team] for team in teams],
        "tools": [["tool", "status", "annual cost", "currency", "licenses"]] + tool_rows,
        "tool-capabilities": [["tool", "capability"]] + provides,
        "needs": [["team", "capability", "priority"]] + needs,
        "usage": [["team", "tool", "period", "seats", "active users"]] + usage,
    }


def slug(name: str) -> str:
    return name.lower().replace(" ", "-")


@pytest.fixture(scope="module")
def empty_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("org") / "empty.db"
    run("init", path, "--silent")
    return settled(path)


@settings(FUZZ, max_examples=40)
@given(org=organisation())
def test_report_invariants_on_random_organisations(empty_db, org):
    EXAMPLES["random organisations"] += 1
    with tempfile.TemporaryDirectory() as folder:
        db_path = Path(folder) / "org.db"
        shutil.copy(empty_db, db_path)
        db = open_database(db_path)
        try:
            for kind, table_rows in org.items():
                path = Path(folder) / f"{kind}.csv"
                with path.open("w", newline="", encoding="utf-8") as file:
                    csv.writer(file).writerows(["" if value is None else value for value in row] for row in table_rows)
                ingest(db, kind, path, options=Options())
            check_invariants(db, org)
        finally:
            db.close()


def check_invariants(db, org) -> None:
    usage = org["usage"][1:]
    latest = max((row[2] for row in usage), default=None)
    tools = {slug(row[0]): row for row in org["tools"][1:]}

    # Utilisation is active users over seats, summed over the teams that give both.
    adoption = run_report(db, "adoption")
    for row in adoption:
        both = [(seats, active) for team, tool, period, seats, active in usage
                if slug(tool) == row["tool"] and period == latest and seats is not None and active is not None]
        seats = sum(seats for seats, _ in both)
        expected = round(sum(active for _, active in both) / seats, 4) if seats else None
        assert row["period"] == latest
        assert row["utilization"] == expected
        EXAMPLES["checked utilisations"] += expected is not None

    # Consolidating can save at most what the overlapping tools cost together. An overlap is two
    # or more tools mainly for one job; a side line ('also does') is a row too, never an overlap.
    for row in run_report(db, "overlap"):
        assert row["tools"] >= 2 if row["kind"] == "overlap" else row["tools"] <= 1 and row["savings_ceiling"] is None
        assert row["tools"] + row["other_tools"] >= 2
        if row["savings_ceiling"] is not None:
            assert row["combined_cost"] is not None
            assert row["savings_ceiling"] <= row["combined_cost"] + 1e-9
        assert row["combined_cost"] is None or not math.isnan(row["combined_cost"])
        EXAMPLES["checked overlaps"] += 1

    gaps = run_report(db, "gaps")
    needs = {(slug(team), slug_capability(db, capability)) for team, capability, _ in org["needs"][1:]}
    for row in gaps:
        if row["kind"] in ("team-gap", "org-gap"):
            # Every gap names a capability the team needs.
            assert (row["team"], row["capability"]) in needs
            EXAMPLES["checked gaps"] += 1
    # No tool is both shelfware and in use.
    shelfware = {row["tool"] for row in gaps if row["kind"] == "shelfware"}
    in_use = {row["tool"] for row in adoption if (row["active_users"] or 0) > 0}
    assert not shelfware & in_use
    for tool in shelfware:
        assert tools[tool][1] == "active"
    EXAMPLES["checked shelfware tools"] += len(shelfware)


def slug_capability(db, name: str) -> str:
    return db.execute("select slug from capabilities where name = ?", [name]).fetchone()[0]
