"""Stage ⑥: the one error shape of the web layer."""

from __future__ import annotations

from collections.abc import Sequence

from flask import Response, jsonify, request


def error_response(status: int, message: str, errors: Sequence[str] | None = None) -> Response:
    """text/plain for feeds and pages; for .json and API routes
    ``{"ok": false, "error": message, "errors": [every problem], "status": status}``."""
    if request.path.endswith(".json") or request.path.startswith("/admin/api/"):
        problems = list(errors) if errors else [message]
        response = jsonify({"ok": False, "error": message, "errors": problems, "status": status})
        response.status_code = status
        return response
    text = message if not errors or list(errors) == [message] else "\n".join([message, *errors])
    return Response(text + "\n", status=status, mimetype="text/plain")
