"""The Flask application factory: config → store → response cache → blueprints → error handlers."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from feedserver import config as configuration
from feedserver.errors import NotFound, QueryError
from feedserver.refresh import Refresher
from feedserver.store import Store
from feedserver.web import feeds, filters, pages
from feedserver.web.cache import ResponseCache
from feedserver.web.services import Services

log = logging.getLogger(__name__)


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app. ``test_config`` keys: FEEDS, DATA (folders), SETTINGS (site setting
    overrides, e.g. ``{"feeds.gzip": False}``), ENVIRON (instead of os.environ),
    BACKGROUND_REFRESH (start the refresher thread; default False) and NOW (a fixed datetime
    that default feed windows are counted from, for tests)."""
    test_config = dict(test_config or {})
    config = configuration.load(
        test_config.get("FEEDS"),
        test_config.get("DATA"),
        environ=test_config.get("ENVIRON"),
        overrides=test_config.get("SETTINGS"),
    )
    # Pages use only feedserver's own CSS and JavaScript: no CDN, nothing loaded from elsewhere.
    app = Flask(__name__, template_folder="web/templates", static_folder="web/static")
    app.config.update(test_config)
    store = Store(config.store_path)
    cache = ResponseCache(int(config.setting("feeds.response_cache_mb") * 1024 * 1024))
    services = Services(config, store, cache)
    if test_config.get("NOW"):
        services.clock = lambda: test_config["NOW"]
    app.extensions["feedserver"] = services
    app.jinja_env.filters.update(
        day_label=filters.day_label, when=filters.when, linkify=filters.linkify
    )
    app.jinja_env.globals.update(config=config, timezone=config.timezone)
    app.register_blueprint(pages.bp)
    app.register_blueprint(feeds.bp)
    _error_handlers(app)
    if test_config.get("BACKGROUND_REFRESH"):
        refresher = Refresher(config, Store(config.store_path))
        refresher.start()
        app.extensions["feedserver.refresher"] = refresher
    return app


def _error(status: int, message: str) -> Response:
    """One error shape per kind of route: JSON for .json and API routes, text/plain for feeds
    (.ics, what calendar apps and scripts read) and machine endpoints, HTML for pages."""
    path = request.path
    if path.endswith(".json") or path.startswith("/admin/api/"):
        response = jsonify({"ok": False, "error": message, "errors": [message], "status": status})
        response.status_code = status
        # A widget on another site must be able to read why its request failed.
        response.headers["Access-Control-Allow-Origin"] = "*"
        return response
    machine = path.endswith((".ics", ".svg")) or path in ("/healthz", "/status", "/metrics")
    if machine or path.startswith("/static/"):
        return Response(message + "\n", status=status, mimetype="text/plain")
    page = render_template("error.html", status=status, message=message)
    return Response(page, status=status, headers=feeds.PAGE_HEADERS, content_type=feeds.HTML_TYPE)


def _error_handlers(app: Flask) -> None:
    @app.errorhandler(QueryError)
    def bad_query(e: QueryError) -> Response:
        return _error(400, str(e))

    @app.errorhandler(NotFound)
    def not_found(e: NotFound) -> Response:
        return _error(404, str(e))

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException) -> Response:
        return _error(e.code or 500, f"{e.code} {e.name}: {e.description}")
