"""Stage ①: the ``html`` kind: events from web pages.

Two readers share this kind; the source's ``[html]`` table picks one:

* with an ``events`` CSS selector, a *recipe* (:mod:`feedserver.sources.recipe`) reads listing
  pages that carry no structured data, block by block;
* without one, the page's own structured data (:mod:`feedserver.sources.structured`):
  schema.org ``Event`` as JSON-LD or microdata, and microformats ``h-event``.

Both find the next listing page the same way (:func:`next_link`) and read a page's bytes as
text the same way (:func:`decode`).
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping
from importlib import import_module
from types import ModuleType
from typing import Any
from urllib.parse import urljoin

from selectolax.lexbor import LexborHTMLParser

from feedserver.config import Source
from feedserver.sources import Links, Page, Pages, Parsed, page_number, with_page

__all__ = ["NEXT", "check", "decode", "links", "next_link", "parse", "valid_selector"]

# Where a listing page usually says which page comes next, when [html] names no `next`.
NEXT = 'link[rel~="next"], a[rel~="next"]'


def _reader(table: Mapping[str, Any]) -> ModuleType:
    name = "recipe" if "events" in table else "structured"
    return import_module(f"feedserver.sources.{name}")


def check(table: Mapping[str, Any]) -> list[str]:
    """Problems with an ``[html]`` table (each starts with the key it is about)."""
    problems: list[str] = []
    selector = table.get("next", NEXT)
    if not isinstance(selector, str) or not valid_selector(selector):
        problems.append(f"next: {selector!r} is not a CSS selector")
    param = table.get("page_param")
    if param is not None and (not isinstance(param, str) or not param.strip()):
        problems.append(f"page_param: expected a query parameter name like 'page', got {param!r}")
    elif param is not None and "next" in table:
        problems.append("page_param: set either next (a link) or page_param (numbered pages)")
    return problems + _reader(table).check(table)  # type: ignore[no-any-return]


def links(page: Page, source: Source) -> Links:
    return _reader(source.options).links(page, source)  # type: ignore[no-any-return]


def parse(pages: Pages, source: Source) -> Parsed:
    return _reader(source.options).parse(pages, source)  # type: ignore[no-any-return]


def next_link(
    tree: LexborHTMLParser, page: Page, source: Source, *, has_events: bool = True
) -> str | None:
    """The absolute URL of the next listing page, by the ``next`` selector (default :data:`NEXT`):
    the ``href`` of the first match, resolved against the page's URL (and its ``<base>``).

    With ``page_param`` (numbered pages, ``?page=2``), the same URL with the number one up, as
    long as this page had events (``has_events``): the first empty page ends the listing.
    """
    param = source.options.get("page_param")
    if param:
        if page.url is None or not has_events:
            return None
        return with_page(page.url, param, page_number(page.url, param) + 1)
    node = tree.css_first(source.options.get("next", NEXT))
    href = node.attributes.get("href") if node is not None else None
    if not href or not href.strip() or page.url is None:
        return None
    base = tree.css_first("base[href]")
    root = urljoin(page.url, base.attributes.get("href") or "") if base is not None else page.url
    target = urljoin(root, href.strip())
    return target if target.startswith(("http://", "https://")) else None


_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.I)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def decode(body: bytes) -> str:
    """A page's text: by its byte-order mark, else its ``<meta charset>``, else UTF-8 (and
    Windows-1252 for a page that is not valid UTF-8, as browsers guess).

    >>> decode('<meta charset="windows-1252"><p>café</p>'.encode("cp1252")).endswith("café</p>")
    True
    """
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            return body.decode(encoding, "replace")
    match = _META_CHARSET.search(body[:4096])
    if match:
        try:
            return body.decode(match[1].decode("ascii"), "replace")
        except LookupError:
            pass
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return body.decode("cp1252", "replace")


def valid_selector(selector: str) -> bool:
    """Whether selectolax reads ``selector`` as CSS."""
    try:
        LexborHTMLParser("<p></p>").css(selector)
    except Exception:  # selectolax raises a bare exception type for a bad selector
        return False
    return bool(selector.strip())
