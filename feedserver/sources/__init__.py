"""Stage ①: adapters, one module per source ``kind``, each turning fetched pages into events.

A kind is a :class:`Kind`: ``parse(pages, source) -> Parsed`` yields ``icalendar.Event``
components (a recurring series' overrides share its UID) and per-event warnings, and raises
``ParseError`` only when the pages as a whole are unusable. Nothing downstream knows the kind.

Kinds that read more than one page (a paginated listing, each event's own page) also have
``links(page, source) -> Links``: the fetch stage (:mod:`feedserver.crawl`) asks it which URLs a
fetched page leads to, fetches them within the source's bounds, and hands ``parse`` all of them.
A kind's own settings are the table of the same name in the source definition (``[html]``,
``[json]``, ``[csv]``), checked by ``check(table) -> problems`` when the configuration loads.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import tzinfo
from importlib import import_module
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

if TYPE_CHECKING:
    import icalendar

    from feedserver.config import Source


@dataclass
class Parsed:
    """What an adapter found: events in upstream order and warnings about what it skipped."""

    events: list[icalendar.Event] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # TZID -> the zone defined by the source's own VTIMEZONE, for TZIDs that name no IANA zone
    # ("Customized Time Zone"): icalendar caches such zones per process, first feed wins.
    zones: dict[str, tzinfo] = field(default_factory=dict)


@dataclass(frozen=True)
class Page:
    """One fetched document: its URL (None for a file) and its bytes."""

    url: str | None
    body: bytes


@dataclass(frozen=True)
class Pages:
    """Everything the fetch stage brought in for one source.

    ``listing`` holds the source's own URL (or file) first, then each next page in order;
    ``details`` maps an event page's URL to its body (pages that could not be fetched are
    missing, with a warning in ``warnings``).
    """

    listing: tuple[Page, ...]
    details: Mapping[str, bytes] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    @classmethod
    def single(cls, body: bytes, url: str | None = None) -> Pages:
        """The pages of a source read as one document."""
        return cls((Page(url, body),))

    @property
    def body(self) -> bytes:
        """The first page: all a single-document kind reads."""
        return self.listing[0].body


@dataclass(frozen=True)
class Links:
    """Where a fetched page leads: the next listing page and the events' own pages."""

    next: str | None = None
    details: tuple[str, ...] = ()


def _no_problems(table: Mapping[str, Any]) -> list[str]:
    return []


def _no_links(page: Page, source: Source) -> Links:
    return Links()


# Listings numbered by a query parameter (``?page=2``), for kinds with a ``page_param`` key.


def page_number(url: str, param: str) -> int:
    """The page a numbered listing URL asks for (1 when it names none)."""
    for key, value in parse_qsl(urlsplit(url).query):
        if key == param and value.strip().isdigit():
            return int(value)
    return 1


def with_page(url: str, param: str, value: int) -> str:
    """
    >>> with_page("https://e.edu/api/2/events?pp=100&page=2", "page", 3)
    'https://e.edu/api/2/events?pp=100&page=3'
    >>> with_page("https://e.edu/api?pp=100", "page", 2)
    'https://e.edu/api?pp=100&page=2'
    """
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    if any(k == param for k, _ in query):
        query = [(k, str(value) if k == param else v) for k, v in query]
    else:
        query.append((param, str(value)))
    return urlunsplit(parts._replace(query=urlencode(query)))


@dataclass(frozen=True)
class Kind:
    """A source kind: how to read it, how to check its table, which links its pages lead to."""

    parse: Callable[[Pages, Source], Parsed]
    check: Callable[[Mapping[str, Any]], list[str]] = _no_problems
    links: Callable[[Page, Source], Links] = _no_links


def _lazy(module: str) -> Kind:
    """A Kind whose module is imported on first use (the web app never parses)."""

    def parse(pages: Pages, source: Source) -> Parsed:
        return import_module(module).parse(pages, source)  # type: ignore[no-any-return]

    def check(table: Mapping[str, Any]) -> list[str]:
        return getattr(import_module(module), "check", _no_problems)(table)  # type: ignore[no-any-return]

    def links(page: Page, source: Source) -> Links:
        return getattr(import_module(module), "links", _no_links)(page, source)  # type: ignore[no-any-return]

    return Kind(parse=parse, check=check, links=links)


# kind -> its adapter; the config validator lists these names in its error message.
KINDS: dict[str, Kind] = {
    "ics": _lazy("feedserver.sources.ics"),
    "html": _lazy("feedserver.sources.html"),
    "json": _lazy("feedserver.sources.jsonapi"),
    "csv": _lazy("feedserver.sources.spreadsheet"),
}
