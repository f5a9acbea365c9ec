"""One station: its status and latest values, and the trend of every parameter with limits
and calibration hours. Reached from the Environment page; ``/station/<code>?range=48h``."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import dash
from dash import Input, Output, State, callback, dcc, html

from components.query import has_control_characters, single_values
from components.refresh import page_refresh
from components.station_chart import trend_figure
from components.status import status_badge
from i18n import format_number, format_time, t
from limits import current_limits, limit_lines
from queries.stations import list_stations, station_hourly
from services import current, current_language

RANGES = {"24h": timedelta(hours=24), "48h": timedelta(hours=48), "7d": timedelta(days=7)}
# Hourly roll-ups change at most once a poll; and a refresh faster than the callback would
# make the browser drop every answer as stale before it arrives.
MIN_REFRESH_SECONDS = 60

dash.register_page(__name__, path_template="/station/<code>", title="Trạm quan trắc", order=20)


@single_values
def layout(code: str | None = None, range: str = "48h", **_query: str) -> html.Div:  # noqa: A002 - the URL's name
    svc = current()
    lang, tz = current_language(), svc.settings.tz
    # A code with a control character names no station (and PostgreSQL refuses a NUL in a query).
    found = [] if code and has_control_characters(code) else list_stations(
        svc.engine, datetime.now(timezone.utc), svc.settings.offline_after_intervals, code=code)
    if not found:
        return html.Div([html.H1(t("station.not_found", lang, code=code or ""), className="page-title")], className="page")
    station = found[0]
    latest = [
        html.Span([html.B(metric), f" {format_number(v.value, lang, 2)} {v.unit}"],
                  className="latest-value" + ("" if v.valid else " latest-invalid"))
        for metric, v in sorted(station.latest.items())
    ]
    return html.Div(
        [
            html.H1(station.name, className="page-title"),
            html.Div(
                [
                    status_badge("ok" if station.status == "online" else "failing", lang, t(f"station.{station.status}", lang)),
                    html.Span(f"{station.code} · {t(f'station.type.{station.type}', lang)}", className="health-item"),
                    html.Span(t("station.last_valid", lang, time=format_time(station.last_valid_at, tz, lang)),
                              className="as-of"),
                ],
                className="health-summary",
            ),
            html.Div(latest, className="latest-values"),
            dcc.RadioItems(id="station-range", options=[{"label": t(f"range.{k}", lang), "value": k} for k in RANGES],
                           value=range if range in RANGES else "48h", inline=True, className="range-picker",
                           labelClassName="range-option"),
            dcc.Store(id="station-code", data=station.code),
            dcc.Graph(id="station-trend", config={"displaylogo": False, "responsive": True}),
            page_refresh("station-refresh", MIN_REFRESH_SECONDS),
        ],
        className="page page-station",
    )


@callback(
    Output("station-trend", "figure"),
    Input("station-range", "value"),
    Input("station-refresh", "n_intervals"),
    State("station-code", "data"),
)
def refresh(range_key: str, _n: int | None, code: str) -> object:
    svc = current()
    lang, tz = current_language(), svc.settings.tz
    now = datetime.now(timezone.utc)
    hourly = station_hourly(svc.engine, code, now - RANGES.get(range_key, RANGES["48h"]), now + timedelta(hours=1))
    (station,) = list_stations(svc.engine, now, svc.settings.offline_after_intervals, code=code)
    limits = current_limits(svc.settings.limits_file)
    today = now.astimezone(tz).date()
    lines = {
        metric: limit_lines(limits, station.type, station.meta, metric, unit, today)
        for metric, unit in hourly[["metric", "unit"]].drop_duplicates().itertuples(index=False)
    }
    return trend_figure(hourly, lines, tz, t("station.shaded", lang))
