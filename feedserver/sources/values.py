"""Stage ①: reading one value of a bridged record (a JSON API item, a spreadsheet row).

The ``json`` and ``csv`` kinds hand their raw values here: text that may be a list or a number,
dates and times in the forms APIs and spreadsheets write them (ISO 8601, ``10/31/2024``,
``31.10.2024``, ``Oct 31, 2024``, ``2:00 PM``, Unix timestamps, Excel serial numbers), yes/no
flags and event statuses. Every reader raises ValueError with a message fit for a warning that
names the record and the field.

Times without an offset are *floating* unless the record or the source names a zone: the
normalize stage places floating times in the source's ``timezone``, else the site's, exactly as
for an .ics source (the adapter does not know the site's zone).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil import parser as dateparser

from feedserver.config import Source
from feedserver.sources.bridge import parse_when, placed

__all__ = [
    "Zone",
    "clock",
    "day",
    "flag",
    "moment",
    "status",
    "text",
    "texts",
    "zone_named",
]

# Excel counts days from 1899-12-30 (its 1900 leap-year bug folded in); serials in this range
# are 1954-10-02 … 2119-01-07, so a plain number elsewhere is never taken for a date.
_EXCEL_EPOCH = date(1899, 12, 30)
_EXCEL_DAYS = (20000, 80000)
_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")
# 14:00, 14:00:00, 2:00 PM, 2 p.m., 2pm (a bare "14" is no time: dateutil would read a day)
_CLOCK = re.compile(
    r"\s*\d{1,2}(?::\d{2}(?::\d{2})?\s*(?:[ap]\.?\s*m\.?)?|\s*[ap]\.?\s*m\.?)\s*", re.IGNORECASE
)
_ISO = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
)
_YEAR_FIRST = re.compile(r"\s*\d{4}[-/.]\d{1,2}[-/.]\d{1,2}")
_DOTTED = re.compile(r"\b\d{1,2}\.\d{1,2}\.\d{2,4}\b")


class Zone:
    """Where times without an offset are placed: a named zone, or floating (``None``)."""

    def __init__(self, zone: tzinfo | None) -> None:
        self.zone = zone

    @classmethod
    def of(cls, source: Source) -> Zone:
        return cls(ZoneInfo(source.timezone) if source.timezone else None)

    def place(self, value: datetime) -> datetime:
        """``value`` as it is stored: see :func:`bridge.placed`."""
        return placed(value, self.zone)

    def combine(self, day_: date, clock_: time) -> datetime:
        return datetime.combine(day_, clock_, self.zone)


def zone_named(name: object) -> Zone:
    """The zone an item names (``"America/New_York"``); ValueError for an unknown name.

    >>> zone_named("Europe/Paris").zone
    zoneinfo.ZoneInfo(key='Europe/Paris')
    """
    try:
        return Zone(ZoneInfo(str(name).strip()))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not an IANA time zone name") from None


def text(value: object, separator: str = ", ") -> str:
    """A record's value as one line of text: lists joined, numbers written, nulls empty.

    >>> text(["EEB", None, "132", ""]), text(45), text(None), text(True)
    ('EEB, 132', '45', '', 'yes')
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | tuple):
        return separator.join(t for t in (text(v, separator) for v in value) if t)
    if isinstance(value, dict):
        raise ValueError(f"expected text, got an object with keys {', '.join(map(str, value))}")
    return str(value).strip()


def texts(value: object, separators: str = "") -> list[str]:
    """A record's value as a list of texts (categories): list items, or one text split on
    ``separators``.

    >>> texts(["Lectures", "Workshops"]), texts("Seminar; Workshop", ";"), texts(None)
    (['Lectures', 'Workshops'], ['Seminar', 'Workshop'], [])
    """
    if isinstance(value, list | tuple):
        return [t for t in (text(v) for v in value) if t]
    one = text(value)
    if not one:
        return []
    if separators:
        return [p.strip() for p in re.split(f"[{re.escape(separators)}]", one) if p.strip()]
    return [one]


_TRUE = {"1", "yes", "y", "true", "t", "x", "✓", "all day", "all-day", "allday"}
_FALSE = {"0", "no", "n", "false", "f", "", "-"}


def flag(value: object) -> bool:
    """A yes/no cell or JSON boolean.

    >>> flag(True), flag("Yes"), flag("TRUE"), flag("x"), flag(""), flag(0)
    (True, True, True, True, False, False)
    """
    if isinstance(value, bool):
        return value
    word = text(value).casefold()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError(f"expected yes or no, got {word!r}")


# Upstream status words → iCalendar STATUS (RFC 5545 §3.8.1.11). schema.org's EventStatusType
# URLs end in these words too ("https://schema.org/EventCancelled").
_STATUS = {
    "cancelled": "CANCELLED",
    "canceled": "CANCELLED",
    "eventcancelled": "CANCELLED",
    "tentative": "TENTATIVE",
    "postponed": "TENTATIVE",
    "eventpostponed": "TENTATIVE",
    "confirmed": "CONFIRMED",
    "scheduled": "CONFIRMED",
    "eventscheduled": "CONFIRMED",
    "rescheduled": "CONFIRMED",
    "eventrescheduled": "CONFIRMED",
    "live": "CONFIRMED",
    "published": "CONFIRMED",
    "active": "CONFIRMED",
}


def status(value: object) -> str | None:
    """An iCalendar STATUS for an upstream status word; None for an empty value.

    >>> status("canceled"), status("live"), status("https://schema.org/EventPostponed"), status("")
    ('CANCELLED', 'CONFIRMED', 'TENTATIVE', None)
    """
    word = text(value).casefold().rstrip("/").rsplit("/", 1)[-1]
    if not word:
        return None
    if word in _STATUS:
        return _STATUS[word]
    raise ValueError(f"unknown status {word!r} (known: cancelled, tentative, confirmed, live…)")


def moment(
    value: object, zone: Zone, *, formats: tuple[str, ...] = (), dayfirst: bool = False
) -> tuple[datetime | date, datetime | date | None]:
    """A start (and an end, when the value is a range) from a date-time value.

    Numbers are Unix timestamps (seconds, or milliseconds past 1e11) or Excel serial dates with
    the time as the day's fraction; text is read by :func:`bridge.parse_when`.

    >>> floating = Zone(None)
    >>> moment("2024-10-31T14:00:00-07:00", floating)[0].isoformat()
    '2024-10-31T21:00:00+00:00'
    >>> moment("2024-10-31T14:00:00.250Z", floating)[0].isoformat()  # whole seconds
    '2024-10-31T14:00:00+00:00'
    >>> moment("10/31/2024 2:00 PM", floating)[0].isoformat()
    '2024-10-31T14:00:00'
    >>> moment(45596.583333333336, floating)[0].isoformat()
    '2024-10-31T14:00:00'
    >>> moment(1730408400, floating)[0].isoformat()
    '2024-10-31T21:00:00+00:00'
    """
    number = _number(value)
    if number is not None:
        if _EXCEL_DAYS[0] <= number < _EXCEL_DAYS[1]:
            return _excel(number, zone), None
        if number > 1e11:
            number /= 1000
        if number > 1e8:
            return datetime.fromtimestamp(number, UTC), None
        raise ValueError(f"cannot read the number {text(value)} as a date")
    raw = text(value)
    if not formats and _ISO.fullmatch(raw):
        # The form APIs write: the standard library reads it in a tenth of dateutil's time.
        try:
            parsed = datetime.fromisoformat(raw).replace(microsecond=0)  # iCalendar has none
        except ValueError:
            pass
        else:
            if len(raw) == 10:
                return parsed.date(), None
            return zone.place(parsed), None
    start, end = parse_when(raw, zone.zone, formats=formats, dayfirst=_dayfirst(raw, dayfirst))
    return _whole_seconds(start), _whole_seconds(end) if end is not None else None


def day(value: object, *, formats: tuple[str, ...] = (), dayfirst: bool = False) -> date:
    """A date alone: ``2024-10-31``, ``10/31/2024``, ``31.10.2024``, ``Oct 31, 2024``, an Excel
    serial. A date-time keeps the date it was written with (``2026-10-05T00:00:00+02:00`` is
    Oct 5, whatever its date in UTC): the day of an all-day event written as local midnight.

    >>> days = ("31.10.2024", "Thu, Oct 31, 2024", 45596, "2024-10-31T00:00:00+02:00")
    >>> {day(d) for d in days}
    {datetime.date(2024, 10, 31)}
    """
    number = _number(value)
    if number is not None:
        start = moment(value, Zone(None))[0]
        return start.date() if isinstance(start, datetime) else start
    raw = text(value)
    iso = re.match(r"(\d{4})-(\d{2})-(\d{2})(?:[T ]|$)", raw)
    if iso:
        try:
            return date(int(iso[1]), int(iso[2]), int(iso[3]))
        except ValueError as e:
            raise ValueError(f"cannot read {raw!r} as a date: {e}") from None
    start, _ = parse_when(raw, None, formats=formats, dayfirst=_dayfirst(raw, dayfirst))
    return start.date() if isinstance(start, datetime) else start


def clock(value: object, *, formats: tuple[str, ...] = ()) -> time:
    """A time of day: ``14:00``, ``2:00 PM``, ``2pm``, ``14:00:00``, an Excel day fraction.

    >>> clock("2:00 PM"), clock("14:30"), clock("2pm"), clock(0.625)
    (datetime.time(14, 0), datetime.time(14, 30), datetime.time(14, 0), datetime.time(15, 0))
    """
    number = _number(value)
    if number is not None and 0 <= number < 1:
        return _fraction(number)
    raw = text(value)
    for fmt in formats:
        try:
            return datetime.strptime(raw, fmt).time()
        except ValueError:
            continue
    spoken = re.sub(r"^(\d{1,2})[h.](\d{2})\b", r"\1:\2", raw)  # 14h30, 14.30
    if not _CLOCK.fullmatch(spoken):
        raise ValueError(f"cannot read {raw!r} as a time of day")
    try:
        return dateparser.parse(spoken, default=datetime(2000, 1, 1)).time()
    except (ValueError, OverflowError) as e:
        raise ValueError(f"cannot read {raw!r} as a time of day: {e}") from None


def _dayfirst(raw: str, dayfirst: bool) -> bool:
    """Whether to read ``raw`` day first: never for year-first dates (dateutil would read
    2026-03-12 as December 3 with dayfirst), always for dotted ones (31.10.2024: no locale
    writes month.day.year), else as the source says.

    >>> _dayfirst("2026-03-12 14:00", True), _dayfirst("12.03.2026", False), _dayfirst("3/12", True)
    (False, True, True)
    """
    if _YEAR_FIRST.match(raw):
        return False
    return dayfirst or bool(_DOTTED.search(raw))


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        return float(value.strip())
    return None


def _excel(serial: float, zone: Zone) -> datetime | date:
    whole = int(serial)
    start = _EXCEL_EPOCH + timedelta(days=whole)
    if serial == whole:
        return start
    return datetime.combine(start, _fraction(serial - whole), zone.zone)


def _fraction(part: float) -> time:
    """A fraction of a day as a time, rounded to the second (Excel stores 14:00 as 0.58333…)."""
    seconds = round(part * 86400)
    if seconds >= 86400:
        seconds = 86399
    return time(seconds // 3600, seconds % 3600 // 60, seconds % 60)


def _whole_seconds(value: datetime | date) -> datetime | date:
    if not isinstance(value, datetime):
        return value
    return value.replace(microsecond=0)  # iCalendar times have whole seconds
