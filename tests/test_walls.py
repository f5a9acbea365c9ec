"""Wall layouts (config/walls.yaml) and the panels' refresh: what is sent, and when a panel is stale."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from dash import html, no_update

from app import create_app
from callbacks.wall import refresh_kind, refresh_panels
from components.panels import PanelContext, PanelData, PanelKind, panel_kinds
from settings import ROOT, ConfigError, load_settings
from wall_config import current_walls, load_walls

SHIPPED = ROOT / "config" / "walls.yaml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "walls.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def wall_yaml(panels: str, extra: str = "") -> str:
    return f"""walls:
  test:
    title: Thử
    refresh: 30s
{extra}    pages:
      - grid: {{columns: 2, rows: 2}}
        panels:
{panels}"""


def test_the_shipped_walls_load_and_use_known_panels() -> None:
    walls = load_walls(SHIPPED)
    assert {"overview", "environment"} <= set(walls)
    assert walls["environment"].screens.columns == 3 and walls["environment"].screens.rows == 2
    used = {p.show for wall in walls.values() for page in wall.pages for p in page.panels}
    assert used <= set(panel_kinds())
    assert len(walls["overview"].pages) >= 2  # the overview rotates


@pytest.mark.parametrize(
    ("panels", "extra", "line", "words"),
    [
        ("          - {show: aqi, row: 1, column: 1}\n", "", 8, "unknown panel 'aqi'"),
        ("          - {show: wqi, row: 1, column: 1}\n          - {show: sources, row: 1, column: 1}\n", "", 9,
         "overlaps panel 'wqi'"),
        ("          - {show: wqi, row: 2, column: 2, row_span: 2}\n", "", 8, "reaches row 3"),
        ("          - {show: wqi, row: 1, column: 1, options: {rows: 99}}\n", "", 8, "option 'rows'"),
        ("          - {show: sources, row: 1, column: 1, options: {rows: 5}}\n", "", 8, "option 'rows'"),
        ("          - {show: wqi, row: 1, column: 1, colour: red}\n", "", 8, "remove it or check its spelling"),
        ("          - {show: wqi, row: 1, column: 1}\n", "    rotate: soon\n", 5, "not a duration"),
    ],
)
def test_layout_errors_name_the_line_and_the_fix(tmp_path: Path, panels: str, extra: str, line: int, words: str) -> None:
    path = write(tmp_path, wall_yaml(panels, extra))
    with pytest.raises(ConfigError) as err:
        load_walls(path)
    assert f"{path}:{line}:" in str(err.value)
    assert words in str(err.value)


def test_a_refresh_faster_than_ten_seconds_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, wall_yaml("          - {show: wqi, row: 1, column: 1}\n").replace("30s", "2s"))
    with pytest.raises(ConfigError, match=r"walls.yaml:4: refresh 2s is too fast"):
        load_walls(path)


def test_a_broken_edit_keeps_the_last_good_layouts(tmp_path: Path) -> None:
    path = write(tmp_path, wall_yaml("          - {show: wqi, row: 1, column: 1}\n"))
    assert [p.show for p in current_walls(path)["test"].pages[0].panels] == ["wqi"]
    path.write_text(wall_yaml("          - {show: nonsense, row: 1, column: 1}\n"), encoding="utf-8")
    assert [p.show for p in current_walls(path)["test"].pages[0].panels] == ["wqi"]
    path.write_text(wall_yaml("          - {show: sources, row: 1, column: 1}\n") + "\n", encoding="utf-8")
    assert [p.show for p in current_walls(path)["test"].pages[0].panels] == ["sources"]


# ----------------------------------------------------------------------------- refresh


class Scripted(PanelKind):
    """A panel kind whose value and data time the test sets."""

    name = "scripted"
    title_key = "wall.panel.sources"
    parts = (("text", "children"), ("graph", "figure"))

    def __init__(self) -> None:
        self.values: dict[str, tuple[str, datetime | None]] = {}

    def data(self, options: Any, ctx: PanelContext) -> PanelData:
        key = f"{ctx.lang}"
        text, as_of = self.values[key]
        figure = {"data": [{"y": [len(text)]}], "layout": {"font": {"size": ctx.font_px}}}
        return PanelData([html.B(text), figure], as_of, interval_seconds=300)


@pytest.fixture
def app_context(tmp_path: Path):  # noqa: ANN201
    app = create_app(load_settings(var_dir=tmp_path), specs=[])
    with app.server.app_context():
        yield


def opts(lang: str) -> dict[str, Any]:
    return {"options": {}, "lang": lang, "screen_share": 0.5}


def test_only_changed_parts_are_sent(app_context: None) -> None:
    kind = Scripted()
    now = datetime.now(timezone.utc)
    kind.values = {"vi": ("một", now), "en": ("one", now)}
    viewport = {"w": 1920, "h": 1080, "screen_rows": 1}
    first = refresh_panels(kind, viewport, [opts("vi"), opts("en")], [None, None])
    texts, figures, as_of, frames, sigs = first
    assert [t.children for t in texts] == ["một", "one"]
    assert [f["data"][0]["y"] for f in figures] == [[3], [3]]
    assert "dữ liệu lúc" in as_of[0] and "data as of" in as_of[1]
    assert frames == ["wall-panel", "wall-panel"]

    # Nothing changed: nothing is sent, not even the digests.
    again = refresh_panels(kind, viewport, [opts("vi"), opts("en")], sigs)
    assert all(v is no_update for part in again for v in part)

    # One panel's text changed (its figure, the text's length, did not): only that text goes out.
    kind.values["en"] = ("two", now)
    third = refresh_panels(kind, viewport, [opts("vi"), opts("en")], sigs)
    assert third[0][0] is no_update and third[0][1].children == "two"
    assert third[1] == [no_update, no_update]
    assert third[2] == [no_update, no_update]  # same data time
    assert third[4][0] is no_update and third[4][1] != sigs[1]


def test_a_panel_kind_that_fails_leaves_its_panels_as_they_are_and_the_others_refresh(app_context: None) -> None:
    class Broken(Scripted):
        def data(self, options: Any, ctx: PanelContext) -> PanelData:
            raise RuntimeError("the store is away")

    working = Scripted()
    working.values = {"vi": ("một", datetime.now(timezone.utc))}
    assert refresh_kind(Broken(), None, [opts("vi"), opts("vi")], [None, None]) == [[no_update] * 2] * 5
    assert refresh_kind(Broken(), None, [], []) == [[]] * 5  # no such panel on this wall: nothing asked
    assert refresh_kind(working, None, [opts("vi")], [None])[0][0].children == "một"


def test_a_taller_screen_redraws_figures_with_larger_text(app_context: None) -> None:
    kind = Scripted()
    kind.values = {"vi": ("một", datetime.now(timezone.utc))}
    small = refresh_panels(kind, {"w": 1920, "h": 1080, "screen_rows": 1}, [opts("vi")], [None])
    big = refresh_panels(kind, {"w": 3840, "h": 2160, "screen_rows": 1}, [opts("vi")], small[4])
    assert big[1][0]["layout"]["font"]["size"] == 2 * small[1][0]["layout"]["font"]["size"]
    # Two rows of 1080p screens read like one: the same text size as a single 1080p screen.
    canvas = refresh_panels(kind, {"w": 5760, "h": 2160, "screen_rows": 2}, [opts("vi")], [None])
    assert canvas[1][0]["layout"]["font"]["size"] == small[1][0]["layout"]["font"]["size"]


def test_old_data_shows_a_stale_badge_and_fresh_data_clears_it(app_context: None) -> None:
    kind = Scripted()
    now = datetime.now(timezone.utc)
    # Stale after 3 intervals of 300 s (STALE_AFTER_INTERVALS default 3).
    kind.values = {"vi": ("một", now - timedelta(seconds=3 * 300 + 60))}
    stale = refresh_panels(kind, None, [opts("vi")], [None])
    assert stale[3] == ["wall-panel is-stale"]
    assert stale[2][0][0].children == "DỮ LIỆU CŨ"
    kind.values = {"vi": ("một", now - timedelta(seconds=3 * 300 - 60))}
    fresh = refresh_panels(kind, None, [opts("vi")], stale[4])
    assert fresh[3] == ["wall-panel"]
    assert isinstance(fresh[2][0], str) and "dữ liệu lúc" in fresh[2][0]
    assert fresh[0] == [no_update]  # the text itself did not change
    kind.values = {"vi": ("một", None)}
    nothing = refresh_panels(kind, None, [opts("vi")], [None])
    assert nothing[3] == ["wall-panel is-stale"]  # no data at all
    assert nothing[2][0][1] == "không có số liệu"


def test_a_click_on_a_province_tile_selects_it_and_a_second_click_goes_back_to_the_nation() -> None:
    from pages.environment import pick_on_map

    click = {"points": [{"customdata": "HNI"}]}
    assert pick_on_map(click, None) == "HNI"
    assert pick_on_map(click, "HPG") == "HNI"
    assert pick_on_map(click, "HNI") is None
    assert pick_on_map({"points": [{}]}, "HNI") is no_update  # the outline, not a tile


def test_the_environment_url_keeps_province_and_range() -> None:
    from pages.environment import keep_in_url

    assert keep_in_url("HNI", "7d") == "?province=HNI&range=7d"
    assert keep_in_url(None, "7d") == "?range=7d"
    assert keep_in_url("HNI", "24h") == "?province=HNI"  # the default range stays out of the URL
    assert keep_in_url(None, "24h") == ""
