"""The package's shape, as docs/architecture.md draws it: folders that follow the data,
imports that only go down, no cycles, and no import hidden inside a function."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from stack_tracker.reports.registry import REPORTS, SQL_DIR

PACKAGE = Path(__file__).resolve().parent.parent / "stack_tracker"

#: From the bottom up: a module may import from its own layer (without a cycle) and the layers below.
LAYERS = [
    {"errors", "resources", "normalise", "scratch", "privacy"},
    {"database"},
    {"inputs", "reports"},
    {"site"},
    {"maintenance", "demo", "output", "generate", "renewal_calendar", "reminders", "stack_map"},
    {"cli", "__main__"},
]
#: Layers side by side that must not know each other: the reports read the database, never the importers' code.
STRANGERS = [("reports", "inputs"), ("inputs", "reports")]
#: Imports deferred to the function that needs them, each for a reason of its own (never to get round a cycle).
DEFERRED = {
    ("inputs.workbooks", "inputs.workbook_limits"): "openpyxl takes a fifth of a second to import; only workbooks need it",
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imported(name: str, path: Path) -> list[tuple[str, int, bool]]:
    """(the package module imported, line, whether the import sits inside a function) for each import of the package."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    known = modules()
    found = []
    tree = ast.parse(path.read_text(encoding="utf-8"))
    functions = [node for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
    inside = {id(child) for function in functions for child in ast.walk(function)}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - node.level + 1]
            target = ".".join(base + ([node.module] if node.module else []))
            targets = [f"{target}.{alias.name}".strip(".") for alias in node.names]
            targets = [candidate if candidate in known else target for candidate in targets]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("stack_tracker"):
            targets = [node.module.removeprefix("stack_tracker").strip(".")]
        elif isinstance(node, ast.Import):
            targets = [alias.name.removeprefix("stack_tracker").strip(".") for alias in node.names
                       if alias.name.startswith("stack_tracker")]
        else:
            continue
        found += [(target, node.lineno, id(node) in inside) for target in targets]
    return found


def graph() -> dict[str, set[str]]:
    return {name: {target for target, _, _ in imported(name, path) if target and target != name}
            for name, path in modules().items()}


def layer(name: str) -> int:
    top = name.split(".")[0]
    return next(number for number, members in enumerate(LAYERS) if top in members)


def test_every_module_has_a_layer():
    for name in modules():
        if name:
            assert layer(name) is not None, name


def test_imports_only_go_down():
    upward = [
        f"{name} imports {target}"
        for name, targets in graph().items() if name
        for target in targets
        if target and layer(target) > layer(name)
    ]
    assert upward == []


def test_the_reports_and_the_importers_do_not_know_each_other():
    crossing = [
        f"{name} imports {target}"
        for name, targets in graph().items()
        for target in targets
        for one, other in STRANGERS
        if name.split(".")[0] == one and target.split(".")[0] == other
    ]
    assert crossing == []


def test_there_are_no_import_cycles():
    edges = graph()
    cycles = []
    state: dict[str, str] = {}

    def visit(name: str, path: list[str]) -> None:
        state[name] = "open"
        for target in sorted(edges.get(name, ())):
            if state.get(target) == "open":
                cycles.append(" -> ".join(path[path.index(target):] + [target]) if target in path else target)
            elif target not in state:
                visit(target, path + [target])
        state[name] = "done"

    for name in sorted(edges):
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_no_import_hides_inside_a_function():
    hidden = [f"{name}:{line} imports {target}" for name, path in modules().items()
              for target, line, inside in imported(name, path) if inside and (name, target) not in DEFERRED]
    assert hidden == []


def test_the_site_plugins_import_nothing_of_the_package():
    # They are copied into every published site, where stack-tracker need not be installed.
    for name, path in modules().items():
        if name.startswith("site.plugins"):
            assert imported(name, path) == [], name


@pytest.mark.parametrize("name", sorted(modules()))
def test_no_module_grows_past_the_size_a_reader_can_hold(name):
    lines = len(modules()[name].read_text(encoding="utf-8").splitlines())
    assert lines <= 520, f"{name} has {lines} lines: split it along what it does"


def test_the_architecture_page_names_every_report_and_its_sql():
    page = (PACKAGE.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    for name in REPORTS:
        path = f"reports/sql/{name.replace('-', '_')}.sql"
        assert f"| {name} | `{path}` |" in page, name
        assert (SQL_DIR.parent.parent / path).is_file(), path
