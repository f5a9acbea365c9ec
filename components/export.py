"""The header's Export control: the page as it is on screen, as a PNG or an A4 PDF.

A menu of three choices; the click is turned into a request in the browser (the page's
path and query, which hold the view's state, and the window's size), which a background
callback (callbacks/export.py) renders and hands back through ``dcc.Download``.
"""
from __future__ import annotations

from dash import dcc, html

from i18n import t

# The choices, in the menu's order: (id, message key).
CHOICES = (("export-png", "export.png_screen"), ("export-png-view", "export.png_view"), ("export-pdf", "export.pdf"))


def export_control(lang: str) -> html.Div:
    """The control for the header of every desktop page (the kiosk hides the header)."""
    return html.Div(
        [
            html.Details(
                [
                    html.Summary(t("export.button", lang), className="export-summary",
                                 title=t("export.hint", lang)),
                    html.Div([html.Button(t(key, lang), id=button, n_clicks=0, className="export-option", role="menuitem")
                              for button, key in CHOICES],
                             className="export-menu", role="menu"),
                ],
                id="export-details", className="export-details", open=False,
            ),
            html.Span([html.Span(className="export-spinner", **{"aria-hidden": "true"}),
                       html.Span(t("export.working", lang), id="export-progress")],
                      id="export-working", className="export-working", hidden=True, role="status"),
            html.Span(id="export-result", className="export-result", role="status"),
            dcc.Store(id="export-request"),
            # The background job has no request of its own to read the language from.
            dcc.Store(id="export-lang", data=lang),
            dcc.Download(id="export-download"),
        ],
        className="export-control",
    )
