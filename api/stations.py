"""Monitoring stations: the list with latest values, raw observations, and VN_AQI by day.

    GET /api/v1/stations?type=air|water|wastewater|emission&province=HNI
    GET /api/v1/stations/<code>/observations?from=ISO&to=ISO&metric=PM2.5
    GET /api/v1/stations/<code>/aqi?date=YYYY-MM-DD
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

from flask import Blueprint, abort, jsonify, request

from api.serialize import bad_request, iso, parse_time
from queries.air_quality import station_aqi_day
from queries.stations import STATION_TYPES, Station, list_stations, station_observations
from services import current

MAX_WINDOW = timedelta(days=31)  # one request reads at most a month of raw readings


def station_json(station: Station, tz: Any) -> dict[str, Any]:
    return {
        "code": station.code,
        "name": station.name,
        "name_en": station.name_en,
        "type": station.type,
        "province": station.province_code,
        "lat": station.lat,
        "lon": station.lon,
        "status": station.status,
        "last_valid_at": iso(station.last_valid_at, tz),
        "latest": {
            metric: {"value": v.value, "unit": v.unit, "at": iso(v.at, tz), "valid": v.valid}
            for metric, v in sorted(station.latest.items())
        },
    }


def register(bp: Blueprint) -> None:
    @bp.get("/stations")
    def stations():  # noqa: ANN202
        svc = current()
        type_ = request.args.get("type") or None
        if type_ is not None and type_ not in STATION_TYPES:
            return bad_request(f"type must be one of {', '.join(STATION_TYPES)}")
        province = request.args.get("province") or None
        found = list_stations(svc.engine, datetime.now(timezone.utc), svc.settings.offline_after_intervals, type_, province)
        return jsonify({"stations": [station_json(s, svc.settings.tz) for s in found]})

    @bp.get("/stations/<code>/observations")
    def observations(code: str):  # noqa: ANN202
        svc = current()
        tz = svc.settings.tz
        now = datetime.now(timezone.utc)
        try:
            end = parse_time(request.args.get("to"), now, tz)
            start = parse_time(request.args.get("from"), end - timedelta(days=1), tz)
        except ValueError:
            return bad_request("from and to must be ISO 8601 times, e.g. 2026-11-22T07:00:00+07:00")
        if not start < end or end - start > MAX_WINDOW:
            return bad_request(f"from must be before to, at most {MAX_WINDOW.days} days apart")
        rows = station_observations(svc.engine, code, start, end, request.args.get("metric") or None)
        if rows is None:
            abort(404, description=f"no station {code!r}")
        return jsonify({
            "station": code,
            "from": iso(start, tz),
            "to": iso(end, tz),
            "records": [
                {"metric": r.metric, "time": iso(r.ts, tz), "value": r.value, "unit": r.unit, "quality": r.quality}
                for r in rows
            ],
        })

    @bp.get("/stations/<code>/aqi")
    def aqi(code: str):  # noqa: ANN202
        svc = current()
        tz = svc.settings.tz
        text = request.args.get("date")
        try:
            day = date.fromisoformat(text) if text else datetime.now(tz).date()
        except ValueError:
            return bad_request("date must be YYYY-MM-DD")
        result = station_aqi_day(svc.engine, code, day, tz, svc.settings.language)
        if result is None:
            abort(404, description=f"no station {code!r}")
        return jsonify(result)
