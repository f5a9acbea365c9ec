"""The timer that refreshes a desktop page.

A refresh that fires again before the last answer arrived makes the browser drop that
answer as stale; a page whose callback is heavy would then never show data. So each page
states the shortest period its callback allows, and the setting can only lengthen it.
"""
from __future__ import annotations

from dash import dcc

from services import current


def page_refresh(timer_id: str, minimum_seconds: float = 0) -> dcc.Interval:
    """An Interval firing every ``PAGE_REFRESH_SECONDS``, never more often than ``minimum_seconds``."""
    seconds = max(current().settings.page_refresh_seconds, minimum_seconds)
    return dcc.Interval(id=timer_id, interval=int(seconds * 1000))
