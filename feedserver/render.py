"""Stage ⑤: FeedQuery + selected events → .ics bytes, by concatenation, deterministically.

Each event's VEVENT bytes were serialized once, at ingest; a feed is a calendar header, the
VTIMEZONEs its events use (RRULE form, see timezones.py) and those bytes joined in store order.
The same store and query always give byte-identical output. A subscriber's reminder (``alarm``)
is inserted into the stored bytes; only ``expand`` parses them, and the web layer caches that.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

import icalendar
import recurring_ical_events

from feedserver import __version__
from feedserver.config import Config, parse_duration
from feedserver.normalize import serialize
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


def calendar(
    head: bytes,
    events: Sequence[EventRow],
    config: Config,
    bodies: Sequence[bytes] | None = None,
) -> bytes:
    """A complete VCALENDAR: header, the VTIMEZONEs needed and the events' bytes (or
    ``bodies``, the same events transformed: alarms added, series expanded)."""
    zones = timezones(events)
    if not events:
        # RFC 5545 §3.6 requires at least one component: an empty feed carries the site's zone.
        zones = {config.timezone: 1970}
    parts = [head]
    parts.extend(vtimezone(tzid, zones[tzid]) for tzid in sorted(zones))
    parts.extend(bodies if bodies is not None else (event.body for event in events))
    parts.append(b"END:VCALENDAR\r\n")
    return b"".join(parts)


def alarms(minutes: Sequence[int]) -> bytes:
    """VALARMs reminding ``minutes`` before the start (RFC 5545 §3.6.6: DISPLAY needs a
    DESCRIPTION), serialized.

    >>> alarms([10, 1440]).count(b"BEGIN:VALARM"), b"TRIGGER:-P1D" in alarms([1440])
    (2, True)
    """
    parts = []
    for m in minutes:
        trigger = icalendar.vDuration(-timedelta(minutes=m)).to_ical() if m else b"PT0S"
        parts.append(
            b"BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:Reminder\r\nTRIGGER:%s\r\n"
            b"END:VALARM\r\n" % trigger
        )
    return b"".join(parts)


_VALARM = re.compile(rb"(?<=\r\n)BEGIN:VALARM\r\n.*?\r\nEND:VALARM\r\n", re.DOTALL)


def with_alarms(body: bytes, valarms: bytes) -> bytes:
    """Each VEVENT of a stored group with the subscriber's VALARMs instead of upstream's, by
    byte insertion before each END:VEVENT (TEXT values escape line breaks, RFC 5545 §3.3.11, so
    a line that starts with END:VEVENT ends a component)."""
    if b"BEGIN:VALARM" in body:
        body = _VALARM.sub(b"", body)
    return body.replace(b"\r\nEND:VEVENT\r\n", b"\r\n" + valarms + b"END:VEVENT\r\n")


def is_recurring(body: bytes) -> bool:
    return b"\r\nRRULE:" in body or b"\r\nRDATE" in body or body.count(b"BEGIN:VEVENT") > 1


def parse_group(body: bytes) -> list[icalendar.Event]:
    """A stored UID group as components, master first (only expand and windows beyond the
    precomputed horizon parse stored bytes)."""
    wrapped = b"BEGIN:VCALENDAR\r\n" + body + b"END:VCALENDAR\r\n"
    return [c for c in icalendar.Calendar.from_ical(wrapped).subcomponents if c.name == "VEVENT"]


def _instance(value: date | datetime) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return value.strftime("%Y%m%d")


def expand(uid: str, body: bytes, start: int, end: int) -> bytes:
    """A series as single events, one per occurrence in [start, end): each keeps its content
    (an override's own), loses RRULE/RDATE/EXDATE/RECURRENCE-ID and gets the stable UID
    ``<uid>-<UTC start>`` (``<uid>-<YYYYMMDD>`` for all-day events)."""
    calendar = icalendar.Calendar()
    for component in parse_group(body):
        calendar.add_component(component)
    query = recurring_ical_events.of(calendar)
    found = query.between(datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC))
    parts = []
    for occurrence in found:
        begin = occurrence["DTSTART"].dt
        occurrence["UID"] = icalendar.vText(f"{uid}-{_instance(begin)}")
        for name in ("RECURRENCE-ID", "RRULE", "RDATE", "EXDATE"):
            if name in occurrence:
                del occurrence[name]
        key = begin if isinstance(begin, datetime) else datetime.combine(begin, time(), UTC)
        parts.append((key.timestamp(), serialize(occurrence)))
    return b"".join(part for _, part in sorted(parts))
