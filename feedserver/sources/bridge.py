"""What every bridged kind (html, json, csv) shares: one upstream item → one ``icalendar.Event``.

A bridge adapter finds :class:`Item` records in its pages and hands them to :func:`event`, which
gives each a stable UID and writes it the way an upstream .ics would: the labelled facts
(speaker, abstract, host…) become ``Label: value`` paragraphs of DESCRIPTION, where the content
stage (:mod:`feedserver.content`) puts them in order and finds the meeting links, exactly as it
does for .ics sources.

Identity (what makes an event the same across refreshes): the source's own id for the item,
else the item's own URL, else a hash of source + title + start. Only the store decides SEQUENCE
and LAST-MODIFIED (they move when the content changes), and an item that is gone from the
source is gone from the feeds, because a source's events are replaced as a whole.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from urllib.parse import urlsplit

import icalendar
from dateutil import parser as dateparser

from feedserver.config import Source

__all__ = ["FIELD_LABELS", "Item", "event", "events", "parse_when", "placed", "uid"]

# Item.fields keys → the label written in DESCRIPTION (one the content stage knows).
FIELD_LABELS = {
    "speaker": "Speaker",
    "talk_title": "Talk Title",
    "abstract": "Abstract",
    "biography": "Biography",
    "host": "Host",
    "audiences": "Audiences",
    "contact": "Contact",
    "webcast": "Webcast",
}
STATUSES = ("CONFIRMED", "TENTATIVE", "CANCELLED")


@dataclass
class Item:
    """One event as a bridge found it, before it becomes an ``icalendar.Event``.

    ``start``/``end`` are aware datetimes, or dates for all-day items (``end`` exclusive, as in
    iCalendar). ``description`` may be plain text or HTML. ``fields`` holds the labelled facts
    (keys of :data:`FIELD_LABELS`).
    """

    title: str
    start: datetime | date
    end: datetime | date | None = None
    own_id: str | None = None
    url: str | None = None
    location: str | None = None
    description: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    categories: list[str] = field(default_factory=list)
    status: str | None = None  # one of STATUSES
    image: str | None = None
    organizer: str | None = None  # "Name <email>" or a name


def uid(
    source: Source, *, own_id: str | None, url: str | None, title: str, start: datetime | date
) -> str:
    """A UID that stays the same across refreshes.

    >>> from feedserver.config import Source
    >>> s = Source(id="talks", name="Talks", kind="json", calendar="c", url="https://e.edu/api")
    >>> uid(s, own_id="42", url=None, title="", start=date(2024, 1, 1))
    '42@talks.e.edu'
    >>> uid(s, own_id=None, url="https://e.edu/ev/1#top", title="", start=date(2024, 1, 1))
    'url-17674541bfa2f21f895dd244@e.edu'
    """
    host = urlsplit(source.url).hostname if source.url else None
    if own_id and own_id.strip():
        clean = re.sub(r"[^A-Za-z0-9._-]+", "-", own_id.strip()).strip("-")
        return f"{clean}@{source.id}.{host or 'feedserver'}"
    if url:
        page = url.split("#", 1)[0]
        digest = hashlib.sha256(page.encode()).hexdigest()[:24]
        return f"url-{digest}@{urlsplit(page).hostname or host or 'feedserver'}"
    when = start.isoformat()
    digest = hashlib.sha256(f"{source.id}\n{title.strip()}\n{when}".encode()).hexdigest()[:24]
    return f"{digest}@{source.id}.{host or 'feedserver'}"


def events(items: list[Item], source: Source) -> list[icalendar.Event]:
    """The events of ``items``, each with its UID.

    Items that would share a UID (a listing whose entries all link to one page, or one id per
    series) are told apart by their start.
    """
    uids = [uid(source, own_id=i.own_id, url=i.url, title=i.title, start=i.start) for i in items]
    counts: dict[str, int] = {}
    for u in uids:
        counts[u] = counts.get(u, 0) + 1
    result = []
    for item, first in zip(items, uids, strict=True):
        if counts[first] > 1:
            local, _, host = first.partition("@")
            first = f"{local}-{item.start.isoformat().replace(':', '')}@{host}"
        result.append(event(item, source, first))
    return result


def event(item: Item, source: Source, uid_: str | None = None) -> icalendar.Event:
    """The ``icalendar.Event`` of ``item`` (DTSTAMP and SEQUENCE are the store's to set)."""
    ev = icalendar.Event()
    ev.add(
        "UID",
        uid_ or uid(source, own_id=item.own_id, url=item.url, title=item.title, start=item.start),
    )
    ev.add("SUMMARY", item.title.strip())
    ev.add("DTSTART", item.start)
    end = item.end
    if end is not None and _before(end, item.start):
        end = None  # an end before the start is an upstream typo: the caller has warned
    if end is not None:
        ev.add("DTEND", end)
    elif not isinstance(item.start, datetime):
        ev.add("DTEND", item.start + timedelta(days=1))
    if item.location and item.location.strip():
        ev.add("LOCATION", item.location.strip())
    description = _description(item)
    if description:
        ev.add("DESCRIPTION", description)
    if item.url:
        ev.add("URL", item.url)
    if item.categories:
        ev.add("CATEGORIES", list(dict.fromkeys(c.strip() for c in item.categories if c.strip())))
    if item.status in STATUSES:
        ev.add("STATUS", item.status)
    if item.image:
        ev.add("IMAGE", item.image, parameters={"VALUE": "URI"})
    return ev


def _before(end: datetime | date, start: datetime | date) -> bool:
    """Whether ``end`` comes before ``start``; False when they cannot be compared (a date
    against a time, a floating time against an instant)."""
    if isinstance(end, datetime) != isinstance(start, datetime):
        return False
    if isinstance(end, datetime) and (end.tzinfo is None) != (start.tzinfo is None):  # type: ignore[union-attr]
        return False
    return end < start  # type: ignore[operator]


def _description(item: Item) -> str:
    parts = []
    if item.description and item.description.strip():
        parts.append(item.description.strip())
    for key, label in FIELD_LABELS.items():
        value = item.fields.get(key, "").strip()
        if value:
            parts.append(f"{label}: {value}")
    if item.organizer and "host" not in item.fields:
        parts.append(f"Host: {item.organizer}")
    return "\n\n".join(parts)


_AT = re.compile(r"\s+@\s+|\s+at\s+(?=\d)", re.IGNORECASE)
_RANGE = re.compile(r"\s+(?:-|–|—|to|until)\s+", re.IGNORECASE)


def parse_when(
    text: str, zone: tzinfo | None, *, formats: tuple[str, ...] = (), dayfirst: bool = False
) -> tuple[datetime | date, datetime | date | None]:
    """Read a start, and an end when the text has one, each :func:`placed` in ``zone``.

    ``formats`` (``strptime``) are tried first, then a free-form reading (python-dateutil).
    A date without a time is an all-day date. Raises ValueError naming the text.

    >>> from zoneinfo import ZoneInfo
    >>> la = ZoneInfo("America/Los_Angeles")
    >>> start, end = parse_when("Thu, Oct 31, 2024 @ 02:00 PM - 03:00 PM", la)
    >>> start.isoformat(), end.isoformat()
    ('2024-10-31T14:00:00-07:00', '2024-10-31T15:00:00-07:00')
    >>> parse_when("2024-11-02", la)
    (datetime.date(2024, 11, 2), None)
    >>> parse_when("Oct 30, 2024 - Nov 1, 2024", la)  # an inclusive range: DTEND is exclusive
    (datetime.date(2024, 10, 30), datetime.date(2024, 11, 2))
    >>> parse_when("2024-10-31T14:00:00-04:00", la)[0].isoformat()
    '2024-10-31T18:00:00+00:00'
    >>> parse_when("10/31/2024 2:00 PM", None)[0].isoformat()  # floating
    '2024-10-31T14:00:00'
    >>> parse_when("31/10/2024 14:00", la, formats=("%d/%m/%Y %H:%M",))[0].isoformat()
    '2024-10-31T14:00:00-07:00'
    """
    text = " ".join(text.split())
    if not text:
        raise ValueError("no date")
    pieces = _RANGE.split(_AT.sub(" ", text), maxsplit=1)
    start = _one(pieces[0], zone, formats, dayfirst, None)
    end = None
    if len(pieces) == 2:
        end = _one(pieces[1], zone, formats, dayfirst, start)
        if isinstance(start, datetime) and isinstance(end, datetime) and _before(end, start):
            end += timedelta(days=1)  # "11:00 PM - 01:00 AM" runs past midnight
        elif not isinstance(start, datetime) and not isinstance(end, datetime):
            end += timedelta(days=1)  # "Oct 30 - Nov 1" includes Nov 1; DTEND excludes it
    return start, end


def _one(
    text: str,
    zone: tzinfo | None,
    formats: tuple[str, ...],
    dayfirst: bool,
    base: datetime | date | None,
) -> datetime | date:
    for fmt in formats:
        try:
            parsed = datetime.strptime(text, fmt)
        except ValueError:
            continue
        has_time = any(code in fmt for code in ("%H", "%I", "%M"))
        return placed(parsed, zone) if has_time else parsed.date()
    # An end that is only a time ("03:00 PM") takes the start's date.
    default = datetime.combine(base if isinstance(base, date) else date(2000, 1, 1), time())
    if isinstance(base, datetime):
        default = base.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
    try:
        parsed, skipped = dateparser.parse(
            text, default=default, dayfirst=dayfirst, fuzzy_with_tokens=True
        )
    except (ValueError, OverflowError) as e:
        raise ValueError(f"cannot read {text!r} as a date: {e}") from None
    if base is None and not re.search(r"\d{4}|\b\d{1,2}\s*[/.-]\s*\d{1,2}\s*[/.-]\s*\d{2}\b", text):
        raise ValueError(f"cannot read {text!r} as a date: no year")
    if not re.search(r"\d:\d|\d\s*[ap]\.?m\b|T\d", text, re.IGNORECASE):
        return parsed.date()
    return placed(parsed, zone)


def placed(value: datetime, zone: tzinfo | None) -> datetime:
    """A time as a bridge hands it on: a local time in ``zone`` (floating without one: normalize
    then places it in the source's zone, else the site's); a time with its own UTC offset in
    ``zone`` when that is the zone's offset at that moment (feeds then say the TZID upstream
    meant), else in UTC.

    >>> from zoneinfo import ZoneInfo
    >>> la = ZoneInfo("America/Los_Angeles")
    >>> placed(datetime.fromisoformat("2024-10-31T14:00:00-07:00"), la).isoformat()
    '2024-10-31T14:00:00-07:00'
    >>> placed(datetime.fromisoformat("2024-10-31T14:00:00-04:00"), la).isoformat()
    '2024-10-31T18:00:00+00:00'
    >>> placed(datetime(2024, 10, 31, 14), None).isoformat()
    '2024-10-31T14:00:00'
    """
    if value.tzinfo is None:
        return value if zone is None else value.replace(tzinfo=zone)
    if zone is not None:
        local = value.astimezone(zone)
        if local.utcoffset() == value.utcoffset():
            return local
    return value.astimezone(UTC)
