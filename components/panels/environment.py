"""Wall panels of environmental monitoring: air quality, surface water, discharges, data completeness."""
from __future__ import annotations

from typing import Any

from dash import dcc
from pydantic import BaseModel, ConfigDict, Field

from components.air_quality import DARK_TEXT, province_figure, province_tiles, station_map_of
from components.environment import completeness_figure
from components.panels import PanelContext, PanelData, PanelKind, built, part_id, register, wall_table
from components.water_quality import DARK_TEXT as WQI_DARK_TEXT
from components.water_quality import wqi_rows
from i18n import format_number, format_time, t
from indicators.aqi import CATEGORY_BY_KEY
from queries.cached import (
    completeness_snapshot,
    current_aqi_snapshot,
    current_wqi_snapshot,
    exceedances_snapshot,
    newest_reading_snapshot,
)
from queries.stations import STATION_TYPES
from reference.provinces import GRID_ROWS, province

HOUR = 3600
STATION_INTERVAL = 300  # the stations' usual reporting interval; a panel is stale after a few
STATION_SUBTYPES = tuple(STATION_TYPES.values())


class Rows(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rows: int = Field(default=10, ge=3, le=30, description="how many lines the table shows")


def _graph(kind: str, panel: str) -> dcc.Graph:
    # Static plots: a wall has no pointer, and the mode bar would cover data.
    return dcc.Graph(id=part_id(kind, "graph", panel), className="panel-graph",
                     config={"displayModeBar": False, "staticPlot": False, "responsive": True},
                     style={"height": "100%", "width": "100%"})


class _GraphPanel(PanelKind):
    parts = (("graph", "figure"),)

    def render(self, panel: str, options: BaseModel, lang: str) -> Any:
        return _graph(self.name, panel)


def _station_map(stations: list, lang: str, font_px: int) -> Any:
    return station_map_of(stations, lang, height=None, font_px=font_px)


def _newest_hour(stations: list) -> Any:
    return max((s.hour for s in stations), default=None)


def _cell_colours(colour: str, dark: bool) -> dict[str, str]:
    return {"backgroundColor": colour, "color": "#000" if dark else "#fff", "fontWeight": "700"}


@register
class WorstAQIPanel(PanelKind):
    """The stations with the highest hourly VN_AQI now, with the category in words."""

    name = "aqi_worst"
    title_key = "aqi.worst_now"
    Options = Rows

    def data(self, options: Rows, ctx: PanelContext) -> PanelData:
        stations = current_aqi_snapshot()
        rows = [
            {
                "aqi": s.aqi, "category": CATEGORY_BY_KEY[s.category].label(ctx.lang), "station": s.name,
                "province": province(s.province_code).name if s.province_code else "",
                "_style_aqi": _cell_colours(s.colour, s.category in DARK_TEXT),
                "_style_category": _cell_colours(s.colour, s.category in DARK_TEXT),
            }
            for s in stations[: options.rows]
        ]
        columns = [("aqi", "AQI"), ("category", t("aqi.col.category", ctx.lang)),
                   ("station", t("aqi.col.station", ctx.lang)), ("province", t("aqi.col.province", ctx.lang))]
        table = built(wall_table, columns, rows, options.rows, t("map.no_data", ctx.lang))
        return PanelData([table], _newest_hour(stations), HOUR)


@register
class AQITileMapPanel(_GraphPanel):
    """The province tile map coloured by each province's worst station now."""

    name = "aqi_map"
    title_key = "aqi.map"

    def data(self, options: BaseModel, ctx: PanelContext) -> PanelData:
        stations = current_aqi_snapshot()
        # Values sized to the tiles (13 rows of them), not to the screen, so names stay inside.
        font_px = max(9, min(ctx.font_px, round(ctx.panel_height / GRID_ROWS * 0.34)))
        return PanelData([built(province_tiles, stations, ctx.lang, height=None, font_px=font_px)],
                         _newest_hour(stations), HOUR)


@register
class AQIProvincesPanel(_GraphPanel):
    """One bar per province: its worst station's AQI now."""

    name = "aqi_provinces"
    title_key = "aqi.by_province"

    def data(self, options: BaseModel, ctx: PanelContext) -> PanelData:
        stations = current_aqi_snapshot()
        return PanelData([built(province_figure, stations, ctx.lang, height=None, font_px=ctx.font_px)],
                         _newest_hour(stations), HOUR)


@register
class AQIStationMapPanel(_GraphPanel):
    """Every air station as a point coloured by its AQI category, on the outline of the country."""

    name = "aqi_stations"
    title_key = "aqi.station_map"

    def data(self, options: BaseModel, ctx: PanelContext) -> PanelData:
        stations = current_aqi_snapshot()
        return PanelData([built(_station_map, stations, ctx.lang, ctx.font_px)], _newest_hour(stations), HOUR)


@register
class ExceedancesPanel(PanelKind):
    """Facilities and stations over their limits in the last 24 hours, worst first."""

    name = "exceedances"
    title_key = "exceedance.title"
    Options = Rows

    def data(self, options: Rows, ctx: PanelContext) -> PanelData:
        sites = exceedances_snapshot()
        rows = [
            {"site": s.name, "province": province(s.province_code).name if s.province_code else "",
             "metrics": ", ".join(s.metrics), "worst": f"{format_number(s.worst_ratio, ctx.lang, 1, fixed=True)}×",
             "last": format_time(s.last_window_end, ctx.tz, ctx.lang, "HH:mm")}
            for s in sites[: options.rows]
        ]
        columns = [("site", t("exceedance.col.site", ctx.lang)), ("province", t("aqi.col.province", ctx.lang)),
                   ("metrics", t("exceedance.col.metrics", ctx.lang)), ("worst", t("exceedance.col.worst", ctx.lang)),
                   ("last", t("exceedance.col.last", ctx.lang))]
        table = built(wall_table, columns, rows, options.rows, t("exceedance.none", ctx.lang))
        # Current as of the newest reading checked, whether or not it exceeded anything.
        return PanelData([table], newest_reading_snapshot("air", "wastewater", "emission"), STATION_INTERVAL)


@register
class CompletenessPanel(_GraphPanel):
    """Today's data completeness per province (received ÷ expected readings)."""

    name = "completeness"
    title_key = "completeness.title"

    def data(self, options: BaseModel, ctx: PanelContext) -> PanelData:
        figure = built(completeness_figure, completeness_snapshot(), ctx.lang, height=None, font_px=ctx.font_px)
        return PanelData([figure], newest_reading_snapshot(*STATION_SUBTYPES), STATION_INTERVAL)


@register
class WQIPanel(PanelKind):
    """Surface-water stations by VN_WQI over the last 24 hours, worst first."""

    name = "wqi"
    title_key = "wqi.title"
    Options = Rows

    def data(self, options: Rows, ctx: PanelContext) -> PanelData:
        snapshot = current_wqi_snapshot(ctx.lang)
        rows = [
            {**r, "wqi": r["wqi_text"], "_style_wqi": _cell_colours(r["colour"], r["band_key"] in WQI_DARK_TEXT),
             "_style_band": _cell_colours(r["colour"], r["band_key"] in WQI_DARK_TEXT)}
            for r in wqi_rows(snapshot, ctx.lang)[: options.rows]
        ]
        columns = [("wqi", "WQI"), ("band", t("wqi.col.band", ctx.lang)), ("station", t("aqi.col.station", ctx.lang)),
                   ("province", t("aqi.col.province", ctx.lang))]
        newest = max((s.window_end for s in snapshot if s.wqi is not None), default=None)
        return PanelData([built(wall_table, columns, rows, options.rows, t("map.no_data", ctx.lang))], newest, HOUR)
