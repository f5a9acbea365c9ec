"""Status colours and badges: colour always comes with text (colour-blind readers)."""
from __future__ import annotations

from dash import html

from i18n import t

# Traffic-light colours that keep contrast on the dark wall theme and the light desktop one.
STATUS_COLOURS = {
    "ok": "#1f9d55",
    "stale": "#d69e2e",
    "failing": "#e53e3e",
    "degraded": "#d69e2e",
    "down": "#e53e3e",
    "pending": "#718096",
    "disabled": "#4a5568",
}
STATUS_ICONS = {"ok": "●", "stale": "◐", "failing": "▲", "degraded": "◐", "down": "▲", "pending": "○", "disabled": "○"}


def status_badge(status: str, lang: str, label: str | None = None) -> html.Span:
    """A coloured badge with an icon and the status in words."""
    return html.Span(
        [html.Span(STATUS_ICONS.get(status, "?"), className="badge-icon"), label or t(f"status.{status}", lang)],
        className=f"status-badge status-{status}",
        style={"backgroundColor": STATUS_COLOURS.get(status, "#718096")},
    )
