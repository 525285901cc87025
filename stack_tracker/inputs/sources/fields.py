"""How the fields of identity providers' exports are found and read, whatever the export calls them."""

from __future__ import annotations

import re


def field_key(header: str) -> str:
    """How the fields of identity providers' exports are compared: letters and digits only, so that the
    API's field path and the admin console's column match (``actor.alternateId``, ``Actor Alternate ID``).

    Looser than `kinds.header_key`, which keeps letters of every script and
    punctuation other than spaces, underscores, hyphens and dots: the
    providers' fields are English words and paths, an ops team's headers are not.
    """
    return re.sub(r"[^0-9a-z]+", "", header.casefold())


def find_column(headers: list[str], *names: str) -> str | None:
    """The first header (as the file spells it) that matches one of ``names``."""
    keys = {field_key(header): header for header in reversed(headers)}
    for name in names:
        header = keys.get(field_key(name))
        if header is not None:
            return header
    return None


def text(value: object) -> str:
    """A field's value as trimmed text ('' for none)."""
    if value is None:
        return ""
    return value.strip() if isinstance(value, str) else str(value).strip()
