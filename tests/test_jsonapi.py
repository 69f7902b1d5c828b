"""The ``json`` kind: JSON event APIs by a field mapping, and the Localist preset.

The samples in tests/samples/json/ are a Localist /api/2/events response spread over three
pages (several events, a weekly series, all-day and multi-day events, a virtual seminar, a
cancelled one, broken items, an occurrence repeated across pages) and a generic API with nested
paths and a ``next`` link.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import icalendar
import pytest

from feedserver.config import Source
from feedserver.errors import ParseError
from feedserver.sources import Page, Pages
from feedserver.sources.jsonapi import JSON_FIELDS, KEYS, check, links, parse
from tests.conftest import SAMPLES
from tests.interop_parsers import check_feed

JSON = SAMPLES / "json"
LOCALIST = [(JSON / f"localist_page{n}.json").read_bytes() for n in (1, 2, 3)]
API = "https://events.hillside.example/api/2/events?pp=4"
PAGE_URLS = [API, f"{API}&page=2", f"{API}&page=3"]
GENERIC = {
    "items": "data.items",
    "next": "links.next",
    "dayfirst": True,
    "fields": {
        "id": "uuid",
        "title": "name",
        "start": "schedule.begins",
        "end": "schedule.ends",
        "timezone": "schedule.zone",
        "location": "[venue.building, venue.room]",
        "categories": "tags[].label",
        "speaker": "people.speakers[].name",
        "host": "people.host.name",
        "url": "links.page",
        "webcast": "links.stream",
        "status": "state",
        "description": "summary_html",
    },
}
NOW = datetime(2024, 10, 15, 12, 0, tzinfo=UTC)


def source(options, url=API, **kw) -> Source:
    return Source(
        id="hillside", name="H", kind="json", calendar="ece", url=url, options=options, **kw
    )


def localist(pages=LOCALIST, urls=PAGE_URLS, **options):
    listing = tuple(Page(u, b) for u, b in zip(urls, pages, strict=False))
    return parse(Pages(listing), source({"preset": "localist", **options}))


def by_uid(events) -> dict[str, icalendar.Event]:
    return {str(e["UID"]): e for e in events}


def test_each_localist_occurrence_is_one_event_with_a_stable_uid():
    parsed = localist()
    assert [str(e["UID"]) for e in parsed.events] == [
        f"{ids}@hillside.events.hillside.example"
        for ids in (
            "48213-99120",
            "48250-99201",
            "48250-99202",  # the weekly info session: one event per instance
            "48250-99203",
            "48301-99310",
            "48322-99334",
            "48340-99350",
            "48355-99361",
            "48400-99410",
            "48420-99430",  # 48250-99203 again on page 3 (the API moved on): counted once
        )
    ]


def test_localist_fields_land_where_the_content_stage_reads_them():
    seminar = by_uid(localist().events)["48213-99120@hillside.events.hillside.example"]
    assert seminar["DTSTART"].dt == datetime(2024, 10, 31, 21, 0, tzinfo=UTC)  # 14:00 PDT
    assert seminar["DTEND"].dt == datetime(2024, 10, 31, 22, 0, tzinfo=UTC)
    assert seminar["LOCATION"] == "Hughes Aircraft Electrical Engineering Center (EEB) - 132"
    assert (
        seminar["URL"]
        == "https://events.hillside.example/event/aif4s-seminar-value-of-pretraining-data"
    )
    assert seminar["CATEGORIES"].cats == ["Conferences, Lectures, & Seminars"]
    assert seminar["STATUS"] == "CONFIRMED"
    description = str(seminar["DESCRIPTION"])
    assert description.startswith("<p><strong>Speaker:</strong> Dr. Berivan Isik")
    assert description.endswith(
        "Audiences: Everyone Is Invited\n\n"
        "Contact: Mayumi Thrasher, mthrasher@hillside.example\n\n"
        "Webcast: https://hillside.zoom.us/j/98648507063?pwd=kQ7rT2xVbN9mLp4sHc8dWy3fJz6Ga1.1"
    )
    assert str(seminar["IMAGE"]).endswith("/48213/huge/aif4s-seminar-value-of-pretraining-data.jpg")


def test_localist_all_day_multi_day_virtual_and_cancelled_events():
    events = by_uid(localist().events)
    fair = events["48301-99310@hillside.events.hillside.example"]
    assert (fair["DTSTART"].dt, fair["DTEND"].dt) == (date(2024, 11, 5), date(2024, 11, 6))
    recess = events["48400-99410@hillside.events.hillside.example"]  # all day, Nov 28-29
    assert (recess["DTSTART"].dt, recess["DTEND"].dt) == (date(2024, 11, 28), date(2024, 11, 30))
    hackathon = events["48420-99430@hillside.events.hillside.example"]
    assert hackathon["DTEND"].dt - hackathon["DTSTART"].dt == timedelta(hours=32)
    virtual = events["48322-99334@hillside.events.hillside.example"]
    assert "LOCATION" not in virtual and "IMAGE" not in virtual
    assert (
        "Webcast: https://hillside.zoom.us/j/91122334455?pwd=aB3dE5fG7hJ9" in virtual["DESCRIPTION"]
    )
    assert events["48340-99350@hillside.events.hillside.example"]["STATUS"] == "CANCELLED"
    lab = events["48355-99361@hillside.events.hillside.example"]  # no end, no filters
    assert "DTEND" not in lab and "CATEGORIES" not in lab


def test_broken_items_are_skipped_with_a_warning_naming_the_item_and_the_field():
    assert localist().warnings == [
        "item 48360 ('Robotics Demo Day') skipped: start: cannot read 'TBA' as a date:"
        " String does not contain a date: TBA",
        "item 48371 skipped: title: missing",
    ]


def test_localist_pages_lead_to_the_next_by_the_page_parameter():
    options = source({"preset": "localist"})
    assert links(Page(API, LOCALIST[0]), options).next == PAGE_URLS[1]
    assert links(Page(PAGE_URLS[1], LOCALIST[1]), options).next == PAGE_URLS[2]
    assert links(Page(PAGE_URLS[2], LOCALIST[2]), options).next is None  # page 3 of 3


def test_pages_left_unread_are_a_warning():
    parsed = localist(pages=LOCALIST[:2], urls=PAGE_URLS[:2])
    assert "the API has 3 pages, 2 were read (raise follow.pages to read more)" in parsed.warnings


def test_page_parameter_without_a_page_count_goes_on_while_pages_have_items():
    paged = source({"items": "events", "page_param": "p", "fields": {"title": "t", "start": "s"}})
    full, empty = b'{"events": [{"t": "A", "s": "2026-03-12"}]}', b'{"events": []}'
    assert links(Page("https://e.edu/api?p=4", full), paged).next == "https://e.edu/api?p=5"
    assert links(Page("https://e.edu/api?p=5", empty), paged).next is None


def test_generic_api_with_nested_paths_zones_and_odd_dates():
    urls = [
        "https://cs.example.ac.uk/api/v1/events",
        "https://cs.example.ac.uk/api/v1/events?cursor=eyJwIjoyfQ",
    ]
    pages = [(JSON / name).read_bytes() for name in ("generic_page1.json", "generic_page2.json")]
    assert links(Page(urls[0], pages[0]), source(GENERIC, urls[0])).next == urls[1]
    assert links(Page(urls[1], pages[1]), source(GENERIC, urls[0])).next is None
    parsed = parse(Pages(tuple(map(Page, urls, pages))), source(GENERIC, urls[0]))
    events = {str(e["UID"]).split("@")[0]: e for e in parsed.events}
    assert list(events) == ["talk-2026-031", "talk-2026-032", "talk-2026-033", "talk-2026-040"]
    lecture = events["talk-2026-031"]
    assert lecture["DTSTART"].to_ical() == b"20260312T160000"  # 12 March, day first
    assert lecture["DTSTART"].params["TZID"] == "Europe/London"
    assert lecture["LOCATION"] == "Bush House, S2.01"
    assert lecture["CATEGORIES"].cats == ["Lecture", "Programming Languages"]
    assert lecture["URL"] == "https://cs.example.ac.uk/events/talk-2026-031"  # made absolute
    assert "Speaker: Prof. Xavier Leroy, Dr. Sandrine Blazy" in lecture["DESCRIPTION"]
    assert "Host: Dr. Amir Shaikhha" in lecture["DESCRIPTION"]
    assert "Webcast: https://teams.microsoft.com/l/meetup-join/" in lecture["DESCRIPTION"]
    reading = events["talk-2026-032"]  # epoch milliseconds
    assert reading["DTSTART"].dt == datetime(2026, 3, 12, 16, 0, tzinfo=UTC)
    assert (reading["LOCATION"], reading["STATUS"]) == ("Strand Building", "TENTATIVE")
    open_day = events["talk-2026-033"]
    assert open_day["DTSTART"].dt == date(2026, 3, 14) and "STATUS" not in open_day
    assert parsed.warnings == [
        "item talk-2026-033 ('Lab Open Day'): timezone: 'Mars/Olympus_Mons' is not an IANA time"
        " zone name; using the source's",
        "item talk-2026-033 ('Lab Open Day'): status: unknown status 'on hold' (known:"
        " cancelled, tentative, confirmed, live…)",
        "item talk-2026-034 skipped: title: missing",
        "item talk-2026-035 ('Colloquium (date to be confirmed)') skipped: start: cannot read"
        " 'next Tuesday at noon' as a date: no year",
        "item 6 on page 1 (https://cs.example.ac.uk/api/v1/events) skipped: expected an object,"
        " got a string",
    ]


def test_times_without_an_offset_are_floating_for_the_site_zone_unless_the_source_names_one():
    body = b'[{"t": "Talk", "s": "2026-03-12 14:00"}]'
    mapping = {"fields": {"title": "t", "start": "s"}}
    floating = parse(Pages.single(body), source(mapping)).events[0]
    assert floating["DTSTART"].dt == datetime(2026, 3, 12, 14, 0)  # normalize places it
    zoned = parse(Pages.single(body), source(mapping, timezone="America/Chicago")).events[0]
    assert zoned["DTSTART"].params["TZID"] == "America/Chicago"


def test_an_offset_that_is_the_source_zones_keeps_the_zone():
    zoned = source({"preset": "localist"}, timezone="America/Los_Angeles")
    [page] = LOCALIST[:1]
    seminar = parse(Pages((Page(API, page),)), zoned).events[0]
    assert seminar["DTSTART"].to_ical() == b"20241031T140000"
    assert seminar["DTSTART"].params["TZID"] == "America/Los_Angeles"
    elsewhere = source({"preset": "localist"}, timezone="America/New_York")
    assert parse(Pages((Page(API, page),)), elsewhere).events[0]["DTSTART"].dt.tzinfo is UTC


def test_an_occurrence_without_an_instance_id_is_named_by_its_start():
    body = json.dumps(
        {
            "rows": [
                {
                    "id": 7,
                    "t": "Series",
                    "when": [{"at": "2026-03-12 14:00"}, {"at": "2026-03-19 14:00"}],
                }
            ]
        }
    ).encode()
    mapping = {
        "items": "rows",
        "instances": "when",
        "fields": {"id": "id", "title": "t", "start": "at"},
    }
    uids = [str(e["UID"]) for e in parse(Pages.single(body), source(mapping)).events]
    assert uids == [
        "7-20260312T140000@hillside.events.hillside.example",
        "7-20260319T140000@hillside.events.hillside.example",
    ]


def test_a_table_overrides_the_preset_field_by_field():
    parsed = localist(fields={"image": "", "speaker": "custom_fields.contact_name"})
    seminar = parsed.events[0]
    assert "IMAGE" not in seminar
    assert "Speaker: Mayumi Thrasher" in seminar["DESCRIPTION"]


def test_json_that_does_not_parse_is_a_parse_error_with_its_position():
    broken = LOCALIST[1].replace(b'"status": "canceled",', b'"status": "canceled"', 1)
    # The parser stops at the key after the missing comma: the first character of the next line.
    after = broken.index(b'"status": "canceled"') + len(b'"status": "canceled"')
    at = after + len(broken[after:]) - len(broken[after:].lstrip())
    line, column = broken[:at].count(b"\n") + 1, at - broken[:at].rindex(b"\n")
    with pytest.raises(ParseError) as raised:
        localist(pages=[LOCALIST[0], broken, LOCALIST[2]])
    assert str(raised.value) == (
        f"page 2 ({PAGE_URLS[1]}): not valid JSON: Expecting ',' delimiter"
        f" at line {line}, column {column} (byte {at})"
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty body: expected JSON"),
        (
            b"<!DOCTYPE html><html><title>Sign in</title>",
            "not JSON: the body starts with '<!DOCTYPE html><html><title>Sign in</tit'",
        ),
        (
            b'{"data": [], "page": {}}',
            "items 'events[].event' found nothing in the response (its keys: data, page)",
        ),
        (
            b'{"events": {"event": 1}}',
            "items 'events[].event' found nothing in the response (its keys: events)",
        ),
        (
            b'{"events": "none"}',
            "items 'events[].event' found nothing in the response (its keys: events)",
        ),
        (
            b'{"ok": true, "error": "rate limited"',
            "not valid JSON: Expecting ',' delimiter at line 1, column 37 (byte 36)",
        ),
        (b'{"title": "Caf\xe9"}', "not UTF-8 JSON: byte 0xe9 at offset 14"),
    ],
)
def test_unusable_bodies_are_parse_errors_that_say_why(body, message):
    with pytest.raises(ParseError) as raised:
        localist(pages=[body], urls=[API])
    assert str(raised.value) == message


def test_a_response_that_is_an_object_without_items_names_the_setting():
    with pytest.raises(ParseError) as raised:
        parse(Pages.single(b'{"results": []}'), source({"fields": {"title": "t", "start": "s"}}))
    assert str(raised.value) == (
        "the response is an object, expected a list of items; set json.items to the path of the"
        " list (its keys: results)"
    )


def test_check_reports_each_problem_with_its_key():
    assert check({"preset": "localist"}) == []
    assert check({"items": "data.items", "fields": {"title": "name", "start": "when"}}) == []
    assert check({"fields": {"title": "t", "start": "s", "instance_id": "i"}}) == [
        "fields.instance_id: needs `instances`, the path to the occurrences"
    ]
    assert check(
        {
            "preset": "localyst",
            "item": "events",
            "next": "links..next",
            "page_param": "page",
            "fields": {"strat": "start", "title": 3},
            "dayfirst": "yes",
        }
    ) == [
        "item: unknown key (did you mean 'items'?)",
        "preset: unknown preset 'localyst'; known: localist",
        "fields.strat: unknown event field (did you mean 'start'?); known: title, start, end,"
        " all_day, timezone, id, url, location, description, categories, status, image, speaker,"
        " talk_title, abstract, biography, host, audiences, contact, webcast, instance_id",
        "fields.title: expected a path (a string), got 3",
        "fields.start: required: the path to each item's start",
        "next: 'links..next' is not a path (JMESPath): unexpected '.' at column 7",
        "next: give either next (a URL in the response) or page_param, not both",
        "dayfirst: must be true or false",
    ]


def test_feedserver_check_names_the_file_and_the_key(site, runner):
    site.source(
        "api",
        """
        name = "API"
        kind = "json"
        url = "https://events.example.edu/api/2/events"
        calendar = "ece"
        [json]
        preset = "localist"
        [json.fields]
        speakr = "custom_fields.speaker"
        """,
    )
    result = runner("check")
    assert result.exit_code == 1
    assert (
        "api.toml: json.fields.speakr: unknown event field (did you mean 'speaker'?)"
        in result.output
    )


# -- over HTTP: pagination, failures, identity -------------------------------------------------


def api_source(site, upstream, pages=5):
    site.source(
        "hillside",
        f"""
        name = "Hillside events (Localist)"
        kind = "json"
        url = "{upstream.url("/api/2/events?pp=4")}"
        calendar = "ece"
        [follow]
        pages = {pages}
        delay = "0s"
        [json]
        preset = "localist"
        """,
    )


def serve(upstream, pages=LOCALIST):
    for number, body in enumerate(pages, start=1):
        path = "/api/2/events?pp=4" + (f"&page={number}" if number > 1 else "")
        upstream.serve(path, body, content_type="application/json")


def feed(site, now=NOW) -> bytes:
    return site.client(now=now).get("/all.ics?from=2024-10-01&to=2024-12-31").data


def uids(body: bytes) -> list[str]:
    return sorted(str(e["UID"]) for e in icalendar.Calendar.from_ical(body).walk("VEVENT"))


def test_a_paginated_api_is_read_page_by_page_into_the_feeds(site, upstream):
    serve(upstream)
    api_source(site, upstream)
    outcome = site.refresh(now=NOW)[0]
    assert (outcome.status, outcome.events) == ("updated", 10)
    assert [r.path for r in upstream.requests] == [
        "/api/2/events?pp=4",
        "/api/2/events?pp=4&page=2",
        "/api/2/events?pp=4&page=3",
    ]
    assert outcome.warnings == [
        "item 48360 ('Robotics Demo Day') skipped: start: cannot read 'TBA' as a date:"
        " String does not contain a date: TBA",
        "item 48371 skipped: title: missing",
    ]
    body = feed(site)
    assert len(uids(body)) == 10
    assert b"UID:48213-99120@hillside.127.0.0.1" in body
    assert b"Join online: https://hillside.zoom.us/j/98648507063" in body
    types = site.client(now=NOW).get("/types/seminar.ics?from=2024-10-01&to=2024-12-31").data
    assert uids(types) == [
        "48213-99120@hillside.127.0.0.1",
        "48322-99334@hillside.127.0.0.1",
        "48340-99350@hillside.127.0.0.1",
    ]


def test_a_malformed_page_fails_the_source_and_keeps_its_last_good_events(site, upstream):
    serve(upstream)
    api_source(site, upstream)
    site.refresh(now=NOW)
    before = feed(site)
    broken = LOCALIST[1].replace(b'"status": "canceled",', b'"status": "canceled"', 1)
    serve(upstream, [LOCALIST[0], broken, LOCALIST[2]])
    outcome = site.refresh(now=NOW + timedelta(hours=2))[0]
    assert outcome.status == "failed"
    assert outcome.error.startswith(
        f"page 2 ({upstream.url('/api/2/events?pp=4&page=2')}): not valid JSON: Expecting ','"
        " delimiter at line "
    )
    assert uids(feed(site)) == uids(before)
    status = site.client(now=NOW).get("/status.json").get_json()
    assert status["sources"][0]["last_error"] == outcome.error


def test_a_page_that_cannot_be_fetched_fails_the_source(site, upstream):
    serve(upstream)
    api_source(site, upstream)
    site.refresh(now=NOW)
    upstream.serve("/api/2/events?pp=4&page=3", b"busy", status=503, content_type="text/plain")
    outcome = site.refresh(now=NOW + timedelta(hours=2))[0]
    assert outcome.status == "failed" and "listing page 3" in outcome.error
    assert len(uids(feed(site))) == 10


def edited(body: bytes, change) -> bytes:
    data = json.loads(body)
    change(data["events"])  # [{"event": {...}}, ...]
    return json.dumps(data, indent=2).encode()


def test_uids_stay_changes_move_sequence_and_removed_events_leave(site, upstream):
    serve(upstream)
    api_source(site, upstream)
    site.refresh(now=NOW)
    first = feed(site)
    # New bytes, same events (the API's view counter moved): nothing changes for clients.
    serve(upstream, [edited(p, lambda e: e[0]["event"].update(detail_views=9)) for p in LOCALIST])
    again = site.refresh(now=NOW + timedelta(hours=1))[0]
    assert (again.status, again.stats.changed, again.stats.added) == ("updated", 0, 0)
    assert feed(site) == first

    def change(events):
        events[0]["event"]["room_number"] = "248"  # the seminar moves
        events[1]["event"]["event_instances"].pop()  # the last info session is called off

    def drop(events):
        events[:] = [e for e in events if e["event"]["id"] != 48250]

    serve(upstream, [edited(LOCALIST[0], change), LOCALIST[1], edited(LOCALIST[2], drop)])
    changed = site.refresh(now=NOW + timedelta(hours=2))[0]
    assert (changed.stats.changed, changed.stats.added, changed.stats.removed) == (1, 0, 1)
    body = feed(site, NOW + timedelta(hours=2))
    assert uids(body) == [u for u in uids(first) if not u.startswith("48250-99203")]
    events = by_uid(icalendar.Calendar.from_ical(body).walk("VEVENT"))
    seminar = events["48213-99120@hillside.127.0.0.1"]
    assert seminar["SEQUENCE"] == 1
    assert seminar["LOCATION"] == "Hughes Aircraft Electrical Engineering Center (EEB) - 248"
    assert seminar["LAST-MODIFIED"].dt == NOW + timedelta(hours=2)
    assert events["48301-99310@hillside.127.0.0.1"]["SEQUENCE"] == 0


@pytest.mark.slow
def test_feeds_of_a_json_source_pass_the_independent_parsers(site, upstream):
    serve(upstream)
    api_source(site, upstream)
    site.refresh(now=NOW)
    client = site.client(now=NOW)
    start, end = datetime(2024, 10, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)
    for url in ("/all.ics?from=2024-10-01&to=2024-12-31", "/types/seminar.ics?from=2024-10-01"):
        results = check_feed(client.get(url).data, start, end)
        assert results["icalendar"]


def test_every_json_key_and_event_field_is_documented_in_readme():
    readme = (SAMPLES.parent.parent / "README.md").read_text()
    missing = [k for k in [*KEYS, *JSON_FIELDS] if f"`{k}`" not in readme]
    assert not missing, f"undocumented [json] keys or fields: {missing}"


def test_the_demo_reads_its_localist_file(demo):
    outcome = {o.source.id: o for o in demo.refresh(now=datetime(2026, 11, 1, tzinfo=UTC))}
    assert (outcome["hillside-events"].status, outcome["hillside-events"].events) == ("updated", 11)
    assert outcome["hillside-events"].warnings == []
    body = demo.client(now=datetime(2026, 11, 1, tzinfo=UTC)).get("/types/social.ics").data
    coffee = [u for u in uids(body) if u.startswith("61034-")]
    assert coffee == [f"61034-{n}@hillside-events.feedserver" for n in range(130455, 130459)]
