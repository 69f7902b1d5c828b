"""The filter language over a fixture store: each parameter, combinations, recurring edge cases,
alarms, expansion, canonical URLs and the 400s (stages ④ query, ③ store, ⑤ render, ⑥ web)."""

from __future__ import annotations

import re

import icalendar
import pytest

from tests.conftest import NOW

MARCH = "from=2026-03-01&to=2026-03-31"
ML, ROBOTICS, MIXER = "ml-talk", "robotics-workshop", "spring-mixer"
DEFENSE, CANCELLED, WEEKLY, HOLIDAY = "online-defense", "cancelled-talk", "weekly-lab", "holiday"
CS = "cs-colloquium"


def get(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, response.data
    return response


def uids(client, url) -> list[str]:
    calendar = icalendar.Calendar.from_ical(get(client, url).data)
    return sorted({str(e["UID"]).split("@")[0] for e in calendar.walk("VEVENT")})


@pytest.mark.parametrize(
    "query, expected",
    [
        ("", [CANCELLED, CS, DEFENSE, ML, ROBOTICS, MIXER, WEEKLY]),
        ("calendar=cs", [CS]),
        ("calendar=ECE,cs", [CANCELLED, CS, DEFENSE, ML, ROBOTICS, MIXER, WEEKLY]),
        ("type=seminar", [CANCELLED, CS, DEFENSE, ML]),
        ("type=workshop&type=social", [ROBOTICS, MIXER, WEEKLY]),
        ("exclude_type=seminar", [ROBOTICS, MIXER, WEEKLY]),
        ("exclude_type=seminar,workshop", [MIXER]),
        ("q=machine learning", [ML]),
        ("q=learning", [DEFENSE, ML]),  # title of one, "Learning to Plan" of the other
        ("q=CAFE", [ML]),  # case- and accent-insensitive
        ("q=café owners", [ML]),
        ("q=rene muller", [ML]),  # the speaker
        ("q=lopez", [CS]),
        ("q=pretraining", [ML]),  # the description
        ("q=gates", [CS]),  # the location
        ("q=machine plan", []),  # every word must match
        ("q=robotics,mixer", [ROBOTICS, MIXER]),  # alternatives
        ('q="learning to plan"', [DEFENSE]),
        ('q="plan learning"', []),
        ("q=summer special", [WEEKLY]),  # an override's title finds the series
        ("location=eeb", [CANCELLED, ML, MIXER, WEEKLY]),
        ("location=EEB 248", [CANCELLED, WEEKLY]),
        ("location=linden,gates", [CS, ROBOTICS, WEEKLY]),  # the override is in Linden Hall
        ("location=meet.google", []),  # a meeting link is no place
        ("audience=graduate", [CS, ML]),  # not "Undergraduates": words match from their start
        ("audience=undergrad", [ROBOTICS]),
        ("q=learn", [DEFENSE, ML]),
        ("q=earning", []),
        ("location=eeb-132", [ML]),  # punctuation does not matter
        ("audience=graduate students", [CS, ML]),
        ("audience=everyone,faculty", [ML, MIXER]),
        ("online=1", [DEFENSE, ML]),
        ("online=0", [CANCELLED, CS, ROBOTICS, MIXER, WEEKLY]),
        ("online=yes&type=seminar&calendar=ece", [DEFENSE, ML]),
        ("calendar=ece&type=seminar&online=0", [CANCELLED]),
        ("type=seminar&exclude_type=workshop&q=learning&online=1&audience=faculty", [ML]),
    ],
)
def test_filter_matrix(client, query, expected):
    assert uids(client, f"/all.ics?{MARCH}&{query}") == sorted(expected)


@pytest.mark.parametrize(
    "window, expected",
    [
        # a series that began in January is in a March window
        ("from=2026-03-01&to=2026-03-07", [WEEKLY]),
        # an EXDATE on the only occurrence in the window
        ("from=2026-03-19&to=2026-03-19", []),
        # an override moved out of the window: its original date is empty
        ("from=2026-04-02&to=2026-04-02", []),
        # … and into another window, far from the rest of the series
        ("from=2026-06-10&to=2026-06-10", [WEEKLY]),
        ("from=2026-05-01&to=2026-06-09", []),
        # the all-day holiday, by its date in the site's zone
        ("from=2026-07-04&to=2026-07-04", [HOLIDAY]),
        ("from=2026-07-05&to=2026-07-05", []),
    ],
)
def test_recurring_edge_cases(client, window, expected):
    assert uids(client, f"/calendars/ece.ics?{window}") == expected


def test_days_and_past_roll_with_today(client):
    # today is 2026-03-01 (NOW); days=N is N days from today, today included
    assert uids(client, "/all.ics?days=10&past=0") == [ML, WEEKLY]
    assert uids(client, "/all.ics?days=12&past=0") == [CS, ML, ROBOTICS, WEEKLY]
    assert uids(client, "/all.ics?past=0&q=weekly") == [WEEKLY]
    # the default window keeps feeds.past_days (30) of history: January's lab meetings count
    assert uids(client, "/all.ics?to=2026-02-01&q=weekly") == [WEEKLY]
    assert uids(client, "/all.ics?to=2026-02-01&past=0&q=weekly") == []


def test_alarm_adds_one_valarm_to_every_vevent(client):
    body = get(client, f"/all.ics?{MARCH}&alarm=15").data
    assert body.count(b"BEGIN:VALARM") == body.count(b"BEGIN:VEVENT") == 8  # 7 + an override
    assert b"\r\nTRIGGER:-PT15M\r\n" in body and b"\r\nACTION:DISPLAY\r\n" in body
    calendar = icalendar.Calendar.from_ical(body)
    for event in calendar.walk("VEVENT"):
        (alarm,) = event.walk("VALARM")
        assert alarm.get("DESCRIPTION") == "Reminder"
    several = get(client, f"/all.ics?{MARCH}&alarm=1440,0&q=mixer").data
    assert re.findall(rb"TRIGGER:(\S+)\r\n", several) == [b"PT0S", b"-P1D"]


def test_alarm_replaces_upstream_alarms(site):
    site.sample("zoom", "zoom_export.ics")  # carries VALARM TRIGGER:-PT10M
    site.refresh()
    client = site.client(now=NOW)
    plain = get(client, "/all.ics?from=2025-01-01&to=2027-12-31").data
    assert b"TRIGGER:-PT10M" in plain
    body = get(client, "/all.ics?from=2025-01-01&to=2027-12-31&alarm=30").data
    assert b"TRIGGER:-PT10M" not in body
    assert body.count(b"BEGIN:VALARM") == body.count(b"BEGIN:VEVENT")


def test_expand_turns_a_series_into_single_events(client):
    url = "/calendars/ece.ics?from=2026-03-01&to=2026-06-30&expand=1&q=weekly"
    body = get(client, url).data
    events = icalendar.Calendar.from_ical(body).walk("VEVENT")
    for name in ("RRULE", "RDATE", "EXDATE", "RECURRENCE-ID"):
        assert not any(name in e for e in events)
    # 03-19 is an EXDATE; 04-02 moved to 06-10; DST starts 03-08
    stamps = ["20260306T000000Z", "20260312T230000Z", "20260326T230000Z", "20260409T230000Z"]
    stamps += ["20260416T230000Z", "20260423T230000Z", "20260430T230000Z", "20260610T230000Z"]
    assert [str(e["UID"]) for e in events] == [f"weekly-lab@filters.example-{s}" for s in stamps]
    assert str(events[-1]["SUMMARY"]) == "Weekly lab meeting: summer special edition"
    assert {int(e["SEQUENCE"]) for e in events} == {0}
    # stable: the same bytes again, and from a fresh app
    assert get(client, url).data == body


def test_expand_and_alarm_combine_and_leave_single_events_alone(client):
    body = get(client, f"/all.ics?{MARCH}&expand=1&alarm=10").data
    events = icalendar.Calendar.from_ical(body).walk("VEVENT")
    assert len(events) == 9  # 6 single events + the series' 3 March dates
    assert body.count(b"BEGIN:VALARM") == 9
    assert "ml-talk@filters.example" in {str(e["UID"]) for e in events}


def test_equivalent_urls_share_one_cache_entry_and_etag(store_site, client):
    urls = [
        "/calendars/ece.ics?type=seminar,workshop&q=Learning&online=1&alarm=10,60",
        "/calendars/ECE.ics?online=true&type=workshop&type=seminar&q=learning&alarm=60&alarm=10",
        "/all.ics?calendar=ece&type=seminar,workshop,seminar&q=LEARNING&online=1&alarm=60,10",
        "/calendars/ece.ics?calendar=ece,cs&type=workshop,seminar&q=learning&online=yes&alarm=10,60",
    ]
    cache = store_site.apps[-1].extensions["feedserver"].cache
    first = get(client, urls[0])
    misses = cache.misses
    for url in urls[1:]:
        again = get(client, url)
        assert again.headers["ETag"] == first.headers["ETag"] and again.data == first.data
    assert cache.misses == misses  # every one was a cache hit
    assert (
        b"SOURCE;VALUE=URI:https://events.example.edu/calendars/ece.ics?alarm=10,60&online=1"
        in (first.data.replace(b"\r\n ", b""))
    )


def test_calendar_name_says_the_filter_unless_named(client):
    body = get(client, "/calendars/ece.ics?type=seminar&exclude_type=social&q=learning&online=1")
    text = body.data.replace(b"\r\n ", b"").decode()
    assert (
        "X-WR-CALNAME:Test University — Electrical Engineering\\, Seminar\\, without Social\\, "
        "matching “learning”\\, online\r\n"
    ) in text
    named = get(client, "/calendars/ece.ics?name=My  talks&days=30").data.decode()
    assert "\r\nX-WR-CALNAME:My talks\r\n" in named and "\r\nNAME:My talks\r\n" in named


@pytest.mark.parametrize(
    "query, message",
    [
        ("tpye=seminar", "unknown parameter 'tpye' (did you mean 'type'?); valid parameters: "),
        ("search=ai", "unknown parameter 'search' (did you mean 'q'?)"),
        ("reminder=10", "unknown parameter 'reminder' (did you mean 'alarm'?)"),
        ("exclude=social", "unknown parameter 'exclude' (did you mean 'exclude_type'?)"),
        ("exclude_types=social", "(did you mean 'exclude_type'?)"),
        ("onlin=1", "unknown parameter 'onlin' (did you mean 'online'?)"),
        ("exclude_type=socal", "exclude_type: unknown type 'socal' (did you mean 'social'?)"),
        ("online=maybe", "online: expected 1 (only events with a meeting link; 0: without) or 0"),
        ("online=1&online=0", "online: given 2 times; give it once"),
        ("alarm=-5", "alarm: expected minutes before the start, a whole number from 0 to 40320"),
        ("alarm=1h", "(several: alarm=10,60), got '1h'"),
        ("alarm=99999", "alarm: expected minutes before the start"),
        ("alarm=1,2,3,4,5,6", "alarm: at most 5 reminders, got 6"),
        ("days=0", "days: expected the number of days ahead, today first, a whole number from 1"),
        ("days=week", "days: expected the number of days ahead"),
        ("past=-1", "past: expected the number of days of history to keep, a whole number from 0"),
        ("to=2026-05-01&days=3", "to and days both set the window's end; give one of them"),
        ("from=2026-05-01&past=3", "from and past both set the window's start; give one of them"),
        ("name=", "name: expected the calendar's display name, 1 to 200 characters"),
        ("name=a&name=b", "name: given 2 times; give it once"),
        ("expand=2", "expand: expected 1 (one event per occurrence) or 0, got '2'"),
        ("q=,", "q: expected one or more words to search for, got an empty value"),
        ("location=", "location: expected one or more words, got an empty value"),
        ("q=" + "x" * 201, "q: at most 200 characters"),
    ],
)
def test_bad_parameters_are_400_with_what_is_expected(client, query, message):
    for extension in (".ics", ".json", ""):
        response = get(client, f"/all{extension}?{query}", status=400)
        text = response.get_json()["error"] if extension == ".json" else response.data.decode()
        assert message in text.replace("&#39;", "'"), text
