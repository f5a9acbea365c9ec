#!/usr/bin/env python
"""National-scale read benchmark: the overview and wall queries over ~69 M readings, vs naive raw reads.

Run by hand::

    .venv/bin/python bench/national.py [--days 30] [--stations 1000] [--repeat 5] [--seed 9] [--keep]

What it builds, on a throw-away PostgreSQL (:class:`tests.servers.PostgresServer`, restarted
with ``shared_buffers=4GB``, ``wal_level=minimal`` and the bench's checkpoint settings; the
queries run with the server's default ``work_mem``):

* ``--stations`` monitoring stations (70 % air, 20 % surface water, 10 % wastewater outfalls,
  two per facility with a QCVN 40 permit in their meta, as the demo catalogue has them),
  spread over the 34 provinces of :mod:`reference.provinces`, 8 metrics each, a reading
  every 5 minutes for ``--days`` days ending at the 5-minute mark 5–10 minutes before now
  (1,000 × 8 × 288 × 30 = 69.1 M readings before the gaps): ~1 % of readings missing at
  random, ~1 % flagged calibrating/fault/suspect, 3 % of the stations silent for the last
  6 hours, a tenth of the air stations polluted (PM2.5 and PM10 over their limits);
* the readings go in time order (as polls deliver them) in one binary ``COPY … FREEZE``
  straight into ``observations`` after its constraints are dropped and the table truncated
  in the same transaction; the primary key is built after the load, the foreign keys are
  re-added ``NOT VALID`` (not re-checked: the bench made every id), then ``VACUUM ANALYZE``;
* ``hourly`` is filled with one ``INSERT … SELECT … GROUP BY series_id, hour`` computing what
  :mod:`store.rollups` maintains at ingest (``last_value`` = the value at ``last_ts``, taken
  with ``max(ARRAY[ts, value])`` so the aggregation stays a hash aggregation), written in hour
  order as ingest appends them (so ``hourly``'s physical order is the production one);
* sources (ok, newest observation = the last reading), the scheduler lease and 300 alerts
  (150 open).

Measured, with ``now`` fixed at the build (5–10 minutes after the last reading), each
query ``--repeat`` times after one unmeasured warm-up, ours and naive interleaved: median
and p95 (with 5 runs, p95 is close to the slowest). *Ours* are the functions behind
``queries.cached`` called directly (no cache). *Naive* computes the same result from raw
``observations`` (no roll-ups, no cache), with the same Python afterwards:

* current AQI: hourly means of the AQI pollutants over the last 14 hours by GROUP BY over
  raw readings (instead of ``hourly``), then the same NowCast/AQI code;
* exceedances (24 h) + by_site: the roll-up rows the function reads (~34 hours) computed
  by GROUP BY over raw readings, then the same plausibility, flat-line and limit code;
* completeness by province / station days of one province: today's received, valid,
  hours and bad hours by counting raw rows;
* WQI: the mean of hourly means of the last 24 hours from raw readings (the app's
  ``_means`` swapped for a raw one), then the same WQI code;
* newest reading: ``max(ts)`` over raw readings of the last 48 hours.

The KPI catalogue (``config/kpis.yaml``) reads no station series (report submissions,
provinces, units, GNSS, data links), and entity counts, system health and the alert list
read no readings: those are timed on our side only (their naive form is the same query).
Both sides must agree (checked and printed). Targets (issue #9): under 50 ms (p95) and
≥ 20× the naive implementation (median ÷ median).

The store is the shipped schema (migrations): since the first run of this bench it has a
BRIN index on ``hourly (hour_ts)`` (migration 0007) and the app's PostgreSQL connections
run with ``jit = off`` (store/engine.py), which both sides use.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from datetime import time as dtime
from pathlib import Path
from typing import Any
from unittest import mock

ROOT = Path(__file__).resolve().parents[1]
# Run as a script, this folder comes first on sys.path and would shadow the app's alerts package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))

from zoneinfo import ZoneInfo  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import psycopg  # noqa: E402
from sqlalchemy import Engine, select, text  # noqa: E402

import queries.water_quality as water_quality  # noqa: E402
from data_sources.base import Entity  # noqa: E402
from ingest import upsert_entities  # noqa: E402
from kpis.catalogue import load_catalogue  # noqa: E402
from kpis.compute import compute_kpis  # noqa: E402
from limits import load_limits  # noqa: E402
from queries.air_quality import (  # noqa: E402
    AQI_METRICS,
    CURRENT_WITHIN,
    NOWCAST_LEAD,
    StationAQI,
    current_station_aqi,
    station_aqi_of_means,
)
from queries.alerts import counts_by_severity, list_alerts  # noqa: E402
from queries.entities import entity_counts, entity_names  # noqa: E402
from queries.exceedances import (  # noqa: E402
    TYPES,
    Exceedance,
    _permit_metrics,
    by_site,
    exceedances,
    judge_hours,
)
from queries.health import system_health  # noqa: E402
from queries.station_health import StationDay, _ratio, completeness_by_province, station_health  # noqa: E402
from queries.stations import DEFAULT_INTERVAL, STATION_TYPES, TYPE_NAMES, newest_reading  # noqa: E402
from reference.provinces import all_provinces  # noqa: E402
from store.engine import make_engine  # noqa: E402
from store.migrate import upgrade  # noqa: E402
from store.rollups import HOUR  # noqa: E402
from store.schema import alerts, entities, scheduler_lease, series, sources  # noqa: E402
from tests.servers import PostgresServer  # noqa: E402

VN = ZoneInfo("Asia/Ho_Chi_Minh")
STEP = 300
AIR = [("PM2.5", "µg/m³"), ("PM10", "µg/m³"), ("NO2", "µg/m³"), ("SO2", "µg/m³"), ("CO", "µg/m³"),
       ("O3", "µg/m³"), ("Temp", "°C"), ("RH", "%")]
WATER = [("DO", "mg/L"), ("pH", ""), ("Temp", "°C"), ("COD", "mg/L"), ("BOD5", "mg/L"), ("TSS", "mg/L"),
         ("NH4+", "mg/L"), ("EC", "µS/cm")]
WASTE = [("COD", "mg/L"), ("pH", ""), ("BOD5", "mg/L"), ("TSS", "mg/L"), ("NH4+", "mg/L"), ("Temp", "°C"),
         ("Flow", "m³/h"), ("Colour", "Pt-Co")]
MEDIAN = {"PM2.5": 22.0, "PM10": 45.0, "NO2": 30.0, "SO2": 12.0, "CO": 900.0, "O3": 60.0, "Temp": 27.0, "RH": 75.0,
          "DO": 6.5, "pH": 7.2, "COD": 20.0, "BOD5": 8.0, "TSS": 25.0, "NH4+": 0.5, "EC": 300.0, "Flow": 120.0,
          "Colour": 40.0}
SPREAD = {"pH": 0.02, "Temp": 0.05, "RH": 0.08, "DO": 0.08}  # noise (log scale); others 0.2
DIURNAL = {"PM2.5": 0.35, "PM10": 0.35, "NO2": 0.3, "CO": 0.3, "O3": 0.5, "Temp": 0.1, "RH": 0.1}
QCVN40 = {"COD": (75, 150), "BOD5": (30, 50), "TSS": (50, 100), "NH4+": (5, 10), "Temp": (40, 40),
          "Colour": (50, 150)}
KINDS = [("air", AIR, "AIR", "air-stations"), ("surface_water", WATER, "SW", "water-stations"),
         ("wastewater", WASTE, "WW", "wastewater-stations")]
SERVER_SETTINGS = {"shared_buffers": "4GB", "wal_level": "minimal", "max_wal_senders": "0",
                   "max_wal_size": "32GB", "checkpoint_timeout": "1h", "maintenance_work_mem": "2GB",
                   "effective_cache_size": "16GB"}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --------------------------------------------------------------------------- the store


def register(engine: Engine, n_stations: int, now: datetime, last: datetime, seed: int) -> dict[str, Any]:
    """Sources, stations (and facilities), their series, the lease and some alerts; return the series layout."""
    rng = np.random.default_rng(seed)
    upgrade(engine)
    provinces = all_provinces()
    n_water, n_waste = round(n_stations * 0.2), round(n_stations * 0.1)
    n_waste -= n_waste % 2
    counts = {"air": n_stations - n_water - n_waste, "surface_water": n_water, "wastewater": n_waste}
    with engine.begin() as conn:
        for _, _, _, name in KINDS:
            conn.execute(sources.insert().values(
                name=name, kind="files", schedule="every 300s", interval_seconds=300, enabled=True,
                consecutive_failures=0, last_run_at=now, last_status="ok", last_success_at=now,
                last_observation_at=last, last_rows_accepted=1000, last_rows_rejected=0, last_duration_seconds=2.0))
        source_ids = dict(conn.execute(select(sources.c.name, sources.c.id)).all())
        conn.execute(scheduler_lease.insert().values(id=1, holder="bench", started_at=now - timedelta(days=1),
                                                     heartbeat_at=now))
    items: list[Entity] = []
    layout: list[tuple[str, str, str, str, int]] = []  # code, subtype, metric, unit, source id
    polluted: set[str] = set()
    facility: Entity | None = None
    for subtype, metrics, tag, source in KINDS:
        for i in range(counts[subtype]):
            p = provinces[i % len(provinces)]
            code = f"{p.code}-{tag}-{i:04d}"
            meta: dict[str, Any] = {"interval_seconds": STEP, "parameters": [m for m, _ in metrics]}
            if subtype == "wastewater":
                fac = f"{p.code}-FAC-{i // 2:04d}"
                if i % 2 == 0:
                    column = "A" if rng.random() < 0.3 else "B"
                    kq, kf = float(rng.choice([0.9, 1.0, 1.1, 1.2])), float(rng.choice([0.9, 1.0, 1.1]))
                    limits = {k: round((a if column == "A" else b) * (1 if k in ("Temp", "Colour") else kq * kf), 2)
                              for k, (a, b) in QCVN40.items()}
                    limits["pH_min"], limits["pH_max"] = (6.0, 9.0) if column == "A" else (5.5, 9.0)
                    facility = Entity(fac, "facility", f"Nhà máy {fac}", subtype="wastewater", province_code=p.code,
                                      meta={"column": column, "kq": kq, "kf": kf, "regulation": "QCVN 40:2011/BTNMT",
                                            "limits": limits, "permit": f"{100 + i}/GPMT-UBND"})
                    items.append(facility)
                assert facility is not None
                meta.update({"facility": fac, "outfall": i % 2 + 1, **facility.meta})
            if subtype == "air" and rng.random() < 0.1:
                polluted.add(code)
            items.append(Entity(code, "station", f"Trạm {code}", subtype=subtype, province_code=p.code,
                                lat=p.lat + float(rng.normal(0, 0.1)), lon=p.lon + float(rng.normal(0, 0.1)), meta=meta))
            layout += [(code, subtype, m, unit, source_ids[source]) for m, unit in metrics]
    with engine.begin() as conn:
        upsert_entities(conn, items)
        ids = dict(conn.execute(select(entities.c.code, entities.c.id)).all())
        conn.execute(series.insert(), [{"entity_id": ids[c], "metric": m, "unit": u} for c, _, m, u, _ in layout])
        sid = {(r.entity_id, r.metric): r.id for r in conn.execute(select(series.c.id, series.c.entity_id, series.c.metric))}
        rules = ["pm25-24h", "station-offline", "do-low", "ww-cod-permit"]
        codes = [c for c, *_ in layout[::8]]
        rows = []
        opened: set[tuple[str, str]] = set()
        for k in range(300):
            state = "firing" if k < 100 else "acknowledged" if k < 150 else "resolved"
            rule, code = rules[k % 4], codes[(k // 4) % len(codes)]
            if state != "resolved":
                if (rule, code) in opened:
                    state = "resolved"  # one open alert per rule and subject (uq_alerts_open): few stations
                opened.add((rule, code))
            started = now - timedelta(minutes=int(rng.integers(5, 20000)))
            rows.append({"rule_id": rule, "subject_kind": "station", "subject_code": code,
                         "subject_name": f"Trạm {code}", "severity": ["critical", "major", "minor", "info"][k % 4],
                         "state": state, "started_at": started, "last_seen_at": now,
                         "resolved_at": now if state == "resolved" else None, "value": 80.0, "threshold": 50.0,
                         "message": "bench"})
        conn.execute(alerts.insert(), rows)
    n = len(layout)
    sids = np.array([sid[(ids[c], m)] for c, _, m, _, _ in layout], dtype=np.int64)
    metric = [m for _, _, m, _, _ in layout]
    station_of = np.repeat(np.arange(n // 8), 8)
    level = np.array([MEDIAN[m] for m in metric]) * np.exp(rng.normal(0, 0.35, n))
    hot = np.array([c in polluted and m in ("PM2.5", "PM10") for c, _, m, _, _ in layout])
    level[hot] *= 3.5
    level[np.array(metric) == "pH"] = 7.2 + rng.normal(0, 0.3, int((np.array(metric) == "pH").sum()))
    silent = rng.random(n // 8) < 0.03
    return {
        "series_id": sids, "source_id": np.array([s for *_, s in layout], dtype=np.int64),
        "level": level, "spread": np.array([SPREAD.get(m, 0.2) for m in metric]),
        "diurnal": np.array([DIURNAL.get(m, 0.05) for m in metric]), "phase": rng.random(n),
        "silent": silent[station_of], "stations": counts, "series": n, "entities": len(items),
    }


def readings(layout: dict[str, Any], first_ts: int, steps: int, last_ts: int, seed: int, chunk_steps: int = 72):
    """Yield COPY binary chunks of the readings, oldest first (time-major, as polls deliver them), and counts."""
    rng = np.random.default_rng(seed + 1)
    dtype = np.dtype([("fields", ">i2"), ("l1", ">i4"), ("series_id", ">i4"), ("l2", ">i4"), ("ts", ">i8"),
                      ("l3", ">i4"), ("value", ">f8"), ("l4", ">i4"), ("quality", ">i2"), ("l5", ">i4"),
                      ("source_id", ">i4")])
    n = layout["series"]
    silent_from = last_ts - 6 * 3600
    for a in range(0, steps, chunk_steps):
        b = min(steps, a + chunk_steps)
        ts = (first_ts + STEP * np.arange(a, b, dtype=np.int64))[:, None]
        day_frac = (ts % 86400) / 86400.0
        value = layout["level"] * (1 + layout["diurnal"] * np.sin(2 * np.pi * (day_frac + layout["phase"])))
        value = value * np.exp(layout["spread"] * rng.standard_normal((b - a, n)))
        value = np.round(value, 2)
        keep = (rng.random((b - a, n)) >= 0.01) & ~(layout["silent"] & (ts > silent_from))
        quality = np.where(rng.random((b - a, n)) < 0.01, rng.integers(1, 4, (b - a, n)), 0)
        m = keep.ravel()
        block = np.empty(int(m.sum()), dtype=dtype)
        block["fields"], block["l1"], block["l2"], block["l3"], block["l4"], block["l5"] = 5, 4, 8, 8, 2, 4
        block["series_id"] = np.broadcast_to(layout["series_id"], (b - a, n)).ravel()[m]
        block["ts"] = np.broadcast_to(ts, (b - a, n)).ravel()[m]
        block["value"] = value.ravel()[m]
        block["quality"] = quality.ravel()[m]
        block["source_id"] = np.broadcast_to(layout["source_id"], (b - a, n)).ravel()[m]
        yield block.tobytes(), len(block)


HOURLY_SQL = """
INSERT INTO hourly (series_id, hour_ts, n_all, n_valid, mean, min, max, last_ts, last_value, last_valid_ts)
SELECT series_id, ts / 3600 * 3600, COUNT(*),
       SUM(CASE WHEN quality = 0 THEN 1 ELSE 0 END),
       AVG(CASE WHEN quality = 0 THEN value END),
       MIN(CASE WHEN quality = 0 THEN value END),
       MAX(CASE WHEN quality = 0 THEN value END),
       MAX(ts), (MAX(ARRAY[ts::float8, value]))[2],
       MAX(CASE WHEN quality = 0 THEN ts END)
FROM observations GROUP BY series_id, ts / 3600 * 3600
ORDER BY 2, 1
"""


def load(url: str, layout: dict[str, Any], first_ts: int, steps: int, last_ts: int, seed: int) -> dict[str, float]:
    """COPY the readings, fill the roll-ups, rebuild constraints; return the time of each stage."""
    took: dict[str, float] = {}
    with psycopg.connect(url) as pc:
        cur = pc.cursor()
        saved: dict[str, list[tuple[str, str]]] = {}
        for table in ("observations", "hourly"):
            saved[table] = cur.execute(
                "SELECT conname, pg_get_constraintdef(oid), contype FROM pg_constraint WHERE conrelid = %s::regclass "
                "ORDER BY contype DESC", (table,)).fetchall()  # p before f
            for name, _, _ in saved[table]:
                cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            cur.execute(f"TRUNCATE {table}")
        t = time.perf_counter()
        rows = 0
        with cur.copy("COPY observations (series_id, ts, value, quality, source_id) FROM STDIN "
                      "(FORMAT BINARY, FREEZE)") as copy:
            copy.write(b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big"))
            for data, n in readings(layout, first_ts, steps, last_ts, seed):
                copy.write(data)
                rows += n
            copy.write((-1).to_bytes(2, "big", signed=True))
        took["copy"] = time.perf_counter() - t
        took["rows"] = rows
        log(f"COPY {rows:,} readings: {took['copy']:.1f} s ({rows / took['copy']:,.0f} rows/s)")
        t = time.perf_counter()
        cur.execute("SET LOCAL work_mem = '8GB'")
        cur.execute(HOURLY_SQL)
        took["hourly"] = time.perf_counter() - t
        log(f"hourly roll-ups (INSERT … SELECT … GROUP BY): {cur.rowcount:,} rows, {took['hourly']:.1f} s")
        t = time.perf_counter()
        for table in ("observations", "hourly"):
            for name, definition, kind in saved[table]:
                suffix = " NOT VALID" if kind == "f" else ""
                cur.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}{suffix}')
        pc.commit()
        took["keys"] = time.perf_counter() - t
        log(f"primary keys (+ foreign keys NOT VALID): {took['keys']:.1f} s")
    with psycopg.connect(url, autocommit=True) as pc:
        t = time.perf_counter()
        pc.execute("VACUUM ANALYZE observations")
        pc.execute("VACUUM ANALYZE hourly")
        pc.execute("ANALYZE")
        took["vacuum"] = time.perf_counter() - t
        log(f"VACUUM ANALYZE: {took['vacuum']:.1f} s")
    return took


def sizes(url: str) -> list[tuple[str, int, int, int]]:
    with psycopg.connect(url) as pc:
        return pc.execute(
            "SELECT c.relname, c.reltuples::bigint, pg_relation_size(c.oid), pg_indexes_size(c.oid) "
            "FROM pg_class c WHERE c.relname IN ('observations', 'hourly', 'series', 'entities') ORDER BY 3 DESC"
        ).fetchall()


# --------------------------------------------------------------------------- naive: from raw readings


def naive_current_aqi(engine: Engine, now: datetime) -> list[StationAQI]:
    """current_station_aqi with the hourly means taken from raw readings (GROUP BY hour) instead of ``hourly``."""
    this_hour = int(now.timestamp()) // HOUR * HOUR
    start = this_hour - int((CURRENT_WITHIN + NOWCAST_LEAD).total_seconds())
    query = text("""
        SELECT e.code, s.metric, o.ts / 3600 * 3600 AS hour_ts, AVG(o.value) AS value
        FROM entities e JOIN series s ON s.entity_id = e.id JOIN observations o ON o.series_id = s.id
        WHERE e.kind = 'station' AND e.subtype = 'air' AND s.metric = ANY(:metrics)
          AND o.ts >= :start AND o.ts < :end AND o.quality = 0
        GROUP BY e.code, s.metric, o.ts / 3600 * 3600""")
    with engine.connect() as conn:
        rows = conn.execute(query, {"metrics": list(AQI_METRICS), "start": start, "end": this_hour + HOUR}).all()
        # The same AQI from the means as ours: only where the means come from differs.
        return station_aqi_of_means(conn, [tuple(r) for r in rows], this_hour)


RAW_HOURS = """
SELECT o.series_id, o.ts / 3600 * 3600 AS hour_ts, COUNT(*) AS n_valid, AVG(o.value) AS mean,
       MIN(o.value) AS min, MAX(o.value) AS max
FROM series s JOIN observations o ON o.series_id = s.id
WHERE s.id = ANY(:ids) AND o.ts >= :start AND o.ts < :end AND o.quality = 0 AND o.value IS NOT NULL
GROUP BY o.series_id, o.ts / 3600 * 3600
"""


def naive_exceedances(engine: Engine, limits: Any, start: datetime, end: datetime, tz: ZoneInfo) -> list[Exceedance]:
    """queries.exceedances.exceedances (both types, all provinces) with the hourly rows from raw readings."""
    types = list(TYPES)
    checks = limits.checks
    start_ts, end_ts = start.timestamp(), end.timestamp()
    day_start = datetime.combine(start.astimezone(tz).date(), dtime(0), tz).timestamp()
    fetch_from = int(min(start_ts - 8 * HOUR, day_start)) // HOUR * HOUR - (checks.flat_line_hours - 1) * HOUR
    conditions = [entities.c.kind == "station", entities.c.subtype.in_([STATION_TYPES[t] for t in types])]
    with engine.connect() as conn:
        stations = {r.id: r for r in conn.execute(
            select(entities.c.id, entities.c.code, entities.c.name, entities.c.subtype, entities.c.province_code,
                   entities.c.meta).where(*conditions))}
        metrics = limits.ambient_metrics() | limits.wastewater_metrics() | _permit_metrics(stations.values())
        series_rows = conn.execute(
            select(series.c.id, series.c.entity_id, series.c.metric, series.c.unit)
            .join(entities, entities.c.id == series.c.entity_id)
            .where(*conditions, series.c.metric.in_(sorted(metrics)))).all()
        rows = conn.execute(text(RAW_HOURS), {"ids": [r.id for r in series_rows], "start": fetch_from,
                                              "end": int(np.ceil(end_ts))}).all()
    frame = pd.DataFrame(rows, columns=["series_id", "hour_ts", "n_valid", "mean", "min", "max"])
    if frame.empty:
        return []
    return judge_hours(frame, series_rows, stations, limits, tz, fetch_from, start_ts, end_ts)


def sites(found: list[Exceedance], engine: Engine):  # noqa: ANN201 - what _exceedances_by_site returns
    facilities = sorted({e.facility_code for e in found if e.facility_code})
    return by_site(found, entity_names(engine, facilities))


def naive_station_health(engine: Engine, day, tz: ZoneInfo, province: str | None, now: datetime) -> list[StationDay]:  # noqa: ANN001
    """station_health with today's received/valid/hours counted on raw readings."""
    start_ts = int(datetime.combine(day, dtime(0), tz).timestamp())
    end_ts = int(datetime.combine(day + timedelta(days=1), dtime(0), tz).timestamp())
    elapsed = max(0, min(end_ts - start_ts, int(now.timestamp()) - start_ts))
    where = "e.kind = 'station'" + (" AND e.province_code = :province" if province else "")
    with engine.connect() as conn:
        stations = conn.execute(text(f"SELECT e.id, e.code, e.name, e.subtype, e.province_code, e.meta FROM entities e "
                                     f"WHERE {where} ORDER BY e.code"), {"province": province}).all()
        series_count = dict(conn.execute(text(
            f"SELECT s.entity_id, COUNT(*) FROM series s JOIN entities e ON e.id = s.entity_id WHERE {where} "
            "GROUP BY s.entity_id"), {"province": province}).all())
        totals = {r.entity_id: r for r in conn.execute(text(f"""
            SELECT s.entity_id, COUNT(*) AS received, COUNT(*) FILTER (WHERE o.quality = 0) AS valid,
                   COUNT(DISTINCT o.ts / 3600) AS hours,
                   COUNT(DISTINCT CASE WHEN o.quality <> 0 THEN o.ts / 3600 END) AS bad_hours
            FROM entities e JOIN series s ON s.entity_id = e.id
            JOIN observations o ON o.series_id = s.id AND o.ts >= :start AND o.ts < :end
            WHERE {where} GROUP BY s.entity_id"""), {"province": province, "start": start_ts, "end": end_ts})}
    result = []
    for s in stations:
        meta = s.meta or {}
        interval = int(meta.get("interval_seconds") or DEFAULT_INTERVAL)
        declared = meta.get("parameters")
        parameters = len(declared) if isinstance(declared, list) and declared else series_count.get(s.id, 0)
        expected = (elapsed // interval) * parameters
        t = totals.get(s.id)
        received, valid = (int(t.received or 0), int(t.valid or 0)) if t else (0, 0)
        result.append(StationDay(
            code=s.code, name=s.name, type=TYPE_NAMES.get(s.subtype, s.subtype or ""), province_code=s.province_code,
            day=day, interval_seconds=interval, parameters=parameters, received=received, valid=valid,
            expected=expected, completeness=_ratio(received, expected), valid_completeness=_ratio(valid, expected),
            hours_with_data=int(t.hours) if t else 0, hours_calibration_or_fault=int(t.bad_hours or 0) if t else 0))
    return result


def naive_means(conn, start_ts: int, end_ts: int, *, province: str | None = None,  # noqa: ANN001
                station_id: int | None = None) -> dict[str, list[tuple[str, float, int]]]:
    """water_quality._means from raw readings: the mean of the hourly means of valid readings."""
    assert province is None and station_id is None
    out: dict[str, list[tuple[str, float, int]]] = {}
    for row in conn.execute(text("""
            SELECT code, metric, AVG(m) AS mean, COUNT(*) AS hours FROM (
                SELECT e.code, s.metric, o.ts / 3600, AVG(o.value) AS m
                FROM entities e JOIN series s ON s.entity_id = e.id JOIN observations o ON o.series_id = s.id
                WHERE e.kind = 'station' AND e.subtype = 'surface_water' AND o.ts >= :start AND o.ts < :end
                  AND o.quality = 0 AND o.value IS NOT NULL
                GROUP BY e.code, s.metric, o.ts / 3600) h
            GROUP BY code, metric"""), {"start": start_ts, "end": end_ts}):
        out.setdefault(row.code, []).append((row.metric, float(row.mean), int(row.hours)))
    return out


def naive_wqi(engine: Engine, now: datetime):  # noqa: ANN201
    with mock.patch.object(water_quality, "_means", naive_means):
        return water_quality.current_station_wqi(engine, now)


def naive_newest(engine: Engine, subtypes: tuple[str, ...], now: datetime) -> datetime | None:
    since = int((now - timedelta(hours=48)).timestamp()) // HOUR * HOUR
    with engine.connect() as conn:
        ts = conn.execute(text("""
            SELECT MAX(o.ts) FROM entities e JOIN series s ON s.entity_id = e.id JOIN observations o ON o.series_id = s.id
            WHERE e.kind = 'station' AND e.subtype = ANY(:subtypes) AND o.ts >= :since"""),
            {"subtypes": list(subtypes), "since": since}).scalar()
    return None if ts is None else datetime.fromtimestamp(ts, timezone.utc)


# --------------------------------------------------------------------------- measuring


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18] if len(values) > 1 else values[0]


def measure(cases: list[tuple[str, Callable[[], Any], Callable[[], Any] | None, Callable[[Any, Any], str]]],
            repeat: int) -> list[dict[str, Any]]:
    out = []
    for name, ours, naive, check in cases:
        first = ours()
        base = naive() if naive else None
        agreement = check(first, base) if naive else "—"
        t_ours, t_naive = [], []
        for _ in range(repeat):
            t = time.perf_counter()
            ours()
            t_ours.append((time.perf_counter() - t) * 1000)
            if naive:
                t = time.perf_counter()
                naive()
                t_naive.append((time.perf_counter() - t) * 1000)
        row = {"query": name, "ours50": statistics.median(t_ours), "ours95": p95(t_ours),
               "naive50": statistics.median(t_naive) if naive else None, "naive95": p95(t_naive) if naive else None,
               "agree": agreement}
        out.append(row)
        log(f"{name}: ours {row['ours50']:.1f}/{row['ours95']:.1f} ms"
            + (f", naive {row['naive50']:.1f}/{row['naive95']:.1f} ms" if naive else "") + f" ({agreement})")
    return out


def same(key: Callable[[Any], Any]) -> Callable[[Any, Any], str]:
    def check(a: Any, b: Any) -> str:
        ka, kb = [key(x) for x in a], [key(x) for x in b]
        if ka == kb:
            return f"same {len(ka)} rows"
        diff = len(set(ka) ^ set(kb))
        return f"DIFFER: {len(ka)} vs {len(kb)} rows, {diff} differ"
    return check


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--stations", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--seed", type=int, default=9)
    ap.add_argument("--keep", action="store_true", help="leave the PostgreSQL server running (prints its URL)")
    args = ap.parse_args()
    began = time.perf_counter()
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    last = now - timedelta(minutes=now.minute % 5 + 5)  # the newest 5-minute mark stored
    steps = args.days * 86400 // STEP
    last_ts = int(last.timestamp())
    first_ts = last_ts - (steps - 1) * STEP

    server = PostgresServer().start()
    try:
        with psycopg.connect(server.url(), autocommit=True) as pc:
            for key, value in SERVER_SETTINGS.items():
                pc.execute(f"ALTER SYSTEM SET {key} = '{value}'")
        server.stop()
        server.start()
        url = server.create_database("national")
        engine = make_engine(url)
        with psycopg.connect(url) as pc:
            version = pc.execute("SHOW server_version").fetchone()[0]
        log(f"PostgreSQL {version} at {url}; now = {now:%Y-%m-%d %H:%M} UTC, {args.days} days, "
            f"{args.stations} stations")
        t = time.perf_counter()
        layout = register(engine, args.stations, now, last, args.seed)
        log(f"registered {layout['entities']} entities ({layout['stations']}), {layout['series']} series: "
            f"{time.perf_counter() - t:.1f} s")
        took = load(url, layout, first_ts, steps, last_ts, args.seed)
        build = time.perf_counter() - began
        log(f"store built in {build:.0f} s")
        for name, rows, heap, index in sizes(url):
            print(f"  {name:13s} {rows:>12,} rows  table {heap / 2**30:6.2f} GiB  indexes {index / 2**30:6.2f} GiB")

        limits = load_limits(ROOT / "config" / "limits.yaml")
        catalogue = load_catalogue(ROOT / "config" / "kpis.yaml")
        today = now.astimezone(VN).date()
        province = "HNI"
        subtypes = ("air", "emission", "wastewater")
        cases = [
            ("current_station_aqi", lambda: current_station_aqi(engine, now), lambda: naive_current_aqi(engine, now),
             same(lambda s: (s.code, s.hour, s.aqi, s.dominant))),
            ("exceedances 24 h + by_site",
             lambda: sites(exceedances(engine, limits, now - timedelta(hours=24), now, tz=VN), engine),
             lambda: sites(naive_exceedances(engine, limits, now - timedelta(hours=24), now, VN), engine),
             same(lambda s: (s.code, s.count, s.metrics, round(s.worst_ratio, 3)))),
            ("completeness_by_province", lambda: completeness_by_province(engine, today, VN, now=now),
             lambda: completeness_by_province(engine, today, VN, now=now,
                                              stations=naive_station_health(engine, today, VN, None, now)),
             same(lambda p: p)),
            (f"station_health ({province})", lambda: station_health(engine, today, VN, province=province, now=now),
             lambda: naive_station_health(engine, today, VN, province, now), same(lambda s: s)),
            ("current_station_wqi", lambda: water_quality.current_station_wqi(engine, now),
             lambda: naive_wqi(engine, now), same(lambda s: (s.code, s.wqi, s.band))),
            ("newest_reading", lambda: newest_reading(engine, subtypes, now),
             lambda: naive_newest(engine, subtypes, now), lambda a, b: "same" if a == b else f"DIFFER {a} {b}"),
            ("compute_kpis (no station KPIs)", lambda: compute_kpis(engine, catalogue, now, VN), None, None),
            ("entity_counts", lambda: entity_counts(engine), None, None),
            ("system_health", lambda: system_health(engine, now, timedelta(seconds=120), 3.0), None, None),
            ("list_alerts + counts", lambda: (list_alerts(engine, state="open", limit=50), counts_by_severity(engine)),
             None, None),
        ]
        t = time.perf_counter()
        runs = [("shipped schema and engine (BRIN on hourly.hour_ts, jit off)", measure(cases, args.repeat))]
        log(f"measured in {time.perf_counter() - t:.0f} s")
        print()
        print(f"{took['rows']:,} readings, {layout['series']:,} series, {args.days} days; build: COPY {took['copy']:.0f} s, "
              f"hourly {took['hourly']:.0f} s, keys {took['keys']:.0f} s, vacuum {took['vacuum']:.0f} s; "
              f"nproc {os.cpu_count()}, load {' '.join(f'{x:.2f}' for x in os.getloadavg())}, "
              f"Python {platform.python_version()}, PostgreSQL {version}; median/p95 of {args.repeat}")
        for title, results in runs:
            print(f"\n{title}:\n")
            print("| query | ours p50 | ours p95 | naive p50 | naive p95 | ratio | < 50 ms | ≥ 20× | results |")
            print("|---|---:|---:|---:|---:|---:|---|---|---|")
            for r in results:
                fast = "met" if r["ours95"] < 50 else "missed"
                if r["naive50"] is None:
                    print(f"| {r['query']} | {r['ours50']:.1f} ms | {r['ours95']:.1f} ms | — | — | — | {fast} | n/a | — |")
                    continue
                ratio = r["naive50"] / r["ours50"]
                print(f"| {r['query']} | {r['ours50']:.1f} ms | {r['ours95']:.1f} ms | {r['naive50']:,.1f} ms | "
                      f"{r['naive95']:,.1f} ms | {ratio:.1f}× | {fast} | {'met' if ratio >= 20 else 'missed'} | "
                      f"{r['agree']} |")
        print(f"\ntotal {time.perf_counter() - began:.0f} s")
    finally:
        if args.keep:
            print(f"server kept: {server.url('national')} (data in {server.dir}); stop with "
                  f"runuser -u postgres -- pg_ctl -D {server.data} stop")
        else:
            server.destroy()


if __name__ == "__main__":
    main()
