"""Google Workspace sign-ins: the Admin SDK Reports API's login, saml and token activities.

Read as the Reports API's ``activities`` resource has them
(``GET admin/reports/v1/activity/users/all/applications/{login|saml|token}``):
a page object whose ``items`` array holds the activities, one file per page or
one page per line, an array of activities, or activities one per line. Log
exporters and SIEM pipelines that write activities one per line often write
an activity's ``events`` as a single object rather than a list: it is read as
a list of one. Also the admin console's CSV export of the same reports
(Reporting › Audit and investigation › SAML, OAuth or User log events):
``Event``, ``Actor``, ``Date``, ``Application name`` or ``App name``.

Counted, one per event of an activity (the application's name comes from the
event's parameters):

- ``saml`` ``login_success``: the SAML application, ``application_name``;
- ``token`` ``authorize``: the app a person signed in to with Google, ``app_name``;
- ``login`` ``login_success``: Google Workspace itself.

Failures, logouts, challenges, revocations and API calls an app makes on its
own (``token`` ``activity``) are skipped, as are activities with no person
(``callerType`` other than ``USER``, or no ``email``) and activities with no
events at all.
"""

from __future__ import annotations

from typing import Iterator

from .fields import field_key, find_column, text
from .layouts import json_objects, sniff_format, table_records, with_headers
from .log_file import SIGN_INS, LogFile, SignIn

GOOGLE_WORKSPACE = "Google Workspace"
#: Where a Reports API page holds its activities.
WRAPPERS = (("items",),)
#: A page's kind: a page with no activities has no ``items`` at all.
PAGE = "admin#reports#activities"
EXPECTED = ("expected Google Workspace activities: a Reports API page (its items array), an array of activities, "
            "activities one per line, or a single activity")
#: applicationName -> (the event that is a sign-in, the parameter naming the application)
SIGN_IN_EVENTS = {
    "saml": ("login_success", "application_name"),
    "token": ("authorize", "app_name"),
    "login": ("login_success", None),
}
#: The admin console's event names for the same events, as its CSV export writes them.
CONSOLE_SIGN_IN_EVENTS = {field_key(name) for name in (
    "login_success", "Successful login", "Login success", "Successful sign-in", "authorize", "Authorise", "Authorize",
)}


def sign_ins(log: LogFile) -> Iterator[SignIn]:
    """Sign-ins to applications from a Google Workspace Reports API or admin console export."""
    layout = sniff_format(log.path)
    if layout in ("csv", "tsv", "xlsx"):
        yield from _from_table(log, layout)
        return
    for line, activity in json_objects(log, layout, WRAPPERS, expected=EXPECTED, is_record=_is_activity):
        if activity.get("kind") != PAGE:
            yield from _from_activity(log, line, activity)


def _is_activity(value: dict) -> bool:
    """Whether an object read whole is an activity, or a page of none."""
    return "events" in value or "actor" in value or value.get("kind") == PAGE


def _from_activity(log: LogFile, line: int, activity: dict) -> Iterator[SignIn]:
    # A field of an unexpected kind (an actor that is a string, events that are
    # a number) is read as absent, never as a reason to stop the import.
    identity, actor, events = _object(activity.get("id")), _object(activity.get("actor")), activity.get("events")
    if events.__class__ is dict:
        events = (events,)  # one activity per line, as exporters write it: its one event
    elif events.__class__ is not list:
        events = ()
    email = actor.get("email")
    if not email or not isinstance(email, str) or actor.get("callerType", "USER") != "USER":
        log.skipped["activities without a person"] += len(events) or 1
        return
    if not events:
        log.skipped["activities without events"] += 1
        return
    time = None
    for event in events:
        if event.__class__ is not dict:
            event = {}  # read as an event of no kind: counted below with the other events
        listed = event.get("parameters")
        parameters = {
            parameter.get("name"): parameter.get("value", parameter.get("multiValue"))
            for parameter in (listed if isinstance(listed, list) else ())
            if isinstance(parameter, dict) and isinstance(parameter.get("name"), str)
        }
        kind = identity.get("applicationName") or _infer_application(parameters)
        if not isinstance(kind, str):
            kind = None
        if kind not in SIGN_IN_EVENTS:
            log.skipped["other applications' events"] += 1
            continue
        sign_in_event, name_parameter = SIGN_IN_EVENTS[kind]
        if event.get("name") != sign_in_event:
            log.skipped["failed sign-ins and other events"] += 1
            continue
        application = parameters.get(name_parameter) if name_parameter else GOOGLE_WORKSPACE
        if not application or not isinstance(application, str):
            log.skipped["events without an application"] += 1
            continue
        time = time or log.utc(line, "id.time", identity.get("time"))
        if time is None:
            return
        yield line, email, application, time, SIGN_INS


def _object(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _infer_application(parameters: dict) -> str | None:
    """Which report an activity came from when its ``id`` does not say."""
    if "application_name" in parameters:
        return "saml"
    if "app_name" in parameters or "client_id" in parameters:
        return "token"
    if "login_type" in parameters:
        return "login"
    return None


def _from_table(log: LogFile, layout: str) -> Iterator[SignIn]:
    table = with_headers(log, table_records(log, layout))
    if table is None:
        return
    headers, rows = table
    event = find_column(headers, "Event", "Event name", "Event Name")
    actor = find_column(headers, "Actor", "Actor email", "User", "Email")
    date = find_column(headers, "Date", "Time", "Timestamp")
    application = find_column(headers, "Application name", "App name", "Application", "Product")
    login_log = application is None and find_column(headers, "Login type") is not None
    missing = [name for name, column in (("Event", event), ("Actor", actor), ("Date", date)) if column is None]
    if application is None and not login_log:
        missing.append("Application name, App name or Login type")
    if missing:
        log.problems.add(1, ", ".join(missing), None, "column not found: is this an audit log export of SAML, OAuth or User log events?")
        return

    for line, row in rows:
        if field_key(text(row.get(event))) not in CONSOLE_SIGN_IN_EVENTS:
            log.skipped["failed sign-ins and other events"] += 1
            continue
        person = text(row.get(actor))
        if not person:
            log.skipped["activities without a person"] += 1
            continue
        name = GOOGLE_WORKSPACE if login_log else text(row.get(application))
        if not name:
            log.skipped["events without an application"] += 1
            continue
        time = log.utc(line, date, row.get(date))
        if time is not None:
            yield line, person, name, time, SIGN_INS
