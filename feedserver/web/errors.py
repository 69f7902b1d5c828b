"""Stage ⑥: the one error shape of the web layer, per kind of route."""

from __future__ import annotations

from collections.abc import Sequence

from flask import Response, jsonify, render_template, request

# Routes people read in a browser: their errors are pages (with the site's navigation).
_PAGES = {
    "pages.index",
    "pages.build",
    "pages.build_result",
    "pages.event",
    "feeds.all_preview",
    "feeds.calendar",
    "feeds.event_type",
    "calendar.all_calendars",
    "calendar.one_calendar",
}
# Pages load only feedserver's own CSS and script, and post nowhere: a description that slipped
# markup through could not run anything.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
}


def error_response(status: int, message: str, errors: Sequence[str] | None = None) -> Response:
    """For .json and API routes ``{"ok": false, "error": message, "errors": [every problem],
    "status": status}``; an HTML page for the subscriber's pages; text/plain for feeds (.ics,
    what calendar apps and scripts read) and everything else."""
    path = request.path
    if path.endswith(".json") or path.startswith("/admin/api/"):
        problems = list(errors) if errors else [message]
        response = jsonify({"ok": False, "error": message, "errors": problems, "status": status})
        response.status_code = status
        if not path.startswith("/admin/"):
            # A widget on another site must be able to read why its request failed.
            response.headers["Access-Control-Allow-Origin"] = "*"
        return response
    if request.endpoint in _PAGES and not path.endswith((".ics", ".svg")):
        page = render_template("error.html", status=status, message=message)
        return Response(
            page, status=status, headers=PAGE_HEADERS, content_type="text/html; charset=utf-8"
        )
    text = message if not errors or list(errors) == [message] else "\n".join([message, *errors])
    return Response(text + "\n", status=status, mimetype="text/plain")
