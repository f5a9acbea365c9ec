"""Command line: ``python cli.py COMMAND``. See ``python cli.py --help``.

    migrate               create or upgrade the store's schema, register the sources
    poll [SOURCE...]      poll now (all enabled sources by default); exit 1 if any failed
    backfill --days N     fill the past N days of demo sources (or the named ones)
    briefing [--format F] produce a briefing now (pdf, png, html or all), archived
    scheduler             run the poll scheduler in this process (one per deployment)
    user add|passwd|role|disable|enable|list   local accounts (auth/accounts.py)
    token create|revoke|list                   API tokens and kiosk tokens (auth/tokens.py)
"""
from __future__ import annotations

import logging
import signal
import sys
import threading
from datetime import datetime, timezone

import click
from sqlalchemy import Engine

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
    """Poll the named sources (default: all enabled) once, now; then evaluate the alert rules."""
    from polling import evaluate_alerts, poll_source, sync_sources

    settings, specs = _context()
    engine = make_engine(settings.effective_database_url)
    sync_sources(engine, specs)
    failed = 0
    for spec in _select(specs, names):
        # Judged once all are in: after a break, the first source would find the others' stations offline.
        outcome = poll_source(engine, spec, trigger="cli", evaluate=False)
        if outcome.ok:
            click.echo(f"{spec.name}: ok, {outcome.accepted} accepted, {outcome.rejected} rejected, {outcome.duration_seconds:.2f} s")
        else:
            failed += 1
            click.echo(f"{spec.name}: FAILED: {outcome.error}", err=True)
    evaluate_alerts(engine)
    if failed:
        sys.exit(1)


@cli.command()
@click.option("--days", type=float, default=None, help="how many days back (default: DEMO_BACKFILL_DAYS)")
@click.argument("names", nargs=-1)
def backfill(days: float | None, names: tuple[str, ...]) -> None:
    """Fill the past days of demo sources (or of the named ones) in one-day chunks; then evaluate the alert rules."""
    from backfill import backfill_source
    from polling import evaluate_alerts, sync_sources

    settings, specs = _context()
    engine = make_engine(settings.effective_database_url)
    sync_sources(engine, specs)
    chosen = [s for s in _select(specs, names) if s.adapter.supports_backfill]
    days = settings.demo_backfill_days if days is None else days
    failed = False
    for spec in chosen:
        outcomes = backfill_source(engine, spec, days, evaluate=False)
        accepted = sum(o.accepted for o in outcomes)
        ok = all(o.ok for o in outcomes)
        failed |= not ok
        click.echo(f"{spec.name}: {len(outcomes)} chunk(s), {accepted} readings{'' if ok else ', FAILED: ' + str(outcomes[-1].error)}")
    if chosen:
        evaluate_alerts(engine)
    if failed:
        sys.exit(1)


@cli.command()
def prune() -> None:
    """Delete raw readings, poll runs and quarantine older than their retention periods."""
    from store.retention import prune as prune_store

    settings, _specs = _context()
    done = prune_store(make_engine(settings.effective_database_url), datetime.now(timezone.utc),
                       settings.raw_retention_days, settings.records_retention_days, settings.audit_retention_days)
    click.echo(f"pruned {done.observations} readings, {done.poll_runs} poll runs, {done.quarantine} quarantined records, "
               f"{done.audit} audit entries")


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
    from store.retention import add_retention_job

    settings, specs = _context()
    configure_from_settings(settings)  # alerts are evaluated after each poll, here only
    engine = make_engine(settings.effective_database_url)
    upgrade(engine)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    poller = PollScheduler(engine, specs, settings)
    add_briefing_jobs(poller)  # the morning briefing, run by whichever scheduler holds the lease
    add_retention_job(poller)  # the daily prune, likewise
    poller.start()
    # Stations push files here, next to the poller that ingests them (never in web workers).
    receiver = start_ftp_receiver(settings, specs)
    click.echo(f"scheduler {poller.holder} running {len(poller.specs)} source(s)")
    stop.wait()
    if receiver:
        receiver.stop()
    poller.shutdown()
    click.echo("scheduler stopped")


def _store() -> Engine:
    """The store's engine, migrated (accounts and tokens live there)."""
    from store.migrate import upgrade

    settings, _specs = _context()
    engine = make_engine(settings.effective_database_url)
    upgrade(engine)
    return engine


def _ask_password(password: str | None, generate: bool) -> tuple[str, bool]:
    """The password given, typed twice at the prompt, or generated (then printed once)."""
    from auth.passwords import generate_password

    if generate:
        return generate_password(), True
    if password:
        return password, False
    return click.prompt("password", hide_input=True, confirmation_prompt=True), False


@cli.group()
def user() -> None:
    """Local accounts: viewer (reads), operator (acknowledges, exports), admin (users, tokens)."""


@user.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(["viewer", "operator", "admin"]), default="viewer", show_default=True)
@click.option("--name", "display_name", default="", help="the name shown in acknowledgements")
@click.option("--password", envvar="OPSC_NEW_PASSWORD", help="(or OPSC_NEW_PASSWORD; default: asked)")
@click.option("--generate", is_flag=True, help="generate a password and print it once")
def user_add(username: str, role: str, display_name: str, password: str | None, generate: bool) -> None:
    """Create an account."""
    from auth.accounts import create_user

    secret, show = _ask_password(password, generate)
    try:
        made = create_user(_store(), username, secret, role, display_name=display_name, actor="cli")
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"user {made.username} ({made.role}) created" + (f"; password: {secret}" if show else ""))


@user.command("passwd")
@click.argument("username")
@click.option("--password", envvar="OPSC_NEW_PASSWORD", help="(or OPSC_NEW_PASSWORD; default: asked)")
@click.option("--generate", is_flag=True, help="generate a password and print it once")
def user_passwd(username: str, password: str | None, generate: bool) -> None:
    """Set a new password (also lifts a lockout; signs the user out everywhere)."""
    from auth.accounts import set_password

    secret, show = _ask_password(password, generate)
    try:
        set_password(_store(), username, secret, actor="cli")
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"password of {username} changed" + (f": {secret}" if show else ""))


@user.command("role")
@click.argument("username")
@click.argument("role", type=click.Choice(["viewer", "operator", "admin"]))
def user_role(username: str, role: str) -> None:
    """Change an account's role."""
    from auth.accounts import set_role

    try:
        set_role(_store(), username, role, actor="cli")
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{username} is now {role}")


def _set_disabled(username: str, disabled: bool) -> None:
    from auth.accounts import set_disabled

    try:
        set_disabled(_store(), username, disabled, actor="cli")
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{username} {'disabled' if disabled else 'enabled'}")


@user.command("disable")
@click.argument("username")
def user_disable(username: str) -> None:
    """Disable an account (its sessions end at their next request)."""
    _set_disabled(username, True)


@user.command("enable")
@click.argument("username")
def user_enable(username: str) -> None:
    """Enable a disabled account."""
    _set_disabled(username, False)


@user.command("list")
def user_list() -> None:
    """The accounts, their roles and state."""
    from auth.accounts import list_users

    for u in list_users(_store()):
        state = "disabled" if u.disabled else ("locked" if u.locked_until else "active")
        click.echo(f"{u.username:24s} {u.role:9s} {state:9s} {u.display_name}")


@cli.group()
def token() -> None:
    """API tokens (Authorization: Bearer) and kiosk tokens (one wall screen each)."""


@token.command("create")
@click.argument("name")
@click.option("--scope", type=click.Choice(["read", "operator"]), default="read", show_default=True)
@click.option("--wall", help="make a kiosk token for this wall (read-only): open /wall/<wall>?kiosk=1&token=…")
def token_create(name: str, scope: str, wall: str | None) -> None:
    """Create a token and print it once (only its hash is kept)."""
    from auth.tokens import create_token

    engine = _store()
    if wall:
        from wall_config import load_walls

        known = load_walls(_context()[0].walls_file)
        if wall not in known:
            raise click.BadParameter(f"unknown wall {wall!r}; walls: {', '.join(sorted(known))}")
    try:
        made, secret = create_token(engine, "kiosk" if wall else "api", name, scope=scope, wall=wall, actor="cli")
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"token #{made.id} ({made.kind}, {made.scope}) created; it is shown only now:\n{secret}")
    if wall:
        click.echo(f"wall URL: /wall/{wall}?kiosk=1&token={secret}")


@token.command("revoke")
@click.argument("token_id", type=int)
def token_revoke(token_id: int) -> None:
    """Revoke a token: its next request is refused."""
    from auth.tokens import revoke_token

    if not revoke_token(_store(), token_id, actor="cli"):
        raise click.ClickException(f"no live token #{token_id}")
    click.echo(f"token #{token_id} revoked")


@token.command("list")
@click.option("--all", "include_revoked", is_flag=True, help="revoked tokens too")
def token_list(include_revoked: bool) -> None:
    """The tokens (never their secrets)."""
    from auth.tokens import list_tokens

    for tk in list_tokens(_store(), include_revoked):
        where = f"wall={tk.wall}" if tk.wall else f"scope={tk.scope}"
        state = "revoked" if tk.revoked_at else "live"
        click.echo(f"#{tk.id:<5d} {tk.kind:6s} {where:22s} {state:8s} {tk.name}")


if __name__ == "__main__":
    cli()
