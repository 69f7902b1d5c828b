"""Stage ①: the ``json`` kind: events from a JSON event API, by a field mapping.

The source's ``[json]`` table says where the items are (``items``), which value of an item is
which event field (``[json.fields]``) and how the API pages (``next``, or ``page_param`` and
``pages_path``). Paths are JMESPath expressions: ``data.items``, ``filters.event_types[].name``.
``preset = "localist"`` fills all of it in for the Localist public API (``/api/2/events``),
the events platform many universities run; a table's own keys override the preset's.

A body that is not JSON, or has no list where ``items`` points, fails the source (its last good
events stay); an item without a title or a readable start is skipped with a warning naming the
item and the field.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urljoin

import jmespath
from jmespath.exceptions import IncompleteExpressionError, JMESPathError
from jmespath.parser import ParsedResult

from feedserver.config import Source, suggest
from feedserver.errors import ParseError
from feedserver.sources import Links, Page, Pages, Parsed, page_number, values, with_page
from feedserver.sources.bridge import Item, events
from feedserver.sources.records import (
    FIELDS,
    Skip,
    identity,
    item,
    last_day,
    timed_end,
    whole_days,
)

__all__ = ["FIELDS", "KEYS", "PRESETS", "check", "links", "parse"]

KEYS = {
    "preset": '"localist": the whole mapping of the Localist API; other keys override it',
    "items": 'path to the list of items in a response ("" or unset: the response is the list)',
    "instances": "path, inside an item, to its occurrences: start, end, all_day and"
    " instance_id are read from each",
    "fields": "table: event field -> path inside an item",
    "formats": 'strptime patterns tried first for dates, e.g. ["%d/%m/%Y %H:%M"]',
    "dayfirst": "true: 05/11/2024 is 5 November",
    "next": "path to the next page's URL in a response",
    "page_param": "query parameter of the page number; the next page is this one + 1",
    "pages_path": "path to the number of pages in a response (with page_param)",
}
# Read from each occurrence when [json] has `instances`; the instance's own id.
INSTANCE_FIELDS = ("start", "end", "all_day", "instance_id")
JSON_FIELDS = {**FIELDS, "instance_id": "with `instances`: the occurrence's own id"}

PRESETS: dict[str, dict[str, Any]] = {
    # Localist API 2: {"events": [{"event": {...}}], "page": {"current", "size", "total"}}.
    # Each event lists its occurrences as event_instances[].event_instance {id, start, end,
    # all_day}; start/end are ISO 8601 with the offset. `localist_url` is the event's page on
    # the calendar, `url` an external link the organiser gave.
    "localist": {
        "items": "events[].event",
        "instances": "event_instances[].event_instance",
        "page_param": "page",
        "pages_path": "page.total",
        "fields": {
            "title": "title",
            "start": "start",
            "end": "end",
            "all_day": "all_day",
            "id": "id",
            "instance_id": "id",
            "url": "localist_url || url",
            "location": "join(' - ', [location_name, room_number][?@])",
            "description": "description || description_text",
            "categories": "filters.event_types[].name",
            "audiences": "filters.event_target_audience[].name || filters.event_audience[].name",
            "contact": "[custom_fields.contact_name, custom_fields.contact_email]",
            "webcast": "stream_url",
            "status": "status",
            "image": "photo_url",
        },
    },
}


@dataclass(frozen=True)
class _Mapping:
    """A [json] table with its preset applied and its paths compiled."""

    items: ParsedResult | None
    instances: ParsedResult | None
    fields: dict[str, ParsedResult]
    sources: dict[str, str]  # field -> the path as written, for messages
    formats: tuple[str, ...]
    dayfirst: bool
    next: ParsedResult | None
    page_param: str | None
    pages_path: ParsedResult | None
    items_text: str


def _merged(table: Mapping[str, Any]) -> dict[str, Any]:
    preset = PRESETS.get(str(table.get("preset", "")), {})
    merged = {**preset, **table}
    merged["fields"] = {**preset.get("fields", {}), **(table.get("fields") or {})}
    return merged


def _mapping(table: Mapping[str, Any]) -> _Mapping:
    merged = _merged(table)
    fields = {k: v for k, v in merged["fields"].items() if isinstance(v, str) and v.strip()}
    optional = {
        k: jmespath.compile(merged[k]) if merged.get(k) else None for k in ("next", "pages_path")
    }
    return _Mapping(
        items=jmespath.compile(merged["items"]) if merged.get("items") else None,
        instances=jmespath.compile(merged["instances"]) if merged.get("instances") else None,
        fields={k: jmespath.compile(v) for k, v in fields.items()},
        sources=fields,
        formats=tuple(merged.get("formats", ())),
        dayfirst=bool(merged.get("dayfirst", False)),
        next=optional["next"],
        page_param=merged.get("page_param") or None,
        pages_path=optional["pages_path"],
        items_text=merged.get("items") or "",
    )


def check(table: Mapping[str, Any]) -> list[str]:
    """Problems with a ``[json]`` table, each starting with the key it is about."""
    problems = [f"{k}: unknown key{suggest(k, KEYS)}" for k in table if k not in KEYS]
    preset = table.get("preset")
    if preset is not None and preset not in PRESETS:
        problems.append(f"preset: unknown preset {preset!r}; known: {', '.join(PRESETS)}")
    fields = table.get("fields", {})
    if not isinstance(fields, dict):
        return [*problems, "fields: must be a table of event field = path"]
    merged = _merged(table)
    for key, path in merged["fields"].items():
        if key not in JSON_FIELDS:
            problems.append(
                f"fields.{key}: unknown event field{suggest(key, JSON_FIELDS)};"
                f" known: {', '.join(JSON_FIELDS)}"
            )
        elif not isinstance(path, str):
            problems.append(f"fields.{key}: expected a path (a string), got {path!r}")
        elif path.strip():
            problems.extend(f"fields.{key}: {p}" for p in _path_problems(path))
    for key in ("title", "start"):
        if not str(merged["fields"].get(key) or "").strip():
            problems.append(f"fields.{key}: required: the path to each item's {key}")
    if merged["fields"].get("instance_id") and not merged.get("instances"):
        problems.append("fields.instance_id: needs `instances`, the path to the occurrences")
    for key in ("items", "instances", "next", "pages_path", "page_param"):
        value = merged.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            problems.append(f"{key}: expected a string, got {value!r}")
        elif value.strip() and key != "page_param":
            problems.extend(f"{key}: {p}" for p in _path_problems(value))
    if table.get("next") and merged.get("page_param"):
        problems.append("next: give either next (a URL in the response) or page_param, not both")
    if merged.get("pages_path") and not merged.get("page_param"):
        problems.append("pages_path: needs page_param, the query parameter to count pages with")
    formats = merged.get("formats", [])
    if not isinstance(formats, list) or not all(isinstance(f, str) for f in formats):
        problems.append('formats: expected a list of strptime patterns, e.g. ["%d/%m/%Y %H:%M"]')
    if not isinstance(merged.get("dayfirst", False), bool):
        problems.append("dayfirst: must be true or false")
    return problems


def links(page: Page, source: Source) -> Links:
    """The next page of an API response: the URL at ``next``, else ``page_param`` + 1 while
    ``pages_path`` says there are more (without ``pages_path``: while the page had items)."""
    mapping = _mapping(source.options)
    if page.url is None or (mapping.next is None and mapping.page_param is None):
        return Links()
    try:
        data = _load(page.body)
    except ParseError:
        return Links()  # parse() reports it
    if mapping.next is not None:
        target = _search(mapping.next, data)
        if not isinstance(target, str) or not target.strip():
            return Links()
        url = urljoin(page.url, target.strip())
        return Links(next=url) if url.startswith(("http://", "https://")) else Links()
    assert mapping.page_param is not None
    number = page_number(page.url, mapping.page_param)
    if mapping.pages_path is not None:
        total = _whole(_search(mapping.pages_path, data))
        if total is None or number >= total:
            return Links()
    else:
        try:
            if not _items(data, mapping):
                return Links()
        except ParseError:
            return Links()
    return Links(next=with_page(page.url, mapping.page_param, number + 1))


def parse(pages: Pages, source: Source) -> Parsed:
    """The events of every page of an API response, in order, each occurrence one event."""
    mapping = _mapping(source.options)
    result = Parsed()
    found: list[Item] = []
    seen: set[tuple[str, str]] = set()
    several = len(pages.listing) > 1
    for number, page in enumerate(pages.listing, start=1):
        where = f"page {number} ({page.url or 'file'})" if several else ""
        try:
            data = _load(page.body)
            entries = _items(data, mapping)
        except ParseError as e:
            raise ParseError(f"{where}: {e}" if where else str(e)) from None
        for index, entry in enumerate(entries, start=1):
            name = _name(entry, mapping, index, where)
            if not isinstance(entry, dict):
                result.warnings.append(f"{name} skipped: expected an object, got {_kind(entry)}")
                continue
            for one in _occurrences(entry, mapping, source, (name, page.url), result.warnings):
                key = identity(one, source)
                if key in seen:
                    continue  # the API shifted while we paged: the same occurrence twice
                seen.add(key)
                found.append(one)
    if mapping.page_param and mapping.pages_path is not None and pages.listing:
        last = pages.listing[-1]
        total = _whole(_search(mapping.pages_path, _load(last.body)))
        if total is not None and total > len(pages.listing) and last.url is not None:
            read = page_number(last.url, mapping.page_param)
            if read < total:
                result.warnings.append(
                    f"the API has {total} pages, {len(pages.listing)} were read"
                    " (raise follow.pages to read more)"
                )
    result.warnings = list(dict.fromkeys(result.warnings))  # an item's, once for all its dates
    result.events = events(found, source)
    return result


def _occurrences(
    entry: dict[str, Any],
    mapping: _Mapping,
    source: Source,
    where: tuple[str, str | None],
    warnings: list[str],
) -> Iterator[Item]:
    """One Item per occurrence of an item (one for an item without ``instances``).

    Own ids: ``<item id>-<instance id>``; without an instance id, ``<item id>-<start>``, so an
    occurrence keeps its UID when the series gains or loses dates.
    """
    name, base = where
    raw = {key: _value(key, path, entry, name, warnings) for key, path in mapping.fields.items()}
    raw.pop("instance_id", None)
    for key in ("url", "image"):  # links relative to the API's own address
        if isinstance(raw.get(key), str) and base and not raw[key].startswith(("http:", "https:")):
            raw[key] = urljoin(base, raw[key].strip())
    item_id = values.text(raw.pop("id", None))
    instances: list[Any] = []
    if mapping.instances is not None:
        found = _search(mapping.instances, entry)
        instances = [i for i in (found if isinstance(found, list) else [found]) if i is not None]
    for instance in instances or [None]:
        fields = dict(raw)
        instance_id = ""
        if isinstance(instance, dict):
            for key in INSTANCE_FIELDS:
                if key in mapping.fields:
                    fields[key] = _value(key, mapping.fields[key], instance, name, warnings)
            instance_id = values.text(fields.pop("instance_id", None))
        try:
            start, end = _when(fields, mapping, source, name, warnings)
            one = item(fields, start, end, name=name, warnings=warnings)
        except Skip as e:
            warnings.append(f"{name} skipped: {e}")
            continue
        if instance_id:
            one.own_id = f"{item_id}-{instance_id}" if item_id else instance_id
        elif item_id and instance is not None:
            one.own_id = f"{item_id}-{_stamp(start)}"
        else:
            one.own_id = item_id or None
        yield one


def _when(
    raw: dict[str, Any], mapping: _Mapping, source: Source, name: str, warnings: list[str]
) -> tuple[datetime | date, datetime | date | None]:
    """Start and end (exclusive) of one occurrence; Skip when the start cannot be read."""
    zone = values.Zone.of(source)
    if _given(raw.get("timezone")):
        try:
            zone = values.zone_named(raw["timezone"])
        except ValueError as e:
            warnings.append(f"{name}: timezone: {e}; using the source's")
    if not _given(raw.get("start")):
        raise Skip(f"start: missing (path {mapping.sources['start']!r})")
    options: dict[str, Any] = {"formats": mapping.formats, "dayfirst": mapping.dayfirst}
    try:
        start, end = values.moment(raw["start"], zone, **options)
    except ValueError as e:
        raise Skip(f"start: {e}") from None
    has_end = _given(raw.get("end"))
    if has_end:
        try:
            end = last_day(values.moment(raw["end"], zone, **options)[0])
        except ValueError as e:
            warnings.append(f"{name}: end: {e}; the event keeps its start only")
            has_end, end = False, None
    all_day = False
    if raw.get("all_day") is not None:
        try:
            all_day = values.flag(raw["all_day"])
        except ValueError as e:
            warnings.append(f"{name}: all_day: {e}")
    if all_day:
        # The dates the API wrote, not the dates in UTC: 2026-10-05T00:00:00+02:00 is Oct 5.
        # The end's date is the last day, whatever its time.
        try:
            first = values.day(raw["start"], **options)
            if has_end:
                end = last_day(values.day(raw["end"], **options))
        except ValueError as e:
            raise Skip(f"all_day: {e}") from None
        return whole_days(first, end)
    if not isinstance(start, datetime):
        return whole_days(start, end)
    return timed_end(start, end, f"{name}: end", warnings)


def _given(value: object) -> bool:
    return value not in (None, "", [])


def _stamp(start: datetime | date) -> str:
    """
    >>> from zoneinfo import ZoneInfo
    >>> _stamp(datetime(2024, 10, 31, 14, 0)), _stamp(date(2024, 10, 31))
    ('20241031T140000', '20241031')
    >>> _stamp(datetime(2024, 10, 31, 14, 0, tzinfo=ZoneInfo("America/Los_Angeles")))
    '20241031T210000Z'
    """
    if not isinstance(start, datetime):
        return start.strftime("%Y%m%d")
    if start.utcoffset() is None:
        return start.strftime("%Y%m%dT%H%M%S")
    return start.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _load(body: bytes) -> Any:
    head = body.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head:
        raise ParseError("empty body: expected JSON")
    if head[:1] not in b'{["-0123456789tfn':
        preview = head[:40].decode("utf-8", "replace").splitlines()[0]
        raise ParseError(f"not JSON: the body starts with {preview!r}")
    try:
        return json.loads(body)
    except UnicodeDecodeError as e:
        raise ParseError(f"not UTF-8 JSON: byte {body[e.start]:#04x} at offset {e.start}") from None
    except json.JSONDecodeError as e:
        raise ParseError(
            f"not valid JSON: {e.msg} at line {e.lineno}, column {e.colno} (byte {e.pos})"
        ) from None
    except RecursionError:
        raise ParseError("not usable JSON: nested too deeply") from None


def _items(data: Any, mapping: _Mapping) -> list[Any]:
    found = data if mapping.items is None else _search(mapping.items, data)
    if isinstance(found, list):
        return found
    path = f"items {mapping.items_text!r}" if mapping.items_text else "the response"
    if found is None:
        keys = f" (its keys: {_keys(data)})" if isinstance(data, dict) else ""
        raise ParseError(f"{path} found nothing in the response{keys}")
    hint = ""
    if mapping.items is None and isinstance(data, dict):
        hint = f"; set json.items to the path of the list (its keys: {_keys(data)})"
    raise ParseError(f"{path} is {_kind(found)}, expected a list of items{hint}")


def _search(path: ParsedResult, data: Any) -> Any:
    try:
        return path.search(data)
    except JMESPathError:
        return None  # a function on a value of another type (join on a number): no value


def _value(key: str, path: ParsedResult, data: Any, name: str, warnings: list[str]) -> Any:
    try:
        return path.search(data)
    except JMESPathError as e:  # a function given a value of another type: join() on a number
        warnings.append(f"{name}: {key}: {str(e).splitlines()[0]}")
        return None


def _name(entry: Any, mapping: _Mapping, index: int, where: str) -> str:
    """How a warning names an item: its id and title when it has them, else its position."""
    at = f"item {index}" + (f" on {where}" if where else "")
    if not isinstance(entry, dict):
        return at
    own = _search(mapping.fields["id"], entry) if "id" in mapping.fields else None
    title = _search(mapping.fields["title"], entry) if "title" in mapping.fields else None
    label = f"item {values.text(own)}" if isinstance(own, str | int) and own != "" else at
    return f"{label} ({values.text(title)!r})" if isinstance(title, str) and title else label


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "a number" if isinstance(value, int | float) else "null"
    )


def _keys(data: dict[str, Any]) -> str:
    keys = list(data)
    return ", ".join(map(str, keys[:10])) + (", …" if len(keys) > 10 else "") or "none"


def _whole(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | str):
        try:
            return int(float(value))
        except ValueError:
            return None
    return None


def _path_problems(text: str) -> list[str]:
    """
    >>> _path_problems("links..next")
    ["'links..next' is not a path (JMESPath): unexpected '.' at column 7"]
    >>> _path_problems("filters.event_types[")
    ["'filters.event_types[' is not a path (JMESPath): it ends too early"]
    """
    try:
        jmespath.compile(text)
    except IncompleteExpressionError:
        return [f"{text!r} is not a path (JMESPath): it ends too early"]
    except JMESPathError as e:
        at = getattr(e, "lex_position", None)
        token = getattr(e, "token_value", None)
        where = f"unexpected {token!r} at column {at + 1}" if at is not None else str(e)
        return [f"{text!r} is not a path (JMESPath): {where}"]
    return []
