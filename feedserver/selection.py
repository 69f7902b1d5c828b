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
    """The selection as a condition on ``events e``, with its parameters."""
    indexed, rows, params = _conditions(selection)
    where = [_EVENTS_IN.format(" AND ".join(indexed)), *rows]
    return " AND ".join(where), params


def _conditions(
    selection: Selection, window: str = _WINDOW
) -> tuple[list[str], list[str], dict[str, object]]:
    """The selection's conditions on the index events_span (``w``: the window, then the
    calendar and type filters) and on the rows (``e``: the text filters)."""
    indexed = [window]  # first: it is what narrows most
    where = []
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
            indexed.append(
                f"EXISTS (SELECT 1 FROM {table} t WHERE t.slug IN ({slugs}) AND t.uid = w.uid)"
            )
    if selection.exclude_types:
        slugs = names("x", selection.exclude_types)
        indexed.append(
            f"NOT EXISTS (SELECT 1 FROM event_types t WHERE t.slug IN ({slugs}) AND t.uid = w.uid)"
        )
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
    return indexed, where, params


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
    indexed, rows, params = _conditions(selection)
    # what the index holds comes from it; of the row only the id (before the VEVENT bytes),
    # the columns of text filters, and the bytes of a series beyond the horizon
    found = db.execute(
        "SELECT w.uid, e.id, w.recurring, w.start,"
        " CASE WHEN w.recurring AND (:start < w.h_start OR :end > w.h_end) THEN e.body END"
        " FROM events w INDEXED BY events_span CROSS JOIN events e ON e.rowid = w.rowid"
        f" WHERE {' AND '.join([*indexed, *rows])} ORDER BY w.start, w.uid",
        params,
    ).fetchall()
    series = [uid for uid, _, recurring, _, body in found if recurring and body is None]
    occurrences: dict[str, list[tuple[int, int, int]]] = {}
    for n in range(0, len(series), 500):  # SQLite's limit on bound parameters
        chunk = series[n : n + 500]
        for uid, start, end, variant in db.execute(
            "SELECT o.uid, o.start, o.end, o.variant FROM occurrences o"
            f" WHERE o.uid IN ({', '.join('?' * len(chunk))}) AND o.end > ? AND o.start < ?"
            " ORDER BY o.uid, o.start",
            (*chunk, selection.start, selection.end),
        ):
            occurrences.setdefault(uid, []).append((start, end, variant))
    result = []
    for uid, event_id_, recurring, first_start, body in found:
        if body is not None:
            triples: tuple[tuple[int, int, int], ...] | None = None
        elif recurring:
            triples = tuple(occurrences.get(uid, ()))
        else:
            triples = ((first_start, first_start, 0),)  # the end: from its duration
        result.append(Match(uid, event_id_, bool(recurring), triples, body))
    return result


# Local times are shifted by a million days in SQL, so that SQLite's integer division and
# remainder, which truncate, floor before 1970 as well.
_SHIFT_DAYS = 1_000_000


@dataclass(frozen=True)
class DaySpans:
    """The occurrences in a selection's window placed on local days (days since 1970-01-01 in
    the zone of the offsets given), as a month grid counts them."""

    spans: tuple[tuple[int, int, int], ...]  # (first day, last day, how many occurrences)
    near: tuple[tuple[str, int, int], ...]  # (uid, start, component): see day_spans
    total: int  # occurrences, one per event and start


def horizon_covers(db: sqlite3.Connection, start: int, end: int) -> bool:
    """Whether every event's precomputed occurrences cover [start, end)."""
    return not db.execute(
        "SELECT EXISTS (SELECT 1 FROM events INDEXED BY events_span"
        " WHERE h_start > ? OR h_end < ?)",
        (start, end),
    ).fetchone()[0]


def day_spans(
    db: sqlite3.Connection,
    selection: Selection,
    offsets: Sequence[tuple[int, int]],
    margin: int,
) -> DaySpans:
    """Which local days the selected occurrences cover, counted in one query over the stored
    occurrences: each occurrence from the day of its start to the day of its end's last
    second (ends are exclusive), so multi-day and all-day events are on each of their days.

    ``offsets``: the zone's UTC offset in seconds from each ``since`` on (epoch seconds,
    ascending; the first also applies before its ``since``), covering the window and a day
    around it. An occurrence whose stored end lies within ``margin`` seconds of a local
    midnight (all-day events, talks until midnight) is returned in ``near`` instead of being
    counted: a safeguard for stores written before normalize computed ends on the wall clock
    (they kept an end a daylight-saving shift off, on the other side of a midnight).

    Only for windows inside every event's horizon (:func:`horizon_covers`): beyond it a
    series' occurrences are not stored."""
    # inside the horizon an event is in the window when its span overlaps it; a series'
    # occurrences outside the window are left out by the join below
    indexed, rows, params = _conditions(selection, "w.occ_first < :end AND w.occ_last > :start")
    if rows:  # text filters: on the rows of the events in the window
        indexed.append(
            f"EXISTS (SELECT 1 FROM events e WHERE e.rowid = w.rowid AND {' AND '.join(rows)})"
        )
    params |= {"margin": margin, "shift": _SHIFT_DAYS * 86400, "days": _SHIFT_DAYS}
    for n, (since, offset) in enumerate(offsets):
        params |= {f"since_{n}": since, f"offset_{n}": offset}

    def local(moment: str) -> str:
        """The moment as local seconds since 1970-01-01T00:00, shifted."""
        later = " ".join(
            f"WHEN {moment} >= :since_{n} THEN :offset_{n}"
            for n in reversed(range(1, len(offsets)))
        )
        offset = f"CASE {later} ELSE :offset_0 END" if later else ":offset_0"
        return f"({moment} + {offset} + :shift)"

    # the events from the index alone (their start, end and whether they recur are in it);
    # a series' occurrences from the occurrences table
    rows_ = db.execute(
        f"""WITH event (uid, start, end, recurring) AS MATERIALIZED (
            SELECT w.uid, w.start, w.occ_last, w.recurring FROM events w INDEXED BY events_span
            WHERE {" AND ".join(indexed)}),
        occurrence (uid, start, end, variant) AS MATERIALIZED (
            SELECT uid, start, end, 0 FROM event WHERE NOT recurring
            UNION ALL
            SELECT o.uid, o.start, o.end, o.variant FROM event JOIN occurrences o
            ON o.uid = event.uid AND o.end > :start AND o.start < :end WHERE event.recurring),
        placed (uid, start, variant, first, last, near) AS (
            SELECT uid, start, variant, {local("start")} / 86400,
                max({local("start")} / 86400, {local("end - 1")} / 86400),
                end < :end + :margin AND ({local("end")} % 86400 < :margin
                    OR {local("end")} % 86400 > 86400 - :margin)
            FROM occurrence)
        SELECT NULL, NULL, NULL, first - :days, last - :days, count(*)
            FROM placed WHERE NOT near GROUP BY first, last
        UNION ALL
        SELECT uid, start, variant, NULL, NULL, NULL FROM placed WHERE near
        UNION ALL
        SELECT NULL, NULL, NULL, NULL, NULL, count(*)
            FROM (SELECT DISTINCT uid, start FROM occurrence)""",
        params,
    ).fetchall()
    spans, near, total = [], [], 0
    for uid, start, variant, first, last, count in rows_:
        if uid is not None:
            near.append((uid, start, variant))
        elif first is not None:
            spans.append((first, last, count))
        else:
            total = count
    return DaySpans(tuple(spans), tuple(near), total)


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
