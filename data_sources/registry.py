"""The registry of adapter kinds: ``kind`` name → adapter class.

Built-in kinds register on import of :mod:`data_sources`; a deployment may register
its own with :func:`register` before the sources file is loaded.
"""
from __future__ import annotations

from typing import TypeVar

from data_sources.base import Adapter

_KINDS: dict[str, type[Adapter]] = {}

A = TypeVar("A", bound=type[Adapter])


def register(cls: A) -> A:
    """Class decorator: make ``cls`` available as ``kind: <cls.kind>`` in sources files."""
    if cls.kind in _KINDS and _KINDS[cls.kind] is not cls:
        raise ValueError(f"adapter kind {cls.kind!r} registered twice")
    _KINDS[cls.kind] = cls
    return cls


def adapter_class(kind: str) -> type[Adapter]:
    try:
        return _KINDS[kind]
    except KeyError:
        raise KeyError(f"unknown source kind {kind!r}; known kinds: {', '.join(sorted(_KINDS))}") from None


def kinds() -> list[str]:
    return sorted(_KINDS)
