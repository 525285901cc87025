"""Okta System Log: successful single sign-ons to applications.

Read as Okta's LogEvent schema has them (``GET /api/v1/logs``):

- a JSON array of LogEvents, as the API returns a page;
- JSON Lines, one LogEvent per line, as API pagers and SIEM exports write them;
- a single LogEvent, as Okta's documentation shows one;
- an event hook's delivery, whose ``data.events`` array holds the LogEvents, one
  file per delivery (streamed, each event numbered by its own line) or one
  delivery per line (each event numbered by the line of its delivery);
- the admin console's "Download CSV" of the System Log, whose columns flatten
  the LogEvent (``event_type``, ``actor.alternate_id``, ``outcome.result``,
  ``target0.type``, ``target0.display_name`` …; camelCase and ``target[0]``
  spellings are read too).

Counted: events of type ``user.authentication.sso`` with outcome ``SUCCESS``,
by an actor of type ``User``, to the ``target`` entry of type ``AppInstance``
(its ``displayName``, else its ``alternateId``). Everything else is skipped
and counted by reason.
"""

from __future__ import annotations

import json
import re
from typing import Iterator

from ..readers import ReadError, RefusedJson, parse_json
from .fields import field_key, find_column, text
from .layouts import json_lines, json_objects, sniff_format, table_records, with_headers
from .log_file import SIGN_INS, LogFile, SignIn

SSO = "user.authentication.sso"
_TARGET_COLUMN = re.compile(r"^targets?(\d*)(type|displayname|alternateid)$")
#: Where an object holds LogEvents rather than is one: a page's ``events``, an event hook's ``data.events``.
WRAPPERS = (("events",), ("data", "events"))
#: What a JSON file must be to be read as a System Log.
EXPECTED = ("expected an Okta System Log: a JSON array of LogEvents, one LogEvent per line, "
            "a single LogEvent, or an event hook's data.events")


def sign_ins(log: LogFile) -> Iterator[SignIn]:
    """Successful SSO sign-ins from an Okta System Log export."""
    layout = sniff_format(log.path)
    if layout in ("csv", "tsv", "xlsx"):
        yield from _from_table(log, layout)
        return
    if layout == "lines":
        # Most System Log events are not SSO sign-ins; a line without the event
        # type's name cannot be one, and is not worth decoding (an event hook's
        # delivery passed over so counts as one of the other events).
        records = json_lines(log, containing=SSO)
    else:
        records = json_objects(log, layout, WRAPPERS, expected=EXPECTED, is_record=lambda value: "eventType" in value)
    for line, record in records:
        # A sign-in is told apart first: it is most of what is decoded.
        if record.get("eventType") != SSO and (held := _held_events(record)) is not None:
            for event in held:
                sign_in = _from_event(log, line, event) if event.__class__ is dict else _other_event(log)
                if sign_in is not None:
                    yield sign_in
            continue
        sign_in = _from_event(log, line, record)
        if sign_in is not None:
            yield sign_in


def _held_events(record: dict) -> list | None:
    """The LogEvents a line of JSON Lines holds rather than is: an event hook's ``data.events``, or a page's ``events``."""
    data = record.get("data")
    events = data.get("events") if data.__class__ is dict else record.get("events")
    return events if events.__class__ is list else None


def _other_event(log: LogFile) -> None:
    log.skipped["other events"] += 1
    return None


def _from_event(log: LogFile, line: int, event: dict) -> SignIn | None:
    # Runs once per sign-in of logs that run to millions of lines: hence the
    # exact class checks, which also keep a value of an unexpected kind (an
    # outcome that is a string, a target that is a number) from breaking the import.
    if event.get("eventType") != SSO:
        return _other_event(log)
    outcome = event.get("outcome")
    if outcome.__class__ is not dict or outcome.get("result") != "SUCCESS":
        log.skipped["failed sign-ins"] += 1
        return None
    actor = event.get("actor")
    user = actor.get("alternateId") if actor.__class__ is dict and actor.get("type") == "User" else None
    if user.__class__ is not str or not user or user == "unknown":
        log.skipped["events without a user"] += 1
        return None
    application = None
    targets = event.get("target")
    if targets.__class__ is list:
        for target in targets:
            if target.__class__ is dict and target.get("type") == "AppInstance":
                application = target.get("displayName") or target.get("alternateId")
                break
    if application.__class__ is not str or not application:
        log.skipped["events without an application"] += 1
        return None
    time = log.utc(line, "published", event.get("published"))
    if time is None:
        return None
    return line, user, application, time, SIGN_INS


def _from_table(log: LogFile, layout: str) -> Iterator[SignIn]:
    table = with_headers(log, table_records(log, layout))
    if table is None:
        return
    headers, rows = table
    columns = {
        "event": find_column(headers, "event_type", "eventType", "event type"),
        "result": find_column(headers, "outcome.result", "outcome", "result"),
        "actor_type": find_column(headers, "actor.type"),
        "user": find_column(headers, "actor.alternate_id", "actor.alternateId", "actor.login", "actor"),
        "time": find_column(headers, "published", "timestamp", "date", "time"),
    }
    missing = [name for name in ("event", "result", "user", "time") if columns[name] is None]
    if missing:
        expected = {"event": "event_type", "result": "outcome.result", "user": "actor.alternate_id", "time": "published or timestamp"}
        log.problems.add(1, ", ".join(expected[name] for name in missing), None,
                    "column not found: is this the System Log's CSV download?")
        return
    targets: dict[str, dict[str, str]] = {}
    for header in headers:
        match = _TARGET_COLUMN.match(field_key(header))
        if match:
            targets.setdefault(match[1] or "0", {})[match[2]] = header
    json_targets = find_column(headers, "target") if not targets else None

    for line, row in rows:
        entries = [
            {"type": text(row.get(group.get("type"))), "displayName": text(row.get(group.get("displayname"))),
             "alternateId": text(row.get(group.get("alternateid")))}
            for _, group in sorted(targets.items(), key=lambda item: int(item[0]))
        ]
        if json_targets:
            entries = _parse_targets(log, line, json_targets, row.get(json_targets))
        event = {
            "eventType": text(row.get(columns["event"])),
            "outcome": {"result": text(row.get(columns["result"])).upper()},
            "actor": {"type": text(row.get(columns["actor_type"])) if columns["actor_type"] else "User",
                      "alternateId": text(row.get(columns["user"]))},
            "target": entries,
            "published": text(row.get(columns["time"])),
        }
        sign_in = _from_event(log, line, event)
        if sign_in is not None:
            yield sign_in


def _parse_targets(log: LogFile, line: int, column: str, value: object) -> list:
    """A ``target`` cell that holds the JSON array itself; none if it is not JSON, an error if it is JSON no input may hold."""
    try:
        targets = parse_json(value) if isinstance(value, str) and value.strip().startswith("[") else []
    except json.JSONDecodeError:
        return []
    except RefusedJson as error:
        raise ReadError(log.name, line, f"{column}: {error}") from None
    return targets if isinstance(targets, list) else []
