"""Facilities as pages can use them: a facility has no page of its own, its outfall stations do."""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Engine, select

from store.schema import entities


def first_outfalls(engine: Engine, facility_codes: Iterable[str]) -> dict[str, str]:
    """facility code → the code of its first outfall station (wastewater first, then lowest code).

    Stations name their facility in ``meta.facility`` (a JSON field). It is matched here in
    Python rather than in SQL, because JSON paths differ between SQLite and PostgreSQL and
    the stations are a few hundred rows. Facilities without a station are left out.
    """
    wanted = set(facility_codes)
    if not wanted:
        return {}
    with engine.connect() as conn:
        rows = conn.execute(
            select(entities.c.code, entities.c.subtype, entities.c.meta).where(entities.c.kind == "station")
        ).all()
    best: dict[str, tuple[bool, str]] = {}
    for code, subtype, meta in rows:
        facility = (meta or {}).get("facility") if isinstance(meta, dict) else None
        if facility not in wanted:
            continue
        rank = (subtype != "wastewater", code)  # an outfall (wastewater) before an emission stack
        if facility not in best or rank < best[facility]:
            best[facility] = rank
    return {facility: rank[1] for facility, rank in best.items()}
