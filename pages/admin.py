"""Administration (admin role only: auth/web.py refuses /admin and its pages to anyone else):
links to the accounts, the tokens and the audit log."""
from __future__ import annotations

import dash
from dash import dcc, html

from i18n import t
from services import current_language

dash.register_page(__name__, path="/admin", title=lambda **_: t("admin.title", current_language()), order=95)

SECTIONS = (("users", "/admin/users"), ("tokens", "/admin/tokens"), ("audit", "/admin/audit"))


def layout(**_query: str) -> html.Div:
    lang = current_language()
    return html.Div(
        [
            html.H1(t("admin.title", lang), className="page-title"),
            html.P(t("admin.intro", lang), className="admin-intro"),
            html.Div(
                [
                    dcc.Link([html.Span(t(f"admin.nav.{key}", lang), className="admin-card-title"),
                              html.Span(t(f"admin.nav.{key}_hint", lang), className="admin-card-hint")],
                             href=path, className="admin-card", id=f"admin-link-{key}")
                    for key, path in SECTIONS
                ],
                className="admin-cards",
            ),
        ],
        className="page page-admin",
    )

