"""Transmission completeness of monitoring stations per local day, from the hourly roll-ups.

- received: readings that arrived for the day, any quality (sum of ``n_all``);
  valid: those with device status "measuring" (sum of ``n_valid``).
- expected: 86,400 s ÷ the station's ``meta["interval_seconds"]`` (3,600 when absent)
  per parameter, times the parameters it reports (``meta["parameters"]``, else the
  series it has). For the day in progress (when ``now`` is given) only the elapsed
  part of the day is expected.
- completeness = received ÷ expected, capped at 1.0: re-deliveries are stored once,
  but a station that reports more often than its declared interval must not look
  "more than complete" nor hide another's gaps. None when nothing was expected.
- hours_calibration_or_fault: hours of the day in which some reading of the station
  was not "measuring" (calibrating, fault or suspect), i.e. hours with n_all > n_valid.

Days are local days in ``tz``; hours are UTC hours, so a zone whose offset is not a
whole number of hours would split hours between days (not the case for Vietnam).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, and_, case, func, select

from queries.stations import DEFAULT_INTERVAL, STATION_TYPES, TYPE_NAMES
from store.schema import entities, hourly, series

DAY_SECONDS = 86400


@dataclass(frozen=True)
class StationDay:
    code: str
    name: str
    type: str
    province_code: str | None
    day: date
    interval_seconds: int
    parameters: int
    received: int
    valid: int
    expected: int
    completeness: float | None  # received / expected, capped at 1.0
    valid_completeness: float | None  # valid / expected, capped at 1.0
    hours_with_data: int
    hours_calibration_or_fault: int


@dataclass(frozen=True)
class ProvinceCompleteness:
    province_code: str | None
    stations: int
    stations_reporting: int  # with at least one reading that day
    received: int  # each station's received capped at its expected
    expected: int
    completeness: float | None


def _ratio(part: int, whole: int) -> float | None:
    return None if whole <= 0 else min(1.0, part / whole)


def station_health(
    engine: Engine,
    day: date,
    tz: ZoneInfo,
    type_: str | None = None,
    province: str | None = None,
    now: datetime | None = None,
) -> list[StationDay]:
    """One :class:`StationDay` per station (filtered by API type name and province), by code.

    Stations that sent nothing that day are included, with zero received.
    """
    if type_ is not None and type_ not in STATION_TYPES:
        raise ValueError(f"type must be one of {', '.join(STATION_TYPES)}")
    start = datetime.combine(day, time(0), tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tz)
    start_ts, end_ts = int(start.timestamp()), int(end.timestamp())
    elapsed = end_ts - start_ts
    if now is not None:
        elapsed = max(0, min(elapsed, int(now.timestamp()) - start_ts))
    conditions = [entities.c.kind == "station"]
    if type_ is not None:
        conditions.append(entities.c.subtype == STATION_TYPES[type_])
    if province is not None:
        conditions.append(entities.c.province_code == province)
    station_filter = select(entities.c.id).where(*conditions)
    with engine.connect() as conn:
        stations = conn.execute(
            select(entities.c.id, entities.c.code, entities.c.name, entities.c.subtype, entities.c.province_code,
                   entities.c.meta).where(*conditions).order_by(entities.c.code)
        ).all()
        if not stations:
            return []
        series_count = dict(conn.execute(
            select(series.c.entity_id, func.count()).where(series.c.entity_id.in_(station_filter))
            .group_by(series.c.entity_id)
        ).all())
        totals = {
            r.entity_id: r for r in conn.execute(
                select(
                    series.c.entity_id,
                    func.sum(hourly.c.n_all).label("received"),
                    func.sum(hourly.c.n_valid).label("valid"),
                    func.count(func.distinct(hourly.c.hour_ts)).label("hours"),
                    func.count(func.distinct(case((hourly.c.n_all > hourly.c.n_valid, hourly.c.hour_ts)))).label("bad_hours"),
                )
                .join(hourly, and_(hourly.c.series_id == series.c.id, hourly.c.hour_ts >= start_ts,
                                   hourly.c.hour_ts < end_ts))
                .where(series.c.entity_id.in_(station_filter))
                .group_by(series.c.entity_id)
            )
        }
    result = []
    for s in stations:
        meta: dict[str, Any] = s.meta or {}
        interval = int(meta.get("interval_seconds") or DEFAULT_INTERVAL)
        declared = meta.get("parameters")
        parameters = len(declared) if isinstance(declared, list) and declared else series_count.get(s.id, 0)
        expected = (elapsed // interval) * parameters
        t = totals.get(s.id)
        received, valid = (int(t.received or 0), int(t.valid or 0)) if t else (0, 0)
        result.append(StationDay(
            code=s.code, name=s.name, type=TYPE_NAMES.get(s.subtype, s.subtype or ""), province_code=s.province_code,
            day=day, interval_seconds=interval, parameters=parameters, received=received, valid=valid,
            expected=expected, completeness=_ratio(received, expected), valid_completeness=_ratio(valid, expected),
            hours_with_data=int(t.hours) if t else 0, hours_calibration_or_fault=int(t.bad_hours or 0) if t else 0,
        ))
    return result


def completeness_by_province(
    engine: Engine,
    day: date,
    tz: ZoneInfo,
    type_: str | None = None,
    province: str | None = None,
    now: datetime | None = None,
    stations: list[StationDay] | None = None,
) -> list[ProvinceCompleteness]:
    """Received ÷ expected per province (each station's received capped at its expected), by province code.

    Pass ``stations`` (from :func:`station_health`) to reuse them instead of reading again.
    """
    if stations is None:
        stations = station_health(engine, day, tz, type_, province, now)
    groups: dict[str | None, list[StationDay]] = {}
    for s in stations:
        groups.setdefault(s.province_code, []).append(s)
    result = []
    for code in sorted(groups, key=lambda c: (c is None, c or "")):
        members = groups[code]
        received = sum(min(s.received, s.expected) for s in members)
        expected = sum(s.expected for s in members)
        result.append(ProvinceCompleteness(
            province_code=code, stations=len(members), stations_reporting=sum(1 for s in members if s.received),
            received=received, expected=expected, completeness=_ratio(received, expected),
        ))
    return result
