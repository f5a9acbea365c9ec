"""Fill the store with the past N days of a source, in one-day chunks.

Only adapters that can replay a window of the past (``supports_backfill``, e.g. the
demo simulator) are backfilled; each chunk is an ordinary recorded poll, so a crash
mid-way loses at most the chunk in flight and a rerun skips nothing (ingest is
idempotent). The alert rules are evaluated once the source has caught up, not after
each chunk: judged at the wall clock, a chunk of yesterday would have every station
offline, and the next chunk would resolve them all again.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from sqlalchemy import Engine, select

from polling import PollOutcome, evaluate_alerts, poll_source
from source_config import SourceSpec
from store.schema import sources

log = logging.getLogger(__name__)
CHUNK = timedelta(days=1)


def backfill_source(engine: Engine, spec: SourceSpec, days: float, end: datetime | None = None,
                    evaluate: bool = True) -> list[PollOutcome]:
    """Poll ``spec`` over (end − days, end] chunk by chunk; return each chunk's outcome.

    The alert rules are evaluated after the last chunk (or one that failed: what the
    source_failing rule reacts to), if ``evaluate``.
    """
    end = end or datetime.now(timezone.utc)
    start = end - timedelta(days=days)
    outcomes = []
    cursor = start
    while cursor < end:
        chunk_end = min(cursor + CHUNK, end)
        outcome = poll_source(
            engine, spec, trigger="backfill", now=chunk_end,
            fetch=lambda _ctx, a=cursor, b=chunk_end: spec.adapter.window(a, b), evaluate=False,
        )
        outcomes.append(outcome)
        if not outcome.ok:
            log.warning("backfill of %s stopped at %s: %s", spec.name, cursor.isoformat(), outcome.error)
            break
        cursor = chunk_end
    if evaluate and outcomes:
        evaluate_alerts(engine)
    return outcomes


def backfill_empty_sources(engine: Engine, specs: list[SourceSpec], days: float) -> None:
    """On a first start, backfill every enabled source that can, and has stored nothing yet."""
    if days <= 0:
        return
    with engine.connect() as conn:
        empty = set(conn.execute(select(sources.c.name).where(sources.c.last_observation_at.is_(None))).scalars())
    for spec in specs:
        if spec.enabled and spec.adapter.supports_backfill and spec.name in empty:
            log.info("backfilling %s: %g day(s)", spec.name, days)
            # The scheduler's first polls, right after, evaluate with every source caught up.
            backfill_source(engine, spec, days, evaluate=False)
