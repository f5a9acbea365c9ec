"""Alerts, their history and silences, as plain data for pages and the API (read only)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, case, func, select

from store.schema import ALERT_SEVERITIES, ALERT_STATES, alert_events, alerts, silences

OPEN_STATES = ("firing", "acknowledged")
# Filters accepted by list_alerts besides the three states.
STATE_FILTERS = (*ALERT_STATES, "open", "all")
_SEVERITY_RANK = case({s: i for i, s in enumerate(ALERT_SEVERITIES)}, value=alerts.c.severity, else_=len(ALERT_SEVERITIES))


@dataclass(frozen=True)
class AlertRow:
    id: int
    rule_id: str
    subject_kind: str
    subject_code: str
    subject_name: str
    severity: str
    state: str
    started_at: datetime
    last_seen_at: datetime
    resolved_at: datetime | None
    value: float | None
    threshold: float | None
    message: str  # Vietnamese
    ack_by: str | None
    ack_at: datetime | None
    ack_note: str | None
    escalated_at: datetime | None
    message_en: str = ""  # English; "" for alerts stored before there was one

    def message_in(self, lang: str) -> str:
        return message_in(lang, self.message, self.message_en)


def message_in(lang: str, vi: str, en: str) -> str:
    """An alert's message in ``lang``, or the Vietnamese one where there is none in that language."""
    return (en if lang == "en" else "") or vi


@dataclass(frozen=True)
class AlertEvent:
    id: int
    alert_id: int | None  # None: a condition held back by a silence
    rule_id: str
    subject_kind: str
    subject_code: str
    at: datetime
    event: str
    actor: str | None
    note: str | None
    value: float | None
    silence_id: int | None


@dataclass(frozen=True)
class SilenceRow:
    id: int
    rule_id: str | None  # None: every rule
    subject_code: str | None  # None: every subject
    starts_at: datetime
    ends_at: datetime
    created_by: str
    created_at: datetime
    reason: str

    def active(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at


_ALERT_COLUMNS = [alerts.c[name] for name in AlertRow.__dataclass_fields__]


def list_alerts(
    engine: Engine, state: str | None = "open", severity: str | None = None, limit: int = 200
) -> list[AlertRow]:
    """Alerts in ``state`` (firing, acknowledged, resolved, open = firing or acknowledged, all/None = any).

    Open alerts come most severe first, then newest; resolved ones most recently resolved first.
    """
    if state not in (*STATE_FILTERS, None):
        raise ValueError(f"state must be one of {', '.join(STATE_FILTERS)}")
    if severity is not None and severity not in ALERT_SEVERITIES:
        raise ValueError(f"severity must be one of {', '.join(ALERT_SEVERITIES)}")
    query = select(*_ALERT_COLUMNS)
    if state == "open":
        query = query.where(alerts.c.state.in_(OPEN_STATES))
    elif state in ALERT_STATES:
        query = query.where(alerts.c.state == state)
    if severity is not None:
        query = query.where(alerts.c.severity == severity)
    if state == "resolved":
        query = query.order_by(alerts.c.resolved_at.desc(), alerts.c.id.desc())
    else:
        query = query.order_by(_SEVERITY_RANK, alerts.c.started_at.desc(), alerts.c.id.desc())
    with engine.connect() as conn:
        rows = conn.execute(query.limit(max(1, int(limit)))).all()
    return [AlertRow(*row) for row in rows]


def get_alert(engine: Engine, alert_id: int) -> AlertRow | None:
    with engine.connect() as conn:
        row = conn.execute(select(*_ALERT_COLUMNS).where(alerts.c.id == alert_id)).first()
    return AlertRow(*row) if row else None


def counts_by_severity(engine: Engine, states: tuple[str, ...] = OPEN_STATES) -> dict[str, int]:
    """How many alerts in ``states`` per severity, every severity present (most severe first)."""
    with engine.connect() as conn:
        found = dict(conn.execute(
            select(alerts.c.severity, func.count()).where(alerts.c.state.in_(states)).group_by(alerts.c.severity)
        ).all())
    return {s: int(found.get(s, 0)) for s in ALERT_SEVERITIES}


_EVENT_COLUMNS = [alert_events.c[name] for name in AlertEvent.__dataclass_fields__]


def alert_history(engine: Engine, alert_id: int) -> list[AlertEvent]:
    """Every event of one alert, oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(*_EVENT_COLUMNS).where(alert_events.c.alert_id == alert_id)
            .order_by(alert_events.c.at, alert_events.c.id)
        ).all()
    return [AlertEvent(*r) for r in rows]


def subject_history(engine: Engine, rule_id: str, subject_code: str, limit: int = 200) -> list[AlertEvent]:
    """Events of a rule on a subject across its alerts, silenced conditions included, newest first."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(*_EVENT_COLUMNS)
            .where(alert_events.c.rule_id == rule_id, alert_events.c.subject_code == subject_code)
            .order_by(alert_events.c.at.desc(), alert_events.c.id.desc()).limit(max(1, int(limit)))
        ).all()
    return [AlertEvent(*r) for r in rows]


_SILENCE_COLUMNS = [silences.c[name] for name in SilenceRow.__dataclass_fields__]


def list_silences(engine: Engine, now: datetime, include_ended: bool = False, limit: int = 500) -> list[SilenceRow]:
    """Silences not yet ended at ``now`` (current and future), or all of them; latest ending first."""
    query = select(*_SILENCE_COLUMNS)
    if not include_ended:
        query = query.where(silences.c.ends_at > now)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(silences.c.ends_at.desc(), silences.c.id.desc())
                            .limit(max(1, int(limit)))).all()
    return [SilenceRow(*r) for r in rows]


def get_silence(engine: Engine, silence_id: int) -> SilenceRow | None:
    with engine.connect() as conn:
        row = conn.execute(select(*_SILENCE_COLUMNS).where(silences.c.id == silence_id)).first()
    return SilenceRow(*row) if row else None
