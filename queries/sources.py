"""Status of every configured source, as shown on the Sources page and the API."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, select

from store.schema import sources

STATUSES = ("ok", "stale", "failing", "pending", "disabled")


@dataclass(frozen=True)
class SourceStatus:
    name: str
    kind: str
    schedule: str
    interval_seconds: int
    status: str
    last_run_at: datetime | None
    last_success_at: datetime | None
    next_run_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    rows_accepted: int | None
    rows_rejected: int | None
    duration_seconds: float | None
    consecutive_failures: int
    last_observation_at: datetime | None


def classify(row, now: datetime, stale_after_intervals: float) -> str:  # noqa: ANN001 - a result row
    """ok / stale / failing / pending / disabled for one ``sources`` row."""
    if not row.enabled:
        return "disabled"
    if row.last_run_at is None:
        return "pending"
    if row.last_status == "failed":
        return "failing"
    limit = timedelta(seconds=row.interval_seconds * stale_after_intervals)
    if row.last_success_at is None or now - row.last_success_at > limit:
        return "stale"
    return "ok"


def data_fingerprint(engine: Engine) -> str:
    """A short string that changes whenever a poll stores newer readings or a source's status flips.

    One read of the few ``sources`` rows: the memoised reads key on it so that screens
    share one computation until data really changed (see :mod:`queries.cached`). Late
    readings older than a source's newest, and corrections of stored values, do not change
    it; the reads' maximum age covers those.
    """
    with engine.connect() as conn:
        rows = conn.execute(
            select(sources.c.id, sources.c.last_observation_at, sources.c.last_status, sources.c.enabled)
            .order_by(sources.c.id)
        ).all()
    parts = (f"{r.id}:{r.last_observation_at.timestamp() if r.last_observation_at else ''}:"
             f"{r.last_status or ''}:{int(bool(r.enabled))}" for r in rows)
    return hashlib.blake2b(";".join(parts).encode(), digest_size=8).hexdigest()


def source_statuses(engine: Engine, now: datetime, stale_after_intervals: float) -> list[SourceStatus]:
    with engine.connect() as conn:
        rows = conn.execute(select(sources).order_by(sources.c.name)).all()
    return [
        SourceStatus(
            name=row.name,
            kind=row.kind,
            schedule=row.schedule,
            interval_seconds=row.interval_seconds,
            status=classify(row, now, stale_after_intervals),
            last_run_at=row.last_run_at,
            last_success_at=row.last_success_at,
            next_run_at=row.next_run_at,
            last_error=row.last_error,
            last_error_at=row.last_error_at,
            rows_accepted=row.last_rows_accepted,
            rows_rejected=row.last_rows_rejected,
            duration_seconds=row.last_duration_seconds,
            consecutive_failures=row.consecutive_failures,
            last_observation_at=row.last_observation_at,
        )
        for row in rows
    ]
