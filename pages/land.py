"""Đất đai: the area's KPIs from the catalogue and the drill-down of one by province or unit
(``/land?kpi=CODE``). Built on :mod:`components.area`."""
from __future__ import annotations

import dash
from dash import html

from components.area import area_layout, register_area_callbacks
from components.query import single_values

dash.register_page(__name__, path="/land", title="Đất đai", order=30)
register_area_callbacks("land")


@single_values
def layout(kpi: str = "", **_query: str) -> html.Div:
    return area_layout("land", "/land", kpi)
