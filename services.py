"""The objects one running app shares: settings, the store's engine, the sources.

Built once by :func:`app.create_app` and kept on the Flask app, so layouts, callbacks
and API views reach them through :func:`current` instead of module globals.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import Engine

from settings import Settings
from source_config import SourceSpec

EXTENSION = "opscentre"


@dataclass
class Services:
    settings: Settings
    engine: Engine
    specs: list[SourceSpec]


def current() -> Services:
    """The services of the app handling this request."""
    return current_app.extensions[EXTENSION]
