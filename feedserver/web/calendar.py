"""Stage ⑥: the browsable calendar page: a month grid, the events of one day, the feed filters.

``/calendar`` and ``/calendar/<slug>`` read the same filter parameters as the feeds (README
"Filters"), plus ``month=YYYY-MM`` and ``day=YYYY-MM-DD``, which only choose what the page shows:
the view's feed is the same URL with the feed's path and extension. The month's grid is
counted from the store's precomputed occurrences in one query (selection.day_spans); only the
selected day's events are read with their facts. Pages are cached per canonical query, month,
day and date.
"""

from __future__ import annotations

import calendar as calendars
import dataclasses
import re
import zoneinfo
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode

from flask import Blueprint, Response, render_template, request, url_for

from feedserver import agenda
from feedserver import query as feed_query
from feedserver.config import WEEKDAYS, Config
from feedserver.errors import QueryError
from feedserver.selection import Match, Selection
from feedserver.store import Store
from feedserver.web.feeds import HTML_TYPE, cached, respond
from feedserver.web.services import services

bp = Blueprint("calendar", __name__)

PAGE_ONLY = ("month", "day")  # what the page shows, not which events: never in the feed URL
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def _month(text: str) -> date:
    """``2026-03`` → the first of that month.

    >>> _month("2026-03")
    datetime.date(2026, 3, 1)
    """
    found = _MONTH.match(text.strip())
    if not found or not 1 <= int(found[2]) <= 12 or int(found[1]) < 1:
        raise QueryError(f"month: expected YYYY-MM, e.g. 2026-03, got {text!r}")
    return date(int(found[1]), int(found[2]), 1)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise QueryError(f"day: expected YYYY-MM-DD, e.g. 2026-03-31, got {text!r}") from None


def _next_month(first: date) -> date:
    return (first + timedelta(days=32)).replace(day=1)


def days_covered(o: agenda.Occurrence, zone: zoneinfo.ZoneInfo) -> list[date]:
    """The days in the site's zone an occurrence is on: every day a multi-day or all-day
    event covers (ends are exclusive, so a talk ending at midnight is not on the next day)."""
    if isinstance(o.start, datetime):
        assert isinstance(o.end, datetime)
        first = o.start.astimezone(zone).date()
        last = (o.end - timedelta(microseconds=1)).astimezone(zone).date()
    else:
        first, last = o.start, o.end - timedelta(days=1)
    last = max(first, last)
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


# Occurrences whose stored end lies this close to a local midnight are placed from their facts:
# stores written before normalize computed ends on the wall clock kept them a DST shift off.
_SHIFTS = 3 * 3600
_EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class Month:
    """What the grid shows: how many occurrences each day of the month has (days without
    any left out) and how many the month has."""

    counts: dict[date, int]
    total: int


def _midnight(day: date, zone: zoneinfo.ZoneInfo) -> int:
    return int(datetime.combine(day, time(), zone).timestamp())


def month_selection(q: feed_query.FeedQuery, month: date, timezone: str) -> Selection:
    """What the store selects for the month: the view's filters, the month's window."""
    zone = zoneinfo.ZoneInfo(timezone)
    start, end = _midnight(month, zone), _midnight(_next_month(month), zone)
    return dataclasses.replace(q.selection(timezone), start=start, end=end)


def offsets(zone: zoneinfo.ZoneInfo, start: int, end: int) -> list[tuple[int, int]]:
    """The zone's UTC offset over [start, end) (epoch seconds): ``(since, seconds)`` at start
    and at each change.

    >>> la = zoneinfo.ZoneInfo("America/Los_Angeles")
    >>> offsets(la, 1772352000, 1775030400)  # March 2026: clocks go forward on the 8th
    [(1772352000, -28800), (1772964000, -25200)]
    """

    def offset(moment: int) -> int:
        delta = datetime.fromtimestamp(moment, zone).utcoffset()
        assert delta is not None
        return int(delta.total_seconds())

    found = [(start, offset(start))]
    step = 6 * 3600  # no zone changes its offset twice within six hours
    for low in range(start, end, step):
        high = min(low + step, end)
        if offset(high) != found[-1][1]:
            while high - low > 1:  # the first second of the new offset
                middle = (low + high) // 2
                low, high = (middle, high) if offset(middle) == found[-1][1] else (low, middle)
            found.append((high, offset(high)))
    return found


def expanded(
    store: Store, config: Config, selection: Selection, month: date
) -> tuple[Month, dict[date, list[agenda.Occurrence]]]:
    """The month's occurrences with their facts, on each day they cover: what
    :func:`counted` and :func:`day_events` give without reading every event's facts. Used
    when the month leaves the precomputed horizon (a series is then expanded from its
    VEVENTs)."""
    zone = zoneinfo.ZoneInfo(config.timezone)
    end_month = _next_month(month)
    window = (selection.start, selection.end)
    items, _ = agenda.expand_matches(store.matches(selection), window, config, store.described)
    by_day: dict[date, list[agenda.Occurrence]] = {}
    for o in items:
        for day in days_covered(o, zone):
            if month <= day < end_month:
                by_day.setdefault(day, []).append(o)
    counts = {day: len(found) for day, found in by_day.items()}
    return Month(counts, len({(o.uid, o.start) for o in items})), by_day


def counted(store: Store, config: Config, selection: Selection, month: date) -> Month:
    """The month's counts from the stored occurrences: one query places them on local days;
    only those ending near a midnight are placed from their facts (see selection.day_spans).
    ``selection``'s window is the month, inside the horizon."""
    zone = zoneinfo.ZoneInfo(config.timezone)
    end_month = _next_month(month)
    around = 2 * 86400  # occurrences that start before the month or end after it
    found = store.day_spans(
        selection, offsets(zone, selection.start - around, selection.end + around), _SHIFTS
    )
    counts: dict[date, int] = {}
    first, last = (month - _EPOCH).days, (end_month - _EPOCH).days - 1
    for start, end, n in found.spans:
        for number in range(max(start, first), min(end, last) + 1):
            day = _EPOCH + timedelta(days=number)
            counts[day] = counts.get(day, 0) + n
    near: dict[str, list[tuple[int, int, int]]] = {}
    for uid, start, variant in found.near:
        near.setdefault(uid, []).append((start, start, variant))
    items, _ = agenda.expand_matches(
        [Match(uid, "", False, tuple(triples)) for uid, triples in near.items()],
        (selection.start, selection.end),
        config,
        store.described,
    )
    for o in items:
        for day in days_covered(o, zone):
            if month <= day < end_month:
                counts[day] = counts.get(day, 0) + 1
    return Month(counts, found.total)


def day_events(
    store: Store, config: Config, selection: Selection, day: date
) -> list[agenda.Occurrence]:
    """The occurrences on one day of the month (``selection``'s window, inside the horizon),
    with their facts, in the month's order."""
    zone = zoneinfo.ZoneInfo(config.timezone)
    # from a little before the day: a stored end may lie up to a shift before the page's
    narrow = dataclasses.replace(
        selection,
        start=max(selection.start, _midnight(day, zone) - _SHIFTS),
        end=min(selection.end, _midnight(day + timedelta(days=1), zone)),
    )
    window = (narrow.start, narrow.end)
    items, _ = agenda.expand_matches(store.matches(narrow), window, config, store.described)
    return [o for o in items if day in days_covered(o, zone)]


def weeks(first: date, first_weekday: str) -> list[list[date | None]]:
    """The month's weeks, each of seven days (None outside the month).

    >>> [d and d.day for d in weeks(date(2026, 3, 1), "sunday")[0]]
    [1, 2, 3, 4, 5, 6, 7]
    >>> [d and d.day for d in weeks(date(2026, 3, 1), "monday")[0]]
    [None, None, None, None, None, None, 1]
    """
    grid = calendars.Calendar(WEEKDAYS.index(first_weekday))
    return [
        [d if d.month == first.month else None for d in week]
        for week in grid.monthdatescalendar(first.year, first.month)
    ]


def _form_spelling() -> bool:
    """Whether the query string is spelled as a GET form sends it: empty fields
    (``q=&calendar=``) or a parameter repeated (one checkbox each: ``type=a&type=b``)."""
    names = [name for name, _ in request.args.items(multi=True)]
    blank = any(not value.strip() for _, value in request.args.items(multi=True))
    return blank or len(names) != len(set(names))


def _args() -> dict[str, list[str]]:
    """The filter parameters (empty form fields mean "not set"; month and day are the page's)."""
    args = {}
    for name in request.args:
        values = [v for v in request.args.getlist(name) if v.strip()]
        if values and name not in PAGE_ONLY:
            args[name] = values
    return args


def page_url(q: feed_query.FeedQuery, **extra: str) -> str:
    """This view's page URL: the feed's canonical URL with /calendar for the feed's path."""
    params = list(q.params)
    if q.scope == "calendars":
        path = f"/calendar/{q.slug}"
    else:
        path = "/calendar"
        if q.scope == "types":
            params.insert(0, ("type", q.slug or ""))
    params += [(k, v) for k, v in extra.items() if v]
    query = urlencode(params, safe=",")
    return path + (f"?{query}" if query else "")


def _page(q: feed_query.FeedQuery, month: date, given: date | None) -> bytes:
    s = services()
    config = s.config
    zone = zoneinfo.ZoneInfo(config.timezone)
    end_month = _next_month(month)
    selection = month_selection(q, month, config.timezone)
    by_day: dict[date, list[agenda.Occurrence]] | None = None
    if s.store.horizon_covers(selection.start, selection.end):
        grid = counted(s.store, config, selection, month)
    else:
        grid, by_day = expanded(s.store, config, selection, month)
    today = s.today()
    chosen = given
    if chosen is None or not month <= chosen < end_month:
        if month <= today < end_month:
            chosen = today
        else:
            chosen = min(grid.counts, default=month)
    if by_day is None:
        events = day_events(s.store, config, selection, chosen) if chosen in grid.counts else []
    else:
        events = by_day.get(chosen, [])
    types = {slug for group in q.types for slug in group}
    chosen_calendars = {slug for group in q.calendars for slug in group}
    hidden = [(k, v) for k, v in q.params if k not in ("calendar", "type", "q")]
    return render_template(
        "calendar.html",
        q=q,
        links=agenda.feed_links(q, config),
        description=feed_query.describe(q, config)[1],
        month=month,
        weeks=weeks(month, config.setting("pages.first_weekday")),
        weekdays=_weekday_names(config.setting("pages.first_weekday")),
        counts=grid.counts,
        today=today,
        chosen=chosen,
        events=events,
        previous=page_url(q, month=f"{(month - timedelta(days=1)):%Y-%m}"),
        following=page_url(q, month=f"{end_month:%Y-%m}"),
        url=lambda day: page_url(q, month=f"{month:%Y-%m}", day=day.isoformat()),
        spans=lambda o: len(days_covered(o, zone)) > 1,  # with its days: when it starts, ends
        month_total=grid.total,
        selected_calendars=chosen_calendars,
        selected_types=types,
        words=dict(q.params).get("q", ""),
        hidden=hidden,
        day_given=given is not None and given == chosen,
        calendar_names={c.slug: c.name for c in config.calendars},
        type_names={t.slug: t.name for t in config.types},
        event_page=_event_url("pages.event"),
        event_ics=_event_url("pages.event_ics"),
    ).encode()


def _event_url(endpoint: str) -> Callable[[str], str]:
    """``url_for(endpoint, event_id=…)``, for the day's hundred events at the cost of one."""
    before, after = url_for(endpoint, event_id="-").rsplit("-", 1)

    def url(event_id: str) -> str:
        assert event_id.isalnum()  # store.event_id: hex digits, nothing to quote
        return f"{before}{event_id}{after}"

    return url


def _weekday_names(first_weekday: str) -> Sequence[tuple[str, str]]:
    start = WEEKDAYS.index(first_weekday)
    names = [WEEKDAYS[(start + n) % 7] for n in range(7)]
    return [(name[:3].upper(), name.capitalize()) for name in names]


def _serve(scope: str, slug: str | None) -> Response:
    s = services()
    today = s.today()
    q = feed_query.parse(scope, slug, _args(), s.config, today)
    day = _day(request.args["day"]) if request.args.get("day", "").strip() else None
    if request.args.get("month", "").strip():
        month = _month(request.args["month"])
    else:
        month = (day or today).replace(day=1)
    if _form_spelling():
        # a form's submission lands on the view's canonical URL, the one that differs from
        # its feed's URL only in path and extension (and month and day)
        given = {
            "month": f"{month:%Y-%m}" if request.args.get("month", "").strip() else "",
            "day": day.isoformat() if day else "",
        }
        return Response(status=302, headers={"Location": page_url(q, **given)})
    key = f"/calendar {q.key('')} month={month:%Y-%m} day={day} @{today}"
    return respond(cached(key, lambda: _page(q, month, day)), HTML_TYPE)


@bp.get("/calendar")
def all_calendars() -> Response:
    return _serve("all", None)


@bp.get("/calendar/<slug>")
def one_calendar(slug: str) -> Response:
    return _serve("calendars", slug)
