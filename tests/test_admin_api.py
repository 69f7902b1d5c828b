"""The admin API over the Flask test client: token, validation, ETags, races, live feeds."""

from __future__ import annotations

import hashlib
import json
import threading

import pytest

from feedserver.sources import KINDS
from tests.conftest import SAMPLES

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
GOOD = (SAMPLES / "ics" / "recurring_overrides.ics").read_bytes()
WINDOW = "/all.ics?from=2026-01-01&to=2026-12-31"
ID_RULE = "lowercase letters, digits and '-', 1-63 characters, not starting with '-'"


@pytest.fixture
def api(site):
    """A client with the admin API on, and a local file a path source can point to."""
    (site.feeds / "data" / "lab.ics").write_bytes(GOOD)
    return site.client(token=TOKEN)


def valid(**changes) -> dict:
    body = {
        "id": "lab",
        "name": "Lab talks",
        "kind": "ics",
        "path": "data/lab.ics",
        "calendar": "ece",
        "types": ["seminar"],
        "fetch": False,
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def etag_of(data: bytes) -> str:
    return '"' + hashlib.sha256(data).hexdigest()[:32] + '"'


# -- the token ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/admin"),
        ("GET", "/admin/"),
        ("GET", "/admin/api/sources"),
        ("POST", "/admin/api/sources"),
        ("PATCH", "/admin/api/sources"),
        ("GET", "/admin/api/sources/x"),
        ("DELETE", "/admin/api/sources/x"),
        ("GET", "/admin/static/admin.js"),
        ("GET", "/admin/anything"),
    ],
)
def test_everything_under_admin_is_404_without_a_configured_token(site, method, path):
    response = site.client().open(path, method=method, headers=AUTH)
    assert response.status_code == 404


def test_unauthenticated_probes_get_401_not_405_or_404(api):
    assert api.patch("/admin/api/sources").status_code == 401
    assert api.get("/admin/api/nothing-here").status_code == 401


def test_missing_token_is_401_with_a_challenge(api):
    response = api.get("/admin/api/sources")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="feedserver admin"'
    assert response.get_json() == {
        "ok": False,
        "error": "missing bearer token: send 'Authorization: Bearer <token>'",
        "errors": ["missing bearer token: send 'Authorization: Bearer <token>'"],
        "status": 401,
    }


@pytest.mark.parametrize("header", [f"Bearer {TOKEN}x", "Bearer s3cret", f"Basic {TOKEN}"])
def test_wrong_token_is_401(api, header):
    response = api.get("/admin/api/sources", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="feedserver admin"')


def test_wrong_token_changes_nothing(api, site):
    before = site.snapshot()
    response = api.post("/admin/api/sources", json=valid(), headers={"Authorization": "Bearer x"})
    assert response.status_code == 401 and site.snapshot() == before


# -- validation: every failure is precise and writes nothing -----------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"id": "../etc"}, f"id: '../etc' is not a valid source id ({ID_RULE})"),
        ({"id": "Lab"}, f"id: 'Lab' is not a valid source id ({ID_RULE})"),
        ({"id": "-lab"}, f"id: '-lab' is not a valid source id ({ID_RULE})"),
        ({"id": None}, f"id: None is not a valid source id ({ID_RULE})"),
        ({"kind": "icss"}, f"unknown source kind 'icss'; known: {', '.join(sorted(KINDS))}"),
        ({"url": "https://example.edu/a.ics"}, "set exactly one of url or path"),
        ({"path": None}, "set exactly one of url or path"),
        (
            {"path": None, "url": "ftp://example.edu/a.ics"},
            "url must be an http or https URL, got 'ftp://example.edu/a.ics'",
        ),
        (
            {"path": "../site.toml"},
            "path must be relative to the feeds folder, got '../site.toml'",
        ),
        ({"path": "/etc/passwd"}, "path must be relative to the feeds folder, got '/etc/passwd'"),
        ({"path": "data/nope.ics"}, "path 'data/nope.ics' does not exist in {feeds}"),
        ({"calendar": "eee"}, "calendar 'eee' is not defined in site.toml (known: ece, cs)"),
        (
            {"types": ["seminr"]},
            "type 'seminr' is not defined in site.toml (known: seminar, workshop, social)",
        ),
        ({"types": "seminar"}, "types must be a list of type slugs"),
        (
            {"categories": {"Talks": "talk"}},
            "categories.'Talks' maps to unknown type 'talk'",
        ),
        ({"refresh": "soon"}, "refresh: expected a duration like 30m, 6h or 1d, got 'soon'"),
        ({"timezone": "Mars/Olympus"}, "timezone 'Mars/Olympus' is not an IANA time zone name"),
        ({"calender": "ece"}, "unknown key 'calender' (did you mean 'calendar'?)"),
        ({"enabled": "yes"}, "enabled must be true or false, got 'yes'"),
        ({"online_links": "hide"}, "online_links must be one of include, omit, got 'hide'"),
        ({"fetch": "no"}, "fetch: must be true or false, got 'no'"),
    ],
)
def test_each_invalid_definition_is_refused_precisely_and_writes_nothing(
    api, site, changes, message
):
    message = message.format(feeds=site.feeds)
    before = site.snapshot()
    response = api.post("/admin/api/sources", json=valid(**changes), headers=AUTH)
    assert response.status_code == 400
    assert response.get_json() == {
        "ok": False,
        "error": f"invalid source definition: {message}",
        "errors": [message],
        "status": 400,
    }
    assert site.snapshot() == before


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"calendar": "eee"}, "calendar 'eee' is not defined in site.toml (known: ece, cs)"),
        ({"path": "../../etc/passwd"}, "path must be relative to the feeds folder"),
        ({"id": "other"}, "id: a source cannot be renamed ('lab' → 'other')"),
        ({"kind": None}, f"unknown source kind None; known: {', '.join(sorted(KINDS))}"),
    ],
)
def test_each_invalid_put_is_refused_and_writes_nothing(api, site, changes, message):
    site.source("lab", 'name = "Lab"\nkind = "ics"\ncalendar = "ece"', GOOD)
    before = site.snapshot()
    body = valid(**{"id": None, **changes})
    response = api.put("/admin/api/sources/lab", json=body, headers=AUTH)
    assert response.status_code == 400
    assert response.get_json()["errors"][0].startswith(message)
    assert site.snapshot() == before


def test_every_problem_is_reported_at_once(api, site):
    before = site.snapshot()
    body = valid(calendar="eee", refresh="soon", timezone="Mars/Olympus")
    response = api.post("/admin/api/sources", json=body, headers=AUTH)
    assert response.get_json()["error"] == "invalid source definition: 3 problems"
    assert response.get_json()["errors"] == [
        "calendar 'eee' is not defined in site.toml (known: ece, cs)",
        "timezone 'Mars/Olympus' is not an IANA time zone name",
        "refresh: expected a duration like 30m, 6h or 1d, got 'soon'",
    ]
    assert site.snapshot() == before


def test_body_must_be_a_json_object(api, site):
    before = site.snapshot()
    response = api.post(
        "/admin/api/sources", data="[1]", content_type="application/json", headers=AUTH
    )
    assert response.status_code == 400
    assert response.get_json()["errors"] == [
        'the request body must be a JSON object, e.g. {"kind": "ics", …}'
    ]
    assert site.snapshot() == before


def test_duplicate_id_is_409_and_writes_nothing(api, site):
    site.source("lab", 'name = "Old"\nkind = "ics"\ncalendar = "cs"', GOOD)
    before = site.snapshot()
    response = api.post("/admin/api/sources", json=valid(), headers=AUTH)
    assert response.status_code == 409
    assert response.get_json()["error"] == "source 'lab' already exists"
    assert site.snapshot() == before


def test_a_failing_test_fetch_is_422_and_writes_nothing(api, site, upstream):
    before = site.snapshot()
    url = upstream.url("/missing.ics")
    body = valid(path=None, url=url, fetch=True)
    response = api.post("/admin/api/sources", json=body, headers=AUTH)
    assert response.status_code == 422
    assert response.get_json()["errors"] == [f"HTTP 404 Not Found from {url}"]
    assert site.snapshot() == before


def test_ssrf_refusal_is_reported_by_the_api(site, upstream):
    (site.feeds / "site.toml").write_text(
        (site.feeds / "site.toml").read_text().replace('["127.0.0.0/8"]', "[]")
    )
    api = site.client(token=TOKEN)
    url = upstream.url("/cal.ics")
    response = api.post("/admin/api/sources/test", json={"url": url}, headers=AUTH)
    assert response.status_code == 422
    assert response.get_json()["errors"] == [
        f"refusing to fetch {url}: 127.0.0.1 is a loopback address; "
        "allow it with fetch.allow_networks"
    ]
    assert upstream.requests == []


# -- the happy paths ---------------------------------------------------------------------------


def test_add_writes_valid_toml_refreshes_and_the_events_appear(api, site, upstream):
    upstream.serve("/cal.ics", GOOD)
    body = valid(path=None, url=upstream.url("/cal.ics"), fetch=True)
    response = api.post("/admin/api/sources", json=body, headers=AUTH)
    assert response.status_code == 201, response.get_json()
    data = response.get_json()
    text = (site.feeds / "sources" / "lab.toml").read_bytes()
    assert response.headers["ETag"] == data["etag"] == etag_of(text)
    assert response.headers["Location"] == "/admin/api/sources/lab"
    assert data["preview"]["events"] == 3 and data["refresh"]["status"] == "updated"
    assert site.config().source("lab").url == upstream.url("/cal.ics")
    assert b"UID:weekly-seminar@example.edu" in api.get(WINDOW).data
    assert list(site.feeds.joinpath("sources").iterdir()) == [site.feeds / "sources/lab.toml"]


def test_remove_takes_the_events_out_of_the_feeds(api, site):
    api.post("/admin/api/sources", json=valid(fetch=True), headers=AUTH)
    assert b"weekly-seminar@example.edu" in api.get(WINDOW).data
    response = api.delete("/admin/api/sources/lab", headers=AUTH)
    assert response.get_json() == {"ok": True, "removed": "lab"}
    assert not (site.feeds / "sources" / "lab.toml").exists()
    assert b"weekly-seminar@example.edu" not in api.get(WINDOW).data
    assert api.get("/admin/api/sources/lab", headers=AUTH).status_code == 404


def test_get_returns_definition_etag_and_status(api, site):
    path = site.source("lab", '# hand-written\nname = "Lab"\nkind = "ics"\ncalendar = "ece"', GOOD)
    site.refresh()
    response = api.get("/admin/api/sources/lab", headers=AUTH)
    data = response.get_json()
    assert response.headers["ETag"] == data["etag"] == etag_of(path.read_bytes())
    assert data["toml"] == path.read_text()
    assert data["source"]["calendar"] == "ece" and data["source"]["refresh"] == "1h"
    assert data["status"]["ok"] and data["status"]["events"] == 3
    status = api.get("/admin/api/sources/lab/status", headers=AUTH).get_json()
    assert status["status"] == data["status"]


def test_put_replaces_the_definition_and_keeps_comments(api, site):
    path = site.source(
        "lab", '# why this source exists\nname = "Lab"\nkind = "ics"\ncalendar = "ece"', GOOD
    )
    etag = api.get("/admin/api/sources/lab", headers=AUTH).headers["ETag"]
    body = valid(id=None, path="data/lab.ics", calendar="cs", categories={"Talks": "seminar"})
    response = api.put("/admin/api/sources/lab", json=body, headers={**AUTH, "If-Match": etag})
    assert response.status_code == 200, response.get_json()
    text = path.read_text()
    assert '# why this source exists\nname = "Lab talks"' in text and 'calendar = "cs"' in text
    assert site.config().source("lab").categories == (("Talks", "seminar"),)
    assert response.headers["ETag"] == etag_of(path.read_bytes())


def test_stale_if_match_is_412_and_writes_nothing(api, site):
    site.source("lab", 'name = "Lab"\nkind = "ics"\ncalendar = "ece"', GOOD)
    before = site.snapshot()
    stale = {**AUTH, "If-Match": etag_of(b"something else")}
    put = api.put("/admin/api/sources/lab", json=valid(id=None), headers=stale)
    delete = api.delete("/admin/api/sources/lab", headers=stale)
    assert (put.status_code, delete.status_code) == (412, 412)
    assert put.get_json()["error"].startswith("source 'lab' was changed by someone else")
    assert site.snapshot() == before


def test_two_concurrent_edits_with_the_same_etag_exactly_one_wins(api, site):
    site.source("lab", 'name = "Lab"\nkind = "ics"\ncalendar = "ece"', GOOD)
    etag = api.get("/admin/api/sources/lab", headers=AUTH).headers["ETag"]
    app = site.apps[-1]
    start = threading.Barrier(2)
    results: dict[str, int] = {}

    def edit(name: str) -> None:
        client = app.test_client()
        start.wait()
        response = client.put(
            "/admin/api/sources/lab",
            json=valid(id=None, name=name),
            headers={**AUTH, "If-Match": etag},
        )
        results[name] = response.status_code

    threads = [threading.Thread(target=edit, args=(n,)) for n in ("Alice's", "Bob's")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results.values()) == [200, 412]
    winner = next(n for n, code in results.items() if code == 200)
    assert site.config().source("lab").name == winner


def test_refresh_endpoint_and_failure(api, site, upstream):
    upstream.serve("/cal.ics", GOOD)
    url = upstream.url("/cal.ics")
    site.source("lab", f'name = "Lab"\nkind = "ics"\ncalendar = "ece"\nurl = "{url}"')
    ok = api.post("/admin/api/sources/lab/refresh", headers=AUTH)
    assert ok.get_json()["refresh"]["status"] == "updated"
    assert ok.get_json()["refresh"]["http_status"] == 200
    upstream.serve("/cal.ics", b"boom", status=500)
    failed = api.post("/admin/api/sources/lab/refresh", headers=AUTH)
    assert failed.status_code == 502
    assert failed.get_json()["errors"] == [f"HTTP 500 Internal Server Error from {url}"]
    status = api.get("/admin/api/sources/lab/status", headers=AUTH).get_json()["status"]
    assert status["http_status"] == 500 and status["events"] == 3 and not status["ok"]


def test_test_endpoint_previews_without_writing(api, site, upstream):
    upstream.serve("/cal.ics", GOOD)
    before = site.snapshot()
    body = {"url": upstream.url("/cal.ics"), "calendar": "cs", "limit": 2}
    response = api.post("/admin/api/sources/test", json=body, headers=AUTH)
    preview = response.get_json()["preview"]
    assert preview["events"] == 3 and preview["calendar"] == "cs"
    assert len(preview["upcoming"]) <= 2 and preview["http_status"] == 200
    assert site.snapshot() == before
    assert not (site.data / "fetch").exists() or not any((site.data / "fetch").iterdir())


def test_changes_are_audited_with_address_and_content(api, site):
    api.post("/admin/api/sources", json=valid(), headers=AUTH)
    etag = api.get("/admin/api/sources/lab", headers=AUTH).headers["ETag"]
    api.put(
        "/admin/api/sources/lab",
        json=valid(id=None, name="Renamed"),
        headers={**AUTH, "If-Match": etag, "X-Forwarded-For": "203.0.113.9"},
    )
    api.delete("/admin/api/sources/lab", headers=AUTH)
    lines = (site.data / "audit.log").read_text().splitlines()
    entries = [json.loads(line) for line in lines]
    assert [e["action"] for e in entries] == ["add", "edit", "remove"]
    assert all(e["via"] == "api" and e["address"] == "127.0.0.1" for e in entries)
    assert entries[1]["forwarded_for"] == "203.0.113.9"
    assert entries[1]["etag_before"] == etag and 'name = "Renamed"' in entries[1]["after"]
    assert entries[2]["after"] is None and entries[2]["before"] == entries[1]["after"]


def test_list_shows_every_source_with_status(api, site):
    site.source("lab", 'name = "Lab"\nkind = "ics"\ncalendar = "ece"', GOOD)
    site.refresh()
    data = api.get("/admin/api/sources", headers=AUTH).get_json()
    assert [s["id"] for s in data["sources"]] == ["lab"]
    assert data["sources"][0]["status"]["events"] == 3 and data["config_problems"] == []


def test_feeds_stay_valid_for_check_while_edits_are_written(api, site):
    """A reader loading the configuration in a loop never sees a half-written file."""
    from feedserver.errors import ConfigError

    site.source("lab", 'name = "Lab"\nkind = "ics"\ncalendar = "ece"', GOOD)
    stop = threading.Event()
    loads: list[int] = []
    failures: list[ConfigError] = []

    def check() -> None:
        while not stop.is_set():
            try:
                site.config()
                loads.append(1)
            except ConfigError as e:
                failures.append(e)

    reader = threading.Thread(target=check)
    reader.start()
    try:
        for n in range(25):
            body = valid(id=None, name=f"Lab {n}" + " with a longer name" * (n % 3))
            assert api.put("/admin/api/sources/lab", json=body, headers=AUTH).status_code == 200
    finally:
        stop.set()
        reader.join()
    assert failures == [] and len(loads) > 0
    assert site.config().source("lab").name == "Lab 24"
