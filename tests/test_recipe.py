"""Kind html with a recipe: event blocks of a listing page read by CSS selectors and labels.

The pages are tests/samples/html/ (a university CMS's calendar with the seed event), served by a
real HTTP server on 127.0.0.1 for the end-to-end tests; the adapter's own tests hand it the same
bytes. Following links (pagination, event pages, politeness) is tests/test_crawl.py.
"""

from __future__ import annotations

import re
import textwrap
import tomllib
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest

from feedserver.config import Source
from feedserver.errors import ConfigError, ParseError
from feedserver.sources import Page, Pages
from feedserver.sources.recipe import links, parse
from feedserver.store import Store
from tests.htmlsite import CMS, LISTING, NOW, RECIPE, WINDOW, page, serve, source_toml
from tests.interop_parsers import check_feed

LA = ZoneInfo("America/Los_Angeles")
README = Path(__file__).resolve().parent.parent / "README.md"
SEED_URL = f"{CMS}/event/aif4s-seminar-value-of-pretraining-data"


def recipe_source(options: dict | str = RECIPE, **fields) -> Source:
    if isinstance(options, str):
        options = tomllib.loads(options)["html"]
    defaults = {"url": f"{CMS}/events", "timezone": "America/Los_Angeles"}
    return Source(
        id="ece-web",
        name="ECE events",
        kind="html",
        calendar="ece",
        options=options,
        **{**defaults, **fields},
    )


def read(body: bytes | str, options: dict | str = RECIPE, **fields):
    source = recipe_source(options, **fields)
    data = body.encode() if isinstance(body, str) else body
    return parse(Pages.single(data, source.url), source)


def by_title(events) -> dict[str, icalendar.Event]:
    return {str(e["SUMMARY"]): e for e in events}


def feed_events(site, url=WINDOW) -> dict[str, icalendar.Event]:
    body = site.client(now=NOW).get(url).data
    return by_title(icalendar.Calendar.from_ical(body).walk("VEVENT"))


# --- the seed event ------------------------------------------------------------------------------


def test_seed_event_comes_out_exactly(site, upstream):
    upstream.serve("/events", page("ece-events.html"), content_type="text/html; charset=utf-8")
    site.source("ece-web", source_toml(upstream))
    outcome = site.refresh(now=NOW)[0]
    assert outcome.status == "updated", outcome.error
    seed = feed_events(site)[
        "AIF4S Seminar: Value of Pretraining Data: Scaling Laws for Downstream Task Performance"
        " of Large Language Models"
    ]
    assert seed["DTSTART"].dt == datetime(2024, 10, 31, 14, 0, tzinfo=LA)
    assert seed["DTEND"].dt == datetime(2024, 10, 31, 15, 0, tzinfo=LA)
    assert seed["DTSTART"].params["TZID"] == "America/Los_Angeles"
    # The event type is the site's "Seminar" (an alias); the calendar's name is kept after it.
    assert seed.categories == [
        "Seminar",
        "Ming Hsieh Department of Electrical and Computer Engineering",
    ]
    assert str(seed["LOCATION"]) == "Hughes Aircraft Electrical Engineering Center (EEB) - 132"
    zoom = "https://usc.zoom.us/j/98648507063?pwd=kORhNLFVMLol7FYlHv6TsAmqcKqD7t.1"
    assert str(seed["CONFERENCE"]) == zoom and seed["CONFERENCE"].params["LABEL"] == "Zoom"
    assert str(seed["URL"]) == SEED_URL
    assert str(seed["CONTACT"]) == "Mayumi Thrasher"
    assert str(seed["ORGANIZER"]) == "mailto:soltanol@usc.edu"
    lines = str(seed["DESCRIPTION"]).split("\n")
    assert lines[:3] == [f"Join online: {zoom}", "Meeting ID: 986 4850 7063", ""]
    fields = [line.split(":", 1)[0] for line in lines[3:] if line]
    assert fields == [
        "Speaker", "Talk Title", "Abstract", "Biography", "Host", "Location", "Audiences",
        "Contact", "Event page",
    ]  # fmt: skip
    assert "Speaker: Dr. Berivan Isik, Research Scientist, Google, Inc." in lines
    assert "Host: Dr. Mahdi Soltanolkotbi, soltanol@usc.edu" in lines
    assert "Audiences: Everyone Is Invited" in lines
    assert lines[-1] == f"Event page: {SEED_URL}"
    abstract = next(line for line in lines if line.startswith("Abstract: "))
    assert abstract.endswith("remaining open questions in this area.") and "\n" not in abstract
    assert "  " not in abstract  # the page's line breaks inside the paragraph are gone
    assert "WebCast Link" not in str(seed["DESCRIPTION"])  # it only repeated the Zoom link


def _readme_section() -> str:
    text = README.read_text()
    start = text.index("### Event web pages with a recipe")
    ends = [text.find(heading, start + 1) for heading in ("\n## ", "\n### ")]
    return text[start : min(end for end in ends if end > 0)]


def _fenced(section: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", section, re.DOTALL)


def test_readme_worked_example_is_what_the_code_produces(site, upstream):
    section = _readme_section()
    (html,) = _fenced(section, "html")
    (toml,) = _fenced(section, "toml")[:1]
    (vevent,) = _fenced(section, "ics")
    # The HTML is an excerpt of the fixture page, line for line.
    fixture = page("ece-events.html").decode()
    excerpt = textwrap.dedent(html).strip("\n")
    assert textwrap.indent(excerpt, " " * 6) in fixture
    # The source file, pointed at the fixture page served on 127.0.0.1, gives that VEVENT.
    upstream.serve("/events", page("ece-events.html"), content_type="text/html; charset=utf-8")
    assert 'url = "https://calendar.ece.example.edu/events"' in toml
    site.source("ece-web", toml.replace(f"{CMS}/events", upstream.url("/events")))
    assert site.refresh(now=NOW)[0].status == "updated"
    body = site.client(now=NOW).get(WINDOW).data.decode()
    served = re.findall(r"BEGIN:VEVENT\r\n.*?END:VEVENT\r\n", body, re.DOTALL)
    seed = next(v for v in served if "AIF4S" in v)
    # X-ALT-DESC (the same description as HTML) is left out of the README, and only that.
    seed = re.sub(r"X-ALT-DESC[^\r]*\r\n(?: [^\r]*\r\n)*", "", seed)
    assert seed.replace("\r\n", "\n") == vevent


def test_readme_recipe_keys_are_the_ones_check_knows():
    from feedserver.sources.recipe import OPTIONS, SELECTORS

    section = _readme_section()
    documented = set(re.findall(r"^\| `(\w+)` \|", section, re.MULTILINE))
    assert documented == set(SELECTORS) | set(OPTIONS)


# --- reading blocks ------------------------------------------------------------------------------


def test_every_kind_of_block_on_the_listing_pages():
    parsed = read(page("ece-events.html"))
    events = by_title(parsed.events)
    defense = events["PhD Defense: Sparse Recovery for Millimeter-Wave Channels"]
    assert defense["DTSTART"].dt == datetime(2024, 11, 8, 10, 0, tzinfo=LA)
    assert defense.categories == [
        "Dissertation Defense",
        "Ming Hsieh Department of Electrical and Computer Engineering",
    ]
    assert str(defense["LOCATION"]) == "EEB 539"
    # A multi-day event without a time: all-day dates, DTEND exclusive; no type, no place.
    symposium = events["Graduate Research Symposium"]
    assert (symposium["DTSTART"].dt, symposium["DTEND"].dt) == (
        date(2024, 11, 11),
        date(2024, 11, 13),
    )
    assert "LOCATION" not in symposium and symposium.categories == ["Viterbi School of Engineering"]
    assert str(symposium["DESCRIPTION"]).startswith("Two days of posters")
    # A relative link in a description is made absolute.
    seminar = events["ECE Seminar: Learning-Based Control of Inverter-Dominated Power Grids"]
    assert f"Read more ({CMS}/event/ece-seminar-power-grids)" in str(seminar["DESCRIPTION"])
    # The event without a date is skipped, and the warning says which and why.
    assert "Career Fair Info Session" not in events
    assert parsed.warnings == [
        "event 'Career Fair Info Session' (page 1, block 5): when: cannot read 'Date TBA' as a"
        " date: String does not contain a date: Date TBA; skipped"
    ]


def test_an_end_that_cannot_be_read_costs_the_end_only():
    parsed = read(page("ece-events-2.html"))
    workshop = by_title(parsed.events)["Hardware Security Workshop: Side Channels in Practice"]
    assert workshop["DTSTART"].dt == datetime(2024, 11, 20, 10, 0, tzinfo=LA)
    assert "DTEND" not in workshop
    assert parsed.warnings == [
        "event 'Hardware Security Workshop: Side Channels in Practice' (page 1, block 2): when:"
        " cannot read 'TBD' as a date: String does not contain a date: TBD; the event has no end"
    ]


def test_a_night_event_ends_the_next_morning():
    stars = by_title(read(page("ece-events-2.html")).events)["Stargazing Night at the Observatory"]
    assert stars["DTSTART"].dt == datetime(2024, 11, 15, 23, 0, tzinfo=LA)
    assert stars["DTEND"].dt == datetime(2024, 11, 16, 1, 0, tzinfo=LA)


def test_labels_give_what_the_block_has_no_element_for():
    # This block has no p.event-date or p.event-type: "When:", "Event Type:" and "Where:" (its
    # value on the next line) are labelled lines of its description.
    events = by_title(read(page("ece-events-2.html")).events)
    lecture = events["Quantum Sensing with Nitrogen-Vacancy Centers"]
    assert lecture["DTSTART"].dt == datetime(2024, 11, 19, 16, 0, tzinfo=LA)
    assert lecture["DTEND"].dt == datetime(2024, 11, 19, 17, 15, tzinfo=LA)
    assert lecture.categories == ["Conferences, Lectures, & Seminars"]
    assert str(lecture["LOCATION"]) == "Seaver Science Center (SSC) - 319"
    # When and the type left the description (DTSTART and CATEGORIES say them); the place stays.
    assert str(lecture["DESCRIPTION"]) == (
        "Speaker: Dr. Lena Hoffmann, Max Planck Institute\n\n"
        "Location: Seaver Science Center (SSC) - 319"
    )


def test_time_elements_give_exact_times():
    lecture = by_title(read(page("ece-events-3.html")).events)[
        "ECE Distinguished Lecture: The Next Fifty Years of Wireless"
    ]
    # <time datetime="2024-11-21T14:00:00-08:00"> carries its offset: the instant, in UTC.
    assert lecture["DTSTART"].dt == datetime(2024, 11, 21, 14, 0, tzinfo=LA)
    assert lecture["DTEND"].dt == datetime(2024, 11, 21, 15, 30, tzinfo=LA)


def test_glued_label_is_split_off():
    parsed = read(page("ece-events.html"))
    seed = parsed.events[0]
    description = str(seed["DESCRIPTION"])
    assert "kORhNLFVMLol7FYlHv6TsAmqcKqD7t.1\nLocation: Hughes Aircraft" in description
    assert str(seed["LOCATION"]) == "Hughes Aircraft Electrical Engineering Center (EEB) - 132"


FRENCH = """\
<html><head><meta charset="windows-1252"><title>Agenda</title></head><body>
<nav><a href="/">Accueil</a></nav>
<article class="evenement" data-id="ev-881">
  <h2>Soutenance de thèse : apprentissage et contrôle</h2>
  <p>Quand : 12.11.2024 14:00</p>
  <p>Orateur : Marie Dubois</p>
  <p>Salle : Bâtiment A, salle 101</p>
  <p>Résumé : Une thèse sur le contrôle.</p>
  <p>Partager : Twitter · LinkedIn</p>
  <p>Plus d'infos : <a href="/agenda/881">la page de la soutenance</a></p>
  <img class="photo" src="/images/dubois.jpg" alt="">
</article>
<article class="evenement annule" data-id="ev-882">
  <h2>Séminaire annulé</h2>
  <p>Quand : 13.11.2024 10:00</p>
  <span class="badge">Annulé</span>
</article>
</body></html>
"""


def test_a_table_of_the_pages_own_labels():
    options = {
        "events": "article.evenement",
        "id": "@data-id",
        "image": "img.photo @src",
        "cancelled": "span.badge",
        "formats": ["%d.%m.%Y %H:%M"],
        "labels": {
            "Quand": "when",
            "Orateur": "speaker",
            "Salle": "location",
            "Résumé": "abstract",
            "Partager": "ignore",
            "Plus d'infos": "url",
        },
    }
    parsed = read(FRENCH.encode("cp1252"), options)
    assert parsed.warnings == []
    thesis, cancelled = parsed.events
    assert str(thesis["SUMMARY"]) == "Soutenance de thèse : apprentissage et contrôle"
    assert thesis["DTSTART"].dt == datetime(2024, 11, 12, 14, 0, tzinfo=LA)
    assert str(thesis["UID"]) == "ev-881@ece-web.calendar.ece.example.edu"
    assert str(thesis["LOCATION"]) == "Bâtiment A, salle 101"
    # The page's labels become the ones the content stage knows; "Partager" is dropped.
    assert str(thesis["DESCRIPTION"]) == (
        "Speaker: Marie Dubois\n\nLocation: Bâtiment A, salle 101\n\n"
        "Abstract: Une thèse sur le contrôle."
    )
    assert str(thesis["IMAGE"]) == f"{CMS}/images/dubois.jpg"
    assert str(thesis["URL"]) == f"{CMS}/agenda/881"
    assert "STATUS" not in thesis and str(cancelled["STATUS"]) == "CANCELLED"


def test_date_and_time_in_separate_elements_and_floating_times():
    body = """<table class="events"><tbody>
      <tr class="event"><td class="d">2024-11-14</td><td class="t">9:30 AM - 11:00 AM</td>
          <td><a href="/e/1">Robotics Lab Open House</a></td></tr>
      <tr class="event"><td class="d">2024-11-15</td><td class="t"></td>
          <td><a href="/e/2">Reading Day (no classes)</a></td></tr>
      <tr class="event"><td class="d">2024-11-16</td><td class="t">12:00 PM</td>
          <td><a href="javascript:void(0)">Pizza Social</a></td></tr>
      <tr class="event"><td class="d">17 Nov</td><td class="t">noon</td>
          <td><a href="/e/4">Brunch</a></td></tr>
    </tbody></table>"""
    options = {"events": "tr.event", "title": "td a", "url": "td a", "date": ".d", "time": ".t"}
    parsed = read(body, options, timezone=None)
    lab, day, pizza = parsed.events
    # Without a source zone the time is floating: normalize puts it in the site's zone.
    assert lab["DTSTART"].dt == datetime(2024, 11, 14, 9, 30)
    assert lab["DTEND"].dt == datetime(2024, 11, 14, 11, 0)
    assert str(lab["URL"]) == f"{CMS}/e/1"
    assert day["DTSTART"].dt == date(2024, 11, 15)
    assert pizza["DTSTART"].dt == datetime(2024, 11, 16, 12, 0) and "URL" not in pizza
    assert parsed.warnings == [
        "event 'Pizza Social' (page 1, block 3): url: 'javascript:void(0)' is not a web"
        " address; left out",
        "event 'Brunch' (page 1, block 4): date: cannot read '17 Nov noon' as a date: no year;"
        " skipped",
    ]


CARDS = """\
<ul class="cards">
  <li class="card">
    <h4><a href="talks/2025-04-03-ito.html#top">Graph Signal Processing on Road Networks</a></h4>
    <span class="day">03/04/2025</span>
    <span class="from">15:00</span> to <span class="to">16:15</span>
    <span class="tag">Lecture</span><span class="tag">Open to the public</span>
    <span class="who">Dr. Ken Ito</span> <span class="host">Prof. Sara Lind</span>
    <a class="stream" href="https://hillside.zoom.us/j/5551234567">Livestream</a>
    <a class="ics" href="/talks/2025-04-03-ito.ics">Add to calendar</a>
  </li>
</ul>
"""


def test_fields_with_elements_of_their_own():
    options = {
        "events": "li.card",
        "date": ".day",
        "time": ".from",
        "end": ".to",
        "dayfirst": True,
        "categories": ".tag",
        "speaker": ".who",
        "host": ".host",
        "webcast": "a.stream @href",
        "link": "h4 a",
        "base_url": "https://ece.hillside.example/events/",
    }
    parsed = read(CARDS, options, url=None, path=Path("data/talks.html"))
    (talk,) = parsed.events
    assert talk["DTSTART"].dt == datetime(2025, 4, 3, 15, 0, tzinfo=LA)  # 3 April: dayfirst
    assert talk["DTEND"].dt == datetime(2025, 4, 3, 16, 15, tzinfo=LA)
    assert talk.categories == ["Lecture", "Open to the public"]
    assert str(talk["DESCRIPTION"]) == (
        "Speaker: Dr. Ken Ito\n\nHost: Prof. Sara Lind\n\n"
        "Webcast: https://hillside.zoom.us/j/5551234567"
    )
    # A file has no address: base_url resolves its links (the fragment stays in URL).
    assert str(talk["URL"]) == "https://ece.hillside.example/events/talks/2025-04-03-ito.html#top"
    assert str(talk["UID"]).endswith("@ece.hillside.example")


def test_links_name_the_next_page_and_the_event_pages_to_read():
    options = tomllib.loads(RECIPE)["html"] | {"detail_description": "div.body"}
    found = links(Page(f"{CMS}/events", page("ece-events.html")), recipe_source(options))
    assert found.next == f"{CMS}/events?page=1"
    assert found.details == tuple(
        f"{CMS}/event/{slug}"
        for slug in (
            "aif4s-seminar-value-of-pretraining-data",
            "ece-seminar-power-grids",
            "phd-defense-chen",
            "graduate-research-symposium-2024",
            "career-fair-info-session",
        )
    )
    # Without detail_description no event page is worth a request.
    assert links(Page(f"{CMS}/events", page("ece-events.html")), recipe_source()).details == ()


def test_a_page_that_is_not_valid_utf8_is_read_as_windows_1252():
    body = '<div class="e"><h3>Café</h3><p class="w">Nov 1, 2024</p></div>'.encode("cp1252")
    (event,) = read(body, {"events": "div.e", "when": "p.w"}).events
    assert str(event["SUMMARY"]) == "Café"


def test_blocks_without_a_title_are_skipped_with_a_warning():
    body = """<div class="e"><h3></h3><p class="w">Nov 1, 2024</p></div>
              <div class="e"><h3>Kept</h3><p class="w">Nov 2, 2024</p></div>"""
    parsed = read(body, {"events": "div.e", "when": "p.w", "title": "h3"})
    assert [str(e["SUMMARY"]) for e in parsed.events] == ["Kept"]
    assert parsed.warnings == [
        "event without a title (page 1, block 1): title: 'h3' is empty; skipped"
    ]


def test_selectors_are_read_within_their_block_only():
    # `div` would match the block itself in selectolax; a field is inside its block.
    body = '<div class="e" data-x="1"><div>Inner title</div><p class="w">Nov 1, 2024</p></div>'
    (event,) = read(body, {"events": "div.e", "title": "div", "when": "p.w"}).events
    assert str(event["SUMMARY"]) == "Inner title"


# --- failures ------------------------------------------------------------------------------------


def test_zero_blocks_is_an_error_not_an_empty_calendar():
    with pytest.raises(ParseError) as error:
        read(page("ece-events-redesign.html"))
    assert str(error.value) == (
        f"recipe matched 0 events (selector 'div.event-listing' on {CMS}/events); last good kept"
    )


def test_blocks_without_any_event_is_an_error():
    body = '<div class="e"><h3>A</h3><p class="when">soon</p></div><div class="e"><h3>B</h3></div>'
    with pytest.raises(ParseError) as error:
        read(body, {"events": "div.e", "when": "p.w"})
    assert str(error.value) == (
        f"recipe matched 2 event block(s) (selector 'div.e' on {CMS}/events) but none gave an"
        " event; first: event 'A' (page 1, block 1): when: nothing matched 'p.w'; skipped;"
        " last good kept"
    )


def test_layout_change_keeps_the_last_good_events(site, upstream):
    serve(upstream, LISTING[:1], event_pages=False)
    site.source("ece-web", source_toml(upstream))
    assert site.refresh(now=NOW)[0].status == "updated"
    before = feed_events(site)
    upstream.serve("/events", page("ece-events-redesign.html"), content_type="text/html")
    outcome = site.refresh(now=NOW + timedelta(hours=1))[0]
    assert outcome.status == "failed"
    assert outcome.error == (
        f"recipe matched 0 events (selector 'div.event-listing' on {upstream.url('/events')});"
        " last good kept"
    )
    assert feed_events(site).keys() == before.keys() and len(before) == 4
    status = site.client(now=NOW).get("/status.json").get_json()
    (entry,) = [s for s in status["sources"] if s["id"] == "ece-web"]
    assert entry["last_error"] == outcome.error and entry["events"] == 4


def test_a_field_that_cannot_be_read_is_a_warning_on_the_status_page(site, upstream):
    serve(upstream, LISTING[:1], event_pages=False)
    site.source("ece-web", source_toml(upstream))
    site.refresh(now=NOW)
    status = site.client(now=NOW).get("/status.json").get_json()
    (entry,) = [s for s in status["sources"] if s["id"] == "ece-web"]
    assert entry["warnings"] == [
        "event 'Career Fair Info Session' (page 1, block 5): when: cannot read 'Date TBA' as a"
        " date: String does not contain a date: Date TBA; skipped"
    ]


# --- identity and change -------------------------------------------------------------------------


def _uids(site) -> dict[str, str]:
    return {title: str(e["UID"]) for title, e in feed_events(site).items()}


def test_uids_are_stable_and_changes_move_sequence(site, upstream):
    serve(upstream, LISTING[:1], event_pages=False)
    site.source("ece-web", source_toml(upstream))
    site.refresh(now=NOW)
    first = _uids(site)
    assert all(uid.startswith("url-") for uid in first.values())  # from each event's own page
    # The department edits one event's room and drops another from the listing.
    changed = page("ece-events.html", upstream).replace(b"EEB 539", b"EEB 248")
    start = changed.rindex(b'<div class="event-listing">', 0, changed.index(b"/graduate-research"))
    end = changed.index(b'<div class="event-listing">', start + 1)
    upstream.serve("/events", changed[:start] + changed[end:], content_type="text/html")
    later = NOW + timedelta(hours=2)
    outcome = site.refresh(now=later)[0]
    assert (outcome.stats.added, outcome.stats.changed, outcome.stats.removed) == (0, 1, 1)
    events = feed_events(site)
    assert "Graduate Research Symposium" not in events
    assert {t: u for t, u in _uids(site).items()} == {
        t: u for t, u in first.items() if t != "Graduate Research Symposium"
    }
    defense = events["PhD Defense: Sparse Recovery for Millimeter-Wave Channels"]
    assert str(defense["LOCATION"]) == "EEB 248"
    assert defense["SEQUENCE"] == 1 and defense["LAST-MODIFIED"].dt == later
    seed = next(e for t, e in events.items() if t.startswith("AIF4S"))
    assert seed["SEQUENCE"] == 0 and seed["LAST-MODIFIED"].dt == NOW


def test_events_without_a_link_are_told_apart_by_title_and_start(site, upstream):
    body = page("ece-events.html").replace(
        b'<a href="https://calendar.ece.example.edu/event/', b'<a data-href="'
    )
    upstream.serve("/events", body, content_type="text/html")
    site.source("ece-web", source_toml(upstream))
    site.refresh(now=NOW)
    first = _uids(site)
    assert len(set(first.values())) == 4
    assert all(uid.endswith("@ece-web.127.0.0.1") for uid in first.values())
    site.refresh(now=NOW + timedelta(hours=1))
    assert _uids(site) == first


@pytest.mark.slow
def test_feed_of_a_recipe_source_passes_independent_parsers(site, upstream):
    serve(upstream, LISTING[:1], event_pages=False)
    site.source("ece-web", source_toml(upstream))
    site.refresh(now=NOW)
    body = site.client(now=NOW).get(WINDOW).data
    results = check_feed(body, NOW - timedelta(days=1), NOW + timedelta(days=90))
    assert len(results["icalendar"]) == 4


# --- configuration -------------------------------------------------------------------------------


def _problems(site, html: str) -> list[str]:
    site.source(
        "ece-web",
        f'name = "W"\nkind = "html"\nurl = "https://e.example.edu/events"\ncalendar = "ece"\n'
        f"[html]\n{html}",
    )
    with pytest.raises(ConfigError) as error:
        site.config()
    prefix = f"{site.feeds / 'sources' / 'ece-web.toml'}: html."
    assert all(p.startswith(prefix) for p in error.value.problems), error.value.problems
    return [p.removeprefix(prefix) for p in error.value.problems]


def test_a_recipe_is_checked_when_the_configuration_loads(site):
    assert _problems(
        site,
        'events = "div.event"\ntitel = "h3"\nwhen = "p.when"\ndate = "p.date"\n'
        'location = "p[[["\nlabels = { Presenter = "speakr" }\nformats = ["%d.%m.%Y", "dd/mm"]\n'
        'base_url = "/relative"\n',
    ) == [
        "titel: unknown key (did you mean 'title'?); known: " + ", ".join(sorted(_known())),
        "location: 'p[[[' is not a CSS selector",
        "when: set when, or date (with time), not both",
        "labels.Presenter: 'speakr' is not a field; one of title, when, date, time, end,"
        " location, url, type, calendar, description, ignore, speaker, talk_title, abstract,"
        " biography, host, audiences, contact, webcast",
        "formats: expected a list of strptime patterns like '%d/%m/%Y %H:%M'",
        "base_url: expected an http(s) URL, got '/relative'",
    ]


def _known() -> set[str]:
    from feedserver.sources.recipe import OPTIONS, SELECTORS

    return set(SELECTORS) | set(OPTIONS)


def test_a_recipe_needs_a_time(site):
    assert _problems(site, 'events = "div.event"\n') == [
        "when: required: the selector of each event's date and time (or date and time, or"
        " labels = true for a 'When:' or 'Date:' line)"
    ]
    assert _problems(site, 'events = "div.event"\ntime = ".t"\n') == [
        "time: needs date (the day the time is on)"
    ]
    assert _problems(site, 'events = "@data-x"\nwhen = ".w"\n') == [
        "events: expected a CSS selector of the event blocks, got '@data-x'"
    ]


def test_a_good_recipe_loads(site):
    site.source(
        "ece-web",
        f'name = "W"\nkind = "html"\nurl = "https://e.example.edu/"\ncalendar = "ece"\n{RECIPE}',
    )
    (source,) = site.config().sources
    assert source.kind == "html" and source.options["events"] == "div.event-listing"


def test_store_keeps_nothing_from_a_source_that_never_worked(site, upstream):
    upstream.serve("/events", page("ece-events-redesign.html"), content_type="text/html")
    site.source("ece-web", source_toml(upstream))
    outcome = site.refresh(now=NOW)[0]
    assert outcome.status == "failed" and outcome.error.startswith("recipe matched 0 events")
    store = Store(site.config().store_path)
    try:
        assert store.count_events() == 0
    finally:
        store.close()


# --- the admin's test fetch ----------------------------------------------------------------------


def test_an_admin_tries_a_recipe_before_saving_it(site, upstream):
    serve(upstream, LISTING[:1], event_pages=False)
    api = site.client(now=NOW, token="t0ken")
    auth = {"Authorization": "Bearer t0ken"}
    recipe = tomllib.loads(RECIPE)["html"]
    body = {"kind": "html", "url": upstream.url("/events"), "calendar": "ece", "html": recipe}
    preview = api.post("/admin/api/sources/test", json=body, headers=auth).get_json()["preview"]
    assert preview["events"] == 4 and preview["types"] == {"": 2, "seminar": 2}
    assert preview["warnings"] == [
        "event 'Career Fair Info Session' (page 1, block 5): when: cannot read 'Date TBA' as a"
        " date: String does not contain a date: Date TBA; skipped"
    ]
    # A selector that matches nothing is refused with the reason, before anything is written.
    body["html"] = recipe | {"events": "article.event"}
    response = api.post("/admin/api/sources/test", json=body, headers=auth)
    assert response.status_code == 422
    assert response.get_json()["errors"] == [
        f"recipe matched 0 events (selector 'article.event' on {upstream.url('/events')});"
        " last good kept"
    ]
    # A key that is not a recipe's is a precise 400.
    body["html"] = recipe | {"titel": "h3"}
    response = api.post("/admin/api/sources/test", json=body, headers=auth)
    assert response.status_code == 400
    assert any(
        "html.titel: unknown key (did you mean 'title'?)" in e
        for e in response.get_json()["errors"]
    )
