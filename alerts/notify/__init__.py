"""Alert notifications: webhooks and e-mail (SMTP), from a durable outbox in the store.

- :mod:`alerts.notify.config` — the operator's channels file (``NOTIFICATIONS_FILE``);
- :mod:`alerts.notify.outbox` — alert events → outbox rows → messages, with retries, a
  rate limit and digests; nothing lost or sent twice across restarts;
- :mod:`alerts.notify.message` — subject, text (i18n catalogue, Vietnamese by default) and JSON;
- :mod:`alerts.notify.senders` — the HTTP POST and the SMTP conversation;
- :mod:`alerts.notify.job` — the scheduler's job.

The scheduler runs :class:`DeliveryJob` while it holds the lease; :func:`wake` (called by
the poll hook after transitions) asks for a delivery at its next check, without waiting
for the interval.
"""
from __future__ import annotations

from alerts.notify.config import EmailChannel, Notifications, WebhookChannel, load_notifications
from alerts.notify.job import CHECK_SECONDS, DeliveryJob, wake
from alerts.notify.outbox import DeliveryReport, deliver_pending, enqueue

__all__ = ["CHECK_SECONDS", "DeliveryJob", "DeliveryReport", "EmailChannel", "Notifications", "WebhookChannel",
           "deliver_pending", "enqueue", "load_notifications", "wake"]
