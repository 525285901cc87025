"""A command writes only what it owns: publish, demo, backup and summary never delete or
replace a file they did not write.

Every test takes a fingerprint of every byte under the folders involved before
the command and checks it after: the live database, its key, the user's notes,
backups and git folder must be exactly as they were.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlite_utils
from click.testing import CliRunner

from conftest import content_hash, run, write
from stack_tracker.cli import cli
from stack_tracker.site.folder import MANIFEST_FILE, SCRATCH_MARK

SECRET = {"STACK_TRACKER_SECRET": "publish-safety-secret-0123456789"}


def tree(folder: Path) -> dict[str, str]:
    """Every file, folder and symlink under ``folder``, with a hash of its bytes (or where it points).

    SQLite's shared-memory and empty write-ahead files, which any reader of a
    database in WAL mode creates and removes, are left out.
    """
    found = {}
    for path in sorted(folder.rglob("*")):
        name = path.relative_to(folder).as_posix()
        if name.endswith("-shm") or (name.endswith("-wal") and path.stat().st_size == 0):
            continue
        if path.is_symlink():
            found[name] = "-> " + os.readlink(path)
        elif path.is_dir():
            found[name] = "folder"
        else:
            found[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def invoke(*args):
    return CliRunner().invoke(cli, [str(arg) for arg in args])


@pytest.fixture
def workspace(sample_db, tmp_path) -> Path:
    """The folder of the issue: a live database with its key file, backups, notes and a metadata.yml of the user's."""
    folder = tmp_path / "work"
    folder.mkdir()
    shutil.copy(sample_db, folder / "stack.db")
    (folder / "stack.db.key").write_bytes(os.urandom(32))
    (folder / "backups").mkdir()
    shutil.copy(sample_db, folder / "backups" / "b.db")
    write(folder / "notes.md", "Renewals to chase: Hotjar, Drift\n")
    write(folder / "metadata.yml", "title: ours\n")
    return folder


@pytest.mark.parametrize("target", ["same folder", "dot", "parent of the folder"])
def test_publish_refuses_the_databases_own_folder(workspace, monkeypatch, target):
    before = tree(workspace.parent)
    monkeypatch.chdir(workspace)
    outdir = {"same folder": workspace, "dot": Path("."), "parent of the folder": workspace.parent}[target]
    result = invoke("publish", workspace / "stack.db", outdir)
    assert result.exit_code == 1, result.output
    assert result.output.startswith("Error: ") and "stack.db" in result.output and "folder of its own" in result.output
    assert "Traceback" not in result.output and len(result.output.splitlines()) == 1
    assert tree(workspace.parent) == before


def test_publish_refuses_a_folder_it_did_not_write(workspace, tmp_path):
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    write(theirs / "index.html", "<h1>our intranet</h1>")
    before = tree(theirs)
    result = invoke("publish", workspace / "stack.db", theirs)
    assert result.exit_code == 1
    assert "not empty and was not written by stack-tracker publish" in result.output
    assert tree(theirs) == before
    assert not list(tmp_path.glob(f".theirs{SCRATCH_MARK}*"))


def test_republishing_keeps_every_file_the_user_added(workspace, tmp_path):
    site = tmp_path / "site"
    run("publish", workspace / "stack.db", site)
    first = json.loads((site / MANIFEST_FILE).read_text())
    assert "stack.db" in first["files"] and "templates" in first["folders"]
    # What the user adds: deployment notes, a git checkout, a template of their own inside publish's folder.
    write(site / "DEPLOY-NOTES.md", "deploy with: fly deploy\n")
    (site / ".git" / "objects").mkdir(parents=True)
    write(site / ".git" / "HEAD", "ref: refs/heads/main\n")
    write(site / ".git" / "objects" / "ab", "blob")
    write(site / "templates" / "ours.html", "<p>ours</p>")
    theirs = {name: digest for name, digest in tree(site).items()
              if name.startswith((".git", "DEPLOY")) or name == "templates/ours.html"}
    # A file an earlier version of publish wrote and this one no longer does: its manifest lists it.
    write(site / "old-extra.txt", "written by an earlier publish")
    first["files"].append("old-extra.txt")
    (site / MANIFEST_FILE).write_text(json.dumps(first))
    # The database changes, so the new site differs from the old.
    run("ingest", workspace / "stack.db", "tools", write(tmp_path / "new.csv", "tool\nBrand New Tool\n"), "--silent")

    result = run("publish", workspace / "stack.db", site)
    assert "warning" not in result.output
    after = tree(site)
    assert {name: after.get(name) for name in theirs} == theirs
    assert not (site / "old-extra.txt").exists()
    published = sqlite_utils.Database(site / "stack.db")
    assert published.execute("select count(*) from tools where name = 'Brand New Tool'").fetchone()[0] == 1
    published.close()
    manifest = json.loads((site / MANIFEST_FILE).read_text())
    assert "DEPLOY-NOTES.md" not in manifest["files"] and "templates/ours.html" not in manifest["files"]
    assert not list(tmp_path.glob(f".site{SCRATCH_MARK}*"))


def test_publish_refuses_a_name_the_user_took_that_publish_now_writes(workspace, tmp_path):
    site = tmp_path / "site"
    run("publish", workspace / "stack.db", site)
    manifest = json.loads((site / MANIFEST_FILE).read_text())
    # As if an earlier version had not written settings.json, and the user had put their own there.
    manifest["files"].remove("settings.json")
    (site / MANIFEST_FILE).write_text(json.dumps(manifest))
    write(site / "settings.json", '{"mine": true}')
    before = tree(site)
    result = invoke("publish", workspace / "stack.db", site)
    assert result.exit_code == 1 and "settings.json" in result.output and "move it aside" in result.output
    assert tree(site) == before


def test_a_symlinked_target_is_refused_unless_followed(workspace, tmp_path):
    real = tmp_path / "real-site"
    real.mkdir()
    link = tmp_path / "site"
    link.symlink_to(real)
    result = invoke("publish", workspace / "stack.db", link)
    assert result.exit_code == 1 and "is a symlink" in result.output and "--follow-symlinks" in result.output
    assert not any(real.iterdir())
    result = invoke("publish", workspace / "stack.db", link, "--follow-symlinks")
    assert result.exit_code == 0, result.output
    assert f"following the symlink to {real}" in result.output
    assert link.is_symlink() and (real / "stack.db").is_file() and (real / MANIFEST_FILE).is_file()


def test_demo_never_replaces_a_database_it_did_not_build(workspace, tmp_path):
    fresh = tmp_path / "fresh.db"
    run("init", fresh, "--silent")
    # The sample, once the ops team imported into it, is theirs.
    run("ingest", workspace / "stack.db", "tools", write(tmp_path / "new.csv", "tool\nBrand New Tool\n"), "--silent")
    before = tree(tmp_path)
    for database in (workspace / "stack.db", fresh, workspace / "notes.md"):
        result = invoke("demo", "--db", database, "--no-serve", "--silent")
        assert result.exit_code == 1 and "is not a sample database built by demo" in result.output, result.output
    assert tree(tmp_path) == before
    # Its own sample, untouched since, it builds again.
    sample = workspace / "sample.db"
    run("demo", "--db", sample, "--no-serve", "--silent")
    run("demo", "--db", sample, "--no-serve", "--silent")


@pytest.mark.parametrize("output", ["stack.db", "stack.db.key", "stack.db-wal"])
def test_summary_never_writes_over_the_database(workspace, output):
    before = workspace_state(workspace)
    result = invoke("summary", workspace / "stack.db", "-o", workspace / output)
    assert result.exit_code == 1 and "give the output another name" in result.output, result.output
    assert workspace_state(workspace) == before
    result = invoke("summary", workspace / "stack.db", "-o", workspace / "summary.md")
    assert result.exit_code == 0 and (workspace / "summary.md").read_text().startswith("#")
    assert [path.name for path in workspace.glob(".*partial")] == []


def publish_process(db: Path, site: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "stack_tracker", "publish", str(db), str(site), "--silent"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **SECRET})


def wait_for_scratch(process: subprocess.Popen, parent: Path, name: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not list(parent.glob(f".{name}{SCRATCH_MARK}*")):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "publish never started its scratch folder"
        time.sleep(0.005)


def workspace_state(folder: Path) -> tuple[str, dict[str, str]]:
    """Every row of the live database and every other file's bytes: a reader may fold the database's
    write-ahead log into it, which changes its bytes but not what it holds."""
    files = {name: digest for name, digest in tree(folder).items() if not name.startswith("stack.db")}
    return content_hash(folder / "stack.db"), files


def site_state(site: Path) -> tuple[int, dict[str, str]]:
    """The tool count of the folder's stack.db and every file: what a half-done publish would show as a mixture."""
    db = sqlite_utils.Database(site / "stack.db")
    try:
        tools = db["tools"].count
    finally:
        db.close()
    return tools, tree(site)


@pytest.mark.parametrize("kill", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL], ids=lambda kill: kill.name)
def test_a_killed_publish_leaves_the_old_site_or_the_new_one(workspace, tmp_path, kill):
    site = tmp_path / "site"
    run("publish", workspace / "stack.db", site)
    if kill != signal.SIGKILL:
        # Files of the user's beside the site: swapped around entry by entry, with the signal held back.
        # (Killed outright, only a site of publish's own is swapped in one step.)
        write(site / "DEPLOY-NOTES.md", "ours\n")
    # How long a whole publish takes here, so that kills land all through it.
    started = time.monotonic()
    assert publish_process(workspace / "stack.db", site).wait(timeout=120) == 0
    duration = time.monotonic() - started
    outcomes = set()
    # None: the signal comes once publish has finished, so that the new site is seen however slow the machine.
    for number, fraction in enumerate((0.0, 0.2, 0.4, 0.6, 0.8, 0.9, 1.0, None)):
        old_tools, old_tree = site_state(site)
        # Each publish would add tools to the site: the old and the new one differ.
        subprocess.run([sys.executable, "-m", "stack_tracker", "ingest", str(workspace / "stack.db"), "tools",
                        str(write(tmp_path / "new.csv", f"tool\nNew Tool {number}\n")), "--silent"], check=True)
        database_before = workspace_state(workspace)
        new_tools = site_state(workspace)[0]
        process = publish_process(workspace / "stack.db", site)
        wait_for_scratch(process, tmp_path, "site")
        if fraction is None:
            assert process.wait(timeout=120) == 0
        else:
            time.sleep(duration * fraction)
        process.send_signal(kill)
        process.wait(timeout=60)
        tools, files = site_state(site)
        outcomes.add("old" if tools == old_tools else "new")
        if tools == old_tools:
            assert files == old_tree, f"the old site changed when killed at {fraction}"
        else:
            assert tools == new_tools
            manifest = json.loads((site / MANIFEST_FILE).read_text())
            theirs = {"DEPLOY-NOTES.md"} & set(files)
            assert set(manifest["files"]) == {name for name, kind in files.items() if kind != "folder"} - theirs
            assert {name: files[name] for name in theirs} == {name: old_tree[name] for name in theirs}
        if kill != signal.SIGKILL:
            assert not list(tmp_path.glob(f".site{SCRATCH_MARK}*")), f"scratch left when killed at {fraction}"
        assert workspace_state(workspace) == database_before
    assert outcomes == {"old", "new"}  # killed early, and finished
    # Whatever a publish killed outright left behind, the next one clears away.
    run("publish", workspace / "stack.db", site)
    assert not list(tmp_path.glob(f".site{SCRATCH_MARK}*"))


@pytest.mark.parametrize("kill", [signal.SIGTERM, signal.SIGKILL], ids=lambda kill: kill.name)
def test_a_killed_backup_leaves_no_scratch(workspace, tmp_path, kill):
    target = tmp_path / "copies" / "stack-copy.db"
    target.parent.mkdir()
    process = subprocess.Popen(
        [sys.executable, "-c",
         "import time, stack_tracker.maintenance as m\n"
         "def slow(*args):\n    time.sleep(30)\n"
         "m._copy_pages = slow\n"
         "from stack_tracker.cli import main\nmain()",
         "backup", str(workspace / "stack.db"), str(target)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 60
    while not list(target.parent.glob(".stack-copy.db.*.partial")):
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.01)
    process.send_signal(kill)
    process.wait(timeout=60)
    leftovers = list(target.parent.iterdir())
    if kill == signal.SIGKILL:
        assert len(leftovers) == 1  # killed outright, nothing could clean up: the next backup does
        run("backup", workspace / "stack.db", target)
        assert sorted(path.name for path in target.parent.iterdir()) == ["stack-copy.db"]
    else:
        assert leftovers == []
