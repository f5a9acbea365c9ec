"""Briefings: every archived briefing (PDF, PNG, HTML) for download, and "produce one now".

The button runs a Dash background callback (app.py's DiskcacheManager runs it in its own
process, so the page stays live during the render) that reports its steps in a progress
bar, archives the PDF like every briefing and hands it to the browser (dcc.Download).
"""
from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State, callback, dcc, html

from auth.policy import action
from briefings.archive import list_briefings
from briefings.produce import produce_briefing
from components.briefing_list import briefing_rows, briefings_grid
from components.refresh import page_refresh
from i18n import t
from services import EXTENSION, Services, current, current_language

dash.register_page(__name__, path="/briefings", title="Bản tin", order=85)
MIN_REFRESH_SECONDS = 10
STEPS = ("collect", "pdf")  # what produce_briefing reports, in order
_BUTTON = {"background": "#2b6cb0", "color": "#fff", "border": "1px solid #3182ce", "borderRadius": "4px",
           "padding": ".55rem 1.2rem", "fontWeight": 700, "fontSize": "1rem", "cursor": "pointer"}


def layout(**_query: str) -> html.Div:
    lang = current_language()
    settings = current().settings
    return html.Div(
        [
            html.H1(t("briefing.list_title", lang), className="page-title"),
            html.Div(
                [
                    html.Button(t("briefing.make_now", lang), id="briefing-make", n_clicks=0, style=_BUTTON),
                    html.Div(
                        [html.Progress(id="briefing-progress", max=str(len(STEPS)), value="0",
                                       style={"width": "220px"}),
                         html.Span(id="briefing-progress-text", style={"marginLeft": ".6rem"})],
                        id="briefing-working", hidden=True, role="status",
                    ),
                    html.Span(id="briefing-result", role="status"),
                ],
                style={"display": "flex", "alignItems": "center", "gap": "1rem", "flexWrap": "wrap",
                       "marginBottom": ".75rem"},
            ),
            html.P(t("briefing.schedule_note", lang, time=settings.briefing_time,
                     days=settings.briefing_retention_days), className="as-of", style={"marginLeft": 0}),
            briefings_grid("briefing-grid", lang),
            dcc.Download(id="briefing-download"),
            # The background job has no request: it is told the reader's language.
            dcc.Store(id="briefing-lang", data=lang),
            page_refresh("briefing-refresh", MIN_REFRESH_SECONDS),
        ],
        className="page page-briefings",
    )


@callback(
    Output("briefing-grid", "rowData"),
    Input("briefing-refresh", "n_intervals"),
    Input("briefing-result", "children"),
)
def refresh(_n: int | None, _result: Any) -> list[dict[str, Any]]:
    svc = current()
    return briefing_rows(list_briefings(svc.engine, 500), svc.settings.tz, current_language())


def _services() -> Services:
    """The app's services from inside the background job (a forked process: no request, no app context)."""
    services: Services = dash.get_app().server.extensions[EXTENSION]
    # Connections pooled by the parent must not be shared with it: the child opens its own.
    services.engine.dispose(close=False)
    return services


@callback(
    Output("briefing-download", "data"),
    Output("briefing-result", "children"),
    Input("briefing-make", "n_clicks"),
    State("briefing-lang", "data"),
    background=True,
    running=[
        (Output("briefing-make", "disabled"), True, False),
        (Output("briefing-working", "hidden"), False, True),
        (Output("briefing-result", "hidden"), True, False),
    ],
    progress=[Output("briefing-progress", "value"), Output("briefing-progress-text", "children")],
    prevent_initial_call=True,
)
@action("operator", "briefing.produce")
def make_now(set_progress: Any, n_clicks: int, lang: str | None) -> tuple[Any, str]:
    lang = lang or "vi"
    if not n_clicks:
        raise dash.exceptions.PreventUpdate
    svc = _services()
    messages = {"collect": t("briefing.step.collect", lang), "pdf": t("briefing.step.render", lang)}

    def progress(step: str) -> None:
        set_progress((str(STEPS.index(step) + 1 if step in STEPS else 0), messages.get(step, "")))

    try:
        (record,) = produce_briefing(svc.engine, svc.settings, ("pdf",), progress=progress)
    except Exception as exc:  # noqa: BLE001 - shown to the reader; nothing was archived
        return dash.no_update, t("briefing.failed", lang, error=f"{exc.__class__.__name__}: {exc}")
    if record.status != "ok":
        return dash.no_update, t("briefing.failed", lang, error=record.error or "")
    name = record.download_name(svc.settings.tz)
    return dcc.send_file(str(record.file(svc.settings)), filename=name), t("briefing.done", lang, name=name)
