"""The audit log (admin only): the newest 500 entries, filtered by action (a family such as
``user`` or one action such as ``token.revoke``) and actor, the filters kept in the URL
(``/admin/audit?action=user&actor=admin``)."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import dash
from dash import Input, Output, State, callback, dcc, html

from auth import audit
from components.admin import (
    AUDIT_LIMIT,
    MAX_FILTER,
    action_filter,
    admin_head,
    audit_filters,
    audit_grid,
    audit_rows,
    audit_search,
    field,
)
from components.refresh import page_refresh
from i18n import format_time, t
from services import current, current_language

dash.register_page(__name__, path="/admin/audit", title=lambda **_: t("admin.audit.title", current_language()),
                   order=98)
MIN_REFRESH_SECONDS = 10


def layout(**query: str) -> html.Div:
    lang = current_language()
    action_text, actor = audit_filters(query)
    return html.Div(
        [
            dcc.Location(id="admin-audit-url", refresh=False),
            admin_head(lang, "admin.audit.title", html.Div(id="admin-audit-as-of", className="as-of")),
            html.Div(
                [
                    field(t("admin.audit.action", lang), dcc.Input(
                        id="admin-audit-action", type="search", value=action_text, debounce=0.5, maxLength=MAX_FILTER,
                        placeholder=t("admin.audit.action_hint", lang), className="alerts-input")),
                    field(t("admin.audit.actor", lang), dcc.Input(
                        id="admin-audit-actor", type="search", value=actor, debounce=0.5, maxLength=MAX_FILTER,
                        placeholder=t("admin.audit.actor_hint", lang), className="alerts-input")),
                    html.Span(t("admin.audit.newest", lang, n=AUDIT_LIMIT), className="admin-hint"),
                ],
                className="alerts-filters",
            ),
            html.Section(audit_grid("admin-audit-grid", lang), className="panel"),
            page_refresh("admin-audit-refresh", MIN_REFRESH_SECONDS),
        ],
        className="page page-admin page-admin-audit",
    )


@callback(
    Output("admin-audit-url", "search"),
    Input("admin-audit-action", "value"),
    Input("admin-audit-actor", "value"),
    State("admin-audit-url", "search"),
    prevent_initial_call=True,
)
def keep_in_url(action_text: str | None, actor: str | None, current_search: str | None) -> str:
    """The URL holds the filters, so a link or a bookmark reproduces the view."""
    return audit_search(action_text, actor, current_search)


@callback(
    Output("admin-audit-grid", "rowData"),
    Output("admin-audit-as-of", "children"),
    Input("admin-audit-refresh", "n_intervals"),
    Input("admin-audit-action", "value"),
    Input("admin-audit-actor", "value"),
)
def refresh(_n: int | None, action_text: str | None, actor: str | None) -> tuple[list[dict[str, Any]], str]:
    svc = current()
    lang, tz = current_language(), svc.settings.tz
    now = datetime.now(UTC)
    entries = audit.recent(svc.engine, AUDIT_LIMIT, action_filter(action_text), (actor or "").strip() or None)
    return (audit_rows(entries, tz, lang),
            t("data.as_of", lang, time=format_time(now, tz, lang, "dd/MM/yyyy HH:mm:ss")))
