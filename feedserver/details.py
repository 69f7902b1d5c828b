"""Stage ②: the facts that filters select on and pages show, read once per event at ingest.

A subscriber's request never parses a VEVENT (DESIGN.md), so whatever ``?q=``, ``?location=``,
``?audience=``, ``?online=``, the JSON feed and the HTML pages need is taken here from each
normalized component (a series' master and each override) and kept by the store as columns and
a small JSON document:

- the meeting link: the first CONFERENCE (RFC 7986 §5.11), where content.enrich puts every
  meeting it finds; with ``online_links = "omit"`` the event is still online when its
  description starts with content.HIDDEN;
- the place: LOCATION (content.enrich's place, or the meeting link when there is none) without
  links and without words like "Zoom" or "Online";
- the labelled lines of the description content.enrich writes (``Speaker:``, ``Host:``,
  ``Audiences:``, ``Contact:``, as on university event pages);
- title, description, event page URL, STATUS, all-day or timed, the zone of DTSTART.

Text for matching is folded (:func:`fold`): case- and accent-insensitive, so ``?q=Rene`` finds
"René", and punctuation-insensitive; words match from their start.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, tzinfo
from typing import Any

import icalendar

from feedserver.content import HIDDEN

# Labels of the description lines worth a field of their own (the first line of the value is
# kept): content._FIELDS' labels of these fields (tests/test_details.py keeps them in step).
_LABELLED = {
    "speaker": (
        "speaker", "speakers", "speaker(s)", "guest speaker", "keynote speaker", "presenter",
        "presenters", "panelists", "phd candidate", "candidate", "instructor", "instructors",
    ),
    "host": ("host", "hosts", "host(s)", "hosted by", "organizer", "organizers", "organiser"),
    "audience": ("audiences", "audience"),
    "contact": ("contact", "contacts", "contact information"),
}  # fmt: skip
_LABEL_KEY = {label: key for key, labels in _LABELLED.items() for label in labels}
_LINE = re.compile(
    r"^[ \t]*(?:[-*\u2022][ \t]*)?("
    + "|".join(re.escape(label) for label in sorted(_LABEL_KEY, key=len, reverse=True))
    + r")[ \t]*:[ \t]*(\S.*)$",
    re.IGNORECASE | re.MULTILINE,
)
_URL = re.compile(r"(?i)\b(?:https?://|www\.)\S+")
# Pages make links of these: only web addresses (an upstream URL:javascript:… stays text).
_WEB = re.compile(r"(?i)https?://[^\s\"'<>]+")
# A location that, once its links are gone, names no place: "Zoom", "Online (Teams)".
_ONLINE_ONLY = re.compile(
    r"(?i)(?:online|virtual|remote|web|internet|zoom|teams|microsoft teams|webex|google meet"
    r"|jitsi|web ?cast|webinar|live ?stream|video ?conference|tbd|tba)"
    r"(?: (?:meeting|webinar|event|only|call|session|link))?"
)


# Word characters are str.isalnum() ones (the regex class [^\W_]). As bytes tables: ASCII
# letters and digits stay, every other ASCII byte becomes a space; UTF-8 bytes of other
# characters stay (by then only letters and digits are left among them).
_ASCII_WORD = bytes(
    c if chr(c) in "abcdefghijklmnopqrstuvwxyz0123456789" else 32 for c in range(256)
)
_UTF8_WORD = bytes(c if c >= 128 or chr(c).isalnum() else 32 for c in range(256))
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
# The combining-mark blocks (NFKD puts accents after their letter, in these blocks; a mark
# elsewhere is no word character, so it separates words instead of vanishing).
_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


def _separators(match: re.Match[str]) -> str:
    """A run of non-ASCII characters with those that are no word character as spaces."""
    run = match[0]
    return run if run.isalnum() else "".join(c if c.isalnum() else " " for c in run)


def fold(text: str) -> str:
    """Text for matching: case-folded, accents removed, words separated by single spaces.

    >>> fold("  Café  Müller\\nSTRASSE, EEB-132 ")
    'cafe muller strasse eeb 132'
    >>> fold("Ångström") == fold("angstrom")
    True
    >>> fold("Søren — ℌ_x")
    'søren H x'

    Non-word characters become spaces by a byte table and split(), not a regular expression:
    a description has hundreds of word boundaries, and a substitution costs one match each.
    """
    if text.isascii():  # most text: no accents to remove
        return b" ".join(text.lower().encode().translate(_ASCII_WORD).split()).decode()
    # Only the non-ASCII runs need case folding and decomposition: on ASCII both are lower(),
    # and ASCII characters are starters, so no reordering of marks crosses them.
    parts, end = [], 0
    for run in _NON_ASCII.finditer(text):
        parts.append(text[end : run.start()].lower())
        decomposed = _COMBINING.sub("", unicodedata.normalize("NFKD", run[0].casefold()))
        parts.append(_NON_ASCII.sub(_separators, decomposed))
        end = run.end()
    parts.append(text[end:].lower())
    return b" ".join("".join(parts).encode().translate(_UTF8_WORD).split()).decode()


@dataclass(frozen=True)
class Facts:
    """One component (a series' master, an override, or a single event), as pages show it."""

    recurrence_id: int | None  # the override's RECURRENCE-ID, UTC epoch seconds
    title: str
    description: str
    location: str  # the physical place ("" when online only or unknown)
    meeting_url: str
    meeting_label: str  # "Zoom", "Microsoft Teams", … ("" without a link)
    online: bool  # a meeting link, published or not
    speaker: str
    host: str
    audience: str
    contact: str
    url: str  # the event's own page, when it has one
    status: str  # STATUS, upper case ("" when absent)
    all_day: bool
    tzid: str | None  # the zone of DTSTART ("UTC" for UTC times, None for all-day dates)
    duration: int  # seconds

    def as_json(self) -> dict[str, Any]:
        return dict(vars(self))  # dataclasses.asdict deep-copies every value: 5x slower here


# icalendar components keep property names in upper case: plain dict lookups of upper-case
# names find what Component.get finds, without its per-call key conversion (and KeyError).
_get = dict.get
_has = dict.__contains__


def _text(component: icalendar.Event, name: str) -> str:
    value = _get(component, name)
    if isinstance(value, list):
        value = value[0] if value else None
    return str(value).strip() if value is not None else ""


def _labelled(description: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for match in _LINE.finditer(description):
        key = _LABEL_KEY[match[1].casefold()]
        found.setdefault(key, match[2].strip())
    return found


def _meeting(component: icalendar.Event) -> tuple[str, str]:
    """The first meeting link and its label. content.enrich has already looked everywhere
    (LOCATION, DESCRIPTION, URL, X-ALT-DESC, vendor properties) and put each meeting here."""
    conferences = _get(component, "CONFERENCE")
    for conference in conferences if isinstance(conferences, list) else [conferences]:
        if conference is not None and _WEB.fullmatch(str(conference)):
            label = conference.params.get("LABEL", "") if hasattr(conference, "params") else ""
            return str(conference), str(label)
    return "", ""


def _place(location: str, meeting_url: str) -> str:
    """LOCATION as a place: without links, and empty when it only says "Zoom" or "Online".

    >>> _place("EEB 132 / Zoom: https://zoom.us/j/1", "https://zoom.us/j/1")
    'EEB 132'
    >>> _place("https://zoom.us/j/1", "https://zoom.us/j/1")
    ''
    >>> _place("Online (Microsoft Teams)", "")
    ''
    """
    text = location.replace(meeting_url, " ") if meeting_url else location
    # (each substitution only where it can match: most places are a building and a room)
    if "://" in text or "www." in text.lower():
        text = _URL.sub(" ", text)
    if ":" in text:
        text = _MEETING_COLON.sub(" ", text)
    if "(" in text:  # "(Zoom)", "(online)": a remark about the meeting, not part of the place
        text = _REMARK.sub(lambda m: " " if _ONLINE_ONLY.fullmatch(m[1].strip()) else m[0], text)
    split = _PLACE_SEPARATOR.split(text) if "/" in text or "|" in text or ";" in text else [text]
    parts = [" ".join(p.split()).strip(" -\u2013\u2014/|,;:") for p in split]
    kept = [p for p in parts if p and p not in "()" and not _ONLINE_ONLY.fullmatch(p.strip("()"))]
    return " / ".join(kept)


_MEETING_COLON = re.compile(r"(?i)\b(?:zoom|teams|webex|meet|online|join)\s*:")
_REMARK = re.compile(r"\(([^()]*)\)")
_PLACE_SEPARATOR = re.compile(r" [/|] |;")


def _epoch(value: date | datetime, zone: tzinfo) -> int:
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(), zone)
    elif value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return int(value.timestamp())


def _duration(component: icalendar.Event) -> int:
    start = component["DTSTART"].dt
    end = _get(component, "DTEND")
    if end is not None:
        return int((end.dt - start).total_seconds())
    if _has(component, "DURATION"):
        return int(component["DURATION"].dt.total_seconds())
    return 86400 if not isinstance(start, datetime) else 0


def facts(component: icalendar.Event, zone: tzinfo) -> Facts:
    """The facts of one normalized component (time zones already repaired)."""
    description = _text(component, "DESCRIPTION")
    location = _text(component, "LOCATION")
    meeting_url, meeting_label = _meeting(component)
    fields = _labelled(description)
    url = _text(component, "URL")
    start = component["DTSTART"].dt
    tzid = None
    if isinstance(start, datetime):
        tz = start.tzinfo
        tzid = "UTC" if tz is None or tz is UTC else getattr(tz, "key", None) or "UTC"
    recurrence = _get(component, "RECURRENCE-ID")
    return Facts(
        recurrence_id=_epoch(recurrence.dt, zone) if recurrence is not None else None,
        title=_text(component, "SUMMARY"),
        description=description,
        location=_place(location, meeting_url),
        meeting_url=meeting_url,
        meeting_label=meeting_label,
        online=bool(meeting_url) or description.startswith(HIDDEN),
        speaker=fields.get("speaker", ""),
        host=fields.get("host", ""),
        audience=fields.get("audience", ""),
        contact=fields.get("contact", ""),
        url=url if _WEB.fullmatch(url) and url != meeting_url else "",
        status=_text(component, "STATUS").upper(),
        all_day=not isinstance(start, datetime),
        tzid=tzid,
        duration=_duration(component),
    )


@dataclass(frozen=True)
class Columns:
    """What the store filters on, for a whole UID group: any component may match."""

    details: str  # JSON list of Facts, master first
    search_text: str  # folded title, description, location, speaker
    location_text: str  # folded places
    audience_text: str  # folded audiences
    online: bool


def columns(group: list[icalendar.Event], zone: tzinfo) -> Columns:
    """Facts of every component of a UID group, and the group's filter columns."""
    found = [facts(component, zone) for component in group]

    def joined(*names: str) -> str:
        # Words match where they start (" learn" finds "learning", " graduate" does not find
        # "undergraduates"): a leading space, and " | " between values, so that a phrase never
        # runs from one field into the next.
        raw = dict.fromkeys(getattr(f, n) for f in found for n in names)  # overrides repeat
        return " " + " | ".join(dict.fromkeys(v for v in map(fold, raw) if v))

    return Columns(
        details=json.dumps([f.as_json() for f in found], ensure_ascii=False, sort_keys=True),
        search_text=joined("title", "description", "location", "speaker"),
        location_text=joined("location"),
        audience_text=joined("audience"),
        online=any(f.online for f in found),
    )


def load(details: str) -> list[Facts]:
    """The Facts stored by :func:`columns`."""
    return [Facts(**item) for item in json.loads(details)]
