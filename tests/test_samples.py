"""Every upstream sample goes through the whole pipeline and out through independent parsers.

Adding a file to tests/samples/ics/ adds a case: the feed feedserver emits for it must pass the
RFC 5545 / client lint and give the same occurrences in icalendar, ical.js (Thunderbird),
vobject and Home Assistant's ical.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.conftest import SAMPLES
from tests.interop_parsers import check_feed

START, END = datetime(2025, 6, 1, tzinfo=UTC), datetime(2027, 6, 1, tzinfo=UTC)
SAMPLE_FILES = sorted(p.name for p in (SAMPLES / "ics").glob("*.ics"))


@pytest.mark.slow
@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_sample_feed_is_valid_and_parsers_agree(site, name):
    site.sample("src", name, extra='timezone = "America/Los_Angeles"')
    outcome = site.refresh()[0]
    assert outcome.status == "updated", outcome.error
    response = site.client().get("/all.ics?from=2025-06-01&to=2027-05-31")
    assert response.status_code == 200
    results = check_feed(response.data, START, END)
    assert results["icalendar"], f"{name}: no occurrences in the window"
