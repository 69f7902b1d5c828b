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
import time
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
from feedserver.config import Config, LiveConfig, Source
from feedserver.crawl import Crawled, fetch_pages
from feedserver.errors import FetchError, SourceError
from feedserver.metrics import Metrics
from feedserver.normalize import Contribution, Horizon, normalize
from feedserver.sources import KINDS
from feedserver.store import Attempt, IngestStats, Store

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
    http_status: int | None = None
    seconds: float = 0.0  # fetch, parse and store


@dataclass
class _Prepared:
    key: str
    contributions: list[Contribution] | None  # None: same bytes as the last ingest
    warnings: list[str]
    horizon: Horizon
    http_status: int | None = None
    seconds: float = 0.0


def horizon(config: Config, now: datetime) -> Horizon:
    return Horizon.around(
        now, config.setting("store.horizon_past_days"), config.setting("store.horizon_future_days")
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


def definition_key(source: Source, config: Config) -> str:
    """Everything of the configuration a source's events depend on: its definition, the
    site's types and zone. When it changes, the source is refreshed at once (live changes)."""
    parts = (repr(source), repr(config.types), config.timezone, __version__)
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def stale(config: Config, store: Store) -> list[Source]:
    """Enabled sources whose definition changed since their last attempt (or never tried)."""
    statuses = store.statuses()
    return [
        s
        for s in config.sources
        if s.enabled
        and (s.id not in statuses or statuses[s.id].definition != definition_key(s, config))
    ]


def ingest_key(crawled: Crawled, source: Source, config: Config, span: Horizon) -> str:
    """What the last ingest depended on: the bytes, the source's definition, the site's types
    and zone, the horizon step and feedserver's version. Same key: nothing to re-parse."""
    parts = (crawled.sha256, repr(source), repr(config.types), config.timezone, span, __version__)
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def _prepare(source: Source, config: Config, last_key: str | None, now: datetime) -> _Prepared:
    started = time.monotonic()
    crawled = fetch_pages(source, config, now, config.data_dir / "fetch")
    span = horizon(config, now)
    key = ingest_key(crawled, source, config, span)
    status = crawled.first.status
    if key == last_key:  # a 304 or the same bytes again: nothing to re-parse
        return _Prepared(key, None, [], span, status, time.monotonic() - started)
    parsed = KINDS[source.kind].parse(crawled.pages, source)
    parsed.warnings[:0] = crawled.pages.warnings
    contributions, warnings = normalize(parsed, source, config, span)
    seconds = time.monotonic() - started
    return _Prepared(key, contributions, warnings, span, status, seconds)


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
            source = futures[future]
            outcome = _store(source, definition_key(source, config), future, store, now)
            outcomes.append(outcome)
            if on_done:
                on_done(outcome)
    order = {s.id: n for n, s in enumerate(sources)}
    return sorted(outcomes, key=lambda o: order[o.source.id])


def _store(
    source: Source, definition: str, future: Future[_Prepared], store: Store, now: datetime
) -> Outcome:
    started = time.monotonic()
    try:
        prepared = future.result()
    except SourceError as e:
        status = e.status if isinstance(e, FetchError) else None
        # The time a failed attempt took is unknown in the pool; count from the refresh start.
        seconds = max(0.0, (datetime.now(UTC) - now).total_seconds())
        store.record_failure(source.id, str(e), now, Attempt(status, seconds, definition))
        log.warning("source %s failed: %s", source.id, e)
        return Outcome(source, "failed", error=str(e), http_status=status, seconds=seconds)
    except Exception as e:  # a bug must not stop the other sources; the log has the traceback
        log.exception("source %s: unexpected error", source.id)
        message = f"internal error while reading the source: {type(e).__name__}: {e}"
        store.record_failure(source.id, message, now, Attempt(None, None, definition))
        return Outcome(source, "failed", error=message)
    if prepared.contributions is None:
        attempt = Attempt(prepared.http_status, prepared.seconds, definition)
        store.record_unchanged(source.id, now, attempt)
        count = store.statuses()[source.id].event_count
        return Outcome(
            source,
            "unchanged",
            events=count,
            http_status=prepared.http_status,
            seconds=prepared.seconds,
        )
    seconds = prepared.seconds + (time.monotonic() - started)
    stats = store.ingest(
        source.id,
        prepared.contributions,
        horizon=prepared.horizon,
        now=now,
        warnings=prepared.warnings,
        ingest_key=prepared.key,
        attempt=Attempt(prepared.http_status, seconds, definition),
    )
    return Outcome(
        source,
        "updated",
        events=len(prepared.contributions),
        warnings=prepared.warnings,
        stats=stats,
        http_status=prepared.http_status,
        seconds=seconds,
    )


def observe_outcome(metrics: Metrics, outcome: Outcome) -> None:
    """Count one source's refresh in this process's metrics."""
    labels = {"source": outcome.source.id, "result": outcome.status}
    metrics.observe("feedserver_refresh_duration_seconds", outcome.seconds, labels)
    if outcome.status == "failed":
        metrics.inc("feedserver_source_failures_total", {"source": outcome.source.id})


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
    """Background refresh loop of a server process.

    Every second it looks at the configuration (``LiveConfig`` notices edits of feeds/); when
    the configuration changed, or every ``tick`` seconds, it refreshes the due sources and the
    ones whose definition changed (new, edited), and prunes the removed ones, if no other
    process is refreshing right now. The tick is half the shortest source interval, between 1
    and 30 seconds, so no source waits much past its interval.
    """

    def __init__(
        self,
        live: LiveConfig,
        store: Store,
        on_done: Callable[[Outcome], None] | None = None,
        every_second: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(name="feedserver-refresher", daemon=True)
        self.live, self.store = live, store
        self.on_done = on_done
        self.every_second = every_second  # e.g. flush this process's metrics
        self.stopping = threading.Event()
        self.tick = self._tick(live.current())

    @staticmethod
    def _tick(config: Config) -> float:
        intervals = [s.refresh.total_seconds() for s in config.sources if s.enabled]
        return min(30.0, max(1.0, min(intervals, default=60.0) / 2))

    def run(self) -> None:
        seen: Config | None = None
        next_pass = 0.0
        while not self.stopping.is_set():
            try:
                config = self.live.current()
                if config is not seen:  # changed on disk: look for new and edited sources now
                    seen, next_pass, self.tick = config, 0.0, self._tick(config)
                if time.monotonic() >= next_pass:
                    with exclusive(config, wait=False) as mine:
                        if mine:
                            # Look at the files again now that we hold the lock: a pass with a
                            # configuration older than another process's last refresh would
                            # prune the source that process just added.
                            config = self.live.check()
                            seen, self.tick = config, self._tick(config)
                            self.run_once(config)
                            next_pass = time.monotonic() + self.tick
            except Exception:  # keep refreshing later; the log has the traceback
                log.exception("background refresh failed")
            if self.every_second is not None:
                try:
                    self.every_second()
                except Exception:
                    log.exception("refresher housekeeping failed")
            self.stopping.wait(1.0)
        self.store.close()

    def run_once(self, config: Config, now: datetime | None = None) -> list[Outcome]:
        """Refresh due and stale sources and prune removed ones (the caller holds the lock)."""
        now = now or datetime.now(UTC)
        wanted = {s.id for s in due(config, self.store, now)}
        wanted |= {s.id for s in stale(config, self.store)}
        outcomes = refresh(config, self.store, only=sorted(wanted), now=now, on_done=self.on_done)
        for outcome in outcomes:
            log.info("refreshed %s: %s", outcome.source.id, outcome.status)
        return outcomes

    def stop(self) -> None:
        self.stopping.set()
