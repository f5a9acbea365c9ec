"""One poll: recorded runs, failures that stop nothing else, timeouts, interrupted runs."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from polling import mark_interrupted_runs, poll_source, sync_sources
from store.schema import observations, poll_runs, sources
from tests.support import SCRIPT, scripted_specs


@pytest.fixture(autouse=True)
def _reset_script():  # noqa: ANN202
    SCRIPT.reset()
    yield
    SCRIPT.reset()


def source_row(engine: Engine, name: str):  # noqa: ANN201
    with engine.connect() as conn:
        return conn.execute(select(sources).where(sources.c.name == name)).one()


def test_a_failing_source_is_recorded_and_the_others_go_on(engine: Engine, tmp_path: Path) -> None:
    specs = scripted_specs(
        tmp_path, "name: good\nevery: 1m", "name: bad\nevery: 1m", "name: also-good\nevery: 1m\noptions: {entity: TEST-2}"
    )
    sync_sources(engine, specs)
    SCRIPT.fail["bad"] = "HTTP 500 from http://example.invalid/api"
    outcomes = [poll_source(engine, spec) for spec in specs]
    assert [o.ok for o in outcomes] == [True, False, True]
    bad = source_row(engine, "bad")
    assert bad.last_status == "failed"
    assert "HTTP 500" in bad.last_error
    assert bad.consecutive_failures == 1
    assert source_row(engine, "good").last_status == "ok"
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(observations)).scalar_one() == 2
        statuses = conn.execute(select(poll_runs.c.status).order_by(poll_runs.c.id)).scalars().all()
    assert statuses == ["ok", "failed", "ok"]


def test_recovery_resets_the_failure_count(engine: Engine, tmp_path: Path) -> None:
    (spec,) = scripted_specs(tmp_path, "name: flaky\nevery: 1m")
    sync_sources(engine, [spec])
    SCRIPT.fail["flaky"] = "connection refused"
    poll_source(engine, spec)
    poll_source(engine, spec)
    assert source_row(engine, "flaky").consecutive_failures == 2
    del SCRIPT.fail["flaky"]
    assert poll_source(engine, spec).ok
    row = source_row(engine, "flaky")
    assert (row.last_status, row.consecutive_failures, row.last_rows_accepted) == ("ok", 0, 1)
    # The last error stays visible for the operator, with its time, after recovery.
    assert row.last_error == "connection refused"


def test_a_hanging_source_times_out(engine: Engine, tmp_path: Path) -> None:
    (spec,) = scripted_specs(tmp_path, "name: slow\nevery: 1m\ntimeout: 0.3")
    sync_sources(engine, [spec])
    SCRIPT.sleep["slow"] = 2.0
    outcome = poll_source(engine, spec)
    assert not outcome.ok
    assert "timeout" in outcome.error
    assert outcome.duration_seconds < 1.5
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(observations)).scalar_one() == 0


def test_runs_left_running_by_a_dead_process_are_closed(engine: Engine, tmp_path: Path) -> None:
    (spec,) = scripted_specs(tmp_path, "name: a\nevery: 1m")
    sync_sources(engine, [spec])
    with engine.begin() as conn:
        source_id = conn.execute(select(sources.c.id)).scalar_one()
        from polling import utcnow

        conn.execute(poll_runs.insert().values(source_id=source_id, trigger="schedule", started_at=utcnow(), status="running",
                                               rows_accepted=0, rows_rejected=0))
    assert mark_interrupted_runs(engine) == 1
    with engine.connect() as conn:
        assert conn.execute(select(poll_runs.c.status)).scalar_one() == "interrupted"


def test_sources_removed_from_the_file_are_disabled_not_deleted(engine: Engine, tmp_path: Path) -> None:
    a, b = scripted_specs(tmp_path, "name: a\nevery: 1m", "name: b\nevery: 1m")
    sync_sources(engine, [a, b])
    poll_source(engine, b)
    sync_sources(engine, [a])
    row = source_row(engine, "b")
    assert row.enabled is False or row.enabled == 0
    assert row.last_status == "ok"
