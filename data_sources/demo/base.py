"""What every simulated feed shares: the time grid, the output frame, station artefacts.

A feed publishes points on a grid ``offset + k·step`` (epoch seconds). A point
stamped ``ts`` becomes visible at ``ts + lag`` (0 for station records; one day for a
day's totals, stamped at the start of the local day). ``frame(since, until)``
returns every point *published* in ``(since, until]`` — so a window is exactly what
a poll at ``until`` sees that a poll at ``since`` had not.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

import numpy as np
import pandas as pd

from data_sources.base import Entity
from data_sources.demo.catalogue import Site
from data_sources.demo.noise import DAY, HOUR, LocalTime, episode_start, in_episode, stable_key, uniform

COLUMNS = ["entity", "metric", "ts", "value", "unit", "quality"]

# Salts: one per kind of random decision, so decisions never share draws.
SALT_OUTAGE_SHORT = 11
SALT_OUTAGE_LONG = 12
SALT_CAL_DAY = 13
SALT_CAL_HOUR = 14
SALT_MAINT = 15
SALT_FAULT = 16
SALT_FAULT_VALUE = 17
SALT_SPIKE = 18
SALT_FLAT = 19
SALT_CAL_NOISE = 20
SALT_FLAKY = 21

WEEK = 7 * DAY


def grid(since: int, until: int, step: int, offset: int = 0) -> np.ndarray:
    """Grid points ``offset + k·step`` with ``since < point ≤ until``."""
    if until <= since:
        return np.zeros(0, dtype=np.int64)
    first = (since - offset) // step + 1
    last = (until - offset) // step
    return offset + np.arange(first, last + 1, dtype=np.int64) * step


def floor_grid(t: int, step: int, offset: int = 0) -> int:
    return offset + ((t - offset) // step) * step


def empty_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "entity": pd.Series([], dtype=str), "metric": pd.Series([], dtype=str),
        "ts": pd.Series([], dtype="int64"), "value": pd.Series([], dtype="float64"),
        "unit": pd.Series([], dtype=str), "quality": pd.Series([], dtype="int64"),
    })


class FrameBuilder:
    """Collects (entities, metric, ts, values, unit, quality) blocks into one DataFrame."""

    def __init__(self) -> None:
        self._parts: list[tuple[np.ndarray, str, np.ndarray, np.ndarray, str, np.ndarray]] = []

    def add(self, entities: np.ndarray, metric: str, ts: np.ndarray, values: np.ndarray, unit: str,
            quality: np.ndarray | int = 0, decimals: int | None = None) -> None:
        if len(ts) == 0:
            return
        values = np.asarray(values, dtype=np.float64)
        if decimals is not None:
            values = np.round(values, decimals) + 0.0  # + 0.0 turns -0.0 into 0.0
        quality = np.broadcast_to(np.asarray(quality, dtype=np.int64), values.shape)
        self._parts.append((entities, metric, ts, values, unit, quality))

    def frame(self) -> pd.DataFrame:
        if not self._parts:
            return empty_frame()
        n = [len(p[2]) for p in self._parts]
        return pd.DataFrame({
            "entity": np.concatenate([p[0] for p in self._parts]).astype(object),
            "metric": np.repeat(np.array([p[1] for p in self._parts], dtype=object), n),
            "ts": np.concatenate([p[2] for p in self._parts]).astype(np.int64),
            "value": np.concatenate([p[3] for p in self._parts]),
            "unit": np.repeat(np.array([p[4] for p in self._parts], dtype=object), n),
            "quality": np.concatenate([p[5] for p in self._parts]).astype(np.int64),
        })


class Feed:
    """One simulated source of the ministry's world."""

    name: ClassVar[str]
    default_interval: ClassVar[int] = 300
    takes_interval: ClassVar[bool] = False
    takes_stations: ClassVar[bool] = False
    offset: int = 0
    lag: int = 0

    def __init__(self, seed: int, interval: int | None = None, stations: int | None = None) -> None:
        self.seed = seed
        self.step = interval or self.default_interval
        self.stations = stations

    def entities(self) -> list[Entity]:
        raise NotImplementedError

    def rows_per_step(self) -> int:
        """Upper bound of rows one grid step adds (for the per-poll guard)."""
        raise NotImplementedError

    def frame(self, since: int, until: int) -> pd.DataFrame:
        raise NotImplementedError

    def first_since(self, now: int, backfill_seconds: int) -> int:
        return now - backfill_seconds

    def resume_after(self, last_observation: int) -> int:
        """Publication time of the newest stored point: the next poll starts after it."""
        return last_observation + self.lag


@dataclass(frozen=True)
class MetricSpec:
    name: str
    unit: str
    decimals: int
    calibrated: bool = True  # an analyser with zero/span checks (else: a plain sensor)
    zero: float = 0.0  # what a zero check reads
    span: float = 0.0  # what a span check reads
    full_scale: float = 1000.0  # what a stuck-high fault reads


class StationFeed(Feed):
    """Automatic monitoring stations on a fixed grid, with the artefacts real ones have.

    - outages: short (minutes to hours) and long (days) — no rows at all;
    - calibration: a weekly zero/span check at a fixed night hour plus occasional
      maintenance — quality 1, the zero or span gas/standard value instead of the air;
    - faults: hours of a stuck reading (0 or full scale) and single spikes — quality 2;
    - flat lines: a sensor that repeats one value for hours — quality 0 (left for
      plausibility checks to catch, as in real data).
    """

    takes_interval = True
    takes_stations = True
    metrics: ClassVar[tuple[MetricSpec, ...]] = ()
    outage_short_p = 0.04  # per station-day
    outage_short_len = (20 * 60, 8 * HOUR)
    outage_long_p = 0.05  # per station and 10 days
    outage_long_len = (DAY, 4 * DAY)
    calibration_minutes = 60
    calibration_daily = False  # CEMS: daily; ambient/water analysers: weekly
    maintenance_p = 0.10  # per station and 14 days
    fault_p = 0.006  # per station, metric and day
    spike_p = 0.0004  # per record
    flat_p = 0.02  # per station, metric and week

    def __init__(self, seed: int, interval: int | None = None, stations: int | None = None) -> None:
        super().__init__(seed, interval, stations)
        self.sites: tuple[Site, ...] = self.build_sites()
        self.codes = np.array([s.code for s in self.sites], dtype=object)
        self.site_key = np.array([stable_key(s.code) for s in self.sites], dtype=np.uint64)
        self.prov_key = np.array([stable_key(s.province) for s in self.sites], dtype=np.uint64)
        self.metric_key = {m.name: stable_key(m.name) for m in self.metrics}
        sk = self.site_key
        flaky = uniform(self.seed, sk, SALT_FLAKY) < 0.1
        self.p_short = np.where(flaky, 0.25, self.outage_short_p)
        self.cal_weekday = (uniform(sk, SALT_CAL_DAY) * 7).astype(np.int64)
        self.cal_hour = 1 + (uniform(sk, SALT_CAL_HOUR) * 4).astype(np.int64)  # 01:00–04:59 local

    # -- to implement
    def build_sites(self) -> tuple[Site, ...]:
        raise NotImplementedError

    def extra_entities(self) -> list[Entity]:
        return []

    def model(self, i: np.ndarray, t: np.ndarray, lt: LocalTime) -> dict[str, np.ndarray]:
        raise NotImplementedError

    # -- shared
    def entities(self) -> list[Entity]:
        # Stations declare how often they report: station health counts expected records by it.
        stations = [replace(s.entity, meta={**s.entity.meta, "interval_seconds": self.step}) for s in self.sites]
        return self.extra_entities() + stations

    def rows_per_step(self) -> int:
        return len(self.sites) * len(self.metrics)

    def offline(self, i: np.ndarray, t: np.ndarray) -> np.ndarray:
        sk = self.site_key[i]
        short = in_episode(t, DAY, self.p_short[i], *self.outage_short_len, self.seed, sk, SALT_OUTAGE_SHORT)
        long = in_episode(t, 10 * DAY, self.outage_long_p, *self.outage_long_len, self.seed, sk, SALT_OUTAGE_LONG)
        return short | long

    def calibration_phase(self, i: np.ndarray, t: np.ndarray, lt: LocalTime) -> np.ndarray:
        """0 measuring, 1 zero check (or maintenance), 2 span check."""
        seconds = (lt.hour * HOUR).astype(np.int64)
        start = self.cal_hour[i] * HOUR
        into = seconds - start
        length = self.calibration_minutes * 60
        day_ok = np.ones(len(t), dtype=bool) if self.calibration_daily else lt.weekday == self.cal_weekday[i]
        active = day_ok & (into > 0) & (into <= length)
        phase = np.where(active, np.where(into <= length * 2 // 3, 1, 2), 0)
        maint = in_episode(t, 14 * DAY, self.maintenance_p, 2 * HOUR, 6 * HOUR, self.seed, self.site_key[i], SALT_MAINT)
        return np.where(maint & (phase == 0), 1, phase)

    def frame(self, since: int, until: int) -> pd.DataFrame:
        ts = grid(since, until, self.step)
        out = FrameBuilder()
        if len(ts) == 0 or not self.sites:
            return out.frame()
        n = len(self.sites)
        i = np.repeat(np.arange(n, dtype=np.int64), len(ts))
        t = np.tile(ts, n)
        keep = ~self.offline(i, t)
        i, t = i[keep], t[keep]
        lt = LocalTime(t)
        values = self.model(i, t, lt)
        phase = self.calibration_phase(i, t, lt)
        sk = self.site_key[i]
        entities = self.codes[i]
        for spec in self.metrics:
            mk = self.metric_key[spec.name]
            v = values[spec.name]
            quality = np.zeros(len(t), dtype=np.int64)
            # A flat line: the sensor repeats the reading it had when it stuck.
            stuck_at = episode_start(t, WEEK, self.flat_p, 2 * HOUR, 6 * HOUR, self.seed, sk, mk, SALT_FLAT)
            flat = stuck_at >= 0
            if flat.any():
                t0 = (stuck_at[flat] // self.step) * self.step
                v = v.copy()
                v[flat] = self.model(i[flat], t0, LocalTime(t0))[spec.name]
            if spec.calibrated:
                noise = uniform(self.seed, sk, mk, SALT_CAL_NOISE, t)
                zero, span = phase == 1, phase == 2
                v = np.where(zero, spec.zero + noise * max(abs(spec.span), 1.0) * 0.005, v)
                v = np.where(span, spec.span * (0.985 + 0.03 * noise), v)
                quality[zero | span] = 1
            fault = in_episode(t, DAY, self.fault_p, HOUR, 6 * HOUR, self.seed, sk, mk, SALT_FAULT)
            spike = uniform(self.seed, sk, mk, SALT_SPIKE, t) < self.spike_p
            high = uniform(self.seed, sk, mk, SALT_FAULT_VALUE, t // DAY) < 0.5
            v = np.where(fault, np.where(high, spec.full_scale, 0.0), v)
            v = np.where(spike & ~fault, spec.full_scale, v)
            quality[fault | spike] = 2
            out.add(entities, spec.name, t, v, spec.unit, quality, spec.decimals)
        return out.frame()
