"""Environment panels besides air quality: exceedances by facility and data completeness by province."""
from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import dash_ag_grid as dag
import plotly.graph_objects as go

from components.grids import paged_options
from components.theme import FONT_FAMILY
from i18n import format_number, format_time, t
from queries.exceedances import SiteExceedances
from queries.station_health import ProvinceCompleteness, StationDay
from reference.provinces import province


def exceedance_rows(sites: list[SiteExceedances], tz: ZoneInfo, lang: str) -> list[dict[str, Any]]:
    return [
        {
            "code": s.code,
            "name": s.name,
            "type": t(f"station.type.{s.type}", lang),
            "province": province(s.province_code).name if s.province_code else "",
            "metrics": ", ".join(s.metrics),
            "count": s.count,
            "worst": f"{format_number(s.worst_ratio, lang, 2, fixed=True)}×",
            "last": format_time(s.last_window_end, tz, lang),
            "basis": t(f"exceedance.basis.{s.basis}", lang),
        }
        for s in sites
    ]


def exceedance_grid(grid_id: str, lang: str) -> dag.AgGrid:
    columns = [
        {"field": "name", "headerName": t("exceedance.col.site", lang), "flex": 2, "minWidth": 220},
        {"field": "type", "headerName": t("exceedance.col.type", lang), "width": 120},
        {"field": "province", "headerName": t("aqi.col.province", lang), "width": 150},
        {"field": "metrics", "headerName": t("exceedance.col.metrics", lang), "flex": 1, "minWidth": 150},
        {"field": "count", "headerName": t("exceedance.col.count", lang), "width": 110, "type": "rightAligned"},
        {"field": "worst", "headerName": t("exceedance.col.worst", lang), "width": 130, "type": "rightAligned",
         "cellStyle": {"color": "#ff6b6b", "fontWeight": "700"}},
        {"field": "last", "headerName": t("exceedance.col.last", lang), "width": 150},
        {"field": "basis", "headerName": t("exceedance.col.basis", lang), "width": 130},
    ]
    return dag.AgGrid(
        id=grid_id, columnDefs=columns, rowData=[], getRowId="params.data.code",
        defaultColDef={"resizable": True, "sortable": True},
        dashGridOptions=paged_options(lang, t("exceedance.none", lang), 15),
        style={"width": "100%"},
    )


def completeness_figure(provinces: list[ProvinceCompleteness], lang: str, height: int | None = 380,
                        font_px: int = 12) -> go.Figure:
    """Received ÷ expected readings today per province, as a percentage; below 80 % in amber, 50 % in red."""
    rows = sorted((p for p in provinces if p.completeness is not None and p.province_code),
                  key=lambda p: p.completeness, reverse=True)
    return _completeness_bars([province(p.province_code).name for p in rows], [p.completeness for p in rows],
                              [f"{p.stations_reporting}/{p.stations}" for p in rows], lang, height, font_px)


def station_completeness_figure(days: list[StationDay], lang: str, height: int | None = 380,
                                font_px: int = 12) -> go.Figure:
    """The same per station of one province (its drill-down), with the hours of calibration or fault."""
    rows = sorted((d for d in days if d.completeness is not None), key=lambda d: d.completeness, reverse=True)
    notes = [t("completeness.station_note", lang, received=d.received, expected=d.expected,
               calibration=d.hours_calibration_or_fault) for d in rows]
    return _completeness_bars([d.name for d in rows], [d.completeness for d in rows], notes, lang, height, font_px)


def _completeness_bars(names: list[str], shares: list[float], notes: list[str], lang: str, height: int | None,
                       font_px: int) -> go.Figure:
    pct = [round(100 * share, 1) for share in shares]
    colours = ["#1f9d55" if v >= 80 else "#d69e2e" if v >= 50 else "#e53e3e" for v in pct]
    figure = go.Figure(
        go.Bar(
            x=names, y=pct, marker_color=colours,
            text=[f"{format_number(v, lang, 0)}%" for v in pct], textposition="outside",
            customdata=notes, hovertemplate="%{x}: %{y}%<br>%{customdata}<extra></extra>",
        )
    )
    figure.update_layout(
        template="plotly_dark", paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)",
        margin={"l": 40, "r": 10, "t": 10, "b": 10}, height=height, autosize=height is None,
        yaxis={"range": [0, 110], "title": "%"}, xaxis={"tickangle": -45, "automargin": True},
        uirevision="completeness", font={"family": FONT_FAMILY, "size": font_px},
    )
    return figure
