"""`feedserver sources …`: output, exit codes, and nothing written on failure."""

from __future__ import annotations

import json

import pytest

from feedserver.sources import KINDS
from tests.conftest import SAMPLES

GOOD = (SAMPLES / "ics" / "recurring_overrides.ics").read_bytes()
ADD = ["sources", "add", "lab", "--kind", "ics", "--calendar", "ece"]


@pytest.fixture
def lab_file(site):
    (site.feeds / "data" / "lab.ics").write_bytes(GOOD)
    return "data/lab.ics"


def test_add_test_fetches_writes_and_refreshes(site, runner, upstream):
    upstream.serve("/cal.ics", GOOD)
    result = runner(*ADD, "--url", upstream.url("/cal.ics"), "--type", "seminar")
    assert result.exit_code == 0, result.output
    assert "3 events (1 recurring)" in result.output
    assert (
        "added " in result.output and "lab                      updated   3 events" in result.output
    )
    assert (site.feeds / "sources" / "lab.toml").read_text() == (
        f'kind = "ics"\nurl = "{upstream.url("/cal.ics")}"\ncalendar = "ece"\ntypes = ["seminar"]\n'
    )
    listing = runner("sources", "list")
    assert listing.exit_code == 0
    header, row = listing.output.splitlines()[:2]
    assert header.split() == [
        "ID",
        "KIND",
        "CALENDAR",
        "STATUS",
        "EVENTS",
        "LAST",
        "SUCCESS",
        "LAST",
        "ERROR",
    ]
    assert row.split()[:5] == ["lab", "ics", "ece", "ok", "3"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--calendar", "eee"], "calendar 'eee' is not defined in site.toml (known: ece, cs)"),
        (["--kind", "icss"], f"unknown source kind 'icss'; known: {', '.join(sorted(KINDS))}"),
        (["--refresh", "soon"], "refresh: expected a duration like 30m, 6h or 1d, got 'soon'"),
        (["--timezone", "Nowhere/City"], "timezone 'Nowhere/City' is not an IANA time zone name"),
        (["--type", "talk"], "type 'talk' is not defined in site.toml"),
        (["--category", "Talks=talk"], "categories.'Talks' maps to unknown type 'talk'"),
        (["--url", "https://x.example/a.ics"], "set exactly one of url or path"),
    ],
)
def test_invalid_add_exits_1_with_the_message_and_writes_nothing(
    site, runner, lab_file, args, message
):
    before = site.snapshot()
    result = runner(*ADD, "--path", lab_file, "--no-fetch", *args)
    assert result.exit_code == 1
    assert message in result.output and result.output.startswith("Error: cannot add lab: ")
    assert site.snapshot() == before


def test_bad_id_exits_1(site, runner, lab_file):
    before = site.snapshot()
    result = runner("sources", "add", "../x", "--kind", "ics", "--path", lab_file)
    assert result.exit_code == 1 and "id: '../x' is not a valid source id" in result.output
    assert site.snapshot() == before


def test_exit_codes_for_unknown_and_taken_ids(site, runner, lab_file):
    assert runner(*ADD, "--path", lab_file, "--no-fetch").exit_code == 0
    taken = runner(*ADD, "--path", lab_file, "--no-fetch")
    assert taken.exit_code == 3 and "source 'lab' already exists" in taken.output
    for command in ("show", "remove", "refresh", "test"):
        unknown = runner("sources", command, "nope")
        assert unknown.exit_code == 2, (command, unknown.output)
        assert "unknown source 'nope' (known: lab)" in unknown.output
    assert runner("sources", "add").exit_code == 2  # click usage error
    assert runner("sources", "add", "x", "--category", "no-equals").exit_code == 2


def test_test_previews_and_writes_nothing(site, runner, upstream):
    upstream.serve("/cal.ics", GOOD)
    before = site.snapshot()
    result = runner("sources", "test", upstream.url("/cal.ics"), "--limit", "2")
    assert result.exit_code == 0, result.output
    assert "calendar: none given (pass --calendar)" in result.output
    assert "3 events (1 recurring)" in result.output and "warnings: none" in result.output
    assert site.snapshot() == before and not (site.data / "fetch").exists()
    as_json = json.loads(runner("sources", "test", upstream.url("/cal.ics"), "--json").output)
    assert as_json["events"] == 3 and as_json["http_status"] == 200


def test_test_of_a_failing_url_exits_1(runner, upstream):
    url = upstream.url("/missing.ics")
    result = runner("sources", "test", url)
    assert result.exit_code == 1
    assert f"test of {url} failed: HTTP 404 Not Found from {url}" in result.output


def test_edit_changes_only_the_given_keys_and_keeps_comments(site, runner, lab_file):
    path = site.feeds / "sources" / "lab.toml"
    path.write_text(
        f'# keep me\nname = "Lab"\nkind = "ics"\npath = "{lab_file}"\ncalendar = "ece"\n'
    )
    result = runner("sources", "edit", "lab", "--calendar", "cs", "--disable", "--name", "")
    assert result.exit_code == 0, result.output
    text = path.read_text()
    assert text.startswith("# keep me\n") and 'calendar = "cs"' in text
    assert "enabled = false" in text and "name =" not in text
    stale = runner("sources", "edit", "lab", "--enable", "--if-match", '"0000"')
    assert stale.exit_code == 1 and "was changed by someone else" in stale.output
    assert "enabled = false" in path.read_text()


def test_remove_and_refresh(site, runner, upstream):
    upstream.serve("/cal.ics", GOOD)
    runner(*ADD, "--url", upstream.url("/cal.ics"))
    upstream.serve("/cal.ics", b"oops", status=500)
    failed = runner("sources", "refresh", "lab")
    assert failed.exit_code == 1 and "HTTP 500 Internal Server Error" in failed.output
    shown = runner("sources", "show", "lab")
    assert "HTTP status:  500" in shown.output and "events:       3" in shown.output
    removed = runner("sources", "remove", "lab")
    assert removed.exit_code == 0 and "its events left the feeds" in removed.output
    assert not (site.feeds / "sources" / "lab.toml").exists()
    assert b"weekly-seminar" not in site.client().get("/all.ics?from=2026-01-01").data
    lines = (site.data / "audit.log").read_text().splitlines()
    actions = [json.loads(line)["action"] for line in lines]
    assert actions == ["add", "refresh", "remove"]


def test_test_of_an_id_with_another_location_tries_it_without_saving(site, runner, upstream):
    site.source("lab", 'name = "Lab"\nkind = "ics"\ncalendar = "cs"', b"not used")
    upstream.serve("/cal.ics", GOOD)
    before = site.snapshot()
    result = runner("sources", "test", "lab", "--url", upstream.url("/cal.ics"))
    assert result.exit_code == 0, result.output
    assert "calendar: cs" in result.output and "3 events" in result.output
    assert site.snapshot() == before
