"""VN_WQI of surface-water stations, computed from hourly roll-ups with :mod:`indicators.wqi`.

What the "sample" of an automatic station is
    Decision 1460/QĐ-TCMT defines the WQI of one *periodic* sample (a bottle taken to the
    lab: one value per parameter). An automatic station reports every 15 minutes, so its
    "sample" here is its **daily mean of each parameter**: the mean of the valid hourly
    means (``hourly.mean`` where ``n_valid > 0``; calibrating, faulty and suspect readings
    never enter those means) over the window. Each hour weighs the same however many
    readings it had, so a burst of re-deliveries in one hour does not dominate the day.
    No completeness threshold is applied: a parameter with one valid hour in the window
    counts (``hours`` says how many hours the sample rests on).

    * :func:`current_station_wqi`: the window is the last 24 hours — the 24 hourly buckets
      ending with the current (partial) hour, i.e. hours starting in
      ``[this_hour − 23 h, this_hour]``.
    * :func:`station_wqi_day`: the window is one local calendar day (hours starting in
      ``[00:00, 24:00)`` local time).

    DO is turned into DO% with the mean of the station's ``Temp`` over the same window;
    without a temperature (or with one so high that DOsat turns negative) DO is not used
    (the result lists it in ``ignored``). Metrics that
    are not VN_WQI parameters (Turbidity, TSS ...) are left out. The station is treated as
    ordinary water (``organic``, ``pesticide_water`` and ``metal_water`` all False).

One query per call: a GROUP BY over the hourly table for all surface-water stations (or
the one station), bounded by stations × metrics × 24 hours — never a query per station.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, func, select

from indicators.wqi import DEFAULT_LABELS, WQIResult, normalise_parameter, wqi
from queries.stations import STATION_TYPES
from store.rollups import HOUR
from store.schema import entities, hourly, series

WINDOW_HOURS = 24
SURFACE_WATER = STATION_TYPES["water"]
NO_DATA = "no_data"


@dataclass(frozen=True)
class StationWQI:
    code: str
    name: str
    province_code: str | None
    lat: float | None
    lon: float | None
    wqi: int | None  # rounded; None when not computable
    value: float | None  # before rounding
    band: str | None  # a key of indicators.wqi.BAND_BY_KEY
    colour: str | None
    label: str | None  # band label in the requested language
    labels: Mapping[str, str] | None  # band label in every language (vi, en)
    reason: str | None  # why wqi is None
    reason_code: str | None  # no_data | a reason_code of indicators.wqi.WQIResult
    formula: str | None
    window_start: datetime  # start of the first hour of the window (UTC)
    window_end: datetime  # end of the window (UTC): ``now`` or the end of the local day
    hours: int  # hours with a valid mean, most among the parameters
    parameters: Mapping[str, float] = field(default_factory=dict)  # metric → mean of hourly means
    sub_indices: Mapping[str, float] = field(default_factory=dict)
    ignored: tuple[str, ...] = ()


def _utc(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, timezone.utc)


def _means(conn: Connection, start_ts: int, end_ts: int, *, province: str | None = None,
           station_id: int | None = None) -> dict[str, list[tuple[str, float, int]]]:
    """code → [(metric, mean of valid hourly means, hours)] for hours starting in [start_ts, end_ts)."""
    query = (
        select(entities.c.code, series.c.metric, func.avg(hourly.c.mean).label("mean"),
               func.count().label("hours"))
        .join(series, series.c.entity_id == entities.c.id)
        .join(hourly, hourly.c.series_id == series.c.id)
        .where(hourly.c.hour_ts >= start_ts, hourly.c.hour_ts < end_ts, hourly.c.n_valid > 0,
               hourly.c.mean.is_not(None))
        .group_by(entities.c.code, series.c.metric)
    )
    if station_id is not None:
        query = query.where(entities.c.id == station_id)
    else:
        query = query.where(entities.c.kind == "station", entities.c.subtype == SURFACE_WATER)
        if province is not None:
            query = query.where(entities.c.province_code == province)
    out: dict[str, list[tuple[str, float, int]]] = {}
    for row in conn.execute(query):
        out.setdefault(row.code, []).append((row.metric, float(row.mean), int(row.hours)))
    return out


def _compute(station, rows: list[tuple[str, float, int]], start: datetime, end: datetime,  # noqa: ANN001
             lang: str) -> StationWQI:
    sample: dict[str, float] = {}
    temperature: float | None = None
    parameters: dict[str, float] = {}
    ignored: list[str] = []
    used_keys: set[str] = set()
    hours = 0
    for metric, mean, n in sorted(rows):
        key = normalise_parameter(metric)
        if key is None:
            continue  # not a VN_WQI parameter (Turbidity, TSS ...)
        if key in used_keys:
            ignored.append(metric)  # a second spelling of the same parameter: the first (sorted) wins
            continue
        used_keys.add(key)
        parameters[metric] = mean
        hours = max(hours, n)
        if key == "temperature":
            temperature = mean
        else:
            sample[metric] = mean
    common = dict(code=station.code, name=station.name, province_code=station.province_code, lat=station.lat,
                  lon=station.lon, window_start=start, window_end=end, hours=hours, parameters=parameters)
    if not sample:
        return StationWQI(wqi=None, value=None, band=None, colour=None, label=None, labels=None,
                          reason="no valid readings of VN_WQI parameters in the window", reason_code=NO_DATA,
                          formula=None, ignored=tuple(ignored), **common)
    result: WQIResult = wqi(sample, temperature=temperature)
    labels = None if result.band is None else dict(DEFAULT_LABELS[result.band])
    return StationWQI(
        wqi=result.wqi, value=result.value, band=result.band, colour=result.colour,
        label=result.label(lang), labels=labels, reason=result.reason, reason_code=result.reason_code,
        formula=result.formula, sub_indices=dict(result.sub_indices), ignored=tuple(ignored) + result.ignored,
        **common,
    )


def current_station_wqi(engine: Engine, now: datetime, province: str | None = None,
                        lang: str = "vi") -> list[StationWQI]:
    """The VN_WQI of every surface-water station (of ``province``) over the last 24 hours, by code.

    Every station is listed; one without a computable WQI has ``wqi=None`` and a ``reason``.
    """
    this_hour = int(now.timestamp()) // HOUR * HOUR
    start_ts = this_hour - (WINDOW_HOURS - 1) * HOUR
    query = (
        select(entities.c.code, entities.c.name, entities.c.province_code, entities.c.lat, entities.c.lon)
        .where(entities.c.kind == "station", entities.c.subtype == SURFACE_WATER)
        .order_by(entities.c.code)
    )
    if province is not None:
        query = query.where(entities.c.province_code == province)
    with engine.connect() as conn:
        stations = conn.execute(query).all()
        if not stations:
            return []
        means = _means(conn, start_ts, this_hour + HOUR, province=province)
    start, end = _utc(start_ts), now.astimezone(timezone.utc)
    return [_compute(s, means.get(s.code, []), start, end, lang) for s in stations]


def station_wqi_day(engine: Engine, code: str, day: date, tz: ZoneInfo, lang: str = "vi") -> StationWQI | None:
    """The VN_WQI of station ``code`` for the local ``day`` (its daily means); None if no such station."""
    start = datetime.combine(day, time(0), tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tz)  # 23 or 25 hours on DST days
    with engine.connect() as conn:
        station = conn.execute(
            select(entities.c.id, entities.c.code, entities.c.name, entities.c.province_code, entities.c.lat,
                   entities.c.lon)
            .where(entities.c.code == code, entities.c.kind == "station")
        ).one_or_none()
        if station is None:
            return None
        means = _means(conn, int(start.timestamp()), int(end.timestamp()), station_id=station.id)
    return _compute(station, means.get(code, []), start.astimezone(timezone.utc), end.astimezone(timezone.utc),
                    lang)
