"""Retention: old raw readings go, their hourly roll-ups stay; old poll runs and quarantine go."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import Engine, func, insert, select

from data_sources.base import Batch, Entity, Reading
from ingest import store_batch
from store.retention import prune
from store.schema import hourly, observations, poll_runs, quarantine, sources

NOW = datetime(2026, 11, 22, 0, 0, tzinfo=timezone.utc)
STATIONS = [Entity(f"HNI-AIR-0{i}", "station", f"Trạm {i}", subtype="air", province_code="HNI") for i in (1, 2)]


def count(engine: Engine, table) -> int:  # noqa: ANN001
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_old_readings_go_and_their_roll_ups_stay(any_engine: Engine) -> None:
    # Every 6 hours over 10 days, two stations, two metrics.
    times = [NOW - timedelta(hours=6 * k) for k in range(40)]
    readings = [Reading(s.code, m, at, 10.0 + k, "µg/m³") for s in STATIONS for m in ("PM2.5", "NO2")
                for k, at in enumerate(times)]
    with any_engine.begin() as conn:
        store_batch(conn, None, Batch(entities=STATIONS, readings=readings), now=NOW + timedelta(minutes=1))
    roll_ups = count(any_engine, hourly)
    done = prune(any_engine, NOW, raw_days=3, records_days=0)
    cut = NOW - timedelta(days=3)
    expected_gone = 4 * sum(1 for at in times if at < cut)
    assert done.observations == expected_gone > 0
    with any_engine.connect() as conn:
        oldest = conn.execute(select(func.min(observations.c.ts))).scalar_one()
    assert oldest >= int(cut.timestamp())
    assert count(any_engine, observations) == len(readings) - expected_gone
    assert count(any_engine, hourly) == roll_ups  # history stays readable from the roll-ups
    assert prune(any_engine, NOW, raw_days=3, records_days=0).observations == 0  # nothing left to do


def test_old_poll_runs_and_quarantine_go_but_a_running_poll_stays(any_engine: Engine) -> None:
    old, recent = NOW - timedelta(days=200), NOW - timedelta(days=2)
    with any_engine.begin() as conn:
        sid = conn.execute(insert(sources).values(name="s", kind="demo", schedule="every 1m", interval_seconds=60,
                                                  enabled=True).returning(sources.c.id)).scalar_one()
        for started, status in ((old, "ok"), (old, "running"), (recent, "ok")):
            conn.execute(insert(poll_runs).values(source_id=sid, trigger="schedule", started_at=started, status=status,
                                                  rows_accepted=0, rows_rejected=0))
        for received in (old, recent):
            conn.execute(insert(quarantine).values(source_id=sid, received_at=received, reason="bad", payload="x"))
    done = prune(any_engine, NOW, raw_days=0, records_days=180)
    assert (done.poll_runs, done.quarantine, done.observations) == (1, 1, 0)
    with any_engine.connect() as conn:
        left = conn.execute(select(poll_runs.c.status, poll_runs.c.started_at).order_by(poll_runs.c.id)).all()
    assert [r.status for r in left] == ["running", "ok"]
    assert count(any_engine, quarantine) == 1


def test_the_audit_log_is_kept_for_its_own_period(any_engine: Engine) -> None:
    from auth.audit import record
    from store.schema import audit_log

    for days in (800, 700, 1):
        record(any_engine, "alice", "login.ok", now=NOW - timedelta(days=days))
    assert prune(any_engine, NOW, raw_days=0, records_days=180, audit_days=0).audit == 0  # 0 keeps everything
    done = prune(any_engine, NOW, raw_days=0, records_days=180, audit_days=730)
    assert done.audit == 1
    assert count(any_engine, audit_log) == 2


def test_the_scheduler_prunes_daily_at_the_configured_local_time(tmp_path) -> None:  # noqa: ANN001
    from scheduler import PollScheduler
    from settings import load_settings
    from store.engine import make_engine
    from store.migrate import upgrade
    from store.retention import PRUNE_JOB, add_retention_job

    settings = load_settings(var_dir=tmp_path, prune_time="02:15")
    engine = make_engine(settings.effective_database_url)
    upgrade(engine)
    poller = PollScheduler(engine, [], settings)
    add_retention_job(poller)
    job = poller._scheduler.get_job(PRUNE_JOB)
    trigger = job.trigger
    # 02:15 in Hà Nội, whatever the machine's zone.
    fire = trigger.get_next_fire_time(None, datetime(2026, 12, 1, 0, 0, tzinfo=settings.tz))
    assert (fire.hour, fire.minute, fire.utcoffset()) == (2, 15, timedelta(hours=7))
    engine.dispose()
