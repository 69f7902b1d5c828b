"""Admin: add, edit, test, remove and refresh source definitions (``feeds/sources/<id>.toml``).

The one implementation behind ``feedserver sources …`` and the HTTP admin API (web/admin.py):
both call :class:`Admin` and so give the same answers and the same messages.

Guarantees:

* **Validation before any write.** The would-be file is validated together with the whole
  configuration (``config.load(replace=…)``), and every problem is reported at once.
* **Atomic writes.** A temporary file in ``sources/`` is written, fsynced and renamed over the
  target (``os.replace``), and the folder is fsynced: a reader (``feedserver check``, a worker
  reloading) sees the old file or the new one, never half of one, so ``feeds/`` is valid at
  every instant.
* **No lost updates.** Every change runs under an exclusive lock (``<data>/admin.lock``, across
  processes) and may name the ETag it read (``if_match``): a stale ETag is refused
  (:class:`~feedserver.errors.StaleEdit`), so two admins cannot overwrite each other.
* **An audit trail.** Each change appends one JSON line to ``<data>/audit.log``: when, what,
  who (CLI user or HTTP address) and the file's bytes before and after (enough to undo it).
* **Live.** After a change the source is refreshed at once (or pruned), so the feeds follow.
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import logging
import tempfile
import zoneinfo
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from feedserver import config as configuration
from feedserver.config import KIND_TABLES, Config, Follow, Source
from feedserver.crawl import fetch_pages
from feedserver.errors import AlreadyExists, ConfigError, NotFound, StaleEdit
from feedserver.fetch import FetchCache
from feedserver.files import fsync_dir, write_atomic
from feedserver.normalize import Contribution, normalize
from feedserver.refresh import Outcome, exclusive, horizon, refresh
from feedserver.sourcefile import (
    SETTINGS_TABLES,
    Actor,
    AuditLog,
    Change,
    Definition,
    apply_changes,
    check_id,
    matches,
    render,
    same,
)
from feedserver.sources import KINDS
from feedserver.store import SourceStatus, Store

log = logging.getLogger(__name__)

Loader = Callable[..., Config]  # config.load with its folders bound; accepts replace=


@dataclass
class Preview:
    """What a source would bring in, from a test fetch that writes nothing."""

    source: Source
    location: str
    calendar_given: bool
    events: int = 0
    recurring: int = 0
    upcoming: list[dict[str, Any]] = field(default_factory=list)
    types: dict[str, int] = field(default_factory=dict)  # type slug -> events; "" = untyped
    warnings: list[str] = field(default_factory=list)
    http_status: int | None = None
    final_url: str | None = None
    bytes: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": True,
            "location": self.location,
            "calendar": self.source.calendar if self.calendar_given else None,
            "events": self.events,
            "recurring": self.recurring,
            "types": self.types,
            "upcoming": self.upcoming,
            "warnings": self.warnings,
            "http_status": self.http_status,
            "final_url": self.final_url,
            "bytes": self.bytes,
        }


def status_json(source: Source | None, status: SourceStatus | None) -> dict[str, Any]:
    """A source's health as /status.json and the admin API show it."""

    def when(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment else None

    st = status
    return {
        "enabled": source.enabled if source else False,
        "ok": bool(st and st.ok),
        "last_attempt": when(st.last_attempt) if st else None,
        "last_success": when(st.last_success) if st else None,
        "last_error": st.last_error if st else None,
        "http_status": st.http_status if st else None,
        "duration": round(st.duration, 3) if st and st.duration is not None else None,
        "events": st.event_count if st else 0,
        "warnings": st.warnings if st else [],
    }


def source_json(source: Source, feeds_dir: Path) -> dict[str, Any]:
    """A source definition as JSON: the TOML keys, with defaults filled in; ``follow`` with
    all its keys, and the kind's own table (``html``, ``json``, ``csv``) as the file writes it.
    PUT back unchanged, it leaves the file as it is (see :func:`as_written`)."""
    follow = source.follow
    data = {
        "id": source.id,
        "name": source.name,
        "kind": source.kind,
        "url": source.url,
        "path": str(source.path.relative_to(feeds_dir)) if source.path else None,
        "calendar": source.calendar,
        "types": list(source.types),
        "categories": dict(source.categories),
        "timezone": source.timezone,
        "refresh": _duration_text(source.refresh.total_seconds()),
        "enabled": source.enabled,
        "online_links": source.online_links,
        "follow": {
            "pages": follow.pages,
            "event_pages": follow.event_pages,
            "max_event_pages": follow.max_event_pages,
            "delay": _duration_text(follow.delay.total_seconds()),
        },
    }
    if source.kind in KIND_TABLES:
        data[source.kind] = copy.deepcopy(dict(source.options))
    return data


# Keys whose value is a duration: "60m" and "1h" mean the same.
_DURATIONS = {("refresh",), ("follow", "delay")}


def as_written(
    values: Mapping[str, Any], current: Mapping[str, Any], defaults: Mapping[str, Any]
) -> dict[str, Any]:
    """A whole definition (a PUT) said the way the file ``current`` already says it: a value
    that means what the file's value means keeps the file's (``refresh = "60m"`` stays when
    ``"1h"`` is sent), and a key the file leaves out that ``values`` gives with its default
    value stays out. So a definition read with :func:`source_json` and sent back changes no
    byte, and an edit changes only what it changes.

    >>> as_written({"refresh": "1h", "enabled": True, "follow": {"pages": 3, "delay": "1s"}},
    ...            {"refresh": "60m"}, {"enabled": True, "follow": {"pages": 1, "delay": "1s"}})
    {'refresh': '60m', 'follow': {'pages': 3}}
    """
    return _as_written(values, current, defaults, ())


def _as_written(
    values: Mapping[str, Any],
    current: Mapping[str, Any],
    defaults: Mapping[str, Any],
    where: tuple[str, ...],
) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in values.items():
        path = (*where, key)
        default = defaults.get(key)
        old = current.get(key)
        if isinstance(value, Mapping) and isinstance(default, Mapping) and default:
            # a table with defaults of its own ([follow]): key by key
            inner = _as_written(value, old if isinstance(old, Mapping) else {}, default, path)
            if inner.keys() == value.keys() and all(inner[k] is value[k] for k in inner):
                result[key] = value  # all of it as given: a table read from TOML keeps comments
            elif inner or key in current:
                result[key] = inner
        elif key in current and _means_same(path, old, value):
            result[key] = old
        elif key not in current and key in defaults and _means_same(path, default, value):
            continue
        else:
            result[key] = value
    return result


def _means_same(path: tuple[str, ...], old: Any, new: Any) -> bool:
    if path in _DURATIONS and isinstance(old, str) and isinstance(new, str):
        try:
            return configuration.parse_duration(old) == configuration.parse_duration(new)
        except ValueError:
            pass
    elif path == ("path",) and isinstance(old, str) and isinstance(new, str):
        return Path(old) == Path(new)
    elif old is None or new is None:
        return old is new
    return same(old, new)


def _duration_text(seconds: float) -> str:
    """
    >>> _duration_text(5400), _duration_text(86400), _duration_text(90)
    ('1h30m', '1d', '1m30s')
    """
    rest = int(seconds)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size:
            parts.append(f"{rest // size}{unit}")
            rest %= size
    return "".join(parts) or "0s"


class Admin:
    """Source administration on one feeds folder and data folder."""

    def __init__(
        self,
        load: Loader,
        store: Store,
        feeds_dir: Path,
        data_dir: Path,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._load = load
        self.store = store
        self.feeds_dir, self.data_dir = feeds_dir, data_dir
        self.audit = AuditLog(data_dir / "audit.log")
        self.clock = clock or (lambda: datetime.now(UTC))

    @property
    def sources_dir(self) -> Path:
        return self.feeds_dir / "sources"

    def path(self, source_id: str) -> Path:
        check_id(source_id)
        return self.sources_dir / f"{source_id}.toml"

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """One change at a time, across threads and processes (flock per open file)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.data_dir / "admin.lock", "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    # -- reading -------------------------------------------------------------------------------

    def current(self) -> Config:
        """The configuration on disk now (ConfigError if it is invalid)."""
        return self._load()

    def read(self, source_id: str) -> Definition:
        """The definition file of ``source_id``; NotFound for an unknown (or invalid) id."""
        try:
            path = self.path(source_id)
            return Definition(source_id, path, path.read_bytes())
        except (ConfigError, FileNotFoundError):
            raise NotFound(f"unknown source {source_id!r}{self._known()}") from None

    def _known(self) -> str:
        ids = sorted(p.stem for p in self.sources_dir.glob("*.toml"))
        return f" (known: {', '.join(ids)})" if ids else " (no sources are defined)"

    def statuses(self) -> dict[str, SourceStatus]:
        return self.store.statuses()

    # -- validating ----------------------------------------------------------------------------

    def validate(self, source_id: str, text: bytes | None) -> Config:
        """The whole configuration as it would be with ``sources/<id>.toml`` = ``text`` (None:
        removed); raise ConfigError with every problem. Problems of that file lose their file
        name prefix (the caller names the source); problems elsewhere keep theirs."""
        path = self.path(source_id)
        try:
            return self._load(replace={source_id: text})
        except ConfigError as e:
            prefix = f"{path}: "
            raise ConfigError([p.removeprefix(prefix) for p in e.problems]) from None

    def defaults(self, source_id: str) -> dict[str, Any]:
        """What each key of a definition means when the file leaves it out."""
        follow = Follow()
        defaults: dict[str, Any] = {
            "name": source_id,
            "url": None,
            "path": None,
            "types": [],
            "categories": {},
            "timezone": None,
            "enabled": True,
            "online_links": "include",
            "follow": {
                "pages": follow.pages,
                "event_pages": follow.event_pages,
                "max_event_pages": follow.max_event_pages,
                "delay": _duration_text(follow.delay.total_seconds()),
            },
            **{table: {} for table in KIND_TABLES},
        }
        try:
            defaults["refresh"] = self.current().setting("fetch.default_refresh")
        except ConfigError:
            pass  # the configuration on disk is bad: validation will say so
        return defaults

    def _candidate(
        self, source_id: str, values: Mapping[str, Any], previous: bytes | None
    ) -> bytes:
        unknown_id = values.get("id")
        if unknown_id is not None and unknown_id != source_id:
            raise ConfigError(f"id: a source cannot be renamed ({source_id!r} → {unknown_id!r})")
        return render({k: v for k, v in values.items() if k != "id"}, previous)

    # -- previews ------------------------------------------------------------------------------

    def preview(
        self,
        values: Mapping[str, Any],
        *,
        source_id: str | None = None,
        changes: Sequence[Change] = (),
        now: datetime | None = None,
        limit: int = 10,
    ) -> Preview:
        """Fetch and parse a definition (``values``, over the existing one of ``source_id`` if
        given, then ``changes``) without writing anything: not the definition, not the fetch
        cache, not the store. Raises ConfigError for a bad definition and SourceError when the
        fetch or parse fails."""
        now = now or self.clock()
        merged: dict[str, Any] = {}
        previous = None
        if source_id is not None:
            definition = self.read(source_id)
            previous = definition.text
            merged.update(definition.values())
        if values.get("url") or values.get("path"):
            # Trying another location for an existing source: the override replaces the other.
            merged.pop("path" if values.get("url") else "url", None)
        merged.update(values)
        merged = apply_changes(merged, changes)
        config = self.current()
        calendar_given = merged.get("calendar") is not None
        if not calendar_given and config.calendars:
            merged["calendar"] = config.calendars[0].slug  # any will do to read the events
        tables = [t for t in KIND_TABLES if merged.get(t) is not None]
        # Trying a URL with a recipe needs no --kind: the table says which kind it is for.
        merged.setdefault("kind", tables[0] if len(tables) == 1 else "ics")
        preview_id = source_id or "preview"
        text = self._candidate(preview_id, merged, previous)
        config = self.validate(preview_id, text)
        source = config.source(preview_id)
        assert source is not None
        return self._fetch_preview(source, config, calendar_given, now, limit)

    def _fetch_preview(
        self, source: Source, config: Config, calendar_given: bool, now: datetime, limit: int
    ) -> Preview:
        with tempfile.TemporaryDirectory(prefix="feedserver-preview-") as tmp:
            # Caches thrown away: the test writes nothing.
            crawled = fetch_pages(source, config, now, Path(tmp))
        fetched = crawled.first
        parsed = KINDS[source.kind].parse(crawled.pages, source)
        parsed.warnings[:0] = crawled.pages.warnings
        contributions, warnings = normalize(parsed, source, config, horizon(config, now))
        types: dict[str, int] = {}
        for c in contributions:
            for slug in c.types or ("",):
                types[slug] = types.get(slug, 0) + 1
        location = source.url or str(Path(source.path or "").relative_to(config.feeds_dir))
        return Preview(
            source=source,
            location=location,
            calendar_given=calendar_given,
            events=len(contributions),
            recurring=sum(c.recurring for c in contributions),
            upcoming=_upcoming(contributions, config, now, limit),
            types=dict(sorted(types.items())),
            warnings=warnings,
            http_status=fetched.status,
            final_url=fetched.final_url,
            bytes=crawled.size,
        )

    # -- changing ------------------------------------------------------------------------------

    def add(
        self,
        source_id: str,
        values: Mapping[str, Any],
        actor: Actor,
        *,
        changes: Sequence[Change] = (),
        test_fetch: bool = True,
    ) -> tuple[Definition, Preview | None]:
        """Validate, test-fetch (unless told not to), then write ``sources/<id>.toml``."""
        check_id(source_id)
        if self.path(source_id).exists():
            raise AlreadyExists(f"source {source_id!r} already exists")
        text = self._candidate(source_id, apply_changes(values, changes), None)
        config = self.validate(source_id, text)
        preview = None
        if test_fetch:  # before taking the lock: a slow upstream must not block other admins
            source = config.source(source_id)
            assert source is not None
            preview = self._fetch_preview(source, config, True, self.clock(), 10)
        with self._locked():
            path = self.path(source_id)
            if path.exists():
                raise AlreadyExists(f"source {source_id!r} already exists")
            self.validate(source_id, text)  # again: site.toml may have changed meanwhile
            write_atomic(path, text)
            self.audit.record("add", source_id, actor, None, text)
        log.info("source %s added by %s", source_id, actor.via)
        return Definition(source_id, path, text), preview

    def edit(
        self,
        source_id: str,
        values: Mapping[str, Any],
        actor: Actor,
        *,
        if_match: str | None = None,
        replace_all: bool = False,
        changes: Sequence[Change] = (),
        test_fetch: bool = True,
    ) -> tuple[Definition, Preview | None]:
        """Change a definition: ``values`` replace the given keys (None removes one), then each
        of ``changes`` sets or removes one key path (``html.labels.Quand``); or ``values`` are
        the whole definition with ``replace_all`` (HTTP PUT), said the way the file says it
        (:func:`as_written`). The file keeps its comments, in its tables too.

        A change of what is fetched or how it is read (kind, url, path, [follow], the kind's
        table) is test-fetched first, like a new source."""
        before = self.read(source_id)
        if not matches(if_match, before.text):
            raise StaleEdit(_stale(source_id, before))
        old = before.values()
        if replace_all:
            merged = as_written(values, old, self.defaults(source_id))
        else:
            merged = {**old, **values}
        merged = apply_changes(merged, changes)
        text = self._candidate(source_id, merged, before.text)
        config = self.validate(source_id, text)
        preview = None
        moved = any(not _same_value(merged.get(k), old.get(k)) for k in _FETCHED)
        source = config.source(source_id)
        if test_fetch and moved and source is not None and source.enabled:
            preview = self._fetch_preview(source, config, True, self.clock(), 10)
        with self._locked():
            current = self.read(source_id)
            if if_match is not None and not matches(if_match, current.text):
                raise StaleEdit(_stale(source_id, current))
            if current.text != before.text and not replace_all:
                # Someone changed the file while we fetched: apply our keys to theirs.
                merged = apply_changes({**current.values(), **values}, changes)
                text = self._candidate(source_id, merged, current.text)
            self.validate(source_id, text)
            if text != current.text:
                write_atomic(current.path, text)
                self.audit.record("edit", source_id, actor, current.text, text)
        return Definition(source_id, current.path, text), preview

    def remove(self, source_id: str, actor: Actor, *, if_match: str | None = None) -> Definition:
        """Delete ``sources/<id>.toml`` (and its fetch cache); its events leave at the prune."""
        with self._locked():
            before = self.read(source_id)
            if not matches(if_match, before.text):
                raise StaleEdit(_stale(source_id, before))
            self.validate(source_id, None)
            before.path.unlink()
            fsync_dir(before.path.parent)
            self.audit.record("remove", source_id, actor, before.text, None)
        cache = FetchCache(self.data_dir / "fetch", source_id)
        for stale_file in (cache.body_path, cache.meta_path):
            stale_file.unlink(missing_ok=True)
        return before

    def refresh(
        self, source_id: str | None, actor: Actor | None = None, *, wait: bool = True
    ) -> list[Outcome]:
        """Refresh one source now (None: only prune sources that are gone or disabled), waiting
        for a refresh running in another process to finish first."""
        with exclusive(self.current(), wait=wait):
            # Read the definitions again under the lock: while we waited, another admin may
            # have added a source, which a prune with the older configuration would remove.
            config = self.current()
            only: list[str] = []
            if source_id is not None:
                source = config.source(source_id)
                if source is None:
                    raise NotFound(f"unknown source {source_id!r}{self._known()}")
                only = [source_id] if source.enabled else []
            outcomes = refresh(config, self.store, only=only, now=self.clock())
        if actor is not None and source_id is not None:
            result = outcomes[0].status if outcomes else "disabled"
            self.audit.record("refresh", source_id, actor, None, None, result=result)
        return outcomes


# The keys that say what is fetched and how it is read: an edit of one is test-fetched.
_FETCHED = ("kind", "url", "path", *SETTINGS_TABLES)


def _same_value(a: Any, b: Any) -> bool:
    return a is b if a is None or b is None else same(a, b)


def _stale(source_id: str, current: Definition) -> str:
    return (
        f"source {source_id!r} was changed by someone else (its ETag is now {current.etag}); "
        "read it again and redo your change"
    )


def _upcoming(
    contributions: list[Contribution], config: Config, now: datetime, limit: int
) -> list[dict[str, Any]]:
    """The next ``limit`` events from ``now`` (a series counts with its next occurrence), with
    start times in the site's zone."""
    zone = zoneinfo.ZoneInfo(config.timezone)
    stamp = int(now.timestamp())
    rows = []
    for c in contributions:
        starts = [s for s, *_ in c.occurrences if s >= stamp] or (
            [c.start] if c.start >= stamp else []
        )
        if starts:
            rows.append((min(starts), c))
    rows.sort(key=lambda r: (r[0], r[1].uid))
    result = []
    for start, c in rows[:limit]:
        local = datetime.fromtimestamp(start, zone)
        all_day = b"DTSTART;VALUE=DATE:" in c.body
        result.append(
            {
                "start": local.date().isoformat() if all_day else local.isoformat(),
                "when": local.strftime("%Y-%m-%d") + ("" if all_day else local.strftime(" %H:%M")),
                "all_day": all_day,
                "summary": c.summary,
                "calendar": c.calendar,
                "types": list(c.types),
                "recurring": c.recurring,
            }
        )
    return result


def loader(
    feeds: Path | str | None,
    data: Path | str | None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Loader:
    """``config.load`` with the folders bound (what Admin and LiveConfig reload with)."""

    def load(**kwargs: Any) -> Config:
        return configuration.load(feeds, data, environ=environ, overrides=overrides, **kwargs)

    return load
