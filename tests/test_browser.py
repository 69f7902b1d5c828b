"""The subscriber's pages in headless Chromium (Debian's package, driven by Playwright) against
the app on a real HTTP server on 127.0.0.1.

Playwright drives /usr/bin/chromium (scripts/test-setup.sh installs it) and never downloads a
browser of its own. Screenshots of / go to test-artifacts/ (gitignored) for people to look at.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import icalendar
import pytest

from feedserver.app import create_app
from tests.browser import chromium, serving
from tests.conftest import NOW, Site

pytestmark = pytest.mark.slow

PUBLIC = "https://events.example.edu"  # base_url of the test site: what subscribe links carry
ARTIFACTS = Path(__file__).parent.parent / "test-artifacts"


@pytest.fixture(scope="module")
def base(store_site: Site) -> Iterator[str]:
    """The app on werkzeug's threaded server on 127.0.0.1, its clock at NOW."""
    app = create_app(
        {"FEEDS": store_site.feeds, "DATA": store_site.data, "ENVIRON": {}, "NOW": NOW}
    )
    store_site.apps.append(app)
    with serving(app) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser, base) -> Iterator:
    context = browser.new_context(base_url=base)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    yield tab
    context.close()


def fetch(base: str, public_url: str) -> bytes:
    """GET a feed URL as shown on a page (it names the public site) from the test server."""
    assert public_url.startswith(PUBLIC), public_url
    with urllib.request.urlopen(base + public_url.removeprefix(PUBLIC), timeout=30) as response:
        assert response.status == 200
        return response.read()


def uids(ics: bytes) -> list[str]:
    return sorted(str(e["UID"]) for e in icalendar.Calendar.from_ical(ics).walk("VEVENT"))


def test_builder_produces_the_feed_url_live(page, base):
    from playwright.sync_api import expect

    page.goto("/build?days=365")
    page.get_by_role("group", name="Calendars").get_by_label("Electrical Engineering").check()
    page.get_by_role("group", name="Event types").get_by_label("Seminar").check()
    page.get_by_label("Keywords").fill("learning")
    page.get_by_label("Only events with a meeting link").check()
    page.get_by_label("Reminder").select_option("30")
    link = page.locator("#feed-link")
    expected = f"{PUBLIC}/calendars/ece.ics?alarm=30&days=365&online=1&q=learning&type=seminar"
    expect(link).to_have_attribute("href", expected)  # swapped in without a page load
    assert (
        page.url == f"{base}/build?calendar=ece&type=seminar&q=learning&online=1&alarm=30&days=365"
    )
    expect(page.locator("#preview-count")).to_have_text("2 events")
    expect(page.locator("#result .event .title")).to_have_text(
        ["Machine Learning for Café Owners", "PhD Defense: Learning to Plan"]
    )
    body = fetch(base, link.get_attribute("href"))
    assert uids(body) == ["ml-talk@filters.example", "online-defense@filters.example"]
    assert body.count(b"TRIGGER:-PT30M") == 2
    # the buttons of the result are the built feed's
    buttons = page.locator("#built .buttons a")
    expect(buttons.first).to_have_attribute("href", "webcal://" + expected.split("://")[1])


def test_builder_works_without_javascript(browser, base):
    context = browser.new_context(base_url=base, java_script_enabled=False)
    tab = context.new_page()
    tab.goto("/build")
    tab.get_by_role("group", name="Event types").get_by_label("Workshop").check()
    tab.get_by_role("group", name="Leave out these types").get_by_label("Social").check()
    tab.get_by_label("Location contains").fill("linden")
    tab.get_by_role("button", name="Show my feed").click()
    tab.wait_for_url("**/build?**")
    href = tab.locator("#feed-link").get_attribute("href")
    assert href == f"{PUBLIC}/types/workshop.ics?exclude_type=social&location=linden"
    assert uids(fetch(base, href)) == [
        "robotics-workshop@filters.example",
        "weekly-lab@filters.example",
        "weekly-lab@filters.example",
    ]
    context.close()


def test_buttons_carry_the_exact_link_formats(page):
    page.goto("/")
    block = page.locator("#calendar-ece")
    feed = f"{PUBLIC}/calendars/ece.ics"
    name = "Test University — Electrical Engineering"

    def enc(text: str) -> str:  # encodeURIComponent
        return quote(text, safe="-_.!~*'()")

    expected = {
        "webcal": "webcal://events.example.edu/calendars/ece.ics",
        "google": "https://calendar.google.com/calendar/r?cid=" + enc(f"webcal://{feed[8:]}"),
        "outlook": f"https://outlook.live.com/calendar/0/addfromweb?url={enc(feed)}&name={enc(name)}",
        "office365": (
            f"https://outlook.office.com/calendar/0/addfromweb?url={enc(feed)}&name={enc(name)}"
        ),
    }
    for client, href in expected.items():
        assert block.locator(f'a[data-client="{client}"]').get_attribute("href") == href
    # the same link, built by the browser's own encodeURIComponent
    assert (
        page.evaluate(
            "([f, n]) => 'https://outlook.live.com/calendar/0/addfromweb?url=' +"
            " encodeURIComponent(f) + '&name=' + encodeURIComponent(n)",
            [feed, name],
        )
        == expected["outlook"]
    )
    assert block.get_by_label("Feed address").input_value() == feed
    block.get_by_text("QR code and adding it by hand").click()
    qr = block.get_by_role("img", name=f"QR code of the feed address {feed}")
    qr.wait_for()
    # a lazy image is visible before it has loaded: wait for the load (fails after the timeout)
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=qr.element_handle(), timeout=15_000
    )
    block.get_by_role("button", name="Copy").click()
    assert page.evaluate("navigator.clipboard.readText()") == feed


def test_preview_shows_the_right_events(page):
    from playwright.sync_api import expect

    page.goto("/types/seminar?from=2026-03-01&to=2026-03-31&online=0")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Test University — Seminar, in person"
    )
    days = page.locator("section.day h3")
    expect(days).to_have_text(["Wednesday, March 11, 2026", "Wednesday, March 25, 2026"])
    events = page.locator("section.day .event")
    expect(events.locator(".title")).to_have_text(
        ["Distributed Systems Colloquium", "Cancelled: Quantum sensing (cancelled)"]
    )
    first = events.first
    expect(first.locator(".time")).to_have_text("4:00 PM – 5:00 PM PDT")
    expect(first.locator(".speaker")).to_have_text("Ana López")
    expect(first.locator(".location")).to_have_text("Gates 104")
    description = first.locator("details.description")
    expect(description.locator(".text")).to_be_hidden()
    description.locator("summary").press("Enter")  # keyboard opens it
    expect(description.locator(".text")).to_be_visible()
    expect(page.locator("footer")).to_contain_text("America/Los_Angeles")


def test_keyboard_reaches_the_content_first(page):
    page.goto("/")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert focused == "Skip to the content"
    # every form control of the builder has a label a screen reader can read
    page.goto("/build")
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('form input, form select')]
            .filter(e => !e.labels || e.labels.length === 0).map(e => e.name)"""
    )
    assert unlabelled == []


@pytest.mark.parametrize("width, height, name", [(390, 844, "phone"), (1280, 900, "desktop")])
def test_index_screenshots(browser, base, width, height, name):
    context = browser.new_context(base_url=base, viewport={"width": width, "height": height})
    tab = context.new_page()
    tab.goto("/")
    # nothing may be wider than the screen: a phone must not scroll sideways
    assert tab.evaluate("document.documentElement.scrollWidth") <= width
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"index-{name}.png"
    tab.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    context.close()
