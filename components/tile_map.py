"""The province tile map: one equal square per province, placed roughly where it lies.

Needs no boundary data and no tile server, so it works on a closed network and reads
from across a room. The archipelagos Hoàng Sa and Trường Sa are always drawn.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import plotly.graph_objects as go

from components.theme import FONT_FAMILY
from reference.provinces import ARCHIPELAGOS, GRID_COLS, GRID_ROWS, all_provinces

NO_DATA = "#2d3748"
GAP = 0.06  # between tiles, in tile widths


@dataclass(frozen=True)
class Tile:
    """What one province's tile shows."""

    colour: str
    label: str  # the value as text, e.g. "152" or "87 %"
    dark_text: bool = False  # black text on light colours


def _short(name: str) -> str:
    return name.replace("TP. Hồ Chí Minh", "TP.HCM")


def tile_map(tiles: Mapping[str, Tile], no_data_label: str, height: int | None = 900, font_px: int = 16,
             selected: str | None = None) -> go.Figure:
    """Tiles for every province in ``tiles`` (by code); the others grey with a dash (and
    ``no_data_label`` on hover: the words do not fit a tile).

    ``height=None`` fills the container (wall panels); ``font_px`` sizes the values, names are smaller.
    A click on a tile gives its province code as the point's ``customdata``; ``selected`` is outlined.
    """
    small = max(7, round(font_px * 0.55))
    figure = go.Figure()
    shapes, annotations = [], []
    xs, ys, hover, codes = [], [], [], []
    for p in all_provinces():
        tile = tiles.get(p.code)
        x, y = p.col, GRID_ROWS - 1 - p.row
        shapes.append({"type": "rect", "x0": x + GAP, "x1": x + 1 - GAP, "y0": y + GAP, "y1": y + 1 - GAP,
                       "fillcolor": tile.colour if tile else NO_DATA, "layer": "below",
                       "line": {"width": 4, "color": "#ffffff"} if p.code == selected else {"width": 0}})
        colour = "#000" if tile and tile.dark_text else "#fff"
        annotations.append({"x": x + 0.5, "y": y + 0.64, "text": _short(p.name), "showarrow": False,
                            "font": {"size": small, "color": colour}})
        annotations.append({"x": x + 0.5, "y": y + 0.32, "text": f"<b>{tile.label if tile else '–'}</b>",
                            "showarrow": False, "font": {"size": font_px, "color": colour}})
        xs.append(x + 0.5)
        ys.append(y + 0.5)
        hover.append(f"{p.name}: {tile.label if tile else no_data_label}")
        codes.append(p.code)
    for a in ARCHIPELAGOS:
        x, y = a.col, GRID_ROWS - 1 - a.row
        shapes.append({"type": "rect", "x0": x + GAP, "x1": x + 1 - GAP, "y0": y + GAP, "y1": y + 1 - GAP,
                       "fillcolor": "rgba(0,0,0,0)", "line": {"width": 1, "dash": "dot", "color": "#718096"}})
        annotations.append({"x": x + 0.5, "y": y + 0.5, "text": a.name.replace("Quần đảo ", "Quần đảo<br>"),
                            "showarrow": False, "font": {"size": small, "color": "#a0aec0"}})
    # Invisible points carry the hover text (shapes have none).
    figure.add_trace(go.Scatter(x=xs, y=ys, mode="markers", marker={"opacity": 0, "size": 30}, text=hover, customdata=codes,
                                hoverinfo="text", showlegend=False))
    figure.update_layout(
        template="plotly_dark", paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)",
        shapes=shapes, annotations=annotations, height=height, autosize=height is None, margin={"l": 5, "r": 5, "t": 5, "b": 5},
        xaxis={"visible": False, "range": [0, GRID_COLS]},
        yaxis={"visible": False, "range": [0, GRID_ROWS], "scaleanchor": "x", "scaleratio": 1},
        uirevision="tile-map", font={"family": FONT_FAMILY},
    )
    return figure
