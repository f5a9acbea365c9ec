"""Run one poll of one source: fetch with a time limit, store, record the run.

Used by the scheduler and by the ``poll`` CLI command alike, so a run looks the same
in the store however it was started. A failing source records its error and raises
nothing: the caller goes on with the other sources.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Engine, insert, select, update

from alerts.hook import evaluate_after_poll
from data_sources.base import Batch, PollContext, SourceError
from ingest import store_batch
from source_config import SourceSpec
from store.schema import poll_runs, sources

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PollOutcome:
    source: str
    ok: bool
    accepted: int = 0
    rejected: int = 0
    error: str | None = None
    duration_seconds: float = 0.0


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def sync_sources(engine: Engine, specs: list[SourceSpec]) -> dict[str, int]:
    """Make the ``sources`` table match the sources file; return name → id.

    Sources removed from the file are disabled, not deleted: their history stays.
    """
    with engine.begin() as conn:
        existing = {row.name: row.id for row in conn.execute(select(sources.c.name, sources.c.id))}
        for spec in specs:
            values = {
                "kind": spec.kind,
                "schedule": spec.schedule,
                "interval_seconds": spec.interval_seconds,
                "enabled": spec.enabled,
            }
            if spec.name in existing:
                conn.execute(update(sources).where(sources.c.id == existing[spec.name]).values(**values))
            else:
                existing[spec.name] = conn.execute(
                    insert(sources).values(name=spec.name, consecutive_failures=0, **values).returning(sources.c.id)
                ).scalar_one()
        listed = {spec.name for spec in specs}
        gone = [name for name in existing if name not in listed]
        if gone:
            conn.execute(update(sources).where(sources.c.name.in_(gone)).values(enabled=False))
    return existing


def mark_interrupted_runs(engine: Engine) -> int:
    """Runs left 'running' by a process that died are closed as interrupted."""
    with engine.begin() as conn:
        result = conn.execute(
            update(poll_runs)
            .where(poll_runs.c.status == "running")
            .values(status="interrupted", finished_at=utcnow(), error="the process running this poll stopped")
        )
        return result.rowcount


def _fetch_with_timeout(name: str, fetch: Callable[[PollContext], Batch], ctx: PollContext) -> Batch:
    """Call the adapter in a helper thread and give up after the source's timeout.

    Python cannot kill a thread: an adapter that overruns is abandoned (its result
    discarded) and must end by its own network timeouts.
    """
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["batch"] = fetch(ctx)
        except BaseException as exc:  # noqa: BLE001 - carried to the caller's thread
            box["error"] = exc

    worker = threading.Thread(target=target, name=f"poll-{name}", daemon=True)
    worker.start()
    worker.join(ctx.timeout_seconds)
    if worker.is_alive():
        raise TimeoutError(f"poll took longer than its {ctx.timeout_seconds:g} s timeout")
    if "error" in box:
        raise box["error"]
    return box["batch"]


def describe_error(exc: BaseException) -> str:
    """The text operators see: a SourceError's own message; otherwise the exception's type too."""
    text = str(exc).strip() or exc.__class__.__name__
    if isinstance(exc, (SourceError, TimeoutError)) or text.startswith(exc.__class__.__name__):
        return text
    return f"{exc.__class__.__name__}: {text}"


def poll_source(
    engine: Engine,
    spec: SourceSpec,
    trigger: str = "schedule",
    now: datetime | None = None,
    fetch: Callable[[PollContext], Batch] | None = None,
    evaluate: bool = True,
) -> PollOutcome:
    """Poll ``spec`` once and record the run. Database errors propagate; source errors do not.

    ``fetch`` replaces the adapter's ``poll`` (a backfill asks for a window of the
    past instead) and ``now`` the current time the batch is validated against.
    Then the alert rules are evaluated (see :func:`evaluate_alerts`), unless
    ``evaluate`` is false: a caller polling several sources (a backfill's chunks, a
    scheduler's first round, the command line) judges once they are all in.
    """
    outcome = _poll_and_store(engine, spec, trigger, now, fetch)
    if evaluate:
        evaluate_alerts(engine)
    return outcome


def evaluate_alerts(engine: Engine) -> None:
    """Evaluate the alert rules at the wall clock's time (a backfill's ``now`` is in the past),
    after a poll or a backfill.

    Also after a failed poll: it is what a source_failing rule reacts to. Evaluation is
    a consequence of the poll, not part of it: its failure is logged, never the poll's.
    """
    try:
        evaluate_after_poll(engine)
    except Exception:  # noqa: BLE001 - alerts must never fail a poll
        log.exception("alert evaluation after the poll failed")


def _poll_and_store(
    engine: Engine,
    spec: SourceSpec,
    trigger: str,
    now: datetime | None,
    fetch: Callable[[PollContext], Batch] | None,
) -> PollOutcome:
    started = utcnow()
    clock = time.monotonic()
    with engine.begin() as conn:
        row = conn.execute(select(sources.c.id, sources.c.last_observation_at).where(sources.c.name == spec.name)).one()
        source_id, last_obs = row.id, row.last_observation_at
        run_id = conn.execute(
            insert(poll_runs)
            .values(source_id=source_id, trigger=trigger, started_at=started, status="running", rows_accepted=0, rows_rejected=0)
            .returning(poll_runs.c.id)
        ).scalar_one()
    ctx = PollContext(source_name=spec.name, now=now or started, timeout_seconds=spec.timeout_seconds, last_observation_at=last_obs)
    batch: Batch | None = None
    try:
        batch = _fetch_with_timeout(spec.name, fetch or spec.adapter.poll, ctx)
        with engine.begin() as conn:
            result = store_batch(conn, source_id, batch, now=ctx.now)
            duration = time.monotonic() - clock
            finished = utcnow()
            conn.execute(
                update(poll_runs)
                .where(poll_runs.c.id == run_id)
                .values(status="ok", finished_at=finished, rows_accepted=result.accepted, rows_rejected=result.rejected)
            )
            source_values: dict[str, Any] = {
                "last_run_at": started,
                "last_status": "ok",
                "last_success_at": finished,
                "last_rows_accepted": result.accepted,
                "last_rows_rejected": result.rejected,
                "last_duration_seconds": duration,
                "consecutive_failures": 0,
            }
            if result.newest is not None:
                source_values["last_observation_at"] = _newer(last_obs, result.newest)
            conn.execute(update(sources).where(sources.c.id == source_id).values(**source_values))
    except Exception as exc:  # noqa: BLE001 - any failure of a source is recorded, never fatal
        error = describe_error(exc)
        duration = time.monotonic() - clock
        log.warning("source %s failed: %s", spec.name, error)
        if batch is not None:
            for callback in batch.after_rollback:
                _safe(callback)
        with engine.begin() as conn:
            conn.execute(
                update(poll_runs)
                .where(poll_runs.c.id == run_id)
                .values(status="failed", finished_at=utcnow(), error=error[:4000])
            )
            conn.execute(
                update(sources)
                .where(sources.c.id == source_id)
                .values(
                    last_run_at=started,
                    last_status="failed",
                    last_error=error[:4000],
                    last_error_at=utcnow(),
                    last_duration_seconds=duration,
                    consecutive_failures=sources.c.consecutive_failures + 1,
                )
            )
        return PollOutcome(spec.name, ok=False, error=error, duration_seconds=duration)
    for callback in batch.after_commit:
        _safe(callback)
    return PollOutcome(spec.name, ok=True, accepted=result.accepted, rejected=result.rejected, duration_seconds=duration)


def _newer(a: datetime | None, b: datetime) -> datetime:
    return b if a is None or b > a else a


def _safe(callback: Any) -> None:
    try:
        callback()
    except Exception:  # noqa: BLE001 - a clean-up step must not undo a stored batch
        log.exception("after-store step failed")
