"""stack-tracker remind: one chat message per deadline and reminder offset, each sent once.

A webhook on 127.0.0.1 (http.server in a thread) records what it receives. The
organisation and its dates are in `renewal_org`, worked out by hand; the report
behind the reminders lists, within 90 days of the as-of day, every contract
whose earlier deadline falls in that window.

As of 2025-01-15, with reminders 90, 30 and 7 days before:

    deadline                     day         days left  offsets reached  sent
    Delta Chat renewal           2025-01-20   5         90, 30, 7        7 (only the closest, on a first run)
    Delta Chat cancel-by         2024-12-21  -25        (passed)         -
    Alpha CRM renewal            2025-03-31  75         90               90
    Alpha CRM cancel-by          2025-02-28  44         90               90
    Bravo Mail renewal           2025-06-15  151        -                -
    Bravo Mail cancel-by         2025-03-15  59         90               90
    Acme … cancel-by             2025-04-16  91         -                - (outside the 90 days: not listed)

As of 2025-01-29 (14 days on: to Jan 31 is 2 days):

    Delta Chat renewal           2025-02-20  22         90, 30           30 (a monthly contract: its next renewal, a new deadline)
    Delta Chat cancel-by         2025-01-21  -8         (passed)         -
    Alpha CRM renewal            2025-03-31  61         90               - (90 sent)
    Alpha CRM cancel-by          2025-02-28  30         90, 30           30
    Bravo Mail cancel-by         2025-03-15  45         90               - (90 sent)
    Acme … cancel-by             2025-04-16  77         90               90
    Acme … renewal               2025-04-30  91         -                -
"""

from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import free_port, rows, run, write
from renewal_org import AS_OF, HOSTILE_NAME, build
from stack_tracker.database import open_database
from stack_tracker.reminders import WebhookError, remind

SECRET_PATH = "/services/T000/B000/SECRET-TOKEN"
FIRST_RUN = [
    "Delta Chat renews on 2025-01-20 (in 5 days). 600 USD a year, 5 seats. Find out who uses it by 2025-01-20.",
    "Alpha CRM renews on 2025-03-31 (in 75 days). 12,000 USD a year, 20 seats. "
    "Agree 6 seats with the vendor by 2025-02-28.",
    "Last day to give notice for Alpha CRM: 2025-02-28 (in 44 days); it renews on 2025-03-31. "
    "12,000 USD a year, 20 seats. Agree 6 seats with the vendor by 2025-02-28.",
    "Last day to give notice for Bravo Mail: 2025-03-15 (in 59 days); it renews on 2025-06-15. "
    "6,000 EUR a year, 50 seats. Renew by 2025-06-15.",
]
FIRST_RECORDED = [
    ("alpha-crm", "cancel-by", "2025-02-28", 90),
    ("alpha-crm", "renewal", "2025-03-31", 90),
    ("bravo-mail", "cancel-by", "2025-03-15", 90),
    ("delta-chat", "renewal", "2025-01-20", 7),
]
LATER = "2025-01-29"
LATER_RUN = [
    "Delta Chat renews on 2025-02-20 (in 22 days). 600 USD a year, 5 seats. Find out who uses it by 2025-02-20.",
    "Last day to give notice for Alpha CRM: 2025-02-28 (in 30 days); it renews on 2025-03-31. "
    "12,000 USD a year, 20 seats. Agree 6 seats with the vendor by 2025-02-28.",
    f"Last day to give notice for {HOSTILE_NAME}: 2025-04-16 (in 77 days); it renews on 2025-04-30. "
    "1,000 EUR a year, 5 seats. Find out who uses it by 2025-04-16.",
]


class Webhook:
    """What the local webhook received, and how it answers: a status per request, in turn (then 200)."""

    def __init__(self):
        self.bodies: list[dict] = []
        self.paths: list[str] = []
        self.content_types: list[str] = []
        self.statuses: list[int] = []
        self.delay = 0.0

    def texts(self) -> list[str]:
        return [body["text"] for body in self.bodies]


@contextmanager
def webhook_server():
    """A webhook on 127.0.0.1 in a thread; yields (its Webhook record, its URL with a secret path)."""
    hook = Webhook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            time.sleep(hook.delay)
            status = hook.statuses.pop(0) if hook.statuses else 200
            if status == 200:
                hook.bodies.append(json.loads(body))
                hook.paths.append(self.path)
                hook.content_types.append(self.headers["Content-Type"])
            try:
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok" if status == 200 else b"no")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the slow webhook's client has given up waiting, as it should

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield hook, f"http://127.0.0.1:{server.server_port}{SECRET_PATH}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(autouse=True)
def no_webhook_in_the_environment(monkeypatch):
    monkeypatch.delenv("STACK_TRACKER_WEBHOOK", raising=False)


@pytest.fixture
def org(db_path, tmp_path):
    return build(db_path, tmp_path)


def recorded(db_path) -> list[tuple]:
    return [tuple(row.values()) for row in rows(
        db_path, "select tool, deadline, deadline_date, days_before from reminders_sent order by 1, 2, 3, 4")]


def test_each_reminder_is_sent_once_and_the_next_offset_later(org):
    with webhook_server() as (hook, url):
        result = run("remind", org, "--webhook", url, "--as-of", AS_OF)
        assert hook.texts() == FIRST_RUN
        assert hook.paths == [SECRET_PATH] * 4
        assert hook.content_types == ["application/json; charset=utf-8"] * 4
        assert result.stdout.splitlines() == FIRST_RUN
        host = url.split("/")[2]
        assert f"Sent 4 reminders to {host}." in result.stderr
        assert recorded(org) == FIRST_RECORDED

        # A daily job run again the same day: nothing new.
        result = run("remind", org, "--webhook", url, "--as-of", AS_OF)
        assert len(hook.bodies) == 4 and "No reminders due." in result.stderr

        run("remind", org, "--webhook", url, "--as-of", LATER, "--silent")
        assert hook.texts()[4:] == LATER_RUN
    assert len(recorded(org)) == 7
    # Only the host is kept: the address's path is the secret that lets anyone post.
    assert {row["webhook_host"] for row in rows(org, "select webhook_host from reminders_sent")} == {host}
    assert "SECRET" not in json.dumps(rows(org, "select * from reminders_sent"))


def test_a_dry_run_prints_the_messages_and_sends_and_records_nothing(org):
    with webhook_server() as (hook, url):
        result = run("remind", org, "--webhook", url, "--as-of", AS_OF, "--dry-run")
        assert hook.bodies == []
    assert result.stdout.splitlines() == FIRST_RUN
    assert "Would send 4 reminders to 127.0.0.1:" in result.stderr and "SECRET" not in result.output
    assert recorded(org) == []
    # No webhook needed to look.
    assert run("remind", org, "--as-of", AS_OF, "--dry-run").stdout.splitlines() == FIRST_RUN


def test_a_webhook_that_refuses_fails_the_command_and_nothing_is_recorded(org):
    with webhook_server() as (hook, url):
        hook.statuses = [500]
        result = run("remind", org, "--webhook", url, "--as-of", AS_OF, exit_code=1)
        assert hook.bodies == []
    assert result.output.startswith(f"Error: the webhook at {url.split('/')[2]} answered HTTP 500")
    assert "Delta Chat" in result.output and "the next run tries again" in result.output
    assert "SECRET" not in result.output and "Traceback" not in result.output
    assert recorded(org) == []


def test_what_was_sent_before_a_failure_stays_recorded_and_the_rest_goes_next_time(org):
    with webhook_server() as (hook, url):
        hook.statuses = [200, 200, 503]
        result = run("remind", org, "--webhook", url, "--as-of", AS_OF, exit_code=1)
        assert "answered HTTP 503" in result.output and "the 2 sent before it are recorded" in result.output
        assert hook.texts() == FIRST_RUN[:2]
        assert recorded(org) == [FIRST_RECORDED[1], FIRST_RECORDED[3]]  # Delta's renewal, then Alpha's
        run("remind", org, "--webhook", url, "--as-of", AS_OF, "--silent")
        assert hook.texts() == FIRST_RUN
    assert recorded(org) == FIRST_RECORDED


def test_an_unreachable_or_slow_webhook_is_an_error_naming_its_host(org):
    port = free_port()  # nothing listens there
    result = run("remind", org, "--webhook", f"http://127.0.0.1:{port}/hook", "--as-of", AS_OF, exit_code=1)
    assert f"Error: could not reach the webhook at 127.0.0.1:{port}: " in result.output
    with webhook_server() as (hook, url):
        hook.delay = 2
        db = open_database(org)
        try:
            with pytest.raises(WebhookError, match=r"did not answer within 0\.5 seconds"):
                remind(db, url, as_of=AS_OF, timeout=0.5)
        finally:
            db.close()
    assert recorded(org) == []


@pytest.mark.parametrize("address", ["file:///etc/passwd", "ftp://example.com/hook", "hooks.slack.com/x", "http:///x"])
def test_only_http_and_https_addresses(org, address):
    result = run("remind", org, "--webhook", address, "--as-of", AS_OF, exit_code=1)
    assert "Error: --webhook must be an http:// or https:// address" in result.output


def test_without_a_webhook_it_says_what_to_give(org):
    assert "give --webhook URL" in run("remind", org, "--as-of", AS_OF, exit_code=1).output


def test_the_message_cannot_ping_a_channel(org, tmp_path):
    run("ingest", org, "tools", write(tmp_path / "ping.csv", "tool,renewal date\n<!channel> & co,2025-01-22\n"), "--silent")
    text = run("remind", org, "--as-of", AS_OF, "--dry-run").stdout
    assert "&lt;!channel&gt; &amp; co renews on 2025-01-22 (in 7 days)." in text
    assert "<!channel>" not in text
