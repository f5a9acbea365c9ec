"""Overview: the state of the ministry at a glance — headline KPIs, open alerts, system health
and every source. The headline KPIs are the ones the catalogue (config/kpis.yaml) marks."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dash
from dash import Input, Output, callback, html

from components.alert_list import alert_lines, severity_counts
from components.area import AREA_PATHS
from components.kpi_tiles import kpi_tile
from components.refresh import page_refresh
from components.status import status_badge
from i18n import format_number, format_time, t
from queries.cached import alerts_snapshot, entity_counts_snapshot, health_snapshot, kpis_snapshot
from services import current, current_language

dash.register_page(__name__, path="/", title="Tổng quan", order=0)
ALERT_LINES = 8


def layout(**_query: str) -> html.Div:
    lang = current_language()
    return html.Div(
        [
            html.H1(t("overview.title", lang), className="page-title"),
            html.Div(id="overview-health", className="health-summary"),
            html.Section([html.H2(t("kpi.headline", lang)), html.Div(id="overview-kpis", className="kpi-tiles")],
                         className="panel"),
            html.Section([html.H2(t("alert.title", lang)), html.Div(id="overview-alerts")], className="panel"),
            html.Div(id="overview-sources", className="tile-grid"),
            html.Div(id="overview-entities", className="entity-counts"),
            page_refresh("overview-refresh"),
        ],
        className="page page-overview",
    )


@callback(
    Output("overview-health", "children"),
    Output("overview-kpis", "children"),
    Output("overview-alerts", "children"),
    Output("overview-sources", "children"),
    Output("overview-entities", "children"),
    Input("overview-refresh", "n_intervals"),
)
def refresh(_n: int | None) -> tuple[list, list, list, list, list]:
    svc = current()
    lang, tz = current_language(), svc.settings.tz
    health = health_snapshot()
    header = [
        status_badge(health.status, lang),
        html.Span(t("health.counts", lang, **health.counts), className="health-item"),
        html.Span(t("data.as_of", lang, time=format_time(health.checked_at, tz, lang)), className="as-of"),
    ]
    # Each headline links to its drill-down on the area's page.
    kpis = [kpi_tile(k, lang, tz, href=f"{AREA_PATHS[k.area]}?kpi={k.code}" if k.area in AREA_PATHS else None)
            for k in kpis_snapshot() if k.headline]
    rows, counts = alerts_snapshot()
    alerts = [severity_counts(counts, lang),
              alert_lines(rows[:ALERT_LINES], lang, tz, datetime.now(UTC), min(ALERT_LINES, max(1, len(rows))),
                          timedelta(seconds=svc.settings.page_refresh_seconds))]
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
    counts_line = [
        html.Span([html.B(format_number(n, lang, 0)), f" {kind}"], className="entity-count")
        for kind, n in entity_counts_snapshot().items()
    ]
    return header, kpis, alerts, tiles, counts_line
