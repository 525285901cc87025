"""The command line, ``stack-tracker``: `commands` holds one function per command,
`options` what they share."""

from .commands import cli, main

__all__ = ["cli", "main"]
