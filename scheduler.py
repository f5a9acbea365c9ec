"""The poll scheduler (APScheduler 3): each source on its own interval or cron.

Exactly one scheduler polls at a time, across processes: it holds a lease row in the
store and renews it with every heartbeat; another scheduler started beside it waits
as a standby and takes over only if the holder's heartbeat goes stale. Web workers
never create one — it runs from ``cli.py scheduler`` or the embedded ``app.py``.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

import alerts.notify as notify
from polling import evaluate_alerts, mark_interrupted_runs, poll_source, sync_sources, utcnow
from settings import Settings
from source_config import SourceSpec
from store.schema import scheduler_lease, sources

log = logging.getLogger(__name__)

LEASE_ID = 1
HEARTBEAT_JOB = "heartbeat"
NOTIFY_JOB = "notify"


def try_acquire_lease(engine: Engine, holder: str, timeout: timedelta, now: datetime | None = None) -> bool:
    """Take or renew the scheduler lease; True if ``holder`` holds it afterwards."""
    now = now or utcnow()
    with engine.begin() as conn:
        row = conn.execute(select(scheduler_lease).where(scheduler_lease.c.id == LEASE_ID)).first()
        if row is None:
            try:
                with conn.begin_nested():
                    conn.execute(insert(scheduler_lease).values(id=LEASE_ID, holder=holder, started_at=now, heartbeat_at=now))
                return True
            except IntegrityError:
                return False  # another scheduler inserted it first
        if row.holder != holder and now - row.heartbeat_at < timeout:
            return False
        # Compare-and-set on the row we read, so two standbys cannot both take over.
        started = row.started_at if row.holder == holder else now
        result = conn.execute(
            update(scheduler_lease)
            .where(scheduler_lease.c.id == LEASE_ID, scheduler_lease.c.holder == row.holder,
                   scheduler_lease.c.heartbeat_at == row.heartbeat_at)
            .values(holder=holder, started_at=started, heartbeat_at=now)
        )
        return result.rowcount == 1


def release_lease(engine: Engine, holder: str) -> None:
    with engine.begin() as conn:
        conn.execute(scheduler_lease.delete().where(scheduler_lease.c.id == LEASE_ID, scheduler_lease.c.holder == holder))


class PollScheduler:
    """Schedules one job per enabled source once it holds the lease.

    The alert rules are evaluated after each poll, once every source has finished its
    first poll since the lease was won (see ``_catching_up``).
    """

    def __init__(self, engine: Engine, specs: list[SourceSpec], settings: Settings) -> None:
        self.engine = engine
        self.specs = [s for s in specs if s.enabled]
        self.settings = settings
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.is_leader = False
        self._lock = threading.Lock()
        # Sources whose first poll since this scheduler took the lease has not finished. Until
        # it has, the alert rules wait: after a break, the first source back would otherwise
        # find every other source's stations offline, and their polls would resolve them again.
        self._catching_up: set[str] = set()
        self._catching_up_lock = threading.Lock()
        # Read here, before anything starts: a bad notifications file stops start-up (file:line).
        self.notifier = notify.DeliveryJob(engine, settings)
        self._scheduler = BackgroundScheduler(
            # A thread per source, plus the heartbeat and the notifications (whose slow SMTP
            # server must not starve the heartbeat and lose the lease).
            executors={"default": ThreadPoolExecutor(max_workers=max(3, min(11, len(self.specs) + 2)))},
            job_defaults={"coalesce": True, "max_instances": 1},
            timezone=settings.tz,
        )

    def start(self) -> None:
        """Start heartbeating; polling jobs are added when the lease is won."""
        sync_sources(self.engine, self.specs)
        self._scheduler.add_job(
            self.heartbeat, "interval", seconds=self.settings.scheduler_heartbeat_seconds, id=HEARTBEAT_JOB,
            next_run_time=datetime.now(timezone.utc),
        )
        if self.notifier.active:  # alert notifications (alerts/notify/), sent by the lease holder only
            self.notifier.prepare()
            self.add_leader_job(self.notifier, IntervalTrigger(seconds=notify.CHECK_SECONDS), NOTIFY_JOB)
        self._scheduler.start()
        log.info("scheduler %s started with %d source(s)", self.holder, len(self.specs))

    def shutdown(self) -> None:
        self._scheduler.shutdown(wait=True)
        if self.is_leader:
            release_lease(self.engine, self.holder)
            self.is_leader = False

    def heartbeat(self) -> None:
        """Renew (or try to win) the lease; add or drop the polling jobs to match."""
        try:
            leader = try_acquire_lease(self.engine, self.holder, self.settings.heartbeat_timeout)
        except Exception:  # noqa: BLE001 - a database outage must not kill the scheduler
            log.exception("heartbeat failed; keeping the current role until the database answers")
            return
        with self._lock:
            if leader and not self.is_leader:
                log.info("scheduler %s holds the lease: polling", self.holder)
                self.is_leader = True
                mark_interrupted_runs(self.engine)
                self._add_poll_jobs()
            elif not leader and self.is_leader:
                log.warning("scheduler %s lost the lease: standing by", self.holder)
                self.is_leader = False
                self._remove_poll_jobs()

    def _add_poll_jobs(self) -> None:
        with self._catching_up_lock:
            self._catching_up = {spec.name for spec in self.specs}
        for spec in self.specs:
            trigger = spec.trigger(self.settings.tz)
            self._scheduler.add_job(
                self._run_job, trigger, args=[spec, trigger], id=f"poll:{spec.name}",
                name=spec.name, misfire_grace_time=max(1, spec.interval_seconds),
                next_run_time=datetime.now(timezone.utc), replace_existing=True,
            )

    def _remove_poll_jobs(self) -> None:
        for job in self._scheduler.get_jobs():
            if job.id.startswith("poll:"):
                job.remove()

    def _run_job(self, spec: SourceSpec, trigger: BaseTrigger) -> None:
        if not self.is_leader:
            return
        try:
            poll_source(self.engine, spec, trigger="schedule", evaluate=False)
            with self._catching_up_lock:
                self._catching_up.discard(spec.name)
                caught_up = not self._catching_up
            if caught_up:
                evaluate_alerts(self.engine)
            # Asked of the trigger, not the scheduler: a job must not take the
            # scheduler's lock, which shutdown() holds while it waits for jobs.
            next_run = trigger.get_next_fire_time(None, datetime.now(timezone.utc))
            with self.engine.begin() as conn:
                conn.execute(update(sources).where(sources.c.name == spec.name).values(next_run_at=next_run))
        except Exception:  # noqa: BLE001 - the store was unreachable; the next run retries
            log.exception("could not record a poll of %s", spec.name)

    def add_leader_job(self, func: Callable[[], None], trigger: BaseTrigger, job_id: str, **options: Any) -> None:
        """Schedule ``func`` (e.g. the morning briefing) on ``trigger``; like the polls, it runs
        only while this scheduler holds the lease, so a standby never duplicates it."""
        self._scheduler.add_job(self._run_if_leader, trigger, args=[func, job_id], id=job_id, name=job_id,
                                replace_existing=True, **options)

    def _run_if_leader(self, func: Callable[[], None], job_id: str) -> None:
        if not self.is_leader:
            return
        try:
            func()
        except Exception:  # noqa: BLE001 - logged; the job's next run tries again
            log.exception("job %s failed", job_id)
