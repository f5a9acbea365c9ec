"""VN_AQI of stations, computed from hourly roll-ups with :mod:`indicators.aqi`."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Connection, Engine, select

from indicators.aqi import CATEGORY_BY_KEY, POLLUTANTS, daily_aqi_frame, hourly_aqi_frame
from queries.stations import STATION_TYPES, hourly_means
from store.fetch import driver_all
from store.rollups import HOUR
from store.schema import entities, hourly, series

NOWCAST_LEAD = timedelta(hours=11)  # the NowCast of the day's first hour looks back 11 more hours
# The store's metric names of the AQI pollutants; adapters map their sources' spellings to these.
AQI_METRICS = ("PM2.5", "PM10", "O3", "NO2", "SO2", "CO")


def _result(row: pd.Series, lang: str) -> dict[str, Any]:
    cat = CATEGORY_BY_KEY[row["category"]]
    return {
        "aqi": int(row["aqi"]),
        "category": cat.key,
        "category_label": cat.label(lang),
        "colour": row["colour"],
        "dominant_pollutant": row["dominant"],
        "sub_indices": {p: round(float(row[f"si_{p}"])) for p in POLLUTANTS if pd.notna(row[f"si_{p}"])},
    }


def station_aqi_day(engine: Engine, code: str, day: date, tz: ZoneInfo, lang: str = "vi") -> dict[str, Any] | None:
    """Daily and hourly AQI of station ``code`` for the local ``day``; None if no such station.

    Hours are labelled by their start in local time (the Decision's hour 01:00 is the
    hour starting 00:00). ``daily`` is None when the day has no PM data.
    """
    start = datetime.combine(day, time(0), tz)
    end = start + timedelta(days=1)
    rows = hourly_means(engine, code, start - NOWCAST_LEAD, end)
    if rows is None:
        return None
    frame = pd.DataFrame(rows, columns=["pollutant", "hour_ts", "value"]).assign(station=code)
    frame = frame[frame["pollutant"].isin(AQI_METRICS)]
    start_ts, end_ts = int(start.timestamp()), int(end.timestamp())
    hourly = hourly_aqi_frame(frame, start=start_ts, end=end_ts - HOUR) if len(frame) else frame.iloc[0:0]
    in_day = frame[(frame["hour_ts"] >= start_ts) & (frame["hour_ts"] < end_ts)]
    daily = daily_aqi_frame(in_day, tz=str(tz), hour_label="start") if len(in_day) else in_day.iloc[0:0]
    return {
        "station": code,
        "date": day.isoformat(),
        "daily": _result(daily.iloc[0], lang) if len(daily) else None,
        "hourly": [
            {"hour": datetime.fromtimestamp(int(r["hour_ts"]), tz).isoformat(timespec="minutes"), **_result(r, lang)}
            for _, r in hourly.iterrows()
        ],
    }


@dataclass(frozen=True)
class StationAQI:
    code: str
    name: str
    province_code: str | None
    lat: float | None
    lon: float | None
    hour: datetime  # start of the hour the AQI is for (UTC)
    aqi: int
    category: str
    colour: str
    dominant: str


# An AQI older than this is not "now": the station has stopped reporting.
CURRENT_WITHIN = timedelta(hours=3)


def current_station_aqi(engine: Engine, now: datetime) -> list[StationAQI]:
    """The newest hourly AQI of every air station that has one within the last hours, worst first."""
    this_hour = int(now.timestamp()) // HOUR * HOUR
    start = this_hour - int((CURRENT_WITHIN + NOWCAST_LEAD).total_seconds())
    query = (
        select(entities.c.code, series.c.metric, hourly.c.hour_ts, hourly.c.mean)
        .join(series, series.c.entity_id == entities.c.id)
        .join(hourly, hourly.c.series_id == series.c.id)
        .where(entities.c.kind == "station", entities.c.subtype == STATION_TYPES["air"],
               series.c.metric.in_(AQI_METRICS), hourly.c.hour_ts >= start, hourly.c.hour_ts <= this_hour,
               hourly.c.n_valid > 0)
    )
    with engine.connect() as conn:
        # Plain tuples: pandas builds a frame from Row objects ten times slower (bench/national.py).
        return station_aqi_of_means(conn, driver_all(conn, query), this_hour)


def station_aqi_of_means(conn: Connection, rows: Sequence[tuple], this_hour: int) -> list[StationAQI]:
    """The newest AQI of each air station from hourly means ``rows`` (station code, pollutant,
    hour_ts, mean) up to ``this_hour``, worst first; stations without one within CURRENT_WITHIN are left out."""
    if not rows:
        return []
    info = {r.code: r for r in conn.execute(
        select(entities.c.code, entities.c.name, entities.c.province_code, entities.c.lat, entities.c.lon)
        .where(entities.c.kind == "station", entities.c.subtype == STATION_TYPES["air"])
    )}
    frame = pd.DataFrame(rows, columns=["station", "pollutant", "hour_ts", "value"])
    first_current = this_hour - int(CURRENT_WITHIN.total_seconds())
    result = hourly_aqi_frame(frame, start=first_current, end=this_hour)
    newest = result.sort_values("hour_ts").groupby("station", sort=False).tail(1)
    out = [
        StationAQI(
            code=r.station, name=info[r.station].name, province_code=info[r.station].province_code,
            lat=info[r.station].lat, lon=info[r.station].lon,
            hour=datetime.fromtimestamp(int(r.hour_ts), timezone.utc), aqi=int(r.aqi), category=r.category,
            colour=r.colour, dominant=r.dominant,
        )
        for r in newest.itertuples(index=False)
    ]
    return sorted(out, key=lambda s: (-s.aqi, s.code))
