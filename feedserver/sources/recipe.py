"""Stage ①: the ``html`` kind's *recipe*: events from listing pages that carry no structured data.

The source's ``[html]`` table names, as CSS selectors, one event block (``events``) and where
each field is inside it (``title``, ``when``, ``location``…); see :data:`SELECTORS`. A selector
reads the text of its first match in the block; ``"a.more @href"`` reads an attribute instead,
and ``"@data-id"`` an attribute of the block itself. ``labels = true`` (or a table of a page's
own labels) also reads labelled lines such as ``When: …`` or ``Location: …`` in the block's
text, including a label glued to the previous field (``…pwd=7t.1Location: EEB 132``).

Labels the content stage knows (Speaker, Talk Title, Abstract, Host, Webcast, Audiences…) are
left in DESCRIPTION as ``Label: value`` lines: :mod:`feedserver.content` puts them in order,
finds the meeting links and the contact, exactly as for an .ics source. The recipe itself reads
only the labels that make an event's time, place and categories (:data:`LABELS`).

Failures: a recipe that finds no event block at all, or blocks but no event in them, is a
ParseError (the page's layout changed; the last good events stay). A block without a title or a
readable start is skipped with a warning naming the event and the field; any other field that
cannot be read costs that field only, with a warning.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit
from zoneinfo import ZoneInfo

from selectolax.lexbor import LexborHTMLParser, LexborNode

from feedserver.config import Source, suggest
from feedserver.errors import ParseError
from feedserver.htmltext import html_to_text, tidy
from feedserver.sources import Links, Page, Pages, Parsed
from feedserver.sources.bridge import FIELD_LABELS, Item, events, parse_when
from feedserver.sources.html import decode, next_link, valid_selector

__all__ = ["LABELS", "LABEL_TARGETS", "OPTIONS", "SELECTORS", "check", "links", "parse"]

# [html] keys that are selectors -> what they select (README: "Event web pages with a recipe").
SELECTORS: dict[str, str] = {
    "events": "one event block (required)",
    "title": "the event's title (default: the block's first heading)",
    "when": "its date and time, e.g. 'Thu, Oct 31, 2024 @ 02:00 PM - 03:00 PM'",
    "date": "its date, when the time is elsewhere (instead of when)",
    "time": "its time or time range, read with date",
    "end": "its end date or time, when when/date do not give it",
    "location": "its place",
    "description": "its description (every match, in page order)",
    "url": "its own page: a link (default: the link in the title)",
    "link": "the link to follow for follow.event_pages (default: url)",
    "id": "the source's own id for it, e.g. '@data-event-id'",
    "type": "its event type; becomes a CATEGORIES value",
    "categories": "more categories (each match is one)",
    "calendar": "the upstream calendar's name; becomes a CATEGORIES value",
    "image": "its picture, e.g. 'img @src'",
    "cancelled": "matches only in a cancelled event's block",
    "detail_description": "on the event's own page: its full description",
    **{key: f"a {label} field of the description" for key, label in FIELD_LABELS.items()},
}
# Labels the recipe reads itself (matched case-insensitively): field -> labels.
LABELS: dict[str, tuple[str, ...]] = {
    "when": ("When", "Date & Time", "Date and Time", "Date/Time", "Dates"),
    "date": ("Date",),
    "time": ("Time",),
    "location": ("Location", "Where", "Venue", "Room", "Place"),
    "type": ("Event Type", "Type", "Category", "Categories"),
    "calendar": ("Calendar",),
}
# What a label in a `[html.labels]` table may stand for.
LABEL_TARGETS = (
    "title", "when", "date", "time", "end", "location", "url", "type", "calendar",
    "description", "ignore", *FIELD_LABELS,
)  # fmt: skip
OPTIONS = {
    "labels": "true, or a table of the page's labels: 'Presenter' = 'speaker'",
    "formats": "strptime patterns tried before the free-form date reading",
    "dayfirst": "true: 03/04/2025 is 3 April",
    "base_url": "the address relative links are resolved against (default: the page's)",
    "next": "the next listing page's link (see html.py)",
    "page_param": "query parameter of numbered listing pages, e.g. page (instead of next)",
}
_TITLE = "h1, h2, h3, h4, h5, h6"
_ATTR_SPEC = re.compile(r"^(?P<css>.*?)\s*@(?P<attr>[A-Za-z_:][-\w:.]*)\s*$")
_SHORT = 80  # characters of a title in a warning
_WEB_ADDRESS = re.compile(r"(?i)https?://[^\s<>\"()]+")


# --- the recipe ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Spec:
    """One selector of the recipe: ``css`` inside the block (None: the block), or an ``attr``."""

    css: str | None
    attr: str | None

    @classmethod
    def of(cls, text: str) -> _Spec:
        match = _ATTR_SPEC.match(text)
        if match:
            return cls(match["css"].strip() or None, match["attr"])
        return cls(text.strip(), None)


@dataclass(frozen=True)
class _Recipe:
    specs: dict[str, _Spec]
    labels: dict[str, str]  # label (casefolded) -> field; empty: labels are not read
    label_pattern: re.Pattern[str] | None
    formats: tuple[str, ...]
    dayfirst: bool
    base_url: str | None

    @classmethod
    def of(cls, table: Mapping[str, Any]) -> _Recipe:
        specs = {k: _Spec.of(v) for k, v in table.items() if k in SELECTORS}
        specs.setdefault("title", _Spec(_TITLE, None))
        labels: dict[str, str] = {}
        setting = table.get("labels", False)
        if setting:
            for key, words in LABELS.items():
                labels.update((w.casefold(), key) for w in words)
            for key, label in FIELD_LABELS.items():
                labels[label.casefold()] = key
        if isinstance(setting, Mapping):
            labels.update((label.strip().casefold(), key) for label, key in setting.items())
        pattern = None
        if labels:
            longest_first = sorted(labels, key=len, reverse=True)
            alternatives = "|".join(re.escape(w) for w in longest_first)
            pattern = re.compile(rf"({alternatives})[ \t]*:(?=[ \t]|$)", re.IGNORECASE)
        return cls(
            specs=specs,
            labels=labels,
            label_pattern=pattern,
            formats=tuple(table.get("formats", ())),
            dayfirst=bool(table.get("dayfirst", False)),
            base_url=table.get("base_url"),
        )


def check(table: Mapping[str, Any]) -> list[str]:
    """Problems with a recipe's ``[html]`` table, each starting with the key it is about."""
    problems: list[str] = []
    known = {**SELECTORS, **OPTIONS}
    for key in table:
        if key not in known:
            hint = suggest(key, known)
            problems.append(f"{key}: unknown key{hint}; known: {', '.join(sorted(known))}")
    for key in SELECTORS:
        if key in table:
            problems.extend(_selector_problems(key, table[key]))
    labels = table.get("labels", False)
    if "when" in table and ("date" in table or "time" in table):
        problems.append("when: set when, or date (with time), not both")
    elif "time" in table and "date" not in table:
        problems.append("time: needs date (the day the time is on)")
    elif "when" not in table and "date" not in table and not labels:
        problems.append(
            "when: required: the selector of each event's date and time"
            " (or date and time, or labels = true for a 'When:' or 'Date:' line)"
        )
    if isinstance(labels, Mapping):
        for label, target in labels.items():
            if not isinstance(label, str) or not label.strip() or ":" in label:
                problems.append(f"labels: {label!r} is not a label (write it without the colon)")
            if target not in LABEL_TARGETS:
                problems.append(
                    f"labels.{label}: {target!r} is not a field; one of {', '.join(LABEL_TARGETS)}"
                )
    elif not isinstance(labels, bool):
        problems.append("labels: expected true, false or a table of 'Page label' = 'field'")
    formats = table.get("formats", [])
    if not isinstance(formats, list) or not all(isinstance(f, str) and "%" in f for f in formats):
        problems.append("formats: expected a list of strptime patterns like '%d/%m/%Y %H:%M'")
    if not isinstance(table.get("dayfirst", False), bool):
        problems.append("dayfirst: expected true or false")
    base = table.get("base_url")
    if base is not None:
        parts = urlsplit(base) if isinstance(base, str) else None
        if not parts or parts.scheme not in ("http", "https") or not parts.hostname:
            problems.append(f"base_url: expected an http(s) URL, got {base!r}")
    return problems


def _selector_problems(key: str, value: Any) -> list[str]:
    if not isinstance(value, str) or not value.strip():
        return [f"{key}: expected a CSS selector, got {value!r}"]
    spec = _Spec.of(value)
    if key == "events" and (spec.attr or spec.css is None):
        return [f"events: expected a CSS selector of the event blocks, got {value!r}"]
    if spec.css is not None and not valid_selector(spec.css):
        return [f"{key}: {spec.css!r} is not a CSS selector"]
    return []


# --- pages ---------------------------------------------------------------------------------------


class _Page:
    """One parsed page, its links made absolute (``base_url``, else ``<base href>`` and the
    page's URL), so that descriptions keep them."""

    def __init__(self, page: Page, recipe: _Recipe) -> None:
        self.tree = LexborHTMLParser(decode(page.body))
        base = recipe.base_url or page.url
        tag = self.tree.css_first("base[href]")
        if base and tag is not None:
            base = urljoin(base, tag.attributes.get("href") or "")
        self.base = base
        for node in self.tree.css("a[href]") if base else ():
            href = self.absolute(node.attributes.get("href"))
            if href:
                node.attrs["href"] = href

    def absolute(self, href: str | None) -> str | None:
        """``href`` as an absolute http(s) URL, or None."""
        href = (href or "").strip()
        if not href:
            return None
        target = urljoin(self.base, href) if self.base else href
        return target if re.match(r"(?i)https?://", target) else None


_BLOCK_TAGS = frozenset(
    "address article aside blockquote br dd div dl dt figcaption footer h1 h2 h3 h4 h5 h6 header"
    " hr li main nav ol p pre section table tbody td th thead tr ul".split()
)
_UNSEEN = frozenset("script style template noscript head title iframe svg math".split())


def _one_line(node: LexborNode) -> str:
    """A node's visible text on one line: blocks and ``<br>`` separate words, inline markup
    does not (``Value<em>s</em>`` is "Values"); scripts and comments are left out."""
    parts: list[str] = []

    def walk(parent: LexborNode, depth: int) -> None:
        for child in parent.iter(include_text=True):
            tag = child.tag or ""
            if tag == "-text":
                parts.append(child.text(deep=False) or "")
            elif tag in _UNSEEN or not tag[:1].isalpha():
                continue
            elif depth > 100:  # pathological nesting: its text, flat
                parts.append(f" {child.text(deep=True) or ''} ")
            else:
                gap = " " if tag in _BLOCK_TAGS else ""
                parts.append(gap)
                walk(child, depth + 1)
                parts.append(gap)

    walk(node, 0)
    return " ".join("".join(parts).split())


def _matches(block: LexborNode, spec: _Spec) -> list[LexborNode]:
    if spec.css is None:
        return [block]
    # selectolax includes the node itself when it matches; a field is inside its block.
    return [n for n in block.css(spec.css) if n.mem_id != block.mem_id]


def _read(block: LexborNode, spec: _Spec | None) -> str | None:
    """The text of the first match (or its attribute), on one line; None when nothing matched."""
    found = _matches(block, spec) if spec is not None else []
    if not found or spec is None:
        return None
    if spec.attr:
        value = found[0].attributes.get(spec.attr)
        return (" ".join(value.split()) or None) if value else None
    return _one_line(found[0]) or None


def _text(nodes: list[LexborNode]) -> str:
    """Nodes as text with paragraphs, lists and links (``text (url)``), as content.py reads."""
    return "\n\n".join(html_to_text(n.html or "") for n in nodes).strip()


def _href(block: LexborNode, spec: _Spec) -> str | None:
    """The link a url/link selector names: an attribute, the match's href, or its first link's."""
    found = _matches(block, spec)
    if not found:
        return None
    if spec.attr:
        return found[0].attributes.get(spec.attr)
    node: LexborNode | None = found[0]
    if node is not None and node.attributes.get("href") is None:
        node = node.css_first("a[href]")
    return node.attributes.get("href") if node is not None else None


# --- labels --------------------------------------------------------------------------------------


@dataclass
class _Segment:
    key: str | None  # the field a label stands for; None for text without a label
    value: str


def _segments(text: str, recipe: _Recipe) -> list[_Segment]:
    """``text`` cut at each label of the recipe at a line's start or glued to the previous
    field (``…7t.1Location: EEB 132``); every line gives at least one segment."""
    out: list[_Segment] = []
    pattern = recipe.label_pattern
    for line in text.split("\n"):
        cuts: list[tuple[int, int, str]] = []  # start and end of each label, the label
        for match in pattern.finditer(line) if pattern else ():
            before = line[: match.start()]
            at_start = not before.strip(" \t-*\u2022\u00b7")
            glued = before[-1:].isalnum() or before[-1:] in (".", ")", "]")
            if at_start or (glued and match[1][0].isupper()):
                cuts.append((match.start(), match.end(), match[1]))
        if not cuts:
            out.append(_Segment(None, line))
            continue
        if line[: cuts[0][0]].strip():
            out.append(_Segment(None, line[: cuts[0][0]].rstrip()))
        stops = [c[0] for c in cuts[1:]] + [len(line)]
        for (_, end, label), stop in zip(cuts, stops, strict=True):
            out.append(_Segment(recipe.labels[label.casefold()], line[end:stop].strip()))
    return out


@dataclass
class _Labelled:
    """What a text's labels gave: values of the recipe's fields, and the description's lines."""

    values: dict[str, str] = field(default_factory=dict)
    description: list[str] = field(default_factory=list)


# Fields whose labelled lines leave the description: DTSTART, URL, CATEGORIES… say them.
_NOT_DESCRIBED = frozenset({"title", "when", "date", "time", "end", "url", "type", "calendar"})


def _labelled(text: str, recipe: _Recipe, *, from_first_label: bool) -> _Labelled:
    """Read the recipe's labels in ``text``: the first value of each field, and the text that
    stays in the description (from the first label on, with ``from_first_label``). A label
    alone on its line takes the next line as its value. The lines of the place and of the
    fields the content stage knows stay in the description, with feedserver's label."""
    result = _Labelled()
    lines = result.description
    started = not from_first_label
    waiting: tuple[str, int] | None = None  # a label alone on its line: its field and line
    for segment in _segments(text, recipe):
        key = segment.key
        if key is None:
            if not started:
                continue
            value = segment.value.strip()
            if waiting is not None and value:
                field_key, at = waiting
                waiting = None
                result.values.setdefault(field_key, value)
                if at >= 0:  # "Where:" + "Room 5" on the next line: "Where: Room 5"
                    del lines[at + 1 :]
                    lines[at] = f"{lines[at]} {value}" if lines[at] else value
                continue
            lines.append(segment.value)
            continue
        started = True
        if segment.value:
            result.values.setdefault(key, segment.value)
        if key in _NOT_DESCRIBED or key == "ignore":
            waiting = None if segment.value else (key, -1)
            continue
        if key == "description":
            lines.append(segment.value)
        else:  # written as feedserver's label: the content stage knows it
            label = "Location" if key == "location" else FIELD_LABELS[key]
            lines.append(f"{label}: {segment.value}".rstrip())
        waiting = None if segment.value else (key, len(lines) - 1)
    return result


# --- blocks to items -----------------------------------------------------------------------------


@dataclass
class _Block:
    """One event block and where it was: warnings name the event by its title and place."""

    node: LexborNode
    page: _Page
    number: int  # 1-based listing page
    index: int  # 1-based block on that page
    title: str = ""

    def __str__(self) -> str:
        short = self.title if len(self.title) <= _SHORT else self.title[: _SHORT - 1] + "…"
        name = repr(short) if short else "without a title"
        return f"event {name} (page {self.number}, block {self.index})"


def _pages(pages: Pages, recipe: _Recipe) -> Iterator[tuple[int, _Page]]:
    for number, page in enumerate(pages.listing, 1):
        yield number, _Page(page, recipe)


def _blocks(page: _Page, recipe: _Recipe, number: int) -> list[_Block]:
    css = recipe.specs["events"].css
    assert css is not None  # check() refuses an events selector without CSS
    return [_Block(node, page, number, i) for i, node in enumerate(page.tree.css(css), 1)]


def parse(pages: Pages, source: Source) -> Parsed:
    """The events of every listing page, with the descriptions of their own pages when read.

    Raises ParseError when the recipe finds no event block, or no event in its blocks.
    """
    recipe = _Recipe.of(source.options)
    result = Parsed()
    if pages.details and "detail_description" not in recipe.specs:
        result.warnings.append("event pages were read but [html] detail_description is not set")
    items: list[Item] = []
    blocks = 0
    first_problem = ""
    for number, page in _pages(pages, recipe):
        for block in _blocks(page, recipe, number):
            blocks += 1
            before = len(result.warnings)
            item = _Reader(block, recipe, source, pages, result.warnings).item()
            if item is not None:
                items.append(item)
            elif not first_problem:
                first_problem = result.warnings[before]
    selector = recipe.specs["events"].css
    where = pages.listing[0].url or str(source.path)
    if len(pages.listing) > 1:
        where += f" and {len(pages.listing) - 1} more page(s)"
    if blocks == 0:
        raise ParseError(
            f"recipe matched 0 events (selector {selector!r} on {where}); last good kept"
        )
    if not items:
        raise ParseError(
            f"recipe matched {blocks} event block(s) (selector {selector!r} on {where}) but none"
            f" gave an event; first: {first_problem}; last good kept"
        )
    result.events.extend(events(items, source))
    return result


class _Reader:
    """One block to one :class:`~feedserver.sources.bridge.Item`, warnings naming the event."""

    def __init__(
        self, block: _Block, recipe: _Recipe, source: Source, pages: Pages, warnings: list[str]
    ) -> None:
        self.block, self.recipe, self.source, self.pages = block, recipe, source, pages
        self.node, self.specs, self.warnings = block.node, recipe.specs, warnings
        self.labelled = _Labelled()
        if recipe.labels:
            text = html_to_text(self.node.inner_html or "")
            first = "description" not in self.specs
            self.labelled = _labelled(text, recipe, from_first_label=first)

    def value(self, key: str) -> str | None:
        """A field by its selector, else by its label."""
        return _read(self.node, self.specs.get(key)) or self.labelled.values.get(key)

    def warn(self, key: str, message: str) -> None:
        self.warnings.append(f"{self.block}: {key}: {message}")

    def missing(self, spec: _Spec) -> str:
        """Why a selector gave no text: it matched nothing, or only something empty."""
        if _matches(self.node, spec):
            return f"{_shown(spec)} is empty"
        return f"nothing matched {_shown(spec)}"

    def item(self) -> Item | None:
        title = self.value("title")
        self.block.title = title or ""
        if not title:
            self.warn("title", f"{self.missing(self.specs['title'])}; skipped")
            return None
        description = self.description()
        when = self.when()
        if when is None:
            return None
        start, end = when
        categories = [c for c in (self.value("type"), self.value("calendar")) if c]
        if "categories" in self.specs:
            found = _matches(self.node, self.specs["categories"])
            categories += [text for n in found if (text := _one_line(n))]
        cancelled = "cancelled" in self.specs and bool(_matches(self.node, self.specs["cancelled"]))
        fields = {k: v for k in FIELD_LABELS if (v := _read(self.node, self.specs.get(k)))}
        return Item(
            title=title,
            start=start,
            end=end,
            own_id=_read(self.node, self.specs.get("id")),
            url=self.url(),
            location=self.value("location"),
            description=description,
            fields=fields,
            categories=categories,
            status="CANCELLED" if cancelled else None,
            image=self.block.page.absolute(_read(self.node, self.specs.get("image"))),
        )

    def url(self) -> str | None:
        href = _href(self.node, self.specs.get("url") or self.specs["title"])
        if href is None and "url" in self.labelled.values:  # "More info: the page (https://…)"
            found = _WEB_ADDRESS.search(self.labelled.values["url"])
            href = found[0] if found else self.labelled.values["url"]
        if href is None:
            return None
        url = self.block.page.absolute(href)
        if url is None and "url" in self.specs:
            self.warn("url", f"{href.strip()[:80]!r} is not a web address; left out")
        return url

    def description(self) -> str | None:
        """The event page's description when it was read, else the listing's."""
        lines = self.labelled.description
        if "description" in self.specs:
            text = _text(_matches(self.node, self.specs["description"]))
            lines = self._described(text).description
        detail = self.detail()
        if detail is not None:
            lines = detail.description
            for key, value in detail.values.items():  # e.g. a place only the event page names
                self.labelled.values.setdefault(key, value)
        return tidy("\n".join(lines)) or None

    def _described(self, text: str) -> _Labelled:
        if self.recipe.labels:
            return _labelled(text, self.recipe, from_first_label=False)
        return _Labelled(description=[text])

    def detail(self) -> _Labelled | None:
        """What the event's own page says, when it was fetched and the selector finds it."""
        spec = self.specs.get("detail_description")
        url = _event_page(self.block, self.recipe) if spec is not None else None
        body = self.pages.details.get(url) if url else None
        if spec is None or body is None:
            return None
        tree = LexborHTMLParser(decode(body))
        text = _text(tree.css(spec.css) if spec.css else [])
        if not text:
            self.warn(
                "detail_description",
                f"nothing matched {_shown(spec)} on {url}; the listing's description is used",
            )
            return None
        return self._described(text)

    def when(self) -> tuple[datetime | date, datetime | date | None] | None:
        """Start and end; None (with a warning) when there is no usable start."""
        key, text = "when", _times(self.node, self.specs.get("when")) or self.value("when")
        if not text and self.value("date"):
            key = "date"
            text = " ".join(t for t in (self.value("date"), self.value("time")) if t)
        if not text:
            key = "date" if "date" in self.specs else "when"
            spec = self.specs.get(key)
            why = [self.missing(spec)] if spec is not None else []
            if self.recipe.labels:
                why.append("no When: or Date: label")
            self.warn(key, f"{' and '.join(why)}; skipped")
            return None
        end_text = self.value("end")
        try:
            start, end = self._parse(f"{text} - {end_text}" if end_text else text)
        except ValueError as e:
            try:
                start, end = self._parse(_start_only(text))[0], None
            except ValueError:
                self.warn(key, f"{e}; skipped")
                return None
            self.warn("end" if end_text else key, f"{e}; the event has no end")
        return start, end

    def _parse(self, text: str) -> tuple[datetime | date, datetime | date | None]:
        zone = ZoneInfo(self.source.timezone) if self.source.timezone else None
        return parse_when(text, zone, formats=self.recipe.formats, dayfirst=self.recipe.dayfirst)


def _shown(spec: _Spec) -> str:
    return repr(spec.css if spec.attr is None else f"{spec.css or ''} @{spec.attr}".strip())


_RANGE_CUT = re.compile(r"\s+(?:-|–|—|to|until)\s+", re.IGNORECASE)


def _start_only(text: str) -> str:
    """The start of a range whose end cannot be read ("10:00 AM - TBD")."""
    return _RANGE_CUT.split(text, maxsplit=1)[0]


def _times(block: LexborNode, spec: _Spec | None) -> str | None:
    """A when selector's match; its ``<time datetime>`` elements, when it has them, as
    "start - end": they say the time exactly."""
    if spec is None or spec.attr:
        return _read(block, spec)
    found = _matches(block, spec)
    if not found:
        return None
    node = found[0]
    stamps = [n.attributes.get("datetime") for n in [node, *node.css("time[datetime]")]]
    exact = list(dict.fromkeys(s.strip() for s in stamps if s and s.strip()))
    return " - ".join(exact[:2]) if exact else _one_line(node) or None


# --- links ---------------------------------------------------------------------------------------


def _event_page(block: _Block, recipe: _Recipe) -> str | None:
    """The URL of a block's own page (``link``, else ``url``, else the title's link)."""
    spec = recipe.specs.get("link") or recipe.specs.get("url") or recipe.specs["title"]
    url = block.page.absolute(_href(block.node, spec))
    return urldefrag(url).url if url else None


def links(page: Page, source: Source) -> Links:
    """The next listing page, and each event's own page when ``detail_description`` reads it."""
    recipe = _Recipe.of(source.options)
    parsed = _Page(page, recipe)
    details: list[str] = []
    if "detail_description" in recipe.specs:
        for block in _blocks(parsed, recipe, 0):
            url = _event_page(block, recipe)
            if url:
                details.append(url)
    following = next_link(parsed.tree, page, source, has_events=bool(_blocks(parsed, recipe, 0)))
    return Links(next=following, details=tuple(dict.fromkeys(details)))
