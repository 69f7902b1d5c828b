"""The ``csv`` kind: spreadsheet exports by a column mapping.

The samples in tests/samples/csv/ are exports as the programs write them: Google Sheets (US
dates, a multi-line cell, blank rows), Excel "CSV UTF-8" in a German locale (BOM, CRLF,
semicolons, a title row above the header), Outlook's CSV export (Windows-1252, True/False
all-day flags), Excel serial numbers, a tab-separated paste of odd date formats, and a UK export
(day first).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import icalendar
import pytest

from feedserver.config import Source
from feedserver.errors import ParseError
from feedserver.sources import Pages
from feedserver.sources.spreadsheet import CSV_FIELDS, KEYS, check, parse
from tests.conftest import NOW, SAMPLES
from tests.interop_parsers import check_feed

CSV = SAMPLES / "csv"
GOOGLE = {
    "id": "Event ID",
    "title": "Title",
    "date": "Date",
    "start_time": "Start Time",
    "end_time": "End Time",
    "location": "Location",
    "speaker": "Speaker",
    "categories": "Type",
    "webcast": "Zoom Link",
    "description": "Description",
    "contact": "Contact",
}
GERMAN = {
    "title": "Titel",
    "date": "Datum",
    "start_time": "Beginn",
    "end_time": "Ende",
    "location": "Raum",
    "categories": "Kategorie",
    "speaker": "Referent",
}
OUTLOOK = {
    "title": "Subject",
    "date": "Start Date",
    "start_time": "Start Time",
    "end_date": "End Date",
    "end_time": "End Time",
    "all_day": "All day event",
    "categories": "Categories",
    "description": "Description",
    "location": "Location",
}


def sheet(name: str, columns: dict, **options) -> list[icalendar.Event]:
    return read(name, columns, **options).events


def read(name: str, columns: dict, timezone: str | None = None, **options):
    body = (CSV / name).read_bytes()
    source = Source(
        id="sheet",
        name="Sheet",
        kind="csv",
        calendar="ece",
        path=CSV / name,
        timezone=timezone,
        options={"columns": columns, **options},
    )
    return parse(Pages.single(body), source)


def when(event: icalendar.Event) -> tuple[str, str | None]:
    end = event.get("DTEND")
    return event["DTSTART"].to_ical().decode(), end.to_ical().decode() if end else None


def test_google_sheets_export_with_date_and_time_columns():
    parsed = read("google_sheets_export.csv", GOOGLE)
    events = {str(e["SUMMARY"]): e for e in parsed.events}
    assert [(str(e["UID"]), *when(e)) for e in parsed.events] == [
        ("GS-101@sheet.feedserver", "20260312T140000", "20260312T150000"),
        ("GS-102@sheet.feedserver", "20260313T100000", "20260313T113000"),
        ("GS-103@sheet.feedserver", "20260323", "20260324"),  # no time: all day
        ("GS-104@sheet.feedserver", "20260327T220000", "20260328T010000"),  # past midnight
        ("GS-105@sheet.feedserver", "20260402T153000", "20260402T163000"),
        ("GS-108@sheet.feedserver", "20260414T170000", None),
        ("1713333317f9c8a3a2d05a83@sheet.feedserver", "20260416T090000", "20260416T100000"),
    ]
    seminar = events["ECE Seminar: Robust Perception for Autonomous Driving"]
    assert seminar["LOCATION"] == "EEB 132" and seminar["CATEGORIES"].cats == ["Seminar"]
    assert seminar["DESCRIPTION"] == (
        "Perception systems fail in rain, fog and glare. This talk shows how to measure it.\n\n"
        "Speaker: Dr. Priya Raman, Waymo\n\n"
        "Contact: Mayumi Thrasher\n\n"
        "Webcast: https://hillside.zoom.us/j/95512340001"
    )
    reading = events['Reading Group: "Attention Is All You Need" — revisited']
    assert reading["CATEGORIES"].cats == ["Seminar", "Workshop"]  # "Seminar; Workshop"
    assert reading["DESCRIPTION"].startswith("Paper: Vaswani et al., 2017\nDiscussion led by")
    assert parsed.warnings == [
        "row 7 ('Robotics Demo Day') skipped: date: cannot read 'TBD' as a date:"
        " String does not contain a date: TBD",
        "row 8 ('Faculty Candidate Talk') skipped: start_time: cannot read '25:00' as a time of"
        " day: hour must be in 0..23: 25:00",
        "row 9 ('Industry Panel: Careers in Chip Design'): end_time: cannot read 'noon-ish' as a"
        " time of day; the event keeps its start only",
    ]


def test_excel_utf8_with_bom_semicolons_and_a_title_row_above_the_header():
    parsed = read("excel_semicolon_bom.csv", GERMAN)
    assert parsed.warnings == []
    assert [(str(e["SUMMARY"]), *when(e), e.get("LOCATION")) for e in parsed.events] == [
        ("Einführung in LaTeX", "20260312T140000", "20260312T153000", "EEB 132"),
        ("Python für Ingenieure; Teil 1", "20260319T090000", "20260319T120000", "RTH 105"),
        ("Tag der offenen Tür", "20260326", "20260327", "Campus"),  # 26.03.2026: day first
        ("Sprechstunde (online)", "20260402T160000", "20260402T170000", "Zoom"),
    ]
    assert parsed.events[1]["DESCRIPTION"] == "Speaker: Dr. Zoë Weiß"


def test_outlook_export_in_windows_1252_with_all_day_flags():
    parsed = read("outlook_windows1252.csv", OUTLOOK)
    assert parsed.warnings == [
        "not UTF-8 (byte 0xe9 at offset 185): read as Windows-1252, the encoding of Excel's"
        ' "CSV (Comma delimited)"; set csv.encoding to say which it is'
    ]
    assert [(str(e["SUMMARY"]), *when(e)) for e in parsed.events] == [
        ("Café Scientifique – Gödel & Bach", "20260317T173000", "20260317T190000"),
        ("Spring Career Fair", "20260318", "20260319"),  # Outlook ends all-day at next midnight
        ("Founders' Week", "20260420", "20260425"),  # Apr 20-24
    ]
    assert parsed.events[0]["DESCRIPTION"] == "“Science over coffee” — all welcome."
    quiet = read("outlook_windows1252.csv", OUTLOOK, encoding="cp1252")
    assert quiet.warnings == [] and quiet.events[0]["SUMMARY"] == parsed.events[0]["SUMMARY"]


def test_excel_serial_numbers_are_dates_and_day_fractions():
    events = sheet(
        "excel_serial_dates.csv",
        {"title": "Title", "date": "Date", "start_time": "Start", "end_time": "End"},
    )
    assert [when(e) for e in events] == [
        ("20260312T140000", "20260312T150000"),  # 46093, 0.583333, 0.625
        ("20260313T090000", None),  # 46094.375: date and time in one cell
        ("20260319", "20260320"),
    ]


def test_odd_date_formats_in_one_column():
    parsed = read("odd_dates.tsv", {"title": "Title", "start": "When", "location": "Where"})
    assert [(str(e["SUMMARY"]), *when(e)) for e in parsed.events] == [
        ("ISO 8601", "20260312T140000", None),
        ("US with seconds", "20260312T140000", None),
        ("Month name", "20260312T140000", None),
        ("Day first, spelled", "20260312T140000", None),
        ("A range", "20260312T140000", "20260312T153000"),
        ("The seed page's form", "20260312T140000", "20260312T150000"),
        ("Date range", "20260312", "20260315"),  # Mar 12 - Mar 14 includes the 14th
    ]
    assert parsed.warnings == [
        "row 9 ('No year') skipped: start: cannot read 'March 12 2pm' as a date: no year"
    ]


def test_dayfirst_reads_uk_dates():
    columns = {"title": "Title", "date": "Date", "start_time": "Time", "end_time": "Finish"}
    us, uk = sheet("uk_dayfirst.csv", columns), sheet("uk_dayfirst.csv", columns, dayfirst=True)
    assert [when(e)[0] for e in us] == ["20260503T140000", "20261203T110000"]
    assert [when(e)[0] for e in uk] == ["20260305T140000", "20260312T110000"]


def test_times_are_floating_for_the_site_zone_unless_the_source_names_one():
    floating = sheet("uk_dayfirst.csv", {"title": "Title", "date": "Date", "start_time": "Time"})
    assert floating[0]["DTSTART"].dt.tzinfo is None  # normalize places it in the site's zone
    zoned = read("uk_dayfirst.csv", {"title": "Title", "date": "Date"}, "Europe/London")
    assert zoned.events[0]["DTSTART"].dt == date(2026, 5, 3)  # a date stays a date
    timed = read(
        "uk_dayfirst.csv", {"title": "Title", "date": "Date", "start_time": "Time"}, "Europe/London"
    )
    assert timed.events[0]["DTSTART"].params["TZID"] == "Europe/London"


def test_several_columns_for_one_field_and_an_explicit_delimiter():
    events = sheet(
        "google_sheets_export.csv",
        {**GOOGLE, "location": ["Location", "Contact"], "categories": ["Type", "Speaker"]},
        delimiter=",",
    )
    assert events[0]["LOCATION"] == "EEB 132, Mayumi Thrasher"
    assert events[0]["CATEGORIES"].cats == ["Seminar", "Dr. Priya Raman, Waymo"]


def test_a_missing_column_is_a_parse_error_listing_the_headers_found():
    with pytest.raises(ParseError) as raised:
        sheet("google_sheets_export.csv", {**GOOGLE, "start_time": "Start", "host": "Host"})
    assert str(raised.value) == (
        "column(s) not found: columns.start_time = 'Start'; columns.host = 'Host'; the header"
        " (row 1) has 'Event ID', 'Title', 'Date', 'Start Time', 'End Time', 'Location',"
        " 'Speaker', 'Type', 'Zoom Link', 'Description', 'Contact'"
    )


@pytest.mark.parametrize(
    ("body", "options", "message"),
    [
        (b"", {}, "empty file: expected a CSV export with a header row"),
        (b"\r\n\r\n", {}, "empty file: expected a CSV export with a header row"),
        (
            b"PK\x03\x04\x14\x00\x06\x00",
            {},
            "an Excel workbook (.xlsx), not CSV: save or export it as CSV",
        ),
        (
            b"<!DOCTYPE html>\n<html><head><title>Google Sheets - Sign in</title>",
            {},
            "not CSV but HTML or XML: it starts with '<!DOCTYPE html>' (a Google Sheets link must"
            " be its File → Share → Publish to web → CSV link)",
        ),
        (
            b'Title,Date\n"Talk, 2026-03-12\n' + b"x" * 140_000,
            {},
            'not readable as CSV: field larger than field limit (131072); is a quote (") opened'
            " and never closed?",
        ),
        (
            b"Title,Date\nCaf\xe9,2026-03-12\n",
            {"encoding": "utf-8"},
            "not utf-8 text: byte 0xe9 at offset 14",
        ),
    ],
)
def test_unusable_files_are_parse_errors_that_say_why(tmp_path, body, options, message):
    source = Source(
        id="s",
        name="S",
        kind="csv",
        calendar="ece",
        path=tmp_path / "x.csv",
        options={"columns": {"title": "Title", "date": "Date"}, **options},
    )
    with pytest.raises(ParseError) as raised:
        parse(Pages.single(body), source)
    assert str(raised.value) == message


def test_utf16_unicode_text_export_is_read():
    body = "Title\tDate\r\nSéminaire\t12/03/2026\r\n".encode("utf-16")
    source = Source(
        id="s",
        name="S",
        kind="csv",
        calendar="ece",
        options={"columns": {"title": "Title", "date": "Date"}},
    )
    [event] = parse(Pages.single(body), source).events
    assert (event["SUMMARY"], event["DTSTART"].dt) == ("Séminaire", date(2026, 12, 3))


def test_check_reports_each_problem_with_its_key():
    assert check({"columns": GOOGLE}) == []
    assert check({"columns": {"title": "T", "start": "When"}, "delimiter": ";"}) == []
    assert check(
        {
            "column": {},
            "columns": {"title": "T", "date": "D", "start": "S", "speakr": "Who", "host": 3},
            "delimiter": ";;",
            "encoding": "klingon",
            "dayfirst": 1,
        }
    ) == [
        "column: unknown key (did you mean 'columns'?)",
        "columns.speakr: unknown event field (did you mean 'speaker'?); known: title, start, end,"
        " all_day, timezone, id, url, location, description, categories, status, image, speaker,"
        " talk_title, abstract, biography, host, audiences, contact, webcast, date, start_time,"
        " end_date, end_time",
        "columns.host: expected a column header or a list of them",
        "columns.date: give either date or start, not both",
        "dayfirst: must be true or false",
        'delimiter: expected one character such as ";" or "\\t", got \';;\'',
        "encoding: unknown encoding 'klingon' (e.g. utf-8, cp1252)",
    ]
    assert check({}) == ['columns: required: a table of event field = "Column header"']
    assert check({"columns": {"location": "Room"}}) == [
        "columns.title: required: the column of the event's title",
        "columns.start: required: the column of the start (or date)",
    ]


def test_every_csv_key_and_column_field_is_documented_in_readme():
    readme = (SAMPLES.parent.parent / "README.md").read_text()
    missing = [k for k in [*KEYS, *CSV_FIELDS] if f"`{k}`" not in readme]
    assert not missing, f"undocumented [csv] keys or fields: {missing}"


# -- a file source and a URL source through the whole pipeline ---------------------------------

SHEET_TOML = """
name = "ECE workshops (Google Sheets)"
kind = "csv"
calendar = "ece"
{where}

[categories]
"Holiday" = "social"

[csv.columns]
id = "Event ID"
title = "Title"
date = "Date"
start_time = "Start Time"
end_time = "End Time"
location = "Location"
speaker = "Speaker"
categories = "Type"
webcast = "Zoom Link"
description = "Description"
contact = "Contact"
"""
WINDOW = "/all.ics?from=2026-03-01&to=2026-04-30"


def sheet_source(site, where: str) -> None:
    site.source("sheet", SHEET_TOML.format(where=where))


def uids(body: bytes) -> list[str]:
    return sorted(str(e["UID"]) for e in icalendar.Calendar.from_ical(body).walk("VEVENT"))


def test_a_local_csv_file_is_a_source(site):
    (site.feeds / "data" / "workshops.csv").write_bytes(
        (CSV / "google_sheets_export.csv").read_bytes()
    )
    sheet_source(site, 'path = "data/workshops.csv"')
    outcome = site.refresh()[0]
    assert (outcome.status, outcome.events, len(outcome.warnings)) == ("updated", 7, 3)
    body = site.client(now=NOW).get(WINDOW).data
    assert b"UID:GS-101@sheet.feedserver" in body
    assert b"Join online: https://hillside.zoom.us/j/95512340001" in body
    seminars = site.client(now=NOW).get("/types/seminar.ics?from=2026-03-01&to=2026-04-30").data
    assert uids(seminars) == [
        "GS-101@sheet.feedserver",
        "GS-105@sheet.feedserver",
        "GS-108@sheet.feedserver",
    ]


def test_a_csv_url_with_a_renamed_column_fails_and_keeps_its_last_good_events(site, upstream):
    good = (CSV / "google_sheets_export.csv").read_bytes()
    upstream.serve("/sheet.csv", good, content_type="text/csv")
    sheet_source(site, f'url = "{upstream.url("/sheet.csv")}"')
    site.refresh()
    before = site.client(now=NOW).get(WINDOW).data
    upstream.serve("/sheet.csv", good.replace(b"Start Time", b"Begins", 1), content_type="text/csv")
    outcome = site.refresh(now=NOW + timedelta(hours=1))[0]
    assert outcome.status == "failed"
    assert outcome.error.startswith(
        "column(s) not found: columns.start_time = 'Start Time'; the header (row 1) has"
        " 'Event ID', 'Title', 'Date', 'Begins',"
    )
    assert uids(site.client(now=NOW).get(WINDOW).data) == uids(before)


def test_rows_keep_their_uids_edits_move_sequence_and_deleted_rows_leave(site, upstream):
    good = (CSV / "google_sheets_export.csv").read_bytes()
    upstream.serve("/sheet.csv", good, content_type="text/csv")
    sheet_source(site, f'url = "{upstream.url("/sheet.csv")}"')
    site.refresh()
    first = site.client(now=NOW).get(WINDOW).data
    lines = good.split(b"\n")
    edited = [
        line.replace(b"RTH 211", b"RTH 217") for line in lines if not line.startswith(b"GS-104")
    ]
    upstream.serve("/sheet.csv", b"\n".join(edited), content_type="text/csv")
    later = NOW + timedelta(hours=1)
    outcome = site.refresh(now=later)[0]
    assert (outcome.stats.changed, outcome.stats.added, outcome.stats.removed) == (1, 0, 1)
    body = site.client(now=later).get(WINDOW).data
    assert uids(body) == [u for u in uids(first) if not u.startswith("GS-104@")]
    events = {str(e["UID"]): e for e in icalendar.Calendar.from_ical(body).walk("VEVENT")}
    clinic = events["GS-102@sheet.127.0.0.1"]
    assert (clinic["SEQUENCE"], clinic["LOCATION"]) == (1, "RTH 217")
    assert clinic["LAST-MODIFIED"].dt == later
    assert events["GS-101@sheet.127.0.0.1"]["SEQUENCE"] == 0


@pytest.mark.slow
def test_feeds_of_csv_sources_pass_the_independent_parsers(site):
    for name, columns in [
        ("google_sheets_export.csv", GOOGLE),
        ("excel_semicolon_bom.csv", GERMAN),
        ("outlook_windows1252.csv", OUTLOOK),
    ]:
        (site.feeds / "data" / name).write_bytes((CSV / name).read_bytes())
        mapping = "\n".join(f"{k} = {v!r}".replace("'", '"') for k, v in columns.items())
        site.source(
            name.split(".")[0].replace("_", "-"),
            f'name = "{name}"\nkind = "csv"\ncalendar = "ece"\npath = "data/{name}"\n'
            f"[csv.columns]\n{mapping}\n",
        )
    assert {o.status for o in site.refresh()} == {"updated"}
    body = site.client(now=NOW).get("/all.ics?from=2026-03-01&to=2026-05-31").data
    start, end = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC)
    results = check_feed(body, start, end)
    assert len({uid for uid, _ in results["icalendar"]}) == 14


def test_the_demo_reads_its_google_sheet(demo):
    now = datetime(2026, 11, 1, tzinfo=UTC)
    outcome = {o.source.id: o for o in demo.refresh(now=now)}["ece-workshops"]
    assert (outcome.status, outcome.events) == ("updated", 7)
    assert outcome.warnings == [
        "row 9 ('Thesis Defense Dry Runs') skipped: date: cannot read 'TBA' as a date:"
        " String does not contain a date: TBA"
    ]
    body = demo.client(now=now).get("/types/workshop.ics").data
    assert [u for u in uids(body) if u.endswith("@ece-workshops.feedserver")] == [
        "W-2611-01@ece-workshops.feedserver",
        "W-2611-02@ece-workshops.feedserver",  # "Info Session", mapped by [categories]
        "W-2612-01@ece-workshops.feedserver",
        "W-2702-01@ece-workshops.feedserver",
        "W-2703-01@ece-workshops.feedserver",
        "W-2704-01@ece-workshops.feedserver",
    ]


def test_a_row_pasted_twice_is_one_event():
    body = b"Title,When\nTalk,2026-03-12 14:00\nTalk,2026-03-12 14:00\nTalk,2026-03-13 14:00\n"
    source = Source(
        id="s",
        name="S",
        kind="csv",
        calendar="ece",
        options={"columns": {"title": "Title", "start": "When"}},
    )
    parsed = parse(Pages.single(body), source)
    assert [when(e)[0] for e in parsed.events] == ["20260312T140000", "20260313T140000"]
    assert parsed.warnings == ["row 3 ('Talk') skipped: the same event as row 2 ('Talk')"]
