"""Stage ③: reading the store for a feed or a page: which events a Selection holds, with their
occurrences in the window and the facts details.py stored (Store's select… methods call these).

Every filter is SQL over columns written at ingest; nothing here parses a VEVENT.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

# An event (alias w) with an occurrence in [:start, :end); outside the precomputed horizon, a
# series counts when its span overlaps the window.
_WINDOW = """((w.occ_first < :end AND w.occ_last > :start
     AND (w.recurring = 0 OR EXISTS (SELECT 1 FROM occurrences o
          WHERE o.uid = w.uid AND o.end > :start AND o.start < :end)))
    OR ((:start < w.h_start OR :end > w.h_end) AND w.start < :end
        AND (w.series_end IS NULL OR w.series_end > :start)))"""
# The events in the window, decided on the index events_span alone (it holds every column
# _WINDOW reads, and the UID the calendar and type filters look up): an event's row, where
# those columns come after its VEVENT bytes, is read only once it is in the window (scanning
# the rows instead takes ~40 ms at 20,000 events).
_EVENTS_IN = "e.rowid IN (SELECT w.rowid FROM events w INDEXED BY events_span WHERE {})"
IN_WINDOW = _EVENTS_IN.format(_WINDOW)


@dataclass(frozen=True)
class EventRow:
    uid: str
    body: bytes
    tzids: tuple[str, ...]
    first_year: int


@dataclass(frozen=True)
class Selection:
    """Which events a feed holds: an occurrence in [start, end) (UTC epoch seconds) and every
    filter given. Within a filter any value matches (any-of); all filters must match.
    Text values are folded (details.fold) by the caller."""

    start: int
    end: int
    calendars: tuple[tuple[str, ...], ...] = ()  # each group: any of its slugs
    types: tuple[tuple[str, ...], ...] = ()
    exclude_types: tuple[str, ...] = ()
    words: tuple[tuple[str, ...], ...] = ()  # any alternative; all words of it in the text
    locations: tuple[str, ...] = ()  # words or phrases of the place
    audiences: tuple[str, ...] = ()  # words or phrases of the audience
    online: bool | None = None  # True: with a meeting link; False: without


@dataclass(frozen=True)
class Match:
    """One selected event; ``occurrences`` (start, end, component) lie in the window, or are
    None when the window leaves the precomputed horizon (then ``body`` is set for the caller
    to expand). What pages show of it comes from :func:`described`, for the few shown."""

    uid: str
    id: str
    recurring: bool
    occurrences: tuple[tuple[int, int, int], ...] | None
    body: bytes | None = None


@dataclass(frozen=True)
class Described:
    """What pages and JSON show of an event: details.Facts as JSON, its calendars and types."""

    details: str
    calendars: tuple[str, ...]
    types: tuple[str, ...]


@dataclass(frozen=True)
class StoredEvent:
    """One event as /events/<id> shows it."""

    uid: str
    id: str
    body: bytes
    tzids: tuple[str, ...]
    first_year: int
    details: str
    recurring: bool
    calendars: tuple[str, ...]
    types: tuple[str, ...]
    sequence: int
    last_modified: datetime


def _where(selection: Selection) -> tuple[str, dict[str, object]]:
    indexed = []  # on the index: the calendar and type filters, then the window
    where = []  # on the rows that passed those
    params: dict[str, object] = {"start": selection.start, "end": selection.end}

    def names(prefix: str, values: Sequence[str], start: str = "") -> str:
        for m, value in enumerate(values):
            params[f"{prefix}_{m}"] = start + value
        return ", ".join(f":{prefix}_{m}" for m in range(len(values)))

    for table, groups in (
        ("event_calendars", selection.calendars),
        ("event_types", selection.types),
    ):
        for n, group in enumerate(groups):
            slugs = names(f"{table}{n}", group)
            indexed.append(f"w.uid IN (SELECT uid FROM {table} WHERE slug IN ({slugs}))")
    if selection.exclude_types:
        slugs = names("x", selection.exclude_types)
        indexed.append(f"w.uid NOT IN (SELECT uid FROM event_types WHERE slug IN ({slugs}))")
    where.append(_EVENTS_IN.format(" AND ".join([*indexed, _WINDOW])))
    # instr() of " word" in folded text that starts with a space: a word matches where a
    # word starts ("learn" finds "learning"); cheap enough here because the window and the
    # filters above have already narrowed the rows.
    alternatives = []
    for n, words in enumerate(selection.words):
        alternatives.append(
            " AND ".join(f"instr(e.search_text, :w{n}_{m}) > 0" for m in range(len(words)))
        )
        names(f"w{n}", words, " ")
    if alternatives:
        where.append("(" + " OR ".join(f"({a})" for a in alternatives) + ")")
    for column, values, prefix in (
        ("location_text", selection.locations, "l"),
        ("audience_text", selection.audiences, "a"),
    ):
        if values:
            names(prefix, values, " ")
            tests = (f"instr(e.{column}, :{prefix}_{m}) > 0" for m in range(len(values)))
            where.append("(" + " OR ".join(tests) + ")")
    if selection.online is not None:
        where.append(f"e.online = {int(selection.online)}")
    return " AND ".join(where), params


def select(db: sqlite3.Connection, selection: Selection) -> list[EventRow]:
    """The selected events' bytes, in feed order (first start, then UID)."""
    where, params = _where(selection)
    sql = (
        f"SELECT e.uid, e.body, e.tzids, e.first_year FROM events e WHERE {where}"
        " ORDER BY e.start, e.uid"
    )
    return [
        EventRow(uid, body, tuple(tzids.split()), year)
        for uid, body, tzids, year in db.execute(sql, params)
    ]


def matches(db: sqlite3.Connection, selection: Selection) -> list[Match]:
    """The selected events with their occurrences in the window, in feed order."""
    where, params = _where(selection)
    rows = db.execute(
        "SELECT e.uid, e.id, e.recurring, e.start,"
        " CASE WHEN e.recurring AND (:start < e.h_start OR :end > e.h_end) THEN e.body END"
        f" FROM events e WHERE {where} ORDER BY e.start, e.uid",
        params,
    ).fetchall()
    occurrences: dict[str, list[tuple[int, int, int]]] = {}
    if any(row[2] for row in rows):
        for uid, start, end, variant in db.execute(
            "SELECT o.uid, o.start, o.end, o.variant FROM occurrences o WHERE o.uid IN"
            f" (SELECT e.uid FROM events e WHERE {where} AND e.recurring)"
            " AND o.end > :start AND o.start < :end ORDER BY o.uid, o.start",
            params,
        ):
            occurrences.setdefault(uid, []).append((start, end, variant))
    result = []
    for uid, event_id_, recurring, first_start, body in rows:
        if body is not None:
            found: tuple[tuple[int, int, int], ...] | None = None
        elif recurring:
            found = tuple(occurrences.get(uid, ()))
        else:
            found = ((first_start, first_start, 0),)  # the end: from its duration
        result.append(Match(uid, event_id_, bool(recurring), found, body))
    return result


def described(db: sqlite3.Connection, uids: Sequence[str]) -> dict[str, Described]:
    """Details, calendars and types of these events (pages read them for the events shown)."""
    result: dict[str, Described] = {}
    unique = list(dict.fromkeys(uids))
    for n in range(0, len(unique), 500):  # SQLite's limit on bound parameters
        chunk = unique[n : n + 500]
        marks = ", ".join("?" * len(chunk))
        slugs: dict[str, dict[str, list[str]]] = {"event_calendars": {}, "event_types": {}}
        for table, per_uid in slugs.items():
            for uid, slug in db.execute(
                f"SELECT uid, slug FROM {table} WHERE uid IN ({marks})", chunk
            ):
                per_uid.setdefault(uid, []).append(slug)
        for uid, details in db.execute(
            f"SELECT uid, details FROM events WHERE uid IN ({marks})", chunk
        ):
            result[uid] = Described(
                details,
                tuple(slugs["event_calendars"].get(uid, ())),
                tuple(slugs["event_types"].get(uid, ())),
            )
    return result


def event(db: sqlite3.Connection, event_id_: str) -> StoredEvent | None:
    """The event with this id (see :func:`event_id`), or None."""
    row = db.execute(
        "SELECT uid, id, body, tzids, first_year, details, recurring, sequence,"
        " last_modified FROM events WHERE id = ?",
        (event_id_,),
    ).fetchone()
    if row is None:
        return None
    uid = row[0]
    calendars, types = (
        tuple(s for (s,) in db.execute(f"SELECT slug FROM {t} WHERE uid = ?", (uid,)))
        for t in ("event_calendars", "event_types")
    )
    return StoredEvent(
        uid,
        row[1],
        row[2],
        tuple(row[3].split()),
        row[4],
        row[5],
        bool(row[6]),
        calendars,
        types,
        row[7],
        datetime.fromisoformat(row[8]),
    )


def occurrences_of(
    db: sqlite3.Connection, uid: str, start: int, end: int
) -> list[tuple[int, int, int]] | None:
    """A series' precomputed occurrences in [start, end), or None outside the horizon."""
    row = db.execute(
        "SELECT h_start, h_end, recurring, start FROM events WHERE uid = ?", (uid,)
    ).fetchone()
    if row is None:
        return []
    if start < row[0] or end > row[1]:
        return None
    if not row[2]:
        return [(row[3], row[3], 0)]
    return list(
        db.execute(
            "SELECT start, end, variant FROM occurrences WHERE uid = ? AND end > ?"
            " AND start < ? ORDER BY start",
            (uid, start, end),
        )
    )


def upcoming_counts(db: sqlite3.Connection, start: int, end: int) -> dict[str, dict[str, int]]:
    """Events with an occurrence in [start, end): ``{"all": {"": n}, "calendars": {slug:
    n}, "types": {slug: n}}``."""
    params = {"start": start, "end": end}
    result: dict[str, dict[str, int]] = {}
    total = db.execute(f"SELECT count(*) FROM events e WHERE {IN_WINDOW}", params)
    result["all"] = {"": total.fetchone()[0]}
    for key, table in (("calendars", "event_calendars"), ("types", "event_types")):
        result[key] = dict(
            db.execute(
                f"SELECT t.slug, count(*) FROM {table} t JOIN events e ON e.uid = t.uid"
                f" WHERE {IN_WINDOW} GROUP BY t.slug",
                params,
            )
        )
    return result
