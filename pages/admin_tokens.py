"""Access tokens (admin only): API tokens for other systems (``Authorization: Bearer``) and kiosk
tokens for the browsers of the wall screens, created here and revoked here.

A token's secret, and for a kiosk the whole address the wall's browser opens once, is shown
in the result of its creation and never again (the store keeps only its hash).
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import dash
from dash import Input, Output, State, callback, dcc, html, no_update
from flask import request

from auth.policy import action
from auth.tokens import create_token, list_tokens, revoke_token
from auth.web import client_address, current_principal
from components.admin import (
    admin_head,
    choice,
    field,
    kiosk_url,
    message,
    secret_message,
    token_rows,
    tokens_grid,
)
from components.refresh import page_refresh
from i18n import format_time, t
from services import current, current_language
from settings import ConfigError
from store.schema import TOKEN_SCOPES
from wall_config import current_walls

dash.register_page(__name__, path="/admin/tokens", title=lambda **_: t("admin.tokens.title", current_language()),
                   order=97)
MIN_REFRESH_SECONDS = 10
MAX_NAME = 100


def _walls() -> dict[str, str]:
    """Wall name → its title, from the walls file as it is now (empty if it cannot be read)."""
    try:
        return {name: wall.title for name, wall in current_walls(current().settings.walls_file).items()}
    except ConfigError:
        return {}


def layout(**_query: str) -> html.Div:
    lang = current_language()
    walls = _walls()
    return html.Div(
        [
            dcc.Store(id="admin-tokens-changed", data=0),
            # The ids of the live tokens selected: what "revoke" applies to (and what the audit records).
            dcc.Store(id="admin-tokens-targets", data=[]),
            admin_head(lang, "admin.tokens.title", html.Div(id="admin-tokens-as-of", className="as-of")),
            html.Div(
                [
                    html.Section(
                        [
                            html.H2(t("admin.tokens.api.title", lang)),
                            html.Div(
                                [
                                    field(t("admin.tokens.name", lang), dcc.Input(
                                        id="admin-tokens-api-name", type="text", maxLength=MAX_NAME,
                                        autoComplete="off", placeholder=t("admin.tokens.api.name_hint", lang),
                                        className="alerts-input")),
                                    choice(t("admin.tokens.scope", lang), dcc.RadioItems(
                                        id="admin-tokens-api-scope", value="read", inline=True,
                                        options=[{"label": t(f"admin.tokens.scope.{s}", lang), "value": s}
                                                 for s in TOKEN_SCOPES],
                                        className="admin-radio")),
                                ],
                                className="alerts-action-row",
                            ),
                            html.Button(t("admin.tokens.api.button", lang), id="admin-tokens-api-create",
                                        n_clicks=0, className="alerts-button is-primary"),
                        ],
                        className="panel",
                    ),
                    html.Section(
                        [
                            html.H2(t("admin.tokens.kiosk.title", lang)),
                            html.Div(
                                [
                                    field(t("admin.tokens.name", lang), dcc.Input(
                                        id="admin-tokens-kiosk-name", type="text", maxLength=MAX_NAME,
                                        autoComplete="off", placeholder=t("admin.tokens.kiosk.name_hint", lang),
                                        className="alerts-input")),
                                    field(t("admin.tokens.wall", lang), dcc.Dropdown(
                                        id="admin-tokens-wall", clearable=False, searchable=False,
                                        value=next(iter(walls), None),
                                        options=[{"label": f"{name} · {title}", "value": name}
                                                 for name, title in walls.items()],
                                        placeholder=t("admin.tokens.no_walls", lang) if not walls else None,
                                        className="admin-wall"), "admin-field-wide"),
                                ],
                                className="alerts-action-row",
                            ),
                            html.Button(t("admin.tokens.kiosk.button", lang), id="admin-tokens-kiosk-create",
                                        n_clicks=0, className="alerts-button is-primary"),
                        ],
                        className="panel",
                    ),
                ],
                className="admin-columns",
            ),
            # The one-time secret of the token just made: in view, above the list.
            html.Div(id="admin-tokens-create-result", className="alerts-result admin-result-wide"),
            html.Section(
                [
                    html.Div([html.H2(t("admin.tokens.list.title", lang)),
                              html.Span(id="admin-tokens-selected", className="alerts-selected-count"),
                              html.Button(t("admin.tokens.revoke.button", lang), id="admin-tokens-revoke",
                                          n_clicks=0, disabled=True, className="alerts-button admin-danger")],
                             className="alerts-actions-head admin-list-head"),
                    html.Div(id="admin-tokens-result", className="alerts-result"),
                    tokens_grid("admin-tokens-grid", lang),
                ],
                className="panel",
            ),
            page_refresh("admin-tokens-refresh", MIN_REFRESH_SECONDS),
        ],
        className="page page-admin page-admin-tokens",
    )


@callback(
    Output("admin-tokens-grid", "rowData"),
    Output("admin-tokens-as-of", "children"),
    Input("admin-tokens-refresh", "n_intervals"),
    Input("admin-tokens-changed", "data"),
)
def refresh(_n: int | None, _changed: int | None) -> tuple[list[dict[str, Any]], str]:
    svc = current()
    lang, tz = current_language(), svc.settings.tz
    now = datetime.now(UTC)
    return (token_rows(list_tokens(svc.engine, include_revoked=True), tz, lang),
            t("data.as_of", lang, time=format_time(now, tz, lang, "dd/MM/yyyy HH:mm:ss")))


@callback(
    Output("admin-tokens-selected", "children"),
    Output("admin-tokens-revoke", "disabled"),
    Output("admin-tokens-targets", "data"),
    Input("admin-tokens-grid", "selectedRows"),
    Input("admin-tokens-grid", "rowData"),
)
def show_selection(selected: list[dict] | None, rows: list[dict] | None) -> tuple[str, bool, list[int]]:
    """The live tokens selected, as the grid's latest rows have them (one just revoked no longer counts)."""
    revoked = {r.get("id") for r in rows or [] if r.get("revoked")}
    live = sorted({int(r["id"]) for r in selected or []
                   if str(r.get("id", "")).isdigit() and not r.get("revoked") and r.get("id") not in revoked})
    return (t("admin.tokens.selected", current_language(), n=len(live)) if live else ""), not live, live


def _who() -> dict[str, str]:
    principal = current_principal()
    return {"actor": principal.name if principal else "?", "address": client_address()}


@callback(
    Output("admin-tokens-create-result", "children"),
    Output("admin-tokens-changed", "data", allow_duplicate=True),
    Output("admin-tokens-api-name", "value"),
    Input("admin-tokens-api-create", "n_clicks"),
    State("admin-tokens-api-name", "value"),
    State("admin-tokens-api-scope", "value"),
    State("admin-tokens-changed", "data"),
    prevent_initial_call=True,
)
@action("admin", "admin.token_create")
def create_api_token(_clicks: int | None, name: str | None, scope: str | None, changed: int | None) -> tuple:
    lang = current_language()
    if not (name or "").strip():
        return message(t("admin.tokens.no_name", lang), error=True), no_update, no_update
    try:
        token, secret = create_token(current().engine, "api", name or "", scope=scope or "", **_who())
    except ValueError as exc:
        return message(t("admin.failed", lang, error=str(exc)), error=True), no_update, no_update
    scope_text = t(f"admin.tokens.scope.{token.scope}", lang)
    text = t("admin.tokens.api.created", lang, id=token.id, name=token.name, scope=scope_text)
    result = secret_message(text, secret, "admin-tokens-secret", lang, extra=t("admin.tokens.api.usage", lang))
    return result, (changed or 0) + 1, ""


@callback(
    Output("admin-tokens-create-result", "children", allow_duplicate=True),
    Output("admin-tokens-changed", "data", allow_duplicate=True),
    Output("admin-tokens-kiosk-name", "value"),
    Input("admin-tokens-kiosk-create", "n_clicks"),
    State("admin-tokens-kiosk-name", "value"),
    State("admin-tokens-wall", "value"),
    State("admin-tokens-changed", "data"),
    prevent_initial_call=True,
)
@action("admin", "admin.token_create_kiosk")
def create_kiosk_token(_clicks: int | None, name: str | None, wall: str | None, changed: int | None) -> tuple:
    """A kiosk token for one wall; the result is the address its browser opens once."""
    lang = current_language()
    if not wall or wall not in _walls():
        return message(t("admin.tokens.unknown_wall", lang, wall=wall or "—"), error=True), no_update, no_update
    if not (name or "").strip():
        return message(t("admin.tokens.no_name", lang), error=True), no_update, no_update
    try:
        token, secret = create_token(current().engine, "kiosk", name or "", wall=wall, **_who())
    except ValueError as exc:
        return message(t("admin.failed", lang, error=str(exc)), error=True), no_update, no_update
    text = t("admin.tokens.kiosk.created", lang, id=token.id, name=token.name, wall=wall)
    result = secret_message(text, kiosk_url(request.host_url, wall, secret), "admin-tokens-secret", lang)
    return result, (changed or 0) + 1, ""


@callback(
    Output("admin-tokens-result", "children"),
    Output("admin-tokens-changed", "data", allow_duplicate=True),
    Input("admin-tokens-revoke", "n_clicks"),
    State("admin-tokens-targets", "data"),
    State("admin-tokens-changed", "data"),
    prevent_initial_call=True,
)
@action("admin", "admin.token_revoke")
def revoke_selected(_clicks: int | None, targets: list[int] | None, changed: int | None) -> tuple:
    """Revoke the selected tokens; say which were revoked now and which had been already."""
    lang = current_language()
    ids = sorted({i for i in targets or [] if isinstance(i, int) and not isinstance(i, bool)})
    if not ids:
        return message(t("admin.tokens.none_selected", lang), error=True), no_update
    engine, who = current().engine, _who()
    done = [i for i in ids if revoke_token(engine, i, **who)]
    before = [i for i in ids if i not in done]
    parts = []
    if done:
        parts.append(t("admin.tokens.revoked", lang, n=len(done), ids=", ".join(f"#{i}" for i in done)))
    if before:
        parts.append(t("admin.tokens.already_revoked", lang, ids=", ".join(f"#{i}" for i in before)))
    return message(" ".join(parts), error=not done), (changed or 0) + 1
