"""Admin: one source definition file (``feeds/sources/<id>.toml``) on disk, and its audit log.

What :mod:`feedserver.admin` needs to change a definition safely: a checked id (it becomes a file
name), the TOML text (an edit keeps the old file's comments and layout), strong ETags and
``If-Match`` (RFC 9110 §13.1.1), an atomic write (temporary file, fsync, rename, fsync the
folder) and the append-only ``<data>/audit.log`` with who changed what.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import tomlkit
import tomlkit.exceptions

from feedserver.config import KIND_TABLES, SLUG, SOURCE_KEYS
from feedserver.errors import ConfigError

__all__ = [
    "SETTINGS_TABLES",
    "Actor",
    "AuditLog",
    "Change",
    "Definition",
    "apply_changes",
    "check_id",
    "etag",
    "key_path",
    "matches",
    "render",
    "same",
    "settings_tables",
    "settings_text",
]

ID_RULE = "lowercase letters, digits and '-', 1-63 characters, not starting with '-'"
# The keys a definition is written with, in this order (tables come last in TOML anyway).
KEY_ORDER = tuple(SOURCE_KEYS)
# The tables that hold how a bridged source is read: what a --table-file or the admin page's
# "kind settings" give as TOML text.
SETTINGS_TABLES = ("follow", *KIND_TABLES)

# One change to a definition: a key path (("html", "labels", "Quand")) and its new value;
# None removes the key.
Change = tuple[tuple[str, ...], Any]


def etag(data: bytes) -> str:
    """The strong ETag of a definition: a hash of the file's bytes.

    >>> etag(b"")
    '"e3b0c44298fc1c149afbf4c8996fb924"'
    """
    return '"' + hashlib.sha256(data).hexdigest()[:32] + '"'


def matches(if_match: str | None, current: bytes) -> bool:
    """RFC 9110 §13.1.1 for one representation: ``*`` or any listed strong tag."""
    if if_match is None:
        return True
    tags = [t.strip() for t in if_match.split(",")]
    return "*" in tags or etag(current) in tags


@dataclass(frozen=True)
class Actor:
    """Who made a change, for the audit log."""

    via: str  # "cli" or "api"
    address: str | None = None  # the HTTP client's address
    user: str | None = None  # the OS user running the CLI
    forwarded_for: str | None = None  # X-Forwarded-For as sent (unverified)


@dataclass(frozen=True)
class Definition:
    """One source file as it is on disk."""

    id: str
    path: Path
    text: bytes

    @property
    def etag(self) -> str:
        return etag(self.text)

    def values(self) -> dict[str, Any]:
        """The file's keys as plain Python values (empty if it is not valid TOML)."""
        try:
            return tomlkit.parse(self.text.decode("utf-8")).unwrap()
        except (UnicodeDecodeError, tomlkit.exceptions.TOMLKitError):
            return {}


def check_id(source_id: Any) -> None:
    """Refuse anything but a plain id: it becomes a file name (no ``..``, no ``/``)."""
    if not isinstance(source_id, str) or not SLUG.match(source_id):
        raise ConfigError(f"id: {source_id!r} is not a valid source id ({ID_RULE})")


def render(values: Mapping[str, Any], previous: bytes | None = None) -> bytes:
    """The TOML text of a definition. With ``previous`` (an edit), the old file is updated in
    place: its comments and layout stay, keys not in ``values`` are removed, and so is a key
    whose value is None, at any depth. A table (``[follow]``, ``[html]`` and its
    ``[html.labels]``…) is updated key by key, so a key that keeps its value keeps its text
    and its comment."""
    try:
        doc = tomlkit.parse(previous.decode("utf-8")) if previous else tomlkit.document()
    except (UnicodeDecodeError, tomlkit.exceptions.TOMLKitError):
        doc = tomlkit.document()  # the old file is unreadable: start afresh
    for key in list(doc):
        if key not in values or values[key] is None:
            del doc[key]
    ordered = [k for k in KEY_ORDER if k in values] + [k for k in values if k not in KEY_ORDER]
    for key in ordered:
        if values[key] is not None:
            _set(doc, str(key), values[key], key_path(key))
    return tomlkit.dumps(doc).encode("utf-8")


def _set(container: Any, key: str, value: Any, where: str) -> None:
    try:
        if isinstance(value, Mapping):
            _set_table(container, key, value, where)
        elif key not in container or not same(container[key], value):
            container[key] = value  # an unchanged value keeps its formatting and comment
    except (TypeError, ValueError, tomlkit.exceptions.TOMLKitError) as e:
        raise ConfigError(f"{where}: cannot be written as TOML: {e}") from None


def _set_table(container: Any, key: str, value: Mapping[str, Any], where: str) -> None:
    """Make ``container[key]`` the table ``value`` (None entries left out), at any depth."""
    wanted = {str(k): v for k, v in value.items() if v is not None}
    existing = container[key] if key in container else None
    if not isinstance(existing, MutableMapping):
        if key in container:
            del container[key]
        if wanted:
            container[key] = _new_table(value, wanted, where)
        return
    if not wanted:
        if existing:  # (an empty table already there means the same as none: it stays)
            del container[key]
        return
    for k in list(existing):
        if k not in wanted:
            del existing[k]
    for k, v in wanted.items():
        _set(existing, k, v, key_path(where, k))


def _new_table(value: Mapping[str, Any], wanted: dict[str, Any], where: str) -> Any:
    if isinstance(value, tomlkit.items.Table) and len(wanted) == len(value):
        return value  # read from a TOML text (a --table-file): its comments come along
    table = tomlkit.table()
    for k, v in wanted.items():
        _set(table, k, v, key_path(where, k))
    return table


_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def key_path(*keys: str) -> str:
    """Keys as TOML writes a dotted key, the way messages name a key.

    >>> key_path("html", "labels", "Date & Time")
    'html.labels."Date & Time"'
    """
    return ".".join(k if _BARE_KEY.match(k) else json.dumps(k, ensure_ascii=False) for k in keys)


def plain(value: Any) -> Any:
    """A tomlkit item as the plain Python value it holds."""
    return value.unwrap() if isinstance(value, tomlkit.items.Item) else value


def same(a: Any, b: Any) -> bool:
    """Equal values of the same TOML type (``1`` is not ``true``, nor ``1.0``).

    >>> same(1, True), same([1, "a"], [1, "a"]), same({"a": 1}, {"a": 1.0})
    (False, True, False)
    """
    a, b = plain(a), plain(b)
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def apply_changes(values: Mapping[str, Any], changes: Iterable[Change]) -> dict[str, Any]:
    """``values`` with each key path set, or removed for None. Tables along a path are copied,
    never changed in place, and made when missing; a table left empty goes.

    >>> apply_changes({"html": {"events": ".e", "next": "a"}}, [(("html", "next"), None),
    ...     (("follow", "pages"), 3)])
    {'html': {'events': '.e'}, 'follow': {'pages': 3}}
    """
    result = dict(values)
    for path, value in changes:
        _apply(result, path, value, ())
    return result


def _apply(table: dict[str, Any], path: tuple[str, ...], value: Any, done: tuple[str, ...]) -> None:
    key, rest = path[0], path[1:]
    if not rest:
        if value is None:
            table.pop(key, None)
        else:
            table[key] = value
        return
    inner = table.get(key)
    if inner is None:
        if value is None:
            return  # removing a key of a table there is not: nothing to do
        inner = {}
    elif not isinstance(inner, Mapping):
        where = key_path(*done, key)
        raise ConfigError(
            f"{key_path(*done, *path)}: {where} is {plain(inner)!r}, not a table"
            f" (remove {where} first to make it one)"
        )
    inner = dict(inner)
    _apply(inner, rest, value, (*done, key))
    if inner:
        table[key] = inner
    else:
        table.pop(key, None)


def settings_tables(text: str, where: str) -> dict[str, Any]:
    """The ``[follow]`` and kind tables of a TOML text (a --table-file, the admin page's kind
    settings), as tomlkit tables: written into a new file, their comments come along."""
    try:
        doc = tomlkit.parse(text)
    except tomlkit.exceptions.TOMLKitError as e:
        raise ConfigError(f"{where}: not valid TOML: {e}") from None
    problems = []
    for key in doc:
        if key not in SETTINGS_TABLES:
            problems.append(
                f"{where}: {key_path(key)}: only [follow] and the kind's table"
                f" ({', '.join(f'[{t}]' for t in KIND_TABLES)}) belong here"
            )
        elif not isinstance(doc[key], Mapping):
            problems.append(f"{where}: {key} must be a table ([{key}])")
    if problems:
        raise ConfigError(problems)
    return {key: doc[key] for key in doc}


def settings_text(data: bytes) -> str:
    """The ``[follow]`` and kind tables of a definition file as TOML text, as the file writes
    them (comments included): what the admin page shows in its kind settings."""
    try:
        doc = tomlkit.parse(data.decode("utf-8"))
    except (UnicodeDecodeError, tomlkit.exceptions.TOMLKitError):
        return ""
    out = tomlkit.document()
    for key in list(doc):
        if key in SETTINGS_TABLES:
            out.append(key, doc[key])
    text = out.as_string().strip("\n")
    return text + "\n" if text else ""


class AuditLog:
    """``<data>/audit.log``: one JSON object per line, appended (O_APPEND, locked, fsynced)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def record(
        self,
        action: str,
        source_id: str,
        actor: Actor,
        before: bytes | None,
        after: bytes | None,
        now: datetime | None = None,
        **extra: Any,
    ) -> None:
        entry = {
            "time": (now or datetime.now(UTC)).isoformat(timespec="seconds"),
            "action": action,
            "source": source_id,
            "via": actor.via,
            "address": actor.address,
            "user": actor.user,
            "forwarded_for": actor.forwarded_for,
            "etag_before": etag(before) if before is not None else None,
            "etag_after": etag(after) if after is not None else None,
            "before": before.decode("utf-8", "replace") if before is not None else None,
            "after": after.decode("utf-8", "replace") if after is not None else None,
            **extra,
        }
        line = (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)

    def entries(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text("utf-8").splitlines() if line]
