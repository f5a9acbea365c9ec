"""The JSON API under /api/v1, one module per resource."""
from __future__ import annotations

from flask import Blueprint

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
