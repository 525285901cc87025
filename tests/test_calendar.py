"""stack-tracker calendar, and the site's /renewals.ics: the renewals report as iCalendar.

Read back with `icalendar`, a real parser. The organisation and every date are
in `renewal_org`, worked out by hand as of 2025-01-15. With the default
reminders (90, 30, 7 days before), an alarm is kept only when it goes off on
or after the as-of day, that is when its offset is no more than the days left.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import sys
import urllib.request

import icalendar
import pytest
from datasette.app import Datasette
from datasette_auth_passwords.utils import hash_password

from conftest import fetch, free_port, rows, run, serving, write
from renewal_org import AS_OF, HOSTILE_NAME, build
from stack_tracker.resources import resource
from stack_tracker.site.plugins import renewals_ics
from stack_tracker.site.publish import publish
from stack_tracker.site.serve import PLUGINS_DIR, site_metadata

ALL = [90, 30, 7]
# (summary, all-day start, alarms in days before): in the report's order, renewal before cancel-by.
EXPECTED = [
    ("Renewal: Delta Chat", "2025-01-20", []),                  # 5 days left: every alarm would go off before today
    ("Cancel-by deadline: Delta Chat", "2024-12-21", []),       # passed 25 days ago
    ("Renewal: Alpha CRM", "2025-03-31", [30, 7]),              # 75 days left
    ("Cancel-by deadline: Alpha CRM", "2025-02-28", [30, 7]),   # 44
    ("Renewal: Bravo Mail", "2025-06-15", ALL),                 # 151
    ("Cancel-by deadline: Bravo Mail", "2025-03-15", [30, 7]),  # 59
    (f"Renewal: {HOSTILE_NAME}", "2025-04-30", ALL),            # 105
    (f"Cancel-by deadline: {HOSTILE_NAME}", "2025-04-16", ALL), # 91
    ("Renewal: Echo Ads", "2025-09-30", ALL),                   # 258
    ("Cancel-by deadline: Echo Ads", "2025-08-30", ALL),        # 227
]


@pytest.fixture
def org(db_path, tmp_path):
    return build(db_path, tmp_path)


def calendar_text(db_path, *options) -> str:
    return run("calendar", db_path, "--as-of", AS_OF, *options).stdout_bytes.decode("utf-8")


def events(text: str) -> list:
    return icalendar.Calendar.from_ical(text).walk("VEVENT")


def summarised(text: str) -> list[tuple]:
    return [
        (str(event["SUMMARY"]), event.decoded("DTSTART").isoformat(),
         [-alarm.decoded("TRIGGER").days for alarm in event.walk("VALARM")])
        for event in events(text)
    ]


def by_summary(text: str) -> dict:
    return {str(event["SUMMARY"]): event for event in events(text)}


def without_stamps(text: str) -> str:
    return re.sub(r"DTSTAMP:\d{8}T\d{6}Z\r\n", "", text)


def test_one_all_day_event_per_renewal_and_cancel_by_with_alarms_still_ahead(org):
    text = calendar_text(org)
    assert summarised(text) == EXPECTED
    for event in events(text):
        start, end = event.decoded("DTSTART"), event.decoded("DTEND")
        assert type(start) is dt.date and event["DTSTART"].params["VALUE"] == "DATE"
        assert end == start + dt.timedelta(days=1)
        assert str(event["TRANSP"]) == "TRANSPARENT"
        for alarm in event.walk("VALARM"):
            assert str(alarm["ACTION"]) == "DISPLAY" and str(alarm["DESCRIPTION"]).startswith(str(event["SUMMARY"]))


def test_the_description_says_cost_seats_use_recommendation_and_action(org):
    found = by_summary(calendar_text(org))
    alpha = str(found["Cancel-by deadline: Alpha CRM"]["DESCRIPTION"])
    assert alpha.splitlines() == [
        "Tool: Alpha CRM",
        "Owner: Marketing Ops",
        "Renews on 2025-03-31 (ends unless renewed)",
        "Notice: 1 month; cancel by 2025-02-28",
        "Cost: 12,000 USD a year",
        "Seats: 20 at 600 USD a seat",          # 12,000 / 20
        "Utilisation: 25% (5 active users)",    # 5 of 20
        "Recommendation: right-size to 6 seats",  # 5 x 1.1 = 5.5, rounded up
        "Why: 5 of 20 seats active in 2024-12 (25%).",
        "Action: Agree 6 seats with the vendor by 2025-02-28.",
    ]
    bravo = str(found["Renewal: Bravo Mail"]["DESCRIPTION"])
    # EUR has no rate into USD here: the cost is shown as the contract has it, and no seat price.
    assert "Cost: 6,000 EUR a year" in bravo and "Seats: 50\n" in bravo
    assert "Recommendation: renew" in bravo and "Action: Renew by 2025-06-15." in bravo
    echo = str(found["Renewal: Echo Ads"]["DESCRIPTION"])
    assert "Recommendation: cancel" in echo
    assert "Action: Give notice by 2025-08-30 (1 month before it renews)." in echo
    delta = str(found["Renewal: Delta Chat"]["DESCRIPTION"])
    assert "Renews on 2025-01-20 (renews itself unless cancelled)" in delta
    assert "Utilisation: not known" in delta and "Recommendation: none until its use is known" in delta


def test_the_file_is_crlf_folded_at_75_octets_and_names_itself(org):
    data = run("calendar", org, "--as-of", AS_OF).stdout_bytes
    assert data.startswith(b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n") and data.endswith(b"END:VCALENDAR\r\n")
    lines = data.split(b"\r\n")[:-1]
    assert b"\n" not in b"".join(lines) and b"\r" not in b"".join(lines)
    assert max(len(line) for line in lines) <= 75
    assert any(line.startswith(b" ") for line in lines)  # the descriptions are long enough to fold
    for line in lines:
        line.decode("utf-8")  # never a character cut in two
    calendar = icalendar.Calendar.from_ical(data)
    assert str(calendar["X-WR-CALNAME"]) == "Contract renewals"
    assert str(calendar["METHOD"]) == "PUBLISH"


def test_hostile_text_comes_back_as_written(org):
    text = calendar_text(org)
    event = by_summary(text)[f"Renewal: {HOSTILE_NAME}"]
    assert str(event["DESCRIPTION"]).startswith(f"Tool: {HOSTILE_NAME}\n")
    assert "\\;" in text and "\\," in text and "\\n" in text and "\\\\" in text  # escaped, not raw
    assert "🚀" in text


def test_control_characters_and_odd_line_breaks_never_reach_the_file():
    assert renewals_ics.escape_text("a\r\nb\rc\u2028d\x07e\tf") == "a\\nb\\nc\\nd e\tf"
    folded = renewals_ics.fold("X:" + "🚀" * 40)
    assert all(len(line.encode()) <= 75 for line in folded.split("\r\n"))
    assert folded.replace("\r\n ", "") == "X:" + "🚀" * 40 + "\r\n"


def test_uids_hold_across_runs_and_a_moved_renewal(org, tmp_path):
    first = by_summary(calendar_text(org))
    again = by_summary(calendar_text(org))
    assert {name: str(event["UID"]) for name, event in first.items()} == {name: str(event["UID"]) for name, event in again.items()}
    uids = [str(event["UID"]) for event in first.values()]
    assert len(set(uids)) == len(uids) and all(uid.endswith("@stack-tracker") for uid in uids)
    assert not any(re.search(r"2025|2024", uid) for uid in uids)
    [alpha] = rows(org, "select ingest_id from tools where slug = 'alpha-crm'")
    assert first["Renewal: Alpha CRM"].decoded("SEQUENCE") == alpha["ingest_id"]  # the tools file's ingest
    assert first["Renewal: Alpha CRM"].decoded("LAST-MODIFIED").tzinfo is not None

    # Alpha's renewal moves a month on, and so its cancel-by: the same events, a later revision.
    run("ingest", org, "tools", write(tmp_path / "moved.csv", "tool,renewal date\nAlpha CRM,2025-04-30\n"), "--silent")
    moved = by_summary(calendar_text(org))
    for name in ("Renewal: Alpha CRM", "Cancel-by deadline: Alpha CRM"):
        assert str(moved[name]["UID"]) == str(first[name]["UID"])
        assert moved[name].decoded("SEQUENCE") > first[name].decoded("SEQUENCE")
    assert moved["Renewal: Alpha CRM"].decoded("DTSTART") == dt.date(2025, 4, 30)
    assert moved["Cancel-by deadline: Alpha CRM"].decoded("DTSTART") == dt.date(2025, 3, 30)  # Apr 30 less 1 month
    assert moved["Renewal: Bravo Mail"].decoded("SEQUENCE") == first["Renewal: Bravo Mail"].decoded("SEQUENCE")


def test_a_team_and_other_reminders(org):
    brand = calendar_text(org, "--team", "brand", "--remind", "60,250")
    calendar = icalendar.Calendar.from_ical(brand)
    assert str(calendar["X-WR-CALNAME"]) == "Contract renewals: Brand"
    # Echo's renewal is 258 days away (both alarms ahead); its cancel-by 227 (the 250-day alarm would have gone off).
    assert summarised(brand) == [("Renewal: Echo Ads", "2025-09-30", [250, 60]),
                                 ("Cancel-by deadline: Echo Ads", "2025-08-30", [60])]
    assert all(not alarms for _, _, alarms in summarised(calendar_text(org, "--remind", "")))
    # On the day itself: an alarm at the start of the day.
    delta = summarised(calendar_text(org, "--as-of", "2025-01-20", "--remind", "0"))[0]
    assert delta == ("Renewal: Delta Chat", "2025-01-20", [0])


def test_mistakes_are_messages(org, tmp_path):
    result = run("calendar", org, "--team", "Nobody", exit_code=1)
    assert result.output.startswith("Error: ") and "Traceback" not in result.output
    result = run("calendar", org, "--as-of", "2025-02-30", exit_code=1)
    assert "Error: " in result.output and "2025-02-30" in result.output
    result = run("calendar", org, "--remind", "90,soon", exit_code=2)
    assert "expected whole numbers of days" in result.output
    result = run("calendar", org, "-o", org, exit_code=1)
    assert "the database" in result.output


def test_the_file_is_written_with_o(org, tmp_path):
    result = run("calendar", org, "--as-of", AS_OF, "-o", tmp_path / "renewals.ics")
    assert f"Wrote {tmp_path / 'renewals.ics'}" in result.output
    data = (tmp_path / "renewals.ics").read_bytes()
    assert without_stamps(data.decode()) == without_stamps(calendar_text(org))


# -- The site ---------------------------------------------------------------


def live_site(db_path) -> Datasette:
    """Datasette on the database file, as `stack-tracker serve DB` runs it."""
    return Datasette([str(db_path)], metadata=site_metadata(db_path), template_dir=str(resource("templates")),
                     plugins_dir=str(PLUGINS_DIR))


async def test_the_site_serves_the_same_calendar(org, tmp_path):
    cli_text = calendar_text(org)
    site = Datasette([], config_dir=publish(org, tmp_path / "site").directory)
    for datasette in (live_site(org), site):
        response = await datasette.client.get(f"/renewals.ics?as_of={AS_OF}")
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/calendar; charset=utf-8"
        assert without_stamps(response.text) == without_stamps(cli_text)
        team = await datasette.client.get(f"/renewals.ics?as_of={AS_OF}&team=Brand&remind=60")
        assert summarised(team.text) == [("Renewal: Echo Ads", "2025-09-30", [60]),
                                         ("Cancel-by deadline: Echo Ads", "2025-08-30", [60])]
        for wrong in ("team=Nobody", "as_of=soon", "remind=x"):
            response = await datasette.client.get(f"/renewals.ics?{wrong}")
            assert response.status_code == 400, wrong
        home = (await datasette.client.get("/")).text
        assert 'href="/renewals.ics">Subscribe to the renewal calendar</a>' in home
        assert "in the next 400 days" in home and "reminders 90, 30, 7 days before" in home


async def test_a_private_site_asks_the_calendar_app_for_the_password(org, tmp_path):
    site = publish(org, tmp_path / "private", password_hash=hash_password("s3cret", iterations=1000)).directory
    datasette = Datasette([], config_dir=site)
    assert (await datasette.client.get(f"/renewals.ics?as_of={AS_OF}")).status_code == 403
    wrong = base64.b64encode(b"viewer:guess").decode()
    assert (await datasette.client.get("/renewals.ics", headers={"Authorization": f"Basic {wrong}"})).status_code == 403
    right = base64.b64encode(b"viewer:s3cret").decode()
    response = await datasette.client.get(f"/renewals.ics?as_of={AS_OF}", headers={"Authorization": f"Basic {right}"})
    assert response.status_code == 200 and summarised(response.text) == EXPECTED


def test_a_served_published_site_answers_renewals_ics(org, tmp_path):
    site = publish(org, tmp_path / "site").directory
    port = free_port()
    command = [sys.executable, "-m", "stack_tracker", "serve", str(site), "--port", str(port)]
    with serving(command, port, log=tmp_path / "serve.log") as base:
        with urllib.request.urlopen(f"{base}/renewals.ics?as_of={AS_OF}", timeout=10) as response:
            assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
            assert summarised(response.read().decode("utf-8")) == EXPECTED
        assert "Subscribe to the renewal calendar" in fetch(f"{base}/")
