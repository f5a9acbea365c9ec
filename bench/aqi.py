#!/usr/bin/env python
"""VN_AQI benchmark: hourly AQI for 2,000 stations × 24 hours, vectorised vs a naive loop.

Run by hand::

    .venv/bin/python bench/aqi.py [--stations 2000] [--hours 24] [--repeat 3] [--seed 1459]

Input, the same for both: synthetic hourly means in long form ``[station, hour_ts,
pollutant, value]`` for PM2.5, PM10, O3, NO2, SO2, CO over the 24 hours reported plus the
11 before them (the NowCast window), with about 5 % of hours missing at random, some
multi-hour outages, and a third of the stations measuring no SO2/CO.

Measured, each from that DataFrame to a DataFrame of (station, hour_ts, aqi, dominant)
for the 24 hours:

* ``vectorised``: :func:`indicators.aqi.hourly_aqi_frame` (numpy on station × hour matrices);
* ``naive loop``: a Python loop over the rows to collect each series, then one
  :func:`indicators.aqi.hourly_aqi` call per station-hour (NowCast per call).

Both must give the same AQI and dominant pollutant for every station-hour (checked).
Target: vectorised ≥ 20× faster.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from indicators.aqi import hourly_aqi, hourly_aqi_frame  # noqa: E402

POLLUTANTS = {  # metric name → (median µg/m³, spread)
    "PM2.5": (35.0, 0.6), "PM10": (60.0, 0.5), "O3": (70.0, 0.6), "NO2": (45.0, 0.6),
    "SO2": (20.0, 0.7), "CO": (1200.0, 0.5),
}
T0 = 1_767_200_400  # an hour boundary (2025-12-31 17:00 UTC = 2026-01-01 00:00 +07)


def synthetic(stations: int, hours: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n_t = hours + 11
    frames = []
    for name, (median, spread) in POLLUTANTS.items():
        level = median * rng.lognormal(0, 0.5, size=(stations, 1))
        values = level * rng.lognormal(0, spread, size=(stations, n_t))
        present = rng.random((stations, n_t)) > 0.05
        outage = rng.random(stations) < 0.05  # a few stations lose 4 consecutive hours
        start = rng.integers(0, n_t - 4, size=stations)
        for s in np.nonzero(outage)[0]:
            present[s, start[s]: start[s] + 4] = False
        if name in ("SO2", "CO"):
            present[rng.random(stations) < 1 / 3] = False
        s_idx, t_idx = np.nonzero(present)
        frames.append(pd.DataFrame({
            "station": np.char.add("ST-", np.char.zfill(s_idx.astype(str), 4)),
            "hour_ts": T0 + 3600 * t_idx,
            "pollutant": name,
            "value": np.round(values[s_idx, t_idx], 1),
        }))
    return pd.concat(frames, ignore_index=True)


def vectorised(df: pd.DataFrame, hours: int) -> pd.DataFrame:
    out = hourly_aqi_frame(df, start=T0 + 11 * 3600, end=T0 + (11 + hours - 1) * 3600)
    return out[["station", "hour_ts", "aqi", "dominant"]]


def naive(df: pd.DataFrame, hours: int) -> pd.DataFrame:
    series: dict[tuple[str, str], dict[int, float]] = {}
    stations: set[str] = set()
    for row in df.itertuples(index=False):
        series.setdefault((row.station, row.pollutant), {})[row.hour_ts] = row.value
        stations.add(row.station)
    rows = []
    for station in sorted(stations):
        by_p = {p: series.get((station, p), {}) for p in POLLUTANTS}
        for k in range(hours):
            ts = T0 + (11 + k) * 3600
            window = [ts - 3600 * i for i in range(12)]
            result = hourly_aqi(
                pm25_hours=[by_p["PM2.5"].get(t) for t in window],
                pm10_hours=[by_p["PM10"].get(t) for t in window],
                o3=by_p["O3"].get(ts), no2=by_p["NO2"].get(ts), so2=by_p["SO2"].get(ts), co=by_p["CO"].get(ts),
            )
            if result is not None:
                rows.append((station, ts, result.aqi, result.dominant))
    return pd.DataFrame(rows, columns=["station", "hour_ts", "aqi", "dominant"])


def best_of(fn, repeat: int) -> tuple[float, pd.DataFrame]:  # noqa: ANN001
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stations", type=int, default=2000)
    ap.add_argument("--hours", type=int, default=24)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--naive-repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1459)
    args = ap.parse_args()

    df = synthetic(args.stations, args.hours, args.seed)
    print(f"VN_AQI hourly: {args.stations:,} stations × {args.hours} h (+11 h NowCast history), "
          f"{len(df):,} hourly means, {df.hour_ts.nunique()} hours")
    print(f"python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}, "
          f"{platform.machine()}, {os.cpu_count()} CPUs")

    t_vec, vec = best_of(lambda: vectorised(df, args.hours), args.repeat)
    t_naive, nai = best_of(lambda: naive(df, args.hours), args.naive_repeat)

    vec = vec.sort_values(["station", "hour_ts"]).reset_index(drop=True)
    nai = nai.sort_values(["station", "hour_ts"]).reset_index(drop=True)
    same = len(vec) == len(nai) and (vec.astype(str).to_numpy() == nai.astype(str).to_numpy()).all()
    station_hours = args.stations * args.hours
    print(f"station-hours with an AQI: {len(vec):,} of {station_hours:,}; results identical: {same}")
    print(f"{'vectorised (hourly_aqi_frame)':32s} {t_vec:8.3f} s  (best of {args.repeat})")
    print(f"{'naive loop (hourly_aqi per row)':32s} {t_naive:8.3f} s  (best of {args.naive_repeat})")
    print(f"ratio: vectorised is {t_naive / t_vec:.1f}× faster (target ≥ 20×)")
    if not same:
        sys.exit("vectorised and naive results differ")


if __name__ == "__main__":
    main()
