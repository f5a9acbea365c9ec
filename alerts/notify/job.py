"""The scheduler's delivery job: configured once at start-up, called every few seconds."""
from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timezone

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from alerts.notify.config import load_notifications
from alerts.notify.outbox import DeliveryReport, deliver_pending, enqueue
from alerts.rules import current_rules
from settings import ConfigError, Settings

log = logging.getLogger(__name__)

# The job checks this often whether the poll hook woke it, and delivers at least every
# EVERY_SECONDS (retries and digests fall due with time alone).
CHECK_SECONDS = 2.0
EVERY_SECONDS = 30.0

# Set by the poll hook, cleared by the delivery job. An event, not a call into the
# scheduler: the hook runs inside a poll job, which must not take the scheduler's locks.
_wake = threading.Event()


def wake() -> None:
    """Ask the delivery job to deliver at its next check (alerts changed)."""
    _wake.set()


class DeliveryJob:
    """Delivers the notifications of ``settings.notifications_file``; a bad file raises
    :class:`ConfigError` here, so start-up fails with the file, line and fix."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine, self.settings = engine, settings
        self.config = load_notifications(settings.notifications_file)
        self._last = 0.0

    @property
    def active(self) -> bool:
        """Whether the file has channels (disabled ones too: their cursors must keep up)."""
        return bool(self.config.channels)

    def prepare(self) -> None:
        """Start new channels' cursors now, before the first evaluation's events."""
        try:
            enqueue(self.engine, self.config, datetime.now(timezone.utc))
        except (IntegrityError, OperationalError) as exc:  # a second scheduler did it meanwhile, or the store is down
            log.info("notification channels not prepared (%s); the delivery job will", exc.__class__.__name__)

    def __call__(self) -> DeliveryReport | None:
        now = time.monotonic()
        woken = _wake.is_set()
        if not woken and now - self._last < EVERY_SECONDS:
            return None
        _wake.clear()
        self._last = now
        try:
            rules = current_rules(self.settings.alerts_file).rules
            names = {r.id: {"vi": r.name.vi, "en": r.name.en} for r in rules}
        except ConfigError:
            names = {}  # the rule ids show instead of their names
        return deliver_pending(self.engine, self.config, datetime.now(timezone.utc), self.settings.tz, names)
