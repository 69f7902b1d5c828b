"""Stage ②: turn one source's parsed events into clean, self-contained contributions.

Time zones are repaired (every timed value ends up in an IANA zone or UTC, never floating, never a
Windows or custom zone), calendar and event types are assigned, upstream bookkeeping (DTSTAMP,
LAST-MODIFIED, SEQUENCE) is set aside so that the store can own identity, each UID group (a series
and its overrides) is serialized once, and its occurrences inside the horizon are computed.
"""

from __future__ import annotations

import functools
import hashlib
import re
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

import icalendar
import recurring_ical_events
from dateutil.rrule import rrulestr
from icalendar.parser_tools import to_unicode
from icalendar.prop import vDDDLists, vDDDTypes, vText
from icalendar.timezone.tzid import is_utc
from recurring_ical_events.constants import NEGATIVE_RRULE_COUNT_REGEX
from recurring_ical_events.util import time_span_contains_event

from feedserver import content, details
from feedserver.config import Config, Source
from feedserver.sources import Parsed
from feedserver.timezones import match_zone, resolve_tzid

_TIME_PROPS = ("DTSTART", "DTEND", "DUE", "RECURRENCE-ID")
_LIST_PROPS = ("EXDATE", "RDATE")
# Set aside: the store writes its own, stable values (DESIGN.md "Stable output").
_BOOKKEEPING = ("DTSTAMP", "LAST-MODIFIED", "SEQUENCE")
_TZID_PARAM = re.compile(rb";TZID=\"?([^:;\"]+)")
# icalendar components keep property names in upper case: plain dict lookups of upper-case
# names find what Component.get finds, without its per-call key conversion (and KeyError).
_get = dict.get
_has = dict.__contains__
_UTC_NAMES = {"UTC", "Etc/UTC", "Etc/Universal", "Universal", "Zulu", "Etc/Zulu", "GMT"}


@dataclass(frozen=True)
class Horizon:
    """The span for which occurrences are precomputed, as UTC epoch seconds."""

    start: int
    end: int

    @classmethod
    def around(cls, now: datetime, past_days: int, future_days: int) -> Horizon:
        """The horizon for ``now``, moved in 30-day steps: within one step, re-ingesting the
        same source gives the same occurrences, so unchanged events cost no write."""
        step = 30 * 86400
        anchor = int(now.timestamp()) // step * step
        return cls(anchor - past_days * 86400, anchor + step + future_days * 86400)


@dataclass(frozen=True)
class Contribution:
    """One UID group as one source delivers it, ready for the store to merge."""

    uid: str
    body: bytes  # serialized VEVENTs, master first; no DTSTAMP / LAST-MODIFIED / SEQUENCE
    content_hash: str
    calendar: str
    types: tuple[str, ...]
    upstream_sequence: int
    upstream_modified: datetime | None
    summary: str
    start: int  # the first DTSTART of the group, UTC epoch seconds: the sort key
    tzids: tuple[str, ...]
    first_year: int
    series_end: int | None  # end of the last occurrence; None when the series never ends
    recurring: bool  # RRULE, RDATE or overrides: selection must look at single occurrences
    # (start, end, component): the component is 0 for the master, k for the k-th override
    occurrences: tuple[tuple[int, int, int], ...]
    search_text: str  # folded (details.fold): title, description, place, speaker
    details: str = "[]"  # JSON: details.Facts of each component, master first
    location_text: str = ""
    audience_text: str = ""
    online: bool = False


def _epoch(value: date | datetime, zone: tzinfo) -> int:
    if not isinstance(value, datetime):  # an all-day date starts at local midnight
        value = datetime.combine(value, time(), zone)
    elif value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return int(value.timestamp())


class _Repair:
    """Per-source time zone repair, remembering the warnings it gives and the zones it meets."""

    def __init__(self, source: Source, config: Config, zones: dict[str, tzinfo]) -> None:
        self.source = source
        self.zones = zones
        self.zone_name = source.timezone or config.timezone
        self.zone = zoneinfo.ZoneInfo(self.zone_name)
        self.candidates = list(dict.fromkeys([self.zone_name, config.timezone]))
        self.warnings: list[str] = []
        self._custom: dict[str | None, tzinfo] = {}
        self._unknown: set[str] = set()

    def value(self, value: date | datetime, tzid: str | None, where: str) -> date | datetime:
        if not isinstance(value, datetime):
            return value
        tz = value.tzinfo
        if tz is None:
            if tzid and tzid not in self._unknown:  # one warning per zone, not per event
                self._unknown.add(tzid)
                self.warnings.append(
                    f"{where}: unknown time zone {tzid!r}; times taken as {self.zone_name}"
                )
            return value.replace(tzinfo=self.zone)
        if tz is UTC or getattr(tz, "key", None) in _UTC_NAMES:
            return value.astimezone(UTC)
        if isinstance(tz, zoneinfo.ZoneInfo):
            return value
        return self._custom_zone(value, tz, tzid, where)

    def _custom_zone(self, value: datetime, tz: tzinfo, tzid: str | None, where: str) -> datetime:
        # An upstream VTIMEZONE with a name that is no IANA zone ("Customized Time Zone" in
        # Outlook exports): find the IANA zone with the same rules, else pin the instant in UTC.
        tz = self.zones.get(tzid or "", tz)
        value = value.replace(tzinfo=tz)
        zone = self._custom.get(tzid)
        if zone is None:
            zone = resolve_tzid(tzid) if tzid else None
            years = range(value.year - 1, value.year + 2)
            if zone is None or match_zone(tz, [zone.key], years) is None:
                zone = match_zone(tz, self.candidates, years)
            if zone is None:
                self.warnings.append(
                    f"{where}: time zone {tzid!r} matches no known zone; times converted to UTC"
                )
                zone = UTC
            self._custom[tzid] = zone
        if zone is UTC:
            return value.astimezone(UTC)
        return value.replace(tzinfo=zone)

    def event(self, event: icalendar.Event, where: str) -> None:
        for name in _TIME_PROPS:
            prop = _get(event, name)
            if prop is None or not hasattr(prop, "dt"):
                continue
            tzid = prop.params.get("TZID")
            fixed = self.value(prop.dt, tzid, f"{where}: {name}")
            if fixed is not prop.dt or tzid:
                event[name] = vDDDTypes(fixed)
        for name in _LIST_PROPS:
            props = _get(event, name)
            if props is None:
                continue
            fixed_lists = []
            for prop in props if isinstance(props, list) else [props]:
                tzid = prop.params.get("TZID")
                values: list[Any] = []
                for item in prop.dts:
                    value = item.dt
                    if isinstance(value, tuple):  # RDATE;VALUE=PERIOD
                        start = self.value(value[0], tzid, f"{where}: {name}")
                        end = value[1]
                        if isinstance(end, datetime):
                            end = self.value(end, tzid, f"{where}: {name}")
                        values.append((start, end))
                    else:
                        values.append(self.value(value, tzid, f"{where}: {name}"))
                fixed_lists.append(vDDDLists(values))
            event[name] = fixed_lists if len(fixed_lists) > 1 else fixed_lists[0]
        self._until(event, where)
        self._end(event, where)

    def _until(self, event: icalendar.Event, where: str) -> None:
        rrule = _get(event, "RRULE")
        if rrule is None or "UNTIL" not in rrule:
            return
        start, until = event["DTSTART"].dt, rrule["UNTIL"][0]
        if not isinstance(start, datetime):
            if isinstance(until, datetime):
                rrule["UNTIL"] = [until.date()]
            return
        # RFC 5545 §3.3.10: with a zoned DTSTART, UNTIL must be in UTC.
        if not isinstance(until, datetime):
            until = datetime.combine(until, time(23, 59, 59), start.tzinfo)
        elif until.tzinfo is None:
            until = until.replace(tzinfo=start.tzinfo)
        rrule["UNTIL"] = [until.astimezone(UTC)]

    def _end(self, event: icalendar.Event, where: str) -> None:
        if not _has(event, "DTEND"):
            return
        start, end = event["DTSTART"].dt, event["DTEND"].dt
        if not isinstance(start, datetime):
            if isinstance(end, datetime):
                end = end.date()
            if end <= start:  # RFC 5545 §3.6.1: an all-day DTEND is exclusive
                end = start + timedelta(days=1)
            if end != event["DTEND"].dt:
                event["DTEND"] = vDDDTypes(end)
        elif not isinstance(end, datetime) or end < start:
            self.warnings.append(f"{where}: DTEND before DTSTART dropped")
            del event["DTEND"]


def fold(line: str) -> bytes:
    """One content line as CRLF-terminated bytes, folded (RFC 5545 §3.1) exactly as icalendar
    folds it: at most 74 octets of content per physical line, never splitting a UTF-8 character
    or a backslash/caret escape.
    icalendar's own folding walks every character; this is the hot path of ingest.

    >>> fold("X:" + "a" * 80) == b"X:" + b"a" * 72 + b"\\r\\n " + b"a" * 8 + b"\\r\\n"
    True
    >>> [len(line) for line in fold("S:" + "é" * 40).split(b"\\r\\n")]
    [74, 9, 0]
    """
    data = line.encode()
    if len(data) <= 74:
        return data + b"\r\n"
    parts = []
    start = 0
    while len(data) - start > 74:
        end = start + 74
        while data[end] & 0xC0 == 0x80:  # a UTF-8 continuation byte: cut before its lead byte
            end -= 1
        if data[end - 1] in b"\\^" and end - start > 1:  # keep escapes (\, ^n) on one line
            end -= 1
        parts.append(data[start:end])
        start = end
    parts.append(data[start:])
    return b"\r\n ".join(parts) + b"\r\n"


def serialize(component: icalendar.Component) -> bytes:
    """The component as iCalendar bytes, exactly as ``component.to_ical()`` but faster.

    The same steps as icalendar's ``content_lines()`` (properties in ``sorted_keys()`` order,
    ``to_ical()`` of each value and of its parameters, sorted), without building a
    ``Contentline`` and an empty ``Parameters`` per property.
    """
    out: list[bytes] = []
    _serialize(component, out)
    return b"".join(out)


def _serialize(component: icalendar.Component, out: list[bytes]) -> None:
    name = _component_name(component.name)
    out.append(fold(f"BEGIN:{name}"))
    get = dict.__getitem__  # sorted_keys() gives the stored (upper-case) keys
    for key in component.sorted_keys():
        values = get(component, key)
        for value in values if isinstance(values, list) else (values,):
            text = _date_time(value) if type(value) is vDDDTypes else None
            if text is None:
                text = to_unicode(
                    value.to_ical() if hasattr(value, "to_ical") else vText(value).to_ical()
                )
            params = getattr(value, "params", None)
            line = f"{key}:{text}"
            if params:
                if len(params) == 1 and type(tzid := params.get("TZID")) is str:
                    ical = _tzid_param(tzid)  # DTSTART and DTEND of nearly every event
                else:
                    ical = to_unicode(params.to_ical(sorted=True))
                if ical:
                    line = f"{key};{ical}:{text}"
            # icalendar's Contentline asserts the same
            assert "\n" not in line, "Content line can not contain unescaped new line characters."
            out.append(fold(line))
    for sub in component.subcomponents:
        _serialize(sub, out)
    out.append(fold(f"END:{name}"))


def _date_time(value: vDDDTypes) -> str | None:
    """``value.to_ical()`` of a date-time in UTC, in an IANA zone or floating, as icalendar
    writes it (vDatetime.to_ical: the digits, and "Z" when the zone or the TZID is UTC);
    None for any other value."""
    moment = value.dt
    if type(moment) is not datetime:
        return None
    zone = moment.tzinfo
    if zone is UTC:
        utc = True
    elif zone is None:
        utc = False
    elif type(zone) is zoneinfo.ZoneInfo:
        utc = _is_utc_zone(zone.key)
    else:
        return None
    digits = (
        f"{moment.year:04}{moment.month:02}{moment.day:02}"
        f"T{moment.hour:02}{moment.minute:02}{moment.second:02}"
    )
    return digits + "Z" if utc or value.params.is_utc() else digits


@functools.lru_cache(maxsize=64)
def _component_name(name: str) -> str:
    """What BEGIN/END carry: the name through vText twice, as content_lines() does."""
    return to_unicode(vText(vText(name).to_ical()).to_ical())


@functools.lru_cache(maxsize=1024)
def _is_utc_zone(key: str) -> bool:
    return is_utc(zoneinfo.ZoneInfo(key))


@functools.lru_cache(maxsize=1024)
def _tzid_param(tzid: str) -> str:
    return to_unicode(icalendar.Parameters({"TZID": tzid}).to_ical(sorted=True))


def _text(component: icalendar.Event, name: str) -> str:
    value = _get(component, name)
    return str(value) if value is not None else ""


def _upstream_categories(event: icalendar.Event) -> list[str]:
    found: list[str] = []
    props = _get(event, "CATEGORIES")
    for prop in props if isinstance(props, list) else [props] if props is not None else []:
        found.extend(str(c).strip() for c in getattr(prop, "cats", [prop]) if str(c).strip())
    return found


class _Typing:
    """Map upstream CATEGORIES to the site's event types, per source."""

    def __init__(self, source: Source, config: Config) -> None:
        self.order = [t.slug for t in config.types]
        self.names = {t.slug: t.name for t in config.types}
        self.fixed = set(source.types)
        self.lookup: dict[str, str] = {}
        for t in config.types:  # weakest first: later entries win
            self.lookup[t.slug.casefold()] = t.slug
            self.lookup[t.name.casefold()] = t.slug
            for alias in t.aliases:
                self.lookup[alias.casefold().strip()] = t.slug
        for upstream, slug in source.categories:
            self.lookup[upstream.casefold().strip()] = slug

    def apply(self, events: list[icalendar.Event]) -> tuple[str, ...]:
        """Assign types to a UID group; rewrite each component's CATEGORIES; return the types."""
        types = set(self.fixed)
        unmapped_per_event = []
        for event in events:
            unmapped = []
            for category in _upstream_categories(event):
                slug = self.lookup.get(category.casefold())
                if slug:
                    types.add(slug)
                elif category not in unmapped:
                    unmapped.append(category)
            unmapped_per_event.append(unmapped)
        ordered = tuple(slug for slug in self.order if slug in types)
        for event, unmapped in zip(events, unmapped_per_event, strict=True):
            if _has(event, "CATEGORIES"):
                del event["CATEGORIES"]
            categories = [self.names[slug] for slug in ordered] + unmapped
            if categories:
                event.add("CATEGORIES", categories)
        return ordered


def _group(events: Iterable[icalendar.Event], warnings: list[str]) -> dict[str, list]:
    """UID -> [master, overrides…]; a second master with the same UID is dropped."""
    groups: dict[str, list[icalendar.Event]] = {}
    for event in events:
        uid = str(event["UID"]).strip()
        group = groups.setdefault(uid, [])
        is_master = not _has(event, "RECURRENCE-ID")
        if is_master and group and not _has(group[0], "RECURRENCE-ID"):
            warnings.append(f"event {uid!r}: a second event with the same UID was ignored")
            continue
        if is_master:
            group.insert(0, event)
        else:
            group.append(event)
    for group in groups.values():
        if len(group) == 1:
            continue
        overrides = [e for e in group if _has(e, "RECURRENCE-ID")]
        overrides.sort(key=lambda e: _epoch(e["RECURRENCE-ID"].dt, UTC))
        group[:] = [e for e in group if not _has(e, "RECURRENCE-ID")] + overrides
    return groups


def _duration(event: icalendar.Event) -> timedelta:
    start = event["DTSTART"].dt
    end = _get(event, "DTEND")
    if end is not None:
        return end.dt - start
    if _has(event, "DURATION"):
        return event["DURATION"].dt
    return timedelta(days=1) if not isinstance(start, datetime) else timedelta(0)


def _end(event: icalendar.Event, start: date | datetime, zone: tzinfo) -> int:
    """The end (UTC epoch seconds) of an occurrence starting at ``start``: its start plus the
    event's duration on the wall clock, as recurring-ical-events computes a series' ends, so an
    all-day event or a talk across a daylight-saving change ends at the local time it says."""
    return _epoch(start + _duration(event), zone)


def occurrences(
    group: list[icalendar.Event], horizon: Horizon, zone: tzinfo
) -> tuple[tuple[int, int, int], ...]:
    """Start/end (UTC epoch seconds) of every occurrence of a UID group inside the horizon,
    with the index in ``group`` of the component that gives it (0: the master)."""
    master = group[0]
    if len(group) == 1 and not _has(master, "RRULE") and not _has(master, "RDATE"):
        start = _epoch(master["DTSTART"].dt, zone)
        end = _end(master, master["DTSTART"].dt, zone)
        return ((start, end, 0),) if start < horizon.end and end >= horizon.start else ()
    simple = _simple_series(group, horizon, zone)
    return simple if simple is not None else _expanded(group, horizon, zone)


def _expanded(
    group: list[icalendar.Event], horizon: Horizon, zone: tzinfo
) -> tuple[tuple[int, int, int], ...]:
    """occurrences() of any series, by recurring_ical_events."""
    calendar = icalendar.Calendar()
    for event in group:
        calendar.add_component(event)
    query = recurring_ical_events.of(calendar)
    # _occurrences_between() gives start/end without building a component per occurrence
    # (between() copies the whole event each time: most of ingest's cost for long series).
    found = query._occurrences_between(
        query.to_datetime(datetime.fromtimestamp(horizon.start, UTC)),
        query.to_datetime(datetime.fromtimestamp(horizon.end, UTC)),
    )
    index = {id(component): n for n, component in enumerate(group)}
    return tuple(
        sorted(
            {
                # which component an occurrence comes from: the library keeps no public handle
                (
                    _epoch(o.start, zone),
                    _epoch(o.end, zone),
                    index.get(id(o._adapter._component), 0),
                )
                for o in found
            }
        )
    )


def _simple_series(
    group: list[icalendar.Event], horizon: Horizon, zone: tzinfo
) -> tuple[tuple[int, int, int], ...] | None:
    """The occurrences of the most common series, exactly as recurring_ical_events finds them
    (its Series.between, step by step), without its per-occurrence objects; None for any
    other series, which the library expands.

    The common series: a master with DTSTART, DTEND and one RRULE, no RDATE; EXDATEs,
    RECURRENCE-IDs and the overrides' DTSTART/DTEND as zoned date-times; overrides without
    RANGE or recurrence rules of their own, one per recurrence id, all with the master's UID.
    """
    master = group[0]
    rule = master.get("RRULE")
    if rule is None or isinstance(rule, list) or "RDATE" in master or "DTEND" not in master:
        return None
    if "RECURRENCE-ID" in master:
        return None
    start, end = master["DTSTART"].dt, master["DTEND"].dt
    if not (_zoned(start) and _zoned(end)) or start > end:
        return None
    duration = end - start  # as the library computes it (wall-clock in one zone)
    if duration < timedelta(0):
        return None  # the library raises PeriodEndBeforeStart: let it
    uid = str(master.get("UID"))
    # recurrence ids as the library keys them: (UTC without zone, local without zone)
    excluded: set[datetime] = set()
    props = master.get("EXDATE")
    for prop in props if isinstance(props, list) else [props] if props is not None else []:
        for item in prop.dts:
            if not _zoned(item.dt):
                return None
            excluded.update(_recurrence_ids(item.dt))
    overrides: dict[datetime, int] = {}
    spans: dict[int, tuple[datetime, datetime, tuple[datetime, datetime]]] = {}
    for n, event in enumerate(group[1:], 1):
        recurrence = event.get("RECURRENCE-ID")
        if recurrence is None or "RANGE" in recurrence.params or str(event.get("UID")) != uid:
            return None
        if "RRULE" in event or "RDATE" in event or "EXDATE" in event or "DTEND" not in event:
            return None
        ids = _recurrence_ids(recurrence.dt) if _zoned(recurrence.dt) else None
        o_start, o_end = event["DTSTART"].dt, event["DTEND"].dt
        if ids is None or not (_zoned(o_start) and _zoned(o_end)) or o_start > o_end:
            return None
        if any(key in overrides for key in ids):
            return None  # the library picks by SEQUENCE
        for key in ids:
            overrides[key] = n
        spans[n] = (o_start, o_end, ids)
    text = NEGATIVE_RRULE_COUNT_REGEX.sub("", rule.to_ical().decode())
    parts = text.split(";UNTIL=")
    if len(parts) > 2:
        return None
    try:
        expansion = rrulestr(text, dtstart=start, cache=True)
        until = vDDDTypes.from_ical(parts[1].split(";")[0]) if len(parts) == 2 else None
    except ValueError:
        return None
    if until is not None and not _zoned(until):
        return None
    span_start = datetime.fromtimestamp(horizon.start, UTC)
    span_stop = datetime.fromtimestamp(horizon.end, UTC)
    starts: list[datetime] = []
    if until is None or not start > until:  # DTSTART counts even if the rule skips it
        if span_start - duration <= start <= span_stop:
            starts.append(start)
    for moment in expansion.between(span_start - duration, span_stop, inc=True):
        if until is None or not moment > until:
            starts.append(moment)
    found: set[tuple[int, int, int]] = set()
    seen: set[datetime] = set()
    used: set[int] = set()
    for moment in starts:
        utc = moment.astimezone(UTC)
        ids = (utc.replace(tzinfo=None), moment.replace(tzinfo=None))  # _recurrence_ids()
        if moment in seen or not excluded.isdisjoint(ids):
            continue
        n = overrides.get(ids[1], overrides.get(ids[0], 0))
        if n == 0:
            seen.add(moment)
            o_end = moment + duration
            if time_span_contains_event(span_start, span_stop, moment, o_end, comparable=True):
                found.add((int(utc.timestamp()), int(o_end.timestamp()), 0))
            continue
        if n in used:
            continue
        used.add(n)
        o_start, o_end = spans[n][:2]
        if time_span_contains_event(span_start, span_stop, o_start, o_end, comparable=True):
            found.add((_epoch(o_start, zone), _epoch(o_end, zone), n))
    for n, (o_start, o_end, ids) in spans.items():
        if n in used or not excluded.isdisjoint(ids):
            continue
        if time_span_contains_event(span_start, span_stop, o_start, o_end, comparable=True):
            found.add((_epoch(o_start, zone), _epoch(o_end, zone), n))
    return tuple(sorted(found))


def _zoned(value: object) -> bool:
    """A date-time with a zone that needs no pytz localize() (the library treats those apart)."""
    return (
        isinstance(value, datetime)
        and value.tzinfo is not None
        and not hasattr(value.tzinfo, "localize")
    )


def _recurrence_ids(moment: datetime) -> tuple[datetime, datetime]:
    """recurring_ical_events' keys of a zoned moment: UTC and local, both without zone."""
    return moment.astimezone(UTC).replace(tzinfo=None), moment.replace(tzinfo=None)


def _series_end(group: list[icalendar.Event], zone: tzinfo) -> int | None:
    master = group[0]
    rrule = _get(master, "RRULE")
    ends = []
    for event in group:
        ends.append(_end(event, event["DTSTART"].dt, zone))
    if rrule is not None:
        if "UNTIL" not in rrule:
            return (
                None  # endless, or COUNT-limited: treated as open (only matters past the horizon)
            )
        ends.append(_end(master, rrule["UNTIL"][0], zone))
    for props in [master.get("RDATE")] if "RDATE" in master else []:
        for prop in props if isinstance(props, list) else [props]:
            for item in prop.dts:
                value = item.dt[0] if isinstance(item.dt, tuple) else item.dt
                ends.append(_end(master, value, zone))
    return max(ends)


def normalize(
    parsed: Parsed, source: Source, config: Config, horizon: Horizon
) -> tuple[list[Contribution], list[str]]:
    """Turn an adapter's events into contributions; return them with the warnings given."""
    warnings = list(parsed.warnings)
    repair = _Repair(source, config, parsed.zones)
    typing = _Typing(source, config)
    site_zone = zoneinfo.ZoneInfo(config.timezone)
    for event in parsed.events:
        if _has(event, "TZID"):  # a stray TZID property inside VEVENT: Zoom exports
            del event["TZID"]
        repair.event(event, f"event {str(event['UID'])!r}")
        warnings.extend(content.enrich(event, source=source, config=config))
    contributions = []
    for uid, group in _group(parsed.events, warnings).items():
        types = typing.apply(group)
        sequence = max(int(_get(e, "SEQUENCE", 0) or 0) for e in group)
        modified = [e["LAST-MODIFIED"].dt for e in group if _has(e, "LAST-MODIFIED")]
        for event in group:
            for name in _BOOKKEEPING:
                if _has(event, name):
                    del event[name]
        body = b"".join(serialize(event) for event in group)
        digest = hashlib.sha256(body)
        digest.update(f"\0{source.calendar}\0{','.join(types)}".encode())
        master = group[0]
        facts = details.columns(group, site_zone)
        contributions.append(
            Contribution(
                uid=uid,
                body=body,
                content_hash=digest.hexdigest(),
                calendar=source.calendar,
                types=types,
                upstream_sequence=sequence,
                upstream_modified=max(modified) if modified else None,
                summary=_text(master, "SUMMARY"),
                start=min(_epoch(e["DTSTART"].dt, site_zone) for e in group),
                tzids=tuple(sorted({m.decode() for m in _TZID_PARAM.findall(body)})),
                first_year=min(e["DTSTART"].dt.year for e in group),
                series_end=_series_end(group, site_zone),
                recurring=len(group) > 1 or _has(master, "RRULE") or _has(master, "RDATE"),
                occurrences=occurrences(group, horizon, site_zone),
                search_text=facts.search_text,
                details=facts.details,
                location_text=facts.location_text,
                audience_text=facts.audience_text,
                online=facts.online,
            )
        )
    warnings.extend(repair.warnings)
    return contributions, warnings
