"""Wall panels about the operations centre itself: the health of the system and its sources."""
from __future__ import annotations

from dash import html
from pydantic import BaseModel

from components.panels import PanelContext, PanelData, PanelKind, register
from components.status import status_badge
from i18n import t
from queries.cached import health_snapshot


@register
class SourcesPanel(PanelKind):
    """System status and one line per source: status in words, and how old its data is."""

    name = "sources"
    title_key = "wall.panel.sources"

    def data(self, options: BaseModel, ctx: PanelContext) -> PanelData:
        health = health_snapshot()
        lines = [
            html.Div(
                [
                    status_badge(s.status, ctx.lang),
                    html.Span(s.name, className="source-name"),
                    # The browser writes the age from the time and keeps it counting (assets/wall.js).
                    html.Span(className="source-age", **{"data-since": str(int(s.last_observation_at.timestamp()))})
                    if s.last_observation_at else html.Span("–", className="source-age"),
                ],
                className=f"source-line source-{s.status}",
            )
            for s in health.sources
        ]
        body = [
            html.Div([status_badge(health.status, ctx.lang),
                      html.Span(t("health.counts", ctx.lang, **health.counts), className="health-counts")],
                     className="health-line"),
            html.Div(lines, className="source-lines"),
        ]
        return PanelData([body], health.checked_at, interval_seconds=60)
