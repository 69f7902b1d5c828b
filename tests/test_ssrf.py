"""Stage ①: the SSRF guard: refused addresses, allow-listed networks, redirects, one lookup."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from feedserver.errors import FetchError
from feedserver.fetch import FetchCache, FetchLimits, fetch_url
from feedserver.netguard import forbidden_reason, parse_networks
from tests.upstream import Upstream

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ICS = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nEND:VCALENDAR\r\n"


def limits(*networks: str) -> FetchLimits:
    return FetchLimits(connect_timeout=1, read_timeout=2, allow_networks=parse_networks(networks))


@pytest.fixture
def cache(tmp_path: Path) -> FetchCache:
    return FetchCache(tmp_path / "fetch", "src")


@pytest.fixture
def second_host() -> Iterator[Upstream]:
    """Another upstream on 127.0.0.2: an "allowed host" distinct from 127.0.0.1."""
    with Upstream("127.0.0.2") as server:
        yield server


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "a loopback address"),
        ("127.8.9.10", "a loopback address"),
        ("::1", "a loopback address"),
        ("::ffff:127.0.0.1", "a loopback address"),
        ("169.254.169.254", "a cloud metadata address"),
        ("fd00:ec2::254", "a cloud metadata address"),
        ("100.100.100.200", "a cloud metadata address"),
        ("169.254.10.1", "a link-local address"),
        ("fe80::1", "a link-local address"),
        ("10.1.2.3", "a private address"),
        ("172.16.0.1", "a private address"),
        ("192.168.1.1", "a private address"),
        ("fd12:3456::1", "a private address"),
        ("64:ff9b::a01:203", "a private address"),  # NAT64 of 10.1.2.3
        ("2002:c0a8:101::1", "a private address"),  # 6to4 of 192.168.1.1
        ("100.64.0.1", "a shared (carrier-grade NAT) address"),
        ("0.0.0.0", "an unspecified address"),
        ("224.0.0.1", "a multicast address"),
        ("240.0.0.1", "a private address"),
        ("8.8.8.8", None),
        ("2606:4700::1111", None),
    ],
)
def test_address_classes(address: str, reason: str | None) -> None:
    assert forbidden_reason(ipaddress.ip_address(address)) == reason


def test_loopback_is_refused_by_default_without_connecting(
    upstream: Upstream, cache: FetchCache
) -> None:
    upstream.serve("/cal.ics", ICS)
    url = upstream.url("/cal.ics")
    with pytest.raises(FetchError) as caught:
        fetch_url(url, cache, limits(), now=NOW)
    assert str(caught.value) == (
        f"refusing to fetch {url}: 127.0.0.1 is a loopback address; "
        "allow it with fetch.allow_networks"
    )
    assert upstream.requests == [] and cache.load() is None


def test_a_name_is_judged_by_what_it_resolves_to(upstream: Upstream, cache: FetchCache) -> None:
    url = f"http://localhost:{upstream.port}/cal.ics"
    with pytest.raises(FetchError, match=r"localhost resolves to (127\.0\.0\.1|::1), a loopback"):
        fetch_url(url, cache, limits("10.0.0.0/8"), now=NOW)
    assert upstream.requests == []


def test_metadata_address_is_refused(cache: FetchCache) -> None:
    url = "http://169.254.169.254/latest/meta-data/"
    with pytest.raises(FetchError) as caught:
        fetch_url(url, cache, limits(), now=NOW)
    assert str(caught.value) == (
        f"refusing to fetch {url}: 169.254.169.254 is a cloud metadata address; "
        "allow it with fetch.allow_networks"
    )


def test_allowed_network_is_fetched(upstream: Upstream, cache: FetchCache) -> None:
    upstream.serve("/cal.ics", ICS)
    got = fetch_url(upstream.url("/cal.ics"), cache, limits("127.0.0.1/32"), now=NOW)
    assert got.body == ICS and got.status == 200


def test_redirect_from_allowed_host_to_loopback_is_refused(
    upstream: Upstream, second_host: Upstream, cache: FetchCache
) -> None:
    upstream.serve("/secret", b"internal")
    second_host.redirect("/cal.ics", upstream.url("/secret"))
    url = second_host.url("/cal.ics")
    with pytest.raises(FetchError) as caught:
        fetch_url(url, cache, limits("127.0.0.2/32"), now=NOW)
    assert str(caught.value) == (
        f"refusing to follow the redirect from {url} to {upstream.url('/secret')}: "
        "127.0.0.1 is a loopback address; allow it with fetch.allow_networks"
    )
    assert second_host.hits("/cal.ics") == 1 and upstream.requests == []


def test_redirect_to_metadata_is_refused(second_host: Upstream, cache: FetchCache) -> None:
    second_host.redirect("/cal.ics", "http://169.254.169.254/latest/meta-data/")
    with pytest.raises(FetchError, match=r"169\.254\.169\.254 is a cloud metadata address"):
        fetch_url(second_host.url("/cal.ics"), cache, limits("127.0.0.2/32"), now=NOW)


def test_redirect_within_allowed_networks_is_followed(
    upstream: Upstream, second_host: Upstream, cache: FetchCache
) -> None:
    upstream.serve("/cal.ics", ICS)
    second_host.redirect("/old.ics", upstream.url("/cal.ics"))
    got = fetch_url(second_host.url("/old.ics"), cache, limits("127.0.0.0/8"), now=NOW)
    assert got.body == ICS and got.final_url == upstream.url("/cal.ics")


def test_name_is_resolved_once_and_the_checked_address_is_used(
    second_host: Upstream, cache: FetchCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: a resolver that answers an allowed address first and a loopback one
    after. The connection must go to the address that was checked, with no second lookup."""
    real = socket.getaddrinfo
    answers = iter(["127.0.0.2", "127.0.0.1", "127.0.0.1"])
    lookups: list[str] = []

    def rebinding(host: str, *args: object, **kwargs: object) -> list:
        if host != "calendar.test":
            return real(host, *args, **kwargs)  # type: ignore[arg-type]
        lookups.append(host)
        return real(next(answers), *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    second_host.serve("/cal.ics", ICS)
    url = f"http://calendar.test:{second_host.port}/cal.ics"
    assert fetch_url(url, cache, limits("127.0.0.2/32"), now=NOW).body == ICS
    assert lookups == ["calendar.test"] and second_host.hits("/cal.ics") == 1


def test_refused_source_fails_its_refresh_with_the_message(site, upstream: Upstream) -> None:
    upstream.serve("/cal.ics", ICS)
    url = upstream.url("/cal.ics")
    site.source("up", f'name = "Up"\nkind = "ics"\ncalendar = "ece"\nurl = "{url}"')
    outcome = site.refresh(**{"fetch.allow_networks": []})[0]
    assert outcome.status == "failed" and outcome.error.startswith(f"refusing to fetch {url}: ")


def test_bad_allow_networks_entry_is_a_config_problem(site) -> None:
    from feedserver.errors import ConfigError

    with pytest.raises(ConfigError, match=r"fetch.allow_networks: 'intranet' is not a network"):
        site.config(**{"fetch.allow_networks": ["intranet"]})
