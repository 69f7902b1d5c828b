"""End to end: `feedserver serve` (gunicorn, several workers) over real HTTP on 127.0.0.1."""

from __future__ import annotations

import gzip
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import icalendar
import pytest
import requests
from urllib3.util.retry import Retry

from tests.conftest import SAMPLES

# A connection gunicorn resets between requests (a worker recycling its keep-alive socket) is
# retried for GET/HEAD, as calendar clients do; the assertions are about answers, not sockets.
http = requests.Session()
http.mount(
    "http://",
    requests.adapters.HTTPAdapter(
        max_retries=Retry(total=3, connect=3, read=3, allowed_methods={"GET", "HEAD"})
    ),
)

pytestmark = pytest.mark.slow

GOOD = (SAMPLES / "ics" / "recurring_overrides.ics").read_bytes()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(site) -> Iterator[str]:
    """Start `feedserver serve` with 2 workers on the test site; yield its base URL."""
    servers: list[subprocess.Popen] = []

    def start(*args: str, token: str = "") -> str:
        port = free_port()
        command = [
            sys.executable,
            "-m",
            "feedserver",
            "--feeds",
            str(site.feeds),
            "--data",
            str(site.data),
            "serve",
            "--port",
            str(port),
            "--workers",
            "2",
            *args,
        ]
        process = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env={**os.environ, "FEEDSERVER_ADMIN_TOKEN": token},
        )
        servers.append(process)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if http.get(f"{base}/healthz", timeout=1).ok:
                    return base
            except requests.ConnectionError:
                time.sleep(0.1)
        process.kill()
        raise AssertionError(f"server did not start: {process.stderr.read().decode()[-2000:]}")

    yield start
    for process in servers:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stderr.close()


def test_conditional_requests_gzip_and_head_over_real_http(site, server):
    site.sample("lab", "recurring_overrides.ics")
    site.refresh()
    base = server("--no-refresh")
    url = f"{base}/all.ics?from=2026-01-01&to=2026-12-31"
    plain = http.get(url, headers={"Accept-Encoding": "identity"}, timeout=15)
    assert (
        plain.status_code == 200 and plain.headers["Content-Type"] == "text/calendar; charset=utf-8"
    )
    assert "Content-Encoding" not in plain.headers
    assert len(icalendar.Calendar.from_ical(plain.content).walk("VEVENT")) == 4
    etag, modified = plain.headers["ETag"], plain.headers["Last-Modified"]
    for _ in range(4):  # whichever worker answers, the bytes and the ETag are the same
        again = http.get(url, headers={"Accept-Encoding": "identity"}, timeout=15)
        assert again.content == plain.content and again.headers["ETag"] == etag
    assert http.get(url, headers={"If-None-Match": etag}, timeout=15).status_code == 304
    assert http.get(url, headers={"If-Modified-Since": modified}, timeout=15).status_code == 304
    raw = http.get(url, headers={"Accept-Encoding": "gzip"}, timeout=5, stream=True)
    assert raw.headers["Content-Encoding"] == "gzip" and raw.headers["Vary"] == "Accept-Encoding"
    assert gzip.decompress(raw.raw.read()) == plain.content
    head = http.head(url, headers={"Accept-Encoding": "identity"}, timeout=15)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["Content-Length"] == str(len(plain.content))
    bad = http.get(f"{base}/all.ics?type=nope", timeout=15)
    assert bad.status_code == 400 and bad.text.startswith("type: unknown type 'nope'")


def test_one_worker_refreshes_at_a_time_and_all_see_the_result(site, server, upstream):
    # A slow upstream: if two workers refreshed at once, it would see two requests in flight.
    upstream.serve("/cal.ics", GOOD, delay=0.6, etag=None)
    site.source(
        "up",
        'name = "Up"\nkind = "ics"\ncalendar = "ece"\nrefresh = "2s"\n'
        f'url = "{upstream.url("/cal.ics")}"',
    )
    base = server()
    # Three refreshes take about 5 s; the margin is for a loaded CI machine.
    deadline = time.monotonic() + 40
    while upstream.hits("/cal.ics") < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    status = http.get(f"{base}/status.json", timeout=15).json()
    assert upstream.hits("/cal.ics") >= 3, status
    assert upstream.max_in_flight == 1
    for _ in range(6):  # both workers answer from the shared store
        body = http.get(f"{base}/all.ics?from=2026-01-01", timeout=15).content
        assert b"UID:weekly-seminar@example.edu" in body
    status = http.get(f"{base}/status.json", timeout=15).json()
    assert status["ok"] and status["sources"][0]["events"] == 3, status


def eventually(check, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_admin_changes_reach_every_worker_without_restart(site, server, upstream):
    upstream.serve("/cal.ics", GOOD)
    base = server(token="tok")
    auth = {"Authorization": "Bearer tok"}
    window = f"{base}/all.ics?from=2026-01-01&to=2026-12-31"
    body = {"id": "lab", "kind": "ics", "calendar": "ece", "url": upstream.url("/cal.ics")}
    added = requests.post(f"{base}/admin/api/sources", json=body, headers=auth, timeout=15)
    assert added.status_code == 201, added.text
    # Both workers answer (gunicorn spreads the requests): every answer has the new events.
    for _ in range(6):
        assert b"UID:weekly-seminar@example.edu" in http.get(window, timeout=15).content
    eventually(
        lambda: all(
            [s["id"] for s in http.get(f"{base}/status.json", timeout=15).json()["sources"]]
            == ["lab"]
            for _ in range(4)
        )
    )
    # A hand edit of the file: a new mapping is re-applied by the refreshers within seconds.
    path = site.feeds / "sources" / "lab.toml"
    path.write_text(path.read_text().replace('calendar = "ece"', 'calendar = "cs"'))
    cs = f"{base}/calendars/cs.ics?from=2026-01-01&to=2026-12-31"
    eventually(lambda: all(b"weekly-seminar" in http.get(cs, timeout=15).content for _ in range(4)))
    etag = http.get(f"{base}/admin/api/sources/lab", headers=auth, timeout=15).headers["ETag"]
    gone = requests.delete(
        f"{base}/admin/api/sources/lab", headers={**auth, "If-Match": etag}, timeout=15
    )
    assert gone.status_code == 200, gone.text
    for _ in range(6):
        assert b"weekly-seminar" not in http.get(window, timeout=15).content
    metrics = http.get(f"{base}/metrics", timeout=15).text
    assert 'route="/admin/api/sources",status="201"} 1' in metrics
