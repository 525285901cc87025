"""CSV that a spreadsheet opens as text, never as formulas.

A cell that starts with ``=``, ``+``, ``-``, ``@`` (or a tab or carriage
return) is run as a formula when the file is opened in a spreadsheet: a tool
named ``=HYPERLINK("http://x","y")`` becomes a link to wherever its author
chose. `spreadsheet_safe` quotes such text with a leading ``'`` so that it
stays text; plain numbers (``-12``, ``-0.5``) are left as they are, because a
spreadsheet reads them as the numbers they are.

`spreadsheet_safe` is the one definition: ``stack-tracker report --format csv``
uses it, and so does this Datasette plugin, which rewrites every CSV the site
sends (tables, canned reports, ``?sql=`` queries; streamed or not, downloaded
or shown) cell by cell as it streams.

Copied into every published site beside ``stack_site.py``, where stack-tracker
is not installed. It imports only the standard library and pluggy, so that the
stack-tracker command line can import it without loading Datasette.
"""

from __future__ import annotations

import codecs
import csv
import io
import re

import pluggy

# Datasette's own marker (`datasette.hookimpl` is this very object's twin).
hookimpl = pluggy.HookimplMarker("datasette")

#: A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
# Where a record may end: a newline outside quotes (in CSV, quotes only come in pairs
# inside a quoted field, so the parity of the quotes seen so far tells).
QUOTE_OR_NEWLINE = re.compile(r'["\n]')


def spreadsheet_safe(value: object) -> object:
    """``value``, with text a spreadsheet would run as a formula quoted so it stays text."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


class CsvCells:
    """Rewrites a CSV body chunk by chunk, every cell through `spreadsheet_safe`.

    Chunks may end anywhere (inside a UTF-8 character, a quoted cell or a
    record): only whole records are rewritten, the rest waits for the next chunk.
    """

    def __init__(self):
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="surrogateescape")
        self.pending = ""

    def feed(self, chunk: bytes, *, final: bool) -> bytes:
        """The rewritten records that ``chunk`` completes (with ``final``, all that is left)."""
        self.pending += self.decoder.decode(chunk, final)
        end = len(self.pending) if final else complete_records(self.pending)
        records, self.pending = self.pending[:end], self.pending[end:]
        if not records:
            return b""
        output = io.StringIO()
        # Datasette writes with the csv module's default (excel) dialect: so does this.
        writer = csv.writer(output)
        for row in csv.reader(io.StringIO(records, newline="")):
            writer.writerow([spreadsheet_safe(cell) for cell in row])
        return output.getvalue().encode("utf-8", errors="surrogateescape")


def complete_records(text: str) -> int:
    """The length of the longest start of ``text`` that ends with a whole record."""
    end, inside_quotes = 0, False
    for match in QUOTE_OR_NEWLINE.finditer(text):
        if match.group() == '"':
            inside_quotes = not inside_quotes
        elif not inside_quotes:
            end = match.end()
    return end


def is_csv_response(scope, start: dict) -> bool:
    """Whether a response is CSV: sent as text/csv (``_dl=1``), or as text/plain for a ``.csv`` path."""
    content_type = next((value for name, value in start.get("headers", []) if name.lower() == b"content-type"), b"")
    content_type = content_type.split(b";")[0].strip().lower()
    return content_type == b"text/csv" or (content_type == b"text/plain" and scope["path"].endswith(".csv"))


def spreadsheet_safe_csv(app):
    """ASGI middleware: CSV responses of ``app`` with every cell through `spreadsheet_safe`."""

    async def wrapped(scope, receive, send):
        if scope["type"] != "http":
            return await app(scope, receive, send)
        cells = None

        async def rewrite(message):
            nonlocal cells
            if message["type"] == "http.response.start" and is_csv_response(scope, message):
                cells = CsvCells()
                # The body changes length: let the server send it chunked.
                headers = [(name, value) for name, value in message.get("headers", []) if name.lower() != b"content-length"]
                message = {**message, "headers": headers}
            elif message["type"] == "http.response.body" and cells is not None:
                final = not message.get("more_body", False)
                message = {**message, "body": cells.feed(message.get("body", b""), final=final)}
            await send(message)

        await app(scope, receive, rewrite)

    return wrapped


@hookimpl
def asgi_wrapper(datasette):
    return spreadsheet_safe_csv
