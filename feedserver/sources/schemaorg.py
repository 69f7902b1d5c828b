"""A schema.org ``Event`` (as JSON-LD shapes it) → one :class:`~feedserver.sources.bridge.Item`.

:mod:`feedserver.sources.structured` finds events in a page's JSON-LD, microdata and
microformats and hands each here as a JSON-LD-shaped dict (``@type``, ``@id``, properties by
their schema.org names); this module reads the properties the way a calendar needs them:

==========================  ====================================================================
schema.org                  event
==========================  ====================================================================
name                        SUMMARY
startDate, endDate          DTSTART, DTEND (ISO 8601; a date-only endDate is the last day)
duration                    DTEND = start + duration, when there is no endDate
location: Place             LOCATION: its name and PostalAddress in one line
location: VirtualLocation   ``Webcast: <url>`` (the content stage makes the join line, CONFERENCE)
eventAttendanceMode         Online without a Place: LOCATION ``Online``
eventStatus                 EventCancelled → STATUS:CANCELLED; EventPostponed → TENTATIVE and a
                            note; EventRescheduled, EventMovedOnline → a note
performer                   ``Speaker: name, job title, affiliation``
organizer                   ``Host: name, e-mail`` (its url without an e-mail); its contactPoint
                            → ``Contact:``
audience                    ``Audiences: …``
description                 DESCRIPTION (HTML becomes text)
url, image                  URL, IMAGE
identifier, @id             the event's own id (stable UID)
keywords                    CATEGORIES
subEvent                    events of their own (with the parent's location when they have none)
==========================  ====================================================================

Warnings name the event and the property; an event without a readable ``startDate`` is
skipped, any other unreadable property costs only itself.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

import icalendar

from feedserver.htmltext import html_to_text, is_html
from feedserver.sources.bridge import Item, parse_when, placed

__all__ = ["EVENT_TYPES", "Context", "event_types", "item", "type_names", "walk"]

# schema.org's Event and its subtypes (https://schema.org/Event, "More specific Types").
# EventSeries (a subtype of both Event and Series) is left out: a series is read through its
# subEvent items, not as one event spanning months. UserInteraction and its subtypes (a user's
# likes, check-ins…) are deprecated and are no events anyone attends.
_CHILDREN: dict[str, tuple[str, ...]] = {
    "Event": (
        "BusinessEvent",
        "ChildrensEvent",
        "ComedyEvent",
        "CourseInstance",
        "DanceEvent",
        "DeliveryEvent",
        "EducationEvent",
        "ExhibitionEvent",
        "Festival",
        "FoodEvent",
        "Hackathon",
        "LiteraryEvent",
        "MusicEvent",
        "PublicationEvent",
        "SaleEvent",
        "ScreeningEvent",
        "SocialEvent",
        "SportsEvent",
        "TheaterEvent",
        "VisualArtsEvent",
    ),
    "PublicationEvent": ("BroadcastEvent", "OnDemandEvent"),
}
#: Every type name ``schema_types`` accepts: Event, its subtypes, and EventSeries.
EVENT_TYPES = frozenset({"EventSeries", *_CHILDREN, *(t for c in _CHILDREN.values() for t in c)})

_UNTITLED = "Untitled event"
_TYPE_NAMES = {"Thing", "Person", "Organization", "PerformingGroup", "Place", "Audience"}
_DATE_ONLY = re.compile(r"^\d{4}-?\d{2}-?\d{2}$")
_NOTES = {
    "EventPostponed": "This event is postponed; a new date is to be announced.",
    "EventMovedOnline": "This event has moved online.",
}
_STATUSES = {
    "EventScheduled": "CONFIRMED",
    "EventRescheduled": "CONFIRMED",
    "EventMovedOnline": "CONFIRMED",
    "EventPostponed": "TENTATIVE",
    "EventCancelled": "CANCELLED",
}


def event_types(wanted: tuple[str, ...]) -> frozenset[str]:
    """The type names that count as events: each of ``wanted`` and its subtypes.

    >>> sorted(event_types(("PublicationEvent", "SportsEvent")))
    ['BroadcastEvent', 'OnDemandEvent', 'PublicationEvent', 'SportsEvent']
    """
    found: set[str] = set()
    todo = list(wanted)
    while todo:
        name = todo.pop()
        if name not in found:
            found.add(name)
            todo.extend(_CHILDREN.get(name, ()))
    return frozenset(found)


def _last(name: str) -> str:
    """``https://schema.org/Event``, ``schema:Event`` → ``Event``."""
    return re.split(r"[/#:]", name.strip())[-1]


def type_names(node: Mapping[str, Any]) -> list[str]:
    """The node's types without their vocabulary prefix.

    >>> type_names({"@type": ["http://schema.org/Event", "schema:EducationEvent"]})
    ['Event', 'EducationEvent']
    """
    types = node.get("@type")
    if isinstance(types, str):
        types = [types]
    if not isinstance(types, list):
        return []
    return [_last(t) for t in types if isinstance(t, str) and t.strip()]


def walk(
    value: Any, wanted: frozenset[str], parent: Mapping[str, Any] | None = None
) -> Iterator[tuple[dict[str, Any], Mapping[str, Any] | None]]:
    """Every event node in a JSON-LD value (objects, arrays, ``@graph``, events nested in other
    nodes such as an ItemList), in document order, each with the event it is a subEvent of.

    An event's own properties are not searched, except ``subEvent``.
    """
    if isinstance(value, list):
        for element in value:
            yield from walk(element, wanted, parent)
        return
    if not isinstance(value, dict):
        return
    types = type_names(value)
    if any(t in wanted for t in types):
        yield value, parent
        parent = value
    elif not any(t in EVENT_TYPES for t in types):
        parent = None
    else:  # an event type that is not wanted (an EventSeries): read its subEvents only
        yield from walk(value.get("subEvent"), wanted, value)
        return
    for key, child in value.items():
        if parent is not None and key != "subEvent":
            continue
        if key in ("@context", "superEvent"):
            continue
        yield from walk(child, wanted, parent)


@dataclass
class Context:
    """Where the events come from and how to read their values."""

    where: str  # the page's URL, or "the page" for a file: named in every warning
    base: str | None = None  # for relative URLs
    zone: str | None = None  # the source's own time zone, if it names one
    formats: tuple[str, ...] = ()
    dayfirst: bool = False
    refs: dict[str, dict[str, Any]] = field(default_factory=dict)  # @id → node on this page
    warnings: list[str] = field(default_factory=list)


def item(
    node: Mapping[str, Any], ctx: Context, parent: Mapping[str, Any] | None = None
) -> Item | None:
    """The :class:`Item` of one event node, or None (with a warning) when it has no usable start."""
    return _Reader(node, ctx, parent).item()


class _Reader:
    def __init__(
        self, node: Mapping[str, Any], ctx: Context, parent: Mapping[str, Any] | None
    ) -> None:
        self.node = node
        self.ctx = ctx
        self.parent = parent
        name = self.line(self.first("name"))
        self.name = name
        self.implied_end: datetime | date | None = None  # a startDate that gives a range
        self.label = (
            f"event {name!r} on {ctx.where}" if name else f"an untitled event on {ctx.where}"
        )

    def warn(self, message: str) -> None:
        self.ctx.warnings.append(f"{self.label}: {message}")

    # -- values ---------------------------------------------------------------------------------

    def values(self, *names: str, node: Mapping[str, Any] | None = None) -> list[Any]:
        """The values of the properties ``names`` as one list, references resolved."""
        node = self.node if node is None else node
        found: list[Any] = []
        for name in names:
            value = node.get(name)
            for v in value if isinstance(value, list) else [value]:
                if isinstance(v, dict) and "@value" in v:
                    v = v["@value"]
                if isinstance(v, dict) and set(v) == {"@id"}:
                    v = self.ctx.refs.get(str(v["@id"]), v)
                if v is None or (isinstance(v, str) and not v.strip()):
                    continue
                found.append(v)
        return found

    def first(self, *names: str, node: Mapping[str, Any] | None = None) -> Any:
        found = self.values(*names, node=node)
        return found[0] if found else None

    def line(self, value: Any) -> str:
        """One line of text: entities decoded, tags gone, spaces collapsed."""
        if isinstance(value, dict):
            value = self.first("name", node=value)
        if value is None or isinstance(value, (dict, list)):
            return ""
        return " ".join(self.text(value).split())

    @staticmethod
    def text(value: Any) -> str:
        text = html.unescape(str(value))
        return html_to_text(text) if is_html(text) else text.strip()

    def link(self, value: Any) -> str | None:
        """An absolute http(s) URL, resolved against the page."""
        if isinstance(value, dict):
            value = self.first("url", "contentUrl", "@id", node=value)
        if not isinstance(value, str) or not value.strip():
            return None
        url = html.unescape(value.strip())
        if self.ctx.base:
            url = urljoin(self.ctx.base, url)
        return url if urlsplit(url).scheme in ("http", "https") and urlsplit(url).netloc else None

    def when(self, prop: str, value: Any, then: str = "ignored") -> datetime | date | None:
        """A date or time: ISO 8601 first, then the bridge's free-form reading (and ``formats``)."""
        text = self.line(value)
        try:
            if _DATE_ONLY.match(text):
                return date.fromisoformat(text)
            try:
                return self.placed(datetime.fromisoformat(text))
            except ValueError:
                pass
            # local times leave this module floating: normalize places them in the source's zone
            start, end = parse_when(
                text, None, formats=self.ctx.formats, dayfirst=self.ctx.dayfirst
            )
        except ValueError as e:
            why = str(e).removeprefix(f"cannot read {text!r} as a date: ")
            self.warn(f"{prop} {text!r} is not a date ({why}); {then}")
            return None
        if prop == "startDate" and end is not None:  # "Thu, Oct 31, 2024 @ 02:00 PM - 03:00 PM"
            self.implied_end = self.placed(end) if isinstance(end, datetime) else end
        return self.placed(start) if isinstance(start, datetime) else start

    def placed(self, value: datetime) -> datetime:
        """A local time floating; a time with an offset as :func:`bridge.placed` hands it on."""
        if value.tzinfo is None:
            return value
        return placed(value, ZoneInfo(self.ctx.zone) if self.ctx.zone else None)

    # -- the event ------------------------------------------------------------------------------

    def item(self) -> Item | None:
        raw_start = self.first("startDate")
        if raw_start is None:
            self.ctx.warnings.append(f"{self.label} skipped: it has no startDate")
            return None
        start = self.when("startDate", raw_start, then="the event is skipped")
        if start is None:
            return None
        if not self.name:
            self.warn(f"no name; titled {_UNTITLED!r}")
        result = Item(title=self.name or _UNTITLED, start=start, end=self.end(start))
        result.url = self.link(self.first("url"))
        result.own_id = self.own_id(result)
        places, online = self.location()
        if not places and self.mode() == "OnlineEventAttendanceMode":
            places = ["Online"]
        result.location = "; ".join(places) or None
        status = self.status()
        result.status = _STATUSES.get(status or "")
        text = self.description()
        result.description = "\n\n".join(t for t in (self.note(status), text) if t) or None
        result.image = self.link(self.first("image"))
        result.categories = self.keywords()
        fields = {
            "speaker": _joined("; ", map(self.person, self.values("performer", "performers"))),
            "host": _joined("; ", map(self.organizer, self.hosts())),
            "contact": _joined("; ", map(self.contact, self.values("organizer"))),
            "audiences": _joined(", ", map(self.audience, self.values("audience"))),
            "webcast": online[0] if online else "",
        }
        result.fields = {k: v for k, v in fields.items() if v and not _said(text, k, v)}
        return result

    def end(self, start: datetime | date) -> datetime | date | None:
        raw = self.first("endDate")
        end = self.when("endDate", raw) if raw is not None else None
        if end is None and self.implied_end is not None:
            return self.implied_end  # parse_when made it exclusive already
        if end is None:
            raw_duration = self.first("duration")
            if raw_duration is not None and isinstance(start, datetime):
                try:
                    length = icalendar.vDuration.from_ical(self.line(raw_duration))
                except ValueError:
                    self.warn(f"duration {raw_duration!r} is not an ISO 8601 duration; ignored")
                else:
                    if isinstance(length, timedelta):
                        end = start + length
            return end
        if isinstance(start, datetime) and not isinstance(end, datetime):
            return None  # an end date without a time says nothing about the end time
        if not isinstance(start, datetime) and isinstance(end, datetime):
            end = end.date()
        if not isinstance(end, datetime):
            end += timedelta(days=1)  # schema.org's last day; DTEND is the day after
        if _before(end, start):
            self.warn(f"endDate {self.line(raw)!r} is before startDate; ignored")
            return None
        return end

    def own_id(self, found: Item) -> str | None:
        ident = self.first("identifier")
        if isinstance(ident, dict):
            ident = self.first("value", "@id", "name", node=ident)
        if isinstance(ident, (str, int)) and str(ident).strip():
            return str(ident).strip()
        node_id = self.node.get("@id")
        if not isinstance(node_id, str) or not node_id.strip() or node_id.startswith("_:"):
            return None
        absolute = self.link(node_id)
        if absolute and "#" not in absolute:
            if found.url is None:
                found.url = absolute  # the event's IRI is its page
            return None
        return absolute or node_id.strip()  # "#ev1" is relative to the page, like any IRI

    def location(self) -> tuple[list[str], list[str]]:
        """The physical places (one line each) and the online links of the event."""
        places: list[str] = []
        online: list[str] = []
        values = self.values("location")
        if not values and self.parent is not None:
            values = self.values("location", node=self.parent)
        for value in values:
            if isinstance(value, str):
                text = self.line(value)
                url = self.link(text) if re.match(r"https?://\S+$", text) else None
                (online if url else places).append(url or text)
                continue
            if not isinstance(value, dict):
                continue
            if "VirtualLocation" in type_names(value):
                url = self.link(self.first("url", node=value))
                if url:
                    online.append(url)
                else:
                    self.warn("location: a VirtualLocation without a url; ignored")
                continue
            text = self.place(value)
            if text:
                places.append(text)
        return list(dict.fromkeys(places)), list(dict.fromkeys(online))

    def place(self, node: Mapping[str, Any]) -> str:
        parts = [self.line(self.first("name", node=node))]
        address = self.first("address", node=node)
        if isinstance(address, dict):
            region = " ".join(
                self.line(self.first(k, node=address)) for k in ("addressRegion", "postalCode")
            )
            parts += [
                self.line(self.first("streetAddress", node=address)),
                self.line(self.first("addressLocality", node=address)),
                region.strip(),
                self.line(self.first("addressCountry", node=address)),
            ]
        elif address is not None:
            parts.append(self.line(address))
        kept: list[str] = []
        for part in parts:
            if part and not any(part.casefold() in k.casefold() for k in kept):
                kept.append(part)
        return ", ".join(kept)

    def mode(self) -> str:
        return _last(self.line(self.first("eventAttendanceMode")) or "")

    def status(self) -> str | None:
        value = self.line(self.first("eventStatus"))
        if not value:
            return None
        status = _last(value)
        if status not in _STATUSES:
            self.warn(f"eventStatus {value!r} is not a schema.org EventStatusType; ignored")
            return None
        return status

    def description(self) -> str:
        """The longest description (a page may give a teaser and the full text)."""
        texts = [self.text(v) for v in self.values("description") if isinstance(v, str)]
        return max(texts, key=len) if texts else ""

    def note(self, status: str | None) -> str | None:
        if status != "EventRescheduled":
            return _NOTES.get(status or "")
        previous = self.first("previousStartDate")
        if previous is None:
            return "This event was rescheduled."
        return f"This event was rescheduled (it was to start {self.line(previous)})."

    def person(self, value: Any) -> str:
        if not isinstance(value, dict):
            return self.name_only(value)
        parts = [self.line(self.first(k, node=value)) for k in ("name", "jobTitle")]
        parts += [self.line(v) for v in self.values("affiliation", "worksFor", node=value)]
        return ", ".join(p for p in parts if p)

    def email(self, node: Mapping[str, Any]) -> str:
        email = self.line(self.first("email", node=node))
        return email.removeprefix("mailto:")

    def name_only(self, value: Any) -> str:
        """A person or organisation given as text; a bare type name (WordPress' The Events
        Calendar writes ``"performer": "Organization"``) names nobody."""
        text = self.line(value)
        return "" if text in _TYPE_NAMES else text

    def hosts(self) -> list[Any]:
        """The organizers named as Host: the people, else the organisations."""
        organizers = self.values("organizer")
        people = [
            o
            for o in organizers
            if not isinstance(o, dict) or not type_names(o) or "Person" in type_names(o)
        ]
        return people or organizers

    def organizer(self, value: Any) -> str:
        if not isinstance(value, dict):
            return self.name_only(value)
        name = self.line(self.first("name", node=value))
        email = self.email(value)
        url = "" if email else (self.link(self.first("url", node=value)) or "")
        return ", ".join(p for p in (name, email, url) if p)

    def contact(self, value: Any) -> str:
        if not isinstance(value, dict):
            return ""
        found = []
        for point in self.values("contactPoint", node=value):
            if isinstance(point, dict):
                # the e-mail last: the content stage's ORGANIZER takes the rest as its name
                parts = [self.line(self.first(k, node=point)) for k in ("name", "telephone")]
                parts.append(self.email(point))
                found.append(", ".join(p for p in parts if p))
        return "; ".join(f for f in found if f)

    def audience(self, value: Any) -> str:
        if isinstance(value, dict):
            return self.line(self.first("audienceType", "name", node=value))
        return self.line(value)

    def keywords(self) -> list[str]:
        """``keywords``: a text is a comma-separated list; a list's entries are whole keywords."""
        raw = self.node.get("keywords")
        words: list[str] = []
        if isinstance(raw, str):
            words = [w.strip() for w in self.line(raw).split(",")]
        else:
            words = [self.line(value) for value in self.values("keywords")]
        return list(dict.fromkeys(w for w in words if w))


def _joined(separator: str, texts: Iterable[str]) -> str:
    return separator.join(dict.fromkeys(t for t in texts if t))


def _said(description: str, key: str, value: str) -> bool:
    """Whether the description already holds this field (no second ``Speaker:`` line)."""
    label = {"audiences": "audience"}.get(key, key)
    if re.search(rf"(?im)^\s*{label}s?\s*:", description):
        return True
    return key == "webcast" and value in description


def _before(end: datetime | date, start: datetime | date) -> bool:
    if isinstance(end, datetime) != isinstance(start, datetime):
        return False
    if isinstance(end, datetime) and isinstance(start, datetime):
        if (end.tzinfo is None) != (start.tzinfo is None):
            return False  # floating against an instant: normalize places them; keep the end
    return end < start  # type: ignore[operator]
