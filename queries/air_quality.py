"""VN_AQI of stations, computed from hourly roll-ups with :mod:`indicators.aqi`."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Engine

from indicators.aqi import CATEGORY_BY_KEY, POLLUTANTS, daily_aqi_frame, hourly_aqi_frame
from queries.stations import hourly_means
from store.rollups import HOUR

NOWCAST_LEAD = timedelta(hours=11)  # the NowCast of the day's first hour looks back 11 more hours


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
