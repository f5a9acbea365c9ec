"""Environment: air and surface-water quality now, limit exceedances, data completeness —
for the nation or one province (``/environment?province=HNI``; click a province tile or
pick it in the list). Stations link to their own page."""
from __future__ import annotations

import dash
from dash import Input, Output, State, callback, dcc, html, no_update

from components.air_quality import province_figure, province_tiles, station_map_of, worst_grid, worst_rows
from components.environment import completeness_figure, exceedance_grid, exceedance_rows, station_completeness_figure
from components.query import single_values
from components.refresh import page_refresh
from components.water_quality import wqi_grid, wqi_rows
from i18n import format_time, t
from queries.cached import (
    completeness_snapshot,
    current_aqi_snapshot,
    current_wqi_snapshot,
    exceedances_snapshot,
    station_days_snapshot,
)
from reference.provinces import all_provinces, province
from services import current, current_language

dash.register_page(__name__, path="/environment", title="Môi trường", order=10)
# The exceedances' look-back, picked on the page and kept in the URL (?range=7d).
RANGES = {"24h": 24, "7d": 7 * 24}
MIN_REFRESH_SECONDS = 10  # the roll-ups change once a poll; the callback draws seven panels


def _graph(graph_id: str, **style: str) -> dcc.Graph:
    return dcc.Graph(id=graph_id, config={"displaylogo": False}, style=style or None)


@single_values
def layout(province: str = "", range: str = "24h", **_query: str) -> html.Div:  # noqa: A002 - the URL's names
    lang = current_language()
    codes = {p.code for p in all_provinces()}
    return html.Div(
        [
            dcc.Location(id="environment-url", refresh=False),
            dcc.Location(id="environment-nav", refresh="callback-nav"),
            html.Div(
                [
                    html.H1(t("environment.title", lang), className="page-title"),
                    dcc.Dropdown(
                        id="environment-province", value=province if province in codes else None,
                        options=[{"label": p.name, "value": p.code} for p in sorted(all_provinces(), key=lambda p: p.name)],
                        placeholder=t("province.all", lang), clearable=True, className="province-picker",
                    ),
                    html.Div(id="environment-as-of", className="as-of"),
                ],
                className="page-head",
            ),
            html.Section([html.H2(t("aqi.worst_now", lang)), worst_grid("aqi-worst", lang)], className="panel"),
            html.Div(
                [
                    html.Section([html.H2(t("aqi.station_map", lang)), _graph("aqi-stations")], className="panel"),
                    html.Section([html.H2(t("aqi.map", lang)), _graph("aqi-tiles")], className="panel"),
                ],
                className="two-columns",
            ),
            html.Section([html.H2(t("aqi.by_province", lang)), _graph("aqi-provinces")], className="panel"),
            html.Section([html.H2(t("wqi.title", lang)), wqi_grid("wqi", lang)], className="panel"),
            html.Section(
                [html.Div([html.H2(id="exceedance-title"),
                           dcc.RadioItems(id="environment-range", value=range if range in RANGES else "24h",
                                          options=[{"label": t(f"range.{key}", lang), "value": key} for key in RANGES],
                                          inline=True, className="range-picker")],
                          className="panel-head-row"),
                 exceedance_grid("exceedances", lang)],
                className="panel",
            ),
            html.Section([html.H2(id="completeness-title"), _graph("completeness")], className="panel"),
            page_refresh("environment-refresh", MIN_REFRESH_SECONDS),
        ],
        className="page page-environment",
    )


@callback(
    Output("aqi-worst", "rowData"),
    Output("aqi-stations", "figure"),
    Output("aqi-tiles", "figure"),
    Output("aqi-provinces", "figure"),
    Output("environment-as-of", "children"),
    Output("wqi", "rowData"),
    Output("exceedance-title", "children"),
    Output("exceedances", "rowData"),
    Output("completeness-title", "children"),
    Output("completeness", "figure"),
    Input("environment-refresh", "n_intervals"),
    Input("environment-province", "value"),
    Input("environment-range", "value"),
)
def refresh(_n: int | None, code: str | None, window: str) -> tuple:
    svc = current()
    lang, tz = current_language(), svc.settings.tz
    everywhere = current_aqi_snapshot()
    stations = [s for s in everywhere if code is None or s.province_code == code]
    newest = max((s.hour for s in everywhere), default=None)
    water = [s for s in current_wqi_snapshot(lang) if code is None or s.province_code == code]
    window = window if window in RANGES else "24h"
    sites = [s for s in exceedances_snapshot(RANGES[window]) if code is None or s.province_code == code]
    if code is None:
        completeness = (t("completeness.title", lang), completeness_figure(completeness_snapshot(), lang))
    else:
        completeness = (t("completeness.province_title", lang, province=province(code).name),
                        station_completeness_figure(station_days_snapshot(code), lang))
    return (
        worst_rows(stations, tz, lang),
        station_map_of(stations, lang),
        # The tile map and the bars stay national: they are how a reader picks a province.
        province_tiles(everywhere, lang, selected=code),
        province_figure(everywhere, lang),
        t("data.as_of", lang, time=format_time(newest, tz, lang)),
        wqi_rows(water, lang),
        t(f"exceedance.title_{window}", lang),
        exceedance_rows(sites, tz, lang),
        *completeness,
    )


@callback(
    Output("environment-province", "value"),
    Input("aqi-tiles", "clickData"),
    State("environment-province", "value"),
    prevent_initial_call=True,
)
def pick_on_map(click: dict | None, code: str | None) -> str | None:
    """A click on a province tile selects it; a click on the selected one goes back to the nation."""
    picked = ((click or {}).get("points") or [{}])[0].get("customdata")
    if not picked:
        return no_update
    return None if picked == code else picked


@callback(
    Output("environment-url", "search"),
    Input("environment-province", "value"),
    Input("environment-range", "value"),
    prevent_initial_call=True,
)
def keep_in_url(code: str | None, window: str | None) -> str:
    """The URL holds the province and the range, so a link or a bookmark reproduces the view."""
    query = [f"province={code}"] if code else []
    if window and window != "24h":
        query.append(f"range={window}")
    return "?" + "&".join(query) if query else ""


@callback(
    Output("environment-nav", "href"),
    Input("aqi-stations", "clickData"),
    prevent_initial_call=True,
)
def open_station(click: dict | None) -> str:
    code = ((click or {}).get("points") or [{}])[0].get("customdata")
    return f"/station/{code}" if code else no_update
