"""An area page of the ministry (land, water resources, reporting, public services ...): the
area's KPI tiles from the catalogue, and the drill-down of one KPI by province or unit — a
province tile map and a table. ``?kpi=LAND-01`` in the URL picks the KPI, so a link
reproduces the view. Each area's page module calls :func:`area_layout` and
:func:`register_area_callbacks` with its own area name."""
from __future__ import annotations

from typing import Any

import dash_ag_grid as dag
from dash import Input, Output, State, callback, dcc, html

from components.grids import category_style, paged_options
from components.kpi_tiles import kpi_tile
from components.query import first_value
from components.refresh import page_refresh
from components.tile_map import Tile, tile_map
from i18n import format_number, format_time, t
from kpis.compute import KpiValue
from queries.cached import kpis_snapshot
from services import current, current_language

# The area pages (pages/<area>.py) by KPI area, in the order of the navigation.
AREA_PATHS = {"land": "/land", "water_resources": "/water-resources", "reporting": "/reporting",
              "public_services": "/public-services", "gnss": "/gnss"}
STATUS_COLOURS = {"green": "#1f9d55", "amber": "#d69e2e", "red": "#e53e3e", "neutral": "#3182ce", "nodata": "#4a5568"}
DARK_STATUS = {"amber"}


def area_layout(area: str, path: str, kpi: str | list[str] | None) -> html.Div:
    """The page skeleton; the refresh callback fills it. ``kpi`` is the URL's (the first of a repeated one)."""
    lang = current_language()
    kpi = first_value(kpi)
    return html.Div(
        [
            html.Div([html.H1(t(f"area.{area}", lang), className="page-title"),
                      html.Div(id=f"{area}-as-of", className="as-of")], className="page-head"),
            html.Div(id=f"{area}-kpis", className="kpi-tiles"),
            html.Section(
                [
                    html.H2(id=f"{area}-detail-title"),
                    html.Div(
                        [dcc.Graph(id=f"{area}-map", config={"displaylogo": False}),
                         _breakdown_grid(f"{area}-breakdown", lang)],
                        className="two-columns",
                    ),
                ],
                className="panel area-detail",
            ),
            dcc.Store(id=f"{area}-selection", data={"kpi": kpi, "path": path}),
            page_refresh(f"{area}-refresh", 10),
        ],
        className=f"page page-area page-{area}",
    )


def _breakdown_grid(grid_id: str, lang: str) -> dag.AgGrid:
    status = category_style("status", STATUS_COLOURS.items(), DARK_STATUS)
    columns = [
        {"field": "name", "headerName": t("kpi.col.where", lang), "flex": 2, "minWidth": 180},
        {"field": "value_text", "headerName": t("kpi.col.value", lang), "width": 130, "type": "rightAligned",
         "comparator": {"function": "(a, b, nodeA, nodeB) => (nodeA.data.value ?? -1e18) - (nodeB.data.value ?? -1e18)"}},
        {"field": "status_text", "headerName": t("kpi.col.status", lang), "width": 150, "cellStyle": status},
    ]
    return dag.AgGrid(id=grid_id, columnDefs=columns, rowData=[], getRowId="params.data.code",
                      defaultColDef={"resizable": True, "sortable": True},
                      dashGridOptions=paged_options(lang, t("map.no_data", lang), 20), style={"width": "100%"})


def breakdown_rows(k: KpiValue, lang: str) -> list[dict[str, Any]]:
    """The KPI's breakdown, worst status first, then by value."""
    order = {"red": 0, "amber": 1, "green": 2, "neutral": 3, "nodata": 4}
    items = sorted(k.breakdown or [], key=lambda b: (order.get(b.status, 5), -(b.value or 0)))
    return [{"code": b.code, "name": b.name, "value": b.value, "status": b.status,
             "value_text": f"{format_number(b.value, lang, 1)} {k.unit_in(lang)}".strip() if b.value is not None else "—",
             "status_text": t(f"kpi.status.{b.status}", lang)} for b in items]


def breakdown_map(k: KpiValue, lang: str) -> dict:
    """Provinces coloured by the breakdown's status, each with its value."""
    tiles = {b.code: Tile(STATUS_COLOURS.get(b.status, STATUS_COLOURS["nodata"]), format_number(b.value, lang, 0),
                          dark_text=b.status in DARK_STATUS)
             for b in k.breakdown or [] if b.value is not None}
    return tile_map(tiles, t("map.no_data", lang), height=720).to_plotly_json()


def _chosen(values: list[KpiValue], wanted: Any) -> KpiValue | None:
    """The KPI ``wanted`` names (the first of a list: the selection comes from the browser), else the
    first with a breakdown, else the first."""
    by_code = {k.code: k for k in values}
    wanted = first_value(wanted)
    if wanted in by_code:
        return by_code[wanted]
    return next((k for k in values if k.breakdown), values[0] if values else None)


def register_area_callbacks(area: str) -> None:
    """The refresh of ``area``'s page: tiles (each a link that picks its KPI) and the drill-down."""

    @callback(
        Output(f"{area}-kpis", "children"),
        Output(f"{area}-detail-title", "children"),
        Output(f"{area}-map", "figure"),
        Output(f"{area}-map", "style"),
        Output(f"{area}-breakdown", "rowData"),
        Output(f"{area}-as-of", "children"),
        Input(f"{area}-refresh", "n_intervals"),
        State(f"{area}-selection", "data"),
    )
    def refresh(_n: int | None, selection: dict) -> tuple:
        svc = current()
        lang, tz = current_language(), svc.settings.tz
        values = [k for k in kpis_snapshot() if k.area == area]
        chosen = _chosen(values, selection.get("kpi"))
        tiles = [kpi_tile(k, lang, tz, href=f"{selection['path']}?kpi={k.code}") for k in values]
        newest = max((k.as_of for k in values if k.as_of), default=None)
        as_of = t("data.as_of", lang, time=format_time(newest, tz, lang))
        if chosen is None:
            return tiles, t("map.no_data", lang), {}, {"display": "none"}, [], as_of
        title = f"{chosen.name(lang)} — {t(f'kpi.breakdown.{chosen.breakdown_by}', lang)}"
        # Units (ministry departments) have no place on the map: the table alone shows them.
        if chosen.breakdown_by != "province":
            return tiles, title, {}, {"display": "none"}, breakdown_rows(chosen, lang), as_of
        return tiles, title, breakdown_map(chosen, lang), {}, breakdown_rows(chosen, lang), as_of

    refresh.__name__ = f"refresh_{area}"
