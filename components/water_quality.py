"""Surface-water quality (VN_WQI) as table rows and a grid, coloured by the Decision's bands."""
from __future__ import annotations

from typing import Any

import dash_ag_grid as dag

from components.grids import category_style, paged_options
from components.links import station_link
from i18n import format_number, t
from indicators.wqi import BANDS
from queries.water_quality import StationWQI
from reference.provinces import province

# Green and yellow backgrounds: black text reads better; blue, orange, red and maroon take white.
DARK_TEXT = {"wqi_76_90", "wqi_51_75"}


def wqi_rows(stations: list[StationWQI], lang: str) -> list[dict[str, Any]]:
    """Stations with a WQI, worst (lowest) first."""
    ranked = sorted((s for s in stations if s.wqi is not None), key=lambda s: s.wqi)
    return [
        {"code": s.code, "wqi": s.wqi, "wqi_text": format_number(s.wqi, lang, 0), "band": s.label, "band_key": s.band,
         "colour": s.colour, "station": s.name, "link": station_link(s.name, s.code),
         "province": province(s.province_code).name if s.province_code else "", "hours": s.hours}
        for s in ranked
    ]


def wqi_grid(grid_id: str, lang: str) -> dag.AgGrid:
    band = category_style("band_key", ((b.key, b.colour) for b in BANDS), DARK_TEXT)
    columns = [
        {"field": "wqi", "headerName": "WQI", "width": 90, "cellStyle": band, "type": "rightAligned"},
        {"field": "band", "headerName": t("wqi.col.band", lang), "width": 140, "cellStyle": band},
        {"field": "link", "headerName": t("aqi.col.station", lang), "flex": 2, "minWidth": 240,
         "cellRenderer": "markdown", "linkTarget": "_self"},
        {"field": "province", "headerName": t("aqi.col.province", lang), "flex": 1, "minWidth": 120},
        {"field": "hours", "headerName": t("wqi.col.hours", lang), "width": 110, "type": "rightAligned"},
    ]
    return dag.AgGrid(
        id=grid_id, columnDefs=columns, rowData=[], getRowId="params.data.code",
        defaultColDef={"resizable": True, "sortable": True},
        dashGridOptions=paged_options(lang, t("map.no_data", lang), 10),
        style={"width": "100%"},
    )

