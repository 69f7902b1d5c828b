"""The fetch stage of bridged sources (feedserver/crawl.py), over real HTTP on 127.0.0.1.

An html recipe source (tests/htmlsite.py) whose listing spans three pages and whose events link
to their own pages: pagination within ``follow.pages``, event pages with the full description,
what a page that cannot be fetched costs, the caches, and politeness to the upstream host.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

import icalendar
import pytest

from feedserver.errors import ConfigError
from tests.htmlsite import NOW, WINDOW, listing_path, page, serve, source_toml

NEXT = '\nnext = "li.pager__item--next a"\n'
EVENT_PAGE = '\ndetail_description = "div.field--name-body"\n'


def follow(pages: int = 3, *, event_pages: bool = False, delay: str = "0s", **more) -> str:
    lines = [f"pages = {pages}", f"event_pages = {str(event_pages).lower()}", f'delay = "{delay}"']
    lines += [f"{k} = {v}" for k, v in more.items()]
    return "[follow]\n" + "\n".join(lines) + "\n"


def titles(site) -> list[str]:
    body = site.client(now=NOW).get(WINDOW).data
    return sorted(str(e["SUMMARY"]) for e in icalendar.Calendar.from_ical(body).walk("VEVENT"))


def events(site) -> dict[str, icalendar.Event]:
    body = site.client(now=NOW).get(WINDOW).data
    return {str(e["SUMMARY"]): e for e in icalendar.Calendar.from_ical(body).walk("VEVENT")}


def paths(upstream) -> list[str]:
    return [r.path for r in upstream.requests]


PAGE_1 = [
    "AIF4S Seminar: Value of Pretraining Data: Scaling Laws for Downstream Task Performance of"
    " Large Language Models",
    "ECE Seminar: Learning-Based Control of Inverter-Dominated Power Grids",
    "Graduate Research Symposium",
    "PhD Defense: Sparse Recovery for Millimeter-Wave Channels",
]
PAGE_2 = [
    "Hardware Security Workshop: Side Channels in Practice",
    "Quantum Sensing with Nitrogen-Vacancy Centers",
    "Stargazing Night at the Observatory",
]
PAGE_3 = ["ECE Distinguished Lecture: The Next Fifty Years of Wireless", "ECE Thanksgiving Potluck"]


# --- pagination ----------------------------------------------------------------------------------


def test_listing_pages_are_followed_up_to_follow_pages(site, upstream):
    serve(upstream)
    site.source("ece-web", source_toml(upstream, follow=follow(3), extra=NEXT))
    outcome = site.refresh(now=NOW)[0]
    assert outcome.status == "updated", outcome.error
    assert titles(site) == sorted(PAGE_1 + PAGE_2 + PAGE_3)
    assert paths(upstream) == ["/events", "/events?page=1", "/events?page=2"]
    # The types of the later pages' events come from the source's [categories] too.
    potluck = events(site)["ECE Thanksgiving Potluck"]
    assert potluck.categories[0] == "Social"


def test_pagination_stops_at_follow_pages(site, upstream):
    serve(upstream)
    site.source("ece-web", source_toml(upstream, follow=follow(2), extra=NEXT))
    assert site.refresh(now=NOW)[0].status == "updated"
    assert titles(site) == sorted(PAGE_1 + PAGE_2)
    assert upstream.hits("/events") == 2 and "/events?page=2" not in paths(upstream)


def test_default_next_link_is_rel_next(site, upstream):
    # Page 1 says rel="next"; page 2's "Next »" has no rel, so without a `next` selector the
    # listing ends there, however many pages follow.pages allows.
    serve(upstream)
    site.source("ece-web", source_toml(upstream, follow=follow(10)))
    assert site.refresh(now=NOW)[0].status == "updated"
    assert paths(upstream) == ["/events", "/events?page=1"]
    assert titles(site) == sorted(PAGE_1 + PAGE_2)


def test_numbered_pages_with_page_param_end_at_the_first_empty_page(site, upstream):
    # A listing paged by ?page=N (0-based here, as Drupal counts): no next link is needed;
    # the first page without event blocks ends it, well before follow.pages.
    serve(upstream)
    upstream.serve("/events?page=0", page("ece-events.html", upstream), content_type="text/html")
    empty = b"<html><body><nav><a href='/'>Home</a></nav><p>No events found.</p></body></html>"
    upstream.serve("/events?page=3", empty, content_type="text/html")
    toml = source_toml(upstream, follow=follow(10), extra='\npage_param = "page"\n')
    site.source("ece-web", toml.replace('/events"', '/events?page=0"'))
    outcome = site.refresh(now=NOW)[0]
    assert outcome.status == "updated", outcome.error
    pages = ["/events?page=0", "/events?page=1", "/events?page=2", "/events?page=3"]
    assert paths(upstream) == pages
    assert titles(site) == sorted(PAGE_1 + PAGE_2 + PAGE_3)


def test_page_param_and_next_together_are_refused(site, upstream):
    site.source("ece-web", source_toml(upstream, extra=NEXT + 'page_param = "page"\n'))
    with pytest.raises(ConfigError, match="html.page_param: set either next"):
        site.config()


def test_a_next_link_back_to_a_read_page_ends_the_listing(site, upstream):
    serve(upstream)
    looping = page("ece-events-2.html", upstream).replace(b'href="?page=2"', b'href="?page=0#top"')
    upstream.serve("/events?page=1", looping, content_type="text/html")
    upstream.serve("/events?page=0", page("ece-events.html", upstream), content_type="text/html")
    site.source("ece-web", source_toml(upstream, follow=follow(10), extra=NEXT))
    assert site.refresh(now=NOW)[0].status == "updated"
    # ?page=0 is a new address (page 1 was /events), read once; its next is ?page=1 again.
    assert paths(upstream) == ["/events", "/events?page=1", "/events?page=0"]


def test_a_listing_page_that_fails_fails_the_source_and_keeps_the_last_good_events(site, upstream):
    serve(upstream)
    site.source("ece-web", source_toml(upstream, follow=follow(3), extra=NEXT))
    site.refresh(now=NOW)
    upstream.serve("/events?page=1", b"maintenance", status=503, content_type="text/plain")
    outcome = site.refresh(now=NOW + timedelta(hours=1))[0]
    assert outcome.status == "failed"
    assert outcome.error == (
        f"listing page 2 ({upstream.url('/events?page=1')}): HTTP 503 Service Unavailable from"
        f" {upstream.url('/events?page=1')}; last good events kept"
    )
    assert titles(site) == sorted(PAGE_1 + PAGE_2 + PAGE_3)


def test_unchanged_pages_cost_no_parsing(site, upstream):
    serve(upstream)
    site.source("ece-web", source_toml(upstream, follow=follow(3), extra=NEXT))
    site.refresh(now=NOW)
    outcome = site.refresh(now=NOW + timedelta(hours=1))[0]
    assert outcome.status == "unchanged" and outcome.events == 9
    again = upstream.requests[3:]
    assert [r.path for r in again] == ["/events", "/events?page=1", "/events?page=2"]
    for request in again:  # conditional GETs, each with its own page's validator
        body = page(
            {"/events": "ece-events.html", "/events?page=1": "ece-events-2.html"}.get(
                request.path, "ece-events-3.html"
            ),
            upstream,
        )
        assert request.headers["If-None-Match"] == f'"{hashlib.sha256(body).hexdigest()[:16]}"'


def test_a_changed_later_page_is_noticed(site, upstream):
    serve(upstream)
    site.source("ece-web", source_toml(upstream, follow=follow(3), extra=NEXT))
    site.refresh(now=NOW)
    changed = page("ece-events-3.html", upstream).replace(b"Bovard Auditorium", b"Town & Gown")
    upstream.serve(listing_path(3), changed, content_type="text/html")
    outcome = site.refresh(now=NOW + timedelta(hours=1))[0]
    assert outcome.status == "updated" and outcome.stats.changed == 1
    lecture = events(site)["ECE Distinguished Lecture: The Next Fifty Years of Wireless"]
    assert str(lecture["LOCATION"]) == "Town & Gown" and lecture["SEQUENCE"] == 1


# --- event pages ---------------------------------------------------------------------------------


def test_event_pages_give_the_full_description(site, upstream):
    serve(upstream)
    toml = source_toml(upstream, follow=follow(2, event_pages=True), extra=NEXT + EVENT_PAGE)
    site.source("ece-web", toml)
    outcome = site.refresh(now=NOW)[0]
    assert outcome.status == "updated", outcome.error
    seminar = events(site)["ECE Seminar: Learning-Based Control of Inverter-Dominated Power Grids"]
    description = str(seminar["DESCRIPTION"])
    # The event page's abstract runs on over two paragraphs; the listing had a teaser.
    assert "We first show why classical droop control is conservative" in description
    assert "Read more" not in description
    assert "Host: Prof. Mihailo Jovanović, mihailo@ece.example.edu" in description
    assert str(seminar["CONTACT"]) == "Diane Demetras"
    workshop = events(site)["Hardware Security Workshop: Side Channels in Practice"]
    assert "- Bring a laptop with Python 3.11." in str(workshop["DESCRIPTION"])


def test_an_event_page_that_fails_costs_only_its_description(site, upstream):
    serve(upstream)
    upstream.serve(
        "/event/hardware-security-workshop", b"gone", status=404, content_type="text/plain"
    )
    toml = source_toml(upstream, follow=follow(2, event_pages=True), extra=NEXT + EVENT_PAGE)
    site.source("ece-web", toml)
    outcome = site.refresh(now=NOW)[0]
    assert outcome.status == "updated"
    url = upstream.url("/event/hardware-security-workshop")
    assert f"event page {url}: HTTP 404 Not Found from {url}; its listing entry is used alone" in (
        outcome.warnings
    )
    workshop = events(site)["Hardware Security Workshop: Side Channels in Practice"]
    assert "Bring a laptop with Python 3.11. Oscilloscopes are provided." in str(
        workshop["DESCRIPTION"]
    )


def test_event_pages_without_the_description_fall_back_to_the_listing(site, upstream):
    serve(upstream)
    upstream.serve(
        "/event/ece-seminar-power-grids", b"<html><p>Moved.</p></html>", content_type="text/html"
    )
    toml = source_toml(upstream, follow=follow(1, event_pages=True), extra=EVENT_PAGE)
    site.source("ece-web", toml)
    outcome = site.refresh(now=NOW)[0]
    assert (
        "event 'ECE Seminar: Learning-Based Control of Inverter-Dominated Power Grids' (page 1,"
        " block 2): detail_description: nothing matched 'div.field--name-body' on"
        f" {upstream.url('/event/ece-seminar-power-grids')}; the listing's description is used"
    ) in outcome.warnings
    seminar = events(site)["ECE Seminar: Learning-Based Control of Inverter-Dominated Power Grids"]
    assert "Read more" in str(seminar["DESCRIPTION"])


def test_event_pages_are_read_again_after_a_day_and_a_failure_uses_the_last_copy(site, upstream):
    serve(upstream)
    toml = source_toml(upstream, follow=follow(1, event_pages=True), extra=EVENT_PAGE)
    site.source("ece-web", toml)
    site.refresh(now=NOW)
    event_paths = [p for p in paths(upstream) if p.startswith("/event/")]
    # Page 1 links five events; two of them have pages on this upstream.
    assert len(event_paths) == 5 and upstream.hits("/event/ece-seminar-power-grids") == 1
    site.refresh(now=NOW + timedelta(hours=23))
    assert upstream.hits("/event/ece-seminar-power-grids") == 1  # the copy is fresh enough
    upstream.serve("/event/ece-seminar-power-grids", b"down", status=500, content_type="text/plain")
    outcome = site.refresh(now=NOW + timedelta(hours=25))[0]
    assert upstream.hits("/event/ece-seminar-power-grids") == 2
    url = upstream.url("/event/ece-seminar-power-grids")
    assert (
        f"event page {url}: HTTP 500 Internal Server Error from {url}; using the copy of 2024-10-01"
    ) in outcome.warnings
    seminar = events(site)["ECE Seminar: Learning-Based Control of Inverter-Dominated Power Grids"]
    assert "We first show why classical droop control" in str(seminar["DESCRIPTION"])


def test_event_pages_are_bounded_by_max_event_pages(site, upstream):
    serve(upstream)
    toml = source_toml(
        upstream, follow=follow(1, event_pages=True, max_event_pages=2), extra=EVENT_PAGE
    )
    site.source("ece-web", toml)
    outcome = site.refresh(now=NOW)[0]
    assert "5 event pages linked, read the first 2 (follow.max_event_pages)" in outcome.warnings
    assert [p for p in paths(upstream) if p.startswith("/event/")] == [
        "/event/aif4s-seminar-value-of-pretraining-data",
        "/event/ece-seminar-power-grids",
    ]


def test_event_pages_are_not_read_without_a_selector_for_them(site, upstream):
    serve(upstream)
    site.source("ece-web", source_toml(upstream, follow=follow(1, event_pages=True)))
    assert site.refresh(now=NOW)[0].status == "updated"
    assert paths(upstream) == ["/events"]


# --- politeness ----------------------------------------------------------------------------------


def test_one_request_at_a_time_per_host_with_the_delay_between(site, upstream):
    serve(upstream)
    more = {"max_event_pages": 2}
    toml = source_toml(
        upstream, follow=follow(2, event_pages=True, delay="1s", **more), extra=NEXT + EVENT_PAGE
    )
    site.source("ece-web", toml)
    assert site.refresh(now=NOW)[0].status == "updated"
    starts = [r.at for r in upstream.requests]
    assert len(starts) == 4  # two listing pages, two events' own pages
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert min(gaps) >= 1.0, gaps
    assert upstream.max_in_flight == 1


@pytest.mark.slow
def test_politeness_holds_across_worker_processes(site, upstream):
    # Two sources on one host are fetched by two worker processes at once: the per-host lock
    # makes them take turns, each request a delay after the one before.
    serve(upstream)
    for source_id in ("ece-web", "ece-web-copy"):
        toml = source_toml(upstream, follow=follow(3, delay="1s"), extra=NEXT)
        site.source(source_id, toml)
    outcomes = site.refresh(now=NOW, **{"fetch.concurrency": 2})
    assert [o.status for o in outcomes] == ["updated", "updated"]
    starts = sorted(r.at for r in upstream.requests)
    assert len(starts) == 6
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert min(gaps) >= 1.0, gaps
    assert upstream.max_in_flight == 1
