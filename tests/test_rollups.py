"""Roll-ups (hourly, each series' newest valid reading) stay equal to their raw readings through
inserts, corrections and re-deliveries."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from sqlalchemy import Engine, select

from data_sources.base import Batch, Entity, Reading
from ingest import store_batch
from queries.stations import last_valid_times, list_stations
from store.schema import QUALITY_CALIBRATING, QUALITY_SUSPECT, entities, hourly, newest_valid

H0 = datetime(2026, 11, 21, 3, 0, tzinfo=timezone.utc)
STATION = Entity("HNI-AIR-01", "station", "Trạm Nguyễn Văn Cừ", subtype="air", province_code="HNI")


def store(engine: Engine, readings: list[Reading]) -> None:
    with engine.begin() as conn:
        store_batch(conn, None, Batch(entities=[STATION], readings=readings), now=H0 + timedelta(days=1))


def rollup(engine: Engine) -> list[tuple]:
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                select(hourly.c.hour_ts, hourly.c.n_all, hourly.c.n_valid, hourly.c.mean, hourly.c.min, hourly.c.max,
                       hourly.c.last_ts, hourly.c.last_value, hourly.c.last_valid_ts).order_by(hourly.c.hour_ts)
            )
        ]


def newest(engine: Engine) -> list[tuple]:
    with engine.connect() as conn:
        rows = conn.execute(select(newest_valid.c.series_id, newest_valid.c.ts, newest_valid.c.value))
        return [tuple(r) for r in rows]


def pm(minutes: int, value: float, quality: int = 0) -> Reading:
    return Reading("HNI-AIR-01", "PM2.5", H0 + timedelta(minutes=minutes), value, "µg/m³", quality)


def test_rollup_counts_only_valid_readings_in_the_mean(any_engine: Engine) -> None:
    store(any_engine, [pm(0, 10.0), pm(15, 20.0), pm(30, 999.0, QUALITY_CALIBRATING), pm(45, 30.0), pm(60, 5.0)])
    h0, h1 = int(H0.timestamp()), int(H0.timestamp()) + 3600
    assert rollup(any_engine) == [
        (h0, 4, 3, 20.0, 10.0, 30.0, h0 + 45 * 60, 30.0, h0 + 45 * 60),
        (h1, 1, 1, 5.0, 5.0, 5.0, h1, 5.0, h1),
    ]


def test_late_readings_and_corrections_recompute_the_bucket(any_engine: Engine) -> None:
    store(any_engine, [pm(0, 10.0), pm(30, 20.0)])
    store(any_engine, [pm(15, 60.0)])  # late, out of order
    store(any_engine, [pm(30, 50.0)])  # corrected value
    store(any_engine, [pm(30, 50.0)])  # delivered again
    h0 = int(H0.timestamp())
    assert rollup(any_engine) == [(h0, 3, 3, 40.0, 10.0, 60.0, h0 + 30 * 60, 50.0, h0 + 30 * 60)]


def test_an_hour_of_only_invalid_readings_has_no_mean(any_engine: Engine) -> None:
    store(any_engine, [pm(5, 1.0, QUALITY_CALIBRATING), pm(10, 2.0, 2)])
    (row,) = rollup(any_engine)
    assert row[1:6] == (2, 0, None, None, None)
    assert row[6:] == (int(H0.timestamp()) + 600, 2.0, None)  # newest reading known, but none valid


def test_upgrading_a_store_rolls_up_what_it_already_holds(tmp_path) -> None:  # noqa: ANN001
    from alembic import command

    from store.engine import make_engine
    from store.migrate import alembic_config, upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.exec_driver_sql("INSERT INTO entities (id, code, kind, name, meta) VALUES (1, 'S1', 'station', 'S', '{}')")
        conn.exec_driver_sql("INSERT INTO series (id, entity_id, metric, unit) VALUES (1, 1, 'PM2.5', 'µg/m³')")
        h0 = int(H0.timestamp())
        conn.exec_driver_sql(
            "INSERT INTO observations (series_id, ts, value, quality) VALUES "
            f"(1, {h0}, 10, 0), (1, {h0 + 600}, 30, 0), (1, {h0 + 1200}, 500, 1)"
        )
    upgrade(engine)
    assert rollup(engine) == [(h0, 3, 2, 20.0, 10.0, 30.0, h0 + 1200, 500.0, h0 + 600)]
    assert newest(engine) == [(1, h0 + 600, 30.0)]  # the newest reading is not valid: the one before


def test_the_newest_valid_reading_follows_late_readings_and_corrections(any_engine: Engine) -> None:
    h0 = int(H0.timestamp())
    store(any_engine, [pm(0, 10.0), pm(30, 20.0), pm(45, 99.0, QUALITY_CALIBRATING)])
    assert newest(any_engine) == [(1, h0 + 30 * 60, 20.0)]
    store(any_engine, [pm(15, 60.0)])  # late and older: not the newest
    assert newest(any_engine) == [(1, h0 + 30 * 60, 20.0)]
    store(any_engine, [pm(90, 7.0)])  # a newer hour
    assert newest(any_engine) == [(1, h0 + 90 * 60, 7.0)]
    store(any_engine, [pm(90, 7.0, QUALITY_SUSPECT)])  # flagged after all: the one before it again
    assert newest(any_engine) == [(1, h0 + 30 * 60, 20.0)]
    store(any_engine, [pm(m, 1.0, QUALITY_SUSPECT) for m in (0, 15, 30)])  # none valid any more
    assert newest(any_engine) == [(1, None, None)]


def test_last_valid_times_agree_with_the_station_list_after_random_deliveries(any_engine: Engine) -> None:
    """The alert rules' offline check (newest_valid) and the station list (hourly roll-ups) see the same time."""
    rng = random.Random(7)
    stations = [Entity(f"HNI-AIR-{i:02}", "station", f"Trạm {i}", subtype="air", province_code="HNI") for i in range(6)]
    for _ in range(8):  # late, repeated and re-flagged readings over three hours
        readings = [Reading(e.code, metric, H0 + timedelta(minutes=5 * rng.randrange(36)), rng.uniform(0, 90), "µg/m³",
                            rng.choice((0, 0, 0, QUALITY_CALIBRATING, QUALITY_SUSPECT)))
                    for e in stations[:5] for metric in ("PM2.5", "PM10") for _ in range(rng.randrange(4))]
        with any_engine.begin() as conn:
            store_batch(conn, None, Batch(entities=stations, readings=readings), now=H0 + timedelta(days=1))
    now = H0 + timedelta(hours=4)
    listed = {s.code: s.last_valid_at for s in list_stations(any_engine, now, 3)}
    with any_engine.connect() as conn:
        ids = dict(conn.execute(select(entities.c.code, entities.c.id)).all())
    found = last_valid_times(any_engine, now)
    assert {code: found.get(ids[code]) for code in listed} == listed
    assert listed["HNI-AIR-05"] is None  # never delivered
    assert sum(v is not None for v in listed.values()) >= 4
