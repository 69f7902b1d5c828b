"""Stage ②: time zone repair, typing, identity bookkeeping; one sample quirk per test."""

from __future__ import annotations

import random
import zoneinfo
from datetime import UTC, date, datetime, timedelta

import icalendar

from feedserver.normalize import Horizon, normalize
from feedserver.sources import Pages, ics
from tests.conftest import NOW, SAMPLES

LA = zoneinfo.ZoneInfo("America/Los_Angeles")
HORIZON = Horizon.around(NOW, 400, 1100)


def contributions(site, name, toml_extra=""):
    site.sample("src", name, extra=toml_extra)
    config = site.config()
    source = config.source("src")
    parsed = ics.parse(Pages.single((SAMPLES / "ics" / name).read_bytes()), source)
    found, warnings = normalize(parsed, source, config, HORIZON)
    return {c.uid: c for c in found}, warnings


def events(contribution) -> list[icalendar.Event]:
    body = b"BEGIN:VCALENDAR\r\n" + contribution.body + b"END:VCALENDAR\r\n"
    return icalendar.Calendar.from_ical(body).walk("VEVENT")


def start(contribution):
    return events(contribution)[0]["DTSTART"].dt


def test_windows_zone_name_becomes_iana(site):
    found, warnings = contributions(site, "windows_tzid.ics")
    summer = found["040000008200E00074C5B7101A82E00800000000-summer"]
    assert start(summer) == datetime(2026, 7, 15, 10, tzinfo=LA)
    assert summer.tzids == ("America/Los_Angeles",) and warnings == []
    assert b"Pacific Standard Time" not in summer.body
    assert b"X-MICROSOFT-CDO-BUSYSTATUS:BUSY" in summer.body  # carried through


def test_customized_zone_is_matched_to_the_source_zone(site):
    found, _ = contributions(site, "customized_time_zone.ics")
    series = found["custom-zone-weekly"]
    assert start(series) == datetime(2026, 1, 6, 16, tzinfo=LA)
    assert events(series)[0]["RRULE"]["UNTIL"] == [datetime(2026, 6, 30, 23, tzinfo=UTC)]
    july = [s for s, *_ in series.occurrences if s >= datetime(2026, 6, 1, tzinfo=UTC).timestamp()]
    assert datetime.fromtimestamp(july[0], LA).hour == 16  # still 16:00 after the DST change


def test_x_wr_timezone_feed_gets_local_times(site):
    found, _ = contributions(site, "x_wr_timezone_google.ics")
    assert start(found["colloquium-series@google.com"]) == datetime(2026, 1, 7, 14, tzinfo=LA)


def test_floating_times_take_the_source_zone_and_unknown_zones_warn(site):
    found, warnings = contributions(site, "floating_times.ics", 'timezone = "America/New_York"')
    ny = zoneinfo.ZoneInfo("America/New_York")
    assert start(found["floating-1@example.edu"]) == datetime(2026, 7, 20, 9, 30, tzinfo=ny)
    assert start(found["unknown-tzid@example.edu"]) == datetime(2026, 1, 20, 9, 30, tzinfo=ny)
    assert warnings == [
        "event 'unknown-tzid@example.edu': DTSTART: unknown time zone 'Eastern Time'; "
        "times taken as America/New_York"
    ]


def test_broken_events_are_skipped_with_warnings_not_the_source(site):
    found, warnings = contributions(site, "broken_events.ics")
    assert "good@example.edu" in found and len(found) == 2
    assert "event 'no-start@example.edu' (No DTSTART) skipped: it has no DTSTART" in warnings
    assert any(
        w.startswith("event 'bad-start@example.edu' (ISO 8601 DTSTART) skipped: DTSTART")
        for w in warnings
    )
    assert any("(No UID) has no UID; using " in w for w in warnings)
    assert "ignored 1 VTODO component(s): only VEVENTs are served" in warnings


def test_series_with_override_exdate_and_rdate(site):
    found, _ = contributions(site, "recurring_overrides.ics")
    series = found["weekly-seminar@example.edu"]
    assert [e.get("RECURRENCE-ID") is not None for e in events(series)] == [False, True]
    starts = [datetime.fromtimestamp(s, LA) for s, *_ in series.occurrences]
    assert datetime(2026, 1, 22, 14, tzinfo=LA) not in starts  # EXDATE
    assert datetime(2026, 3, 12, 16, tzinfo=LA) in starts  # the override's new time
    assert datetime(2026, 4, 6, 10, tzinfo=LA) in starts  # RDATE
    assert len(starts) == 13 and series.recurring and series.upstream_sequence == 3


def test_all_day_events_stay_dates_with_exclusive_end(site):
    found, _ = contributions(site, "recurring_overrides.ics")
    holiday = events(found["all-day@example.edu"])[0]
    assert holiday["DTSTART"].dt == date(2026, 7, 4) and holiday["DTEND"].dt == date(2026, 7, 5)
    festival = found["festival@example.edu"]
    assert festival.occurrences[0][1] - festival.occurrences[0][0] == 3 * 86400


def test_categories_map_to_types_and_bookkeeping_is_set_aside(site):
    found, _ = contributions(site, "recurring_overrides.ics")
    series = found["weekly-seminar@example.edu"]
    assert series.types == ("seminar",)
    master = events(series)[0]
    assert [str(c) for c in master["CATEGORIES"].cats] == ["Seminar"]
    for name in ("DTSTAMP", "SEQUENCE", "LAST-MODIFIED"):
        assert name not in master


def test_source_types_and_category_table(site):
    extra = 'types = ["social"]\n[categories]\n"Lecture" = "workshop"'
    found, _ = contributions(site, "x_wr_timezone_google.ics", extra)
    assert found["colloquium-series@google.com"].types == ("workshop", "social")
    assert found["summer-talk@google.com"].types == ("social",)


def test_zoom_export_loses_its_stray_tzid_property_but_keeps_its_alarm(site):
    found, _ = contributions(site, "zoom_export.ics")
    (event,) = events(next(iter(found.values())))
    assert "TZID" not in event and event.walk("VALARM")
    assert "hillside.zoom.us/j/98648507063" in str(event["LOCATION"])


def test_each_feed_keeps_its_own_customized_time_zone(site):
    # icalendar caches custom zones by TZID per process; two Outlook feeds both say
    # "Customized Time Zone" and mean different zones.
    pacific, _ = contributions(site, "customized_time_zone.ics")
    site.sample("berlin", "customized_time_zone_berlin.ics", extra='timezone = "Europe/Berlin"')
    config = site.config()
    source = config.source("berlin")
    parsed = ics.parse(
        Pages.single((SAMPLES / "ics" / "customized_time_zone_berlin.ics").read_bytes()), source
    )
    found, warnings = normalize(parsed, source, config, HORIZON)
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    assert start(found[0]) == datetime(2026, 7, 7, 16, tzinfo=berlin)
    assert start(found[1]) == datetime(2026, 1, 15, 10, tzinfo=berlin)  # Mozilla-style TZID
    assert start(pacific["custom-zone-weekly"]) == datetime(2026, 1, 6, 16, tzinfo=LA)
    assert any("mozilla.org" in w for w in warnings)  # icalendar's guess, kept as a warning


def test_fast_serialize_is_byte_identical_to_icalendar():
    from feedserver.normalize import serialize

    files = [
        *(SAMPLES / "ics").glob("*.ics"),
        *(SAMPLES.parent.parent / "feeds" / "data").glob("*.ics"),
    ]
    events = [e for f in files for e in icalendar.Calendar.from_ical(f.read_bytes()).walk("VEVENT")]
    long_text = icalendar.Event()
    long_text.add("DESCRIPTION", "Café, \\; 日本語 ^ " * 40)
    # parameters that need quoting, lists, a leading byte order mark, a subcomponent
    odd = icalendar.Event()
    odd.add("SUMMARY", "\ufeffTalk", parameters={"LANGUAGE": "en"})
    odd.add("ORGANIZER", "mailto:a@b.example", parameters={"CN": 'Doe, Jane: "J"'})
    odd.add("CATEGORIES", ["Seminars", "A, B"])
    odd.add("CONFERENCE", "https://zoom.us/j/1", parameters={"FEATURE": ["AUDIO", "VIDEO"]})
    odd.add("X-ALT-DESC", "<p>x</p>", parameters={"FMTTYPE": "text/html"})
    alarm = icalendar.Alarm()
    alarm.add("ACTION", "DISPLAY")
    alarm.add("TRIGGER", timedelta(minutes=-15))
    odd.add_component(alarm)
    for event in [*events, long_text, odd]:
        assert serialize(event) == event.to_ical()


def _random_series(rng: random.Random) -> list[icalendar.Event]:
    """A master with a rule, EXDATEs and overrides, in the shapes feeds send (and odd ones)."""
    zones = [LA, zoneinfo.ZoneInfo("Europe/Berlin"), zoneinfo.ZoneInfo("Asia/Kolkata"), UTC]
    zone = rng.choice(zones)
    start = datetime(2026, rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23),
                     rng.choice((0, 30)), tzinfo=zone)  # fmt: skip
    end = start + timedelta(minutes=rng.choice((0, 50, 90, 600, 1500, 60 * 24 * 3)))
    if rng.random() < 0.2:  # the end in another zone, across a change of daylight time
        end = end.astimezone(rng.choice(zones))
    rule: dict[str, object] = {"FREQ": rng.choice(("DAILY", "WEEKLY", "WEEKLY", "MONTHLY"))}
    if rng.random() < 0.4:
        rule["INTERVAL"] = rng.randint(1, 3)
    ending = rng.random()
    if ending < 0.3:
        rule["COUNT"] = rng.randint(1, 40)
    elif ending < 0.6:
        until = start + timedelta(days=rng.randint(-3, 400), hours=rng.randint(-2, 2))
        rule["UNTIL"] = until.astimezone(UTC) if rng.random() < 0.9 else until.date()
    if rng.random() < 0.3:
        rule["BYDAY"] = rng.sample(["MO", "TU", "WE", "TH", "FR", "SA", "SU"], rng.randint(1, 3))
    master = icalendar.Event()
    master.add("UID", "series@test")
    master.add("DTSTART", start)
    master.add("DTEND", end)
    master.add("RRULE", rule)
    step = {"DAILY": timedelta(days=1), "WEEKLY": timedelta(weeks=1)}.get(
        str(rule["FREQ"]), timedelta(days=30)
    )
    for _ in range(rng.choice((0, 0, 1, 2, 3))):
        excluded = start + step * rng.randint(0, 30) + timedelta(hours=rng.choice((0, 0, 0, 1)))
        master.add("EXDATE", excluded.astimezone(rng.choice(zones)))
    group = [master]
    for k in range(rng.choice((0, 1, 1, 2, 3))):
        original = start + step * rng.randint(-1, 30)
        if rng.random() < 0.3:
            original = original.astimezone(rng.choice(zones))
        moved = original + timedelta(hours=rng.choice((0, 1, 24, -48, 24 * 400)))
        override = icalendar.Event()
        override.add("UID", "series@test" if rng.random() < 0.95 else "other@test")
        override.add("RECURRENCE-ID", original)
        override.add("DTSTART", moved)
        override.add("DTEND", moved + timedelta(minutes=rng.choice((0, 45, 60))))
        override.add("SEQUENCE", k)
        group.append(override)
    return group


def test_simple_series_are_expanded_as_recurring_ical_events_does():
    # normalize expands the common series itself (the library's per-occurrence objects were
    # most of the cost); on every shape it takes, it must give what the library gives.
    from feedserver import normalize as module

    rng = random.Random(42)
    taken = 0
    for _ in range(1500):
        group = _random_series(rng)
        now = datetime(2026, rng.randint(1, 12), 1, tzinfo=UTC)
        horizon = Horizon.around(now, rng.choice((30, 400)), rng.choice((60, 1100)))
        fast = module._simple_series(group, horizon, LA)
        if fast is not None:
            taken += 1
            assert fast == module._expanded(group, horizon, LA), [e.to_ical() for e in group]
    assert taken > 1000  # the shortcut is what is tested

    # An occurrence whose UTC time is one override's RECURRENCE-ID and whose local time is
    # another's: the library takes the local one.
    master = icalendar.Event()
    master.add("UID", "series@test")
    master.add("DTSTART", datetime(2026, 3, 2, 10, tzinfo=LA))
    master.add("DTEND", datetime(2026, 3, 2, 11, tzinfo=LA))
    master.add("RRULE", {"FREQ": "WEEKLY", "COUNT": 4})
    group = [master]
    for n, original in enumerate(
        (datetime(2026, 3, 9, 17, tzinfo=UTC), datetime(2026, 3, 9, 10, tzinfo=UTC))
    ):
        override = icalendar.Event()
        override.add("UID", "series@test")
        override.add("RECURRENCE-ID", original)
        override.add("DTSTART", datetime(2026, 3, 10 + n, 12, tzinfo=LA))
        override.add("DTEND", datetime(2026, 3, 10 + n, 13, tzinfo=LA))
        group.append(override)
    horizon = Horizon.around(NOW, 400, 1100)
    fast = module._simple_series(group, horizon, LA)
    assert fast is not None and fast == module._expanded(group, horizon, LA)


def test_a_single_event_across_a_clock_change_ends_at_the_local_time_it_says():
    # Stored ends were start + (DTEND - DTSTART): an hour off when the clocks change between.
    from feedserver.normalize import occurrences

    la = zoneinfo.ZoneInfo("America/Los_Angeles")
    span = Horizon.around(datetime(2026, 3, 1, tzinfo=UTC), 30, 30)
    all_day = icalendar.Event.new(start=date(2026, 3, 6), end=date(2026, 3, 10), uid="a")
    night = icalendar.Event.new(
        start=datetime(2026, 3, 7, 22, 0, tzinfo=la), end=datetime(2026, 3, 8, 6, 0, tzinfo=la)
    )
    ((_, end, _),) = occurrences([all_day], span, la)
    assert end == int(datetime(2026, 3, 10, tzinfo=la).timestamp())
    ((start, end, _),) = occurrences([night], span, la)
    assert end == int(datetime(2026, 3, 8, 6, 0, tzinfo=la).timestamp())
    assert end - start == 7 * 3600  # 22:00 PST to 06:00 PDT
