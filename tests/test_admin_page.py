"""The admin page in headless Chromium (Debian's package, driven by Playwright) over real HTTP.

Playwright drives the system's /usr/bin/chromium (scripts/test-setup.sh installs it); it never
downloads a browser of its own.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from feedserver.app import create_app
from tests import htmlsite
from tests.browser import chromium, serving
from tests.conftest import SAMPLES

pytestmark = pytest.mark.slow

TOKEN = "page-token"
GOOD = (SAMPLES / "ics" / "recurring_overrides.ics").read_bytes()


@pytest.fixture
def now() -> object:
    """The app's clock: the real one (None) unless a test says otherwise."""
    return None


@pytest.fixture
def base(site, now) -> Iterator[str]:
    """The app on a real HTTP server on 127.0.0.1 (werkzeug, threaded), admin API on."""
    app = create_app(
        {
            "FEEDS": site.feeds,
            "DATA": site.data,
            "ENVIRON": {"FEEDSERVER_ADMIN_TOKEN": TOKEN},
            "NOW": now,
        }
    )
    site.apps.append(app)
    with serving(app) as base:
        yield base


@pytest.fixture
def page(base) -> Iterator:
    with chromium() as browser:
        context = browser.new_context()
        tab = context.new_page()
        tab.set_default_timeout(15_000)
        yield tab
        context.close()


def test_admin_page_lists_tests_adds_edits_and_removes(site, base, page, upstream):
    from playwright.sync_api import expect

    site.source("old", 'name = "Old feed"\nkind = "ics"\ncalendar = "cs"', GOOD)
    upstream.serve("/cal.ics", GOOD)
    page.goto(f"{base}/admin/")

    # A wrong token is refused with the API's message; the right one shows the sources.
    page.fill("#token", "wrong")
    page.click("#login-button")
    expect(page.locator("#messages")).to_have_text("invalid bearer token")
    page.fill("#token", TOKEN)
    page.click("#login-button")
    expect(page.locator("#row-old")).to_contain_text("Old feed")

    # Test a new source: a preview, nothing written.
    before = site.snapshot()
    page.click("#new-button")
    page.fill("#f-id", "talks")
    page.fill("#f-name", "Talks")
    page.fill("#f-url", upstream.url("/cal.ics"))
    page.select_option("#f-calendar", "ece")
    page.check("#f-types input[value=seminar]")
    page.click("#test-button")
    expect(page.locator("#preview-summary")).to_contain_text("3 events (1 recurring), HTTP 200")
    assert site.snapshot() == before

    # A bad value: the server's validation message, and still nothing written.
    page.fill("#f-timezone", "Mars/Olympus")
    page.click("#save-button")
    expect(page.locator("#messages")).to_have_text(
        "timezone 'Mars/Olympus' is not an IANA time zone name"
    )
    assert site.snapshot() == before

    # Fixed: saved, refreshed, listed with its events.
    page.fill("#f-timezone", "")
    page.click("#save-button")
    expect(page.locator("#row-talks")).to_contain_text("ok")
    expect(page.locator("#row-talks td").nth(5)).to_have_text("3")
    assert site.config().source("talks").types == ("seminar",)

    # Edit: the form comes back filled in; the change is saved with If-Match.
    page.locator("#row-talks button", has_text="Edit").click()
    expect(page.locator("#f-url")).to_have_value(upstream.url("/cal.ics"))
    page.fill("#f-name", "Seminar talks")
    page.click("#save-button")
    expect(page.locator("#row-talks")).to_contain_text("Seminar talks")
    assert site.config().source("talks").name == "Seminar talks"

    # The token survives a reload of the tab (sessionStorage).
    page.reload()
    expect(page.locator("#row-talks")).to_be_visible()

    # Remove, after the confirmation dialog.
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#row-talks button", has_text="Remove").click()
    expect(page.locator("#row-talks")).to_have_count(0)
    assert not (site.feeds / "sources" / "talks.toml").exists()


# The kind settings of a recipe source as an admin types them: a typo first.
SETTINGS = """\
[follow]
pages = 2            # this page and the next
delay = "0s"

[html]
events = "div.event-listing"   # one event block
titel = "h3.event-title"
when = "p.event-date"
type = "p.event-type"
"""


@pytest.mark.parametrize("now", [htmlsite.NOW])
def test_admin_page_adds_tests_and_edits_a_recipe_source(site, base, page, upstream):
    from playwright.sync_api import expect

    htmlsite.serve(upstream)
    page.goto(f"{base}/admin/")
    page.fill("#token", TOKEN)
    page.click("#login-button")
    page.click("#new-button")
    settings = page.locator("#f-settings")
    expect(settings).to_be_hidden()  # an .ics source has no kind settings
    page.select_option("#f-kind", "html")
    expect(settings).to_be_visible()
    expect(page.locator("#settings-help")).to_contain_text("[html]")
    page.fill("#f-id", "ece-web")
    page.fill("#f-name", "ECE events")
    page.fill("#f-url", upstream.url("/events"))
    page.select_option("#f-calendar", "ece")
    page.fill("#f-timezone", "America/Los_Angeles")
    page.fill("#f-settings", SETTINGS)

    # The typo: the server's message, next to the kind settings; nothing written.
    before = site.snapshot()
    page.click("#test-button")
    expect(page.locator("#settings-errors")).to_contain_text(
        "html.titel: unknown key (did you mean 'title'?)"
    )
    expect(page.locator("#messages")).to_have_text(
        "the kind settings have 1 problem(s): see below them"
    )
    assert site.snapshot() == before

    # Fixed: the preview lists the events of both listing pages.
    page.fill("#f-settings", SETTINGS.replace("titel", "title"))
    page.click("#test-button")
    expect(page.locator("#settings-errors")).to_be_empty()
    expect(page.locator("#preview-summary")).to_contain_text("6 events (0 recurring), HTTP 200")
    expect(page.locator("#preview-events li").first).to_have_text(
        "2024-10-31 14:00  AIF4S Seminar: Value of Pretraining Data: Scaling Laws for"
        " Downstream Task Performance of Large Language Models  [seminar]"
    )
    assert site.snapshot() == before

    # Saved as typed, comments included, and refreshed.
    page.click("#save-button")
    expect(page.locator("#row-ece-web")).to_contain_text("ok")
    expect(page.locator("#row-ece-web td").nth(5)).to_have_text("6")
    path = site.feeds / "sources" / "ece-web.toml"
    text = path.read_text()
    assert text.endswith("\n" + SETTINGS.replace("titel", "title"))

    # Edit: the kind settings come back as the file writes them; one recipe key changes, and
    # that one line of the file with it.
    page.locator("#row-ece-web button", has_text="Edit").click()
    expect(settings).to_have_value(SETTINGS.replace("titel", "title"))
    page.fill(
        "#f-settings",
        SETTINGS.replace("titel", "title").replace('"p.event-type"', '"p.event-type, p.tag"'),
    )
    page.click("#save-button")
    expect(page.locator("#messages")).to_contain_text("saved ece-web; refresh: updated")
    assert path.read_text() == text.replace('"p.event-type"', '"p.event-type, p.tag"')
    assert site.config().source("ece-web").options["type"] == "p.event-type, p.tag"


def test_page_is_locked_down(base):
    import requests

    response = requests.get(f"{base}/admin/", timeout=5)
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["Cache-Control"] == "no-store"
    assert "Bearer" not in response.text and TOKEN not in response.text
