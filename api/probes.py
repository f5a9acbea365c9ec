"""Probes for a watchdog or a load balancer, outside /api/v1 and cheap:

* ``GET /livez``: the process answers (restart it if not);
* ``GET /readyz``: this worker can serve — the store answers and is migrated to this
  code's schema, and the cache answers. 503 with the reasons otherwise (take it out of
  rotation; it comes back by itself when they clear).

The scheduler's own health (heartbeat, sources) is in ``GET /api/v1/health``.
"""
from __future__ import annotations

from flask import Blueprint, Response, jsonify
from sqlalchemy import text

from cache import cache
from services import current
from store.migrate import pending_migrations

blueprint = Blueprint("probes", __name__)


def _no_store(response: Response, status: int) -> Response:
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.get("/livez")
def livez() -> Response:
    return _no_store(jsonify({"status": "alive"}), 200)


@blueprint.get("/readyz")
def readyz() -> Response:
    problems: list[str] = []
    engine = current().engine
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        pending = pending_migrations(engine)
        if pending:
            problems.append(f"database schema is behind this code: run 'python cli.py migrate' ({len(pending)} pending)")
    except Exception as exc:  # noqa: BLE001 - any failure means not ready; say which
        problems.append(f"database: {exc.__class__.__name__}: {str(exc).splitlines()[0][:200]}")
    try:
        cache.set("readyz", "ok", timeout=5)
        if cache.get("readyz") != "ok":
            problems.append("cache: a value written could not be read back")
    except Exception as exc:  # noqa: BLE001
        problems.append(f"cache: {exc.__class__.__name__}: {str(exc).splitlines()[0][:200]}")
    body = {"status": "ready" if not problems else "not_ready", "problems": problems}
    return _no_store(jsonify(body), 200 if not problems else 503)
