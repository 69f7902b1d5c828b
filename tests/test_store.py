"""Stage ③: the SQLite store: all-or-nothing ingest, merge by UID, identity bookkeeping."""

from __future__ import annotations

from datetime import timedelta

import pytest

from feedserver.normalize import Horizon, normalize
from feedserver.selection import Selection, _where
from feedserver.sources import Pages, ics
from feedserver.store import Store
from tests.conftest import NOW, SAMPLES
from tests.test_normalize import HORIZON


def contributions(site, name, source_id="src", calendar="ece"):
    site.sample(source_id, name, calendar)
    config = site.config()
    source = config.source(source_id)
    parsed = ics.parse(Pages.single((SAMPLES / "ics" / name).read_bytes()), source)
    return normalize(parsed, source, config, HORIZON)[0]


@pytest.fixture
def store(site):
    s = Store(site.data / "test.sqlite3")
    yield s
    s.close()


def bodies(store) -> dict[str, bytes]:
    return dict(store.db.execute("SELECT uid, body FROM events"))


def test_ingest_is_all_or_nothing(site, store):
    store.ingest("src", contributions(site, "windows_tzid.ics"), horizon=HORIZON, now=NOW)
    before = (bodies(store), store.version(), store.statuses())

    def failing():
        yield from contributions(site, "recurring_overrides.ics")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        store.ingest("src", failing(), horizon=HORIZON, now=NOW + timedelta(hours=1))
    assert (bodies(store), store.version(), store.statuses()) == before


def test_reingesting_the_same_events_changes_nothing(site, store):
    found = contributions(site, "recurring_overrides.ics")
    store.ingest("src", found, horizon=HORIZON, now=NOW)
    first, version = bodies(store), store.version()
    stats = store.ingest("src", found, horizon=HORIZON, now=NOW + timedelta(days=1))
    assert (stats.unchanged, stats.touched) == (3, False)
    assert bodies(store) == first and store.version() == version


def test_identity_properties_are_written_by_the_store(site, store):
    store.ingest("src", contributions(site, "recurring_overrides.ics"), horizon=HORIZON, now=NOW)
    body = bodies(store)["weekly-seminar@example.edu"]
    # upstream SEQUENCE 3 is kept; master and override both carry the store's stamp
    assert body.count(b"DTSTAMP:20260301T120000Z\r\n") == 2
    assert body.count(b"LAST-MODIFIED:20260301T120000Z\r\n") == 2
    assert body.startswith(b"BEGIN:VEVENT\r\nDTSTAMP:20260301T120000Z\r\n")
    assert b"SEQUENCE:3\r\n" in body and b"DTSTAMP:20260101T000000Z" not in body


def test_same_uid_merges_calendars_and_types_and_leaves_with_its_last_source(site, store):
    store.ingest(
        "a", contributions(site, "recurring_overrides.ics", "a", "ece"), horizon=HORIZON, now=NOW
    )
    store.ingest(
        "b", contributions(site, "recurring_overrides.ics", "b", "cs"), horizon=HORIZON, now=NOW
    )
    assert store.counts("event_calendars") == {"cs": 3, "ece": 3}
    assert len(bodies(store)) == 3
    store.ingest("a", [], horizon=HORIZON, now=NOW + timedelta(hours=1))
    assert store.counts("event_calendars") == {"cs": 3}
    stats = store.ingest("b", [], horizon=HORIZON, now=NOW + timedelta(hours=2))
    assert stats.removed == 3 and bodies(store) == {}


def test_last_modified_never_moves_backwards(site, store):
    store.ingest("src", contributions(site, "windows_tzid.ics"), horizon=HORIZON, now=NOW)
    _, changed = store.version()
    store.ingest("src", [], horizon=HORIZON, now=NOW - timedelta(days=1))  # clock went back
    assert store.version()[1] == changed


def test_failure_is_recorded_without_touching_events(site, store):
    store.ingest("src", contributions(site, "windows_tzid.ics"), horizon=HORIZON, now=NOW)
    store.record_failure("src", "HTTP 500 from upstream", NOW + timedelta(hours=1))
    status = store.statuses()["src"]
    assert status.last_error == "HTTP 500 from upstream" and status.last_success == NOW
    assert status.event_count == 2 and len(bodies(store)) == 2


def test_a_store_of_an_older_schema_is_rebuilt_from_its_sources(site):
    site.sample("lab", "recurring_overrides.ics")
    site.refresh()
    config = site.config()
    old = Store(config.store_path)
    # what an older feedserver left: another schema version, events in the old layout
    old.db.execute("PRAGMA user_version = 1")
    old.db.execute("DROP TABLE occurrences")
    old.db.execute("CREATE TABLE occurrences (uid TEXT, start INTEGER, end INTEGER)")
    version = old.version()[0]
    old.close()
    store = Store(config.store_path)
    try:
        assert store.count_events() == 0 and store.version()[0] == version + 1
        status = store.statuses()["lab"]
        assert status.ingest_key is None and status.last_attempt is None  # due now
        assert status.last_success is not None
    finally:
        store.close()
    outcome = site.refresh(now=NOW + timedelta(minutes=1))[0]
    assert outcome.status == "updated" and outcome.events == 3


def test_the_window_is_decided_on_an_index_not_on_the_rows(site):
    """The events' rows hold their VEVENT bytes before the window's columns: a selection
    reads the index events_span to find the events in the window and their rows only then."""
    site.sample("lab", "recurring_overrides.ics")
    site.refresh()
    store = Store(site.config().store_path)
    try:
        # a store of an earlier release had the narrower events_window: replaced on opening
        store.db.execute("DROP INDEX events_span")
        store.db.execute("CREATE INDEX events_window ON events (occ_first, occ_last)")
        store.close()
        store = Store(site.config().store_path)
        indexes = {n for (n,) in store.db.execute("SELECT name FROM sqlite_master")}
        assert "events_span" in indexes and "events_window" not in indexes
        selection = Selection(start=0, end=2**40, calendars=(("ece",),), words=(("x",),))
        where, params = _where(selection)
        plan = [
            row[3]
            for row in store.db.execute(
                f"EXPLAIN QUERY PLAN SELECT e.uid FROM events e WHERE {where}", params
            )
        ]
        assert "SCAN w USING COVERING INDEX events_span" in plan
        assert not [step for step in plan if step.startswith("SCAN e")]
        assert [m.uid for m in store.matches(selection)] == []
        everything = [m.uid for m in store.matches(Selection(start=0, end=2**40))]
        assert len(everything) == store.count_events() > 0
    finally:
        store.close()


def test_a_moved_or_changed_event_has_its_rows_replaced_not_added_to(site, store):
    def rows(uid: str) -> tuple:
        event = store.db.execute(
            "SELECT occ_first, occ_last, h_start, h_end FROM events WHERE uid = ?", (uid,)
        ).fetchone()
        occurrences = store.db.execute(
            "SELECT start, end, variant FROM occurrences WHERE uid = ? ORDER BY rowid", (uid,)
        ).fetchall()
        calendars = store.db.execute(
            "SELECT slug FROM event_calendars WHERE uid = ?", (uid,)
        ).fetchall()
        return event, occurrences, calendars

    def expected(c, horizon, calendar: str) -> tuple:
        occurrences = [(s, max(e, s + 1), v) for s, e, v in c.occurrences]
        first = min((o[0] for o in occurrences), default=None)
        last = max((o[1] for o in occurrences), default=None)
        listed = occurrences if c.recurring else []
        return (first, last, horizon.start, horizon.end), listed, [(calendar,)]

    uid = "weekly-seminar@example.edu"
    found = {c.uid: c for c in contributions(site, "recurring_overrides.ics")}
    store.ingest("src", found.values(), horizon=HORIZON, now=NOW)
    assert rows(uid) == expected(found[uid], HORIZON, "ece")

    # the same events, occurrences computed for the next horizon step
    later = Horizon.around(NOW + timedelta(days=30), 400, 1100)
    config = site.config()
    parsed = ics.parse(
        Pages.single((SAMPLES / "ics" / "recurring_overrides.ics").read_bytes()),
        config.source("src"),
    )
    moved = {c.uid: c for c in normalize(parsed, config.source("src"), config, later)[0]}
    stats = store.ingest("src", moved.values(), horizon=later, now=NOW + timedelta(days=30))
    assert stats.moved >= 1 and rows(uid) == expected(moved[uid], later, "ece")

    # changed content (another calendar): the event's rows are the new ones only
    stats = store.ingest(
        "src",
        contributions(site, "recurring_overrides.ics", "src", "cs"),
        horizon=later,
        now=NOW + timedelta(days=31),
    )
    assert stats.changed == 3 and rows(uid) == expected(moved[uid], later, "cs")
