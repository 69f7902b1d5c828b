"""The ``feedserver`` command: check, refresh, serve, and ``sources`` to administer sources.

Exit codes (scripts may rely on them): 0 done; 1 invalid configuration or definition, a failed
fetch, test or refresh, a stale ``--if-match``; 2 usage error or unknown source id; 3 the source
id is already taken (``sources add``).
"""

from __future__ import annotations

import getpass
import json
import logging
import math
import sys
import tomllib
import zoneinfo
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import click

from feedserver import config as configuration
from feedserver import metrics as metrics_module
from feedserver.admin import Admin, Preview, loader, source_json, status_json
from feedserver.config import KIND_TABLES
from feedserver.errors import AlreadyExists, ConfigError, NotFound, SourceError, StaleEdit
from feedserver.refresh import Outcome, exclusive, refresh
from feedserver.sourcefile import Actor, Change, settings_tables, settings_text
from feedserver.sources import KINDS
from feedserver.store import Store


class _State:
    def __init__(self, feeds: Path | None, data: Path | None, debug: bool) -> None:
        self.feeds, self.data, self.debug = feeds, data, debug

    def config(self) -> configuration.Config:
        try:
            return configuration.load(self.feeds, self.data)
        except ConfigError as e:
            problems = "\n".join(f"  {p}" for p in e.problems)
            raise click.ClickException(
                f"the configuration has {len(e.problems)} problem(s):\n{problems}"
            ) from None

    def admin(self) -> Admin:
        config = self.config()
        store = Store(config.store_path)
        return Admin(loader(self.feeds, self.data), store, config.feeds_dir, config.data_dir)


@click.group()
@click.option(
    "--feeds",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder with site.toml and sources/ [env FEEDSERVER_FEEDS, default ./feeds].",
)
@click.option(
    "--data",
    type=click.Path(path_type=Path, file_okay=False),
    help="Data folder for the store and fetched bodies [env FEEDSERVER_DATA, default ./var].",
)
@click.option("--debug", is_flag=True, help="Log debug messages and show tracebacks.")
@click.version_option(package_name="feedserver")
@click.pass_context
def cli(ctx: click.Context, feeds: Path | None, data: Path | None, debug: bool) -> None:
    """feedserver: merge event sources into subscribable .ics feeds."""
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    ctx.obj = _State(feeds, data, debug)


@cli.command()
@click.pass_obj
def check(state: _State) -> None:
    """Validate site.toml and every source definition; exit 1 listing every problem."""
    config = state.config()
    enabled = sum(s.enabled for s in config.sources)
    click.echo(
        f"ok: {len(config.calendars)} calendars, {len(config.types)} event types, "
        f"{len(config.sources)} sources ({enabled} enabled) in {config.feeds_dir}"
    )


def _summary(outcome: Outcome) -> str:
    line = f"{outcome.source.id:<24} {outcome.status:<9}"
    if outcome.status == "failed":
        return f"{line} {outcome.error}"
    s = outcome.stats
    line += f" {outcome.events} events"
    if outcome.status == "updated":
        line += f" (+{s.added} ~{s.changed} -{s.removed})"
    if outcome.warnings:
        line += f", {len(outcome.warnings)} warning(s)"
    return line


@cli.command("refresh")
@click.argument("source_ids", nargs=-1)
@click.option("--all", "everything", is_flag=True, help="Refresh every source, due or not.")
@click.option("--verbose", "-v", is_flag=True, help="Also print each warning.")
@click.pass_obj
def refresh_command(
    state: _State, source_ids: tuple[str, ...], everything: bool, verbose: bool
) -> None:
    """Fetch due sources (or the SOURCE_IDS given) and update the store.

    Exit status: 0 when every source refreshed, 1 when any failed, 2 for unknown ids.
    """
    config = state.config()
    unknown = [i for i in source_ids if config.source(i) is None]
    if unknown:
        known = ", ".join(s.id for s in config.sources)
        raise click.UsageError(f"unknown source id(s): {', '.join(unknown)} (known: {known})")
    only: Any = list(source_ids) or ([s.id for s in config.sources] if everything else None)
    store = Store(config.store_path)
    with exclusive(config, wait=True):
        # Again under the lock: sources added while we waited must not be pruned.
        config = state.config()
        count = len(only) if only is not None else None
        with click.progressbar(
            length=count or len(config.sources), label="refreshing", file=sys.stderr
        ) as bar:
            outcomes = refresh(config, store, only=only, on_done=lambda _: bar.update(1))
    for outcome in outcomes:
        click.echo(_summary(outcome))
        if verbose:
            for warning in outcome.warnings:
                click.echo(f"    warning: {warning}")
    if not outcomes:
        click.echo("no source is due; name sources or use --all to refresh anyway")
    failed = [o for o in outcomes if o.status == "failed"]
    if failed:
        click.echo(f"{len(failed)} of {len(outcomes)} source(s) failed", err=True)
        sys.exit(1)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--workers", default=2, show_default=True, type=int, help="Worker processes.")
@click.option("--threads", default=4, show_default=True, type=int, help="Threads per worker.")
@click.option("--no-refresh", is_flag=True, help="Do not refresh sources in the background.")
@click.pass_obj
def serve(
    state: _State, host: str, port: int, workers: int, threads: int, no_refresh: bool
) -> None:
    """Serve the feeds with gunicorn (a production WSGI server), refreshing in the background."""
    from gunicorn.app.base import BaseApplication

    config = state.config()  # fail before forking when the configuration is bad
    metrics_module.reset(config.data_dir / "metrics")  # a new server counts from zero
    test_config = {
        "FEEDS": config.feeds_dir,
        "DATA": config.data_dir,
        "BACKGROUND_REFRESH": not no_refresh,
    }

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("accesslog", "-")
            self.cfg.set("proc_name", "feedserver")

        def load(self) -> Any:
            from feedserver.app import create_app

            return create_app(test_config)

    click.echo(f"serving {config.title} on http://{host}:{port}/ ({workers} workers)", err=True)
    Server().run()


# -- feedserver sources … -----------------------------------------------------------------------


class _Failed(click.ClickException):
    """Exit 1: invalid definition, failed fetch or refresh, stale --if-match."""

    exit_code = 1


class _Unknown(_Failed):
    """Exit 2 (click's own code for usage errors): no such source."""

    exit_code = 2


class _Taken(_Failed):
    """Exit 3: the id is already taken."""

    exit_code = 3


@contextmanager
def _reported(action: str) -> Iterator[None]:
    """Turn the admin layer's errors into messages and the documented exit codes."""
    try:
        yield
    except ConfigError as e:
        lines = "\n".join(f"  {p}" for p in e.problems)
        raise _Failed(f"{action}: {len(e.problems)} problem(s):\n{lines}") from None
    except NotFound as e:
        raise _Unknown(f"{action}: {e}") from None
    except AlreadyExists as e:
        raise _Taken(f"{action}: {e} (use 'feedserver sources edit' to change it)") from None
    except (StaleEdit, SourceError) as e:
        raise _Failed(f"{action}: {e}") from None


def _categories(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> Any:
    if not values:
        return None
    table = {}
    for value in values:
        upstream, sep, slug = value.rpartition("=")
        if not sep or not upstream.strip():
            raise click.BadParameter(f"expected 'Upstream name=type-slug', got {value!r}")
        table[upstream.strip()] = slug.strip()
    return table


def _key(text: str) -> tuple[str, ...]:
    """A key as TOML writes it (``html.labels."Date & Time"``) as its path of keys."""
    try:
        data: Any = tomllib.loads(f"{text} = 0") if "\n" not in text else None
    except tomllib.TOMLDecodeError:
        data = None
    path: list[str] = []
    while isinstance(data, dict) and len(data) == 1:
        ((key, data),) = data.items()
        path.append(key)
    if not path or type(data) is not int or data != 0:
        raise click.BadParameter(
            f"{text!r} is not a key such as follow.pages or 'html.labels.\"Date & Time\"'"
        )
    return tuple(path)


def _toml_value(text: str) -> Any:
    """``text`` read as a TOML value (``3``, ``true``, ``["a", "b"]``, ``"quoted"``), else
    the text itself: ``div.event`` is a string. Dates and inf/nan stay text too."""
    try:
        data = tomllib.loads(f"value = {text}")
    except tomllib.TOMLDecodeError:
        return text
    value = data.get("value")
    if len(data) != 1 or isinstance(value, date | time):
        return text
    if isinstance(value, float) and not math.isfinite(value):
        return text
    return value


def _sets(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> Any:
    changes = []
    for item in values:
        for at in (i for i, c in enumerate(item) if c == "="):
            try:
                path = _key(item[:at].strip())
            except click.BadParameter:
                continue
            changes.append((path, _toml_value(item[at + 1 :].strip())))
            break
        else:
            raise click.BadParameter(f"expected KEY=VALUE such as follow.pages=3, got {item!r}")
    return changes


def _unsets(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> Any:
    return [(_key(item.strip()), None) for item in values]


def _definition_options(edit: bool) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The options that set a definition's keys (``add``, ``edit``, ``test``)."""
    blank = " An empty value removes the key." if edit else ""
    options = [
        click.option("--name", help="Display name (default: the id)." + blank),
        click.option("--kind", help=f"Adapter that reads the source: {', '.join(sorted(KINDS))}."),
        click.option("--url", help="http(s) URL to fetch."),
        click.option("--path", "path_", help="File to read, relative to the feeds folder."),
        click.option("--calendar", help="Slug of the calendar its events belong to."),
        click.option(
            "--type",
            "types",
            multiple=True,
            help="Type slug every event gets (repeat for several; replaces the list).",
        ),
        click.option(
            "--category",
            "categories",
            multiple=True,
            callback=_categories,
            help='Map an upstream CATEGORIES value to a type: "Upstream=slug" (repeat).',
        ),
        click.option("--refresh", help="How often to fetch it: 30m, 6h, 1d." + blank),
        click.option("--timezone", help="IANA zone for floating times." + blank),
        click.option("--online-links", help="include or omit meeting links." + blank),
        click.option(
            "--table-file",
            type=click.File("r", encoding="utf-8"),
            help="A TOML file with the [follow] table and the kind's ([html], [json], [csv]);"
            " each table in it replaces the source's ('-': read standard input).",
        ),
        click.option(
            "--set",
            "sets",
            multiple=True,
            metavar="KEY=VALUE",
            callback=_sets,
            help="Set one key, at any depth: html.events=div.event, follow.pages=3,"
            " 'html.labels.\"Date & Time\"=when'. VALUE is read as TOML (3, true,"
            ' ["a", "b"], "quoted") when it is one, else as text. Repeat for several.',
        ),
        click.option(
            "--unset",
            "unsets",
            multiple=True,
            metavar="KEY",
            callback=_unsets,
            help="Remove one key, at any depth (html.next, follow); before the --set ones.",
        ),
    ]
    if edit:
        options += [
            click.option("--clear-types", is_flag=True, help="Remove every type."),
            click.option("--clear-categories", is_flag=True, help="Remove every mapping."),
        ]

    def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            f = option(f)
        return f

    return decorate


def _values(options: dict[str, Any], *, edit: bool, action: str) -> dict[str, Any]:
    """Definition keys from the options given (edit: "" removes a key); ``action`` names the
    command in the message about a --table-file that cannot be used."""
    values: dict[str, Any] = {}
    for key, option in (
        ("name", "name"),
        ("kind", "kind"),
        ("url", "url"),
        ("path", "path_"),
        ("calendar", "calendar"),
        ("refresh", "refresh"),
        ("timezone", "timezone"),
        ("online_links", "online_links"),
    ):
        value = options.get(option)
        if value is not None:
            values[key] = None if (edit and value == "") else value
    if edit and (values.get("url") is None) != (values.get("path") is None):
        # A source has exactly one of them: giving one to edit drops the other.
        values["path" if values.get("url") else "url"] = None
    if options.get("types"):
        values["types"] = list(options["types"])
    elif options.get("clear_types"):
        values["types"] = None
    if options.get("categories"):
        values["categories"] = options["categories"]
    elif options.get("clear_categories"):
        values["categories"] = None
    if options.get("enabled") is not None:
        values["enabled"] = options["enabled"]
    table_file = options.get("table_file")
    if table_file is not None:
        with _reported(action):
            tables = settings_tables(table_file.read(), table_file.name)
        values.update(tables)
    return values


def _changes(options: dict[str, Any]) -> list[Change]:
    """--unset, then --set, each in the order given."""
    return [*options.get("unsets", ()), *options.get("sets", ())]


def _actor() -> Actor:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = None
    return Actor("cli", user=user)


def _local(moment: datetime | None, zone: str) -> str:
    if moment is None:
        return "-"
    return moment.astimezone(zoneinfo.ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


def _state_word(source: configuration.Source, st: Any) -> str:
    if not source.enabled:
        return "disabled"
    if st is None or st.last_attempt is None:
        return "new"
    return "ok" if st.ok else "failing"


def _print_preview(preview: Preview, zone: str) -> None:
    size = f"{preview.bytes:,} bytes"
    status = f"HTTP {preview.http_status}, {size}" if preview.http_status else size
    click.echo(f"{preview.location} ({status})")
    if preview.final_url and preview.final_url != preview.location:
        click.echo(f"  redirected to {preview.final_url}")
    click.echo(f"{preview.events} events ({preview.recurring} recurring)")
    if preview.calendar_given:
        click.echo(f"calendar: {preview.source.calendar}")
    else:
        click.echo("calendar: none given (pass --calendar)")
    types = ", ".join(f"{slug or '(no type)'} {n}" for slug, n in preview.types.items())
    click.echo(f"types: {types or '-'}")
    if preview.upcoming:
        click.echo(f"next events ({zone}):")
        for e in preview.upcoming:
            tags = f"  [{', '.join(e['types'])}]" if e["types"] else ""
            click.echo(f"  {e['when']:<16}  {e['summary']}{tags}")
    else:
        click.echo("next events: none ahead")
    click.echo(f"warnings ({len(preview.warnings)}):" if preview.warnings else "warnings: none")
    for warning in preview.warnings:
        click.echo(f"  - {warning}")


def _print_outcomes(outcomes: list[Outcome]) -> bool:
    for outcome in outcomes:
        click.echo(_summary(outcome))
    return not any(o.status == "failed" for o in outcomes)


@cli.group()
def sources() -> None:
    """List, test, add, edit, remove and refresh sources (feeds/sources/<id>.toml).

    Exit status: 0 done; 1 invalid definition, failed fetch or refresh, stale --if-match;
    2 usage error or unknown source id; 3 the id is already taken.
    """


@sources.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_obj
def sources_list(state: _State, as_json: bool) -> None:
    """Every source with its kind, calendar, state, events, last success and last error."""
    config = state.config()
    statuses = Store(config.store_path).statuses()
    if as_json:
        rows = [
            {**source_json(s, config.feeds_dir), "status": status_json(s, statuses.get(s.id))}
            for s in config.sources
        ]
        click.echo(json.dumps(rows, indent=2))
        return
    header = ("ID", "KIND", "CALENDAR", "STATUS", "EVENTS", "LAST SUCCESS", "LAST ERROR")
    table = [header]
    for s in config.sources:
        st = statuses.get(s.id)
        error = (st.last_error or "") if st else ""
        table.append(
            (
                s.id,
                s.kind,
                s.calendar,
                _state_word(s, st),
                str(st.event_count if st else 0),
                _local(st.last_success if st else None, config.timezone),
                error if len(error) <= 70 else error[:69] + "…",
            )
        )
    widths = [max(len(row[n]) for row in table) for n in range(len(header))]
    for row in table:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    if not config.sources:
        click.echo("(no sources; add one with 'feedserver sources add')")


@sources.command("show")
@click.argument("source_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def sources_show(state: _State, source_id: str, as_json: bool) -> None:
    """The definition file of SOURCE_ID, its ETag and its health."""
    admin = state.admin()
    with _reported(f"cannot show {source_id}"):
        definition = admin.read(source_id)
    config = state.config()
    source = config.source(source_id)
    st = admin.statuses().get(source_id)
    if as_json:
        data = {
            "id": source_id,
            "etag": definition.etag,
            "toml": definition.text.decode("utf-8", "replace"),
            "settings_toml": settings_text(definition.text),
            "source": source_json(source, config.feeds_dir) if source else None,
            "status": status_json(source, st),
        }
        click.echo(json.dumps(data, indent=2))
        return
    click.echo(f"# {definition.path}  (ETag {definition.etag})")
    click.echo(definition.text.decode("utf-8", "replace").rstrip())
    click.echo("")
    if source is not None and source.kind in KIND_TABLES:
        # What the file leaves out is in force too: the defaults of [follow].
        follow = source_json(source, config.feeds_dir)["follow"]
        settings = ", ".join(f"{k} = {json.dumps(v)}" for k, v in follow.items())
        click.echo(f"follow:       {settings}")
    status = status_json(source, st)
    click.echo(f"status:       {_state_word(source, st) if source else 'invalid'}")
    click.echo(f"events:       {status['events']}")
    click.echo(f"last fetch:   {_local(st.last_attempt if st else None, config.timezone)}")
    click.echo(f"last success: {_local(st.last_success if st else None, config.timezone)}")
    click.echo(f"HTTP status:  {status['http_status'] or '-'}")
    click.echo(f"last error:   {status['last_error'] or '-'}")
    for warning in status["warnings"]:
        click.echo(f"warning:      {warning}")


@sources.command("test")
@click.argument("target")
@_definition_options(edit=False)
@click.option("--limit", default=10, show_default=True, help="How many next events to show.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def sources_test(state: _State, target: str, limit: int, as_json: bool, **options: Any) -> None:
    """Fetch TARGET (a URL, or the id of a source) and preview its events; writes nothing.

    Options override the definition, to try a change before making it.
    """
    admin = state.admin()
    values = _values(options, edit=False, action=f"test of {target} failed")
    source_id = None
    if "://" in target:
        values["url"], values["path"] = target, None
    else:
        source_id = target
    with _reported(f"test of {target} failed"):
        preview = admin.preview(values, source_id=source_id, changes=_changes(options), limit=limit)
    if as_json:
        click.echo(json.dumps(preview.as_json(), indent=2))
    else:
        _print_preview(preview, state.config().timezone)


@sources.command("add")
@click.argument("source_id")
@_definition_options(edit=False)
@click.option("--enable/--disable", "enabled", default=None, help="Fetch and serve it or not.")
@click.option("--no-fetch", is_flag=True, help="Skip the test fetch and the first refresh.")
@click.pass_obj
def sources_add(state: _State, source_id: str, no_fetch: bool, **options: Any) -> None:
    """Add SOURCE_ID: validate, test-fetch, write feeds/sources/SOURCE_ID.toml, refresh it."""
    admin = state.admin()
    values = _values(options, edit=False, action=f"cannot add {source_id}")
    with _reported(f"cannot add {source_id}"):
        definition, preview = admin.add(
            source_id, values, _actor(), changes=_changes(options), test_fetch=not no_fetch
        )
    if preview is not None:
        _print_preview(preview, state.config().timezone)
    click.echo(f"added {definition.path} (ETag {definition.etag})")
    if not no_fetch:
        with _reported(f"added {source_id}, but its refresh failed"):
            ok = _print_outcomes(admin.refresh(source_id))
        if not ok:
            click.echo("the definition is saved; see 'feedserver sources show'", err=True)


@sources.command("edit")
@click.argument("source_id")
@_definition_options(edit=True)
@click.option("--enable/--disable", "enabled", default=None, help="Fetch and serve it or not.")
@click.option("--if-match", help="Only if the definition's ETag is still this one.")
@click.option("--no-fetch", is_flag=True, help="Skip the test fetch and the refresh.")
@click.pass_obj
def sources_edit(
    state: _State, source_id: str, if_match: str | None, no_fetch: bool, **options: Any
) -> None:
    """Change the keys given of SOURCE_ID (comments in the file stay), then refresh it."""
    admin = state.admin()
    values = _values(options, edit=True, action=f"cannot edit {source_id}")
    changes = _changes(options)
    if not values and not changes:
        raise click.UsageError("nothing to change: give at least one option")
    with _reported(f"cannot edit {source_id}"):
        definition, preview = admin.edit(
            source_id,
            values,
            _actor(),
            if_match=if_match,
            changes=changes,
            test_fetch=not no_fetch,
        )
    if preview is not None:
        _print_preview(preview, state.config().timezone)
    click.echo(f"saved {definition.path} (ETag {definition.etag})")
    if not no_fetch:
        _print_outcomes(admin.refresh(source_id))


@sources.command("remove")
@click.argument("source_id")
@click.option("--if-match", help="Only if the definition's ETag is still this one.")
@click.pass_obj
def sources_remove(state: _State, source_id: str, if_match: str | None) -> None:
    """Delete feeds/sources/SOURCE_ID.toml; its events leave the feeds now."""
    admin = state.admin()
    with _reported(f"cannot remove {source_id}"):
        definition = admin.remove(source_id, _actor(), if_match=if_match)
        admin.refresh(None)  # prune its events
    click.echo(f"removed {definition.path}; its events left the feeds")


@sources.command("refresh")
@click.argument("source_id")
@click.pass_obj
def sources_refresh(state: _State, source_id: str) -> None:
    """Fetch SOURCE_ID now (exit 1 if that fails; the error is also on /status)."""
    admin = state.admin()
    with _reported(f"cannot refresh {source_id}"):
        outcomes = admin.refresh(source_id, _actor())
    if not outcomes:
        click.echo(f"{source_id} is disabled: nothing to fetch")
    elif not _print_outcomes(outcomes):
        raise _Failed(f"refresh of {source_id} failed")


def main() -> None:
    cli(prog_name="feedserver")
