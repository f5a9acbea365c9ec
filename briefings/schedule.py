"""The morning briefing: once per local day and format, at ``BRIEFING_TIME`` in ``TIMEZONE``.

:func:`produce_morning_briefing` is idempotent per day: it claims each format's row
(:func:`briefings.archive.claim_morning`), so calling it again the same day, from a
restarted process or from a second scheduler, produces nothing more; a failed format is
tried again on a later call, up to :data:`briefings.archive.MAX_ATTEMPTS` attempts.

:func:`add_briefing_jobs` puts two jobs on the poll scheduler, run only by the lease
holder: the cron job at ``BRIEFING_TIME``, and a check every few minutes that retries a
failed format and makes up a briefing missed while no scheduler ran (restart after 07:00).
"""
from __future__ import annotations

import logging
from datetime import datetime, time, timedelta, timezone

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine

from briefings.archive import BriefingRecord, claim_morning, finish_failed, morning_record, prune
from briefings.compose import collect_briefing
from briefings.produce import render_and_archive
from briefings.render import Chromium
from scheduler import PollScheduler
from settings import Settings

log = logging.getLogger(__name__)

MORNING_FORMATS = ("pdf", "png", "html")
MORNING_JOB = "briefing:morning"
CATCH_UP_JOB = "briefing:catch-up"
# Retries come this long apart, and the first check waits as long after a start, so a
# restarted scheduler has polled its sources before it composes a late briefing.
CATCH_UP_EVERY = timedelta(minutes=10)


def briefing_clock(settings: Settings) -> time:
    hour, minute = (int(part) for part in settings.briefing_time.split(":"))
    return time(hour, minute)


def morning_due(settings: Settings, now: datetime) -> bool:
    """True once ``now`` is past today's briefing time (local)."""
    return now.astimezone(settings.tz).time() >= briefing_clock(settings)


def produce_morning_briefing(
    engine: Engine, settings: Settings, now: datetime | None = None, *, formats: tuple[str, ...] = MORNING_FORMATS,
    executable: str | None = None, browser: Chromium | None = None,
) -> list[BriefingRecord]:
    """Produce what is missing of the morning briefing of ``now``'s local day; its row per format.

    Each row is ok, failed (with its error and attempts), or running in another process.
    """
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    day = now.astimezone(settings.tz).date()
    claimed = {fmt: record_id for fmt in formats
               if (record_id := claim_morning(engine, day, fmt, now)) is not None}
    if claimed:
        log.info("producing the morning briefing of %s: %s", day, ", ".join(claimed))
        own = browser or Chromium(executable)
        try:
            data = collect_briefing(engine, settings, now)
        except Exception as exc:  # noqa: BLE001 - the claims must not stay running
            for record_id in claimed.values():
                finish_failed(engine, record_id, f"could not read the figures: {exc.__class__.__name__}: {exc}")
        else:
            try:
                for fmt, record_id in claimed.items():
                    render_and_archive(engine, settings, data, fmt, record_id, own)
            finally:
                if browser is None:
                    own.close()
        prune(engine, settings, now)
    return [record for fmt in formats if (record := morning_record(engine, day, fmt)) is not None]


def add_briefing_jobs(poller: PollScheduler) -> None:
    """Schedule the morning briefing on ``poller`` (runs only while it holds the lease)."""
    settings, engine = poller.settings, poller.engine
    clock = briefing_clock(settings)

    def morning() -> None:
        produce_morning_briefing(engine, settings)

    def catch_up() -> None:
        now = datetime.now(timezone.utc)
        if morning_due(settings, now):
            produce_morning_briefing(engine, settings, now)

    poller.add_leader_job(morning, CronTrigger(hour=clock.hour, minute=clock.minute, timezone=settings.tz),
                          MORNING_JOB, misfire_grace_time=3600)
    first = datetime.now(timezone.utc) + CATCH_UP_EVERY
    poller.add_leader_job(catch_up, IntervalTrigger(seconds=CATCH_UP_EVERY.total_seconds(), start_date=first),
                          CATCH_UP_JOB)
