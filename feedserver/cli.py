"""The ``feedserver`` command: check, refresh, serve."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import click

from feedserver import config as configuration
from feedserver.errors import ConfigError
from feedserver.refresh import Outcome, exclusive, refresh
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


def main() -> None:
    cli(prog_name="feedserver")
