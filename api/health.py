"""GET /api/v1/health: 200 when all is well, 503 when degraded or down (for watchdogs)."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint, jsonify

from api.serialize import iso
from queries.health import system_health
from services import current


def register(bp: Blueprint) -> None:
    @bp.get("/health")
    def health():  # noqa: ANN202
        svc = current()
        tz = svc.settings.tz
        report = system_health(
            svc.engine, datetime.now(timezone.utc), svc.settings.heartbeat_timeout, svc.settings.stale_after_intervals
        )
        body = {
            "status": report.status,
            "checked_at": iso(report.checked_at, tz),
            "database": {"ok": report.database_ok, "error": report.database_error},
            "scheduler": {
                "ok": report.scheduler_ok,
                "holder": report.scheduler_holder,
                "heartbeat_at": iso(report.heartbeat_at, tz),
                "heartbeat_age_seconds": None if report.heartbeat_age_seconds is None else round(report.heartbeat_age_seconds, 1),
            },
            "sources": {
                "counts": report.counts,
                "items": [
                    {"name": s.name, "status": s.status, "last_success_at": iso(s.last_success_at, tz), "last_error": s.last_error}
                    for s in report.sources
                ],
            },
        }
        response = jsonify(body)
        response.status_code = 200 if report.status == "ok" else 503
        response.headers["Cache-Control"] = "no-store"
        return response
