"""The JSON API under /api/v1, one module per resource."""
from __future__ import annotations

from flask import Blueprint

from api import environment, health, sources, stations
from api import kpis
from api import alerts
from api import briefings

blueprint = Blueprint("api_v1", __name__, url_prefix="/api/v1")
health.register(blueprint)
sources.register(blueprint)
stations.register(blueprint)
environment.register(blueprint)
kpis.register(blueprint)
alerts.register(blueprint)
briefings.register(blueprint)
