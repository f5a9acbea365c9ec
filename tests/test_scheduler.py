"""The scheduler: schedules, one run per source at a time, one scheduler per store."""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from scheduler import PollScheduler, try_acquire_lease
from settings import load_settings
from store.schema import poll_runs, scheduler_lease, sources
from tests.support import SCRIPT, scripted_specs


@pytest.fixture(autouse=True)
def _reset_script():  # noqa: ANN202
    SCRIPT.reset()
    yield
    SCRIPT.reset()


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def runs(engine: Engine, name: str | None = None) -> list[tuple]:
    query = select(sources.c.name, poll_runs.c.status, poll_runs.c.started_at).join(sources)
    if name:
        query = query.where(sources.c.name == name)
    with engine.connect() as conn:
        return conn.execute(query.order_by(poll_runs.c.id)).all()


def test_each_source_polls_on_its_own_schedule_and_failures_stop_nothing(engine: Engine, tmp_path: Path) -> None:
    specs = scripted_specs(tmp_path, "name: fast\nevery: 1s", "name: broken\nevery: 1s\noptions: {entity: B}",
                           "name: slow\nevery: 1h\noptions: {entity: S}")
    SCRIPT.fail["broken"] = "server answered 500"
    poller = PollScheduler(engine, specs, load_settings(var_dir=tmp_path, scheduler_heartbeat_seconds=0.2))
    poller.start()
    try:
        wait_until(lambda: len(runs(engine, "fast")) >= 3)
    finally:
        poller.shutdown()
    assert {r.status for r in runs(engine, "fast")} == {"ok"}
    assert {r.status for r in runs(engine, "broken")} == {"failed"}
    assert len(runs(engine, "broken")) >= 2  # retried on schedule after failing
    assert len(runs(engine, "slow")) == 1  # its first run at start, the next one an hour away
    with engine.connect() as conn:
        next_run = conn.execute(select(sources.c.next_run_at).where(sources.c.name == "slow")).scalar_one()
    assert next_run is not None and next_run.timestamp() - time.time() > 3000


def test_a_source_never_runs_twice_at_once(engine: Engine, tmp_path: Path) -> None:
    (spec,) = scripted_specs(tmp_path, "name: slowpoke\nevery: 1s\ntimeout: 10")
    SCRIPT.sleep["slowpoke"] = 2.5
    poller = PollScheduler(engine, [spec], load_settings(var_dir=tmp_path, scheduler_heartbeat_seconds=0.2))
    poller.start()
    try:
        wait_until(lambda: SCRIPT.calls.get("slowpoke", 0) >= 2, timeout=15)
    finally:
        poller.shutdown()
    assert SCRIPT.max_active["slowpoke"] == 1


def test_only_one_scheduler_polls_and_a_standby_takes_over(engine: Engine, tmp_path: Path) -> None:
    (spec,) = scripted_specs(tmp_path, "name: once\nevery: 1s")
    settings = load_settings(var_dir=tmp_path, scheduler_heartbeat_seconds=0.2)
    first = PollScheduler(engine, [spec], settings)
    second = PollScheduler(engine, [spec], settings)
    first.start()
    wait_until(lambda: first.is_leader)
    second.start()
    try:
        wait_until(lambda: len(runs(engine)) >= 3)
        assert first.is_leader and not second.is_leader
        assert SCRIPT.max_active["once"] == 1
        first.shutdown()  # releases the lease
        wait_until(lambda: second.is_leader, timeout=5)
        with engine.connect() as conn:
            assert conn.execute(select(scheduler_lease.c.holder)).scalar_one() == second.holder
        count = len(runs(engine))
        wait_until(lambda: len(runs(engine)) >= count + 2)
    finally:
        second.shutdown()


def test_a_stale_lease_can_be_taken_but_a_fresh_one_cannot(engine: Engine) -> None:
    from datetime import datetime, timedelta, timezone

    t0 = datetime(2026, 11, 22, tzinfo=timezone.utc)
    timeout = timedelta(seconds=30)
    assert try_acquire_lease(engine, "a", timeout, now=t0)
    assert not try_acquire_lease(engine, "b", timeout, now=t0 + timedelta(seconds=10))
    assert try_acquire_lease(engine, "a", timeout, now=t0 + timedelta(seconds=20))  # renewal
    assert not try_acquire_lease(engine, "b", timeout, now=t0 + timedelta(seconds=45))
    assert try_acquire_lease(engine, "b", timeout, now=t0 + timedelta(seconds=51))
    assert not try_acquire_lease(engine, "a", timeout, now=t0 + timedelta(seconds=52))
