"""Video walls: ``/wall/<name>`` draws a layout of ``config/walls.yaml``; ``?kiosk=1`` hides the
navigation, ``?lang=en`` switches the language. Panels refresh themselves (callbacks/wall.py)."""
from __future__ import annotations

from typing import Any

import dash
from dash import dcc, html

import callbacks.wall  # noqa: F401  (registers the panels' refresh callbacks)
from components.panels import panel_kind, title
from components.query import single_values
from i18n import LOCALES, t
from services import current, current_language
from wall_config import PageSpec, WallSpec, current_walls, panel_id

dash.register_page(__name__, path_template="/wall/<name>", title="Màn hình tường", order=90)


@single_values
def layout(name: str | None = None, kiosk: str = "", lang: str = "", **_query: str) -> html.Div:
    svc = current()
    lang = lang if lang in LOCALES else current_language()
    walls = current_walls(svc.settings.walls_file)
    wall = walls.get(name or "")
    if wall is None:
        return html.Div(
            [html.H1(t("wall.not_found", lang, name=name or ""), className="page-title"),
             html.Ul([html.Li(dcc.Link(spec.title, href=f"/wall/{key}")) for key, spec in walls.items()])],
            className="page",
        )
    pages = [_page(i, page, lang, wall) for i, page in enumerate(wall.pages)]
    return html.Div(
        [
            html.Header(
                [
                    html.Div(wall.title, className="wall-title"),
                    html.Div(wall.pages[0].title or "", id="wall-page-title", className="wall-page-title"),
                    html.Div(id="wall-clock", className="wall-clock"),
                ],
                className="wall-header",
            ),
            html.Div(pages, className="wall-pages"),
            dcc.Store(id="wall-settings", data={"tz": svc.settings.timezone, "lang": lang, "pages": len(pages),
                                                "screen_rows": wall.screens.rows,
                                                "titles": [p.title or "" for p in wall.pages]}),
            dcc.Store(id="wall-viewport"),
            dcc.Interval(id="wall-clock-tick", interval=1000),
            dcc.Interval(id="wall-rotate", interval=wall.rotate_seconds * 1000, disabled=len(pages) < 2),
            dcc.Interval(id="wall-tick", interval=wall.refresh_seconds * 1000),
        ],
        id="wall-root",
        className="wall wall-kiosk" if kiosk not in ("", "0", "false") else "wall",
        # One unit = 1 % of a physical screen's height: a 3×2 wall of 1080p screens reads like one.
        style={"--screen-rows": str(wall.screens.rows)},
        **{"data-wall": name},
    )


def _page(index: int, page: PageSpec, lang: str, wall: WallSpec) -> html.Div:
    return html.Div(
        [_panel(panel_id(index, i), spec, lang, page, wall) for i, spec in enumerate(page.panels)],
        id={"role": "wall-page", "index": index},
        className="wall-page is-active" if index == 0 else "wall-page",
        style={"gridTemplateColumns": f"repeat({page.grid.columns}, minmax(0, 1fr))",
               "gridTemplateRows": f"repeat({page.grid.rows}, minmax(0, 1fr))"},
    )


def _panel(panel: str, spec: Any, lang: str, page: PageSpec, wall: WallSpec) -> html.Section:
    kind = panel_kind(spec.show)
    options = spec.parsed_options()
    # The share of a screen's height the panel gets: figures size their text from it.
    screens_high = page.grid.rows / wall.screens.rows
    return html.Section(
        [
            html.Div(
                [html.H2(spec.title or title(kind, lang), className="panel-title"),
                 html.Span(id={"role": "asof", "kind": kind.name, "panel": panel}, className="panel-as-of")],
                className="panel-head",
            ),
            html.Div(kind.render(panel, options, lang), className="panel-body"),
            dcc.Store(id={"role": "opts", "kind": kind.name, "panel": panel},
                      data={"options": options.model_dump(), "lang": lang, "refresh": wall.refresh_seconds,
                            "screen_share": spec.row_span / screens_high}),
            dcc.Store(id={"role": "sig", "kind": kind.name, "panel": panel}),
        ],
        id={"role": "frame", "kind": kind.name, "panel": panel},
        className="wall-panel",
        style={"gridRow": f"{spec.row} / span {spec.row_span}", "gridColumn": f"{spec.column} / span {spec.column_span}"},
    )
