"""A station's trend: one panel per parameter, hourly means with their min–max band,
the limits that apply, and calibration or fault hours shaded (not shown as pollution)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from components.theme import FONT_FAMILY
from limits import LimitLine
from store.rollups import HOUR

PANEL_HEIGHT = 170
LIMIT_COLOURS = {"1h": "#ff6b6b", "8h": "#f6ad55", "24h": "#fbd38d", "instant": "#ff6b6b"}


def _spans(hours: Sequence[int]) -> list[tuple[int, int]]:
    """Consecutive hour starts merged into [start, end) spans."""
    spans: list[tuple[int, int]] = []
    for h in sorted(hours):
        if spans and spans[-1][1] == h:
            spans[-1] = (spans[-1][0], h + HOUR)
        else:
            spans.append((h, h + HOUR))
    return spans


def _local(epoch: float, tz: ZoneInfo) -> datetime:
    # Plotly draws naive datetimes as given: hand it local wall-clock times.
    return datetime.fromtimestamp(epoch, UTC).astimezone(tz).replace(tzinfo=None)


def trend_figure(hourly: pd.DataFrame, limits: Mapping[str, list[LimitLine]], tz: ZoneInfo,
                 shaded_label: str) -> go.Figure:
    """``hourly``: the station's roll-up rows (metric, unit, hour_ts, mean, min, max, n_all, n_valid)."""
    metrics = sorted(hourly["metric"].unique()) if len(hourly) else []
    figure = make_subplots(rows=max(1, len(metrics)), cols=1, shared_xaxes=True, vertical_spacing=0.02,
                           subplot_titles=[f"{m} ({hourly[hourly.metric == m].unit.iloc[0]})" for m in metrics] or None)
    for row, metric in enumerate(metrics, start=1):
        data = hourly[hourly["metric"] == metric].sort_values("hour_ts")
        x = [_local(h, tz) for h in data["hour_ts"]]
        figure.add_trace(go.Scatter(x=x, y=data["max"], mode="lines", line={"width": 0}, hoverinfo="skip",
                                    showlegend=False), row=row, col=1)
        figure.add_trace(go.Scatter(x=x, y=data["min"], mode="lines", line={"width": 0}, fill="tonexty",
                                    fillcolor="rgba(59,164,247,0.18)", hoverinfo="skip", showlegend=False), row=row, col=1)
        figure.add_trace(go.Scatter(x=x, y=data["mean"], mode="lines", line={"color": "#3ba4f7", "width": 2},
                                    name=metric, showlegend=False, connectgaps=False,
                                    hovertemplate="%{x|%d/%m %H:%M}: %{y:.2f}<extra>" + metric + "</extra>"), row=row, col=1)
        for line in limits.get(metric, []):
            figure.add_hline(y=line.value, row=row, col=1, line={"color": LIMIT_COLOURS.get(line.period, "#ff6b6b"),
                                                                 "dash": "dash", "width": 1.5},
                             annotation_text=line.label, annotation_font_size=10, annotation_position="top left")
        for start, end in _spans(data.loc[data["n_all"] > data["n_valid"], "hour_ts"].tolist()):
            figure.add_vrect(x0=_local(start, tz), x1=_local(end, tz), row=row, col=1, fillcolor="#a0aec0",
                             opacity=0.25, line_width=0)
    figure.update_layout(
        template="plotly_dark", paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)",
        height=PANEL_HEIGHT * max(1, len(metrics)) + 60, margin={"l": 50, "r": 20, "t": 30, "b": 30},
        uirevision="station-trend", font={"family": FONT_FAMILY, "size": 12},
        annotations=list(figure.layout.annotations) + [
            {"text": f"▒ {shaded_label}", "xref": "paper", "yref": "paper", "x": 1, "y": 1.0, "yanchor": "bottom",
             "xanchor": "right", "showarrow": False, "font": {"color": "#a0aec0", "size": 11}}],
    )
    return figure
