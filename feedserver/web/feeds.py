"""Stage ⑥: feed routes: every feed as .ics, .json and an HTML preview, with HTTP caching.

``/all``, ``/calendars/<slug>``, ``/types/<slug>``; with ``.ics`` the calendar, with ``.json``
its occurrences for widgets (CORS open for GET), without an extension the preview page. Each is
rendered once per canonical query and store version and then served from the response cache.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from datetime import datetime, time

from flask import Blueprint, Response, abort, json, render_template, request
from werkzeug.http import http_date, is_resource_modified

from feedserver import agenda, render
from feedserver import query as feed_query
from feedserver.store import EventRow
from feedserver.web import errors
from feedserver.web.cache import Rendered
from feedserver.web.services import services

bp = Blueprint("feeds", __name__)

ICS_TYPE = "text/calendar; charset=utf-8"
JSON_TYPE = "application/json"
HTML_TYPE = "text/html; charset=utf-8"
PAGE_HEADERS = errors.PAGE_HEADERS
PREVIEW_LIMIT = 150  # occurrences on a preview page: enough to judge a feed, light on a phone


def cached(key: str, build: Callable[[], bytes]) -> Rendered:
    """The response for ``key`` at the store's current version, built once."""
    s = services()
    version, _ = s.store.version()
    entry = s.cache.get((key, version))
    if entry is None:
        entry = Rendered(build())
        s.cache.put((key, version), entry)
    return entry


def _wants_gzip() -> bool:
    # Negotiated only: a client that does not send Accept-Encoding: gzip gets plain bytes.
    return bool(services().config.setting("feeds.gzip")) and request.accept_encodings["gzip"] > 0


def respond(entry: Rendered, content_type: str, *, cors: bool = False) -> Response:
    """A cached response, answering conditional requests with 304."""
    s = services()
    _, changed_at = s.store.version()
    gzipped = _wants_gzip()
    etag = entry.etag + ("-gzip" if gzipped else "")
    headers = {
        "ETag": f'"{etag}"',
        "Last-Modified": http_date(changed_at),
        "Cache-Control": f"public, max-age={s.config.setting('feeds.cache_max_age')}",
    }
    if s.config.setting("feeds.gzip"):
        headers["Vary"] = "Accept-Encoding"
    if content_type == HTML_TYPE:
        headers |= PAGE_HEADERS
    if cors:
        # Public data for website widgets: any origin may read it (GET only, no credentials).
        headers["Access-Control-Allow-Origin"] = "*"
    # If-None-Match matches either representation's tag: a client that got the gzip form and
    # now asks without gzip (or the reverse) has the same content.
    inm = request.if_none_match
    unchanged = inm and (inm.contains(entry.etag) or inm.contains(entry.etag + "-gzip"))
    if unchanged or (
        not inm
        and not is_resource_modified(
            request.environ, last_modified=changed_at, ignore_if_range=True
        )
    ):
        return Response(status=304, headers=headers)
    if gzipped:
        before = entry.size
        body = entry.gzipped()
        s.cache.grew(entry, before)
        headers["Content-Encoding"] = "gzip"
    else:
        body = entry.body
    return Response(body, headers=headers, content_type=content_type)


def _expanded(row: EventRow, window: tuple[int, int]) -> bytes:
    """A series' occurrences as single events, cached per event and window: feeds that share
    the series share the work."""
    key = f"expand {row.uid} {window[0]} {window[1]}"
    return cached(key, lambda: render.expand(row.uid, row.body, *window)).body


def ics(q: feed_query.FeedQuery) -> bytes:
    s = services()
    selection = q.selection(s.config.timezone)
    events = s.store.select(selection)
    name, description = feed_query.describe(q, s.config)
    head = render.header(name, description, q.url(), s.config)
    bodies = None
    if q.expand or q.alarms:
        window = (selection.start, selection.end)
        bodies = [
            _expanded(e, window) if q.expand and render.is_recurring(e.body) else e.body
            for e in events
        ]
        if q.alarms:
            valarms = render.alarms(q.alarms)
            bodies = [render.with_alarms(body, valarms) for body in bodies]
    return render.calendar(head, events, s.config, bodies)


def occurrences(
    q: feed_query.FeedQuery, start: int | None = None, limit: int | None = None
) -> tuple[list[agenda.Occurrence], int]:
    """The feed's first ``limit`` occurrences from ``start`` (default: the window's start),
    and how many there are."""
    s = services()
    selection = q.selection(s.config.timezone, start)
    matches = s.store.matches(selection)
    window = (selection.start, selection.end)
    return agenda.expand_matches(matches, window, s.config, s.store.described, limit)


def feed_json(q: feed_query.FeedQuery) -> bytes:
    s = services()
    selection = q.selection(s.config.timezone)
    document = agenda.feed_json(q, occurrences(q)[0], s.config, selection)
    # compact: a year of a busy feed is megabytes, and widgets do not read it by eye
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def preview_start(q: feed_query.FeedQuery) -> int | None:
    """Previews show what is coming: from today, unless the URL fixes the window's start."""
    s = services()
    if "from" in q.explicit or "past" in q.explicit:
        return None
    zone = zoneinfo.ZoneInfo(s.config.timezone)
    return int(datetime.combine(s.today(), time(), zone).timestamp())


def preview(q: feed_query.FeedQuery) -> bytes:
    s = services()
    start = preview_start(q)
    items, total = occurrences(q, start, PREVIEW_LIMIT)
    zone = zoneinfo.ZoneInfo(s.config.timezone)
    first_day = datetime.fromtimestamp(q.selection(s.config.timezone, start).start, zone).date()
    return render_template(
        "feed.html",
        q=q,
        links=agenda.feed_links(q, s.config),
        description=feed_query.describe(q, s.config)[1],
        days=agenda.by_day(items, zone, first_day),
        total=total,
        limit=PREVIEW_LIMIT,
        first_day=first_day,
    ).encode()


def parse(scope: str, slug: str | None) -> feed_query.FeedQuery:
    s = services()
    args = {name: request.args.getlist(name) for name in request.args}
    return feed_query.parse(scope, slug, args, s.config, s.today())


def serve(scope: str, slug: str | None, extension: str) -> Response:
    q = parse(scope, slug)
    if extension == ".ics":
        return respond(cached(q.key(".ics"), lambda: ics(q)), ICS_TYPE)
    if extension == ".json":
        return respond(cached(q.key(".json"), lambda: feed_json(q)), JSON_TYPE, cors=True)
    return respond(cached(q.key("") + f"@{services().today()}", lambda: preview(q)), HTML_TYPE)


# One rule per kind, so that metrics count .ics, .json and preview requests apart (they are
# labelled by route pattern). Slugs have no dots: "ece.ics" never matches the preview rule's
# <slug> alone, because werkzeug prefers the rule with the static suffix.
@bp.get("/all.ics")
def all_events() -> Response:
    return serve("all", None, ".ics")


@bp.get("/all.json")
def all_json() -> Response:
    return serve("all", None, ".json")


@bp.get("/all")
def all_preview() -> Response:
    return serve("all", None, "")


@bp.get("/calendars/<slug>.ics")
def calendar_ics(slug: str) -> Response:
    return serve("calendars", slug, ".ics")


@bp.get("/calendars/<slug>.json")
def calendar_json(slug: str) -> Response:
    return serve("calendars", slug, ".json")


@bp.get("/calendars/<slug>")
def calendar(slug: str) -> Response:
    return serve("calendars", _no_extension(slug), "")


@bp.get("/types/<slug>.ics")
def event_type_ics(slug: str) -> Response:
    return serve("types", slug, ".ics")


@bp.get("/types/<slug>.json")
def event_type_json(slug: str) -> Response:
    return serve("types", slug, ".json")


@bp.get("/types/<slug>")
def event_type(slug: str) -> Response:
    return serve("types", _no_extension(slug), "")


def _no_extension(slug: str) -> str:
    if "." in slug:  # /calendars/ece.xml: no such representation
        abort(404)
    return slug
