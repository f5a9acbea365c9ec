"""The alert evaluation polling runs after each poll, with rules loaded once per process.

The rules file (``ALERTS_FILE``) and the limits file are read on the first call, from
the settings of the environment, unless a caller that holds its own settings called
:func:`configure` first. A rules file that cannot be used is logged once, as an error
naming the file, line and fix, and alerts stay off in this process until it restarts;
the polls themselves never fail because of alerts.

Evaluations are serialised within the process: two polls finishing together would
otherwise race to open the same alert (the database's unique index would refuse the
second, which is then retried once on fresh data).
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from alerts.evaluate import evaluate
from alerts.model import EvaluationResult
from alerts.notify import wake as notify_soon
from alerts.rules import RuleSet, load_rules
from limits import Limits, load_limits
from settings import ConfigError, Settings, load_settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Loaded:
    rules: RuleSet | None  # None: the rules could not be loaded; alerts are off
    limits: Limits | None
    tz_name: str = "Asia/Ho_Chi_Minh"


_lock = threading.Lock()
_loaded: _Loaded | None = None


def configure(rules: RuleSet, limits: Limits, settings: Settings | None = None) -> None:
    """Use these rules and limits in this process (instead of loading them from the environment's settings)."""
    global _loaded
    with _lock:
        _loaded = _Loaded(rules, limits, settings.timezone if settings else "Asia/Ho_Chi_Minh")


def configure_from_settings(settings: Settings) -> RuleSet:
    """Load the rules and limits ``settings`` name; raise :class:`ConfigError` if either is unusable."""
    limits = load_limits(settings.limits_file)
    rules = load_rules(settings.alerts_file, limits)
    configure(rules, limits, settings)
    return rules


def reset() -> None:
    """Forget the loaded rules: the next evaluation loads them again (tests, reloads)."""
    global _loaded
    with _lock:
        _loaded = None


def _load() -> _Loaded:
    global _loaded
    if _loaded is None:
        try:
            settings = load_settings()
            limits = load_limits(settings.limits_file)
            _loaded = _Loaded(load_rules(settings.alerts_file, limits), limits, settings.timezone)
            log.info("alert rules loaded from %s: %d enabled", settings.alerts_file, len(_loaded.rules.enabled()))
        except ConfigError as exc:
            log.error("alerts are off in this process: %s", exc)
            _loaded = _Loaded(None, None)
    return _loaded


def evaluate_after_poll(engine: Engine, now: datetime | None = None) -> EvaluationResult | None:
    """Evaluate every enabled rule at ``now`` (the wall clock by default); None when alerts are off."""
    with _lock:
        loaded = _load()
        if loaded.rules is None:
            return None
        at = now or datetime.now(timezone.utc)
        try:
            result = evaluate(engine, loaded.rules, at, loaded.limits, ZoneInfo(loaded.tz_name))
        except (IntegrityError, OperationalError) as exc:
            # Another process opened the same alert between our read and our write (the unique
            # index refused ours), or wrote while we read (SQLite cannot then upgrade our read):
            # a second pass on fresh data sees its rows and carries on the same episodes.
            log.info("alert evaluation met a concurrent writer (%s); evaluating again", exc.__class__.__name__)
            result = evaluate(engine, loaded.rules, at, loaded.limits, ZoneInfo(loaded.tz_name))
    if result.new_alerts or result.resolved or result.escalated or result.silenced:
        log.info("alerts: %s", result.summary())
    if result.new_alerts or result.resolved or result.escalated:
        notify_soon()  # their notifications are in the outbox (alert_events); send them now, not in 30 s
    return result
