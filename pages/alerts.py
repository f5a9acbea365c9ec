"""Alerts: every alert with filters (state, severity, search) kept in the URL
(``/alerts?state=resolved&severity=critical``), acknowledgement of one or many with a
note, silences, and the history of the alert selected.

Until access control lands, the operator types their name; the browser remembers it
(``localStorage``) and it is recorded with each acknowledgement and silence.
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import dash
from dash import Input, Output, Patch, State, callback, dcc, html, no_update

from alerts.lifecycle import MAX_ACTOR, MAX_NOTE, acknowledge, create_silence, expire_silence
from alerts.rules import current_rules
from auth.policy import action
from auth.web import actor_name, current_principal
from components.alert_list import SEVERITIES, severity_counts
from components.alerts_table import (
    SILENCE_DURATIONS,
    STATE_FILTERS,
    AlertFilters,
    action_message,
    alert_rows,
    alerts_grid,
    filters_search,
    history_table,
    outcome_list,
    parse_filters,
    silence_rows,
    silences_grid,
)
from components.refresh import page_refresh
from i18n import format_time, t
from queries.alerts import alert_history, counts_by_severity, list_alerts, list_silences
from queries.facilities import first_outfalls
from services import current, current_language
from settings import ConfigError

dash.register_page(__name__, path="/alerts", title="Cảnh báo", order=15)
MIN_REFRESH_SECONDS = 10  # an operator reads and ticks rows: a faster refresh would only redraw under them
MAX_ROWS = 500  # the newest this many per filter; the API serves more


def _rule_names(lang: str) -> dict[str, str]:
    """Rule id → its name in ``lang``; empty when the rules file cannot be read (then ids show)."""
    try:
        rules = current_rules(current().settings.alerts_file)
    except ConfigError:
        return {}
    return {r.id: (r.name.en if lang == "en" else r.name.vi) for r in rules.rules}


def _field(label: str, control: Any) -> html.Label:
    return html.Label([html.Span(label, className="alerts-label"), control], className="alerts-field")


def layout(**query: str) -> html.Div:
    """The page for the filters in the URL (``state``, ``severity``, ``q``)."""
    lang = current_language()
    filters = parse_filters(query)
    principal = current_principal()
    may_act = principal is not None and principal.can("operator")
    return html.Div(
        [
            dcc.Location(id="alerts-url", refresh=False),
            # The name last typed in this browser (an operator signed in acts under their own).
            dcc.Store(id="alerts-operator", storage_type="local"),
            # Bumped by every action, so the grid and the history redraw at once, not at the next tick.
            dcc.Store(id="alerts-changed", data=0),
            html.Div(
                [
                    html.H1(t("alerts.title", lang), className="page-title"),
                    html.Div(id="alerts-counts"),
                    html.Div(id="alerts-as-of", className="as-of"),
                ],
                className="page-head",
            ),
            html.Div(
                [
                    _field(t("alerts.filter.state", lang), dcc.Dropdown(
                        id="alerts-state", value=filters.state, clearable=False, searchable=False,
                        options=[{"label": t(f"alerts.filter.state.{s}", lang), "value": s} for s in STATE_FILTERS],
                    )),
                    _field(t("alerts.filter.severity", lang), dcc.Dropdown(
                        id="alerts-severity", value=filters.severity or "any", clearable=False, searchable=False,
                        options=[{"label": t("alerts.filter.severity.any", lang), "value": "any"}]
                        + [{"label": t(f"alert.severity.{s}", lang), "value": s} for s in SEVERITIES],
                    )),
                    _field(t("alerts.filter.search", lang), dcc.Input(
                        id="alerts-search", type="search", value=filters.search, debounce=0.4,
                        placeholder=t("alerts.filter.search_hint", lang), className="alerts-input alerts-search",
                    )),
                ],
                className="alerts-filters",
            ),
            html.Section(
                [
                    html.Div(
                        [
                            html.H2(t("alerts.actions.title", lang)),
                            html.Span(id="alerts-selected-count", className="alerts-selected-count"),
                        ],
                        className="alerts-actions-head",
                    ),
                    html.Div(
                        [
                            _field(t("alerts.operator", lang), dcc.Input(
                                id="alerts-operator-name", type="text", maxLength=MAX_ACTOR, autoComplete="name",
                                placeholder=t("alerts.operator_hint", lang), className="alerts-input",
                                # A signed-in operator acts under their own name.
                                value=actor_name() or None, readOnly=bool(actor_name()),
                            )),
                            _field(t("alerts.note", lang), dcc.Input(
                                id="alerts-note", type="text", maxLength=MAX_NOTE,
                                placeholder=t("alerts.note_hint", lang), className="alerts-input alerts-note",
                            )),
                            html.Button(t("alerts.ack.button", lang), id="alerts-ack", n_clicks=0,
                                        className="alerts-button is-primary"),
                        ],
                        className="alerts-action-row",
                    ),
                    html.Div(id="alerts-ack-result", className="alerts-result"),
                    html.Div(
                        [
                            _field(t("alerts.silence.duration", lang), dcc.Dropdown(
                                id="alerts-silence-duration", value="1h", clearable=False, searchable=False,
                                options=[{"label": t(f"alerts.duration.{d}", lang), "value": d} for d in SILENCE_DURATIONS],
                                className="alerts-duration",
                            )),
                            _field(t("alerts.silence.reason", lang), dcc.Input(
                                id="alerts-silence-reason", type="text", maxLength=MAX_NOTE,
                                placeholder=t("alerts.silence.reason_hint", lang), className="alerts-input alerts-note",
                            )),
                            html.Button(t("alerts.silence.button", lang), id="alerts-silence", n_clicks=0,
                                        className="alerts-button"),
                        ],
                        className="alerts-action-row",
                    ),
                    html.Div(id="alerts-silence-result", className="alerts-result"),
                ],
                className="panel alerts-actions",
                # Readers see no controls they may not use (the server refuses them anyway).
                hidden=not may_act,
            ),
            html.P(t("alerts.readonly", lang), className="panel alerts-readonly", hidden=may_act),
            html.Div(
                [
                    html.Section(
                        [html.Div(id="alerts-truncated", className="alerts-truncated"),
                         alerts_grid("alerts-grid", lang, filters.search)],
                        className="panel alerts-main",
                    ),
                    html.Aside(
                        [html.H2(t("alerts.history.title", lang)), html.Div(id="alerts-history")],
                        className="panel alerts-history",
                    ),
                ],
                className="alerts-body",
            ),
            html.Section(
                [html.H2(t("alerts.silence.title", lang)), silences_grid("alerts-silences", lang)],
                className="panel",
            ),
            page_refresh("alerts-refresh", MIN_REFRESH_SECONDS),
        ],
        className="page page-alerts",
    )


def _severity(value: str | None) -> str | None:
    return value if value in SEVERITIES else None


@callback(
    Output("alerts-url", "search"),
    Input("alerts-state", "value"),
    Input("alerts-severity", "value"),
    Input("alerts-search", "value"),
    State("alerts-url", "search"),
    prevent_initial_call=True,
)
def keep_in_url(state: str | None, severity: str | None, search: str | None, current_search: str | None) -> str:
    """The URL holds the filters, so a link or a bookmark reproduces the view."""
    filters = AlertFilters(state=state if state in STATE_FILTERS else "open", severity=_severity(severity),
                           search=search or "")
    return filters_search(filters, current_search)


@callback(
    Output("alerts-grid", "dashGridOptions"),
    Input("alerts-search", "value"),
    prevent_initial_call=True,
)
def search_rows(search: str | None) -> Patch:
    """The search filters the rows already in the browser (AG Grid's quick filter): no query."""
    options = Patch()
    options["quickFilterText"] = (search or "").strip()
    return options


@callback(
    Output("alerts-grid", "rowData"),
    Output("alerts-counts", "children"),
    Output("alerts-as-of", "children"),
    Output("alerts-truncated", "children"),
    Output("alerts-silences", "rowData"),
    Input("alerts-refresh", "n_intervals"),
    Input("alerts-state", "value"),
    Input("alerts-severity", "value"),
    Input("alerts-changed", "data"),
)
def refresh(_n: int | None, state: str | None, severity: str | None, _changed: int | None) -> tuple:
    """The alerts of the filters, the open counts and the silences.

    Read straight from the store, not through queries/cached.py: an operator who has just
    acknowledged must see it at once, and these are indexed queries of a few hundred rows.
    """
    svc = current()
    lang, tz = current_language(), svc.settings.tz
    now = datetime.now(UTC)
    found = list_alerts(svc.engine, state if state in STATE_FILTERS else "open", _severity(severity), MAX_ROWS)
    outfalls = first_outfalls(svc.engine, {a.subject_code for a in found if a.subject_kind == "facility"})
    names = _rule_names(lang)
    truncated = t("alerts.truncated", lang, n=MAX_ROWS) if len(found) >= MAX_ROWS else ""
    return (
        alert_rows(found, tz, lang, outfalls, names),
        severity_counts(counts_by_severity(svc.engine), lang),
        t("data.as_of", lang, time=format_time(now, tz, lang, "dd/MM/yyyy HH:mm:ss")),
        truncated,
        silence_rows(list_silences(svc.engine, now), tz, lang, now, names),
    )


@callback(
    Output("alerts-selected-count", "children"),
    Output("alerts-history", "children"),
    Input("alerts-grid", "selectedRows"),
    Input("alerts-changed", "data"),
    Input("alerts-refresh", "n_intervals"),
)
def show_selection(selected: list[dict] | None, _changed: int | None, _n: int | None) -> tuple[str, html.Div]:
    """How many alerts the actions apply to; the history of the one selected (or a hint), kept
    current on each refresh, since an evaluation may resolve the alert while it is shown."""
    svc = current()
    lang = current_language()
    selected = selected or []
    count = t("alerts.selected", lang, n=len(selected))
    if len(selected) != 1:
        return count, history_table(None, [], svc.settings.tz, lang)
    row = selected[0]
    return count, history_table(row, alert_history(svc.engine, int(row["id"])), svc.settings.tz, lang)


@callback(
    Output("alerts-operator-name", "value"),
    Input("alerts-operator", "modified_timestamp"),
    State("alerts-operator", "data"),
)
def recall_operator(_ts: int | None, name: str | None) -> str:
    """The name this browser used last time, so the operator types it once (signed in: their own)."""
    if actor_name():
        return no_update
    return name if isinstance(name, str) and name else no_update


def _targets(selected: list[dict] | None, shown: list[dict] | None) -> list[dict]:
    """The selected rows still shown: a row hidden by the search since it was ticked is left alone,
    so an acknowledgement never reaches an alert the operator cannot see."""
    selected = selected or []
    if shown is None:  # the grid has not reported what it shows yet
        return selected
    visible = {str(r.get("id")) for r in shown}
    return [r for r in selected if str(r.get("id")) in visible]


@callback(
    Output("alerts-ack-result", "children"),
    Output("alerts-changed", "data", allow_duplicate=True),
    Output("alerts-operator", "data", allow_duplicate=True),
    Output("alerts-note", "value"),
    Input("alerts-ack", "n_clicks"),
    State("alerts-grid", "selectedRows"),
    State("alerts-grid", "virtualRowData"),
    State("alerts-operator-name", "value"),
    State("alerts-note", "value"),
    State("alerts-changed", "data"),
    prevent_initial_call=True,
)
@action("operator", "alert.acknowledge")
def acknowledge_selected(_clicks: int | None, selected: list[dict] | None, shown: list[dict] | None,
                         who: str | None, note: str | None, changed: int | None) -> tuple:
    """Acknowledge the selected alerts with the operator's name and note; say what happened to each."""
    lang = current_language()
    targets = _targets(selected, shown)
    if not targets:
        return action_message(t("alerts.ack.none_selected", lang), error=True), no_update, no_update, no_update
    who = actor_name((who or "").strip())  # a signed-in operator acts under their own name
    if not who:
        return action_message(t("alerts.no_name", lang), error=True), no_update, no_update, no_update
    rows = {int(r["id"]): r for r in targets}
    try:
        outcomes = acknowledge(current().engine, list(rows), who, note, datetime.now(UTC))
    except ValueError as exc:  # a note or name too long: the inputs' maxLength should prevent it
        return action_message(t("alerts.action_failed", lang, error=str(exc)), error=True), no_update, no_update, no_update
    return outcome_list(outcomes, rows, lang), (changed or 0) + 1, who, ""


@callback(
    Output("alerts-silence-result", "children"),
    Output("alerts-changed", "data", allow_duplicate=True),
    Output("alerts-operator", "data", allow_duplicate=True),
    Output("alerts-silence-reason", "value"),
    Input("alerts-silence", "n_clicks"),
    State("alerts-grid", "selectedRows"),
    State("alerts-grid", "virtualRowData"),
    State("alerts-operator-name", "value"),
    State("alerts-silence-duration", "value"),
    State("alerts-silence-reason", "value"),
    State("alerts-changed", "data"),
    prevent_initial_call=True,
)
@action("operator", "alert.silence")
def silence_selected(_clicks: int | None, selected: list[dict] | None, shown: list[dict] | None, who: str | None,
                     duration: str | None, reason: str | None, changed: int | None) -> tuple:
    """Silence the rule on the subject of each selected alert (one silence per rule and subject)."""
    lang = current_language()
    targets = _targets(selected, shown)
    nothing = (no_update, no_update, no_update)
    if not targets:
        return action_message(t("alerts.silence.none_selected", lang), error=True), *nothing
    who, reason = actor_name((who or "").strip()), (reason or "").strip()
    if not who:
        return action_message(t("alerts.no_name", lang), error=True), *nothing
    if not reason:
        # A silence hides alerts from everyone: the next operator must be able to see why.
        return action_message(t("alerts.silence.no_reason", lang), error=True), *nothing
    if duration not in SILENCE_DURATIONS:
        return action_message(t("alerts.silence.no_duration", lang), error=True), *nothing
    svc = current()
    now = datetime.now(UTC)
    keys = dict.fromkeys((r["rule_id"], r["subject_code"]) for r in targets)
    try:
        made = [create_silence(svc.engine, who, reason, now, duration=SILENCE_DURATIONS[duration], rule_id=rule_id,
                               subject_code=subject) for rule_id, subject in keys]
    except ValueError as exc:
        return action_message(t("alerts.action_failed", lang, error=str(exc)), error=True), *nothing
    until = format_time(made[0].ends_at, svc.settings.tz, lang)
    return action_message(t("alerts.silence.done", lang, n=len(made), until=until)), (changed or 0) + 1, who, ""


@callback(
    Output("alerts-silence-result", "children", allow_duplicate=True),
    Output("alerts-changed", "data", allow_duplicate=True),
    Input("alerts-silences", "cellClicked"),
    State("alerts-changed", "data"),
    prevent_initial_call=True,
)
@action("operator", "silence.expire")
def expire_clicked(cell: dict | None, changed: int | None) -> tuple:
    """A click on "end now" in the silences grid ends that silence."""
    if not cell or cell.get("colId") != "expire" or not str(cell.get("rowId") or "").isdigit():
        return no_update, no_update
    lang = current_language()
    silence_id = int(cell["rowId"])
    if expire_silence(current().engine, silence_id, datetime.now(UTC)):
        return action_message(t("alerts.silence.expired", lang, id=silence_id)), (changed or 0) + 1
    return action_message(t("alerts.silence.already_ended", lang, id=silence_id), error=True), (changed or 0) + 1
