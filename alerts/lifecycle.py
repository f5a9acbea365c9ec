"""The persisted lifecycle of alerts, applied in one transaction per evaluation.

For each rule and subject (the "key"), at most one alert is open (firing or
acknowledged); the database enforces it too (partial unique index ``uq_alerts_open``).

==========================  ===============================================================
condition now               what happens
==========================  ===============================================================
breach, no open alert       a new alert, state firing; event ``fired`` — or ``refired`` when
                            an earlier alert of the same rule and subject was resolved —
                            unless an active silence matches: then no alert, and one
                            ``silenced`` event per silence records what was held back
breach or holding, open     last_seen_at, value, message refreshed; an acknowledged alert
                            stays acknowledged
clear, open                 resolved at ``now``; event ``resolved``
no condition (no data)      nothing changes
rule disabled / removed     its open alerts are resolved, with a note saying why
critical, unacknowledged    escalated once after ``escalate_after`` (rule or file default):
                            ``escalated_at`` and an ``escalated`` event; silenced alerts never
==========================  ===============================================================

Everything is a function of the store and ``now``: evaluating twice at the same ``now``
writes nothing the second time, and a restarted process carries on the same episodes.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Row, insert, select, tuple_, update

from alerts.model import BREACH, CLEAR, Condition, EvaluationResult
from alerts.rules import RuleSet
from queries.alerts import SilenceRow, get_silence
from store.schema import alert_events, alerts, silences

ACKNOWLEDGED = "acknowledged"
ALREADY_ACKNOWLEDGED = "already_acknowledged"
RESOLVED = "resolved"
NOT_FOUND = "not_found"
RULE_GONE = "the rule is disabled or no longer in the rules file"
MAX_ACTOR = 100
MAX_NOTE = 2000


def apply(
    engine: Engine, rules: RuleSet, conditions: Iterable[Condition], now: datetime, warnings: Iterable[str] = ()
) -> EvaluationResult:
    """Apply ``conditions`` (the complete picture at ``now``) to the stored alerts, in one transaction."""
    with engine.begin() as conn:
        return _Transition(conn, rules, now).run(list(conditions), tuple(warnings))


class _Transition:
    def __init__(self, conn: Connection, rules: RuleSet, now: datetime) -> None:
        self.conn, self.rules, self.now = conn, rules, now
        self.enabled = {r.id: r for r in rules.enabled()}
        self.fired: list[int] = []
        self.refired: list[int] = []
        self.resolved: list[int] = []
        self.escalated: list[int] = []
        self.silenced: list[tuple[str, str]] = []
        self.updated = 0
        # Written together at the end of the transition: one statement each, not one per alert.
        self.to_fire: list[Condition] = []
        self.events: list[dict[str, Any]] = []

    def run(self, conditions: list[Condition], warnings: tuple[str, ...]) -> EvaluationResult:
        conn, now = self.conn, self.now
        opened = {
            (r.rule_id, r.subject_kind, r.subject_code): r
            for r in conn.execute(select(alerts).where(alerts.c.state != RESOLVED))
        }
        active = conn.execute(
            select(silences).where(silences.c.starts_at <= now, silences.c.ends_at > now).order_by(silences.c.id)
        ).all()
        # Silences already recorded, so each is recorded once per rule, subject and alert.
        recorded = {
            (e.silence_id, e.rule_id, e.subject_kind, e.subject_code, e.alert_id)
            for e in conn.execute(
                select(alert_events.c.silence_id, alert_events.c.rule_id, alert_events.c.subject_kind,
                       alert_events.c.subject_code, alert_events.c.alert_id)
                .where(alert_events.c.event == "silenced", alert_events.c.silence_id.in_([s.id for s in active]))
            )
        } if active else set()
        silenced_keys: set[tuple[str, str, str]] = set()
        seen: set[tuple[str, str, str]] = set()
        for cond in conditions:
            if cond.key in seen or cond.rule_id not in self.enabled:
                continue
            seen.add(cond.key)
            silence = next((s for s in active if (s.rule_id in (None, cond.rule_id))
                            and (s.subject_code in (None, cond.subject_code))), None) if active else None
            if silence is not None:
                silenced_keys.add(cond.key)
            row = opened.get(cond.key)
            if row is not None:
                if cond.status == CLEAR:
                    self._resolve(row, cond.value, None)
                    del opened[cond.key]
                    continue
                self._persist(row, cond)
                if silence is not None and (silence.id, *cond.key, row.id) not in recorded:
                    self._event(row.id, cond.key, "silenced", note=_silence_note(silence), value=cond.value,
                                silence_id=silence.id)
                    self.silenced.append((cond.rule_id, cond.subject_code))
            elif cond.status == BREACH:
                if silence is None:
                    self.to_fire.append(cond)
                elif (silence.id, *cond.key, None) not in recorded:
                    self._event(None, cond.key, "silenced", note=_silence_note(silence), value=cond.value,
                                silence_id=silence.id)
                    self.silenced.append((cond.rule_id, cond.subject_code))
        for key, row in list(opened.items()):
            if row.rule_id not in self.enabled:
                self._resolve(row, row.value, RULE_GONE)
                del opened[key]
        for key, row in opened.items():
            self._maybe_escalate(row, key in silenced_keys)
        self._fire_all()
        if self.events:
            conn.execute(insert(alert_events), self.events)
        return EvaluationResult(
            now=now, conditions=tuple(conditions), fired=tuple(self.fired), refired=tuple(self.refired),
            resolved=tuple(self.resolved), escalated=tuple(self.escalated), updated=self.updated,
            silenced=tuple(self.silenced), warnings=warnings,
        )

    # -- transitions
    def _fire_all(self) -> None:
        """Open an alert for each of ``to_fire``: ``refired`` when the same rule and subject had one before."""
        if not self.to_fire:
            return
        keys = [c.key for c in self.to_fire]
        previous: dict[tuple[str, str, str], Row[Any]] = {}
        for row in self.conn.execute(
            select(alerts.c.id, alerts.c.rule_id, alerts.c.subject_kind, alerts.c.subject_code, alerts.c.resolved_at)
            .where(tuple_(alerts.c.rule_id, alerts.c.subject_kind, alerts.c.subject_code).in_(keys),
                   alerts.c.state == RESOLVED)
            .order_by(alerts.c.id)
        ):
            previous[(row.rule_id, row.subject_kind, row.subject_code)] = row  # the newest wins
        ids = self.conn.execute(
            insert(alerts).returning(alerts.c.id, sort_by_parameter_order=True),
            [{
                "rule_id": c.rule_id, "subject_kind": c.subject_kind, "subject_code": c.subject_code,
                "subject_name": c.subject_name[:200], "severity": c.severity or self.enabled[c.rule_id].severity,
                "state": "firing", "started_at": self.now, "last_seen_at": self.now, "value": c.value,
                "threshold": c.threshold, "message": c.message_in("vi"), "message_en": c.message_in("en"),
            } for c in self.to_fire],
        ).scalars().all()
        for cond, alert_id in zip(self.to_fire, ids, strict=True):
            before = previous.get(cond.key)
            if before is None:
                self._event(alert_id, cond.key, "fired", value=cond.value)
                self.fired.append(alert_id)
            else:
                note = f"again after alert #{before.id}, resolved {before.resolved_at.isoformat(timespec='seconds')}"
                self._event(alert_id, cond.key, "refired", note=note, value=cond.value)
                self.refired.append(alert_id)

    def _persist(self, row: Row[Any], cond: Condition) -> None:
        values = {
            "last_seen_at": self.now, "value": cond.value, "threshold": cond.threshold,
            "message": cond.message_in("vi"), "message_en": cond.message_in("en"),
            "subject_name": cond.subject_name[:200], "severity": cond.severity or self.enabled[cond.rule_id].severity,
        }
        self.updated += 1
        if any(getattr(row, k) != v for k, v in values.items()):  # same now, same data: no write at all
            self.conn.execute(update(alerts).where(alerts.c.id == row.id).values(**values))

    def _resolve(self, row: Row[Any], value: float | None, note: str | None) -> None:
        self.conn.execute(
            update(alerts).where(alerts.c.id == row.id, alerts.c.state != RESOLVED)
            .values(state=RESOLVED, resolved_at=self.now, value=value)
        )
        self._event(row.id, (row.rule_id, row.subject_kind, row.subject_code), "resolved", note=note, value=value)
        self.resolved.append(row.id)

    def _maybe_escalate(self, row: Row[Any], silenced: bool) -> None:
        rule = self.enabled.get(row.rule_id)
        after = None if rule is None else self.rules.escalate_after(rule, row.severity)
        if (silenced or after is None or row.state != "firing" or row.escalated_at is not None
                or self.now - row.started_at < timedelta(seconds=after)):
            return
        done = self.conn.execute(
            update(alerts).where(alerts.c.id == row.id, alerts.c.state == "firing", alerts.c.escalated_at.is_(None))
            .values(escalated_at=self.now)
        ).rowcount
        if done:
            minutes = int((self.now - row.started_at).total_seconds() // 60)
            self._event(row.id, (row.rule_id, row.subject_kind, row.subject_code), "escalated",
                        note=f"unacknowledged for {minutes} min", value=row.value)
            self.escalated.append(row.id)

    def _event(self, alert_id: int | None, key: tuple[str, str, str], event: str, note: str | None = None,
               value: float | None = None, silence_id: int | None = None) -> None:
        self.events.append(_event_row(alert_id, key, self.now, event, None, note, value, silence_id))


def _event_row(alert_id: int | None, key: tuple[str, str, str], at: datetime, event: str, actor: str | None,
               note: str | None, value: float | None, silence_id: int | None = None) -> dict[str, Any]:
    rule_id, kind, code = key
    return {"alert_id": alert_id, "rule_id": rule_id, "subject_kind": kind, "subject_code": code, "at": at,
            "event": event, "actor": actor, "note": note, "value": value, "silence_id": silence_id}


def _insert_event(conn: Connection, alert_id: int | None, key: tuple[str, str, str], at: datetime, event: str,
                  actor: str | None, note: str | None, value: float | None) -> None:
    conn.execute(insert(alert_events).values(_event_row(alert_id, key, at, event, actor, note, value)))


def _silence_note(silence: Row[Any]) -> str:
    return f"silence #{silence.id} by {silence.created_by} until {silence.ends_at.isoformat(timespec='minutes')}: " \
           f"{silence.reason}"


# --------------------------------------------------------------------------- user actions


def _actor(who: str) -> str:
    who = (who or "").strip()
    if not who:
        raise ValueError("say who is acting: 'by' must not be empty")
    if len(who) > MAX_ACTOR:
        raise ValueError(f"'by' is longer than {MAX_ACTOR} characters")
    return who


def _note(note: str | None) -> str | None:
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise ValueError(f"the note is longer than {MAX_NOTE} characters")
    return note or None


def acknowledge(engine: Engine, alert_ids: Iterable[int], who: str, note: str | None, now: datetime) -> dict[int, str]:
    """Acknowledge firing alerts; return id → acknowledged | already_acknowledged | resolved | not_found.

    One transaction for all of them. A resolved alert cannot be acknowledged (nothing is
    going on any more); acknowledging twice keeps the first acknowledgement.
    """
    who, note = _actor(who), _note(note)
    outcomes: dict[int, str] = {}
    with engine.begin() as conn:
        for alert_id in dict.fromkeys(int(i) for i in alert_ids):
            # Write first, conditional on "firing": an evaluation that resolved it meanwhile wins
            # (and SQLite takes its write lock before reading, so no stale snapshot to upgrade).
            done = conn.execute(
                update(alerts).where(alerts.c.id == alert_id, alerts.c.state == "firing")
                .values(state=ACKNOWLEDGED, ack_by=who, ack_at=now, ack_note=note)
            ).rowcount
            row = conn.execute(
                select(alerts.c.state, alerts.c.rule_id, alerts.c.subject_kind, alerts.c.subject_code, alerts.c.value)
                .where(alerts.c.id == alert_id)
            ).first()
            if row is None:
                outcomes[alert_id] = NOT_FOUND
            elif done:
                _insert_event(conn, alert_id, (row.rule_id, row.subject_kind, row.subject_code), now, "acknowledged",
                              who, note, row.value)
                outcomes[alert_id] = ACKNOWLEDGED
            else:
                outcomes[alert_id] = ALREADY_ACKNOWLEDGED if row.state == ACKNOWLEDGED else RESOLVED
    return outcomes


def create_silence(
    engine: Engine,
    created_by: str,
    reason: str,
    now: datetime,
    *,
    ends_at: datetime | None = None,
    duration: timedelta | None = None,
    starts_at: datetime | None = None,
    rule_id: str | None = None,
    subject_code: str | None = None,
) -> SilenceRow:
    """Hold back new alerts of ``rule_id`` (any rule if None) on ``subject_code`` (any subject if None).

    Give ``ends_at`` or ``duration`` (from ``starts_at``, default ``now``). At least one of
    rule and subject is required: a silence of everything would hide every alert.
    """
    created_by, reason = _actor(created_by), (_note(reason) or "")
    rule_id, subject_code = (rule_id or "").strip() or None, (subject_code or "").strip() or None
    if rule_id is None and subject_code is None:
        raise ValueError("give rule_id, subject_code or both: a silence of everything would hide every alert")
    starts_at = starts_at or now
    if (ends_at is None) == (duration is None):
        raise ValueError("give exactly one of ends_at or duration")
    ends_at = ends_at if ends_at is not None else starts_at + duration  # type: ignore[operator]
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise ValueError("times must carry a time zone")
    if ends_at <= starts_at or ends_at <= now:
        raise ValueError("the silence must end after it starts and after now")
    with engine.begin() as conn:
        silence_id = conn.execute(
            insert(silences).values(rule_id=rule_id, subject_code=subject_code, starts_at=starts_at, ends_at=ends_at,
                                    created_by=created_by, created_at=now, reason=reason).returning(silences.c.id)
        ).scalar_one()
    found = get_silence(engine, silence_id)
    assert found is not None
    return found


def expire_silence(engine: Engine, silence_id: int, now: datetime) -> bool:
    """End a silence now (a future one is cancelled); False if it does not exist or has already ended."""
    with engine.begin() as conn:
        row = conn.execute(select(silences.c.starts_at, silences.c.ends_at).where(silences.c.id == silence_id)).first()
        if row is None or row.ends_at <= now:
            return False
        conn.execute(update(silences).where(silences.c.id == silence_id)
                     .values(starts_at=min(row.starts_at, now), ends_at=now))
    return True
