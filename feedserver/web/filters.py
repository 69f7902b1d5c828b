"""Stage ⑥: how pages write times, days and text: in the site's time zone, with the zone named.

>>> from datetime import date
>>> day_label(date(2024, 10, 31))
'Thursday, October 31, 2024'
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import date, datetime, timedelta

from markupsafe import Markup, escape

from feedserver.agenda import Occurrence

_URL = re.compile(r"(?i)\bhttps?://[^\s<>\"']+")
_TRAILING = ".,;:!?)]}'\""


def day_label(value: date) -> str:
    return f"{value:%A}, {value:%B} {value.day}, {value.year}"


def short_day(value: date) -> str:
    return f"{value:%a}, {value:%b} {value.day}, {value.year}"


def clock(value: datetime) -> str:
    """``2:00 PM``.

    >>> clock(datetime(2024, 10, 31, 14, 0))
    '2:00 PM'
    """
    return f"{value.hour % 12 or 12}:{value:%M} {value:%p}"


def when(o: Occurrence, timezone: str, with_day: bool = False) -> str:
    """An occurrence's time in the site's zone: ``2:00 PM – 3:00 PM PDT``, ``All day``."""
    if not isinstance(o.start, datetime):
        assert isinstance(o.end, date)
        last = o.end - timedelta(days=1)
        until = f" until {short_day(last)}" if last > o.start else ""
        return f"{short_day(o.start)}, all day{until}" if with_day else f"All day{until}"
    zone = zoneinfo.ZoneInfo(timezone)
    start = o.start.astimezone(zone)
    assert isinstance(o.end, datetime)
    end = o.end.astimezone(zone)
    prefix = f"{short_day(start.date())}, " if with_day else ""
    if end <= start:
        return f"{prefix}{clock(start)} {start:%Z}"
    if end.date() != start.date():
        return f"{prefix}{clock(start)} – {short_day(end.date())}, {clock(end)} {end:%Z}"
    return f"{prefix}{clock(start)} – {clock(end)} {end:%Z}"


def linkify(text: str) -> Markup:
    """Text as HTML with its http(s) URLs as links (everything else escaped).

    >>> str(linkify("See <https://x.example/a?b=1&c=2>."))
    'See &lt;<a href="https://x.example/a?b=1&amp;c=2">https://x.example/a?b=1&amp;c=2</a>&gt;.'
    """
    out: list[str] = []
    position = 0
    for match in _URL.finditer(text):
        url = match.group().rstrip(_TRAILING)
        out.append(escape(text[position : match.start()]))
        href = escape(url)
        out.append(f'<a href="{href}">{href}</a>')  # what Markup.format gives, without its cost
        position = match.start() + len(url)
    out.append(escape(text[position:]))
    return Markup("".join(out))
