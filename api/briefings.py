"""Archived briefings (:mod:`briefings.archive`).

    GET /api/v1/briefings?limit=100
        {"count": n, "briefings": [{id, created_at, day, kind, format, status, size, error,
         attempts, url}]}, newest first; ``url`` downloads the file (null unless status is ok).
    GET /api/v1/briefings/<id>/download
        the file, with its type and a name like ban-tin-2026-11-22.pdf; 404 when there is
        no such briefing or no file (failed, still rendering, or deleted by retention).
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request, send_file, url_for

from api.serialize import bad_request, iso
from briefings.archive import MIMETYPES, BriefingRecord, get_briefing, list_briefings
from services import current


def briefing_json(record: BriefingRecord, tz: Any) -> dict[str, Any]:
    ok = record.status == "ok"
    return {
        "id": record.id,
        "created_at": iso(record.created_at, tz),
        "day": record.day.isoformat(),
        "kind": record.kind,
        "format": record.format,
        "status": record.status,
        "size": record.size_bytes,
        "error": record.error,
        "attempts": record.attempts,
        "filename": record.download_name(tz) if ok else None,
        "url": url_for("api_v1.briefing_download", briefing_id=record.id) if ok else None,
    }


def _not_found(message: str) -> Response:
    response = jsonify({"error": message})
    response.status_code = 404
    return response


def register(bp: Blueprint) -> None:
    @bp.get("/briefings")
    def briefing_list():  # noqa: ANN202
        try:
            limit = int(request.args.get("limit", "100"))
        except ValueError:
            return bad_request("limit must be a whole number")
        if not 1 <= limit <= 1000:
            return bad_request("limit must be between 1 and 1000")
        svc = current()
        records = list_briefings(svc.engine, limit)
        response = jsonify({"count": len(records), "briefings": [briefing_json(r, svc.settings.tz) for r in records]})
        response.headers["Cache-Control"] = "no-store"
        return response

    @bp.get("/briefings/<int:briefing_id>/download")
    def briefing_download(briefing_id: int):  # noqa: ANN202
        svc = current()
        record = get_briefing(svc.engine, briefing_id)
        if record is None:
            return _not_found(f"no briefing {briefing_id}; GET /api/v1/briefings lists them")
        path = record.file(svc.settings)
        if record.status != "ok" or path is None or not path.is_file():
            return _not_found(f"briefing {briefing_id} has no file (status {record.status})")
        return send_file(path, mimetype=MIMETYPES[record.format], as_attachment=True,
                         download_name=record.download_name(svc.settings.tz), max_age=0)
