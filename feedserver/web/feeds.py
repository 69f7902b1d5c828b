"""Stage ⑥: feed routes: /all.ics, /calendars/<slug>.ics, /types/<slug>.ics, with HTTP caching."""

from __future__ import annotations

from flask import Blueprint, Response, request
from werkzeug.http import http_date, is_resource_modified

from feedserver import query as feed_query
from feedserver import render
from feedserver.web.cache import Rendered
from feedserver.web.services import services

bp = Blueprint("feeds", __name__)

ICS_TYPE = "text/calendar; charset=utf-8"


def _rendered(q: feed_query.FeedQuery, version: int) -> Rendered:
    s = services()
    key = (q.cache_key, version)
    entry = s.cache.get(key)
    if entry is None:
        start, end = q.window(s.config.timezone)
        events = s.store.select(q.calendars, q.types, start, end)
        name, description = feed_query.describe(q, s.config)
        head = render.header(name, description, q.url(), s.config)
        entry = Rendered(render.calendar(head, events, s.config))
        s.cache.put(key, entry)
    return entry


def _wants_gzip() -> bool:
    # Negotiated only: a client that does not send Accept-Encoding: gzip gets plain bytes.
    return bool(services().config.setting("feeds.gzip")) and request.accept_encodings["gzip"] > 0


def feed_response(q: feed_query.FeedQuery) -> Response:
    """The feed for a query, answering conditional requests with 304."""
    s = services()
    version, changed_at = s.store.version()
    entry = _rendered(q, version)
    gzipped = _wants_gzip()
    etag = entry.etag + ("-gzip" if gzipped else "")
    headers = {
        "ETag": f'"{etag}"',
        "Last-Modified": http_date(changed_at),
        "Cache-Control": f"public, max-age={s.config.setting('feeds.cache_max_age')}",
    }
    if s.config.setting("feeds.gzip"):
        headers["Vary"] = "Accept-Encoding"
    # If-None-Match matches either representation's tag: a client that got the gzip form and
    # now asks without gzip (or the reverse) has the same calendar.
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
    return Response(body, headers=headers, content_type=ICS_TYPE)


def _feed(scope: str, slug: str | None) -> Response:
    s = services()
    args = {name: request.args.getlist(name) for name in request.args}
    q = feed_query.parse(scope, slug, args, s.config, s.today())
    return feed_response(q)


@bp.get("/all.ics")
def all_events() -> Response:
    return _feed("all", None)


@bp.get("/calendars/<slug>.ics")
def calendar(slug: str) -> Response:
    return _feed("calendars", slug)


@bp.get("/types/<slug>.ics")
def event_type(slug: str) -> Response:
    return _feed("types", slug)
