"""Stage ⑥: the calendar page (/calendar): month grid, the selected day's events and the filters,
over the Flask test client on tests/samples/ics/calendar_month_edges.ics and, across clock
changes, calendar_day_spans.ics (the browser test is in test_calendar_browser.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from html import unescape

import pytest

from feedserver import config as configuration
from feedserver import query as feed_query
from feedserver.errors import ConfigError
from feedserver.store import Store
from feedserver.web import calendar
from tests.conftest import NOW, Site

MARCH = {1: 1, 3: 1, 8: 1, 10: 1, 18: 1, 19: 1, 20: 1, 25: 1, 30: 1, 31: 3}


@pytest.fixture(scope="module")
def edges(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    s = Site(tmp_path_factory.mktemp("edges"))
    s.sample("edges", "calendar_month_edges.ics", "ece")
    s.refresh()
    yield s
    for app in s.apps:
        app.extensions["feedserver"].store.close()


@pytest.fixture(scope="module")
def web(edges: Site):
    return edges.client(now=NOW)


def page(web, url: str, status: int = 200) -> str:
    response = web.get(url)
    assert response.status_code == status, response.data[:500]
    return response.data.decode()


def counts(html: str) -> dict[int, int]:
    """Day of month → events, read from the grid's screen-reader labels."""
    labels = re.findall(r'aria-label="\w+ (\d+), (\d+) events?', html)
    return {int(day): int(n) for day, n in labels if int(n)}


def titles(html: str) -> list[str]:
    listing = html[html.index('id="day-heading"') :]
    return [unescape(t) for t in re.findall(r'<h3 class="title"><a [^>]*>([^<]*)</a>', listing)]


def heading(html: str) -> str:
    return unescape(re.search(r'<h2 id="day-heading"[^>]*>([^<]*)</h2>', html)[1])


def test_month_grid_counts_each_day_an_event_is_on(web):
    html = page(web, "/calendar")  # NOW is March 1, 2026 in Los Angeles
    assert '<h2 id="month-heading">March 2026</h2>' in html
    # 23:30 on Feb 28 stays in February, 00:30 on April 1 in April; the weekly series skips
    # its EXDATE (17th) and moves the 24th to the 25th; the conference covers 18-20.
    assert counts(html) == MARCH
    assert 'aria-label="March 31, 3 events"' in html
    assert 'aria-label="March 1, 1 event, today" aria-current="date"' in html
    assert 'class="day has-events today selected"' in html


def test_today_is_selected_and_listed(web):
    html = page(web, "/calendar")
    assert heading(html) == "Events for Sunday, March 1, 2026"
    assert titles(html) == ["Early March Owl Walk"]


def test_month_edge_events_at_2330_and_0030(web):
    html = page(web, "/calendar?day=2026-03-31")
    assert heading(html) == "Events for Tuesday, March 31, 2026"
    assert titles(html) == [
        "Spring Retreat Across the Month Edge",
        "Weekly Reading Group",
        "Last Half Hour of March",
    ]
    assert "11:30 PM – Wed, Apr 1, 2026, 12:00 AM PDT" in html
    april = page(web, "/calendar?month=2026-04")
    assert counts(april)[1] == 2  # the 00:30 talk and the retreat's last day
    # not today's month: the first day with events is selected
    assert titles(april) == ["Spring Retreat Across the Month Edge", "First Half Hour of April"]
    february = page(web, "/calendar?month=2026-02")
    assert counts(february) == {28: 1}


def test_dst_day_shows_the_local_times_with_their_zone(web):
    html = page(web, "/calendar?day=2026-03-08")
    assert titles(html) == ["Through the Spring-Forward Gap"]
    assert "1:30 AM – 3:30 AM PDT" in html
    weekly = page(web, "/calendar?day=2026-03-10")  # after the change: still 10:00 local
    assert "10:00 AM – 11:00 AM PDT" in weekly


def test_weekly_series_with_exception_and_exdate(web):
    assert titles(page(web, "/calendar?day=2026-03-17")) == []
    assert titles(page(web, "/calendar?day=2026-03-24")) == []
    moved = page(web, "/calendar?day=2026-03-25")
    assert titles(moved) == ["Weekly Reading Group (moved to Wednesday)"]
    assert "3:00 PM – 4:00 PM PDT" in moved


def test_three_day_conference_is_on_each_day(web):
    for day in ("2026-03-18", "2026-03-19", "2026-03-20"):
        html = page(web, f"/calendar?day={day}")
        assert titles(html) == ["Three-Day Robotics Conference"]
        assert "Wed, Mar 18, 2026, all day until Fri, Mar 20, 2026" in html
    assert titles(page(web, "/calendar?day=2026-03-21")) == []


def test_event_shows_its_details_and_links(web):
    html = page(web, "/calendar?day=2026-03-31")
    assert '<dd class="speaker">Ada Lovelace</dd>' in html
    assert '<dd class="location">EEB 132</dd>' in html
    assert '<span class="calendar">Electrical Engineering</span>' in html
    assert '<span class="type">Seminar</span>' in html
    assert re.search(r'<a class="button" href="https://hillside.zoom.us/j/98648507063">', html)
    assert '<details class="description">' in html
    assert re.search(r'href="/events/[^"]+\.ics">Add this event', html)


@pytest.mark.parametrize(
    ("query", "expected", "feed"),
    [
        ("type=workshop", {8: 1, 18: 1, 19: 1, 20: 1}, "/types/workshop"),
        ("type=seminar&q=reading", {3: 1, 10: 1, 25: 1, 31: 1}, "/types/seminar?q=reading"),
        ("type=seminar,social", {1: 1, 3: 1, 10: 1, 25: 1, 30: 1, 31: 3}, None),
        ("calendar=cs", {}, "/calendars/cs"),
        (
            "calendar=ece&exclude_type=seminar",
            {1: 1, 8: 1, 18: 1, 19: 1, 20: 1, 30: 1, 31: 1},
            None,
        ),
        ("calendar=ece&type=social&q=retreat", {30: 1, 31: 1}, None),
        # several types: any of them (the form's checkboxes, joined by the redirect below)
        ("type=workshop,social", {1: 1, 8: 1, 18: 1, 19: 1, 20: 1, 30: 1, 31: 1}, None),
        ("type=social,workshop,seminar", MARCH, "/all?type=seminar,social,workshop"),
        ("type=seminar,workshop&exclude_type=workshop", {3: 1, 10: 1, 25: 1, 31: 2}, None),
        (
            "calendar=ece&type=workshop,seminar&q=reading",
            {3: 1, 10: 1, 25: 1, 31: 1},
            "/calendars/ece?q=reading&type=seminar,workshop",
        ),
        ("type=seminar,social&online=1", {3: 1, 10: 1, 25: 1, 31: 1}, None),
        (
            "type=social,seminar&q=retreat,owl",
            {1: 1, 30: 1, 31: 1},
            "/all?q=owl,retreat&type=seminar,social",
        ),
    ],
)
def test_filters_are_the_feeds_parameters(web, query, expected, feed):
    html = page(web, f"/calendar?{query}")
    assert counts(html) == expected
    href = unescape(re.search(r'id="subscribe-view" href="([^"]*)"', html)[1])
    if feed is not None:
        assert href == feed
    # the page, its feed and its .ics differ only in path and extension
    ics = unescape(re.search(r'<a href="([^"]*)">\.ics</a>', html)[1])
    assert ics.replace(".ics", "", 1) == href
    assert web.get(ics).status_code == 200


def test_one_calendar_path_and_month_links_keep_the_filter(web):
    html = page(web, "/calendar/ece?type=workshop&month=2026-03")
    assert counts(html) == {8: 1, 18: 1, 19: 1, 20: 1}
    assert 'href="/calendar/ece?type=workshop&amp;month=2026-02"' in html
    assert 'href="/calendar/ece?type=workshop&amp;month=2026-04"' in html
    assert '<option value="ece" selected>' in html
    assert re.search(
        r'<input type="checkbox" id="cal-type-workshop" name="type" value="workshop" checked>', html
    )


def test_type_filter_is_a_multi_select(web):
    html = page(web, "/calendar?type=social,seminar&month=2026-03")
    checked = re.findall(
        r'<input type="checkbox" id="cal-type-(\w+)" name="type" value="\1"( checked)?>', html
    )
    assert checked == [("seminar", " checked"), ("workshop", ""), ("social", " checked")]
    assert "Filter March events by event type</legend>" in html


@pytest.mark.parametrize(
    ("query", "location"),
    [
        # what the GET form sends: every field, empty or not, one type parameter per checkbox
        (
            "calendar=&type=social&type=seminar&q=&month=2026-03",
            "/calendar?type=seminar,social&month=2026-03",
        ),
        (
            "calendar=ece&type=workshop&type=seminar&q=robot+learning&month=2026-03&day=2026-03-31",
            "/calendar/ece?q=learning+robot&type=seminar,workshop&month=2026-03&day=2026-03-31",
        ),
        ("type=seminar&type=seminar,social", "/calendar?type=seminar,social"),
        ("calendar=&type=&q=&month=2026-04", "/calendar?month=2026-04"),
        ("calendar=&q=", "/calendar"),
        (
            "calendar=cs&exclude_type=social&online=1&q=",
            "/calendar/cs?exclude_type=social&online=1",
        ),
    ],
)
def test_form_submissions_redirect_to_the_canonical_view(web, query, location):
    response = web.get(f"/calendar?{query}")
    assert response.status_code == 302
    assert response.headers["Location"] == location
    assert web.get(location).status_code == 200  # canonical: no second redirect


def test_repeated_types_are_the_comma_form(web):
    repeated = web.get("/calendar?type=social&type=seminar&month=2026-03", follow_redirects=True)
    joined = web.get("/calendar?type=seminar,social&month=2026-03")
    assert repeated.status_code == joined.status_code == 200
    assert repeated.request.full_path == "/calendar?type=seminar,social&month=2026-03"
    assert repeated.headers["ETag"] == joined.headers["ETag"]
    assert counts(repeated.data.decode()) == {1: 1, 3: 1, 10: 1, 25: 1, 30: 1, 31: 3}


def test_bad_month_day_or_filter_is_a_400_that_says_why(web):
    assert "month: expected YYYY-MM" in page(web, "/calendar?month=2026-13", 400)
    assert "day: expected YYYY-MM-DD" in page(web, "/calendar?day=tomorrow", 400)
    assert page(web, "/calendar?type=nope", 400)
    assert page(web, "/calendar/nope", 404)


def test_page_is_cached_and_conditional(web):
    first = web.get("/calendar?month=2026-03&type=seminar")
    etag = first.headers["ETag"]
    again = web.get("/calendar?type=seminar&month=2026-03", headers={"If-None-Match": etag})
    assert again.status_code == 304
    other = web.get("/calendar?month=2026-04&type=seminar", headers={"If-None-Match": etag})
    assert other.status_code == 200


def test_multi_type_page_answers_304_for_every_spelling(web):
    first = web.get("/calendar?type=seminar,social&month=2026-03")
    assert first.status_code == 200
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert first.headers["Cache-Control"].startswith("public, max-age=")
    for spelling in (
        "/calendar?type=seminar,social&month=2026-03",
        "/calendar?month=2026-03&type=social,seminar",
        "/calendar?type=SOCIAL,seminar,social&month=2026-03",
    ):
        response = web.get(spelling, headers={"If-None-Match": etag})
        assert response.status_code == 304, spelling
        assert response.data == b""
        assert response.headers["ETag"] == etag
    assert (
        web.get(first.request.full_path, headers={"If-Modified-Since": modified}).status_code == 304
    )
    # another day, another type set or a gzip client: not the same representation
    for url, headers in (
        ("/calendar?type=seminar,social&month=2026-03&day=2026-03-31", {}),
        ("/calendar?type=seminar,workshop&month=2026-03", {}),
    ):
        assert web.get(url, headers={"If-None-Match": etag} | headers).status_code == 200
    gzipped = web.get(first.request.full_path, headers={"Accept-Encoding": "gzip"})
    assert gzipped.headers["ETag"] == etag[:-1] + '-gzip"'
    assert (
        web.get(
            first.request.full_path, headers={"If-None-Match": gzipped.headers["ETag"]}
        ).status_code
        == 304
    )


def test_page_changes_its_etag_when_the_store_changes(tmp_path):
    site = Site(tmp_path)
    source = site.sample("edges", "calendar_month_edges.ics", "ece")
    site.refresh()
    client = site.client(now=NOW)
    url = "/calendar?type=seminar,social&day=2026-03-31"
    before = client.get(url)
    assert "Last Half Hour of March" in before.data.decode()
    ics = site.feeds / "data" / "edges.ics"
    ics.write_bytes(ics.read_bytes().replace(b"Last Half Hour of March", b"Last Talk of March"))
    assert source.exists()
    site.refresh()
    after = client.get(url, headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    assert after.headers["ETag"] != before.headers["ETag"]
    assert "Last Talk of March" in after.data.decode()
    for app in site.apps:
        app.extensions["feedserver"].store.close()


def test_first_weekday_setting(edges):
    sunday = page(edges.client(now=NOW), "/calendar")
    assert re.search(r'<thead><tr><th scope="col"><abbr title="Sunday">SUN', sunday)
    monday = page(edges.client(now=NOW, **{"pages.first_weekday": "monday"}), "/calendar")
    assert re.search(r'<thead><tr><th scope="col"><abbr title="Monday">MON', monday)
    # March 1, 2026 is a Sunday: the last cell of the first week
    first_week = re.search(r"<tbody>(.*?)</tr>", monday, re.S)[1]
    assert first_week.count('class="outside"') == 6


def test_first_weekday_must_be_a_weekday(edges):
    (edges.feeds / "site.toml").write_text(
        (edges.feeds / "site.toml").read_text() + '\n[pages]\nfirst_weekday = "sun"\n'
    )
    try:
        with pytest.raises(ConfigError, match="pages.first_weekday must be one of monday"):
            configuration.load(edges.feeds, edges.data, environ={})
    finally:
        text = (edges.feeds / "site.toml").read_text()
        (edges.feeds / "site.toml").write_text(text.split("\n[pages]")[0])


# -- the grid counted from the stored occurrences: the same as placing every occurrence ---------


@pytest.fixture(scope="module")
def spans(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    s = Site(tmp_path_factory.mktemp("spans"))
    s.sample("edges", "calendar_month_edges.ics", "ece")
    s.sample("spans", "calendar_day_spans.ics", "cs")
    s.refresh()
    yield s
    for app in s.apps:
        app.extensions["feedserver"].store.close()


@pytest.mark.parametrize(
    "args",
    [
        {},
        {"type": ["seminar"]},
        {"calendar": ["cs"], "q": ["clock,midnight"]},
        {"exclude_type": ["social"], "online": ["0"]},
    ],
)
@pytest.mark.parametrize("margin", [3 * 3600, 0])
@pytest.mark.parametrize("month", [date(2026, m, 1) for m in (2, 3, 4, 10, 11)])
def test_counted_grid_and_day_are_those_of_every_occurrence_placed(
    spans, month, args, margin, monkeypatch
):
    """calendar.counted and calendar.day_events (one query over the stored occurrences; facts
    only for the day shown) give what calendar.expanded gives by reading every occurrence's
    facts: all-day and timed events across both clock changes, in another zone, ending at or
    near midnight, of no duration, a series with an override moved onto another occurrence.
    With the margin at 0 the query alone places every occurrence: the stored ends are right."""
    monkeypatch.setattr(calendar, "_SHIFTS", margin)
    config = spans.config()
    store = Store(config.store_path)
    try:
        q = feed_query.parse("all", None, args, config, NOW.date())
        selection = calendar.month_selection(q, month, config.timezone)
        assert store.horizon_covers(selection.start, selection.end)
        reference, by_day = calendar.expanded(store, config, selection, month)
        assert calendar.counted(store, config, selection, month) == reference
        day = month
        while day.month == month.month:
            assert calendar.day_events(store, config, selection, day) == by_day.get(day, []), day
            day += timedelta(days=1)
    finally:
        store.close()


@pytest.fixture(scope="module")
def spans_web(spans: Site):
    return spans.client(now=NOW)


@pytest.mark.parametrize(
    ("title", "first", "last"),
    [
        # all day, DTEND exclusive; the stored end of a single event is its start plus its
        # length in seconds, an hour off a midnight when the clocks change in between
        ("Spring Break Across the Clock Change", "2026-03-06", "2026-03-09"),
        ("Fall Festival Across the Clock Change", "2026-10-30", "2026-11-02"),
        ("Observing Night Until 11:30 PM", "2026-03-07", "2026-03-08"),
        ("Hackathon Until Half Past Midnight", "2026-10-31", "2026-11-02"),
        # 10:00 to 08:59 in Berlin, whose clocks change that night: 23:59 in Los Angeles
        ("Berlin Workshop Across Its Clock Change", "2026-03-28", "2026-03-28"),
        ("Late Talk Until Midnight", "2026-03-21", "2026-03-21"),
        ("Midnight Talk in UTC", "2026-03-20", "2026-03-20"),
        ("Deadline at Midnight", "2026-03-15", "2026-03-15"),
    ],
)
def test_events_across_clock_changes_are_on_the_days_they_cover(spans_web, title, first, last):
    begin, end = date.fromisoformat(first), date.fromisoformat(last)
    for day in (begin - timedelta(days=1), begin, end, end + timedelta(days=1)):
        html = page(spans_web, f"/calendar/cs?day={day.isoformat()}")
        assert (title in titles(html)) == (begin <= day <= end), day
        assert counts(html).get(day.day, 0) == len(titles(html)), day  # the grid says so too


def test_a_month_beyond_the_precomputed_horizon_expands_its_series(spans_web, spans):
    config = spans.config()
    q = feed_query.parse("calendars", "cs", {}, config, NOW.date())
    june = calendar.month_selection(q, date(2029, 6, 1), config.timezone)
    store = Store(config.store_path)
    try:
        assert not store.horizon_covers(june.start, june.end)
    finally:
        store.close()
    html = page(spans_web, "/calendar/cs?month=2029-06&day=2029-06-12")
    # the open-ended series: Mondays 23:30 to Tuesdays 00:30
    mondays = [4, 11, 18, 25]
    assert counts(html) == {d: 1 for d in mondays} | {d + 1: 1 for d in mondays}
    assert titles(html) == ["Open-Ended Late Reading Group"]
    assert "4 events this month" in html
