"""JSON encodings and request parsing shared by the API modules."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, jsonify


def iso(value: datetime | None, tz: ZoneInfo) -> str | None:
    """ISO 8601 with the operations centre's offset, e.g. 2026-11-22T07:00:00+07:00."""
    return value.astimezone(tz).isoformat(timespec="seconds") if value else None


def bad_request(message: str) -> Response:
    """A 400 with the reason as JSON."""
    response = jsonify({"error": message})
    response.status_code = 400
    return response


def parse_time(text: str | None, default: datetime, tz: Any) -> datetime:
    """An ISO 8601 query parameter; a time without offset is read in ``tz``. ValueError on junk."""
    if text is None:
        return default
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


def parse_day(text: str | None, tz: Any) -> date:
    """A YYYY-MM-DD query parameter; today in ``tz`` when absent. ValueError on junk."""
    return date.fromisoformat(text) if text else datetime.now(tz).date()
