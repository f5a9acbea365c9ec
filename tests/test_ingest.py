"""Validation, quarantine and idempotent upsert, on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select

from data_sources.base import Batch, Entity, Reading, Rejected
from ingest import store_batch
from store.engine import make_engine
from store.migrate import upgrade
from store.schema import entities, observations, quarantine, series
from store.schema import hourly as store_hourly

NOW = datetime(2026, 11, 22, 0, 0, tzinfo=timezone.utc)
STATION = Entity("HNI-AIR-01", "station", "Trạm Nguyễn Văn Cừ", subtype="air", province_code="HNI", lat=21.05, lon=105.88)


def rows(engine: Engine) -> list[tuple]:
    with engine.connect() as conn:
        return conn.execute(
            select(series.c.metric, observations.c.ts, observations.c.value, observations.c.quality)
            .join(series).order_by(series.c.metric, observations.c.ts)
        ).all()


def reasons(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(select(quarantine.c.reason).order_by(quarantine.c.id)).scalars())


def store(engine: Engine, batch: Batch):  # noqa: ANN201
    with engine.begin() as conn:
        return store_batch(conn, None, batch, now=NOW)


def test_same_batch_twice_changes_nothing(any_engine: Engine) -> None:
    batch = Batch(
        entities=[STATION],
        readings=[Reading("HNI-AIR-01", "PM2.5", NOW - timedelta(hours=h), 20.0 + h, "µg/m³") for h in range(3)],
    )
    first = store(any_engine, batch)
    second = store(any_engine, batch)
    assert (first.accepted, first.changed) == (3, 3)
    assert (second.accepted, second.changed) == (3, 0)
    assert len(rows(any_engine)) == 3
    assert first.newest == NOW


def test_a_correction_replaces_the_value_in_place(any_engine: Engine) -> None:
    store(any_engine, Batch(entities=[STATION], readings=[Reading("HNI-AIR-01", "PM2.5", NOW, 20.0, "µg/m³")]))
    result = store(any_engine, Batch(readings=[Reading("HNI-AIR-01", "PM2.5", NOW, 21.5, "µg/m³", quality=1)]))
    assert result.changed == 1
    assert rows(any_engine) == [("PM2.5", int(NOW.timestamp()), 21.5, 1)]


def test_bad_rows_are_quarantined_with_reasons_and_good_rows_kept(any_engine: Engine) -> None:
    batch = Batch(
        entities=[STATION],
        readings=[
            Reading("HNI-AIR-01", "PM2.5", NOW, 30.0, "µg/m³"),
            Reading("HNI-AIR-01", "PM2.5", NOW - timedelta(hours=1), float("nan"), "µg/m³"),
            Reading("HNI-AIR-01", "PM2.5", datetime(2026, 11, 21, 23, 0), 1.0, "µg/m³"),  # naive
            Reading("HNI-AIR-01", "PM2.5", NOW + timedelta(hours=2), 1.0, "µg/m³"),
            Reading("HNI-AIR-01", "", NOW, 1.0, "µg/m³"),
            Reading("", "PM2.5", NOW, 1.0, "µg/m³"),
            Reading("HNI-AIR-01", "PM10", NOW, 1.0, "µg/m³", quality=9),
            Reading("NOWHERE-1", "PM2.5", NOW, 1.0, "µg/m³"),
        ],
        rejected=[Rejected("line 7: 3 fields, expected 5", "PM10\t12", "HN_X_Y.txt:7")],
    )
    result = store(any_engine, batch)
    assert (result.accepted, result.rejected) == (1, 8)
    assert rows(any_engine) == [("PM2.5", int(NOW.timestamp()), 30.0, 0)]
    assert reasons(any_engine) == [
        "line 7: 3 fields, expected 5",
        "value is not a finite number",
        "timestamp missing or without time zone",
        "timestamp more than 10 minutes in the future",
        "missing metric",
        "missing entity code",
        "unknown quality flag",
        "unknown entity code 'NOWHERE-1'",
    ]
    with any_engine.connect() as conn:
        payload = conn.execute(select(quarantine.c.payload).where(quarantine.c.reason.like("unknown entity%"))).scalar_one()
    assert "NOWHERE-1" in payload


def test_unit_clash_with_the_series_is_quarantined(any_engine: Engine) -> None:
    store(any_engine, Batch(entities=[STATION], readings=[Reading("HNI-AIR-01", "CO", NOW, 900.0, "µg/m³")]))
    result = store(any_engine, Batch(readings=[Reading("HNI-AIR-01", "CO", NOW - timedelta(hours=1), 0.9, "mg/m³")]))
    assert result.rejected == 1
    assert "differs from the series unit" in reasons(any_engine)[0]
    assert len(rows(any_engine)) == 1


def test_dataframe_readings_with_epoch_or_aware_times(any_engine: Engine) -> None:
    frame = pd.DataFrame(
        {
            "entity": ["HNI-AIR-01"] * 3,
            "metric": ["NO2"] * 3,
            "ts": pd.to_datetime(["2026-11-21T22:00:00+07:00", "2026-11-21T23:00:00+07:00", "2026-11-21T23:00:00+07:00"]),
            "value": [10.0, 11.0, 12.0],
            "unit": ["µg/m³"] * 3,
            "quality": [0, 0, 0],
        }
    )
    result = store(any_engine, Batch(entities=[STATION], readings=frame))
    # The duplicate key keeps the later record.
    assert result.accepted == 2
    stamps = [r[1] for r in rows(any_engine)]
    assert stamps == [int(datetime(2026, 11, 21, 15, tzinfo=timezone.utc).timestamp()), int(datetime(2026, 11, 21, 16, tzinfo=timezone.utc).timestamp())]
    assert [r[2] for r in rows(any_engine)] == [10.0, 12.0]
    epoch = frame.assign(ts=[int(NOW.timestamp())] * 3, value=[1.0, 2.0, 3.0])
    assert store(any_engine, Batch(readings=epoch)).accepted == 1


def test_entities_are_refreshed_not_duplicated(any_engine: Engine) -> None:
    store(any_engine, Batch(entities=[STATION]))
    renamed = Entity("HNI-AIR-01", "station", "Trạm Nguyễn Văn Cừ (mới)", subtype="air", province_code="HNI", lat=21.05, lon=105.88)
    store(any_engine, Batch(entities=[renamed]))
    with any_engine.connect() as conn:
        names = conn.execute(select(entities.c.name)).scalars().all()
    assert names == ["Trạm Nguyễn Văn Cừ (mới)"]


def test_a_crash_mid_batch_leaves_the_store_as_it_was(any_engine: Engine) -> None:
    store(any_engine, Batch(entities=[STATION], readings=[Reading("HNI-AIR-01", "PM2.5", NOW, 1.0, "µg/m³")]))
    before = rows(any_engine)
    batch = Batch(
        entities=[Entity("HNI-AIR-02", "station", "Trạm 2")],
        readings=[Reading("HNI-AIR-02", "PM2.5", NOW - timedelta(minutes=m), 5.0, "µg/m³") for m in range(50)]
        + [Reading("HNI-AIR-01", "PM2.5", NOW, 99.0, "µg/m³")],
        rejected=[Rejected("bad line", "x")],
    )
    with pytest.raises(RuntimeError):
        with any_engine.begin() as conn:
            store_batch(conn, None, batch, now=NOW)
            raise RuntimeError("power cut after the upsert, before commit")
    assert rows(any_engine) == before
    assert reasons(any_engine) == []
    with any_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(entities)).scalar_one() == 1


def _frame(values: list[tuple[str, int, float]]) -> pd.DataFrame:
    """Readings of HNI-AIR-01 as a frame: (metric, minutes before NOW, value)."""
    return pd.DataFrame(
        {
            "entity": ["HNI-AIR-01"] * len(values),
            "metric": [m for m, _, _ in values],
            "ts": [int((NOW - timedelta(minutes=minutes)).timestamp()) for _, minutes, _ in values],
            "value": [v for _, _, v in values],
            "unit": ["µg/m³"] * len(values),
            "quality": [0] * len(values),
        }
    )


def test_readings_in_parts_are_stored_as_one_batch(any_engine: Engine, tmp_path: Path) -> None:
    """An iterator of frames: one transaction, the same rows, roll-ups, counts and quarantine as the whole."""
    parts = [
        _frame([("PM2.5", 10, 1.0), ("PM2.5", 5, 2.0), ("NO2", 5, float("nan"))]),
        _frame([("NO2", 0, 3.0), ("CO", 0, 4.0)]),
        _frame([]),
    ]
    reference = make_engine(f"sqlite:///{tmp_path / 'whole' / 'store.db'}")
    upgrade(reference)
    whole = store(
        reference, Batch(entities=[STATION], readings=pd.concat(parts[:2]), rejected=[Rejected("bad line", "x")])
    )

    batch = Batch(entities=[STATION])

    def produce():  # noqa: ANN202 - a producer may add rejections until it is exhausted
        yield from parts
        batch.rejected.append(Rejected("bad line", "x"))

    batch.readings = produce()
    result = store(any_engine, batch)

    assert (result.accepted, result.changed, result.rejected, result.newest) == (
        whole.accepted, whole.changed, whole.rejected, whole.newest,
    ) == (4, 4, 2, NOW)
    assert rows(any_engine) == rows(reference)
    assert sorted(reasons(any_engine)) == sorted(reasons(reference)) == ["bad line", "value is not a finite number"]
    assert hourly(any_engine) == hourly(reference)
    assert [(metric, n) for metric, _, n, _ in hourly(any_engine)] == [("CO", 1), ("NO2", 1), ("PM2.5", 2)]
    reference.dispose()


def hourly(engine: Engine) -> list[tuple]:
    with engine.connect() as conn:
        return [
            tuple(row)
            for row in conn.execute(
                select(series.c.metric, store_hourly.c.hour_ts, store_hourly.c.n_all, store_hourly.c.mean)
                .join(series).order_by(series.c.metric, store_hourly.c.hour_ts)
            )
        ]


def test_the_later_of_two_rows_with_one_key_wins_across_staging_chunks(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite stages the rows and merges them a chunk at a time: same outcome and count as row by row."""
    from store import bulk

    store(engine, Batch(entities=[STATION], readings=[Reading("HNI-AIR-01", "PM2.5", NOW, 1.0, "µg/m³")]))
    with engine.connect() as conn:
        series_id = conn.execute(select(series.c.id)).scalar_one()
    monkeypatch.setattr(bulk, "_SQLITE_CHUNK_ROWS", 3)
    t = int(NOW.timestamp())
    batch = [(series_id, t, 1.0, 0, None), (series_id, t - 60, 5.0, 0, None), (series_id, t - 60, 6.0, 1, None),
             (series_id, t - 120, 7.0, 0, None), (series_id, t - 120, 7.0, 0, None)]
    with engine.begin() as conn:
        changed = bulk.upsert_observations(conn, batch)
    # In key order, chunks [t-120, t-120, t-60] and [t-60, t]: t-120 inserted then the same again,
    # t-60 inserted then corrected from the next chunk, t unchanged. As row by row: 3 changes.
    assert changed == 3
    assert rows(engine) == [("PM2.5", t - 120, 7.0, 0), ("PM2.5", t - 60, 6.0, 1), ("PM2.5", t, 1.0, 0)]
    with engine.begin() as conn:
        assert bulk.upsert_observations(conn, batch) == 2  # t-60 goes 6 -> 5 -> 6: two changes, as row by row
    assert rows(engine)[1] == ("PM2.5", t - 60, 6.0, 1)
