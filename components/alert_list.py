"""Live alerts as a list: counts by severity, then the open alerts, most severe and newest first."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from dash import html

from i18n import format_time, t
from queries.alerts import AlertRow

SEVERITIES = ("critical", "major", "minor", "info")


def severity_counts(counts: dict[str, int], lang: str) -> html.Div:
    return html.Div(
        [html.Span([html.B(str(counts.get(s, 0))), f" {t(f'alert.severity.{s}', lang)}"],
                   className=f"alert-count severity-{s}" + ("" if counts.get(s) else " is-zero"))
         for s in SEVERITIES],
        className="alert-counts",
    )


def alert_lines(rows: list[AlertRow], lang: str, tz: ZoneInfo, now: datetime, size: int,
                new_within: timedelta, sound: bool = False) -> html.Div:
    """``size`` lines (blank ones pad the list so a refresh rewrites text in place); a critical
    alert that began within ``new_within`` gets the ``is-new`` class, which flashes once.

    Each line carries its alert's id (``data-alert-id``): the browser keeps which ids have
    flashed or sounded, because Dash reuses a line's DOM node by position and a refresh
    that shifts the list would otherwise flash (or miss) alerts again. ``sound`` asks the
    wall (``assets/wall.js``) for a short tone when a new critical alert appears.
    """
    lines = []
    for i in range(size):
        if i >= len(rows):
            lines.append(html.Div(className="alert-line is-blank"))
            continue
        a = rows[i]
        new = a.severity == "critical" and now - a.started_at <= new_within
        lines.append(html.Div(
            [
                html.Span(t(f"alert.severity.{a.severity}", lang), className=f"alert-severity severity-{a.severity}"),
                html.Span(a.subject_name or a.subject_code, className="alert-subject"),
                html.Span(a.message_in(lang), className="alert-message"),
                html.Span(("✓ " if a.state == "acknowledged" else "") + format_time(a.started_at, tz, lang, "HH:mm dd/MM"),
                          className="alert-time"),
            ],
            className=f"alert-line state-{a.state}" + (" is-new" if new else ""),
            **{"data-alert-id": str(a.id)},
        ))
    if not rows:
        lines[0] = html.Div(t("alert.none", lang), className="alert-line is-empty")
    return html.Div(lines, className="alert-lines", **({"data-sound": "1"} if sound else {}))
