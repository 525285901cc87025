"""Find the files that ship beside the code: data/, templates/ and metadata.yml.

In a checkout they sit at the top of the repository; in an installed wheel
they are copied into the package as ``_resources/``. Both layouts work.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
CANDIDATES = (PACKAGE / "_resources", PACKAGE.parent)


def resource(name: str) -> Path:
    """The path of a shipped resource such as ``data/taxonomy.csv`` or ``metadata.yml``."""
    for root in CANDIDATES:
        path = root / name
        if path.exists():
            return path
    raise FileNotFoundError(f"{name} is missing from this installation of stack-tracker")
