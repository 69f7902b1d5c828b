"""Ingest's output, pinned: every byte the store keeps for a fixed set of upstream feeds.

Speed work on normalize, content, links, details and the store must not change a byte of what
they produce. This test ingests the bundled demo, every file of tests/samples/ics (as published
and with ``online_links = "omit"``), every upstream row of test_content.py and 300 events of the
benchmark's generator, with a fixed clock, and compares a digest of each store table with
tests/ingest_output.json.

A deliberate change of ingest's output changes these digests too: check what changed (the test
names the tables), then write the new ones with ``FEEDSERVER_UPDATE_DIGESTS=1 scripts/test.sh
tests/test_ingest_output.py`` and commit them with the change.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import multiprocessing
import os
import random
import shutil
import sqlite3
import sys
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path

import icalendar
import pytest

from feedserver.refresh import refresh
from feedserver.store import Store
from tests.conftest import NOW, SAMPLES, Site
from tests.test_content import OMIT, ROWS, upstream_vevent

ROOT = Path(__file__).parent.parent
DIGESTS = Path(__file__).parent / "ingest_output.json"
# Each table's rows in a fixed order; sources without what depends on paths, clock or timing.
TABLES = {
    "contributions": "SELECT * FROM contributions ORDER BY source_id, uid",
    "events": "SELECT * FROM events ORDER BY uid",
    "event_calendars": "SELECT * FROM event_calendars ORDER BY slug, uid",
    "event_types": "SELECT * FROM event_types ORDER BY slug, uid",
    "occurrences": "SELECT * FROM occurrences ORDER BY uid, start, end, variant",
    "sources": "SELECT id, last_error, warnings, event_count FROM sources ORDER BY id",
}


def _bench_generator() -> type:
    """benchmarks/bench.py's event generator (the module registered first: its dataclasses
    look themselves up there)."""
    name = "feedserver_bench"
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / "bench.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module.Generator


def _bench_feed(events: int) -> bytes:
    generator = _bench_generator()(random.Random(42), date(2026, 3, 1))
    stamp = datetime(2026, 2, 28, 23, 0, tzinfo=UTC)
    calendar = icalendar.Calendar()
    calendar.add("PRODID", "-//Bench University//Events Calendar 1.0//EN")
    calendar.add("VERSION", "2.0")
    for n in range(events):
        for component in generator.event(7, n, stamp):
            calendar.add_component(component)
    return calendar.to_ical()


def _rows_feed(omit: bool) -> bytes:
    events = [
        upstream_vevent(row.upstream, uid=f"{name}@rows.test")
        for name, row in ROWS.items()
        if (row.source is OMIT) == omit
    ]
    return b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//rows//EN\r\n%sEND:VCALENDAR\r\n" % (
        b"".join(events)
    )


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    # In a process of its own: icalendar warns about a guessed TZID once per process (it caches
    # the zone), so parsing the samples here would take that warning from later tests.
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=spawn) as pool:
        return pool.submit(_ingest, tmp_path_factory.mktemp("ingest-output")).result()


def _ingest(root: Path) -> dict[str, str]:
    """Ingest every feed of the module docstring into a store in ``root``; digest its tables."""
    site = Site(root)
    shutil.rmtree(site.feeds)
    shutil.copytree(ROOT / "feeds", site.feeds)
    for path in sorted((SAMPLES / "ics").glob("*.ics")):
        for suffix, extra in (("", ""), ("-omit", 'online_links = "omit"\n')):
            site.source(
                f"sample-{path.stem.replace('_', '-')}{suffix}",
                f'name = "{path.stem}"\nkind = "ics"\ncalendar = "ece"\n'
                f'timezone = "America/Los_Angeles"\n{extra}',
                path.read_bytes(),
            )
    for suffix, omit in (("", False), ("-omit", True)):
        extra = 'online_links = "omit"\n' if omit else ""
        site.source(
            f"content-rows{suffix}",
            f'name = "rows"\nkind = "ics"\ncalendar = "cs"\n{extra}',
            _rows_feed(omit),
        )
    site.source(
        "bench",
        'name = "bench"\nkind = "ics"\ncalendar = "cs"\n[categories]\n"Seminars" = "seminar"\n',
        _bench_feed(300),
    )
    # One source at a time, in a fixed order: the demo and the "-omit" copies share UIDs, and
    # which of two sources is merged first decides an event's SEQUENCE and LAST-MODIFIED.
    config = site.config()
    store = Store(config.store_path)
    try:
        outcomes = [
            outcome
            for source in sorted(config.sources, key=lambda s: s.id)
            for outcome in refresh(config, store, only=[source.id], now=NOW)
        ]
    finally:
        store.close()
    assert [o.status for o in outcomes] == ["updated"] * len(outcomes), [
        (o.source.id, o.error) for o in outcomes if o.status != "updated"
    ]
    db = sqlite3.connect(config.store_path)
    try:
        rows = {table: db.execute(query).fetchall() for table, query in TABLES.items()}
    finally:
        db.close()
    # The same once-per-process warning: whether the second source with that TZID gets it
    # depends on what this process parsed before.
    rows["sources"] = [
        (*row[:2], [w for w in json.loads(row[2]) if "globally unique TZID" not in w], *row[3:])
        for row in rows["sources"]
    ]
    return {table: hashlib.sha256(repr(r).encode()).hexdigest() for table, r in rows.items()}


def test_ingest_output_is_unchanged(ingested: dict[str, str]) -> None:
    if os.environ.get("FEEDSERVER_UPDATE_DIGESTS") == "1":
        DIGESTS.write_text(json.dumps(ingested, indent=1, sort_keys=True) + "\n")
    expected = json.loads(DIGESTS.read_text())
    changed = sorted(t for t in TABLES if ingested[t] != expected.get(t))
    assert not changed, (
        f"ingest output changed in {', '.join(changed)} (see this file's docstring "
        "if the change is deliberate)"
    )
