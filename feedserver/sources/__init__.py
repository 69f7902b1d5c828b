"""Stage ①: adapters, one module per source ``kind``, each turning raw bytes into events.

An adapter is a function ``parse(body, source) -> Parsed``: it yields ``icalendar.Event``
components (a recurring series' overrides share its UID) and per-event warnings, and raises
``ParseError`` only when the body as a whole is unusable. Nothing downstream knows the kind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import TYPE_CHECKING

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


Parser = Callable[[bytes, "Source"], Parsed]


def _ics(body: bytes, source: Source) -> Parsed:
    from feedserver.sources import ics

    return ics.parse(body, source)


# kind -> parser; the config validator lists these names in its error message.
KINDS: dict[str, Parser] = {"ics": _ics}
