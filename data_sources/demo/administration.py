"""Administrative feeds: land, water-resource permits, public services, Government reporting.

Daily figures are stamped at 00:00 local time of the day they describe and are
published when that day ends (so "yesterday" is the newest complete day). Monthly
reports are stamped at 00:00 local on the 1st of their period and published when the
reporter submits them.
"""
from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from data_sources.base import Entity
from data_sources.demo.base import Feed, FrameBuilder, grid
from data_sources.demo.catalogue import (
    MINISTRY_UNITS,
    REPORT_DEADLINE_DAY,
    SIZE_WEIGHT,
    province_entities,
    report_catalogue,
    u,
    unit_entities,
)
from data_sources.demo.noise import (
    DAY,
    HOUR,
    LOCAL_OFFSET,
    LocalTime,
    episodes,
    fractal_noise,
    in_episode,
    normalish,
    stable_key,
    uniform,
    value_noise,
)
from reference.provinces import all_provinces

LOCAL_MIDNIGHT = (DAY - LOCAL_OFFSET) % DAY
D2021 = (date(2021, 1, 1) - date(1970, 1, 1)).days
D2024 = (date(2024, 1, 1) - date(1970, 1, 1)).days
D2031 = (date(2031, 1, 1) - date(1970, 1, 1)).days


def counts(lam: np.ndarray, *key: object) -> np.ndarray:
    """Poisson-like whole counts with mean ``lam`` (normal approximation, never negative)."""
    lam = np.maximum(np.asarray(lam, dtype=np.float64), 0.0)
    return np.maximum(np.round(lam + np.sqrt(lam) * normalish(*key)), 0.0)


class DailyFeed(Feed):
    """One row per entity, metric and local day."""

    offset = LOCAL_MIDNIGHT
    lag = DAY
    metrics: tuple[tuple[str, str, int], ...] = ()

    def __init__(self, seed: int, interval: int | None = None, stations: int | None = None) -> None:
        super().__init__(seed, None, None)
        self.step = DAY
        self.items = self.build_entities()
        self.codes = np.array([e.code for e in self.items], dtype=object)
        self.keys = np.array([stable_key(e.code) for e in self.items], dtype=np.uint64)

    def build_entities(self) -> list[Entity]:
        return province_entities()

    def entities(self) -> list[Entity]:
        return list(self.items)

    def rows_per_step(self) -> int:
        return len(self.items) * len(self.metrics)

    def values(self, i: np.ndarray, t: np.ndarray, lt: LocalTime) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def frame(self, since: int, until: int) -> pd.DataFrame:
        out = FrameBuilder()
        published = grid(since, until, DAY, self.offset)
        if not len(published):
            return out.frame()
        starts = published - DAY
        n = len(self.items)
        i = np.repeat(np.arange(n), len(starts))
        t = np.tile(starts, n)
        values = self.values(i, t, LocalTime(t))
        for metric, unit, decimals in self.metrics:
            out.add(self.codes[i], metric, t, values[metric], unit, 0, decimals)
        return out.frame()


def _weight(codes: list[str]) -> np.ndarray:
    return np.array([SIZE_WEIGHT[c] for c in codes])


class LandFeed(DailyFeed):
    """Land information per province: cadastral database coverage, certificates, prices, plan, look-ups."""

    name = "land"
    metrics = (
        ("cadastral_digitised_pct", "%", 1),
        ("cadastral_online_pct", "%", 1),
        ("certificates_issued", "", 0),
        ("price_tables_updated", "", 0),
        ("land_use_plan_progress_pct", "%", 1),
        ("lookup_requests", "", 0),
        ("lookup_failures", "", 0),
    )

    def __init__(self, seed: int, interval: int | None = None, stations: int | None = None) -> None:
        super().__init__(seed)
        codes = [e.code for e in self.items]
        self.w = _weight(codes)
        self.dig0 = np.array([32.0 + 55.0 * u(c, 50) for c in codes])
        self.dig_rate = np.array([0.003 + 0.018 * u(c, 51) for c in codes])
        self.online0 = np.array([0.62 + 0.3 * u(c, 52) for c in codes])
        self.plan_pace = np.array([0.72 + 0.45 * u(c, 54) for c in codes])
        self.fail_rate = np.array([0.004 + 0.025 * u(c, 55) for c in codes])

    def values(self, i: np.ndarray, t: np.ndarray, lt: LocalTime) -> dict[str, np.ndarray]:
        seed, k, d = self.seed, self.keys[i], lt.day
        weeks = (d - D2024) // 7
        digitised = np.clip(self.dig0[i] + self.dig_rate[i] * 7 * weeks, 5.0, 100.0)
        online = digitised * np.clip(self.online0[i] + 0.0002 * (d - D2024), 0.0, 1.0)
        workday = np.where(lt.weekday < 5, 1.0, np.where(lt.weekday == 5, 0.3, 0.0))
        certificates = counts(38.0 * self.w[i] ** 0.8 * workday, seed, k, 56, d)
        adopt = 1 + (uniform(seed, k, 53, lt.year) ** 1.6 * 365).astype(np.int64)
        price = (lt.doy >= adopt).astype(np.float64)
        month_start = d - (lt.dom - 1)
        plan = np.clip(100.0 * self.plan_pace[i] * (month_start - D2021) / (D2031 - D2021), 0.0, 100.0)
        visit = np.where(lt.weekday < 5, 1.0, np.where(lt.weekday == 5, 0.45, 0.3))
        requests = counts(125.0 * self.w[i] ** 0.9 * visit * np.exp(0.2 * value_noise(t, 5 * DAY, seed, k, 57)), seed, k, 58, d)
        incident = in_episode(t, 20 * DAY, 0.15, DAY, 3 * DAY, seed, k, 59)
        rate = np.where(incident, 0.15 + 0.45 * uniform(seed, k, 60, d), self.fail_rate[i] * (0.7 + 0.6 * uniform(seed, k, 61, d)))
        failures = np.minimum(np.round(requests * rate), requests)
        return {
            "cadastral_digitised_pct": digitised, "cadastral_online_pct": online, "certificates_issued": certificates,
            "price_tables_updated": price, "land_use_plan_progress_pct": plan, "lookup_requests": requests,
            "lookup_failures": failures,
        }


class WaterResourcesFeed(DailyFeed):
    """Water-resource permits and monitored extraction against the permitted volume, per province."""

    name = "water_resources"
    metrics = (
        ("permits_issued", "", 0),
        ("permits_in_process", "", 0),
        ("permits_expiring_90d", "", 0),
        ("permits_expired", "", 0),
        ("extraction_m3", "m³", 0),
        ("permitted_m3", "m³", 0),
    )

    def __init__(self, seed: int, interval: int | None = None, stations: int | None = None) -> None:
        super().__init__(seed)
        codes = [e.code for e in self.items]
        self.w = _weight(codes)
        self.base = np.array([120000.0 * SIZE_WEIGHT[c] * (0.6 + 0.8 * u(c, 62)) for c in codes])
        self.headroom = np.array([0.98 + 0.5 * u(c, 63) for c in codes])
        self.expired_level = np.array([0.3 + 1.4 * u(c, 64) for c in codes])

    def values(self, i: np.ndarray, t: np.ndarray, lt: LocalTime) -> dict[str, np.ndarray]:
        seed, k, d, w = self.seed, self.keys[i], lt.day, self.w[i]
        workday = np.where(lt.weekday < 5, 1.0, np.where(lt.weekday == 5, 0.1, 0.0))
        issued = counts(0.9 * w**0.7 * workday, seed, k, 65, d)
        in_process = np.round(9.0 * w**0.7 * (1.0 + 0.35 * fractal_noise(t, (15 * DAY, 4 * DAY), seed, k, 66)))
        expiring = np.round(5.0 * w**0.7 * (1.0 + 0.45 * fractal_noise(t, (30 * DAY, 7 * DAY), seed, k, 67)))
        expired = np.round(np.maximum(2.2 * w**0.5 * self.expired_level[i] * (1.0 + 0.6 * fractal_noise(t, (20 * DAY, 5 * DAY), seed, k, 68)), 0.0))
        dry = np.clip(lt.seasonal(90.0), 0.0, 1.0)
        sunday = np.where(lt.weekday == 6, 0.93, 1.0)
        extraction = self.base[i] * (1.0 + 0.18 * dry) * sunday * np.exp(0.08 * value_noise(t, 3 * DAY, seed, k, 69))
        quarter = lt.year * 4 + (lt.month - 1) // 3
        permitted = self.base[i] * self.headroom[i] * (1.0 + 0.04 * (uniform(seed, k, 70, quarter) - 0.5))
        return {
            "permits_issued": issued, "permits_in_process": in_process, "permits_expiring_90d": np.maximum(expiring, 0.0),
            "permits_expired": expired, "extraction_m3": extraction, "permitted_m3": np.round(permitted, -2),
        }


class PublicServicesFeed(DailyFeed):
    """Online public services, paperless-office documents and assigned tasks, per province and ministry unit.

    Flows (received, resolved, incoming, assigned...) count that day; ``overdue``,
    ``documents_overdue`` and ``tasks_overdue`` are the stock overdue at the day's end.
    """

    name = "public_services"
    metrics = (
        ("applications_received", "", 0),
        ("applications_resolved", "", 0),
        ("resolved_on_time", "", 0),
        ("overdue", "", 0),
        ("fully_online_pct", "%", 1),
        ("documents_incoming", "", 0),
        ("documents_on_time", "", 0),
        ("documents_overdue", "", 0),
        ("tasks_assigned", "", 0),
        ("tasks_on_time", "", 0),
        ("tasks_overdue", "", 0),
    )

    def build_entities(self) -> list[Entity]:
        return province_entities() + unit_entities()

    def __init__(self, seed: int, interval: int | None = None, stations: int | None = None) -> None:
        super().__init__(seed)
        n_prov = len(all_provinces())
        scale = {code: s for code, _n, _e, s in MINISTRY_UNITS}
        is_prov = np.arange(len(self.items)) < n_prov
        a = np.array([SIZE_WEIGHT.get(e.code, scale.get(e.code, 1.0)) for e in self.items])
        codes = [e.code for e in self.items]
        self.lam_app = np.where(is_prov, 110.0 * a, 30.0 * a)
        self.lam_doc = np.where(is_prov, 45.0 * a**0.7, 70.0 * a)
        self.lam_task = np.where(is_prov, 5.0 * a**0.6, 6.0 * a)
        self.rate_app = np.array([0.86 + 0.135 * u(c, 80) for c in codes])
        self.rate_doc = np.array([0.85 + 0.14 * u(c, 81) for c in codes])
        self.rate_task = np.array([0.8 + 0.19 * u(c, 82) for c in codes])
        self.online0 = np.array([25.0 + 35.0 * u(c, 83) for c in codes])
        self.online_speed = np.array([0.02 + 0.03 * u(c, 84) for c in codes])

    def values(self, i: np.ndarray, t: np.ndarray, lt: LocalTime) -> dict[str, np.ndarray]:
        seed, k, d = self.seed, self.keys[i], lt.day
        wd = lt.weekday
        receive = np.where(wd < 5, 1.0, np.where(wd == 5, 0.22, 0.12))
        resolve = np.where(wd < 5, 1.02, np.where(wd == 5, 0.15, 0.0))
        office = np.where(wd < 5, 1.0, np.where(wd == 5, 0.08, 0.02))
        backlog, _ = episodes(t, 30 * DAY, 0.25, 5 * DAY, 15 * DAY, seed, k, 85)
        lam = self.lam_app[i]
        received = counts(lam * receive * np.exp(0.2 * fractal_noise(t, (10 * DAY, 3 * DAY), seed, k, 86)), seed, k, 87, d)
        resolved = counts(lam * resolve * np.exp(0.2 * fractal_noise(t, (10 * DAY, 3 * DAY), seed, k, 88)), seed, k, 89, d)
        on_time_rate = np.clip(self.rate_app[i] - 0.25 * backlog, 0.3, 1.0)
        on_time = np.minimum(np.round(resolved * on_time_rate * (0.98 + 0.02 * uniform(seed, k, 90, d))), resolved)
        overdue = np.round(lam * (1.0 - self.rate_app[i]) * 2.5 * (1.0 + 0.4 * fractal_noise(t, (7 * DAY, 2 * DAY), seed, k, 91))
                           + backlog * lam * 0.6)
        online = np.clip(self.online0[i] + self.online_speed[i] * (d - D2024) + np.where(wd >= 5, 8.0, 0.0)
                         + 2.0 * normalish(seed, k, 92, d), 5.0, 99.5)
        lam_doc = self.lam_doc[i]
        incoming = counts(lam_doc * office, seed, k, 93, d)
        doc_rate = np.clip(self.rate_doc[i] - 0.15 * backlog, 0.4, 1.0)
        documents_on_time = np.minimum(np.round(counts(lam_doc * office, seed, k, 94, d) * doc_rate), incoming + lam_doc)
        documents_overdue = np.round(lam_doc * (1.0 - doc_rate) * 3.0 * (1.0 + 0.5 * fractal_noise(t, (7 * DAY, 2 * DAY), seed, k, 95)))
        lam_task = self.lam_task[i]
        assigned = counts(lam_task * office, seed, k, 96, d)
        task_rate = np.clip(self.rate_task[i] - 0.2 * backlog, 0.3, 1.0)
        tasks_on_time = np.round(counts(lam_task * office, seed, k, 97, d) * task_rate)
        tasks_overdue = np.round(lam_task * (1.0 - task_rate) * 6.0 * (1.0 + 0.5 * fractal_noise(t, (10 * DAY, 3 * DAY), seed, k, 98)))
        return {
            "applications_received": received, "applications_resolved": resolved, "resolved_on_time": on_time,
            "overdue": np.maximum(overdue, 0.0), "fully_online_pct": online, "documents_incoming": incoming,
            "documents_on_time": documents_on_time, "documents_overdue": np.maximum(documents_overdue, 0.0),
            "tasks_assigned": assigned, "tasks_on_time": tasks_on_time, "tasks_overdue": np.maximum(tasks_overdue, 0.0),
        }


# --------------------------------------------------------------------------- reporting

_OUTCOMES = {"reliable": (0.92, 0.06), "sometimes_late": (0.70, 0.22), "chronic": (0.45, 0.33)}
REPORT_HISTORY_DAYS = 365  # a first poll always reaches back this far


class ReportingFeed(Feed):
    """Monthly reports on the Government's 32 indicators, by province or ministry unit.

    Each submission entity (indicator × reporter) gets, per month it reports on,
    ``submitted`` (1), ``on_time`` (1/0), ``days_late`` (0 if on time),
    ``submitted_at`` (epoch seconds) and the indicator's ``value``, all stamped at
    the period's first day 00:00 local and published at the moment of submission.
    A report due on the 10th of the next month 17:00 local that never arrives has no
    rows: that is a missing report.
    """

    name = "reporting"
    lag = 0

    def __init__(self, seed: int, interval: int | None = None, stations: int | None = None) -> None:
        super().__init__(seed, None, None)
        self.step = DAY
        self.indicators, self.submissions = report_catalogue()
        subs = self.submissions
        self.codes = np.array([s.entity.code for s in subs], dtype=object)
        self.keys = np.array([stable_key(s.entity.code) for s in subs], dtype=np.uint64)
        self.units = np.array([s.entity.meta["unit"] for s in subs], dtype=object)
        self.magnitude = np.array([s.magnitude for s in subs])
        self.decimals = np.array([s.decimals for s in subs])
        self.percent = np.array([s.entity.meta["unit"].startswith("%") for s in subs])
        self.p_on_time = np.array([_OUTCOMES[s.reliability][0] for s in subs])
        self.p_late = np.array([_OUTCOMES[s.reliability][1] for s in subs])

    def entities(self) -> list[Entity]:
        return province_entities() + unit_entities() + list(self.indicators) + [s.entity for s in self.submissions]

    def rows_per_step(self) -> int:
        return len(self.submissions) * 5 // 20 + 1

    def first_since(self, now: int, backfill_seconds: int) -> int:
        return now - max(backfill_seconds, REPORT_HISTORY_DAYS * DAY)

    def resume_after(self, last_observation: int) -> int:
        # The newest stored row is stamped with its period's start; every report
        # published since then is published after it. Re-sending those is harmless.
        return last_observation

    def frame(self, since: int, until: int) -> pd.DataFrame:
        out = FrameBuilder()
        if until <= since:
            return out.frame()
        first = np.datetime64(int((since + LOCAL_OFFSET) // DAY), "D").astype("datetime64[M]") - 3
        last = np.datetime64(int((until + LOCAL_OFFSET) // DAY), "D").astype("datetime64[M]")
        months = np.arange(first, last + 1)
        n = len(self.submissions)
        s = np.repeat(np.arange(n), len(months))
        m = np.tile(months, n)
        month_index = m.astype(np.int64)
        period_day = m.astype("datetime64[D]").astype(np.int64)
        next_day = (m + 1).astype("datetime64[D]").astype(np.int64)
        ts = period_day * DAY - LOCAL_OFFSET
        deadline = (next_day + REPORT_DEADLINE_DAY - 1) * DAY + 17 * HOUR - LOCAL_OFFSET
        k = self.keys[s]
        draw = uniform(self.seed, k, 601, month_index)
        on_time = draw < self.p_on_time[s]
        late = ~on_time & (draw < self.p_on_time[s] + self.p_late[s])
        early_days = np.floor(uniform(self.seed, k, 602, month_index) * 7.0)
        hours = uniform(self.seed, k, 603, month_index) * 8.0 * HOUR
        days_late = np.where(late, 1.0 + np.floor(25.0 * uniform(self.seed, k, 604, month_index) ** 2), 0.0)
        submitted_at = np.where(late, deadline + days_late * DAY - hours, deadline - early_days * DAY - hours).astype(np.int64)
        published = (on_time | late) & (submitted_at > since) & (submitted_at <= until)
        if not published.any():
            return out.frame()
        s, m, ts, k, month_index = s[published], m[published], ts[published], k[published], month_index[published]
        on_time, days_late, submitted_at = on_time[published], days_late[published], submitted_at[published]
        months_since = month_index - (2024 - 1970) * 12
        growth = 1.0 + 0.004 * months_since
        wobble = np.where(self.percent[s], 0.03, 0.18) * normalish(self.seed, k, 605, month_index)
        season = 1.0 + np.where(self.percent[s], 0.0, 0.12) * np.cos(2.0 * np.pi * ((month_index % 12) - 5) / 12.0)
        value = self.magnitude[s] * growth * season * (1.0 + wobble)
        value = np.where(self.percent[s], np.clip(value, 0.0, 100.0), np.maximum(value, 0.0))
        value = np.array([round(v, int(dec)) for v, dec in zip(value, self.decimals[s])])
        codes = self.codes[s]
        out.add(codes, "submitted", ts, np.ones(len(ts)), "", 0, 0)
        out.add(codes, "on_time", ts, on_time.astype(np.float64), "", 0, 0)
        out.add(codes, "days_late", ts, days_late, "d", 0, 0)
        out.add(codes, "submitted_at", ts, submitted_at.astype(np.float64), "s", 0, 0)
        # Each indicator has its own unit, so the value series are added unit by unit.
        units = self.units[s]
        for unit in sorted(set(units.tolist())):
            sel = units == unit
            out.add(codes[sel], "value", ts[sel], value[sel], unit, 0, None)
        return out.frame()
