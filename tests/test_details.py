"""Stage ②: the facts read at ingest for filters and pages (details.py), after content.enrich."""

from __future__ import annotations

import json
import random
import re
import unicodedata
import zoneinfo

import icalendar
import pytest

from feedserver import content, details
from feedserver.config import Source

LA = zoneinfo.ZoneInfo("America/Los_Angeles")

SEED = """\
BEGIN:VEVENT
UID:seed@example.edu
DTSTART;TZID=America/Los_Angeles:20241031T140000
DTEND;TZID=America/Los_Angeles:20241031T150000
SUMMARY:AIF4S Seminar: Value of Pretraining Data
DESCRIPTION:Speaker: Dr. Berivan Isik\\, Research Scientist\\, Google\\, Inc.\\nT
 alk Title: Value of Pretraining Data\\nHost: Dr. Mahdi Soltanolkotbi\\, soltano
 l@usc.edu\\nWebcast: https://usc.zoom.us/j/98648507063?pwd=kORhNLFVMLol7FYlHv6T
 sAmqcKqD7t.1Location: Hughes Aircraft Electrical Engineering Center (EEB) - 13
 2\\nAudiences: Everyone Is Invited\\nContact: Mayumi Thrasher
END:VEVENT
"""


def enriched(text: str, online_links: str = "include") -> icalendar.Event:
    event = icalendar.Event.from_ical(text.replace("\n", "\r\n"))
    source = Source("s", "S", "ics", "ece", online_links=online_links)
    assert content.enrich(event, source=source, config=None) == []  # type: ignore[arg-type]
    return event


def test_the_seed_page_event_gives_every_field():
    facts = details.facts(enriched(SEED), LA)
    assert facts.title == "AIF4S Seminar: Value of Pretraining Data"
    assert facts.speaker == "Dr. Berivan Isik, Research Scientist, Google, Inc."
    assert facts.host == "Dr. Mahdi Soltanolkotbi, soltanol@usc.edu"
    assert facts.audience == "Everyone Is Invited"
    assert facts.contact == "Mayumi Thrasher"
    assert facts.location == "Hughes Aircraft Electrical Engineering Center (EEB) - 132"
    assert (
        facts.meeting_url
        == "https://usc.zoom.us/j/98648507063?pwd=kORhNLFVMLol7FYlHv6TsAmqcKqD7t.1"
    )
    assert facts.meeting_label == "Zoom" and facts.online
    assert (facts.tzid, facts.duration, facts.all_day) == ("America/Los_Angeles", 3600, False)


def test_omitted_links_still_make_an_online_event():
    facts = details.facts(enriched(SEED, "omit"), LA)
    assert facts.online and facts.meeting_url == ""
    assert "zoom" not in facts.description


@pytest.mark.parametrize(
    "location, place",
    [
        ("EEB 132 / Zoom: https://zoom.us/j/123456789", "EEB 132"),
        ("https://meet.google.com/abc-defg-hij", ""),
        ("Online", ""),
        ("Zoom (online)", ""),
        ("Linden Hall 101 (Zoom)", "Linden Hall 101"),
        ("Gates 104; Microsoft Teams", "Gates 104"),
        ("Hughes Aircraft Electrical Engineering Center (EEB) - 132", None),
    ],
)
def test_place_is_the_location_without_links(location, place):
    assert details._place(location, "") == (location if place is None else place)


def test_columns_fold_every_component_and_keep_words_apart():
    group = [
        icalendar.Event.from_ical(
            "BEGIN:VEVENT\r\nUID:x\r\nDTSTART:20260101T100000Z\r\nRRULE:FREQ=DAILY\r\n"
            "SUMMARY:Café\r\nLOCATION:EEB-132\r\nEND:VEVENT\r\n"
        ),
        icalendar.Event.from_ical(
            "BEGIN:VEVENT\r\nUID:x\r\nRECURRENCE-ID:20260102T100000Z\r\n"
            "DTSTART:20260102T120000Z\r\nSUMMARY:Special\r\nLOCATION:Linden Hall\r\nEND:VEVENT\r\n"
        ),
    ]
    columns = details.columns(group, LA)
    assert columns.location_text == " eeb 132 | linden hall"
    assert " special" in columns.search_text and " cafe" in columns.search_text
    stored = details.load(columns.details)
    assert [f.recurrence_id for f in stored] == [None, 1767348000]
    assert [f.tzid for f in stored] == ["UTC", "UTC"]
    assert json.loads(columns.details)[0]["title"] == "Café"


def test_labels_match_the_ones_content_writes():
    # content.enrich writes each field with the label it found; details must read them all.
    keys = {"speaker": "speaker", "host": "host", "audiences": "audience", "contact": "contact"}
    for key, _, labels in content._FIELDS:
        if key in keys:
            assert {label.casefold() for label in labels} == set(details._LABELLED[keys[key]])


def test_only_web_addresses_become_links():
    event = icalendar.Event.from_ical(
        "BEGIN:VEVENT\r\nUID:x\r\nDTSTART:20260101T100000Z\r\nURL:javascript:alert(1)\r\n"
        "CONFERENCE;VALUE=URI:javascript://%0Aalert(1)\r\nEND:VEVENT\r\n"
    )
    facts = details.facts(event, LA)
    assert (facts.url, facts.meeting_url, facts.online) == ("", "", False)


def test_fold_is_the_regular_expression_definition():
    # fold() works with byte tables for speed; it must equal this plain definition on any text.
    combining = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")

    def reference(text: str) -> str:
        if text.isascii():
            return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()
        decomposed = combining.sub("", unicodedata.normalize("NFKD", text.casefold()))
        return re.sub(r"[\W_]+", " ", decomposed).strip()

    rng = random.Random(42)
    alphabet = [chr(c) for c in range(0x250)] + list(
        "ℌﬁ²½—–“”·øſİıK\u0301\u0308\u1ab0\u20d0\ufe20\u00a0\u2028\u3000é日本_\U0001f600\u0345"
    )
    texts = ["".join(rng.choices(alphabet, k=rng.randint(0, 12))) for _ in range(20000)]
    texts += ["".join(chr(rng.randint(0, 0x10FFFF)) for _ in range(6)) for _ in range(5000)]
    for text in texts:
        assert details.fold(text) == reference(text), repr(text)
