"""Stage ⑥: small pages: the index of feeds, /healthz and /status."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, render_template

from feedserver.web.services import services

bp = Blueprint("pages", __name__)


@bp.get("/")
def index() -> str:
    s = services()
    return render_template(
        "index.html",
        config=s.config,
        calendar_counts=s.store.counts("event_calendars"),
        type_counts=s.store.counts("event_types"),
    )


@bp.get("/healthz")
def healthz() -> Response:
    version, changed = services().store.version()
    return Response(f"ok version={version} changed={changed.isoformat()}\n", mimetype="text/plain")


@bp.get("/status")
def status() -> Response:
    """Per-source health: last success, last error and warnings."""
    s = services()
    statuses = s.store.statuses()
    sources = []
    for source in s.config.sources:
        st = statuses.get(source.id)
        sources.append(
            {
                "id": source.id,
                "name": source.name,
                "kind": source.kind,
                "calendar": source.calendar,
                "enabled": source.enabled,
                "location": source.location,
                "ok": bool(st and st.ok),
                "last_attempt": st.last_attempt.isoformat() if st and st.last_attempt else None,
                "last_success": st.last_success.isoformat() if st and st.last_success else None,
                "last_error": st.last_error if st else None,
                "events": st.event_count if st else 0,
                "warnings": st.warnings if st else [],
            }
        )
    return jsonify({"ok": all(x["ok"] for x in sources if x["enabled"]), "sources": sources})
