"""Stage ⑥: the admin API (/admin/api/…) and the admin page (/admin/), behind a bearer token.

Everything under /admin answers 404 unless FEEDSERVER_ADMIN_TOKEN is set; the API then wants
``Authorization: Bearer <token>`` (compared in constant time) and answers 401 otherwise. Every
change goes through :class:`feedserver.admin.Admin`, the same code as ``feedserver sources``.
Status codes: 400 invalid definition (``errors`` lists every problem), 401 no or wrong token,
404 unknown source, 409 id taken, 412 stale If-Match, 422 the upstream cannot be used (test
fetch failed), 502 a refresh failed.

A bridged source's tables are JSON objects (``"html": {"labels": {…}}``), or TOML text in
``settings_toml`` (what the page's kind settings box sends, and what GET answers with).
"""

from __future__ import annotations

import hmac
import logging
from typing import Any

from flask import Blueprint, Response, abort, jsonify, render_template, request

from feedserver.admin import Admin, source_json, status_json
from feedserver.errors import ConfigError, NotFound, SourceError
from feedserver.refresh import Outcome, observe_outcome
from feedserver.sourcefile import Actor, settings_tables, settings_text
from feedserver.sources import KINDS
from feedserver.web.errors import error_response
from feedserver.web.services import services

log = logging.getLogger(__name__)

bp = Blueprint(
    "admin", __name__, url_prefix="/admin", static_folder="static", static_url_path="/static"
)

# Not an API client's business, but a browser's: the page runs only its own script, cannot be
# framed, and neither it nor its answers are cached or leak the URL.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _unauthorized(message: str, invalid: bool) -> Response:
    # Logged with the address: repeated 401s are someone guessing (fail2ban can read this).
    log.warning("admin API: %s from %s for %s", message, request.remote_addr, request.path)
    response = error_response(401, message)
    challenge = 'Bearer realm="feedserver admin"'
    if invalid:
        challenge += ', error="invalid_token"'  # RFC 6750 §3.1
    response.headers["WWW-Authenticate"] = challenge
    return response


def guard() -> Response | None:
    """Registered on the app (not the blueprint), so it runs before routing errors: without a
    token even /admin (a redirect) and PATCH /admin/api/sources (405) are 404, and without
    the right token an API 405 or 404 is a 401 first: nothing to probe."""
    if request.path != "/admin" and not request.path.startswith("/admin/"):
        return None
    token = services().config.admin_token
    if not token:
        abort(404)  # no admin surface at all
    if not request.path.startswith("/admin/api/"):
        return None  # the page and its script hold no secret; the API calls they make do
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return _unauthorized("missing bearer token: send 'Authorization: Bearer <token>'", False)
    if not hmac.compare_digest(given.strip().encode(), token.encode()):
        return _unauthorized("invalid bearer token", True)
    return None


@bp.after_request
def no_store(response: Response) -> Response:
    for name, value in PAGE_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


# -- helpers -----------------------------------------------------------------------------------


def _admin() -> Admin:
    return services().admin()


def _actor() -> Actor:
    return Actor(
        "api",
        address=request.remote_addr,
        forwarded_for=request.headers.get("X-Forwarded-For"),
    )


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ConfigError('the request body must be a JSON object, e.g. {"kind": "ics", …}')
    return _with_settings(data)


def _with_settings(data: dict[str, Any]) -> dict[str, Any]:
    """``settings_toml`` (the admin page's kind settings: ``[follow]`` and the kind's table as
    TOML text) becomes those tables, their comments kept for a new file."""
    text = data.pop("settings_toml", None)
    if text is None:
        return data
    if not isinstance(text, str):
        raise ConfigError(f"settings_toml: must be TOML text (a string), got {text!r}")
    tables = settings_tables(text, "settings_toml")
    both = [key for key in tables if key in data]
    if both:
        raise ConfigError(
            [f"settings_toml: {key} is given twice, in settings_toml and as a key" for key in both]
        )
    return {**data, **tables}


def _flag(data: dict[str, Any], name: str, default: bool = True) -> bool:
    value = data.pop(name, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{name}: must be true or false, got {value!r}")
    return value


def _outcome(outcome: Outcome) -> dict[str, Any]:
    return {
        "status": outcome.status,
        "events": outcome.events,
        "error": outcome.error,
        "warnings": outcome.warnings,
        "http_status": outcome.http_status,
        "seconds": round(outcome.seconds, 3),
        "added": outcome.stats.added,
        "changed": outcome.stats.changed,
        "removed": outcome.stats.removed,
    }


def _refreshed(admin: Admin, source_id: str | None) -> dict[str, Any] | None:
    """Bring the feeds up to date after a change: refresh the source (or prune)."""
    s = services()
    s.live.check()  # this worker serves the new definitions at once; others within a second
    outcomes = admin.refresh(source_id)
    for outcome in outcomes:
        observe_outcome(s.metrics, outcome)
    return _outcome(outcomes[0]) if outcomes else None


def _described(admin: Admin, source_id: str) -> dict[str, Any]:
    definition = admin.read(source_id)
    config = services().live.check()
    source = config.source(source_id)
    values = source_json(source, config.feeds_dir) if source else {"id": source_id}
    if source is None:  # on disk, but not (yet) in force: show what the file says
        values.update(definition.values())
    status = status_json(source, admin.statuses().get(source_id))
    return {
        "ok": True,
        "source": values,
        "etag": definition.etag,
        "toml": definition.text.decode("utf-8", "replace"),
        "settings_toml": settings_text(definition.text),
        "status": status,
    }


def _json(data: dict[str, Any], status: int = 200, etag: str | None = None) -> Response:
    response = jsonify(data)
    response.status_code = status
    if etag:
        response.headers["ETag"] = etag
    return response


def _source_error(e: SourceError) -> Response:
    return error_response(422, f"the source cannot be used: {e}", [str(e)])


# -- the API -----------------------------------------------------------------------------------


@bp.get("/api/sources")
def list_sources() -> Response:
    s = services()
    config = s.live.check()
    statuses = s.store.statuses()
    sources = []
    admin = _admin()
    for source in config.sources:
        try:
            current_etag: str | None = admin.read(source.id).etag
        except NotFound:  # removed a moment ago; the next look will not list it
            current_etag = None
        sources.append(
            {
                **source_json(source, config.feeds_dir),
                "etag": current_etag,
                "status": status_json(source, statuses.get(source.id)),
            }
        )
    return _json({"ok": True, "sources": sources, "config_problems": s.live.problems})


@bp.post("/api/sources")
def add_source() -> Response:
    data = _body()
    fetch = _flag(data, "fetch")
    source_id = data.pop("id", None)
    admin = _admin()
    try:
        definition, preview = admin.add(source_id, data, _actor(), test_fetch=fetch)
    except SourceError as e:
        return _source_error(e)
    result = _described(admin, definition.id)
    result["preview"] = preview.as_json() if preview else None
    result["refresh"] = _refreshed(admin, definition.id) if fetch else None
    response = _json(result, 201, definition.etag)
    response.headers["Location"] = f"/admin/api/sources/{definition.id}"
    return response


@bp.get("/api/sources/<source_id>")
def get_source(source_id: str) -> Response:
    result = _described(_admin(), source_id)
    return _json(result, etag=result["etag"])


@bp.put("/api/sources/<source_id>")
def put_source(source_id: str) -> Response:
    data = _body()
    fetch = _flag(data, "fetch")
    admin = _admin()
    try:
        definition, preview = admin.edit(
            source_id,
            data,
            _actor(),
            if_match=request.headers.get("If-Match"),
            replace_all=True,
            test_fetch=fetch,
        )
    except SourceError as e:
        return _source_error(e)
    result = _described(admin, source_id)
    result["preview"] = preview.as_json() if preview else None
    result["refresh"] = _refreshed(admin, source_id) if fetch else None
    return _json(result, etag=definition.etag)


@bp.delete("/api/sources/<source_id>")
def delete_source(source_id: str) -> Response:
    admin = _admin()
    admin.remove(source_id, _actor(), if_match=request.headers.get("If-Match"))
    _refreshed(admin, None)  # prune: its events leave the feeds now
    return _json({"ok": True, "removed": source_id})


@bp.post("/api/sources/<source_id>/refresh")
def refresh_source(source_id: str) -> Response:
    admin = _admin()
    outcomes = admin.refresh(source_id, _actor())
    for outcome in outcomes:
        observe_outcome(services().metrics, outcome)
    if not outcomes:
        return _json({"ok": True, "refresh": None, "note": "the source is disabled"})
    if outcomes[0].status == "failed":
        return error_response(
            502, f"refresh failed: {outcomes[0].error}", [outcomes[0].error or ""]
        )
    return _json({"ok": True, "refresh": _outcome(outcomes[0])})


@bp.get("/api/sources/<source_id>/status")
def source_status(source_id: str) -> Response:
    admin = _admin()
    admin.read(source_id)  # 404 for an unknown id
    config = services().live.check()
    status = status_json(config.source(source_id), admin.statuses().get(source_id))
    return _json({"ok": True, "id": source_id, "status": status})


@bp.post("/api/sources/test")
def test_source() -> Response:
    data = _body()
    limit = data.pop("limit", 10)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 100:
        raise ConfigError(f"limit: must be a number from 1 to 100, got {limit!r}")
    source_id = data.pop("id", None)
    admin = _admin()
    if source_id is not None:
        admin.read(source_id)  # 404 for an unknown id
    try:
        preview = admin.preview(data, source_id=source_id, limit=limit)
    except SourceError as e:
        return _source_error(e)
    return _json({"ok": True, "preview": preview.as_json()})


# -- the page ----------------------------------------------------------------------------------


@bp.get("/")
def page() -> str:
    config = services().config
    return render_template("admin.html", config=config, kinds=sorted(KINDS))
