"""Stage ①: one record of a field mapping (a JSON API item, a spreadsheet row) → a bridge Item.

The ``json`` and ``csv`` kinds both map upstream fields to the same event fields
(:data:`FIELDS`); each reads its own raw values and works out the start and end (an API item has
one date-time, a spreadsheet row often a date and two times), then :func:`item` turns the rest
into a :class:`~feedserver.sources.bridge.Item`. A value that cannot be read costs that field
only, with a warning naming the record and the field; a record without a title or a start is
skipped, with the same kind of warning.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta

from feedserver.config import Source
from feedserver.sources import values
from feedserver.sources.bridge import FIELD_LABELS, Item, uid

__all__ = ["FIELDS", "Skip", "identity", "item", "last_day", "timed_end", "whole_days"]

# Event fields a mapping may name, with what each becomes. ``start``/``end``/``all_day``/
# ``timezone`` are read by the kind (they need its date conventions); the rest here.
FIELDS = {
    "title": "SUMMARY (required)",
    "start": "DTSTART: a date-time, a date (all-day), or a range `Oct 31, 2024 2:00 PM - 3:00 PM`",
    "end": "DTEND: a date-time, a time on the start's day, or a date (the last day, inclusive)",
    "all_day": "yes/true/1: an all-day event (the start's date)",
    "timezone": "IANA zone for this record's times without an offset",
    "id": "the record's own id: the stable part of the UID",
    "url": "the event's own page (URL)",
    "location": "the place (LOCATION)",
    "description": "text or HTML (DESCRIPTION)",
    "categories": "upstream categories, matched to the site's types",
    "status": "cancelled/canceled, tentative/postponed, confirmed/live/scheduled (STATUS)",
    "image": "an image URL (IMAGE)",
    **{key: f"written as `{label}: …` in DESCRIPTION" for key, label in FIELD_LABELS.items()},
}


class Skip(Exception):
    """A record that cannot become an event; the message says which field and why."""


def item(
    raw: Mapping[str, object],
    start: datetime | date,
    end: datetime | date | None,
    *,
    name: str,
    warnings: list[str],
    separators: str = "",
) -> Item:
    """The Item of a record whose start is known; ``raw`` maps event fields to raw values.

    ``name`` says which record it is in warnings (``item 42 ('Title')``, ``row 7 ('Title')``);
    ``separators`` split a categories text (``";"``).
    """

    def read(key: str) -> object:
        if raw.get(key) is None:
            return None
        try:
            if key == "categories":
                return values.texts(raw[key], separators)
            if key == "status":
                return values.status(raw[key])
            return values.text(raw[key]) or None
        except ValueError as e:
            warnings.append(f"{name}: {key}: {e}")
            return None

    title = " ".join(str(read("title") or "").split())  # a wrapped cell is one line here
    if not title:
        raise Skip("title: missing")
    fields = {key: str(value) for key in FIELD_LABELS if (value := read(key))}
    categories = read("categories")
    return Item(
        title=title,
        start=start,
        end=end,
        own_id=_str(read("id")),
        url=_url(read("url"), name, "url", warnings),
        location=" ".join(str(read("location") or "").split()) or None,
        description=_str(read("description")),
        fields=fields,
        categories=list(categories) if isinstance(categories, list) else [],
        status=_str(read("status")),
        image=_url(read("image"), name, "image", warnings),
    )


def identity(one: Item, source: Source) -> tuple[str, str]:
    """What makes two records the same event: the UID they would get, and their start.

    Two records with the same identity are one event listed twice (a row pasted twice, an API
    that moved on while it was paged); the UID alone is not enough, since records that share a
    page or an id (a series) are told apart by their start.
    """
    key = uid(source, own_id=one.own_id, url=one.url, title=one.title, start=one.start)
    return key, one.start.isoformat()


def whole_days(start: datetime | date, end: datetime | date | None) -> tuple[date, date | None]:
    """An all-day span: dates, the end exclusive (as DTEND), at least one day long.

    ``end`` is exclusive too: a date-time end at midnight ends the day before, any other time
    that day ends it (a "Thursday 9:00 – Friday 17:00" retreat covers Thursday and Friday).

    >>> whole_days(date(2024, 10, 30), date(2024, 11, 2))
    (datetime.date(2024, 10, 30), datetime.date(2024, 11, 2))
    >>> whole_days(datetime(2024, 10, 30, 9), datetime(2024, 10, 31, 17))
    (datetime.date(2024, 10, 30), datetime.date(2024, 11, 1))
    >>> whole_days(datetime(2024, 10, 30, 0), datetime(2024, 10, 31, 0))
    (datetime.date(2024, 10, 30), datetime.date(2024, 10, 31))
    >>> whole_days(date(2024, 10, 30), None)
    (datetime.date(2024, 10, 30), None)
    """
    first = start.date() if isinstance(start, datetime) else start
    if end is None:
        return first, None
    if isinstance(end, datetime):
        after = end.date() + timedelta(days=0 if end.time() == time() else 1)
    else:
        after = end
    return first, max(after, first + timedelta(days=1))


def last_day(end: datetime | date) -> datetime | date:
    """An end read from an end field, made exclusive: a date alone is the event's last day.

    >>> last_day(date(2024, 11, 1)), last_day(datetime(2024, 11, 1, 15, 0)).hour
    (datetime.date(2024, 11, 2), 15)
    """
    return end if isinstance(end, datetime) else end + timedelta(days=1)


def _str(value: object) -> str | None:
    return str(value) if value else None


def _url(value: object, name: str, key: str, warnings: list[str]) -> str | None:
    if not value:
        return None
    link = str(value).strip()
    if link.startswith(("http://", "https://")):
        return link
    warnings.append(f"{name}: {key}: {link!r} is not an http(s) URL")
    return None


def timed_end(
    start: datetime, end: datetime | date | None, where: str, warnings: list[str]
) -> tuple[datetime, datetime | None]:
    """A timed start with its end, or without it (and a warning starting with ``where``) when
    the end is a bare date or comes before the start."""
    if end is not None and not isinstance(end, datetime):
        warnings.append(f"{where}: a date without a time for a timed start; ignored")
        return start, None
    if end is not None and (start.tzinfo is None) == (end.tzinfo is None) and end < start:
        warnings.append(f"{where}: before the start; the event keeps its start only")
        return start, None
    return start, end
