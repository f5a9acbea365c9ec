"""Wall panels of the ministry's direction: headline KPIs and live alerts."""
from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from dash import html
from pydantic import BaseModel, ConfigDict, Field

from components.alert_list import alert_lines, severity_counts
from components.kpi_tiles import kpi_tile
from components.panels import PanelContext, PanelData, PanelKind, built, register
from queries.cached import alerts_snapshot, kpis_snapshot
from services import current


class KpiOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    codes: list[str] | None = Field(default=None, description="KPI codes to show; default the headline ones")
    area: str | None = Field(default=None, description="only this area's KPIs (with codes unset)")
    per_row: int = Field(default=4, ge=1, le=12, description="tiles per row")


def _tiles(chosen: list, lang: str, tz: ZoneInfo, per_row: int) -> html.Div:
    return html.Div([kpi_tile(k, lang, tz) for k in chosen], className="kpi-tiles",
                    style={"gridTemplateColumns": f"repeat({per_row}, minmax(0, 1fr))"})


@register
class KpiPanel(PanelKind):
    """Tiles of the catalogue's headline KPIs (or the ones named), each with status and trend."""

    name = "kpis"
    title_key = "kpi.headline"
    Options = KpiOptions

    def data(self, options: KpiOptions, ctx: PanelContext) -> PanelData:
        values = kpis_snapshot()
        if options.codes:
            by_code = {k.code: k for k in values}
            chosen = [by_code[c] for c in options.codes if c in by_code]
        else:
            chosen = [k for k in values if (k.area == options.area if options.area else k.headline)]
        tiles = built(_tiles, chosen, ctx.lang, ctx.tz, options.per_row)
        # Each tile carries its own data time; KPIs run on daily and monthly figures.
        return PanelData([tiles], max((k.as_of for k in chosen if k.as_of), default=None), None)


class AlertOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rows: int = Field(default=8, ge=3, le=30, description="how many alerts the list shows")
    sound: bool = Field(default=False, description="a short tone when a new critical alert appears (a kiosk "
                                                   "Chromium needs --autoplay-policy=no-user-gesture-required)")


@register
class AlertsPanel(PanelKind):
    """Counts of open alerts by severity and the open alerts, most severe and newest first."""

    name = "alerts"
    title_key = "alert.title"
    Options = AlertOptions

    def data(self, options: AlertOptions, ctx: PanelContext) -> PanelData:
        rows, counts = alerts_snapshot()
        # "New" spans two refreshes plus the snapshot's cache: an alert opened just after a
        # snapshot still reaches the wall marked new. The browser flashes (and sounds) each
        # alert id once however many refreshes keep it marked (assets/wall.js).
        new_within = timedelta(seconds=2 * ctx.refresh_seconds + current().settings.cache_seconds)
        body = [severity_counts(counts, ctx.lang),
                alert_lines(rows[: options.rows], ctx.lang, ctx.tz, ctx.now, options.rows, new_within,
                            sound=options.sound)]
        return PanelData([body], ctx.now, None)
