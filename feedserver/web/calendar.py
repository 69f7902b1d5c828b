"""Stage ⑥: the browsable calendar page: a month grid, the events of one day, the feed filters.

``/calendar`` and ``/calendar/<slug>`` read the same filter parameters as the feeds (README
"Filters"), plus ``month=YYYY-MM`` and ``day=YYYY-MM-DD``, which only choose what the page shows:
the view's feed is the same URL with the feed's path and extension. The month is built from
the store's precomputed occurrences (selection.py), like a feed, and cached per canonical
query, month, day and date.
"""

from __future__ import annotations

import calendar as calendars
import dataclasses
import re
import zoneinfo
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode

from flask import Blueprint, Response, render_template, request

from feedserver import agenda
from feedserver import query as feed_query
from feedserver.config import WEEKDAYS
from feedserver.errors import QueryError
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
    zone = zoneinfo.ZoneInfo(s.config.timezone)
    end_month = _next_month(month)
    window = (
        int(datetime.combine(month, time(), zone).timestamp()),
        int(datetime.combine(end_month, time(), zone).timestamp()),
    )
    selection = dataclasses.replace(q.selection(s.config.timezone), start=window[0], end=window[1])
    items, _ = agenda.expand_matches(
        s.store.matches(selection), window, s.config, s.store.described
    )
    by_day: dict[date, list[agenda.Occurrence]] = {}
    for o in items:
        for day in days_covered(o, zone):
            if month <= day < end_month:
                by_day.setdefault(day, []).append(o)
    today = s.today()
    chosen = given
    if chosen is None or not month <= chosen < end_month:
        if month <= today < end_month:
            chosen = today
        else:
            chosen = min(by_day, default=month)
    types = {slug for group in q.types for slug in group}
    chosen_calendars = {slug for group in q.calendars for slug in group}
    hidden = [(k, v) for k, v in q.params if k not in ("calendar", "type", "q")]
    return render_template(
        "calendar.html",
        q=q,
        links=agenda.feed_links(q, s.config),
        description=feed_query.describe(q, s.config)[1],
        month=month,
        weeks=weeks(month, s.config.setting("pages.first_weekday")),
        weekdays=_weekday_names(s.config.setting("pages.first_weekday")),
        by_day=by_day,
        today=today,
        chosen=chosen,
        events=by_day.get(chosen, []),
        previous=page_url(q, month=f"{(month - timedelta(days=1)):%Y-%m}"),
        following=page_url(q, month=f"{end_month:%Y-%m}"),
        url=lambda day: page_url(q, month=f"{month:%Y-%m}", day=day.isoformat()),
        spans=lambda o: len(days_covered(o, zone)) > 1,  # with its days: when it starts, ends
        month_total=len({(o.uid, o.start) for o in items}),
        selected_calendars=chosen_calendars,
        selected_types=types,
        words=dict(q.params).get("q", ""),
        hidden=hidden,
        day_given=given is not None and given == chosen,
    ).encode()


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
