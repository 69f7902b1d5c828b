"""Operations: Prometheus metrics, counted in each process and summed over all of them.

Not a pipeline stage: web (requests, response cache) and refresh (durations, failures) record
here, ``/metrics`` renders the Prometheus text format (version 0.0.4).

Several gunicorn workers each count what they serve. A scrape reaches one worker, so each
process writes its counters to ``<data>/metrics/<pid>-<token>.json`` (atomically, at most once
a second, and whenever it answers ``/metrics``) and the answering worker sums every file: the
figures are those of the whole server, at most about a second behind. A file outlives its
worker on purpose: counters must never go down when gunicorn replaces a worker.
``feedserver serve`` empties the folder when it starts (a new server starts from zero, which
Prometheus reads as a counter reset). This is the scheme of prometheus_client's multiprocess
mode, in ~150 lines and without its import-time environment variable.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from feedserver.files import write_atomic

log = logging.getLogger(__name__)

REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
REFRESH_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


@dataclass(frozen=True)
class Spec:
    kind: str  # "counter" or "histogram" (gauges come from the store, see render's ``gauges``)
    help: str
    buckets: tuple[float, ...] = ()


METRICS: dict[str, Spec] = {
    "feedserver_http_requests_total": Spec(
        "counter", "HTTP requests answered, by route pattern, method and status code."
    ),
    "feedserver_http_request_duration_seconds": Spec(
        "histogram", "Time to answer an HTTP request, by route pattern.", REQUEST_BUCKETS
    ),
    "feedserver_response_cache_hits_total": Spec(
        "counter", "Feed requests answered from the in-process response cache."
    ),
    "feedserver_response_cache_misses_total": Spec(
        "counter", "Feed requests that had to render the feed from the store."
    ),
    "feedserver_refresh_duration_seconds": Spec(
        "histogram",
        "Time to refresh one source (fetch, parse, store), by source and result.",
        REFRESH_BUCKETS,
    ),
    "feedserver_source_failures_total": Spec(
        "counter", "Failed source refreshes, by source (the error is on /status)."
    ),
}

Labels = tuple[tuple[str, str], ...]


def _labels(labels: Mapping[str, str] | None) -> Labels:
    return tuple(sorted((labels or {}).items()))


class Metrics:
    """This process's counters and histograms, and the sum over all processes' files."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self._file = f"{os.getpid()}-{secrets.token_hex(4)}.json"
        self._lock = threading.Lock()
        self._counters: dict[tuple[str, Labels], float] = {}
        # name+labels -> [cumulative count per bucket..., sum, count]
        self._histograms: dict[tuple[str, Labels], list[float]] = {}
        self._dirty = False
        self._flushed = time.monotonic()
        self._flush_lock = threading.Lock()  # one writer: a late replace must not go back

    def inc(self, name: str, labels: Mapping[str, str] | None = None, value: float = 1) -> None:
        assert METRICS[name].kind == "counter", name
        key = (name, _labels(labels))
        with self._lock:
            self._counters[key] = self._counters.get(key, 0) + value
            self._dirty = True
        self._maybe_flush()

    def observe(self, name: str, value: float, labels: Mapping[str, str] | None = None) -> None:
        spec = METRICS[name]
        assert spec.kind == "histogram", name
        key = (name, _labels(labels))
        with self._lock:
            row = self._histograms.setdefault(key, [0.0] * (len(spec.buckets) + 2))
            for n, bound in enumerate(spec.buckets):
                if value <= bound:
                    row[n] += 1
            row[-2] += value
            row[-1] += 1
            self._dirty = True
        self._maybe_flush()

    # -- across processes --------------------------------------------------------------------

    def _snapshot(self) -> dict[str, list]:
        with self._lock:
            return {
                "counters": [[n, list(map(list, lb)), v] for (n, lb), v in self._counters.items()],
                "histograms": [
                    [n, list(map(list, lb)), list(row)] for (n, lb), row in self._histograms.items()
                ],
            }

    def _maybe_flush(self) -> None:
        if self.directory is not None and time.monotonic() - self._flushed >= 1.0:
            self.flush()

    def flush(self) -> None:
        """Write this process's figures for the other workers' scrapes (if they changed)."""
        if self.directory is None or not self._dirty:
            return
        with self._flush_lock:
            self._flushed = time.monotonic()
            self._dirty = False
            self._write(json.dumps(self._snapshot()).encode())

    def _write(self, data: bytes) -> None:
        assert self.directory is not None
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            write_atomic(self.directory / self._file, data, durable=False)
        except OSError as e:  # metrics must never break serving
            log.warning("cannot write metrics to %s: %s", self.directory, e)

    def _all_snapshots(self) -> Iterable[dict[str, list]]:
        yield self._snapshot()
        if self.directory is None or not self.directory.is_dir():
            return
        for path in self.directory.glob("*.json"):
            if path.name == self._file:
                continue
            try:
                yield json.loads(path.read_bytes())
            except (OSError, ValueError):
                continue  # replaced or removed while we read: skip one scrape's worth

    def collect(self) -> tuple[dict[tuple[str, Labels], float], dict[tuple[str, Labels], list]]:
        """Counters and histograms summed over every process of this data folder."""
        counters: dict[tuple[str, Labels], float] = {}
        histograms: dict[tuple[str, Labels], list[float]] = {}
        for snap in self._all_snapshots():
            for name, labels, value in snap.get("counters", []):
                key = (name, tuple(tuple(p) for p in labels))
                counters[key] = counters.get(key, 0) + value
            for name, labels, row in snap.get("histograms", []):
                key = (name, tuple(tuple(p) for p in labels))
                total = histograms.setdefault(key, [0.0] * len(row))
                if len(total) == len(row):  # bucket layout changed across versions: skip
                    histograms[key] = [a + b for a, b in zip(total, row, strict=True)]
        return counters, histograms

    def render(
        self, gauges: Iterable[tuple[str, str, list[tuple[Mapping[str, str], float]]]]
    ) -> str:
        """The Prometheus text format: every known metric, then ``gauges`` (name, help,
        samples) that the caller read from shared state (the store)."""
        self.flush()
        counters, histograms = self.collect()
        lines: list[str] = []
        for name, spec in METRICS.items():
            lines += [f"# HELP {name} {spec.help}", f"# TYPE {name} {spec.kind}"]
            if spec.kind == "counter":
                rows = sorted((lb, v) for (n, lb), v in counters.items() if n == name)
                if not rows and name in _UNLABELLED:
                    rows = [((), 0.0)]  # shown from the start; labelled ones with their first
                lines += [f"{name}{_fmt(lb)} {_num(v)}" for lb, v in rows]
                continue
            for lb, row in sorted((lb, r) for (n, lb), r in histograms.items() if n == name):
                for bound, count in zip(spec.buckets, row, strict=False):
                    lines.append(f"{name}_bucket{_fmt(lb, le=_num(bound))} {_num(count)}")
                lines.append(f"{name}_bucket{_fmt(lb, le='+Inf')} {_num(row[-1])}")
                lines.append(f"{name}_sum{_fmt(lb)} {_num(row[-2])}")
                lines.append(f"{name}_count{_fmt(lb)} {_num(row[-1])}")
        for name, help_text, samples in gauges:
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
            lines += [f"{name}{_fmt(_labels(lb))} {_num(v)}" for lb, v in samples]
        return "\n".join(lines) + "\n"


_UNLABELLED = ("feedserver_response_cache_hits_total", "feedserver_response_cache_misses_total")


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _fmt(labels: Labels, **extra: str) -> str:
    pairs = list(labels) + list(extra.items())
    if not pairs:
        return ""
    return "{" + ",".join(f'{k}="{_escape(str(v))}"' for k, v in pairs) + "}"


def _num(value: float) -> str:
    """
    >>> _num(3.0), _num(0.25), _num(1e-3)
    ('3', '0.25', '0.001')
    """
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def reset(directory: Path) -> None:
    """Forget every process's figures (a new server starts from zero)."""
    for path in directory.glob("*.json") if directory.is_dir() else []:
        with contextlib.suppress(OSError):
            path.unlink()
