"""Live changes without a restart: LiveConfig reloads, the refresher follows, health reports."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

from feedserver.config import LiveConfig
from feedserver.refresh import Refresher
from feedserver.store import Store
from tests.conftest import NOW, SAMPLES

GOOD = (SAMPLES / "ics" / "recurring_overrides.ics").read_bytes()
WINDOW = "/all.ics?from=2026-01-01&to=2026-12-31"


def live(site) -> LiveConfig:
    return LiveConfig(site.config(), site.config, check_every=0)


def test_a_new_file_is_loaded_and_a_bad_one_keeps_the_last_good(site):
    watcher = live(site)
    assert watcher.current().sources == ()
    site.source("lab", 'name = "Lab"\nkind = "ics"\ncalendar = "ece"', GOOD)
    assert [s.id for s in watcher.current().sources] == ["lab"]
    bad = site.source("lab", 'name = "Lab"\nkind = "ics"\ncalendar = "nope"', GOOD)
    assert [s.calendar for s in watcher.current().sources] == ["ece"]
    assert watcher.problems == [
        f"{bad}: calendar 'nope' is not defined in site.toml (known: ece, cs)"
    ]


def test_the_refresher_fetches_new_and_edited_sources_and_prunes_removed(site):
    watcher = live(site)
    store = Store(site.config().store_path)
    refresher = Refresher(watcher, store)
    site.source("lab", 'name = "Lab"\nkind = "ics"\ncalendar = "ece"\nrefresh = "1d"', GOOD)
    outcomes = refresher.run_once(watcher.current(), now=NOW)
    assert [(o.source.id, o.status) for o in outcomes] == [("lab", "updated")]
    # Not due for a day, but its mapping changed: refreshed at once.
    site.source("lab", 'name = "Lab"\nkind = "ics"\ncalendar = "cs"\nrefresh = "1d"', GOOD)
    later = NOW + timedelta(minutes=1)
    outcomes = refresher.run_once(watcher.current(), now=later)
    assert [(o.source.id, o.status) for o in outcomes] == [("lab", "updated")]
    assert store.counts("event_calendars") == {"cs": 3}
    assert refresher.run_once(watcher.current(), now=later) == []  # nothing changed since
    (site.feeds / "sources" / "lab.toml").unlink()
    refresher.run_once(watcher.current(), now=later)
    assert store.count_events() == 0
    store.close()


def test_the_app_serves_a_source_added_on_disk_without_restart(site):
    client = site.client()
    site.apps[-1].extensions["feedserver"].live.check_every = 0
    assert b"weekly-seminar" not in client.get(WINDOW).data
    site.source("lab", 'name = "Lab"\nkind = "ics"\ncalendar = "ece"', GOOD)
    site.refresh()
    assert client.get("/calendars/ece.ics?from=2026-01-01").status_code == 200
    assert b"weekly-seminar" in client.get(WINDOW).data
    assert client.get("/status.json").get_json()["sources"][0]["id"] == "lab"


def test_status_page_json_and_config_problems(site):
    site.source("lab", 'name = "Lab"\nkind = "ics"\ncalendar = "ece"', GOOD)
    site.refresh()
    client = site.client()
    site.apps[-1].extensions["feedserver"].live.check_every = 0
    page = client.get("/status")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.data.decode()
    assert 'id="source-lab"' in html and "<td>3</td>" in html and "All enabled" in html
    site.source("lab", 'name = "Lab"\nkind = "ics"\ncalendar = "nope"', GOOD)
    report = client.get("/status.json").get_json()
    assert not report["ok"] and "calendar 'nope'" in report["config_problems"][0]
    assert report["sources"][0]["calendar"] == "ece"  # the last good configuration serves
    assert "keeps serving the last good configuration" in client.get("/status").data.decode()


def test_healthz_is_503_when_the_store_cannot_be_read(site):
    client = site.client()
    assert client.get("/healthz").status_code == 200
    with sqlite3.connect(site.config().store_path) as db:
        db.execute("DROP TABLE state")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.data.startswith(b"unavailable: the store cannot be read")


def test_metrics_count_requests_cache_and_refreshes(site, upstream):
    upstream.serve("/cal.ics", b"nope", status=500)
    url = upstream.url("/cal.ics")
    site.source("up", f'name = "Up"\nkind = "ics"\ncalendar = "ece"\nurl = "{url}"')
    client = site.client(token="t")
    auth = {"Authorization": "Bearer t"}
    client.post("/admin/api/sources/up/refresh", headers=auth)
    for _ in range(3):
        client.get("/all.ics")
    client.get("/calendars/nope.ics")
    text = client.get("/metrics").data.decode()
    lines = set(text.splitlines())
    assert 'feedserver_http_requests_total{method="GET",route="/all.ics",status="200"} 3' in lines
    assert (
        'feedserver_http_requests_total{method="GET",route="/calendars/<slug>.ics",status="404"} 1'
        in lines
    )
    assert "feedserver_response_cache_hits_total 2" in lines
    assert "feedserver_response_cache_misses_total 1" in lines
    assert 'feedserver_source_failures_total{source="up"} 1' in lines
    assert 'feedserver_refresh_duration_seconds_count{result="failed",source="up"} 1' in lines
    assert 'feedserver_source_up{source="up"} 0' in lines
    assert "# TYPE feedserver_http_request_duration_seconds histogram" in lines


def test_metrics_are_summed_over_processes(site):
    """Two apps stand in for two gunicorn workers: each scrape shows both's counts."""
    one, two = site.client(), site.client()
    one.get("/healthz")
    two.get("/healthz")
    two.get("/healthz")
    for app in site.apps:  # what each worker's refresher thread does every second
        app.extensions["feedserver"].metrics.flush()
    for client in (one, two):
        text = client.get("/metrics").data.decode()
        assert 'feedserver_http_requests_total{method="GET",route="/healthz",status="200"} 3' in (
            text
        )


def test_a_refresher_holding_an_old_configuration_never_prunes_a_new_source(site):
    """Another process added and ingested a source; this process has not looked at the files
    yet. Its pass must read them under the lock instead of pruning the newcomer."""
    import threading

    watcher = LiveConfig(site.config(), site.config, check_every=3600)  # never looks by itself
    site.source("lab", 'name = "Lab"\nkind = "ics"\ncalendar = "ece"', GOOD)
    site.refresh()
    store = Store(site.config().store_path)
    passed = threading.Event()
    refresher = Refresher(watcher, store, every_second=passed.set)
    refresher.start()
    assert passed.wait(10)
    refresher.stop()
    refresher.join()
    check = Store(site.config().store_path)
    assert check.count_events() == 3
    check.close()
