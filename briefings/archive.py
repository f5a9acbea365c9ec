"""The archive of briefings: files under ``VAR_DIR/briefings/YYYY/MM/`` and a row each in ``briefings``.

A row is written before its file: ``running`` while it renders (a claim), then ``ok``
with the file's path (relative to VAR_DIR) and size, or ``failed`` with the error and no
file. Files are written under a temporary name and renamed, so a crash never leaves half
a briefing under a real name. The morning briefing has one row per local day and format
(a partial unique index); :func:`claim_morning` is how a producer takes it, so two
schedulers or a restart cannot produce it twice. :func:`prune` deletes rows and files
older than ``BRIEFING_RETENTION_DAYS``.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from settings import Settings
from store.schema import briefings

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
# A claim older than this was cut short (crash, kill, power): it may be taken again.
RUNNING_EXPIRES = timedelta(minutes=15)
MIMETYPES = {"pdf": "application/pdf", "png": "image/png", "html": "text/html; charset=utf-8"}
ARCHIVE_DIR = "briefings"


@dataclass(frozen=True)
class BriefingRecord:
    id: int
    kind: str  # morning | on_demand
    format: str  # pdf | png | html
    created_at: datetime
    day: date
    path: str | None  # relative to VAR_DIR
    size_bytes: int | None
    status: str  # running | ok | failed
    error: str | None
    attempts: int

    def file(self, settings: Settings) -> Path | None:
        return settings.var_dir / self.path if self.path else None

    def download_name(self, tz: ZoneInfo) -> str:
        """``ban-tin-2026-11-22.pdf`` for the morning one; on demand with the local time, several a day."""
        stamp = "" if self.kind == "morning" else "-" + self.created_at.astimezone(tz).strftime("%H%M%S")
        return f"ban-tin-{self.day.isoformat()}{stamp}.{self.format}"


_COLUMNS = [briefings.c[name] for name in BriefingRecord.__dataclass_fields__]


def get_briefing(engine: Engine, briefing_id: int) -> BriefingRecord | None:
    with engine.connect() as conn:
        row = conn.execute(select(*_COLUMNS).where(briefings.c.id == briefing_id)).first()
    return BriefingRecord(*row) if row else None


def list_briefings(engine: Engine, limit: int = 500, status: str | None = None) -> list[BriefingRecord]:
    """Newest first; every status unless ``status`` is given."""
    query = select(*_COLUMNS)
    if status is not None:
        query = query.where(briefings.c.status == status)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(briefings.c.created_at.desc(), briefings.c.id.desc())
                            .limit(max(1, int(limit)))).all()
    return [BriefingRecord(*r) for r in rows]


def morning_record(engine: Engine, day: date, fmt: str) -> BriefingRecord | None:
    with engine.connect() as conn:
        row = conn.execute(select(*_COLUMNS).where(briefings.c.kind == "morning", briefings.c.day == day,
                                                   briefings.c.format == fmt)).first()
    return BriefingRecord(*row) if row else None


def start_on_demand(engine: Engine, day: date, fmt: str, now: datetime) -> int:
    """A new ``running`` row for a briefing asked for now; its id."""
    with engine.begin() as conn:
        return conn.execute(insert(briefings).values(kind="on_demand", format=fmt, created_at=now, day=day,
                                                     status="running", attempts=1)).inserted_primary_key[0]


def claim_morning(engine: Engine, day: date, fmt: str, now: datetime, max_attempts: int = MAX_ATTEMPTS) -> int | None:
    """Take the morning briefing of ``day`` in ``fmt`` for rendering; its row id, or None.

    None when it is done, being rendered by someone else, or has failed ``max_attempts``
    times. The first claim inserts the row (the unique index lets one inserter win); a
    retry moves a failed or abandoned row back to running with a compare-and-set on the
    row as read, so two producers cannot both retry it.
    """
    with engine.begin() as conn:
        row = conn.execute(select(*_COLUMNS).where(briefings.c.kind == "morning", briefings.c.day == day,
                                                   briefings.c.format == fmt)).first()
        if row is None:
            try:
                with conn.begin_nested():
                    return conn.execute(insert(briefings).values(
                        kind="morning", format=fmt, created_at=now, day=day, status="running", attempts=1,
                    )).inserted_primary_key[0]
            except IntegrityError:
                return None  # another producer inserted it first
        abandoned = row.status == "running" and now - row.created_at > RUNNING_EXPIRES
        if row.status == "ok" or (row.status == "running" and not abandoned) or row.attempts >= max_attempts:
            return None
        result = conn.execute(
            update(briefings)
            .where(briefings.c.id == row.id, briefings.c.status == row.status, briefings.c.attempts == row.attempts)
            .values(status="running", created_at=now, attempts=row.attempts + 1, error=None)
        )
        return row.id if result.rowcount == 1 else None


def _relative_path(record_id: int, kind: str, fmt: str, created_at: datetime, tz: object) -> str:
    local = created_at.astimezone(tz)  # type: ignore[arg-type]
    name = f"ban-tin-{local:%Y-%m-%d-%H%M%S}-{kind.replace('_', '-')}-{record_id}.{fmt}"
    return f"{ARCHIVE_DIR}/{local:%Y}/{local:%m}/{name}"


def finish_ok(engine: Engine, settings: Settings, record_id: int, content: bytes) -> BriefingRecord:
    """Write ``content`` as the file of the running row ``record_id`` and mark it ok."""
    if not content:
        raise ValueError("refusing to archive an empty briefing")
    with engine.connect() as conn:
        row = conn.execute(select(*_COLUMNS).where(briefings.c.id == record_id)).one()
    relative = _relative_path(row.id, row.kind, row.format, row.created_at, settings.tz)
    target = settings.var_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.part")
    partial.write_bytes(content)
    os.replace(partial, target)
    with engine.begin() as conn:
        conn.execute(update(briefings).where(briefings.c.id == record_id)
                     .values(status="ok", path=relative, size_bytes=len(content), error=None))
    return get_briefing(engine, record_id)  # type: ignore[return-value]


def finish_failed(engine: Engine, record_id: int, error: str) -> BriefingRecord:
    """Mark the running row ``record_id`` failed with ``error`` (no file)."""
    with engine.begin() as conn:
        conn.execute(update(briefings).where(briefings.c.id == record_id)
                     .values(status="failed", error=error[:2000], path=None, size_bytes=None))
    return get_briefing(engine, record_id)  # type: ignore[return-value]


def prune(engine: Engine, settings: Settings, now: datetime | None = None) -> int:
    """Delete briefings (file, then row) created more than ``briefing_retention_days`` ago; how many."""
    now = now or datetime.now(timezone.utc)
    cutoff = now - timedelta(days=settings.briefing_retention_days)
    with engine.connect() as conn:
        old = conn.execute(select(briefings.c.id, briefings.c.path).where(briefings.c.created_at < cutoff)).all()
    deleted = 0
    for row in old:
        if row.path:
            try:
                (settings.var_dir / row.path).unlink(missing_ok=True)
            except OSError as exc:  # keep the row: the next prune tries the file again
                log.warning("could not delete briefing file %s: %s", row.path, exc)
                continue
        with engine.begin() as conn:
            deleted += conn.execute(briefings.delete().where(briefings.c.id == row.id)).rowcount
    if old:
        _remove_empty_dirs(settings.var_dir / ARCHIVE_DIR)
    return deleted


def _remove_empty_dirs(root: Path) -> None:
    if not root.is_dir():
        return
    for folder in sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        try:
            folder.rmdir()  # only succeeds when empty
        except OSError:
            pass
