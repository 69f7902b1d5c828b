"""Ingest over real HTTP: conditional GET, failures that keep the last good events, the CLI."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from feedserver.store import Store
from tests.conftest import NOW, SAMPLES

GOOD = (SAMPLES / "ics" / "recurring_overrides.ics").read_bytes()
WINDOW = "/all.ics?from=2026-01-01&to=2026-12-31"


def url_source(site, upstream, source_id="up", path="/cal.ics"):
    site.source(
        source_id, f'name = "Up"\nkind = "ics"\ncalendar = "ece"\nurl = "{upstream.url(path)}"'
    )


def event_count(site) -> int:
    store = Store(site.config().store_path)
    try:
        return store.count_events()
    finally:
        store.close()


def test_second_refresh_is_a_conditional_get_and_costs_no_parse(site, upstream):
    upstream.serve("/cal.ics", GOOD)
    url_source(site, upstream)
    assert site.refresh()[0].status == "updated"
    outcome = site.refresh(now=NOW + timedelta(hours=1))[0]
    assert outcome.status == "unchanged" and outcome.events == 3
    first, second = (r.headers for r in upstream.requests)
    assert "If-None-Match" not in first and first["User-Agent"].startswith("feedserver/")
    assert second["If-None-Match"] == f'"{hashlib.sha256(GOOD).hexdigest()[:16]}"'


def test_upstream_change_updates_sequence_only_of_changed_events(site, upstream):
    upstream.serve("/cal.ics", GOOD)
    url_source(site, upstream)
    site.refresh()
    upstream.serve("/cal.ics", GOOD.replace(b"Spring festival", b"Spring festival 2026"))
    outcome = site.refresh(now=NOW + timedelta(hours=1))[0]
    assert (outcome.stats.changed, outcome.stats.unchanged) == (1, 2)
    body = site.client().get(WINDOW).data.decode()
    festival = body[body.index("UID:festival@example.edu") - 200 :]
    assert "SEQUENCE:1" in body and "LAST-MODIFIED:20260301T130000Z" in body
    assert "Spring festival 2026" in festival


def test_removed_upstream_event_disappears(site, upstream):
    upstream.serve("/cal.ics", GOOD)
    url_source(site, upstream)
    site.refresh()
    start = GOOD.index(b"BEGIN:VEVENT\r\nUID:festival")
    end = GOOD.index(b"END:VEVENT\r\n", start) + len(b"END:VEVENT\r\n")
    upstream.serve("/cal.ics", GOOD[:start] + GOOD[end:])
    assert site.refresh(now=NOW + timedelta(hours=1))[0].stats.removed == 1
    assert b"festival@example.edu" not in site.client().get(WINDOW).data


def failing(site, upstream, **route) -> str:
    upstream.serve("/cal.ics", GOOD)
    url_source(site, upstream)
    site.refresh()
    upstream.serve("/cal.ics", **route)
    outcome = site.refresh(now=NOW + timedelta(hours=1), **{"fetch.read_timeout": 0.5})[0]
    assert outcome.status == "failed"
    assert event_count(site) == 3, "last good events must stay"
    return outcome.error


def test_http_500_keeps_last_good_events(site, upstream):
    error = failing(site, upstream, body=b"oops", status=500)
    assert error == f"HTTP 500 Internal Server Error from {upstream.url('/cal.ics')}"


def test_garbage_keeps_last_good_events(site, upstream):
    error = failing(site, upstream, body=b"\x00\xff garbage", content_type="text/plain")
    assert error.startswith("not an iCalendar file")


def test_truncated_calendar_keeps_last_good_events(site, upstream):
    error = failing(site, upstream, body=GOOD[: len(GOOD) // 2])
    assert error.startswith("not valid iCalendar")


def test_timeout_keeps_last_good_events(site, upstream):
    error = failing(site, upstream, body=GOOD, delay=2.0, etag=None)
    assert "timed out" in error and upstream.url("/cal.ics") in error


def test_oversize_keeps_last_good_events(site, upstream):
    upstream.serve("/cal.ics", GOOD)
    url_source(site, upstream)
    site.refresh()
    upstream.serve_stream("/cal.ics", b"X" * 65536, 40, content_length=False)
    outcome = site.refresh(now=NOW + timedelta(hours=1), **{"fetch.max_bytes": 1_000_000})[0]
    assert outcome.status == "failed" and "larger than 1000000 bytes" in outcome.error
    assert event_count(site) == 3


def test_unreachable_source_is_recorded(site, upstream):
    site.source(
        "gone",
        f'name = "G"\nkind = "ics"\ncalendar = "ece"\nurl = "{upstream.closed_port_url("/x.ics")}"',
    )
    outcome = site.refresh()[0]
    assert outcome.status == "failed" and outcome.error.startswith("could not connect to")


def test_only_due_sources_are_refreshed(site, upstream):
    upstream.serve("/cal.ics", GOOD)
    site.source(
        "up",
        f'name = "Up"\nkind = "ics"\ncalendar = "ece"\nrefresh = "6h"\n'
        f'url = "{upstream.url("/cal.ics")}"',
    )
    site.refresh()
    from feedserver.refresh import refresh

    config = site.config()
    store = Store(config.store_path)
    try:
        assert refresh(config, store, now=NOW + timedelta(hours=1)) == []
        assert [o.source.id for o in refresh(config, store, now=NOW + timedelta(hours=6))] == ["up"]
    finally:
        store.close()
    assert upstream.hits("/cal.ics") == 2


def test_removing_a_source_definition_removes_its_events(site):
    path = site.sample("lab", "recurring_overrides.ics")
    site.refresh()
    path.unlink()
    site.refresh(now=NOW + timedelta(hours=1))
    assert event_count(site) == 0


def test_cli_refresh_summarises_and_fails_when_a_source_fails(site, upstream, runner):
    site.sample("lab", "recurring_overrides.ics")
    upstream.serve("/cal.ics", b"nope", status=404)
    url_source(site, upstream, "broken")
    result = runner("refresh", "--all")
    assert result.exit_code == 1
    assert "lab                      updated   3 events (+3 ~0 -0)" in result.output
    assert (
        f"broken                   failed    HTTP 404 Not Found from {upstream.url('/cal.ics')}"
        in result.output
    )
    assert "1 of 2 source(s) failed" in result.output


def test_cli_refresh_named_and_unknown_sources(site, runner):
    site.sample("lab", "recurring_overrides.ics")
    assert runner("refresh", "lab").exit_code == 0
    assert "unchanged" in runner("refresh", "lab").output
    unknown = runner("refresh", "lba")
    assert unknown.exit_code == 2 and "unknown source id(s): lba (known: lab)" in unknown.output
