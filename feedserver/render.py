"""Stage ⑤: FeedQuery + selected events → .ics bytes, by concatenation, deterministically.

Each event's VEVENT bytes were serialized once, at ingest; a feed is a calendar header, the
VTIMEZONEs its events use (RRULE form, see timezones.py) and those bytes joined in store order.
The same store and query always give byte-identical output.
"""

from __future__ import annotations

from collections.abc import Sequence

import icalendar

from feedserver import __version__
from feedserver.config import Config, parse_duration
from feedserver.store import EventRow
from feedserver.timezones import vtimezone

PRODID = f"-//feedserver//feedserver {__version__}//EN"


def header(name: str, description: str, url: str, config: Config) -> bytes:
    """The VCALENDAR properties of a feed, serialized (without END:VCALENDAR)."""
    calendar = icalendar.Calendar()
    calendar.add("VERSION", "2.0")
    calendar.add("PRODID", PRODID)
    calendar.add("CALSCALE", "GREGORIAN")
    calendar.add("METHOD", "PUBLISH")
    # RFC 7986 names next to the X-WR-* names that Google, Apple and Outlook read.
    calendar.add("NAME", name)
    # X- properties are TEXT (RFC 5545 §3.8.8.2) but icalendar only escapes them when told so.
    calendar.add("X-WR-CALNAME", icalendar.vText(name))
    calendar.add("DESCRIPTION", description)
    calendar.add("X-WR-CALDESC", icalendar.vText(description))
    calendar.add("X-WR-TIMEZONE", config.timezone)
    interval = parse_duration(config.setting("feeds.refresh_interval"))
    calendar.add("REFRESH-INTERVAL", interval, parameters={"VALUE": "DURATION"})
    calendar.add("X-PUBLISHED-TTL", icalendar.vDuration(interval))
    calendar.add("SOURCE", config.base_url + url, parameters={"VALUE": "URI"})
    return calendar.to_ical().removesuffix(b"END:VCALENDAR\r\n")


def timezones(events: Sequence[EventRow]) -> dict[str, int]:
    """Every TZID the events use, with the first year its VTIMEZONE must cover."""
    years: dict[str, int] = {}
    for event in events:
        for tzid in event.tzids:
            years[tzid] = min(years.get(tzid, event.first_year), event.first_year)
    return years


def calendar(head: bytes, events: Sequence[EventRow], config: Config) -> bytes:
    """A complete VCALENDAR: header, the VTIMEZONEs needed and the events' bytes."""
    zones = timezones(events)
    if not events:
        # RFC 5545 §3.6 requires at least one component: an empty feed carries the site's zone.
        zones = {config.timezone: 1970}
    parts = [head]
    parts.extend(vtimezone(tzid, zones[tzid]) for tzid in sorted(zones))
    parts.extend(event.body for event in events)
    parts.append(b"END:VCALENDAR\r\n")
    return b"".join(parts)
