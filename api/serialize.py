"""JSON encodings shared by the API modules."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo


def iso(value: datetime | None, tz: ZoneInfo) -> str | None:
    """ISO 8601 with the operations centre's offset, e.g. 2026-11-22T07:00:00+07:00."""
    return value.astimezone(tz).isoformat(timespec="seconds") if value else None
