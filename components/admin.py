"""The admin pages' pieces (pages/admin*.py): rows and grids of accounts, tokens and audit
entries, the audit filters in the URL, the one-time secret message.

Everything here is a pure function of plain data (the role checks are auth/web.py's: every
callback of the admin pages needs the admin role).
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode
from zoneinfo import ZoneInfo

import dash_ag_grid as dag
from dash import dcc, html

from auth.accounts import User
from auth.audit import AuditEntry
from auth.tokens import Token
from components.grids import category_style, epoch, paged_options, time_column
from i18n import format_time, t
from store.schema import ROLES, TOKEN_KINDS, TOKEN_SCOPES

USER_STATES = ("active", "disabled", "locked")
OUTCOMES = ("ok", "denied", "failed")
# Cell colours with the word beside them, as elsewhere: never colour alone.
USER_STATE_COLOURS = (("disabled", "#4a5568"), ("locked", "#d69e2e"))
OUTCOME_COLOURS = (("denied", "#e53e3e"), ("failed", "#dd6b20"))
DARK_TEXT = {"locked"}
AUDIT_LIMIT = 500
# Query parameters the audit page owns; any other (e.g. ?lang=en) is kept as it is.
_AUDIT_PARAMS = ("action", "actor")
MAX_FILTER = 120  # the audit log's actor column holds 120 characters
SECONDS = "dd/MM/yyyy HH:mm:ss"


def role_text(role: str, lang: str) -> str:
    return t(f"role.{role}", lang) if role in ROLES else role


def user_state(user: User, now: datetime) -> str:
    """active, disabled, or locked (wrong passwords; a disabled account says disabled first)."""
    if user.disabled:
        return "disabled"
    if user.locked_until is not None and user.locked_until > now:
        return "locked"
    return "active"


def user_rows(users: Iterable[User], tz: ZoneInfo, lang: str, now: datetime) -> list[dict[str, Any]]:
    """Grid rows of the accounts: role and state in words, times in the centre's zone
    (their epochs beside them for sorting)."""
    rows = []
    for u in users:
        state = user_state(u, now)
        state_text = (t("admin.users.state.locked", lang, time=format_time(u.locked_until, tz, lang))
                      if state == "locked" else t(f"admin.users.state.{state}", lang))
        rows.append({
            "id": u.username,
            "username": u.username,
            "display_name": u.display_name,
            "role": u.role,
            "role_text": role_text(u.role, lang),
            "state": state,
            "state_text": state_text,
            "disabled": u.disabled,
            "last_login_ts": epoch(u.last_login_at),
            "last_login": format_time(u.last_login_at, tz, lang) if u.last_login_at else t("admin.never", lang),
            "created_ts": epoch(u.created_at),
            "created": format_time(u.created_at, tz, lang),
        })
    return rows


def token_rows(tokens: Iterable[Token], tz: ZoneInfo, lang: str) -> list[dict[str, Any]]:
    """Grid rows of the tokens, the live ones first (newest first), then the revoked ones."""
    ordered = sorted(tokens, key=lambda tok: (tok.revoked_at is not None, -tok.id))
    return [
        {
            "id": str(tok.id),
            "number": tok.id,
            "kind": tok.kind,
            "kind_text": t(f"admin.tokens.kind.{tok.kind}", lang) if tok.kind in TOKEN_KINDS else tok.kind,
            "name": tok.name,
            "scope": tok.scope,
            "scope_text": t(f"admin.tokens.scope.{tok.scope}", lang) if tok.scope in TOKEN_SCOPES else tok.scope,
            "wall": tok.wall or "",
            "created_by": tok.created_by,
            "created_ts": epoch(tok.created_at),
            "created": format_time(tok.created_at, tz, lang),
            "last_used_ts": epoch(tok.last_used_at),
            "last_used": format_time(tok.last_used_at, tz, lang) if tok.last_used_at else t("admin.never", lang),
            "revoked": tok.revoked_at is not None,
            "revoked_ts": epoch(tok.revoked_at),
            "revoked_text": format_time(tok.revoked_at, tz, lang) if tok.revoked_at else t("admin.tokens.live", lang),
        }
        for tok in ordered
    ]


def detail_text(detail: str) -> str:
    """An entry's detail for reading. The web layer records a callback's inputs as JSON
    (``[{"id": …, "property": …, "value": …}, …]``): shown as ``id=value · …``, without the
    buttons' click counts (the action names the button). Anything else is shown as it is."""
    if not detail.startswith("[{"):
        return detail
    try:
        values = json.loads(detail)
    except ValueError:
        return detail  # cut at the log's limit, say
    if not isinstance(values, list) or not all(isinstance(v, dict) for v in values):
        return detail
    parts = []
    for v in values:
        prop = v.get("property")
        if prop == "n_clicks":
            continue
        name = str(v.get("id")) if prop in ("value", "data") else f"{v.get('id')}.{prop}"
        value = v.get("value")
        parts.append(f"{name}={value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)}")
    return " · ".join(parts)


def audit_rows(entries: Iterable[AuditEntry], tz: ZoneInfo, lang: str) -> list[dict[str, Any]]:
    """Grid rows of audit entries, the time to the second in the centre's zone."""
    return [
        {
            "id": str(e.id),
            "at_ts": epoch(e.at),
            "at": format_time(e.at, tz, lang, SECONDS),
            "actor": e.actor,
            "action": e.action,
            "target": e.target,
            "address": e.address,
            "outcome": e.outcome,
            "outcome_text": t(f"admin.audit.outcome.{e.outcome}", lang) if e.outcome in OUTCOMES else e.outcome,
            "detail": detail_text(e.detail),
        }
        for e in entries
    ]


# --------------------------------------------------------------------------- the audit filters in the URL

def _first(value: str | list[str] | None) -> str:
    """Dash hands a repeated query parameter over as a list: the first one counts."""
    if isinstance(value, list):
        value = value[0] if value else ""
    return (value or "").strip()[:MAX_FILTER]


def audit_filters(query: Mapping[str, str | list[str]]) -> tuple[str, str]:
    """(action, actor) as typed in the URL's query (``?action=user&actor=admin``)."""
    return _first(query.get("action")), _first(query.get("actor"))


def action_filter(text: str | None) -> str | None:
    """What :func:`auth.audit.recent` is asked for: a word without a dot is a family of
    actions ("user" → "user."), a name with a dot is matched as it is ("token.revoke", or
    "user." for the family); empty → no filter."""
    text = (text or "").strip()[:MAX_FILTER]
    if not text:
        return None
    return text if "." in text else text + "."


def audit_search(action: str | None, actor: str | None, current_search: str | None = "") -> str:
    """The URL search for the filters, keeping parameters the page does not own; empty
    filters are left out so the plain ``/admin/audit`` is the unfiltered view."""
    kept = [(k, v) for k, v in parse_qsl((current_search or "").lstrip("?"), keep_blank_values=True)
            if k not in _AUDIT_PARAMS]
    own = [(k, v.strip()[:MAX_FILTER]) for k, v in (("action", action or ""), ("actor", actor or "")) if v.strip()]
    params = kept + own
    return "?" + urlencode(params) if params else ""


def kiosk_url(base: str, wall: str, secret: str) -> str:
    """The address a wall's browser opens once: it sets the kiosk cookie, then drops the token."""
    return f"{base.rstrip('/')}/wall/{wall}?" + urlencode({"kiosk": "1", "token": secret})


# --------------------------------------------------------------------------- grids and messages

def _grid(grid_id: str, columns: list[dict[str, Any]], options: dict[str, Any]) -> dag.AgGrid:
    return dag.AgGrid(
        id=grid_id,
        columnDefs=columns,
        rowData=[],
        # Rows keep their identity across refreshes: selections survive, cells update in place.
        getRowId="params.data.id",
        defaultColDef={"resizable": True, "sortable": True},
        dashGridOptions={**options, "suppressColumnVirtualisation": True},
        style={"width": "100%"},
    )


def users_grid(grid_id: str, lang: str) -> dag.AgGrid:
    """The accounts; a click on a row selects that one account."""
    columns = [
        {"field": "username", "headerName": t("admin.users.col.username", lang), "width": 190},
        {"field": "display_name", "headerName": t("admin.users.col.display_name", lang), "flex": 1, "minWidth": 200},
        {"field": "role_text", "headerName": t("admin.users.col.role", lang), "width": 130},
        {"field": "state_text", "headerName": t("admin.users.col.state", lang), "width": 230,
         "cellStyle": category_style("state", USER_STATE_COLOURS, DARK_TEXT)},
        time_column("last_login", t("admin.users.col.last_login", lang), 200),
        time_column("created", t("admin.users.col.created", lang), 170),
    ]
    return _grid(grid_id, columns, {
        **paged_options(lang, t("admin.users.none", lang), 25),
        "rowSelection": {"mode": "singleRow", "checkboxes": True, "enableClickSelection": True},
    })


def tokens_grid(grid_id: str, lang: str) -> dag.AgGrid:
    """API and kiosk tokens, revoked ones greyed; checkboxes to revoke several."""
    columns = [
        {"field": "number", "headerName": t("admin.tokens.col.id", lang), "width": 75, "type": "rightAligned"},
        {"field": "kind_text", "headerName": t("admin.tokens.col.kind", lang), "width": 100},
        {"field": "name", "headerName": t("admin.tokens.col.name", lang), "flex": 1, "minWidth": 170},
        {"field": "scope_text", "headerName": t("admin.tokens.col.scope", lang), "width": 120},
        {"field": "wall", "headerName": t("admin.tokens.col.wall", lang), "width": 125},
        {"field": "created_by", "headerName": t("admin.tokens.col.created_by", lang), "width": 130},
        time_column("created", t("admin.tokens.col.created", lang), 170),
        time_column("last_used", t("admin.tokens.col.last_used", lang), 170),
        time_column("revoked", t("admin.tokens.col.revoked", lang), 170) | {
            "valueFormatter": {"function": "params.data.revoked_text"}},
    ]
    return _grid(grid_id, columns, {
        **paged_options(lang, t("admin.tokens.none", lang), 25),
        "rowSelection": {"mode": "multiRow", "checkboxes": True, "headerCheckbox": False,
                         "enableClickSelection": True,
                         # A revoked token cannot be revoked again: no checkbox.
                         "isRowSelectable": {"function": "!params.data.revoked"}},
        "rowClassRules": {"admin-row-revoked": "params.data.revoked"},
    })


def audit_grid(grid_id: str, lang: str) -> dag.AgGrid:
    columns = [
        {**time_column("at", t("admin.audit.col.time", lang), 195), "sort": "desc"},
        {"field": "actor", "headerName": t("admin.audit.col.actor", lang), "width": 150},
        {"field": "action", "headerName": t("admin.audit.col.action", lang), "width": 225},
        {"field": "target", "headerName": t("admin.audit.col.target", lang), "width": 170, "wrapText": True,
         "autoHeight": True},
        {"field": "address", "headerName": t("admin.audit.col.address", lang), "width": 135},
        {"field": "outcome_text", "headerName": t("admin.audit.col.outcome", lang), "width": 125,
         "cellStyle": category_style("outcome", OUTCOME_COLOURS, set())},
        {"field": "detail", "headerName": t("admin.audit.col.detail", lang), "flex": 1, "minWidth": 260,
         "wrapText": True, "autoHeight": True,
         # Padded to sit level with the one-line cells beside it; long details wrap.
         "cellStyle": {"lineHeight": "1.35", "paddingTop": "11px", "paddingBottom": "11px", "wordBreak": "break-word"}},
    ]
    return _grid(grid_id, columns, paged_options(lang, t("admin.audit.none", lang), 50))


def message(text: str, error: bool = False) -> html.Div:
    """A one-line result of an action; errors are announced to screen readers at once."""
    return html.Div(text, className="action-result " + ("is-error" if error else "is-ok"),
                    role="alert" if error else "status")


def secret_message(text: str, secret: str, secret_id: str, lang: str, extra: str = "") -> html.Div:
    """An action's result holding a secret shown this once (a password, a token, a kiosk address),
    with a copy button and the note to hand it over securely."""
    return html.Div(
        [
            html.Div(text),
            html.Div([html.Code(secret, id=secret_id, className="admin-secret"),
                      dcc.Clipboard(target_id=secret_id, title=t("admin.copy", lang), className="admin-copy")],
                     className="admin-secret-row"),
            html.Div(extra, className="admin-secret-extra") if extra else None,
            html.Div(t("admin.secret_note", lang), className="admin-secret-note"),
        ],
        className="action-result is-ok admin-secret-box", role="status",
    )


def field(label: str, control: Any, class_name: str = "") -> html.Label:
    return html.Label([html.Span(label, className="alerts-label"), control],
                      className=("alerts-field " + class_name).strip())


def choice(label: str, control: Any) -> html.Fieldset:
    """A group of radio buttons under its caption (a fieldset: each button keeps its own label)."""
    return html.Fieldset([html.Legend(label, className="alerts-label"), control],
                         className="alerts-field admin-fieldset")


def admin_head(lang: str, title_key: str, *extra: Any) -> html.Div:
    """The head of each admin page: back to /admin, the title, and what else the page puts beside it."""
    return html.Div(
        [
            dcc.Link(t("admin.back", lang), href="/admin", className="admin-back"),
            html.Div([html.H1(t(title_key, lang), className="page-title"), *extra], className="page-head"),
        ],
    )
