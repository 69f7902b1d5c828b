"""Stage ⑥: what the web layer reads: configuration, store and response cache of one app."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from flask import current_app

from feedserver.config import Config
from feedserver.store import Store
from feedserver.web.cache import ResponseCache


@dataclass
class Services:
    config: Config
    store: Store
    cache: ResponseCache
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def today(self) -> date:
        """The site's local date: default feed windows are counted from it."""
        return self.clock().astimezone(zoneinfo.ZoneInfo(self.config.timezone)).date()


def services() -> Services:
    return current_app.extensions["feedserver"]
