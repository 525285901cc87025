"""Publish a stack-tracker database as a deployable Datasette site.

`publish` writes a directory that is a Datasette *configuration directory*:

```
site/
  stack.db             a scrubbed copy: derived tables rebuilt, search indexes, ANALYZE, no per-person rows
  metadata.yml         the catalog, the reports as canned queries, the dashboard
  settings.json        suggest_facets off, sql_time_limit_ms …
  templates/           the site's pages
  plugins/             stack_site.py, what the pages may read
  inspect-data.json    table counts, and Datasette's cue to open stack.db immutable
  requirements.txt     the versions the site was built and tested with
  README.md            how to serve or deploy it
  stack-tracker-manifest.json   what publish wrote: all it may replace or delete next time
```

Publish writes only what it owns (`site.folder`): it refuses a folder that
holds the database or its files, a symlink, or a non-empty folder it did not
write, and of an earlier site it replaces only what the manifest lists.

`datasette serve site/` (what `stack-tracker serve site/` runs) serves it
read-only; `deploy_command` hands the same files to `datasette publish`.

Privacy: the copy keeps what the reports need and nothing that names a
person. Per-person tables (``user_activity``, ``user_activity_days``, and the
keyed hashes of card transactions, ``spend_fingerprints``) are emptied once the
derived tables have summed them; the ingest log keeps its counts and dates but
not its messages (a rejected row's message quotes the row); of the settings only
the base currency stays (the key fingerprint goes); team leads' names go unless the ops team opts
in (``publish_names``); any e-mail address left in any other column, in any of
the forms `EMAIL` knows, is redacted, except the owner contacts the ops team
chose to publish (``tools.owner_contact``). The file is then vacuumed, so
deleted text does not linger in free pages.

Access: a site is public unless a password hash is given; then every page and
the JSON API refuse anyone who has not signed in as `SITE_ACCOUNT` with that
password (the ``datasette-auth-passwords`` plugin, pinned in the site's
requirements and installed on the platform).

Example::

    publish(Path("stack.db"), Path("site"))
    publish(Path("stack.db"), Path("private-site"), password_hash="pbkdf2_sha256$480000$…")
    subprocess.run(deploy_command(Path("site"), "cloudrun", app="martech-stack"))
"""

from __future__ import annotations

import importlib.util
import json
import re
import shlex
import shutil
import sqlite3
import string
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from importlib import metadata as package_metadata
from pathlib import Path

import sqlite_utils
import yaml

from .. import __version__
from ..database import database_files, ensure_schema, open_existing
from ..database.derived import refresh_derived
from ..database.search import disable_search, enable_search
from ..database.settings import BASE_CURRENCY
from ..errors import StackTrackerError
from ..resources import resource
from .folder import MANIFEST_FILE, check_target, clean_stale_scratch, scratch_folder, swap_in, write_manifest
from .serve import (
    PASSWORD_PLUGIN,
    PLUGINS_DIR,
    SETTINGS,
    is_private_site,
    is_published_site,
    site_metadata,
    site_templates,
)

DATABASE_FILE = "stack.db"
PLATFORMS = ("cloudrun", "heroku")
#: What the site runs on, pinned in requirements.txt to the versions installed here.
SITE_PACKAGES = ("datasette", "datasette-dashboards", "datasette-leaflet", "datasette-render-markdown")
#: Tables with a row per person: summed into the derived tables, then emptied.
PERSONAL_TABLES = ("user_activity", "user_activity_days", "spend_fingerprints", "people", "seat_holders")
#: Columns the ops team fills in to be published: e-mail addresses stay there.
PUBLISHED_CONTACTS = {("tools", "owner_contact")}
#: Columns that may hold a person's name: emptied unless the ops team opts in to publishing them.
PERSONAL_NAMES = {("teams", "lead")}
#: An e-mail address in any form real exports hold: any script in the local part and the domain,
#: a quoted local part, a host without a dot (``localhost``), an ``[IP]`` literal, and the @ written
#: full-width, small, URL-encoded or as an HTML entity.
EMAIL = re.compile(
    r"""(?:"[^"\r\n]{1,64}"|[\w.!#$%&'*+/=?^`{|}~-]+)"""
    r"(?:@|\uff20|\ufe6b|%40|&#0*64;|&#x0*40;|&commat;)"
    r"(?:\[[0-9A-Za-z:.]+\]|[\w-]+(?:\.[\w-]+)*)",
    re.IGNORECASE,
)
REDACTED = "[redacted]"
#: What every spelling of @ that `EMAIL` knows contains: a cheap test before the expression runs.
AT_SIGNS = ("@", "\uff20", "\ufe6b", "%40", "&#", "&commat;")
#: The one account of a private site: readers sign in as it with the password they were given.
SITE_ACCOUNT = "viewer"
#: What `datasette hash-password` prints (algorithm, iterations, salt, hash).
PASSWORD_HASH = re.compile(r"pbkdf2_sha256\$\d+\$[^$\s]+\$[^$\s]+")
# Who can read the site, in its README.
PUBLIC_ACCESS = """The site is public: anyone who can reach it can read every page. (`stack-tracker publish
--password-hash` writes a private one.)"""
PRIVATE_ACCESS = f"""The site is private: every page, the JSON API, the CSV exports and the charts' SQL refuse
anyone who has not signed in at `/-/login` as `{SITE_ACCOUNT}` with the password they were given
({PASSWORD_PLUGIN}; the password's hash is in `metadata.yml`). To change the password,
make a new hash with `datasette hash-password` and publish again."""


class PublishError(StackTrackerError):
    """The site cannot be written where asked, or handed to the platform."""


@dataclass(frozen=True)
class PublishResult:
    """What `publish` wrote."""

    directory: Path
    database_bytes: int
    tables: int
    private: bool = False
    #: Where the symlink ``directory`` led, when publish followed it.
    followed: Path | None = None
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line saying what was written, for the command line."""
        access = f"; private: readers sign in at /-/login as {SITE_ACCOUNT}" if self.private else ""
        followed = f" (following the symlink to {self.followed})" if self.followed else ""
        return (f"Wrote {self.directory}{followed}: {DATABASE_FILE} ({self.database_bytes / 2**20:.1f} MiB, "
                f"{self.tables} tables), metadata, templates, plugins, inspect file, requirements, README and "
                f"{MANIFEST_FILE}{access}")


def publish(db_path: Path, outdir: Path, *, password_hash: str | None = None, follow_symlinks: bool = False,
            publish_names: bool = False) -> PublishResult:
    """Write the deployable site for ``db_path`` to ``outdir``.

    ``outdir`` must be missing, empty or an earlier published site, and must
    not hold the database or its files (`folder.check_target`). The site
    is built beside it and swapped in at the end: a failure leaves what was
    there untouched, and of an earlier site only the files its manifest lists
    are replaced. With ``password_hash`` (from ``datasette hash-password``)
    the site is private. With ``publish_names``, team leads' names are
    published too.
    """
    db_path, outdir = Path(db_path), Path(outdir)
    # Refuses a missing file, another program's database or a newer stack-tracker's, before anything is written.
    open_existing(db_path).close()
    if password_hash is not None:
        check_password_hash(password_hash)
    target = check_target(outdir, protected=database_files(db_path), follow_symlinks=follow_symlinks)
    warnings = clean_stale_scratch(target) if target.parent.is_dir() else []
    with scratch_folder(target) as building:
        building.chmod(0o755)  # a scratch folder's mode is no mode to deploy
        build_database(db_path, building / DATABASE_FILE, publish_names=publish_names)
        write_site_files(building, password_hash=password_hash)
        write_manifest(building, written_by=f"stack-tracker {__version__}")
        warnings += swap_in(building, target)
    tables = sqlite_utils.Database(target / DATABASE_FILE)
    try:
        count = len(tables.table_names())
    finally:
        tables.close()
    followed = target if outdir.is_symlink() else None
    return PublishResult(outdir, (target / DATABASE_FILE).stat().st_size, count, private=password_hash is not None,
                         followed=followed, warnings=warnings)


def build_database(source: Path, target: Path, *, publish_names: bool = False) -> None:
    """A consistent copy of ``source`` at ``target``, made ready to be served immutable."""
    # The backup API copies a consistent snapshot, even while an ingest writes in WAL mode.
    from_db, to_db = sqlite3.connect(source), sqlite3.connect(target)
    try:
        from_db.backup(to_db)
    finally:
        from_db.close()
        to_db.close()
    # The copy is scratch until it is moved into place: no transaction needs guarding here.
    db = sqlite_utils.Database(target)
    try:
        db.execute("PRAGMA journal_mode = DELETE")
        ensure_schema(db)
        refresh_derived(db)
        # A live database's index comes with triggers and holds what scrubbing removes:
        # the copy gets one of its own, built from the scrubbed rows.
        disable_search(db)
        scrub_people(db, publish_names=publish_names)
        enable_search(db, triggers=False)
        db.conn.commit()
        db.execute("ANALYZE")
        # Rewrites the file: nothing deleted above survives in free pages.
        db.execute("VACUUM")
    finally:
        db.close()


def scrub_people(db: sqlite_utils.Database, *, publish_names: bool = False) -> None:
    """Remove whatever could name a person (see the module's docstring)."""
    if not publish_names:
        for table, column in PERSONAL_NAMES:
            if db.table(table).exists():
                db.execute(f"UPDATE [{table}] SET [{column}] = NULL")
    for table in PERSONAL_TABLES:
        if db.table(table).exists():
            db.execute(f"DELETE FROM [{table}]")
    if db.table("ingests").exists():
        db.execute("UPDATE ingests SET message = NULL")
    if db.table("settings").exists():
        db.execute("DELETE FROM settings WHERE key <> ?", [BASE_CURRENCY])
    db.conn.create_function("redact_emails", 1, redact_emails, deterministic=True)
    for table in db.table_names():
        if table.startswith("sqlite_") or db.table(table).virtual_table_using:
            continue
        for column in db.table(table).columns:
            if (table, column.name) in PUBLISHED_CONTACTS or column.type.upper() not in ("TEXT", ""):
                continue
            has_at = " OR ".join(f"instr([{column.name}], '{at}')" for at in AT_SIGNS)
            changed = f"({has_at}) AND redact_emails([{column.name}]) <> [{column.name}]"
            # A key column could collide once redacted: such rows go rather than stay.
            db.execute(f"UPDATE OR IGNORE [{table}] SET [{column.name}] = redact_emails([{column.name}]) WHERE {changed}")
            db.execute(f"DELETE FROM [{table}] WHERE {changed}")


def redact_emails(value: object) -> object:
    """``value`` with every e-mail address replaced by ``[redacted]``."""
    return EMAIL.sub(REDACTED, value) if isinstance(value, str) else value


def check_password_hash(password_hash: str) -> None:
    """Refuse anything but a hash from ``datasette hash-password``: above all, the password itself."""
    if not PASSWORD_HASH.fullmatch(password_hash.strip()):
        raise PublishError("the password hash must be what `datasette hash-password` prints "
                           "(pbkdf2_sha256$…), not the password; in a shell, put it in single quotes")
    if importlib.util.find_spec(PASSWORD_PLUGIN.replace("-", "_")) is None:
        raise PublishError(f"a private site needs {PASSWORD_PLUGIN}: pip install {PASSWORD_PLUGIN}")


def private_metadata(metadata: dict, password_hash: str) -> dict:
    """``metadata`` for a site only `SITE_ACCOUNT`, signed in with the password, may read."""
    metadata.setdefault("plugins", {})[PASSWORD_PLUGIN] = {
        f"{SITE_ACCOUNT}_password_hash": password_hash.strip(),
        "actors": {SITE_ACCOUNT: {"id": SITE_ACCOUNT}},
    }
    # Every view checks view-instance (the instance's `allow`); arbitrary SQL is denied apart as well.
    metadata["allow"] = {"id": SITE_ACCOUNT}
    metadata["allow_sql"] = {"id": SITE_ACCOUNT}
    return metadata


def note_reports_of_people(metadata: dict) -> dict:
    """``metadata`` with each report that reads per-person rows saying why it is empty on a published site."""
    reads_people = re.compile(rf"\b(?:from|join)\s+\[?(?:{'|'.join(PERSONAL_TABLES)})\b", re.IGNORECASE)
    for database in (metadata.get("databases") or {}).values():
        for name, query in (database.get("queries") or {}).items():
            if reads_people.search(query.get("sql", "")):
                query["description"] = (
                    f"{query.get('description', '').strip()} A published site holds no rows about people, so this "
                    f"report has none here: run `stack-tracker report DB {name.replace('_', '-')}` on the database."
                ).strip()
    return metadata


def write_site_files(directory: Path, *, password_hash: str | None = None) -> None:
    """Everything beside the database: metadata, settings, templates, plugins, inspect file, requirements, README."""
    private = password_hash is not None
    metadata = note_reports_of_people(site_metadata(DATABASE_FILE))
    if private:
        metadata = private_metadata(metadata, password_hash)
    (directory / "metadata.yml").write_text(
        yaml.safe_dump(metadata, sort_keys=False, allow_unicode=True, width=110), encoding="utf-8"
    )
    (directory / "settings.json").write_text(json.dumps(datasette_settings(), indent=2) + "\n", encoding="utf-8")
    templates = resource("templates")
    for template in site_templates():
        destination = directory / "templates" / template.relative_to(templates)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template, destination)
    (directory / "plugins").mkdir()
    for plugin in PLUGINS_DIR.glob("*.py"):
        shutil.copyfile(plugin, directory / "plugins" / plugin.name)
    subprocess.run(
        [sys.executable, "-m", "datasette", "inspect", DATABASE_FILE, "--inspect-file", "inspect-data.json"],
        cwd=directory, check=True, capture_output=True,
    )
    (directory / "requirements.txt").write_text(requirements(private), encoding="utf-8")
    (directory / "README.md").write_text(deploy_readme(private), encoding="utf-8")


def datasette_settings() -> dict[str, object]:
    """`site.SETTINGS` as settings.json wants them: numbers as numbers, on/off as booleans."""
    return {
        name: int(value) if value.isdigit() else value == "on"
        for name, value in SETTINGS.items()
    }


def site_packages(private: bool) -> tuple[str, ...]:
    """What a site runs on: a private one needs the password plugin too."""
    return SITE_PACKAGES + ((PASSWORD_PLUGIN,) if private else ())


def pinned_versions(private: bool = False) -> dict[str, str]:
    """The installed version of each package the site runs on."""
    versions = {}
    for package in site_packages(private):
        try:
            versions[package] = package_metadata.version(package)
        except package_metadata.PackageNotFoundError:
            raise PublishError(f"{package} is not installed: install stack-tracker with its dependencies") from None
    return versions


def requirements(private: bool = False) -> str:
    """requirements.txt: exactly the versions this site was built and tested with."""
    lines = [f"# The versions this site was built and tested with (stack-tracker {__version__})."]
    lines += [f"{package}=={version}" for package, version in pinned_versions(private).items()]
    return "\n".join(lines) + "\n"


def deploy_readme(private: bool = False) -> str:
    """The README for whoever deploys the site, from ``templates/publish/README.md``."""
    text = resource("templates/publish/README.md").read_text(encoding="utf-8")
    return string.Template(text).safe_substitute(
        version=__version__,
        requirements="\n".join(f"{package}=={version}" for package, version in pinned_versions(private).items()),
        publish_options=shlex.join(_publish_options(Path("."), private)),
        access=PRIVATE_ACCESS if private else PUBLIC_ACCESS,
    )


def _publish_options(directory: Path, private: bool) -> list[str]:
    """The options `datasette publish` needs for this site, whatever the platform."""
    settings = " ".join(f"--setting {name} {value}" for name, value in SETTINGS.items())
    options = [
        str(directory / DATABASE_FILE),
        "--metadata", str(directory / "metadata.yml"),
        "--template-dir", str(directory / "templates"),
        "--plugins-dir", str(directory / "plugins"),
    ]
    for package, version in pinned_versions(private).items():
        options += ["--install", f"{package}=={version}"]
    return options + ["--extra-options", settings]


def deploy_command(directory: Path, platform: str, *, app: str | None = None) -> list[str]:
    """The ``datasette publish`` command that deploys the site in ``directory`` to ``platform``.

    The platform's tooling (``gcloud``, ``heroku``) must be installed and signed in.
    ``app`` names the Cloud Run service or the Heroku app.
    """
    if platform not in PLATFORMS:
        raise PublishError(f"unknown platform {platform!r}: expected one of {', '.join(PLATFORMS)}")
    if not is_published_site(directory):
        raise PublishError(f"{directory} is not a published site")
    options = _publish_options(Path(directory), is_private_site(directory))
    command = [sys.executable, "-m", "datasette", "publish", platform, *options]
    if app:
        command += ["--service" if platform == "cloudrun" else "--name", app]
    return command


def deploy(directory: Path, platform: str, *, app: str | None = None) -> int:
    """Run `deploy_command`; returns its exit status."""
    return subprocess.call(deploy_command(directory, platform, app=app))


def deploy_database(db_path: Path, platform: str, *, app: str | None = None, password_hash: str | None = None,
                    publish_names: bool = False, on_published=lambda result: None) -> int:
    """Publish ``db_path`` to a temporary directory and deploy it; returns the exit status."""
    with tempfile.TemporaryDirectory(prefix="stack-tracker-site-") as scratch:
        result = publish(db_path, Path(scratch) / "site", password_hash=password_hash, publish_names=publish_names)
        on_published(result)
        return deploy(result.directory, platform, app=app)


def shell_command(command: list[str]) -> str:
    """``command`` as one line to paste into a shell."""
    return shlex.join(str(part) for part in command)
