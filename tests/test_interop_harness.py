"""The interop harness itself: it must pass a good feed and catch bad ones."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests import interop_parsers
from tests.interop_parsers import (
    PARSERS,
    REFERENCE,
    InteropSetupError,
    check_feed,
    check_parsers_agree,
    lint,
    occurrences,
)

SAMPLES = Path(__file__).resolve().parent / "samples" / "ics"
GOOD = (SAMPLES / "good_sample.ics").read_bytes()
BAD_RDATE = (SAMPLES / "bad_rdate_list_vtimezone.ics").read_bytes()

START = datetime(2025, 1, 1, tzinfo=UTC)
END = datetime(2027, 1, 1, tzinfo=UTC)

GOOD_OCCURRENCES = [
    # Exclusive DTEND 20250705: one day, reported as a date.
    ("independence-day@feedserver.test", "2025-07-04"),
    # 18:00 PDT (UTC-7) on 15 July is 01:00 UTC the next day.
    ("summer-fest@feedserver.test", "2025-07-16T01:00:00Z"),
    # 09:00 PST (UTC-8): before DST starts on 9 March 2025.
    ("weekly-standup@feedserver.test", "2025-03-03T17:00:00Z"),
    # 09:00 PDT (UTC-7) from here on.
    ("weekly-standup@feedserver.test", "2025-03-10T16:00:00Z"),
    # 17 March is an EXDATE; 24 March is moved by RECURRENCE-ID to Tue 14:00 PDT.
    ("weekly-standup@feedserver.test", "2025-03-25T21:00:00Z"),
    # UNTIL=20250331T160000Z is inclusive (RFC 5545 3.3.10).
    ("weekly-standup@feedserver.test", "2025-03-31T16:00:00Z"),
    # 10:00 PST in January.
    ("winter-meetup@feedserver.test", "2026-01-20T18:00:00Z"),
]


def test_good_sample_is_lint_clean() -> None:
    assert lint(GOOD) == []


@pytest.mark.parametrize("parser", ["vobject", "ical", REFERENCE])
def test_python_parsers_read_good_sample(parser: str) -> None:
    assert occurrences(parser, GOOD, START, END) == GOOD_OCCURRENCES


@pytest.mark.slow
def test_good_sample_passes_check_feed() -> None:
    results = check_feed(GOOD, START, END)
    assert set(results) == {REFERENCE, *PARSERS}
    for parser, found in results.items():
        assert found == GOOD_OCCURRENCES, parser


@pytest.mark.slow
def test_override_moved_into_a_narrow_window() -> None:
    # The window holds the moved instance but not its RECURRENCE-ID (24 March),
    # and ends before UNTIL: every parser must still find it.
    window = (datetime(2025, 3, 25, tzinfo=UTC), datetime(2025, 3, 26, tzinfo=UTC))
    results = check_feed(GOOD, *window)
    assert results["icaljs"] == [("weekly-standup@feedserver.test", "2025-03-25T21:00:00Z")]


def test_bad_rdate_sample_fails_lint() -> None:
    problems = lint(BAD_RDATE)
    assert len(problems) == 2, problems
    assert all("RDATE comma list" in p for p in problems)
    with pytest.raises(AssertionError, match="RDATE comma list"):
        check_feed(BAD_RDATE, START, END)


@pytest.mark.slow
def test_bad_rdate_sample_makes_parsers_disagree() -> None:
    # Proof the harness sees the real bug: ical.js and vobject take only the
    # first RDATE of each observance, so July stays on PST (UTC-8); the
    # reference and HA ical use the IANA rules and get PDT (UTC-7).
    july = "july-event@feedserver.test"
    reference = dict(occurrences(REFERENCE, BAD_RDATE, START, END))
    assert reference[july] == "2025-07-16T01:00:00Z"
    for parser in ("icaljs", "vobject"):
        assert dict(occurrences(parser, BAD_RDATE, START, END))[july] == "2025-07-16T02:00:00Z"

    with pytest.raises(AssertionError) as excinfo:
        check_parsers_agree(BAD_RDATE, START, END)
    report = str(excinfo.value)
    assert "icaljs disagrees with icalendar" in report
    assert "vobject disagrees with icalendar" in report
    assert "ical disagrees" not in report
    assert f"only icaljs: ('{july}', '2025-07-16T02:00:00Z')" in report
    assert f"only icalendar: ('{july}', '2025-07-16T01:00:00Z')" in report


BASELINE = "\r\n".join(
    [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//feedserver//lint baseline//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VTIMEZONE",
        "TZID:Europe/Berlin",
        "BEGIN:STANDARD",
        "DTSTART:19701025T030000",
        "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
        "TZOFFSETFROM:+0200",
        "TZOFFSETTO:+0100",
        "END:STANDARD",
        "BEGIN:DAYLIGHT",
        "DTSTART:19700329T020000",
        "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
        "TZOFFSETFROM:+0100",
        "TZOFFSETTO:+0200",
        "END:DAYLIGHT",
        "END:VTIMEZONE",
        "BEGIN:VEVENT",
        "UID:a@feedserver.test",
        "DTSTAMP:20250101T000000Z",
        "DTSTART;TZID=Europe/Berlin:20250601T100000",
        "DTEND;TZID=Europe/Berlin:20250601T110000",
        "RRULE:FREQ=DAILY;UNTIL=20250605T080000Z",
        "SUMMARY:Lint baseline",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:b@feedserver.test",
        "DTSTAMP:20250101T000000Z",
        "DTSTART;VALUE=DATE:20250610",
        "DTEND;VALUE=DATE:20250611",
        "SUMMARY:All day",
        "END:VEVENT",
        "END:VCALENDAR",
        "",
    ]
).encode()


def _swap(old: str | bytes, new: str | bytes) -> Callable[[bytes], bytes]:
    old_b = old.encode() if isinstance(old, str) else old
    new_b = new.encode() if isinstance(new, str) else new

    def mutate(ics: bytes) -> bytes:
        assert old_b in ics, old_b
        return ics.replace(old_b, new_b)

    return mutate


def _drop_vtimezone(ics: bytes) -> bytes:
    return re.sub(rb"BEGIN:VTIMEZONE\r\n.*?END:VTIMEZONE\r\n", b"", ics, flags=re.S)


def _utc_event(ics: bytes) -> bytes:
    ics = _swap("DTSTART;TZID=Europe/Berlin:20250601T100000", "DTSTART:20250601T080000Z")(ics)
    return _swap("DTEND;TZID=Europe/Berlin:20250601T110000", "DTEND:20250601T090000Z")(ics)


LINT_CASES = [
    pytest.param(_swap("\r\n", "\n"), "CRLF", id="lf-line-endings"),
    pytest.param(
        _swap("SUMMARY:Lint baseline", "SUMMARY:" + "x" * 72), "75 octets", id="80-octet-line"
    ),
    pytest.param(_drop_vtimezone, "has no VTIMEZONE", id="missing-vtimezone"),
    pytest.param(_utc_event, "is not used", id="unused-vtimezone"),
    pytest.param(
        _swap(";TZID=Europe/Berlin:20250601T100000", ":20250601T100000"),
        "floating",
        id="floating-dtstart",
    ),
    pytest.param(
        _swap("UNTIL=20250605T080000Z", "UNTIL=20250605T100000"), "UNTIL", id="non-utc-until"
    ),
    pytest.param(_swap("UID:b@", "UID:a@"), "duplicate UID", id="duplicate-uid"),
    pytest.param(
        _swap("Europe/Berlin", "W. Europe Standard Time"), "not an IANA zone", id="windows-tzid"
    ),
    pytest.param(
        _swap(b"SUMMARY:Lint baseline", b"SUMMARY:Caf\xc3\r\n \xa9"),
        "splits a UTF-8",
        id="fold-splits-utf8",
    ),
    pytest.param(
        _swap("SUMMARY:Lint baseline", "SUMMARY:Lint\r\nbaseline"),
        "unescaped newline",
        id="unescaped-newline",
    ),
    pytest.param(
        _swap("RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU", "RDATE:20250330T020000,20260329T020000"),
        "RDATE comma list",
        id="rdate-list",
    ),
    pytest.param(
        _swap("DTEND;VALUE=DATE:20250611", "DTEND;VALUE=DATE:20250610"),
        "DTEND is exclusive",
        id="allday-dtend-not-after",
    ),
    pytest.param(_swap("METHOD:PUBLISH\r\n", ""), "no METHOD", id="no-method"),
    pytest.param(
        _swap("DTSTAMP:20250101T000000Z\r\nDTSTART;VALUE", "DTSTART;VALUE"),
        "no DTSTAMP",
        id="no-dtstamp",
    ),
    pytest.param(
        _swap("END:VEVENT\r\nEND:VCALENDAR", "END:VCALENDAR"),
        "unbalanced BEGIN/END",
        id="unbalanced",
    ),
]


def test_lint_baseline_is_clean() -> None:
    assert lint(BASELINE) == []


@pytest.mark.parametrize(("mutate", "expected"), LINT_CASES)
def test_lint_catches(mutate: Callable[[bytes], bytes], expected: str) -> None:
    problems = lint(mutate(BASELINE))
    assert problems, "lint missed it"
    # Each mutation breaks one rule: other messages would mean a noisy lint.
    assert all(expected in p for p in problems), problems


def test_missing_node_is_a_hard_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(interop_parsers.shutil, "which", lambda _name: None)
    with pytest.raises(InteropSetupError, match="scripts/test-setup.sh"):
        occurrences("icaljs", GOOD, START, END)


def test_missing_node_modules_is_a_hard_failure(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(interop_parsers, "INTEROP_DIR", tmp_path)
    with pytest.raises(InteropSetupError, match="scripts/test-setup.sh"):
        check_feed(GOOD, START, END)
