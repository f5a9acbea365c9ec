"""The ministry's KPIs (catalogue ``config/kpis.yaml``, computed by :mod:`kpis.compute`).

    GET /api/v1/kpis?area=land&headline=1&lang=en
        {"count": n, "kpis": [{code, name, name_vi, name_en, unit, value, status, target,
         previous, change, trend, as_of, area, ...}]}; headline=1 only the overview's KPIs,
         headline=0 only the others.
    GET /api/v1/kpis/<code>
        the same fields for one KPI plus thresholds and ``breakdown``: [{code, name, value,
        status}] by province or unit (empty list when the KPI has none); 404 for an unknown code.

``status`` is red | amber | green | nodata | neutral (no thresholds); ``value`` is null
with ``nodata``. Served from the shared snapshot (at most ``CACHE_SECONDS`` old).
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from api.serialize import bad_request, iso
from kpis.catalogue import AREAS
from kpis.compute import KpiValue, select_kpis
from queries.cached import kpis_snapshot
from services import current, current_language
from settings import ConfigError

_TRUE, _FALSE = ("1", "true", "yes"), ("0", "false", "no")


def _number(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def kpi_json(v: KpiValue, tz: Any, lang: str) -> dict[str, Any]:
    return {
        "code": v.code,
        "name": v.name(lang),
        "name_vi": v.name_vi,
        "name_en": v.name_en,
        "area": v.area,
        "unit": v.unit_in(lang),
        "value": _number(v.value),
        "status": v.status,
        "target": v.target,
        "previous": _number(v.previous),
        "change": _number(v.change),
        "trend": v.trend,
        "improving": v.improving,
        "as_of": iso(v.as_of, tz),
        "direction": v.direction,
        "headline": v.headline,
        "owner": v.owner,
        "period": v.period,
        "window": v.window,
        "from": iso(v.period_start, tz),
        "to": iso(v.period_end, tz),
        "total": v.total,
        "note": v.note or None,
    }


def kpi_detail_json(v: KpiValue, tz: Any, lang: str) -> dict[str, Any]:
    body = kpi_json(v, tz, lang)
    body["thresholds"] = {"green": v.thresholds[0], "red": v.thresholds[1]} if v.thresholds else None
    body["breakdown_by"] = v.breakdown_by
    body["breakdown"] = [
        {"code": b.code, "name": b.name, "value": _number(b.value), "status": b.status} for b in v.breakdown or []
    ]
    return body


def _snapshot() -> list[KpiValue] | Response:
    try:
        return kpis_snapshot()
    except ConfigError as exc:
        response = jsonify({"error": f"the KPI file cannot be used: {exc}"})
        response.status_code = 503
        return response


def register(bp: Blueprint) -> None:
    @bp.get("/kpis")
    def kpi_list():  # noqa: ANN202
        area = request.args.get("area") or None
        if area is not None and area not in AREAS:
            return bad_request(f"area must be one of {', '.join(AREAS)}")
        flag = (request.args.get("headline") or "").lower()
        if flag and flag not in _TRUE + _FALSE:
            return bad_request("headline must be 1 (only headline KPIs) or 0 (only the others)")
        headline = None if not flag else flag in _TRUE
        values = _snapshot()
        if isinstance(values, Response):
            return values
        tz, lang = current().settings.tz, current_language()
        chosen = select_kpis(values, area, headline)
        return jsonify({"count": len(chosen), "kpis": [kpi_json(v, tz, lang) for v in chosen]})

    @bp.get("/kpis/<code>")
    def kpi_detail(code: str):  # noqa: ANN202
        values = _snapshot()
        if isinstance(values, Response):
            return values
        found = next((v for v in values if v.code == code), None)
        if found is None:
            response = jsonify({"error": f"no KPI with code {code!r}; GET /api/v1/kpis lists them"})
            response.status_code = 404
            return response
        return jsonify(kpi_detail_json(found, current().settings.tz, current_language()))
