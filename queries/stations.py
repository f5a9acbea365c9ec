"""Monitoring stations: the registry, their latest values and whether they are online.

Reads roll-ups (``hourly``), never raw readings, except :func:`station_observations`,
which reads one series over a bounded window.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, and_, func, select

from store.fetch import driver_all
from store.rollups import HOUR
from store.schema import entities, hourly, newest_valid, observations, series

# API names of station types → the entity subtypes the store uses.
STATION_TYPES = {"air": "air", "water": "surface_water", "wastewater": "wastewater", "emission": "emission"}
TYPE_NAMES = {v: k for k, v in STATION_TYPES.items()}
DEFAULT_INTERVAL = 3600
# How far back "latest" looks: a station silent for longer has no latest values.
LATEST_LOOKBACK = timedelta(days=7)


@dataclass(frozen=True)
class Latest:
    value: float | None
    unit: str
    at: datetime
    valid: bool  # False when the newest reading was calibrating, faulty or suspect


@dataclass(frozen=True)
class Station:
    code: str
    name: str
    name_en: str | None
    type: str
    province_code: str | None
    lat: float | None
    lon: float | None
    interval_seconds: int
    status: str  # online | offline
    last_valid_at: datetime | None
    latest: dict[str, Latest] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)


def _utc(epoch: int | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, timezone.utc)


def list_stations(
    engine: Engine,
    now: datetime,
    offline_after_intervals: float,
    type_: str | None = None,
    province: str | None = None,
    code: str | None = None,
) -> list[Station]:
    """Stations (filtered by API type name, province code or station code) with latest values and status.

    A station is offline when it has had no valid reading for ``offline_after_intervals``
    times its reporting interval.
    """
    query = select(entities).where(entities.c.kind == "station").order_by(entities.c.code)
    if type_ is not None:
        query = query.where(entities.c.subtype == STATION_TYPES[type_])
    if province is not None:
        query = query.where(entities.c.province_code == province)
    if code is not None:
        query = query.where(entities.c.code == code)
    since = int((now - LATEST_LOOKBACK).timestamp()) // HOUR * HOUR
    newest_hour = (
        select(hourly.c.series_id, func.max(hourly.c.hour_ts).label("hour_ts"), func.max(hourly.c.last_valid_ts).label("valid_ts"))
        .where(hourly.c.hour_ts >= since)
        .group_by(hourly.c.series_id)
        .subquery()
    )
    with engine.connect() as conn:
        stations = conn.execute(query).all()
        if not stations:
            return []
        ids = [s.id for s in stations]
        latest_rows = conn.execute(
            select(series.c.entity_id, series.c.metric, series.c.unit, hourly.c.last_ts, hourly.c.last_value,
                   hourly.c.last_valid_ts, newest_hour.c.valid_ts)
            .join(newest_hour, newest_hour.c.series_id == series.c.id)
            .join(hourly, and_(hourly.c.series_id == series.c.id, hourly.c.hour_ts == newest_hour.c.hour_ts))
            .where(series.c.entity_id.in_(ids))
        ).all()
    latest: dict[int, dict[str, Latest]] = {}
    last_valid: dict[int, int] = {}
    for row in latest_rows:
        latest.setdefault(row.entity_id, {})[row.metric] = Latest(
            row.last_value, row.unit, _utc(row.last_ts), row.last_valid_ts == row.last_ts
        )
        if row.valid_ts is not None:
            last_valid[row.entity_id] = max(last_valid.get(row.entity_id, 0), row.valid_ts)
    result = []
    for s in stations:
        interval = int((s.meta or {}).get("interval_seconds", DEFAULT_INTERVAL))
        valid_at = _utc(last_valid.get(s.id))
        online = valid_at is not None and now - valid_at <= timedelta(seconds=interval * offline_after_intervals)
        result.append(
            Station(
                code=s.code, name=s.name, name_en=s.name_en, type=TYPE_NAMES.get(s.subtype, s.subtype or ""),
                province_code=s.province_code, lat=s.lat, lon=s.lon, interval_seconds=interval,
                status="online" if online else "offline", last_valid_at=valid_at,
                latest=latest.get(s.id, {}), meta=dict(s.meta or {}),
            )
        )
    return result


def last_valid_times(engine: Engine, now: datetime) -> dict[int, datetime]:
    """Station entity id → its newest valid reading (any series, within ``LATEST_LOOKBACK``).

    The ``last_valid_at`` of :func:`list_stations`, without the latest values: the newest
    of the station's series' newest valid readings, which ingest keeps (``newest_valid``),
    one row per series. Stations without one are absent.
    """
    since = int((now - LATEST_LOOKBACK).timestamp()) // HOUR * HOUR
    query = (
        select(series.c.entity_id, func.max(newest_valid.c.ts))
        .join(newest_valid, newest_valid.c.series_id == series.c.id)
        .join(entities, entities.c.id == series.c.entity_id)
        .where(entities.c.kind == "station", newest_valid.c.ts >= since)
        .group_by(series.c.entity_id)
    )
    with engine.connect() as conn:
        rows = driver_all(conn, query)
    return {entity_id: _utc(ts) for entity_id, ts in rows if ts is not None}


def _station_id(conn: Connection, code: str) -> int | None:
    return conn.execute(
        select(entities.c.id).where(entities.c.code == code, entities.c.kind == "station")
    ).scalar_one_or_none()


@dataclass(frozen=True)
class ObservationRow:
    metric: str
    ts: datetime
    value: float | None
    unit: str
    quality: int


def station_observations(
    engine: Engine, code: str, start: datetime, end: datetime, metric: str | None = None
) -> list[ObservationRow] | None:
    """Raw readings of station ``code`` in [start, end), oldest first; None if no such station."""
    with engine.connect() as conn:
        station_id = _station_id(conn, code)
        if station_id is None:
            return None
        query = (
            select(series.c.metric, series.c.unit, observations.c.ts, observations.c.value, observations.c.quality)
            .join(observations, observations.c.series_id == series.c.id)
            .where(series.c.entity_id == station_id,
                   observations.c.ts >= int(start.timestamp()), observations.c.ts < int(end.timestamp()))
            .order_by(observations.c.ts, series.c.metric)
        )
        if metric is not None:
            query = query.where(series.c.metric == metric)
        rows = conn.execute(query).all()
    return [ObservationRow(r.metric, _utc(r.ts), r.value, r.unit, r.quality) for r in rows]


def hourly_means(engine: Engine, code: str, start: datetime, end: datetime) -> list[tuple[str, int, float]] | None:
    """(metric, hour_ts, mean of valid readings) for station ``code``, hours starting in [start, end)."""
    with engine.connect() as conn:
        station_id = _station_id(conn, code)
        if station_id is None:
            return None
        rows = conn.execute(
            select(series.c.metric, hourly.c.hour_ts, hourly.c.mean)
            .join(hourly, hourly.c.series_id == series.c.id)
            .where(series.c.entity_id == station_id, hourly.c.n_valid > 0,
                   hourly.c.hour_ts >= int(start.timestamp()), hourly.c.hour_ts < int(end.timestamp()))
            .order_by(hourly.c.hour_ts)
        ).all()
    return [(r.metric, r.hour_ts, r.mean) for r in rows]


HOURLY_COLUMNS = ["metric", "unit", "hour_ts", "mean", "min", "max", "n_all", "n_valid"]


def station_hourly(engine: Engine, code: str, start: datetime, end: datetime) -> pd.DataFrame | None:
    """Hourly roll-ups of every series of station ``code``, hours starting in [start, end); None if no such station."""
    with engine.connect() as conn:
        station_id = _station_id(conn, code)
        if station_id is None:
            return None
        rows = conn.execute(
            select(series.c.metric, series.c.unit, hourly.c.hour_ts, hourly.c.mean, hourly.c.min, hourly.c.max,
                   hourly.c.n_all, hourly.c.n_valid)
            .join(hourly, hourly.c.series_id == series.c.id)
            .where(series.c.entity_id == station_id,
                   hourly.c.hour_ts >= int(start.timestamp()), hourly.c.hour_ts < int(end.timestamp()))
            .order_by(series.c.metric, hourly.c.hour_ts)
        ).all()
    return pd.DataFrame(rows, columns=HOURLY_COLUMNS)


def newest_reading(engine: Engine, subtypes: tuple[str, ...], now: datetime,
                   lookback: timedelta = timedelta(hours=48)) -> datetime | None:
    """Time of the newest reading (any quality) of any station of ``subtypes``: how current a
    panel built from those stations is. Reads the hourly roll-up: for each series its newest
    hour (one step down the primary key), not every hour of the look-back (bench/national.py)."""
    since = int((now - lookback).timestamp()) // HOUR * HOUR
    newest = (
        select(hourly.c.last_ts)
        .where(hourly.c.series_id == series.c.id, hourly.c.hour_ts >= since)
        .order_by(hourly.c.hour_ts.desc())
        .limit(1)
        .correlate(series)
        .scalar_subquery()
    )
    query = (
        select(func.max(newest))
        .select_from(series.join(entities, entities.c.id == series.c.entity_id))
        .where(entities.c.kind == "station", entities.c.subtype.in_(subtypes))
    )
    with engine.connect() as conn:
        return _utc(conn.execute(query).scalar())
