"""Time zones: resolve upstream TZIDs to IANA zones and emit RRULE-based VTIMEZONEs.

Every feed must carry a VTIMEZONE for each TZID it uses. icalendar's own generator
(``Timezone.from_tzid``) writes each observance as one RDATE with a comma-separated list; ical.js
(Thunderbird) and vobject read only the first value, and Outlook mis-maps RDATE-based zones. So we
write the form tzurl.org's "zoneinfo-outlook" files use and every client reads: yearly RRULE
observances (``RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU``), computed here from zoneinfo data.

How :func:`vtimezone` works:

1. Find every change of (UTC offset, DST, abbreviation) with zoneinfo alone: sample UTC every two
   days and bisect each change to the exact second. The scan starts at the last change before
   ``first_year`` and runs to the end of ``_FAR_YEAR``, well past the last explicit tzdata
   transition, so the rule still in force at the end is seen for decades and cannot be mistaken.
2. Each change is an *onset*: its wall time in the old offset (DTSTART, RFC 5545 §3.6.5), its
   offsets, abbreviation and kind (DAYLIGHT when ``dst()`` turns positive; see :func:`_kind`).
3. Onsets sharing kind, month, weekday, wall time, offsets and abbreviation are grouped, year
   after year, while one day pattern yields exactly them: n-th weekday (``BYDAY=2SU``), last
   weekday (``BYDAY=-1SU``) or the weekday in a window of days (``BYMONTHDAY=23,...,29;BYDAY=FR``
   for Israel; a window shorter than a week, empty in some years, for Egypt's rule that crosses
   from October into November). A group is one observance with a yearly RRULE, bounded by COUNT
   unless it is still in force at ``_FAR_YEAR``. A lone onset is an observance of its own, its
   DTSTART repeated as its single RDATE (never an RDATE list).

COUNT, not UNTIL: RFC 5545 wants UNTIL in UTC here and both Python parser families get that wrong.
dateutil's ``tzical`` (under icalendar and vobject) reads UNTIL as local wall time, so east of UTC
the last onset of a replaced rule is lost (Europe/Berlin's of September 1995: a month one hour
off); Home Assistant's ``ical`` rejects the whole calendar ("RRULE UNTIL values must be specified
in UTC when DTSTART is timezone-aware"). COUNT means the same to all of them.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass

from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

__all__ = ["match_zone", "resolve_tzid", "vtimezone"]

_DAY = 86_400
_STEP = 2 * _DAY
_UTC = dt.UTC
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=_UTC)

#: The scan for changes stops at the end of this year (or ``first_year + 40`` if later). tzdata
#: lists explicit transitions up to 2087 (Morocco, Palestine); what follows is the zone's final
#: rule, which needs decades of samples before its day pattern is unambiguous.
_FAR_YEAR = 2120
#: No zone in tzdata changes before this instant (1800-01-01T00:00Z), so nothing is searched
#: before it.
_FLOOR = -5_364_662_400
_MIN_FIRST_YEAR = 1800
_MAX_FIRST_YEAR = 2200

#: Upstream spellings of UTC that are not (all) IANA names.
_UTC_ALIASES = frozenset({"utc", "gmt", "z", "ut", "zulu", "etc/utc", "etc/gmt"})
_MAX_TZID_LENGTH = 256
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


# --- resolving upstream TZIDs -------------------------------------------------------------------


@functools.cache
def _iana_keys() -> dict[str, str]:
    """Every IANA key zoneinfo knows, by its lower-cased spelling."""
    keys: dict[str, str] = {}
    for key in sorted(zoneinfo.available_timezones()):
        keys.setdefault(key.lower(), key)
    return keys


@functools.cache
def _windows_names() -> dict[str, str]:
    """Windows zone names ("Pacific Standard Time"), lower-cased, to IANA keys."""
    return {name.lower(): key for name, key in WINDOWS_TO_OLSON.items()}


def _load(key: str) -> zoneinfo.ZoneInfo | None:
    """The zone for an IANA key, or None when zoneinfo cannot load it."""
    canonical = _iana_keys().get(key.lower())
    if canonical is None:
        return None
    try:
        return zoneinfo.ZoneInfo(canonical)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return None


@functools.lru_cache(maxsize=1024)
def resolve_tzid(tzid: str) -> zoneinfo.ZoneInfo | None:
    """Map an upstream TZID to an IANA zone, or None when it names none we know.

    Understood: IANA names (any case, surrounding quotes and blanks ignored), Windows names,
    Mozilla/Sunbird-style prefixed ids whose tail is an IANA name and the spellings of UTC.

    >>> resolve_tzid("Pacific Standard Time").key
    'America/Los_Angeles'
    >>> resolve_tzid("/mozilla.org/20050126_1/America/New_York").key
    'America/New_York'
    >>> resolve_tzid("Customized Time Zone") is None
    True
    """
    if not isinstance(tzid, str) or len(tzid) > _MAX_TZID_LENGTH:
        return None
    name = tzid.strip().strip("\"'").strip()
    if not name:
        return None
    if name.lower() in _UTC_ALIASES:
        return zoneinfo.ZoneInfo("UTC")
    if zone := _load(name):
        return zone
    if windows := _windows_names().get(name.lower()):
        return _load(windows)
    parts = [part for part in name.split("/") if part]
    for start in range(1, len(parts)):  # longest tail first: "/prefix/.../Area/City"
        if zone := _load("/".join(parts[start:])):
            return zone
    return None


# --- finding transitions ------------------------------------------------------------------------

#: A zone at one instant: UTC offset, DST amount, abbreviation.
_State = tuple[dt.timedelta | None, dt.timedelta | None, str | None]


def _state(zone: dt.tzinfo, at: int) -> _State:
    """The state of ``zone`` at POSIX second ``at``."""
    local = dt.datetime.fromtimestamp(at, zone)
    return local.utcoffset(), local.dst(), local.tzname()


#: What a VTIMEZONE can express of a state: UTC offset, sign of DST, abbreviation.
_Visible = tuple[dt.timedelta, int, str]


def _visible(state: _State) -> _Visible:
    offset, dst, name = state
    dst = dst or dt.timedelta(0)
    return offset or dt.timedelta(0), (dst > dt.timedelta(0)) - (dst < dt.timedelta(0)), name or ""


@dataclass(frozen=True)
class _Change:
    """One change of state: at POSIX second ``at``, ``before`` gives way to ``after``."""

    at: int
    before: _State
    after: _State


def _changes(zone: dt.tzinfo, start: int, end: int) -> list[_Change]:
    """Every change of state in (start, end], each at the exact second it happens.

    Samples every ``_STEP`` seconds and bisects each step whose end state differs; a step that
    holds several changes yields each in turn. A state shorter than ``_STEP`` between two samples
    would be missed: tzdata's shortest is 3.98 days (Africa/Freetown, 1939).
    """
    found: list[_Change] = []
    at, state = start, _state(zone, start)
    while at < end:
        step_end = min(at + _STEP, end)
        step_state = _state(zone, step_end)
        low, low_state = at, state
        while step_state != low_state:
            high = step_end
            while high - low > 1:  # invariant: state(low) == low_state != state(high)
                middle = (low + high) // 2
                if _state(zone, middle) == low_state:
                    low = middle
                else:
                    high = middle
            high_state = _state(zone, high)
            found.append(_Change(high, low_state, high_state))
            low, low_state = high, high_state
        at, state = step_end, step_state
    return found


def _visible_changes(zone: dt.tzinfo, start: int, end: int) -> list[_Change]:
    """The changes in (start, end] a VTIMEZONE can show (not those of the DST amount alone)."""
    return [c for c in _changes(zone, start, end) if _visible(c.before) != _visible(c.after)]


def _last_change_at_or_before(zone: dt.tzinfo, at: int) -> _Change | None:
    """The last visible change at or before ``at``, or None.

    Searches back in 32-day steps, so an excursion shorter than that may be skipped: the change
    found then still leads into the state at ``at``.
    """
    state = _visible(_state(zone, at))
    high = at
    while high > _FLOOR:
        low = max(high - 32 * _DAY, _FLOOR)
        if _visible(_state(zone, low)) != state and (found := _visible_changes(zone, low, high)):
            return found[-1]
        high = low
    return None


def _year_start(year: int) -> int:
    """POSIX second of Jan 1 ``year`` 00:00 UTC."""
    return int((dt.datetime(year, 1, 1, tzinfo=_UTC) - _EPOCH).total_seconds())


# --- observances --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Onset:
    """A change as a VTIMEZONE sees it."""

    at: int
    local: dt.datetime  # naive wall time in the offset before the change (= DTSTART)
    kind: str  # "STANDARD" or "DAYLIGHT"
    offset_from: dt.timedelta
    offset_to: dt.timedelta
    name: str

    @property
    def rule_key(self) -> tuple[object, ...]:
        """What every onset of one yearly rule shares."""
        local = self.local
        return (self.kind, self.offset_from, self.offset_to, self.name, local.month,
                local.weekday(), local.time())  # fmt: skip


def _kind(before: _Visible, after: _Visible) -> str:
    """DAYLIGHT for a change into positive DST, or out of negative DST into a higher offset.

    The second case keeps zones whose tzdata uses negative DST (Europe/Dublin: IST is standard
    time, winter GMT is "DST" of -1 hour) in the shape Outlook and Windows expect: summer is
    DAYLIGHT. Outlook treats a VTIMEZONE without a DAYLIGHT observance as having no DST at all.

    A jump of a whole day (Pacific/Apia crossing the date line in 2011) stays STANDARD: dateutil,
    under icalendar and vobject, takes TZOFFSETTO - TZOFFSETFROM as a DAYLIGHT observance's
    ``dst()`` and raises for 24 hours.
    """
    if abs(after[0] - before[0]) >= dt.timedelta(hours=24):
        return "STANDARD"
    if after[1] > 0 or (after[1] == 0 and before[1] < 0 and after[0] > before[0]):
        return "DAYLIGHT"
    return "STANDARD"


def _wall(at: int, offset: dt.timedelta) -> dt.datetime:
    """Naive wall-clock time at POSIX second ``at`` in ``offset``."""
    return (_EPOCH + dt.timedelta(seconds=at) + offset).replace(tzinfo=None)


def _onset(change: _Change) -> _Onset:
    before, after = _visible(change.before), _visible(change.after)
    offset_from, (offset_to, _, name) = before[0], after
    kind = _kind(before, after)
    return _Onset(change.at, _wall(change.at, offset_from), kind, offset_from, offset_to, name)


#: How a yearly rule picks its day in the month: ("nth", n), ("last", 0) or ("window", a, b) for
#: the weekday falling on day a..b (none in some years when the window is shorter than a week).
_Pattern = tuple[str, int] | tuple[str, int, int]


def _pick(pattern: _Pattern, year: int, month: int, weekday: int) -> list[int]:
    """The days of ``month`` in ``year`` that ``pattern`` selects for ``weekday``.

    >>> _pick(("nth", 2), 2025, 3, 6), _pick(("last", 0), 2025, 10, 6)
    ([9], [26])
    >>> _pick(("window", 26, 31), 2024, 10, 4), _pick(("window", 26, 31), 2029, 10, 4)
    ([], [26])
    """
    first_weekday, length = calendar.monthrange(year, month)
    days = range(1 + (weekday - first_weekday) % 7, length + 1, 7)
    if pattern[0] == "nth":
        return [days[pattern[1] - 1]]
    if pattern[0] == "last":
        return [days[-1]]
    return [day for day in days if pattern[1] <= day <= pattern[-1]]


def _fits(pattern: _Pattern, run: list[_Onset], years: range) -> bool:
    """Whether ``pattern`` yields exactly the run's onset day in each of ``years`` (or none)."""
    month, weekday = run[0].local.month, run[0].local.weekday()
    days = {onset.local.year: onset.local.day for onset in run}
    return all(_pick(pattern, y, month, weekday) == ([days[y]] if y in days else []) for y in years)


def _pattern(run: list[_Onset]) -> _Pattern | None:
    """The simplest pattern that yields exactly the run's onsets in each year of its span.

    Tried in turn: n-th weekday (BYDAY=2SU), last weekday (BYDAY=-1SU), the weekday in a 7-day
    window (Israel's "Friday before the last Sunday" is the Friday on 23..29), the weekday in the
    narrowest window holding every onset (Egypt's "Friday after the last Thursday of October" is
    on October 26..31 in most years and November 1 in the others: two runs with empty years).
    """
    days = [onset.local.day for onset in run]
    low, high = min(days), max(days)
    candidates: list[_Pattern] = [("nth", (days[0] - 1) // 7 + 1), ("last", 0)]
    candidates += [("window", high - 6, high), ("window", low, high)]
    years = range(run[0].local.year, run[-1].local.year + 1)
    for pattern in candidates:
        if (pattern[0] == "nth" and pattern[1] > 4) or (pattern[0] == "window" and pattern[1] < 1):
            continue
        if _fits(pattern, run, years):
            return pattern
    return None


def _by_day(pattern: _Pattern, weekday: int) -> str:
    """The RRULE parts selecting ``pattern``'s day.

    >>> _by_day(("nth", 2), 6), _by_day(("last", 0), 6)
    ('BYDAY=2SU', 'BYDAY=-1SU')
    >>> _by_day(("window", 23, 29), 4)
    'BYMONTHDAY=23,24,25,26,27,28,29;BYDAY=FR'
    """
    code = _WEEKDAYS[weekday]
    if pattern[0] == "nth":
        return f"BYDAY={pattern[1]}{code}"
    if pattern[0] == "last":
        return f"BYDAY=-1{code}"
    month_days = ",".join(str(day) for day in range(pattern[1], pattern[-1] + 1))
    return f"BYMONTHDAY={month_days};BYDAY={code}"


def _runs(onsets: list[_Onset]) -> list[tuple[list[_Onset], _Pattern | None]]:
    """Onsets grouped into runs of one yearly rule each, with its pattern, by first onset.

    An onset joins the latest run of its kind, month, weekday, wall time, offsets and name when
    some pattern then yields exactly the run's onsets, year by year; else it starts a run. A
    pattern that still fits stays the simplest one, so only the new years need checking.
    """
    runs: list[tuple[list[_Onset], _Pattern | None]] = []
    latest: dict[tuple[object, ...], int] = {}
    for onset in onsets:
        index = latest.get(onset.rule_key)
        if index is not None:
            run, pattern = runs[index]
            year = onset.local.year
            if run[-1].local.year < year:
                extended = [*run, onset]
                new_years = range(run[-1].local.year + 1, year + 1)
                if pattern is None or not _fits(pattern, extended, new_years):
                    pattern = _pattern(extended)
                if pattern is not None:
                    runs[index] = (extended, pattern)
                    continue
        latest[onset.rule_key] = len(runs)
        runs.append(([onset], None))
    return runs


def _utc_offset(offset: dt.timedelta) -> str:
    """RFC 5545 utc-offset: ±HHMM, or ±HHMMSS when the offset has seconds.

    >>> _utc_offset(dt.timedelta(hours=-8)), _utc_offset(dt.timedelta(hours=5, minutes=45))
    ('-0800', '+0545')
    >>> _utc_offset(dt.timedelta(0)), _utc_offset(-dt.timedelta(hours=7, minutes=52, seconds=58))
    ('+0000', '-075258')
    """
    seconds = int(offset.total_seconds())
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(seconds), 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{sign}{hours:02d}{minutes:02d}" + (f"{seconds:02d}" if seconds else "")


def _text(value: str) -> str:
    """Escape a TEXT value (RFC 5545 §3.3.11)."""
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> str:
    """One content line, folded at 75 octets (RFC 5545 §3.1), with its CRLF.

    >>> [len(line) for line in _fold("X:" + "a" * 150).split("\\r\\n")]
    [75, 75, 4, 0]
    """
    data = line.encode()
    pieces = []
    limit = 75
    while len(data) > limit:
        cut = limit
        while cut > 0 and (data[cut] & 0xC0) == 0x80:  # never split a UTF-8 sequence
            cut -= 1
        pieces.append(data[:cut])
        data = data[cut:]
        limit = 74  # continuation lines start with a space
    pieces.append(data)
    return b"\r\n ".join(pieces).decode() + "\r\n"


def _component(
    kind: str,
    offset_from: dt.timedelta,
    offset_to: dt.timedelta,
    name: str,
    dtstart: dt.datetime,
    rule: str | None,
) -> list[str]:
    """The lines of one STANDARD or DAYLIGHT observance.

    An observance without a rule repeats its DTSTART as its one RDATE: RFC 5545 counts DTSTART as
    the first onset anyway, but Home Assistant's ``ical`` only sees onsets listed in RRULE/RDATE.
    """
    onset = f"{dtstart:%Y%m%dT%H%M%S}"
    return [
        f"BEGIN:{kind}",
        f"TZOFFSETFROM:{_utc_offset(offset_from)}",
        f"TZOFFSETTO:{_utc_offset(offset_to)}",
        f"TZNAME:{_text(name)}",
        f"DTSTART:{onset}",
        f"RRULE:{rule}" if rule else f"RDATE:{onset}",
        f"END:{kind}",
    ]


def _observance(run: list[_Onset], pattern: _Pattern | None, far_year: int) -> list[str]:
    """The observance for one run: a single onset, or a yearly RRULE following ``pattern``.

    The RRULE gets a COUNT unless the rule still holds at ``far_year``: it selects no day in the
    years after the run's last onset (for most rules: the last onset is in ``far_year``).
    """
    first = run[0]
    month, weekday = first.local.month, first.local.weekday()
    rule = None
    if pattern is not None:
        rule = f"FREQ=YEARLY;BYMONTH={month};{_by_day(pattern, weekday)}"
        later = range(run[-1].local.year + 1, far_year + 1)
        if any(_pick(pattern, year, month, weekday) for year in later):
            rule += f";COUNT={len(run)}"
    return _component(first.kind, first.offset_from, first.offset_to, first.name, first.local, rule)


@functools.lru_cache(maxsize=256)
def vtimezone(tzid: str, first_year: int) -> bytes:
    """The VTIMEZONE for IANA zone ``tzid``, exact from Jan 1 ``first_year`` on.

    Raises ValueError for a name zoneinfo does not know (or an implausible year).
    """
    if not isinstance(first_year, int) or not _MIN_FIRST_YEAR <= first_year <= _MAX_FIRST_YEAR:
        raise ValueError(f"first_year out of range: {first_year!r}")
    key = _iana_keys().get(tzid.lower()) if isinstance(tzid, str) else None
    if key is None or key != tzid:
        raise ValueError(f"unknown IANA time zone: {tzid!r}")
    zone = zoneinfo.ZoneInfo(key)

    far_year = max(_FAR_YEAR, first_year + 40)
    start = _year_start(first_year) - _DAY  # Jan 1 local is up to 14 hours before Jan 1 UTC
    end = _year_start(far_year + 1)
    first = _last_change_at_or_before(zone, start)
    changes = _visible_changes(zone, start if first is None else first.at - 1, end)
    onsets = [_onset(change) for change in changes]
    lines = ["BEGIN:VTIMEZONE", f"TZID:{_text(tzid)}", f"X-LIC-LOCATION:{_text(tzid)}"]
    if first is None or len(onsets) == 1:
        # The state at the start as one STANDARD observance that changes nothing, dated at the
        # change that began it (at 1970, or before first_year, when tzdata knows of none). It is
        # all there is for a zone that stays the same from first_year on.
        offset, _, name = _visible(_state(zone, start))
        if first is None:
            dtstart = min(dt.datetime(1970, 1, 1), dt.datetime(first_year - 1, 1, 1))
        else:
            dtstart = _wall(first.at, offset)
            onsets = []
        lines += _component("STANDARD", offset, offset, name, dtstart, None)
    for run, pattern in _runs(onsets):
        lines += _observance(run, pattern, far_year)
    lines.append("END:VTIMEZONE")
    return "".join(_fold(line) for line in lines).encode()


# --- matching custom zones ----------------------------------------------------------------------


def _offset_at(tz: dt.tzinfo, at: int) -> dt.timedelta | None:
    try:
        return dt.datetime.fromtimestamp(at, tz).utcoffset()
    except (ValueError, OverflowError, OSError):
        return None


def match_zone(tz: dt.tzinfo, candidates: Iterable[str], years: range) -> zoneinfo.ZoneInfo | None:
    """The first candidate zone whose UTC offset equals ``tz``'s throughout ``years``, or None.

    For custom zones (an Outlook "Customized Time Zone" VTIMEZONE as icalendar builds it): offsets
    are compared every 7 days at 12:00 UTC and one and three hours either side of each of the
    candidate's transitions.
    """
    if not years:
        return None
    start = _year_start(min(years)) + 12 * 3600
    end = _year_start(max(years) + 1)
    weekly = range(start, end, 7 * _DAY)
    for candidate in candidates:
        zone = resolve_tzid(candidate)
        if zone is None:
            continue
        instants = list(weekly)
        for change in _changes(zone, start - 12 * 3600, end):
            instants += [change.at + hours * 3600 for hours in (-3, -1, 1, 3)]
        if all(_offset_at(tz, at) == _offset_at(zone, at) for at in instants):
            return zone
    return None
