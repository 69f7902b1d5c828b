"""Stage ⑥: JSON feeds, preview pages, the index, the builder without JavaScript, event pages and
QR codes, over the Flask test client (the browser tests are in test_browser.py)."""

from __future__ import annotations

import re
from html import unescape

import icalendar
import pytest

from feedserver.store import event_id
from tests.interop_parsers import check_feed

MARCH = "from=2026-03-01&to=2026-03-31"
BASE = "https://events.example.edu"


def get(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, response.data[:500]
    return response


def test_json_feed_lists_occurrences_with_offsets_and_every_field(client):
    r = get(client, f"/calendars/ece.json?{MARCH}&q=machine")
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert r.mimetype == "application/json"
    doc = r.get_json()
    assert doc["ok"] is True and doc["count"] == 1
    assert doc["name"] == "Test University — Electrical Engineering, matching “machine”"
    assert doc["timezone"] == "America/Los_Angeles"
    assert doc["window"] == {
        "start": "2026-03-01T00:00:00-08:00",
        "end": "2026-04-01T00:00:00-07:00",
    }
    assert doc["query"] == {"from": "2026-03-01", "q": "machine", "to": "2026-03-31"}
    assert (
        doc["links"]["ics"] == f"{BASE}/calendars/ece.ics?from=2026-03-01&q=machine&to=2026-03-31"
    )
    (o,) = doc["occurrences"]
    zoom = "https://hillside.zoom.us/j/98648507063?pwd=kORhNLFVMLol7FYlHv6TsAmqcKqD7t.1"
    eid = event_id("ml-talk@filters.example")
    assert o == {
        "id": eid,
        "uid": "ml-talk@filters.example",
        "instance_uid": "ml-talk@filters.example-20260310T210000Z",
        "title": "Machine Learning for Café Owners",
        "start": "2026-03-10T14:00:00-07:00",
        "end": "2026-03-10T15:00:00-07:00",
        "all_day": False,
        "timezone": "America/Los_Angeles",
        "recurring": False,
        "status": None,
        "cancelled": False,
        "calendars": [
            {"slug": "ece", "name": "Electrical Engineering", "url": f"{BASE}/calendars/ece.ics"}
        ],
        "types": [{"slug": "seminar", "name": "Seminar", "url": f"{BASE}/types/seminar.ics"}],
        "location": "EEB 132",
        "online": True,
        "meeting": {"url": zoom, "label": "Zoom"},
        "speaker": "Dr. René Müller, Google",
        "host": None,
        "audience": "Graduate Students, Faculty",
        "contact": None,
        "description": o["description"],
        "url": None,  # its URL is the meeting link, which is "meeting"
        "page": f"{BASE}/events/{eid}",
        "ics": f"{BASE}/events/{eid}.ics",
    }
    assert o["description"].startswith(f"Join online: {zoom}")


def test_json_gives_each_occurrence_of_a_series_with_its_override(client):
    doc = get(client, "/all.json?from=2026-03-01&to=2026-06-30&q=weekly").get_json()
    starts = [(o["start"], o["title"], o["location"]) for o in doc["occurrences"]]
    assert starts[0] == ("2026-03-05T16:00:00-08:00", "Weekly lab meeting", "EEB 248")
    assert "2026-03-19T16:00:00-07:00" not in {s for s, _, _ in starts}  # the EXDATE
    assert starts[-1] == (
        "2026-06-10T16:00:00-07:00",
        "Weekly lab meeting: summer special edition",
        "Linden Hall 101",
    )
    assert len(starts) == 8 and all(o["recurring"] for o in doc["occurrences"])


def test_json_all_day_events_are_dates_with_an_exclusive_end(client):
    doc = get(client, "/all.json?from=2026-07-04&to=2026-07-04").get_json()
    (o,) = doc["occurrences"]
    assert (o["start"], o["end"], o["all_day"], o["timezone"]) == (
        "2026-07-04",
        "2026-07-05",
        True,
        None,
    )


def test_json_beyond_the_precomputed_horizon_expands_the_series(site):
    site.sample("g", "x_wr_timezone_google.ics", "cs")  # an endless monthly colloquium
    site.refresh()
    client = site.client()
    # store.horizon_future_days = 1100 from NOW: 2031 lies beyond it
    doc = get(client, "/all.json?from=2031-01-01&to=2031-03-31").get_json()
    # the first Wednesday of each month, 14:00 in Los Angeles (22:00Z in winter)
    assert [o["start"] for o in doc["occurrences"]] == [
        "2031-01-01T14:00:00-08:00",
        "2031-02-05T14:00:00-08:00",
        "2031-03-05T14:00:00-08:00",
    ]


def test_json_errors_have_the_one_shape_and_cors(client):
    r = get(client, "/all.json?tpye=seminar", status=400)
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    message = r.get_json()["error"]
    assert r.get_json() == {"ok": False, "error": message, "errors": [message], "status": 400}
    r = get(client, "/types/talks.json", status=404)
    assert r.get_json()["error"] == "no event type 'talks'; types: seminar, workshop, social"


def test_preview_shows_events_by_day_with_the_zone_named(client):
    page = get(client, f"/calendars/ece?{MARCH}&type=seminar").data.decode()
    assert page.index("Tuesday, March 10, 2026") < page.index("Friday, March 20, 2026")
    titles = re.findall(r'<h4 class="title"><a href="/events/\w+">([^<]+)</a>', page)
    assert [unescape(t) for t in titles] == [
        "Machine Learning for Café Owners",
        "PhD Defense: Learning to Plan",
        "Cancelled: Quantum sensing (cancelled)",
    ]
    assert "2:00 PM – 3:00 PM PDT" in page and "America/Los_Angeles" in page
    assert '<dd class="speaker">Dr. René Müller, Google</dd>' in page
    assert "Join Zoom</a>" in page and '<details class="description">' in page
    assert (
        f'value="{BASE}/calendars/ece.ics?from=2026-03-01&amp;to=2026-03-31&amp;type=seminar"'
        in page
    )


def test_preview_without_a_window_starts_today(client):
    page = get(client, "/calendars/ece").data.decode()
    assert "Events from Sunday, March 1, 2026" in page
    assert "Weekly lab meeting" in page and "Spring mixer" in page


def block(page: str, id_: str) -> str:
    """The subscribe block with this id."""
    return page.split(f'id="{id_}"')[1].split('<div class="subscribe"')[0]


def test_index_lists_feeds_with_upcoming_counts_and_subscribe_links(client):
    page = unescape(get(client, "/").data.decode())
    assert re.search(r"Electrical Engineering</a> <span class=\"count\">7 upcoming", page)
    assert re.search(r"Computer Science</a> <span class=\"count\">1 upcoming", page)
    hrefs = dict(re.findall(r'data-client="(\w+)" href="([^"]+)"', block(page, "calendar-cs")))
    assert hrefs == {
        "webcal": "webcal://events.example.edu/calendars/cs.ics",
        "google": "https://calendar.google.com/calendar/r?cid=webcal%3A%2F%2Fevents.example.edu"
        "%2Fcalendars%2Fcs.ics",
        "outlook": "https://outlook.live.com/calendar/0/addfromweb?url=https%3A%2F%2Fevents.example"
        ".edu%2Fcalendars%2Fcs.ics&name=Test%20University%20%E2%80%94%20Computer%20Science",
        "office365": "https://outlook.office.com/calendar/0/addfromweb?url=https%3A%2F%2Fevents."
        "example.edu%2Fcalendars%2Fcs.ics&name=Test%20University%20%E2%80%94%20Computer%20Science",
    }
    assert "Other calendars → + → " in page and "Subscribe from web" in page
    assert "New Calendar Subscription" in page and "On the Network" in page


def test_builder_works_without_javascript(client):
    r = get(client, "/build?calendar=ece&type=seminar&q=learning&online=1&alarm=10&days=&name=")
    page = unescape(r.data.decode())
    url = f"{BASE}/calendars/ece.ics?alarm=10&online=1&q=learning&type=seminar"
    assert f'<a id="feed-link" href="{url}">' in page
    assert re.search(r'value="ece" checked', page) and 'value="1" checked' in page
    assert "Machine Learning for Café Owners" in page


def test_builder_shows_a_bad_value_with_the_form(client):
    r = get(client, "/build?alarm=soon", status=400)
    assert "alarm: expected minutes before the start" in unescape(r.data.decode())
    assert '<form class="builder"' in r.data.decode()


def test_event_page_and_its_download(client):
    eid = event_id("weekly-lab@filters.example")
    page = unescape(get(client, f"/events/{eid}").data.decode())
    text = re.sub(r"<[^>]+>", "", page)
    assert "<h1>Weekly lab meeting</h1>" in page
    assert "Thu, Mar 5, 2026, 4:00 PM – 5:00 PM PST" in page
    assert "Thu, Mar 19, 2026" not in page  # the EXDATE
    assert "Wed, Jun 10, 2026, 4:00 PM – 5:00 PM PDT — Weekly lab meeting: summer special" in text
    r = get(client, f"/events/{eid}.ics")
    assert r.headers["Content-Disposition"] == f'attachment; filename="{eid}.ics"'
    calendar = icalendar.Calendar.from_ical(r.data)
    assert {str(e["UID"]) for e in calendar.walk("VEVENT")} == {"weekly-lab@filters.example"}
    assert len(calendar.walk("VEVENT")) == 2  # the series and its override
    get(client, "/events/0000000000000000", status=404)
    assert get(client, "/events/nope.ics", status=404).mimetype == "text/plain"


def test_qr_code_is_an_svg_of_the_canonical_feed_url(client):
    r = get(client, "/qr.svg?feed=/calendars/ECE.ics%3Ftype%3Dseminar%26type%3Dworkshop")
    assert r.mimetype == "image/svg+xml" and r.data.startswith(b"<svg")
    assert f"QR code: {BASE}/calendars/ece.ics?type=seminar,workshop".encode() in r.data
    same = get(client, "/qr.svg?feed=/all.ics%3Fcalendar%3Dece%26type%3Dworkshop,seminar")
    assert same.headers["ETag"] == r.headers["ETag"]
    for bad in ("https://evil.example/x.ics", "/status", "/calendars/ece.ics%3Fq%3D"):
        get(client, f"/qr.svg?feed={bad}", status=400)


def test_pages_answer_conditional_requests_and_load_nothing_from_elsewhere(client):
    first = get(client, "/")
    assert "default-src 'none'" in first.headers["Content-Security-Policy"]
    assert not re.search(r'(src|href)="(https?:)?//[^"]*\.(css|js)', first.data.decode())
    assert client.get("/", headers={"If-None-Match": first.headers["ETag"]}).status_code == 304


@pytest.mark.slow
@pytest.mark.parametrize(
    "query",
    [
        "",
        "alarm=10",
        "alarm=0,1440",
        "expand=1",
        "expand=1&alarm=30",
        "type=seminar&online=1&q=learning",
        "exclude_type=seminar&location=eeb,linden",
        "audience=graduate&name=My talks",
        "calendar=ece&expand=1&q=weekly",
    ],
)
def test_every_ics_variant_passes_the_independent_parsers(client, query):
    from datetime import UTC, datetime

    body = get(client, f"/all.ics?from=2026-01-01&to=2026-12-31&{query}").data
    results = check_feed(body, datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    assert results["icalendar"] or "q=" in query


@pytest.mark.slow
def test_event_download_passes_the_independent_parsers(client):
    from datetime import UTC, datetime

    body = get(client, f"/events/{event_id('weekly-lab@filters.example')}.ics").data
    results = check_feed(body, datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    assert len(results["icalendar"]) == 16
