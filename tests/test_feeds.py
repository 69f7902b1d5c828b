"""Stage ⑥: feed routes over the Flask test client: content, headers, caching, errors."""

from __future__ import annotations

import gzip
from datetime import timedelta

import icalendar

from tests.conftest import NOW

SEMINARS = 'types = ["seminar"]'


def feed(client, url, **headers):
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.data
    return response


def uids(response) -> list[str]:
    calendar = icalendar.Calendar.from_ical(response.data)
    return sorted({str(e["UID"]) for e in calendar.walk("VEVENT")})


def test_calendar_feed_has_the_client_facing_header(site):
    site.sample("lab", "windows_tzid.ics")
    site.refresh()
    r = feed(site.client(), "/calendars/ece.ics?from=2026-01-01&to=2026-12-31")
    assert r.headers["Content-Type"] == "text/calendar; charset=utf-8"
    text = r.data.decode()
    for line in (
        "VERSION:2.0",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "NAME:Test University — Electrical Engineering",
        "X-WR-CALNAME:Test University — Electrical Engineering",
        "X-WR-CALDESC:Seminars and defenses of the ECE department",
        "X-WR-TIMEZONE:America/Los_Angeles",
        "REFRESH-INTERVAL;VALUE=DURATION:PT1H",
        "X-PUBLISHED-TTL:PT1H",
    ):
        assert f"\r\n{line}\r\n" in text
    assert text.count("BEGIN:VTIMEZONE") == 1 and "TZID:America/Los_Angeles" in text
    assert "Pacific Standard Time" not in text


def test_calendar_level_text_is_escaped(site):
    text = (site.feeds / "site.toml").read_text()
    (site.feeds / "site.toml").write_text(
        text.replace("Seminars and defenses of", "Seminars, talks; defenses of")
    )
    body = feed(site.client(), "/calendars/ece.ics").data.decode()
    assert "\r\nX-WR-CALDESC:Seminars\\, talks\\; defenses of" in body
    assert "\r\nDESCRIPTION:Seminars\\, talks\\; defenses of" in body


def test_same_uid_from_two_sources_is_one_event_in_each_feed(site):
    site.sample("ece-copy", "recurring_overrides.ics", "ece")
    site.sample("cs-copy", "recurring_overrides.ics", "cs", extra=SEMINARS)
    site.refresh()
    client = site.client()
    everything = feed(client, "/all.ics?from=2026-01-01&to=2026-12-31")
    assert everything.data.count(b"UID:weekly-seminar@example.edu") == 2  # master + override
    assert uids(everything) == [
        "all-day@example.edu",
        "festival@example.edu",
        "weekly-seminar@example.edu",
    ]
    for url in ("/calendars/ece.ics", "/calendars/cs.ics", "/types/seminar.ics"):
        assert "weekly-seminar@example.edu" in uids(feed(client, url + "?from=2026-01-01"))


def test_type_and_calendar_filters_combine(site):
    site.sample("lab", "recurring_overrides.ics", "ece")
    site.sample("cs", "x_wr_timezone_google.ics", "cs")
    site.refresh()
    client = site.client()
    window = "from=2026-01-01&to=2026-12-31"
    assert uids(feed(client, f"/types/seminar.ics?{window}")) == [
        "colloquium-series@google.com",
        "weekly-seminar@example.edu",
    ]
    assert uids(feed(client, f"/types/seminar.ics?calendar=cs&{window}")) == [
        "colloquium-series@google.com"
    ]
    assert uids(feed(client, f"/all.ics?calendar=ece&type=workshop&{window}")) == []


def test_from_to_window_selects_by_occurrence(site):
    site.sample("lab", "recurring_overrides.ics")
    site.refresh()
    client = site.client()
    # The weekly series ends in April; the festival is in April; the holiday in July.
    assert uids(feed(client, "/all.ics?from=2026-07-01&to=2026-07-31")) == ["all-day@example.edu"]
    assert uids(feed(client, "/all.ics?from=2026-04-18&to=2026-04-18")) == ["festival@example.edu"]
    # 2026-01-22 is an EXDATE: no occurrence of the series that day.
    assert uids(feed(client, "/all.ics?from=2026-01-22&to=2026-01-22")) == []


def test_empty_feed_is_still_a_valid_calendar(site):
    site.refresh()
    r = feed(site.client(), "/types/social.ics")
    calendar = icalendar.Calendar.from_ical(r.data)
    assert calendar.walk("VEVENT") == [] and len(calendar.walk("VTIMEZONE")) == 1


def test_responses_are_byte_identical_between_requests_and_apps(site):
    site.sample("lab", "recurring_overrides.ics")
    site.sample("g", "x_wr_timezone_google.ics", "cs")
    site.refresh()
    first = feed(site.client(), "/all.ics").data
    site.refresh(now=NOW + timedelta(hours=2))  # same upstream bytes, later refresh
    assert feed(site.client(), "/all.ics").data == first
    assert (
        feed(site.client(), "/all.ics?type=seminar,social").data
        == feed(site.client(), "/all.ics?type=social&type=seminar").data
    )


def test_etag_and_last_modified_give_304(site):
    site.sample("lab", "recurring_overrides.ics")
    site.refresh()
    client = site.client()
    r = feed(client, "/all.ics")
    etag, modified = r.headers["ETag"], r.headers["Last-Modified"]
    assert r.headers["Cache-Control"] == "public, max-age=900"
    again = client.get("/all.ics", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == etag
    assert client.get("/all.ics", headers={"If-Modified-Since": modified}).status_code == 304
    assert client.get("/all.ics", headers={"If-None-Match": '"other"'}).status_code == 200
    assert client.get("/all.ics?type=seminar", headers={"If-None-Match": etag}).status_code == 200


def test_etag_changes_exactly_when_the_bytes_change(site):
    path = site.sample("lab", "windows_tzid.ics")
    site.refresh()
    before = feed(site.client(), "/all.ics?from=2026-01-01")
    (site.feeds / "data" / "lab.ics").write_bytes(
        (site.feeds / "data" / "lab.ics").read_bytes().replace(b"(summer)", b"(moved)")
    )
    assert path.exists()
    site.refresh(now=NOW + timedelta(hours=1))
    after = feed(site.client(), "/all.ics?from=2026-01-01")
    assert b"(moved)" in after.data and b"SEQUENCE:1" in after.data
    assert after.data != before.data and after.headers["ETag"] != before.headers["ETag"]
    assert after.headers["Last-Modified"] != before.headers["Last-Modified"]


def test_gzip_only_when_accepted(site):
    site.sample("lab", "recurring_overrides.ics")
    site.refresh()
    client = site.client()
    plain = feed(client, "/all.ics")
    zipped = feed(client, "/all.ics", **{"Accept-Encoding": "gzip, deflate"})
    assert "Content-Encoding" not in plain.headers and plain.headers["Vary"] == "Accept-Encoding"
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.data) == plain.data
    assert zipped.headers["ETag"] != plain.headers["ETag"]
    off = feed(site.client(**{"feeds.gzip": False}), "/all.ics", **{"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in off.headers and "Vary" not in off.headers


def test_head_has_the_headers_and_no_body(site):
    site.sample("lab", "recurring_overrides.ics")
    site.refresh()
    client = site.client()
    get, head = feed(client, "/all.ics"), client.head("/all.ics")
    assert head.status_code == 200 and head.data == b""
    assert head.headers["ETag"] == get.headers["ETag"]
    assert head.headers["Content-Length"] == str(len(get.data))


def test_errors_are_plain_text_with_status(site):
    site.refresh()
    client = site.client()
    r = client.get("/types/talks.ics")
    assert r.status_code == 404 and r.mimetype == "text/plain"
    assert r.data == b"no event type 'talks'; types: seminar, workshop, social\n"
    r = client.get("/all.ics?form=2026-01-01")
    assert r.status_code == 400
    assert r.data.startswith(b"unknown parameter 'form' (did you mean 'from'?)")
    r = client.get("/all.ics?to=yesterday")
    assert r.status_code == 400
    assert r.data == b"to: expected an ISO date YYYY-MM-DD, got 'yesterday'\n"
    assert client.get("/nothing-here").status_code == 404


def test_failed_source_keeps_last_good_events_and_shows_on_status(site):
    site.sample("lab", "windows_tzid.ics")
    site.refresh()
    (site.feeds / "data" / "lab.ics").write_bytes(b"<html>Sign in</html>")
    outcome = site.refresh(now=NOW + timedelta(hours=1))[0]
    assert outcome.status == "failed"
    assert outcome.error == "not an iCalendar file: it starts with '<html>Sign in</html>'"
    client = site.client()
    assert len(uids(feed(client, "/all.ics?from=2026-01-01"))) == 2
    status = client.get("/status.json").get_json()
    assert status["ok"] is False
    assert status["sources"][0]["last_error"] == outcome.error
    assert status["sources"][0]["events"] == 2


def test_index_lists_every_feed(site):
    site.sample("lab", "windows_tzid.ics")
    site.refresh()
    page = site.client().get("/").data.decode()
    for url in ("/all.ics", "/calendars/ece.ics", "/calendars/cs.ics", "/types/seminar.ics"):
        assert f"https://events.example.edu{url}" in page


def test_windows_beyond_the_precomputed_horizon_fall_back_to_series_spans(site):
    site.sample("g", "x_wr_timezone_google.ics", "cs")  # an endless monthly colloquium
    site.refresh()
    client = site.client()
    # store.horizon_future_days = 1100 from 2026-03-01: 2031 lies beyond it.
    assert uids(feed(client, "/all.ics?from=2031-01-01&to=2031-01-31")) == [
        "colloquium-series@google.com"
    ]
    assert uids(feed(client, "/all.ics?from=2024-01-01&to=2024-01-31")) == []
