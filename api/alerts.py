"""Alerts and silences.

    GET  /api/v1/alerts?state=firing|acknowledged|resolved|open|all&severity=critical|major|minor|info&limit=200
         default state "open" (firing or acknowledged); ``counts`` are the open alerts per severity.
    GET  /api/v1/alerts/<id>                    one alert with its history
    POST /api/v1/alerts/<id>/ack                JSON {"by": "name", "note": "..."}
    POST /api/v1/alerts/ack                     JSON {"ids": [1, 2], "by": "name", "note": "..."}
    GET  /api/v1/silences?all=1                 current and future silences (all=1: ended ones too)
    POST /api/v1/silences                       JSON {"rule_id"?, "subject_code"?, "duration": "2h" | "ends_at": ISO,
                                                "starts_at"?: ISO, "by": "name", "reason": "..."}
    POST /api/v1/silences/<id>/expire           end a silence now

Writes need the operator role: a signed-in operator's session (with the CSRF token) or
an API token of scope ``operator`` (``Authorization: Bearer …``); each is audited
(auth/web.py ``api_action``). They also need ``Content-Type: application/json``. The
name recorded is the signed-in user's; with a token, ``by`` if given, and the token's name.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from flask import Blueprint, Response, jsonify, request

from alerts.lifecycle import ACKNOWLEDGED, ALREADY_ACKNOWLEDGED, NOT_FOUND, acknowledge, create_silence, expire_silence
from alerts.rules import current_rules
from api.serialize import YEARS, bad_request, iso, parse_time
from auth.web import actor_name, api_action, current_principal
from queries.alerts import (
    STATE_FILTERS,
    AlertEvent,
    AlertRow,
    SilenceRow,
    alert_history,
    counts_by_severity,
    get_alert,
    list_alerts,
    list_silences,
)
from services import current
from settings import ConfigError
from source_config import parse_duration
from store.schema import ALERT_SEVERITIES

MAX_LIMIT = 1000


def _error(status: int, message: str) -> Response:
    response = jsonify({"error": message})
    response.status_code = status
    return response


def _rule_names() -> dict[str, dict[str, str]]:
    """Rule id → {vi, en} from the rules file; empty if it cannot be read (names are a nicety here)."""
    try:
        rules = current_rules(current().settings.alerts_file)
    except ConfigError:
        return {}
    return {r.id: {"vi": r.name.vi, "en": r.name.en} for r in rules.rules}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def alert_json(a: AlertRow, tz: Any, names: dict[str, dict[str, str]]) -> dict[str, Any]:
    return {
        "id": a.id,
        "rule": {"id": a.rule_id, "name": names.get(a.rule_id)},
        "severity": a.severity,
        "state": a.state,
        "subject": {"kind": a.subject_kind, "code": a.subject_code, "name": a.subject_name},
        "started_at": iso(a.started_at, tz),
        "last_seen_at": iso(a.last_seen_at, tz),
        "resolved_at": iso(a.resolved_at, tz),
        "value": _round(a.value),
        "threshold": _round(a.threshold),
        "message": a.message,
        "message_en": a.message_in("en"),
        "acknowledgement": None if a.ack_at is None else {"by": a.ack_by, "at": iso(a.ack_at, tz), "note": a.ack_note},
        "escalated_at": iso(a.escalated_at, tz),
    }


def event_json(e: AlertEvent, tz: Any) -> dict[str, Any]:
    return {"at": iso(e.at, tz), "event": e.event, "actor": e.actor, "note": e.note, "value": _round(e.value),
            "silence_id": e.silence_id}


def silence_json(s: SilenceRow, tz: Any, now: datetime) -> dict[str, Any]:
    return {
        "id": s.id,
        "rule_id": s.rule_id,
        "subject_code": s.subject_code,
        "starts_at": iso(s.starts_at, tz),
        "ends_at": iso(s.ends_at, tz),
        "active": s.active(now),
        "created_by": s.created_by,
        "created_at": iso(s.created_at, tz),
        "reason": s.reason,
    }


def _who(by: str | None) -> str:
    """The name an API change is recorded under (see the module)."""
    principal = current_principal()
    if principal is None or principal.kind != "token":
        return actor_name(by or "")
    return f"{by} ({principal.name})" if by else principal.name


def _text(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"'{key}' must be a string")
    return value


def register(bp: Blueprint) -> None:
    @bp.get("/alerts")
    def alert_list():  # noqa: ANN202
        svc = current()
        state = request.args.get("state") or "open"
        severity = request.args.get("severity") or None
        if state not in STATE_FILTERS:
            return bad_request(f"state must be one of {', '.join(STATE_FILTERS)}")
        if severity is not None and severity not in ALERT_SEVERITIES:
            return bad_request(f"severity must be one of {', '.join(ALERT_SEVERITIES)}")
        try:
            limit = int(request.args.get("limit", 200))
        except ValueError:
            return bad_request("limit must be a whole number")
        if not 1 <= limit <= MAX_LIMIT:
            return bad_request(f"limit must be between 1 and {MAX_LIMIT}")
        found = list_alerts(svc.engine, state, severity, limit)
        names = _rule_names()
        response = jsonify({
            "state": state,
            "severity": severity,
            "counts": counts_by_severity(svc.engine),
            "count": len(found),
            "alerts": [alert_json(a, svc.settings.tz, names) for a in found],
        })
        response.headers["Cache-Control"] = "no-store"
        return response

    @bp.get("/alerts/<int:alert_id>")
    def alert_detail(alert_id: int):  # noqa: ANN202
        svc = current()
        found = get_alert(svc.engine, alert_id)
        if found is None:
            return _error(404, f"no alert {alert_id}")
        body = alert_json(found, svc.settings.tz, _rule_names())
        body["history"] = [event_json(e, svc.settings.tz) for e in alert_history(svc.engine, alert_id)]
        return jsonify(body)

    def _acknowledge(ids: list[int]) -> Response | tuple[dict[int, str], str]:
        body = request.get_json()
        try:
            who, note = _who(_text(body, "by")), _text(body, "note")
            return acknowledge(current().engine, ids, who, note, datetime.now(timezone.utc)), who
        except ValueError as exc:
            return bad_request(str(exc))

    @bp.post("/alerts/<int:alert_id>/ack")
    @api_action("operator", "alert.acknowledge", lambda alert_id: f"alert:{alert_id}")
    def alert_ack(alert_id: int):  # noqa: ANN202
        done = _acknowledge([alert_id])
        if isinstance(done, Response):
            return done
        outcome = done[0][alert_id]
        if outcome == NOT_FOUND:
            return _error(404, f"no alert {alert_id}")
        if outcome not in (ACKNOWLEDGED, ALREADY_ACKNOWLEDGED):
            return _error(409, f"alert {alert_id} is already resolved; there is nothing to acknowledge")
        svc = current()
        alert = get_alert(svc.engine, alert_id)
        assert alert is not None
        return jsonify({"outcome": outcome, "alert": alert_json(alert, svc.settings.tz, _rule_names())})

    @bp.post("/alerts/ack")
    @api_action("operator", "alert.acknowledge")
    def alerts_ack():  # noqa: ANN202
        ids = request.get_json().get("ids")
        if not isinstance(ids, list) or not ids or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            return bad_request("'ids' must be a non-empty list of alert ids")
        done = _acknowledge(ids)
        if isinstance(done, Response):
            return done
        return jsonify({"outcomes": {str(k): v for k, v in done[0].items()}})

    @bp.get("/silences")
    def silence_list():  # noqa: ANN202
        svc = current()
        now = datetime.now(timezone.utc)
        found = list_silences(svc.engine, now, include_ended=request.args.get("all") in ("1", "true"))
        return jsonify({"silences": [silence_json(s, svc.settings.tz, now) for s in found]})

    @bp.post("/silences")
    @api_action("operator", "alert.silence")
    def silence_create():  # noqa: ANN202
        svc = current()
        tz = svc.settings.tz
        now = datetime.now(timezone.utc)
        body = request.get_json()
        try:
            rule_id, subject = _text(body, "rule_id"), _text(body, "subject_code")
            duration, ends, starts = _text(body, "duration"), _text(body, "ends_at"), _text(body, "starts_at")
            names = _rule_names()
            if rule_id and names and rule_id not in names:
                return bad_request(f"unknown rule {rule_id!r}; see the rules file for the ids")
            try:
                starts_at = parse_time(starts, now, tz)
                ends_at = parse_time(ends, now, tz) if ends else None
            except ValueError:
                return bad_request(f"starts_at and ends_at must be ISO 8601 times {YEARS}, e.g. 2026-11-22T18:00:00+07:00")
            length = None
            if duration:
                length = timedelta(seconds=parse_duration(duration))
            silence = create_silence(svc.engine, _who(_text(body, "by")), _text(body, "reason") or "", now,
                                     ends_at=ends_at, duration=length, starts_at=starts_at, rule_id=rule_id,
                                     subject_code=subject)
        except ValueError as exc:
            return bad_request(str(exc))
        response = jsonify(silence_json(silence, tz, now))
        response.status_code = 201
        return response

    @bp.post("/silences/<int:silence_id>/expire")
    @api_action("operator", "silence.expire", lambda silence_id: f"silence:{silence_id}")
    def silence_expire(silence_id: int):  # noqa: ANN202
        if not expire_silence(current().engine, silence_id, datetime.now(timezone.utc)):
            return _error(404, f"no silence {silence_id} that has not ended")
        return jsonify({"id": silence_id, "expired": True})
