"""What the store knows about: entities counted by kind and subtype."""
from __future__ import annotations

from sqlalchemy import Engine, func, select

from store.schema import entities


def entity_counts(engine: Engine) -> dict[str, int]:
    """{"station/air": 80, "province": 34, ...}: kind, and subtype where there is one."""
    label = func.coalesce(entities.c.kind + "/" + entities.c.subtype, entities.c.kind)
    with engine.connect() as conn:
        rows = conn.execute(select(label, func.count()).group_by(label).order_by(label)).all()
    return {name: count for name, count in rows}


def entity_names(engine: Engine, codes: list[str]) -> dict[str, str]:
    """code → name for the given entity codes (unknown codes are left out)."""
    if not codes:
        return {}
    with engine.connect() as conn:
        return dict(conn.execute(select(entities.c.code, entities.c.name).where(entities.c.code.in_(codes))).all())
