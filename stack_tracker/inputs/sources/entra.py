"""Microsoft Entra ID sign-in logs: successful sign-ins of people to applications.

Read as Microsoft Graph's ``signIn`` resource has them:

- Graph API responses (``GET /auditLogs/signIns``): an object whose ``value``
  array holds the sign-ins, one file per page (``@odata.nextLink`` pages), or
  such pages one per line;
- the Entra admin center's JSON download (an array of sign-ins) and its CSV
  download (``Date (UTC)``, ``Username``, ``Application``, ``Status``,
  ``Sign-in error code`` …), interactive and non-interactive alike;

and as Azure Monitor writes them (the "Azure Monitor sign-in log schema"), when
diagnostic settings send them to a storage account (``PT1H.json`` blobs: JSON
Lines, or before November 2018 one ``{"records": [...]}`` object) or to Event
Hubs (``{"records": [...]}`` messages, one per line). There each record wraps
the sign-in in ``properties`` and says what kind it is in ``category``; its
``time`` is the sign-in's, and ``resultType`` repeats the error code.

Counted: sign-ins with ``status.errorCode`` 0, the application from
``appDisplayName``, the person from ``userPrincipalName``. Service-principal and
managed-identity sign-ins (``signInEventTypes``, or a service principal with no
user) are skipped, as are failures and interruptions (an MFA prompt is error
50074 until it is answered). A non-interactive sign-in of a person (a client
refreshing its token) is that person using the application, and counts.
Azure Monitor's categories say the same: ``SignInLogs`` and
``NonInteractiveUserSignInLogs`` are people's, ``ServicePrincipalSignInLogs``
and ``ManagedIdentitySignInLogs`` are not, and any other category (the
``AuditLogs`` an Event Hub may carry alongside) is no sign-in at all.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

from .fields import find_column, text
from .layouts import json_objects, sniff_format, table_records, with_headers
from .log_file import NON_INTERACTIVE, SIGN_INS, LogFile, SignIn

MACHINE_TYPES = {"serviceprincipal", "managedidentity"}
NO_VALUE = {"", "none", "null", "n/a", "-"}
MACHINES = "service principal and managed identity sign-ins"
#: Azure Monitor's categories of sign-in log, by their name casefolded: None for
#: people's sign-ins, which count; else why the record is left out.
CATEGORIES: dict[str, str | None] = {
    "signinlogs": None,
    "noninteractiveusersigninlogs": None,
    "serviceprincipalsigninlogs": MACHINES,
    "managedidentitysigninlogs": MACHINES,
}
#: Azure Monitor's categories of people's sign-ins, casefolded, and the log each is.
CATEGORY_LOGS = {"signinlogs": SIGN_INS, "noninteractiveusersigninlogs": NON_INTERACTIVE}
#: Where an object holds sign-ins rather than is one: a Graph page's ``value``, Azure Monitor's ``records``.
WRAPPERS = (("value",), ("records",))
EXPECTED = ("expected Entra ID sign-ins: a Graph API page (its value array), an array of sign-ins, "
            "Azure Monitor records (one per line, or a records array), or a single sign-in")
#: Fields that only a sign-in (Graph's, or an Azure Monitor record) holds at its top.
_SIGN_IN_FIELDS = ("createdDateTime", "userPrincipalName", "appDisplayName", "status", "properties")


def sign_ins(log: LogFile) -> Iterator[SignIn]:
    """Successful user sign-ins from an Entra ID sign-in log export."""
    layout = sniff_format(log.path)
    in_log = file_log(log.path)
    if layout in ("csv", "tsv", "xlsx"):
        yield from _from_table(log, layout, in_log)
        return
    for line, record in json_objects(log, layout, WRAPPERS, expected=EXPECTED, is_record=_is_sign_in):
        # Runs once per sign-in: an Azure Monitor record is told from a Graph
        # signIn by its "properties" object, which Graph's resource has not.
        properties = record.get("properties")
        if properties.__class__ is dict:
            sign_in = _from_monitor_record(log, line, record, properties, in_log)
        else:
            sign_in = _from_record(log, line, record, in_log)
        if sign_in is not None:
            yield sign_in


def file_log(path: Path) -> str:
    """Which log a file's sign-ins are in when its records do not say: the non-interactive one if its name says so.

    The admin center downloads the two logs apart, and a sign-in record of
    Graph's v1.0 API or of the admin center's CSV does not say which it is in.
    """
    return NON_INTERACTIVE if "noninteractive" in re.sub(r"[^a-z]", "", path.name.casefold()) else SIGN_INS


def _log_of(is_interactive: object, in_log: str) -> str:
    """The log a sign-in is in, from its ``isInteractive`` when that is a boolean, else ``in_log``."""
    if is_interactive is True:
        return SIGN_INS
    return NON_INTERACTIVE if is_interactive is False else in_log


def _is_sign_in(value: dict) -> bool:
    return any(field in value for field in _SIGN_IN_FIELDS)


def _from_record(log: LogFile, line: int, record: dict, in_log: str) -> SignIn | None:
    types = record.get("signInEventTypes") or ()
    if isinstance(types, str):
        types = [types]
    elif not isinstance(types, list):
        types = ()  # not the list Graph writes: nothing to tell a machine from a person by
    types = {str(name).casefold() for name in types}
    user = record.get("userPrincipalName")
    if types & MACHINE_TYPES:
        log.skipped[MACHINES] += 1
        return None
    if not user or not isinstance(user, str):
        if record.get("servicePrincipalId") or record.get("servicePrincipalName") or record.get("managedServiceIdentity"):
            log.skipped[MACHINES] += 1
        else:
            log.skipped["sign-ins without a user"] += 1
        return None
    status = record.get("status")
    error_code = status.get("errorCode") if isinstance(status, dict) else None
    if error_code is None or str(error_code).strip() != "0":
        log.skipped["failed or interrupted sign-ins"] += 1
        return None
    application = record.get("appDisplayName")
    if not application or not isinstance(application, str):
        log.skipped["sign-ins without an application"] += 1
        return None
    time = log.utc(line, "createdDateTime", record.get("createdDateTime"))
    if time is None:
        return None
    # Graph's beta API says which log a sign-in is in; v1.0 does not.
    if "noninteractiveuser" in types or "interactiveuser" in types:
        return line, user, application, time, NON_INTERACTIVE if "noninteractiveuser" in types else SIGN_INS
    return line, user, application, time, _log_of(record.get("isInteractive"), in_log)


def _from_monitor_record(log: LogFile, line: int, record: dict, properties: dict, in_log: str) -> SignIn | None:
    category = record.get("category")
    # Runs once per record: the two categories that count, spelt as Azure spells them, cost two comparisons.
    if category != "SignInLogs" and category != "NonInteractiveUserSignInLogs":
        reason = _category_left_out(category)
        if reason is not None:
            log.skipped[reason] += 1
            return None
    user = properties.get("userPrincipalName")
    if user.__class__ is not str or not user:
        if properties.get("servicePrincipalId") or properties.get("servicePrincipalName") or properties.get("managedIdentityType"):
            log.skipped[MACHINES] += 1
        else:
            log.skipped["sign-ins without a user"] += 1
        return None
    # resultType repeats status.errorCode; either one not 0 is a failure, and a
    # record that has neither says nothing of success.
    result = record.get("resultType")
    status = properties.get("status")
    error_code = status.get("errorCode") if status.__class__ is dict else None
    if (result is None and error_code is None) or (result is not None and not _is_zero(result)) \
            or (error_code is not None and not _is_zero(error_code)):
        log.skipped["failed or interrupted sign-ins"] += 1
        return None
    application = properties.get("appDisplayName")
    if application.__class__ is not str or not application:
        log.skipped["sign-ins without an application"] += 1
        return None
    time = record.get("time")
    if time is not None:
        time = log.utc(line, "time", time)
    else:
        time = log.utc(line, "properties.createdDateTime", properties.get("createdDateTime"))
    if time is None:
        return None
    # The category is the log the record was written to; a record without one may say what it is.
    written_to = CATEGORY_LOGS.get(category.casefold()) if category.__class__ is str else None
    return line, user, application, time, written_to or _log_of(properties.get("isInteractive"), in_log)


def _category_left_out(category: object) -> str | None:
    """Why a record of this Azure Monitor category is left out (None: it counts).

    A record without a category is judged by what it holds, as a Graph signIn is.
    """
    if category is None:
        return None
    if category.__class__ is not str:
        return "other events"
    return CATEGORIES.get(category.casefold(), "other events")


def _is_zero(code: object) -> bool:
    """Whether an error code, as a number or as text, is 0: success."""
    if code.__class__ is str:
        return code.strip() == "0"
    return code.__class__ is int and code == 0


def _from_table(log: LogFile, layout: str, in_log: str) -> Iterator[SignIn]:
    table = with_headers(log, table_records(log, layout))
    if table is None:
        return
    headers, rows = table
    time = find_column(headers, "Date (UTC)", "CreatedDateTime", "Date", "Created date time", "TimeGenerated",
                       "TimeGenerated [UTC]")
    user = find_column(headers, "Username", "UserPrincipalName", "User principal name")
    application = find_column(headers, "Application", "AppDisplayName", "App display name")
    # Log Analytics' SigninLogs keep the error code in ResultType, as Azure Monitor's records do.
    error_code = find_column(headers, "Sign-in error code", "Error code", "ErrorCode", "Status.ErrorCode", "ResultType")
    status = find_column(headers, "Status")
    service_principal = find_column(headers, "Service principal ID", "ServicePrincipalId", "Service principal name")
    managed_identity = find_column(headers, "Managed Identity type", "ManagedIdentityType")
    # A Log Analytics export names the log in "Category" or "IsInteractive"; the admin center's download does not.
    category = find_column(headers, "Category")
    is_interactive = find_column(headers, "Is interactive", "IsInteractive")
    missing = [name for name, column in (("Date (UTC)", time), ("Username", user), ("Application", application)) if column is None]
    if error_code is None and status is None:
        missing.append("Sign-in error code or Status")
    if missing and service_principal is None:
        log.problems.add(1, ", ".join(missing), None, "column not found: is this an Entra ID sign-in log download?")
        return

    for line, row in rows:
        if error_code is not None:
            succeeded = text(row.get(error_code)) == "0"
        else:
            succeeded = text(row.get(status)).casefold() == "success"
        record = {
            "userPrincipalName": text(row.get(user)) if user else "",
            "servicePrincipalId": _value(row, service_principal),
            "managedServiceIdentity": _value(row, managed_identity),
            "status": {"errorCode": 0 if succeeded else -1},
            "appDisplayName": text(row.get(application)) if application else "",
            "createdDateTime": text(row.get(time)) if time else "",
            "isInteractive": _interactive(row, category, is_interactive),
        }
        sign_in = _from_record(log, line, record, in_log)
        if sign_in is not None:
            yield sign_in


def _interactive(row: dict, category: str | None, is_interactive: str | None) -> bool | None:
    """Whether a row of a table says its sign-in is interactive (None: it does not say)."""
    named = CATEGORY_LOGS.get(text(row.get(category)).casefold()) if category else None
    if named is not None:
        return named == SIGN_INS
    flag = text(row.get(is_interactive)).casefold() if is_interactive else ""
    return {"true": True, "false": False}.get(flag)


def _value(row: dict, column: str | None) -> str:
    value = text(row.get(column)) if column else ""
    return "" if value.casefold() in NO_VALUE else value
