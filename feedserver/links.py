"""Stage ②: find online-meeting links (Zoom, Teams, Meet, Webex, Jitsi, webcasts) in event text.

Event text comes from calendars, CMS pages and forwarded invitations, and it is messy: HTML with
``&amp;``, Outlook's ``text<https://…>``, Markdown, Google and SafeLinks redirect wrappers, and
scraped pages whose blocks were flattened without separators, so that a link runs straight into
the next label (``…pwd=AbC.1Location: Room 132``). A mangled link is a missed meeting, so every
step below cuts only where the evidence is clear:

1. HTML is flattened: each ``<a href>`` becomes its href (the anchor text is dropped when it is
   itself a URL), block tags become line breaks, entities are decoded.
2. URL candidates are runs of URL characters that start with ``http(s)://`` or, without a scheme,
   with a meeting provider's domain (``zoom.us/j/…``). A second scheme glued to the first URL
   starts a new candidate.
3. Each candidate is cut before a glued label (see :func:`_cut_glued_label`), loses trailing
   punctuation (a ``)`` stays when it closes a ``(`` of the URL), has its entities decoded and its
   redirect wrapper removed.
4. The provider is recognised from host and path; rigid ids (Zoom's digits, Meet's
   ``abc-defg-hij``, Teams' JSON context) also end the URL where the id ends. Any other URL counts
   only when a label such as ``Webcast:`` or ``Livestream:`` introduces it.
5. Occurrences of one meeting (same Zoom id, same Teams thread, …) are merged; the variant with a
   ``pwd=`` and otherwise the longest one is kept. Meeting id, passcode and dial-in are read from
   the text after each occurrence up to the next link (and, for the first link of a text, from
   just before it); a "Meeting ID" there that contradicts the link's own id means the details
   belong to another meeting, and none are taken.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = ["LABELS", "MeetingLink", "find_meeting_links", "strip_meeting_details"]

#: Human label of each provider.
LABELS = {
    "zoom": "Zoom",
    "teams": "Microsoft Teams",
    "meet": "Google Meet",
    "webex": "Webex",
    "jitsi": "Jitsi Meet",
    "webcast": "Webcast",
}


@dataclass(frozen=True)
class MeetingLink:
    """One online meeting found in event text."""

    url: str  # cleaned, canonical (https, entities decoded, trailing junk removed)
    provider: str  # "zoom", "teams", "meet", "webex", "jitsi", "webcast"
    label: str  # "Zoom", "Microsoft Teams", "Google Meet", "Webex", "Jitsi Meet", "Webcast"
    meeting_id: str | None = None
    passcode: str | None = None
    dial_in: str | None = None


@dataclass(frozen=True)
class _Target:
    """A classified URL: what meeting it reaches and how good this spelling of it is."""

    url: str
    provider: str
    key: tuple[str, str]  # equal for every spelling of one meeting
    meeting_id: str | None
    rank: tuple[int, int, int]  # higher is the better variant to publish


@dataclass(frozen=True)
class _Occurrence:
    text: int
    start: int
    end: int
    target: _Target


# --- scanning ---------------------------------------------------------------------------------

_PROVIDER_DOMAINS = (
    r"zoom\.us|zoomgov\.com|teams\.microsoft\.com|teams\.live\.com|meet\.google\.com"
    r"|webex\.com|meet\.jit\.si|8x8\.vc"
)
# RFC 3986 characters minus the brackets and quotes that enclose URLs in prose; ( ) stay because
# Wikipedia-style paths use them (a closing one without an opening one is trimmed later).
_URL_CHARS = r"[A-Za-z0-9\-._~:/?#@!$&*+,;=%()]"
_URL_RUN = re.compile(
    rf"(?:(?i:https?)://|(?<![\w.@/-])(?=(?i:(?:[a-z0-9-]+\.)*(?:{_PROVIDER_DOMAINS}))/))"
    rf"{_URL_CHARS}+"
)
# Where _URL_RUN can start: before "://", or at the host in front of a provider domain + "/".
_PROVIDER_NEEDLES = tuple(d.replace("\\", "") + "/" for d in _PROVIDER_DOMAINS.split("|"))
_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-.")
# The characters that re's IGNORECASE matches with ASCII letters (İ ı ſ K): on text without them,
# a lower-cased ASCII copy shows every place a run can start.
_FOLDS_TO_ASCII = re.compile("[\u0130\u0131\u017f\u212a]")
_GLUED_SCHEME = re.compile(r"(?<=[A-Za-z0-9.])(?i:https?)://")
_TRAILING_ENTITY = re.compile(r"&(?:quot|apos|gt|lt|amp|nbsp|#34|#39|#62|#x22|#x27|#x3e);$", re.I)
_TRAILING_JUNK = ".,;:!?*&#'\""
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")

# Words that start a field ("Location: …") on event pages and in invitations. A URL that runs
# into one of them followed by ":" was glued to the next field when the page was flattened.
_FIELD_WORDS = frozenset(
    """
    abstract access address admission agenda audience audiences bio biography building calendar
    campus categories category contact contacts cost date department description details dial
    duration email end event events format host hosted hosts id info information join language
    lecture link location locations meeting moderator more note notes online organiser organizer
    organizers panelists parking passcode password phone pin place presenter presenters price
    recording register registration room rsvp seminar series slides speaker speakers sponsor
    sponsors start stream summary tags talk tel telephone tickets time title topic type venue
    virtual webcast webinar website when where zoom
    """.split()
)
# Invitation lines that follow a join URL without a colon.
_FIELD_PHRASES = (
    "Call in (audio only)",
    "Dial by your location",
    "Dial in by phone",
    "Download Teams",
    "Find a local number",
    "Find your local number",
    "International numbers",
    "Join Zoom Meeting",
    "Join Zoom Webinar",
    "Join by phone",
    "Join by SIP",
    "Join by H.323",
    "Join on your computer",
    "Join the meeting now",
    "Join with Google Meet",
    "Learn More",
    "Meeting ID",
    "Meeting number",
    "Meeting password",
    "Microsoft Teams",
    "More phone numbers",
    "One tap mobile",
    "Or One tap mobile",
    "Or call in",
    "Or dial",
    "Or Telephone",
    "Phone Conference ID",
    "Phone conference ID",
    "Webinar ID",
)
_CAPITALISED = re.compile(r"(?:[A-Z][a-z]+|[A-Z]{2,})(?:-[a-z]+)?[ \t]*:(.?)", re.S)
_GENERIC_LABEL = re.compile(r"[A-Z][a-z]{2,}:")


def _decode_entities(text: str) -> str:
    """Decode character references that end with ``;``.

    ``html.unescape`` also decodes legacy names without the semicolon, which would turn a URL's
    ``&param=1`` into ``¶m=1``; a double-escaped ``&amp;amp;`` (common in CMS output) is decoded
    fully.

    >>> _decode_entities("j/1?pwd=a.1&amp;amp;from=addon&param=2&#x2F;")
    'j/1?pwd=a.1&from=addon&param=2/'
    """
    if "&" not in text:  # most text: no reference to decode
        return text
    for _ in range(3):
        decoded = _ENTITY.sub(lambda m: html.unescape(m.group()), text)
        if decoded == text:
            break
        text = decoded
    return text


def _path_start(url: str) -> int:
    """Index where the URL's path (or query) begins, ``len(url)`` when it has none."""
    host = url.find("://")
    host = host + 3 if host >= 0 else 0
    for i in range(host, len(url)):
        if url[i] in "/?#":
            return i
    return len(url)


def _glued_label_at(text: str, i: int) -> bool:
    """Whether a field label glued to preceding text starts at ``text[i]`` (``i > 0``)."""
    rest = text[i : i + 64]
    if rest.startswith(_FIELD_PHRASES):
        return True
    label = _CAPITALISED.match(rest)
    if label is None:
        return False
    # A field's colon is followed by a space; right after "/" or "=" a "Word:x" is part of the
    # URL (wiki/Talk:Main_Page).
    spaced = not label[1] or label[1].isspace()
    if not spaced and text[i - 1] in "/:=?&#":
        return False
    if re.split(r"[^A-Za-z]", label.group(), maxsplit=1)[0].lower() in _FIELD_WORDS:
        return True
    # An unknown "Word:" counts only right after a digit, where a Zoom id or a pwd token ended;
    # after a letter it may be part of a name ("…/my/DrSmith: office hours").
    return spaced and bool(_GENERIC_LABEL.match(rest)) and text[i - 1].isdigit()


def _cut_glued_label(url: str, after: str = "", start: int | None = None) -> str:
    """``url`` cut before the first field label glued to it, searched from its path on.

    ``after`` is the text that follows the URL (the label may continue there: ``Meeting`` +
    `` ID: 986…``). The first label wins: everything after it is the next field's text.

    >>> _cut_glued_label("https://usc.zoom.us/j/98648507063?pwd=kORhNLFVMLol7FYlHv6TsAmqcKqD7t.1Location:")
    'https://usc.zoom.us/j/98648507063?pwd=kORhNLFVMLol7FYlHv6TsAmqcKqD7t.1'
    >>> _cut_glued_label("https://zoom.us/j/123456789Meeting", " ID: 123 456 789")
    'https://zoom.us/j/123456789'
    >>> _cut_glued_label("https://meet.jit.si/HillsideReading:", " weekly")
    'https://meet.jit.si/HillsideReading:'
    """
    joined = url + after[:60]
    first = _path_start(url) + 1 if start is None else start
    for i in range(first, len(url)):
        if url[i].isupper() and not url[i - 1].isspace() and _glued_label_at(joined, i):
            return url[:i]
    return url


def _strip_trailing(url: str) -> str:
    """``url`` without the punctuation, quotes and unmatched brackets that end sentences.

    >>> _strip_trailing("https://en.example/wiki/Talk_(2026)).")
    'https://en.example/wiki/Talk_(2026)'
    >>> _strip_trailing("https://zoom.us/j/1?pwd=a.1&quot;,")
    'https://zoom.us/j/1?pwd=a.1'
    """
    while url:
        # (the pattern ends in "$", which also matches before a final newline)
        entity = _TRAILING_ENTITY.search(url) if url.endswith((";", ";\n")) else None
        if entity:
            url = url[: entity.start()]
        elif url[-1] in _TRAILING_JUNK:
            url = url[:-1]
        elif url[-1] == ")" and url.count(")") > url.count("("):
            url = url[:-1]
        else:
            break
    return url


def _url_runs(text: str) -> Iterator[re.Match[str]]:
    """``_URL_RUN.finditer(text)``, with the search started where a run can begin.

    The pattern's provider-domain lookahead is tried at every word of the text (~80 µs for a
    1,000-character description); ``str.find`` of "://" and of the domains is far cheaper.
    """
    if text.isascii():
        shadow = text.lower()  # same length: indexes carry over
    elif _FOLDS_TO_ASCII.search(text):
        yield from _URL_RUN.finditer(text)
        return
    else:
        shadow = text.encode("ascii", "replace").decode().lower()
    pos = 0
    while (start := _run_start(shadow, pos)) >= 0:
        run = _URL_RUN.search(text, start)
        if run is None:
            return
        yield run
        pos = run.end()


def _run_start(shadow: str, pos: int) -> int:
    """No later than the first place at or after ``pos`` where _URL_RUN can match (-1: none)."""
    found = shadow.find("://", pos)
    start = max(pos, found - 5) if found >= 0 else -1
    for needle in _PROVIDER_NEEDLES:
        at = shadow.find(needle, pos)
        if at < 0:
            continue
        while at > pos and shadow[at - 1] in _HOST_CHARS:  # back to the start of the host
            at -= 1
        start = at if start < 0 else min(start, at)
    return start


def _candidates(text: str) -> Iterator[tuple[int, int, str]]:
    """``(start, end, raw)`` for each URL-like run in ``text``, cleaned of glued text."""
    for run in _url_runs(text):
        cuts = [0] + [m.start() for m in _GLUED_SCHEME.finditer(run.group())] + [len(run.group())]
        for a, b in zip(cuts, cuts[1:], strict=False):
            start = run.start() + a
            piece = run.group()[a:b]
            cleaned = _strip_trailing(_cut_glued_label(piece, text[start + len(piece) :]))
            if re.search(r"(?i)[?&]context=$", cleaned):
                # Teams' context shown decoded ({"Tid":"…"}): its braces and quotes end the run.
                context = re.match(r"\{[^\s{}<>]*\}", text[start + len(cleaned) :])
                cleaned += context.group() if context else ""
            if cleaned:
                yield start, start + len(cleaned), cleaned


# --- labels that make an ordinary URL a webcast ------------------------------------------------

_WEBCAST_LABEL = re.compile(
    r"""(?ix)(?<![a-z])
    (?: (?:zoom\s+|online\s+|virtual\s+)?(?:web\s?cast|live\s?stream(?:ing)?|stream(?:ing)?)
          (?:\s+(?:link|url))?
      | watch\s+(?:online|live|here|the\s+(?:livestream|stream|webcast))
      | join\s+(?:online|here|us\s+online|virtually)
      | join(?:\s+(?:link|url))?
      | (?:online|virtual|remote)(?:\s+(?:link|url|access|participation|attendance))?
      | zoom(?:\s+(?:meeting|webinar))?(?:\s+(?:link|url))?
      | (?:meeting|webinar|video|teams)\s+(?:link|url)
    )
    [ \t]*:[ \t]*(?:\r?\n[ \t]*)?[<(\[]?[ \t]*$"""
)
_FIELD_START_AFTER = "\n.;|*>)]:!?-\u2013\u2014\u2022\u00b7("


def _label_before(text: str, start: int) -> int | None:
    """Where the webcast label that introduces the URL at ``start`` begins, if there is one.

    The label must begin a field: at the start of a line, after field punctuation, or glued
    (capitalised) to the previous field; "Registration online: <form>" is not a label.
    """
    lo = max(0, start - 120)
    window = text[lo:start]
    pos = 0
    while match := _WEBCAST_LABEL.search(window, pos):
        at = lo + match.start()
        before = text[:at].rstrip(" \t\u00a0")
        if (
            not before
            or before[-1] in _FIELD_START_AFTER
            or (text[at].isupper() and at > 0 and text[at - 1].isalnum())
        ):
            return at
        pos = match.start() + 1
    return None


# --- HTML ---------------------------------------------------------------------------------------

_TAG_NAME_END = r"(?=[\s/>])"
_HTML_HINT = re.compile(
    r"</?(?:a|p|div|br|span|li|ul|ol|table|tr|td|th|b|i|u|strong|em|font|html|body|h[1-6]|img"
    rf"|hr|blockquote|pre|section|article){_TAG_NAME_END}[^<>]*>",
    re.I,
)
_HIDDEN = re.compile(r"<!--|<script\b|<style\b")
_HIDDEN_END = {"<!--": "-->", "<script": "</script>", "<style": "</style>"}
# Bounded so that markup full of unclosed tags costs linear time.
_ANCHOR = re.compile(r"<a\s([^<>]*)>(.{0,4000}?)</a\s*>", re.I | re.S)
_HREF = re.compile(r"""\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'<>]+))""", re.I)
_BLOCK_TAG = re.compile(
    r"<(?:br|/?p|/?div|/?li|/?tr|/?td|/?th|/?h[1-6]|/?table|/?ul|/?ol|hr|/?blockquote|/?pre|/?section"
    rf"|/?article){_TAG_NAME_END}[^<>]*>",
    re.I,
)
# A tag name must end at a space, "/" or ">": Outlook's <https://…> is not a tag.
_ANY_TAG = re.compile(rf"</?[A-Za-z][A-Za-z0-9]*{_TAG_NAME_END}[^<>]*>", re.S)
_LOOKS_LIKE_URL = re.compile(r"(?i)(?:https?://|www\.|[\w-]+(?:\.[\w-]+)+/)\S*")


def _looks_like_html(text: str) -> bool:
    """
    >>> _looks_like_html('<p>Join: <a href="https://zoom.us/j/1">here</a></p>')
    True
    >>> _looks_like_html("Join the meeting now<https://teams.microsoft.com/meet/1>")
    False
    """
    return bool(_HTML_HINT.search(text))


def _drop_hidden(markup: str) -> str:
    """``markup`` without comments, scripts and styles, in linear time even when one is unclosed.

    >>> _drop_hidden("a<!--[if mso]>x<![endif]-->b<style>p{}</style>c<!-- d")
    'a b c<!-- d'
    """
    lower = markup.lower()
    out, pos = [], 0
    for opener in _HIDDEN.finditer(lower):
        if opener.start() < pos:
            continue
        end = lower.find(_HIDDEN_END[opener.group()], opener.end())
        if end < 0:
            break
        out.append(markup[pos : opener.start()] + " ")
        pos = end + len(_HIDDEN_END[opener.group()])
    return "".join(out) + markup[pos:]


def _html_to_text(markup: str, bare: Callable[[str], bool] | None = None) -> str:
    """Plain text of ``markup``. Without ``bare`` each link reads ``href text`` (so that a label
    before the anchor stays right before its URL); with it, links for which ``bare(href)`` holds
    read ``href`` and the others ``text (href)``."""

    def anchor(match: re.Match[str]) -> str:
        href_match = _HREF.search(match.group(1))
        href = next((g for g in href_match.groups() if g is not None), "") if href_match else ""
        href = _decode_entities(href).strip()
        inner = " ".join(_decode_entities(_ANY_TAG.sub("", match.group(2))).split())
        if not re.match(r"(?i)https?://", href):
            return f" {inner} "
        if not inner or _LOOKS_LIKE_URL.fullmatch(inner) or (bare is not None and bare(href)):
            return f" {href} "
        return f" {href} {inner} " if bare is None else f" {inner} ({href}) "

    text = _ANCHOR.sub(anchor, _drop_hidden(markup))
    text = _ANY_TAG.sub("", _BLOCK_TAG.sub("\n", text))
    text = _decode_entities(text).replace("\r\n", "\n")
    lines = (" ".join(line.replace("\u00a0", " ").split()) for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# --- providers -----------------------------------------------------------------------------------


def _zoom_id(digits: str) -> str:
    """A Zoom meeting id in Zoom's own grouping.

    >>> _zoom_id("98648507063"), _zoom_id("1234567890"), _zoom_id("123456789")
    ('986 4850 7063', '123 456 7890', '123 456 789')
    """
    groups = {9: (3, 3, 3), 10: (3, 3, 4), 11: (3, 4, 4), 12: (4, 4, 4)}.get(len(digits))
    if groups is None:
        return digits
    out, i = [], 0
    for size in groups:
        out.append(digits[i : i + size])
        i += size
    return " ".join(out)


def _threes(digits: str) -> str:
    """
    >>> _threes("231476587921")
    '231 476 587 921'
    """
    return " ".join(digits[i : i + 3] for i in range(0, len(digits), 3))


def _end_after_id(tail: str, end: int) -> str:
    """``tail`` cut at ``end`` when what follows the id there cannot continue the URL."""
    return tail[:end] if tail[end : end + 1] not in ("", "/", "?", "#") else tail


def _split_tail(tail: str) -> tuple[str, str]:
    """(path, query) of a URL's tail."""
    path = re.split(r"[?#]", tail, maxsplit=1)[0]
    query = tail[len(path) + 1 :].split("#", 1)[0] if tail[len(path) : len(path) + 1] == "?" else ""
    return path, query


def _zoom(tail: str) -> tuple[str, str, str | None, int] | None:
    number = re.match(r"/(j|w|s|wc/join|wc)/(\d{9,12})(?!\d)", tail)
    if number:
        # A start link (/s/) carries the host's token: publish a join link when there is one.
        return (
            _end_after_id(tail, number.end()),
            number[2],
            _zoom_id(number[2]),
            int(number[1] != "s"),
        )
    vanity = re.match(r"/my/([A-Za-z0-9._-]+)", tail)
    if vanity:
        return tail, "my/" + vanity[1].lower(), None, 1
    register = re.match(r"/(?:webinar|meeting)/register/[^?#]+", tail)
    if register:
        return tail, register.group(), None, 1
    return None


def _teams(tail: str) -> tuple[str, str, str | None, int] | None:
    path, _ = _split_tail(tail)
    if path.startswith("/l/meetup-join/"):
        tail = tail.replace("{", "%7b").replace("}", "%7d").replace('"', "%22")
        lowered = tail.lower()
        close = lowered.rfind("%7d")
        # The JSON context ends the URL; text glued after its closing brace is not part of it.
        if "context=" in lowered and close > lowered.find("context="):
            tail = _end_after_id(tail, close + 3) if tail[close + 3 : close + 4] != "&" else tail
        return tail, unquote(_split_tail(tail)[0]), None, 1
    meet = re.match(r"/meet/(\d{6,20})(?!\d)", tail)
    if meet:
        return _end_after_id(tail, meet.end()), meet[1], _threes(meet[1]), 1
    return None


def _meet(tail: str) -> tuple[str, str, str | None, int] | None:
    code = re.match(r"/([a-z]{3}-[a-z]{4}-[a-z]{3})(?![a-z])", tail)
    if code:
        return _end_after_id(tail, code.end()), code[1], code[1], 1
    lookup = re.match(r"/lookup/[A-Za-z0-9_-]+", tail)
    if lookup:
        return tail, lookup.group(), None, 1
    return None


def _webex(tail: str, host: str) -> tuple[str, str, str | None, int] | None:
    path, query = _split_tail(tail)
    mtid = next((v[0] for k, v in parse_qs(query).items() if k.lower() == "mtid"), None)
    if mtid and (path.endswith(".php") or path.startswith("/wbxmjs/")):
        return tail, mtid.lower(), None, 1
    if re.fullmatch(r"(?:/[^/]+)?/(?:meet|join)/[^/]+/?", path):
        return tail, host + path.lower().rstrip("/"), None, 1
    if path.startswith("/wbxmjs/joinservice/") or re.search(r"/(?:k2/)?[je]\.php$", path):
        return tail, host + path + "?" + query, None, 1
    return None


def _jitsi(tail: str, host: str) -> tuple[str, str, str | None, int] | None:
    path, _ = _split_tail(tail)
    if path.strip("/"):
        return tail, host + path.lower().rstrip("/"), None, 1
    return None


def _unwrap(url: str) -> str:
    """The target of an Outlook SafeLinks or Google redirect URL; other URLs unchanged.

    >>> _unwrap("https://nam12.safelinks.protection.outlook.com/?url=https%3A%2F%2Fhillside"
    ...         ".zoom.us%2Fj%2F98648507063%3Fpwd%3Dab.1&data=05%7C02&reserved=0")
    'https://hillside.zoom.us/j/98648507063?pwd=ab.1'
    """
    # urlsplit (which drops tabs and line breaks) only for a URL that can be a wrapper
    probe = url.lower().replace("\t", "").replace("\r", "").replace("\n", "")
    if "safelinks.protection.outlook.com" not in probe and "google.com" not in probe:
        return url
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return url
    if host.endswith(".safelinks.protection.outlook.com"):
        name = "url"
    elif host in ("www.google.com", "google.com") and parts.path == "/url":
        name = "q"
    else:
        return url
    values = parse_qs(parts.query).get(name)
    return values[0] if values and re.match(r"(?i)https?://", values[0]) else url


def _classify(raw: str) -> _Target | None:
    """What the URL candidate ``raw`` reaches: a provider's meeting, or (provider "webcast") any
    other web page, which counts only where a label introduces it."""
    url = _unwrap(_strip_trailing(_decode_entities(raw)))
    scheme_match = re.match(r"(?i)(https?)://", url)
    rest = url[scheme_match.end() :] if scheme_match else url
    split = _path_start(rest)
    host, tail = rest[:split].lower(), rest[split:]
    hostname = host.rsplit(":", 1)[0] if re.search(r":\d+$", host) else host
    if not re.fullmatch(r"[a-z0-9-]+(?:\.[a-z0-9-]+)+", hostname):
        return None
    found: tuple[str, str, str | None, int] | None
    if re.fullmatch(r"(?:[a-z0-9-]+\.)*(?:zoom\.us|zoomgov\.com)", hostname):
        provider, found = "zoom", _zoom(tail)
    elif hostname in ("teams.microsoft.com", "teams.live.com"):
        provider, found = "teams", _teams(tail)
    elif hostname == "meet.google.com":
        provider, found = "meet", _meet(tail)
    elif hostname == "webex.com" or hostname.endswith(".webex.com"):
        provider, found = "webex", _webex(tail, hostname)
    elif hostname in ("meet.jit.si", "8x8.vc"):
        provider, found = "jitsi", _jitsi(tail, hostname)
    else:
        found = None
    if found is not None:
        tail, key, meeting_id, path_rank = found
        canonical = f"https://{host}{tail}"
        has_pwd = int(bool(re.search(r"(?i)[?&](?:pwd|p)=", tail)))
        return _Target(
            canonical, provider, (provider, key), meeting_id, (path_rank, has_pwd, len(canonical))
        )
    if scheme_match is None:
        return None
    canonical = f"{scheme_match[1].lower()}://{host}{tail}"
    key = canonical.split("#", 1)[0].rstrip("/")
    return _Target(canonical, "webcast", ("webcast", key), None, (1, 0, len(canonical)))


# --- meeting id, passcode, dial-in ---------------------------------------------------------------

_MEETING_ID = re.compile(
    r"(?i)(?<![a-z])(?:(?:meeting|webinar)\s+(?:id|number)(?:\s*\(access\s+code\))?|access\s+code)"
    r"[ \t]*[:#][ \t]*(\d+(?:[ \t\u00a0-]\d+)*)"
)
_PASSCODE = re.compile(
    r"(?i)(?<![a-z])(?:(?:meeting|webinar|numeric)[ \t]+)?(?:passcode|password|pass[ \t]+code)"
    r"[ \t]*:[ \t]*(\S+)"
)
_NOT_MEETING_PASSWORD = re.compile(r"(?i)(?:wi-?fi|wireless|network|eduroam|guest)\W*$")
_PASSCODE_NON_VALUES = frozenset({"see", "none", "n/a", "tba", "tbd", "required", "provided"})
_DIAL_HEADER = re.compile(r"(?i)\b(?:one tap mobile|dial|call[- ]in|by phone|telephone|audio only)")
_DIAL_NUMBER = re.compile(
    r"(?:(?P<pre>[^:\n\d+]{1,40}):[ \t]*)?"
    r"(?P<num>(?:\([A-Za-z]{2,3}\)[ \t]*)?(?P<plus>\+)?[ \t]?\d[\d \t.()/-]*\d)(?P<tail>.*)$"
)
_NOT_DIAL_LABEL = re.compile(r"(?i)\b(?:id|code|pin|passcode|password)\b")


def _passcodes(region: str) -> Iterator[re.Match[str]]:
    """Meeting passcode fields in ``region`` (not a Wi-Fi password)."""
    for match in _PASSCODE.finditer(region):
        if not _NOT_MEETING_PASSWORD.search(region[max(0, match.start() - 16) : match.start()]):
            yield match


def _passcode_value(match: re.Match[str], region: str) -> str | None:
    value = _cut_glued_label(match[1], region[match.end() :], start=1)
    value = value.rstrip(".,;")
    if value.endswith(")") and value.count(")") > value.count("("):
        value = value[:-1]
    return value if value and value.lower() not in _PASSCODE_NON_VALUES else None


def _dial_line(line: str, in_dial: bool) -> str | None:
    """The dial-in number (with what follows it on the line) that ``line`` carries, if any.

    A number counts after a dial-in header (``in_dial``), behind a dial-in label, or when it has
    Zoom/Teams one-tap or PIN syntax (``,,`` or ``#``); a plain ``+1 213 …`` is someone's phone.

    >>> _dial_line("  • +1 669 900 6833 US (San Jose)", True)
    '+1 669 900 6833 US (San Jose)'
    >>> _dial_line("+1 323-555-0100,,123456789#<tel:+13235550100,,123456789#>  Los Angeles", False)
    '+1 323-555-0100,,123456789# Los Angeles'
    >>> _dial_line("Contact: +1 213 555 0100", True) is None
    True
    """
    stripped = line.strip(" \t\u00a0\u2022\u00b7*>-\u2013")
    match = _DIAL_NUMBER.match(stripped)
    if match is None:
        return None
    pre, num, tail = match["pre"], match["num"], match["tail"]
    if pre and (not _DIAL_HEADER.search(pre) or _NOT_DIAL_LABEL.search(pre)):
        return None
    if sum(c.isdigit() for c in num) < 8 or re.fullmatch(r"\d{1,3}(?:\.\d{1,3}){3}", num):
        return None
    if not (match["plus"] or pre or in_dial):
        return None
    if not (in_dial or pre or ",," in tail or "#" in tail):
        return None
    value = re.sub(r"<[a-z]+:[^<>]*>", " ", stripped[match.start("num") :])
    value = _cut_glued_label(" ".join(value.split()), start=1)
    return value or None


def _dial_lines(lines: Sequence[str]) -> Iterator[str | None]:
    """For each line, its dial-in number or None; a dial-in header holds until ordinary text."""
    in_dial = False
    for line in lines:
        value = _dial_line(line, in_dial)
        yield value
        if _DIAL_HEADER.search(line):
            in_dial = True
        elif (
            in_dial  # (the searches below can only end a dial-in block)
            and value is None
            and line.strip()
            and not _MEETING_ID.search(line)
            and not _PASSCODE.search(line)
        ):
            in_dial = False


def _details(region: str, target: _Target) -> tuple[str | None, str | None, str | None]:
    """(meeting id as written, passcode, dial-in) found in ``region``."""
    words = _detail_words(region)  # each search only where its words are: prose has none
    id_match = _MEETING_ID.search(region) if words & _ID_WORDS else None
    text_id = " ".join(re.split(r"[ \t\u00a0]+", id_match[1])) if id_match else None
    if text_id and target.meeting_id:
        if re.sub(r"\D", "", text_id) != re.sub(r"\D", "", target.meeting_id):
            # The details belong to another meeting (one without a link here).
            return None, None, None
    passcode = None
    if "pass" in words:
        passcode = next(
            (v for m in _passcodes(region) if (v := _passcode_value(m, region)) is not None), None
        )
    dial_in = None
    # A dial-in number needs a "+" or a dial-in header (its label is one too).
    if "+" in region or words & _DIAL_WORDS:
        dial_in = next((v for v in _dial_lines(region.split("\n")) if v), None)
    return text_id, passcode, dial_in


# The words one of _MEETING_ID, _PASSCODE and _DIAL_HEADER needs to match.
_ID_WORDS = frozenset(("meeting", "webinar", "access"))
_DIAL_WORDS = frozenset(("one tap mobile", "dial", "call", "phone", "audio only"))
_DETAIL_WORDS = frozenset((*_ID_WORDS, "pass", *_DIAL_WORDS))


def _detail_words(region: str) -> frozenset[str]:
    """Which of _DETAIL_WORDS ``region`` holds, in any case; all of them when it holds one of
    the characters re's IGNORECASE matches with ASCII letters (İ ı ſ K)."""
    if _FOLDS_TO_ASCII.search(region):
        return _DETAIL_WORDS
    lowered = region.lower()
    return frozenset(w for w in _DETAIL_WORDS if w in lowered)


def _format_text_id(provider: str, text_id: str) -> str:
    digits = re.sub(r"\D", "", text_id)
    return _zoom_id(digits) if provider == "zoom" and 9 <= len(digits) <= 12 else text_id


# --- public API -----------------------------------------------------------------------------------

_AFTER_LIMIT = 2500
_BEFORE_LIMIT = 600


def _prepare(text: str) -> str:
    return _html_to_text(text) if _looks_like_html(text) else text.replace("\r\n", "\n")


def _occurrences(prepared: Sequence[str]) -> list[_Occurrence]:
    found: list[tuple[_Occurrence, bool]] = []
    for index, text in enumerate(prepared):
        for start, end, raw in _candidates(text):
            target = _classify(raw)
            if target is not None:
                labelled = _label_before(text, start) is not None
                found.append((_Occurrence(index, start, end, target), labelled))
    webcasts = {o.target.key for o, labelled in found if labelled}
    return [o for o, _ in found if o.target.provider != "webcast" or o.target.key in webcasts]


def find_meeting_links(*texts: str) -> list[MeetingLink]:
    """Every distinct meeting in the given texts (plain text or HTML), in order of first appearance.

    >>> [link.url for link in find_meeting_links("Join: <https://hillside.zoom.us/j/91234567890>.")]
    ['https://hillside.zoom.us/j/91234567890']
    """
    prepared = [_prepare(text) for text in texts]
    occurrences = _occurrences(prepared)
    best: dict[tuple[str, str], _Target] = {}
    details: dict[tuple[str, str], list[str | None]] = {}
    by_text: dict[int, list[_Occurrence]] = {}
    for occ in occurrences:
        by_text.setdefault(occ.text, []).append(occ)
    for index, found in by_text.items():
        text = prepared[index]
        for i, occ in enumerate(found):
            key = occ.target.key
            if key not in best or occ.target.rank > best[key].rank:
                best[key] = occ.target
            # Up to the next link: text after a repeat of this link is that repeat's region.
            stop = found[i + 1].start if i + 1 < len(found) else len(text)
            regions = [text[occ.end : min(stop, occ.end + _AFTER_LIMIT)]]
            if i == 0:
                regions.append(text[max(0, occ.start - _BEFORE_LIMIT) : occ.start])
            slot = details.setdefault(key, [None, None, None])
            for region in regions:
                for n, value in enumerate(_details(region, occ.target)):
                    slot[n] = slot[n] or value
    links = []
    for key, target in best.items():
        text_id, passcode, dial_in = details[key]
        meeting_id = target.meeting_id or (
            _format_text_id(target.provider, text_id) if text_id else None
        )
        links.append(
            MeetingLink(
                target.url, target.provider, LABELS[target.provider], meeting_id, passcode, dial_in
            )
        )
    return links


_BOILERPLATE = re.compile(
    r"""(?ix)^[\s\u2022\u00b7*>-]*(?:
        join\ zoom\ (?:meeting|webinar)
      | (?:or\ )?join\ (?:the\ )?(?:meeting|webinar)(?:\ now)?\s*:?
      | join\ with\ google\ meet\s*:?
      | microsoft\ teams(?:\ meeting)?(?:\ need\ help\?.*)?
      | join\ on\ your\ computer,?\ mobile\ app\ or\ room\ device
      | click\ here\ to\ join\ the\ meeting
      | please\ click\ the\ link\ below\ to\ join\ the\ (?:webinar|meeting)\s*:?
      | (?:or\ )?join\ by\ (?:phone|sip|h\.?323|video\ system|skype\ for\ business).*
      | (?:or\ )?one\ tap\ mobile\s*:?
      | dial\ by\ your\ location
      | (?:or\ )?dial\ in\ by\ phone
      | (?:or\ )?call\ in\ \(audio\ only\)
      | or\ telephone\s*:?
      | dial\s*\(for\ higher\ quality.*
      | dial\ \S+@\S+
      | find\ (?:a|your)\ local\ number.*
      | international\ numbers\ available.*
      | more\ phone\ numbers.*
      | phone\ conference\ id\s*:.*
      | (?:dial-in\ )?pin\s*:.*
      | reset\ (?:dial-in\ )?pin.*
      | for\ organizers:.*
      | learn\ more\s*(?:<[^<>]*>)?\s*\|\s*meeting\ options.*
      | download\ teams.*\|.*join\ on\ the\ web.*
      | \S+@zoomcrc\.com
      | \d{1,3}(?:\.\d{1,3}){3}(?:\s+\(.*\))?
      | please\ do\ not\ edit\ this\ section\ of\ the\ description\.?
      | learn\ more\ about\ meet\ at\s*:.*
    )\s*$"""
)
_JOIN_INTRO = re.compile(
    r"(?i)(?:join zoom (?:meeting|webinar)|click here to join the meeting|join the meeting now"
    r"|join with google meet\s*:?|join (?:the )?(?:meeting|webinar)\s*:)[ \t]*[<(\[]?[ \t]*$"
)
_SEPARATOR = re.compile(r"[\s\-_=*~:\u2022\u00b7]{3,}")
_CLOSERS = {"<": ">", "(": ")", "[": "]"}


def _without_urls(text: str, keys: set[tuple[str, str]]) -> str:
    """``text`` without the URLs of the meetings in ``keys`` and the labels that introduce them."""
    out, pos = [], 0
    for start, end, raw in _candidates(text):
        target = _classify(raw)
        if target is None or target.key not in keys or start < pos:
            continue
        line_start = text.rfind("\n", 0, start) + 1
        cut = _label_before(text, start)
        if cut is None:
            intro = _JOIN_INTRO.search(text, max(line_start, start - 80), start)
            cut = intro.start() if intro else start
        opener = text[cut:start].rstrip(" \t")[-1:] if cut < start else text[start - 1 : start]
        if opener in _CLOSERS and text[end : end + 1] == _CLOSERS[opener]:
            end += 1
            if cut == start:
                cut -= 1
        # Keep the line count: the caller pairs each line with the original one.
        out.append(text[pos:cut] + "\n" * text.count("\n", cut, end))
        pos = end
    out.append(text[pos:])
    return "".join(out)


def strip_meeting_details(text: str, links: Sequence[MeetingLink]) -> str:
    """The text with the meeting links, passcodes and dial-in blocks removed (for sources that must
    not publish them): used for `online_links = "omit"`.

    The rest of the text is kept line for line; lines left with only a label or punctuation are
    dropped, and invitation boilerplate ("One tap mobile", "Join by SIP", Teams' footer lines) is
    dropped with the numbers. HTML comes back as plain text (other links read ``text (url)``).

    >>> strip_meeting_details("Talk.\\nZoom: https://zoom.us/j/123456789\\nPasscode: 42x",
    ...                       find_meeting_links("https://zoom.us/j/123456789"))
    'Talk.'
    """
    if not links:
        return text
    keys = {t.key for link in links if (t := _classify(link.url)) is not None}
    if _looks_like_html(text):
        text = _html_to_text(text, bare=lambda href: getattr(_classify(href), "key", None) in keys)
    original = text.replace("\r\n", "\n").split("\n")
    stripped = _without_urls("\n".join(original), keys).split("\n")
    kept: list[str] = []
    for before, line, dial in zip(original, stripped, _dial_lines(stripped), strict=True):
        if dial is not None or _BOILERPLATE.match(line):
            continue
        fields = sorted([*_passcodes(line), *_MEETING_ID.finditer(line)], key=lambda m: m.start())
        for match in reversed(fields):
            line = line[: match.start()] + line[match.end() :]
        if line != before:
            line = re.sub(r"(?<=\w)[ \t]+(?=[.,;])", "", re.sub(r"[ \t]{2,}", " ", line)).strip()
            if re.fullmatch(r"[\W_]*|[^:]{1,40}:[\W_]*", line):
                continue
        kept.append(line)
    return _tidy(kept)


def _tidy(lines: list[str]) -> str:
    """Join ``lines`` with single blank lines and no separator that separates nothing."""
    out: list[str] = []
    for line in lines:
        blank = not line.strip()
        if blank and (not out or not out[-1].strip()):
            continue
        if _SEPARATOR.fullmatch(line):
            previous = next((x for x in reversed(out) if x.strip()), None)
            if previous is None or _SEPARATOR.fullmatch(previous):
                continue
        out.append(line)
    while out and (not out[-1].strip() or _SEPARATOR.fullmatch(out[-1])):
        out.pop()
    return "\n".join(out).strip("\n")
