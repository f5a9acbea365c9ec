"""Memoised reads: shared until a poll stores newer data, recomputed at the latest after their maximum age."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import Engine

from app import create_app
from data_sources.base import Batch, Entity, Reading
from ingest import store_batch
from polling import poll_source
from queries.cached import data_key, entity_counts_snapshot
from settings import load_settings
from tests.support import register_sources


def _next_bucket(seconds: float) -> None:
    time.sleep(seconds - time.time() % seconds + 0.05)


def _store_directly(engine: Engine, code: str) -> None:
    """A station written to the store without a poll: the sources' fingerprint does not move."""
    now = datetime.now(timezone.utc)
    with engine.begin() as conn:
        store_batch(conn, None, Batch(entities=[Entity(code, "station", code)],
                                      readings=[Reading(code, "value", now - timedelta(hours=2), 1.0, "unit")]), now=now)


def _app(tmp_path: Path, max_age: int):  # noqa: ANN202 - a Dash app
    settings = load_settings(var_dir=tmp_path / "var", database_url=f"sqlite:///{tmp_path / 'store.db'}",
                             cache_seconds=1, cache_max_age_seconds=max_age)
    return create_app(settings, specs=[])


def test_reads_are_shared_until_a_poll_stores_newer_data(engine: Engine, tmp_path: Path) -> None:
    specs = register_sources(tmp_path, engine, {"name": "feed", "kind": "scripted", "every": "1m",
                                                "options": {"entity": "ST-A"}})
    poll_source(engine, specs["feed"])
    app = _app(tmp_path, max_age=600)
    # Not within a few seconds of a 600 s boundary, where the key changes with the clock alone.
    if time.time() % 600 > 590:
        _next_bucket(600)
    with app.server.app_context():
        assert entity_counts_snapshot().get("station") == 1
        first_key = data_key()
        _store_directly(engine, "ST-B")
        _next_bucket(1)  # a new cache_seconds bucket, but no poll since: still the shared value
        assert data_key() == first_key
        assert entity_counts_snapshot().get("station") == 1
        poll_source(engine, specs["feed"])  # newer readings from a poll: a new key within one bucket
        _next_bucket(1)
        assert data_key() != first_key
        assert entity_counts_snapshot().get("station") == 2


def test_a_failing_source_changes_the_key(engine: Engine, tmp_path: Path) -> None:
    from tests.support import SCRIPT

    specs = register_sources(tmp_path, engine, {"name": "feed", "kind": "scripted", "every": "1m"})
    poll_source(engine, specs["feed"])
    app = _app(tmp_path, max_age=600)
    with app.server.app_context():
        before = data_key()
        SCRIPT.fail["feed"] = "down"
        try:
            poll_source(engine, specs["feed"])
        finally:
            SCRIPT.reset()
        _next_bucket(1)
        assert data_key() != before


def test_reads_are_recomputed_after_their_maximum_age_without_a_poll(engine: Engine, tmp_path: Path) -> None:
    app = _app(tmp_path, max_age=2)
    with app.server.app_context():
        _next_bucket(2)
        assert entity_counts_snapshot().get("station", 0) == 0
        _store_directly(engine, "ST-C")
        assert entity_counts_snapshot().get("station", 0) == 0  # shared within the age
        _next_bucket(2)
        assert entity_counts_snapshot().get("station") == 1


def test_with_cache_seconds_zero_nothing_is_shared(engine: Engine, tmp_path: Path) -> None:
    settings = load_settings(var_dir=tmp_path / "var", database_url=f"sqlite:///{tmp_path / 'store.db'}",
                             cache_seconds=0)
    app = create_app(settings, specs=[])
    with app.server.app_context():
        assert entity_counts_snapshot().get("station", 0) == 0
        _store_directly(engine, "ST-D")
        assert data_key() != data_key()
        assert entity_counts_snapshot().get("station") == 1
