"""A real HTTP server on 127.0.0.1 standing in for a source's upstream (no mocking of requests).

Use the ``upstream`` fixture (function-scoped, registered by tests/conftest.py importing it):
it starts an :class:`Upstream` on a free port in a daemon thread and shuts it down after the
test. Declare routes, point the code at ``upstream.url(path)`` and assert on
``upstream.requests`` / ``upstream.hits(path)``.

Conditional GET is real: a route with an ETag answers ``If-None-Match`` with 304, one with a
Last-Modified answers ``If-Modified-Since`` with 304. ``delay`` sleeps on an event that shutdown
sets, so a sleeping handler never holds up teardown.
"""

from __future__ import annotations

import email.utils
import gzip as gzip_module
import hashlib
import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple

import pytest

__all__ = ["RecordedRequest", "Upstream", "upstream"]


class RecordedRequest(NamedTuple):
    """One request the server received: ``method, path, headers, at = upstream.requests[0]``."""

    method: str
    path: str  # as sent, query string included
    headers: dict[str, str]  # header names as the client spelled them
    at: float = 0.0  # time.monotonic() when its headers were read: politeness is measured with it


@dataclass(frozen=True)
class _Route:
    status: int = 200
    body: bytes = b""
    content_type: str | None = "text/calendar; charset=utf-8"
    etag: str | None = None
    last_modified: str | None = None
    gzip: bool = False
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    location: str | None = None
    stream_chunk: bytes | None = None  # serve_stream: the chunk repeated stream_count times
    stream_count: int = 0
    content_length: bool = True
    interval: float = 0.0  # serve_stream: pause between chunks


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = True  # server_close() joins the handler threads
    upstream: Upstream

    def server_bind(self) -> None:
        # Skip HTTPServer.server_bind's socket.getfqdn(): no name lookups in tests.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timeout, size limit) closes its end: not worth a traceback.
        pass


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"  # one request per connection: handler threads end promptly

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def _answer(self, *, send_body: bool) -> None:
        upstream = self.server.upstream
        with upstream._lock:
            upstream.in_flight += 1
            upstream.max_in_flight = max(upstream.max_in_flight, upstream.in_flight)
        try:
            self._answer_route(upstream, send_body=send_body)
        finally:
            with upstream._lock:
                upstream.in_flight -= 1

    def _answer_route(self, upstream: Upstream, *, send_body: bool) -> None:
        route = upstream._record(self.command, self.path, dict(self.headers.items()))
        if route is None:
            self._send(404, {"Content-Type": "text/plain"}, b"not found\n", send_body)
            return
        if route.delay and upstream._stopping.wait(route.delay):
            return  # shutting down: drop the connection
        if route.location is not None:
            self._send(route.status, {"Location": route.location}, b"", send_body)
            return
        headers: dict[str, str] = {}
        if route.content_type:
            headers["Content-Type"] = route.content_type
        if route.etag:
            headers["ETag"] = route.etag
        if route.last_modified:
            headers["Last-Modified"] = route.last_modified
        if route.status == 200 and self._not_modified(route):
            headers.pop("Content-Type", None)
            headers.update(route.headers)
            self._send(304, headers, b"", send_body=False)
            return
        if route.stream_chunk is not None:
            headers.update(route.headers)
            self._stream(route, headers, send_body)
            return
        body = route.body
        if route.gzip and "gzip" in self.headers.get("Accept-Encoding", ""):
            body = gzip_module.compress(body)
            headers["Content-Encoding"] = "gzip"
            headers["Vary"] = "Accept-Encoding"
        headers.update(route.headers)
        self._send(route.status, headers, body, send_body)

    def _not_modified(self, route: _Route) -> bool:
        if_none_match = self.headers.get("If-None-Match")
        if if_none_match is not None:  # takes precedence over If-Modified-Since (RFC 9110)
            if route.etag is None:
                return False
            tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
            return "*" in tags or route.etag.removeprefix("W/") in tags
        if_modified_since = self.headers.get("If-Modified-Since")
        if if_modified_since is None or route.last_modified is None:
            return False
        try:
            since = email.utils.parsedate_to_datetime(if_modified_since)
            modified = email.utils.parsedate_to_datetime(route.last_modified)
        except (TypeError, ValueError):
            return False
        return modified <= since

    def _send(self, status: int, headers: dict[str, str], body: bytes, send_body: bool) -> None:
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if status != 304 and "Content-Length" not in headers:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if send_body and body:
                self.wfile.write(body)
        except OSError:
            pass  # the client went away

    def _stream(self, route: _Route, headers: dict[str, str], send_body: bool) -> None:
        assert route.stream_chunk is not None
        try:
            self.send_response(route.status)
            for name, value in headers.items():
                self.send_header(name, value)
            if route.content_length:
                self.send_header(
                    "Content-Length", str(len(route.stream_chunk) * route.stream_count)
                )
            self.end_headers()
            if not send_body:
                return
            stopping = self.server.upstream._stopping
            for i in range(route.stream_count):
                if i and route.interval and stopping.wait(route.interval):
                    return
                if stopping.is_set():
                    return
                self.wfile.write(route.stream_chunk)
                if route.interval:
                    self.wfile.flush()
        except OSError:
            pass  # the client gave up (size limit, timeout): expected


class Upstream:
    """A threaded HTTP server on 127.0.0.1 whose routes a test declares."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host  # any 127.x.y.z works on Linux: a second "host" for SSRF tests
        self._lock = threading.Lock()
        self._routes: dict[str, _Route] = {}
        self._requests: list[RecordedRequest] = []
        self._stopping = threading.Event()
        self.in_flight = 0
        self.max_in_flight = 0  # most requests handled at the same moment
        self._server = _Server((host, 0), _Handler)
        self._server.upstream = self
        self.port: int = self._server.server_port
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"upstream-{self.port}",
            daemon=True,
        )

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> Upstream:
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving, wake sleeping handlers, join every thread, close every socket."""
        self._stopping.set()
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()

    def __enter__(self) -> Upstream:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- declaring routes -----------------------------------------------------------------------

    def serve(
        self,
        path: str,
        body: bytes,
        *,
        content_type: str | None = "text/calendar; charset=utf-8",
        etag: str | None = "auto",
        last_modified: str | None = None,
        status: int = 200,
        gzip: bool = False,
        delay: float = 0.0,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer GET ``path`` with ``body``; ``etag="auto"`` derives one from the body."""
        if etag == "auto":
            etag = f'"{hashlib.sha256(body).hexdigest()[:16]}"'
        self._set(
            path,
            _Route(
                status=status,
                body=body,
                content_type=content_type,
                etag=etag,
                last_modified=last_modified,
                gzip=gzip,
                delay=delay,
                headers=dict(headers or {}),
            ),
        )

    def serve_stream(
        self,
        path: str,
        chunk: bytes,
        count: int,
        *,
        content_length: bool = True,
        interval: float = 0.0,
        content_type: str | None = "text/calendar; charset=utf-8",
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer with ``chunk`` repeated ``count`` times, never held in memory as a whole.

        Without ``content_length`` the body is delimited by closing the connection;
        ``interval`` pauses between chunks (a server trickling its body).
        """
        self._set(
            path,
            _Route(
                content_type=content_type,
                headers=dict(headers or {}),
                stream_chunk=chunk,
                stream_count=count,
                content_length=content_length,
                interval=interval,
            ),
        )

    def redirect(self, path: str, to_path: str, status: int = 302) -> None:
        """Redirect ``path`` to ``to_path`` (a path on this server, or any absolute URL)."""
        location = self.url(to_path) if to_path.startswith("/") else to_path
        self._set(path, _Route(status=status, content_type=None, location=location))

    def _set(self, path: str, route: _Route) -> None:
        if not path.startswith("/"):
            raise ValueError(f"route path must start with '/': {path!r}")
        with self._lock:
            self._routes[path] = route

    # -- addresses and assertions ---------------------------------------------------------------

    def url(self, path: str = "/") -> str:
        if not path.startswith("/"):
            path = "/" + path
        return f"http://{self.host}:{self.port}{path}"

    def closed_port_url(self, path: str = "/") -> str:
        """A URL on 127.0.0.1 where nothing listens (connection refused)."""
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        return f"http://127.0.0.1:{port}{path}"

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, in order (a copy)."""
        with self._lock:
            return list(self._requests)

    def hits(self, path: str) -> int:
        """How many requests asked for ``path`` (query string ignored)."""
        with self._lock:
            return sum(1 for r in self._requests if r.path.split("?", 1)[0] == path)

    def _record(self, method: str, path: str, headers: dict[str, str]) -> _Route | None:
        with self._lock:
            self._requests.append(RecordedRequest(method, path, headers, time.monotonic()))
            return self._routes.get(path) or self._routes.get(path.split("?", 1)[0])


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    """A fresh :class:`Upstream` on 127.0.0.1, shut down (threads joined) after the test."""
    server = Upstream().start()
    try:
        yield server
    finally:
        server.close()
