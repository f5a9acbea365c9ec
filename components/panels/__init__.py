"""Wall panels: the extension point that wall layouts (``config/walls.yaml``) pick from.

A panel kind is a subclass of :class:`PanelKind` registered with :func:`register`. It says

* ``name`` — what a layout writes after ``show:``;
* ``Options`` — a pydantic model of the options a layout may give it (validated at start-up);
* ``parts`` — the (part, property) pairs its refresh updates, e.g. ``("graph", "figure")``;
* :meth:`PanelKind.render` — the skeleton drawn once, holding a component per part with
  the id :func:`part_id` gives;
* :meth:`PanelKind.data` — the parts' new values, the time of the data and how often it
  is expected to change (for the stale badge).

``callbacks/wall.py`` refreshes every panel of a wall in one callback, kind by kind. It
sends a part only when its value changed (as a ``Patch`` of the changes where that is
smaller, :mod:`components.panels.patches`), so an unchanged panel costs nothing and the
browser redraws nothing (no flicker). Every screen's refresh calls :meth:`PanelKind.data`, so a kind wraps
its expensive builders (figures) in :func:`built`: the same inputs give the same, already
built and digested value. Panel modules are imported at the bottom of this file.
"""
from __future__ import annotations

import hashlib
import io
import json
import pickle
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, TypeVar
from zoneinfo import ZoneInfo

from dash import html
from plotly.utils import PlotlyJSONEncoder
from pydantic import BaseModel, ConfigDict

from i18n import t


class NoOptions(BaseModel):
    """Panels without options refuse any (a misspelt key is an error, not silence)."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class PanelContext:
    """What a panel needs to draw: language, clock, and the size of one physical screen."""

    lang: str
    tz: ZoneInfo
    now: datetime
    screen_height: float  # CSS pixels of one physical screen of the wall
    panel_height: float  # CSS pixels of the panel (about)
    refresh_seconds: float = 30  # the wall's refresh: what changed since the last one is new

    @property
    def font_px(self) -> int:
        """Body text size for figures: readable from 5 m on a 1080p screen (~24 px)."""
        return max(11, round(self.screen_height / 45))


@dataclass(frozen=True)
class PanelData:
    """A refresh's result: one value per part (in ``parts`` order), and the data's time."""

    values: Sequence[Any]
    as_of: datetime | None
    interval_seconds: float | None = None  # expected time between updates; None = never stale


class PanelKind:
    """Base of every panel kind; see the module docstring for what a subclass provides."""

    name: ClassVar[str]
    title_key: ClassVar[str]  # i18n key of the default title
    parts: ClassVar[tuple[tuple[str, str], ...]] = (("body", "children"),)
    Options: ClassVar[type[BaseModel]] = NoOptions

    def render(self, panel: str, options: BaseModel, lang: str) -> Any:
        """The panel body, drawn once; by default one Div for the ``body`` part."""
        return html.Div(id=part_id(self.name, "body", panel), className="panel-body-inner")

    def data(self, options: BaseModel, ctx: PanelContext) -> PanelData:
        raise NotImplementedError


_KINDS: dict[str, PanelKind] = {}


def register(kind: type[PanelKind]) -> type[PanelKind]:
    """Class decorator: make ``kind`` available to wall layouts under ``kind.name``."""
    _KINDS[kind.name] = kind()
    return kind


def panel_kind(name: str) -> PanelKind:
    return _KINDS[name]


def panel_kinds() -> dict[str, PanelKind]:
    return dict(_KINDS)


def part_id(kind: str, part: str, panel: str) -> dict[str, str]:
    """The id of a part's component: pattern-matched by the kind's refresh callback."""
    return {"role": "part", "kind": kind, "part": part, "panel": panel}


class _Encoder(PlotlyJSONEncoder):
    """JSON of what Dash would send (figures and components through ``to_plotly_json``)."""

    def default(self, o: Any) -> Any:
        try:
            return super().default(o)
        except TypeError:
            return str(o)


def encode(value: Any) -> tuple[str, str]:
    """(digest, JSON) of a value as Dash would send it; remembered for values from :func:`built`."""
    known = _DIGESTS.get(id(value))
    if known is not None and known[0] is value:
        return known[1], known[2]
    text = json.dumps(value, sort_keys=True, cls=_Encoder)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest(), text


def signature(values: Sequence[Any]) -> list[str]:
    """A short digest per value: the refresh sends only the parts whose digest changed."""
    return [encode(v)[0] for v in values]


T = TypeVar("T")
_BUILT_MAX = 128
_BUILT: OrderedDict[bytes, Any] = OrderedDict()  # key of (builder, arguments) -> value
_DIGESTS: dict[int, tuple[Any, str, str]] = {}  # id(value) -> (value, digest, JSON), for the values in _BUILT
_built_lock = threading.Lock()


def _arguments_key(builder: Callable, args: tuple, kwargs: dict) -> bytes | None:
    """A digest of the builder and its arguments' content (None if they cannot be pickled)."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.fast = True  # no memo: equal content gives equal bytes whatever objects it shares
    try:
        pickler.dump((builder.__module__, builder.__qualname__, args, sorted(kwargs.items())))
    except (pickle.PicklingError, TypeError, AttributeError, ValueError, RecursionError):
        return None
    return hashlib.blake2b(buffer.getvalue(), digest_size=16).digest()


def built(builder: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``builder(*args, **kwargs)``, built once for as long as its arguments stay the same.

    The screens of a wall ask for the same panels with the same (cached) data every
    refresh; building a plotly figure and digesting it costs tens of milliseconds, looking
    it up a fraction of one. The value is shared, so it must not be changed afterwards.
    """
    key = _arguments_key(builder, args, kwargs)
    if key is None:
        return builder(*args, **kwargs)
    with _built_lock:
        if key in _BUILT:
            _BUILT.move_to_end(key)
            return _BUILT[key]
    value = builder(*args, **kwargs)
    digest, text = encode(value)
    with _built_lock:
        if key in _BUILT:  # another thread built it meanwhile: keep one
            return _BUILT[key]
        _BUILT[key] = value
        _DIGESTS[id(value)] = (value, digest, text)
        while len(_BUILT) > _BUILT_MAX:
            _, old = _BUILT.popitem(last=False)
            _DIGESTS.pop(id(old), None)
    return value


def wall_table(columns: Sequence[tuple[str, str]], rows: Sequence[dict[str, Any]], size: int,
               empty: str) -> html.Table:
    """A fixed-height table of ``size`` rows (blank rows pad it), so a refresh changes text in
    place instead of adding or removing rows, and nothing ever scrolls.

    ``columns`` are (key, header) pairs; a row's ``_class`` and ``_style_<key>`` style it.
    """
    header = html.Thead(html.Tr([html.Th(h, className=f"col-{k}") for k, h in columns]))
    body = []
    for i in range(size):
        row = rows[i] if i < len(rows) else None
        # A blank row holds a no-break space: a line's height like the others, so the browser
        # shares the panel's height evenly instead of stretching the filled rows.
        cells = [
            html.Td("\u00a0" if row is None else str(row.get(k, "")), className=f"col-{k}",
                    style=None if row is None else row.get(f"_style_{k}"))
            for k, _ in columns
        ]
        body.append(html.Tr(cells, className=(row or {}).get("_class", "row-blank" if row is None else "")))
    if not rows:
        body[0] = html.Tr(html.Td(empty, colSpan=len(columns), className="table-empty"))
    return html.Table([header, html.Tbody(body)], className="wall-table")


def title(kind: PanelKind, lang: str) -> str:
    return t(kind.title_key, lang)


# The built-in kinds register themselves on import.
from components.panels import environment, hydromet, ministry, system  # noqa: E402,F401
