"""User accounts (admin only): the accounts, a form to create one, and for the account selected
a new role, disable or enable, and a password reset.

A new account's password, and a reset one, is generated here and shown once in the result
(never stored in clear, never sent back to the server by the page). Each change goes through
auth.accounts with the signed-in admin as actor and their address, so it is audited; the web
layer audits each call of the marked callbacks as well (auth.policy.action).
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import dash
from dash import Input, Output, State, callback, dcc, html, no_update

from auth.accounts import check_username, create_user, get_user, list_users, set_disabled, set_password, set_role
from auth.passwords import check_policy, generate_password
from auth.policy import action
from auth.web import client_address, current_principal
from components.admin import admin_head, choice, field, message, secret_message, user_rows, users_grid
from components.refresh import page_refresh
from i18n import format_time, t
from services import current, current_language
from store.schema import ROLES

dash.register_page(__name__, path="/admin/users", title=lambda **_: t("admin.users.title", current_language()),
                   order=96)
MIN_REFRESH_SECONDS = 10
MAX_DISPLAY_NAME = 200


def _roles(lang: str) -> list[dict[str, str]]:
    return [{"label": t(f"role.{r}", lang), "value": r} for r in ROLES]


def layout(**_query: str) -> html.Div:
    lang = current_language()
    return html.Div(
        [
            # Bumped by every change, so the grid redraws at once, not at the next tick.
            dcc.Store(id="admin-users-changed", data=0),
            # The user name of the account selected: what the actions apply to (and what the audit records).
            dcc.Store(id="admin-users-target", data=None),
            admin_head(lang, "admin.users.title", html.Div(id="admin-users-as-of", className="as-of")),
            html.Div(
                [
                    html.Section(
                        [
                            html.H2(t("admin.users.create.title", lang)),
                            html.Div(
                                [
                                    field(t("admin.users.username", lang), dcc.Input(
                                        id="admin-users-new-name", type="text", maxLength=64, autoComplete="off",
                                        placeholder=t("admin.users.username_hint", lang), className="alerts-input")),
                                    field(t("admin.users.display_name", lang), dcc.Input(
                                        id="admin-users-new-label", type="text", maxLength=MAX_DISPLAY_NAME,
                                        autoComplete="off", placeholder=t("admin.users.display_name_hint", lang),
                                        className="alerts-input")),
                                ],
                                className="alerts-action-row",
                            ),
                            html.Div(
                                [
                                    choice(t("admin.users.role", lang), dcc.RadioItems(
                                        id="admin-users-new-role", options=_roles(lang), value="viewer",
                                        inline=True, className="admin-radio")),
                                    html.Button(t("admin.users.create.button", lang), id="admin-users-create",
                                                n_clicks=0, className="alerts-button is-primary"),
                                ],
                                className="alerts-action-row",
                            ),
                            html.Div(id="admin-users-create-result", className="alerts-result"),
                        ],
                        className="panel",
                    ),
                    html.Section(
                        [
                            html.Div([html.H2(t("admin.users.selected.title", lang)),
                                      html.Span(id="admin-users-selected", className="admin-selected-name")],
                                     className="alerts-actions-head"),
                            html.Div(t("admin.users.selected.none", lang), id="admin-users-selected-hint",
                                     className="admin-hint"),
                            html.Div(
                                [
                                    choice(t("admin.users.new_role", lang), dcc.RadioItems(
                                        id="admin-users-role", options=_roles(lang), value=None, inline=True,
                                        className="admin-radio")),
                                    html.Button(t("admin.users.role.button", lang), id="admin-users-set-role",
                                                n_clicks=0, disabled=True, className="alerts-button"),
                                ],
                                className="alerts-action-row",
                            ),
                            html.Div(
                                [
                                    html.Button(t("admin.users.disable.button", lang), id="admin-users-disable",
                                                n_clicks=0, disabled=True, className="alerts-button"),
                                    html.Button(t("admin.users.enable.button", lang), id="admin-users-enable",
                                                n_clicks=0, disabled=True, className="alerts-button"),
                                    html.Button(t("admin.users.reset.button", lang), id="admin-users-reset",
                                                n_clicks=0, disabled=True, className="alerts-button"),
                                ],
                                className="alerts-action-row",
                            ),
                            html.Div(id="admin-users-result", className="alerts-result"),
                        ],
                        className="panel",
                    ),
                ],
                className="admin-columns",
            ),
            html.Section([html.H2(t("admin.users.list.title", lang)), users_grid("admin-users-grid", lang)],
                         className="panel"),
            page_refresh("admin-users-refresh", MIN_REFRESH_SECONDS),
        ],
        className="page page-admin page-admin-users",
    )


@callback(
    Output("admin-users-grid", "rowData"),
    Output("admin-users-as-of", "children"),
    Input("admin-users-refresh", "n_intervals"),
    Input("admin-users-changed", "data"),
)
def refresh(_n: int | None, _changed: int | None) -> tuple[list[dict[str, Any]], str]:
    svc = current()
    lang, tz, now = current_language(), svc.settings.tz, datetime.now(UTC)
    return (user_rows(list_users(svc.engine), tz, lang, now),
            t("data.as_of", lang, time=format_time(now, tz, lang, "dd/MM/yyyy HH:mm:ss")))


def _selected(selected: list[dict] | None, rows: list[dict] | None) -> dict | None:
    """The one account selected, as the grid's latest rows have it (its state may have changed)."""
    if not selected or len(selected) != 1:
        return None
    name = selected[0].get("username")
    return next((r for r in rows or [] if r.get("username") == name), selected[0])


@callback(
    Output("admin-users-selected", "children"),
    Output("admin-users-selected-hint", "children"),
    Output("admin-users-role", "value"),
    Output("admin-users-set-role", "disabled"),
    Output("admin-users-disable", "disabled"),
    Output("admin-users-enable", "disabled"),
    Output("admin-users-reset", "disabled"),
    Output("admin-users-target", "data"),
    Input("admin-users-grid", "selectedRows"),
    Input("admin-users-grid", "rowData"),
    State("admin-users-target", "data"),
)
def show_selection(selected: list[dict] | None, rows: list[dict] | None, before: str | None) -> tuple:
    """The account the actions apply to, and which actions make sense for it (the server checks again)."""
    lang = current_language()
    row = _selected(selected, rows)
    if row is None:
        return "", t("admin.users.selected.none", lang), None, True, True, True, True, None
    principal = current_principal()
    name = row.get("username", "")
    label = f"{name} · {row['display_name']}" if row.get("display_name") else name
    # A new selection shows its current role; a refresh of the rows leaves a role being picked alone.
    role = no_update if before == name else row.get("role")
    if principal is not None and principal.name == name:
        return label, t("admin.users.not_self", lang), role, True, True, True, True, name
    disabled = bool(row.get("disabled"))
    return label, "", role, False, disabled, not disabled, False, name


def new_password(username: str) -> str:
    """A generated password the policy accepts (it must not contain the user name, say)."""
    while True:
        password = generate_password()
        try:
            check_policy(password, username)
        except ValueError:
            continue
        return password


def _who() -> dict[str, str]:
    principal = current_principal()
    return {"actor": principal.name if principal else "?", "address": client_address()}


@callback(
    Output("admin-users-create-result", "children"),
    Output("admin-users-changed", "data", allow_duplicate=True),
    Output("admin-users-new-name", "value"),
    Output("admin-users-new-label", "value"),
    Input("admin-users-create", "n_clicks"),
    State("admin-users-new-name", "value"),
    State("admin-users-new-label", "value"),
    State("admin-users-new-role", "value"),
    State("admin-users-changed", "data"),
    prevent_initial_call=True,
)
@action("admin", "admin.user_create")
def create_account(_clicks: int | None, username: str | None, display_name: str | None, role: str | None,
                   changed: int | None) -> tuple:
    """Create the account with a generated password, shown once in the result."""
    lang = current_language()
    nothing = (no_update, no_update, no_update)
    engine = current().engine
    try:
        name = check_username(username or "")
    except ValueError:
        return message(t("admin.users.bad_username", lang), error=True), *nothing
    if get_user(engine, name) is not None:
        return message(t("admin.users.taken", lang, username=name), error=True), *nothing
    password = new_password(name)
    try:
        user = create_user(engine, name, password, role or "", display_name=(display_name or "")[:MAX_DISPLAY_NAME],
                           **_who())
    except ValueError as exc:
        return message(t("admin.failed", lang, error=str(exc)), error=True), *nothing
    text = t("admin.users.created", lang, username=user.username, role=t(f"role.{user.role}", lang))
    return secret_message(text, password, "admin-users-new-password", lang), (changed or 0) + 1, "", ""


def _target(username: str | None, lang: str) -> tuple[str | None, html.Div | None]:
    """The user name an action applies to, or the message refusing it (none selected, or oneself)."""
    if not isinstance(username, str) or not username:
        return None, message(t("admin.users.no_selection", lang), error=True)
    principal = current_principal()
    if principal is not None and principal.name == username.strip().lower():
        # An admin demoting or disabling themselves could leave nobody to administer.
        return None, message(t("admin.users.not_self", lang), error=True)
    return username, None


def _change(username: str | None, changed: int | None, apply: Any, done_key: str, **done: Any) -> tuple:
    lang = current_language()
    name, refused = _target(username, lang)
    if refused is not None:
        return refused, no_update
    try:
        user = apply(current().engine, name)
    except ValueError as exc:
        return message(t("admin.failed", lang, error=str(exc)), error=True), (changed or 0) + 1
    return message(t(done_key, lang, username=user.username, **done)), (changed or 0) + 1


@callback(
    Output("admin-users-result", "children"),
    Output("admin-users-changed", "data", allow_duplicate=True),
    Input("admin-users-set-role", "n_clicks"),
    State("admin-users-target", "data"),
    State("admin-users-role", "value"),
    State("admin-users-changed", "data"),
    prevent_initial_call=True,
)
@action("admin", "admin.user_role")
def change_role(_clicks: int | None, username: str | None, role: str | None, changed: int | None) -> tuple:
    lang = current_language()
    return _change(username, changed, lambda engine, name: set_role(engine, name, role or "", **_who()),
                   "admin.users.role_changed", role=t(f"role.{role}", lang) if role in ROLES else role)


@callback(
    Output("admin-users-result", "children", allow_duplicate=True),
    Output("admin-users-changed", "data", allow_duplicate=True),
    Input("admin-users-disable", "n_clicks"),
    State("admin-users-target", "data"),
    State("admin-users-changed", "data"),
    prevent_initial_call=True,
)
@action("admin", "admin.user_disable")
def disable_account(_clicks: int | None, username: str | None, changed: int | None) -> tuple:
    return _change(username, changed, lambda engine, name: set_disabled(engine, name, True, **_who()),
                   "admin.users.disabled")


@callback(
    Output("admin-users-result", "children", allow_duplicate=True),
    Output("admin-users-changed", "data", allow_duplicate=True),
    Input("admin-users-enable", "n_clicks"),
    State("admin-users-target", "data"),
    State("admin-users-changed", "data"),
    prevent_initial_call=True,
)
@action("admin", "admin.user_enable")
def enable_account(_clicks: int | None, username: str | None, changed: int | None) -> tuple:
    return _change(username, changed, lambda engine, name: set_disabled(engine, name, False, **_who()),
                   "admin.users.enabled")


@callback(
    Output("admin-users-result", "children", allow_duplicate=True),
    Output("admin-users-changed", "data", allow_duplicate=True),
    Input("admin-users-reset", "n_clicks"),
    State("admin-users-target", "data"),
    State("admin-users-changed", "data"),
    prevent_initial_call=True,
)
@action("admin", "admin.user_password_reset")
def reset_password(_clicks: int | None, username: str | None, changed: int | None) -> tuple:
    """A new generated password, shown once; the account's sessions end and a lockout is lifted."""
    lang = current_language()
    name, refused = _target(username, lang)
    if refused is not None:
        return refused, no_update
    password = new_password(name)
    try:
        user = set_password(current().engine, name, password, **_who())
    except ValueError as exc:
        return message(t("admin.failed", lang, error=str(exc)), error=True), (changed or 0) + 1
    text = t("admin.users.reset_done", lang, username=user.username)
    return secret_message(text, password, "admin-users-reset-password", lang), (changed or 0) + 1
