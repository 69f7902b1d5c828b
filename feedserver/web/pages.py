"""Stage ⑥: the index page: every feed URL with its event counts."""

from __future__ import annotations

from flask import Blueprint, render_template

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
