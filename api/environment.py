"""Environmental monitoring: exceedances of dated limits and station transmission health.

    GET /api/v1/exceedances?type=air|wastewater&province=HNI&from=ISO&to=ISO
        windows (hour, 8 hours, local day) ending in (from, to]; default the last 24 hours,
        at most 31 days.
    GET /api/v1/station-health?date=YYYY-MM-DD&type=air|water|wastewater|emission&province=HNI
        completeness per station and per province for a local day (default today).

(``/station-health``, not ``/stations/health``: that would read as station "health".)
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from flask import Blueprint, jsonify, request

from api.serialize import YEARS, bad_request, iso, parse_day, parse_time
from api.stations import MAX_WINDOW
from limits import current_limits
from queries.exceedances import TYPES, Exceedance, exceedances
from queries.station_health import ProvinceCompleteness, StationDay, completeness_by_province, station_health
from queries.stations import STATION_TYPES
from services import current
from settings import ConfigError


def exceedance_json(e: Exceedance, tz: Any) -> dict[str, Any]:
    return {
        "station": e.station_code,
        "station_name": e.station_name,
        "type": e.type,
        "facility": e.facility_code,
        "province": e.province_code,
        "metric": e.metric,
        "unit": e.unit,
        "period": e.period,
        "from": iso(e.window_start, tz),
        "to": iso(e.window_end, tz),
        "value": round(e.value, 3),
        "limit": e.limit,
        "ratio": round(e.ratio, 3),
        "bound": e.bound,
        "regulation": e.regulation,
        "basis": e.basis,
        "hours": e.hours,
    }


def _share(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def station_day_json(s: StationDay) -> dict[str, Any]:
    return {
        "code": s.code,
        "name": s.name,
        "type": s.type,
        "province": s.province_code,
        "interval_seconds": s.interval_seconds,
        "parameters": s.parameters,
        "received": s.received,
        "valid": s.valid,
        "expected": s.expected,
        "completeness": _share(s.completeness),
        "valid_completeness": _share(s.valid_completeness),
        "hours_with_data": s.hours_with_data,
        "hours_calibration_or_fault": s.hours_calibration_or_fault,
    }


def province_json(p: ProvinceCompleteness) -> dict[str, Any]:
    return {
        "province": p.province_code,
        "stations": p.stations,
        "stations_reporting": p.stations_reporting,
        "received": p.received,
        "expected": p.expected,
        "completeness": _share(p.completeness),
    }


def register(bp: Blueprint) -> None:
    @bp.get("/exceedances")
    def exceedance_list():  # noqa: ANN202
        svc = current()
        tz = svc.settings.tz
        type_ = request.args.get("type") or None
        if type_ is not None and type_ not in TYPES:
            return bad_request(f"type must be one of {', '.join(TYPES)}")
        province = request.args.get("province") or None
        try:
            end = parse_time(request.args.get("to"), datetime.now(timezone.utc), tz)
            start = parse_time(request.args.get("from"), end - timedelta(days=1), tz)
        except ValueError:
            return bad_request(f"from and to must be ISO 8601 times {YEARS}, e.g. 2026-11-22T07:00:00+07:00")
        if not start < end or end - start > MAX_WINDOW:
            return bad_request(f"from must be before to, at most {MAX_WINDOW.days} days apart")
        try:
            limits = current_limits(svc.settings.limits_file)
        except ConfigError as exc:
            response = jsonify({"error": f"the limits file cannot be used: {exc}"})
            response.status_code = 503
            return response
        found = exceedances(svc.engine, limits, start, end, type_, province, tz)
        return jsonify({
            "from": iso(start, tz),
            "to": iso(end, tz),
            "count": len(found),
            "exceedances": [exceedance_json(e, tz) for e in found],
        })

    @bp.get("/station-health")
    def station_health_day():  # noqa: ANN202
        svc = current()
        tz = svc.settings.tz
        now = datetime.now(timezone.utc)
        try:
            day = parse_day(request.args.get("date"), tz)
        except ValueError:
            return bad_request(f"date must be YYYY-MM-DD, {YEARS}")
        type_ = request.args.get("type") or None
        if type_ is not None and type_ not in STATION_TYPES:
            return bad_request(f"type must be one of {', '.join(STATION_TYPES)}")
        province = request.args.get("province") or None
        stations = station_health(svc.engine, day, tz, type_, province, now=now)
        provinces = completeness_by_province(svc.engine, day, tz, stations=stations)
        return jsonify({
            "date": day.isoformat(),
            "stations": [station_day_json(s) for s in stations],
            "provinces": [province_json(p) for p in provinces],
        })
