"""Trạm định vị vệ tinh (VNGEONET): the area's KPIs from the catalogue and the drill-down of one by province or unit
(``/gnss?kpi=CODE``). Built on :mod:`components.area`."""
from __future__ import annotations

import dash
from dash import html

from components.area import area_layout, register_area_callbacks
from components.query import single_values

dash.register_page(__name__, path="/gnss", title="Trạm định vị vệ tinh (VNGEONET)", order=34)
register_area_callbacks("gnss")


@single_values
def layout(kpi: str = "", **_query: str) -> html.Div:
    return area_layout("gnss", "/gnss", kpi)
