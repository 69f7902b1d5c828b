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
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import tomlkit
import tomlkit.exceptions

from feedserver.config import SLUG, SOURCE_KEYS
from feedserver.errors import ConfigError

__all__ = [
    "Actor",
    "AuditLog",
    "Definition",
    "check_id",
    "etag",
    "matches",
    "render",
]

ID_RULE = "lowercase letters, digits and '-', 1-63 characters, not starting with '-'"
# The keys a definition is written with, in this order (tables come last in TOML anyway).
KEY_ORDER = tuple(SOURCE_KEYS)


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
    place: its comments and layout stay, keys not in ``values`` are removed."""
    try:
        doc = tomlkit.parse(previous.decode("utf-8")) if previous else tomlkit.document()
    except (UnicodeDecodeError, tomlkit.exceptions.TOMLKitError):
        doc = tomlkit.document()  # the old file is unreadable: start afresh
    for key in list(doc):
        if key not in values or values[key] is None:
            del doc[key]
    ordered = [k for k in KEY_ORDER if k in values] + [k for k in values if k not in KEY_ORDER]
    for key in ordered:
        value = values[key]
        if value is None:
            continue
        try:
            if key == "categories" and isinstance(value, Mapping):
                _set_table(doc, key, value)
            elif doc.get(key) != value:  # an unchanged value keeps its formatting and comment
                doc[key] = value
        except (TypeError, ValueError, tomlkit.exceptions.TOMLKitError) as e:
            raise ConfigError(f"{key}: cannot be written as TOML: {e}") from None
    return tomlkit.dumps(doc).encode("utf-8")


def _set_table(doc: Any, key: str, value: Mapping[str, Any]) -> None:
    if not value:
        if key in doc:
            del doc[key]
        return
    if key not in doc or not isinstance(doc[key], dict):
        table = tomlkit.table()
        for k, v in value.items():
            table[str(k)] = v
        doc[key] = table
        return
    table = doc[key]
    for k in list(table):
        if k not in value:
            del table[k]
    for k, v in value.items():
        if table.get(k) != v:
            table[str(k)] = v


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
