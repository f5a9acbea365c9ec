"""The command line, run as an operator would: a real process with environment settings."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from store.engine import make_engine
from store.schema import observations, poll_runs, sources
from tests.servers import free_port

ROOT = Path(__file__).resolve().parent.parent


def run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {**os.environ, "VAR_DIR": str(tmp_path / "var"), "SOURCES_FILE": str(tmp_path / "sources.yaml"), **env}
    return subprocess.run([sys.executable, "cli.py", *args], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=120)


def test_migrate_poll_and_backfill(tmp_path: Path) -> None:
    (tmp_path / "sources.yaml").write_text(
        "sources:\n"
        "  - {name: demo-land, kind: demo, every: 1h, options: {feed: land}}\n"
        f"  - {{name: broken, kind: http_json, every: 1m, options: {{url: 'http://127.0.0.1:{free_port()}/x', retries: 0,"
        " records: items, entity: c, time: t, series: {v: v}}}\n",
        encoding="utf-8",
    )
    migrated = run(tmp_path, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert "2 source(s) registered" in migrated.stdout

    polled = run(tmp_path, "poll", "demo-land")
    assert polled.returncode == 0, polled.stderr
    assert "demo-land: ok" in polled.stdout

    failed = run(tmp_path, "poll")
    assert failed.returncode == 1
    assert "broken: FAILED: cannot connect" in failed.stderr

    unknown = run(tmp_path, "poll", "nosuch")
    assert unknown.returncode == 2
    assert "unknown source(s): nosuch" in unknown.stderr

    backfilled = run(tmp_path, "backfill", "--days", "3", "demo-land")
    assert backfilled.returncode == 0, backfilled.stderr
    assert "demo-land: 3 chunk(s)" in backfilled.stdout

    engine = make_engine(f"sqlite:///{tmp_path / 'var' / 'opscentre.db'}")
    with engine.connect() as conn:
        triggers = conn.execute(
            select(poll_runs.c.trigger, func.count()).join(sources).where(sources.c.name == "demo-land").group_by(poll_runs.c.trigger)
        ).all()
        days = conn.execute(select(func.count(func.distinct(observations.c.ts)))).scalar_one()
    assert dict(triggers) == {"cli": 2, "backfill": 3}
    assert days >= 3  # daily land figures for each backfilled day

    # Keep one day of raw readings: the older daily figures go, and the command says how many.
    with engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(observations)).scalar_one()
    pruned = run(tmp_path, "prune", RAW_RETENTION_DAYS="1")
    assert pruned.returncode == 0, pruned.stderr
    with engine.connect() as conn:
        days_left = conn.execute(select(func.count(func.distinct(observations.c.ts)))).scalar_one()
        after = conn.execute(select(func.count()).select_from(observations)).scalar_one()
    assert days_left < days
    assert f"pruned {before - after} readings" in pruned.stdout and before > after


def test_bad_configuration_exits_with_the_message(tmp_path: Path) -> None:
    (tmp_path / "sources.yaml").write_text("sources:\n  - {name: a, kind: demo, every: 1m, options: {feed: nowhere}}\n")
    result = run(tmp_path, "migrate")
    assert result.returncode == 1
    assert "sources.yaml:2" in result.stderr and "feed" in result.stderr
    result = run(tmp_path, "migrate", PORT="http")
    assert "PORT" in result.stderr
