"""The bundled demo (feeds/): valid, offline, and never empty — this year or next."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar
import pytest

from feedserver import config as configuration
from tests.interop_parsers import check_feed

TODAY = datetime.now(UTC).replace(microsecond=0)


def feed_urls(config: configuration.Config) -> list[str]:
    return (
        ["/all.ics"]
        + [f"/calendars/{c.slug}.ics" for c in config.calendars]
        + [f"/types/{t.slug}.ics" for t in config.types]
    )


def test_demo_configuration_is_valid(demo):
    config = demo.config()
    assert len(config.calendars) >= 2 and len(config.types) >= 4
    assert all(s.path and not s.url for s in config.sources), "the demo must work offline"


@pytest.mark.parametrize("years", [0, 1, 3])
def test_every_demo_feed_has_upcoming_events(demo, years):
    now = TODAY + timedelta(days=365 * years)
    outcomes = demo.refresh(now=now)
    assert [o.status for o in outcomes] == ["updated"] * len(outcomes)
    client = demo.client(now=now)
    for url in feed_urls(demo.config()):
        events = icalendar.Calendar.from_ical(client.get(url).data).walk("VEVENT")
        assert events, f"{url} is empty on {now.date()}"


def test_demo_has_the_promised_variety(demo):
    demo.refresh(now=TODAY)
    body = demo.client(now=TODAY).get("/all.ics").data
    calendar = icalendar.Calendar.from_ical(body)
    events = calendar.walk("VEVENT")
    assert any("RRULE" in e for e in events) and any("RECURRENCE-ID" in e for e in events)
    assert any(not isinstance(e["DTSTART"].dt, datetime) for e in events)  # all-day
    assert b"zoom.us/j/" in body
    assert any(ord(ch) > 127 for ch in body.decode())
    uids = [str(e["UID"]) for e in events if "RECURRENCE-ID" not in e]
    assert len(uids) == len(set(uids))
    assert "joint-distinguished-lecture-2026@hillside.example" in uids  # from two sources


@pytest.mark.slow
def test_every_demo_feed_passes_independent_parsers(demo):
    demo.refresh(now=TODAY)
    client = demo.client(now=TODAY)
    start, end = TODAY - timedelta(days=30), TODAY + timedelta(days=365)
    for url in feed_urls(demo.config()):
        check_feed(client.get(url).data, start, end)


def test_demo_reads_the_department_web_page(demo):
    # feeds/sources/ece-talks-page.toml: kind html with a recipe, over a saved page in data/.
    now = datetime(2026, 10, 1, tzinfo=UTC)
    outcome = next(o for o in demo.refresh(now=now) if o.source.id == "ece-talks-page")
    assert (outcome.status, outcome.events, outcome.warnings) == ("updated", 4, [])
    body = demo.client(now=now).get("/calendars/ece.ics?from=2026-11-01&to=2027-06-30").data
    talks = {
        str(e["SUMMARY"]): e
        for e in icalendar.Calendar.from_ical(body).walk("VEVENT")
        if str(e.get("URL", "")).startswith("https://ece.hillside.example/talks/")
    }
    assert len(talks) == 4
    battery = talks["From Lab Cell to Grid-Scale Battery: Ten Years at VoltaWorks"]
    assert str(battery["LOCATION"]) == "Engineering Hall (EH) - 110"  # glued to the webcast
    assert "hillside.zoom.us/j/94410022871" in str(battery["CONFERENCE"])
    assert battery.categories == ["Seminars & Lectures"]
    panel = talks["Careers in Chip Design: A Panel of Hillside Alumni"]
    assert panel.categories == ["Workshops"]  # the source's [categories]
    assert str(panel["LOCATION"]) == "Engineering Hall (EH) - Atrium"  # "Where:" + next line
