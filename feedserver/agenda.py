"""Stage ⑤: a feed's occurrences as data: the JSON feed and the pages' agenda.

Built from the store's columns (details.Facts per component, precomputed occurrences), never
by parsing VEVENTs, except for a series in a window beyond the precomputed horizon.
Times are ISO 8601 with their UTC offset, in the event's own zone; all-day events are dates
with an exclusive end, as in iCalendar (RFC 5545 §3.6.1) and FullCalendar.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import groupby
from typing import Any
from urllib.parse import quote

from feedserver import render
from feedserver.config import Config
from feedserver.details import Facts, load
from feedserver.normalize import Horizon, occurrences
from feedserver.query import FeedQuery, describe
from feedserver.selection import Described, Match, Selection, StoredEvent


@dataclass(frozen=True)
class Occurrence:
    """One occurrence of an event, with the facts of the component that gives it."""

    uid: str
    id: str
    start: date | datetime  # a date for all-day events; else aware, in the event's zone
    end: date | datetime  # exclusive
    facts: Facts
    calendars: tuple[str, ...]
    types: tuple[str, ...]
    recurring: bool

    @property
    def all_day(self) -> bool:
        return not isinstance(self.start, datetime)

    @property
    def instance_uid(self) -> str:
        """The UID this occurrence has in an ``expand=1`` feed."""
        if isinstance(self.start, datetime):
            return f"{self.uid}-{self.start.astimezone(UTC):%Y%m%dT%H%M%SZ}"
        return f"{self.uid}-{self.start:%Y%m%d}"

    def day(self, zone: zoneinfo.ZoneInfo) -> date:
        """The day it starts on in the site's zone."""
        return (
            self.start.astimezone(zone).date() if isinstance(self.start, datetime) else self.start
        )


def _times(start: int, facts: Facts, site: zoneinfo.ZoneInfo) -> tuple[date | datetime, ...]:
    if facts.all_day:  # stored as local midnight in the site's zone (normalize._epoch)
        first = datetime.fromtimestamp(start, site).date()
        return first, first + timedelta(days=max(1, round(facts.duration / 86400)))
    zone = site if facts.tzid is None else zoneinfo.ZoneInfo(facts.tzid)
    begin = datetime.fromtimestamp(start, zone)
    return begin, begin + timedelta(seconds=facts.duration)


def _triples(
    uid: str, body: bytes | None, found: Sequence | None, window: tuple[int, int], site: Any
) -> Sequence[tuple[int, int, int]]:
    if found is not None:
        return found
    assert body is not None  # a series beyond the precomputed horizon: expand it here
    return occurrences(render.parse_group(body), Horizon(*window), site)


Describe = Callable[[Sequence[str]], Mapping[str, Described]]


def expand_matches(
    matches: Iterable[Match],
    window: tuple[int, int],
    config: Config,
    describe: Describe,
    limit: int | None = None,
) -> tuple[list[Occurrence], int]:
    """The occurrences of the matched events in [start, end), by start then UID: the first
    ``limit`` of them (all without a limit) and how many there are in all.

    The store has already checked that each lies in the window; only the events of the
    occurrences kept are described (``describe``: the store's details, calendars and types
    by UID), so a preview of a year of everything reads 150 events, not 20,000."""
    site = zoneinfo.ZoneInfo(config.timezone)
    found = [
        (start, m.uid, variant, m)
        for m in matches
        for start, _end, variant in _triples(m.uid, m.body, m.occurrences, window, site)
    ]
    found.sort(key=lambda item: (item[0], item[1]))
    total = len(found)
    kept = found if limit is None else found[:limit]
    about = describe([uid for _, uid, _, _ in kept])
    facts: dict[str, list[Facts]] = {}
    result = []
    for start, uid, variant, m in kept:
        if uid not in facts:
            facts[uid] = load(about[uid].details)
        f = facts[uid][variant] if variant < len(facts[uid]) else facts[uid][0]
        begin, finish = _times(start, f, site)
        item = Occurrence(
            uid, m.id, begin, finish, f, about[uid].calendars, about[uid].types, m.recurring
        )
        result.append(item)
    return result, total


def event_occurrences(
    event: StoredEvent, found: Sequence[tuple[int, int, int]] | None, window: tuple[int, int],
    config: Config,
) -> list[Occurrence]:  # fmt: skip
    """The occurrences of one event in a window (``found``: from the store, None: beyond the
    horizon)."""
    match = Match(
        event.uid,
        event.id,
        event.recurring,
        None if found is None else tuple(found),
        event.body if found is None else None,
    )
    about = {event.uid: Described(event.details, event.calendars, event.types)}
    return expand_matches([match], window, config, lambda _: about)[0]


def by_day(items: Sequence[Occurrence], zone: zoneinfo.ZoneInfo, first: date) -> list:
    """``[(day, [occurrence…])…]``; an event that began before ``first`` is listed on it."""
    return [
        (day, list(group)) for day, group in groupby(items, key=lambda o: max(o.day(zone), first))
    ]


def _iso(value: date | datetime) -> str:
    return value.isoformat()


def absolute(config: Config, path: str) -> str:
    return config.base_url.rstrip("/") + path


def feed_links(query: FeedQuery, config: Config) -> dict[str, str]:
    """The URLs of a feed: https .ics, webcal, JSON, preview page and the subscribe buttons'
    (the forms in public use; none is documented by Google or Microsoft)."""
    name, _ = describe(query, config)
    https = absolute(config, query.url(".ics"))
    webcal = "webcal://" + https.split("://", 1)[1]

    def enc(text: str) -> str:  # JavaScript's encodeURIComponent
        return quote(text, safe="-_.!~*'()")

    return {
        "name": name,
        "ics": https,
        "webcal": webcal,
        "json": absolute(config, query.url(".json")),
        "preview": absolute(config, query.url("")),
        "qr": absolute(config, "/qr.svg?feed=" + enc(query.url(".ics"))),
        "path": query.url(".ics"),  # for pages (links to this server stay relative)
        "google": f"https://calendar.google.com/calendar/r?cid={enc(webcal)}",
        "outlook": (
            f"https://outlook.live.com/calendar/0/addfromweb?url={enc(https)}&name={enc(name)}"
        ),
        "office365": (
            f"https://outlook.office.com/calendar/0/addfromweb?url={enc(https)}&name={enc(name)}"
        ),
    }


def occurrence_json(o: Occurrence, config: Config) -> dict[str, Any]:
    f = o.facts
    names = {c.slug: c.name for c in config.calendars}
    type_names = {t.slug: t.name for t in config.types}
    return {
        "id": o.id,
        "uid": o.uid,
        "instance_uid": o.instance_uid,
        "title": f.title,
        "start": _iso(o.start),
        "end": _iso(o.end),
        "all_day": o.all_day,
        "timezone": None if o.all_day else f.tzid or config.timezone,
        "recurring": o.recurring,
        "status": f.status or None,
        "cancelled": f.status == "CANCELLED",
        "calendars": [
            {"slug": s, "name": names.get(s, s), "url": absolute(config, f"/calendars/{s}.ics")}
            for s in o.calendars
        ],
        "types": [
            {"slug": s, "name": type_names.get(s, s), "url": absolute(config, f"/types/{s}.ics")}
            for s in o.types
        ],
        "location": f.location or None,
        "online": f.online,
        "meeting": {"url": f.meeting_url, "label": f.meeting_label or None}
        if f.meeting_url
        else None,
        "speaker": f.speaker or None,
        "host": f.host or None,
        "audience": f.audience or None,
        "contact": f.contact or None,
        "description": f.description or None,
        "url": f.url or None,
        "page": absolute(config, f"/events/{o.id}"),
        "ics": absolute(config, f"/events/{o.id}.ics"),
    }


def feed_json(
    query: FeedQuery, items: Sequence[Occurrence], config: Config, selection: Selection
) -> dict[str, Any]:
    """The JSON feed: the feed's names and URLs, its window and every occurrence in it."""
    links = feed_links(query, config)
    del links["path"]
    _, description = describe(query, config)
    site = zoneinfo.ZoneInfo(config.timezone)
    return {
        "ok": True,
        "name": links.pop("name"),
        "description": description,
        "timezone": config.timezone,
        "window": {
            "start": datetime.fromtimestamp(selection.start, site).isoformat(),
            "end": datetime.fromtimestamp(selection.end, site).isoformat(),
        },
        "query": dict(query.params),
        "links": links,
        "count": len(items),
        "occurrences": [occurrence_json(o, config) for o in items],
    }
