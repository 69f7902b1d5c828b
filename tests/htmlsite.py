"""The ECE department's events calendar (tests/samples/html/) served by a real upstream.

The pages are a university CMS's listing (the seed event first), its pages 2 and 3 and two
events' own pages. Their links are absolute, to the CMS's host; :func:`serve` points them at the
upstream so that following them stays on 127.0.0.1.
"""

from __future__ import annotations

from datetime import UTC, datetime

from tests.conftest import SAMPLES
from tests.upstream import Upstream

HTML = SAMPLES / "html"
CMS = "https://calendar.ece.example.edu"
# The events are in October and November 2024: the store's horizon is around this date.
NOW = datetime(2024, 10, 1, 12, 0, tzinfo=UTC)
WINDOW = "/all.ics?from=2024-10-01&to=2024-12-31"
LISTING = ("ece-events.html", "ece-events-2.html", "ece-events-3.html")
EVENT_PAGES = ("ece-seminar-power-grids", "hardware-security-workshop")

# The recipe of the README's worked example ("Event web pages with a recipe").
RECIPE = """\
[html]
events = "div.event-listing"
title = "h3.event-title"
when = "p.event-date"
calendar = "p.event-calendar"
type = "p.event-type"
description = "div.event-details"
labels = true
"""


def page(name: str, upstream: Upstream | None = None) -> bytes:
    """A fixture page; with ``upstream``, its links to the CMS lead to the upstream instead."""
    body = (HTML / name).read_bytes()
    if upstream is not None:
        body = body.replace(CMS.encode(), upstream.url("/").rstrip("/").encode())
    return body


def listing_path(number: int) -> str:
    """Page 1 is /events, the next ones /events?page=1, ?page=2 (as the pager links them)."""
    return "/events" if number == 1 else f"/events?page={number - 1}"


def serve(upstream: Upstream, listing: tuple[str, ...] = LISTING, event_pages: bool = True) -> None:
    for number, name in enumerate(listing, 1):
        upstream.serve(
            listing_path(number), page(name, upstream), content_type="text/html; charset=utf-8"
        )
    for slug in EVENT_PAGES if event_pages else ():
        upstream.serve(
            f"/event/{slug}", page(f"event-{slug}.html", upstream), content_type="text/html"
        )


def source_toml(upstream: Upstream, *, follow: str = "", extra: str = "") -> str:
    return (
        f'name = "ECE events"\nkind = "html"\nurl = "{upstream.url("/events")}"\n'
        f'calendar = "ece"\ntimezone = "America/Los_Angeles"\n\n'
        f'[categories]\n"Workshops & Infosessions" = "workshop"\n'
        f'"Receptions & Special Events" = "social"\n\n'
        f"{follow}\n{RECIPE}{extra}"
    )
