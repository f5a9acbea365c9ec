"""Stations as coloured points on an outline of Việt Nam: drawn from data in the repository,
so it needs no tile server, no topojson CDN and no font download (closed networks)."""
from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import plotly.graph_objects as go

from components.theme import FONT_FAMILY
from reference.provinces import ARCHIPELAGOS

OUTLINE_FILE = Path(__file__).resolve().parent.parent / "reference" / "vietnam_outline.json"
LAND = "#273445"
COAST = "#4a5b70"
# Lon/lat box holding the mainland and both archipelagos.
LON_RANGE = (101.8, 117.2)
LAT_RANGE = (7.8, 23.6)
ARCHIPELAGO_HALF_SIZE = (1.6, 1.3)  # degrees around each archipelago's point


@dataclass(frozen=True)
class MapPoint:
    """One station on the map."""

    code: str
    name: str
    lat: float
    lon: float
    colour: str
    hover: str  # what the value means, e.g. "AQI 152 · Kém", shown after the name
    layer: int = 0  # drawing order: points of a higher layer are drawn over the others


def _marker_trace(points: list[MapPoint], size: int) -> go.Scatter:
    # Names and positions never change between refreshes; a wall sends the colours and the
    # hover values anew (components/panels/patches.py), so they are apart from them.
    colours = [p.colour for p in points]
    return go.Scatter(
        x=[p.lon for p in points], y=[p.lat for p in points], mode="markers",
        marker={"color": colours[0] if len(set(colours)) == 1 else colours, "size": size,
                "line": {"color": "#0f1720", "width": 1}},
        hovertext=[p.name for p in points], text=[p.hover for p in points], customdata=[p.code for p in points],
        hovertemplate="%{hovertext}: %{text}<extra></extra>", showlegend=False,
    )


@cache
def _outline() -> tuple[list[float | None], list[float | None]]:
    """Every ring of the outline as one line trace (None between rings)."""
    rings = json.loads(OUTLINE_FILE.read_text(encoding="utf-8"))["rings"]
    lons: list[float | None] = []
    lats: list[float | None] = []
    for ring in rings:
        lons += [p[0] for p in ring] + [ring[0][0], None]
        lats += [p[1] for p in ring] + [ring[0][1], None]
    return lons, lats


def station_map(points: Sequence[MapPoint], *, height: int | None = 700, font_px: int = 14,
                marker_px: int | None = None, layers: int = 1) -> go.Figure:
    """The outline, the two archipelagos, and one marker per point: a trace per layer (0 to
    ``layers`` − 1, empty ones too, so the figure keeps its shape as points change layer),
    points in code order within it, higher layers on top."""
    lons, lats = _outline()
    marker = marker_px or max(8, round(font_px * 0.8))
    small = max(8, round(font_px * 0.62))
    figure = go.Figure(go.Scatter(x=lons, y=lats, mode="lines", fill="toself", fillcolor=LAND,
                                  line={"color": COAST, "width": 1}, hoverinfo="skip", showlegend=False))
    shapes, annotations = [], []
    dx, dy = ARCHIPELAGO_HALF_SIZE
    for a in ARCHIPELAGOS:
        shapes.append({"type": "rect", "x0": a.lon - dx, "x1": a.lon + dx, "y0": a.lat - dy, "y1": a.lat + dy,
                       "line": {"color": "#718096", "width": 1, "dash": "dot"}})
        annotations.append({"x": a.lon, "y": a.lat, "text": a.name.replace("Quần đảo ", "Quần đảo<br>"),
                            "showarrow": False, "font": {"size": small, "color": "#a0aec0"}})
    by_layer: list[list[MapPoint]] = [[] for _ in range(max(layers, 1 + max((p.layer for p in points), default=0)))]
    for p in sorted(points, key=lambda p: p.code):
        by_layer[p.layer].append(p)
    for layer in by_layer:
        figure.add_trace(_marker_trace(layer, marker))
    mid_lat = math.radians(sum(LAT_RANGE) / 2)
    figure.update_layout(
        template="plotly_dark", paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)",
        height=height, autosize=height is None, margin={"l": 2, "r": 2, "t": 2, "b": 2},
        shapes=shapes, annotations=annotations,
        xaxis={"visible": False, "range": list(LON_RANGE), "fixedrange": True},
        # Degrees of longitude are shorter than degrees of latitude away from the equator.
        yaxis={"visible": False, "range": list(LAT_RANGE), "scaleanchor": "x", "scaleratio": 1 / math.cos(mid_lat),
               "fixedrange": True},
        uirevision="station-map", font={"family": FONT_FAMILY, "size": font_px},
    )
    return figure
