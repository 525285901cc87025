"""The people directory and the Okta System Log of their sign-ins."""

from __future__ import annotations

import bisect
import calendar
import datetime as dt
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .files import write_csv
from .model import Organisation, cumulative
from .people import People

# The Okta log's mix of events. Successful SSO sign-ins are what import-logins
# counts; everything else is the noise of a real System Log, which it skips.
SIGN_IN_SHARE, FAILED_SIGN_IN_SHARE = 0.54, 0.015
# Of a month's sign-ins, this share opens a new person × tool × month; the rest
# are repeat visits. Sign-ins are scarce next to people × tools × months at the
# scales this is meant for, so most months see someone once or twice per tool.
FIRST_VISIT_SHARE = 0.93
WEEKEND_WEIGHT = 0.3
# Share of the day's events in each UTC hour: an organisation spread over
# Europe and the Americas, quiet at night.
HOURLY_WEIGHTS = (1, 1, 1, 1, 1, 2, 4, 7, 10, 11, 11, 10, 10, 11, 12, 12, 11, 9, 7, 5, 4, 3, 2, 1)

OFFICES = (  # city, state, country, latitude, longitude, the first three parts of its addresses
    ("Lisbon", "Lisbon", "Portugal", "38.7223", "-9.1393", "198.51.100"),
    ("London", "England", "United Kingdom", "51.5072", "-0.1276", "203.0.113"),
    ("Berlin", "Berlin", "Germany", "52.52", "13.405", "192.0.2"),
    ("New York", "New York", "United States", "40.7128", "-74.006", "198.18.10"),
    ("Austin", "Texas", "United States", "30.2672", "-97.7431", "198.18.20"),
    ("Sao Paulo", "Sao Paulo", "Brazil", "-23.5505", "-46.6333", "198.18.30"),
)
USER_AGENTS = (  # raw user agent, os, browser
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 "
     "Safari/537.36", "Mac OS X", "CHROME"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 "
     "Safari/537.36 Edg/122.0.0.0", "Windows 10", "EDGE_CHROMIUM"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 "
     "Safari/605.1.15", "Mac OS X", "SAFARI"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:123.0) Gecko/20100101 Firefox/123.0", "Windows 10", "FIREFOX"),
)


def write_directory(people: People, path: Path) -> int:
    """Write directory.csv: name, email and team of each person the directory lists; return the row count."""
    teams = people.organisation.teams
    rows = [[people.names[number], people.emails[number], teams[people.teams[number]].name]
            for number in range(len(people.emails)) if people.listed[number]]
    return write_csv(path, ["Name", "Email", "Team"], rows)


def _split(total: int, weights: list[float]) -> list[int]:
    """``total`` split in proportion to ``weights``, in whole numbers that add up to it exactly."""
    totals = cumulative(weights)
    whole = totals[-1] or 1.0
    shares, given = [], 0
    for running in totals:
        upto = round(total * running / whole)
        shares.append(upto - given)
        given = upto
    return shares


@dataclass(frozen=True)
class EventKind:
    """One kind of System Log event: its share of the noise and the fields every event of the kind has."""

    weight: int  # among the events that are not SSO sign-ins
    event_type: str
    result: str
    message: str
    legacy_type: str
    target: str | None  # JSON of a fixed target, or None for the application signed in to


EVENT_KINDS = (
    # The first two are placed by the sign-in model, not by weight.
    EventKind(0, "user.authentication.sso", "SUCCESS", "User single sign on to app", "app.auth.sso", None),
    EventKind(0, "user.authentication.sso", "FAILURE", "User single sign on to app", "app.auth.sso", None),
    EventKind(22, "user.session.start", "SUCCESS", "User login to Okta", "core.user_auth.login_success", "null"),
    EventKind(2, "user.session.start", "FAILURE", "User login to Okta", "core.user_auth.login_failed", "null"),
    EventKind(11, "user.authentication.auth_via_mfa", "SUCCESS", "Authentication of user via MFA",
               "core.user.factor.attempt_success", "null"),
    EventKind(9, "policy.evaluate_sign_on", "ALLOW", "Evaluation of sign-on policy", "",
               '[{"id":"00p1a2b3c4d5e6f7g8h9","type":"PolicyEntity","alternateId":"unknown","displayName":"Default Policy",'
               '"detailEntry":{"policyType":"OktaSignOn"}},{"id":"0pr1a2b3c4d5e6f7g8h9","type":"PolicyRule",'
               '"alternateId":"00p1a2b3c4d5e6f7g8h9","displayName":"Default Rule","detailEntry":null}]'),
    EventKind(5, "user.session.end", "SUCCESS", "User logout from Okta", "core.user_auth.logout_success", "null"),
    # An application in the target, but not a sign-in: the importer must look at the event type.
    EventKind(2, "application.user_membership.add", "SUCCESS", "Add user to application membership",
               "app.generic.provision.assign_user_to_app", None),
)
SIGN_IN, FAILED_SIGN_IN = 0, 1
WRITE_EVERY = 250_000  # pieces of lines (about 16,000 events, 20 MB) held before they are written


class OktaLog:
    """An Okta System Log in JSON Lines, in time order, written a day at a time.

    Each line is put together from strings made once (a person's actor and
    client, an application's target, a kind of event's fixed fields) with an
    f-string: no JSON encoding per event.
    """

    def __init__(self, organisation: Organisation, people: People, rng: random.Random):
        self.organisation, self.people, self.rng = organisation, people, rng
        uuid_prefix = "%08x-%04x-4%03x-8%03x-" % (rng.getrandbits(32), rng.getrandbits(16), rng.getrandbits(12),
                                                    rng.getrandbits(12))
        # A line is: actor, id, head, date and time, middle, id, tail, id, close, id, version, target.
        parts = [self._fixed_parts(kind) for kind in EVENT_KINDS]
        self.heads, self.middles, self.tails = ([part[number] for part in parts] for number in range(3))
        self.close = f'","detail":{{}}}},"uuid":"{uuid_prefix}'
        self.fixed_targets = [kind.target for kind in EVENT_KINDS]
        self.other_kinds = [number for number, kind in enumerate(EVENT_KINDS) if kind.weight]
        self.other_weights = cumulative([EVENT_KINDS[number].weight for number in self.other_kinds])
        self.actors = [self._actor(number) for number in range(len(people.emails))]
        self.app_users = [
            f'{{"id":"0ua{number:017d}","type":"AppUser","alternateId":"{people.emails[number]}",'
            f'"displayName":"{people.names[number]}","detailEntry":null}}]'
            for number in range(len(people.emails))
        ]
        self.app_targets = [
            f'[{{"id":"0oa{number:017d}","type":"AppInstance","alternateId":"{_json_text(label)}",'
            f'"displayName":"{_json_text(label)}","detailEntry":{{"signOnModeType":"SAML_2_0"}}}},'
            for number, label in enumerate(people.labels)
        ]
        self.times = [f"{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}." for second in range(86_400)]
        self.milliseconds = [f"{number:03d}" for number in range(1000)]
        shares = [weight / sum(HOURLY_WEIGHTS) for weight in HOURLY_WEIGHTS]
        self.hour_ends = cumulative(shares)
        self.hour_starts = [end - share for end, share in zip(self.hour_ends, shares)]
        self.hour_lengths = [3_600_000 / share for share in shares]  # milliseconds per unit of the day's share

    @staticmethod
    def _fixed_parts(kind: EventKind) -> tuple[str, str, str]:
        """What a kind of event writes after the actor's session id, after the time, and after the request id."""
        failed = kind.result == "FAILURE"
        reason = '"INVALID_CREDENTIALS"' if failed else "null"
        head = (f'"}},"displayMessage":"{kind.message}","eventType":"{kind.event_type}",'
                f'"outcome":{{"result":"{kind.result}","reason":{reason}}},"published":"')
        middle = ('Z","securityContext":{"asNumber":64496,"asOrg":"example telecom","isp":"example telecom",'
                  f'"domain":"example.net","isProxy":false}},"severity":"{"WARN" if failed else "INFO"}",'
                  '"debugContext":{"debugData":{"requestId":"Ze')
        tail = f'"}}}},"legacyEventType":"{kind.legacy_type}","transaction":{{"type":"WEB","id":"Ze'
        return head, middle, tail

    def _actor(self, number: int) -> str:
        """The start of each of a person's events: who, from where, with what; up to the session id."""
        people = self.people
        city, state, country, latitude, longitude, network = OFFICES[number % len(OFFICES)]
        agent, system, browser = USER_AGENTS[number // len(OFFICES) % len(USER_AGENTS)]
        login = people.emails[number]
        if number % 20 == 7:  # some accounts were created with capitals; the directory has them in lower case
            login = login[0].upper() + login[1:]
        return (
            f'{{"actor":{{"id":"00u{number:017d}","type":"User","alternateId":"{login}",'
            f'"displayName":"{people.names[number]}","detailEntry":null}},"client":{{"userAgent":{{"rawUserAgent":'
            f'"{agent}","os":"{system}","browser":"{browser}"}},"zone":"null","device":"Computer","id":null,'
            f'"ipAddress":"{network}.{number % 250 + 1}","geographicalContext":{{"city":"{city}","state":"{state}",'
            f'"country":"{country}","geolocation":{{"lat":{latitude},"lon":{longitude}}}}}}},'
            '"device":null,"authenticationContext":{"authenticationStep":0,"externalSessionId":"102'
        )

    def write(self, path: Path, events: int, advance: Callable[[int], None]) -> int:
        """Write ``events`` events over the organisation's months, in proportion to the people there; return the count."""
        people, months = self.people, self.organisation.months
        arrivals = [0] * (months + 1)
        for joined, left in zip(people.joined, people.left):
            arrivals[joined] += 1
            arrivals[left] -= 1
        headcount = cumulative(arrivals)[:months]
        written = 0
        with open(path, "w", encoding="utf-8", newline="\n", buffering=1 << 20) as out:
            for month, month_events in enumerate(_split(events, headcount)):
                written = self._write_month(out, month, month_events, written, advance)
        return written

    def _write_month(self, out, month: int, events: int, sequence: int, advance: Callable[[int], None]) -> int:
        """One month's events, day by day; returns the number of the last event written."""
        rng, random_number = self.rng, self.rng.random
        present, open_cells = self.people.open_cells(month)
        apps = len(self.people.labels)
        cells = apps * len(self.people.emails)  # codes are kind * cells + cell
        sign_ins = round(events * SIGN_IN_SHARE) if open_cells else 0
        failures = round(events * FAILED_SIGN_IN_SHARE) if open_cells else 0
        # Each of `firsts` is someone's first sign-in to an application this month.
        firsts = rng.sample(open_cells, min(len(open_cells), round(sign_ins * FIRST_VISIT_SHARE)))
        absolute = self.organisation.first_month + month
        year, month_number = absolute // 12, absolute % 12 + 1
        days = calendar.monthrange(year, month_number)[1]
        weights = [WEEKEND_WEIGHT if dt.date(year, month_number, day).weekday() >= 5 else 1.0 for day in range(1, days + 1)]
        day_events, day_sign_ins = _split(events, weights), _split(sign_ins, weights)
        day_failures, day_firsts = _split(failures, weights), _split(len(firsts), weights)
        opened = 0
        for day in range(days):
            total = day_events[day]
            signing = min(day_sign_ins[day], total)
            failing = min(day_failures[day], total - signing)
            new = min(day_firsts[day], signing, len(firsts) - opened)
            codes = firsts[opened:opened + new]  # kind SIGN_IN is 0: its code is the cell
            opened += new
            if opened:  # repeat visits, to what is already open
                codes += [firsts[int(random_number() * opened)] for _ in range(signing - new)]
            if firsts:
                codes += [FAILED_SIGN_IN * cells + firsts[int(random_number() * len(firsts))] for _ in range(failing)]
            for kind in rng.choices(self.other_kinds, cum_weights=self.other_weights, k=total - len(codes)):
                person = present[int(random_number() * len(present))]
                app = firsts[int(random_number() * len(firsts))] % apps if firsts else 0
                codes.append(kind * cells + person * apps + app)
            rng.shuffle(codes)
            sequence = self._write_day(out, f"{year:04d}-{month_number:02d}-{day + 1:02d}T", codes, sequence)
            advance(len(codes))
        return sequence

    def _write_day(self, out, date: str, codes: list[int], sequence: int) -> int:
        """The day's events in time order (busier in working hours), in the order of ``codes``.

        The pieces of every line go into one list joined once: building each
        line as a string of its own first costs twice as much.
        """
        apps = len(self.people.labels)
        cells = apps * len(self.people.emails)
        random_number, locate = self.rng.random, bisect.bisect_left
        hour_ends, hour_starts, hour_lengths = self.hour_ends, self.hour_starts, self.hour_lengths
        actors, app_users, app_targets = self.actors, self.app_users, self.app_targets
        heads, middles, tails, close, fixed_targets = self.heads, self.middles, self.tails, self.close, self.fixed_targets
        times, milliseconds = self.times, self.milliseconds
        version = '","version":"0","target":'
        count = len(codes)
        pieces: list[str] = []
        extend = pieces.extend
        for position, code in enumerate(codes):
            share = (position + random_number()) / count
            hour = locate(hour_ends, share)
            hour = hour if hour < 24 else 23
            moment = int(hour * 3_600_000 + (share - hour_starts[hour]) * hour_lengths[hour])
            moment = moment if moment < 86_400_000 else 86_399_999
            kind, cell = divmod(code, cells)
            person, app = divmod(cell, apps)
            sequence += 1
            number = f"{sequence:012x}"
            extend((actors[person], number, heads[kind], date, times[moment // 1000], milliseconds[moment % 1000],
                    middles[kind], number, tails[kind], number, close, number, version))
            target = fixed_targets[kind]
            if target is None:
                extend((app_targets[app], app_users[person], "}\n"))
            else:
                extend((target, "}\n"))
            if len(pieces) >= WRITE_EVERY:
                out.write("".join(pieces))
                pieces.clear()
        out.write("".join(pieces))
        return sequence


def _json_text(text: str) -> str:
    """``text`` as the inside of a JSON string (names here are plain ASCII but for & and quotes)."""
    return text.replace("\\", "\\\\").replace('"', '\\"')
