"""Dịch vụ công và điều hành: the area's KPIs from the catalogue and the drill-down of one by province or unit
(``/public-services?kpi=CODE``). Built on :mod:`components.area`."""
from __future__ import annotations

import dash
from dash import html

from components.area import area_layout, register_area_callbacks
from components.query import single_values

dash.register_page(__name__, path="/public-services", title="Dịch vụ công và điều hành", order=33)
register_area_callbacks("public_services")


@single_values
def layout(kpi: str = "", **_query: str) -> html.Div:
    return area_layout("public_services", "/public-services", kpi)
