"""KPI tiles: a large value with its unit, the status in colour and in words, the change
since the previous period, and the time of the data. Used by the Overview page and walls."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from dash import html

from i18n import format_number, format_time, t
from kpis.compute import KpiValue

STATUS_ICONS = {"green": "●", "amber": "◐", "red": "▲", "nodata": "○", "neutral": "■"}
TREND_ARROWS = {"up": "↑", "down": "↓", "flat": "→"}


def _digits(value: float | None, unit: str) -> int:
    if value is None:
        return 0
    return 1 if unit == "%" or abs(value) < 100 else 0


def kpi_tile(k: KpiValue, lang: str, tz: ZoneInfo, href: str | None = None) -> html.Div:
    """One tile; ``href`` makes its name a link to the drill-down."""
    value = format_number(k.value, lang, _digits(k.value, k.unit))
    unit = "" if k.value is None else k.unit_in(lang)
    trend = []
    if k.change is not None and k.trend is not None:
        sign = "+" if k.change > 0 else ""
        direction = "better" if k.improving else "worse" if k.improving is False else "flat"
        trend = [html.Span(
            f"{TREND_ARROWS[k.trend]} {sign}{format_number(k.change, lang, _digits(k.change, k.unit))} "
            f"{t('kpi.vs_previous', lang)}",
            className=f"kpi-trend kpi-trend-{direction}",
        )]
    footer = [t("kpi.target", lang, target=format_number(k.target, lang, 1))] if k.target is not None else []
    if k.as_of:
        footer.append(t("data.as_of", lang, time=format_time(k.as_of, tz, lang, "HH:mm dd/MM")))
    name = html.A(k.name(lang), href=href, className="kpi-name") if href else html.Div(k.name(lang), className="kpi-name")
    return html.Div(
        [
            name,
            html.Div([html.Span(value, className="kpi-value"), html.Span(unit, className="kpi-unit")],
                     className="kpi-figure"),
            html.Div([html.Span(STATUS_ICONS.get(k.status, "?"), className="kpi-icon"),
                      html.Span(t(f"kpi.status.{k.status}", lang), className="kpi-status-text")],
                     className="kpi-status"),
            html.Div(trend, className="kpi-trend-line"),
            html.Div(" · ".join(footer), className="kpi-as-of"),
        ],
        className=f"kpi-tile kpi-{k.status}",
    )
