"""How fast does `stack-tracker import-logins` take 10,000,000 Okta events, and in how much memory?

Generates an Okta System Log in JSON Lines (one LogEvent per line, as the API
and SIEM exports write it): 10,000 people across 50 teams, 8 applications each
out of 200 (most in the catalog, some unknown: shadow IT), 90 days, in time
order, with the mix of a real log: 65% successful SSO sign-ins, 5% failed ones,
20% sign-ins to Okta itself, 10% other events.

Compared, in the same run and on the same file, against a baseline that only
parses each line with the fastest JSON parser available (orjson if installed,
else json) and counts them. Each measurement runs in its own process and
reports its own peak memory (max RSS).

    python bench/import_logins.py                      # 10,000,000 events
    python bench/import_logins.py --events 200000      # a quick check
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PEOPLE, TEAMS, APPLICATIONS, APPS_EACH, DAYS = 10_000, 50, 200, 8, 90
START = 1_704_067_200  # 2024-01-01T00:00:00Z
SECRET = "bench-secret-0123456789abcdef"

EVENT = (
    '{"actor":{"id":"00u%(uid)s","type":"User","alternateId":"%(login)s","displayName":"%(name)s","detailEntry":null},'
    '"client":{"userAgent":{"rawUserAgent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) '
    'Chrome/122.0.0.0 Safari/537.36","os":"Mac OS X","browser":"CHROME"},"zone":"null","device":"Computer","id":null,'
    '"ipAddress":"198.51.%(ip)s","geographicalContext":{"city":"Lisbon","state":"Lisbon","country":"Portugal","postalCode":"1000-001",'
    '"geolocation":{"lat":38.7223,"lon":-9.1393}}},"device":null,"authenticationContext":{"authenticationProvider":null,'
    '"credentialProvider":null,"credentialType":null,"issuer":null,"interface":null,"authenticationStep":0,'
    '"externalSessionId":"102%(session)s"},"displayMessage":"%(message)s","eventType":"%(type)s",'
    '"outcome":{"result":"%(result)s","reason":%(reason)s},"published":"%(published)s","securityContext":{"asNumber":64496,'
    '"asOrg":"example telecom","isp":"example telecom","domain":"example.net","isProxy":false},"severity":"%(severity)s",'
    '"debugContext":{"debugData":{"requestId":"Ze%(session)s","requestUri":"/app/%(app_id)s/sso/saml","url":"/app/%(app_id)s/sso/saml?"}},'
    '"legacyEventType":"%(legacy)s","transaction":{"type":"WEB","id":"Ze%(session)s","detail":{}},"uuid":"%(uuid)s","version":"0",'
    '"request":{"ipChain":[{"ip":"198.51.%(ip)s","geographicalContext":{"city":"Lisbon","country":"Portugal"},"version":"V4","source":null}]},'
    '"target":%(target)s}\n'
)
KINDS = (  # (weight, eventType, result, displayMessage, legacyEventType, has an application)
    (65, "user.authentication.sso", "SUCCESS", "User single sign on to app", "app.auth.sso", True),
    (5, "user.authentication.sso", "FAILURE", "User single sign on to app", "app.auth.sso", True),
    (20, "user.session.start", "SUCCESS", "User login to Okta", "core.user_auth.login_success", False),
    (5, "user.authentication.auth_via_mfa", "SUCCESS", "Authentication of user via MFA", "core.user.factor.attempt_success", False),
    (5, "policy.evaluate_sign_on", "ALLOW", "Evaluation of sign-on policy", "", False),
)


def applications() -> list[str]:
    """150 names from the catalog (as an IdP labels them) and 50 it does not know."""
    from stack_tracker.catalog import default_catalog

    products = default_catalog().products[:150]
    return [product.aliases[0] if product.aliases else product.name for product in products] + [
        f"Internal Tool {number:02d}" for number in range(APPLICATIONS - 150)
    ]


def write_inputs(directory: Path, events: int) -> Path:
    """The inventory, the directory and a JSON Lines System Log of ``events`` events."""
    rng = random.Random(20240101)
    apps = applications()
    with open(directory / "teams.csv", "w", newline="") as out:
        csv.writer(out).writerows([["team"]] + [[f"Team {team:02d}"] for team in range(TEAMS)])
    with open(directory / "tools.csv", "w", newline="") as out:
        csv.writer(out).writerows([["tool"]] + [[name] for name in apps[:100]])
    with open(directory / "people.csv", "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["email", "team"])
        for person in range(PEOPLE * 9 // 10):  # one in ten is not in the directory
            writer.writerow([f"person{person:05d}@example.com", f"Team {person % TEAMS:02d}"])
    person_apps = [rng.sample(range(APPLICATIONS), APPS_EACH) for _ in range(PEOPLE)]
    weights = [kind[0] for kind in KINDS]
    log = directory / "okta.jsonl"
    step = DAYS * 86_400 / events
    with open(log, "w", buffering=1 << 20) as out:
        for number in range(events):
            moment = START + int(number * step)
            person = rng.randrange(PEOPLE)
            _, event_type, result, message, legacy, has_app = rng.choices(KINDS, weights)[0]
            if has_app:
                app = person_apps[person][rng.randrange(APPS_EACH)]
                target = (f'[{{"id":"0oa{app:017d}","type":"AppInstance","alternateId":"{apps[app]}","displayName":"{apps[app]}",'
                          f'"detailEntry":{{"signOnModeType":"SAML_2_0"}}}},{{"id":"0ua{person:017d}","type":"AppUser",'
                          f'"alternateId":"person{person:05d}@example.com","displayName":"Person {person}","detailEntry":null}}]')
            else:
                app, target = 0, "null"
            out.write(EVENT % {
                "uid": f"{person:017d}", "login": f"person{person:05d}@example.com", "name": f"Person {person}",
                "ip": f"{person % 250}.{number % 250}", "session": f"{number:024d}", "message": message, "type": event_type,
                "result": result, "reason": '"INVALID_CREDENTIALS"' if result == "FAILURE" else "null",
                "published": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(moment)) + f".{number % 1000:03d}Z",
                "severity": "INFO" if result != "FAILURE" else "WARN", "app_id": f"app{app:05d}", "legacy": legacy,
                "uuid": f"{number:08x}-d9a5-11ee-a2b1-6f2a1b9a0c01", "target": target,
            })
    return log


IMPORT = """
import json, resource, sys, time
from stack_tracker.logins import import_logins
from stack_tracker.schema import open_database
db = open_database(sys.argv[1])
started = time.perf_counter()
[result] = import_logins(db, [sys.argv[2]], "okta", directory=sys.argv[3])
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "sign_ins": result.sign_ins, "person_months": result.inserted, "people": result.people,
                  "tools": result.tools, "skipped": result.skipped, "created": result.created}))
"""

BASELINE = """
import json, resource, sys, time
try:
    from orjson import loads
    parser = "orjson"
except ImportError:
    from json import loads
    parser = "json"
started = time.perf_counter()
count = 0
with open(sys.argv[1], "rb") as lines:
    for line in lines:
        loads(line)
        count += 1
print(json.dumps({"seconds": time.perf_counter() - started, "events": count, "parser": parser,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def child(code: str, *args: str) -> dict:
    """Run ``code`` in a fresh Python and return the JSON it prints (its own timings and peak memory)."""
    environment = dict(os.environ, STACK_TRACKER_SECRET=SECRET)
    output = subprocess.run([sys.executable, "-c", code, *args], check=True, capture_output=True, text=True, env=environment).stdout
    return json.loads(output)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--keep", type=Path, help="Write the inputs and the database here and keep them.")
    args = parser.parse_args()

    directory = Path(args.keep or tempfile.mkdtemp(prefix="bench-logins-"))
    directory.mkdir(parents=True, exist_ok=True)
    try:
        started = time.perf_counter()
        log = write_inputs(directory, args.events)
        size_mib = log.stat().st_size / 2**20
        print(f"okta.jsonl: {args.events:,} events, {size_mib:,.0f} MiB ({size_mib * 2**20 / args.events:,.0f} bytes/event), "
              f"written in {time.perf_counter() - started:.0f} s")

        from stack_tracker.ingest import ingest
        from stack_tracker.schema import open_database
        from stack_tracker.taxonomy import init

        database = directory / "logins.db"
        for suffix in ("", "-wal", "-shm", ".key"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
        db = open_database(database)
        init(db)
        ingest(db, "teams", directory / "teams.csv")
        ingest(db, "tools", directory / "tools.csv")
        db.close()

        baseline = child(BASELINE, str(log))
        measured = child(IMPORT, str(database), str(log), str(directory / "people.csv"))
        assert baseline["events"] == args.events

        rate, base_rate = args.events / measured["seconds"], args.events / baseline["seconds"]
        print(f"stack-tracker import-logins:   {measured['seconds']:8.1f} s  {rate:>10,.0f} events/s  peak {measured['peak_mib']:5.0f} MiB"
              "  (parse, filter, pseudonymise, resolve, roll up, write, refresh reports)")
        print(f"baseline: parse + count only:  {baseline['seconds']:8.1f} s  {base_rate:>10,.0f} events/s  peak {baseline['peak_mib']:5.0f} MiB"
              f"  ({baseline['parser']})")
        print(f"ratio to the baseline:         {measured['seconds'] / baseline['seconds']:8.2f}x")
        print(f"counted: {measured['sign_ins']:,} sign-ins by {measured['people']:,} people to {measured['tools']} tools, "
              f"{measured['person_months']:,} person-months; skipped {measured['skipped']}; created {measured['created']}")
        print(f"database: {database.stat().st_size / 2**20:,.0f} MiB")
    finally:
        if not args.keep:
            shutil.rmtree(directory)


if __name__ == "__main__":
    main()
