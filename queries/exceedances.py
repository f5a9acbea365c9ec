"""Exceedances of dated limits (config/limits.yaml) by air and wastewater stations.

Reads the hourly roll-ups (one query for the stations, one for their hourly rows),
never raw readings, and does the rest in pandas. The rules, after thresholds.md:

- Only valid readings count. A roll-up's mean, min and max are of "measuring"
  (quality 0) readings only, so calibration, fault and suspect readings never cause an
  exceedance however large they are; an hour without valid readings has no mean.
- Plausibility: an hourly mean that is negative, or above the metric's
  ``plausible_max`` in the limits file (in the unit of its limits), is dropped.
- Flat lines: an hour whose valid readings are all one value (min == max) with at
  least ``flat_line_min_readings`` (3) of them, in a run of at least ``flat_line_hours``
  (3) consecutive such hours with that same value, is a stuck sensor: every hour of
  the run is dropped. Hours before the window are read so a run that began earlier is
  recognised; a run still going on at ``end`` is judged on the hours so far.
- Averaging periods match the limit's. 1h limits compare with hourly means; 8h limits
  with the 8-hour rolling mean of hourly means ending at each hour (at least
  ``rolling_8h_min_hours`` = 6 of the 8 present); 24h limits with the mean of the
  valid hourly means of the local day (Asia/Ho_Chi_Minh by default; at least
  ``daily_min_hours`` = 18 of 24). Wastewater hourly means compare with Cmax = C × Kq × Kf
  (or the station's permit), pH with its allowed range.
- A window (hour, 8 hours, local day) is reported when it *ends* in (start, end]: only
  completed windows, never an hour or a day in progress.
- The limit is the one in force on the local day of the window's last hour.
- An exceedance is a value strictly above the limit, or below a lower bound (pH).
  ``ratio`` is value ÷ limit (below 1 for a value under a lower bound).
- Readings whose unit differs from the limit's are converted where the conversion is
  known (mg/m³ ↔ µg/m³, mg/L ↔ µg/L); a series in an unknown unit is skipped and logged.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select

from limits import Limits, unit_factor
from queries.stations import STATION_TYPES, TYPE_NAMES
from store.fetch import driver_rows
from store.rollups import HOUR
from store.schema import entities, hourly, series

log = logging.getLogger(__name__)

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
TYPES = ("air", "wastewater")  # station types that have limits
EPOCH = pd.Timestamp(0, tz="UTC")
_HOUR_ROW = np.dtype([("series_id", "i8"), ("hour_ts", "i8"), ("n_valid", "i8"), ("mean", "f8"), ("min", "f8"),
                      ("max", "f8")])


@dataclass(frozen=True)
class Exceedance:
    station_code: str
    station_name: str
    type: str  # air | wastewater
    facility_code: str | None  # wastewater: the facility the outfall belongs to
    province_code: str | None
    metric: str
    unit: str
    period: str  # 1h | 8h | 24h
    window_start: datetime  # UTC
    window_end: datetime
    value: float  # the averaged concentration
    limit: float  # the bound that was crossed
    ratio: float  # value / limit
    bound: str  # max | min (pH below its range)
    regulation: str
    basis: str  # regulation | permit
    hours: int  # valid hourly means in the window


def exceedances(
    engine: Engine,
    limits: Limits,
    start: datetime,
    end: datetime,
    type_: str | None = None,
    province: str | None = None,
    tz: ZoneInfo = VN_TZ,
) -> list[Exceedance]:
    """Exceedances of windows ending in (start, end], for ``type_`` "air", "wastewater" or both."""
    if type_ is not None and type_ not in TYPES:
        raise ValueError(f"type must be one of {', '.join(TYPES)} or None")
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be timezone-aware")
    if not start < end:
        return []
    types = [type_] if type_ else list(TYPES)
    checks = limits.checks
    start_ts, end_ts = start.timestamp(), end.timestamp()
    day_start = datetime.combine(start.astimezone(tz).date(), time(0), tz).timestamp()
    fetch_from = int(min(start_ts - 8 * HOUR, day_start)) // HOUR * HOUR - (checks.flat_line_hours - 1) * HOUR

    conditions = [entities.c.kind == "station", entities.c.subtype.in_([STATION_TYPES[t] for t in types])]
    if province is not None:
        conditions.append(entities.c.province_code == province)
    with engine.connect() as conn:
        stations = {
            r.id: r for r in conn.execute(
                select(entities.c.id, entities.c.code, entities.c.name, entities.c.subtype, entities.c.province_code,
                       entities.c.meta).where(*conditions))
        }
        if not stations:
            return []
        metrics = set()
        if "air" in types:
            metrics |= limits.ambient_metrics()
        if "wastewater" in types:
            metrics |= limits.wastewater_metrics() | _permit_metrics(stations.values())
        in_scope = [*conditions, series.c.metric.in_(sorted(metrics))]
        series_rows = conn.execute(
            select(series.c.id, series.c.entity_id, series.c.metric, series.c.unit)
            .join(entities, entities.c.id == series.c.entity_id).where(*in_scope)
        ).all()
        if not series_rows:
            return []
        result = driver_rows(conn, (
            select(hourly.c.series_id, hourly.c.hour_ts, hourly.c.n_valid, hourly.c.mean, hourly.c.min, hourly.c.max)
            .join(series, series.c.id == hourly.c.series_id)
            .join(entities, entities.c.id == series.c.entity_id)
            .where(*in_scope, hourly.c.n_valid > 0, hourly.c.mean.is_not(None),
                   hourly.c.hour_ts >= fetch_from, hourly.c.hour_ts < int(np.ceil(end_ts)))
        ))
        # Straight into a numeric array: building a DataFrame from millions of rows is the slow part.
        frame = pd.DataFrame(np.fromiter(result, dtype=_HOUR_ROW))
    if frame.empty:
        return []
    return judge_hours(frame, series_rows, stations, limits, tz, fetch_from, start_ts, end_ts)


def judge_hours(frame: pd.DataFrame, series_rows: Any, stations: dict[int, Any], limits: Limits, tz: ZoneInfo,
                fetch_from: int, start_ts: float, end_ts: float) -> list[Exceedance]:
    """The exceedances in the hourly rows ``frame`` (series_id, hour_ts, n_valid, mean, min, max) of
    ``series_rows`` (id, entity_id, metric, unit) of ``stations`` (entity id → row), oldest first."""
    info = pd.DataFrame(series_rows, columns=["series_id", "entity_id", "metric", "unit"])
    info["type"] = info["entity_id"].map({i: TYPE_NAMES.get(s.subtype, s.subtype) for i, s in stations.items()})
    hours = valid_hours(frame, info, limits)

    found: list[pd.DataFrame] = []
    air = hours[hours["type"] == "air"]
    if len(air):
        found.append(_ambient(air, limits, tz, fetch_from, end_ts, start_ts))
    water = hours[hours["type"] == "wastewater"]
    if len(water):
        found.append(_discharge(water, limits, tz, start_ts, end_ts, stations))
    found = [f for f in found if len(f)]
    if not found:
        return []
    hits = pd.concat(found, ignore_index=True)
    hits["code"] = hits["entity_id"].map({i: s.code for i, s in stations.items()})
    hits = hits.sort_values(["wstart", "code", "metric", "period"], kind="stable")
    columns = ["entity_id", "metric", "limit_unit", "period", "wstart", "wend", "value", "limit", "bound",
               "regulation", "basis", "hours"]
    result = []
    for entity_id, metric, unit, period, wstart, wend, value, limit, bound, regulation, basis, n in zip(
            *(hits[c].tolist() for c in columns)):
        s = stations[entity_id]
        result.append(Exceedance(
            station_code=s.code, station_name=s.name, type=TYPE_NAMES.get(s.subtype, s.subtype),
            facility_code=(s.meta or {}).get("facility") if s.subtype == "wastewater" else None,
            province_code=s.province_code, metric=metric, unit=unit, period=period,
            window_start=datetime.fromtimestamp(int(wstart), timezone.utc),
            window_end=datetime.fromtimestamp(int(wend), timezone.utc),
            value=float(value), limit=float(limit), ratio=float(value) / float(limit), bound=bound,
            regulation=regulation, basis=basis, hours=int(n),
        ))
    return result


def _permit_metrics(stations: Any) -> set[str]:
    names = set()
    for s in stations:
        if s.subtype == STATION_TYPES["wastewater"]:
            for key in ((s.meta or {}).get("limits") or {}):
                names.add(key.removesuffix("_min").removesuffix("_max"))
    return names


def valid_hours(frame: pd.DataFrame, info: pd.DataFrame, limits: Limits) -> pd.DataFrame:
    """The hourly rows that count: plausible, not part of a flat line, in the limits' unit.

    ``frame``: series_id, hour_ts, n_valid, mean, min, max (roll-up rows); ``info``: one
    row per series with series_id, entity_id, metric, unit and type. Returns entity_id,
    type, metric, hour_ts and ``value`` (the hourly mean in the unit of the limits).
    """
    checks = limits.checks
    df = frame.sort_values(["series_id", "hour_ts"], kind="stable").reset_index(drop=True)
    # Flat lines, on the values as stored.
    candidate = (df["n_valid"] >= checks.flat_line_min_readings) & (df["min"] == df["max"])
    continues = (
        (df["series_id"] == df["series_id"].shift()) & (df["hour_ts"] - df["hour_ts"].shift() == HOUR)
        & candidate & candidate.shift(fill_value=False) & (df["min"] == df["min"].shift())
    )
    run = (~continues).cumsum()
    flat = candidate & (run.map(run.value_counts()) >= checks.flat_line_hours)
    # Per series: the factor to the unit of the metric's limits, and the plausible maximum.
    info = info.set_index("series_id")
    factors = []
    for kind, metric, unit in zip(info["type"], info["metric"], info["unit"].fillna("")):
        target = limits.unit_of(metric, kind)
        factor = unit_factor(unit, target)
        if factor is None:
            log.warning("%s %s in %r cannot be compared with limits in %r; skipped", kind, metric, unit, target)
        factors.append(np.nan if factor is None else factor)
    position = info.index.get_indexer(df["series_id"])
    value = df["mean"].to_numpy() * np.asarray(factors, dtype=float)[position]
    plausible_max = info["metric"].map(limits.plausible_max).astype(float).fillna(np.inf).to_numpy()[position]
    keep = ~np.isnan(value) & (value >= 0) & (value <= plausible_max) & ~flat.to_numpy()
    position = position[keep]
    metric = info["metric"].astype("category")
    return pd.DataFrame({
        "entity_id": info["entity_id"].to_numpy()[position],
        "type": pd.Categorical(info["type"].to_numpy()[position]),
        "metric": pd.Categorical.from_codes(metric.cat.codes.to_numpy()[position], metric.cat.categories),
        "hour_ts": df["hour_ts"].to_numpy()[keep],
        "value": value[keep],
    })


def _local_days(ts: pd.Series, tz: ZoneInfo) -> dict[int, date]:
    """Local calendar date of each distinct epoch second in ``ts`` (few: one per hour)."""
    distinct = pd.unique(ts.to_numpy())
    days = (EPOCH + pd.to_timedelta(distinct, unit="s")).tz_convert(tz).date
    return dict(zip(distinct.tolist(), days))


def _ambient(hours: pd.DataFrame, limits: Limits, tz: ZoneInfo, fetch_from: int, end_ts: float,
             start_ts: float) -> pd.DataFrame:
    checks = limits.checks
    parts = []
    for metric, sub in hours.groupby("metric", sort=True, observed=True):
        for period in sorted(limits.ambient_periods(str(metric)) & {"1h", "8h", "24h"}):
            if period == "1h":
                w = pd.DataFrame({"entity_id": sub["entity_id"], "wstart": sub["hour_ts"],
                                  "wend": sub["hour_ts"] + HOUR, "value": sub["value"], "hours": 1})
            elif period == "8h":
                wide = sub.pivot(index="hour_ts", columns="entity_id", values="value")
                wide = wide.reindex(range(fetch_from, int(np.ceil(end_ts)), HOUR))
                means = wide.rolling(8, min_periods=checks.rolling_8h_min_hours).mean()
                counts = wide.rolling(8, min_periods=1).count()
                stacked = pd.DataFrame({"value": means.stack(), "hours": counts.stack()}).dropna(subset=["value"])
                stacked = stacked.rename_axis(["hour_ts", "entity_id"]).reset_index()
                w = pd.DataFrame({"entity_id": stacked["entity_id"], "wstart": stacked["hour_ts"] - 7 * HOUR,
                                  "wend": stacked["hour_ts"] + HOUR, "value": stacked["value"], "hours": stacked["hours"]})
            else:
                local = (EPOCH + pd.to_timedelta(sub["hour_ts"], unit="s")).dt.tz_convert(tz).dt.tz_localize(None)
                midnight = local.dt.normalize()
                g = sub.assign(day=midnight).groupby(["entity_id", "day"])["value"].agg(["mean", "count"]).reset_index()
                g = g[g["count"] >= checks.daily_min_hours]
                if g.empty:
                    continue
                begin = g["day"].dt.tz_localize(tz)
                finish = (g["day"] + pd.Timedelta(days=1)).dt.tz_localize(tz)
                w = pd.DataFrame({"entity_id": g["entity_id"].to_numpy(),
                                  "wstart": ((begin - EPOCH) // pd.Timedelta(seconds=1)).to_numpy(),
                                  "wend": ((finish - EPOCH) // pd.Timedelta(seconds=1)).to_numpy(),
                                  "value": g["mean"].to_numpy(), "hours": g["count"].to_numpy()})
            w = w[(w["wend"] > start_ts) & (w["wend"] <= end_ts)]
            if w.empty:
                continue
            last_second = w["wend"] - 1  # the limit of the window's last day
            found = {t: limits.ambient_for(str(metric), period, d) for t, d in _local_days(last_second, tz).items()}
            limit = last_second.map({t: (x.value if x else np.nan) for t, x in found.items()}).astype(float)
            over = w["value"] > limit
            if not over.any():
                continue
            hit = w[over].copy()
            hit_limits = [found[t] for t in last_second[over].tolist()]
            hit["metric"] = metric
            hit["period"] = period
            hit["limit"] = limit[over]
            hit["bound"] = "max"
            hit["regulation"] = [x.regulation for x in hit_limits]
            hit["limit_unit"] = [x.unit for x in hit_limits]
            hit["basis"] = "regulation"
            parts.append(hit)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _discharge(hours: pd.DataFrame, limits: Limits, tz: ZoneInfo, start_ts: float, end_ts: float,
               stations: dict[int, Any]) -> pd.DataFrame:
    w = hours.assign(wstart=hours["hour_ts"], wend=hours["hour_ts"] + HOUR, hours=1)
    w = w[(w["wend"] > start_ts) & (w["wend"] <= end_ts)]
    if w.empty:
        return pd.DataFrame()
    # Limits are constant between the file's change dates: look each station's up once per stretch.
    epoch_of = {t: limits.epoch_of(d).toordinal() for t, d in _local_days(w["hour_ts"], tz).items()}
    epoch = w["hour_ts"].map(epoch_of)
    keys = pd.DataFrame({"entity_id": w["entity_id"], "metric": w["metric"], "epoch": epoch}).drop_duplicates()
    looked_up = [limits.discharge_limit(m, stations[e].meta or {}, date.fromordinal(d))
                 for e, m, d in zip(keys["entity_id"].tolist(), keys["metric"].tolist(), keys["epoch"].tolist())]
    keys["low"] = [x.low if x and x.low is not None else np.nan for x in looked_up]
    keys["high"] = [x.high if x and x.high is not None else np.nan for x in looked_up]
    keys["regulation"] = [x.regulation if x else "" for x in looked_up]
    keys["basis"] = [x.basis if x else "" for x in looked_up]
    keys["limit_unit"] = [x.unit if x else "" for x in looked_up]
    w = w.assign(epoch=epoch).merge(keys, on=["entity_id", "metric", "epoch"], how="inner")
    above = w["high"].notna() & (w["value"] > w["high"])
    below = w["low"].notna() & (w["value"] < w["low"])
    hit = w[above | below].copy()
    if hit.empty:
        return pd.DataFrame()
    hit["bound"] = np.where(above[above | below], "max", "min")
    hit["limit"] = np.where(hit["bound"] == "max", hit["high"], hit["low"])
    hit["period"] = "1h"
    return hit[["entity_id", "metric", "period", "wstart", "wend", "value", "hours", "limit", "bound", "regulation",
                "limit_unit", "basis"]]


@dataclass(frozen=True)
class SiteExceedances:
    """Exceedances grouped by facility (wastewater) or station (air): one row of the panel."""

    code: str  # facility code, or the station code where there is no facility
    name: str
    type: str
    province_code: str | None
    metrics: tuple[str, ...]
    count: int
    worst_ratio: float
    last_window_end: datetime
    basis: str


def _severity(e: Exceedance) -> float:
    """How many times over the bound: value/limit above a maximum, limit/value under a minimum."""
    if e.bound == "max":
        return e.ratio
    return 1 / e.ratio if e.ratio > 0 else float("inf")


def by_site(found: list[Exceedance], facility_names: dict[str, str] | None = None) -> list[SiteExceedances]:
    """Group ``found`` by facility (else station), worst ratio first; names of facilities from ``facility_names``."""
    facility_names = facility_names or {}
    groups: dict[str, list[Exceedance]] = {}
    for e in found:
        groups.setdefault(e.facility_code or e.station_code, []).append(e)
    sites = [
        SiteExceedances(
            code=code,
            name=facility_names.get(code, items[0].station_name) if items[0].facility_code else items[0].station_name,
            type=items[0].type,
            province_code=items[0].province_code,
            metrics=tuple(sorted({e.metric for e in items})),
            count=len(items),
            worst_ratio=max(_severity(e) for e in items),
            last_window_end=max(e.window_end for e in items),
            basis="permit" if any(e.basis == "permit" for e in items) else "regulation",
        )
        for code, items in groups.items()
    ]
    return sorted(sites, key=lambda s: (-s.worst_ratio, s.code))
