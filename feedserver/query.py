"""Stage ④: turn a feed URL (path + query string) into one canonical, validated FeedQuery.

The query string is the public filter language (README "Filters"); a URL pasted into a calendar
must keep its meaning for years. Within one parameter any value matches (repeat the parameter or
separate values with commas); different parameters must all match.

Equivalent URLs (parameter order, repeated vs comma form, slug and word case, accents, the path
form: ``/calendars/ece.ics`` is ``/all.ics?calendar=ece``) give the same FeedQuery and so share
one cache entry and one ETag. Every invalid input is a QueryError (HTTP 400) that says what is
wrong and what is valid, or NotFound (404) for an unknown calendar or type in the path.
"""

from __future__ import annotations

import difflib
import re
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode

from feedserver.config import Config
from feedserver.details import fold
from feedserver.errors import NotFound, QueryError
from feedserver.selection import Selection

PARAMETERS = (
    "calendar",
    "type",
    "exclude_type",
    "q",
    "location",
    "audience",
    "online",
    "from",
    "to",
    "days",
    "past",
    "alarm",
    "name",
    "expand",
)
# Words people type for a parameter that difflib would not find close.
_ALIASES = {
    "search": "q",
    "query": "q",
    "keyword": "q",
    "keywords": "q",
    "text": "q",
    "where": "location",
    "room": "location",
    "place": "location",
    "remote": "online",
    "virtual": "online",
    "reminder": "alarm",
    "reminders": "alarm",
    "notify": "alarm",
    "exclude": "exclude_type",
    "not_type": "exclude_type",
    "start": "from",
    "since": "from",
    "end": "to",
    "until": "to",
    "title": "name",
    "calname": "name",
    "future": "days",
    "horizon": "days",
    "history": "past",
}
_BOOLEAN = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False}
_BOOLEAN |= {"no": False, "off": False}
_MAX_ALARM = 40320  # four weeks, in minutes
_MAX_VALUES = 20  # per parameter: bounds the SQL a URL can ask for
_MAX_TEXT = 200
_TOKEN = re.compile(r'"([^"]*)"?|([^\s",]+)|(,)')
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class FeedQuery:
    """What a feed contains and how it is rendered.

    ``calendars``/``types``: every group must match (all-of), any slug within a group does
    (any-of). ``words``: any alternative, all of its words. ``end`` is exclusive.
    """

    scope: str  # the canonical path: "all", "calendars" or "types"
    slug: str | None
    calendars: tuple[tuple[str, ...], ...]
    types: tuple[tuple[str, ...], ...]
    start: date
    end: date
    params: tuple[tuple[str, str], ...]  # the canonical query string
    exclude_types: tuple[str, ...] = ()
    words: tuple[tuple[str, ...], ...] = ()
    locations: tuple[str, ...] = ()
    audiences: tuple[str, ...] = ()
    online: bool | None = None
    alarms: tuple[int, ...] = ()  # minutes before the start
    name: str | None = None
    expand: bool = False
    explicit: frozenset[str] = field(default=frozenset(), compare=False)  # window params given

    @property
    def path(self) -> str:
        return "/all" if self.scope == "all" else f"/{self.scope}/{self.slug}"

    @property
    def query_string(self) -> str:
        return urlencode(self.params, safe=",")

    def url(self, extension: str = ".ics") -> str:
        """The canonical relative URL of this feed (``""``: the preview page)."""
        query = self.query_string
        return f"{self.path}{extension}" + (f"?{query}" if query else "")

    @property
    def cache_key(self) -> str:
        """Canonical URL plus the resolved window: a default window moves with the date."""
        return self.key(".ics")

    def key(self, extension: str) -> str:
        return f"{self.url(extension)}#{self.start.isoformat()}/{self.end.isoformat()}"

    def window(self, timezone: str) -> tuple[int, int]:
        """[start, end) as UTC epoch seconds, days starting at midnight in the site's zone."""
        zone = zoneinfo.ZoneInfo(timezone)
        return (
            int(datetime.combine(self.start, time(), zone).timestamp()),
            int(datetime.combine(self.end, time(), zone).timestamp()),
        )

    def selection(self, timezone: str, start: int | None = None) -> Selection:
        """What the store selects; ``start`` narrows the window's beginning (previews)."""
        first, end = self.window(timezone)
        return Selection(
            start=first if start is None else max(first, start),
            end=end,
            calendars=self.calendars,
            types=self.types,
            exclude_types=self.exclude_types,
            words=self.words,
            locations=self.locations,
            audiences=self.audiences,
            online=self.online,
        )


def _suggest(word: str, known: Sequence[str]) -> str:
    alias = _ALIASES.get(word.lower())
    close = [alias] if alias else difflib.get_close_matches(word.lower(), known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _split(name: str, values: Sequence[str]) -> list[str]:
    parts = [part.strip() for value in values for part in value.split(",")]
    parts = [p for p in parts if p]
    if len(parts) > _MAX_VALUES:
        raise QueryError(f"{name}: at most {_MAX_VALUES} values, got {len(parts)}")
    return parts


def _slugs(name: str, values: Sequence[str], known: Sequence[str]) -> tuple[str, ...]:
    slugs = []
    what = name.replace("exclude_", "")
    for slug in (p.lower() for p in _split(name, values)):
        if slug not in known:
            raise QueryError(
                f"{name}: unknown {what} {slug!r}{_suggest(slug, known)}; valid: {', '.join(known)}"
            )
        slugs.append(slug)
    if not slugs:
        raise QueryError(f"{name}: expected one or more {what} slugs, got an empty value")
    return tuple(sorted(set(slugs)))


def _once(name: str, values: Sequence[str]) -> str:
    if len(values) > 1:
        raise QueryError(f"{name}: given {len(values)} times; give it once")
    return values[0].strip()


def _date(name: str, values: Sequence[str]) -> date:
    value = _once(name, values)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise QueryError(f"{name}: expected an ISO date YYYY-MM-DD, got {value!r}") from None


def _count(name: str, values: Sequence[str], low: int, high: int, what: str) -> int:
    value = _once(name, values)
    if not value.isdigit() or not low <= int(value) <= high:
        raise QueryError(
            f"{name}: expected {what}, a whole number from {low} to {high}, got {value!r}"
        )
    return int(value)


def _boolean(name: str, values: Sequence[str], meaning: str) -> bool:
    value = _once(name, values).lower()
    if value not in _BOOLEAN:
        raise QueryError(f"{name}: expected 1 ({meaning}) or 0, got {value!r}")
    return _BOOLEAN[value]


def _words(values: Sequence[str]) -> tuple[tuple[str, ...], ...]:
    """``q``: comma-separated alternatives, each a set of words or "quoted phrases".

    >>> _words(['Machine  Learning, "Café Müller"', "learning machine"])
    (('cafe muller',), ('learning', 'machine'))
    """
    alternatives: set[tuple[str, ...]] = set()
    for value in values:
        if len(value) > _MAX_TEXT:
            raise QueryError(f"q: at most {_MAX_TEXT} characters, got {len(value)}")
        current: set[str] = set()
        for phrase, word, comma in _TOKEN.findall(value + ","):
            if comma:
                if current:
                    alternatives.add(tuple(sorted(current)))
                current = set()
            elif folded := fold(phrase or word):
                current.add(folded)
    if not alternatives:
        raise QueryError("q: expected one or more words to search for, got an empty value")
    if len(alternatives) > _MAX_VALUES or any(len(a) > _MAX_VALUES for a in alternatives):
        raise QueryError(f"q: at most {_MAX_VALUES} alternatives of {_MAX_VALUES} words")
    return tuple(sorted(alternatives))


def _phrases(name: str, values: Sequence[str]) -> tuple[str, ...]:
    found = {fold(p) for p in _split(name, values)} - {""}
    if not found:
        raise QueryError(f"{name}: expected one or more words, got an empty value")
    if any(len(p) > _MAX_TEXT for p in found):
        raise QueryError(f"{name}: at most {_MAX_TEXT} characters per value")
    return tuple(sorted(found))


def _quoted(words: tuple[str, ...]) -> str:
    return " ".join(f'"{w}"' if " " in w else w for w in words)


def _groups(groups: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """Groups in canonical order, without repeats and without groups implied by a narrower one
    (calendar ece and calendar ece-or-cs is calendar ece)."""
    unique = sorted(set(groups), key=lambda g: (len(g), g))
    return [g for g in unique if not any(set(o) < set(g) for o in unique)]


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
    if "calendar" in args:
        calendars.append(_slugs("calendar", args["calendar"], calendar_slugs))
    if "type" in args:
        types.append(_slugs("type", args["type"], type_slugs))
    calendars, types = _groups(calendars), _groups(types)

    params: list[tuple[str, str]] = []
    # The canonical path: the first single calendar, else the first single type, else /all.
    scope, slug = "all", None
    for path_scope, groups in (("calendars", calendars), ("types", types)):
        single = next((g for g in groups if len(g) == 1), None)
        if single is not None:
            scope, slug = path_scope, single[0]
            break
    for name, groups in (("calendar", calendars), ("type", types)):
        for group in groups:
            if not (scope == f"{name}s" and group == (slug,)):
                params.append((name, ",".join(group)))

    exclude: tuple[str, ...] = ()
    if "exclude_type" in args:
        exclude = _slugs("exclude_type", args["exclude_type"], type_slugs)
        params.append(("exclude_type", ",".join(exclude)))
    words: tuple[tuple[str, ...], ...] = ()
    if "q" in args:
        words = _words(args["q"])
        params.append(("q", ",".join(_quoted(a) for a in words)))
    locations = _phrases("location", args["location"]) if "location" in args else ()
    audiences = _phrases("audience", args["audience"]) if "audience" in args else ()
    params += [("location", ",".join(locations))] if locations else []
    params += [("audience", ",".join(audiences))] if audiences else []
    online = None
    if "online" in args:
        online = _boolean("online", args["online"], "only events with a meeting link; 0: without")
        params.append(("online", str(int(online))))

    start, end = _window(args, config, today, params)

    alarms: tuple[int, ...] = ()
    if "alarm" in args:
        minutes = []
        for value in _split("alarm", args["alarm"]):
            if not value.isdigit() or int(value) > _MAX_ALARM:
                raise QueryError(
                    f"alarm: expected minutes before the start, a whole number from 0 to "
                    f"{_MAX_ALARM} (several: alarm=10,60), got {value!r}"
                )
            minutes.append(int(value))
        if not minutes:
            raise QueryError("alarm: expected minutes before the start, got an empty value")
        if len(set(minutes)) > 5:
            raise QueryError(f"alarm: at most 5 reminders, got {len(set(minutes))}")
        alarms = tuple(sorted(set(minutes)))
        params.append(("alarm", ",".join(map(str, alarms))))
    display = None
    if "name" in args:
        display = " ".join(_once("name", args["name"]).split())
        if not display or len(display) > _MAX_TEXT or _CONTROL.search(display):
            raise QueryError(
                f"name: expected the calendar's display name, 1 to {_MAX_TEXT} characters "
                f"without control characters, got {args['name'][0]!r}"
            )
        params.append(("name", display))
    expand = "expand" in args and _boolean("expand", args["expand"], "one event per occurrence")
    if expand:
        params.append(("expand", "1"))
    return FeedQuery(
        scope=scope,
        slug=slug,
        calendars=tuple(calendars),
        types=tuple(types),
        start=start,
        end=end,
        params=tuple(sorted(params)),
        exclude_types=exclude,
        words=words,
        locations=locations,
        audiences=audiences,
        online=online,
        alarms=alarms,
        name=display,
        expand=expand,
        explicit=frozenset(n for n in ("from", "to", "days", "past") if n in args),
    )


def _window(
    args: Mapping[str, Sequence[str]], config: Config, today: date, params: list
) -> tuple[date, date]:
    """[start, end) of the feed: ``from``/``to`` dates, or ``past``/``days`` around today."""
    max_days = config.setting("feeds.max_days")
    for fixed, rolling in (("from", "past"), ("to", "days")):
        if fixed in args and rolling in args:
            raise QueryError(
                f"{fixed} and {rolling} both set the window's "
                f"{'start' if fixed == 'from' else 'end'}; give one of them"
            )
    first = _date("from", args["from"]) if "from" in args else None
    last = _date("to", args["to"]) if "to" in args else None
    days = past = None
    if "days" in args:
        days = _count("days", args["days"], 1, max_days, "the number of days ahead, today first")
    if "past" in args:
        past = _count("past", args["past"], 0, max_days, "the number of days of history to keep")
    back = timedelta(days=config.setting("feeds.past_days") if past is None else past)
    future = timedelta(days=config.setting("feeds.future_days"))
    start = first if first else min(today, last or today) - back
    if last:
        end = last + timedelta(days=1)
    elif days:
        end = today + timedelta(days=days)
    else:
        end = max(today, first or today) + future + timedelta(days=1)
    if end <= start:
        raise QueryError(f"from {start.isoformat()} is after to {(end - timedelta(1)).isoformat()}")
    if (end - start).days > max_days:
        raise QueryError(
            f"the window from {start} to {end - timedelta(1)} spans {(end - start).days} days; "
            f"at most {max_days} are allowed"
        )
    params += [("from", first.isoformat())] if first else []
    params += [("to", last.isoformat())] if last else []
    params += [("days", str(days))] if days else []
    params += [("past", str(past))] if past is not None else []
    return start, end


def describe(query: FeedQuery, config: Config) -> tuple[str, str]:
    """The feed's display name (X-WR-CALNAME) and description, saying the filter in words.

    A ``name`` given in the URL replaces the display name; the description still says the
    filter.
    """
    names = {c.slug: c.name for c in config.calendars} | {t.slug: t.name for t in config.types}
    parts = [" or ".join(names[s] for s in group) for group in (*query.calendars, *query.types)]
    if query.exclude_types:
        parts.append("without " + " or ".join(names[s] for s in query.exclude_types))
    if query.words:
        parts.append("matching " + " or ".join(f"“{_quoted(a)}”" for a in query.words))
    if query.locations:
        parts.append("at " + " or ".join(f"“{p}”" for p in query.locations))
    if query.audiences:
        parts.append("for " + " or ".join(f"“{p}”" for p in query.audiences))
    if query.online is not None:
        parts.append("online" if query.online else "in person")
    summary = ", ".join(parts)
    name = query.name or config.title + (f" — {summary}" if summary else "")
    # The window goes in the description only: a calendar's name should stay short.
    given = dict(query.params)
    if "from" in given or "to" in given:
        last = (query.end - timedelta(days=1)).isoformat()
        parts.append(f"from {query.start.isoformat()} to {last}")
    elif "days" in given:
        parts.append("today" if given["days"] == "1" else f"the next {given['days']} days")
    summary = ", ".join(parts)
    description = ""
    if query.scope == "calendars":
        description = config.calendar(query.slug or "").description  # type: ignore[union-attr]
    description = description or f"Events of {config.title}" + (f": {summary}" if summary else "")
    return name, description
