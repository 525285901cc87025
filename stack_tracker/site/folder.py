"""Write a folder that stack-tracker owns, without ever touching what it does not.

`publish` writes a site into a folder a person chose, perhaps one that also
holds their deployment notes or a git checkout. Three rules keep that safe:

- **A manifest says what is ours.** Every site carries `MANIFEST_FILE`, the
  list of files and folders publish wrote. Only what is listed there is ever
  replaced or deleted; anything else found in the folder (at the top or inside
  a folder of ours) is the user's and stays where it is.
- **Refuse what could not be undone.** A target that holds the database, its
  key or its journal files, a symlink (unless followed on purpose), or a
  non-empty folder without a manifest is refused before anything is written.
- **Build aside, then swap.** The new site is built in a scratch folder beside
  the target and swapped in with renames, with termination signals held back
  while they run, so the target is the old site or the new one. A scratch
  folder left by a process killed outright is cleaned up by the next publish
  to the same target: what its manifest lists goes, anything else in it goes
  back to the target (or, if that name is taken, stays, with a warning).

Example::

    target = check_target(Path("site"), protected=[Path("stack.db")])
    with scratch_folder(target) as building:
        (building / "index.html").write_text("…")
        warnings = swap_in(building, target)
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import StackTrackerError
from ..scratch import process_alive, signals_deferred

MANIFEST_FILE = "stack-tracker-manifest.json"
#: Scratch folders are named `.{target}.publishing-{pid}-{n}` beside the target.
SCRATCH_MARK = ".publishing-"
#: Where, inside a scratch folder, the old site's entries wait while entries are swapped one by one.
PREVIOUS = ".previous"
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


class SiteFolderError(StackTrackerError):
    """The folder cannot be written without risking what is in it."""


def check_target(outdir: Path, *, protected: Iterable[Path], follow_symlinks: bool = False) -> Path:
    """The absolute folder to write for ``outdir``, or a `SiteFolderError` saying why not.

    ``protected`` are files that must never be inside the target (the
    database, its WAL files, its key). A symlink is refused unless
    ``follow_symlinks``; a folder that exists must be empty or carry a manifest.
    """
    outdir = Path(outdir)
    if outdir.is_symlink():
        if not follow_symlinks:
            raise SiteFolderError(
                f"{outdir} is a symlink to {os.readlink(outdir)}: give the folder itself, "
                f"or pass --follow-symlinks to write there on purpose"
            )
        if not outdir.resolve().is_dir():
            raise SiteFolderError(f"{outdir} is a symlink to {os.readlink(outdir)}, which is not a folder")
    target = outdir.resolve()
    for path in protected:
        path = Path(path).resolve()
        if path == target or target in path.parents:
            raise SiteFolderError(
                f"{outdir} holds {path.name}, which is the database's: publish the site into a folder of its own, "
                f"e.g. {outdir / 'site'}"
            )
    if target.exists() and not target.is_dir():
        raise SiteFolderError(f"{outdir} is a file, not a folder")
    if target.is_dir() and any(target.iterdir()) and read_manifest(target) is None:
        raise SiteFolderError(
            f"{outdir} is not empty and was not written by stack-tracker publish (it has no {MANIFEST_FILE}): "
            f"choose a new or empty folder"
        )
    return target


def read_manifest(folder: Path) -> dict | None:
    """The manifest of a site folder: ``{"files": [...], "folders": [...]}``; None if it has none."""
    path = Path(folder) / MANIFEST_FILE
    if not path.is_file() or path.is_symlink():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise SiteFolderError(f"{path} is damaged: move the folder aside and publish into a new one") from None
    if not (isinstance(manifest, dict) and all(isinstance(manifest.get(key), list) for key in ("files", "folders"))):
        raise SiteFolderError(f"{path} is not a stack-tracker manifest: move the folder aside and publish into a new one")
    return manifest


def write_manifest(folder: Path, *, written_by: str) -> None:
    """List everything in ``folder`` as written by us (call it last, once the folder is complete)."""
    files, folders = [], []
    for path in sorted(Path(folder).rglob("*")):
        (folders if path.is_dir() else files).append(path.relative_to(folder).as_posix())
    manifest = {"written_by": written_by, "files": files + [MANIFEST_FILE], "folders": folders}
    (Path(folder) / MANIFEST_FILE).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")


@contextmanager
def scratch_folder(target: Path) -> Iterator[Path]:
    """A new scratch folder beside ``target``, for a new version of it; removed whatever happens.

    Call `clean_stale_scratch` first, to clear what earlier, killed runs left.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    for number in range(1000):
        scratch = target.with_name(f".{target.name}{SCRATCH_MARK}{os.getpid()}-{number}")
        try:
            scratch.mkdir()
            break
        except FileExistsError:
            continue
    else:
        raise SiteFolderError(f"cannot make a scratch folder beside {target}")
    try:
        yield scratch
    finally:
        if scratch.exists():
            dispose(scratch, target)


def swap_in(built: Path, target: Path) -> list[str]:
    """Make ``built`` (a complete folder with its manifest) the content of ``target``.

    Only what the target's manifest lists is replaced or removed; anything else
    in it stays. Returns warnings for people (files of theirs that could not go
    back where they were).
    """
    built, target = Path(built), Path(target)
    with signals_deferred():
        if not target.exists():
            os.rename(built, target)
            return []
        previous = read_manifest(target)
        if previous is None:
            if any(target.iterdir()):
                raise SiteFolderError(f"{target} changed while the site was being built: it is no longer empty")
            os.rmdir(target)
            os.rename(built, target)
            return []
        ours = {entry.split("/")[0] for entry in previous["files"] + previous["folders"]}
        theirs = {path.name for path in target.iterdir()} - ours
        new = {path.name for path in built.iterdir()}
        if taken := sorted(theirs & new):
            raise SiteFolderError(
                f"{target} holds {', '.join(taken)}, which publish now writes but did not write before: "
                f"move {'it' if len(taken) == 1 else 'them'} aside and publish again"
            )
        if not theirs and _exchange(built, target):
            # ``built`` now holds the old site: what its manifest lists goes, the rest comes back.
            return dispose(built, target)
        return _swap_entries(built, target, ours, new)


def _swap_entries(built: Path, target: Path, ours: set[str], new: set[str]) -> list[str]:
    """Swap the site in entry by entry, leaving the target's other entries where they are."""
    old = built / PREVIOUS
    old.mkdir()
    # Until the swap is done, the old manifest in here says what is ours, should it be cut short.
    shutil.copyfile(target / MANIFEST_FILE, old / MANIFEST_FILE)
    # The manifest goes last: until it is in place the old one still lists what is ours.
    for name in sorted(new - {MANIFEST_FILE}) + [MANIFEST_FILE]:
        if (target / name).exists() or (target / name).is_symlink():
            if not _exchange(built / name, target / name):
                os.rename(target / name, old / name)
                os.rename(built / name, target / name)
                continue
            os.rename(built / name, old / name)
        else:
            os.rename(built / name, target / name)
    for name in sorted(ours - new):
        if (target / name).exists() or (target / name).is_symlink():
            os.rename(target / name, old / name)
    return dispose(built, target)


def dispose(scratch: Path, target: Path) -> list[str]:
    """Remove a scratch folder: delete what its manifest lists, give the rest back to ``target``.

    A scratch folder without a manifest is still being built, so all of it is
    ours. Returns warnings about anything that could not go back.
    """
    scratch = Path(scratch)
    warnings = []
    if (scratch / PREVIOUS).is_dir():
        warnings += dispose(scratch / PREVIOUS, target)
        if (scratch / PREVIOUS).exists():
            return warnings  # files of the user's are still in it: the scratch folder stays, as the warning says
    manifest = read_manifest(scratch)
    if manifest is None:
        shutil.rmtree(scratch)
        return warnings
    for name in manifest["files"]:
        path = scratch / name
        if path.is_symlink() or path.is_file():
            path.unlink()
    for name in sorted(manifest["folders"], key=lambda name: name.count("/"), reverse=True):
        path = scratch / name
        if path.is_dir() and not path.is_symlink() and not any(path.iterdir()):
            path.rmdir()
    kept = _give_back(scratch, target, scratch)
    if kept:
        warnings.append(
            f"{scratch} holds files that are not publish's and whose place in {target} is taken: "
            f"{', '.join(kept[:5])}{' …' if len(kept) > 5 else ''}; move them yourself"
        )
    else:
        scratch.rmdir()
    return warnings


def _give_back(folder: Path, target: Path, root: Path) -> list[str]:
    """Move everything left under ``folder`` to the same place under ``target``; the names that could not go."""
    kept = []
    for path in sorted(folder.iterdir()):
        relative = path.relative_to(root)
        destination = target / relative
        if not (destination.exists() or destination.is_symlink()):
            destination.parent.mkdir(parents=True, exist_ok=True)
            os.rename(path, destination)
        elif path.is_dir() and not path.is_symlink() and destination.is_dir():
            kept += _give_back(path, target, root)
            if not any(path.iterdir()):
                path.rmdir()
        else:
            kept.append(relative.as_posix())
    return kept


def clean_stale_scratch(target: Path) -> list[str]:
    """Dispose of scratch folders for ``target`` whose process is gone (killed outright)."""
    warnings = []
    prefix = f".{target.name}{SCRATCH_MARK}"
    for path in target.parent.glob(f"{prefix}*"):
        pid = path.name[len(prefix):].split("-")[0]
        if path.is_dir() and not path.is_symlink() and pid.isdigit() and not process_alive(int(pid)):
            warnings += dispose(path, target)
    return warnings


def _exchange(first: Path, second: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2``); False where the system cannot."""
    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is None:
        return False
    if renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(first), None, str(second))
