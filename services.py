"""The objects one running app shares: settings, the store's engine, the sources.

Built once by :func:`app.create_app` and kept on the Flask app, so layouts, callbacks
and API views reach them through :func:`current` instead of module globals.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, has_request_context, request
from sqlalchemy import Engine

from settings import Settings
from source_config import SourceSpec

EXTENSION = "opscentre"
LANGUAGE_COOKIE = "lang"
LANGUAGES = ("vi", "en")


@dataclass
class Services:
    settings: Settings
    engine: Engine
    specs: list[SourceSpec]


def current() -> Services:
    """The services of the app handling this request."""
    return current_app.extensions[EXTENSION]


def current_language() -> str:
    """The reader's language: ``?lang=`` on the request, else the ``lang`` cookie the header's
    switch sets, else the LANGUAGE setting. Dash callbacks carry the cookie, so a page and
    its refreshes agree."""
    if has_request_context():
        for lang in (request.args.get("lang"), request.cookies.get(LANGUAGE_COOKIE)):
            if lang in LANGUAGES:
                return lang
    return current().settings.language
