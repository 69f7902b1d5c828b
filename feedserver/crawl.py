"""Stage ①: everything one source needs fetched: its URL or file, then the links it leads to.

An ``ics`` source is one document. A bridged source (an event web page, a JSON API) may be a
listing spread over several pages and may link each event to a page of its own with the full
description. For such a source, :func:`fetch_pages` asks the kind which links a page leads to
(``Kind.links``) and follows them within the source's ``[follow]`` bounds:

* listing pages: at most ``follow.pages`` (the source's own URL included), each one at most
  once. One that cannot be fetched fails the whole source: half a listing would delete the
  events of the missing pages, so the last good events are kept instead.
* event pages (``follow.event_pages``): at most ``follow.max_event_pages``, re-read when their
  cached copy is older than :data:`EVENT_PAGE_MAX_AGE`. One that cannot be fetched costs only
  its description (its last good copy is used if there is one, with a warning).
* politeness: requests to one host are made one at a time, across processes too (an exclusive
  lock per host), with ``follow.delay`` between the end of one and the start of the next.

Every request is a :func:`~feedserver.fetch.fetch_url` with the site's limits, SSRF guard and
conditional-GET cache; each followed URL has its own cache entry next to the source's.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

from feedserver.config import Config, Source
from feedserver.errors import FetchError
from feedserver.fetch import FetchCache, Fetched, FetchLimits, fetch_url, read_file
from feedserver.netguard import parse_networks
from feedserver.sources import KINDS, Page, Pages

__all__ = ["EVENT_PAGE_MAX_AGE", "Crawled", "fetch_pages", "limits"]

# An event's own page changes rarely; reading it again at every refresh of a busy listing
# would cost the upstream one request per event per refresh.
EVENT_PAGE_MAX_AGE = timedelta(hours=24)


@dataclass(frozen=True)
class Crawled:
    """A source's fetched pages and what the ingest key depends on."""

    pages: Pages
    first: Fetched  # the source's own URL or file: HTTP status, final URL, validators
    sha256: str  # of every page's bytes in order and the warnings: same digest, nothing to re-parse

    @property
    def size(self) -> int:
        return sum(len(p.body) for p in self.pages.listing) + sum(
            len(b) for b in self.pages.details.values()
        )


def limits(config: Config) -> FetchLimits:
    """The site's fetch limits (``fetch.*`` settings)."""
    return FetchLimits(
        connect_timeout=config.setting("fetch.connect_timeout"),
        read_timeout=config.setting("fetch.read_timeout"),
        max_bytes=config.setting("fetch.max_bytes"),
        max_redirects=config.setting("fetch.max_redirects"),
        allow_networks=parse_networks(config.setting("fetch.allow_networks")),
    )


def fetch_pages(source: Source, config: Config, now: datetime, cache_dir: Path) -> Crawled:
    """Fetch ``source`` and, if its kind and ``[follow]`` table say so, the pages it links to.

    Caches live in ``cache_dir``: ``<source id>.*`` for the source's own URL or file, and
    ``<source id>/<hash of URL>.*`` for each followed page. Raises FetchError when the source's
    own URL or one of its listing pages cannot be fetched.
    """
    own = FetchCache(cache_dir, source.id)
    if source.url is None:
        assert source.path is not None
        fetched = read_file(source.path, own, now=now, max_bytes=config.setting("fetch.max_bytes"))
        return Crawled(Pages.single(fetched.body), fetched, fetched.sha256)
    follow = source.follow
    if follow.pages == 1 and not follow.event_pages:
        fetched = fetch_url(source.url, own, limits(config), now=now)
        return Crawled(
            Pages.single(fetched.body, fetched.final_url or source.url), fetched, fetched.sha256
        )
    return _Crawl(source, config, now, cache_dir).run()


class _Crawl:
    def __init__(self, source: Source, config: Config, now: datetime, cache_dir: Path) -> None:
        self.source = source
        self.now = now
        self.limits = limits(config)
        self.cache_dir = cache_dir
        self.hosts = _Hosts(config.data_dir / "hosts", source.follow.delay)
        self.links = KINDS[source.kind].links

    def run(self) -> Crawled:
        source, follow = self.source, self.source.follow
        assert source.url is not None
        first = self._get(source.url, FetchCache(self.cache_dir, source.id))
        listing = [Page(first.final_url or source.url, first.body)]
        seen = {_canonical(source.url), _canonical(listing[0].url or "")}
        event_urls: dict[str, None] = {}
        while True:
            page = listing[-1]
            found = self.links(page, source)
            for url in found.details:
                event_urls.setdefault(urldefrag(url).url)
            following = found.next
            if not following or len(listing) >= follow.pages or _canonical(following) in seen:
                break
            seen.add(_canonical(following))
            try:
                fetched = self._get(following, self._cache(following))
            except FetchError as e:
                raise FetchError(
                    f"listing page {len(listing) + 1} ({following}): {e}; last good events kept",
                    status=e.status,
                ) from None
            listing.append(Page(fetched.final_url or following, fetched.body))
        details: dict[str, bytes] = {}
        warnings: list[str] = []
        if follow.event_pages:
            wanted = list(event_urls)
            if len(wanted) > follow.max_event_pages:
                warnings.append(
                    f"{len(wanted)} event pages linked, read the first {follow.max_event_pages}"
                    " (follow.max_event_pages)"
                )
            for url in wanted[: follow.max_event_pages]:
                body = self._event_page(url, warnings)
                if body is not None:
                    details[url] = body
        pages = Pages(tuple(listing), details, tuple(warnings))
        digest = hashlib.sha256()
        for page in listing:
            digest.update(hashlib.sha256(page.body).digest())
        for url in sorted(details):
            digest.update(url.encode() + b"\0" + hashlib.sha256(details[url]).digest())
        # The warnings too: an event page that starts failing (its last copy used) changes no
        # byte, but its warning must reach the source's status; so must its recovery.
        for warning in warnings:
            digest.update(b"\1" + warning.encode())
        return Crawled(pages, first, digest.hexdigest())

    def _cache(self, url: str) -> FetchCache:
        key = hashlib.sha256(_canonical(url).encode()).hexdigest()[:32]
        return FetchCache(self.cache_dir / self.source.id, key)

    def _get(self, url: str, cache: FetchCache) -> Fetched:
        with self.hosts.turn(url):
            return fetch_url(url, cache, self.limits, now=self.now)

    def _event_page(self, url: str, warnings: list[str]) -> bytes | None:
        cache = self._cache(url)
        cached = cache.load()
        if cached is not None and self.now - cached.fetched_at < EVENT_PAGE_MAX_AGE:
            return cached.body
        try:
            return self._get(url, cache).body
        except FetchError as e:
            if cached is not None:
                warnings.append(
                    f"event page {url}: {e}; using the copy of {cached.fetched_at:%Y-%m-%d}"
                )
                return cached.body
            warnings.append(f"event page {url}: {e}; its listing entry is used alone")
            return None


def _canonical(url: str) -> str:
    """A URL without its fragment, for telling pages apart."""
    return urldefrag(url).url


_UNSAFE = re.compile(r"[^A-Za-z0-9.-]")


class _Hosts:
    """One request at a time per host, ``delay`` apart, across processes.

    ``<dir>/<host>`` is the lock file; its modification time is when the last request to the
    host ended.
    """

    def __init__(self, directory: Path, delay: timedelta) -> None:
        self.directory = directory
        self.delay = delay.total_seconds()

    @contextmanager
    def turn(self, url: str) -> Iterator[None]:
        parts = urlsplit(url)
        name = _UNSAFE.sub("_", f"{parts.hostname or ''}_{parts.port or ''}")
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / name
        with path.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            # The file as it is now, under the lock: another process may have written it since
            # this one opened it (the handle's own position would still say "empty").
            seen = os.fstat(handle.fileno())
            try:
                if seen.st_size > 0:  # not the first request to this host
                    wait = seen.st_mtime + self.delay - time.time()
                    if 0 < wait <= self.delay:  # a clock step must not make us sleep for ages
                        time.sleep(wait)
                yield
            finally:
                if seen.st_size == 0:
                    handle.write("-")  # marks the host as seen; the mtime says when
                handle.flush()
                # The exact time: touch() takes the kernel's coarse clock, a few ms behind
                # time.time(), and the next request would come that much early.
                ended = time.time_ns()
                os.utime(handle.fileno(), ns=(ended, ended))
                fcntl.flock(handle, fcntl.LOCK_UN)
