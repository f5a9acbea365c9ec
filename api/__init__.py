"""The JSON API under /api/v1, one module per resource."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from api import admin, alerts, briefings, environment, export, health, kpis, sources, stations
from api.serialize import bad_request
from components.query import has_control_characters

# The query parameters whose text goes to the store as given, as a filter. The views check the
# others against their valid values, or ignore them (flags, unknown names).
TEXT_FILTERS = frozenset({"province", "metric", "actor", "action"})

blueprint = Blueprint("api_v1", __name__, url_prefix="/api/v1")


@blueprint.before_request
def refuse_control_characters() -> Response | None:
    """No code or name in the store holds a control character (NUL, newline ...), and PostgreSQL
    refuses a NUL in any text it is given (psycopg.DataError, an HTTP 500). So, on every store alike,
    one in a path parameter (a station's or a KPI's code) names nothing: a JSON 404; and one in a
    text filter is a 400, before the view queries anything."""
    if any(isinstance(value, str) and has_control_characters(value) for value in (request.view_args or {}).values()):
        response = jsonify({"error": "nothing here: the path holds a control character"})
        response.status_code = 404
        return response
    for name in TEXT_FILTERS:
        if any(has_control_characters(value) for value in request.args.getlist(name)):
            return bad_request(f"{name} must not hold a control character")
    return None


health.register(blueprint)
sources.register(blueprint)
stations.register(blueprint)
environment.register(blueprint)
kpis.register(blueprint)
alerts.register(blueprint)
briefings.register(blueprint)
export.register(blueprint)
admin.register(blueprint)


@blueprint.route("/<path:_unknown>", methods=["GET", "POST"])
def unknown(_unknown: str):  # noqa: ANN201
    """A path under /api/v1 that no view serves: a JSON 404, not Dash's page shell."""
    response = jsonify({"error": f"no such API endpoint: {request.path}; see README.md, section API"})
    response.status_code = 404
    return response
