"""Stage ①: fetch_url / read_file against a real HTTP server on 127.0.0.1 (tests/upstream.py)."""

from __future__ import annotations

import gzip
import json
import logging
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from feedserver.errors import FetchError
from feedserver.fetch import (
    FetchCache,
    Fetched,
    FetchLimits,
    fetch_url,
    read_file,
)
from feedserver.netguard import parse_networks
from tests.upstream import Upstream  # the `upstream` fixture comes from tests/conftest.py

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
LATER = datetime(2025, 3, 1, 13, 0, tzinfo=UTC)
ICS = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nEND:VCALENDAR\r\n"
LOOPBACK = parse_networks(["127.0.0.0/8"])  # tests/upstream.py listens on 127.0.0.1
FAST = FetchLimits(connect_timeout=0.5, read_timeout=0.3, allow_networks=LOOPBACK)
MB_LIMIT = FetchLimits(max_bytes=1_000_000, allow_networks=LOOPBACK)


@pytest.fixture
def cache(tmp_path: Path) -> FetchCache:
    return FetchCache(tmp_path / "data", "club")


def fetch(url: str, cache: FetchCache, limits: FetchLimits = FAST, now: datetime = NOW) -> Fetched:
    return fetch_url(url, cache, limits, now=now)


# -- conditional GET ----------------------------------------------------------------------------


def test_200_then_304_returns_cached_bytes(upstream: Upstream, cache: FetchCache) -> None:
    upstream.serve("/cal.ics", ICS)
    first = fetch(upstream.url("/cal.ics"), cache)
    mtime = cache.body_path.stat().st_mtime_ns
    second = fetch(upstream.url("/cal.ics"), cache, now=LATER)
    assert (first.body, first.not_modified, second.body, second.not_modified) == (
        ICS,
        False,
        ICS,
        True,
    )
    assert "If-None-Match" not in upstream.requests[0].headers
    assert upstream.requests[1].headers["If-None-Match"] == first.etag
    assert cache.body_path.stat().st_mtime_ns == mtime
    assert second.sha256 == first.sha256 and second.fetched_at == LATER


def test_first_fetch_records_validators_and_request_headers(
    upstream: Upstream, cache: FetchCache
) -> None:
    upstream.serve("/cal.ics", ICS, etag='"v1"', last_modified="Sat, 01 Mar 2025 10:00:00 GMT")
    got = fetch(upstream.url("/cal.ics"), cache)
    assert (got.etag, got.last_modified, got.final_url) == (
        '"v1"',
        "Sat, 01 Mar 2025 10:00:00 GMT",
        upstream.url("/cal.ics"),
    )
    headers = upstream.requests[0].headers
    assert headers["User-Agent"].startswith("feedserver/")
    assert headers["Accept"] == "text/calendar, application/json;q=0.9, text/html;q=0.8, */*;q=0.5"
    assert headers["Accept-Encoding"] == "gzip, deflate"
    assert cache.load() == Fetched(
        ICS, got.sha256, False, '"v1"', got.last_modified, got.final_url, NOW
    )


def test_last_modified_only_uses_if_modified_since(upstream: Upstream, cache: FetchCache) -> None:
    stamp = "Sat, 01 Mar 2025 10:00:00 GMT"
    upstream.serve("/cal.ics", ICS, etag=None, last_modified=stamp)
    fetch(upstream.url("/cal.ics"), cache)
    second = fetch(upstream.url("/cal.ics"), cache)
    assert second.not_modified and second.body == ICS
    assert upstream.requests[1].headers["If-Modified-Since"] == stamp
    assert "If-None-Match" not in upstream.requests[1].headers


def test_changed_upstream_body_is_saved(upstream: Upstream, cache: FetchCache) -> None:
    upstream.serve("/cal.ics", ICS)
    fetch(upstream.url("/cal.ics"), cache)
    upstream.serve("/cal.ics", ICS + b"X")
    second = fetch(upstream.url("/cal.ics"), cache)
    assert (second.not_modified, second.body) == (False, ICS + b"X")
    assert cache.body_path.read_bytes() == ICS + b"X"


def test_304_without_cached_body_fails(upstream: Upstream, cache: FetchCache) -> None:
    upstream.serve("/cal.ics", b"", status=304)
    with pytest.raises(FetchError, match=r"HTTP 304 Not Modified from .*nothing is cached"):
        fetch(upstream.url("/cal.ics"), cache)


# -- encoding and redirects ---------------------------------------------------------------------


def test_gzip_body_is_decoded(upstream: Upstream, cache: FetchCache) -> None:
    body = ICS * 500
    upstream.serve("/cal.ics", body, gzip=True)
    got = fetch(upstream.url("/cal.ics"), cache)
    assert got.body == body and cache.body_path.read_bytes() == body


def test_gzip_bomb_counts_decompressed_size(upstream: Upstream, cache: FetchCache) -> None:
    upstream.serve("/bomb", b"\0" * 3_000_000, gzip=True)
    assert len(gzip.compress(b"\0" * 3_000_000)) < 1_000_000
    with pytest.raises(FetchError, match=r"^response larger than 1000000 bytes \(limit\) from "):
        fetch(upstream.url("/bomb"), cache, MB_LIMIT)


def test_redirect_is_followed_and_final_url_recorded(upstream: Upstream, cache: FetchCache) -> None:
    upstream.redirect("/old.ics", "/new.ics", status=301)
    upstream.serve("/new.ics", ICS)
    got = fetch(upstream.url("/old.ics"), cache)
    assert (got.body, got.final_url) == (ICS, upstream.url("/new.ics"))
    assert (upstream.hits("/old.ics"), upstream.hits("/new.ics")) == (1, 1)


def test_too_many_redirects(upstream: Upstream, cache: FetchCache) -> None:
    for i in range(4):
        upstream.redirect(f"/r{i}", f"/r{i + 1}")
    upstream.serve("/r4", ICS)
    with pytest.raises(FetchError, match=r"^too many redirects \(more than 2\) from http://"):
        fetch(upstream.url("/r0"), cache, FetchLimits(max_redirects=2, allow_networks=LOOPBACK))
    four = FetchLimits(max_redirects=4, allow_networks=LOOPBACK)
    assert fetch(upstream.url("/r0"), cache, four).body == ICS


def test_redirect_to_other_scheme_fails(upstream: Upstream, cache: FetchCache) -> None:
    upstream.redirect("/cal.ics", "file:///etc/passwd")
    with pytest.raises(
        FetchError, match=r"^redirect from http://127\.0\.0\.1:\d+/cal\.ics to a non"
    ):
        fetch(upstream.url("/cal.ics"), cache)


# -- failures -----------------------------------------------------------------------------------


def test_read_timeout(upstream: Upstream, cache: FetchCache) -> None:
    upstream.serve("/slow", ICS, delay=2.0)
    url = upstream.url("/slow")
    with pytest.raises(FetchError) as caught:
        fetch(url, cache)
    assert str(caught.value) == f"timed out after 0.3 s reading {url}"


def test_trickling_body_hits_total_time_budget(upstream: Upstream, cache: FetchCache) -> None:
    upstream.serve_stream("/trickle", b"x" * 100, 100, interval=0.05)
    started = time.monotonic()
    with pytest.raises(FetchError, match=r"^timed out after 0\.3 s reading .*total download time"):
        fetch(upstream.url("/trickle"), cache)
    assert time.monotonic() - started < 1.5


def test_http_500(upstream: Upstream, cache: FetchCache) -> None:
    upstream.serve("/cal.ics", b"boom", status=500, content_type="text/plain")
    with pytest.raises(FetchError) as caught:
        fetch(upstream.url("/cal.ics"), cache)
    assert str(caught.value) == f"HTTP 500 Internal Server Error from {upstream.url('/cal.ics')}"


def test_http_404(upstream: Upstream, cache: FetchCache) -> None:
    with pytest.raises(FetchError) as caught:
        fetch(upstream.url("/missing.ics"), cache)
    assert str(caught.value) == f"HTTP 404 Not Found from {upstream.url('/missing.ics')}"


def test_connection_refused(upstream: Upstream, cache: FetchCache) -> None:
    url = upstream.closed_port_url("/cal.ics")
    with pytest.raises(FetchError) as caught:
        fetch(url, cache)
    assert str(caught.value) == f"could not connect to {url}: Connection refused"


def test_oversize_by_content_length(upstream: Upstream, cache: FetchCache) -> None:
    upstream.serve_stream("/big", b"x" * 10_000, 200)
    with pytest.raises(FetchError, match=r"^response larger than 1000000 bytes \(limit\) from .*"):
        fetch(upstream.url("/big"), cache, MB_LIMIT)


def test_oversize_streamed_without_content_length(upstream: Upstream, cache: FetchCache) -> None:
    upstream.serve_stream("/big", b"x" * 10_000, 10_000, content_length=False)
    with pytest.raises(FetchError, match=r"^response larger than 1000000 bytes \(limit\) from "):
        fetch(upstream.url("/big"), cache, MB_LIMIT)
    assert not cache.body_path.exists()


def test_failed_fetch_leaves_cache_intact(upstream: Upstream, cache: FetchCache) -> None:
    upstream.serve("/cal.ics", ICS)
    good = fetch(upstream.url("/cal.ics"), cache)
    upstream.serve("/cal.ics", b"boom", status=500)
    with pytest.raises(FetchError, match="HTTP 500"):
        fetch(upstream.url("/cal.ics"), cache, now=LATER)
    assert cache.load() == good


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.org/cal.ics", "unsupported URL scheme ftp in ftp://example.org/cal.ics"),
        ("file:///etc/passwd", "unsupported URL scheme file in file:///etc/passwd"),
        ("example.org/cal.ics", "unsupported URL scheme (none) in example.org/cal.ics"),
        ("http:///cal.ics", "invalid URL http:///cal.ics: no host"),
        ("http://127.0.0.1:99999/", "invalid URL http://127.0.0.1:99999/: Port out of range"),
    ],
)
def test_invalid_urls(url: str, message: str, cache: FetchCache) -> None:
    with pytest.raises(FetchError) as caught:
        fetch(url, cache)
    assert str(caught.value).startswith(message)


# -- the cache ----------------------------------------------------------------------------------


def test_corrupt_cache_json_loads_as_none(
    upstream: Upstream, cache: FetchCache, caplog: pytest.LogCaptureFixture
) -> None:
    upstream.serve("/cal.ics", ICS)
    fetch(upstream.url("/cal.ics"), cache)
    cache.meta_path.write_text("{not json", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="feedserver.fetch"):
        assert cache.load() is None
    assert "corrupt fetch cache" in caplog.text


def test_cache_body_not_matching_its_sha256_loads_as_none(cache: FetchCache) -> None:
    cache.save(Fetched(ICS, "0" * 64, False, None, None, None, NOW))
    assert json.loads(cache.meta_path.read_text())["sha256"] == "0" * 64
    assert cache.load() is None


def test_empty_cache_loads_as_none(cache: FetchCache) -> None:
    assert cache.load() is None


def test_cache_save_leaves_no_temp_files(upstream: Upstream, cache: FetchCache) -> None:
    upstream.serve("/cal.ics", ICS)
    fetch(upstream.url("/cal.ics"), cache)
    assert sorted(p.name for p in cache.directory.iterdir()) == ["club.body", "club.json"]


# -- read_file ----------------------------------------------------------------------------------


def test_read_file_then_unchanged(tmp_path: Path, cache: FetchCache) -> None:
    source = tmp_path / "cal.ics"
    source.write_bytes(ICS)
    first = read_file(source, cache, now=NOW, max_bytes=1000)
    second = read_file(source, cache, now=LATER, max_bytes=1000)
    assert (first.body, first.not_modified, first.final_url, first.etag) == (ICS, False, None, None)
    assert (second.body, second.not_modified) == (ICS, True)
    assert cache.load() == first


def test_read_file_changed(tmp_path: Path, cache: FetchCache) -> None:
    source = tmp_path / "cal.ics"
    source.write_bytes(ICS)
    read_file(source, cache, now=NOW, max_bytes=1000)
    source.write_bytes(ICS + b"X")
    assert read_file(source, cache, now=LATER, max_bytes=1000).not_modified is False
    assert cache.body_path.read_bytes() == ICS + b"X"


def test_read_file_missing(tmp_path: Path, cache: FetchCache) -> None:
    with pytest.raises(FetchError, match=r"^file not found: .*nope\.ics$"):
        read_file(tmp_path / "nope.ics", cache, now=NOW, max_bytes=1000)
    assert cache.load() is None


def test_read_file_directory(tmp_path: Path, cache: FetchCache) -> None:
    with pytest.raises(FetchError, match=r"is a directory"):
        read_file(tmp_path, cache, now=NOW, max_bytes=1000)


def test_read_file_too_large(tmp_path: Path, cache: FetchCache) -> None:
    source = tmp_path / "cal.ics"
    source.write_bytes(ICS)
    with pytest.raises(FetchError, match=r"larger than 10 bytes \(limit\)"):
        read_file(source, cache, now=NOW, max_bytes=10)
