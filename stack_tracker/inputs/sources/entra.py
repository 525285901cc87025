"""Microsoft Entra ID sign-in logs: successful sign-ins of people to applications.

Read as Microsoft Graph's ``signIn`` resource has them:

- Graph API responses (``GET /auditLogs/signIns``): an object whose ``value``
  array holds the sign-ins, one file per page (``@odata.nextLink`` pages), or
  such pages one per line;
- the Entra admin center's JSON download (an array of sign-ins) and its CSV
  download (``Date (UTC)``, ``Username``, ``Application``, ``Status``,
  ``Sign-in error code`` …), interactive and non-interactive alike.

Counted: sign-ins with ``status.errorCode`` 0, the application from
``appDisplayName``, the person from ``userPrincipalName``. Service-principal and
managed-identity sign-ins (``signInEventTypes``, or a service principal with no
user) are skipped, as are failures and interruptions (an MFA prompt is error
50074 until it is answered). A non-interactive sign-in of a person (a client
refreshing its token) is that person using the application, and counts.
"""

from __future__ import annotations

from typing import Iterator

from .fields import find_column, text
from .layouts import json_objects, sniff_format, table_records, with_headers
from .log_file import LogFile, SignIn

MACHINE_TYPES = {"serviceprincipal", "managedidentity"}
NO_VALUE = {"", "none", "null", "n/a", "-"}


def sign_ins(log: LogFile) -> Iterator[SignIn]:
    """Successful user sign-ins from an Entra ID sign-in log export."""
    layout = sniff_format(log.path)
    if layout in ("csv", "tsv", "xlsx"):
        yield from _from_table(log, layout)
        return
    for line, record in json_objects(log, layout, member="value"):
        sign_in = _from_record(log, line, record)
        if sign_in is not None:
            yield sign_in


def _from_record(log: LogFile, line: int, record: dict) -> SignIn | None:
    types = record.get("signInEventTypes") or ()
    if isinstance(types, str):
        types = [types]
    elif not isinstance(types, list):
        types = ()  # not the list Graph writes: nothing to tell a machine from a person by
    user = record.get("userPrincipalName")
    if any(str(kind).casefold() in MACHINE_TYPES for kind in types):
        log.skipped["service principal and managed identity sign-ins"] += 1
        return None
    if not user or not isinstance(user, str):
        if record.get("servicePrincipalId") or record.get("servicePrincipalName") or record.get("managedServiceIdentity"):
            log.skipped["service principal and managed identity sign-ins"] += 1
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
    return line, user, application, time


def _from_table(log: LogFile, layout: str) -> Iterator[SignIn]:
    table = with_headers(log, table_records(log, layout))
    if table is None:
        return
    headers, rows = table
    time = find_column(headers, "Date (UTC)", "CreatedDateTime", "Date", "Created date time")
    user = find_column(headers, "Username", "UserPrincipalName", "User principal name")
    application = find_column(headers, "Application", "AppDisplayName", "App display name")
    error_code = find_column(headers, "Sign-in error code", "Error code", "ErrorCode", "Status.ErrorCode")
    status = find_column(headers, "Status")
    service_principal = find_column(headers, "Service principal ID", "ServicePrincipalId", "Service principal name")
    managed_identity = find_column(headers, "Managed Identity type", "ManagedIdentityType")
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
        }
        sign_in = _from_record(log, line, record)
        if sign_in is not None:
            yield sign_in


def _value(row: dict, column: str | None) -> str:
    value = text(row.get(column)) if column else ""
    return "" if value.casefold() in NO_VALUE else value
