"""Retention: raw readings older than RAW_RETENTION_DAYS go; the hourly roll-ups stay, so
charts, indices and KPIs over older periods keep working. Poll-run records and the
quarantine are kept RECORDS_RETENTION_DAYS. 0 keeps everything.

Raw readings are deleted one series at a time through the primary key (series_id, ts),
so each statement is small and the store stays responsive while a prune runs.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, select

from store.schema import observations, poll_runs, quarantine, series


@dataclass(frozen=True)
class Pruned:
    observations: int
    poll_runs: int
    quarantine: int


def prune(engine: Engine, now: datetime, raw_days: int, records_days: int) -> Pruned:
    """Delete what is older than the retention periods; return how many rows went."""
    removed_obs = removed_runs = removed_quarantine = 0
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
    return Pruned(removed_obs, removed_runs, removed_quarantine)
