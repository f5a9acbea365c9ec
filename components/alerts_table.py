"""The desktop Alerts page's pieces: filters read from and written to the URL, the alerts
grid (dash-ag-grid, multi-select), an alert's history, the silences grid and the outcome
of an acknowledgement. Pure functions of plain data: no I/O here."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode
from zoneinfo import ZoneInfo

import dash_ag_grid as dag
from dash import html

from components.alert_list import SEVERITIES
from components.area import AREA_PATHS
from components.grids import category_style, epoch, paged_options, time_column
from components.links import md_escape
from components.query import first_value
from i18n import format_number, format_time, t
from kpis.catalogue import Kpi
from queries.alerts import AlertEvent, AlertRow, SilenceRow

# The state filter: "open" (firing or acknowledged) first, as the page opens on it.
STATE_FILTERS = ("open", "firing", "acknowledged", "resolved", "all")
DEFAULT_STATE = "open"
STATES = ("firing", "acknowledged", "resolved")
# What the silence picker offers: short enough to be reviewed, long enough for a week's works.
SILENCE_DURATIONS: dict[str, timedelta] = {
    "1h": timedelta(hours=1), "4h": timedelta(hours=4), "24h": timedelta(hours=24), "7d": timedelta(days=7),
}
EVENTS = ("fired", "refired", "acknowledged", "resolved", "escalated", "silenced")
OUTCOMES = ("acknowledged", "already_acknowledged", "resolved", "not_found")
# The same colours as the wall's severity badges (assets/app.css .severity-*), always with the word.
SEVERITY_COLOURS = (("critical", "#e53e3e"), ("major", "#dd6b20"), ("minor", "#d69e2e"), ("info", "#4a5568"))
DARK_TEXT = {"minor"}
# Query parameters the page owns; any other (e.g. ?lang=en) is kept as it is.
_OWN_PARAMS = ("state", "severity", "q")


@dataclass(frozen=True)
class AlertFilters:
    """What the page shows: a state filter, a severity (None: any) and a free-text search."""

    state: str = DEFAULT_STATE
    severity: str | None = None
    search: str = ""


def parse_filters(query: Mapping[str, str | list[str]]) -> AlertFilters:
    """The filters in the URL's query parameters; an unknown value falls back to the default
    rather than failing, so an old or mistyped bookmark still opens the page."""
    state = first_value(query.get("state")).strip().lower()
    severity = first_value(query.get("severity")).strip().lower()
    return AlertFilters(
        state=state if state in STATE_FILTERS else DEFAULT_STATE,
        severity=severity if severity in SEVERITIES else None,
        search=first_value(query.get("q")).strip()[:200],
    )


def parse_search(search: str | None) -> AlertFilters:
    """:func:`parse_filters` of a URL's search part (``?state=resolved&severity=critical``)."""
    return parse_filters(dict(parse_qsl((search or "").lstrip("?"), keep_blank_values=True)))


def filters_search(filters: AlertFilters, current_search: str | None = "") -> str:
    """The URL search for ``filters``, keeping the parameters the page does not own; defaults
    are left out so the plain ``/alerts`` stays the default view."""
    kept = [(k, v) for k, v in parse_qsl((current_search or "").lstrip("?"), keep_blank_values=True)
            if k not in _OWN_PARAMS]
    own = []
    if filters.state != DEFAULT_STATE:
        own.append(("state", filters.state))
    if filters.severity:
        own.append(("severity", filters.severity))
    if filters.search.strip():
        own.append(("q", filters.search.strip()))
    params = kept + own
    return "?" + urlencode(params) if params else ""


def subject_href(kind: str, code: str, outfalls: Mapping[str, str],
                 kpi_areas: Mapping[str, str] | None = None) -> str | None:
    """Where an alert's subject is shown: a station's page; a facility's first outfall station;
    a province's environment view; the Sources page for a source; a KPI drilled down on its
    area's page (``kpi_areas``: KPI code → area). None when there is no page (a CAP warning
    naming no province: warnings are only shown on the walls)."""
    if kind == "kpi":
        path = AREA_PATHS.get((kpi_areas or {}).get(code, ""))
        return f"{path}?kpi={quote(code, safe='')}" if path else None
    if kind == "station":
        return f"/station/{quote(code, safe='')}"
    if kind == "facility":
        station = outfalls.get(code)
        return f"/station/{quote(station, safe='')}" if station else None
    if kind == "province":
        return f"/environment?province={quote(code, safe='')}"
    if kind == "source":
        return "/sources"
    return None


def subject_markdown(name: str, href: str | None) -> str:
    """The subject cell: a Markdown link (or plain text), escaped, so a name from a source is never markup."""
    text = md_escape(name)
    return f"[{text}]({href})" if href else text


def value_text(value: float | None, threshold: float | None, lang: str) -> str:
    """"152,3 / 100": the value beside the threshold it crossed (vi-VN numbers)."""
    if threshold is None:
        return format_number(value, lang, 2)
    return f"{format_number(value, lang, 2)} / {format_number(threshold, lang, 2)}"


def alert_rows(alerts: Iterable[AlertRow], tz: ZoneInfo, lang: str, outfalls: Mapping[str, str] | None = None,
               rule_names: Mapping[str, str] | None = None, kpis: Mapping[str, Kpi] | None = None,
               ) -> list[dict[str, Any]]:
    """Grid rows: words for severity and state, times formatted in the centre's zone (their
    epochs beside them for sorting), the subject as a link where it has a page; a KPI of
    ``kpis`` (the catalogue, by code) is named in ``lang`` and links to its area's page."""
    outfalls, rule_names, kpis = outfalls or {}, rule_names or {}, kpis or {}
    kpi_areas = {code: kpi.area for code, kpi in kpis.items()}
    rows = []
    for a in alerts:
        kpi = kpis.get(a.subject_code) if a.subject_kind == "kpi" else None
        name = kpi.name(lang) if kpi else (a.subject_name or a.subject_code)
        rows.append({
            # AG Grid row ids are strings; the number is kept apart for the "#" column.
            "id": str(a.id),
            "number": a.id,
            "severity": a.severity,
            "severity_text": t(f"alert.severity.{a.severity}", lang) if a.severity in SEVERITIES else a.severity,
            "state": a.state,
            "state_text": t(f"alerts.state.{a.state}", lang) if a.state in STATES else a.state,
            "subject": name,
            "subject_kind": a.subject_kind,
            "subject_code": a.subject_code,
            "link": subject_markdown(name, subject_href(a.subject_kind, a.subject_code, outfalls, kpi_areas)),
            "rule_id": a.rule_id,
            "rule": rule_names.get(a.rule_id, a.rule_id),
            "message": a.message_in(lang),
            "started_ts": epoch(a.started_at),
            "started": format_time(a.started_at, tz, lang),
            "value": value_text(a.value, a.threshold, lang),
            "ack_by": a.ack_by or "",
            "ack_at_ts": epoch(a.ack_at),
            "ack_at": format_time(a.ack_at, tz, lang) if a.ack_at else "",
            "ack_note": a.ack_note or "",
            "resolved_ts": epoch(a.resolved_at),
            "resolved": format_time(a.resolved_at, tz, lang) if a.resolved_at else "",
        })
    return rows


# Only these columns feed the search box: the search is on subject and message (and the rule's name).
_NOT_SEARCHED = {"function": "null"}
# Wrapped text at a reading line height (the theme's is the row's height, 42 px a line).
_WRAPPED = {"lineHeight": "1.4", "paddingTop": "6px", "paddingBottom": "6px"}


def alerts_grid(grid_id: str, lang: str, search: str = "") -> dag.AgGrid:
    """The alerts grid: checkboxes for multi-select, a click on a row selects just that row."""
    state_rules = {f"alerts-state alerts-state-{s}": f"params.data.state == '{s}'" for s in STATES}
    columns = [
        {"field": "number", "headerName": "#", "width": 90, "type": "rightAligned"},
        {"field": "severity_text", "headerName": t("alerts.col.severity", lang), "width": 125,
         "cellStyle": category_style("severity", SEVERITY_COLOURS, DARK_TEXT)},
        {"field": "state_text", "headerName": t("alerts.col.state", lang), "width": 135, "cellClassRules": state_rules},
        {"field": "link", "headerName": t("alerts.col.subject", lang), "flex": 1.2, "minWidth": 190,
         "cellRenderer": "markdown",  # links open in the same tab (the renderer's default)
         # The search reads the plain name and code, not the escaped Markdown.
         "getQuickFilterText": {"function": "params.data.subject + ' ' + params.data.subject_code"}},
        {"field": "rule", "headerName": t("alerts.col.rule", lang), "flex": 1, "minWidth": 170, "wrapText": True,
         "autoHeight": True, "getQuickFilterText": {"function": "params.data.rule"}, "cellStyle": _WRAPPED},
        {"field": "message", "headerName": t("alerts.col.message", lang), "flex": 2, "minWidth": 240, "wrapText": True,
         "autoHeight": True, "getQuickFilterText": {"function": "params.data.message"}, "cellStyle": _WRAPPED},
        time_column("started", t("alerts.col.started", lang), 145),
        {"field": "value", "headerName": t("alerts.col.value", lang), "width": 140, "type": "rightAligned"},
        {"field": "ack_by", "headerName": t("alerts.col.ack_by", lang), "width": 150},
        time_column("ack_at", t("alerts.col.ack_at", lang), 145),
        {"field": "ack_note", "headerName": t("alerts.col.ack_note", lang), "flex": 1, "minWidth": 160,
         "wrapText": True, "autoHeight": True, "cellStyle": _WRAPPED},
        time_column("resolved", t("alerts.col.resolved", lang), 145),
    ]
    return dag.AgGrid(
        id=grid_id,
        columnDefs=columns,
        rowData=[],
        # Rows keep their identity across refreshes: selections survive, cells update in place.
        getRowId="params.data.id",
        defaultColDef={"resizable": True, "sortable": True, "getQuickFilterText": _NOT_SEARCHED},
        dashGridOptions={
            **paged_options(lang, t("alerts.none", lang), 25),
            "rowSelection": {"mode": "multiRow", "checkboxes": True, "headerCheckbox": True,
                             "enableClickSelection": True, "selectAll": "filtered"},
            "quickFilterText": search,
            # A dozen columns and a few hundred rows: render every column, so the browser's own
            # find-in-page and screen readers reach the acknowledgement columns off to the right.
            "suppressColumnVirtualisation": True,
        },
        style={"width": "100%"},
    )


def history_table(alert: Mapping[str, Any] | None, events: Iterable[AlertEvent], tz: ZoneInfo,
                  lang: str) -> html.Div:
    """An alert's events, oldest first: event, time, actor, note, value; a hint when no single alert is picked."""
    if alert is None:
        return html.Div(t("alerts.history.hint", lang), className="alerts-history-hint")
    body = [
        html.Tr([
            html.Td(t(f"alerts.event.{e.event}", lang) if e.event in EVENTS else e.event, className=f"event-{e.event}"),
            html.Td(format_time(e.at, tz, lang, "dd/MM/yyyy HH:mm:ss"), className="time"),
            html.Td(e.actor or "—"),
            html.Td(e.note or ""),
            html.Td(format_number(e.value, lang, 2), className="num"),
        ])
        for e in events
    ]
    head = html.Tr([html.Th(t(f"alerts.history.col.{c}", lang)) for c in ("event", "time", "actor", "note", "value")])
    return html.Div([
        html.H3(f"#{alert.get('number', alert.get('id'))} · {alert.get('subject', '')}", className="alerts-history-title"),
        html.Div(alert.get("rule", ""), className="alerts-history-rule"),
        html.Table([html.Thead(head), html.Tbody(body)], className="alerts-history-table"),
    ])


def silence_rows(silences: Iterable[SilenceRow], tz: ZoneInfo, lang: str, now: datetime,
                 rule_names: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """The silences not yet ended; an empty rule or subject means "every"."""
    rule_names = rule_names or {}
    return [
        {
            "id": str(s.id),
            "rule": rule_names.get(s.rule_id, s.rule_id) if s.rule_id else t("alerts.silence.any_rule", lang),
            "subject": s.subject_code or t("alerts.silence.any_subject", lang),
            "starts": format_time(s.starts_at, tz, lang),
            "ends": format_time(s.ends_at, tz, lang),
            "active": t("alerts.silence.active_now", lang) if s.active(now) else t("alerts.silence.upcoming", lang),
            "by": s.created_by,
            "reason": s.reason,
            "expire": t("alerts.silence.expire", lang),
        }
        for s in silences
    ]


def silences_grid(grid_id: str, lang: str) -> dag.AgGrid:
    """Active and upcoming silences; a click on the last cell ends one now."""
    columns = [
        {"field": "rule", "headerName": t("alerts.col.rule", lang), "flex": 1, "minWidth": 180},
        {"field": "subject", "headerName": t("alerts.col.subject", lang), "width": 170},
        {"field": "active", "headerName": t("alerts.col.state", lang), "width": 130},
        {"field": "starts", "headerName": t("alerts.silence.col.starts", lang), "width": 145},
        {"field": "ends", "headerName": t("alerts.silence.col.ends", lang), "width": 145},
        {"field": "by", "headerName": t("alerts.silence.col.by", lang), "width": 150},
        {"field": "reason", "headerName": t("alerts.silence.col.reason", lang), "flex": 1, "minWidth": 160,
         "wrapText": True, "autoHeight": True},
        {"field": "expire", "headerName": "", "width": 150, "sortable": False, "cellClass": "alerts-action-cell"},
    ]
    return dag.AgGrid(
        id=grid_id,
        columnDefs=columns,
        rowData=[],
        getRowId="params.data.id",
        defaultColDef={"resizable": True, "sortable": True},
        dashGridOptions=paged_options(lang, t("alerts.silence.none", lang), 10),
        style={"width": "100%"},
    )


def outcome_list(outcomes: Mapping[int, str], rows: Mapping[int, Mapping[str, Any]], lang: str) -> html.Div:
    """What happened to each alert of an acknowledgement, in the order they were selected."""
    done = sum(1 for o in outcomes.values() if o == "acknowledged")
    items = []
    for alert_id, outcome in outcomes.items():
        subject = (rows.get(alert_id) or {}).get("subject", "")
        word = t(f"alerts.outcome.{outcome}", lang) if outcome in OUTCOMES else outcome
        items.append(html.Li(f"#{alert_id} · {subject}: {word}", className=f"outcome-{outcome}"))
    return html.Div([
        html.Div(t("alerts.ack.done", lang, done=done, total=len(outcomes))),
        html.Ul(items, className="alerts-outcomes"),
    ], className="action-result is-ok", role="status")


def action_message(text: str, error: bool = False) -> html.Div:
    """A one-line result of an action; errors are announced to screen readers at once."""
    return html.Div(text, className="action-result " + ("is-error" if error else "is-ok"),
                    role="alert" if error else "status")
