"""Reads behind the KPIs: the entities and series a catalogue selects, and per-series
figures of a time window from the hourly roll-up.

Every window read goes through ``hourly`` (one row per series and hour, see
:mod:`store.rollups`), so its cost follows the number of series × hours asked, never the
number of raw readings. The only raw rows read are the newest valid reading of each
series (a primary-key lookup at the roll-up's ``last_valid_ts``), for ``latest``.

Only valid readings (quality 0) count: the roll-up's ``n_valid``, ``mean`` and
``last_valid_ts``. Windows are whole hours: an hour belongs to a window when its start
does (the start is rounded down, the end up), which for Vietnam's whole-hour offset
keeps local days, months and years exact.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select

from store.schema import entities, hourly, observations, series

HOUR = 3600


@dataclass(frozen=True)
class EntityRow:
    id: int
    code: str
    kind: str
    subtype: str | None
    name: str
    province_code: str | None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SeriesWindow:
    """What one series holds in one window (only series with a valid reading appear)."""

    series_id: int
    n: int  # valid readings
    total: float  # their sum
    newest_ts: int  # epoch seconds of the newest valid reading
    latest_value: float | None = None  # the newest valid reading (when asked for)
    first_mean: float | None = None  # mean of the first hour with valid readings (when asked for)
    first_hour: int | None = None
    last_mean: float | None = None  # ... and of the last
    last_hour: int | None = None


def entities_of_kinds(conn: Connection, kinds: Iterable[str]) -> list[EntityRow]:
    """Every entity of ``kinds``, by code (a few thousand at most: cheap to filter in Python)."""
    kinds = sorted(set(kinds))
    if not kinds:
        return []
    rows = conn.execute(
        select(entities.c.id, entities.c.code, entities.c.kind, entities.c.subtype, entities.c.name,
               entities.c.province_code, entities.c.meta)
        .where(entities.c.kind.in_(kinds)).order_by(entities.c.code)
    ).all()
    return [EntityRow(r.id, r.code, r.kind, r.subtype, r.name, r.province_code, r.meta or {}) for r in rows]


def series_index(conn: Connection, kinds: Iterable[str], metrics: Iterable[str]) -> dict[tuple[int, str], int]:
    """(entity id, metric) → series id, for the entities of ``kinds`` and the given metrics."""
    kinds, metrics = sorted(set(kinds)), sorted(set(metrics))
    if not kinds or not metrics:
        return {}
    rows = conn.execute(
        select(series.c.id, series.c.entity_id, series.c.metric)
        .join(entities, entities.c.id == series.c.entity_id)
        .where(entities.c.kind.in_(kinds), series.c.metric.in_(metrics))
    ).all()
    return {(r.entity_id, r.metric): r.id for r in rows}


def entity_names_by_code(conn: Connection, codes: Iterable[str]) -> dict[str, str]:
    """code → name of the given entities (unknown codes left out)."""
    codes = sorted(set(codes))
    if not codes:
        return {}
    return dict(conn.execute(select(entities.c.code, entities.c.name).where(entities.c.code.in_(codes))).all())


def hour_span(start_ts: int, end_ts: int) -> tuple[int, int]:
    """The roll-up hours [first, end) covering epoch seconds [start_ts, end_ts)."""
    return start_ts // HOUR * HOUR, -(-end_ts // HOUR) * HOUR


def window_stats(
    conn: Connection,
    series_ids: Iterable[int],
    start_ts: int,
    end_ts: int,
    *,
    latest: bool = False,
    ends: bool = False,
) -> dict[int, SeriesWindow]:
    """Per series with valid readings in [start_ts, end_ts): count, sum, newest reading time;
    with ``latest`` the newest reading's value, with ``ends`` the means of the first and last hours."""
    ids = sorted(set(series_ids))
    if not ids:
        return {}
    first, end = hour_span(start_ts, end_ts)
    in_window = and_(hourly.c.series_id.in_(ids), hourly.c.hour_ts >= first, hourly.c.hour_ts < end,
                     hourly.c.n_valid > 0)
    rows = conn.execute(
        select(hourly.c.series_id, func.sum(hourly.c.n_valid).label("n"),
               func.sum(hourly.c.mean * hourly.c.n_valid).label("total"),
               func.max(hourly.c.last_valid_ts).label("newest"))
        .where(in_window).group_by(hourly.c.series_id)
    ).all()
    found: dict[int, dict[str, Any]] = {
        r.series_id: {"series_id": r.series_id, "n": int(r.n), "total": float(r.total or 0.0), "newest_ts": int(r.newest)}
        for r in rows
    }
    if latest and found:
        for sid, value in _latest_values(conn, in_window):
            found[sid]["latest_value"] = value
    if ends and found:
        for sid, values in _end_means(conn, in_window).items():
            found[sid].update(values)
    return {sid: SeriesWindow(**values) for sid, values in found.items()}


def _latest_values(conn: Connection, in_window: Any) -> list[tuple[int, float]]:
    """The newest valid reading of each series: the roll-up says when, the primary key finds it."""
    newest = (
        select(hourly.c.series_id, func.max(hourly.c.last_valid_ts).label("ts"))
        .where(in_window).group_by(hourly.c.series_id).subquery()
    )
    rows = conn.execute(
        select(observations.c.series_id, observations.c.value)
        .join(newest, and_(observations.c.series_id == newest.c.series_id, observations.c.ts == newest.c.ts))
    ).all()
    return [(r.series_id, float(r.value)) for r in rows if r.value is not None]


def _end_means(conn: Connection, in_window: Any) -> dict[int, dict[str, Any]]:
    """Mean of the first and of the last hour with valid readings, per series."""
    bounds = (
        select(hourly.c.series_id, func.min(hourly.c.hour_ts).label("first"), func.max(hourly.c.hour_ts).label("last"))
        .where(in_window).group_by(hourly.c.series_id).subquery()
    )
    rows = conn.execute(
        select(hourly.c.series_id, hourly.c.hour_ts, hourly.c.mean, bounds.c.first, bounds.c.last)
        .join(bounds, and_(hourly.c.series_id == bounds.c.series_id,
                           or_(hourly.c.hour_ts == bounds.c.first, hourly.c.hour_ts == bounds.c.last)))
    ).all()
    out: dict[int, dict[str, Any]] = {}
    for r in rows:
        values = out.setdefault(r.series_id, {})
        if r.hour_ts == r.first:
            values.update(first_mean=float(r.mean), first_hour=int(r.hour_ts))
        if r.hour_ts == r.last:
            values.update(last_mean=float(r.mean), last_hour=int(r.hour_ts))
    return out
