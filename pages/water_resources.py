"""Tài nguyên nước: the area's KPIs from the catalogue and the drill-down of one by province or unit
(``/water-resources?kpi=CODE``). Built on :mod:`components.area`."""
from __future__ import annotations

import dash
from dash import html

from components.area import area_layout, register_area_callbacks
from components.query import single_values

dash.register_page(__name__, path="/water-resources", title="Tài nguyên nước", order=31)
register_area_callbacks("water_resources")


@single_values
def layout(kpi: str = "", **_query: str) -> html.Div:
    return area_layout("water_resources", "/water-resources", kpi)
