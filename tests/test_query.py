"""Stage ④: feed URLs to canonical FeedQuery objects, and their errors."""

from __future__ import annotations

from datetime import date

import pytest

from feedserver import query
from feedserver.errors import NotFound, QueryError

TODAY = date(2026, 3, 1)


def parse(site, scope="all", slug=None, **args):
    args = {k.rstrip("_"): v if isinstance(v, list) else [v] for k, v in args.items()}
    return query.parse(scope, slug, args, site.config(), TODAY)


def test_default_window_is_past_and_future_days_around_today(site):
    q = parse(site)
    assert (q.start, q.end) == (date(2026, 1, 30), date(2027, 3, 2))
    assert q.url() == "/all.ics"


def test_equivalent_urls_share_one_canonical_form(site):
    a = parse(site, "calendars", "ECE", type=["workshop", "seminar"], from_="2026-03-01")
    b = parse(site, "calendars", "ece", type="seminar,workshop,seminar", from_="2026-03-01")
    assert a == b
    assert a.url() == "/calendars/ece.ics?from=2026-03-01&type=seminar,workshop"
    assert a.cache_key == b.cache_key


def test_groups_are_all_of_across_parameters(site):
    q = parse(site, "calendars", "ece", calendar="cs", type="seminar")
    assert q.calendars == (("cs",), ("ece",)) and q.types == (("seminar",),)
    assert q.url() == "/calendars/cs.ics?calendar=ece&type=seminar"


def test_to_is_inclusive_and_from_alone_reaches_future_days(site):
    q = parse(site, from_="2026-05-01", to="2026-05-31")
    assert (q.start, q.end) == (date(2026, 5, 1), date(2026, 6, 1))
    assert parse(site, from_="2026-05-01").end == date(2027, 5, 2)


@pytest.mark.parametrize(
    "args, message",
    [
        ({"tpye": "seminar"}, "unknown parameter 'tpye' (did you mean 'type'?); valid parameters:"),
        ({"type": "semnar"}, "type: unknown type 'semnar' (did you mean 'seminar'?); valid:"),
        ({"calendar": ""}, "calendar: expected one or more calendar slugs"),
        ({"from_": "2026-13-01"}, "from: expected an ISO date YYYY-MM-DD, got '2026-13-01'"),
        ({"from_": ["2026-01-01", "2026-02-01"]}, "from: given 2 times; give it once"),
        ({"from_": "2026-05-02", "to": "2026-05-01"}, "from 2026-05-02 is after to 2026-05-01"),
        ({"from_": "2020-01-01", "to": "2030-01-01"}, "spans 3654 days; at most 1830"),
    ],
)
def test_bad_parameters_say_what_is_wrong(site, args, message):
    with pytest.raises(QueryError) as info:
        parse(site, **args)
    assert message in str(info.value)


def test_unknown_slug_in_path_is_not_found(site):
    with pytest.raises(NotFound, match="no event type 'talks'; types: seminar, workshop, social"):
        parse(site, "types", "talks")


def test_description_names_the_filter(site):
    q = parse(site, "calendars", "ece", type="seminar,workshop")
    name, description = query.describe(q, site.config())
    assert name == "Test University — Electrical Engineering, Seminar or Workshop"
    assert description == "Seminars and defenses of the ECE department"
