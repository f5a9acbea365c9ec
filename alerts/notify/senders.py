"""Sending one message on one channel: an HTTP POST of JSON, or an e-mail over SMTP.

Each sender returns normally on success and raises :class:`SendError` (with the reason
the outbox records) on failure. Both carry the outbox's message key, so a receiver can
drop the duplicate of a message whose success we could not record (a crash just after
sending): ``Idempotency-Key`` for webhooks, the ``Message-ID`` for e-mail.
"""
from __future__ import annotations

import os
import smtplib
import ssl
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime as rfc2822_date

import httpx

from alerts.notify.config import EmailChannel, WebhookChannel
from alerts.notify.message import Message


class SendError(Exception):
    """A failed attempt; the message is the reason shown to operators."""


def send_webhook(channel: WebhookChannel, message: Message, key: str) -> None:
    headers = {**channel.all_headers(), "Idempotency-Key": key}
    try:
        response = httpx.post(channel.url, json=message.body, headers=headers, timeout=channel.timeout)
    except httpx.HTTPError as exc:
        raise SendError(f"{exc.__class__.__name__}: {exc}") from None
    if not 200 <= response.status_code < 300:
        raise SendError(f"HTTP {response.status_code} from {channel.url}: {response.text.strip()[:200]}")


def build_email(channel: EmailChannel, message: Message, key: str, now: datetime) -> EmailMessage:
    """The e-mail: UTF-8 subject (RFC 2047) and plain-text body, a Message-ID made from ``key``."""
    mail = EmailMessage()
    user, _, domain = channel.from_.rpartition("@")
    mail["From"] = Address(channel.from_name, user, domain) if channel.from_name else channel.from_
    mail["To"] = ", ".join(channel.to)
    mail["Subject"] = message.subject
    mail["Date"] = rfc2822_date(now)
    mail["Message-ID"] = f"<{key}@{domain}>"
    # Quoted-printable: 7-bit on the wire, so a strict server that expects BODY=8BITMIME (which
    # smtplib does not announce) still takes Vietnamese text.
    mail.set_content(message.text, charset="utf-8", cte="quoted-printable")
    return mail


def send_email(channel: EmailChannel, message: Message, key: str, now: datetime) -> dict[str, tuple[int, bytes]]:
    """Send the e-mail; return the recipients the server refused (when it took it for others)."""
    mail = build_email(channel, message, key, now)
    smtp = channel.smtp
    try:
        if smtp.security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout,
                                                    context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout)
        with client:
            if smtp.security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if smtp.username_env:
                client.login(os.environ.get(smtp.username_env, ""), os.environ.get(smtp.password_env or "", ""))
            refused = client.send_message(mail, from_addr=channel.from_, to_addrs=list(channel.to))
    except (smtplib.SMTPException, OSError) as exc:
        raise SendError(f"SMTP {smtp.host}:{smtp.port}: {exc.__class__.__name__}: {exc}") from None
    # Some recipients took it: sending again would duplicate it for them, so it counts as sent.
    return refused
