"""The Flask application factory: config → store → response cache → blueprints → error handlers."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException

from feedserver.admin import loader
from feedserver.config import LiveConfig
from feedserver.errors import AlreadyExists, ConfigError, NotFound, QueryError, StaleEdit
from feedserver.metrics import Metrics
from feedserver.refresh import Refresher, observe_outcome
from feedserver.store import Store
from feedserver.web import admin, calendar, feeds, filters, health, pages
from feedserver.web.cache import ResponseCache
from feedserver.web.errors import error_response
from feedserver.web.services import Services

log = logging.getLogger(__name__)


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app. ``test_config`` keys: FEEDS, DATA (folders), SETTINGS (site setting
    overrides, e.g. ``{"feeds.gzip": False}``), ENVIRON (instead of os.environ),
    BACKGROUND_REFRESH (start the refresher thread; default False) and NOW (a fixed datetime
    that default feed windows are counted from, for tests)."""
    test_config = dict(test_config or {})
    load = loader(
        test_config.get("FEEDS"),
        test_config.get("DATA"),
        environ=test_config.get("ENVIRON"),
        overrides=test_config.get("SETTINGS"),
    )
    config = load()
    log.info("loaded configuration from %s", ", ".join(str(p) for p in config.loaded_files))
    live = LiveConfig(config, load)
    # Pages use only feedserver's own CSS and JavaScript: no CDN, nothing loaded from elsewhere.
    app = Flask(__name__, template_folder="web/templates", static_folder="web/static")
    app.config.update(test_config)
    store = Store(config.store_path)
    metrics = Metrics(config.data_dir / "metrics")
    cache = ResponseCache(int(config.setting("feeds.response_cache_mb") * 1024 * 1024), metrics)
    services = Services(live, load, store, cache, metrics)
    if test_config.get("NOW"):
        services.clock = lambda: test_config["NOW"]
    app.extensions["feedserver"] = services
    app.jinja_env.filters.update(
        day_label=filters.day_label, when=filters.when, linkify=filters.linkify
    )

    @app.context_processor
    def site() -> dict[str, Any]:
        # the configuration in force (feeds/ may be edited while the server runs)
        config = services.config
        return {"config": config, "timezone": config.timezone}

    app.register_blueprint(pages.bp)
    app.register_blueprint(calendar.bp)
    app.register_blueprint(feeds.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(admin.bp)
    app.before_request(admin.guard)
    _error_handlers(app)
    _request_metrics(app, metrics)
    if test_config.get("BACKGROUND_REFRESH"):
        refresher = Refresher(
            live,
            Store(config.store_path),
            on_done=lambda outcome: observe_outcome(metrics, outcome),
            every_second=metrics.flush,
        )
        refresher.start()
        app.extensions["feedserver.refresher"] = refresher
    return app


def _error_handlers(app: Flask) -> None:
    @app.errorhandler(QueryError)
    def bad_query(e: QueryError) -> Response:
        return error_response(400, str(e))

    @app.errorhandler(NotFound)
    def not_found(e: NotFound) -> Response:
        return error_response(404, str(e))

    @app.errorhandler(ConfigError)
    def invalid(e: ConfigError) -> Response:
        first = e.problems[0] if len(e.problems) == 1 else f"{len(e.problems)} problems"
        return error_response(400, f"invalid source definition: {first}", e.problems)

    @app.errorhandler(AlreadyExists)
    def exists(e: AlreadyExists) -> Response:
        return error_response(409, str(e))

    @app.errorhandler(StaleEdit)
    def stale(e: StaleEdit) -> Response:
        return error_response(412, str(e))

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException) -> Response:
        return error_response(e.code or 500, f"{e.code} {e.name}: {e.description}")


def _request_metrics(app: Flask, metrics: Metrics) -> None:
    """Count every answer by route pattern (not path: /calendars/<slug>.ics is one series)."""

    @app.before_request
    def start_clock() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def count(response: Response) -> Response:
        route = request.url_rule.rule if request.url_rule is not None else "(unmatched)"
        labels = {"route": route, "method": request.method, "status": str(response.status_code)}
        metrics.inc("feedserver_http_requests_total", labels)
        started = g.get("started")
        if started is not None:
            elapsed = time.perf_counter() - started
            metrics.observe("feedserver_http_request_duration_seconds", elapsed, {"route": route})
        return response
