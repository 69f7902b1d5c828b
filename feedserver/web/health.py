"""Stage ⑥: health for operators: /status (a page), /status.json, /healthz and /metrics."""

from __future__ import annotations

import logging
import sqlite3
import zoneinfo
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, jsonify, render_template

from feedserver import __version__
from feedserver.admin import status_json
from feedserver.web.services import services

log = logging.getLogger(__name__)

bp = Blueprint("health", __name__)


def _report() -> dict[str, Any]:
    s = services()
    config = s.config
    statuses = s.store.statuses()
    sources = []
    for source in config.sources:
        sources.append(
            {
                "id": source.id,
                "name": source.name,
                "kind": source.kind,
                "calendar": source.calendar,
                "location": source.url or str(source.path),
                **status_json(source, statuses.get(source.id)),
            }
        )
    return {
        "ok": all(x["ok"] for x in sources if x["enabled"]) and not s.live.problems,
        "config_problems": s.live.problems,
        "sources": sources,
    }


@bp.get("/status.json")
def status_data() -> Response:
    """Per-source health as JSON (for scripts and monitoring)."""
    return jsonify(_report())


@bp.get("/status")
def status_page() -> Response:
    """Per-source health for people: last fetch and success, HTTP status, events, errors."""
    s = services()
    zone = zoneinfo.ZoneInfo(s.config.timezone)

    def local(text: str | None) -> str:
        return (
            datetime.fromisoformat(text).astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
            if text
            else "—"
        )

    report = _report()
    body = render_template("status.html", config=s.config, report=report, local=local)
    return Response(body, mimetype="text/html", headers={"Cache-Control": "no-store"})


@bp.get("/healthz")
def healthz() -> Response:
    """200 while this worker can serve feeds (the store answers), else 503."""
    s = services()
    try:
        s.store.ping()
        version, changed = s.store.version()
    except sqlite3.Error as e:
        log.error("health check: the store cannot be read: %s", e)
        return Response(f"unavailable: the store cannot be read: {e}\n", 503, mimetype="text/plain")
    return Response(f"ok version={version} changed={changed.isoformat()}\n", mimetype="text/plain")


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus text format: this server's counters (summed over its workers), and gauges
    read from the shared store."""
    s = services()
    config = s.config
    statuses = s.store.statuses()
    Samples = list[tuple[Mapping[str, str], float]]
    up: Samples = []
    events: Samples = []
    success: Samples = []
    duration: Samples = []
    for source in config.sources:
        if not source.enabled:
            continue
        st = statuses.get(source.id)
        labels = {"source": source.id}
        up.append((labels, 1.0 if st and st.ok else 0.0))
        events.append((labels, float(st.event_count if st else 0)))
        if st and st.last_success:
            success.append((labels, st.last_success.timestamp()))
        if st and st.duration is not None:
            duration.append((labels, st.duration))
    version, changed = s.store.version()
    gauges: list[tuple[str, str, Samples]] = [
        ("feedserver_source_up", "1 when the source's last refresh succeeded, else 0.", up),
        ("feedserver_source_events", "Events the source contributes.", events),
        (
            "feedserver_source_last_success_timestamp_seconds",
            "When the source last refreshed successfully (Unix time).",
            success,
        ),
        (
            "feedserver_source_last_refresh_seconds",
            "How long the source's last refresh took (by any process, CLI included).",
            duration,
        ),
        ("feedserver_events", "Events in the store.", [({}, float(s.store.count_events()))]),
        (
            "feedserver_store_changed_timestamp_seconds",
            "When any event last changed (Unix time).",
            [({}, changed.timestamp())],
        ),
        (
            "feedserver_config_ok",
            "1 when the configuration on disk loads; 0 when the last good one is kept.",
            [({}, 0.0 if s.live.problems else 1.0)],
        ),
        ("feedserver_build_info", "feedserver's version.", [({"version": __version__}, 1.0)]),
    ]
    text = s.metrics.render(gauges)
    return Response(
        text, mimetype="text/plain", content_type="text/plain; version=0.0.4; charset=utf-8"
    )
