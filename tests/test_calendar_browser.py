"""The calendar page (/calendar) in headless Chromium against the app on 127.0.0.1: months,
days, the type filter, and "Subscribe to this view" leading to the feed of what was listed.

Same browser set-up as test_browser.py (Debian's /usr/bin/chromium, no download)."""

from __future__ import annotations

import urllib.request
import zoneinfo
from collections.abc import Iterator
from datetime import date, datetime, timedelta

import icalendar
import pytest
import recurring_ical_events

from feedserver.app import create_app
from tests.browser import chromium, serving
from tests.conftest import NOW, Site
from tests.test_browser import PUBLIC

pytestmark = pytest.mark.slow
LA = zoneinfo.ZoneInfo("America/Los_Angeles")


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    s = Site(tmp_path_factory.mktemp("calendar-browser"))
    s.sample("edges", "calendar_month_edges.ics", "ece")
    s.refresh()
    app = create_app({"FEEDS": s.feeds, "DATA": s.data, "ENVIRON": {}, "NOW": NOW})
    with serving(app) as base:
        yield base
    app.extensions["feedserver"].store.close()


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser, base) -> Iterator:
    context = browser.new_context(base_url=base)
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    yield tab
    context.close()


def listed_month(page) -> set[tuple[str, date]]:
    """(UID, day) of every event the page lists in its month, by choosing each marked day."""
    found = set()
    days = page.locator("td.has-events").evaluate_all("cells => cells.map(c => c.dataset.date)")
    for day in days:
        page.locator(f'td[data-date="{day}"] a').click()
        page.wait_for_url(f"**day={day}*")
        assert page.locator("#day-heading").get_attribute("data-date") == day
        for uid in page.locator(".day-events .event").evaluate_all(
            "items => items.map(i => i.dataset.uid)"
        ):
            found.add((uid, date.fromisoformat(day)))
    return found


def feed_month(ics: bytes, first: date, end: date) -> set[tuple[str, date]]:
    """(UID, day) of the feed's occurrences in [first, end), expanded by recurring-ical-events
    (not by feedserver), each on every day it covers in the site's zone."""
    calendar = icalendar.Calendar.from_ical(ics)
    found = set()
    window = (
        datetime.combine(first, datetime.min.time(), LA),
        datetime.combine(end, datetime.min.time(), LA),
    )
    for event in recurring_ical_events.of(calendar).between(*window):
        start, stop = event["DTSTART"].dt, event["DTEND"].dt
        if isinstance(start, datetime):
            day, last = (
                start.astimezone(LA).date(),
                (stop - timedelta(microseconds=1)).astimezone(LA).date(),
            )
        else:
            day, last = start, stop - timedelta(days=1)
        last = max(last, day)
        while day <= last:
            if first <= day < end:
                found.add((str(event["UID"]), day))
            day += timedelta(days=1)
    return found


def test_navigate_pick_filter_and_subscribe_to_the_view(page, base):
    from playwright.sync_api import expect

    page.goto("/calendar")
    expect(page.locator("#month-heading")).to_have_text("March 2026")
    expect(page.locator("#day-heading")).to_have_text("Events for Sunday, March 1, 2026")
    page.get_by_role("link", name="Next month ›").click()
    expect(page.locator("#month-heading")).to_have_text("April 2026")
    expect(page.get_by_role("link", name="April 1, 2 events")).to_be_visible()
    page.get_by_role("link", name="‹ Previous month").click()
    expect(page.locator("#month-heading")).to_have_text("March 2026")

    # pick a day: the keyboard reaches it, its label names the count
    day = page.get_by_role("link", name="March 31, 3 events")
    day.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#day-heading")).to_have_text("Events for Tuesday, March 31, 2026")
    expect(page.locator(".day-events .title")).to_have_text(
        ["Spring Retreat Across the Month Edge", "Weekly Reading Group", "Last Half Hour of March"]
    )
    description = page.locator(".day-events details.description").first
    expect(description.locator(".text")).to_be_hidden()
    description.locator("summary").click()
    expect(description.locator(".text")).to_be_visible()

    # two event types (a GET form: works the same without JavaScript); the day stays chosen
    types = page.get_by_role("group", name="Filter March events by event type")
    types.get_by_label("Seminar").check()
    types.get_by_label("Social").check()
    page.get_by_role("button", name="Show events").click()
    page.wait_for_url(f"{base}/calendar?type=seminar,social&month=2026-03&day=2026-03-31")
    expect(page.locator("#month-heading")).to_have_text("March 2026")
    expect(page.locator("td.has-events")).to_have_count(6)
    listed = listed_month(page)
    assert {uid for uid, _ in listed} == {
        "weekly@edges.example",
        "late-mar@edges.example",
        "early-mar@edges.example",
        "retreat@edges.example",
    }

    # "Subscribe to this view": the feed of exactly what the page listed this month
    page.get_by_role("link", name="Subscribe to this view").click()
    page.wait_for_url("**/all?type=seminar,social")
    address = page.locator("#feed-url").input_value()
    assert address == f"{PUBLIC}/all.ics?type=seminar,social"
    with urllib.request.urlopen(base + address.removeprefix(PUBLIC), timeout=30) as response:
        ics = response.read()
    assert feed_month(ics, date(2026, 3, 1), date(2026, 4, 1)) == listed


@pytest.mark.parametrize("width", [390, 1280])
def test_grid_fits_the_screen(browser, base, width):
    context = browser.new_context(base_url=base, viewport={"width": width, "height": 900})
    tab = context.new_page()
    tab.goto("/calendar?day=2026-03-31")
    assert tab.evaluate("document.documentElement.scrollWidth") <= width
    # every form control has a label a screen reader can read
    unlabelled = tab.evaluate(
        """() => [...document.querySelectorAll('form input:not([type=hidden]), form select')]
            .filter(e => !e.labels || e.labels.length === 0).map(e => e.name)"""
    )
    assert unlabelled == []
    context.close()
