"""Stage ①: fetch a source's raw bytes, with limits, conditional GET and an on-disk cache.

This is the only module of feedserver that talks HTTP (the only one importing ``requests``).
Two entry points bring a source's bytes in:

* :func:`fetch_url` does one GET (no retries: the caller schedules), following at most
  ``max_redirects`` redirects, sending the cached validators (``If-None-Match`` /
  ``If-Modified-Since``) and capping both the size and the total time of the download.
* :func:`read_file` reads a local file with the same size cap.

Both keep the last good body and its validators in a :class:`FetchCache`; a failed fetch
raises :class:`~feedserver.errors.FetchError` with a one-line message and leaves the cache alone.

Every connection, the redirects' too, passes the SSRF guard of :mod:`feedserver.netguard`
(its docstring says what is refused and the residual risk with proxies).
"""

from __future__ import annotations

import contextlib
import hashlib
import http
import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import requests.adapters
import urllib3.exceptions

from feedserver.errors import FetchError
from feedserver.files import write_atomic
from feedserver.netguard import Network, Refused, pool_classes, resolve_checked

log = logging.getLogger(__name__)

__all__ = [
    "FetchCache",
    "FetchLimits",
    "Fetched",
    "fetch_url",
    "read_file",
]


def _package_version() -> str:
    try:
        return metadata.version("feedserver")
    except metadata.PackageNotFoundError:
        return "dev"


DEFAULT_USER_AGENT = f"feedserver/{_package_version()} (+https://github.com/feedserver/feedserver)"
ACCEPT = "text/calendar, application/json;q=0.9, text/html;q=0.8, */*;q=0.5"
ACCEPT_ENCODING = "gzip, deflate"
_CHUNK_SIZE = 64 * 1024
_OK_STATUSES = frozenset({200, 203})
_CACHE_FORMAT = 1
_DECODING_ERRORS = (requests.exceptions.ContentDecodingError, urllib3.exceptions.DecodeError)


@dataclass(frozen=True)
class FetchLimits:
    """What one fetch may cost: time, bytes and redirects."""

    connect_timeout: float = 5.0
    read_timeout: float = 20.0  # per socket read, and a total wall-clock budget for the download
    max_bytes: int = 20_000_000  # of the decoded body (a gzip bomb counts at its real size)
    max_redirects: int = 5
    user_agent: str = DEFAULT_USER_AGENT
    # Non-public networks the SSRF guard lets through (fetch.allow_networks); default: none.
    allow_networks: tuple[Network, ...] = ()


@dataclass(frozen=True)
class Fetched:
    """A source's raw body and the validators that came with it."""

    body: bytes
    sha256: str  # hex digest of body
    not_modified: bool  # upstream said 304 (or the file is unchanged): body came from the cache
    etag: str | None
    last_modified: str | None
    final_url: str | None  # after redirects; None for files
    fetched_at: datetime  # tz-aware UTC
    # HTTP status of the final response (200, 203 or 304); None for files and cache entries.
    status: int | None = field(default=None, compare=False)


def _sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


# ---------------------------------------------------------------------------------------------
# The on-disk cache


class FetchCache:
    """Raw body + validators of one source in the data directory.

    Files: ``<dir>/<source_id>.body`` and ``<dir>/<source_id>.json`` (format, sha256, etag,
    last_modified, final_url, fetched_at). The JSON vouches for the body through its sha256.
    """

    def __init__(self, directory: Path, source_id: str) -> None:
        if (
            not source_id
            or source_id.startswith(".")
            or "/" in source_id
            or "\\" in source_id
            or "\0" in source_id
        ):
            raise ValueError(f"source id {source_id!r} cannot be used as a file name")
        self.directory = Path(directory)
        self.source_id = source_id
        self.body_path = self.directory / f"{source_id}.body"
        self.meta_path = self.directory / f"{source_id}.json"

    def __repr__(self) -> str:
        return f"FetchCache({str(self.directory)!r}, {self.source_id!r})"

    def load(self) -> Fetched | None:
        """The cached entry, or None when nothing is cached or the cache is corrupt (logged)."""
        if not self.meta_path.exists() and not self.body_path.exists():
            return None
        try:
            meta = json.loads(self.meta_path.read_text(encoding="utf-8"))
            body = self.body_path.read_bytes()
            if not isinstance(meta, dict) or meta.get("format") != _CACHE_FORMAT:
                raise ValueError("unknown format")
            sha256 = meta["sha256"]
            if sha256 != _sha256(body):
                raise ValueError("body does not match its recorded sha256")
            etag = _optional_str(meta, "etag")
            last_modified = _optional_str(meta, "last_modified")
            final_url = _optional_str(meta, "final_url")
            fetched_at = datetime.fromisoformat(meta["fetched_at"])
            if fetched_at.tzinfo is None:
                raise ValueError("fetched_at has no time zone")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning(
                "ignoring corrupt fetch cache %s/%s: %s", self.directory, self.source_id, exc
            )
            return None
        return Fetched(
            body=body,
            sha256=sha256,
            not_modified=False,
            etag=etag,
            last_modified=last_modified,
            final_url=final_url,
            fetched_at=fetched_at,
        )

    def save(self, fetched: Fetched) -> None:
        """Store body and validators atomically: body first, then the JSON that vouches for it."""
        self.directory.mkdir(parents=True, exist_ok=True)
        write_atomic(self.body_path, fetched.body)
        self.save_meta(fetched)

    def save_meta(self, fetched: Fetched) -> None:
        """Rewrite only validators and timestamp (after a 304); the body file is left untouched.

        ``fetched.sha256`` must be the one of the body already on disk.
        """
        meta = {
            "format": _CACHE_FORMAT,
            "sha256": fetched.sha256,
            "etag": fetched.etag,
            "last_modified": fetched.last_modified,
            "final_url": fetched.final_url,
            "fetched_at": fetched.fetched_at.isoformat(),
        }
        data = (json.dumps(meta, indent=2, sort_keys=True) + "\n").encode("utf-8")
        self.directory.mkdir(parents=True, exist_ok=True)
        write_atomic(self.meta_path, data)


def _optional_str(meta: dict[str, Any], key: str) -> str | None:
    value = meta.get(key)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{key} is not a string")
    return value


# ---------------------------------------------------------------------------------------------
# HTTP


def fetch_url(url: str, cache: FetchCache, limits: FetchLimits, *, now: datetime) -> Fetched:
    """GET ``url`` conditionally; a 304 returns the cached body with ``not_modified=True``.

    A new body (status 200) is saved to ``cache``. Any failure raises FetchError and leaves the
    cache as it was. Every connection, the redirects' too, passes the SSRF guard.
    """
    _check_url(url)
    cached = cache.load()
    headers = {
        "User-Agent": limits.user_agent,
        "Accept": ACCEPT,
        "Accept-Encoding": ACCEPT_ENCODING,
    }
    if cached is not None and cached.etag:
        headers["If-None-Match"] = cached.etag
    if cached is not None and cached.last_modified:
        headers["If-Modified-Since"] = cached.last_modified

    with requests.Session() as http_session:
        adapter = _GuardedAdapter(limits.allow_networks)
        http_session.mount("http://", adapter)
        http_session.mount("https://", adapter)
        fetched = _get(http_session, url, headers, limits, cached, now)

    try:
        if fetched.not_modified:
            # Same body as on disk: refresh validators and timestamp only.
            cache.save_meta(fetched)
        else:
            cache.save(fetched)
    except OSError as exc:
        raise FetchError(f"fetched {url} but could not write its cache: {exc}") from exc
    return fetched


def _check_url(url: str) -> None:
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port  # raises ValueError on a bad port
    except ValueError as exc:
        raise FetchError(f"invalid URL {url}: {exc}") from None
    if parts.scheme.lower() not in ("http", "https"):
        scheme = parts.scheme or "(none)"
        raise FetchError(f"unsupported URL scheme {scheme} in {url} (only http and https)")
    if not host:
        raise FetchError(f"invalid URL {url}: no host")


def _get(
    session: requests.Session,
    url: str,
    headers: dict[str, str],
    limits: FetchLimits,
    cached: Fetched | None,
    now: datetime,
) -> Fetched:
    started = time.monotonic()
    hop = url
    redirects = 0
    # Redirects by hand: each hop is a new request whose connection passes the guard, and a
    # refusal can name the hop it happened at.
    while True:
        response = _send(session, url, hop, headers, limits)
        if not response.is_redirect:
            break
        target = urljoin(hop, session.get_redirect_target(response) or "")
        response.close()
        if urlsplit(target).scheme.lower() not in ("http", "https"):
            raise FetchError(f"redirect from {url} to a non-http(s) URL: {target}")
        redirects += 1
        if redirects > limits.max_redirects:
            raise FetchError(f"too many redirects (more than {limits.max_redirects}) from {url}")
        hop = target

    with response:
        final_url = hop
        status = response.status_code
        if status == 304:
            if cached is None:
                raise FetchError(
                    f"HTTP 304 Not Modified from {_where(url, final_url)}, but nothing is cached"
                )
            return Fetched(
                body=cached.body,
                sha256=cached.sha256,
                not_modified=True,
                etag=response.headers.get("ETag") or cached.etag,
                last_modified=response.headers.get("Last-Modified") or cached.last_modified,
                final_url=final_url,
                fetched_at=now,
                status=status,
            )
        if status not in _OK_STATUSES:
            raise FetchError(
                f"HTTP {status} {_reason(response)} from {_where(url, final_url)}", status=status
            )
        _check_content_length(response, url, limits)
        body = _read_body(response, url, limits, deadline=started + limits.read_timeout)
        return Fetched(
            body=body,
            sha256=_sha256(body),
            not_modified=False,
            etag=response.headers.get("ETag"),
            last_modified=response.headers.get("Last-Modified"),
            final_url=final_url,
            fetched_at=now,
            status=status,
        )


def _send(
    session: requests.Session, url: str, hop: str, headers: dict[str, str], limits: FetchLimits
) -> requests.Response:
    """One GET of ``hop`` (``url`` itself or a redirect target), redirects not followed."""
    _check_url(hop)
    try:
        if _proxy_for(session, hop):
            # The proxy resolves the name and connects, out of the guard's reach: check the
            # name as this machine resolves it (the residual risk is in netguard's docstring).
            parts = urlsplit(hop)
            resolve_checked(parts.hostname or "", parts.port or 80, limits.allow_networks)
        return session.get(
            hop,
            headers=headers,
            timeout=(limits.connect_timeout, limits.read_timeout),
            allow_redirects=False,
            stream=True,
        )
    except Exception as exc:  # every requests/urllib3 failure becomes one FetchError line
        refused = next((e for e in _chain(exc) if isinstance(e, Refused)), None)
        if refused is not None:
            where = f"fetch {url}" if hop == url else f"follow the redirect from {url} to {hop}"
            raise FetchError(
                f"refusing to {where}: {refused}; allow it with fetch.allow_networks"
            ) from None
        raise _request_error(exc, url, limits) from exc


def _proxy_for(session: requests.Session, url: str) -> str | None:
    proxies = session.merge_environment_settings(url, {}, None, None, None)["proxies"]
    return requests.utils.select_proxy(url, proxies)


def _where(url: str, final_url: str) -> str:
    return url if final_url == url else f"{url} (redirected to {final_url})"


def _reason(response: requests.Response) -> str:
    if response.reason:
        return str(response.reason)
    try:
        return http.HTTPStatus(response.status_code).phrase
    except ValueError:
        return "(no reason)"


def _check_content_length(response: requests.Response, url: str, limits: FetchLimits) -> None:
    declared = response.headers.get("Content-Length", "").strip()
    if declared.isdigit() and int(declared) > limits.max_bytes:
        raise FetchError(
            f"response larger than {limits.max_bytes} bytes (limit) from {url}"
            f" (Content-Length: {declared})"
        )


def _read_body(
    response: requests.Response, url: str, limits: FetchLimits, *, deadline: float
) -> bytes:
    """The decoded body, within ``max_bytes`` and before ``deadline`` (time.monotonic()).

    The socket timeout only bounds each read, so a server trickling bytes could hold a read
    forever: a watchdog shuts the socket down at the deadline, which ends the blocked read.
    """
    total_timeout = FetchError(
        f"timed out after {limits.read_timeout} s reading {url} (total download time)"
    )
    watchdog = _Watchdog(response, deadline - time.monotonic())
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_content(chunk_size=_CHUNK_SIZE):
            size += len(chunk)
            if size > limits.max_bytes:
                raise FetchError(
                    f"response larger than {limits.max_bytes} bytes (limit) from {url}"
                )
            if watchdog.fired or time.monotonic() > deadline:
                raise total_timeout
            chunks.append(chunk)
    except FetchError:
        raise
    except Exception as exc:
        if watchdog.fired:
            raise total_timeout from exc
        if _is_timeout(exc):
            raise FetchError(f"timed out after {limits.read_timeout} s reading {url}") from exc
        raise FetchError(f"broken response body from {url}: {_cause(exc)}") from exc
    finally:
        watchdog.stop()
    if watchdog.fired:  # the shutdown may look like a clean end of a close-delimited body
        raise total_timeout
    return b"".join(chunks)


class _Watchdog:
    """Shuts the response's socket down (SHUT_RD) if the download outlives its budget."""

    def __init__(self, response: requests.Response, seconds: float) -> None:
        self.fired = False
        self._response = response
        self._lock = threading.Lock()
        self._stopped = False
        self._timer = threading.Timer(max(seconds, 0.0), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        with self._lock:
            if self._stopped:
                return
            self.fired = True
            shutdown = getattr(self._response.raw, "shutdown", None)  # urllib3 >= 2.3
            if shutdown is not None:
                with contextlib.suppress(Exception):
                    shutdown()

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
        self._timer.cancel()
        self._timer.join()


def _request_error(exc: Exception, url: str, limits: FetchLimits) -> FetchError:
    """Translate whatever ``session.get`` raised into one precise line."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return FetchError(f"timed out after {limits.connect_timeout} s connecting to {url}")
    if isinstance(exc, requests.exceptions.ReadTimeout) or _is_timeout(exc):
        return FetchError(f"timed out after {limits.read_timeout} s reading {url}")
    if isinstance(exc, requests.exceptions.SSLError):
        return FetchError(f"TLS error talking to {url}: {_cause(exc)}")
    if isinstance(exc, requests.exceptions.ProxyError):
        return FetchError(f"proxy error fetching {url}: {_cause(exc)}")
    if isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema):
        return FetchError(f"invalid URL {url}: {_cause(exc)}")
    if isinstance(exc, (requests.exceptions.ChunkedEncodingError, *_DECODING_ERRORS)):
        return FetchError(f"broken response from {url}: {_cause(exc)}")
    if isinstance(exc, requests.exceptions.ConnectionError):
        return FetchError(f"could not connect to {url}: {_cause(exc)}")
    return FetchError(f"fetching {url} failed: {_cause(exc)}")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, then what it wraps (args[0], __cause__, __context__), depth first."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        wrapped = [getattr(current, "reason", None), current.__cause__, current.__context__]
        if current.args and isinstance(current.args[0], BaseException):
            wrapped.insert(0, current.args[0])
        todo.extend(e for e in wrapped if isinstance(e, BaseException))


def _is_timeout(exc: BaseException) -> bool:
    """A read timed out somewhere in the chain (urllib3's NewConnectionError, a refused connection,
    subclasses its TimeoutError, so only read timeouts and socket timeouts count)."""
    return any(
        isinstance(
            e,
            TimeoutError | urllib3.exceptions.ReadTimeoutError | requests.exceptions.ReadTimeout,
        )
        for e in _chain(exc)
    )


def _cause(exc: BaseException) -> str:
    """The innermost, most specific message: 'Connection refused', not urllib3's pool repr."""
    innermost = exc
    for e in _chain(exc):
        innermost = e
    if isinstance(innermost, OSError) and innermost.strerror:
        return str(innermost.strerror)
    text = str(innermost) or type(innermost).__name__
    # urllib3 prefixes "<urllib3.connection.HTTPConnection object at 0x...>: "
    if text.startswith("<") and ">: " in text:
        text = text.split(">: ", 1)[1]
    return " ".join(text.split())


class _GuardedAdapter(requests.adapters.HTTPAdapter):
    def __init__(self, allow: tuple[Network, ...]) -> None:
        self._allow = allow  # before super().__init__, which calls init_poolmanager
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = pool_classes(self._allow)


# ---------------------------------------------------------------------------------------------
# Files


def read_file(path: Path, cache: FetchCache, *, now: datetime, max_bytes: int) -> Fetched:
    """Read a local file; ``not_modified`` when its bytes equal the cached ones (then not saved)."""
    path = Path(path)
    try:
        if path.is_dir():
            raise FetchError(f"{path} is a directory, not a file")
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > max_bytes:
                raise FetchError(f"file {path} larger than {max_bytes} bytes (limit)")
            body = handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise FetchError(f"file not found: {path}") from None
    except OSError as exc:
        raise FetchError(f"could not read {path}: {exc.strerror or exc}") from None
    if len(body) > max_bytes:
        raise FetchError(f"file {path} larger than {max_bytes} bytes (limit)")
    sha256 = _sha256(body)
    cached = cache.load()
    fetched = Fetched(
        body=body,
        sha256=sha256,
        not_modified=cached is not None and cached.sha256 == sha256,
        etag=None,
        last_modified=None,
        final_url=None,
        fetched_at=now,
    )
    if not fetched.not_modified:
        try:
            cache.save(fetched)
        except OSError as exc:
            raise FetchError(f"read {path} but could not write its cache: {exc}") from exc
    return fetched
