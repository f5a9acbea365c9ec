"""The header's Export control (components/export.py): render the page in the background.

The browser turns a click into a request: the choice, the page's path and query (the URL
holds the view's state) and the window's size. A Dash background callback (app.py's
DiskcacheManager runs it in its own process, so the page stays live) shoots that path
with headless Chromium on the app's loopback address (:func:`api.export.loopback_origin`,
from the click's Host header and remote address, which Dash hands to background jobs)
and sends the file; a failure is said in the header, never sent as a file.
"""
from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State, callback, clientside_callback, dcc

from api.export import MAX_SIZE, MIN_SIZE, check_path, export_name, export_view, loopback_origin
from auth.policy import action
from auth.web import render_pass
from briefings.render import WALL_SIZES, BriefingError
from components.export import CHOICES
from i18n import t
from services import EXTENSION, LANGUAGES, Services

FORMATS = {"export-png": "png", "export-png-view": "png", "export-pdf": "pdf"}

clientside_callback(
    """function () {
        const triggered = dash_clientside.callback_context.triggered;
        if (!triggered.length || !triggered[0].value) return [dash_clientside.no_update, dash_clientside.no_update];
        return [{choice: triggered[0].prop_id.split('.')[0], path: location.pathname + location.search,
                 width: window.innerWidth, height: window.innerHeight, at: Date.now()}, false];
    }""",
    Output("export-request", "data"),
    Output("export-details", "open"),
    *[Input(button, "n_clicks") for button, _key in CHOICES],
    prevent_initial_call=True,
)


def _size(req: dict[str, Any]) -> tuple[int, int, float]:
    if req.get("choice") != "export-png-view":
        return WALL_SIZES["1920x1080"]
    # The window's size as the browser reported it, kept within what a render may ask.
    width = min(max(int(req.get("width") or 0), MIN_SIZE[0]), MAX_SIZE[0])
    height = min(max(int(req.get("height") or 0), MIN_SIZE[1]), MAX_SIZE[1])
    return width, height, 1


@callback(
    Output("export-download", "data"),
    Output("export-result", "children"),
    Output("export-result", "className"),
    Input("export-request", "data"),
    State("export-lang", "data"),
    background=True,
    running=[
        *[(Output(button, "disabled"), True, False) for button, _key in CHOICES],
        (Output("export-working", "hidden"), False, True),
        (Output("export-result", "hidden"), True, False),
    ],
    progress=[Output("export-progress", "children")],
    prevent_initial_call=True,
)
@action("operator", "export")
def export_now(set_progress: Any, req: dict[str, Any] | None, lang: str | None) -> tuple[Any, str, str]:
    lang = lang if lang in LANGUAGES else "vi"
    if not req or req.get("choice") not in FORMATS:
        raise dash.exceptions.PreventUpdate
    svc: Services = dash.get_app().server.extensions[EXTENSION]
    ctx = dash.callback_context
    headers = {key.lower(): value for key, value in (ctx.headers or {}).items()}
    origin = loopback_origin(headers.get("host"), ctx.remote, svc.settings)
    fmt = FORMATS[req["choice"]]

    def failed(error: str) -> tuple[Any, str, str]:
        return dash.no_update, t("export.failed", lang, error=error), "export-result is-error"

    if origin is None:
        return failed(t("export.no_origin", lang))
    try:
        path = check_path(str(req.get("path") or ""))
        # A background job has no request of its own: the pass is signed with the server's key.
        content = export_view(origin, path, fmt, _size(req), lang, render_pass("export", dash.get_app().server.secret_key),
                              progress=lambda step: set_progress((t(f"export.step.{step}", lang),)))
    except (ValueError, BriefingError) as exc:
        return failed(str(exc))
    except Exception as exc:  # noqa: BLE001 - said to the reader; no file is sent
        return failed(f"{exc.__class__.__name__}: {exc}")
    name = export_name(path, fmt, svc.settings.tz)
    return dcc.send_bytes(content, filename=name), t("export.done", lang, name=name), "export-result is-ok"
