"""People are pseudonymised before anything about them reaches the database.

A person is stored only as ``user_key``: the HMAC-SHA256 of their normalised
identifier (an email or login) under a secret key. The key lives outside the
database: in the ``STACK_TRACKER_SECRET`` environment variable, or in a key file
beside the database (``stack.db.key`` for ``stack.db``), created with mode 0600
on first use. Without the key nobody can tell whose a ``user_key`` is, not even
by hashing a list of known addresses; with it, the same person gets the same
key in every import, so imports from different sources join up.

The database records a fingerprint of the key (never the key) in ``settings``,
and an import with another key is refused: mixing keys would split one person
into two.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import sqlite_utils

from .errors import StackTrackerError

ENVIRONMENT_VARIABLE = "STACK_TRACKER_SECRET"
KEY_FILE_SUFFIX = ".key"
MIN_SECRET_LENGTH = 16
FINGERPRINT_SETTING = "user_key_fingerprint"
_FINGERPRINT_MESSAGE = b"stack-tracker user_key fingerprint v1"


class PrivacyKeyError(StackTrackerError):
    """The key is missing, malformed, or not the one this database was built with."""


@dataclass
class PseudonymKey:
    """The secret key, where it came from, and the warnings about it."""

    secret: bytes
    origin: str
    warnings: list[str] = field(default_factory=list)

    @property
    def fingerprint(self) -> str:
        """Identifies the key without revealing it: a keyed hash of a fixed message."""
        return hmac.new(self.secret, _FINGERPRINT_MESSAGE, hashlib.sha256).hexdigest()[:16]

    def user_key(self, identifier: str) -> str:
        """The pseudonym of a person: HMAC-SHA256 of their normalised identifier, in hex."""
        return hmac.digest(self.secret, normalise_identifier(identifier).encode("utf-8"), "sha256").hex()


def normalise_identifier(identifier: str) -> str:
    """One spelling per person: Unicode-normalised, trimmed, lower case.

    Sign-in logs and directories write the same address in different cases
    (``Jane.Doe@Example.com``); they must give the same ``user_key``.
    """
    return unicodedata.normalize("NFKC", identifier).strip().casefold()


def database_file(db: sqlite_utils.Database) -> Path | None:
    """The file the database lives in; None for an in-memory database."""
    for _, name, file in db.execute("PRAGMA database_list").fetchall():
        if name == "main":
            return Path(file) if file else None
    return None


def key_file_for(database: Path) -> Path:
    """Where the key file of ``database`` lives: beside it, never inside it."""
    return database.with_name(database.name + KEY_FILE_SUFFIX)


def load_key(db: sqlite_utils.Database, *, environ: dict[str, str] | None = None) -> PseudonymKey:
    """The key for ``db``: from ``STACK_TRACKER_SECRET``, else its key file (created on first use)."""
    environ = os.environ if environ is None else environ
    secret = environ.get(ENVIRONMENT_VARIABLE)
    if secret:
        if len(secret) < MIN_SECRET_LENGTH:
            raise PrivacyKeyError(
                f"{ENVIRONMENT_VARIABLE} is too short to keep people unguessable: use at least "
                f"{MIN_SECRET_LENGTH} random characters (for example: python -c 'import secrets; print(secrets.token_hex(32))')"
            )
        return PseudonymKey(secret.encode("utf-8"), f"the {ENVIRONMENT_VARIABLE} environment variable")
    database = database_file(db)
    if database is None:
        raise PrivacyKeyError(f"an in-memory database has nowhere to keep a key file: set {ENVIRONMENT_VARIABLE}")
    return _key_from_file(key_file_for(database.resolve()))


def _key_from_file(path: Path) -> PseudonymKey:
    warnings = []
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        try:
            text = path.read_text(encoding="ascii").strip()
            secret = bytes.fromhex(text)
        except (OSError, UnicodeDecodeError, ValueError) as error:
            raise PrivacyKeyError(f"{path}: not a stack-tracker key file ({error}); restore it from a backup") from None
        if len(secret) < MIN_SECRET_LENGTH:
            raise PrivacyKeyError(f"{path}: the key is too short; restore the key file from a backup")
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            warnings.append(f"{path.name} can be read by other users of this machine: chmod 600 {path}")
        return PseudonymKey(secret, str(path), warnings)
    except OSError as error:
        raise PrivacyKeyError(f"{path}: cannot create the key file: {error.strerror}") from None
    secret = secrets.token_bytes(32)
    with os.fdopen(descriptor, "w", encoding="ascii") as file:
        os.fchmod(file.fileno(), 0o600)
        file.write(secret.hex() + "\n")
    return PseudonymKey(secret, str(path), [f"created {path.name} (mode 0600): keep it with the database's backups, but never publish it"])


def check_key(db: sqlite_utils.Database, key: PseudonymKey) -> bool:
    """Refuse a key other than the one the database's people were pseudonymised with.

    The first import records the key's fingerprint in ``settings``; returns
    whether it did. Runs inside the caller's transaction.
    """
    row = db.execute("select value from settings where key = ?", [FINGERPRINT_SETTING]).fetchone()
    if row is None:
        db.execute("insert into settings (key, value) values (?, ?)", [FINGERPRINT_SETTING, key.fingerprint])
        return True
    if row[0] != key.fingerprint:
        raise PrivacyKeyError(
            f"the key from {key.origin} (fingerprint {key.fingerprint}) is not the key this database's people were "
            f"pseudonymised with (fingerprint {row[0]}): mixing keys would count one person as two. "
            f"Use the original key ({ENVIRONMENT_VARIABLE} or the key file beside the database), or start a new database."
        )
    return False
