"""Stage ③: the SQLite store: merged events with their VEVENT bytes, occurrences, source status.

Each source's contributions are kept as delivered; events are merged from them per UID (the same
event from two sources is one event in every feed it belongs to). The store owns identity:
DTSTAMP, LAST-MODIFIED and SEQUENCE are written into the stored bytes here and move only when an
event's content changes, so the same store always renders the same bytes. Ingesting a source is
one transaction: all or nothing. WAL mode lets web workers read while a refresh writes.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from feedserver import selection as selection_
from feedserver.normalize import Contribution, Horizon
from feedserver.selection import (
    DaySpans,
    Described,
    EventRow,
    Match,
    Selection,
    StoredEvent,
)

__all__ = [
    "DaySpans",
    "Described",
    "EventRow",
    "Match",
    "Selection",
    "Store",
    "StoredEvent",
    "event_id",
]

SCHEMA = """
CREATE TABLE IF NOT EXISTS state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL,       -- moves whenever any event changes: the response cache key
    changed_at TEXT NOT NULL        -- when it last moved: Last-Modified, never goes backwards
);
CREATE TABLE IF NOT EXISTS sources (
    id TEXT PRIMARY KEY,
    last_attempt TEXT,
    last_success TEXT,
    last_error TEXT,
    warnings TEXT NOT NULL DEFAULT '[]',
    event_count INTEGER NOT NULL DEFAULT 0,
    ingest_key TEXT,                -- body + definition of the last ingest: same key, no re-parse
    http_status INTEGER,            -- of the last attempt's final response (NULL: file, no answer)
    duration REAL,                  -- seconds the last attempt took (fetch, parse, store)
    definition TEXT                 -- definition_key of the last attempt: the refresher redoes
                                    -- sources whose definition changed since
);
CREATE TABLE IF NOT EXISTS contributions (
    source_id TEXT NOT NULL,
    uid TEXT NOT NULL,
    body BLOB NOT NULL,
    content_hash TEXT NOT NULL,
    calendar TEXT NOT NULL,
    types TEXT NOT NULL,
    upstream_sequence INTEGER NOT NULL,
    upstream_modified TEXT,
    summary TEXT NOT NULL,
    start INTEGER NOT NULL,
    tzids TEXT NOT NULL,
    first_year INTEGER NOT NULL,
    series_end INTEGER,
    recurring INTEGER NOT NULL,
    occurrences TEXT NOT NULL,
    search_text TEXT NOT NULL,
    h_start INTEGER NOT NULL,
    h_end INTEGER NOT NULL,
    details TEXT NOT NULL,
    location_text TEXT NOT NULL,
    audience_text TEXT NOT NULL,
    online INTEGER NOT NULL,
    PRIMARY KEY (source_id, uid)
);
CREATE INDEX IF NOT EXISTS contributions_uid ON contributions (uid);
CREATE TABLE IF NOT EXISTS events (
    uid TEXT PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,        -- short stable id for /events/<id>
    body BLOB NOT NULL,             -- VEVENTs as served, with DTSTAMP/LAST-MODIFIED/SEQUENCE
    content_hash TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    last_modified TEXT NOT NULL,
    summary TEXT NOT NULL,
    start INTEGER NOT NULL,         -- first DTSTART, UTC epoch: feed order
    tzids TEXT NOT NULL,            -- space-separated TZIDs the body uses
    first_year INTEGER NOT NULL,    -- VTIMEZONEs must cover from this year
    series_end INTEGER,             -- NULL: never ends
    recurring INTEGER NOT NULL,
    occ_first INTEGER,              -- first occurrence start inside the horizon (NULL: none)
    occ_last INTEGER,               -- last occurrence end inside the horizon
    h_start INTEGER NOT NULL,       -- the horizon the occurrences were computed for
    h_end INTEGER NOT NULL,
    search_text TEXT NOT NULL,      -- " " + folded (details.fold) title, description, place…
    details TEXT NOT NULL,          -- JSON: details.Facts per component, master first
    location_text TEXT NOT NULL,    -- folded places, " | " between them
    audience_text TEXT NOT NULL,    -- folded audiences
    online INTEGER NOT NULL         -- 1: some component has a meeting link
);
-- every column selection.IN_WINDOW reads: the window is decided without reading the rows
DROP INDEX IF EXISTS events_window;
CREATE INDEX IF NOT EXISTS events_span ON events
    (occ_first, occ_last, recurring, h_start, h_end, start, series_end, uid);
CREATE TABLE IF NOT EXISTS event_calendars (
    slug TEXT NOT NULL, uid TEXT NOT NULL, PRIMARY KEY (slug, uid)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS event_types (
    slug TEXT NOT NULL, uid TEXT NOT NULL, PRIMARY KEY (slug, uid)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS event_calendars_uid ON event_calendars (uid);
CREATE INDEX IF NOT EXISTS event_types_uid ON event_types (uid);
CREATE TABLE IF NOT EXISTS occurrences (uid TEXT NOT NULL, start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    variant INTEGER NOT NULL);      -- the component giving it: 0 master, k the k-th override
-- covering: a series' occurrences in a window are read from the index alone
DROP INDEX IF EXISTS occurrences_uid;
CREATE INDEX IF NOT EXISTS occurrences_span ON occurrences (uid, end, start, variant);
INSERT OR IGNORE INTO state VALUES (1, 0, '1970-01-01T00:00:00+00:00');
"""
# PRAGMA user_version of SCHEMA. A store of an older version loses its events (not its source
# status) and every source is re-read on the next refresh, from the fetch cache when the
# upstream answers 304: events are derived data.
SCHEMA_VERSION = 2
_DERIVED = ("contributions", "events", "event_calendars", "event_types", "occurrences")
# Columns added after the first release: (table, column, declaration) for older store files.
_ADDED_COLUMNS = (
    ("sources", "http_status", "INTEGER"),
    ("sources", "duration", "REAL"),
    ("sources", "definition", "TEXT"),
)
_SOURCE_COLUMNS = (
    "id, last_attempt, last_success, last_error, warnings, event_count, ingest_key,"
    " http_status, duration, definition"
)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _ical_utc(moment: datetime) -> bytes:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ").encode()


def event_id(uid: str) -> str:
    """The short, stable, URL-safe id of an event.

    >>> event_id("joint-lecture@hillside.example")
    '0504c9fe3f127f37'
    """
    return hashlib.sha256(uid.encode()).hexdigest()[:16]


def _stamp(body: bytes, modified: datetime, sequence: int) -> bytes:
    """Write the store's identity properties into each VEVENT of a serialized group."""
    stamp = _ical_utc(modified)
    head = b"BEGIN:VEVENT\r\nDTSTAMP:%s\r\nLAST-MODIFIED:%s\r\nSEQUENCE:%d\r\n" % (
        stamp,
        stamp,
        sequence,
    )
    return body.replace(b"BEGIN:VEVENT\r\n", head)


@dataclass
class IngestStats:
    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0
    moved: int = 0  # unchanged events whose occurrences were recomputed for a newer horizon

    @property
    def touched(self) -> bool:
        return bool(self.added or self.changed or self.removed or self.moved)


@dataclass(frozen=True)
class Attempt:
    """How a refresh attempt went, beside its result: kept on the source's status row."""

    http_status: int | None = None
    duration: float | None = None
    definition: str | None = None


@dataclass(frozen=True)
class SourceStatus:
    id: str
    last_attempt: datetime | None
    last_success: datetime | None
    last_error: str | None
    warnings: list[str] = field(default_factory=list)
    event_count: int = 0
    ingest_key: str | None = None
    http_status: int | None = None
    duration: float | None = None
    definition: str | None = None

    @property
    def ok(self) -> bool:
        return self.last_error is None and self.last_success is not None


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


class Store:
    """The SQLite file; one connection per thread, WAL, explicit write transactions."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._rebuild_old_schema()
        self.db.executescript(SCHEMA)  # idempotent; executescript manages its own transaction
        self._migrate()

    def _migrate(self) -> None:
        with self._write() as db:
            for table, column, declaration in _ADDED_COLUMNS:
                present = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
                if column not in present:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")

    def _rebuild_old_schema(self) -> None:
        """Bring an older store to SCHEMA_VERSION (see there); a new file just gets the number."""
        if self.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
            return
        with self._write() as db:
            if db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
                return  # another process migrated while this one waited for the lock
            tables = {n for (n,) in db.execute("SELECT name FROM sqlite_master")}
            for table in _DERIVED:
                db.execute(f"DROP TABLE IF EXISTS {table}")
            if "sources" in tables:  # every source is due and re-parsed
                db.execute("UPDATE sources SET ingest_key = NULL, last_attempt = NULL")
            if "state" in tables:  # cached responses of the old events must not be served
                db.execute("UPDATE state SET version = version + 1")
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @property
    def db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=ON")
            self._local.db = db
        return db

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    def _write(self) -> _Transaction:
        return _Transaction(self.db)

    # -- reading -------------------------------------------------------------------------------

    def version(self) -> tuple[int, datetime]:
        """The store's version and when it last changed (monotonic)."""
        version, changed = self.db.execute("SELECT version, changed_at FROM state").fetchone()
        return version, datetime.fromisoformat(changed)

    def statuses(self) -> dict[str, SourceStatus]:
        rows = self.db.execute(f"SELECT {_SOURCE_COLUMNS} FROM sources ORDER BY id").fetchall()
        return {
            r[0]: SourceStatus(r[0], _when(r[1]), _when(r[2]), r[3], json.loads(r[4]), *r[5:])
            for r in rows
        }

    def ping(self) -> None:
        """Raise sqlite3.Error unless the store can be read (the health check)."""
        self.db.execute("SELECT version FROM state").fetchone()

    # -- selecting for feeds and pages (feedserver/selection.py) --------------------------------

    def select(self, selection: Selection) -> list[EventRow]:
        return selection_.select(self.db, selection)

    def matches(self, selection: Selection) -> list[Match]:
        return selection_.matches(self.db, selection)

    def horizon_covers(self, start: int, end: int) -> bool:
        return selection_.horizon_covers(self.db, start, end)

    def day_spans(
        self, selection: Selection, offsets: Sequence[tuple[int, int]], margin: int
    ) -> DaySpans:
        return selection_.day_spans(self.db, selection, offsets, margin)

    def described(self, uids: Sequence[str]) -> dict[str, Described]:
        return selection_.described(self.db, uids)

    def event(self, event_id_: str) -> StoredEvent | None:
        return selection_.event(self.db, event_id_)

    def occurrences_of(self, uid: str, start: int, end: int) -> list[tuple[int, int, int]] | None:
        return selection_.occurrences_of(self.db, uid, start, end)

    def upcoming_counts(self, start: int, end: int) -> dict[str, dict[str, int]]:
        return selection_.upcoming_counts(self.db, start, end)

    def count_events(self) -> int:
        return self.db.execute("SELECT count(*) FROM events").fetchone()[0]

    def counts(self, table: str) -> dict[str, int]:
        """Events per calendar (``event_calendars``) or per type (``event_types``)."""
        assert table in ("event_calendars", "event_types")
        return dict(self.db.execute(f"SELECT slug, count(*) FROM {table} GROUP BY slug"))

    # -- writing -------------------------------------------------------------------------------

    def ingest(
        self,
        source_id: str,
        contributions: Iterable[Contribution],
        *,
        horizon: Horizon,
        now: datetime,
        warnings: Sequence[str] = (),
        ingest_key: str | None = None,
        attempt: Attempt | None = None,
    ) -> IngestStats:
        """Replace everything a source contributes, in one transaction; merge affected events."""
        stats = IngestStats()
        with self._write() as db:
            old = {
                uid: (content_hash, h_end)
                for uid, content_hash, h_end in db.execute(
                    "SELECT uid, content_hash, h_end FROM contributions WHERE source_id = ?",
                    (source_id,),
                )
            }
            affected = set()
            count = 0
            for c in contributions:
                count += 1
                if old.pop(c.uid, None) == (c.content_hash, horizon.end):
                    stats.unchanged += 1
                    continue
                affected.add(c.uid)
                db.execute(
                    "INSERT OR REPLACE INTO contributions VALUES "
                    "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        source_id,
                        c.uid,
                        c.body,
                        c.content_hash,
                        c.calendar,
                        json.dumps(c.types),
                        c.upstream_sequence,
                        _iso(c.upstream_modified) if c.upstream_modified else None,
                        c.summary,
                        c.start,
                        " ".join(c.tzids),
                        c.first_year,
                        c.series_end,
                        int(c.recurring),
                        json.dumps(c.occurrences),
                        c.search_text,
                        horizon.start,
                        horizon.end,
                        c.details,
                        c.location_text,
                        c.audience_text,
                        int(c.online),
                    ),
                )
            for uid in old:  # gone upstream
                db.execute(
                    "DELETE FROM contributions WHERE source_id = ? AND uid = ?", (source_id, uid)
                )
                affected.add(uid)
            for uid in sorted(affected):
                self._merge(db, uid, now, stats)
            a = attempt or Attempt()
            db.execute(
                "INSERT INTO sources (id, last_attempt, last_success, last_error, warnings,"
                " event_count, ingest_key, http_status, duration, definition)"
                " VALUES (?, ?, ?, NULL, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET last_attempt = excluded.last_attempt,"
                " last_success = excluded.last_success, last_error = NULL,"
                " warnings = excluded.warnings, event_count = excluded.event_count,"
                " ingest_key = excluded.ingest_key, http_status = excluded.http_status,"
                " duration = excluded.duration, definition = excluded.definition",
                (
                    source_id,
                    _iso(now),
                    _iso(now),
                    json.dumps(list(warnings)),
                    count,
                    ingest_key,
                    a.http_status,
                    a.duration,
                    a.definition,
                ),
            )
            if stats.touched:
                self._bump(db, now)
        return stats

    def record_unchanged(
        self, source_id: str, now: datetime, attempt: Attempt | None = None
    ) -> None:
        """The upstream has not changed since the last successful ingest (304 or same bytes)."""
        a = attempt or Attempt()
        with self._write() as db:
            db.execute(
                "UPDATE sources SET last_attempt = ?, last_success = ?, last_error = NULL,"
                " http_status = ?, duration = ?, definition = ? WHERE id = ?",
                (_iso(now), _iso(now), a.http_status, a.duration, a.definition, source_id),
            )

    def record_failure(
        self, source_id: str, error: str, now: datetime, attempt: Attempt | None = None
    ) -> None:
        """Remember why a refresh failed; the source's last good events stay."""
        a = attempt or Attempt()
        with self._write() as db:
            db.execute(
                "INSERT INTO sources (id, last_attempt, last_error, http_status, duration,"
                " definition) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET last_attempt = excluded.last_attempt,"
                " last_error = excluded.last_error, http_status = excluded.http_status,"
                " duration = excluded.duration, definition = excluded.definition",
                (source_id, _iso(now), error, a.http_status, a.duration, a.definition),
            )

    def prune(self, keep: Iterable[str], now: datetime) -> IngestStats:
        """Forget sources that are no longer defined (or are disabled) and their events."""
        keep = set(keep)
        stats = IngestStats()
        with self._write() as db:
            gone = [
                s
                for (s,) in db.execute("SELECT DISTINCT source_id FROM contributions")
                if s not in keep
            ] + [s for (s,) in db.execute("SELECT id FROM sources") if s not in keep]
            for source_id in sorted(set(gone)):
                uids = [
                    u
                    for (u,) in db.execute(
                        "DELETE FROM contributions WHERE source_id = ? RETURNING uid",
                        (source_id,),
                    )
                ]
                db.execute("DELETE FROM sources WHERE id = ?", (source_id,))
                for uid in sorted(uids):
                    self._merge(db, uid, now, stats)
            if stats.touched:
                self._bump(db, now)
        return stats

    def _bump(self, db: sqlite3.Connection, now: datetime) -> None:
        # max(): Last-Modified must never move backwards, even if the clock does.
        db.execute(
            "UPDATE state SET version = version + 1, changed_at = max(changed_at, ?)",
            (_iso(now),),
        )

    def _merge(self, db: sqlite3.Connection, uid: str, now: datetime, stats: IngestStats) -> None:
        """Rebuild one event from all contributions of its UID."""
        rows = db.execute(
            "SELECT body, content_hash, calendar, types, upstream_sequence, upstream_modified,"
            " summary, start, tzids, first_year, series_end, occurrences, search_text,"
            " h_start, h_end, recurring, details, location_text, audience_text, online"
            " FROM contributions WHERE uid = ?"
            " ORDER BY upstream_sequence DESC, upstream_modified DESC, source_id",
            (uid,),
        ).fetchall()
        existing = db.execute(
            "SELECT content_hash, sequence, h_end FROM events WHERE uid = ?", (uid,)
        ).fetchone()
        if not rows:
            if existing:
                for table in ("events", "event_calendars", "event_types", "occurrences"):
                    db.execute(f"DELETE FROM {table} WHERE uid = ?", (uid,))
                stats.removed += 1
            return
        winner = rows[0]
        calendars = sorted({r[2] for r in rows})
        types = list(dict.fromkeys(t for r in rows for t in json.loads(r[3])))
        content_hash = hashlib.sha256(
            f"{winner[1]}\0{','.join(calendars)}\0{','.join(sorted(types))}".encode()
        ).hexdigest()
        # a zero-length occurrence still occupies its instant
        occurrences = [(s, max(e, s + 1), v) for s, e, v in json.loads(winner[11])]
        recurring = bool(winner[15])
        first = min((o[0] for o in occurrences), default=None)
        last = max((o[1] for o in occurrences), default=None)
        if existing and existing[0] == content_hash:
            stats.unchanged += 1
            if existing[2] != winner[14]:  # same event, occurrences for a newer horizon
                db.execute(
                    "UPDATE events SET occ_first = ?, occ_last = ?, h_start = ?, h_end = ?"
                    " WHERE uid = ?",
                    (first, last, winner[13], winner[14], uid),
                )
                self._occurrences(db, uid, occurrences, recurring, replace=True)
                stats.moved += 1
            return
        upstream_sequence = winner[4]
        if existing:
            sequence = max(existing[1] + 1, upstream_sequence)
            modified = now
            stats.changed += 1
        else:
            sequence = upstream_sequence
            upstream_modified = _when(winner[5])
            modified = upstream_modified if upstream_modified and upstream_modified <= now else now
            stats.added += 1
        db.execute(
            "INSERT OR REPLACE INTO events VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                uid,
                event_id(uid),
                _stamp(winner[0], modified, sequence),
                content_hash,
                sequence,
                _iso(modified),
                winner[6],
                winner[7],
                winner[8],
                winner[9],
                winner[10],
                int(recurring),
                first,
                last,
                winner[13],
                winner[14],
                winner[12],
                winner[16],
                winner[17],
                winner[18],
                winner[19],
            ),
        )
        # A new event has no calendar, type or occurrence rows yet (they go with its row).
        for table, slugs in (("event_calendars", calendars), ("event_types", types)):
            if existing:
                db.execute(f"DELETE FROM {table} WHERE uid = ?", (uid,))
            db.executemany(f"INSERT INTO {table} VALUES (?, ?)", [(s, uid) for s in slugs])
        self._occurrences(db, uid, occurrences, recurring, replace=bool(existing))

    def _occurrences(
        self,
        db: sqlite3.Connection,
        uid: str,
        occurrences: list[tuple[int, int, int]],
        recurring: bool,
        *,
        replace: bool,
    ) -> None:
        """A series' occurrence rows (``replace``: instead of the stored ones)."""
        if replace:
            db.execute("DELETE FROM occurrences WHERE uid = ?", (uid,))
        if recurring:
            db.executemany(
                "INSERT INTO occurrences VALUES (?, ?, ?, ?)",
                [(uid, s, e, v) for s, e, v in occurrences],
            )


class _Transaction:
    """``with store._write() as db``: BEGIN IMMEDIATE … COMMIT, or ROLLBACK on any error."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type: object, *_: object) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")
