"""JSON encodings and request parsing shared by the API modules."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, jsonify

# The years a time or a day in a query may fall in: the calendar's edges (0001-01-01,
# 9999-12-31) would overflow the date arithmetic after the parsing (a window, a day's hours).
MIN_YEAR, MAX_YEAR = 1970, 2100
YEARS = f"in the years {MIN_YEAR} to {MAX_YEAR}"  # for the messages of the 400s


def iso(value: datetime | None, tz: ZoneInfo) -> str | None:
    """ISO 8601 with the operations centre's offset, e.g. 2026-11-22T07:00:00+07:00."""
    return value.astimezone(tz).isoformat(timespec="seconds") if value else None


def bad_request(message: str) -> Response:
    """A 400 with the reason as JSON."""
    response = jsonify({"error": message})
    response.status_code = 400
    return response


def _in_range(value: date) -> None:
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(f"{value.isoformat()} is not {YEARS}")


def parse_time(text: str | None, default: datetime, tz: Any) -> datetime:
    """An ISO 8601 query parameter; a time without offset is read in ``tz``. ValueError on junk
    and on a year outside MIN_YEAR..MAX_YEAR."""
    if text is None:
        return default
    parsed = datetime.fromisoformat(text)
    _in_range(parsed)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


def parse_day(text: str | None, tz: Any) -> date:
    """A YYYY-MM-DD query parameter; today in ``tz`` when absent. ValueError on junk and on a
    year outside MIN_YEAR..MAX_YEAR."""
    if not text:
        return datetime.now(tz).date()
    parsed = date.fromisoformat(text)
    _in_range(parsed)
    return parsed
