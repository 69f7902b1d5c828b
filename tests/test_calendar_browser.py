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


def mark(page) -> None:
    """A marker that only survives while no page is loaded: in-place updates keep it."""
    page.evaluate("window.stillHere = true")


def still_here(page) -> bool:
    return page.evaluate("window.stillHere === true")


def focused_day(page) -> str | None:
    return page.evaluate("document.activeElement.closest('td[data-date]')?.dataset.date ?? null")


def types_group(page, month: str):
    return page.get_by_role("group", name=f"Filter {month} events by event type")


def test_navigate_pick_filter_and_subscribe_to_the_view(page, base):
    from playwright.sync_api import expect

    page.goto("/calendar")
    mark(page)
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

    # two event types in the multi-select: the page changes in place, the day stays chosen
    types = types_group(page, "March")
    types.get_by_label("Seminar").check()
    types.get_by_label("Social").check()
    page.wait_for_url(f"{base}/calendar?type=seminar,social&month=2026-03&day=2026-03-31")
    expect(page.locator("td.has-events")).to_have_count(6)
    expect(page.locator("#day-heading")).to_have_text("Events for Tuesday, March 31, 2026")
    assert still_here(page)
    listed = listed_month(page)
    assert still_here(page)
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


def test_filters_change_the_page_in_place(page, base):
    from playwright.sync_api import expect

    page.goto("/calendar")
    mark(page)
    status = page.locator("#calendar-status")
    types = types_group(page, "March")
    types.get_by_label("Workshop").check()
    page.wait_for_url(f"{base}/calendar?type=workshop&month=2026-03")
    expect(page.locator("td.has-events")).to_have_count(4)
    expect(page.locator("h1")).to_contain_text("Workshop")
    expect(page.locator("#subscribe-view")).to_have_attribute("href", "/types/workshop")
    expect(status).to_have_text("March 2026: 2 events. Sunday, March 1, 2026: 0 events.")
    expect(types.get_by_label("Workshop")).to_be_focused()  # the focus stays where it was

    types.get_by_label("Seminar").check()
    page.wait_for_url(f"{base}/calendar?type=seminar,workshop&month=2026-03")
    expect(page.locator("#subscribe-view")).to_have_attribute("href", "/all?type=seminar,workshop")
    counts = page.locator("td.has-events .count").evaluate_all(
        "cells => cells.map(c => c.parentElement.parentElement.dataset.date.slice(8) + ':' "
        "+ parseInt(c.textContent))"
    )
    assert counts == ["03:1", "08:1", "10:1", "18:1", "19:1", "20:1", "25:1", "31:2"]

    # keywords: Enter submits the form, in place too
    page.get_by_label("Keywords").fill("reading")
    page.get_by_label("Keywords").press("Enter")
    page.wait_for_url(f"{base}/calendar?q=reading&type=seminar,workshop&month=2026-03")
    expect(page.locator("td.has-events")).to_have_count(4)

    # a calendar: the canonical URL has it in the path
    page.get_by_label("Select a calendar").select_option("ece")
    page.wait_for_url(f"{base}/calendar/ece?q=reading&type=seminar,workshop&month=2026-03")
    expect(page.locator("#subscribe-view")).to_have_attribute(
        "href", "/calendars/ece?q=reading&type=seminar,workshop"
    )

    # Back restores the previous view and its form
    page.go_back()
    page.wait_for_url(f"{base}/calendar?q=reading&type=seminar,workshop&month=2026-03")
    expect(page.get_by_label("Select a calendar")).to_have_value("")
    page.go_back()
    page.wait_for_url(f"{base}/calendar?type=seminar,workshop&month=2026-03")
    expect(page.get_by_label("Keywords")).to_have_value("")
    expect(page.locator("td.has-events")).to_have_count(8)
    assert still_here(page)

    # a view the server refuses: the browser goes to the error page, which says why
    page.get_by_label("Keywords").fill("x" * 201)
    page.get_by_label("Keywords").press("Enter")
    expect(page.locator("main")).to_contain_text("q: at most 200 characters")
    assert not still_here(page)


def test_months_change_in_place_and_the_back_button_returns(page, base):
    from playwright.sync_api import expect

    page.goto("/calendar?type=workshop")
    mark(page)
    heading = page.locator("#month-heading")
    following = page.get_by_role("link", name="Next month ›")
    following.click()
    page.wait_for_url(f"{base}/calendar?type=workshop&month=2026-04")
    expect(heading).to_have_text("April 2026")
    expect(following).to_be_focused()  # the new link has the focus: click again to go on
    expect(types_group(page, "April").get_by_label("Workshop")).to_be_checked()
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/calendar?type=workshop&month=2026-05")
    expect(heading).to_have_text("May 2026")
    expect(page.locator("#calendar-status")).to_contain_text("May 2026: 0 events")

    page.go_back()
    page.wait_for_url(f"{base}/calendar?type=workshop&month=2026-04")
    expect(heading).to_have_text("April 2026")
    page.go_back()
    page.wait_for_url(f"{base}/calendar?type=workshop")
    expect(heading).to_have_text("March 2026")
    expect(page.locator("td.has-events")).to_have_count(4)
    page.go_forward()
    expect(heading).to_have_text("April 2026")
    assert still_here(page)

    # a filter change keeps the month shown
    types_group(page, "April").get_by_label("Seminar").check()
    page.wait_for_url(f"{base}/calendar?type=seminar,workshop&month=2026-04")
    expect(page.get_by_role("link", name="April 1, 1 event")).to_be_visible()
    assert still_here(page)


def test_arrow_keys_move_between_days_and_select_one(page, base):
    from playwright.sync_api import expect

    page.goto("/calendar")  # March 2026 starts on a Sunday, the first day of the week
    mark(page)
    grid = page.get_by_role("grid")
    expect(grid).to_be_visible()
    tab_stops = "document.querySelectorAll('.month-grid a:not([tabindex=\"-1\"])').length"
    assert page.evaluate(tab_stops) == 1  # one tab stop: the selected day
    page.get_by_role("link", name="March 1, 1 event, today").focus()
    expect(page.locator("#grid-keys")).to_be_visible()
    for key, day in [
        ("ArrowRight", "2026-03-02"),
        ("ArrowDown", "2026-03-09"),
        ("ArrowDown", "2026-03-16"),
        ("ArrowUp", "2026-03-09"),
        ("End", "2026-03-14"),
        ("Home", "2026-03-08"),
        ("ArrowLeft", "2026-03-07"),
    ]:
        page.keyboard.press(key)
        assert focused_day(page) == day, key
        assert page.evaluate(tab_stops) == 1
    assert page.url == f"{base}/calendar"  # moving the focus selects nothing

    # across the month's edge: the next month comes in place, the focus on the day
    page.keyboard.press("PageDown")
    expect(page.locator("#month-heading")).to_have_text("April 2026")
    page.wait_for_url(f"{base}/calendar?month=2026-04")
    expect(page.locator('td[data-date="2026-04-07"] a')).to_be_focused()
    page.keyboard.press("ArrowUp")  # March 31
    expect(page.locator("#month-heading")).to_have_text("March 2026")
    expect(page.locator('td[data-date="2026-03-31"] a')).to_be_focused()
    expect(page.get_by_role("link", name="March 31, 3 events")).to_be_focused()

    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/calendar?month=2026-03&day=2026-03-31")
    expect(page.locator("#day-heading")).to_have_text("Events for Tuesday, March 31, 2026")
    expect(page.locator(".day-events .event")).to_have_count(3)
    expect(page.get_by_role("link", name="March 31, 3 events")).to_be_focused()
    assert page.locator('td[data-date="2026-03-31"] a').get_attribute("aria-current") == "date"
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    page.evaluate(
        "document.addEventListener('keydown', e => { window.spaceScrolls = !e.defaultPrevented })"
    )
    page.keyboard.press(" ")
    page.wait_for_url(f"{base}/calendar?month=2026-03&day=2026-03-29")
    expect(page.locator("#day-heading")).to_have_text("Events for Sunday, March 29, 2026")
    expect(page.locator('td[data-date="2026-03-29"] a')).to_be_focused()
    assert page.evaluate("window.spaceScrolls") is False  # Space selected; it did not scroll
    assert still_here(page)

    # Tab leaves the grid: the next stop is after it
    page.keyboard.press("Tab")
    assert focused_day(page) is None


def test_phone_list_keys_and_day_choice(browser, base):
    from playwright.sync_api import expect

    context = browser.new_context(base_url=base, viewport={"width": 390, "height": 800})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto("/calendar")
    expect(page.locator('td[data-date="2026-03-02"]')).to_be_hidden()  # a list of event days
    page.get_by_role("link", name="March 1, 1 event, today").focus()
    page.keyboard.press("ArrowDown")
    assert focused_day(page) == "2026-03-03"
    page.keyboard.press("ArrowDown")
    assert focused_day(page) == "2026-03-08"
    page.keyboard.press("ArrowUp")
    assert focused_day(page) == "2026-03-03"
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/calendar?month=2026-03&day=2026-03-03")
    expect(page.locator("#day-heading")).to_be_focused()  # the events are further down
    expect(page.locator("#day-heading")).to_be_in_viewport()
    context.close()


def test_without_javascript_the_form_and_links_do_it_all(browser, base):
    from playwright.sync_api import expect

    context = browser.new_context(base_url=base, java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto("/calendar")
    assert page.locator(".month-grid").get_attribute("role") is None
    assert page.locator(".month-grid a[tabindex]").count() == 0  # Tab reaches every day
    types = types_group(page, "March")
    types.get_by_label("Seminar").check()
    types.get_by_label("Social").check()
    page.get_by_role("button", name="Show events").click()
    # the form sends type=seminar&type=social&q=…: the server answers with the canonical URL
    page.wait_for_url(f"{base}/calendar?type=seminar,social&month=2026-03")
    expect(types.get_by_label("Seminar")).to_be_checked()
    expect(types.get_by_label("Social")).to_be_checked()
    expect(types.get_by_label("Workshop")).not_to_be_checked()
    days = page.locator("td.has-events").evaluate_all("cells => cells.map(c => c.dataset.date)")
    assert [d[-2:] for d in days] == ["01", "03", "10", "25", "30", "31"]
    expect(page.locator("#subscribe-view")).to_have_attribute("href", "/all?type=seminar,social")
    page.get_by_role("link", name="March 31, 3 events").click()
    page.wait_for_url(f"{base}/calendar?type=seminar,social&month=2026-03&day=2026-03-31")
    expect(page.locator(".day-events .event")).to_have_count(3)
    page.get_by_role("link", name="Next month ›").click()
    page.wait_for_url(f"{base}/calendar?type=seminar,social&month=2026-04")
    expect(page.locator("#month-heading")).to_have_text("April 2026")
    context.close()


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
