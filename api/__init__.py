"""The JSON API under /api/v1, one module per resource."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from api import admin, alerts, briefings, environment, export, health, kpis, sources, stations

blueprint = Blueprint("api_v1", __name__, url_prefix="/api/v1")
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
