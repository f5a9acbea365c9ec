"""Environment: air quality now, limit exceedances by facility, and data completeness by province."""
from __future__ import annotations

import dash
from dash import Input, Output, callback, dcc, html

from components.air_quality import province_figure, province_tiles, worst_grid, worst_rows
from components.environment import completeness_figure, exceedance_grid, exceedance_rows
from i18n import format_time, t
from queries.cached import completeness_snapshot, current_aqi_snapshot, exceedances_snapshot
from services import current

dash.register_page(__name__, path="/environment", title="Môi trường", order=10)


def layout(**_query: str) -> html.Div:
    svc = current()
    lang = svc.settings.language
    return html.Div(
        [
            html.H1(t("environment.title", lang), className="page-title"),
            html.Div(id="environment-as-of", className="as-of"),
            html.Section([html.H2(t("aqi.worst_now", lang)), worst_grid("aqi-worst", lang)], className="panel"),
            html.Div(
                [
                    html.Section(
                        [html.H2(t("aqi.map", lang)),
                         dcc.Graph(id="aqi-tiles", config={"displaylogo": False})],
                        className="panel",
                    ),
                    html.Section(
                        [html.H2(t("aqi.by_province", lang)),
                         dcc.Graph(id="aqi-provinces", config={"displaylogo": False})],
                        className="panel",
                    ),
                ],
                className="two-columns",
            ),
            html.Section([html.H2(t("exceedance.title", lang)), exceedance_grid("exceedances", lang)], className="panel"),
            html.Section(
                [html.H2(t("completeness.title", lang)),
                 dcc.Graph(id="completeness", config={"displaylogo": False, "responsive": True})],
                className="panel",
            ),
            dcc.Interval(id="environment-refresh", interval=int(svc.settings.page_refresh_seconds * 1000)),
        ],
        className="page page-environment",
    )


@callback(
    Output("aqi-worst", "rowData"),
    Output("aqi-tiles", "figure"),
    Output("aqi-provinces", "figure"),
    Output("environment-as-of", "children"),
    Output("exceedances", "rowData"),
    Output("completeness", "figure"),
    Input("environment-refresh", "n_intervals"),
)
def refresh(_n: int | None) -> tuple[list[dict], object, object, str, list[dict], object]:
    svc = current()
    lang, tz = svc.settings.language, svc.settings.tz
    stations = current_aqi_snapshot()
    newest = max((s.hour for s in stations), default=None)
    return (
        worst_rows(stations, tz, lang),
        province_tiles(stations, lang),
        province_figure(stations, lang),
        t("data.as_of", lang, time=format_time(newest, tz, lang)),
        exceedance_rows(exceedances_snapshot(), tz, lang),
        completeness_figure(completeness_snapshot(), lang),
    )
