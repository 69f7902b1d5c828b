"""Configuration: the site and its source definitions, loaded from ``feeds/`` and validated.

Values load in this order, each overriding the one before: the defaults in ``SITE_SETTINGS`` ←
``feeds/site.toml`` ← ``FEEDSERVER_*`` environment variables ← explicit overrides (CLI flags,
tests).
Every problem is reported with its file, key and reason; loading never stops at the first one.
"""

from __future__ import annotations

import difflib
import ipaddress
import logging
import os
import re
import threading
import time
import tomllib
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from feedserver.errors import ConfigError

log = logging.getLogger(__name__)

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")

# Environment variables: name -> (Config attribute, default, help).
ENVIRONMENT: dict[str, tuple[str, str | None, str]] = {
    "FEEDSERVER_FEEDS": ("feeds_dir", "./feeds", "folder holding site.toml and sources/"),
    "FEEDSERVER_DATA": ("data_dir", "./var", "folder for the store, fetched bodies and locks"),
    "FEEDSERVER_ADMIN_TOKEN": ("admin_token", None, "bearer token of the admin API (unset: off)"),
}

# Site settings: "section.key" -> (default, help). Top-level keys have no section.
SITE_SETTINGS: dict[str, tuple[Any, str]] = {
    "title": ("feedserver", "site title, first part of every feed's name"),
    "base_url": ("http://127.0.0.1:8000", "public URL of the site, used in subscribe links"),
    "timezone": ("UTC", "IANA zone of the site: floating times, date windows, X-WR-TIMEZONE"),
    "feeds.past_days": (30, "default window: days of past events a feed keeps"),
    "feeds.future_days": (365, "default window: days of future events a feed shows"),
    "feeds.max_days": (1830, "longest window a from/to query may ask for"),
    "feeds.refresh_interval": ("1h", "REFRESH-INTERVAL and X-PUBLISHED-TTL hint to clients"),
    "feeds.cache_max_age": (900, "Cache-Control max-age of feeds, in seconds"),
    "feeds.gzip": (True, "gzip feeds for clients that send Accept-Encoding: gzip"),
    "feeds.response_cache_mb": (64, "memory bound of the in-process response cache, in MiB"),
    "pages.first_weekday": (
        "sunday",
        "first day of the week in /calendar's month grid (sunday or monday)",
    ),
    "store.horizon_past_days": (400, "occurrences are precomputed from this many days back"),
    "store.horizon_future_days": (1100, "… up to this many days ahead"),
    "fetch.connect_timeout": (5.0, "seconds to connect to an upstream"),
    "fetch.read_timeout": (30.0, "seconds to read an upstream's whole body"),
    "fetch.max_bytes": (20_000_000, "largest upstream body accepted, in bytes"),
    "fetch.max_redirects": (5, "redirects followed per fetch"),
    "fetch.default_refresh": ("1h", "refresh interval of sources that set none"),
    "fetch.concurrency": (4, "sources fetched and parsed at once (worker processes)"),
    "fetch.allow_networks": (
        [],
        "non-public networks (CIDRs) sources may be fetched from, e.g. ['127.0.0.0/8']",
    ),
}

# pages.first_weekday's values, in datetime.date.weekday() order
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

SOURCE_KEYS = {
    "name": "display name of the source",
    "kind": "adapter that reads it: see feedserver/sources/",
    "url": "http(s) URL to fetch (or path)",
    "path": "file relative to the feeds folder (or url)",
    "calendar": "slug of the calendar its events belong to",
    "types": "type slugs every event of the source gets",
    "categories": "table: upstream CATEGORIES value -> type slug",
    "timezone": "IANA zone for floating times (default: the site's)",
    "refresh": "how often to fetch it, e.g. 30m, 6h (default: fetch.default_refresh)",
    "enabled": "false keeps the definition but stops fetching and serving it",
    "online_links": '"include" (default) or "omit": publish meeting links and passcodes or not',
    "follow": "table: pages (listing pages to read), event_pages, max_event_pages, delay",
    "html": "table: how to read an event web page (kind html; README: Bridging web pages)",
    "json": "table: how to read a JSON event API (kind json; README: Bridging JSON APIs)",
    "csv": "table: how to read a spreadsheet export (kind csv; README: Bridging spreadsheets)",
}
# Source keys that hold the settings of one kind: allowed only on a source of that kind.
KIND_TABLES = ("html", "json", "csv")
FOLLOW_KEYS = {
    "pages": "listing pages read, the source's own URL included (default 1: no pagination)",
    "event_pages": "true: also read each event's own page for its full description",
    "max_event_pages": "most event pages read per refresh (default 100)",
    "delay": "pause between two requests to the same host, e.g. 1s (default 1s)",
}
ONLINE_LINKS = ("include", "omit")


@dataclass(frozen=True)
class Calendar:
    slug: str
    name: str
    description: str = ""


@dataclass(frozen=True)
class EventType:
    slug: str
    name: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Follow:
    """How far a source's fetch follows links: the ``[follow]`` table."""

    pages: int = 1
    event_pages: bool = False
    max_event_pages: int = 100
    delay: timedelta = timedelta(seconds=1)


@dataclass(frozen=True)
class Source:
    """One source definition, from ``feeds/sources/<id>.toml``."""

    id: str
    name: str
    kind: str
    calendar: str
    url: str | None = None
    path: Path | None = None
    types: tuple[str, ...] = ()
    categories: tuple[tuple[str, str], ...] = ()
    timezone: str | None = None
    refresh: timedelta = timedelta(hours=1)
    enabled: bool = True
    online_links: str = "include"
    follow: Follow = field(default_factory=Follow)
    # The table named after the kind ([html], [json], [csv]): that adapter's own settings.
    options: Mapping[str, Any] = field(default_factory=dict)
    file: Path | None = None

    @property
    def location(self) -> str:
        return self.url or str(self.path)


@dataclass(frozen=True)
class Config:
    """Everything feedserver knows before it touches the network or the store."""

    feeds_dir: Path
    data_dir: Path
    admin_token: str | None
    title: str
    base_url: str
    timezone: str
    calendars: tuple[Calendar, ...]
    types: tuple[EventType, ...]
    sources: tuple[Source, ...]
    settings: Mapping[str, Any] = field(default_factory=dict)
    loaded_files: tuple[Path, ...] = ()

    def setting(self, key: str) -> Any:
        return self.settings[key]

    def calendar(self, slug: str) -> Calendar | None:
        return next((c for c in self.calendars if c.slug == slug), None)

    def type(self, slug: str) -> EventType | None:
        return next((t for t in self.types if t.slug == slug), None)

    def source(self, source_id: str) -> Source | None:
        return next((s for s in self.sources if s.id == source_id), None)

    @property
    def store_path(self) -> Path:
        return self.data_dir / "feedserver.sqlite3"


def parse_duration(text: str) -> timedelta:
    """Parse ``"90s"``, ``"30m"``, ``"6h"``, ``"1d"`` or ``"1h30m"``.

    >>> parse_duration("1h30m")
    datetime.timedelta(seconds=5400)
    """
    match = _DURATION.match(text.strip().lower()) if isinstance(text, str) else None
    if not match or not any(match.groups()):
        raise ValueError(f"expected a duration like 30m, 6h or 1d, got {text!r}")
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def suggest(word: str, known: Any) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``known``, or nothing.

    >>> suggest("evnts", ["events", "title"])
    " (did you mean 'events'?)"
    """
    close = difflib.get_close_matches(word, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _valid_zone(name: Any) -> bool:
    if not isinstance(name, str) or not name or name.startswith(("/", ".")):
        return False
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _read_toml(path: Path, problems: list[str], text: bytes | None = None) -> dict[str, Any] | None:
    """Parse ``path`` (or ``text``, the would-be content of ``path``)."""
    try:
        if text is None:
            text = path.read_bytes()
        return tomllib.loads(text.decode("utf-8"))
    except OSError as e:
        problems.append(f"{path}: cannot read: {e.strerror or e}")
    except UnicodeDecodeError as e:
        problems.append(f"{path}: not valid TOML: not UTF-8 ({e.reason})")
    except tomllib.TOMLDecodeError as e:
        problems.append(f"{path}: not valid TOML: {e}")
    return None


def _flatten_site(path: Path, data: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    """Turn site.toml's nested tables into ``section.key`` settings, checking names and types."""
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key in ("calendars", "types"):
            continue
        if isinstance(value, dict):
            for sub, subvalue in value.items():
                values[f"{key}.{sub}"] = subvalue
        else:
            values[key] = value
    for key, value in values.items():
        if key not in SITE_SETTINGS:
            problems.append(f"{path}: unknown setting {key!r}{suggest(key, SITE_SETTINGS)}")
            continue
        default = SITE_SETTINGS[key][0]
        expected = float if isinstance(default, float) else type(default)
        ok = isinstance(value, expected) or (expected is float and isinstance(value, int))
        if not ok or (expected is int and isinstance(value, bool)):
            problems.append(
                f"{path}: {key} must be {expected.__name__}, got {type(value).__name__} {value!r}"
            )
    return values


def _check_settings(path: Path, s: dict[str, Any], problems: list[str]) -> None:
    if not _valid_zone(s["timezone"]):
        problems.append(f"{path}: timezone {s['timezone']!r} is not an IANA time zone name")
    url = urlsplit(str(s["base_url"]))
    if url.scheme not in ("http", "https") or not url.netloc:
        problems.append(f"{path}: base_url must be an http(s) URL, got {s['base_url']!r}")
    for key in ("feeds.refresh_interval", "fetch.default_refresh"):
        try:
            parse_duration(s[key])
        except ValueError as e:
            problems.append(f"{path}: {key}: {e}")
    networks = s["fetch.allow_networks"]
    for value in networks if isinstance(networks, list) else []:
        try:
            ipaddress.ip_network(value, strict=False)
        except (TypeError, ValueError):
            problems.append(
                f"{path}: fetch.allow_networks: {value!r} is not a network like 10.0.0.0/8"
            )
    if s["pages.first_weekday"] not in WEEKDAYS:
        problems.append(
            f"{path}: pages.first_weekday must be one of {', '.join(WEEKDAYS)},"
            f" got {s['pages.first_weekday']!r}"
        )
    for key, (default, _) in SITE_SETTINGS.items():
        if isinstance(default, int | float) and not isinstance(default, bool):
            if isinstance(s[key], int | float) and s[key] < 0:
                problems.append(f"{path}: {key} must not be negative, got {s[key]!r}")


def _named_items(
    path: Path, data: dict[str, Any], table: str, keys: set[str], problems: list[str]
) -> list[dict[str, Any]]:
    items = data.get(table, [])
    if not isinstance(items, list):
        problems.append(f"{path}: [[{table}]] must be an array of tables")
        return []
    seen: set[str] = set()
    good = []
    for n, item in enumerate(items, 1):
        where = f"{path}: {table}[{n}]"
        if not isinstance(item, dict):
            problems.append(f"{where} must be a table")
            continue
        for key in item:
            if key not in keys:
                problems.append(f"{where}: unknown key {key!r}{suggest(key, keys)}")
        slug = item.get("slug")
        if not isinstance(slug, str) or not SLUG.match(slug):
            problems.append(f"{where}: slug must match [a-z0-9-] (1-63 chars), got {slug!r}")
            continue
        if slug in seen:
            problems.append(f"{where}: slug {slug!r} is defined twice")
            continue
        if not isinstance(item.get("name"), str) or not item["name"].strip():
            problems.append(f"{where} ({slug}): name is required")
            continue
        seen.add(slug)
        good.append(item)
    return good


def load_source(
    path: Path,
    data: dict[str, Any],
    *,
    feeds_dir: Path,
    calendars: tuple[Calendar, ...],
    types: tuple[EventType, ...],
    default_refresh: timedelta,
    problems: list[str],
) -> Source | None:
    """Validate one source definition; append every problem found and return None if any."""
    from feedserver.sources import KINDS  # late import: adapters import this module's types

    before = len(problems)
    source_id = path.stem
    if not SLUG.match(source_id):
        problems.append(f"{path}: file name must be a source id matching [a-z0-9-]")
    for key in data:
        if key not in SOURCE_KEYS:
            problems.append(f"{path}: unknown key {key!r}{suggest(key, SOURCE_KEYS)}")
    name = data.get("name", source_id)
    if not isinstance(name, str) or not name.strip():
        problems.append(f"{path}: name must be a non-empty string")
    kind = data.get("kind")
    if kind not in KINDS:
        known = ", ".join(sorted(KINDS))
        problems.append(f"{path}: unknown source kind {kind!r}; known: {known}")
    url, rel = data.get("url"), data.get("path")
    file_path = None
    if (url is None) == (rel is None):
        problems.append(f"{path}: set exactly one of url or path")
    elif url is not None:
        parts = urlsplit(url) if isinstance(url, str) else None
        if not parts or parts.scheme not in ("http", "https") or not parts.hostname:
            problems.append(f"{path}: url must be an http or https URL, got {url!r}")
    elif not isinstance(rel, str) or Path(rel).is_absolute() or ".." in Path(rel).parts:
        problems.append(f"{path}: path must be relative to the feeds folder, got {rel!r}")
    else:
        file_path = feeds_dir / rel
        if not file_path.is_file():
            problems.append(f"{path}: path {rel!r} does not exist in {feeds_dir}")
    calendar_slugs = [c.slug for c in calendars]
    calendar = data.get("calendar")
    if calendar not in calendar_slugs:
        known = ", ".join(calendar_slugs)
        problems.append(
            f"{path}: calendar {calendar!r} is not defined in site.toml (known: {known})"
        )
    type_slugs = [t.slug for t in types]
    source_types = data.get("types", [])
    if not isinstance(source_types, list) or not all(isinstance(t, str) for t in source_types):
        problems.append(f"{path}: types must be a list of type slugs")
        source_types = []
    for t in source_types:
        if t not in type_slugs:
            known = ", ".join(type_slugs)
            problems.append(f"{path}: type {t!r} is not defined in site.toml (known: {known})")
    categories = data.get("categories", {})
    if not isinstance(categories, dict):
        problems.append(f"{path}: [categories] must be a table of 'Upstream name' = 'type-slug'")
        categories = {}
    for upstream, slug in categories.items():
        if slug not in type_slugs:
            problems.append(
                f"{path}: categories.{upstream!r} maps to unknown type {slug!r}"
                f"{suggest(str(slug), type_slugs)}"
            )
    timezone = data.get("timezone")
    if timezone is not None and not _valid_zone(timezone):
        problems.append(f"{path}: timezone {timezone!r} is not an IANA time zone name")
    refresh = default_refresh
    if "refresh" in data:
        try:
            refresh = parse_duration(data["refresh"])
        except ValueError as e:
            problems.append(f"{path}: refresh: {e}")
    enabled = data.get("enabled", True)
    if not isinstance(enabled, bool):
        problems.append(f"{path}: enabled must be true or false, got {enabled!r}")
    online_links = data.get("online_links", "include")
    if online_links not in ONLINE_LINKS:
        problems.append(
            f"{path}: online_links must be one of {', '.join(ONLINE_LINKS)}, got {online_links!r}"
        )
    follow = _follow(path, data.get("follow", {}), problems)
    for table in KIND_TABLES:
        if table in data and table != kind:
            problems.append(f"{path}: [{table}] applies to kind {table!r} only, not {kind!r}")
    options = data.get(str(kind), {})
    if not isinstance(options, dict):
        problems.append(f"{path}: {kind}: must be a table of settings ([{kind}])")
    elif kind in KINDS:
        problems.extend(f"{path}: {kind}.{problem}" for problem in KINDS[kind].check(options))
    if len(problems) > before:
        return None
    return Source(
        id=source_id,
        name=name.strip(),
        kind=str(kind),
        calendar=str(calendar),
        url=url,
        path=file_path,
        types=tuple(source_types),
        categories=tuple(categories.items()),
        timezone=timezone,
        refresh=refresh,
        enabled=enabled,
        online_links=online_links,
        follow=follow,
        options=options,
        file=path,
    )


def _follow(path: Path, table: Any, problems: list[str]) -> Follow:
    if not isinstance(table, dict):
        problems.append(f"{path}: follow: must be a table ([follow])")
        return Follow()
    for key in table:
        if key not in FOLLOW_KEYS:
            known = ", ".join(FOLLOW_KEYS)
            problems.append(
                f"{path}: follow.{key}: unknown key{suggest(key, FOLLOW_KEYS)}; known: {known}"
            )
    follow = Follow()
    for key in ("pages", "max_event_pages"):
        value = table.get(key, getattr(follow, key))
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 1000:
            problems.append(
                f"{path}: follow.{key}: must be a whole number from 1 to 1000, got {value!r}"
            )
            value = getattr(follow, key)
        follow = replace(follow, **{key: value})
    event_pages = table.get("event_pages", False)
    if not isinstance(event_pages, bool):
        problems.append(f"{path}: follow.event_pages: must be true or false, got {event_pages!r}")
    else:
        follow = replace(follow, event_pages=event_pages)
    if "delay" in table:
        try:
            follow = replace(follow, delay=parse_duration(str(table["delay"])))
        except ValueError as e:
            problems.append(f"{path}: follow.delay: {e}")
    return follow


def load(
    feeds_dir: str | Path | None = None,
    data_dir: str | Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    replace: Mapping[str, bytes | None] | None = None,
) -> Config:
    """Load and validate the whole configuration; raise ConfigError listing every problem.

    ``replace`` maps source ids to the would-be bytes of ``sources/<id>.toml`` (None: the file
    is gone): the admin commands validate the configuration as it will be before writing it.
    """
    replace = dict(replace or {})
    env = os.environ if environ is None else environ
    feeds = Path(feeds_dir or env.get("FEEDSERVER_FEEDS") or "./feeds")
    data = Path(data_dir or env.get("FEEDSERVER_DATA") or "./var")
    problems: list[str] = []
    site_path = feeds / "site.toml"
    site = _read_toml(site_path, problems) or {}
    settings = {key: default for key, (default, _) in SITE_SETTINGS.items()}
    settings.update(_flatten_site(site_path, site, problems))
    settings.update(overrides or {})
    _check_settings(site_path, settings, problems)

    calendars = tuple(
        Calendar(c["slug"], c["name"].strip(), str(c.get("description", "")))
        for c in _named_items(
            site_path, site, "calendars", {"slug", "name", "description"}, problems
        )
    )
    types = []
    for t in _named_items(site_path, site, "types", {"slug", "name", "aliases"}, problems):
        aliases = t.get("aliases", [])
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            problems.append(f"{site_path}: type {t['slug']!r}: aliases must be a list of strings")
            aliases = []
        types.append(EventType(t["slug"], t["name"].strip(), tuple(aliases)))
    if site and not calendars:
        problems.append(f"{site_path}: define at least one [[calendars]]")

    try:
        default_refresh = parse_duration(settings["fetch.default_refresh"])
    except ValueError:
        default_refresh = timedelta(hours=1)
    sources = []
    loaded = [site_path] if site else []
    source_dir = feeds / "sources"
    paths = set(source_dir.glob("*.toml")) if source_dir.is_dir() else set()
    paths |= {source_dir / f"{i}.toml" for i, text in replace.items() if text is not None}
    paths -= {source_dir / f"{i}.toml" for i, text in replace.items() if text is None}
    for path in sorted(paths):
        raw = _read_toml(path, problems, replace.get(path.stem))
        if raw is None:
            continue
        loaded.append(path)
        source = load_source(
            path,
            raw,
            feeds_dir=feeds,
            calendars=calendars,
            types=tuple(types),
            default_refresh=default_refresh,
            problems=problems,
        )
        if source:
            sources.append(source)
    if problems:
        raise ConfigError(problems)
    # debug: the admin commands load the would-be configuration several times per change
    log.debug("loaded configuration from %s", ", ".join(str(p) for p in loaded))
    return Config(
        feeds_dir=feeds,
        data_dir=data,
        admin_token=env.get("FEEDSERVER_ADMIN_TOKEN") or None,
        title=settings["title"],
        base_url=settings["base_url"].rstrip("/"),
        timezone=settings["timezone"],
        calendars=calendars,
        types=tuple(types),
        sources=tuple(sources),
        settings=settings,
        loaded_files=tuple(loaded),
    )


def fingerprint(feeds_dir: Path) -> tuple[tuple[str, int, int, int], ...]:
    """What changes when a file of the configuration changes: name, inode, size and mtime of
    site.toml and every sources/*.toml. Cheap (one listing, a few stats); an atomic replace
    always changes the inode."""
    result = []
    for path in [feeds_dir / "site.toml", *sorted((feeds_dir / "sources").glob("*.toml"))]:
        try:
            st = path.stat()
        except OSError:
            continue  # gone between the listing and the stat: the next look sees it
        result.append((str(path), st.st_ino, st.st_size, st.st_mtime_ns))
    return tuple(result)


class LiveConfig:
    """The configuration of a long-running process, reloaded when ``feeds/`` changes.

    ``current()`` looks at the files at most every ``check_every`` seconds; a changed fingerprint
    reloads everything. A configuration that fails to load is reported (``problems``, the log)
    and the last good one stays in force, so a typo on disk never takes the server down.
    """

    def __init__(
        self,
        config: Config,
        load: Callable[[], Config],
        *,
        check_every: float = 1.0,
    ) -> None:
        self._config = config
        self._load = load
        self.check_every = check_every
        self._fingerprint = fingerprint(config.feeds_dir)
        self._checked = time.monotonic()
        self._lock = threading.Lock()
        self.problems: list[str] = []  # of the configuration on disk, when it is bad
        self.loaded_at = time.time()

    def current(self) -> Config:
        if time.monotonic() - self._checked < self.check_every:
            return self._config
        return self.check()

    def check(self) -> Config:
        """Look at the files now; reload if they changed."""
        with self._lock:
            self._checked = time.monotonic()
            now = fingerprint(self._config.feeds_dir)
            if now == self._fingerprint:
                return self._config
            self._fingerprint = now
            try:
                config = self._load()
            except ConfigError as e:
                self.problems = e.problems
                log.error(
                    "the configuration in %s has %d problem(s); keeping the last good one:\n  %s",
                    self._config.feeds_dir,
                    len(e.problems),
                    "\n  ".join(e.problems),
                )
                return self._config
            self._config, self.problems, self.loaded_at = config, [], time.time()
            log.info("configuration reloaded: %d sources", len(config.sources))
            return config
