"""Ingest: fetch → adapt → normalize → store for each due source, and the background refresher.

Ingest never runs inside a subscriber's request. Sources are fetched and parsed concurrently;
their results are written one source per transaction. Across processes (several gunicorn
workers) an exclusive lock on ``<data>/refresh.lock`` makes sure one refresh runs at a time.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import multiprocessing
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import (
    Executor,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    as_completed,
)
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from feedserver import __version__
from feedserver.config import Config, Source
from feedserver.errors import SourceError
from feedserver.fetch import (
    FetchCache,
    Fetched,
    FetchLimits,
    fetch_url,
    parse_networks,
    read_file,
)
from feedserver.normalize import Contribution, Horizon, normalize
from feedserver.sources import KINDS
from feedserver.store import IngestStats, Store

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    """What one source's refresh did."""

    source: Source
    status: str  # "updated", "unchanged" or "failed"
    error: str | None = None
    events: int = 0
    warnings: list[str] = field(default_factory=list)
    stats: IngestStats = field(default_factory=IngestStats)


@dataclass
class _Prepared:
    key: str
    contributions: list[Contribution] | None  # None: same bytes as the last ingest
    warnings: list[str]
    horizon: Horizon


def horizon(config: Config, now: datetime) -> Horizon:
    return Horizon.around(
        now, config.setting("store.horizon_past_days"), config.setting("store.horizon_future_days")
    )


def limits(config: Config) -> FetchLimits:
    return FetchLimits(
        connect_timeout=config.setting("fetch.connect_timeout"),
        read_timeout=config.setting("fetch.read_timeout"),
        max_bytes=config.setting("fetch.max_bytes"),
        max_redirects=config.setting("fetch.max_redirects"),
        allow_networks=parse_networks(config.setting("fetch.allow_networks")),
    )


def due(config: Config, store: Store, now: datetime) -> list[Source]:
    """Enabled sources whose refresh interval has passed since their last attempt."""
    statuses = store.statuses()
    result = []
    for source in config.sources:
        status = statuses.get(source.id)
        if not source.enabled:
            continue
        if status is None or status.last_attempt is None:
            result.append(source)
        elif now - status.last_attempt >= source.refresh:
            result.append(source)
    return result


def ingest_key(fetched: Fetched, source: Source, config: Config, span: Horizon) -> str:
    """What the last ingest depended on: the bytes, the source's definition, the site's types
    and zone, the horizon step and feedserver's version. Same key: nothing to re-parse."""
    parts = (fetched.sha256, repr(source), repr(config.types), config.timezone, span, __version__)
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def _prepare(source: Source, config: Config, last_key: str | None, now: datetime) -> _Prepared:
    cache = FetchCache(config.data_dir / "fetch", source.id)
    if source.url:
        fetched = fetch_url(source.url, cache, limits(config), now=now)
    else:
        assert source.path is not None
        fetched = read_file(
            source.path, cache, now=now, max_bytes=config.setting("fetch.max_bytes")
        )
    span = horizon(config, now)
    key = ingest_key(fetched, source, config, span)
    if key == last_key:  # a 304 or the same bytes again: nothing to re-parse
        return _Prepared(key, None, [], span)
    parsed = KINDS[source.kind](fetched.body, source)
    contributions, warnings = normalize(parsed, source, config, span)
    return _Prepared(key, contributions, warnings, span)


def refresh(
    config: Config,
    store: Store,
    *,
    only: Iterable[str] | None = None,
    now: datetime | None = None,
    on_done: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Refresh the sources named in ``only`` (due or not), or else every due source.

    Sources that are no longer defined or are disabled lose their events first.
    """
    now = now or datetime.now(UTC)
    store.prune([s.id for s in config.sources if s.enabled], now)
    if only is not None:
        wanted = set(only)
        sources = [s for s in config.sources if s.id in wanted]
    else:
        sources = due(config, store, now)
    statuses = store.statuses()
    outcomes: list[Outcome] = []
    workers = max(1, min(config.setting("fetch.concurrency"), len(sources)))
    with _pool(workers) as pool:
        futures = {}
        for source in sources:
            status = statuses.get(source.id)
            # After a failure, re-parse even the same bytes: the failure may have been ours.
            last_key = None if status is None or status.last_error else status.ingest_key
            futures[pool.submit(_prepare, source, config, last_key, now)] = source
        for future in as_completed(futures):
            outcome = _store(futures[future], future, store, now)
            outcomes.append(outcome)
            if on_done:
                on_done(outcome)
    order = {s.id: n for n, s in enumerate(sources)}
    return sorted(outcomes, key=lambda o: order[o.source.id])


def _store(source: Source, future: Future[_Prepared], store: Store, now: datetime) -> Outcome:
    try:
        prepared = future.result()
    except SourceError as e:
        store.record_failure(source.id, str(e), now)
        log.warning("source %s failed: %s", source.id, e)
        return Outcome(source, "failed", error=str(e))
    except Exception as e:  # a bug must not stop the other sources; the log has the traceback
        log.exception("source %s: unexpected error", source.id)
        message = f"internal error while reading the source: {type(e).__name__}: {e}"
        store.record_failure(source.id, message, now)
        return Outcome(source, "failed", error=message)
    if prepared.contributions is None:
        store.record_unchanged(source.id, now)
        count = store.statuses()[source.id].event_count
        return Outcome(source, "unchanged", events=count)
    stats = store.ingest(
        source.id,
        prepared.contributions,
        horizon=prepared.horizon,
        now=now,
        warnings=prepared.warnings,
        ingest_key=prepared.key,
    )
    return Outcome(
        source,
        "updated",
        events=len(prepared.contributions),
        warnings=prepared.warnings,
        stats=stats,
    )


def _pool(workers: int) -> Executor:
    """Where sources are fetched, parsed and normalized: parsing is CPU-bound and holds the GIL,
    so several sources go to separate processes ("spawn": safe from a threaded server process);
    a single source stays in this process and costs no interpreter start-up."""
    if workers == 1:
        return ThreadPoolExecutor(1, thread_name_prefix="fetch")
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))


@contextmanager
def exclusive(config: Config, *, wait: bool) -> Iterator[bool]:
    """Hold ``<data>/refresh.lock``; yields False (without waiting) if another process has it."""
    config.data_dir.mkdir(parents=True, exist_ok=True)
    with open(config.data_dir / "refresh.lock", "a+b") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


class Refresher(threading.Thread):
    """Background refresh loop of a server process: every ``tick`` seconds, refresh due sources
    if no other process is refreshing right now. The tick is half the shortest source interval,
    between 1 and 30 seconds, so no source waits much past its interval."""

    def __init__(self, config: Config, store: Store) -> None:
        super().__init__(name="feedserver-refresher", daemon=True)
        self.config, self.store = config, store
        intervals = [s.refresh.total_seconds() for s in config.sources if s.enabled]
        self.tick = min(30.0, max(1.0, min(intervals, default=60.0) / 2))
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                with exclusive(self.config, wait=False) as mine:
                    if mine:
                        for outcome in refresh(self.config, self.store):
                            log.info("refreshed %s: %s", outcome.source.id, outcome.status)
            except Exception:  # keep refreshing later; the log has the traceback
                log.exception("background refresh failed")
            self.stopping.wait(self.tick)
        self.store.close()

    def stop(self) -> None:
        self.stopping.set()
