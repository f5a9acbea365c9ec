"""Validate a polled :class:`~data_sources.base.Batch` and store it in one transaction.

Rows that fail validation go to the quarantine with their reason and raw payload;
the rest are upserted idempotently. The caller owns the transaction, so a crash
anywhere leaves the store as it was before the batch.
"""
from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, insert, select

from data_sources.base import Batch, Entity, Rejected
from store.bulk import upsert_observation_arrays
from store.rollups import refresh_hourly, touched_hours
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


def _clean_code(values: pd.Series) -> pd.Series:
    return values.astype("string").str.strip()


def _clean_unit(values: pd.Series) -> pd.Series:
    return values.fillna("").astype(str)


def _distinct(column: pd.Series, clean: Any) -> tuple[np.ndarray, list[str]]:
    """``clean`` applied to ``column``, as (codes, distinct cleaned strings); code -1 is missing.

    A batch repeats a few thousand entity, metric and unit strings a million times, so
    each distinct value is cleaned once. Columns holding anything but strings (where 1
    and 1.0 would share a code yet print differently) are cleaned row by row instead.
    """
    codes, uniques = pd.factorize(column)
    if all(isinstance(u, str) for u in uniques):
        # The trailing None stands for the missing values: code -1 picks it.
        cleaned = clean(pd.Series([*uniques, None], dtype=object))
        final, names = pd.factorize(cleaned)
        return final[codes], list(names)
    final, names = pd.factorize(clean(column))
    return final, list(names)


_REASONS = (
    "missing entity code",
    "missing metric",
    "timestamp missing or without time zone",
    f"timestamp more than {int(MAX_FUTURE.total_seconds() // 60)} minutes in the future",
    "value is not a finite number",
    "unknown quality flag",
)


@dataclass
class _Checked:
    """The storable rows of a readings frame, as arrays over distinct strings."""

    positions: np.ndarray  # of the storable rows in the frame, duplicate keys dropped
    entity: np.ndarray  # codes into entity_names, and so on
    entity_names: list[str]
    metric: np.ndarray
    metric_names: list[str]
    unit: np.ndarray
    unit_names: list[str]
    ts: np.ndarray  # epoch seconds
    value: np.ndarray
    quality: np.ndarray
    rejected: list[Rejected]


def _check(frame: pd.DataFrame, now: datetime) -> _Checked:
    entity, entity_names = _distinct(frame["entity"], _clean_code)
    metric, metric_names = _distinct(frame["metric"], _clean_code)
    unit, unit_names = _distinct(frame["unit"], _clean_unit)
    seconds, bad_ts = _epoch_seconds(frame["ts"])
    value = pd.to_numeric(frame["value"], errors="coerce")
    quality = pd.to_numeric(frame["quality"], errors="coerce")
    # (-1 picks the appended True: a missing code is a missing value.)
    empty_entity = np.array([name == "" for name in entity_names] + [True])
    empty_metric = np.array([name == "" for name in metric_names] + [True])
    limit = int((now + MAX_FUTURE).timestamp())
    checks = (
        empty_entity[entity],
        empty_metric[metric],
        bad_ts,
        seconds > limit,
        value.isna() | ~np.isfinite(value.fillna(0)),
        ~quality.isin(range(QUALITY_VALID, QUALITY_SUSPECT + 1)),
    )
    # The first failed check of a row is its reason.
    reason = np.zeros(len(frame), dtype=np.int8)
    for number, mask in enumerate(checks, start=1):
        reason[np.asarray(mask, dtype=bool) & (reason == 0)] = number
    bad = reason != 0
    rejected = [
        Rejected(reason=_REASONS[code - 1], payload=_payload(frame.loc[i].to_dict()), ref=None)
        for i, code in zip(frame.index[bad], reason[bad].tolist())
    ]
    positions = np.flatnonzero(~bad)
    # The same key twice in one batch: the later record wins, as a later poll would.
    repeated = pd.DataFrame(
        {"entity": entity[positions], "metric": metric[positions], "ts": seconds[positions]}
    ).duplicated(keep="last")
    positions = positions[~repeated.to_numpy()]
    return _Checked(
        positions=positions,
        entity=entity[positions],
        entity_names=entity_names,
        metric=metric[positions],
        metric_names=metric_names,
        unit=unit[positions],
        unit_names=unit_names,
        ts=seconds[positions],
        value=value.iloc[positions].astype("float64").to_numpy(),
        quality=quality.iloc[positions].astype("int64").to_numpy(),
        rejected=rejected,
    )


def validate(frame: pd.DataFrame, now: datetime) -> tuple[pd.DataFrame, list[Rejected]]:
    """Split ``frame`` into storable rows (with integer ``ts``) and rejections."""
    checked = _check(frame, now)
    index = frame.index[checked.positions]

    def names(codes: np.ndarray, distinct: list[str]) -> np.ndarray:
        return np.array(distinct, dtype=object)[codes] if len(codes) else np.array([], dtype=object)

    good = pd.DataFrame(
        {
            "entity": pd.Series(names(checked.entity, checked.entity_names), index=index, dtype="string"),
            "metric": pd.Series(names(checked.metric, checked.metric_names), index=index, dtype="string"),
            "ts": checked.ts,
            "value": pd.Series(checked.value, index=index, dtype="float64"),
            "unit": pd.Series(names(checked.unit, checked.unit_names), index=index, dtype=object).astype(str),
            "quality": pd.Series(checked.quality, index=index, dtype="int64"),
        },
        index=index,
    )
    return good, checked.rejected


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


@dataclass
class _Lookup:
    """Entity ids by code and (series id, unit) by (entity id, metric), as stored in the transaction.

    Loaded once per batch: a batch in parts would otherwise read both tables per part.
    """

    entity_ids: dict[str, int]
    known: dict[tuple[int, str], tuple[int, str]]

    @classmethod
    def load(cls, conn: Connection) -> _Lookup:
        return cls(
            dict(conn.execute(select(entities.c.code, entities.c.id)).all()),
            {(r.entity_id, r.metric): (r.id, r.unit) for r in conn.execute(select(series))},
        )


def _resolve_series(
    conn: Connection, checked: _Checked, lookup: _Lookup
) -> tuple[np.ndarray, np.ndarray, list[Rejected]]:
    """The series id of each checked row (creating series on first sight), and a mask of the resolved rows.

    Rows of unknown entities, or whose unit clashes with their series, are returned
    as rejections instead.
    """
    entity_ids, known = lookup.entity_ids, lookup.known
    # Each distinct (entity, metric, unit), in order of first appearance.
    pair, _ = pd.factorize(checked.entity * len(checked.metric_names) + checked.metric)
    key, _ = pd.factorize(pair * len(checked.unit_names) + checked.unit)
    _, first = np.unique(key, return_index=True)
    series_ids, reasons = [], []
    for entity_code, metric, unit in zip(
        [checked.entity_names[i] for i in checked.entity[first].tolist()],
        [checked.metric_names[i] for i in checked.metric[first].tolist()],
        [checked.unit_names[i] for i in checked.unit[first].tolist()],
    ):
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
    resolved = np.array([reason == "" for reason in reasons], dtype=bool)[key] if reasons else np.ones(0, bool)
    rejected = [
        Rejected(
            reason=reasons[k],
            payload=_payload(
                {
                    "entity": checked.entity_names[e],
                    "metric": checked.metric_names[m],
                    "ts": ts,
                    "value": value,
                    "unit": checked.unit_names[u],
                    "quality": quality,
                }
            ),
        )
        for k, e, m, ts, value, u, quality in zip(
            *(
                column[~resolved].tolist()
                for column in (key, checked.entity, checked.metric, checked.ts, checked.value, checked.unit, checked.quality)
            )
        )
    ]
    ids = np.array(series_ids, dtype=np.int64)[key] if series_ids else np.zeros(0, np.int64)
    return ids, resolved, rejected


def store_batch(conn: Connection, source_id: int | None, batch: Batch, now: datetime | None = None) -> IngestResult:
    """Validate and store ``batch`` in the caller's transaction.

    ``batch.readings`` may be an iterator of frames (parts): each is stored as it comes,
    while its producer prepares the next; ``batch.rejected`` is read once they are all in.
    """
    now = now or datetime.now(timezone.utc)
    upsert_entities(conn, batch.entities)
    parts = batch.readings if isinstance(batch.readings, Iterator) else [batch.readings]
    lookup = _Lookup.load(conn)
    stored = [_store_readings(conn, source_id, readings_frame(part), now, lookup) for part in parts]
    # The roll-ups once, after every part: refreshed between parts, the refresh's INSERT ...
    # SELECT spilled SQLite's statement journal to a file and the next parts stored ~3x slower.
    touched = stored[0].touched if len(stored) == 1 else list(dict.fromkeys(k for part in stored for k in part.touched))
    refresh_hourly(conn, touched)
    rejected = list(batch.rejected) + [r for part in stored for r in part.rejected]
    record_rejections(conn, source_id, rejected, now)
    newest = max((part.newest for part in stored if part.newest is not None), default=None)
    return IngestResult(
        accepted=sum(part.accepted for part in stored),
        changed=sum(part.changed for part in stored),
        rejected=len(rejected),
        newest=newest,
    )


@dataclass(frozen=True)
class _Stored:
    accepted: int
    changed: int
    rejected: list[Rejected]  # by validation, then by series resolution
    newest: datetime | None
    touched: list[tuple[int, int]]  # (series_id, hour_ts) of the readings stored


def _store_readings(
    conn: Connection, source_id: int | None, frame: pd.DataFrame, now: datetime, lookup: _Lookup
) -> _Stored:
    """Upsert the valid readings of ``frame``; return what was stored and refused."""
    checked = _check(frame, now)
    series_id, resolved, unresolved = _resolve_series(conn, checked, lookup)
    ts = checked.ts[resolved]
    changed = upsert_observation_arrays(
        conn, series_id[resolved], ts, checked.value[resolved], checked.quality[resolved], source_id
    )
    newest = datetime.fromtimestamp(int(ts.max()), timezone.utc) if len(ts) else None
    return _Stored(len(ts), changed, checked.rejected + unresolved, newest, touched_hours(series_id[resolved], ts))


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
