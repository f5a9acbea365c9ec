#!/usr/bin/env python
"""Alert evaluation benchmark: every shipped rule over 20,000 series after an ingest, vs a naive loop.

Run by hand::

    .venv/bin/python bench/alerts.py [--stations 2500] [--hours 4] [--repeat 3] [--steady 3]
                                     [--postgres] [--profile PATH] [--seed 6]

The store: migrated, in a temporary folder (SQLite; with ``--postgres`` also a throw-away
PostgreSQL from :class:`tests.servers.PostgresServer`), filled through
:func:`ingest.store_batch` as polls would (so the hourly roll-ups are maintained as in
production) with ``--stations`` monitoring stations × 8 metrics, a reading every
5 minutes for ``--hours`` hours ending just before ``now``, the last 5 minutes stored as
a batch of its own (the ingest after which the evaluation runs):

* ~48 % air stations (PM2.5, PM10, NO2, SO2, CO, O3, TEMP, RH), ~24 % surface water
  (DO, pH, Temp, COD, BOD5, TSS, NH4+, EC), ~28 % wastewater outfalls (COD, pH, BOD5,
  TSS, NH4+, Temp, Flow, Colour), two per facility, with the facility's permit in their
  meta (QCVN 40:2011 column, Kq, Kf, limits) as the demo catalogue has them;
* breaches: PM2.5 episodes (3 h over QCVN 05's 24-h limit, or only the last hour:
  holding), sudden PM2.5 rises (+100 in the last 30 min), DO drops below 2 mg/L (for
  90 or 30 min), wastewater COD over the permit, pH below or above it; stations gone
  silent 30–150 min ago, and a few that never sent anything; ~1 % of readings flagged
  suspect and a few implausible (negative) values;
* sources: eight, one failing (4 failed polls), one failing once (holding), one stale;
* beside the 20,000 series: 70 GNSS stations (``up``, 20 of them down: KPI GNSS-01 red)
  and 5 CAP warnings in force (3 Severe or Extreme), so every shipped rule kind of
  ``config/alerts.yaml`` has subjects.

Measured, with the shipped rules (:func:`alerts.rules.load_rules` on
``config/alerts.yaml``, :func:`limits.load_limits` on ``config/limits.yaml``):

* ``ours``: :func:`alerts.evaluate.evaluate` — *first* (on a fresh copy of the store and a
  new engine: it opens the alerts), *warm first* (the same on another fresh copy, after one
  read-only pass of the side's condition reads: statements compiled and pages cached, as in
  a scheduler that has evaluated before) and *steady* (again at the same ``now``, same
  state: nothing to write);
* ``naive``: for each rule and each station it selects, one query for the station's
  series, one query for that series' readings (raw readings, or the hourly roll-up for
  ``statistic: hourly_mean``; for ``station_offline`` one query per series of the
  station for its newest valid reading), one query per source; judged with the same
  functions (:func:`alerts.evaluate.judge_threshold`, :func:`judge_change`, the same
  limits, plausibility and grouping by scope); ``kpi_status`` and ``cap_warning`` (no
  per-series reads: KPIs of the catalogue, warnings in force) go through the shipped
  evaluators on both sides. Then the same :func:`alerts.lifecycle.apply`, on its own copy.

Both must find the same conditions (rule, subject, status, value, threshold; checked),
the breaches are counted. Target: ours under 1 s and ≥ 20× the naive loop.
"""
from __future__ import annotations

import argparse
import cProfile
import os
import platform
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# Run as a script, this folder comes first on sys.path and this file would shadow the app's alerts package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))

from zoneinfo import ZoneInfo  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sqlalchemy import Connection, Engine, func, select, update  # noqa: E402

from alerts.evaluate import (  # noqa: E402
    _EVALUATORS,
    HOUR,
    _by_scope,
    _Context,
    _threshold_of,
    _Verdict,
    change_verdict,
    current_conditions,
    evaluate,
    judge_change,
    judge_threshold,
    offline_text,
    threshold_text,
)
from alerts.lifecycle import apply  # noqa: E402
from alerts.model import BREACH, CLEAR, HOLDING, LANGUAGES, Condition  # noqa: E402
from alerts.rules import (  # noqa: E402
    RateOfChangeRule,
    RuleSet,
    SourceFailingRule,
    StationOfflineRule,
    ThresholdRule,
    load_rules,
)
from data_sources.base import Batch, Entity  # noqa: E402
from i18n import format_age  # noqa: E402
from ingest import store_batch  # noqa: E402
from limits import Limits, load_limits  # noqa: E402
from queries.sources import classify  # noqa: E402
from queries.stations import LATEST_LOOKBACK  # noqa: E402
from reference.provinces import province_codes  # noqa: E402
from store.engine import make_engine  # noqa: E402
from store.migrate import upgrade  # noqa: E402
from store.schema import QUALITY_VALID, alerts, hourly, observations, series, sources  # noqa: E402

VN = ZoneInfo("Asia/Ho_Chi_Minh")
LAST = datetime(2026, 11, 22, 3, 0, tzinfo=timezone.utc)  # newest reading: 10:00 in Hà Nội
NOW = LAST + timedelta(seconds=90)  # the evaluation after the poll that brought it
STEP = 300
INTERVAL = 300

AIR = [("PM2.5", "µg/m³"), ("PM10", "µg/m³"), ("NO2", "µg/m³"), ("SO2", "µg/m³"),
       ("CO", "µg/m³"), ("O3", "µg/m³"), ("TEMP", "°C"), ("RH", "%")]
WATER = [("DO", "mg/L"), ("pH", ""), ("Temp", "°C"), ("COD", "mg/L"), ("BOD5", "mg/L"), ("TSS", "mg/L"),
         ("NH4+", "mg/L"), ("EC", "µS/cm")]
WASTE = [("COD", "mg/L"), ("pH", ""), ("BOD5", "mg/L"), ("TSS", "mg/L"), ("NH4+", "mg/L"), ("Temp", "°C"),
         ("Flow", "m³/h"), ("Colour", "Pt-Co")]
# median of each metric (a station's level is lognormal around it); pH and DO are normal
MEDIAN = {"PM2.5": 22.0, "PM10": 45.0, "NO2": 30.0, "SO2": 12.0, "CO": 900.0, "O3": 60.0, "TEMP": 27.0, "RH": 75.0,
          "DO": 6.5, "pH": 7.2, "Temp": 27.0, "COD": 20.0, "BOD5": 8.0, "TSS": 25.0, "NH4+": 0.5, "EC": 300.0,
          "Flow": 120.0, "Colour": 40.0}
QCVN40 = {"COD": (75, 150), "BOD5": (30, 50), "TSS": (50, 100), "NH4+": (5, 10), "Temp": (40, 40),
          "Colour": (50, 150)}
SOURCES = [  # name, interval, state
    ("air-stations", 300, "ok"), ("water-stations", 300, "ok"), ("wastewater-stations", 300, "ok"),
    ("vngeonet", 300, "ok"), ("nchmf-warnings", 300, "ok"), ("land-records", 3600, "failing"),
    ("weather-api", 600, "failed_once"), ("reporting", 3600, "stale"),
]


# --------------------------------------------------------------------------- the store


def build_store(engine: Engine, stations: int, hours: int, seed: int) -> dict[str, Any]:
    """Register sources and entities, store the readings poll by poll; return what was built."""
    rng = np.random.default_rng(seed)
    upgrade(engine)
    provinces = province_codes()
    with engine.begin() as conn:
        for name, interval, _ in SOURCES:
            conn.execute(sources.insert().values(name=name, kind="files", schedule=f"every {interval}s",
                                                 interval_seconds=interval, enabled=True, consecutive_failures=0))
        source_ids = dict(conn.execute(select(sources.c.name, sources.c.id)).all())

    n_air = round(stations * 0.48)
    n_water = round(stations * 0.24)
    n_waste = stations - n_air - n_water
    n_waste -= n_waste % 2  # two outfalls per facility
    n_air = stations - n_water - n_waste
    kinds = [("air", AIR, n_air, "AIR"), ("surface_water", WATER, n_water, "SW"), ("wastewater", WASTE, n_waste, "WW")]
    facilities: list[Entity] = []
    station_entities: dict[str, list[Entity]] = {}
    for subtype, _, n, tag in kinds:
        items = []
        for i in range(n):
            prov = provinces[i % len(provinces)]
            code = f"{prov}-{tag}-{i:04d}"
            meta: dict[str, Any] = {"interval_seconds": INTERVAL}
            if subtype == "wastewater":
                fac = f"{prov}-FAC-{i // 2:04d}"
                if i % 2 == 0:
                    column = "A" if rng.random() < 0.3 else "B"
                    kq = float(rng.choice([0.9, 1.0, 1.1, 1.2]))
                    kf = float(rng.choice([0.9, 1.0, 1.1]))
                    limits = {k: round((a if column == "A" else b) * (1 if k in ("Temp", "Colour") else kq * kf), 2)
                              for k, (a, b) in QCVN40.items()}
                    limits["pH_min"], limits["pH_max"] = (6.0, 9.0) if column == "A" else (5.5, 9.0)
                    permit = {"column": column, "kq": kq, "kf": kf, "regulation": "QCVN 40:2011/BTNMT",
                              "limits": limits, "permit": f"{100 + i}/GPMT-UBND"}
                    facilities.append(Entity(fac, "facility", f"Nhà máy {fac}", subtype="wastewater",
                                             province_code=prov, meta=permit))
                meta.update({"facility": fac, "outfall": i % 2 + 1, **{k: v for k, v in facilities[-1].meta.items()}})
            items.append(Entity(code, "station", f"Trạm {code}", subtype=subtype, province_code=prov, meta=meta))
        station_entities[subtype] = items
    gnss = [Entity(f"GNSS-{i:03d}", "gnss_station", f"Trạm định vị {i:03d}", province_code=provinces[i % len(provinces)])
            for i in range(70)]
    sent = NOW - timedelta(hours=2)
    cap = []
    for i, (severity, provs) in enumerate([("Extreme", ["QNH"]), ("Severe", ["HPG", "THA"]), ("Severe", ["DNG"]),
                                           ("Moderate", ["HNI"]), ("Minor", ["CTO"])]):
        areas = [{"areaDesc": f"Vùng {p}", "province_code": p} for p in provs]
        cap.append(Entity(f"CAP-{i}", "cap_warning", f"Cảnh báo {severity} {i}", province_code=provs[0], meta={
            "event": "Mưa lớn", "severity": severity, "urgency": "Expected", "certainty": "Likely",
            "msgType": "Alert", "sender": "nchmf", "identifier": f"W{i}", "sent": sent.isoformat(),
            "expires": (NOW + timedelta(hours=12)).isoformat(), "areas": areas}))
    with engine.begin() as conn:
        store_batch(conn, None, Batch(entities=[*facilities, *[e for v in station_entities.values() for e in v],
                                                *gnss, *cap]), now=NOW)

    # Readings: stations × metrics × steps per kind, in numpy.
    steps = hours * 3600 // STEP
    ts = int(LAST.timestamp()) - STEP * np.arange(steps - 1, -1, -1, dtype=np.int64)  # oldest first
    age = int(NOW.timestamp()) - ts  # seconds before now
    frames: list[pd.DataFrame] = []
    silent_codes: list[str] = []
    counts = {"stations": 0, "series": 0, "readings": 0, "suspect": 0}
    for subtype, metrics, n, _ in kinds:
        ents = station_entities[subtype]
        values = np.empty((n, len(metrics), steps))
        for m, (metric, _) in enumerate(metrics):
            med = MEDIAN[metric]
            if metric in ("pH", "DO", "TEMP", "Temp", "RH"):
                level = rng.normal(med, 0.06 * med if metric != "DO" else 0.8, size=(n, 1))
                values[:, m] = level + rng.normal(0, 0.01 * med, size=(n, steps))
            else:
                level = med * rng.lognormal(0, 0.35, size=(n, 1))
                values[:, m] = level * rng.lognormal(0, 0.08, size=(n, steps))
        idx = {metric: m for m, (metric, _) in enumerate(metrics)}
        pick = rng.random(n)
        if subtype == "air":
            pm = idx["PM2.5"]
            values[pick < 0.04, pm] += 40 * (age <= 3 * 3600 + 90)  # 3 h episode: breach
            values[(pick >= 0.04) & (pick < 0.06), pm] += 40 * (age <= 3600 + 90)  # last hour only: holding
            values[(pick >= 0.06) & (pick < 0.08), pm] += 100 * (age <= 1800 + 90)  # sudden rise
        elif subtype == "surface_water":
            do = idx["DO"]
            values[pick < 0.04, do] = np.where(age <= 5400 + 90, 1.5, values[pick < 0.04, do])
            mid = (pick >= 0.04) & (pick < 0.06)
            values[mid, do] = np.where(age <= 1800 + 90, 1.5, values[mid, do])
        else:
            cod, ph = idx["COD"], idx["pH"]
            lim = np.array([e.meta["limits"]["COD"] for e in ents])
            values[:, cod] = (0.5 * lim)[:, None] * rng.lognormal(0, 0.08, size=(n, steps))
            over = pick < 0.04
            values[over, cod] = np.where(age <= 3600 + 90, (1.3 * lim[over])[:, None], values[over, cod])
            low = (pick >= 0.04) & (pick < 0.06)
            values[low, ph] = np.where(age <= 2700 + 90, 4.5, values[low, ph])
            high = (pick >= 0.06) & (pick < 0.08)
            values[high, ph] = np.where(age <= 2700 + 90, 10.0, values[high, ph])
        values = np.round(values, 2)
        present = np.ones((n, len(metrics), steps), dtype=bool)
        quiet = rng.random(n)
        stop_age = rng.integers(1800 // STEP, 9000 // STEP, size=n) * STEP
        for s in np.flatnonzero(quiet < 0.03):  # silent since 30–150 min
            present[s, :, age < stop_age[s]] = False
        for s in np.flatnonzero(quiet > 0.995):  # never sent anything
            present[s] = False
            silent_codes.append(ents[s].code)
        quality = np.where(rng.random(values.shape) < 0.01, 3, 0)
        implausible = rng.random(values.shape) < 0.001
        values = np.where(implausible, -values, values)
        s_i, m_i, t_i = np.nonzero(present)
        codes = np.array([e.code for e in ents], dtype=object)
        frames.append(pd.DataFrame({
            "entity": codes[s_i], "metric": np.array([m for m, _ in metrics], dtype=object)[m_i], "ts": ts[t_i],
            "value": values[s_i, m_i, t_i], "unit": np.array([u for _, u in metrics], dtype=object)[m_i],
            "quality": quality[s_i, m_i, t_i], "source": subtype,
        }))
        counts["stations"] += n
        counts["series"] += n * len(metrics)
        counts["suspect"] += int((quality[s_i, m_i, t_i] != 0).sum())
    down = rng.choice(70, size=20, replace=False)
    g_up = np.ones((70, steps))
    g_up[down] = 0
    g_s, g_t = np.nonzero(np.ones((70, steps), dtype=bool))
    frames.append(pd.DataFrame({"entity": np.array([e.code for e in gnss], dtype=object)[g_s], "metric": "up",
                                "ts": ts[g_t], "value": g_up[g_s, g_t], "unit": "", "quality": 0, "source": "gnss"}))
    cap_rows = [(e.code, metric, int(sent.timestamp()), v)
                for e, level in zip(cap, (4, 3, 3, 2, 1)) for metric, v in (("active", 1.0), ("level", float(level)))]
    frames.append(pd.DataFrame({"entity": [r[0] for r in cap_rows], "metric": [r[1] for r in cap_rows],
                                "ts": [r[2] for r in cap_rows], "value": [r[3] for r in cap_rows], "unit": "",
                                "quality": 0, "source": "cap"}))
    readings = pd.concat(frames, ignore_index=True)
    source_of = {"air": source_ids["air-stations"], "surface_water": source_ids["water-stations"],
                 "wastewater": source_ids["wastewater-stations"], "gnss": source_ids["vngeonet"],
                 "cap": source_ids["nchmf-warnings"]}
    # Poll by poll: hourly batches for the history, then the newest 5 minutes alone.
    bounds = sorted(set(range(int(ts[0]) // HOUR * HOUR, int(LAST.timestamp()), HOUR)) | {int(LAST.timestamp())})
    bounds = [b for b in bounds if b > ts[0]] + [int(LAST.timestamp()) + 1]
    lo = -1
    for hi in bounds:
        chunk = readings[(readings.ts > lo) & (readings.ts < hi)]
        lo = hi - 1
        for name, part in chunk.groupby("source"):
            with engine.begin() as conn:
                result = store_batch(conn, source_of[name], Batch(readings=part.drop(columns="source")),
                                     now=datetime.fromtimestamp(int(part.ts.max()), timezone.utc))
            counts["readings"] += result.accepted
    # The sources' states after their last polls.
    with engine.begin() as conn:
        for name, interval, state in SOURCES:
            row: dict[str, Any] = {"last_run_at": NOW - timedelta(seconds=60), "last_status": "success",
                                   "last_success_at": NOW - timedelta(seconds=60), "consecutive_failures": 0,
                                   "last_observation_at": LAST}
            if state == "failing":
                row.update(last_status="failed", last_success_at=NOW - timedelta(hours=5), consecutive_failures=4,
                           last_error="ConnectionError: connection refused", last_error_at=row["last_run_at"])
            elif state == "failed_once":
                row.update(last_status="failed", last_success_at=NOW - timedelta(seconds=60 + interval),
                           consecutive_failures=1, last_error="Timeout after 60 s", last_error_at=row["last_run_at"])
            elif state == "stale":
                row.update(last_run_at=NOW - timedelta(hours=4), last_success_at=NOW - timedelta(hours=4))
            conn.execute(update(sources).where(sources.c.name == name).values(**row))
    counts.update(silent=len(silent_codes), gnss=len(gnss), cap=len(cap))
    return counts


# --------------------------------------------------------------------------- the naive evaluator


def naive_conditions(engine: Engine, rules: RuleSet, now: datetime, limits: Limits,
                     tz: ZoneInfo = VN) -> tuple[list[Condition], list[str]]:
    """Per rule, per station, per series: one query each; judged with the app's own functions."""
    ctx = _Context(engine, rules, now, limits, tz)  # the station registry, limits, plausibility, names
    found: list[Condition] = []
    with engine.connect() as conn:
        for rule in rules.enabled():
            if isinstance(rule, ThresholdRule):
                found += _naive_threshold(conn, rule, ctx)
            elif isinstance(rule, RateOfChangeRule):
                found += _naive_change(conn, rule, ctx)
            elif isinstance(rule, StationOfflineRule):
                found += _naive_offline(conn, rule, ctx)
            elif isinstance(rule, SourceFailingRule):
                found += _naive_sources(conn, rule, ctx)
            else:  # kpi_status, cap_warning: no per-series reads; the shipped evaluator on both sides
                found += _EVALUATORS[type(rule)](rule, ctx)
    return found, ctx.warnings


def _series_of(conn: Connection, station_id: int, metric: str) -> tuple[int, str] | None:
    row = conn.execute(select(series.c.id, series.c.unit)
                       .where(series.c.entity_id == station_id, series.c.metric == metric)).first()
    return None if row is None else (row.id, row.unit or "")


def _raw(conn: Connection, sid: int, since: int, now_ts: int) -> list[tuple[int, int, float]]:
    rows = conn.execute(
        select(observations.c.ts, observations.c.value)
        .where(observations.c.series_id == sid, observations.c.ts > since, observations.c.ts <= now_ts,
               observations.c.quality == QUALITY_VALID, observations.c.value.is_not(None))
        .order_by(observations.c.ts)).all()
    return [(ts, ts, v) for ts, v in rows]


def _naive_threshold(conn: Connection, rule: ThresholdRule, ctx: _Context) -> list[Condition]:
    verdicts = []
    margin = ctx.rules.defaults.clear_margin
    for station in ctx.stations.values():
        if not rule.selects(station.code, station.subtype, station.facility):
            continue
        found = _series_of(conn, station.id, rule.metric)
        if found is None:
            continue
        sid, unit = found
        limit = _threshold_of(rule, station, unit, ctx)
        if limit is None:
            continue
        threshold, label = limit
        slack = 2 * ctx.fresh(station)
        if rule.statistic == "hourly_mean":
            since = (ctx.now_ts - rule.for_ - HOUR - slack) // HOUR * HOUR
            rows = conn.execute(
                select(hourly.c.hour_ts, hourly.c.mean)
                .where(hourly.c.series_id == sid, hourly.c.hour_ts >= since, hourly.c.hour_ts <= ctx.now_ts - HOUR,
                       hourly.c.n_valid > 0, hourly.c.mean.is_not(None))
                .order_by(hourly.c.hour_ts)).all()
            points = [(h, h + HOUR, m) for h, m in rows]
        else:
            points = _raw(conn, sid, ctx.now_ts - rule.for_ - slack, ctx.now_ts)
        ok = ctx.plausible(station, rule.metric, unit)
        points = [p for p in points if ok(p[2])]
        allowance = ctx.fresh(station) + (HOUR if rule.statistic == "hourly_mean" else 0)
        clear = rule.clear_level(threshold, rule.operator, margin)
        judged = judge_threshold(points, rule.operator, threshold, clear, rule.for_, ctx.now_ts - allowance)
        if judged is None:
            continue
        status, value = judged
        sign = 1 if rule.operator == ">" else -1
        text = threshold_text(rule.metric, value, rule.operator, threshold, unit, label)
        verdicts.append(_Verdict(station, status, value, threshold, sign * (value - threshold) / (abs(threshold) or 1.0),
                                 text))
    return _by_scope(rule, verdicts, ctx)


def _naive_change(conn: Connection, rule: RateOfChangeRule, ctx: _Context) -> list[Condition]:
    verdicts = []
    clear = rule.change_clear_level(ctx.rules.defaults.clear_margin)
    window_text = {lang: format_age(timedelta(seconds=rule.window), lang) for lang in LANGUAGES}
    for station in ctx.stations.values():
        if not rule.selects(station.code, station.subtype, station.facility):
            continue
        found = _series_of(conn, station.id, rule.metric)
        if found is None:
            continue
        sid, unit = found
        ok = ctx.plausible(station, rule.metric, unit)
        points = [p for p in _raw(conn, sid, ctx.now_ts - rule.window - 2 * ctx.fresh(station), ctx.now_ts) if ok(p[2])]
        judged = judge_change(points, rule.window, rule.change, clear, rule.direction, ctx.now_ts - ctx.fresh(station))
        if judged is None:
            continue
        verdicts.append(change_verdict(rule, station, unit, judged, window_text))
    return _by_scope(rule, verdicts, ctx)


def _naive_offline(conn: Connection, rule: StationOfflineRule, ctx: _Context) -> list[Condition]:
    since = int((ctx.now - LATEST_LOOKBACK).timestamp()) // HOUR * HOUR
    verdicts = []
    for station in ctx.stations.values():
        if not rule.selects(station.code, station.subtype, station.facility):
            continue
        newest = None
        for (sid,) in conn.execute(select(series.c.id).where(series.c.entity_id == station.id)).all():
            ts = conn.execute(select(func.max(observations.c.ts)).where(
                observations.c.series_id == sid, observations.c.ts >= since,
                observations.c.quality == QUALITY_VALID)).scalar()
            if ts is not None and (newest is None or ts > newest):
                newest = ts
        interval = station.interval
        limit = timedelta(seconds=interval * rule.after_intervals)
        at = None if newest is None else datetime.fromtimestamp(newest, timezone.utc)
        minutes = None if at is None else (ctx.now - at).total_seconds() / 60
        online = at is not None and ctx.now - at <= limit
        verdicts.append(_Verdict(station, CLEAR if online else BREACH, None if minutes is None else round(minutes, 1),
                                 limit.total_seconds() / 60, float("inf") if minutes is None else minutes,
                                 offline_text(at, interval, rule.after_intervals, ctx.tz)))
    return _by_scope(rule, verdicts, ctx)


def _naive_sources(conn: Connection, rule: SourceFailingRule, ctx: _Context) -> list[Condition]:
    found = []
    for (name,) in conn.execute(select(sources.c.name).order_by(sources.c.name)).all():
        row = conn.execute(select(sources).where(sources.c.name == name)).one()
        status = classify(row, ctx.now, rule.stale_after_intervals)
        if (rule.sources is not None and name not in rule.sources) or status == "pending":
            continue
        if row.consecutive_failures >= rule.failures or (rule.stale and status == "stale"):
            verdict = BREACH
        else:
            verdict = CLEAR if status in ("ok", "disabled") else HOLDING
        found.append(Condition(rule.id, "source", name, name, verdict, float(row.consecutive_failures),
                               float(rule.failures), ""))
    return found


def naive_evaluate(engine: Engine, rules: RuleSet, now: datetime, limits: Limits, tz: ZoneInfo = VN):  # noqa: ANN201
    found, warnings = naive_conditions(engine, rules, now, limits, tz)
    return apply(engine, rules, found, now, warnings)


def summary(conditions: tuple[Condition, ...] | list[Condition]) -> set[tuple]:
    return {(c.key, c.status, None if c.value is None else round(c.value, 6),
             None if c.threshold is None else round(c.threshold, 6)) for c in conditions}


# --------------------------------------------------------------------------- databases


class SQLiteStore:
    name = "sqlite"

    def __init__(self, workdir: Path) -> None:
        self.dir = workdir
        self.template = workdir / "template.db"
        self.n = 0

    def prepare(self, args: argparse.Namespace) -> dict[str, Any]:
        engine = make_engine(f"sqlite:///{self.template}")
        counts = build_store(engine, args.stations, args.hours, args.seed)
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        engine.dispose()
        return counts

    @contextmanager
    def copy(self) -> Iterator[Engine]:
        self.n += 1
        path = self.dir / f"run{self.n}.db"
        shutil.copyfile(self.template, path)
        engine = make_engine(f"sqlite:///{path}")
        with engine.connect() as conn:  # open the file, set the pragmas and warm the page cache before timing
            conn.exec_driver_sql("SELECT count(*) FROM observations").scalar()
        try:
            yield engine
        finally:
            engine.dispose()
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)

    def close(self) -> None:
        pass


class PostgresStore:
    name = "postgresql"

    def __init__(self, workdir: Path) -> None:  # noqa: ARG002
        from tests.servers import PostgresServer

        self.server = PostgresServer().start()
        self.template_url = self.server.create_database("bench_template")
        self.n = 0

    def prepare(self, args: argparse.Namespace) -> dict[str, Any]:
        engine = make_engine(self.template_url)
        counts = build_store(engine, args.stations, args.hours, args.seed)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
            conn.exec_driver_sql("CHECKPOINT")
        engine.dispose()
        return counts

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.server.url(), autocommit=True) as conn:
            conn.execute(sql)

    @contextmanager
    def copy(self) -> Iterator[Engine]:
        self.n += 1
        name = f"bench_run{self.n}"
        self._admin(f'CREATE DATABASE "{name}" TEMPLATE bench_template STRATEGY FILE_COPY')
        engine = make_engine(self.server.url(name))
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT count(*) FROM observations").scalar()
        try:
            yield engine
        finally:
            engine.dispose()
            self._admin(f'DROP DATABASE "{name}"')

    def close(self) -> None:
        self.server.destroy()


# --------------------------------------------------------------------------- measurements


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def run(db, args: argparse.Namespace, rules: RuleSet, limits: Limits) -> dict[str, Any]:  # noqa: ANN001
    started = time.perf_counter()
    counts = db.prepare(args)
    print(f"[{db.name}] store: {counts['stations']:,} stations, {counts['series']:,} series, "
          f"{counts['readings']:,} readings ({counts['suspect']:,} suspect), {counts['silent']} silent stations, "
          f"{counts['gnss']} GNSS stations, {counts['cap']} CAP warnings; built in {time.perf_counter() - started:.1f} s",
          flush=True)
    times: dict[str, list[float]] = {}
    expected: set[tuple] | None = None
    breaches = opened = 0
    for r in range(args.repeat):
        # Ours and naive take turns on fresh copies, so both see the machine in the same mood.
        sides = (("ours", evaluate, current_conditions), ("naive", naive_evaluate, naive_conditions))
        for side, fn, reads in sides if r % 2 == 0 else sides[::-1]:
            with db.copy() as engine:
                load = os.getloadavg()[0]
                seconds, result = timed(lambda: fn(engine, rules, NOW, limits, VN))
                times.setdefault(f"{side} first", []).append(seconds)
                got = summary(result.conditions)
                if expected is None:
                    expected = got
                    breaches = sum(1 for _, status, _, _ in got if status == BREACH)
                    with engine.connect() as conn:
                        opened = conn.execute(select(func.count()).select_from(alerts)
                                              .where(alerts.c.state != "resolved")).scalar_one()
                assert got == expected, (side, sorted(got ^ expected)[:10])
                assert len(result.new_alerts) == opened, (side, len(result.new_alerts), opened)
                steady = []
                for _ in range(args.steady):
                    seconds, again = timed(lambda: fn(engine, rules, NOW, limits, VN))
                    assert summary(again.conditions) == expected and not again.new_alerts and not again.resolved
                    steady.append(seconds)
                times.setdefault(f"{side} steady", []).append(min(steady))
            with db.copy() as engine:
                # As in a scheduler that has evaluated before: the side's reads once (statements
                # compiled, pages cached; read-only), then the evaluation that opens the alerts.
                reads(engine, rules, NOW, limits, VN)
                seconds, result = timed(lambda: fn(engine, rules, NOW, limits, VN))
                assert summary(result.conditions) == expected and len(result.new_alerts) == opened, side
                times.setdefault(f"{side} warm first", []).append(seconds)
                print(f"[{db.name}] run {r + 1} {side}: first {times[f'{side} first'][-1]:.3f} s, warm first "
                      f"{seconds:.3f} s, steady {min(steady):.3f} s (best of {args.steady}; load {load:.2f})", flush=True)
        if r == 0:
            with db.copy() as engine:
                seconds, (found, _) = timed(lambda: current_conditions(engine, rules, NOW, limits, VN))
                print(f"[{db.name}] ours, conditions only (no lifecycle): {seconds:.3f} s", flush=True)
                by_rule: dict[str, list[int]] = {}
                for c in found:
                    by_rule.setdefault(c.rule_id, [0, 0])[0] += 1
                    by_rule[c.rule_id][1] += c.status == BREACH
                for rule_id, (n, b) in by_rule.items():
                    print(f"    {rule_id:<30} {n:>5} subjects judged, {b:>4} breaches")
    if args.profile:
        with db.copy() as engine:
            for which, path in (("first", f"{args.profile}.first"), ("steady", args.profile)):
                profiler = cProfile.Profile()
                profiler.enable()
                evaluate(engine, rules, NOW, limits, VN)
                profiler.disable()
                profiler.dump_stats(path)
                print(f"[{db.name}] {which} evaluation profiled into {path}")
    return {"times": times, "conditions": len(expected or ()), "breaches": breaches, "opened": opened}


def report(name: str, out: dict[str, Any]) -> str:
    times = out["times"]
    lines = [f"{name}: {out['conditions']:,} conditions, {out['breaches']:,} breaches (same in both), "
             f"{out['opened']:,} alerts opened by the first evaluation", "",
             f"| {'evaluation':<10} | {'ours s':>8} | {'naive s':>8} | {'ratio':>7} | {'target: < 1 s and ≥ 20×':<24} |",
             "|------------|---------:|---------:|--------:|--------------------------|"]
    for phase in ("first", "warm first", "steady"):
        ours = statistics.median(times[f"ours {phase}"])
        naive = statistics.median(times[f"naive {phase}"])
        ratio = naive / ours
        verdict = "met" if ours < 1 and ratio >= 20 else \
            "MISSED (" + ", ".join(x for x, bad in (("time", ours >= 1), ("ratio", ratio < 20)) if bad) + ")"
        lines.append(f"| {phase:<10} | {ours:>8.3f} | {naive:>8.3f} | {ratio:>6.1f}× | {verdict:<24} |")
    lines.append("")
    lines.append(f"(median of {len(times['ours first'])} runs; steady = best of the steady repeats of each run)")
    return "\n".join(lines)


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "?")
    return (f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; nproc {os.cpu_count()}, {cpu}; Python "
            f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}; load average "
            f"{Path('/proc/loadavg').read_text().split()[:3]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stations", type=int, default=2500, help="monitoring stations (× 8 metrics = series)")
    parser.add_argument("--hours", type=int, default=4, help="hours of 5-minute readings before now")
    parser.add_argument("--repeat", type=int, default=3, help="first evaluations per side, each on a fresh copy")
    parser.add_argument("--steady", type=int, default=3, help="steady evaluations after each first one")
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--postgres", action="store_true", help="also on a throw-away PostgreSQL")
    parser.add_argument("--profile", help="write a cProfile of one steady evaluation (ours) here, and of a first one to PATH.first")
    args = parser.parse_args()
    limits = load_limits(ROOT / "config" / "limits.yaml")
    rules = load_rules(ROOT / "config" / "alerts.yaml", limits)
    print(machine(), flush=True)
    print(f"rules: {', '.join(f'{r.id} ({r.kind})' for r in rules.enabled())}", flush=True)
    reports = []
    with tempfile.TemporaryDirectory(prefix="bench-alerts-") as tmp:
        kinds = [SQLiteStore] + ([PostgresStore] if args.postgres else [])
        for kind in kinds:
            db = kind(Path(tmp))
            try:
                reports.append(report(db.name, run(db, args, rules, limits)))
            finally:
                db.close()
    print()
    print("\n\n".join(reports))
    print()
    print(machine())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
