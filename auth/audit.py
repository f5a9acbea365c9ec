"""The audit log: every state change, with who, what, when and from which address.

Rows are only ever added (and pruned after ``AUDIT_RETENTION_DAYS``, store/retention.py). :func:`record` is called by the web layer for each action
it lets through or refuses (auth/web.py), and by the account and token functions for
changes made from the command line.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import Connection, Engine, func, insert, select

from store.schema import audit_log

MAX_DETAIL = 2000


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    address: str
    outcome: str
    detail: str


def record(db: Engine | Connection, actor: str, action: str, target: str = "", *, address: str = "",
           outcome: str = "ok", detail: str = "", now: datetime | None = None) -> None:
    """Add one entry; ``db`` an engine (own transaction) or a connection (the caller's)."""
    values = {"at": now or datetime.now(timezone.utc), "actor": actor[:120], "action": action[:60],
              "target": target[:200], "address": (address or "")[:64], "outcome": outcome[:10],
              "detail": detail[:MAX_DETAIL]}
    if isinstance(db, Connection):
        db.execute(insert(audit_log).values(**values))
        return
    with db.begin() as conn:
        conn.execute(insert(audit_log).values(**values))


def recent(engine: Engine, limit: int = 500, action: str | None = None, actor: str | None = None) -> list[AuditEntry]:
    """The newest entries first, optionally of one action (or prefix ending in '.') or actor."""
    query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if action:
        # autoescape: '%' and '_' in the filter are letters, not LIKE wildcards.
        query = query.where(audit_log.c.action.startswith(action, autoescape=True) if action.endswith(".")
                            else audit_log.c.action == action)
    if actor:
        query = query.where(audit_log.c.actor == actor)
    with engine.connect() as conn:
        return [AuditEntry(**row._mapping) for row in conn.execute(query)]


def count_since(engine: Engine, action: str, since: datetime, *, address: str | None = None,
                target: str | None = None) -> int:
    """How many ``action`` entries since ``since`` (from ``address`` / about ``target``)."""
    query = select(func.count()).select_from(audit_log).where(audit_log.c.action == action, audit_log.c.at >= since)
    if address is not None:
        query = query.where(audit_log.c.address == address)
    if target is not None:
        query = query.where(audit_log.c.target == target)
    with engine.connect() as conn:
        return conn.execute(query).scalar_one()
