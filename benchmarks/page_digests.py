#!/usr/bin/env python3
"""The pages of a store built from the test fixtures, as SHA-256 digests: a before/after check
that a change (a faster query, another template) leaves every byte of the HTML as it was.

    .venv/bin/python benchmarks/page_digests.py after.json
    PYTHONPATH=../other-checkout .venv/bin/python benchmarks/page_digests.py before.json
    .venv/bin/python benchmarks/page_digests.py --compare before.json after.json

The second line renders with another checkout's ``feedserver`` (it comes first on the path);
the fixtures and the list of pages are this checkout's. The pages: the calendar page for 17
months with every kind of filter (every day of the months with clock changes), each event's
page, previews, JSON, the index and the builder, all on the clock of the tests (March 1, 2026).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import tempfile
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
SOURCES = [  # (source, fixture in tests/samples/ics, calendar)
    ("edges", "calendar_month_edges.ics", "ece"),
    ("spans", "calendar_day_spans.ics", "cs"),
    ("overrides", "recurring_overrides.ics", "ece"),
    ("filters", "subscriber_filters.ics", "cs"),
    ("google", "x_wr_timezone_google.ics", "cs"),
    ("zoom", "zoom_export.ics", "ece"),
]
VIEWS = [
    "/calendar",
    "/calendar/cs",
    "/calendar/ece?type=seminar",
    "/calendar?type=workshop,social&exclude_type=seminar",
    "/calendar?q=clock,midnight,owl",
    "/calendar?online=1",
    "/calendar?location=eeb",
    "/calendar/cs?online=0&type=social,workshop",
]
MONTHS = [(2024, 10), (2024, 11), (2025, 3)] + [(2026, m) for m in range(1, 13)]
MONTHS += [(2027, 1), (2029, 6)]  # 2029: beyond the precomputed horizon
EVERY_DAY = {(2026, 3), (2026, 10), (2026, 11)}  # the clocks change


def urls(event_ids: list[str]) -> list[str]:
    found = []
    for year, month in MONTHS:
        for view in VIEWS:
            page = f"{view}{'&' if '?' in view else '?'}month={year}-{month:02d}"
            found.append(page)
            for day in range(1, 32, 1 if (year, month) in EVERY_DAY else 5):
                try:
                    found.append(f"{page}&day={date(year, month, day).isoformat()}")
                except ValueError:  # the 31st of a shorter month
                    pass
    found += ["/calendar", "/calendar/ece", "/calendar?day=2026-03-31"]
    found += [f"/events/{event_id}" for event_id in event_ids]
    found += ["/all", "/calendars/ece", "/calendars/cs?days=400", "/all.json?days=400"]
    found += ["/", "/build"]
    return found


def digests() -> dict[str, str]:
    import feedserver
    from feedserver.store import Store

    sys.path.append(str(HERE))  # after the feedserver being checked
    from tests.conftest import NOW, Site

    print(f"feedserver from {Path(feedserver.__file__).parent}", file=sys.stderr)
    root = Path(tempfile.mkdtemp(prefix="page-digests-"))
    try:
        site = Site(root)
        for source, fixture, calendar in SOURCES:
            body = (HERE / "tests" / "samples" / "ics" / fixture).read_bytes()
            site.source(source, f'name = "{source}"\nkind = "ics"\ncalendar = "{calendar}"\n', body)
        site.refresh()
        store = Store(site.config().store_path)
        event_ids = [i for (i,) in store.db.execute("SELECT id FROM events ORDER BY id")]
        store.close()
        client = site.client(now=NOW)
        result = {}
        for url in urls(event_ids):
            response = client.get(url)
            if response.status_code != 200:
                raise SystemExit(f"{url}: {response.status_code}")
            result[url] = hashlib.sha256(response.data).hexdigest()
        for app in site.apps:
            app.extensions["feedserver"].store.close()
        return result
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", type=Path, help="OUT.json, or two with --compare")
    parser.add_argument("--compare", action="store_true", help="compare two digest files")
    args = parser.parse_args()
    if args.compare:
        if len(args.files) != 2:
            parser.error("--compare takes two files")
        before, after = (json.loads(f.read_text()) for f in args.files)
        differ = sorted(u for u in before.keys() | after.keys() if before.get(u) != after.get(u))
        for url in differ:
            print(f"differs: {url}")
        print(f"{len(before)} / {len(after)} pages, {len(differ)} differ")
        return 1 if differ else 0
    found = digests()
    args.files[0].write_text(json.dumps(found, indent=1, sort_keys=True) + "\n")
    print(f"{len(found)} pages -> {args.files[0]}")
    return 0


if __name__ == "__main__":  # refresh() parses in worker processes that import this file
    sys.exit(main())
