"""System health: database, scheduler heartbeat, sources — one verdict for watchdogs."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, select, text

from queries.sources import STATUSES, SourceStatus, source_statuses
from store.schema import scheduler_lease


@dataclass(frozen=True)
class Health:
    status: str  # ok | degraded | down
    checked_at: datetime
    database_ok: bool
    database_error: str | None
    scheduler_holder: str | None
    heartbeat_at: datetime | None
    heartbeat_age_seconds: float | None
    scheduler_ok: bool
    sources: list[SourceStatus] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        found = Counter(s.status for s in self.sources)
        return {status: found.get(status, 0) for status in STATUSES}


def system_health(engine: Engine, now: datetime, heartbeat_timeout: timedelta, stale_after_intervals: float) -> Health:
    """Degraded when the scheduler's heartbeat is old or a source is failing or stale; down without a database."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            lease = conn.execute(select(scheduler_lease)).first()
        statuses = source_statuses(engine, now, stale_after_intervals)
    except Exception as exc:  # noqa: BLE001 - reported, not raised: this is the health check
        return Health("down", now, False, f"{exc.__class__.__name__}: {str(exc).splitlines()[0][:300]}",
                      None, None, None, False)
    age = (now - lease.heartbeat_at).total_seconds() if lease else None
    scheduler_ok = age is not None and age <= heartbeat_timeout.total_seconds()
    troubled = any(s.status in ("failing", "stale") for s in statuses)
    status = "ok" if scheduler_ok and not troubled else "degraded"
    return Health(status, now, True, None, lease.holder if lease else None, lease.heartbeat_at if lease else None,
                  age, scheduler_ok, statuses)
