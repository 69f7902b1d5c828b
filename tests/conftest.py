"""Fixtures: a site folder built per test, the app, its client, the CLI runner, a real upstream."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from feedserver import config as configuration
from feedserver.app import create_app
from feedserver.cli import cli
from feedserver.refresh import refresh
from feedserver.store import Store
from tests.upstream import upstream  # noqa: F401  (the fixture)

SAMPLES = Path(__file__).parent / "samples"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

SITE_TOML = """\
title = "Test University"
base_url = "https://events.example.edu"
timezone = "America/Los_Angeles"

[fetch]
allow_networks = ["127.0.0.0/8"]  # tests/upstream.py serves on 127.0.0.1

[[calendars]]
slug = "ece"
name = "Electrical Engineering"
description = "Seminars and defenses of the ECE department"

[[calendars]]
slug = "cs"
name = "Computer Science"

[[types]]
slug = "seminar"
name = "Seminar"
aliases = ["Conferences, Lectures, & Seminars", "Lecture"]

[[types]]
slug = "workshop"
name = "Workshop"

[[types]]
slug = "social"
name = "Social"
"""


class Site:
    """A feeds folder in a temporary directory, with helpers to add sources."""

    def __init__(self, root: Path) -> None:
        self.feeds = root / "feeds"
        self.data = root / "var"
        (self.feeds / "sources").mkdir(parents=True)
        (self.feeds / "data").mkdir()
        (self.feeds / "site.toml").write_text(SITE_TOML)
        self.apps: list[Any] = []

    def source(self, source_id: str, toml: str, ics: bytes | str | None = None) -> Path:
        """Add ``sources/<id>.toml``; with ``ics``, also ``data/<id>.ics`` and a path to it."""
        toml = textwrap.dedent(toml)
        if ics is not None:
            data = ics.encode() if isinstance(ics, str) else ics
            (self.feeds / "data" / f"{source_id}.ics").write_bytes(data)
            toml = f'path = "data/{source_id}.ics"\n' + toml
        path = self.feeds / "sources" / f"{source_id}.toml"
        path.write_text(toml)
        return path

    def sample(self, source_id: str, name: str, calendar: str = "ece", extra: str = "") -> Path:
        """Add a source serving ``tests/samples/ics/<name>``."""
        body = (SAMPLES / "ics" / name).read_bytes()
        return self.source(
            source_id, f'name = "{source_id}"\nkind = "ics"\ncalendar = "{calendar}"\n{extra}', body
        )

    def snapshot(self) -> dict[str, bytes]:
        """Every file under feeds/ with its bytes: "nothing was written" is an equality."""
        return {
            str(p.relative_to(self.feeds)): p.read_bytes()
            for p in sorted(self.feeds.rglob("*"))
            if p.is_file()
        }

    def config(self, **overrides: Any) -> configuration.Config:
        return configuration.load(self.feeds, self.data, environ={}, overrides=overrides)

    def client(self, now: datetime | None = None, token: str | None = None, **settings: Any) -> Any:
        """A Flask test client of an app on this site (configuration read now); ``token``
        turns the admin API on."""
        app = create_app(
            {
                "FEEDS": self.feeds,
                "DATA": self.data,
                "ENVIRON": {"FEEDSERVER_ADMIN_TOKEN": token} if token else {},
                "SETTINGS": settings,
                "NOW": now,
            }
        )
        self.apps.append(app)
        return app.test_client()

    def refresh(self, now: datetime = NOW, **overrides: Any) -> list:
        config = self.config(**overrides)
        store = Store(config.store_path)
        try:
            return refresh(config, store, only=[s.id for s in config.sources], now=now)
        finally:
            store.close()


def _close(s: Site) -> None:
    for app in s.apps:
        app.extensions["feedserver"].store.close()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    s = Site(tmp_path)
    yield s
    _close(s)


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Site]:
    """A copy of the bundled demo in feeds/."""
    s = Site(tmp_path)
    shutil.rmtree(s.feeds)
    shutil.copytree(Path(__file__).parent.parent / "feeds", s.feeds)
    yield s
    _close(s)


CS_ICS = """\
BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//hand written//EN
BEGIN:VEVENT
UID:cs-colloquium@filters.example
DTSTART;TZID=America/Los_Angeles:20260311T160000
DTEND;TZID=America/Los_Angeles:20260311T170000
SUMMARY:Distributed Systems Colloquium
LOCATION:Gates 104
CATEGORIES:Seminar
DESCRIPTION:Speaker: Ana López\\nAudiences: Graduate Students
END:VEVENT
END:VCALENDAR
""".replace("\n", "\r\n")


@pytest.fixture(scope="module")
def store_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """One fixture store per test module for tests that only read it: the filter language's
    sample (tests/samples/ics/subscriber_filters.ics) in ece, and one CS colloquium."""
    s = Site(tmp_path_factory.mktemp("store"))
    s.sample("talks", "subscriber_filters.ics", "ece")
    s.source("cs", 'name = "CS"\nkind = "ics"\ncalendar = "cs"', CS_ICS)
    s.refresh()
    yield s
    _close(s)


@pytest.fixture(scope="module")
def client(store_site: Site) -> Any:
    """A test client on ``store_site``, its clock at NOW."""
    return store_site.client(now=NOW)


@pytest.fixture
def runner(site: Site) -> Any:
    """Invoke the CLI on the test site: ``runner("refresh", "src")``."""

    def invoke(*args: str) -> Any:
        return CliRunner().invoke(
            cli, ["--feeds", str(site.feeds), "--data", str(site.data), *args], env={}
        )

    return invoke
