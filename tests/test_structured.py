"""Kind html without a recipe: events from a page's JSON-LD, microdata and microformats.

The fixtures in tests/samples/html/structured/ are pages as CMSs write them (WordPress with The
Events Calendar and Yoast, a Drupal university calendar, a library's microformats), with their
navigation, scripts, broken blocks and odd dates. Unit tests read them through the adapter;
the end-to-end tests serve them from a real HTTP server on 127.0.0.1 and read the feeds.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest

from feedserver.config import Follow, Source
from feedserver.errors import ConfigError, ParseError
from feedserver.sources import Page, Pages, structured
from tests.conftest import NOW, SAMPLES
from tests.interop_parsers import check_feed

PAGES = SAMPLES / "html" / "structured"
LA = ZoneInfo("America/Los_Angeles")
LIST = "https://events.hillside.example/events/list/"
CALENDAR = "https://viterbi.example.edu/calendar/"
LIBRARY = "https://library.hillside.example/events"


def page(name: str) -> bytes:
    return (PAGES / name).read_bytes()


def source(url: str | None = LIST, **options: Any) -> Source:
    follow = options.pop("follow", Follow())
    zone = options.pop("timezone", "America/Los_Angeles")
    return Source(
        id="arts",
        name="Arts",
        kind="html",
        calendar="campus",
        url=url,
        path=None if url else Path("data/arts.html"),
        timezone=zone,
        follow=follow,
        options=options,
    )


def read(name: str, url: str | None, **options: Any) -> tuple[dict[str, icalendar.Event], list]:
    parsed = structured.parse(Pages.single(page(name), url), source(url, **options))
    return {str(e["SUMMARY"]): e for e in parsed.events}, parsed.warnings


def start(event: icalendar.Event) -> Any:
    return event["DTSTART"].dt


# -- JSON-LD -----------------------------------------------------------------------------------


def test_wordpress_listing_events_with_their_times_places_and_status():
    events, _ = read("wordpress-list-1.html", LIST)
    assert sorted(events) == [
        "Alumni Panel: Careers in Climate Tech",
        "Faculty Jazz Combo",
        "Spring Book Sale",
        "Spring Career Fair",
        "Spring Concert – Hillside Chamber Orchestra",  # &#8211; decoded
        "Webinar: Financial Aid 101",
    ]
    concert = events["Spring Concert – Hillside Chamber Orchestra"]
    # -08:00 is Los Angeles' offset on March 6 (before the DST change): kept in the zone
    assert start(concert) == datetime(2026, 3, 6, 19, 30, tzinfo=LA)
    assert concert["DTEND"].dt == datetime(2026, 3, 6, 21, 30, tzinfo=LA)
    assert concert["LOCATION"] == "Linden Hall, 2100 College Way, Hillside, CA 94999, United States"
    assert concert["URL"] == "https://events.hillside.example/event/spring-concert/"
    assert str(concert["IMAGE"]).endswith("/2026/01/orchestra.jpg")
    assert concert["CATEGORIES"].cats == ["Music", "Concerts"]  # keywords text: comma-separated
    description = str(concert["DESCRIPTION"])
    # HTML description as text; the entity-obfuscated e-mail decoded; the plugin's
    # `"performer": "Organization"` (a type name, nobody) left out
    assert description == (
        "The Hillside Chamber Orchestra plays Haydn’s Symphony No. 44 and a new work by"
        " Dr. Ana López.\n\nFree admission; tickets at the door.\n\n"
        "Host: Arts & Lectures Box Office, boxoffice@hillside.example"
    )
    sale = events["Spring Book Sale"]  # endDate 2026-03-22 is the last day: DTEND the day after
    assert (start(sale), sale["DTEND"].dt) == (date(2026, 3, 20), date(2026, 3, 23))
    assert events["Spring Career Fair"]["STATUS"] == "CANCELLED"
    postponed = events["Alumni Panel: Careers in Climate Tech"]
    assert postponed["STATUS"] == "TENTATIVE"
    assert str(postponed["DESCRIPTION"]).startswith("This event is postponed; a new date is to")
    webinar = events["Webinar: Financial Aid 101"]  # online only: a VirtualLocation, duration
    assert webinar["LOCATION"] == "Online"
    assert "Webcast: https://hillside.zoom.us/j/91234567890" in str(webinar["DESCRIPTION"])
    assert webinar["DTEND"].dt - start(webinar) == timedelta(minutes=45)
    assert events["Faculty Jazz Combo"]["LOCATION"] == "The Coffee House, Student Union"


def test_broken_json_ld_and_unreadable_fields_are_warnings_naming_event_and_field():
    _, warnings = read("wordpress-list-1.html", LIST)
    assert warnings == [
        f"JSON-LD block 2 on {LIST} is not valid JSON (Unterminated string starting at: line 1"
        " column 146 (char 145)); skipped, the page's other structured data is read",
        f"event 'Open Studio Night (date to be announced)' on {LIST} skipped: it has no startDate",
        f"event 'Faculty Jazz Combo' on {LIST}: endDate 'TBD' is not a date (String does not"
        " contain a date: TBD); ignored",
    ]


def test_graph_references_and_the_seed_seminar():
    events, warnings = read("university-seminars.html", CALENDAR)
    assert warnings == []
    seminar = events[
        "AIF4S Seminar: Value of Pretraining Data: Scaling Laws for Downstream Task Performance"
        " of Large Language Models"
    ]
    assert (start(seminar), seminar["DTEND"].dt) == (
        datetime(2026, 3, 12, 14, tzinfo=LA),
        datetime(2026, 3, 12, 15, tzinfo=LA),
    )
    # the Place is a reference into @graph; the VirtualLocation is the webcast
    assert seminar["LOCATION"] == (
        "Hughes Aircraft Electrical Engineering Center (EEB) - 132, 3740 McClintock Ave,"
        " Los Angeles, CA 90089"
    )
    text = str(seminar["DESCRIPTION"])
    assert text.startswith("Talk Title: Value of Pretraining Data")
    assert "\n\nAbstract: This talk explores" in text and "\n\nBiography: Berivan Isik" in text
    assert text.endswith(
        "Speaker: Dr. Berivan Isik, Research Scientist, Google, Inc.\n\n"
        "Host: Dr. Mahdi Soltanolkotbi, soltanol@usc.edu\n\n"
        "Audiences: Everyone Is Invited\n\n"
        "Contact: Mayumi Thrasher\n\n"  # the department's contactPoint (organizer by @id)
        "Webcast: https://usc.zoom.us/j/98648507063?pwd=kORhNLFVMLol7FYlHv6TsAmqcKqD7t.1"
    )
    assert seminar["CATEGORIES"].cats == ["Conferences, Lectures, & Seminars"]  # a list entry
    assert seminar["URL"] == "https://viterbi.example.edu/calendar/?event=14101"
    assert (
        seminar["UID"]
        == "https-viterbi.example.edu-calendar-event-14101-event@arts.viterbi.example.edu"
    )


def test_same_event_as_json_ld_and_microdata_is_one_event():
    events, _ = read("university-seminars.html", CALENDAR)
    assert sorted(events) == [
        "AIF4S Seminar: Value of Pretraining Data: Scaling Laws for Downstream Task Performance"
        " of Large Language Models",
        "Industry Affiliates Breakfast",
        "PhD Defense - Lena Okafor",
        "Research Day: Awards Reception",
        "Research Day: Poster Session",
    ]


def test_event_series_gives_its_sub_events_with_its_location():
    events, _ = read("university-seminars.html", CALENDAR)
    poster = events["Research Day: Poster Session"]
    # local times without an offset stay floating: normalize places them in the source's zone
    assert start(poster) == datetime(2026, 4, 16, 10)
    assert poster["LOCATION"].startswith("Hughes Aircraft Electrical Engineering Center")
    assert events["Research Day: Awards Reception"]["LOCATION"] == "Town & Gown Ballroom"
    assert "ECE Research Day 2026" not in events  # the series itself is no event


def test_microdata_with_text_dates_and_nested_items():
    events, _ = read("university-seminars.html", CALENDAR)
    defense = events["PhD Defense - Lena Okafor"]
    # "Wed, Mar 18, 2026 @ 10:00 AM - 12:00 PM" as the startDate's text: a range
    assert (start(defense), defense["DTEND"].dt) == (
        datetime(2026, 3, 18, 10),
        datetime(2026, 3, 18, 12),
    )
    assert defense["LOCATION"] == "Ronald Tutor Hall (RTH) - 406"
    assert defense["URL"] == "https://viterbi.example.edu/calendar/?event=14122"  # <base href>
    assert str(defense["DESCRIPTION"]) == (
        "PhD Candidate: Lena Okafor\n\nTitle: Low-Power Neural Accelerators for Implantable"
        " Devices\n\nCommittee: Prof. Ada Whitfield (chair), Prof. Omar Haddad, Prof. Mei Tanaka"
        "\n\nHost: Prof. Ada Whitfield, awhitfield@usc.edu"
    )
    breakfast = events["Industry Affiliates Breakfast"]  # content="31/03/2026 08:30"
    assert start(breakfast) == datetime(2026, 3, 31, 8, 30)
    assert breakfast["LOCATION"] == "Seeley G. Mudd Building, 3620 McClintock Ave, Los Angeles"


def test_formats_and_dayfirst_read_ambiguous_dates():
    body = b"""<html><body><div itemscope itemtype="https://schema.org/Event">
      <span itemprop="name">Kolloquium</span><meta itemprop="startDate" content="03.04.2026 16:15">
    </div></body></html>"""
    plain = structured.parse(Pages.single(body, LIST), source())
    assert start(plain.events[0]) == datetime(2026, 3, 4, 16, 15)  # month first by default
    for options in ({"dayfirst": True}, {"formats": ["%d.%m.%Y %H:%M"]}):
        parsed = structured.parse(Pages.single(body, LIST), source(**options))
        assert start(parsed.events[0]) == datetime(2026, 4, 3, 16, 15)


# -- microformats --------------------------------------------------------------------------------


def test_h_events_and_old_hcalendar():
    events, warnings = read("microformats-drupal.html", LIBRARY)
    assert sorted(events) == [
        "Author Talk: Priya Raman on “The Salt Roads”",  # hCalendar 1.0 (class="vevent")
        "Free Tax Help (AARP volunteers)",
        "Spring Seed Swap",
    ]
    swap = events["Spring Seed Swap"]
    # value-class pattern: date and times in separate spans; the end takes the start's date
    assert (start(swap), swap["DTEND"].dt) == (
        datetime(2026, 3, 14, 10),
        datetime(2026, 3, 14, 12, 30),
    )
    assert swap["LOCATION"] == "Main Branch, Community Room, 415 Elm Street, Hillside"
    assert str(swap["DESCRIPTION"]) == (
        "Bring seeds, take seeds.\n\nContact: garden@hillside-library.example"
    )
    assert swap["URL"] == "https://library.hillside.example/events/2026/03/seed-swap"
    assert swap["CATEGORIES"].cats == ["Garden"]
    tax = events["Free Tax Help (AARP volunteers)"]
    assert "DTEND" not in tax  # its end was before its start
    assert str(tax["DESCRIPTION"]).startswith("One-on-one help")  # p-summary
    assert warnings == [
        f"event 'Free Tax Help (AARP volunteers)' on {LIBRARY}: endDate"
        " '2026-03-21T11:00:00-0700' is before startDate; ignored",
        f"event 'Teen Manga Club' on {LIBRARY}: startDate 'soon' is not a date (String does not"
        " contain a date: soon); the event is skipped",
    ]


# -- options ---------------------------------------------------------------------------------------


def test_schema_types_choose_which_events_are_read():
    events, _ = read("university-seminars.html", CALENDAR, schema_types=["EducationEvent"])
    assert sorted(events) == [
        "AIF4S Seminar: Value of Pretraining Data: Scaling Laws for Downstream Task Performance"
        " of Large Language Models",
        "PhD Defense - Lena Okafor",
        "Research Day: Poster Session",
    ]


def test_syntaxes_choose_which_structured_data_is_read():
    events, _ = read("university-seminars.html", CALENDAR, syntaxes=["microdata"])
    assert len(events) == 3 and "Research Day: Poster Session" not in events
    with pytest.raises(ParseError):
        read("microformats-drupal.html", LIBRARY, syntaxes=["json-ld", "microdata"])


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ({"title": "h2"}, "title: unknown key for a page read by its structured data"),
        (
            {"schema_types": ["EducatonEvent"]},
            "schema_types: 'EducatonEvent' is not schema.org's Event or one of its subtypes (did"
            " you mean 'EducationEvent'?)",
        ),
        ({"schema_types": "Event"}, "schema_types: expected a list of schema.org type names"),
        ({"syntaxes": ["rdfa"]}, "syntaxes: expected a list of some of json-ld, microdata,"),
        ({"formats": ["dd.mm.yyyy"]}, "formats: expected a list of strptime patterns"),
        ({"dayfirst": "yes"}, "dayfirst: expected true or false, got 'yes'"),
    ],
)
def test_check_names_the_key_and_the_problem(table, problem):
    problems = structured.check(table)
    assert len(problems) == 1 and problems[0].startswith(problem), problems


def test_a_bad_html_table_is_refused_when_the_configuration_loads(site):
    site.source(
        "arts",
        f'name = "Arts"\nkind = "html"\ncalendar = "ece"\nurl = "{LIST}"\n'
        '[html]\nschema_types = ["Evnt"]\nnext = "a[["\n',
    )
    with pytest.raises(ConfigError) as caught:
        site.config()
    where = site.feeds / "sources" / "arts.toml"
    assert caught.value.problems == [
        f"{where}: html.next: 'a[[' is not a CSS selector",
        f"{where}: html.schema_types: 'Evnt' is not schema.org's Event or one of its subtypes"
        " (did you mean 'Event'?)",
    ]


def test_checking_a_configuration_does_not_import_the_extractors(site):
    # Web workers load the configuration; extruct (with rdflib) is for the refresh only.
    site.source("arts", f'name = "Arts"\nkind = "html"\ncalendar = "ece"\nurl = "{LIST}"\n[html]\n')
    code = (
        "import sys; from pathlib import Path; from feedserver import config; "
        f"c = config.load(Path({str(site.feeds)!r}), Path({str(site.data)!r}), environ={{}}); "
        "assert c.sources[0].kind == 'html'; "
        "print(sorted(m for m in ('extruct', 'mf2py', 'rdflib', 'lxml') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert (result.returncode, result.stdout.strip()) == (0, "[]"), result.stderr


# -- failures ------------------------------------------------------------------------------------


def test_a_page_without_events_is_an_error_not_an_empty_calendar():
    with pytest.raises(ParseError) as caught:
        read("redesigned.html", "https://events.hillside.example/events/")
    assert str(caught.value) == (
        "no schema.org Event or h-event found on https://events.hillside.example/events/;"
        " last good kept"
    )
    for body in (b"", b"   \n", b'{"events": []}', b"\x89PNG\r\n\x1a\n\0\0"):
        with pytest.raises(ParseError, match="^no schema.org Event or h-event found on"):
            structured.parse(Pages.single(body, LIST), source())


def test_events_that_are_all_unusable_are_an_error():
    body = b"""<script type="application/ld+json">[{"@type": "Event", "name": "A"},
      {"@type": "Event", "name": "B", "startDate": "next week"}]</script>"""
    with pytest.raises(ParseError) as caught:
        structured.parse(Pages.single(body, LIST), source())
    assert str(caught.value) == (
        f"2 event(s) found on {LIST}, none usable (event 'B' on {LIST}: startDate 'next week' is"
        " not a date (String does not contain a date: next week); the event is skipped);"
        " last good kept"
    )


# -- times -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "zone", "expected"),
    [
        ("2026-03-12T14:00:00-07:00", "America/Los_Angeles", datetime(2026, 3, 12, 14, tzinfo=LA)),
        ("2026-03-12T14:00:00-04:00", "America/Los_Angeles", datetime(2026, 3, 12, 18, tzinfo=UTC)),
        ("2026-03-12T14:00:00-07:00", None, datetime(2026, 3, 12, 21, tzinfo=UTC)),
        ("2026-03-12T21:00:00Z", "America/Los_Angeles", datetime(2026, 3, 12, 21, tzinfo=UTC)),
        ("2026-03-12T14:00", "America/Los_Angeles", datetime(2026, 3, 12, 14)),
        ("2026-03-12", None, date(2026, 3, 12)),
        ("March 12, 2026 2:00 pm", None, datetime(2026, 3, 12, 14)),
    ],
)
def test_start_dates(value, zone, expected):
    body = f"""<script type="application/ld+json">
      {{"@type": "Event", "name": "Talk", "startDate": "{value}"}}</script>""".encode()
    parsed = structured.parse(Pages.single(body, LIST), source(timezone=zone))
    assert start(parsed.events[0]) == expected
    assert start(parsed.events[0]).__class__ is expected.__class__
    if isinstance(expected, datetime):
        assert start(parsed.events[0]).tzinfo == expected.tzinfo


def test_uids_are_stable_and_do_not_depend_on_content():
    first = read("wordpress-list-1.html", LIST)[0]
    changed = page("wordpress-list-1.html").replace(b"Meet 80 employers.", b"Meet 95 employers.")
    again = structured.parse(Pages.single(changed, LIST), source()).events
    assert sorted(str(e["UID"]) for e in again) == sorted(str(e["UID"]) for e in first.values())


# -- links and event pages ---------------------------------------------------------------------


def test_links_lead_to_the_next_page_and_with_event_pages_to_each_event():
    listing = Page(LIST, page("wordpress-list-1.html"))
    assert structured.links(listing, source()).details == ()
    found = structured.links(listing, source(follow=Follow(pages=5, event_pages=True)))
    assert found.next == "https://events.hillside.example/events/list/page/2/"
    assert found.details == tuple(
        f"https://events.hillside.example/event/{slug}/"
        for slug in (
            "spring-concert",
            "spring-book-sale",
            "spring-career-fair",
            "alumni-panel-climate",
            "financial-aid-101",
            "faculty-jazz-combo",
        )
    )
    last = Page(LIST + "page/2/", page("wordpress-list-2.html"))
    assert structured.links(last, source()).next is None


def test_numbered_pages_go_on_while_a_page_has_events():
    numbered = source(page_param="paged")
    first = Page(LIST + "?paged=1", page("wordpress-list-1.html"))
    assert structured.links(first, numbered).next == LIST + "?paged=2"
    empty = Page(LIST + "?paged=3", page("redesigned.html"))  # no event on it
    assert structured.links(empty, numbered).next is None


def test_an_event_page_completes_the_listing_entry():
    concert = "https://events.hillside.example/event/spring-concert/"
    pages = Pages(
        (Page(LIST, page("wordpress-list-1.html")),),
        {
            concert: page("event-page-spring-concert.html"),
            "https://events.hillside.example/event/spring-book-sale/": page("redesigned.html"),
        },
    )
    parsed = structured.parse(pages, source(follow=Follow(event_pages=True)))
    events = {str(e["SUMMARY"]): e for e in parsed.events}
    text = str(events["Spring Concert – Hillside Chamber Orchestra"]["DESCRIPTION"])
    assert "Tidewater" in text and "Doors open at 7 pm." in text  # the page's full text
    assert "Audiences: Everyone" in text  # a property only the event page has
    assert "Speaker: Hillside Chamber Orchestra" in text
    assert "Host: Arts & Lectures Box Office" in text  # kept from the listing
    assert (
        "event page https://events.hillside.example/event/spring-book-sale/ describes no matching"
        " schema.org Event or h-event; the listing's entry for 'Spring Book Sale' is used alone"
    ) in parsed.warnings
    assert len(parsed.events) == 6


# -- end to end: a real upstream on 127.0.0.1, the store, the feeds ------------------------------

HOST = b"https://events.hillside.example"
WINDOW = "/all.ics?from=2026-03-01&to=2026-04-30"


def serve_arts(upstream, first: bytes | None = None) -> None:
    """The WordPress listing (two pages) and one event page, their links pointing at upstream."""
    here = upstream.url("").rstrip("/").encode()
    html = "text/html; charset=UTF-8"
    first = page("wordpress-list-1.html") if first is None else first
    upstream.serve("/events/list/", first.replace(HOST, here), content_type=html)
    body = page("wordpress-list-2.html").replace(HOST, here)
    upstream.serve("/events/list/page/2/", body, content_type=html)
    body = page("event-page-spring-concert.html").replace(HOST, here)
    upstream.serve("/event/spring-concert/", body, content_type=html)


def arts_source(site, upstream, follow: str = "") -> None:
    site.source(
        "arts",
        f'name = "Arts"\nkind = "html"\ncalendar = "ece"\nurl = "{upstream.url("/events/list/")}"'
        f'\ntimezone = "America/Los_Angeles"\n[follow]\ndelay = "0s"\n{follow}',
    )


def feed(site) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(site.client(now=NOW).get(WINDOW).data)


def test_paginated_listing_with_event_pages_becomes_one_feed(site, upstream):
    serve_arts(upstream)
    arts_source(site, upstream, "pages = 3\nevent_pages = true")
    outcome = site.refresh()[0]
    assert outcome.status == "updated", outcome.error
    assert outcome.events == 8  # 6 on page 1, 3 on page 2 of which one repeats page 1's
    assert upstream.hits("/events/list/page/2/") == 1 and upstream.hits("/event/spring-concert/")
    events = {str(e["SUMMARY"]): e for e in feed(site).walk("VEVENT")}
    assert "Tidewater" in str(events["Spring Concert – Hillside Chamber Orchestra"]["DESCRIPTION"])
    assert "The Winter’s Tale" in events and "Cancelled: Spring Career Fair" in events
    webinar = events["Webinar: Financial Aid 101"]  # the content stage found the Zoom link
    assert str(webinar["CONFERENCE"]) == "https://hillside.zoom.us/j/91234567890"
    assert str(webinar["DESCRIPTION"]).startswith("Join online: https://hillside.zoom.us/j/912")
    missing = upstream.url("/event/winters-tale/")
    assert any(w.startswith(f"event page {missing}: HTTP 404") for w in outcome.warnings)
    assert any(w.startswith("JSON-LD block 2 on") for w in outcome.warnings)


def test_a_layout_change_keeps_the_last_good_events(site, upstream):
    serve_arts(upstream)
    arts_source(site, upstream)
    assert site.refresh()[0].events == 6
    upstream.serve("/events/list/", page("redesigned.html"), content_type="text/html")
    outcome = site.refresh(now=NOW + timedelta(hours=2))[0]
    assert outcome.status == "failed"
    assert outcome.error == (
        f"no schema.org Event or h-event found on {upstream.url('/events/list/')}; last good kept"
    )
    assert len(feed(site).walk("VEVENT")) == 6


def test_changed_events_move_their_sequence_and_removed_ones_leave(site, upstream):
    serve_arts(upstream)
    arts_source(site, upstream)
    site.refresh()
    before = {str(e["SUMMARY"]): str(e["UID"]) for e in feed(site).walk("VEVENT")}
    body = page("wordpress-list-1.html").replace(b"Meet 80 employers.", b"Meet 95 employers.")
    jazz = body.index(b',{"@context":"http://schema.org","@type":"Event","name":"Faculty Jazz')
    body = body[:jazz] + body[body.index(b"]", jazz) :]
    serve_arts(upstream, body)
    outcome = site.refresh(now=NOW + timedelta(hours=2))[0]
    assert (outcome.stats.changed, outcome.stats.removed, outcome.stats.unchanged) == (1, 1, 4)
    events = {str(e["SUMMARY"]): e for e in feed(site).walk("VEVENT")}
    assert "Faculty Jazz Combo" not in events
    fair = events["Cancelled: Spring Career Fair"]
    assert fair["SEQUENCE"] == 1 and str(fair["UID"]) == before["Cancelled: Spring Career Fair"]
    assert fair["LAST-MODIFIED"].dt == NOW + timedelta(hours=2)


@pytest.mark.slow
@pytest.mark.parametrize(
    "name", ["wordpress-list-1.html", "university-seminars.html", "microformats-drupal.html"]
)
def test_bridged_feeds_pass_the_independent_parsers(site, name):
    (site.feeds / "data" / name).write_bytes(page(name))
    site.source("page", f'name = "Page"\nkind = "html"\ncalendar = "ece"\npath = "data/{name}"')
    assert site.refresh()[0].status == "updated"
    body = site.client(now=NOW).get(WINDOW).data
    results = check_feed(body, datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC))
    assert len(results["icalendar"]) >= 3


@pytest.mark.slow
def test_paginated_bridged_feed_passes_the_independent_parsers(site, upstream):
    serve_arts(upstream)
    arts_source(site, upstream, "pages = 3\nevent_pages = true")
    site.refresh()
    body = site.client(now=NOW).get(WINDOW).data
    results = check_feed(body, datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC))
    assert len(results["icalendar"]) == 8
