"""Air-quality panels: the worst stations now, and provinces by their worst station.

Colours are the Decision's official category colours, always with the category in words.
"""
from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import dash_ag_grid as dag
import plotly.graph_objects as go

from components.grids import category_style, grid_options
from components.links import station_link
from components.station_map import MapPoint, station_map
from components.theme import FONT_FAMILY
from components.tile_map import Tile, tile_map
from i18n import format_time, t
from indicators.aqi import CATEGORIES, CATEGORY_BY_KEY
from queries.air_quality import StationAQI
from reference.provinces import province

DARK_TEXT = {"good", "moderate", "poor"}  # light backgrounds: black text reads better


def worst_rows(stations: list[StationAQI], tz: ZoneInfo, lang: str, limit: int = 10) -> list[dict[str, Any]]:
    return [
        {
            "code": s.code,
            "name": s.name,
            # Markdown, not HTML: AG Grid renders it as a link without trusting the name as markup.
            "link": station_link(s.name, s.code),
            "province": province(s.province_code).name if s.province_code else "",
            "aqi": s.aqi,
            "category": s.category,
            "category_text": CATEGORY_BY_KEY[s.category].label(lang),
            "dominant": s.dominant.upper().replace("PM25", "PM2.5"),
            "hour": format_time(s.hour, tz, lang),
        }
        for s in stations[:limit]
    ]


def worst_grid(grid_id: str, lang: str) -> dag.AgGrid:
    aqi_style = category_style("category", ((c.key, c.colour) for c in CATEGORIES), DARK_TEXT)
    columns = [
        {"field": "aqi", "headerName": "AQI", "width": 90, "cellStyle": aqi_style, "type": "rightAligned"},
        {"field": "category_text", "headerName": t("aqi.col.category", lang), "width": 120, "cellStyle": aqi_style},
        {"field": "link", "headerName": t("aqi.col.station", lang), "flex": 2, "minWidth": 220,
         "cellRenderer": "markdown", "linkTarget": "_self"},
        {"field": "province", "headerName": t("aqi.col.province", lang), "flex": 1, "minWidth": 120},
        {"field": "dominant", "headerName": t("aqi.col.dominant", lang), "width": 130},
        {"field": "hour", "headerName": t("aqi.col.hour", lang), "width": 150},
    ]
    return dag.AgGrid(
        id=grid_id, columnDefs=columns, rowData=[], getRowId="params.data.code",
        defaultColDef={"resizable": True, "sortable": True},
        dashGridOptions=grid_options(domLayout="autoHeight", animateRows=False),
        style={"width": "100%"},
    )


def worst_by_province(stations: list[StationAQI]) -> dict[str, StationAQI]:
    """Each province's worst station (the province rule of :mod:`indicators.aqi`)."""
    worst: dict[str, StationAQI] = {}
    for s in stations:
        if s.province_code and (s.province_code not in worst or s.aqi > worst[s.province_code].aqi):
            worst[s.province_code] = s
    return worst


def province_tiles(stations: list[StationAQI], lang: str, height: int | None = 900, font_px: int = 16,
                   selected: str | None = None) -> go.Figure:
    """The province tile map coloured by each province's worst station's AQI now (``selected`` outlined)."""
    tiles = {
        code: Tile(s.colour, str(s.aqi), dark_text=s.category in DARK_TEXT)
        for code, s in worst_by_province(stations).items()
    }
    return tile_map(tiles, t("map.no_data", lang), height=height, font_px=font_px, selected=selected)


def province_figure(stations: list[StationAQI], lang: str, height: int | None = 0, font_px: int = 12) -> go.Figure:
    """One bar per province: its worst station's AQI now. ``height=0`` grows with the number
    of provinces (desktop page); ``None`` fills the container (wall panel)."""
    ordered = sorted(worst_by_province(stations).values(), key=lambda s: s.aqi)
    names = [province(s.province_code).name for s in ordered]
    figure = go.Figure(
        go.Bar(
            x=[s.aqi for s in ordered], y=names, orientation="h",
            marker_color=[s.colour for s in ordered], marker_line_color="#0f1720", marker_line_width=1,
            text=[f"{s.aqi} · {CATEGORY_BY_KEY[s.category].label(lang)}" for s in ordered], textposition="outside",
            customdata=[s.name for s in ordered],
            hovertemplate="%{y}: AQI %{x}<br>%{customdata}<extra></extra>",
        )
    )
    figure.update_layout(
        template="plotly_dark", paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)",
        margin={"l": 10, "r": 40, "t": 10, "b": 30}, autosize=height is None,
        height=max(300, 22 * len(ordered) + 60) if height == 0 else height,
        xaxis={"range": [0, max([s.aqi for s in ordered] + [150]) * 1.25], "title": "AQI"},
        uirevision="province-aqi", font={"family": FONT_FAMILY, "size": font_px},
    )
    return figure


CATEGORY_RANK = {c.key: i for i, c in enumerate(CATEGORIES)}  # the map's layers: the worse on top


def station_points(stations: list[StationAQI], lang: str) -> list[MapPoint]:
    """Stations with a position as map points, a layer per AQI category: the worse on top."""
    return [
        MapPoint(s.code, s.name, s.lat, s.lon, s.colour, f"AQI {s.aqi} · {CATEGORY_BY_KEY[s.category].label(lang)}",
                 CATEGORY_RANK[s.category])
        for s in stations if s.lat is not None and s.lon is not None
    ]


def station_map_of(stations: list[StationAQI], lang: str, **kwargs: Any) -> Any:
    """The offline station map of ``stations`` by AQI (:func:`components.station_map.station_map`)."""
    return station_map(station_points(stations, lang), layers=len(CATEGORIES), **kwargs)
