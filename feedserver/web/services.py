"""Stage ⑥: what the web layer reads: configuration, store, response cache, metrics."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from flask import current_app

from feedserver.admin import Admin, Loader
from feedserver.config import Config, LiveConfig
from feedserver.metrics import Metrics
from feedserver.store import Store
from feedserver.web.cache import ResponseCache


@dataclass
class Services:
    live: LiveConfig
    load: Loader
    store: Store
    cache: ResponseCache
    metrics: Metrics
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    _seen: Config | None = None

    @property
    def config(self) -> Config:
        """The configuration in force: reloaded when feeds/ changes (at most once a second);
        a reload empties the response cache, since names and types may have changed."""
        config = self.live.current()
        if config is not self._seen:
            if self._seen is not None:
                self.cache.clear()
            self._seen = config
        return config

    def admin(self) -> Admin:
        config = self.live.current()
        return Admin(self.load, self.store, config.feeds_dir, config.data_dir, self.clock)

    def today(self) -> date:
        """The site's local date: default feed windows are counted from it."""
        return self.clock().astimezone(zoneinfo.ZoneInfo(self.config.timezone)).date()


def services() -> Services:
    return current_app.extensions["feedserver"]
