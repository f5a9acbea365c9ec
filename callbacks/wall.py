"""The wall's callbacks: one refresh per panel kind, the clock, the rotation.

Each kind's refresh serves every panel of that kind on the page (pattern-matching ``ALL``
ids, see :mod:`components.panels`). It sends a part only when its digest changed since the
browser last got it, so an unchanged wall costs a few hundred bytes per refresh and
redraws nothing. The clock and the rotation run in the browser (``assets/wall.js``).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from dash import ALL, ClientsideFunction, Input, Output, State, callback, clientside_callback, html, no_update

from components.panels import PanelContext, PanelKind, panel_kinds, signature
from i18n import format_time, t
from services import current

DEFAULT_SCREEN_HEIGHT = 1080
PANEL_HEAD_SHARE = 0.85  # of a panel's height left for its body under the title line


def _ids(kind: str, role: str) -> dict[str, Any]:
    return {"role": role, "kind": kind, "panel": ALL}


def register_refresh(kind: PanelKind) -> None:
    """Register the refresh callback serving every panel of ``kind``."""
    outputs = [Output({"role": "part", "kind": kind.name, "part": part, "panel": ALL}, prop) for part, prop in kind.parts]
    outputs += [Output(_ids(kind.name, "asof"), "children"), Output(_ids(kind.name, "frame"), "className"),
                Output(_ids(kind.name, "sig"), "data")]

    @callback(
        outputs,
        Input({"role": "tick", "kind": kind.name}, "n_intervals"),
        Input("wall-viewport", "data"),
        State(_ids(kind.name, "opts"), "data"),
        State(_ids(kind.name, "sig"), "data"),
    )
    def refresh(_n: int | None, viewport: dict | None, opts: list[dict], sigs: list[list | None]) -> list:
        # Dash lists every ALL match in layout order, so opts[i], sigs[i] and each output's
        # i-th entry belong to the same panel.
        return refresh_panels(kind, viewport, opts, sigs)

    refresh.__name__ = f"refresh_{kind.name}"


def refresh_panels(kind: PanelKind, viewport: dict | None, opts: list[dict], sigs: list[list | None]) -> list:
    """New values for the changed parts of every panel of ``kind``; ``no_update`` for the rest."""
    svc = current()
    now = datetime.now(timezone.utc)
    n_parts = len(kind.parts)
    per_part: list[list[Any]] = [[] for _ in range(n_parts)]
    as_of_out, class_out, sig_out = [], [], []
    viewport = viewport or {}
    screen_h = float(viewport.get("h") or DEFAULT_SCREEN_HEIGHT) / max(1, int(viewport.get("screen_rows") or 1))
    for panel_opts, old in zip(opts, sigs):
        lang = panel_opts["lang"]
        ctx = PanelContext(lang=lang, tz=svc.settings.tz, now=now, screen_height=screen_h,
                           panel_height=screen_h * panel_opts["screen_share"] * PANEL_HEAD_SHARE,
                           refresh_seconds=panel_opts.get("refresh", 30))
        data = kind.data(kind.Options.model_validate(panel_opts["options"]), ctx)
        stale = _is_stale(data.as_of, data.interval_seconds, now, svc.settings.stale_after_intervals)
        as_of = _as_of(data.as_of, stale, ctx)
        frame = "wall-panel is-stale" if stale else "wall-panel"
        new = signature([*data.values, as_of, frame, round(screen_h)])
        old = old or []
        for i, value in enumerate(data.values):
            # A resize changes every figure's fonts: the last digest covers the screen height.
            changed = i >= len(old) or old[i] != new[i] or old[-1] != new[-1]
            per_part[i].append(value if changed else no_update)
        as_of_out.append(as_of if old[n_parts:n_parts + 1] != new[n_parts:n_parts + 1] else no_update)
        class_out.append(frame if old[n_parts + 1:n_parts + 2] != new[n_parts + 1:n_parts + 2] else no_update)
        sig_out.append(new if new != old else no_update)
    return [*per_part, as_of_out, class_out, sig_out]


def _is_stale(as_of: datetime | None, interval: float | None, now: datetime, after_intervals: float) -> bool:
    if interval is None:
        return False
    return as_of is None or now - as_of > timedelta(seconds=interval * after_intervals)


def _as_of(as_of: datetime | None, stale: bool, ctx: PanelContext) -> Any:
    if as_of is None:
        text = t("map.no_data", ctx.lang)  # said, not left blank: an empty panel must not look current
    else:
        text = t("data.as_of", ctx.lang, time=format_time(as_of, ctx.tz, ctx.lang, "HH:mm dd/MM"))
    if not stale:
        return text
    return [html.Span(t("wall.stale", ctx.lang), className="stale-badge"), text]


for _kind in panel_kinds().values():
    register_refresh(_kind)

clientside_callback(
    ClientsideFunction(namespace="wall", function_name="tick"),
    Output("wall-clock", "children"),
    Output("wall-viewport", "data"),
    Input("wall-clock-tick", "n_intervals"),
    State("wall-settings", "data"),
    State("wall-viewport", "data"),
)

clientside_callback(
    ClientsideFunction(namespace="wall", function_name="rotate"),
    Output({"role": "wall-page", "index": ALL}, "className"),
    Output("wall-page-title", "children"),
    Input("wall-rotate", "n_intervals"),
    State("wall-settings", "data"),
    prevent_initial_call=True,
)
