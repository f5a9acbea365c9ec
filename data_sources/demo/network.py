"""Networks the centre watches for being up: VNGEONET GNSS stations and data links."""
from __future__ import annotations

import numpy as np
import pandas as pd

from data_sources.base import Entity
from data_sources.demo.base import Feed, FrameBuilder, grid
from data_sources.demo.catalogue import gnss_centre, gnss_sites, link_sites, u
from data_sources.demo.noise import DAY, HOUR, LOCAL_OFFSET, LocalTime, bump, episodes, fractal_noise, in_episode, stable_key, uniform, value_noise

LOCAL_MIDNIGHT = (DAY - LOCAL_OFFSET) % DAY  # local 00:00 in seconds past UTC midnight


class GnssFeed(Feed):
    """VNGEONET: 65 CORS stations (24 geodetic, 41 network-RTK) and the Hà Nội control centre.

    ``up`` (1/0) for every station each hour; ``availability_pct`` of each station's
    stream per local day (stamped at the day's 00:00 local, published when the day
    ends); ``users_connected`` to the caster each hour, on the control centre.
    """

    name = "gnss"
    default_interval = HOUR
    takes_interval = True
    takes_stations = True

    def __init__(self, seed: int, interval: int | None = None, stations: int | None = None) -> None:
        super().__init__(seed, interval, stations)
        self.sites = gnss_sites(stations or 65)
        self.centre = gnss_centre()
        self.codes = np.array([s.code for s in self.sites], dtype=object)
        self.keys = np.array([stable_key(s.code) for s in self.sites], dtype=np.uint64)
        chronic = np.array([u(s.code, 70) < 0.06 for s in self.sites])
        self.p_down = np.where(chronic, 0.3, 0.05)

    def entities(self) -> list[Entity]:
        return [self.centre] + [s.entity for s in self.sites]

    def rows_per_step(self) -> int:
        return len(self.sites) + 1 + len(self.sites) * self.step // DAY + 1

    def up(self, i: np.ndarray, t: np.ndarray) -> np.ndarray:
        k = self.keys[i]
        down = in_episode(t, 2 * DAY, self.p_down[i], 2 * HOUR, 30 * HOUR, self.seed, k, 501)
        down |= in_episode(t, 30 * DAY, 0.04, 2 * DAY, 6 * DAY, self.seed, k, 502)
        return ~down

    def frame(self, since: int, until: int) -> pd.DataFrame:
        out = FrameBuilder()
        n = len(self.sites)
        hours = grid(since, until, self.step)
        if len(hours):
            i = np.repeat(np.arange(n), len(hours))
            t = np.tile(hours, n)
            out.add(self.codes[i], "up", t, self.up(i, t).astype(np.float64), "", 0, 0)
            lt = LocalTime(hours)
            work = np.where(lt.weekday < 5, 1.0, 0.35)
            users = (140 + 1100 * work * (bump(lt.hour, 10.0, 2.2) + 0.85 * bump(lt.hour, 15.0, 2.0)).clip(0, 1)
                     ) * np.exp(0.12 * fractal_noise(hours, (DAY, 3 * HOUR), self.seed, stable_key(self.centre.code), 504))
            out.add(np.full(len(hours), self.centre.code, dtype=object), "users_connected", hours, users, "", 0, 0)
        days_published = grid(since, until, DAY, LOCAL_MIDNIGHT)
        if len(days_published):
            starts = days_published - DAY
            i = np.repeat(np.arange(n), len(starts))
            d = np.tile(starts, n)
            up_hours = np.zeros(len(d))
            for k in range(24):
                up_hours += self.up(i, d + k * HOUR)
            loss = 0.002 + 0.013 * uniform(self.seed, self.keys[i], 503, d // DAY)
            availability = 100.0 * up_hours / 24.0 * (1.0 - loss)
            out.add(self.codes[i], "availability_pct", d, availability, "%", 0, 2)
        return out.frame()


class LinksFeed(Feed):
    """Data links to forecasting centres, radars, monitoring centres and the ministry's systems.

    ``up`` (1/0) every interval; ``latency_ms`` only while the link is up.
    """

    name = "hydromet_links"
    default_interval = 300
    takes_interval = True
    takes_stations = True

    def __init__(self, seed: int, interval: int | None = None, stations: int | None = None) -> None:
        super().__init__(seed, interval, stations)
        self.sites = link_sites(stations)
        self.codes = np.array([s.code for s in self.sites], dtype=object)
        self.keys = np.array([stable_key(s.code) for s in self.sites], dtype=np.uint64)
        self.latency = np.array([s.params["latency"] for s in self.sites])
        flaky = np.array([u(s.code, 71) < 0.15 for s in self.sites])
        self.p_out = np.where(flaky, 0.15, 0.03)

    def entities(self) -> list[Entity]:
        return [s.entity for s in self.sites]

    def rows_per_step(self) -> int:
        return 2 * len(self.sites)

    def frame(self, since: int, until: int) -> pd.DataFrame:
        out = FrameBuilder()
        ts = grid(since, until, self.step)
        if not len(ts):
            return out.frame()
        n = len(self.sites)
        i = np.repeat(np.arange(n), len(ts))
        t = np.tile(ts, n)
        k = self.keys[i]
        down = in_episode(t, DAY, self.p_out[i], 5 * 60, 90 * 60, self.seed, k, 511)
        down |= in_episode(t, 7 * DAY, 0.05, 3 * HOUR, 20 * HOUR, self.seed, k, 512)
        up = ~down
        out.add(self.codes[i], "up", t, up.astype(np.float64), "", 0, 0)
        lt = LocalTime(t[up])
        tu, ku = t[up], k[up]
        env, strength = episodes(tu, DAY, 0.08, 20 * 60, 3 * HOUR, self.seed, ku, 513)
        busy = 1.0 + 0.35 * bump(lt.hour, 10.0, 2.5) * (lt.weekday < 5)
        latency = (self.latency[i[up]] * busy * np.exp(0.25 * value_noise(tu, 1800, self.seed, ku, 514))
                   * (1.0 + env * (3.0 + 15.0 * strength)) * (1.0 + 0.1 * uniform(self.seed, ku, 515, tu)))
        out.add(self.codes[i[up]], "latency_ms", tu, latency, "ms", 0, 1)
        return out.frame()
