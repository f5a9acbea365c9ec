"""Retention: raw readings older than RAW_RETENTION_DAYS go; the hourly roll-ups stay, so
charts, indices and KPIs over older periods keep working. Poll-run records and the
quarantine are kept RECORDS_RETENTION_DAYS, the audit log AUDIT_RETENTION_DAYS. 0 keeps
everything. The scheduler prunes once a day at PRUNE_TIME (:func:`add_retention_job`);
``cli.py prune`` does it now.

Raw readings are deleted one series at a time through the primary key (series_id, ts),
so each statement is small and the store stays responsive while a prune runs.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import Engine, delete, select

from store.schema import audit_log, observations, poll_runs, quarantine, series

if TYPE_CHECKING:
    from scheduler import PollScheduler

log = logging.getLogger(__name__)
PRUNE_JOB = "retention:prune"


@dataclass(frozen=True)
class Pruned:
    observations: int
    poll_runs: int
    quarantine: int
    audit: int = 0


def prune(engine: Engine, now: datetime, raw_days: int, records_days: int, audit_days: int = 0) -> Pruned:
    """Delete what is older than the retention periods; return how many rows went."""
    removed_obs = removed_runs = removed_quarantine = removed_audit = 0
    if raw_days > 0:
        cut = int((now - timedelta(days=raw_days)).timestamp())
        with engine.connect() as conn:
            ids = conn.execute(select(series.c.id).order_by(series.c.id)).scalars().all()
        for sid in ids:
            with engine.begin() as conn:
                removed_obs += conn.execute(
                    delete(observations).where(observations.c.series_id == sid, observations.c.ts < cut)
                ).rowcount or 0
    if records_days > 0:
        cut_time = now - timedelta(days=records_days)
        with engine.begin() as conn:
            removed_runs = conn.execute(
                delete(poll_runs).where(poll_runs.c.started_at < cut_time, poll_runs.c.status != "running")
            ).rowcount or 0
            removed_quarantine = conn.execute(delete(quarantine).where(quarantine.c.received_at < cut_time)).rowcount or 0
    if audit_days > 0:
        with engine.begin() as conn:
            removed_audit = conn.execute(
                delete(audit_log).where(audit_log.c.at < now - timedelta(days=audit_days))).rowcount or 0
    return Pruned(removed_obs, removed_runs, removed_quarantine, removed_audit)


def add_retention_job(poller: PollScheduler) -> None:
    """Prune once a day at PRUNE_TIME (local), run only by the scheduler holding the lease."""
    settings, engine = poller.settings, poller.engine
    hour, minute = (int(part) for part in settings.prune_time.split(":"))

    def daily() -> None:
        done = prune(engine, datetime.now(timezone.utc), settings.raw_retention_days,
                     settings.records_retention_days, settings.audit_retention_days)
        log.info("retention: pruned %d readings, %d poll runs, %d quarantined records, %d audit entries",
                 done.observations, done.poll_runs, done.quarantine, done.audit)

    poller.add_leader_job(daily, CronTrigger(hour=hour, minute=minute, timezone=settings.tz), PRUNE_JOB,
                          misfire_grace_time=3600)
