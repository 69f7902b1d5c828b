"""Stage ②: event content: meeting links, location and a full description, where clients show them.

Calendar clients each show different properties (README "Event content: where each client finds
the link"): every client shows LOCATION and DESCRIPTION, only some show URL, none shows
CONFERENCE, and Outlook prefers X-ALT-DESC (HTML). So :func:`enrich` finds the online meetings
anywhere in an event (``links.find_meeting_links``) and writes each fact where every client looks:

- DESCRIPTION: ``Join online: <url>`` (with meeting id, passcode and dial-in) first, then the
  text that maps to no field, then the labelled fields (Speaker, Talk Title, Abstract…) in one
  fixed order, then ``Event page: <url>``. HTML from upstream becomes plain text first.
- X-ALT-DESC: the same content as HTML with clickable links (htmltext.py), sanitized by nh3.
- CONFERENCE (RFC 7986 §5.11): one per meeting. LOCATION: the physical place, else the meeting
  link. URL: the event page, else the meeting link. CONTACT and ORGANIZER from the fields.

Its output is its own fixed point: enriching an enriched event changes no byte, so the store's
content hashes are stable and a feedserver feed can be the source of another.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import icalendar

from feedserver.config import Config, Source
from feedserver.htmltext import (
    EMAIL,
    adds_markup,
    field_html,
    html_to_text,
    inline_html,
    is_html,
    paragraphs_html,
    sanitize,
    tidy,
)
from feedserver.links import MeetingLink, find_meeting_links, strip_meeting_details

__all__ = ["enrich"]

JOIN = "Join online"
HIDDEN = "Online link: see event page"
PAGE = "Event page"

# Field key, whether its value may run over several paragraphs, and the labels that introduce it
# (as displayed; matched case-insensitively). The key order is the order of the description.
_FIELDS: tuple[tuple[str, bool, tuple[str, ...]], ...] = (
    (
        "speaker",
        False,
        (
            "Speaker", "Speakers", "Speaker(s)", "Guest Speaker", "Keynote Speaker", "Presenter",
            "Presenters", "Panelists", "PhD Candidate", "Candidate", "Instructor", "Instructors",
        ),
    ),
    (
        "title",
        False,
        ("Talk Title", "Title", "Seminar Title", "Lecture Title", "Thesis Title",
         "Dissertation Title"),
    ),
    ("committee", False, ("Advisor", "Advisors", "Committee")),
    ("abstract", True, ("Abstract", "Talk Abstract")),
    ("biography", True, ("Biography", "Bio", "Speaker Bio", "Speaker Biography",
                         "About the Speaker")),
    ("host", False, ("Host", "Hosts", "Host(s)", "Hosted by", "Organizer", "Organizers",
                     "Organiser")),
    ("location", False, ("Location", "Room", "Venue", "Where")),
    ("audiences", False, ("Audiences", "Audience")),
    ("contact", False, ("Contact", "Contacts", "Contact Information")),
    (
        "webcast",
        False,
        (
            "Webcast", "Webcast Link", "Webcast URL", "Livestream", "Live Stream", "Zoom",
            "Zoom Link", "Zoom Meeting", "Meeting Link", JOIN, "Join", "Join Remotely",
            "Remote Attendance", "Online",
        ),
    ),
    ("page", False, (PAGE, "Event URL", "Event Link", "Event Website", "More Information",
                     "More Info", "Details")),
)  # fmt: skip
_ORDER = {key: i for i, (key, _, _) in enumerate(_FIELDS)}
_LONG = {key for key, long, _ in _FIELDS if long}
_LABELS = {label.casefold(): (key, label) for key, _, labels in _FIELDS for label in labels}
_LABEL_ALT = "|".join(re.escape(label) for label in sorted(_LABELS, key=len, reverse=True))
_LINE_LABEL = re.compile(
    rf"[ \t]*(?:[-*\u2022\u00b7][ \t]*)?({_LABEL_ALT})[ \t]*:(?:[ \t]+|$)", re.IGNORECASE
)
# A label glued to the previous field when a page was flattened: "…pwd=AbC.1Location: Room 132".
_GLUED_LABEL = re.compile(rf"(?<=[A-Za-z0-9.)\]])({_LABEL_ALT})[ \t]*\Z", re.IGNORECASE)
_LABEL_LENGTHS = sorted({len(label) for label in _LABELS}, reverse=True)
_LABEL_TUPLE = tuple(_LABELS)
_GLUE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.)]")

# Properties where Google and Exchange exports put meeting links.
_MEETING_PROPS = (
    "X-GOOGLE-CONFERENCE",
    "X-MICROSOFT-SKYPETEAMSMEETINGURL",
    "X-MICROSOFT-ONLINEMEETINGCONFLINK",
    "X-MICROSOFT-ONLINEMEETINGEXTERNALLINK",
)
_DETAILED = ("zoom", "teams", "webex")  # providers whose meeting id people type in
_ONLINE_PLACE = re.compile(
    r"(?i)(?:online|virtual|remote|web|internet|zoom|teams|webex|google meet|jitsi"
    r"|microsoft teams|web ?cast|webinar|live ?stream|video ?conference)"
    r"(?: (?:meeting|webinar|event|only|call|session))?"
)
# Where a location lists several places: "EEB 132 / Zoom: <url>", "Teams Meeting; Room 5".
_PLACE_PARTS = re.compile(r"( [/|] | ?; ?| (?:or|and|&|\+) |, )", re.IGNORECASE)
_PUNCTUATION = " -\u2013\u2014/|,;:\u00b7"
_FILLER = frozenset(
    "join here click link the meeting webinar zoom teams microsoft google meet webex watch live"
    " stream livestream online via on at to this url webcast".split()
)
_CANCELLED = re.compile(r"(?i)cancell?ed\b")
_WEB_URL = re.compile(r"(?i)https?://[^\s<>\"]+")
_HEADER_LINE = re.compile(r"(?:Join online|Meeting ID|Passcode|Dial-in): \S.*")
_HTML_PARAMS = {"FMTTYPE": "text/html"}
# What any meeting link contains: a scheme, or a provider domain links.py knows without one.
_PROVIDER_DOMAINS = (
    "zoom.us/", "zoomgov.com/", "teams.microsoft.com/", "teams.live.com/", "meet.google.com/",
    "webex.com/", "meet.jit.si/", "8x8.vc/",
)  # fmt: skip
# Every label links.py accepts before a generic link (its _WEBCAST_LABEL) holds one of these
# words, and every provider link its provider's name, also in a SafeLinks wrapper ("zoom.us%2Fj").
_MEETING_WORDS = (
    "zoom", "teams", "meet.google", "webex", "jit.si", "8x8.vc", "cast", "stream", "watch",
    "join", "online", "virtual", "remote", "meeting", "webinar", "video",
)  # fmt: skip


def _maybe_link(text: str) -> bool:
    """Whether ``text`` can hold a meeting link at all (substring tests: no regex scan)."""
    if "://" in text:
        return True
    lowered = text.lower()
    return any(domain in lowered for domain in _PROVIDER_DOMAINS)


@dataclass
class _Field:
    key: str
    label: str
    lines: list[str] = field(default_factory=list)
    value: str = ""  # the lines, tidied: set when the field is complete


# --- the event's texts ---------------------------------------------------------------------------


def _unescape(value: str) -> str:
    """An RFC 5545 §3.3.11 TEXT value as text (icalendar leaves X- properties escaped).

    >>> _unescape(r"a\\, b\\;\\nc\\\\d")
    'a, b;\\nc\\\\d'
    """
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m[1] in "nN" else m[1], value)


# icalendar components keep property names in upper case: plain dict lookups of upper-case
# names find what Component.get finds, without its per-call key conversion (and KeyError).
_get = dict.get
_has = dict.__contains__


def _values(event: icalendar.Event, name: str) -> list:
    found = _get(event, name)
    return [] if found is None else found if isinstance(found, list) else [found]


def _text(event: icalendar.Event, name: str) -> str:
    return "\n\n".join(str(v) for v in _values(event, name) if str(v).strip())


def _raw_text(event: icalendar.Event, name: str) -> str:
    """The unescaped text of an X- property (icalendar reads those as unknown, escaped bytes)."""
    return "\n\n".join(_unescape(str(v)) for v in _values(event, name) if str(v).strip())


# --- description structure -----------------------------------------------------------------------


def _lines(text: str) -> list[str]:
    """The lines of ``text``, with field labels glued to the previous field split off.

    >>> _lines("Webcast: https://zoom.us/j/123456789Location: EEB 132\\nRoom: 5")
    ['Webcast: https://zoom.us/j/123456789', 'Location: EEB 132', 'Room: 5']
    """
    out: list[str] = []
    for line in text.split("\n"):
        colon = line.find(":")
        if colon <= 0:  # (a colon at the start is no label's either)
            out.append(line.rstrip())
            continue
        cuts = [0]
        while colon > 0:  # only colons are looked at: prose lines cost one find()
            if line[colon + 1 : colon + 2] in ("", " ", "\t"):
                start = _glued_label(line, colon)
                if start is not None and start > cuts[-1] and line[start].isupper():
                    cuts.append(start)
            colon = line.find(":", colon + 1)
        if len(cuts) == 1:
            out.append(line.rstrip())
        else:
            ends = [*cuts[1:], len(line)]
            out.extend(line[a:b].rstrip() for a, b in zip(cuts, ends, strict=True))
    return out


def _glued_label(line: str, colon: int) -> int | None:
    """Where a field label glued to the text before it ends right before ``colon``: the start
    of ``_GLUED_LABEL.search(line, max(0, colon - 40), colon)``, or None.

    The regular expression tries every label at every position of the 40 characters (up to
    20 µs in prose); on ASCII text it is the same to compare the few tails of the line that
    are as long as a label.

    >>> line = "Webcast: https://zoom.us/j/123456789Location: EEB 132"
    >>> _glued_label(line, line.rfind(":")), _glued_label(line, line.find(":"))
    (36, None)
    """
    low = max(0, colon - 40)
    end = low + len(line[low:colon].rstrip(" \t"))
    first = max(low, end - _LABEL_LENGTHS[0], 1)  # glued: a character comes before the label
    if first >= end:
        return None
    probe = line[first - 1 : end]
    if not probe.isascii():  # the regular expression's Unicode case rules
        match = _GLUED_LABEL.search(line, low, colon)
        return match.start() if match else None
    tail = probe[1:].lower()
    if not tail.endswith(_LABEL_TUPLE):  # prose, or a label that begins its line
        return None
    for length in _LABEL_LENGTHS:  # longest first: the leftmost start
        start = end - length
        if start >= first and line[start - 1] in _GLUE and tail[start - first :] in _LABELS:
            return start
    return None


def _parse(text: str) -> tuple[list[str], list[_Field]]:
    """Split a description into free lines and labelled fields.

    A field is its label's line; an empty value is taken from the next non-blank line; Abstract
    and Biography run on, paragraphs included, up to the next label. Every other line is free.
    """
    free: list[str] = []
    fields: list[_Field] = []
    current: _Field | None = None
    for line in _lines(text):
        match = _LINE_LABEL.match(line) if ":" in line else None  # a label line has its colon
        if match:
            key, label = _LABELS[match[1].casefold()]
            value = line[match.end() :].strip()
            if key != "page" or _WEB_URL.fullmatch(value):  # a page label needs its URL
                current = _Field(key, label, [value] if value else [])
                fields.append(current)
                continue
        if current is not None:
            if current.key in _LONG:
                current.lines.append(line)
                continue
            if not current.lines:
                if line.strip():
                    current.lines.append(line.strip())
                continue
            current = None
        free.append(line)
    for f in fields:
        f.value = tidy("\n".join(f.lines))
    return free, fields


def _without_links(text: str, meetings: list[MeetingLink]) -> str:
    """``text`` without the meetings' links, passcodes and dial-ins (strip_meeting_details)."""
    lowered = text.lower()
    if any(domain in lowered for domain in _domains(meetings)):
        return strip_meeting_details(text, meetings)
    return text


def _domains(meetings: list[MeetingLink]) -> set[str]:
    """The last two labels of each meeting's host: every spelling of a meeting's link (another
    subdomain, a SafeLinks or Google redirect around it) holds them.

    >>> sorted(_domains(find_meeting_links("https://hillside.zoom.us/j/123456789")))
    ['zoom.us']
    """
    return {".".join((urlsplit(link.url).hostname or "").split(".")[-2:]) for link in meetings}


def _only_link(text: str, meetings: list[MeetingLink]) -> bool:
    """Whether ``text`` says nothing but a meeting link ("Join here: <url>")."""
    if any(text.strip() == link.url for link in meetings):
        return True
    rest = _without_links(text, meetings)
    return rest != text and all(w in _FILLER for w in re.findall(r"[a-z]+", rest.casefold()))


def _place(text: str, meetings: list[MeetingLink]) -> str:
    """The physical place in a location text: its parts without meeting links or "Zoom".

    >>> zoom = find_meeting_links("zoom.us/j/123456789")
    >>> _place("EEB 132 / Zoom: https://zoom.us/j/123456789", zoom)
    'EEB 132'
    >>> _place("Microsoft Teams Meeting; Linden Hall 101, Hillside", [])
    'Linden Hall 101, Hillside'
    """
    parts = _PLACE_PARTS.split(" ".join(text.split()))
    kept: list[str] = []
    for i in range(0, len(parts), 2):
        part = " ".join(_without_links(parts[i], meetings).split()).strip(_PUNCTUATION)
        if part.strip("()[]") and not _ONLINE_PLACE.fullmatch(part.strip("()[]")):
            kept += [parts[i - 1] if kept else "", part]
    return "".join(kept)


def _header(meetings: list[MeetingLink], hidden: bool) -> list[str]:
    if hidden:
        return [HIDDEN]
    lines = []
    for link in meetings:
        lines.append(f"{JOIN}: {link.url}")
        details = [f"Meeting ID: {link.meeting_id}"] if link.meeting_id else []
        details = details if link.provider in _DETAILED else []
        details += [f"Passcode: {link.passcode}"] if link.passcode else []
        if details:
            lines.append(" \u00b7 ".join(details))
        if link.dial_in:
            lines.append(f"Dial-in: {link.dial_in}")
    return lines


def _header_html(header: list[str]) -> str:
    lines = []
    for line in header:
        label, sep, rest = line.partition(": ")
        if label in (JOIN, HIDDEN.split(":")[0]) and sep:
            lines.append(f"<b>{label}:</b> {inline_html(rest)}")
        else:
            lines.append(inline_html(line))
    return f"<p>{'<br>'.join(lines)}</p>" if lines else ""


# --- the event -----------------------------------------------------------------------------------


def _detect(event: icalendar.Event, texts: list[str], alt: str) -> list[MeetingLink]:
    """The meetings in every property that may hold one, CONFERENCE first (our own order on a
    second pass), then ``texts`` (the description's parts), then URL and X-ALT-DESC."""
    found = [f"{JOIN}: {v}" for v in map(str, _values(event, "CONFERENCE")) if "://" in v]
    found += [f"{JOIN}: {_raw_text(event, name)}" for name in _MEETING_PROPS if _has(event, name)]
    found += [_text(event, "LOCATION"), *texts, _text(event, "URL"), alt]
    # A text without "://" or a provider domain holds no meeting (nor its details, which
    # links.py reads only around a link): most descriptions are never scanned.
    found = [t for t in found if t and _maybe_link(t)]
    # Without a provider domain, a link is a meeting only behind a label like "Webcast:".
    lowered = " ".join(found).lower()
    if not any(word in lowered for word in _MEETING_WORDS):
        return []
    return find_meeting_links(*found)


def _split_header(plain: str) -> tuple[list[str], str]:
    """A leading block shaped like our join lines, and the text after it.

    >>> _split_header("Join online: https://x.example/j\\nPasscode: 1\\n\\nTalk.")
    (['Join online: https://x.example/j', 'Passcode: 1'], 'Talk.')
    """
    lines = plain.split("\n")
    if not (lines[0].startswith(f"{JOIN}: ") or lines[0] == HIDDEN):
        return [], plain
    end = 1
    while end < len(lines) and _HEADER_LINE.match(lines[end]):
        end += 1
    if end < len(lines) and lines[end]:
        return [], plain
    return lines[:end], tidy("\n".join(lines[end:]))


def _set(event: icalendar.Event, name: str, value: object) -> None:
    """Set a property in place (keeping its position, so that a second pass moves nothing)."""
    if value is None or value == "":
        if _has(event, name):
            del event[name]
    else:
        event[name] = value


def _params(event: icalendar.Event, name: str, keep: tuple[str, ...]) -> dict[str, str]:
    prop = _values(event, name)
    params = getattr(prop[0], "params", {}) if prop else {}
    return {k: v for k, v in params.items() if k.upper() in keep}


def _conference(link: MeetingLink) -> icalendar.vUri:
    feature = ["AUDIO", "VIDEO"] if link.dial_in else "VIDEO"
    params = {"VALUE": "URI", "FEATURE": feature, "LABEL": link.label}
    return icalendar.vUri(link.url, params=params)


def _organizer(fields: list[_Field]) -> icalendar.vCalAddress | None:
    for key in ("contact", "host"):
        for f in fields:
            email = EMAIL.search(f.value) if f.key == key else None
            if email:
                name = f.value.split("\n")[0].replace(email.group(), "")
                name = " ".join(name.replace('"', "").split()).strip(" ,;:-<>()")
                params = {"CN": name} if re.search(r"\w", name) else {}
                return icalendar.vCalAddress(f"mailto:{email.group()}", params=params)
    return None


def enrich(event: icalendar.Event, *, source: Source, config: Config) -> list[str]:
    """Rewrite one VEVENT's content in place (see the module docstring); return warnings.

    Deterministic and idempotent: the same event gives the same properties, in the same order,
    and an enriched event enriched again is unchanged. Never raises: content is not worth a
    source, so a failure is a warning and the event is served as far as it got.
    """
    try:
        return _enrich(event, source)
    except Exception as exc:  # a bug here must cost one event's polish, not the source
        if source.online_links == "omit":  # nothing that may hold a link is published then
            for name in ("X-ALT-DESC", "CONFERENCE", *_MEETING_PROPS):
                _set(event, name, None)
            for name in ("LOCATION", "URL"):
                _set(event, name, None if _maybe_link(_text(event, name)) else event.get(name))
            _set(event, "DESCRIPTION", icalendar.vText(HIDDEN))
        uid = str(event.get("UID"))
        return [f"event {uid!r}: content not enriched ({type(exc).__name__}: {exc})"]


def _enrich(event: icalendar.Event, source: Source) -> list[str]:
    omit = source.online_links == "omit"
    description = _text(event, "DESCRIPTION")
    alt_prop = _values(event, "X-ALT-DESC")
    alt = _raw_text(event, "X-ALT-DESC") if alt_prop else ""
    if alt and "html" not in str(alt_prop[0].params.get("FMTTYPE", "html")).lower():
        alt = f"<pre>{html.escape(alt)}</pre>"
    source_text = description if description.strip() else alt
    plain = html_to_text(source_text) if is_html(source_text) else tidy(source_text)

    # Join lines from an earlier pass are a text of their own: links.py reads a meeting's
    # passcode in the text after its link, and after them comes the rest of the description.
    head, body = _split_header(plain)
    texts = ["\n".join(head), body]
    if is_html(source_text):  # links.py reads hrefs and labels in the markup itself
        texts.insert(1, description)
    meetings = _detect(event, texts, alt)
    # "see event page" stays once written: the links it replaced are gone on a second pass.
    hidden = omit and bool(meetings) or not meetings and head == [HIDDEN]
    header = _header(meetings, hidden)
    if head and head == header:  # our own join lines: written anew below
        plain = body

    free, fields = _parse(plain)
    # A webcast field that only repeats a meeting link is the "Join online" line now.
    fields = [f for f in fields if not (f.key == "webcast" and _only_link(f.value, meetings))]
    if omit:
        free = _without_links("\n".join(free), meetings).split("\n")
        for f in fields:
            f.value = tidy(_without_links(f.value, meetings))
    fields = [f for f in fields if f.value or f.key not in ("webcast", "page")]

    url = _text(event, "URL").strip()
    page = url if _WEB_URL.fullmatch(url) and not _only_link(url, meetings) else None
    page = page or next((f.value for f in fields if f.key == "page"), None)
    ordered: list[_Field] = []
    for f in sorted(fields, key=lambda f: _ORDER[f.key]):
        if not (f.key == "page" and f.value == page) and not any(
            o.key == f.key and o.value == f.value for o in ordered
        ):
            ordered.append(f)
    text, alt_html = _render(header, tidy("\n".join(free)), ordered, page)
    params = _params(event, "DESCRIPTION", ("LANGUAGE",))
    _set(event, "DESCRIPTION", icalendar.vText(text, params=params) if text else None)
    _set(event, "X-ALT-DESC", icalendar.vText(alt_html, params=_HTML_PARAMS) if alt_html else None)

    location = _text(event, "LOCATION")
    place = _place(location, meetings) if meetings else location.strip()
    field_place = next((_place(f.value, meetings) for f in fields if f.key == "location"), "")
    place = place or field_place
    if not place and meetings:
        place = "Online" if omit else meetings[0].url
    if place != location:
        params = _params(event, "LOCATION", ("LANGUAGE", "ALTREP"))
        _set(event, "LOCATION", icalendar.vText(place, params=params) if place else None)

    target = page or (None if omit or not meetings else meetings[0].url)
    if target != url and (target or _only_link(url, meetings)):
        _set(event, "URL", icalendar.vUri(target) if target else None)

    others = [c for c in _values(event, "CONFERENCE") if "://" not in str(c) and not omit]
    ours = [] if omit else [_conference(link) for link in meetings]
    _set(event, "CONFERENCE", (ours + others) or None)
    if omit:
        for name in _MEETING_PROPS:
            _set(event, name, None)

    _other_properties(event, ordered)
    if omit and meetings and find_meeting_links(text, _text(event, "LOCATION"), target or ""):
        return [f"event {str(event.get('UID'))!r}: a meeting link is left after online_links=omit"]
    return []


def _render(
    header: list[str], free_text: str, fields: list[_Field], page: str | None
) -> tuple[str, str | None]:
    """DESCRIPTION, and X-ALT-DESC when HTML adds something plain text lacks: a link besides
    the event page (which URL carries too) or a list; it doubles an event's bytes, and Google
    drops feeds past ~1 MB."""
    parts = ["\n".join(header), free_text]
    parts.append("\n".join(f"{f.label}: {f.value}".rstrip() for f in fields))
    parts.append(f"{PAGE}: {page}" if page else "")
    text = "\n\n".join(p for p in parts if p)
    rich = any(adds_markup(t) for t in (*header, free_text, *(f.value for f in fields)))
    if not (rich and text):
        return text, None
    fragment = _header_html(header) + paragraphs_html(free_text)
    fragment += "".join(field_html(f.label, f.value) for f in fields)
    fragment += field_html(PAGE, page) if page else ""
    return text, f"<html><body>{sanitize(fragment)}</body></html>"


def _other_properties(event: icalendar.Event, fields: list[_Field]) -> None:
    """CONTACT and ORGANIZER from the fields (upstream ones win), the cancelled prefix, CLASS."""
    contact = next((f.value.split("\n")[0] for f in fields if f.key == "contact"), "")
    if contact and not _has(event, "CONTACT"):
        event.add("CONTACT", contact)
    organizer = None if _has(event, "ORGANIZER") else _organizer(fields)
    if organizer is not None:
        event.add("ORGANIZER", organizer)
    if str(_get(event, "STATUS", "")).upper() == "CANCELLED":
        summary = _text(event, "SUMMARY")
        if not _CANCELLED.match(summary):
            params = _params(event, "SUMMARY", ("LANGUAGE",))
            title = f"Cancelled: {summary}" if summary else "Cancelled"
            _set(event, "SUMMARY", icalendar.vText(title, params=params))
    if not _has(event, "CLASS"):
        event.add("CLASS", "PUBLIC")
