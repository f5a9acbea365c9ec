"""The JSON API: /api/v1/health and /api/v1/sources, through the real app factory."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine, update

from app import create_app
from polling import poll_source, sync_sources
from scheduler import try_acquire_lease
from settings import load_settings
from store.schema import sources
from tests.support import SCRIPT, scripted_specs


@pytest.fixture
def setup(engine: Engine, tmp_path: Path):  # noqa: ANN201
    SCRIPT.reset()
    specs = scripted_specs(tmp_path, "name: air\nevery: 1m", "name: water\nevery: 1m\noptions: {entity: W1}")
    settings = load_settings(var_dir=tmp_path, database_url=str(engine.url), scheduler_heartbeat_seconds=10)
    sync_sources(engine, specs)
    app = create_app(settings, specs)
    yield app.server.test_client(), engine, specs
    SCRIPT.reset()


def test_health_is_ok_only_with_a_live_scheduler_and_good_sources(setup) -> None:  # noqa: ANN001
    client, engine, specs = setup
    for spec in specs:
        poll_source(engine, spec)
    response = client.get("/api/v1/health")
    assert response.status_code == 503  # no scheduler heartbeat yet
    assert response.json["scheduler"]["ok"] is False
    assert try_acquire_lease(engine, "test-scheduler", timedelta(seconds=30))
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    body = response.json
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["scheduler"]["holder"] == "test-scheduler"
    assert body["sources"]["counts"]["ok"] == 2
    assert response.headers["Cache-Control"] == "no-store"


def test_a_failing_source_degrades_health_and_shows_its_error(setup) -> None:  # noqa: ANN001
    client, engine, (air, water) = setup
    try_acquire_lease(engine, "test-scheduler", timedelta(seconds=30))
    poll_source(engine, air)
    SCRIPT.fail["water"] = "HTTP 500 from http://127.0.0.1:9/obs"
    poll_source(engine, water)
    response = client.get("/api/v1/health")
    assert response.status_code == 503
    assert response.json["status"] == "degraded"
    items = {i["name"]: i for i in response.json["sources"]["items"]}
    assert items["water"]["status"] == "failing"
    assert "HTTP 500" in items["water"]["last_error"]
    listing = {s["name"]: s for s in client.get("/api/v1/sources").json["sources"]}
    assert listing["air"]["status"] == "ok"
    assert listing["air"]["rows_accepted"] == 1
    assert listing["water"]["consecutive_failures"] == 1
    assert listing["water"]["schedule"] == "every 1m"
    assert listing["air"]["last_success_at"].endswith("+07:00")


def test_a_source_that_stopped_succeeding_is_stale(setup) -> None:  # noqa: ANN001
    client, engine, (air, water) = setup
    try_acquire_lease(engine, "test-scheduler", timedelta(seconds=30))
    poll_source(engine, air)
    poll_source(engine, water)
    old = datetime.now(timezone.utc) - timedelta(minutes=10)  # > 3 intervals of 1 minute
    with engine.begin() as conn:
        conn.execute(update(sources).where(sources.c.name == "air").values(last_success_at=old, last_run_at=old))
    listing = {s["name"]: s["status"] for s in client.get("/api/v1/sources").json["sources"]}
    assert listing == {"air": "stale", "water": "ok"}
    assert client.get("/api/v1/health").status_code == 503


def test_health_says_down_when_the_database_is_unreachable(tmp_path: Path) -> None:
    specs = scripted_specs(tmp_path, "name: air\nevery: 1m")
    settings = load_settings(var_dir=tmp_path, database_url="postgresql://nobody@127.0.0.1:9/none?connect_timeout=1")
    client = create_app(settings, specs).server.test_client()
    response = client.get("/api/v1/health")
    assert response.status_code == 503
    assert response.json["status"] == "down"
    assert response.json["database"]["ok"] is False
    assert response.json["database"]["error"]
