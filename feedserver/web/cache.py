"""Stage ⑥: HTTP caching for rendered feeds: the response cache, ETags and gzip.

A rendered feed is kept under (canonical query, store version) in a bounded in-process LRU, so a
repeated request costs a dictionary lookup, and a feed's ETag (a hash of its bytes) changes
exactly when its bytes change.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from feedserver.metrics import Metrics


@dataclass
class Rendered:
    body: bytes
    etag: str = field(init=False)  # unquoted; the gzip representation appends "-gzip"
    _gzipped: bytes | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.etag = hashlib.sha256(self.body).hexdigest()[:32]

    def gzipped(self) -> bytes:
        if self._gzipped is None:
            # mtime=0: the same bytes compress to the same bytes (stable gzip ETag).
            self._gzipped = gzip.compress(self.body, compresslevel=6, mtime=0)
        return self._gzipped

    @property
    def size(self) -> int:
        return len(self.body) + (len(self._gzipped) if self._gzipped else 0)


class ResponseCache:
    """A thread-safe LRU of rendered responses, bounded by the bytes it holds."""

    def __init__(self, max_bytes: int, metrics: Metrics | None = None) -> None:
        self.max_bytes = max_bytes
        self.metrics = metrics
        self._entries: OrderedDict[tuple[str, int], Rendered] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: tuple[str, int]) -> Rendered | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self.misses += 1
            else:
                self._entries.move_to_end(key)
                self.hits += 1
        if self.metrics is not None:
            name = "hits" if entry is not None else "misses"
            self.metrics.inc(f"feedserver_response_cache_{name}_total")
        return entry

    def put(self, key: tuple[str, int], entry: Rendered) -> None:
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old.size
            if entry.size > self.max_bytes:
                return
            self._entries[key] = entry
            self._bytes += entry.size
            while self._bytes > self.max_bytes:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= evicted.size

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def grew(self, entry: Rendered, before: int) -> None:
        """Account for bytes an entry gained after it was stored (its gzip form)."""
        with self._lock:
            self._bytes += entry.size - before

    @property
    def bytes(self) -> int:
        return self._bytes
