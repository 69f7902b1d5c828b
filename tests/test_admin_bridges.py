"""Bridged sources (kinds html, json, csv) through the admin API and ``feedserver sources``: their
nested tables ([follow], [html] with [html.labels], [json.fields], [csv.columns]) are shown,
validated with the key path in the message, previewed, written with the file's comments kept,
and a definition read and sent back unchanged changes no byte."""

from __future__ import annotations

import json
import tomllib

import pytest

from tests.conftest import SAMPLES
from tests.htmlsite import NOW, RECIPE, serve

TOKEN = "bridge-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
LOCALIST = [(SAMPLES / "json" / f"localist_page{n}.json").read_bytes() for n in (1, 2, 3)]
SHEET = (SAMPLES / "csv" / "google_sheets_export.csv").read_bytes()

# A recipe source as an admin writes it by hand: comments everywhere, a duration and a nested
# table of the page's own labels.
HAND_WRITTEN = """\
# The ECE department's web calendar, read by a recipe.
name = "ECE events"
kind = "html"
url = "{url}"
calendar = "ece"
timezone = "America/Los_Angeles"
refresh = "60m"          # the department posts daily

[categories]
"Workshops & Infosessions" = "workshop"

[follow]
pages = 2            # this page and the next
delay = "0s"         # the test upstream needs no pause

[html]
# one event block
events = "div.event-listing"
title = "h3.event-title"   # its link is the event's page
when = "p.event-date"
type = "p.event-type"
description = "div.event-details"

[html.labels]
"Date & Time" = "when"   # a label of the page's own
"Partager" = "ignore"
"""


@pytest.fixture
def api(site, upstream):
    """The admin API on a clock in the recipe pages' time, their upstream serving."""
    serve(upstream)
    return site.client(now=NOW, token=TOKEN)


def hand_written(site, upstream) -> str:
    text = HAND_WRITTEN.format(url=upstream.url("/events"))
    (site.feeds / "sources" / "ece-web.toml").write_text(text)
    return text


def recipe(**changes) -> dict:
    return tomllib.loads(RECIPE)["html"] | changes


def audited(site) -> list[str]:
    path = site.data / "audit.log"
    lines = path.read_text().splitlines() if path.exists() else []
    return [json.loads(line)["action"] for line in lines]


# -- reading -----------------------------------------------------------------------------------


def test_get_shows_follow_with_its_defaults_and_the_kind_table_as_written(api, site, upstream):
    text = hand_written(site, upstream)
    data = api.get("/admin/api/sources/ece-web", headers=AUTH).get_json()
    source = data["source"]
    assert source["refresh"] == "1h"
    assert source["follow"] == {
        "pages": 2,
        "event_pages": False,
        "max_event_pages": 100,
        "delay": "0s",
    }
    assert source["html"] == {
        "events": "div.event-listing",
        "title": "h3.event-title",
        "when": "p.event-date",
        "type": "p.event-type",
        "description": "div.event-details",
        "labels": {"Date & Time": "when", "Partager": "ignore"},
    }
    assert "json" not in source and "csv" not in source
    # The tables as the file writes them, for the admin page's kind settings.
    assert data["settings_toml"] == text[text.index("[follow]") :]
    listed = api.get("/admin/api/sources", headers=AUTH).get_json()["sources"][0]
    assert listed["html"] == source["html"] and listed["follow"] == source["follow"]


def test_an_ics_source_has_follow_defaults_and_no_kind_table(api, site):
    site.source("lab", 'kind = "ics"\ncalendar = "ece"', "BEGIN:VCALENDAR\nEND:VCALENDAR\n")
    data = api.get("/admin/api/sources/lab", headers=AUTH).get_json()
    assert data["source"]["follow"] == {
        "pages": 1,
        "event_pages": False,
        "max_event_pages": 100,
        "delay": "1s",
    }
    assert not {"html", "json", "csv"} & data["source"].keys()
    assert data["settings_toml"] == ""


# -- the round trip ----------------------------------------------------------------------------


def test_get_then_put_the_same_json_changes_no_byte(api, site, upstream):
    text = hand_written(site, upstream)
    got = api.get("/admin/api/sources/ece-web", headers=AUTH)
    response = api.put(
        "/admin/api/sources/ece-web",
        json=got.get_json()["source"],
        headers={**AUTH, "If-Match": got.headers["ETag"]},
    )
    assert response.status_code == 200, response.get_json()
    assert (site.feeds / "sources" / "ece-web.toml").read_text() == text
    assert response.headers["ETag"] == got.headers["ETag"]
    assert response.get_json()["preview"] is None  # nothing that is fetched changed
    assert audited(site) == []  # nothing written, nothing to audit


def test_get_then_put_round_trips_every_kind(api, site, upstream):
    upstream.serve("/sheet.csv", SHEET, content_type="text/csv")
    files = {
        "sheet": f"""\
kind = "csv"
url = "{upstream.url("/sheet.csv")}"
calendar = "ece"

[csv]
dayfirst = false   # a US sheet

[csv.columns]
id = "Event ID"
title = "Title"
date = "Date"
start_time = "Start Time"
description = ["Description", "Contact"]
""",
        "hillside": f"""\
kind = "json"
url = "{upstream.url("/api/2/events?pp=4")}"
calendar = "cs"
refresh = "90m"

[json]
preset = "localist"

[json.fields]            # the preset's, changed one by one
image = ""               # "" drops a field
""",
        "structured": f"""\
kind = "html"
url = "{upstream.url("/events")}"
calendar = "ece"
""",
    }
    for source_id, text in files.items():
        (site.feeds / "sources" / f"{source_id}.toml").write_text(text)
    for source_id, text in files.items():
        got = api.get(f"/admin/api/sources/{source_id}", headers=AUTH)
        body = got.get_json()["source"] | {"fetch": False}
        response = api.put(f"/admin/api/sources/{source_id}", json=body, headers=AUTH)
        assert response.status_code == 200, response.get_json()
        assert (site.feeds / "sources" / f"{source_id}.toml").read_text() == text, source_id
    assert audited(site) == []


# -- editing keeps the file ----------------------------------------------------------------------


def test_put_changing_one_recipe_key_changes_that_line_only(api, site, upstream):
    text = hand_written(site, upstream)
    got = api.get("/admin/api/sources/ece-web", headers=AUTH)
    source = got.get_json()["source"]
    source["html"]["title"] = "h3.event-title a"
    response = api.put(
        "/admin/api/sources/ece-web", json=source, headers={**AUTH, "If-Match": got.headers["ETag"]}
    )
    assert response.status_code == 200, response.get_json()
    after = (site.feeds / "sources" / "ece-web.toml").read_text()
    assert after == text.replace('"h3.event-title"   #', '"h3.event-title a"   #')
    # A change of how the source is read is test-fetched before it is saved, like a new source.
    data = response.get_json()
    assert data["preview"]["events"] == 7 and data["refresh"]["status"] == "updated"
    assert audited(site) == ["edit"]


def test_null_removes_a_nested_key_and_new_keys_join_their_table(api, site, upstream):
    text = hand_written(site, upstream)
    source = api.get("/admin/api/sources/ece-web", headers=AUTH).get_json()["source"]
    source["html"]["labels"]["Partager"] = None
    source["html"]["labels"]["Salle"] = "location"
    source["follow"]["delay"] = None  # back to its default
    source["follow"]["event_pages"] = True
    response = api.put("/admin/api/sources/ece-web", json=source | {"fetch": False}, headers=AUTH)
    assert response.status_code == 200, response.get_json()
    after = (site.feeds / "sources" / "ece-web.toml").read_text()
    assert after == (
        text.replace('delay = "0s"         # the test upstream needs no pause\n', "")
        .replace("pages = 2            # this page and the next\n", "$&event_pages = true\n")
        .replace("$&", "pages = 2            # this page and the next\n")
        .replace('"Partager" = "ignore"\n', 'Salle = "location"\n')
    )
    source = site.config().source("ece-web")
    assert source.follow.event_pages and source.follow.delay.total_seconds() == 1


def test_add_writes_nested_tables_and_the_source_refreshes(api, site, upstream):
    body = {
        "id": "ece-web",
        "name": "ECE events",
        "kind": "html",
        "url": upstream.url("/events"),
        "calendar": "ece",
        "follow": {"pages": 3, "delay": "0s"},
        "html": recipe(labels={"Date & Time": "when"}),
    }
    # Sent as a client writes it (Flask's test client would sort the keys): the file keeps
    # the order of the keys in the body.
    response = api.post(
        "/admin/api/sources", data=json.dumps(body), content_type="application/json", headers=AUTH
    )
    assert response.status_code == 201, response.get_json()
    assert (
        (site.feeds / "sources" / "ece-web.toml").read_text()
        == f"""\
name = "ECE events"
kind = "html"
url = "{upstream.url("/events")}"
calendar = "ece"

[follow]
pages = 3
delay = "0s"

[html]
events = "div.event-listing"
title = "h3.event-title"
when = "p.event-date"
calendar = "p.event-calendar"
type = "p.event-type"
description = "div.event-details"

[html.labels]
"Date & Time" = "when"
"""
    )
    data = response.get_json()
    assert data["preview"]["events"] == data["refresh"]["events"] == 7
    assert data["source"]["html"]["labels"] == {"Date & Time": "when"}
    assert audited(site) == ["add"]


def test_settings_toml_carries_the_tables_with_their_comments(api, site, upstream):
    settings = """\
[follow]
pages = 3        # three listing pages
delay = "0s"

[html]
# the blocks of the listing
events = "div.event-listing"
when = "p.event-date"
"""
    body = {
        "id": "ece-web",
        "kind": "html",
        "url": upstream.url("/events"),
        "calendar": "ece",
        "settings_toml": settings,
        "fetch": False,
    }
    response = api.post("/admin/api/sources", json=body, headers=AUTH)
    assert response.status_code == 201, response.get_json()
    text = (site.feeds / "sources" / "ece-web.toml").read_text()
    assert text.endswith("\n" + settings)
    assert response.get_json()["settings_toml"] == settings
    # Sent back as the page sends it, with one key changed: that line changes, nothing else.
    got = api.get("/admin/api/sources/ece-web", headers=AUTH).get_json()
    edited = got["settings_toml"].replace("p.event-date", "p.event-date time")
    put = {k: v for k, v in got["source"].items() if k not in ("follow", "html")}
    response = api.put(
        "/admin/api/sources/ece-web",
        json=put | {"settings_toml": edited, "fetch": False},
        headers={**AUTH, "If-Match": got["etag"]},
    )
    assert response.status_code == 200, response.get_json()
    after = (site.feeds / "sources" / "ece-web.toml").read_text()
    assert after == text.replace('"p.event-date"', '"p.event-date time"')


# -- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "messages"),
    [
        (
            {"html": recipe(labels={"Quand": "whenn"})},
            ["html.labels.Quand: 'whenn' is not a field; one of title, when,"],
        ),
        ({"html": recipe(titel="h3")}, ["html.titel: unknown key (did you mean 'title'?)"]),
        ({"html": recipe(events="div[")}, ["html.events: 'div[' is not a CSS selector"]),
        (
            {"follow": {"pages": 0, "delai": "1s"}},
            [
                "follow.delai: unknown key (did you mean 'delay'?)",
                "follow.pages: must be a whole number from 1 to 1000, got 0",
            ],
        ),
        ({"follow": {"delay": "soon"}}, ["follow.delay: expected a duration like 30m"]),
        ({"follow": 3}, ["follow: must be a table ([follow])"]),
        ({"html": "div.event"}, ["html: must be a table of settings ([html])"]),
        (
            {"json": {"preset": "localist"}},
            ["[json] applies to kind 'json' only, not 'html'"],
        ),
        (
            {"kind": "csv", "html": recipe()},
            [
                "[html] applies to kind 'html' only, not 'csv'",
                'csv.columns: required: a table of event field = "Column header"',
            ],
        ),
        (
            {"settings_toml": "[html]\nevents = 'div"},
            ["settings_toml: not valid TOML: Unexpected end of file at line 2 col 0"],
        ),
        (
            {"settings_toml": 'name = "x"\n[html]\nevents = "div"\n'},
            ["settings_toml: name: only [follow] and the kind's table ([html], [json], [csv])"],
        ),
        (
            {"settings_toml": '[html]\nevents = "div"\n'},
            ["settings_toml: html is given twice, in settings_toml and as a key"],
        ),
    ],
)
def test_a_bad_table_is_a_400_naming_the_key_and_writes_nothing(api, site, changes, messages):
    before = site.snapshot()
    body = {
        "id": "ece-web",
        "kind": "html",
        "url": "https://calendar.ece.example.edu/events",
        "calendar": "ece",
        "html": recipe(),
        "fetch": False,
    } | changes
    response = api.post("/admin/api/sources", json=body, headers=AUTH)
    assert response.status_code == 400, response.get_json()
    errors = response.get_json()["errors"]
    assert len(errors) == len(messages), errors
    for error, message in zip(sorted(errors), sorted(messages), strict=True):
        assert error.startswith(message), errors
    assert site.snapshot() == before


def test_a_put_with_a_bad_nested_key_is_refused_and_the_file_stays(api, site, upstream):
    hand_written(site, upstream)
    before = site.snapshot()
    source = api.get("/admin/api/sources/ece-web", headers=AUTH).get_json()["source"]
    source["html"]["labels"]["Quand"] = "quand"
    response = api.put("/admin/api/sources/ece-web", json=source, headers=AUTH)
    assert response.status_code == 400
    assert response.get_json()["errors"][0].startswith("html.labels.Quand: 'quand' is not a field")
    assert site.snapshot() == before


def test_a_recipe_that_breaks_the_source_is_refused_before_it_is_saved(api, site, upstream):
    hand_written(site, upstream)
    before = site.snapshot()
    source = api.get("/admin/api/sources/ece-web", headers=AUTH).get_json()["source"]
    source["html"]["events"] = "article.event"
    response = api.put("/admin/api/sources/ece-web", json=source, headers=AUTH)
    assert response.status_code == 422
    assert response.get_json()["errors"][0].startswith("recipe matched 0 events")
    assert site.snapshot() == before


# -- previews ----------------------------------------------------------------------------------


def test_preview_of_a_recipe_follows_its_pages_and_lists_events(api, site, upstream):
    before = site.snapshot()
    body = {
        "url": upstream.url("/events"),
        "calendar": "ece",
        "timezone": "America/Los_Angeles",
        "follow": {"pages": 3, "delay": "0s"},
        "html": recipe(next="li.pager__item--next a"),  # no kind: the [html] table says it
        "limit": 3,
    }
    response = api.post("/admin/api/sources/test", json=body, headers=AUTH)
    assert response.status_code == 200, response.get_json()
    preview = response.get_json()["preview"]
    assert preview["events"] == 9 and preview["http_status"] == 200
    assert [e["when"] for e in preview["upcoming"]] == [
        "2024-10-31 14:00",
        "2024-11-05 16:00",
        "2024-11-08 10:00",
    ]
    assert [r.path for r in upstream.requests] == ["/events", "/events?page=1", "/events?page=2"]
    assert site.snapshot() == before


def test_preview_of_a_json_api_reads_its_pages(api, site, upstream):
    for number, body in enumerate(LOCALIST, start=1):
        path = "/api/2/events?pp=4" + (f"&page={number}" if number > 1 else "")
        upstream.serve(path, body, content_type="application/json")
    body = {
        "kind": "json",
        "url": upstream.url("/api/2/events?pp=4"),
        "calendar": "cs",
        "follow": {"pages": 3, "delay": "0s"},
        "json": {"preset": "localist", "fields": {"image": ""}},
    }
    response = api.post("/admin/api/sources/test", json=body, headers=AUTH)
    assert response.status_code == 200, response.get_json()
    preview = response.get_json()["preview"]
    assert preview["events"] == 10 and preview["calendar"] == "cs"
    assert preview["warnings"][:2] == [
        "item 48360 ('Robotics Demo Day') skipped: start: cannot read 'TBA' as a date:"
        " String does not contain a date: TBA",
        "item 48371 skipped: title: missing",
    ]
    assert upstream.hits("/api/2/events") == 3


def test_preview_of_a_spreadsheet_and_of_a_change_to_its_columns(api, site, upstream):
    upstream.serve("/sheet.csv", SHEET, content_type="text/csv")
    columns = {"title": "Title", "date": "Date", "start_time": "Start Time"}
    body = {"url": upstream.url("/sheet.csv"), "calendar": "ece", "csv": {"columns": columns}}
    response = api.post("/admin/api/sources/test", json=body, headers=AUTH)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["preview"]["events"] == 7
    # An existing source tried with another table: the override replaces that table only.
    text = f'kind = "csv"\nurl = "{upstream.url("/sheet.csv")}"\ncalendar = "ece"\n'
    (site.feeds / "sources" / "sheet.toml").write_text(
        text + '[csv.columns]\ntitle = "Title"\ndate = "Date"\nstart_time = "Start Time"\n'
    )
    before = site.snapshot()
    body = {"id": "sheet", "csv": {"columns": columns | {"start_time": "Begins"}}}
    response = api.post("/admin/api/sources/test", json=body, headers=AUTH)
    assert response.status_code == 422
    assert response.get_json()["errors"][0].startswith(
        "column(s) not found: columns.start_time = 'Begins'"
    )
    assert site.snapshot() == before


# -- feedserver sources ------------------------------------------------------------------------


def test_cli_adds_a_recipe_from_a_table_file_and_set_options(site, runner, upstream, tmp_path):
    serve(upstream)
    recipe_file = tmp_path / "recipe.toml"
    recipe_file.write_text(
        "[follow]\npages = 2   # two listing pages\n\n"
        '[html]\nevents = "div.event-listing"   # one block\nwhen = "p.event-date"\n'
    )
    result = runner(
        *("sources", "add", "ece-web", "--kind", "html", "--url", upstream.url("/events")),
        *("--calendar", "ece", "--table-file", str(recipe_file)),
        *("--set", "html.title=h3.event-title", "--set", 'html.labels."Date & Time"=when'),
        *("--set", "follow.delay=0s", "--set", "html.dayfirst=false"),
    )
    assert result.exit_code == 0, result.output
    assert "7 events (0 recurring)" in result.output
    assert (
        (site.feeds / "sources" / "ece-web.toml").read_text()
        == f"""\
kind = "html"
url = "{upstream.url("/events")}"
calendar = "ece"

[follow]
pages = 2   # two listing pages
delay = "0s"

[html]
events = "div.event-listing"   # one block
when = "p.event-date"
title = "h3.event-title"
dayfirst = false

[html.labels]
"Date & Time" = "when"
"""
    )
    source = site.config().source("ece-web")
    assert source.options["dayfirst"] is False and source.follow.pages == 2


def test_cli_edit_sets_and_unsets_nested_keys_keeping_comments(site, runner, upstream):
    serve(upstream)
    text = hand_written(site, upstream)
    result = runner(
        *("sources", "edit", "ece-web", "--no-fetch"),
        *("--set", "follow.pages=3", "--set", "follow.event_pages=true"),
        *("--set", 'html.formats=["%d.%m.%Y"]', "--set", 'html.next="li.next a"'),
        *("--unset", 'html.labels."Partager"', "--set", "html.labels.Salle=location"),
    )
    assert result.exit_code == 0, result.output
    after = (site.feeds / "sources" / "ece-web.toml").read_text()
    assert after == text[: text.index("[follow]")] + (
        """\
[follow]
pages = 3            # this page and the next
delay = "0s"         # the test upstream needs no pause
event_pages = true

[html]
# one event block
events = "div.event-listing"
title = "h3.event-title"   # its link is the event's page
when = "p.event-date"
type = "p.event-type"
description = "div.event-details"
formats = ["%d.%m.%Y"]
next = "li.next a"

[html.labels]
"Date & Time" = "when"   # a label of the page's own
Salle = "location"
"""
    )
    # A change that would break the source is refused with the key's path; nothing is written.
    before = site.snapshot()
    for args, message in [
        (["--set", "html.labels.Quand=quand"], "html.labels.Quand: 'quand' is not a field"),
        (["--set", "follow.pages=0"], "follow.pages: must be a whole number from 1 to 1000"),
        (["--set", "html.when.x=1"], "html.when.x: html.when is 'p.event-date', not a table"),
        (["--kind", "json"], "[html] applies to kind 'html' only, not 'json'"),
        (["--set", "html.events=article"], "recipe matched 0 events (selector 'article'"),
    ]:
        result = runner("sources", "edit", "ece-web", *args)
        assert result.exit_code == 1, (args, result.output)
        assert "Error: cannot edit ece-web: " in result.output and message in result.output
    assert site.snapshot() == before


@pytest.mark.parametrize(
    ("given", "value"),
    [
        ("3", 3),
        ("true", True),
        ('["%d/%m/%Y", "%d.%m.%Y"]', ["%d/%m/%Y", "%d.%m.%Y"]),
        ('"3"', "3"),
        ("div.event-listing > h3", "div.event-listing > h3"),
        ("", ""),
        ("2024-10-31", "2024-10-31"),
        ("nan", "nan"),
        ("Date & Time", "Date & Time"),
    ],
)
def test_set_reads_toml_values_and_leaves_other_text_as_it_is(given, value):
    from feedserver.cli import _sets

    assert _sets(None, None, (f"json.fields.title={given}",)) == [
        (("json", "fields", "title"), value)
    ]


@pytest.mark.parametrize("bad", ["=3", "no-equals", "a b=1", "a.=1", '"a=1'])
def test_set_refuses_what_is_not_key_equals_value(runner, bad):
    result = runner("sources", "add", "x", "--set", bad)
    assert result.exit_code == 2 and "Invalid value for '--set'" in result.output


def test_cli_show_prints_the_tables_and_follow_in_force(site, runner, upstream):
    text = hand_written(site, upstream)
    shown = runner("sources", "show", "ece-web")
    assert shown.exit_code == 0, shown.output
    assert text.rstrip() in shown.output
    assert (
        'follow:       pages = 2, event_pages = false, max_event_pages = 100, delay = "0s"'
        in shown.output
    )
    data = json.loads(runner("sources", "show", "ece-web", "--json").output)
    assert data["source"]["html"]["labels"] == {"Date & Time": "when", "Partager": "ignore"}
    assert data["source"]["follow"]["max_event_pages"] == 100
    assert data["settings_toml"] == text[text.index("[follow]") :]


def test_cli_test_tries_a_recipe_on_a_url_without_kind(site, runner, upstream):
    serve(upstream)
    before = site.snapshot()
    result = runner(
        *("sources", "test", upstream.url("/events"), "--calendar", "ece", "--json"),
        *("--set", "html.events=div.event-listing", "--set", "html.when=p.event-date"),
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["events"] == 4
    assert site.snapshot() == before


def test_cli_table_file_with_other_keys_is_refused(site, runner, tmp_path):
    bad = tmp_path / "recipe.toml"
    bad.write_text('events = "div.event"\n')
    result = runner("sources", "add", "x", "--kind", "html", "--table-file", str(bad))
    assert result.exit_code == 1
    assert f"{bad}: events: only [follow] and the kind's table" in result.output
