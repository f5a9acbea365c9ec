"""Sending a wall panel's part as a ``Patch`` of what changed, not whole.

A 5-minute poll changes most panels, but little of each: the station map's colours and
hover texts, not its outline, layout or template; a table's cells, not its frame. The
browser holds the value whose digest it sent back (:func:`components.panels.signature`);
when this process still has that value, :func:`update_for` sends only the differences.
A screen this process has not served (a new screen, a restart, another worker) gets the
whole value, as before.

Values are compared in the JSON form Dash sends, so a ``Patch`` location is a path into
what the browser holds: ``["data", 0, "marker", "color"]`` in a figure,
``["props", "children", 1, ...]`` in a component.
"""
from __future__ import annotations

import json
import threading
from collections import OrderedDict
from typing import Any

from dash import Patch

_KEEP = 512  # values and patches remembered (a wall has tens of parts; a few walls per server)

Path = tuple[str | int, ...]
Operation = tuple[str, Path, Any]  # ("assign", path, value) or ("delete", path, None)

_sent: OrderedDict[str, Any] = OrderedDict()  # digest → the plain JSON value of that digest
_patches: OrderedDict[tuple[str, str], Patch | None] = OrderedDict()  # (old, new digest) → its patch
_lock = threading.Lock()


def operations(old: Any, new: Any, path: Path = ()) -> list[Operation]:
    """The assignments and deletions that turn the JSON value ``old`` into ``new``.

    Dicts are compared key by key; lists of the same length holding dicts or lists element
    by element (a figure's traces, a table's rows); anything else (a list of numbers, a
    text) is assigned whole where it differs.
    """
    found: list[Operation] = []
    _diff(old, new, path, found)
    return found


def _diff(old: Any, new: Any, path: Path, found: list[Operation]) -> None:
    if type(old) is dict and type(new) is dict:
        for key, value in new.items():
            if key not in old:
                found.append(("assign", (*path, key), value))
            elif old[key] != value:
                _diff(old[key], value, (*path, key), found)
        found.extend(("delete", (*path, key), None) for key in old if key not in new)
    elif (type(old) is list and type(new) is list and len(old) == len(new)
          and any(isinstance(v, dict | list) for v in new)):
        for i, (a, b) in enumerate(zip(old, new)):
            if a != b:
                _diff(a, b, (*path, i), found)
    else:
        found.append(("assign", path, new))


def as_patch(found: list[Operation]) -> Patch:
    """A dash ``Patch`` carrying ``found`` (none of them at the root)."""
    patch = Patch()
    for op, path, value in found:
        node = patch
        for key in path[:-1]:
            node = node[key]
        if op == "assign":
            node[path[-1]] = value
        else:
            del node[path[-1]]
    return patch


def _patch(old: Any, new: Any, new_size: int) -> Patch | None:
    found = operations(old, new)
    if not found or any(not path for _, path, _ in found):
        return None  # nothing to patch, or the value itself was replaced
    patch = as_patch(found)
    return patch if len(json.dumps(patch.to_plotly_json(), default=str)) < new_size else None


def update_for(old_digest: str | None, new_digest: str, new_json: str, value: Any) -> Any:
    """What to send a browser holding the value of ``old_digest`` so that it holds ``value``.

    ``new_json`` is ``value``'s JSON (as digested into ``new_digest``). A ``Patch`` when this
    process knows the old value and the patch is smaller than the value; else ``value``.
    The screens of a wall ask for the same change: each patch is worked out once.
    """
    key = (old_digest or "", new_digest)
    with _lock:
        old = _sent.get(old_digest) if old_digest else None
        new = _sent.get(new_digest)
        if new is not None:
            _sent.move_to_end(new_digest)
        if old is not None and key in _patches:
            _patches.move_to_end(key)
            patch = _patches[key]
            return value if patch is None else patch
    if new is None:
        new = json.loads(new_json)
    patch = None if old is None else _patch(old, new, len(new_json))
    with _lock:
        _sent[new_digest] = new
        if old is not None:
            _patches[key] = patch
        for table in (_sent, _patches):
            while len(table) > _KEEP:
                table.popitem(last=False)
    return value if patch is None else patch
