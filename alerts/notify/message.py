"""What a notification says: the subject and text (from the i18n catalogue, Vietnamese by
default) and the webhook's JSON body, for one alert event or several folded together."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from i18n import format_time, t
from queries.alerts import message_in
from store.schema import ALERT_SEVERITIES


@dataclass(frozen=True)
class Item:
    """One outbox row with the alert and event it announces."""

    id: int
    channel: str
    event: str  # fired | refired | escalated | resolved
    event_at: datetime
    attempts: int
    created_at: datetime
    alert_id: int
    rule_id: str
    severity: str
    state: str  # the alert's state now, at sending
    subject_kind: str
    subject_code: str
    subject_name: str
    message: str  # Vietnamese
    message_en: str
    value: float | None
    threshold: float | None
    started_at: datetime
    resolved_at: datetime | None


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    body: dict[str, Any]  # the webhook's JSON


def _iso(value: datetime | None, tz: ZoneInfo) -> str | None:
    return None if value is None else value.astimezone(tz).isoformat(timespec="seconds")


def _rule_name(item: Item, names: Mapping[str, Mapping[str, str]], lang: str) -> str:
    return (names.get(item.rule_id) or {}).get(lang) or item.rule_id


def _headline(item: Item, names: Mapping[str, Mapping[str, str]], lang: str) -> str:
    return t("notify.subject", lang, severity=t(f"alert.severity.{item.severity}", lang),
             event=t(f"notify.event.{item.event}", lang), subject=item.subject_name,
             rule=_rule_name(item, names, lang))


def _block(item: Item, names: Mapping[str, Mapping[str, str]], lang: str, tz: ZoneInfo) -> str:
    lines = [
        _headline(item, names, lang),
        t("notify.line.message", lang, message=message_in(lang, item.message, item.message_en) or "—"),
        t("notify.line.state", lang, state=t(f"alerts.state.{item.state}", lang)),
        t("notify.line.started", lang, time=format_time(item.started_at, tz, lang)),
    ]
    if item.resolved_at is not None:
        lines.append(t("notify.line.resolved", lang, time=format_time(item.resolved_at, tz, lang)))
    lines.append(t("notify.line.alert", lang, id=item.alert_id, subject=f"{item.subject_kind} {item.subject_code}"))
    return "\n".join(lines)


def build_message(items: Sequence[Item], key: str, lang: str, tz: ZoneInfo,
                  rule_names: Mapping[str, Mapping[str, str]] | None = None) -> Message:
    """The message of ``items`` (one event, or a digest of several, oldest first)."""
    names = rule_names or {}
    if len(items) == 1:
        subject = _headline(items[0], names, lang)
    else:
        worst = min((i.severity for i in items), key=ALERT_SEVERITIES.index)
        subject = t("notify.digest_subject", lang, severity=t(f"alert.severity.{worst}", lang), n=len(items))
    parts = [_block(i, names, lang, tz) for i in items]
    if len(items) > 1:
        parts.insert(0, t("notify.digest_intro", lang, n=len(items)))
    text = "\n\n".join([*parts, t("notify.footer", lang)]) + "\n"
    body = {
        "key": key,
        "channel": items[0].channel,
        "title": subject,
        "text": text,
        "count": len(items),
        "notifications": [
            {
                "event": i.event, "at": _iso(i.event_at, tz), "alert_id": i.alert_id, "rule": i.rule_id,
                "rule_name": _rule_name(i, names, lang), "severity": i.severity, "state": i.state,
                "subject": {"kind": i.subject_kind, "code": i.subject_code, "name": i.subject_name},
                "message": message_in(lang, i.message, i.message_en), "value": i.value, "threshold": i.threshold,
                "started_at": _iso(i.started_at, tz), "resolved_at": _iso(i.resolved_at, tz),
            }
            for i in items
        ],
    }
    return Message(subject, text, body)
