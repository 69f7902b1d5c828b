"""Stage ①: the SSRF guard: which addresses a fetch may connect to, enforced at connect time.

A source URL is typed by an admin, possibly through the HTTP admin API, so feedserver must not
become a way to reach the machine's own services or the private network (a cloud metadata
endpoint hands out credentials). Every connection resolves the host name once,
refuses the connection when *any* resolved address is loopback, link-local, private, shared
(CGNAT), metadata, multicast, reserved or otherwise non-global, unless it lies in
``fetch.allow_networks``, and then connects to exactly the addresses it checked: a DNS answer
that changes between the check and the connection (DNS rebinding) cannot slip through.
fetch.py follows redirects by hand, one checked hop at a time. Residual risk: when an HTTP(S)
proxy is configured in the environment, the proxy resolves names itself; each hop's name is
then checked as *this* machine resolves it, and the proxy's own egress rules must do the rest.

:func:`pool_classes` gives urllib3 connection pools that resolve, check and connect in one step;
fetch.py mounts them in its requests session, and checks a proxied URL's host with
:func:`resolve_checked`.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import urllib3.exceptions
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util.connection import allowed_gai_family

__all__ = [
    "Address",
    "Network",
    "Refused",
    "forbidden_reason",
    "parse_networks",
    "pool_classes",
    "resolve_checked",
]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


_METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean, Oracle…
        "169.254.170.2",  # AWS ECS task credentials
        "fd00:ec2::254",  # AWS over IPv6
        "100.100.100.200",  # Alibaba Cloud
    )
)
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # RFC 6598 carrier-grade NAT
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: the last 32 bits are an IPv4 address


class Refused(Exception):
    """The guard refused a connection; the message names the address and why."""


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """``fetch.allow_networks`` as networks; raises ValueError naming a bad entry.

    >>> parse_networks(["127.0.0.0/8", "::1"])
    (IPv4Network('127.0.0.0/8'), IPv6Network('::1/128'))
    """
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value, strict=False))
        except (TypeError, ValueError):
            raise ValueError(f"{value!r} is not a network like 10.0.0.0/8 or fd00::/8") from None
    return tuple(networks)


def _embedded_ipv4(ip: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, NAT64, 6to4), if any: the
    connection reaches that IPv4 host, so it is the one to judge."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.sixtofour


def forbidden_reason(ip: Address) -> str | None:
    """Why the guard refuses ``ip`` by default, or None for a public address.

    >>> forbidden_reason(ipaddress.ip_address("127.0.0.1"))
    'a loopback address'
    >>> forbidden_reason(ipaddress.ip_address("::ffff:169.254.169.254"))
    'a cloud metadata address'
    >>> forbidden_reason(ipaddress.ip_address("93.184.215.14")) is None
    True
    """
    ip = _embedded_ipv4(ip) or ip
    if ip in _METADATA:
        return "a cloud metadata address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_unspecified:  # 0.0.0.0 reaches this machine on Linux
        return "an unspecified address"
    if ip.is_multicast:
        return "a multicast address"
    if ip in _SHARED:
        return "a shared (carrier-grade NAT) address"
    if ip.is_private:
        return "a private address"
    if ip.is_reserved or not ip.is_global:
        return "a reserved address"
    return None


def _refusal(ip: Address, allow: tuple[Network, ...]) -> str | None:
    reason = forbidden_reason(ip)
    if reason is None:
        return None
    embedded = _embedded_ipv4(ip)
    if any(ip in net or (embedded is not None and embedded in net) for net in allow):
        return None
    return reason


def resolve_checked(
    host: str, port: int, allow: tuple[Network, ...]
) -> list[tuple[Any, Any, Any, Any, Any]]:
    """Resolve ``host`` once; raise Refused if any address is not allowed, else return them
    all (getaddrinfo's tuples), for the caller to connect to exactly these."""
    host = host.strip("[]")
    try:
        literal = ipaddress.ip_address(host) is not None
    except ValueError:
        literal = False
    infos = socket.getaddrinfo(host, port, allowed_gai_family(), socket.SOCK_STREAM)
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        reason = _refusal(ip, allow)
        if reason is not None:
            raise Refused(f"{ip} is {reason}" if literal else f"{host} resolves to {ip}, {reason}")
    return infos


def _connect(
    infos: list[tuple[Any, Any, Any, Any, Any]],
    timeout: Any,
    source_address: tuple[str, int] | None,
    socket_options: Any,
) -> socket.socket:
    """urllib3's create_connection, minus its own name lookup: connect to the checked addresses."""
    error: OSError | None = None
    for family, kind, proto, _, address in infos:
        sock = socket.socket(family, kind, proto)
        try:
            for option in socket_options or ():
                sock.setsockopt(*option)
            if timeout is None or isinstance(timeout, int | float):
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(address)
            return sock
        except OSError as exc:
            error = exc
            sock.close()
    raise error or OSError("getaddrinfo returned no address")


class _GuardedConnection(HTTPConnection):
    """Resolves, checks and connects in one step (no DNS-rebinding window)."""

    allow: tuple[Network, ...] = ()

    def _new_conn(self) -> socket.socket:
        try:
            infos = resolve_checked(self._dns_host, self.port, self.allow)
        except socket.gaierror as exc:
            raise urllib3.exceptions.NameResolutionError(self.host, self, exc) from exc
        try:
            return _connect(infos, self.timeout, self.source_address, self.socket_options)
        except TimeoutError as exc:
            raise urllib3.exceptions.ConnectTimeoutError(
                self, f"Connection to {self.host} timed out. (connect timeout={self.timeout})"
            ) from exc
        except OSError as exc:
            raise urllib3.exceptions.NewConnectionError(
                self, f"Failed to establish a new connection: {exc}"
            ) from exc


class _GuardedHTTPSConnection(_GuardedConnection, HTTPSConnection):
    pass


@lru_cache(maxsize=16)
def pool_classes(allow: tuple[Network, ...]) -> dict[str, type[HTTPConnectionPool]]:
    """urllib3 pools whose connections pass the guard with this allow-list (one class pair
    per allow-list: urllib3 constructs connections itself, so the list rides on the class)."""
    http_conn = type("GuardedConnection", (_GuardedConnection,), {"allow": allow})
    https_conn = type("GuardedHTTPSConnection", (_GuardedHTTPSConnection,), {"allow": allow})
    http_pool = type("GuardedPool", (HTTPConnectionPool,), {"ConnectionCls": http_conn})
    https_pool = type("GuardedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https_conn})
    return {"http": http_pool, "https": https_pool}
