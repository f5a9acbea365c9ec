"""The wall's callbacks: the refresh of every panel, the clock, the rotation.

One refresh serves every panel on the page, kind by kind (pattern-matching ``ALL`` ids,
see :mod:`components.panels`). It sends a part only when its digest changed since the
browser last got it, and then as a ``Patch`` of the changes where it can
(:mod:`components.panels.patches`), so an unchanged wall costs a few hundred bytes per
refresh and redraws nothing. The clock and the rotation run in the browser (``assets/wall.js``).
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Any

from dash import ALL, ClientsideFunction, Input, Output, State, callback, clientside_callback, html, no_update

from components.panels import PanelContext, PanelKind, encode, panel_kinds, signature
from components.panels.patches import update_for
from i18n import format_time, t
from services import current

log = logging.getLogger(__name__)

DEFAULT_SCREEN_HEIGHT = 1080
PANEL_HEAD_SHARE = 0.85  # of a panel's height left for its body under the title line


def _ids(kind: str, role: str) -> dict[str, Any]:
    return {"role": role, "kind": kind, "panel": ALL}


def _outputs(kind: PanelKind) -> list[Output]:
    outputs = [Output({"role": "part", "kind": kind.name, "part": part, "panel": ALL}, prop) for part, prop in kind.parts]
    return outputs + [Output(_ids(kind.name, "asof"), "children"), Output(_ids(kind.name, "frame"), "className"),
                      Output(_ids(kind.name, "sig"), "data")]


def register_refresh(kinds: list[PanelKind]) -> None:
    """Register the one refresh callback serving every panel of every kind on a wall.

    One request per refresh, not one per kind: an unchanged wall then costs one small
    answer, not a dozen sets of HTTP headers. A kind with no panel on the page matches
    no component (``ALL`` of nothing) and costs nothing.
    """
    @callback(
        [output for kind in kinds for output in _outputs(kind)],
        Input("wall-tick", "n_intervals"),
        Input("wall-viewport", "data"),
        [State(_ids(kind.name, "opts"), "data") for kind in kinds],
        [State(_ids(kind.name, "sig"), "data") for kind in kinds],
    )
    def refresh_wall(_n: int | None, viewport: dict | None, *states: list) -> list:
        # Each kind's options, then each kind's digests. Dash lists every ALL match in layout
        # order, so a kind's opts[i], sigs[i] and each of its outputs' i-th entry are one panel.
        opts, sigs = states[:len(kinds)], states[len(kinds):]
        found = []
        for kind, kind_opts, kind_sigs in zip(kinds, opts, sigs, strict=True):
            found += refresh_kind(kind, viewport, kind_opts, kind_sigs)
        return found


def refresh_kind(kind: PanelKind, viewport: dict | None, opts: list[dict], sigs: list[list | None]) -> list:
    """:func:`refresh_panels` for one kind; a kind that fails leaves its panels as they are, not the others."""
    if not opts:
        return [[] for _ in range(len(kind.parts) + 3)]
    try:
        return refresh_panels(kind, viewport, opts, sigs)
    except Exception:  # noqa: BLE001 - one broken panel kind must not blank the wall
        log.exception("wall panels of kind %s could not be refreshed", kind.name)
        return [[no_update] * len(opts) for _ in range(len(kind.parts) + 3)]


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
        encoded = [encode(value) for value in data.values]
        new = [digest for digest, _ in encoded] + signature([as_of, frame, round(screen_h)])
        old = old or []
        # A resize changes every figure's fonts: the last digest covers the screen height.
        resized = not old or old[-1] != new[-1]
        for i, value in enumerate(data.values):
            if i < len(old) and old[i] == new[i] and not resized:
                per_part[i].append(no_update)
            else:  # what changed (a Patch), or the whole value to a browser with another one
                held = old[i] if i < len(old) and not resized else None
                per_part[i].append(update_for(held, new[i], encoded[i][1], value))
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


register_refresh(list(panel_kinds().values()))

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
