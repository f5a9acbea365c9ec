"""GET /api/v1/sources: every source with its schedule and the outcome of its last run."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from flask import Blueprint, jsonify

from api.serialize import iso
from queries.sources import SourceStatus, source_statuses
from services import current


def source_json(status: SourceStatus, tz: Any) -> dict[str, Any]:
    return {
        "name": status.name,
        "kind": status.kind,
        "schedule": status.schedule,
        "interval_seconds": status.interval_seconds,
        "status": status.status,
        "last_run_at": iso(status.last_run_at, tz),
        "last_success_at": iso(status.last_success_at, tz),
        "next_run_at": iso(status.next_run_at, tz),
        "last_error": status.last_error,
        "last_error_at": iso(status.last_error_at, tz),
        "rows_accepted": status.rows_accepted,
        "rows_rejected": status.rows_rejected,
        "duration_seconds": status.duration_seconds,
        "consecutive_failures": status.consecutive_failures,
        "last_observation_at": iso(status.last_observation_at, tz),
    }


def register(bp: Blueprint) -> None:
    @bp.get("/sources")
    def list_sources():  # noqa: ANN202
        svc = current()
        statuses = source_statuses(svc.engine, datetime.now(timezone.utc), svc.settings.stale_after_intervals)
        return jsonify({"sources": [source_json(s, svc.settings.tz) for s in statuses]})
