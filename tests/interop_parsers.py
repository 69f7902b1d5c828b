"""Interop harness: check a feed with independent iCalendar parsers and a lint.

Our feeds are built with ``icalendar`` and expanded by ``recurring_ical_events``
on the server, so those two alone cannot catch a feed that *they* read back
fine but clients read differently. This module parses the same bytes with

* ``icaljs``  - Mozilla's ical.js (Thunderbird), via ``tests/interop/expand.mjs``
* ``vobject`` - the parser Radicale uses, expanding with dateutil
* ``ical``    - Home Assistant's calendar library

and compares every occurrence with the reference (``icalendar`` +
``recurring_ical_events``). :func:`lint` covers RFC 5545 rules that parsers tolerate but
stricter clients may not.

Occurrences are ``(uid, start)`` pairs: ``start`` is ``YYYY-MM-DDTHH:MM:SSZ``
for timed events and ``YYYY-MM-DD`` for all-day events. An occurrence is in
``[start, end)`` by its start; all-day dates and floating times are compared as
if they were UTC (lint rejects floating times anyway). Range bounds must be
timezone-aware.

Typical use in a test::

    from tests.interop_parsers import check_feed
    check_feed(ics_bytes, datetime(2025, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PARSERS: tuple[str, ...] = ("icaljs", "vobject", "ical")
REFERENCE = "icalendar"

INTEROP_DIR = Path(__file__).resolve().parent / "interop"
SETUP_HINT = "run scripts/test-setup.sh (needs Node.js >= 20 and npm on PATH)"

# Guards against a runaway RRULE while expanding up to the horizon.
MAX_INSTANCES = 100_000

Occurrence = tuple[str, str]


class ParserFailed(AssertionError):
    """A parser rejected the feed, or silently mis-read part of it.

    An AssertionError so that a feed only one client chokes on fails the test
    like any other assertion.
    """

    def __init__(self, parser: str, message: str) -> None:
        super().__init__(f"{parser}: {message}")
        self.parser = parser
        self.message = message


class InteropSetupError(RuntimeError):
    """Node or the npm packages are missing: an environment error, never a skip."""


# --------------------------------------------------------------------------
# occurrences
# --------------------------------------------------------------------------


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"range bounds must be timezone-aware, got {value!r}")
    return value.astimezone(UTC)


def _format(value: date) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return value.isoformat()


def _instant(value: date) -> datetime:
    """Where an occurrence sits on the UTC timeline (DATE and floating as UTC)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


def _decode(parser: str, ics: bytes) -> str:
    # RFC 5545 3.1.4: the default charset is UTF-8; a client guessing another
    # charset would show mojibake, so any invalid byte is a failure.
    try:
        return ics.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParserFailed(parser, f"not strict UTF-8: {exc}") from exc


def _in_range(value: date, start: datetime, end: datetime) -> bool:
    return start <= _instant(value) < end


def occurrences(parser: str, ics: bytes, start: datetime, end: datetime) -> list[Occurrence]:
    """Sorted ``(uid, start)`` of every VEVENT occurrence starting in [start, end).

    ``parser`` is one of :data:`PARSERS` or :data:`REFERENCE`. Raises
    :class:`ParserFailed` when that parser cannot read the feed and
    :class:`InteropSetupError` when ical.js is not installed.
    """
    start, end = _utc(start), _utc(end)
    runners = {
        "icaljs": _icaljs,
        "vobject": _vobject,
        "ical": _ha_ical,
        REFERENCE: _reference,
    }
    if parser not in runners:
        raise ValueError(f"unknown parser {parser!r}; expected one of {sorted(runners)}")
    return sorted(runners[parser](ics, start, end))


def require_node() -> str:
    """Path of ``node``; raises InteropSetupError instead of letting CI skip interop."""
    node = shutil.which("node")
    if node is None:
        raise InteropSetupError(f"`node` is not on PATH; {SETUP_HINT}")
    if not (INTEROP_DIR / "node_modules" / "ical.js" / "package.json").is_file():
        raise InteropSetupError(f"{INTEROP_DIR / 'node_modules'} has no ical.js; {SETUP_HINT}")
    return node


def _icaljs(ics: bytes, start: datetime, end: datetime) -> list[Occurrence]:
    node = require_node()
    _decode("icaljs", ics)
    with tempfile.TemporaryDirectory(prefix="interop-") as tmp:
        path = Path(tmp) / "feed.ics"
        path.write_bytes(ics)
        proc = subprocess.run(
            [node, str(INTEROP_DIR / "expand.mjs"), str(path), _format(start), _format(end)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    if proc.returncode == 1:
        raise ParserFailed("icaljs", proc.stderr.strip())
    if proc.returncode != 0:
        raise RuntimeError(f"expand.mjs exited {proc.returncode}: {proc.stderr.strip()}")
    result = json.loads(proc.stdout)
    if result["errors"]:
        raise ParserFailed("icaljs", "; ".join(result["errors"]))
    return [(uid, when) for uid, when in result["occurrences"]]


def _expand(
    uid: str,
    first: date,
    instances: Iterable[date] | None,
    overrides: dict[str, date],
    start: datetime,
    end: datetime,
) -> list[Occurrence]:
    """Apply RECURRENCE-ID overrides to a master's instances and clip to range.

    RFC 5545 3.8.4.4: an override replaces the instance whose original start
    equals its RECURRENCE-ID; matched by the formatted UTC instant (or date).
    """
    if instances is None:
        return [(uid, _format(first))] if _in_range(first, start, end) else []
    shifts = [_instant(moved) - _instant(_parse_key(key)) for key, moved in overrides.items()]
    # An override can pull an instance from after `end` into range; expand far
    # enough to see it.
    horizon = max(
        [end + max([timedelta(0), *shifts])]
        + [_instant(_parse_key(key)) + timedelta(seconds=1) for key in overrides]
    )
    found = []
    for count, instance in enumerate(instances):
        if _instant(instance) >= horizon:
            break
        if count > MAX_INSTANCES:
            raise ParserFailed("vobject", f"{uid}: more than {MAX_INSTANCES} instances")
        actual = overrides.get(_format(instance), instance)
        if _in_range(actual, start, end):
            found.append((uid, _format(actual)))
    return found


def _parse_key(key: str) -> date:
    if "T" in key:
        return datetime.strptime(key, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return date.fromisoformat(key)


def _vobject(ics: bytes, start: datetime, end: datetime) -> list[Occurrence]:
    import vobject
    import vobject.icalendar as vical

    text = _decode("vobject", ics)
    # vobject keeps one process-wide TZID -> tzinfo registry where the first
    # VTIMEZONE ever parsed wins; without a reset an earlier feed's definition
    # would silently stand in for this feed's VTIMEZONE.
    registry: dict[str, Any] = vars(vical)["__tzidMap"]
    registry.clear()
    vical.registerTzid("UTC", vical.utc)
    try:
        return _vobject_expand(vobject.readOne(text), start, end)
    except ParserFailed:
        raise
    except Exception as exc:
        raise ParserFailed("vobject", f"{type(exc).__name__}: {exc}") from exc


def _vobject_expand(cal: Any, start: datetime, end: datetime) -> list[Occurrence]:
    masters: dict[str, list[Any]] = defaultdict(list)
    overrides: dict[str, dict[str, date]] = defaultdict(dict)
    for vevent in cal.contents.get("vevent", []):
        uid = vevent.uid.value
        dtstart = vevent.dtstart
        if (
            getattr(dtstart, "tzid_param", None)
            and isinstance(dtstart.value, datetime)
            and dtstart.value.tzinfo is None
        ):
            raise ParserFailed("vobject", f"{uid}: TZID {dtstart.tzid_param} did not resolve")
        if "recurrence-id" in vevent.contents:
            overrides[uid][_format(vevent.recurrence_id.value)] = dtstart.value
        else:
            masters[uid].append(vevent)

    found: list[Occurrence] = []
    for uid, vevents in masters.items():
        for vevent in vevents:
            first = vevent.dtstart.value
            ruleset = vevent.getrruleset(addRDate=True)
            instances: Iterable[date] | None = None
            if ruleset is not None:
                # dateutil works in datetimes; all-day series come back as
                # naive midnights.
                is_date = not isinstance(first, datetime)
                instances = (d.date() if is_date else d for d in ruleset)
            found += _expand(uid, first, instances, overrides[uid], start, end)
    orphans = set(overrides) - set(masters)
    if orphans:
        raise ParserFailed("vobject", f"RECURRENCE-ID without a master VEVENT: {sorted(orphans)}")
    return found


def _ha_ical(ics: bytes, start: datetime, end: datetime) -> list[Occurrence]:
    from ical.calendar_stream import IcsCalendarStream

    text = _decode("ical", ics)
    try:
        calendar = IcsCalendarStream.calendar_from_ics(text)
        # overlapping() also yields occurrences that began before `start`;
        # the start filter below makes it "starts in range".
        events = list(calendar.timeline_tz(UTC).overlapping(start, end))
        starts: list[tuple[str, date]] = [(str(event.uid), event.start) for event in events]
    except Exception as exc:
        raise ParserFailed("ical", f"{type(exc).__name__}: {exc}") from exc
    return [(uid, _format(when)) for uid, when in starts if _in_range(when, start, end)]


def _reference(ics: bytes, start: datetime, end: datetime) -> list[Occurrence]:
    import icalendar
    import recurring_ical_events

    text = _decode(REFERENCE, ics)
    try:
        cal = icalendar.Calendar.from_ical(text)
        events = recurring_ical_events.of(cal).between(start, end)
        starts: list[tuple[str, date]] = [
            (str(event["UID"]), event.decoded("DTSTART"))
            for event in events
            if event.name == "VEVENT"
        ]
    except Exception as exc:
        raise ParserFailed(REFERENCE, f"{type(exc).__name__}: {exc}") from exc
    return [(uid, _format(when)) for uid, when in starts if _in_range(when, start, end)]


# --------------------------------------------------------------------------
# check_feed
# --------------------------------------------------------------------------


def check_parsers_agree(ics: bytes, start: datetime, end: datetime) -> dict[str, list[Occurrence]]:
    """Run every parser and the reference; AssertionError naming who disagrees."""
    results: dict[str, list[Occurrence]] = {}
    failures: list[str] = []
    for parser in (REFERENCE, *PARSERS):
        try:
            results[parser] = occurrences(parser, ics, start, end)
        except ParserFailed as exc:
            failures.append(str(exc))
    report: list[str] = [f"  {failure}" for failure in failures]
    expected = results.get(REFERENCE)
    if expected is not None:
        for parser in PARSERS:
            got = results.get(parser)
            if got is None or got == expected:
                continue
            report.append(f"  {parser} disagrees with {REFERENCE} (reference):")
            report += [f"    only {REFERENCE}: {occ}" for occ in sorted(set(expected) - set(got))]
            report += [f"    only {parser}: {occ}" for occ in sorted(set(got) - set(expected))]
            for occ, n in sorted((Counter(got) - Counter(expected)).items()):
                if occ in expected:
                    report.append(f"    {parser} repeats {occ} {n} more time(s)")
            for occ, n in sorted((Counter(expected) - Counter(got)).items()):
                if occ in got:
                    report.append(f"    {REFERENCE} repeats {occ} {n} more time(s)")
    if report:
        window = f"[{_format(_utc(start))}, {_format(_utc(end))})"
        raise AssertionError(
            f"iCalendar parsers failed or disagree on occurrences in {window}:\n"
            + "\n".join(report)
        )
    return results


def check_feed(ics: bytes, start: datetime, end: datetime) -> dict[str, list[Occurrence]]:
    """Lint ``ics`` and require all parsers to agree on occurrences in [start, end).

    Returns ``{parser: occurrences}`` for :data:`PARSERS` and :data:`REFERENCE`.
    Raises AssertionError listing lint problems or the per-parser diff.
    """
    problems = lint(ics)
    if problems:
        raise AssertionError(
            f"iCalendar lint found {len(problems)} problem(s):\n"
            + "\n".join(f"  - {p}" for p in problems)
        )
    return check_parsers_agree(ics, start, end)


# --------------------------------------------------------------------------
# lint
# --------------------------------------------------------------------------

# RFC 5545 3.1: name *(";" param) ":" value; the name is an iana-token or
# x-name. A physical line that starts otherwise and is not a fold continuation
# is most likely the tail of a value with a raw newline in it.
_CONTENT_LINE_START = re.compile(r"[A-Za-z0-9-]+[;:]")
_DATE = re.compile(r"\d{8}")
_OBSERVANCES = {"STANDARD", "DAYLIGHT"}
_MAX_OCTETS = 75  # RFC 5545 3.1, excluding the CRLF


@dataclass
class _Property:
    name: str
    params: dict[str, list[str]]
    value: str
    line: int

    def param(self, name: str) -> str | None:
        values = self.params.get(name)
        return values[0] if values else None

    @property
    def is_date(self) -> bool:
        return self.param("VALUE") == "DATE" or bool(_DATE.fullmatch(self.value))


@dataclass
class _Component:
    name: str
    line: int
    props: list[_Property] = field(default_factory=list)
    children: list[_Component] = field(default_factory=list)

    def all(self, name: str) -> list[_Property]:
        return [p for p in self.props if p.name == name]

    def first(self, name: str) -> _Property | None:
        found = self.all(name)
        return found[0] if found else None

    def walk(self) -> Iterable[_Component]:
        yield self
        for child in self.children:
            yield from child.walk()


def _split_params(text: str) -> list[str]:
    """Split on ';' and ':' outside double quotes (RFC 5545 3.2: quoted param values).

    The separators are kept as their own items: ``[name, ";", param, ":", value...]``.
    """
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char in ";:" and not quoted:
            parts.append("".join(current))
            parts.append(char)
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _parse_content_line(text: str, line: int) -> _Property | None:
    tokens = _split_params(text)
    try:
        colon = tokens.index(":")
    except ValueError:
        return None
    name = tokens[0].upper()
    params: dict[str, list[str]] = {}
    for token in tokens[2:colon:2]:
        key, _, raw = token.partition("=")
        params[key.upper()] = [v.strip('"') for v in raw.split(",")]
    return _Property(name, params, "".join(tokens[colon + 1 :]), line)


def _physical_lines(ics: bytes, problems: list[str]) -> list[bytes]:
    lf = [m.start() for m in re.finditer(rb"(?<!\r)\n", ics)]
    cr = [m.start() for m in re.finditer(rb"\r(?!\n)", ics)]
    if lf or cr:
        first_line = len(re.findall(rb"\r\n|\n|\r", ics[: min(lf + cr)])) + 1
        problems.append(
            f"line endings must be CRLF (RFC 5545 3.1): {len(lf)} bare LF, {len(cr)} bare CR,"
            f" first on line {first_line}"
        )
    if ics and not ics.endswith((b"\r\n", b"\n")):
        problems.append("last content line is not terminated by CRLF (RFC 5545 3.1)")
    lines = re.split(rb"\r\n|\n|\r", ics)
    if lines and lines[-1] == b"":
        lines.pop()
    return lines


def _unfold(lines: list[bytes], problems: list[str]) -> list[tuple[int, str]]:
    """Check physical lines (RFC 5545 3.1) and return (line number, logical line)."""
    logical: list[tuple[int, bytearray]] = []
    for number, raw in enumerate(lines, start=1):
        if len(raw) > _MAX_OCTETS:
            problems.append(
                f"line {number} is {len(raw)} octets, longer than 75 octets (RFC 5545 3.1)"
            )
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            # The unfolded file decodes (checked by the caller), so a line that
            # does not decode on its own had a multi-octet character split by
            # a fold, which clients that decode before unfolding reject.
            problems.append(f"line {number}: a fold splits a UTF-8 character (RFC 5545 3.1)")
        if not raw:
            problems.append(f"line {number} is empty (RFC 5545 3.1 has no empty lines)")
        elif raw[:1] in (b" ", b"\t"):
            if logical:
                logical[-1][1].extend(raw[1:])
            else:
                problems.append(f"line {number}: continuation line with nothing to continue")
        elif not _CONTENT_LINE_START.match(raw.decode("utf-8", errors="replace")):
            problems.append(
                f"line {number} is neither a content line nor a fold continuation (one leading"
                f" space/tab): unescaped newline in a TEXT value? {raw[:40]!r}"
            )
        else:
            logical.append((number, bytearray(raw)))
    return [(number, text.decode("utf-8")) for number, text in logical]


def _build_tree(logical: list[tuple[int, str]], problems: list[str]) -> list[_Component]:
    roots: list[_Component] = []
    stack: list[_Component] = []
    for number, text in logical:
        prop = _parse_content_line(text, number)
        if prop is None:
            problems.append(f"line {number}: no ':' separating name and value: {text[:40]!r}")
            continue
        if prop.name == "BEGIN":
            component = _Component(prop.value.upper(), number)
            (stack[-1].children if stack else roots).append(component)
            stack.append(component)
        elif prop.name == "END":
            name = prop.value.upper()
            if name not in [c.name for c in stack]:
                problems.append(
                    f"line {number}: END:{prop.value} without BEGIN (unbalanced BEGIN/END)"
                )
                continue
            while stack[-1].name != name:
                unclosed = stack.pop()
                problems.append(
                    f"BEGIN:{unclosed.name} on line {unclosed.line} is closed by END:{name} on"
                    f" line {number} (unbalanced BEGIN/END)"
                )
            stack.pop()
        elif stack:
            stack[-1].props.append(prop)
        else:
            problems.append(f"line {number}: {prop.name} outside any component")
    for component in stack:
        problems.append(
            f"BEGIN:{component.name} on line {component.line} has no END (unbalanced BEGIN/END)"
        )
    return roots


def _is_iana(tzid: str) -> bool:
    try:
        ZoneInfo(tzid)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _lint_calendar(cal: _Component, problems: list[str]) -> None:
    # RFC 5545 3.6 makes VERSION and PRODID required; CALSCALE and METHOD are
    # optional there but Outlook treats a subscription without
    # METHOD:PUBLISH as an invitation, so our feeds always send both.
    required = {"VERSION": "2.0", "PRODID": None, "CALSCALE": "GREGORIAN", "METHOD": "PUBLISH"}
    for name, value in required.items():
        found = cal.all(name)
        if not found:
            problems.append(f"VCALENDAR has no {name}" + (f":{value}" if value else ""))
        elif len(found) > 1:
            problems.append(f"VCALENDAR has {len(found)} {name} properties")
        elif value is not None and found[0].value.upper() != value:
            problems.append(
                f"VCALENDAR line {found[0].line}: {name}:{found[0].value}, want {value}"
            )

    events = [c for c in cal.children if c.name == "VEVENT"]
    timezones = [c for c in cal.children if c.name == "VTIMEZONE"]
    masters: Counter[str] = Counter()
    for event in events:
        _lint_event(event, problems)
        uid_prop = event.first("UID")
        if uid_prop is not None and event.first("RECURRENCE-ID") is None:
            masters[uid_prop.value] += 1
    for uid, count in sorted(masters.items()):
        if count > 1:
            # RFC 5545 3.8.4.7: UID identifies one component; clients keep one
            # of the duplicates at random.
            problems.append(f"duplicate UID {uid!r}: {count} VEVENTs without RECURRENCE-ID")

    _lint_timezones(cal, timezones, problems)


def _lint_event(event: _Component, problems: list[str]) -> None:
    uid = event.first("UID")
    where = f"VEVENT line {event.line}" + (f" ({uid.value})" if uid else "")
    # RFC 5545 3.6.1: UID and DTSTAMP are REQUIRED; DTSTART is required when
    # there is no METHOD, and every client needs it to place the event.
    for name in ("UID", "DTSTAMP", "DTSTART"):
        count = len(event.all(name))
        if count == 0:
            problems.append(f"{where} has no {name}")
        elif count > 1:
            problems.append(f"{where} has {count} {name} properties")

    for prop in event.props:
        if prop.name not in {"DTSTART", "DTEND", "RECURRENCE-ID", "EXDATE", "RDATE"}:
            continue
        if prop.is_date and prop.param("VALUE") != "DATE":
            problems.append(f"line {prop.line}: {prop.name} is a DATE without VALUE=DATE")
        if prop.is_date or prop.param("VALUE") == "PERIOD":
            continue
        if prop.param("TZID") is None and not all(v.endswith("Z") for v in prop.value.split(",")):
            # RFC 5545 3.3.5 form #1: floating time is shown at the same wall
            # clock in every zone, so subscribers elsewhere see the wrong hour.
            problems.append(
                f"line {prop.line}: floating {prop.name}:{prop.value} in {where}"
                " (needs TZID or a Z suffix)"
            )

    dtstart = event.first("DTSTART")
    dtend = event.first("DTEND")
    if dtstart is not None and dtstart.is_date and dtend is not None:
        # RFC 5545 3.6.1: for a DATE DTSTART, DTEND is an exclusive DATE.
        if not dtend.is_date:
            problems.append(f"line {dtend.line}: all-day {where} has a DATE-TIME DTEND")
        elif dtend.value <= dtstart.value:
            problems.append(
                f"line {dtend.line}: all-day {where} has DTEND {dtend.value} not after DTSTART"
                f" {dtstart.value} (DTEND is exclusive)"
            )

    for rrule in event.all("RRULE"):
        parts = dict(p.partition("=")[::2] for p in rrule.value.upper().split(";"))
        until = parts.get("UNTIL")
        if until is None or dtstart is None:
            continue
        # RFC 5545 3.3.10: UNTIL must have DTSTART's value type, and be UTC
        # when DTSTART is a local time with a TZID.
        if dtstart.is_date and not _DATE.fullmatch(until):
            problems.append(f"line {rrule.line}: RRULE UNTIL={until} must be a DATE like DTSTART")
        elif dtstart.param("TZID") is not None and not until.endswith("Z"):
            problems.append(
                f"line {rrule.line}: RRULE UNTIL={until} must be UTC (end in Z) because"
                f" DTSTART has TZID={dtstart.param('TZID')}"
            )


def _lint_timezones(cal: _Component, timezones: list[_Component], problems: list[str]) -> None:
    used: dict[str, int] = {}
    for component in cal.walk():
        if component.name == "VTIMEZONE" or component.name in _OBSERVANCES:
            continue
        for prop in component.props:
            tzid = prop.param("TZID")
            if tzid is not None:
                used.setdefault(tzid, prop.line)

    defined: dict[str, list[int]] = defaultdict(list)
    for vtimezone in timezones:
        tzid_prop = vtimezone.first("TZID")
        if tzid_prop is None:
            problems.append(f"VTIMEZONE line {vtimezone.line} has no TZID")
            continue
        defined[tzid_prop.value].append(vtimezone.line)
        for observance in vtimezone.children:
            for rdate in observance.all("RDATE"):
                if "," in rdate.value:
                    # Legal per RFC 5545 3.8.5.2, but ical.js 2.2.1 and vobject
                    # (dateutil) keep only the first value, losing every later
                    # transition; icalendar's add_missing_timezones() writes
                    # exactly this (see bad_rdate_list_vtimezone.ics).
                    problems.append(
                        f"line {rdate.line}: VTIMEZONE {tzid_prop.value} {observance.name} has an"
                        " RDATE comma list; use an RRULE or one RDATE per line"
                    )

    # RFC 5545 3.2.19: each TZID parameter must name a VTIMEZONE in the object.
    for tzid, line in sorted(used.items()):
        if tzid not in defined:
            problems.append(f"TZID={tzid} (line {line}) has no VTIMEZONE")
    for tzid, lines in sorted(defined.items()):
        if len(lines) > 1:
            problems.append(f"TZID {tzid} is defined by {len(lines)} VTIMEZONEs (lines {lines})")
        if tzid not in used:
            problems.append(f"VTIMEZONE {tzid} (line {lines[0]}) is not used by any property")
    for tzid in sorted(set(used) | set(defined)):
        if not _is_iana(tzid):
            # Google and Apple map only IANA names to their own zone rules.
            problems.append(f"TZID {tzid!r} is not an IANA zone name (Windows zone name?)")


def lint(ics: bytes) -> list[str]:
    """RFC 5545 and client-compatibility problems in ``ics``; empty when clean."""
    problems: list[str] = []
    # Decode after unfolding: a fold inside a character is reported per line.
    try:
        re.sub(rb"\r?\n[ \t]", b"", ics).decode("utf-8")
    except UnicodeDecodeError as exc:
        return [f"not valid UTF-8 (RFC 5545 3.1.4): {exc}"]
    lines = _physical_lines(ics, problems)
    logical = _unfold(lines, problems)
    roots = _build_tree(logical, problems)
    calendars = [c for c in roots if c.name == "VCALENDAR"]
    if len(roots) != 1 or len(calendars) != 1:
        problems.append(
            f"expected exactly one top-level VCALENDAR, found {[c.name for c in roots]}"
        )
    for cal in calendars:
        _lint_calendar(cal, problems)
    return problems
