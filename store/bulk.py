"""Fast idempotent upsert of observations, one implementation per dialect.

Ingesting the same record twice changes nothing: the row is rewritten only when its
value or quality differs (a correction from the source), never duplicated.
"""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection

Row = tuple[int, int, float, int, int | None]  # series_id, ts, value, quality, source_id

_SQLITE_UPSERT = (
    "INSERT INTO observations (series_id, ts, value, quality, source_id) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (series_id, ts) DO UPDATE SET value = excluded.value, quality = excluded.quality, "
    "source_id = excluded.source_id "
    "WHERE observations.value IS NOT excluded.value OR observations.quality <> excluded.quality"
)

_PG_STAGE = (
    "CREATE TEMP TABLE IF NOT EXISTS observations_stage "
    "(series_id integer, ts bigint, value double precision, quality smallint, source_id integer)"
    
)
_PG_MERGE = (
    "INSERT INTO observations (series_id, ts, value, quality, source_id) "
    "SELECT DISTINCT ON (series_id, ts) series_id, ts, value, quality, source_id FROM observations_stage "
    "ORDER BY series_id, ts "
    "ON CONFLICT (series_id, ts) DO UPDATE SET value = excluded.value, quality = excluded.quality, "
    "source_id = excluded.source_id "
    "WHERE observations.value IS DISTINCT FROM excluded.value OR observations.quality <> excluded.quality"
)


def upsert_observations(conn: Connection, rows: Sequence[Row]) -> int:
    """Upsert ``rows`` inside the caller's transaction; return how many rows changed."""
    if not rows:
        return 0
    dialect = conn.dialect.name
    if dialect == "sqlite":
        cursor = conn.connection.cursor()
        try:
            cursor.executemany(_SQLITE_UPSERT, rows)
            return cursor.rowcount
        finally:
            cursor.close()
    if dialect == "postgresql":
        raw = conn.connection.driver_connection
        with raw.cursor() as cur:
            cur.execute(_PG_STAGE)
            with cur.copy("COPY observations_stage (series_id, ts, value, quality, source_id) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            cur.execute(_PG_MERGE)
            changed = cur.rowcount
            cur.execute("TRUNCATE observations_stage")
            return changed
    raise NotImplementedError(f"no bulk upsert for dialect {dialect!r}")
