"""Overview: the state of the operations centre at a glance — system health and every source.

The ministry's KPI tiles join this page as the indicator work lands.
"""
from __future__ import annotations

import dash
from dash import Input, Output, callback, dcc, html

from components.status import status_badge
from i18n import format_number, format_time, t
from queries.cached import entity_counts_snapshot, health_snapshot
from services import current

dash.register_page(__name__, path="/", title="Tổng quan", order=0)


def layout(**_query: str) -> html.Div:
    svc = current()
    return html.Div(
        [
            html.H1(t("overview.title", svc.settings.language), className="page-title"),
            html.Div(id="overview-health", className="health-summary"),
            html.Div(id="overview-sources", className="tile-grid"),
            html.Div(id="overview-entities", className="entity-counts"),
            dcc.Interval(id="overview-refresh", interval=int(svc.settings.page_refresh_seconds * 1000)),
        ],
        className="page page-overview",
    )


@callback(
    Output("overview-health", "children"),
    Output("overview-sources", "children"),
    Output("overview-entities", "children"),
    Input("overview-refresh", "n_intervals"),
)
def refresh(_n: int | None) -> tuple[list, list, list]:
    svc = current()
    lang, tz = svc.settings.language, svc.settings.tz
    health = health_snapshot()
    header = [
        status_badge(health.status, lang),
        html.Span(t("health.counts", lang, **health.counts), className="health-item"),
        html.Span(t("data.as_of", lang, time=format_time(health.checked_at, tz, lang)), className="as-of"),
    ]
    tiles = [
        html.Div(
            [
                html.Div(s.name, className="tile-title"),
                status_badge(s.status, lang),
                html.Div(t("data.as_of", lang, time=format_time(s.last_observation_at, tz, lang)), className="tile-time"),
            ],
            className=f"tile tile-{s.status}",
        )
        for s in health.sources
    ]
    counts = [
        html.Span([html.B(format_number(n, lang, 0)), f" {kind}"], className="entity-count")
        for kind, n in entity_counts_snapshot().items()
    ]
    return header, tiles, counts
