"""Wall layouts: the operator's file (``config/walls.yaml``, setting ``WALLS_FILE``) of video walls.

Each wall is served at ``/wall/<name>`` (``?kiosk=1`` hides all navigation)::

    walls:
      overview:
        title: Tổng quan quốc gia
        refresh: 30s            # how often panels look for new data (at least 10s)
        rotate: 60s             # time on each page of the playlist
        screens: {columns: 1, rows: 1}   # physical screens the browser window spans
        pages:                  # the rotation playlist, shown in this order
          - title: Môi trường
            grid: {columns: 3, rows: 2}
            panels:
              - show: aqi_map   # a panel kind (components.panels)
                row: 1          # 1-based, from the top left
                column: 1
                row_span: 2     # default 1
                column_span: 1  # default 1
                title: ...      # optional, replaces the kind's own title
                options: {...}  # the kind's own options

Text is sized from the height of one physical screen (``screens.rows``), so a 3×2 wall of
1080p screens reads like one 1080p screen. Errors name the file, the line and the fix.
"""
from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from components.panels import panel_kind, panel_kinds
from settings import ConfigError
from source_config import parse_duration
from yaml_config import YamlFile, read_yaml, reloading, validate

log = logging.getLogger(__name__)
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
MIN_REFRESH_SECONDS = 10  # a refresh faster than its answers would make the browser drop them all


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Grid(_Strict):
    columns: int = Field(ge=1, le=12)
    rows: int = Field(ge=1, le=8)


class Screens(_Strict):
    columns: int = Field(default=1, ge=1, le=8)
    rows: int = Field(default=1, ge=1, le=4)


class PanelSpec(_Strict):
    show: str
    row: int = Field(ge=1)
    column: int = Field(ge=1)
    row_span: int = Field(default=1, ge=1)
    column_span: int = Field(default=1, ge=1)
    title: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("show")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        if value not in panel_kinds():
            raise ValueError(f"unknown panel {value!r}; use one of {', '.join(sorted(panel_kinds()))}")
        return value

    def parsed_options(self) -> BaseModel:
        return panel_kind(self.show).Options.model_validate(self.options)


class PageSpec(_Strict):
    title: str | None = None
    grid: Grid
    panels: list[PanelSpec] = Field(min_length=1)


class WallSpec(_Strict):
    title: str
    refresh: str = "30s"
    rotate: str = "60s"
    screens: Screens = Field(default_factory=Screens)
    pages: list[PageSpec] = Field(min_length=1)

    @field_validator("refresh", "rotate")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value

    @property
    def refresh_seconds(self) -> int:
        return parse_duration(self.refresh)

    @property
    def rotate_seconds(self) -> int:
        return parse_duration(self.rotate)


class WallsFile(_Strict):
    walls: dict[str, WallSpec] = Field(min_length=1)


def load_walls(path: Path) -> dict[str, WallSpec]:
    """Parse and check the walls file; raise :class:`settings.ConfigError` naming file, line and fix."""
    file = read_yaml(path, "walls file", "WALLS_FILE")
    parsed = validate(file, WallsFile)
    for name, wall in parsed.walls.items():
        _check_wall(file, name, wall)
    return parsed.walls


def _check_wall(file: YamlFile, name: str, wall: WallSpec) -> None:
    if not _NAME.match(name):
        raise file.error(("walls", name), f"wall name {name!r}: use lower-case letters, digits, '-' or '_' (it is the URL)")
    if wall.refresh_seconds < MIN_REFRESH_SECONDS:
        raise file.error(("walls", name, "refresh"), f"refresh {wall.refresh} is too fast; use at least {MIN_REFRESH_SECONDS}s")
    for p, page in enumerate(wall.pages):
        taken: dict[tuple[int, int], int] = {}
        for i, panel in enumerate(page.panels):
            loc = ("walls", name, "pages", p, "panels", i)
            last_row, last_col = panel.row + panel.row_span - 1, panel.column + panel.column_span - 1
            if last_row > page.grid.rows or last_col > page.grid.columns:
                raise file.error(loc, f"panel {panel.show!r} reaches row {last_row}, column {last_col} but the grid is "
                                      f"{page.grid.rows} rows × {page.grid.columns} columns; move it or widen the grid")
            for cell in ((r, c) for r in range(panel.row, last_row + 1) for c in range(panel.column, last_col + 1)):
                if cell in taken:
                    other = page.panels[taken[cell]].show
                    raise file.error(loc, f"panel {panel.show!r} overlaps panel {other!r} at row {cell[0]}, "
                                          f"column {cell[1]}; give each cell of the grid to one panel")
                taken[cell] = i
            try:
                panel.parsed_options()
            except ValueError as exc:  # pydantic's ValidationError is a ValueError
                first = exc.errors()[0] if hasattr(exc, "errors") else {"loc": (), "msg": str(exc)}
                key = ".".join(str(k) for k in first["loc"])
                raise file.error(loc + ("options",) + tuple(first["loc"]),
                                 f"panel {panel.show!r} option {key!r}: {first['msg']}") from None


_reloaded = reloading(load_walls)
_last_good: dict[str, dict[str, WallSpec]] = {}


def current_walls(path: Path) -> dict[str, WallSpec]:
    """The walls file as it is now: an operator's edit shows on the next page load, no restart.

    A broken edit is logged and the last good layouts stay: an unattended wall that reloads
    must not go blank because of a typo. (Start-up still refuses a broken file.)
    """
    key = str(path)
    try:
        walls = _reloaded(path)
    except ConfigError as exc:
        if key not in _last_good:
            raise
        log.error("walls file not reloaded, keeping the last good layouts: %s", exc)
        return _last_good[key]
    _last_good[key] = walls
    return walls


def panel_id(page: int, index: int) -> str:
    """The id of the ``index``-th panel of page ``page`` of a wall (its components' ids on the page)."""
    return f"p{page}-{index}"


def wall_panels(wall: WallSpec) -> dict[str, PanelSpec]:
    """Panel id → its spec, for every page of ``wall``."""
    return {panel_id(i, j): spec for i, page in enumerate(wall.pages) for j, spec in enumerate(page.panels)}
