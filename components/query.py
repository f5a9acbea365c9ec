"""A page's URL parameters as its layout takes them: one string each.

Dash hands a page's ``layout`` each query parameter as a string, but a repeated one
(``?range=24h&range=7d``) as a list of strings; a layout that looks the value up in a dict or
a set would fail on it (unhashable list). Every page that reads query parameters decorates its
layout with :func:`single_values`, so a repeated parameter counts as its first value.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

Layout = TypeVar("Layout", bound=Callable[..., Any])
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def first_value(value: Any, default: str = "") -> str:
    """One parameter's value: the first of a repeated one (a list), ``default`` for anything not text."""
    if isinstance(value, list | tuple):
        value = value[0] if value else default
    return value if isinstance(value, str) else default


def single_values(layout: Layout) -> Layout:
    """Decorate a page's ``layout``: each repeated query parameter arrives as its first value."""

    @wraps(layout)
    def with_single_values(**params: Any) -> Any:
        return layout(**{key: first_value(value) if isinstance(value, list) else value
                         for key, value in params.items()})

    return with_single_values  # type: ignore[return-value]


def has_control_characters(text: str) -> bool:
    """True when ``text`` holds a control character (NUL, newline, ...): no code or name in the
    store has one, and PostgreSQL refuses a NUL in any text it is given."""
    return _CONTROL.search(text) is not None
