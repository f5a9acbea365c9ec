"""Sources & system health: every source with its status, last and next poll, last error."""
from __future__ import annotations

from datetime import datetime, timezone

import dash
from dash import Input, Output, callback, html

from components.refresh import page_refresh
from components.sources_table import source_rows, sources_grid
from components.status import status_badge
from i18n import format_age, format_time, t
from queries.cached import health_snapshot
from services import current, current_language

dash.register_page(__name__, path="/sources", title="Nguồn dữ liệu", order=90)


def layout(**_query: str) -> html.Div:
    lang = current_language()
    return html.Div(
        [
            html.H1(t("sources.title", lang), className="page-title"),
            html.Div(id="sources-summary", className="health-summary"),
            sources_grid("sources-grid", lang),
            page_refresh("sources-refresh"),
        ],
        className="page page-sources",
    )


@callback(
    Output("sources-grid", "rowData"),
    Output("sources-summary", "children"),
    Input("sources-refresh", "n_intervals"),
)
def refresh(_n: int | None) -> tuple[list[dict], list]:
    svc = current()
    lang, tz = current_language(), svc.settings.tz
    health = health_snapshot()
    if health.database_ok:
        db = [t("health.database", lang), ": ", t("health.db_ok", lang)]
    else:
        db = [t("health.database", lang), ": ", t("health.db_down", lang), f" ({health.database_error})"]
    if health.heartbeat_at is not None:
        age = datetime.now(timezone.utc) - health.heartbeat_at
        sched = [t("health.scheduler", lang), ": ", t("health.heartbeat", lang, age=format_age(age, lang))]
    else:
        sched = [t("health.scheduler", lang), ": ", t("health.no_scheduler", lang)]
    summary = [
        status_badge(health.status, lang),
        html.Span(db, className="health-item"),
        html.Span(sched, className="health-item", **({} if health.scheduler_ok else {"data-problem": "1"})),
        html.Span(t("health.counts", lang, **health.counts), className="health-item"),
        html.Span(t("data.as_of", lang, time=format_time(health.checked_at, tz, lang)), className="as-of"),
    ]
    return source_rows(health.sources, tz, lang), summary
