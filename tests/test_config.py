"""Configuration: loading, validation messages, the check command, documentation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from feedserver import config as configuration
from feedserver.errors import ConfigError
from feedserver.sources import KINDS

README = Path(__file__).parent.parent / "README.md"


def problems(site) -> list[str]:
    with pytest.raises(ConfigError) as info:
        site.config()
    return info.value.problems


def test_valid_source_loads_with_defaults(site):
    site.source("lab", 'name = "Lab"\nkind = "ics"\ncalendar = "ece"\ntypes = ["seminar"]', "x")
    source = site.config().source("lab")
    assert source.kind == "ics" and source.calendar == "ece" and source.types == ("seminar",)
    assert source.refresh.total_seconds() == 3600 and source.enabled


def test_unknown_calendar_names_file_key_and_known_values(site):
    path = site.source("ee", 'name = "EE"\nkind = "ics"\ncalendar = "eee"', "x")
    assert problems(site) == [
        f"{path}: calendar 'eee' is not defined in site.toml (known: ece, cs)"
    ]


def test_unknown_kind_lists_known_kinds(site):
    path = site.source("ee", 'name = "EE"\nkind = "icss"\ncalendar = "ece"', "x")
    known = ", ".join(sorted(KINDS))  # every registered kind, in order
    assert problems(site) == [f"{path}: unknown source kind 'icss'; known: {known}"]


def test_every_problem_is_listed_at_once(site):
    site.source(
        "ee",
        """
        name = "EE"
        kind = "ics"
        calender = "ece"
        url = "ftp://example.edu/x.ics"
        types = ["seminr"]
        refresh = "soon"
        timezone = "Pacific Standard Time"
        [categories]
        "Talks" = "talk"
        """,
    )
    found = "\n".join(problems(site))
    for expected in (
        "unknown key 'calender' (did you mean 'calendar'?)",
        "url must be an http or https URL, got 'ftp://example.edu/x.ics'",
        "type 'seminr' is not defined in site.toml",
        "refresh: expected a duration like 30m, 6h or 1d, got 'soon'",
        "timezone 'Pacific Standard Time' is not an IANA time zone name",
        "categories.'Talks' maps to unknown type 'talk'",
        "calendar None is not defined",
    ):
        assert expected in found


@pytest.mark.parametrize(
    "toml, message",
    [
        ('name = "x"\nkind = "ics"\ncalendar = "ece"', "set exactly one of url or path"),
        (
            'name = "x"\nkind = "ics"\ncalendar = "ece"\npath = "../secret.ics"',
            "path must be relative to the feeds folder",
        ),
        (
            'name = "x"\nkind = "ics"\ncalendar = "ece"\npath = "data/missing.ics"',
            "path 'data/missing.ics' does not exist",
        ),
        ('name = "x"\nkind = "ics"\ncalendar = "ece"\nurl = "https://"', "url must be an http"),
        ("name = [", "not valid TOML"),
    ],
)
def test_source_problems(site, toml, message):
    site.source("bad", toml)
    assert message in "\n".join(problems(site))


def test_site_setting_types_and_typos_are_reported(site):
    text = (site.feeds / "site.toml").read_text()
    text = text.replace('timezone = "America/Los_Angeles"', 'timezone = "Mars/Olympus"')
    text += '\n[feeds]\npast_day = 3\nfuture_days = "a year"\n'
    (site.feeds / "site.toml").write_text(text)
    found = "\n".join(problems(site))
    assert "timezone 'Mars/Olympus' is not an IANA time zone name" in found
    assert "unknown setting 'feeds.past_day' (did you mean 'feeds.past_days'?)" in found
    assert "feeds.future_days must be int, got str 'a year'" in found


def test_missing_site_file_is_a_clear_problem(tmp_path):
    with pytest.raises(ConfigError, match=r"site.toml: cannot read"):
        configuration.load(tmp_path, tmp_path / "var", environ={})


def test_environment_names_folders_and_token(tmp_path, site):
    config = configuration.load(
        environ={
            "FEEDSERVER_FEEDS": str(site.feeds),
            "FEEDSERVER_DATA": str(tmp_path / "data"),
            "FEEDSERVER_ADMIN_TOKEN": "s3cret",
        }
    )
    assert config.feeds_dir == site.feeds and config.data_dir == tmp_path / "data"
    assert config.admin_token == "s3cret"


def test_check_command_exit_codes(site, runner):
    site.source("lab", 'name = "Lab"\nkind = "ics"\ncalendar = "ece"', "x")
    ok = runner("check")
    assert ok.exit_code == 0 and "ok: 2 calendars, 3 event types, 1 sources" in ok.output
    site.source("bad", 'name = "Bad"\nkind = "ics"\ncalendar = "nope"', "x")
    bad = runner("check")
    assert bad.exit_code == 1
    assert "1 problem(s)" in bad.output and "calendar 'nope' is not defined" in bad.output


def test_every_setting_and_source_key_is_documented_in_readme():
    readme = README.read_text()
    documented = set(re.findall(r"`([a-z_]+(?:\.[a-z_]+)?)`", readme))
    missing = [
        key
        for key in [*configuration.SITE_SETTINGS, *configuration.SOURCE_KEYS]
        if key not in documented
    ]
    missing += [name for name in configuration.ENVIRONMENT if name not in readme]
    assert not missing, f"undocumented settings: {missing}"
