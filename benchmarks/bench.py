#!/usr/bin/env python3
"""feedserver benchmark: ingest and serve a realistic load over real HTTP on 127.0.0.1.

It is a benchmark, not a test: it prints figures next to their targets and exits 0 even when a
target is missed (it exits 1 only when something does not work at all).

1. Generates ``--sources`` .ics files of ``--events`` university events each (seeded
   ``random.Random(42)``; dates relative to today in America/Los_Angeles), 10% of them weekly
   series with an EXDATE and a RECURRENCE-ID override, plus a feeds folder: ``site.toml`` with 4
   calendars and 5 event types, one ``sources/src-NN.toml`` per file.
2. Serves the files with ``python -m http.server`` on 127.0.0.1 (Last-Modified and
   If-Modified-Since, so a second refresh gets 304s).
3. Times ``feedserver refresh --all`` as a subprocess (wall time, CPU time of all its
   processes, peak RSS), the in-process ``feedserver.refresh.refresh()`` on a fresh data
   folder, the bare ``icalendar.Calendar.from_ical()`` of the same bytes (best of 3) in one
   process and in a spawn pool of as many processes as refresh uses, and a second
   ``refresh --all`` (every source unchanged). The target compares ingest (in its worker
   processes) with the one-process parse; the same-pool and CPU-time ratios compare like with
   like.
4. Starts ``feedserver serve --workers 2 --no-refresh`` and measures over one keep-alive
   ``requests.Session``: a filtered ~1,000-event feed rendered for the first time, the same feed
   again (cache hit), a 304 revalidation, the gzip form, the calendar page's month view
   (``/calendar`` and one calendar's two types, first render per day, then a cache hit and a
   304), ``/all.ics`` (first request on each worker, then repeated), and the server's peak
   memory (VmHWM from /proc). Bodies are read in 64 KiB chunks so that the client's own
   allocations are not charged to the server, and the worker that accepted a connection is
   found through /proc/net/tcp and /proc/<pid>/fd.

``--profile`` then prints cProfile summaries (top 25 by cumulative time) of an in-process refresh
(run serially so that cProfile sees the work, which normally runs in a thread pool) and of the
first-render request path through ``create_app()``'s test client.

``--calendar-only`` measures just the calendar page: step 3 is the one ``refresh --all`` that
builds the store, step 4 the calendar figures and memory; with ``--profile`` it profiles the
month view's first render instead.

Every process it starts runs in its own session and is stopped in ``finally`` (also on Ctrl-C
and SIGTERM); the temporary folder is removed unless ``--keep DIR`` is given.
"""

from __future__ import annotations

import argparse
import cProfile
import http.client
import io
import math
import multiprocessing
import os
import platform
import pstats
import random
import re
import resource
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
import zoneinfo
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import icalendar
import requests

import feedserver
import feedserver.config
import feedserver.query
import feedserver.refresh
import feedserver.sources.ics  # noqa: F401  (imported lazily by feedserver; keep it out of timings)
from feedserver.store import Store

TZ = "America/Los_Angeles"
ZONE = zoneinfo.ZoneInfo(TZ)
HOST = "127.0.0.1"
MB = 1024 * 1024

# ---------------------------------------------------------------------------------------------
# Data: realistic university events
# ---------------------------------------------------------------------------------------------

CALENDARS = [
    ("engineering", "School of Engineering", "Seminars, defenses and workshops in Engineering."),
    ("sciences", "Natural Sciences", "Colloquia and seminars of the science departments."),
    ("humanities", "Arts & Humanities", "Lectures, readings and workshops in the humanities."),
    ("campus", "Campus Life", "Receptions, socials and info sessions across campus."),
]
# slug, name, aliases (the upstream CATEGORIES values meaning this type)
TYPES = [
    ("seminar", "Seminars", ["Conferences, Lectures, & Seminars", "Seminars"]),
    ("lecture", "Distinguished Lectures", ["Distinguished Lectures", "Colloquia"]),
    ("workshop", "Workshops", ["Workshops", "Tutorials"]),
    ("defense", "PhD Defenses", ["Dissertation Defense"]),
    ("social", "Social Events", ["Receptions & Special Events", "Socials"]),
]
# upstream category -> weight; "Reading Group" is mapped per source ([categories] table)
CATEGORIES = {
    "Conferences, Lectures, & Seminars": 18,
    "Seminars": 14,
    "Distinguished Lectures": 7,
    "Colloquia": 8,
    "Workshops": 12,
    "Tutorials": 6,
    "Dissertation Defense": 10,
    "Receptions & Special Events": 9,
    "Socials": 6,
    "Reading Group": 10,
}
UNMAPPED = ["Free Food", "Hybrid", "Open to the Public", "Graduate Students"]
KIND_OF = {  # category -> the title prefix
    "Conferences, Lectures, & Seminars": "Seminar",
    "Seminars": "Seminar",
    "Distinguished Lectures": "Distinguished Lecture",
    "Colloquia": "Colloquium",
    "Workshops": "Workshop",
    "Tutorials": "Tutorial",
    "Dissertation Defense": "PhD Defense",
    "Receptions & Special Events": "Reception",
    "Socials": "Social",
    "Reading Group": "Reading Group",
}
DEPARTMENTS = [
    "Electrical & Computer Engineering",
    "Computer Science",
    "Mechanical Engineering",
    "Physics",
    "Chemistry",
    "Mathematics",
    "Biology",
    "Linguistics",
    "History",
    "Music",
    "Philosophy",
    "Earth Sciences",
]
FIRST = [
    "Ana", "José", "Zoë", "Łukasz", "Søren", "François", "Mei", "Amara", "Hiroshi", "Priya",
    "Björn", "Chiara", "Oluwaseun", "Dmitri", "Inés", "Kwame", "Noémie", "Rafael", "Yuki", "Anaïs",
    "Sebastián", "Fatima", "Tomás", "Elif", "David", "Sarah", "Michael", "Emily", "Wei", "Hannah",
]  # fmt: skip
LAST = [
    "García", "Núñez", "Müller", "Żółkowski", "Ødegård", "Côté", "Chen", "Okafor", "Tanaka",
    "Raman", "Johansson", "Ricci", "Adeyemi", "Volkov", "Peña", "Mensah", "Lefèvre", "Silva",
    "Sato", "Schröder", "Smith", "Nguyen", "Kim", "Patel", "Brown", "Erdős", "Wójcik", "Haddad",
]  # fmt: skip
INSTITUTIONS = [
    "Stanford University", "ETH Zürich", "Universidad de São Paulo", "MIT", "University of Tokyo",
    "Université de Montréal", "Technische Universität München", "University of Cape Town",
    "Tsinghua University", "University of Washington", "KTH Stockholm", "Caltech",
    "Sorbonne Université", "IIT Bombay", "University of Michigan",
]  # fmt: skip
POSITIONS = [
    "Assistant Professor", "Associate Professor", "Professor", "Research Scientist",
    "Postdoctoral Fellow", "PhD Candidate", "Senior Researcher",
]  # fmt: skip
TOPICS = [
    "Learning-Based Control of Power Grids", "Quantum Error Correction at Scale",
    "Robust Perception for Autonomous Vehicles", "Low-Power Neuromorphic Circuits",
    "Verified Compilers for Smart Contracts", "Protein Folding with Diffusion Models",
    "Climate Signals in Antarctic Ice Cores", "Topological Phases of Matter",
    "Fairness in Large Language Models", "Soft Robotics for Minimally Invasive Surgery",
    "The Economics of Open-Source Software", "Schrödinger Bridges and Optimal Transport",
    "Medieval Trade Networks of the Hanseatic League", "Poincaré Duality in Modern Geometry",
    "Catalysis for Green Hydrogen", "Privacy-Preserving Federated Analytics",
    "6G Wireless and Reconfigurable Surfaces", "Microbiome Dynamics in Coastal Wetlands",
    "Music Cognition and Rhythm Perception", "Sparse Linear Algebra on GPUs",
    "Seismic Hazard in the Cascadia Subduction Zone", "Formal Semantics of Indigenous Languages",
    "Battery Materials Beyond Lithium", "Graph Neural Networks for Chip Placement",
]  # fmt: skip
SERIES = [
    "Weekly Robotics Reading Group", "Theory Lunch", "Quantum Information Seminar Series",
    "Systems Research Group Meeting", "Graduate Student Coffee Hour", "Machine Learning Tea",
    "Astrophysics Journal Club", "Humanities Writing Workshop", "Math Department Colloquium",
    "Women in Engineering Lunch", "Signal Processing Reading Group", "Café Lingüístico",
]  # fmt: skip
BUILDINGS = [
    "Engineering Building", "Gates Hall", "Science Library", "Physics & Astronomy Building",
    "Humanities Center", "Student Union", "Kane Hall", "Allen Center", "Chemistry Annex",
    "Music Building", "Bloedel Hall", "Paccar Hall",
]  # fmt: skip
SENTENCES = [
    "In this talk, I will present {adj} approaches to {topic_l}.",
    "We show that {method} improves {metric} by {n}% on {dataset}, at a fraction of the cost.",
    "Much of the existing work on {topic_l} assumes {assumption}; we revisit this assumption.",
    "Our analysis combines {method} with classical results from {field}.",
    "The resulting framework is {adj}, provably correct and simple to implement.",
    "I will conclude with open problems and directions for {field} over the next decade.",
    "This is joint work with colleagues at {institution} and {institution2}.",
    "Experiments on {dataset} confirm the theory and reveal {adj} behaviour at scale.",
    "Along the way, we revisit a conjecture due to {person} and settle a special case.",
    "The methods apply broadly, from {field} to {field2}.",
]  # fmt: skip
BIO_SENTENCES = [
    "{name} is a {position} at {institution}.",
    "{pronoun} received a PhD from {institution2} and was a postdoctoral fellow at {institution}.",
    "{pronoun_p} research interests span {field}, {field2} and {topic_l}.",
    "{pronoun} is a recipient of the NSF CAREER Award and a Sloan Research Fellowship.",
    "{pronoun_p} work has been featured in Nature, Science and Quanta Magazine.",
    "Before academia, {name_first} spent several years in industry building {adj} systems.",
]  # fmt: skip
WORDS = {
    "adj": ["scalable", "principled", "data-efficient", "robust", "interpretable", "unexpected",
            "energy-aware", "distributed", "adaptive", "élégant"],
    "method": ["stochastic optimization", "convex relaxation", "a new sampling scheme",
               "self-supervised pre-training", "Bayesian inference", "mixed-integer programming",
               "spectral methods", "a two-stage estimator"],
    "metric": ["accuracy", "throughput", "energy efficiency", "sample complexity", "latency"],
    "dataset": ["ImageNet", "real grid data from Québec", "the Kepler survey",
                "ten years of field measurements", "a national health registry"],
    "assumption": ["independent noise", "stationarity", "perfect information",
                   "a centralized coordinator", "unlimited memory"],
    "field": ["control theory", "statistics", "condensed-matter physics", "linguistics",
              "computational biology", "information theory", "economics", "history of science"],
}  # fmt: skip

VTIMEZONE = """BEGIN:VTIMEZONE
TZID:America/Los_Angeles
X-LIC-LOCATION:America/Los_Angeles
BEGIN:DAYLIGHT
TZOFFSETFROM:-0800
TZOFFSETTO:-0700
TZNAME:PDT
DTSTART:19700308T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:-0700
TZOFFSETTO:-0800
TZNAME:PST
DTSTART:19701101T020000
RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU
END:STANDARD
END:VTIMEZONE
""".replace("\n", "\r\n")


def _ascii(name: str) -> str:
    """ "Ødegård" -> "odegard": for e-mail addresses."""
    name = name.translate({ord("Ø"): "O", ord("ø"): "o", ord("Ł"): "L", ord("ł"): "l"})
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()


@dataclass(frozen=True)
class Person:
    first: str
    last: str
    position: str
    institution: str

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


class Generator:
    """Deterministic event text: every choice comes from one ``random.Random(42)``."""

    def __init__(self, rng: random.Random, today: date) -> None:
        self.rng = rng
        self.today = today
        self.categories = list(CATEGORIES)
        self.weights = list(CATEGORIES.values())

    def person(self) -> Person:
        r = self.rng
        return Person(r.choice(FIRST), r.choice(LAST), r.choice(POSITIONS), r.choice(INSTITUTIONS))

    def _fill(self, template: str, person: Person, topic: str) -> str:
        r = self.rng
        she = r.random() < 0.5
        values = {k: r.choice(v) for k, v in WORDS.items()}
        values.update(
            field2=r.choice(WORDS["field"]),
            topic_l=topic.lower(),
            n=r.randint(3, 60),
            institution=person.institution,
            institution2=r.choice(INSTITUTIONS),
            person=f"{r.choice(FIRST)} {r.choice(LAST)}",
            name=person.name,
            name_first=person.first,
            position=person.position.lower(),
            pronoun="She" if she else "He",
            pronoun_p="Her" if she else "His",
        )
        return template.format(**values)

    def _paragraph(self, templates: Sequence[str], length: int, person: Person, topic: str) -> str:
        text = ""
        for _ in range(40):  # bounded; the sentences are ~60-120 characters
            if len(text) >= length:
                break
            text += (" " if text else "") + self._fill(self.rng.choice(templates), person, topic)
        if len(text) > length:
            text = text[:length].rsplit(" ", 1)[0].rstrip(",;") + "."
        return text

    def description(self, person: Person, host: Person, topic: str, zoom: str | None) -> str:
        target = self.rng.randint(600, 1500)
        head = f"Speaker: {person.name}, {person.position}, {person.institution}"
        tail = f"Host: {host.name}, {self.rng.choice(DEPARTMENTS)}"
        if zoom:
            tail += f"\n\nJoin on Zoom: {zoom}\nMeeting ID: {zoom.rsplit('/', 1)[1][:11]}"
        room = target - len(head) - len(tail) - len("\n\nAbstract: \n\nBio: \n\n")
        abstract = self._paragraph(SENTENCES, max(200, room * 7 // 10), person, topic)
        bio = self._paragraph(BIO_SENTENCES, max(100, room - len(abstract)), person, topic)
        text = f"{head}\n\nAbstract: {abstract}\n\nBio: {bio}\n\n{tail}"
        return text[:1500]

    def zoom(self) -> str:
        return f"https://zoom.us/j/{self.rng.randint(10**10, 10**11 - 1)}"

    def location(self, zoom: str | None) -> str:
        room = f"{self.rng.choice(BUILDINGS)} {self.rng.randint(100, 499)}"
        if zoom is None:
            return room
        return "Zoom (link in description)" if self.rng.random() < 0.5 else f"{room} and Zoom"

    def start(self, first_day: int, last_day: int) -> datetime:
        r = self.rng
        day = self.today + timedelta(days=r.randint(first_day, last_day))
        return datetime(
            day.year, day.month, day.day, r.randint(8, 18), r.choice((0, 15, 30, 45)), tzinfo=ZONE
        )

    def event(self, source: int, n: int, stamp: datetime) -> list[icalendar.Event]:
        """One event: a single VEVENT, or a weekly series plus its RECURRENCE-ID override."""
        r = self.rng
        recurring = n % 10 == 0  # 10% of the events
        if recurring:  # series are mostly reading groups, seminars and socials
            category = r.choice(("Reading Group", "Seminars", "Socials", "Colloquia"))
        else:
            category = r.choices(self.categories, self.weights)[0]
        person, host = self.person(), self.person()
        topic = r.choice(TOPICS)
        zoom = self.zoom() if r.random() < 0.25 else None
        if recurring:
            summary = r.choice(SERIES)
            start = self.start(-60, 200)
        else:
            summary = f"{KIND_OF[category]}: {topic}"
            if category == "Dissertation Defense":
                summary = f"PhD Defense: {person.name} — {topic}"
            start = self.start(-60, 300)
        minutes = r.choice((50, 60, 60, 75, 90, 120, 180))
        event = icalendar.Event()
        uid = f"src{source:02d}-{n:05d}@events.bench.example.edu"
        event.add("UID", uid)
        event.add("DTSTAMP", stamp)
        event.add("DTSTART", start)
        event.add("DTEND", start + timedelta(minutes=minutes))
        event.add("SUMMARY", summary)
        event.add("DESCRIPTION", self.description(person, host, topic, zoom))
        event.add("LOCATION", self.location(zoom))
        categories = [category] + ([r.choice(UNMAPPED)] if r.random() < 0.15 else [])
        event.add("CATEGORIES", categories)
        event.add("URL", f"https://events.bench.example.edu/event/{source:02d}{n:05d}")
        email = f"{_ascii(host.first)}.{_ascii(host.last)}@bench.example.edu"
        event.add("ORGANIZER", f"mailto:{email}", parameters={"CN": host.name})
        event.add("STATUS", "CONFIRMED")
        event.add("CLASS", "PUBLIC")
        event.add("SEQUENCE", r.choice((0, 0, 0, 1, 2)))
        event.add("LAST-MODIFIED", stamp - timedelta(days=r.randint(1, 90)))
        if not recurring:
            return [event]
        ending = r.choice(("count", "until", "open"))
        weeks = r.randint(8, 20)
        rule: dict[str, Any] = {"FREQ": "WEEKLY"}
        if ending == "count":
            rule["COUNT"] = weeks
        elif ending == "until":
            rule["UNTIL"] = (start + timedelta(weeks=weeks - 1, hours=1)).astimezone(UTC)
        event.add("RRULE", rule)
        event.add("EXDATE", start + timedelta(weeks=2))
        original = start + timedelta(weeks=4)
        override = icalendar.Event()
        override.add("UID", uid)
        override.add("DTSTAMP", stamp)
        override.add("RECURRENCE-ID", original)
        moved = original + timedelta(hours=r.choice((1, 2, 24)))
        override.add("DTSTART", moved)
        override.add("DTEND", moved + timedelta(minutes=minutes))
        override.add("SUMMARY", f"{summary} (rescheduled)")
        override.add("DESCRIPTION", self.description(person, host, topic, zoom))
        override.add("LOCATION", self.location(None))
        override.add("CATEGORIES", [category])
        override.add("SEQUENCE", 1)
        override.add("LAST-MODIFIED", stamp - timedelta(days=1))
        return [event, override]


def generate(root: Path, sources: int, events: int, serve_port: int, today: date) -> dict:
    """Write the .ics files to root/upstream and the feeds folder to root/feeds."""
    rng = random.Random(42)
    gen = Generator(rng, today)
    upstream, feeds = root / "upstream", root / "feeds"
    (feeds / "sources").mkdir(parents=True, exist_ok=True)
    upstream.mkdir(parents=True, exist_ok=True)
    stamp = datetime.combine(today, datetime.min.time(), UTC) - timedelta(hours=1)
    vevents = 0
    for s in range(sources):
        calendar = icalendar.Calendar()
        calendar.add("PRODID", "-//Bench University//Events Calendar 1.0//EN")
        calendar.add("VERSION", "2.0")
        calendar.add("CALSCALE", "GREGORIAN")
        calendar.add("METHOD", "PUBLISH")
        calendar.add("X-WR-CALNAME", f"{DEPARTMENTS[s % len(DEPARTMENTS)]} events ({s:02d})")
        calendar.add_component(icalendar.Timezone.from_ical(VTIMEZONE))
        for n in range(events):
            for component in gen.event(s, n, stamp):
                calendar.add_component(component)
                vevents += 1
        (upstream / f"src-{s:02d}.ics").write_bytes(calendar.to_ical())
    site = [
        'title = "Bench University Events"',
        f'base_url = "http://{HOST}:{serve_port}"',
        f'timezone = "{TZ}"',
        "",
        "[fetch]",
        'allow_networks = ["127.0.0.0/8"]  # the upstream is python -m http.server on 127.0.0.1',
        "",
    ]
    for slug, name, description in CALENDARS:
        site += ["[[calendars]]", f'slug = "{slug}"', f'name = "{name}"']
        site += [f'description = "{description}"', ""]
    for slug, name, aliases in TYPES:
        site += ["[[types]]", f'slug = "{slug}"', f'name = "{name}"']
        site += ["aliases = [" + ", ".join(f'"{a}"' for a in aliases) + "]", ""]
    (feeds / "site.toml").write_text("\n".join(site), encoding="utf-8")
    return {"vevents": vevents}


def write_sources(feeds: Path, sources: int, upstream_port: int) -> list[str]:
    ids = []
    for s in range(sources):
        source_id = f"src-{s:02d}"
        text = (
            f'name = "{DEPARTMENTS[s % len(DEPARTMENTS)]} ({s:02d})"\n'
            'kind = "ics"\n'
            f'url = "http://{HOST}:{upstream_port}/{source_id}.ics"\n'
            f'calendar = "{CALENDARS[s % len(CALENDARS)][0]}"\n'
            'refresh = "1h"\n\n'
            "[categories]\n"
            '"Reading Group" = "seminar"\n'
        )
        (feeds / "sources" / f"{source_id}.toml").write_text(text, encoding="utf-8")
        ids.append(source_id)
    return ids


# ---------------------------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------------------------


class Processes:
    """Every process the benchmark starts, each in its own session (process group), so that
    stopping one also stops its children (gunicorn's workers)."""

    def __init__(self) -> None:
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self, command: Sequence[str | os.PathLike[str]], log: Path) -> subprocess.Popen:
        env = dict(os.environ, NO_PROXY=HOST, no_proxy=HOST, PYTHONUNBUFFERED="1")
        with open(log, "ab") as out:
            process = subprocess.Popen(
                [str(c) for c in command],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        self.started.append(process)
        return process

    def stop(self, process: subprocess.Popen) -> None:
        if process.returncode is None and process.poll() is None:
            process.terminate()  # gunicorn's master stops its workers on SIGTERM
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                _kill_group(process.pid)
                process.wait(5)
        _kill_group(process.pid)  # anything of its group still alive (an orphaned worker)

    def stop_all(self) -> None:
        for process in reversed(self.started):
            try:
                self.stop(process)
            except Exception as e:  # keep stopping the others
                print(f"warning: could not stop process {process.pid}: {e}", file=sys.stderr)


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run_timed(
    processes: Processes, command: Sequence[str | os.PathLike[str]], log: Path, limit: float
) -> tuple[float, int, float, float]:
    """Run a command to completion: (wall seconds, exit status, peak RSS in MiB, CPU seconds
    of the command and of the children it waited for, e.g. refresh's worker processes)."""
    begin = time.perf_counter()
    process = processes.start(command, log)
    deadline = begin + limit
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            processes.stop(process)
            raise RuntimeError(f"{command[0]} … took more than {limit:.0f} s; see {log}")
        time.sleep(0.002)
    wall = time.perf_counter() - begin
    process.returncode = os.waitstatus_to_exitcode(status)
    return wall, process.returncode, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def cpu_seconds() -> float:
    """CPU time of this process and of the children it has waited for (pool workers)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def parse_file(path: str) -> int:
    """A worker of bare_parse_in_pool: the bare parse of one file."""
    return len(icalendar.Calendar.from_ical(Path(path).read_bytes()).subcomponents)


def bare_parse_in_pool(files: Sequence[Path], workers: int) -> tuple[float, float]:
    """(wall, CPU) seconds of parsing the files in a spawn process pool of ``workers``
    processes, as refresh() parses sources: the same parallelism as the ingest figure."""
    cpu, begin = cpu_seconds(), time.perf_counter()
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=spawn) as pool:
        list(pool.map(parse_file, [str(f) for f in files]))
    return time.perf_counter() - begin, cpu_seconds() - cpu


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_http(url: str, process: subprocess.Popen, log: Path, limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the server exited ({process.returncode}); see {log}")
        try:
            if requests.get(url, timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {limit:.0f} s; see {log}")


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        found.extend(int(x) for x in task.read_text().split())
    return sorted(set(found))


def proc_status(pid: int) -> dict[str, float]:
    """VmHWM and VmRSS of a process, in MiB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            values[key] = int(rest.split()[0]) / 1024
    return values


def socket_owner(server_port: int, client_port: int, pids: Sequence[int]) -> int | None:
    """Which of ``pids`` holds the server side of the TCP connection from ``client_port``."""
    local, remote = f"0100007F:{server_port:04X}", f"0100007F:{client_port:04X}"
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == local and fields[2] == remote:
            inode = fields[9]
            break
    if inode is None or inode == "0":
        return None
    target = f"socket:[{inode}]"
    for pid in pids:
        try:
            for fd in os.scandir(f"/proc/{pid}/fd"):
                try:
                    if os.readlink(fd.path) == target:
                        return pid
                except OSError:
                    continue
        except OSError:
            continue
    return None


def connection_to(port: int, worker: int, workers: Sequence[int]) -> http.client.HTTPConnection:
    """A keep-alive connection that the given gunicorn worker accepted."""
    for _ in range(60):
        connection = http.client.HTTPConnection(HOST, port, timeout=60)
        connection.connect()
        client_port = connection.sock.getsockname()[1]
        owner = None
        deadline = time.monotonic() + 1.0
        while owner is None and time.monotonic() < deadline:
            owner = socket_owner(port, client_port, workers)
            if owner is None:
                time.sleep(0.002)
        if owner == worker:
            return connection
        connection.close()
    raise RuntimeError(f"could not get a connection accepted by worker {worker}")


# ---------------------------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------------------------


def p50(samples: Sequence[float]) -> float:
    return statistics.median(samples)


def p95(samples: Sequence[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


CHUNK = 64 * 1024


@dataclass
class Reply:
    seconds: float
    status: int
    headers: Any
    size: int  # body bytes as sent (not decompressed)
    body: bytes = b""  # only with keep=True


def _drain(read: Callable[[int], bytes], keep: bool) -> tuple[int, list[bytes]]:
    # Fixed-size reads: one multi-MB bytes object per response would be fresh memory for the
    # client to page-fault every time (~4 ms per 1.6 MB on this sandboxed machine, depending on
    # malloc's state), charged to the server's figure. 64 KiB chunks reuse the same memory.
    size, kept = 0, []
    while chunk := read(CHUNK):
        size += len(chunk)
        if keep:
            kept.append(chunk)
    return size, kept


def get(
    session: requests.Session,
    url: str,
    headers: dict[str, str] | None = None,
    *,
    keep: bool = False,
) -> Reply:
    """One timed GET on the keep-alive session, reading the body as sent on the wire."""
    begin = time.perf_counter()
    response = session.get(url, headers=headers, stream=True, timeout=120)
    size, kept = _drain(lambda n: response.raw.read(n, decode_content=False), keep)
    seconds = time.perf_counter() - begin
    return Reply(seconds, response.status_code, response.headers, size, b"".join(kept))


def get_on(connection: http.client.HTTPConnection, path: str, headers: dict[str, str]) -> Reply:
    """One timed GET on a plain http.client connection (one that a known worker accepted)."""
    begin = time.perf_counter()
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    size, _ = _drain(response.read, False)
    seconds = time.perf_counter() - begin
    return Reply(seconds, response.status, response.headers, size)


def vevents(body: bytes) -> int:
    return body.count(b"BEGIN:VEVENT\r\n")


def calibrate(
    config: feedserver.config.Config, store: Store, today: date, requests_: int
) -> tuple[str, str, date, int, int]:
    """Pick a calendar, a type and a window length whose feed has ~1,000 VEVENTs, for windows
    starting on each of the ``requests_`` days from today - 30 on."""
    first = today - timedelta(days=30)

    def count(slug: str, type_: str, days: int) -> int:
        args = {"type": [type_], "from": [first.isoformat()]}
        args["to"] = [(first + timedelta(days=days - 1)).isoformat()]
        q = feedserver.query.parse("calendars", slug, args, config, today)
        return sum(vevents(e.body) for e in store.select(q.selection(config.timezone)))

    best: tuple[int, str, str, int, int] | None = None
    longest = max(7, min(330 - requests_, config.setting("feeds.max_days")))
    for slug, _, _ in CALENDARS[:1]:
        for type_, _, _ in TYPES:
            low, high = 1, longest
            for _ in range(12):  # binary search on the window length
                if low >= high:
                    break
                middle = (low + high) // 2
                if count(slug, type_, middle) < 1000:
                    low = middle + 1
                else:
                    high = middle
            n = count(slug, type_, low)
            score = abs(n - 1000)
            if best is None or score < best[0]:
                best = (score, slug, type_, low, n)
    assert best is not None
    _, slug, type_, days, n = best
    return slug, type_, first, days, n


@dataclass
class Figure:
    name: str
    value: float | None
    unit: str
    target: str = ""
    ok: bool | None = None
    note: str = ""

    def shown(self) -> str:
        if self.value is None:
            return "—"
        if self.unit == "ms":
            return f"{self.value:.1f} ms" if self.value < 100 else f"{self.value:.0f} ms"
        if self.unit == "s":
            return f"{self.value:.2f} s"
        if self.unit == "x":
            return f"{self.value:.2f}×"
        if self.unit == "MiB":
            return f"{self.value:.1f} MiB"
        if self.unit == "MB":
            return f"{self.value:.2f} MB"
        return f"{self.value:g} {self.unit}".strip()


class Report:
    def __init__(self) -> None:
        self.figures: list[Figure] = []

    def add(self, name: str, value: float | None, unit: str, target: str = "", **kw: Any) -> None:
        figure = Figure(name, value, unit, target, **kw)
        self.figures.append(figure)
        mark = {True: "ok", False: "MISSED", None: ""}[figure.ok]
        line = f"  {name:<52} {figure.shown():>12}"
        if target:
            line += f"   target {target} {mark}"
        if figure.note:
            line += f"   ({figure.note})"
        print(line, flush=True)

    def table(self) -> None:
        width = max(len(f.name) for f in self.figures)
        print()
        print(f"{'figure':<{width}}  {'value':>12}  {'target':<10}  result")
        print("-" * (width + 34))
        for f in self.figures:
            mark = {True: "ok", False: "MISSED", None: ""}[f.ok]
            print(f"{f.name:<{width}}  {f.shown():>12}  {f.target:<10}  {mark}")

    def markdown(self) -> None:
        print()
        print("| figure | value | target |")
        print("| --- | ---: | --- |")
        for f in self.figures:
            target = f.target + (" ✗" if f.ok is False else " ✓" if f.ok else "")
            name = f.name + (f" ({f.note})" if f.note else "")
            print(f"| {name} | {f.shown()} | {target.strip()} |")


def machine_facts() -> list[str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return [
        f"nproc {len(os.sched_getaffinity(0))} ({cpu}), {platform.system()} {platform.release()}",
        f"Python {platform.python_version()} ({platform.python_implementation()}), "
        f"SQLite {sqlite3.sqlite_version}, feedserver {feedserver.__version__}, "
        f"icalendar {icalendar.__version__}",
    ]


# ---------------------------------------------------------------------------------------------
# Profiling (--profile)
# ---------------------------------------------------------------------------------------------


class _SerialExecutor:
    """Stands in for the worker pool while profiling: cProfile only sees its own thread."""

    def __init__(self, *_: Any, **__: Any) -> None:
        pass

    def __enter__(self) -> _SerialExecutor:
        return self

    def __exit__(self, *_: Any) -> None:
        return None

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as e:  # noqa: BLE001  (handed to the caller, as a pool would)
            future.set_exception(e)
        return future


def print_profile(profile: cProfile.Profile, title: str, lines: int = 25) -> pstats.Stats:
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    stats.strip_dirs().sort_stats("cumulative").print_stats(lines)
    print(f"\n== profile: {title} (top {lines} by cumulative time) ==")
    text = out.getvalue()
    start = text.find("   ncalls")
    print(text[start:].rstrip() if start >= 0 else text.rstrip())
    return stats


def stage_times(stats: pstats.Stats, names: dict[str, tuple[str, str]]) -> None:
    """Cumulative seconds of a few functions: label -> (file suffix, function name)."""
    table = stats.stats  # type: ignore[attr-defined]
    parts = []
    for label, (suffix, function) in names.items():
        total = sum(
            entry[3]
            for (file, _, name), entry in table.items()
            if name == function and file.endswith(suffix)
        )
        parts.append(f"{label} {total:.2f} s")
    print("stages (cumulative, overlapping): " + ", ".join(parts))


def stage_breakdown(feeds: Path, data: Path, ids: list[str], bare: float) -> None:
    """A serial in-process refresh with a timer around each stage (no profiler overhead)."""
    import feedserver.content as content_module
    import feedserver.details as details_module
    import feedserver.normalize as normalize_module
    from feedserver.sources import KINDS

    totals: dict[str, float] = {}

    def timed(label: str, function: Callable[..., Any]) -> Callable[..., Any]:
        totals[label] = 0.0

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            begin = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                totals[label] += time.perf_counter() - begin

        return wrapper

    config = feedserver.config.load(feeds, data)
    store = Store(config.store_path)
    refresh_module = feedserver.refresh
    with ExitStack() as patches:
        patches.enter_context(
            mock.patch.object(refresh_module, "_pool", lambda workers: _SerialExecutor())
        )
        for module, name, label in (
            (refresh_module, "fetch_pages", "fetch"),
            (refresh_module, "normalize", "normalize"),
            (normalize_module, "occurrences", "occurrences"),
            (normalize_module, "serialize", "serialize"),
            (content_module, "enrich", "enrich"),
            (details_module, "columns", "columns"),
            (Store, "ingest", "store"),
        ):
            wrapped = timed(label, getattr(module, name))
            patches.enter_context(mock.patch.object(module, name, wrapped))
        ics = KINDS["ics"]
        patches.enter_context(
            mock.patch.dict(KINDS, {"ics": replace(ics, parse=timed("parse", ics.parse))})
        )
        begin = time.perf_counter()
        feedserver.refresh.refresh(config, store, only=ids)
        total = time.perf_counter() - begin
    store.close()
    t = totals
    rest = t["normalize"] - t["occurrences"] - t["serialize"] - t["enrich"] - t["columns"]
    other = total - t["fetch"] - t["parse"] - t["normalize"] - t["store"]
    print(f"\n== stages of a serial in-process refresh, no profiler: {total:.1f} s ==")
    rows = [
        ("fetch (HTTP from 127.0.0.1)", t["fetch"], ""),
        ("parse (ics adapter)", t["parse"], f"bare from_ical: {bare:.2f} s"),
        ("normalize", t["normalize"], ""),
        ("  event content (content.enrich)", t["enrich"], ""),
        ("  filter and page facts (details.columns)", t["columns"], ""),
        ("  serialize (normalize.serialize)", t["serialize"], ""),
        ("  occurrences (series expansion)", t["occurrences"], ""),
        ("  the rest (zones, types, hashes)", rest, ""),
        ("store.ingest (SQLite)", t["store"], ""),
        ("other", other, ""),
    ]
    for label, seconds, note in rows:
        print(f"  {label:<44} {seconds:6.2f} s" + (f"   ({note})" if note else ""))


def profile_refresh(feeds: Path, data: Path, ids: list[str]) -> None:
    config = feedserver.config.load(feeds, data)
    store = Store(config.store_path)
    profile = cProfile.Profile()
    with mock.patch.object(feedserver.refresh, "_pool", lambda workers: _SerialExecutor()):
        begin = time.perf_counter()
        profile.enable()
        feedserver.refresh.refresh(config, store, only=ids)
        profile.disable()
        seconds = time.perf_counter() - begin
    store.close()
    stats = print_profile(profile, f"in-process refresh, serial, {seconds:.1f} s under cProfile")
    stage_times(
        stats,
        {
            "fetch": ("fetch.py", "fetch_url"),
            "parse (ics adapter)": ("ics.py", "parse"),
            "normalize": ("normalize.py", "normalize"),
            "  of which occurrences": ("normalize.py", "occurrences"),
            "  of which Component.to_ical": ("component.py", "to_ical"),
            "store.ingest": ("store.py", "ingest"),
        },
    )


FEED_STAGES = {
    "store.select": ("store.py", "select"),
    "render.calendar": ("render.py", "calendar"),
    "render.header": ("render.py", "header"),
    "Rendered (sha256)": ("cache.py", "__post_init__"),
}
CALENDAR_STAGES = {
    "counted (the grid: selection.day_spans)": ("calendar.py", "counted"),
    "day_events (the day: matches, facts)": ("calendar.py", "day_events"),
    "render_template": ("templating.py", "render_template"),
    "Rendered (sha256)": ("cache.py", "__post_init__"),
}


def profile_first_render(
    feeds: Path, data: Path, paths: list[str], stages: dict[str, tuple[str, str]]
) -> None:
    from feedserver.app import create_app

    app = create_app({"FEEDS": feeds, "DATA": data})
    client = app.test_client()
    client.get(paths[0])  # warm imports and the first connection
    profile = cProfile.Profile()
    begin = time.perf_counter()
    profile.enable()
    for path in paths[1:]:
        response = client.get(path, headers={"Accept-Encoding": "identity"})
        assert response.status_code == 200, response.status_code
    profile.disable()
    each = (time.perf_counter() - begin) / max(1, len(paths) - 1) * 1000
    title = f"first render via test_client, {len(paths) - 1} requests, {each:.1f} ms each"
    stats = print_profile(profile, title)
    stage_times(stats, stages)


# ---------------------------------------------------------------------------------------------
# The benchmark
# ---------------------------------------------------------------------------------------------


@contextmanager
def workdir(keep: Path | None) -> Iterator[Path]:
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
        return
    root = Path(tempfile.mkdtemp(prefix="feedserver-bench-"))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def feedserver_command() -> list[str]:
    script = Path(sys.executable).parent / "feedserver"
    return [str(script)] if script.exists() else [sys.executable, "-m", "feedserver"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", type=int, default=20, help="number of sources (20)")
    parser.add_argument("--events", type=int, default=1000, help="events per source (1000)")
    parser.add_argument("--requests", type=int, default=30, help="requests per figure (30)")
    parser.add_argument("--keep", type=Path, help="work in DIR and keep it (default: a temp dir)")
    parser.add_argument("--profile", action="store_true", help="also print cProfile summaries")
    parser.add_argument(
        "--calendar-only",
        action="store_true",
        help="one ingest, then only the calendar page's figures (and memory)",
    )
    args = parser.parse_args(argv)
    if not (1 <= args.sources <= 200 and 10 <= args.events <= 20000 and 3 <= args.requests <= 1000):
        parser.error("use 1-200 sources, 10-20000 events and 3-1000 requests")

    # SIGTERM ends the benchmark like Ctrl-C does: through the finally blocks.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    processes = Processes()
    try:
        with workdir(args.keep) as root:
            return run(args, root, processes)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    finally:
        processes.stop_all()


def run(args: argparse.Namespace, root: Path, processes: Processes) -> int:
    report = Report()
    n = args.requests
    fs = feedserver_command()
    logs = root / "logs"
    logs.mkdir(exist_ok=True)
    today = datetime.now(ZONE).date()
    upstream_port, serve_port = free_port(), free_port()
    print("feedserver benchmark")
    for fact in machine_facts():
        print("  " + fact)
    print(f"  work dir {root}")

    # 1. data ---------------------------------------------------------------------------------
    print(f"\n[1] generating {args.sources} sources × {args.events} events …", flush=True)
    begin = time.perf_counter()
    generated = generate(root, args.sources, args.events, serve_port, today)
    feeds, upstream = root / "feeds", root / "upstream"
    ids = write_sources(feeds, args.sources, upstream_port)
    files = sorted(upstream.glob("src-*.ics"))
    size = sum(f.stat().st_size for f in files)
    print(
        f"  {len(files)} files, {size / 1e6:.1f} MB, {generated['vevents']} VEVENTs "
        f"({args.sources * args.events} events + overrides) in {time.perf_counter() - begin:.1f} s"
    )

    # 2. upstream server ----------------------------------------------------------------------
    print(f"\n[2] serving the files: python -m http.server on {HOST}:{upstream_port}", flush=True)
    log = logs / "upstream.log"
    server = processes.start(
        [sys.executable, "-m", "http.server", "--bind", HOST, str(upstream_port)]
        + ["--directory", str(upstream)],
        log,
    )
    wait_http(f"http://{HOST}:{upstream_port}/{files[0].name}", server, log)

    # 3. ingest -------------------------------------------------------------------------------
    print("\n[3] ingest", flush=True)
    data_cli, data_inproc = root / "data-cli", root / "data-inproc"
    for d in (data_cli, data_inproc):
        shutil.rmtree(d, ignore_errors=True)
    command = [*fs, "--feeds", feeds, "--data", data_cli, "refresh", "--all"]
    wall, status, rss, wall_cpu = run_timed(processes, command, logs / "refresh-1.log", 900)
    output = (logs / "refresh-1.log").read_text(errors="replace")
    updated = output.count(" updated ")
    if status != 0 or updated != len(ids):
        print(output[-3000:])
        raise RuntimeError(f"refresh --all exited {status}, {updated}/{len(ids)} updated")

    if args.calendar_only:  # the store the server reads, and no ingest figures
        store = Store(feedserver.config.load(feeds, data_cli).store_path)
        stored = store.count_events()
        store.close()
        print(f"  {stored} events stored; refresh peak RSS {rss:.0f} MiB")
        report.add("refresh --all (subprocess, wall)", wall, "s", note=f"CPU {wall_cpu:.1f} s")
        slug, type_, first, days = CALENDARS[0][0], TYPES[0][0], today, 1  # no feed figures
    else:
        config = feedserver.config.load(feeds, data_inproc)
        store = Store(config.store_path)
        cpu, begin = cpu_seconds(), time.perf_counter()
        outcomes = feedserver.refresh.refresh(config, store, only=ids)
        inproc, inproc_cpu = time.perf_counter() - begin, cpu_seconds() - cpu
        pool_size = max(1, min(config.setting("fetch.concurrency"), len(ids)))
        stored = store.count_events()
        store.close()
        if any(o.status != "updated" for o in outcomes):
            raise RuntimeError(f"in-process refresh: {[(o.source.id, o.error) for o in outcomes]}")

        bodies = [f.read_bytes() for f in files]
        bare_runs = []
        for _ in range(3):
            cpu, begin = time.process_time(), time.perf_counter()
            for body in bodies:
                icalendar.Calendar.from_ical(body)
            bare_runs.append((time.perf_counter() - begin, time.process_time() - cpu))
        bare, bare_cpu = min(bare_runs)
        del bodies
        pooled, pooled_cpu = min(bare_parse_in_pool(files, pool_size) for _ in range(3))

        wall2, status2, _, _ = run_timed(processes, command, logs / "refresh-2.log", 300)
        output2 = (logs / "refresh-2.log").read_text(errors="replace")
        unchanged = output2.count(" unchanged ")
        print(f"  {stored} events stored; refresh peak RSS {rss:.0f} MiB")
        cores = len(os.sched_getaffinity(0))
        report.add("refresh --all (subprocess, wall)", wall, "s", note=f"CPU {wall_cpu:.1f} s")
        report.add("refresh() in-process", inproc, "s", note=f"CPU {inproc_cpu:.1f} s")
        note = f"CPU {bare_cpu:.1f} s"
        report.add("bare Calendar.from_ical, one process (best of 3)", bare, "s", note=note)
        note = f"CPU {pooled_cpu:.1f} s"
        title = f"bare parse in a pool like refresh's ({pool_size} processes)"
        report.add(title, pooled, "s", note=note)
        # The target compares ingest, which parses in `pool_size` processes on `cores` cores,
        # with a parse in one process; the two lines after it compare like with like.
        ratio_cli, ratio_inproc = wall / bare, inproc / bare
        note = f"ingest in {pool_size} processes on {cores} cores, parse in one"
        report.add(
            "ingest / bare parse, subprocess",
            ratio_cli,
            "x",
            "≤ 1.5×",
            ok=ratio_cli <= 1.5,
            note=note,
        )
        report.add(
            "ingest / bare parse, in-process",
            ratio_inproc,
            "x",
            "≤ 1.5×",
            ok=ratio_inproc <= 1.5,
            note=note,
        )
        report.add("ingest / bare parse, both in the same pool", wall / pooled, "x")
        report.add("ingest / bare parse, CPU seconds", wall_cpu / bare_cpu, "x")
        note = f"{unchanged}/{len(ids)} unchanged, exit {status2}"
        ok2 = wall2 <= 2.0 and unchanged == len(ids) and status2 == 0
        report.add("second refresh --all (all 304)", wall2, "s", "≤ 2 s", ok=ok2, note=note)

        # calibrate the filtered feed on the store the server will read
        config = feedserver.config.load(feeds, data_cli)
        store = Store(config.store_path)
        slug, type_, first, days, _ = calibrate(config, store, today, n)
        store.close()

    def filtered(i: int) -> str:
        start = first + timedelta(days=i)
        end = start + timedelta(days=days - 1)
        return f"/calendars/{slug}.ics?type={type_}&from={start.isoformat()}&to={end.isoformat()}"

    # 4. serve --------------------------------------------------------------------------------
    print(f"\n[4] serve (gunicorn, 2 workers × 4 threads, port {serve_port})", flush=True)
    log = logs / "serve.log"
    master = processes.start(
        [*fs, "--feeds", feeds, "--data", data_cli, "serve", "--port", str(serve_port)]
        + ["--workers", "2", "--no-refresh"],
        log,
    )
    base = f"http://{HOST}:{serve_port}"
    wait_http(base + "/healthz", master, log)
    workers: list[int] = []
    deadline = time.monotonic() + 30
    while len(workers) < 2 and time.monotonic() < deadline:
        workers = children(master.pid)
        time.sleep(0.05)
    if len(workers) != 2:
        raise RuntimeError(f"expected 2 gunicorn workers, found {workers}")
    for worker in workers:  # each worker loads the app itself: make sure both answer
        connection = connection_to(serve_port, worker, workers)
        assert get_on(connection, "/healthz", {}).status == 200
        connection.close()

    session = requests.Session()
    session.trust_env = False
    session.headers["Accept-Encoding"] = "identity"
    get(session, base + "/healthz")  # open the keep-alive connection

    if not args.calendar_only:
        replies = [get(session, base + filtered(i)) for i in range(n)]
        if any(r.status != 200 for r in replies):
            raise RuntimeError(f"filtered feed: statuses {sorted({r.status for r in replies})}")
        first_ms = [r.seconds * 1000 for r in replies]
        # the bodies, untimed (now cache hits): how many VEVENTs each window selected
        counts = [vevents(get(session, base + filtered(i), keep=True).body) for i in range(n)]
        print(
            f"  filtered feed {filtered(0)}: {counts[0]} VEVENTs "
            f"({min(counts)}–{max(counts)} over the {n} windows of {days} days), "
            f"{replies[0].size / 1e6:.2f} MB"
        )
        in_range = 800 <= counts[0] <= 1200
        report.add(
            "filtered feed, first render p50",
            p50(first_ms),
            "ms",
            "≤ 50 ms",
            ok=p50(first_ms) <= 50,
            note=f"{counts[0]} VEVENTs" + ("" if in_range else " — outside 800–1200"),
        )
        report.add("filtered feed, first render p95", p95(first_ms), "ms")

        url = filtered(0)
        for worker in workers:  # warm both workers' caches
            connection = connection_to(serve_port, worker, workers)
            for _ in range(3):
                get_on(connection, url, {"Accept-Encoding": "identity"})
            connection.close()
        hits = [get(session, base + url) for _ in range(n)]
        hit_ms = [r.seconds * 1000 for r in hits]
        etag = hits[0].headers["ETag"]
        if any(r.status != 200 or r.size != replies[0].size for r in hits):
            raise RuntimeError("cache hits: a different status or size than the first render")
        report.add(
            "same feed again (cache hit) p50", p50(hit_ms), "ms", "≤ 5 ms", ok=p50(hit_ms) <= 5
        )
        report.add("same feed again (cache hit) p95", p95(hit_ms), "ms")

        revalidations = [get(session, base + url, {"If-None-Match": etag}) for _ in range(n)]
        if any(r.status != 304 for r in revalidations):
            raise RuntimeError(
                f"If-None-Match: statuses {sorted({r.status for r in revalidations})}"
            )
        ms304 = [r.seconds * 1000 for r in revalidations]
        report.add(
            "304 revalidation (If-None-Match) p50", p50(ms304), "ms", "≤ 3 ms", ok=p50(ms304) <= 3
        )
        report.add("304 revalidation (If-None-Match) p95", p95(ms304), "ms")

        gz = {"Accept-Encoding": "gzip"}
        gzipped = [get(session, base + url, gz) for _ in range(n + 1)]
        if gzipped[0].headers.get("Content-Encoding") != "gzip":
            raise RuntimeError(f"Accept-Encoding: gzip answered with {gzipped[0].headers}")
        ratio = gzipped[0].size / hits[0].size
        report.add("gzip, first request (compresses)", gzipped[0].seconds * 1000, "ms")
        report.add(
            "gzip, repeated p50",
            p50([r.seconds * 1000 for r in gzipped[1:]]),
            "ms",
            note=f"{gzipped[0].size / 1e3:.0f} kB vs {hits[0].size / 1e3:.0f} kB, {ratio:.0%}",
        )

    # the calendar page: a month of every calendar, the heaviest view, then one department's
    # seminars and lectures; each request another day (a page of its own: a first render)
    def month_view(i: int, path: str = "/calendar") -> str:
        day = today + timedelta(days=i)
        return f"{path}?month={day:%Y-%m}&day={day.isoformat()}"

    def department(i: int) -> str:
        day = today + timedelta(days=i)
        return f"/calendar/{slug}?type=lecture,seminar&month={day:%Y-%m}&day={day.isoformat()}"

    for name, view in (("/calendar month", month_view), (f"/calendar/{slug}, 2 types", department)):
        pages = [get(session, base + view(i)) for i in range(n)]
        if any(r.status != 200 for r in pages):
            raise RuntimeError(f"{name}: statuses {sorted({r.status for r in pages})}")
        body = get(session, base + view(0), keep=True).body.decode()  # untimed: a cache hit
        month = re.search(r"(\d+) events? this month", body)
        listed = body.count('<li class="event')
        note = (
            f"{month[1] if month else '?'} events in the month, {listed} on the day, "
            f"{pages[0].size / 1e3:.0f} kB"
        )
        first_page = [r.seconds * 1000 for r in pages]
        report.add(f"{name}, first render p50", p50(first_page), "ms", note=note)
        report.add(f"{name}, first render p95", p95(first_page), "ms")

    url = month_view(0)
    for worker in workers:  # both workers have it cached
        connection = connection_to(serve_port, worker, workers)
        for _ in range(3):
            get_on(connection, url, {"Accept-Encoding": "identity"})
        connection.close()
    page_hits = [get(session, base + url) for _ in range(n)]
    if any(r.status != 200 for r in page_hits):
        raise RuntimeError(f"calendar again: statuses {sorted({r.status for r in page_hits})}")
    report.add(
        "/calendar month again (cache hit) p50",
        p50([r.seconds * 1000 for r in page_hits]),
        "ms",
    )
    page_tag = page_hits[0].headers["ETag"]
    page_304 = [get(session, base + url, {"If-None-Match": page_tag}) for _ in range(n)]
    if any(r.status != 304 for r in page_304):
        raise RuntimeError(f"calendar If-None-Match: {sorted({r.status for r in page_304})}")
    report.add(
        "/calendar month, 304 (If-None-Match) p50",
        p50([r.seconds * 1000 for r in page_304]),
        "ms",
    )

    if not args.calendar_only:
        identity = {"Accept-Encoding": "identity"}
        for number, worker in enumerate(workers, 1):
            connection = connection_to(serve_port, worker, workers)
            reply = get_on(connection, "/all.ics", identity)
            connection.close()
            if reply.status != 200:
                raise RuntimeError(f"/all.ics: status {reply.status}")
            report.add(f"/all.ics first request, worker {number}", reply.seconds * 1000, "ms")
        all_replies = [get(session, base + "/all.ics") for _ in range(n)]
        all_ms = [r.seconds * 1000 for r in all_replies]
        body = get(session, base + "/all.ics", keep=True).body  # untimed: count its events
        report.add(
            "/all.ics repeated p50",
            p50(all_ms),
            "ms",
            note=f"{vevents(body)} VEVENTs, {len(body) / 1e6:.1f} MB",
        )
        report.add("/all.ics size", len(body) / 1e6, "MB")
        del body
        all_gz = get(session, base + "/all.ics", gz)
        report.add("/all.ics gzip size", all_gz.size / 1e6, "MB")

    memory = proc_status(master.pid)
    report.add("server peak memory (VmHWM), master", memory["VmHWM"], "MiB")
    for number, worker in enumerate(workers, 1):
        memory = proc_status(worker)
        note = f"RSS now {memory['VmRSS']:.0f} MiB"
        report.add(
            f"server peak memory (VmHWM), worker {number}", memory["VmHWM"], "MiB", note=note
        )
    session.close()
    processes.stop(master)
    processes.stop(server)  # the profiles below need no upstream once data-cli is ingested

    print("\n== summary ==")
    for fact in machine_facts():
        print(fact)
    print(
        f"{args.sources} sources × {args.events} events ({stored} stored), "
        f"{n} requests per figure, client: one keep-alive requests.Session on {HOST}"
    )
    report.table()
    report.markdown()

    if args.profile and args.calendar_only:
        views = [month_view(n + i) for i in range(21)]
        profile_first_render(feeds, data_cli, views, CALENDAR_STAGES)
    elif args.profile:
        profile_data = root / "data-profile"
        shutil.rmtree(profile_data, ignore_errors=True)
        server = processes.start(
            [sys.executable, "-m", "http.server", "--bind", HOST, str(upstream_port)]
            + ["--directory", str(upstream)],
            logs / "upstream-2.log",
        )
        wait_http(f"http://{HOST}:{upstream_port}/{files[0].name}", server, logs / "upstream-2.log")
        stage_breakdown(feeds, profile_data, ids, bare)
        shutil.rmtree(profile_data, ignore_errors=True)
        profile_refresh(feeds, profile_data, ids)
        processes.stop(server)
        profile_first_render(feeds, data_cli, [filtered(n + i) for i in range(21)], FEED_STAGES)
    return 0


if __name__ == "__main__":
    sys.exit(main())
