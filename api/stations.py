"""Monitoring stations: the list with latest values, raw observations, and VN_AQI by day.

    GET /api/v1/stations?type=air|water|wastewater|emission&province=HNI
    GET /api/v1/stations/<code>/observations?from=ISO&to=ISO&metric=PM2.5
    GET /api/v1/stations/<code>/aqi?date=YYYY-MM-DD
    GET /api/v1/stations/<code>/wqi?date=YYYY-MM-DD

In the list, air stations carry their current VN_AQI (``aqi``, the newest hourly AQI of
the last hours, see :func:`queries.air_quality.current_station_aqi`) and surface-water
stations their current VN_WQI over the last 24 hours (``wqi`` and ``wqi_reason``, see
:mod:`queries.water_quality`); null when there is none. Each index is computed once per
request, for all stations of its type, and only when the type filter includes that type.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

from flask import Blueprint, abort, jsonify, request

from api.serialize import YEARS, bad_request, iso, parse_day, parse_time
from queries.air_quality import StationAQI, current_station_aqi, station_aqi_day
from queries.stations import STATION_TYPES, Station, list_stations, station_observations
from queries.water_quality import StationWQI, current_station_wqi, station_wqi_day
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


def aqi_json(found: StationAQI | None, tz: Any) -> dict[str, Any] | None:
    if found is None:
        return None
    return {"value": found.aqi, "category": found.category, "colour": found.colour, "dominant": found.dominant,
            "hour": iso(found.hour, tz)}


def wqi_json(found: StationWQI | None) -> dict[str, Any] | None:
    if found is None or found.wqi is None:
        return None
    return {"value": found.wqi, "band": found.band, "colour": found.colour, "label": found.label}


def wqi_day_json(found: StationWQI, day: date, tz: Any) -> dict[str, Any]:
    return {
        "station": found.code,
        "date": day.isoformat(),
        "wqi": found.wqi,
        "value": found.value,
        "band": found.band,
        "colour": found.colour,
        "label": found.label,
        "labels": found.labels,
        "reason": found.reason,
        "reason_code": found.reason_code,
        "formula": found.formula,
        "from": iso(found.window_start, tz),
        "to": iso(found.window_end, tz),
        "hours": found.hours,
        "parameters": dict(sorted(found.parameters.items())),
        "sub_indices": dict(sorted(found.sub_indices.items())),
    }


def register(bp: Blueprint) -> None:
    @bp.get("/stations")
    def stations():  # noqa: ANN202
        svc = current()
        type_ = request.args.get("type") or None
        if type_ is not None and type_ not in STATION_TYPES:
            return bad_request(f"type must be one of {', '.join(STATION_TYPES)}")
        province = request.args.get("province") or None
        now = datetime.now(timezone.utc)
        tz = svc.settings.tz
        found = list_stations(svc.engine, now, svc.settings.offline_after_intervals, type_, province)
        aqi_by_code: dict[str, StationAQI] | None = None
        wqi_by_code: dict[str, StationWQI] | None = None
        if any(s.type == "air" for s in found):
            aqi_by_code = {a.code: a for a in current_station_aqi(svc.engine, now)}
        if any(s.type == "water" for s in found):
            wqi_by_code = {w.code: w for w in current_station_wqi(svc.engine, now, province, svc.settings.language)}
        out = []
        for s in found:
            item = station_json(s, tz)
            if s.type == "air" and aqi_by_code is not None:
                item["aqi"] = aqi_json(aqi_by_code.get(s.code), tz)
            elif s.type == "water" and wqi_by_code is not None:
                w = wqi_by_code.get(s.code)
                item["wqi"] = wqi_json(w)
                item["wqi_reason"] = "not computed" if w is None else w.reason
            out.append(item)
        return jsonify({"stations": out})

    @bp.get("/stations/<code>/observations")
    def observations(code: str):  # noqa: ANN202
        svc = current()
        tz = svc.settings.tz
        now = datetime.now(timezone.utc)
        try:
            end = parse_time(request.args.get("to"), now, tz)
            start = parse_time(request.args.get("from"), end - timedelta(days=1), tz)
        except ValueError:
            return bad_request(f"from and to must be ISO 8601 times {YEARS}, e.g. 2026-11-22T07:00:00+07:00")
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
        try:
            day = parse_day(request.args.get("date"), tz)
        except ValueError:
            return bad_request(f"date must be YYYY-MM-DD, {YEARS}")
        result = station_aqi_day(svc.engine, code, day, tz, svc.settings.language)
        if result is None:
            abort(404, description=f"no station {code!r}")
        return jsonify(result)

    @bp.get("/stations/<code>/wqi")
    def wqi(code: str):  # noqa: ANN202
        svc = current()
        tz = svc.settings.tz
        try:
            day = parse_day(request.args.get("date"), tz)
        except ValueError:
            return bad_request(f"date must be YYYY-MM-DD, {YEARS}")
        result = station_wqi_day(svc.engine, code, day, tz, svc.settings.language)
        if result is None:
            abort(404, description=f"no station {code!r}")
        return jsonify(wqi_day_json(result, day, tz))
