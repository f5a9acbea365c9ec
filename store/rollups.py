"""Roll-ups, refreshed for exactly the (series, hour) buckets a batch touched: the hourly
means and counts, and each touched series' newest valid reading (``newest_valid``).

A touched bucket is recomputed from its raw readings rather than adjusted, so
corrections and re-deliveries can never make a roll-up drift from the observations.
Runs inside the ingest transaction: a batch and its roll-ups commit together.
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
from sqlalchemy import Connection

HOUR = 3600

_CREATE_TOUCHED = (
    "CREATE TEMP TABLE IF NOT EXISTS touched_hours (series_id INTEGER NOT NULL, hour_ts BIGINT NOT NULL, "
    "PRIMARY KEY (series_id, hour_ts))"
)
# "WHERE 1 = 1": SQLite needs a WHERE before ON CONFLICT in an INSERT ... SELECT with a join.
_REFRESH = """
INSERT INTO hourly (series_id, hour_ts, n_all, n_valid, mean, min, max, last_ts, last_value, last_valid_ts)
SELECT t.series_id, t.hour_ts, COUNT(*),
       SUM(CASE WHEN o.quality = 0 THEN 1 ELSE 0 END),
       AVG(CASE WHEN o.quality = 0 THEN o.value END),
       MIN(CASE WHEN o.quality = 0 THEN o.value END),
       MAX(CASE WHEN o.quality = 0 THEN o.value END),
       MAX(o.ts), NULL,
       MAX(CASE WHEN o.quality = 0 THEN o.ts END)
FROM touched_hours t
JOIN observations o ON o.series_id = t.series_id AND o.ts >= t.hour_ts AND o.ts < t.hour_ts + 3600
WHERE 1 = 1
GROUP BY t.series_id, t.hour_ts
ON CONFLICT (series_id, hour_ts) DO UPDATE SET
    n_all = excluded.n_all, n_valid = excluded.n_valid, mean = excluded.mean,
    min = excluded.min, max = excluded.max, last_ts = excluded.last_ts, last_value = NULL,
    last_valid_ts = excluded.last_valid_ts
"""
# A row-value IN: SQLite then looks the touched buckets up by hourly's key; with a correlated
# EXISTS it scanned the whole of hourly (every hour of history) on each batch.
_LAST_VALUE = """
UPDATE hourly SET last_value = (
    SELECT o.value FROM observations o WHERE o.series_id = hourly.series_id AND o.ts = hourly.last_ts
)
WHERE (series_id, hour_ts) IN (SELECT series_id, hour_ts FROM touched_hours)
"""

# Recomputed for every touched series, not compared with the batch: a correction that makes
# the newest valid reading suspect must bring back the one before it. One step down the
# readings' key per series; ts NULL when none is valid any more.
_NEWEST_VALID = """
INSERT INTO newest_valid (series_id, ts, value)
SELECT t.series_id, o.ts, o.value
FROM (SELECT DISTINCT series_id FROM touched_hours) t
LEFT JOIN observations o ON o.series_id = t.series_id AND o.ts = (
    SELECT o2.ts FROM observations o2 WHERE o2.series_id = t.series_id AND o2.quality = 0
    ORDER BY o2.ts DESC LIMIT 1)
WHERE 1 = 1
ON CONFLICT (series_id) DO UPDATE SET ts = excluded.ts, value = excluded.value
"""


def touched_hours(series_ids: np.ndarray, ts: np.ndarray) -> list[tuple[int, int]]:
    """The distinct (series_id, hour_ts) buckets that readings at ``ts`` fall in."""
    if len(ts) == 0:
        return []
    # A hash-based de-duplication: np.unique(axis=1) sorts and costs ~15× more on a million rows.
    pairs = pd.DataFrame(
        {"series_id": np.asarray(series_ids, dtype=np.int64), "hour_ts": np.asarray(ts, dtype=np.int64) // HOUR * HOUR}
    ).drop_duplicates()
    return list(zip(pairs["series_id"].tolist(), pairs["hour_ts"].tolist()))


def refresh_hourly(conn: Connection, keys: Iterable[tuple[int, int]]) -> int:
    """Recompute the roll-ups of ``keys`` = (series_id, hour_ts) pairs and their series' newest valid
    readings; return how many keys."""
    keys = list(keys)
    if not keys:
        return 0
    conn.exec_driver_sql(_CREATE_TOUCHED)
    conn.exec_driver_sql("DELETE FROM touched_hours")
    if conn.dialect.name == "postgresql":
        with conn.connection.driver_connection.cursor() as cur:
            with cur.copy("COPY touched_hours (series_id, hour_ts) FROM STDIN") as copy:
                for key in keys:
                    copy.write_row(key)
    else:
        cursor = conn.connection.cursor()
        try:
            cursor.executemany("INSERT INTO touched_hours (series_id, hour_ts) VALUES (?, ?)", keys)
        finally:
            cursor.close()
    conn.exec_driver_sql(_REFRESH)
    conn.exec_driver_sql(_LAST_VALUE)
    conn.exec_driver_sql(_NEWEST_VALID)
    conn.exec_driver_sql("DELETE FROM touched_hours")
    return len(keys)
