"""PostgreSQL restarted under a running scheduler: polling recovers by itself."""
from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from queries.health import system_health
from scheduler import PollScheduler
from settings import load_settings
from store.engine import make_engine
from store.migrate import upgrade
from store.schema import poll_runs
from tests.servers import PostgresServer
from tests.support import SCRIPT, scripted_specs

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def ok_runs_after(engine, moment: datetime) -> int:  # noqa: ANN001
    with engine.connect() as conn:
        return len(conn.execute(select(poll_runs.c.id).where(poll_runs.c.status == "ok", poll_runs.c.started_at > moment)).all())


def wait_until(condition, timeout: float) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except Exception:  # noqa: BLE001 - the database may still be coming back
            pass
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def test_scheduler_survives_a_postgresql_restart(tmp_path: Path) -> None:
    SCRIPT.reset()
    server = PostgresServer().start()  # its own server: the session one stays up for other tests
    engine = make_engine(server.url())
    upgrade(engine)
    specs = scripted_specs(tmp_path, "name: steady\nevery: 1s")
    settings = load_settings(var_dir=tmp_path, scheduler_heartbeat_seconds=0.5)
    poller = PollScheduler(engine, specs, settings)
    poller.start()
    try:
        started = datetime.now(timezone.utc)
        wait_until(lambda: ok_runs_after(engine, started) >= 2, 20)
        server.stop()
        time.sleep(3)  # polls and heartbeats fail meanwhile; the scheduler must not die
        down = system_health(engine, datetime.now(timezone.utc), settings.heartbeat_timeout, 3)
        assert down.status == "down" and not down.database_ok
        server.start()
        back = datetime.now(timezone.utc)
        wait_until(lambda: ok_runs_after(engine, back) >= 2, 30)
        health = system_health(engine, datetime.now(timezone.utc), settings.heartbeat_timeout, 3)
        assert health.database_ok and health.scheduler_ok
        assert poller.is_leader
    finally:
        poller.shutdown()
        engine.dispose()
        server.destroy()
        SCRIPT.reset()
