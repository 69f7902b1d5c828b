"""Stage ⑥: the subscriber's pages: the index of feeds, the feed builder, event pages, QR codes.

Pages are server-rendered (they work without JavaScript; feedserver.js only adds live updates
and copy buttons) and cached like feeds: per canonical query, store version and day.
"""

from __future__ import annotations

import io
import zoneinfo
from datetime import datetime, time
from urllib.parse import parse_qs, urlsplit

import segno
from flask import Blueprint, Response, render_template, request

from feedserver import agenda, render
from feedserver import query as feed_query
from feedserver.details import load
from feedserver.errors import NotFound, QueryError
from feedserver.store import EventRow, StoredEvent
from feedserver.web.feeds import HTML_TYPE, ICS_TYPE, cached, occurrences, respond
from feedserver.web.services import services

bp = Blueprint("pages", __name__)

BUILDER_PREVIEW = 30  # occurrences the builder previews
EVENT_OCCURRENCES = 12  # upcoming dates listed on a series' page
# The builder's choices; any other value can still be typed into a feed URL.
ALARMS: tuple[tuple[int, str], ...] = (
    (0, "at the start"),
    (10, "10 minutes before"),
    (30, "30 minutes before"),
    (60, "1 hour before"),
    (1440, "1 day before"),
)
HORIZONS = (7, 14, 30, 90, 180, 365)


def _today_start() -> int:
    s = services()
    zone = zoneinfo.ZoneInfo(s.config.timezone)
    return int(datetime.combine(s.today(), time(), zone).timestamp())


def _index() -> bytes:
    s = services()
    start = _today_start()
    end = start + (s.config.setting("feeds.future_days") + 1) * 86400
    counts = s.store.upcoming_counts(start, end)
    today = s.today()

    def feed(scope: str, slug: str | None) -> dict:
        q = feed_query.parse(scope, slug, {}, s.config, today)
        return {"q": q, "links": agenda.feed_links(q, s.config)}

    return render_template(
        "index.html",
        all=feed("all", None) | {"count": counts["all"][""]},
        calendars=[
            feed("calendars", c.slug) | {"item": c, "count": counts["calendars"].get(c.slug, 0)}
            for c in s.config.calendars
        ],
        types=[
            feed("types", t.slug) | {"item": t, "count": counts["types"].get(t.slug, 0)}
            for t in s.config.types
        ],
        future_days=s.config.setting("feeds.future_days"),
    ).encode()


@bp.get("/")
def index() -> Response:
    return respond(cached(f"/ @{services().today()}", _index), HTML_TYPE)


def _builder_args() -> dict[str, list[str]]:
    """The form's fields as filter parameters: empty fields mean "not set"."""
    args = {}
    for name in request.args:
        values = [v for v in request.args.getlist(name) if v.strip()]
        if values:
            args[name] = values
    return args


def _build(template: str) -> Response:
    """The builder (or its result alone); a valid query's page is cached like a preview."""
    s = services()
    args = _builder_args()
    try:
        q = feed_query.parse("all", None, args, s.config, s.today())
    except QueryError as e:
        page = _builder_page(template, args, None, str(e))
        return Response(page, status=400, content_type=HTML_TYPE)
    # the form's own spelling of the query is on the page (checked boxes, field values)
    key = f"{template} {request.query_string.decode()} @{s.today()}"
    entry = cached(key, lambda: _builder_page(template, args, q, None).encode())
    return respond(entry, HTML_TYPE)


def _builder_page(
    template: str, args: dict[str, list[str]], q: feed_query.FeedQuery | None, error: str | None
) -> str:
    s = services()
    selected = {
        name: {part.strip().lower() for value in values for part in value.split(",")}
        for name, values in args.items()
    }
    context: dict = {"q": q, "error": error, "args": args, "selected": selected}
    context["limit"] = BUILDER_PREVIEW
    if q is not None:
        start = _today_start() if not q.explicit & {"from", "past"} else None
        items, total = occurrences(q, start, BUILDER_PREVIEW)
        zone = zoneinfo.ZoneInfo(s.config.timezone)
        first = datetime.fromtimestamp(q.selection(s.config.timezone, start).start, zone).date()
        context |= {
            "links": agenda.feed_links(q, s.config),
            "description": feed_query.describe(q, s.config)[1],
            "days": agenda.by_day(items, zone, first),
            "total": total,
        }
    return render_template(
        template,
        alarms=ALARMS,
        horizons=HORIZONS,
        future_days=s.config.setting("feeds.future_days"),
        **context,
    )


@bp.get("/build")
def build() -> Response:
    """The feed builder: a GET form whose result (URL, buttons, preview) is on the same page."""
    return _build("build.html")


@bp.get("/build/result")
def build_result() -> Response:
    """The builder's result alone, for feedserver.js to swap in as the form changes."""
    return _build("_build_result.html")


def _event(event_id: str) -> StoredEvent:
    event = services().store.event(event_id)
    if event is None:
        raise NotFound(f"no event {event_id!r}")
    return event


def _event_page(event_id: str) -> bytes:
    s = services()
    event = _event(event_id)
    facts = load(event.details)
    start = _today_start()
    end = start + s.config.setting("feeds.future_days") * 86400
    found = s.store.occurrences_of(event.uid, start, end)
    upcoming = agenda.event_occurrences(event, found, (start, end), s.config)
    past = not upcoming
    if past:  # show when it was: its first occurrence
        begin = start - s.config.setting("store.horizon_past_days") * 86400
        found = s.store.occurrences_of(event.uid, begin, start)
        upcoming = agenda.event_occurrences(event, found, (begin, start), s.config)[-1:]
    names = {c.slug: c for c in s.config.calendars}
    kinds = {t.slug: t for t in s.config.types}
    return render_template(
        "event.html",
        event=event,
        facts=facts[0],
        upcoming=upcoming[:EVENT_OCCURRENCES],
        more=len(upcoming) > EVENT_OCCURRENCES,
        past=past,
        calendars=[names[c] for c in event.calendars if c in names],
        types=[kinds[t] for t in event.types if t in kinds],
    ).encode()


def _event_ics(event_id: str) -> bytes:
    s = services()
    event = _event(event_id)
    facts = load(event.details)[0]
    head = render.header(
        facts.title or s.config.title,
        f"{s.config.title}: {facts.title}",
        f"/events/{event.id}.ics",
        s.config,
    )
    row = EventRow(event.uid, event.body, event.tzids, event.first_year)
    return render.calendar(head, [row], s.config)


@bp.get("/events/<event_id>.ics")
def event_ics(event_id: str) -> Response:
    entry = cached(f"/events/{event_id}.ics", lambda: _event_ics(event_id))
    response = respond(entry, ICS_TYPE)
    # "Add this event": a download the calendar app opens (a copy, not a subscription).
    response.headers["Content-Disposition"] = f'attachment; filename="{event_id}.ics"'
    return response


@bp.get("/events/<event_id>")
def event(event_id: str) -> Response:
    key = f"/events/{event_id} @{services().today()}"
    return respond(cached(key, lambda: _event_page(event_id)), HTML_TYPE)


def _qr(feed_url: str) -> bytes:
    """An SVG QR code of a feed's canonical https URL (``feed_url`` is a feed path of this site
    with its query; anything else is refused, so this is no QR code service for any text)."""
    s = services()
    parts = urlsplit(feed_url)
    segments = parts.path.strip("/").split("/")
    if parts.scheme or parts.netloc or not parts.path.endswith(".ics"):
        raise QueryError("feed: expected a feed path of this site, e.g. /calendars/<slug>.ics")
    if segments == ["all.ics"]:
        scope, slug = "all", None
    elif len(segments) == 2 and segments[0] in ("calendars", "types"):
        scope, slug = segments[0], segments[1].removesuffix(".ics")
    else:
        raise QueryError(f"feed: {parts.path!r} is not a feed of this site")
    args = parse_qs(parts.query, keep_blank_values=True)
    q = feed_query.parse(scope, slug, args, s.config, s.today())
    url = agenda.absolute(s.config, q.url(".ics"))
    out = io.BytesIO()
    # Error correction M (15%): survives a smudged print; border 2 modules keeps it compact.
    segno.make(url, error="m").save(
        out, kind="svg", scale=4, border=2, xmldecl=False, title="QR code: " + url
    )
    return out.getvalue()


@bp.get("/qr.svg")
def qr() -> Response:
    feed_url = request.args.get("feed", "")
    return respond(cached(f"/qr.svg {feed_url}", lambda: _qr(feed_url)), "image/svg+xml")
