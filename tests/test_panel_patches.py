"""Changed wall parts go out as a ``Patch`` of their differences when that is smaller.

The patches are applied here as the browser applies them (assign or delete at a location,
dash-renderer's ``applyPatch``); ``tests/test_browser_wall.py`` sees them applied in Chromium.
"""
from __future__ import annotations

import copy
import json
from datetime import datetime, timezone
from typing import Any

import pytest
from dash import Patch, html, no_update

import components.panels.patches as patches
from callbacks.wall import refresh_panels
from components.panels import PanelContext, PanelData, encode
from components.panels.patches import operations, update_for
from tests.test_walls import Scripted, app_context, opts  # noqa: F401  (app_context: a fixture)


def applied(value: Any, patch: Patch) -> Any:
    """``value`` after ``patch``, as the browser's renderer applies it."""
    value = copy.deepcopy(value)
    for op in patch.to_plotly_json()["operations"]:
        *head, last = op["location"]
        node = value
        for key in head:
            node = node[key]
        if op["operation"] == "Assign":
            node[last] = op["params"]["value"]
        else:
            assert op["operation"] == "Delete", op
            del node[last]
    return value


def plain(value: Any) -> Any:
    return json.loads(encode(value)[1])


@pytest.fixture(autouse=True)
def _forget() -> None:
    patches._sent.clear()
    patches._patches.clear()


def station_map(colours: list[str], title: str | None = "Bản đồ") -> dict[str, Any]:
    outline = {"type": "scatter", "x": list(range(400)), "y": list(range(400)), "mode": "lines"}
    stations = {"type": "scatter", "x": [1, 2, 3], "y": [4, 5, 6], "marker": {"color": colours},
                "text": [f"Trạm {c}" for c in colours]}
    layout: dict[str, Any] = {"font": {"size": 24}, "uirevision": "map"}
    if title is not None:
        layout["title"] = {"text": title}
    return {"data": [outline, stations], "layout": layout}


def test_a_figure_patch_carries_only_the_changed_arrays_and_rebuilds_the_new_figure() -> None:
    old, new = station_map(["green", "yellow", "red"]), station_map(["green", "red", "red"], title=None)
    found = operations(old, new)
    # The outline (400 points) is not sent; the colours and texts go whole; the title is deleted.
    assert {(op, path) for op, path, _ in found} == {
        ("assign", ("data", 1, "marker", "color")), ("assign", ("data", 1, "text")), ("delete", ("layout", "title"))}
    old_digest, old_json = encode(old)
    new_digest, new_json = encode(new)
    assert update_for(None, old_digest, old_json, old) is old  # the browser's first copy goes whole
    patch = update_for(old_digest, new_digest, new_json, new)
    assert isinstance(patch, Patch)
    assert applied(plain(old), patch) == plain(new)
    assert len(json.dumps(patch.to_plotly_json())) < len(new_json) / 5


def test_a_component_patch_changes_the_cells_that_changed() -> None:
    def table(cells: list[str]) -> html.Table:
        return html.Table(html.Tbody([html.Tr([html.Td(c), html.Td("µg/m³"), html.Td("Hà Nội " * 20)])
                                      for c in cells]), className="wall-table")
    old, new = table(["10", "20", "30"]), table(["10", "25", "30"])
    (assignment,) = operations(plain(old), plain(new))
    assert assignment == ("assign", ("props", "children", "props", "children", 1, "props", "children", 0,
                                     "props", "children"), "25")
    update_for(None, *encode(old), old)
    patch = update_for(*[encode(old)[0], *encode(new)], new)
    assert applied(plain(old), patch) == plain(new)


def test_the_whole_value_goes_when_the_old_one_is_unknown_or_the_patch_would_not_be_smaller() -> None:
    old, new = {"data": [{"y": [1, 2, 3]}]}, {"data": [{"y": [4, 5, 6]}]}
    update_for(None, *encode(old), old)
    # Everything changed: a patch would be bigger than the value.
    assert update_for(encode(old)[0], *encode(new), new) is new
    # A digest this process never sent (another worker's, or from before a restart).
    assert update_for("0123456789abcdef", *encode(new), new) is new
    # A replaced root (text instead of a component) cannot be patched.
    assert operations("text", {"props": {}}) == [("assign", (), {"props": {}})]


def test_each_patch_is_worked_out_once_for_all_the_screens(monkeypatch: pytest.MonkeyPatch) -> None:
    old, new = station_map(["green"] * 3), station_map(["red"] * 3)
    update_for(None, *encode(old), old)
    calls = []
    monkeypatch.setattr(patches, "_patch", lambda *a: calls.append(a) or Patch())
    sent = [update_for(encode(old)[0], *encode(new), new) for _screen in range(10)]
    assert len(calls) == 1 and all(s is sent[0] for s in sent)


class Labelled(Scripted):
    """A text beside a long legend that never changes, and a figure of the text's length."""

    def data(self, options: Any, ctx: PanelContext) -> PanelData:
        text, as_of = self.values[ctx.lang]
        body = html.Div([html.B(text), html.Span("Chú giải: " + "xanh, vàng, cam, đỏ, tím, nâu; " * 20)])
        return PanelData([body, {"data": [{"y": [len(text)]}], "layout": {"font": {"size": ctx.font_px}}}], as_of, 300)


def test_a_refresh_sends_the_changed_part_as_a_patch(app_context: None) -> None:  # noqa: F811
    kind = Labelled()
    now = datetime.now(timezone.utc)
    kind.values = {"vi": ("một", now)}
    viewport = {"w": 1920, "h": 1080, "screen_rows": 1}
    first = refresh_panels(kind, viewport, [opts("vi")], [None])
    assert isinstance(first[0][0], html.Div)  # a new screen gets the whole value
    kind.values = {"vi": ("hai", now)}  # same length: the figure is unchanged
    second = refresh_panels(kind, viewport, [opts("vi")], first[4])
    (text,), (figure,) = second[0], second[1]
    assert figure is no_update
    assert isinstance(text, Patch)
    assert applied(plain(first[0][0]), text) == plain(kind.data(None, _ctx(now)).values[0])
    # A resized screen gets its parts whole (every figure's text size changed).
    resized = refresh_panels(kind, {"w": 3840, "h": 2160, "screen_rows": 1}, [opts("vi")], second[4])
    assert isinstance(resized[0][0], html.Div) and isinstance(resized[1][0], dict)


def _ctx(now: datetime) -> PanelContext:
    return PanelContext(lang="vi", tz=timezone.utc, now=now, screen_height=1080, panel_height=500)  # type: ignore[arg-type]
