"""Command line: ``python cli.py COMMAND``. See ``python cli.py --help``.

    migrate               create or upgrade the store's schema, register the sources
    poll [SOURCE...]      poll now (all enabled sources by default); exit 1 if any failed
    backfill --days N     fill the past N days of demo sources (or the named ones)
    briefing [--format F] produce a briefing now (pdf, png, html or all), archived
    scheduler             run the poll scheduler in this process (one per deployment)
"""
from __future__ import annotations

import logging
import signal
import sys
import threading
from datetime import datetime, timezone

import click

from settings import ConfigError, Settings, load_settings
from source_config import SourceSpec, load_sources
from store.engine import make_engine


def _context() -> tuple[Settings, list[SourceSpec]]:
    try:
        settings = load_settings()
        return settings, load_sources(settings.sources_file)
    except ConfigError as exc:
        raise click.ClickException(f"configuration error: {exc}") from None


def _select(specs: list[SourceSpec], names: tuple[str, ...]) -> list[SourceSpec]:
    if not names:
        return [s for s in specs if s.enabled]
    by_name = {s.name: s for s in specs}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise click.BadParameter(f"unknown source(s): {', '.join(unknown)}; known: {', '.join(sorted(by_name))}")
    return [by_name[n] for n in names]


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="log at debug level")
def cli(verbose: bool) -> None:
    """Operations-centre administration."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not verbose:
        # Each run is recorded in the store; their per-job chatter would bury real warnings.
        for noisy in ("apscheduler", "alembic"):
            logging.getLogger(noisy).setLevel(logging.WARNING)


@cli.command()
def migrate() -> None:
    """Create or upgrade the schema and register the configured sources."""
    from polling import sync_sources
    from store.migrate import upgrade

    settings, specs = _context()
    engine = make_engine(settings.effective_database_url)
    upgrade(engine)
    sync_sources(engine, specs)
    click.echo(f"store ready at {engine.url.render_as_string(hide_password=True)}; {len(specs)} source(s) registered")


@cli.command()
@click.argument("names", nargs=-1)
def poll(names: tuple[str, ...]) -> None:
    """Poll the named sources (default: all enabled) once, now."""
    from polling import poll_source, sync_sources

    settings, specs = _context()
    engine = make_engine(settings.effective_database_url)
    sync_sources(engine, specs)
    failed = 0
    for spec in _select(specs, names):
        outcome = poll_source(engine, spec, trigger="cli")
        if outcome.ok:
            click.echo(f"{spec.name}: ok, {outcome.accepted} accepted, {outcome.rejected} rejected, {outcome.duration_seconds:.2f} s")
        else:
            failed += 1
            click.echo(f"{spec.name}: FAILED: {outcome.error}", err=True)
    if failed:
        sys.exit(1)


@cli.command()
@click.option("--days", type=float, default=None, help="how many days back (default: DEMO_BACKFILL_DAYS)")
@click.argument("names", nargs=-1)
def backfill(days: float | None, names: tuple[str, ...]) -> None:
    """Fill the past days of demo sources (or of the named ones) in one-day chunks."""
    from backfill import backfill_source
    from polling import sync_sources

    settings, specs = _context()
    engine = make_engine(settings.effective_database_url)
    sync_sources(engine, specs)
    chosen = [s for s in _select(specs, names) if s.adapter.supports_backfill]
    days = settings.demo_backfill_days if days is None else days
    failed = False
    for spec in chosen:
        outcomes = backfill_source(engine, spec, days)
        accepted = sum(o.accepted for o in outcomes)
        ok = all(o.ok for o in outcomes)
        failed |= not ok
        click.echo(f"{spec.name}: {len(outcomes)} chunk(s), {accepted} readings{'' if ok else ', FAILED: ' + str(outcomes[-1].error)}")
    if failed:
        sys.exit(1)


@cli.command()
def prune() -> None:
    """Delete raw readings, poll runs and quarantine older than their retention periods."""
    from store.retention import prune as prune_store

    settings, _specs = _context()
    done = prune_store(make_engine(settings.effective_database_url), datetime.now(timezone.utc),
                       settings.raw_retention_days, settings.records_retention_days)
    click.echo(f"pruned {done.observations} readings, {done.poll_runs} poll runs, {done.quarantine} quarantined records")


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["pdf", "png", "html", "all"]), default="pdf", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, writable=True), default=None,
              help="also copy the file here (one format only)")
@click.option("--png-size", type=click.Choice(["1920x1080", "3840x2160"]), default="1920x1080", show_default=True)
def briefing(fmt: str, out: str | None, png_size: str) -> None:
    """Produce a briefing now (archived like every briefing); exit 1 if a format failed."""
    import shutil

    from briefings.produce import FORMATS, produce_briefing

    if out and fmt == "all":
        raise click.BadParameter("--out takes one format; give --format pdf, png or html", param_hint="--out")
    settings, _specs = _context()
    engine = make_engine(settings.effective_database_url)
    records = produce_briefing(engine, settings, FORMATS if fmt == "all" else (fmt,), png_size=png_size)
    failed = False
    for record in records:
        if record.status == "ok":
            path = record.file(settings)
            if out:
                shutil.copyfile(path, out)
            click.echo(f"{record.format}: {out or path} ({record.size_bytes} bytes)")
        else:
            failed = True
            click.echo(f"{record.format}: FAILED: {record.error}", err=True)
    if failed:
        sys.exit(1)


@cli.command()
def scheduler() -> None:
    """Run the poll scheduler until SIGTERM/SIGINT. Start exactly one per deployment."""
    from alerts.hook import configure_from_settings
    from briefings.schedule import add_briefing_jobs
    from receivers.ftp import start_ftp_receiver
    from scheduler import PollScheduler
    from store.migrate import upgrade

    settings, specs = _context()
    configure_from_settings(settings)  # alerts are evaluated after each poll, here only
    engine = make_engine(settings.effective_database_url)
    upgrade(engine)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    poller = PollScheduler(engine, specs, settings)
    add_briefing_jobs(poller)  # the morning briefing, run by whichever scheduler holds the lease
    poller.start()
    # Stations push files here, next to the poller that ingests them (never in web workers).
    receiver = start_ftp_receiver(settings, specs)
    click.echo(f"scheduler {poller.holder} running {len(poller.specs)} source(s)")
    stop.wait()
    if receiver:
        receiver.stop()
    poller.shutdown()
    click.echo("scheduler stopped")


if __name__ == "__main__":
    cli()
