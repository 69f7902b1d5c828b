"""feedserver: an iCalendar feed server and subscription bridge."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("feedserver")
except PackageNotFoundError:  # a source tree that was not installed
    __version__ = "dev"


def create_app(*args, **kwargs):  # type: ignore[no-untyped-def]
    """Re-export of :func:`feedserver.app.create_app` (imported late: no import-time Flask)."""
    from feedserver.app import create_app as factory

    return factory(*args, **kwargs)
