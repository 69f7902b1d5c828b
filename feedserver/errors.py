"""The exception tree: every failure feedserver reports is one of these.

    FeedserverError
     ├── ConfigError        a site or source definition is invalid (file, key, reason)
     ├── SourceError        a source could not be brought in; its last good events stay
     │    ├── FetchError    network, HTTP status, timeout, size cap, unreadable file
     │    └── ParseError    the body is not what the source's kind expects
     ├── QueryError         a feed URL's query string is invalid (HTTP 400)
     ├── NotFound           an unknown calendar, type, event or source (HTTP 404)
     └── Conflict           an admin change that cannot apply to the definitions as they are
          ├── AlreadyExists a source with that id exists (HTTP 409)
          └── StaleEdit     the definition changed since the admin read it (HTTP 412)

Errors are reported at three edges only: the web layer (one handler), the CLI (exit code + message)
and a source's status (last error, warnings) in the store.
"""

from __future__ import annotations


class FeedserverError(Exception):
    """Base of every error feedserver raises on purpose."""


class ConfigError(FeedserverError):
    """One or more problems in the configuration; ``problems`` lists each as one line."""

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class SourceError(FeedserverError):
    """A source could not be brought in."""


class FetchError(SourceError):
    """The upstream could not be fetched (or the file could not be read); ``status`` is the
    HTTP status the upstream answered, when it answered."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status

    def __reduce__(self) -> tuple[object, ...]:
        # Sources are fetched in worker processes: keep ``status`` across pickling.
        return (type(self), (str(self),), {"status": self.status})


class ParseError(SourceError):
    """The upstream answered, but its body is not usable for the source's kind."""


class QueryError(FeedserverError):
    """A feed URL's query string is invalid; the message says what and what is valid."""


class NotFound(FeedserverError):
    """An unknown calendar, event type or event."""


class Conflict(FeedserverError):
    """An admin change that does not fit the definitions as they are now."""


class AlreadyExists(Conflict):
    """``sources add`` / POST of an id that is taken."""


class StaleEdit(Conflict):
    """An edit or removal whose If-Match no longer names the definition on disk."""
