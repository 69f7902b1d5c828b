"""Stage ④: turn a feed URL (path + query string) into one canonical, validated FeedQuery.

Equivalent URLs (parameter order, repeated vs comma form, slug case) give the same FeedQuery and
so share one cache entry and one ETag. Every invalid input is a QueryError (HTTP 400) that says
what is wrong and what is valid, or NotFound (404) for an unknown calendar or type in the path.
"""

from __future__ import annotations

import difflib
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode

from feedserver.config import Config
from feedserver.errors import NotFound, QueryError

PARAMETERS = ("calendar", "type", "from", "to")


@dataclass(frozen=True)
class FeedQuery:
    """What a feed contains. ``calendars``/``types``: every group must match (all-of), any slug
    within a group does (any-of). ``end`` is exclusive."""

    scope: str  # "all", "calendars" or "types"
    slug: str | None
    calendars: tuple[tuple[str, ...], ...]
    types: tuple[tuple[str, ...], ...]
    start: date
    end: date
    params: tuple[tuple[str, str], ...]  # the canonical query string, as given by the user

    @property
    def path(self) -> str:
        return "/all" if self.scope == "all" else f"/{self.scope}/{self.slug}"

    def url(self, extension: str = ".ics") -> str:
        """The canonical relative URL of this feed."""
        query = urlencode(self.params, safe=",")
        return f"{self.path}{extension}" + (f"?{query}" if query else "")

    @property
    def cache_key(self) -> str:
        """Canonical URL plus the resolved window: a default window moves with the date."""
        return f"{self.url()}#{self.start.isoformat()}/{self.end.isoformat()}"

    def window(self, timezone: str) -> tuple[int, int]:
        """[start, end) as UTC epoch seconds, days starting at midnight in the site's zone."""
        zone = zoneinfo.ZoneInfo(timezone)
        return (
            int(datetime.combine(self.start, time(), zone).timestamp()),
            int(datetime.combine(self.end, time(), zone).timestamp()),
        )


def _suggest(word: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _slugs(name: str, values: Sequence[str], known: Sequence[str]) -> tuple[str, ...]:
    slugs = []
    for value in values:
        for part in value.split(","):
            slug = part.strip().lower()
            if not slug:
                continue
            if slug not in known:
                raise QueryError(
                    f"{name}: unknown {name} {slug!r}{_suggest(slug, known)}; "
                    f"valid: {', '.join(known)}"
                )
            slugs.append(slug)
    if not slugs:
        raise QueryError(f"{name}: expected one or more {name} slugs, got an empty value")
    return tuple(sorted(set(slugs)))


def _date(name: str, values: Sequence[str]) -> date:
    if len(values) > 1:
        raise QueryError(f"{name}: given {len(values)} times; give it once")
    try:
        return date.fromisoformat(values[0].strip())
    except ValueError:
        raise QueryError(f"{name}: expected an ISO date YYYY-MM-DD, got {values[0]!r}") from None


def parse(
    scope: str,
    slug: str | None,
    args: Mapping[str, Sequence[str]],
    config: Config,
    today: date,
) -> FeedQuery:
    """Parse a feed URL. ``args`` maps each parameter to all its values, in order.

    ``today`` is passed in (the site's local date) so that results are reproducible.
    """
    calendar_slugs = [c.slug for c in config.calendars]
    type_slugs = [t.slug for t in config.types]
    for name in args:
        if name not in PARAMETERS:
            raise QueryError(
                f"unknown parameter {name!r}{_suggest(name, PARAMETERS)}; "
                f"valid parameters: {', '.join(sorted(PARAMETERS))}"
            )
    calendars: list[tuple[str, ...]] = []
    types: list[tuple[str, ...]] = []
    if scope == "calendars":
        slug = (slug or "").lower()
        if slug not in calendar_slugs:
            raise NotFound(f"no calendar {slug!r}; calendars: {', '.join(calendar_slugs)}")
        calendars.append((slug,))
    elif scope == "types":
        slug = (slug or "").lower()
        if slug not in type_slugs:
            raise NotFound(f"no event type {slug!r}; types: {', '.join(type_slugs)}")
        types.append((slug,))
    params: list[tuple[str, str]] = []
    if "calendar" in args:
        group = _slugs("calendar", args["calendar"], calendar_slugs)
        calendars.append(group)
        params.append(("calendar", ",".join(group)))
    if "type" in args:
        group = _slugs("type", args["type"], type_slugs)
        types.append(group)
        params.append(("type", ",".join(group)))
    past = timedelta(days=config.setting("feeds.past_days"))
    future = timedelta(days=config.setting("feeds.future_days"))
    first = _date("from", args["from"]) if "from" in args else None
    last = _date("to", args["to"]) if "to" in args else None
    start = first if first else min(today, last or today) - past
    end = (last or max(today, first or today) + future) + timedelta(days=1)
    if end <= start:
        raise QueryError(f"from {start.isoformat()} is after to {(end - timedelta(1)).isoformat()}")
    max_days = config.setting("feeds.max_days")
    if (end - start).days > max_days:
        raise QueryError(
            f"the window from {start} to {end - timedelta(1)} spans {(end - start).days} days; "
            f"at most {max_days} are allowed"
        )
    if first:
        params.append(("from", first.isoformat()))
    if last:
        params.append(("to", last.isoformat()))
    return FeedQuery(
        scope=scope,
        slug=slug,
        calendars=tuple(calendars),
        types=tuple(types),
        start=start,
        end=end,
        params=tuple(sorted(params)),
    )


def describe(query: FeedQuery, config: Config) -> tuple[str, str]:
    """The feed's display name and description, in words."""
    names = {c.slug: c.name for c in config.calendars} | {t.slug: t.name for t in config.types}
    parts = [" or ".join(names[s] for s in group) for group in (*query.calendars, *query.types)]
    name = config.title + (" — " + ", ".join(parts) if parts else "")
    if query.scope == "calendars":
        description = config.calendar(query.slug or "").description  # type: ignore[union-attr]
    else:
        description = ""
    description = description or f"Events of {config.title}" + (
        f": {', '.join(parts)}" if parts else ""
    )
    return name, description
