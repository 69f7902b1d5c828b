"""Stage ①: the ``ics`` adapter: read an upstream iCalendar feed, tolerantly.

One broken VEVENT is skipped with a warning, never the whole source. Calendar-level quirks are
repaired here because only here is the calendar visible: X-WR-TIMEZONE-only feeds (Google
exports, see tests/samples/ics/x_wr_timezone_google.ics) are converted to TZID'd times.
Per-property time zone repair is normalize's job.
"""

from __future__ import annotations

import hashlib
import warnings

import icalendar
import x_wr_timezone

from feedserver.config import Source
from feedserver.errors import ParseError
from feedserver.sources import Pages, Parsed
from feedserver.timezones import resolve_tzid

# A broken value in one of these makes the event impossible to place in time: skip the event.
# A broken value elsewhere (GEO, URL…) only costs that property.
_ESSENTIAL = {"DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE", "RECURRENCE-ID"}


def _describe(event: icalendar.Event) -> str:
    uid = event.get("UID")
    summary = event.get("SUMMARY")
    label = f"{summary!s}" if summary else "untitled event"
    return f"event {str(uid)!r} ({label})" if uid else f"event without UID ({label})"


def parse(pages: Pages, source: Source) -> Parsed:
    """Parse an .ics body into events; raise ParseError if it is not iCalendar at all."""
    body = pages.body
    head = body.lstrip(b"\xef\xbb\xbf \t\r\n")[:200]
    if not head:
        raise ParseError("empty body: expected an iCalendar file")
    if not head.upper().startswith(b"BEGIN:VCALENDAR"):
        preview = head[:40].decode("utf-8", "replace").splitlines()[0]
        raise ParseError(f"not an iCalendar file: it starts with {preview!r}")
    if not body.rstrip().upper().endswith(b"END:VCALENDAR"):
        # icalendar accepts a cut-off body and would silently lose the events after the cut.
        raise ParseError(
            "not valid iCalendar: the body is truncated (it does not end with END:VCALENDAR)"
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            calendars = icalendar.Calendar.from_ical(body, multiple=True)
        except (ValueError, IndexError, KeyError) as e:
            raise ParseError(f"not valid iCalendar: {e}") from e
    result = Parsed()
    # icalendar's own warnings (e.g. a guessed Mozilla-style TZID) belong to the source's status.
    result.warnings.extend(dict.fromkeys(str(w.message) for w in caught))
    for calendar in calendars:
        if calendar.get("X-WR-TIMEZONE"):
            try:
                calendar = x_wr_timezone.to_standard(calendar)
            except Exception as e:  # the library raises various errors for bad zone names
                result.warnings.append(f"X-WR-TIMEZONE ignored: {e}")
        skipped: dict[str, int] = {}
        for component in calendar.subcomponents:
            if isinstance(component, icalendar.Timezone):
                _own_zone(component, result)  # served VTIMEZONEs are our own, see timezones.py
                continue
            if not isinstance(component, icalendar.Event):
                skipped[component.name] = skipped.get(component.name, 0) + 1
                continue
            event = _checked(component, source, result.warnings)
            if event is not None:
                result.events.append(event)
        for name, count in sorted(skipped.items()):
            result.warnings.append(f"ignored {count} {name} component(s): only VEVENTs are served")
    return result


def _own_zone(component: icalendar.Timezone, result: Parsed) -> None:
    tzid = str(component.get("TZID", "")).strip()
    if not tzid or resolve_tzid(tzid) is not None:
        return
    try:
        result.zones[tzid] = component.to_tz(lookup_tzid=False)
    except Exception as e:  # a malformed VTIMEZONE: its events fall back to the source's zone
        result.warnings.append(f"VTIMEZONE {tzid!r} is unusable: {e}")


def _checked(event: icalendar.Event, source: Source, warnings: list[str]) -> icalendar.Event | None:
    """Return the event with broken optional properties dropped, or None if it is unusable."""
    for name, message in event.errors:
        if name in _ESSENTIAL:
            warnings.append(f"{_describe(event)} skipped: {name}: {message}")
            return None
        warnings.append(f"{_describe(event)}: dropped broken {name}: {message}")
        if name in event:
            del event[name]
    if "DTSTART" not in event:
        warnings.append(f"{_describe(event)} skipped: it has no DTSTART")
        return None
    if not str(event.get("UID", "")).strip():
        # RFC 5545 §3.8.4.7 requires UID; derive one that stays the same across refreshes.
        seed = f"{source.id}\n{event.get('SUMMARY', '')}\n{event['DTSTART'].to_ical().decode()}"
        uid = hashlib.sha256(seed.encode()).hexdigest()[:24] + "@feedserver"
        warnings.append(f"{_describe(event)} has no UID; using {uid}")
        event["UID"] = uid
    return event
