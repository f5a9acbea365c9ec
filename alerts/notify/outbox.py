"""The durable outbox: alert events become notification rows, and pending rows are sent.

Enqueueing reads ``alert_events`` (written in the same transaction as each alert
transition) after each channel's cursor and inserts one ``notifications`` row per
channel and event that the channel wants, then advances the cursor — one transaction,
and the unique (channel, event) key makes a repeat harmless. So a crash anywhere loses
no transition and duplicates none; a new channel starts from the events after it first
appeared, and a channel switched back on from the events after that.

Delivering, per enabled channel, at ``now``:

- due rows: pending with ``next_attempt_at`` ≤ now, oldest first;
- ``digest``: nothing until the oldest due row has waited the interval, then all due
  rows as one message; otherwise one message per row;
- ``rate_limit``: at most ``max`` messages per ``per``; when more are due than remain,
  the last one allowed carries all the rest, and with none left they wait (pending)
  and go together later — nothing is dropped;
- each message is claimed first (so two schedulers overlapping at a lease hand-over do
  not both send it, and a crash mid-send frees it after :data:`CLAIM`), sent outside any
  transaction, then recorded: sent, or retried after a doubling delay, or after
  ``retry.max_attempts`` failed, with the reason (logged as an error).
"""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, and_, exists, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from alerts.notify.config import EmailChannel, Notifications, WebhookChannel
from alerts.notify.message import Item, build_message
from alerts.notify.senders import SendError, send_email, send_webhook
from store.schema import alert_events, alerts, notification_cursors, notifications

log = logging.getLogger(__name__)

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
# On PostgreSQL, ids of concurrent transactions may commit out of order (a manual
# `cli.py poll` evaluating beside the scheduler): events this close behind the cursor are
# looked at again, so one committed late is still enqueued.
LOOKBACK_IDS = 1000
LOOKBACK = timedelta(minutes=10)
# Events older than this are not notified any more (a channel removed and added back
# later must not replay what happened meanwhile).
MAX_AGE = timedelta(days=1)
# How long a claimed message is reserved for the process sending it.
CLAIM = timedelta(minutes=5)
MAX_ERROR = 1000


@dataclass
class DeliveryReport:
    """What one :func:`deliver_pending` did: rows enqueued, messages and rows sent, rows failed."""

    enqueued: int = 0
    messages: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    held: dict[str, int] = field(default_factory=dict)  # channel → rows waiting (digest or rate limit)


def enqueue(engine: Engine, config: Notifications, now: datetime) -> int:
    """Turn new alert events into outbox rows for each channel; return the rows created.

    Call it once when a process starts (a new channel's cursor then starts before the first
    evaluation) and before each delivery. Disabled channels advance their cursor only.
    """
    if not config.channels:
        return 0
    created = 0
    with engine.begin() as conn:
        newest = conn.execute(select(func.max(alert_events.c.id))).scalar() or 0
        cursors = {r.channel: r for r in conn.execute(
            select(notification_cursors).where(notification_cursors.c.channel.in_([c.name for c in config.channels])))}
        for channel in config.channels:
            cursor = cursors.get(channel.name)
            if cursor is None:
                conn.execute(insert(notification_cursors).values(
                    channel=channel.name, first_event_id=newest, last_event_id=newest, created_at=now))
                continue
            if channel.enabled:
                created += _enqueue_channel(conn, channel, cursor.first_event_id, cursor.last_event_id, newest, now)
            if newest > cursor.last_event_id:
                # A disabled channel starts again from here too (first_event_id), so switching it
                # back on sends nothing of what happened while it was off, look-back included.
                moved = {"last_event_id": newest} if channel.enabled else {"last_event_id": newest,
                                                                           "first_event_id": newest}
                conn.execute(update(notification_cursors).where(notification_cursors.c.channel == channel.name)
                             .values(**moved))
    if created:
        log.info("notifications: %d queued", created)
    return created


def _enqueue_channel(conn: Connection, channel: WebhookChannel | EmailChannel, first: int, last: int,
                     newest: int, now: datetime) -> int:
    already = exists().where(notifications.c.channel == channel.name, notifications.c.event_id == alert_events.c.id)
    found = conn.execute(
        select(alert_events.c.id, alert_events.c.alert_id, alert_events.c.event)
        .join(alerts, alerts.c.id == alert_events.c.alert_id)
        .where(alert_events.c.id > max(first, last - LOOKBACK_IDS), alert_events.c.id <= newest,
               or_(alert_events.c.id > last, alert_events.c.at >= now - LOOKBACK),
               alert_events.c.at >= now - MAX_AGE,
               alert_events.c.event.in_(channel.events), alerts.c.severity.in_(channel.severities), ~already)
        .order_by(alert_events.c.id)
    ).all()
    if found:
        conn.execute(insert(notifications), [
            {"channel": channel.name, "event_id": e.id, "alert_id": e.alert_id, "event": e.event, "created_at": now,
             "state": "pending", "attempts": 0, "next_attempt_at": now} for e in found
        ])
    return len(found)


def deliver_pending(
    engine: Engine,
    config: Notifications,
    now: datetime,
    tz: ZoneInfo = VN_TZ,
    rule_names: Mapping[str, Mapping[str, str]] | None = None,
) -> DeliveryReport:
    """Enqueue new alert events, then send what is due on every enabled channel (see the module).

    ``rule_names`` maps a rule id to its name by language ({"vi": ..., "en": ...}); the
    id shows where it has none. A failing channel never stops the others.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    report = DeliveryReport()
    try:
        report.enqueued = enqueue(engine, config, now)
    except (IntegrityError, OperationalError) as exc:
        # Another process enqueued the same events meanwhile: its rows are there; ours next time.
        log.info("notifications: enqueueing met a concurrent writer (%s); sending what is queued",
                 exc.__class__.__name__)
    for channel in config.enabled():
        try:
            _deliver_channel(engine, channel, now, tz, rule_names or {}, report)
        except Exception:  # noqa: BLE001 - one channel's trouble (or the store's) must not stop the others
            log.exception("notifications: channel %s could not be served", channel.name)
    return report


def _due(engine: Engine, channel: str, now: datetime) -> list[Item]:
    query = (
        select(notifications.c.id, notifications.c.channel, notifications.c.event, alert_events.c.at.label("event_at"),
               notifications.c.attempts, notifications.c.created_at, alerts.c.id.label("alert_id"), alerts.c.rule_id,
               alerts.c.severity, alerts.c.state, alerts.c.subject_kind, alerts.c.subject_code, alerts.c.subject_name,
               alerts.c.message, alerts.c.message_en, alerts.c.value, alerts.c.threshold, alerts.c.started_at, alerts.c.resolved_at)
        .join(alerts, alerts.c.id == notifications.c.alert_id)
        .join(alert_events, alert_events.c.id == notifications.c.event_id)
        .where(notifications.c.channel == channel, notifications.c.state == "pending",
               notifications.c.next_attempt_at <= now)
        .order_by(notifications.c.id)
    )
    with engine.connect() as conn:
        return [Item(**row._mapping) for row in conn.execute(query)]


def _sent_messages(engine: Engine, channel: str, since: datetime) -> int:
    with engine.connect() as conn:
        return conn.execute(
            select(func.count(func.distinct(notifications.c.message_key)))
            .where(notifications.c.channel == channel, notifications.c.state == "sent", notifications.c.sent_at > since)
        ).scalar_one()


def _deliver_channel(engine: Engine, channel: WebhookChannel | EmailChannel, now: datetime, tz: ZoneInfo,
                     names: Mapping[str, Mapping[str, str]], report: DeliveryReport) -> None:
    due = _due(engine, channel.name, now)
    if not due:
        return
    if channel.digest and min(i.created_at for i in due) > now - timedelta(seconds=channel.digest):
        report.held[channel.name] = len(due)  # still collecting this interval's events
        return
    batches = [due] if channel.digest else [[i] for i in due]
    if channel.rate_limit:
        limit = channel.rate_limit
        slots = limit.max - _sent_messages(engine, channel.name, now - timedelta(seconds=limit.per))
        if slots <= 0:
            report.held[channel.name] = len(due)
            return
        if len(batches) > slots:
            batches = [*batches[:slots - 1], [i for b in batches[slots - 1:] for i in b]]
    for batch in batches:
        _send(engine, channel, batch, now, tz, names, report)


def message_key(channel: str, ids: Sequence[int]) -> str:
    """The same rows of the same channel always make the same key (the receivers' duplicate check)."""
    digest = hashlib.sha256(f"{channel}:{','.join(map(str, ids))}".encode()).hexdigest()[:32]
    return f"opsc-{digest}"


def _send(engine: Engine, channel: WebhookChannel | EmailChannel, batch: list[Item], now: datetime, tz: ZoneInfo,
          names: Mapping[str, Mapping[str, str]], report: DeliveryReport) -> None:
    ids = [i.id for i in batch]
    key = message_key(channel.name, ids)
    with engine.connect() as conn:
        with conn.begin() as claim:
            claimed = conn.execute(
                update(notifications)
                .where(notifications.c.id.in_(ids), notifications.c.state == "pending",
                       notifications.c.next_attempt_at <= now)
                .values(next_attempt_at=now + CLAIM)
            ).rowcount
            if claimed != len(ids):
                claim.rollback()  # another process is sending some of them
                return
    message = build_message(batch, key, channel.language, tz, names)
    try:
        if isinstance(channel, WebhookChannel):
            send_webhook(channel, message, key)
        else:
            refused = send_email(channel, message, key, now)
            if refused:
                log.warning("notifications: channel %s: the server refused %s", channel.name,
                            ", ".join(sorted(refused)))
    except SendError as exc:
        _record_failure(engine, channel, batch, now, str(exc)[:MAX_ERROR], report)
        return
    except Exception as exc:  # e.g. httpx.InvalidURL: still an attempt, else the claim would repeat forever
        log.exception("notifications: channel %s: unexpected error while sending", channel.name)
        _record_failure(engine, channel, batch, now, f"{exc.__class__.__name__}: {exc}"[:MAX_ERROR], report)
        return
    with engine.begin() as conn:
        conn.execute(update(notifications).where(notifications.c.id.in_(ids))
                     .values(state="sent", sent_at=now, message_key=key, attempts=notifications.c.attempts + 1,
                             last_error=None))
    report.messages += 1
    report.sent += len(ids)
    log.info("notifications: channel %s sent %d event(s) as one message", channel.name, len(ids))


def _record_failure(engine: Engine, channel: WebhookChannel | EmailChannel, batch: list[Item], now: datetime,
                    error: str, report: DeliveryReport) -> None:
    gave_up = []
    with engine.begin() as conn:
        for item in batch:
            attempts = item.attempts + 1
            if attempts >= channel.retry.max_attempts:
                values = {"state": "failed", "attempts": attempts, "last_error": error}
                gave_up.append(item.id)
            else:
                values = {"attempts": attempts, "last_error": error,
                          "next_attempt_at": now + timedelta(seconds=channel.retry.delay(attempts))}
            conn.execute(update(notifications).where(and_(notifications.c.id == item.id,
                                                          notifications.c.state == "pending")).values(**values))
    report.failed += len(gave_up)
    report.retried += len(batch) - len(gave_up)
    if gave_up:
        log.error("notifications: channel %s gave up on %d notification(s) after %d attempts: %s",
                  channel.name, len(gave_up), channel.retry.max_attempts, error)
    if len(gave_up) < len(batch):
        log.warning("notifications: channel %s: attempt failed, will retry: %s", channel.name, error)
