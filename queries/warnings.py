"""Hydro-meteorological warnings (CAP, see :mod:`data_sources.cap`) in force at a moment.

A warning is an entity of kind ``cap_warning``; it is in force when its newest
``active`` reading up to ``now`` is 1 and its ``expires`` (if any) is still ahead.
The expiry is checked here too, not only through the 0 reading the source writes
once a poll sees the time has passed: between expiry and the next poll (or with the
source down) an expired warning must not stay on the wall.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, and_, func, select

from data_sources.cap import KIND, LEVELS
from store.schema import entities, observations, series

_LEVEL_NAMES = {number: name for name, number in LEVELS.items()}


@dataclass(frozen=True)
class ActiveWarning:
    """One warning in force."""

    code: str  # entity code
    headline: str  # in the preferred language (Vietnamese)
    headline_en: str | None
    event: str
    level: int  # 4 Extreme, 3 Severe, 2 Moderate, 1 Minor, 0 Unknown
    severity: str
    urgency: str
    certainty: str
    msg_type: str  # Alert or Update
    sender: str
    identifier: str
    sent: datetime
    onset: datetime | None
    expires: datetime | None
    province_code: str | None  # of the first area that names a province
    provinces: tuple[str, ...]  # every province the areas name, in area order
    areas: tuple[dict[str, Any], ...]  # {areaDesc, province_code, geocodes, has_polygon}
    description: str = ""
    instruction: str = ""
    web: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def level_name(self) -> str:
        return _LEVEL_NAMES.get(self.level, "Unknown")


def _time(raw: Any) -> datetime | None:
    if not raw:
        return None
    try:
        return datetime.fromisoformat(str(raw))
    except ValueError:
        return None


def active_warnings(engine: Engine, now: datetime) -> list[ActiveWarning]:
    """Warnings in force at ``now``: most severe first, then newest."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    now_s = int(now.timestamp())
    # Newest reading up to now of each active/level series of a cap_warning entity.
    wanted = and_(entities.c.kind == KIND, series.c.metric.in_(("active", "level")), observations.c.ts <= now_s)
    newest = (
        select(observations.c.series_id, func.max(observations.c.ts).label("ts"))
        .join(series, series.c.id == observations.c.series_id)
        .join(entities, entities.c.id == series.c.entity_id)
        .where(wanted)
        .group_by(observations.c.series_id)
        .subquery()
    )
    query = (
        select(entities.c.id, series.c.metric, observations.c.value)
        .select_from(newest)
        .join(observations, and_(observations.c.series_id == newest.c.series_id, observations.c.ts == newest.c.ts))
        .join(series, series.c.id == newest.c.series_id)
        .join(entities, entities.c.id == series.c.entity_id)
    )
    with engine.connect() as conn:
        latest: dict[int, dict[str, float | None]] = defaultdict(dict)
        for entity_id, metric, value in conn.execute(query):
            latest[entity_id][metric] = value
        active_ids = [eid for eid, values in latest.items() if values.get("active") == 1]
        rows = conn.execute(select(entities).where(entities.c.id.in_(active_ids))).all() if active_ids else []

    found: list[ActiveWarning] = []
    for row in rows:
        meta = dict(row.meta or {})
        expires = _time(meta.get("expires"))
        if expires is not None and expires <= now:
            continue
        areas = tuple(meta.get("areas") or ())
        provinces = tuple(dict.fromkeys(a["province_code"] for a in areas if a.get("province_code")))
        level = latest[row.id].get("level")
        found.append(
            ActiveWarning(
                code=row.code,
                headline=row.name,
                headline_en=row.name_en,
                event=meta.get("event", ""),
                level=int(level) if level is not None else LEVELS.get(meta.get("severity", ""), 0),
                severity=meta.get("severity", "Unknown"),
                urgency=meta.get("urgency", ""),
                certainty=meta.get("certainty", ""),
                msg_type=meta.get("msgType", ""),
                sender=meta.get("sender", ""),
                identifier=meta.get("identifier", ""),
                sent=_time(meta.get("sent")) or datetime.fromtimestamp(0, UTC),
                onset=_time(meta.get("onset")),
                expires=expires,
                province_code=row.province_code,
                provinces=provinces,
                areas=areas,
                description=meta.get("description", ""),
                instruction=meta.get("instruction", ""),
                web=meta.get("web"),
                meta=meta,
            )
        )
    found.sort(key=lambda w: (-w.level, -w.sent.timestamp(), w.code))
    return found


def warnings_by_province(
    engine: Engine, now: datetime, warnings: list[ActiveWarning] | None = None
) -> dict[str | None, list[ActiveWarning]]:
    """Warnings in force per province code, most severe first in each.

    A warning covering several provinces is listed under each; one whose areas name
    no known province is listed under ``None`` so it is never silently dropped.
    Pass ``warnings`` (from :func:`active_warnings`) to avoid reading them twice.
    """
    grouped: dict[str | None, list[ActiveWarning]] = defaultdict(list)
    for warning in active_warnings(engine, now) if warnings is None else warnings:
        for code in warning.provinces or (None,):
            grouped[code].append(warning)
    return dict(grouped)


__all__ = ["ActiveWarning", "active_warnings", "warnings_by_province"]
