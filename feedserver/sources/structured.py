"""Stage ①: kind ``html`` without a recipe: the events a page describes in structured data.

Event pages of most CMSs (WordPress event plugins, Drupal, Localist, university calendars) embed
their events for search engines. Three syntaxes are read, each with a maintained library:

* **JSON-LD** (``<script type="application/ld+json">``): single objects, arrays, ``@graph``,
  events nested in other nodes; ``{"@id": …}`` references are resolved across the page's blocks.
  Each block is read on its own by extruct's ``JsonLdExtractor`` (which also forgives HTML and
  JavaScript comments), so a broken block costs only itself, with a warning.
* **microdata** (``itemscope itemtype="https://schema.org/Event"``) by extruct's W3C microdata
  algorithm (nested items, ``itemref``, ``itemid``, URLs resolved, text laid out as paragraphs).
* **microformats** ``h-event`` (and the older hCalendar ``vevent``) by mf2py.

Every event found is a JSON-LD-shaped node, read by :mod:`feedserver.sources.schemaorg`. The
same event given twice (as JSON-LD and as microdata, or on two listing pages) is one event: the
first found, completed by the others. With ``follow.event_pages``, each event's own ``url`` is
fetched and that page's event completes the listing's (usually with the full description).

A page on which nothing is found fails the source, so that the last good events stay:
``no schema.org Event or h-event found on <url>; last good kept``.
"""

from __future__ import annotations

import difflib
import re
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import fields
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urldefrag, urljoin

from selectolax.lexbor import LexborHTMLParser

from feedserver.config import Source
from feedserver.errors import ParseError
from feedserver.sources import Links, Page, Pages, Parsed, bridge, schemaorg
from feedserver.sources.bridge import Item
from feedserver.sources.html import decode, next_link

__all__ = ["DEFAULT_TYPES", "SYNTAXES", "check", "find", "links", "parse"]

SYNTAXES = ("json-ld", "microdata", "microformats")
DEFAULT_TYPES = ("Event",)
_KEYS = {
    "next": "CSS selector of the next listing page's link (default: rel=next)",
    "page_param": "query parameter of numbered listing pages, e.g. page (instead of next)",
    "schema_types": "schema.org types read as events, each with its subtypes (default: Event)",
    "syntaxes": "which structured data to read (default: all of json-ld, microdata, microformats)",
    "formats": "strptime patterns tried first for dates that are not ISO 8601",
    "dayfirst": "true: 01/02/2025 is 1 February (dates that are not ISO 8601)",
}
_MICROFORMATS = re.compile(r"""class\s*=\s*["'][^"']*\b(?:h-event|vevent)\b""", re.IGNORECASE)


def check(table: Mapping[str, Any]) -> list[str]:
    """Problems with the ``[html]`` table of a source read by its structured data."""
    problems = []
    for key in table:
        if key not in _KEYS:
            problems.append(
                f"{key}: unknown key for a page read by its structured data (known: "
                f"{', '.join(_KEYS)}); a recipe's keys need `events`, the CSS selector of one "
                "event block"
            )
    types = table.get("schema_types", list(DEFAULT_TYPES))
    if not isinstance(types, list) or not types or not all(isinstance(t, str) for t in types):
        problems.append(f"schema_types: expected a list of schema.org type names, got {types!r}")
    else:
        for name in types:
            if name not in schemaorg.EVENT_TYPES:
                close = difflib.get_close_matches(name, sorted(schemaorg.EVENT_TYPES), n=1)
                hint = f"did you mean {close[0]!r}?" if close else "see https://schema.org/Event"
                problems.append(
                    f"schema_types: {name!r} is not schema.org's Event or one of its subtypes"
                    f" ({hint})"
                )
    syntaxes = table.get("syntaxes", list(SYNTAXES))
    if (
        not isinstance(syntaxes, list)
        or not syntaxes
        or not all(isinstance(s, str) and s in SYNTAXES for s in syntaxes)
    ):
        problems.append(
            f"syntaxes: expected a list of some of {', '.join(SYNTAXES)}, got {syntaxes!r}"
        )
    formats = table.get("formats", [])
    if not isinstance(formats, list) or not all(isinstance(f, str) and "%" in f for f in formats):
        problems.append(
            f"formats: expected a list of strptime patterns like '%d.%m.%Y %H:%M', got {formats!r}"
        )
    if not isinstance(table.get("dayfirst", False), bool):
        problems.append(f"dayfirst: expected true or false, got {table['dayfirst']!r}")
    return problems


def links(page: Page, source: Source) -> Links:
    """The next listing page and, with ``follow.event_pages``, each event's own page."""
    numbered = "page_param" in source.options
    if not (source.follow.event_pages or numbered) or page.url is None:
        return Links(next=next_link(LexborHTMLParser(page.body), page, source))
    found = find(page, source, [])
    following = next_link(LexborHTMLParser(page.body), page, source, has_events=bool(found))
    if not source.follow.event_pages:
        return Links(next=following)
    own = urldefrag(page.url).url
    urls = (urldefrag(i.url).url for i in found if i.url)
    return Links(next=following, details=tuple(dict.fromkeys(u for u in urls if u != own)))


def parse(pages: Pages, source: Source) -> Parsed:
    """The events of every listing page, each completed by its own page when one was fetched."""
    result = Parsed()
    items: list[Item] = []
    nodes = 0
    for page in pages.listing:
        found = find(page, source, result.warnings)
        nodes += found.nodes
        items.extend(found)
    where = _where(pages.listing[0].url)
    if nodes == 0:
        raise ParseError(f"no schema.org Event or h-event found on {where}; last good kept")
    if not items:
        raise ParseError(
            f"{nodes} event(s) found on {where}, none usable ({result.warnings[-1]}); "
            "last good kept"
        )
    items = _merged(items)
    for entry in items:
        _complete(entry, pages.details, source, result.warnings)
    result.events = bridge.events(items, source)
    return result


class Found(list[Item]):
    """The items of one page, and how many event nodes it had (usable or not)."""

    nodes: int = 0


def find(page: Page, source: Source, problems: list[str]) -> Found:
    """The events of one page as items; what could not be read goes to ``problems``."""
    options = source.options
    wanted = schemaorg.event_types(tuple(options.get("schema_types", DEFAULT_TYPES)))
    syntaxes = options.get("syntaxes", SYNTAXES)
    where = _where(page.url)
    found = Found()
    text = decode(page.body)
    if not text.strip():
        return found
    import lxml.etree  # the readers are imported when a page is read, not when config loads
    import lxml.html

    try:
        tree = lxml.html.fromstring(text)
    except (lxml.etree.ParserError, ValueError):  # no element at all (a page of whitespace)
        return found
    base = _base(tree, page.url)
    ctx = schemaorg.Context(
        where=where,
        base=base,
        zone=source.timezone,
        formats=tuple(options.get("formats", ())),
        dayfirst=bool(options.get("dayfirst", False)),
        warnings=problems,
    )
    nodes: list[tuple[dict[str, Any], Mapping[str, Any] | None]] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the parsers' own notes (bs4, lxml) are not the admin's
        if "json-ld" in syntaxes:
            blocks = list(_json_ld(tree, where, problems))
            for block in blocks:
                _index(block, ctx.refs)
            nodes += [n for block in blocks for n in schemaorg.walk(block, wanted)]
        if "microdata" in syntaxes:
            nodes += [
                n
                for i in _microdata(tree, base, where, problems)
                for n in schemaorg.walk(i, wanted)
            ]
        if "microformats" in syntaxes and _MICROFORMATS.search(text):
            nodes += [
                n
                for i in _microformats(text, base, where, problems)
                for n in schemaorg.walk(i, wanted)
            ]
    found.nodes = len(nodes)
    for node, parent in nodes:
        entry = schemaorg.item(node, ctx, parent)
        if entry is not None:
            found.append(entry)
    return found


# -- reading the three syntaxes ------------------------------------------------------------------


def _json_ld(tree: Any, where: str, problems: list[str]) -> Iterator[Any]:
    import extruct

    reader = extruct.JsonLdExtractor()
    scripts = tree.xpath('//script[@type="application/ld+json"]')
    for number, script in enumerate(scripts, start=1):
        try:
            yield reader.extract_items(script)
        except Exception as e:  # json's and jstyleson's errors: one broken block, not the page
            problems.append(
                f"JSON-LD block {number} on {where} is not valid JSON ({e}); skipped, the page's "
                "other structured data is read"
            )


def _index(value: Any, refs: dict[str, dict[str, Any]]) -> None:
    """Remember every node with an ``@id`` and properties, for ``{"@id": …}`` references."""
    if isinstance(value, list):
        for v in value:
            _index(v, refs)
    elif isinstance(value, dict):
        node_id = value.get("@id")
        if isinstance(node_id, str) and len(value) > 1:
            refs.setdefault(node_id, value)
        for v in value.values():
            _index(v, refs)


def _microdata(tree: Any, base: str | None, where: str, problems: list[str]) -> list[Any]:
    import extruct

    try:
        items = extruct.MicrodataExtractor().extract_items(tree, base_url=base)
    except Exception as e:  # the extractor walks any markup; a failure is a bug, not the page's
        problems.append(f"microdata on {where} could not be read ({e}); skipped")
        return []
    return [_from_microdata(i) for i in items]


def _from_microdata(value: Any) -> Any:
    """extruct's ``{"type", "id", "properties"}`` items as JSON-LD-shaped nodes."""
    if isinstance(value, list):
        return [_from_microdata(v) for v in value]
    if not isinstance(value, dict) or "properties" not in value:
        return value
    node: dict[str, Any] = {"@type": value.get("type", [])}
    if value.get("id"):
        node["@id"] = value["id"]
    for key, v in value["properties"].items():
        node[key] = _from_microdata(v)
    return node


def _microformats(text: str, base: str | None, where: str, problems: list[str]) -> list[Any]:
    import mf2py

    try:
        # A document is always given, so mf2py never fetches anything.
        parsed = mf2py.parse(doc=text, url=base, html_parser="lxml")
    except Exception as e:
        problems.append(f"microformats on {where} could not be read ({e}); skipped")
        return []
    return list(_h_events(parsed.get("items", [])))


def _h_events(items: list[Any]) -> Iterator[dict[str, Any]]:
    for entry in items:
        if not isinstance(entry, dict):
            continue
        if "h-event" in entry.get("type", []):
            yield _from_h_event(entry)
        yield from _h_events(entry.get("children", []))
        for values in entry.get("properties", {}).values():
            yield from _h_events([v for v in values if isinstance(v, dict) and "type" in v])


# h-event property → schema.org property (https://microformats.org/wiki/h-event)
_H_EVENT = {
    "name": "name",
    "start": "startDate",
    "end": "endDate",
    "duration": "duration",
    "url": "url",
    "uid": "@id",
    "category": "keywords",
    "photo": "image",
    "featured": "image",
}
_H_ADR = {
    "street-address": "streetAddress",
    "locality": "addressLocality",
    "region": "addressRegion",
    "postal-code": "postalCode",
    "country-name": "addressCountry",
}


def _from_h_event(entry: Mapping[str, Any]) -> dict[str, Any]:
    props = entry.get("properties", {})
    node: dict[str, Any] = {"@type": ["Event"]}
    for key, name in _H_EVENT.items():
        values = [_mf_text(v) for v in props.get(key, [])]
        if values:
            node.setdefault(name, [])
            node[name] += values
    if "@id" in node:
        node["@id"] = node["@id"][0]
    descriptions = [
        v["html"] for v in props.get("content", []) if isinstance(v, dict) and "html" in v
    ]
    descriptions += [_mf_text(v) for v in props.get("description", []) + props.get("summary", [])]
    if descriptions:
        node["description"] = descriptions
    locations = [_mf_place(v) for v in props.get("location", [])]
    if locations:
        node["location"] = locations
    return node


def _mf_text(value: Any) -> Any:
    if isinstance(value, dict):
        return value.get("value") or value.get("html") or ""
    return value


def _mf_place(value: Any) -> Any:
    if not isinstance(value, dict) or "properties" not in value:
        return value
    props = value["properties"]
    if "h-geo" in value.get("type", []):
        return value.get("value", "")
    address = {schema: _mf_text(props[key][0]) for key, schema in _H_ADR.items() if props.get(key)}
    for nested in props.get("adr", []):
        if isinstance(nested, dict) and "properties" in nested:
            address.update(_mf_place(nested).get("address", {}))
    place: dict[str, Any] = {"@type": "Place"}
    if "h-adr" not in value.get("type", []):
        place["name"] = _mf_text(props.get("name", [value.get("value", "")])[0])
    if address:
        place["address"] = {"@type": "PostalAddress", **address}
    return place


# -- one event, however many times it was found --------------------------------------------------


def _keys(entry: Item) -> list[tuple[str, str, str]]:
    """What makes two found items the same event: the same start and the same id, URL or title."""
    start = _instant(entry.start)
    keys = [("title", " ".join(entry.title.casefold().split()), start)]
    if entry.own_id:
        keys.append(("id", entry.own_id, start))
    if entry.url:
        keys.append(("url", urldefrag(entry.url).url, start))
    return keys


def _instant(value: datetime | date) -> str:
    if isinstance(value, datetime) and value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.isoformat()


def _merged(items: list[Item]) -> list[Item]:
    kept: list[Item] = []
    seen: dict[tuple[str, str, str], Item] = {}
    for entry in items:
        first = next((seen[k] for k in _keys(entry) if k in seen), None)
        if first is None:
            kept.append(entry)
            first = entry
        else:
            _fill(first, entry)
        for key in _keys(entry):
            seen.setdefault(key, first)
    return kept


def _fill(entry: Item, other: Item) -> None:
    """Complete ``entry`` with what ``other`` knows and it does not; the longer description."""
    for f in fields(Item):
        mine, theirs = getattr(entry, f.name), getattr(other, f.name)
        if f.name == "description":
            if len(theirs or "") > len(mine or ""):
                entry.description = theirs
        elif f.name == "fields":
            entry.fields = {**theirs, **mine}
        elif f.name == "categories":
            entry.categories = list(dict.fromkeys([*mine, *theirs]))
        elif mine is None or mine == "":
            setattr(entry, f.name, theirs)


def _complete(
    entry: Item, details: Mapping[str, bytes], source: Source, problems: list[str]
) -> None:
    """Complete a listing's item with the event of its own page, when that page was fetched."""
    url = urldefrag(entry.url).url if entry.url else None
    if url is None or url not in details:
        return
    found = find(Page(url, details[url]), source, problems)
    same = [i for i in found if i.url and urldefrag(i.url).url == url]
    same = same or [i for i in found if _instant(i.start) == _instant(entry.start)]
    same = same or (list(found) if len(found) == 1 else [])
    if not same:
        problems.append(
            f"event page {url} describes no matching schema.org Event or h-event; the listing's "
            f"entry for {entry.title!r} is used alone"
        )
        return
    _fill(entry, same[0])


# -- pages ---------------------------------------------------------------------------------------


def _where(url: str | None) -> str:
    return url or "the page"


def _base(tree: Any, url: str | None) -> str | None:
    """The URL relative links are read against: the page's, changed by its ``<base href>``
    (for a file, only an absolute one)."""
    bases = [b.strip() for b in tree.xpath("//base[@href]/@href")]
    if url is None:
        return bases[0] if bases and bases[0].startswith(("http://", "https://")) else None
    return urljoin(url, bases[0]) if bases else url
