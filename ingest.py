"""Validate a polled :class:`~data_sources.base.Batch` and store it in one transaction.

Rows that fail validation go to the quarantine with their reason and raw payload;
the rest are upserted idempotently. The caller owns the transaction, so a crash
anywhere leaves the store as it was before the batch.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, insert, select

from data_sources.base import Batch, Entity, Rejected
from store.bulk import upsert_observations
from store.schema import QUALITY_SUSPECT, QUALITY_VALID, entities, quarantine, series

COLUMNS = ["entity", "metric", "ts", "value", "unit", "quality"]
# Readings stamped further ahead than this are clock errors, not data.
MAX_FUTURE = timedelta(minutes=10)
_EPOCH = pd.Timestamp(0, tz="UTC")


@dataclass(frozen=True)
class IngestResult:
    accepted: int
    changed: int
    rejected: int
    newest: datetime | None  # newest observation time in the batch


def readings_frame(readings: Any) -> pd.DataFrame:
    """Normalise a list of :class:`Reading` or a DataFrame to the ingest columns."""
    if isinstance(readings, pd.DataFrame):
        frame = readings.copy()
        for column, default in (("unit", ""), ("quality", QUALITY_VALID)):
            if column not in frame:
                frame[column] = default
        missing = set(COLUMNS) - set(frame.columns)
        if missing:
            raise ValueError(f"readings frame lacks column(s) {sorted(missing)}")
        return frame[COLUMNS].reset_index(drop=True)
    rows = [(r.entity, r.metric, r.ts, r.value, r.unit, r.quality) for r in readings]
    return pd.DataFrame(rows, columns=COLUMNS)


def _epoch_seconds(ts: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(epoch seconds as int64, mask of unusable stamps). Naive stamps are unusable."""
    if pd.api.types.is_integer_dtype(ts):
        return ts.to_numpy(dtype="int64"), np.zeros(len(ts), dtype=bool)
    if isinstance(ts.dtype, pd.DatetimeTZDtype):
        bad = ts.isna().to_numpy()
        seconds = (ts.fillna(_EPOCH) - _EPOCH) // pd.Timedelta(seconds=1)
        return seconds.to_numpy(dtype="int64"), bad
    out = np.zeros(len(ts), dtype="int64")
    bad = np.zeros(len(ts), dtype=bool)
    for i, value in enumerate(ts.tolist()):
        if isinstance(value, datetime) and value.tzinfo is not None:
            out[i] = math.floor(value.timestamp())
        else:
            bad[i] = True
    return out, bad


def _payload(row: dict[str, Any]) -> str:
    return json.dumps(row, default=str, ensure_ascii=False)


def validate(frame: pd.DataFrame, now: datetime) -> tuple[pd.DataFrame, list[Rejected]]:
    """Split ``frame`` into storable rows (with integer ``ts``) and rejections."""
    reasons = pd.Series("", index=frame.index, dtype=object)

    def flag(mask: Any, reason: str) -> None:
        mask = pd.Series(mask, index=frame.index) & (reasons == "")
        reasons[mask] = reason

    entity = frame["entity"].astype("string").str.strip()
    metric = frame["metric"].astype("string").str.strip()
    flag(entity.isna() | (entity == ""), "missing entity code")
    flag(metric.isna() | (metric == ""), "missing metric")
    seconds, bad_ts = _epoch_seconds(frame["ts"])
    flag(bad_ts, "timestamp missing or without time zone")
    limit = int((now + MAX_FUTURE).timestamp())
    flag(seconds > limit, f"timestamp more than {int(MAX_FUTURE.total_seconds() // 60)} minutes in the future")
    value = pd.to_numeric(frame["value"], errors="coerce")
    flag(value.isna() | ~np.isfinite(value.fillna(0)), "value is not a finite number")
    quality = pd.to_numeric(frame["quality"], errors="coerce")
    flag(~quality.isin(range(QUALITY_VALID, QUALITY_SUSPECT + 1)), "unknown quality flag")

    bad = reasons != ""
    rejected = [
        Rejected(reason=reasons[i], payload=_payload(frame.loc[i].to_dict()), ref=None)
        for i in frame.index[bad]
    ]
    good = pd.DataFrame(
        {
            "entity": entity[~bad],
            "metric": metric[~bad],
            "ts": seconds[~bad.to_numpy()],
            "value": value[~bad].astype("float64"),
            "unit": frame["unit"][~bad].fillna("").astype(str),
            "quality": quality[~bad].astype("int64"),
        }
    )
    # The same key twice in one batch: the later record wins, as a later poll would.
    good = good.drop_duplicates(subset=["entity", "metric", "ts"], keep="last")
    return good, rejected


def upsert_entities(conn: Connection, items: list[Entity]) -> None:
    """Insert new entities and refresh changed ones (names, places, metadata)."""
    if not items:
        return
    existing = {row.code: row for row in conn.execute(select(entities))}
    new_rows = []
    for item in items:
        values = asdict(item)
        current = existing.get(item.code)
        if current is None:
            new_rows.append(values)
        elif any(getattr(current, k) != v for k, v in values.items()):
            conn.execute(entities.update().where(entities.c.id == current.id).values(**values))
    if new_rows:
        conn.execute(insert(entities), new_rows)


def _resolve_series(conn: Connection, good: pd.DataFrame) -> tuple[pd.DataFrame, list[Rejected]]:
    """Attach a series id to each row (creating series on first sight).

    Rows of unknown entities, or whose unit clashes with their series, are returned
    as rejections instead.
    """
    entity_ids = dict(conn.execute(select(entities.c.code, entities.c.id)).all())
    known = {(r.entity_id, r.metric): (r.id, r.unit) for r in conn.execute(select(series))}
    keys = good[["entity", "metric", "unit"]].drop_duplicates()
    series_ids, reasons = [], []
    for entity_code, metric, unit in keys.itertuples(index=False):
        entity_id = entity_ids.get(entity_code)
        if entity_id is None:
            series_ids.append(0)
            reasons.append(f"unknown entity code {entity_code!r}")
            continue
        found = known.get((entity_id, metric))
        if found is None:
            new_id = conn.execute(
                insert(series).values(entity_id=entity_id, metric=metric, unit=unit).returning(series.c.id)
            ).scalar_one()
            found = known[(entity_id, metric)] = (new_id, unit)
        if found[1] != unit:
            series_ids.append(0)
            reasons.append(f"unit {unit!r} differs from the series unit {found[1]!r} for {entity_code}/{metric}")
        else:
            series_ids.append(found[0])
            reasons.append("")
    keys = keys.assign(series_id=series_ids, reason=reasons)
    merged = good.merge(keys, on=["entity", "metric", "unit"], how="left")
    failed = merged[merged["reason"] != ""]
    rejected = [
        Rejected(reason=row.pop("reason"), payload=_payload({k: row[k] for k in COLUMNS}))
        for row in failed.to_dict("records")
    ]
    return merged[merged["reason"] == ""], rejected


def store_batch(conn: Connection, source_id: int | None, batch: Batch, now: datetime | None = None) -> IngestResult:
    """Validate and store ``batch`` in the caller's transaction."""
    now = now or datetime.now(timezone.utc)
    upsert_entities(conn, batch.entities)
    good, rejected = validate(readings_frame(batch.readings), now)
    good, unresolved = _resolve_series(conn, good)
    rejected = list(batch.rejected) + rejected + unresolved
    rows = list(
        zip(
            good["series_id"].tolist(),
            good["ts"].tolist(),
            good["value"].tolist(),
            good["quality"].tolist(),
            [source_id] * len(good),
        )
    )
    changed = upsert_observations(conn, rows)
    record_rejections(conn, source_id, rejected, now)
    newest = datetime.fromtimestamp(int(good["ts"].max()), timezone.utc) if len(good) else None
    return IngestResult(accepted=len(rows), changed=changed, rejected=len(rejected), newest=newest)


def record_rejections(conn: Connection, source_id: int | None, rejected: list[Rejected], now: datetime) -> None:
    if rejected:
        conn.execute(
            insert(quarantine),
            [
                {"source_id": source_id, "received_at": now, "reason": r.reason, "ref": r.ref, "payload": r.payload}
                for r in rejected
            ],
        )


__all__ = ["IngestResult", "readings_frame", "record_rejections", "store_batch", "upsert_entities", "validate"]
