"""A wheel built from the tree installs into a fresh virtual environment and runs the demo there."""

from __future__ import annotations

import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import sqlite_utils

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_installs_and_runs_the_demo_without_the_source_tree(tmp_path, monkeypatch):
    # Nothing may reach the source tree from the fresh environment.
    monkeypatch.delenv("PYTHONPATH", raising=False)
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp_path / "dist"), str(ROOT)],
        check=True, capture_output=True,
    )
    [wheel] = (tmp_path / "dist").glob("stack_tracker-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for shipped in ("data/taxonomy.csv", "data/sample/usage.csv", "data/sample/README.md", "metadata.yml"):
        assert f"stack_tracker/_resources/{shipped}" in names
    assert any(name.startswith("stack_tracker/_resources/templates/") for name in names)

    environment = tmp_path / "venv"
    venv.create(environment, with_pip=True)
    subprocess.run([environment / "bin" / "pip", "install", "--quiet", str(wheel)], check=True, capture_output=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = subprocess.run(
        [environment / "bin" / "stack-tracker", "demo", "--no-serve", "--db", "demo.db"],
        cwd=elsewhere, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "Built demo.db" in result.stderr
    db = sqlite_utils.Database(elsewhere / "demo.db")
    assert db["capabilities"].count == 49
    assert db["usage"].count > 1000
    where = subprocess.run(
        [environment / "bin" / "python", "-c", "import stack_tracker.resources as r; print(r.resource('metadata.yml'))"],
        cwd=elsewhere, capture_output=True, text=True, check=True,
    ).stdout
    assert str(environment) in where
