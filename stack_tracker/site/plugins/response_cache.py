"""Serve a published site's pages from memory after the first request.

A published site's database is immutable: a page's bytes cannot change while
the server runs, so the second request for a page need not run its queries or
render its template again. This ASGI wrapper keeps successful responses to
anonymous GET requests in a least-recently-used cache bounded in bytes, keyed
by the path, the query string and the UTC date (reports default to "today",
so a page computed yesterday is not served tomorrow).

It stays out of the way everywhere else: a live database (``serve stack.db``,
where an ingest changes pages at once), requests carrying cookies (a signed-in
reader of a private site), responses that set cookies or are not 200, and
responses larger than `MAX_ENTRY_BYTES` (a streamed CSV of a big table).

Copied into every published site beside ``stack_site.py``; imports only
Datasette and the standard library.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict

from datasette import hookimpl

MAX_CACHE_BYTES = 64 * 1024 * 1024
#: A report page of a thousand rows of an enterprise's stack runs to a few megabytes (consolidation 2.9 MB,
#: the stack map's table 2.1 MB): kept, it is served in a millisecond; not kept, it is computed again for
#: every reader (half a second each), and a few readers at once wait seconds in line.
MAX_ENTRY_BYTES = 8 * 1024 * 1024


class ResponseCache:
    """An ASGI app that answers repeated anonymous GETs of an immutable site from memory."""

    def __init__(self, app, datasette, max_bytes: int = MAX_CACHE_BYTES):
        self.app, self.datasette, self.max_bytes = app, datasette, max_bytes
        self.entries: OrderedDict[tuple, tuple[dict, bytes]] = OrderedDict()
        self.size = 0
        self.hits = self.misses = 0

    def serves_immutable_data(self) -> bool:
        """Whether every database served is immutable (a published site), so pages never change."""
        databases = [db for name, db in self.datasette.databases.items() if not name.startswith("_")]
        return bool(databases) and all(not db.is_mutable and not db.is_memory for db in databases)

    async def __call__(self, scope, receive, send):
        if not self._cacheable_request(scope):
            return await self.app(scope, receive, send)
        key = (scope.get("raw_path") or scope["path"].encode(), scope.get("query_string", b""),
               dt.datetime.now(dt.timezone.utc).date())
        cached = self.entries.get(key)
        if cached is not None:
            self.entries.move_to_end(key)
            self.hits += 1
            start, body = cached
            await send({**start, "headers": start["headers"] + [(b"x-response-cache", b"hit")]})
            await send({"type": "http.response.body", "body": body})
            return
        self.misses += 1
        captured: dict = {"start": None, "chunks": [], "size": 0, "keep": True}

        async def capture(message):
            if message["type"] == "http.response.start":
                captured["start"] = message
                captured["keep"] = message["status"] == 200 and not any(
                    name.lower() == b"set-cookie" for name, _ in message.get("headers", [])
                )
            elif message["type"] == "http.response.body" and captured["keep"]:
                body = message.get("body", b"")
                captured["size"] += len(body)
                if captured["size"] > MAX_ENTRY_BYTES:
                    captured["keep"], captured["chunks"] = False, []
                else:
                    captured["chunks"].append(body)
                if not message.get("more_body", False) and captured["keep"]:
                    self._store(key, captured["start"], b"".join(captured["chunks"]))
            await send(message)

        await self.app(scope, receive, capture)

    def _cacheable_request(self, scope) -> bool:
        if scope["type"] != "http" or scope.get("method") != "GET":
            return False
        if any(name.lower() in (b"cookie", b"authorization") for name, _ in scope.get("headers", [])):
            return False
        return self.serves_immutable_data()

    def _store(self, key: tuple, start: dict, body: bytes) -> None:
        if len(body) > MAX_ENTRY_BYTES or len(body) > self.max_bytes:
            return
        # Stored without a content-length of the streamed original: the body is now whole.
        headers = [(name, value) for name, value in start.get("headers", [])
                   if name.lower() not in (b"content-length", b"transfer-encoding")]
        headers.append((b"content-length", str(len(body)).encode()))
        previous = self.entries.pop(key, None)  # two requests for a page may both have missed
        if previous is not None:
            self.size -= len(previous[1])
        self.entries[key] = ({**start, "headers": headers}, body)
        self.size += len(body)
        while self.size > self.max_bytes:
            _, (_, evicted) = self.entries.popitem(last=False)
            self.size -= len(evicted)


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        return ResponseCache(app, datasette)

    return wrap
