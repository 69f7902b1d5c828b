"""Stage ②: HTML descriptions to clean text, and text to safe HTML for X-ALT-DESC.

Upstream descriptions arrive as HTML (CMS pages, Outlook, Google Calendar) or as plain text.
content.py works on plain text, and writes an HTML copy to X-ALT-DESC for Outlook:

- :func:`html_to_text` lays HTML out the way a browser shows it: paragraphs, ``- item`` lists,
  links as ``text (url)``, entities decoded, scripts and styles dropped.
- :func:`text_to_html` and its parts (:func:`paragraphs_html`, :func:`field_html`,
  :func:`inline_html`) turn such text back into HTML with clickable links; :func:`sanitize`
  passes the result through nh3, which allows only ``p br ul ol li a b`` and http(s)/mailto.
"""

from __future__ import annotations

import html
import re
from urllib.parse import unquote

import nh3
from selectolax.lexbor import LexborHTMLParser, LexborNode

__all__ = [
    "EMAIL",
    "field_html",
    "html_to_text",
    "inline_html",
    "is_html",
    "paragraphs_html",
    "sanitize",
    "text_to_html",
    "tidy",
]

#: An e-mail address in prose (linked by :func:`inline_html`; content.py reads ORGANIZER from it).
EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_HTML_TAG = re.compile(
    r"</?(?:a|p|div|br|span|li|ul|ol|dl|dt|dd|table|tr|td|th|b|i|u|s|em|strong|font|html|body|head"
    r"|h[1-6]|img|hr|blockquote|pre|code|section|article|header|footer|script|style|iframe|center"
    r"|small|sup|sub|meta|title)(?=[\s/>])[^<>]*>",
    re.IGNORECASE,
)


def is_html(text: str) -> bool:
    """Whether ``text`` holds HTML tags (a ``<`` alone, or Outlook's ``<https://…>``, is text)."""
    return "<" in text and _HTML_TAG.search(text) is not None


_BLANK_LINES = re.compile(r"\n{3,}")


def tidy(text: str) -> str:
    """Text with LF line ends, no trailing spaces and no runs of blank lines.

    >>> tidy(" a \\r\\n\\r\\n\\r\\n\\tb\\n\\n")
    'a\\n\\n\\tb'
    """
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\n" not in text:  # one line (most field values): the same result, without the regex
        return text.rstrip().lstrip(" ")
    joined = "\n".join([line.rstrip() for line in text.split("\n")])
    if "\n\n\n" in joined:
        joined = _BLANK_LINES.sub("\n\n", joined)
    return joined.strip("\n").strip(" ")


# --- HTML to text --------------------------------------------------------------------------------

_AUTOLINK = re.compile(r"<((?:https?|mailto):[^\s<>]*)>", re.IGNORECASE)
_SKIP = frozenset(
    "script style head title template noscript iframe object embed svg math canvas video audio"
    " select textarea button input img".split()
)
_PARAGRAPH = frozenset("p h1 h2 h3 h4 h5 h6 blockquote pre table ul ol dl hr figure".split())
_LINE = frozenset(
    "div li tr dt dd section article header footer main aside nav address center caption"
    " figcaption details summary form fieldset".split()
)


class _Writer:
    """Accumulates plain text the way a browser lays out blocks: paragraphs, lines, list items."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.breaks = 0  # line breaks owed before the next text
        self.prefix = ""  # list marker owed before the next text
        self.at_start = True  # nothing on the current line yet
        self.lists: list[list[int]] = []  # [counter] per open list; -1 for unordered

    def brk(self, n: int) -> None:
        if self.lists:
            n = 1  # blocks inside lists separate lines, not paragraphs
        self.breaks = max(self.breaks, n)

    def br(self) -> None:
        self.breaks = min(self.breaks + 1, 2)

    def write(self, text: str) -> None:
        if self.at_start or self.breaks:
            text = text.lstrip(" ")
        if not text:
            return
        if self.parts and self.breaks:
            self.parts.append("\n" * self.breaks)
            self.at_start = True
        self.breaks = 0
        if self.prefix:
            self.parts.append(self.prefix)
            self.prefix = ""
        self.parts.append(text)
        self.at_start = False

    def walk(self, node: LexborNode, depth: int = 0) -> None:
        for child in node.iter(include_text=True):
            tag = child.tag or ""
            if tag == "-text":
                text = child.text(deep=False) or ""
                # Google Calendar appends its plain-text Meet block to HTML descriptions: its
                # line ends count where text is not inside any element.
                for i, segment in enumerate(text.split("\n") if depth == 0 else [text]):
                    if i:
                        self.br()
                    self.write(re.sub(r"\s+", " ", segment))
            elif tag in _SKIP or not tag[:1].isalpha():
                continue
            elif depth > 64:  # pathological nesting: its text, flat
                self.write(" ".join((child.text(deep=True) or "").split()) + " ")
            else:
                self.element(child, tag, depth)

    def element(self, node: LexborNode, tag: str, depth: int) -> None:
        if tag == "br":
            self.br()
            return
        if tag == "a":
            self.write(_anchor(node))
            return
        block = 2 if tag in _PARAGRAPH else 1 if tag in _LINE else 0
        self.brk(block)
        if tag in ("ul", "ol"):
            self.lists.append([0 if tag == "ol" else -1])
        elif tag == "li":
            counter = self.lists[-1] if self.lists else [-1]
            if counter[0] >= 0:
                counter[0] += 1
            marker = f"{counter[0]}. " if counter[0] >= 0 else "- "
            self.prefix = "  " * max(len(self.lists) - 1, 0) + marker
        elif tag in ("td", "th") and not (self.at_start or self.breaks):
            self.write(" | ")
        if tag == "pre":
            self.write((node.text(deep=True) or "").strip("\n"))
        else:
            self.walk(node, depth + 1)
        if tag in ("ul", "ol"):
            self.lists.pop()
        self.brk(block)

    def result(self) -> str:
        return tidy("".join(self.parts))


def _anchor(node: LexborNode) -> str:
    """A link as text: its URL alone when the text says nothing more, else ``text (url)``."""
    inner = " ".join((node.text(deep=True) or "").split())
    href = (node.attributes.get("href") or "").strip()
    if re.match(r"(?i)mailto:", href):
        target = unquote(href[7:].split("?", 1)[0])
    elif re.match(r"(?i)https?://", href):
        target = href
    else:
        return inner  # javascript:, data:, relative links: the text only
    if not inner or _bare(inner) == _bare(target) or re.match(r"(?i)https?://|www\.", inner):
        return target
    return f"{inner} ({target})"


def _bare(url: str) -> str:
    return re.sub(r"(?i)^https?://(?:www\.)?", "", url).rstrip("/").casefold()


def html_to_text(markup: str) -> str:
    """Readable plain text of an HTML description: paragraphs, ``- item`` lists, links as
    ``text (url)``, entities decoded, scripts and styles dropped.

    >>> html_to_text('<p>Q&amp;A <b>after</b></p><ul><li>one</li><li><a href="https://x.example/">'
    ...              'slides</a></li></ul><script>alert(1)</script>')
    'Q&A after\\n\\n- one\\n- slides (https://x.example/)'
    """
    # Outlook's plain-text links ("join<https://…>") in a description that also has tags: an
    # HTML parser would take "<https:" for an element and swallow the lines after it.
    body = LexborHTMLParser(_AUTOLINK.sub(r" \1 ", markup)).body
    if body is None:
        return ""
    writer = _Writer()
    writer.walk(body)
    return writer.result()


# --- text to HTML --------------------------------------------------------------------------------

_URL = re.compile(r"https?://[^\s<>\"]+", re.IGNORECASE)
_LINKABLE = re.compile(rf"{_URL.pattern}|{EMAIL.pattern}", re.IGNORECASE)
_LIST_ITEM = re.compile(r"[ \t]*(?:([-*\u2022])|(\d{1,3})[.)])[ \t]+")
_SAFE_TAGS = {"p", "br", "ul", "ol", "li", "a", "b"}


def _trim(target: str) -> str:
    """A URL or address without the punctuation and unmatched brackets that end a sentence."""
    while target:
        last = target[-1]
        if last in ".,;:!?'\"" or (
            last in ")]" and target.count(last) > target.count("(" if last == ")" else "[")
        ):
            target = target[:-1]
        else:
            break
    return target


def inline_html(text: str) -> str:
    """Escaped text with its URLs and e-mail addresses as links, line breaks as ``<br>``."""
    out: list[str] = []
    pos = 0
    pattern = _LINKABLE if "@" in text else _URL if "://" in text else None
    for match in pattern.finditer(text) if pattern else ():
        start, target = match.start(), _trim(match.group())
        end = start + len(target)
        if text[start - 1 : start] == "<" and text[end : end + 1] == ">":  # Outlook's text<url>
            start, end = start - 1, end + 1
        href = target if "://" in target else f"mailto:{target}"
        space = " " if start < match.start() else ""
        out.append(html.escape(text[pos:start], quote=False) + space)
        out.append(f'<a href="{html.escape(href)}">{html.escape(target, quote=False)}</a>')
        pos = end
    out.append(html.escape(text[pos:], quote=False))
    return "".join(out).replace("\n", "<br>")


def _run_html(kind: str, run: list[str]) -> str:
    if kind == "p":
        return f"<p>{'<br>'.join(run)}</p>"
    return f"<{kind}>" + "".join(f"<li>{item}</li>" for item in run) + f"</{kind}>"


def paragraphs_html(text: str) -> str:
    """Paragraphs as ``<p>`` (lines joined by ``<br>``), list lines as ``<ul>``/``<ol>``."""
    out: list[str] = []
    for paragraph in re.split(r"\n{2,}", text.strip("\n")):
        kind, run = "", list[str]()
        for line in paragraph.split("\n"):
            item = _LIST_ITEM.match(line)
            line_kind = "p" if item is None else "ul" if item[1] else "ol"
            if line_kind != kind and run:
                out.append(_run_html(kind, run))
                run = []
            kind = line_kind
            run.append(inline_html(line if item is None else line[item.end() :]))
        if run and any(run):
            out.append(_run_html(kind, run))
    return "".join(out)


def adds_markup(text: str) -> bool:
    """Whether ``paragraphs_html(text)`` holds a link or a list item: the cheap test that lets
    an event skip building HTML nobody needs.

    >>> adds_markup("Room 132"), adds_markup("see https://x.example"), adds_markup("- one")
    (False, True, True)
    """
    if ("://" in text and _URL.search(text)) or ("@" in text and _LINKABLE.search(text)):
        return True
    for line in text.split("\n"):
        item = _LIST_ITEM.match(line)
        if item is not None and line[item.end() :]:
            return True
    return False


def field_html(label: str, value: str) -> str:
    """``<p><b>Label:</b> value…</p>``, the label leading the value's first paragraph."""
    head = f"<b>{html.escape(label, quote=False)}:</b>"
    body = paragraphs_html(value)
    if body.startswith("<p>"):
        return f"<p>{head} {body[3:]}"
    return f"<p>{head}</p>{body}"


def text_to_html(text: str) -> str:
    """A plain description as safe HTML (nh3 allows only ``p br ul ol li a b``, http(s)/mailto).

    >>> text_to_html("Tea & <cake>\\n- one\\n\\nhttps://x.example/a?b=1&c=2.")
    '<p>Tea &amp; &lt;cake&gt;</p><ul><li>one</li></ul><p><a href="https://x.example/a?b=1&amp;c=2">https://x.example/a?b=1&amp;c=2</a>.</p>'
    """
    return sanitize(paragraphs_html(text))


def sanitize(fragment: str) -> str:
    return nh3.clean(
        fragment,
        tags=_SAFE_TAGS,
        attributes={"a": {"href"}},
        url_schemes={"http", "https", "mailto"},
        link_rel=None,  # no target=_blank, so no tab-nabbing to guard against
    )
