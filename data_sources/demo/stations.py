"""Automatic monitoring stations: ambient air, surface water, wastewater, stack emissions."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from data_sources.base import Entity
from data_sources.demo.base import MetricSpec, StationFeed
from data_sources.demo.catalogue import (
    EMISSION_PROFILES,
    HIGHLAND_OFFSET,
    PM25_BASE,
    Site,
    air_sites,
    emission_sites,
    u,
    wastewater_sites,
    water_sites,
)
from data_sources.demo.noise import DAY, HOUR, LocalTime, bump, episodes, fractal_noise, in_episode, uniform, value_noise
from reference.provinces import province

UG = "µg/m³"
MGL = "mg/L"
MGNM3 = "mg/Nm³"


def site_array(sites: tuple[Site, ...], fn: Callable[[Site], Any], dtype: Any = np.float64) -> np.ndarray:
    return np.array([fn(s) for s in sites], dtype=dtype)


def lowland_temperature(lat: np.ndarray, lt: LocalTime) -> np.ndarray:
    """Daily mean air temperature (°C) near sea level by latitude and season."""
    annual = 27.8 - 0.35 * np.maximum(lat - 11.0, 0.0)
    amplitude = np.clip((lat - 10.0) * 0.6, 1.0, 6.5)
    return annual - amplitude * lt.seasonal(15.0)


def rainy_season(lat: np.ndarray, lt: LocalTime) -> np.ndarray:
    """0..1: how deep into the rainy season (north Jul–Aug, centre Oct–Nov, south Sep)."""
    peak = np.where(lat >= 19.0, 205.0, np.where(lat >= 12.5, 290.0, 255.0))
    return np.clip(np.cos(2.0 * np.pi * (lt.doy - peak) / 365.25), 0.0, 1.0)


# --------------------------------------------------------------------------- air


class AirFeed(StationFeed):
    """Ambient air: PM2.5, PM10, NO2, SO2, CO, O3 (µg/m³), temperature and humidity."""

    name = "air"
    default_interval = 300
    metrics = (
        MetricSpec("PM2.5", UG, 1, zero=0.0, span=0.0, full_scale=1000.0),
        MetricSpec("PM10", UG, 1, zero=0.0, span=0.0, full_scale=1000.0),
        MetricSpec("NO2", UG, 1, zero=0.0, span=400.0, full_scale=3760.0),
        MetricSpec("SO2", UG, 1, zero=0.0, span=500.0, full_scale=2620.0),
        MetricSpec("CO", UG, 0, zero=0.0, span=40000.0, full_scale=57250.0),
        MetricSpec("O3", UG, 1, zero=0.0, span=400.0, full_scale=1960.0),
        MetricSpec("Temp", "°C", 1, calibrated=False, full_scale=99.9),
        MetricSpec("RH", "%", 1, calibrated=False, full_scale=100.0),
    )

    def build_sites(self) -> tuple[Site, ...]:
        return air_sites(self.stations or 80)

    def __init__(self, seed: int, interval: int | None = None, stations: int | None = None) -> None:
        super().__init__(seed, interval, stations)
        s = self.sites
        kind = [x.params["site_type"] for x in s]
        pick = lambda table: np.array([table[k] for k in kind], dtype=np.float64)  # noqa: E731
        jitter = lambda n, lo=0.85, hi=1.15: site_array(s, lambda x: lo + (hi - lo) * u(x.code, n))  # noqa: E731
        big_city = site_array(s, lambda x: 1.25 if x.province in {"HNI", "HCM"} else 1.0)
        coal = site_array(s, lambda x: 1.5 if x.province in {"QNH", "HPG", "TNN"} else 1.0)
        self.lat = site_array(s, lambda x: province(x.province).lat)
        self.base25 = site_array(s, lambda x: PM25_BASE[x.province]) * pick(
            {"urban": 1.0, "traffic": 1.12, "industrial": 1.2, "background": 0.72}) * jitter(10)
        self.winter = np.clip((self.lat - 12.0) / 10.0, 0.0, 1.0) * 0.42
        self.dry = np.where(self.lat < 14.0, 0.18, 0.0)
        self.pm_ratio = jitter(11, 1.45, 1.9)
        self.no2 = pick({"urban": 30, "traffic": 46, "industrial": 28, "background": 10}) * big_city * jitter(12)
        self.co = pick({"urban": 1300, "traffic": 2100, "industrial": 1200, "background": 450}) * big_city * jitter(13)
        self.so2 = pick({"urban": 9, "traffic": 11, "industrial": 26, "background": 4}) * coal * jitter(14)
        self.o3_bg = pick({"urban": 24, "traffic": 14, "industrial": 20, "background": 34}) * jitter(15)
        self.o3_photo = pick({"urban": 95, "traffic": 80, "industrial": 90, "background": 110}) * jitter(16)
        self.p_episode = pick({"urban": 0.05, "traffic": 0.07, "industrial": 0.11, "background": 0.025})
        self.industrial = pick({"urban": 0.0, "traffic": 0.0, "industrial": 1.0, "background": 0.0})
        self.traffic = pick({"urban": 0.6, "traffic": 1.0, "industrial": 0.4, "background": 0.2})
        self.temp_offset = site_array(s, lambda x: HIGHLAND_OFFSET.get(x.params["place"], 0.0))

    def model(self, i: np.ndarray, t: np.ndarray, lt: LocalTime) -> dict[str, np.ndarray]:
        seed, sk, pk, h = self.seed, self.site_key[i], self.prov_key[i], lt.hour
        lat = self.lat[i]
        season = 1.0 + self.winter[i] * lt.seasonal(10.0) + self.dry[i] * lt.seasonal(45.0)
        # Weather over the province: multi-day haze build-ups and clean-outs.
        synoptic = np.exp(0.34 * fractal_noise(t, (2 * DAY, DAY // 2), seed, pk, 101))
        cloud = 0.5 + 0.5 * value_noise(t, DAY, seed, pk, 102)
        micro = np.exp(0.12 * value_noise(t, HOUR, seed, sk, 103)) * (1.0 + 0.04 * (uniform(seed, sk, 104, t) - 0.5))
        env, strength = episodes(t, DAY, self.p_episode[i], 4 * HOUR, 30 * HOUR, seed, sk, 105)
        episode = 1.0 + env * (0.8 + 3.2 * strength)
        weekday = lt.weekday
        traffic_day = np.where(weekday == 6, 0.75, np.where(weekday == 5, 0.9, 1.0))
        diurnal_pm = (0.85 + 0.25 * bump(h, 7.5, 1.6) + 0.35 * bump(h, 20.5, 2.5) + 0.15 * bump(h, 1.0, 3.0)
                      - 0.15 * bump(h, 14.0, 2.5))
        traffic = (0.45 + 0.9 * bump(h, 7.75, 1.3) + 0.8 * bump(h, 18.0, 1.8) + 0.25 * bump(h, 12.0, 2.5)) * traffic_day
        pm25 = self.base25[i] * season * synoptic * diurnal_pm * micro * episode
        pm25 = pm25 * (1.0 - 0.08 * self.traffic[i] * (1.0 - traffic_day))
        pm10 = pm25 * self.pm_ratio[i] * (1.0 + 0.1 * value_noise(t, 2 * HOUR, seed, sk, 106))
        micro2 = np.exp(0.15 * value_noise(t, HOUR, seed, sk, 107))
        no2 = self.no2[i] * traffic * synoptic**0.6 * micro2 * (1.0 + 0.45 * (episode - 1.0))
        co = 380.0 + self.co[i] * traffic * synoptic**0.5 * micro * (1.0 + 0.6 * (episode - 1.0))
        plume = np.exp(0.45 * value_noise(t, 1800, seed, sk, 108))
        so2 = self.so2[i] * (0.7 + 0.3 * bump(h, 11.0, 4.0)) * synoptic**0.3 * plume
        so2 = so2 * (1.0 + self.industrial[i] * (episode - 1.0) * 1.6)
        o3_env, o3_strength = episodes(t, 3 * DAY, 0.12, DAY, 3 * DAY, seed, pk, 109)
        sunny = (0.5 + 0.5 * (1.0 - cloud)) * (1.0 + o3_env * (0.4 + 0.9 * o3_strength))
        o3_season = 1.0 + 0.15 * lt.seasonal(np.where(lat >= 16.0, 260.0, 80.0))
        titration = 1.0 - 0.22 * self.traffic[i] * traffic / 1.4
        o3 = (self.o3_bg[i] + self.o3_photo[i] * bump(h, 14.0, 2.6) * sunny * o3_season) * titration
        o3 = o3 * np.exp(0.1 * value_noise(t, HOUR, seed, sk, 110))
        tmean = lowland_temperature(lat, lt) + self.temp_offset[i] + 1.8 * value_noise(t, DAY, seed, pk, 111)
        temp = tmean + 3.8 * np.cos(2.0 * np.pi * (h - 14.5) / 24.0) * (1.2 - 0.4 * cloud) + 0.3 * value_noise(t, HOUR, seed, sk, 112)
        rh = 78.0 - 3.0 * (temp - tmean) + 10.0 * cloud + 4.0 * value_noise(t, 6 * HOUR, seed, pk, 113)
        rh = rh + 6.0 * np.clip(lt.seasonal(80.0), 0.0, 1.0) * (lat > 19.0) - 8.0 * np.clip(lt.seasonal(30.0), 0.0, 1.0) * (lat < 14.0)
        return {
            "PM2.5": np.maximum(pm25, 1.0),
            "PM10": np.maximum(pm10, 2.0),
            "NO2": np.maximum(no2, 1.0),
            "SO2": np.maximum(so2, 0.5),
            "CO": np.maximum(co, 150.0),
            "O3": np.maximum(o3, 1.0),
            "Temp": temp,
            "RH": np.clip(rh, 30.0, 99.0),
        }


# --------------------------------------------------------------------------- surface water

#            clean   moderate polluted heavy
_W = {
    "BOD5": (2.8, 5.5, 11.0, 24.0),
    "TOC": (3.0, 5.0, 9.0, 18.0),
    "N-NH4": (0.12, 0.45, 1.6, 6.5),
    "N-NO3": (0.8, 1.6, 2.8, 4.5),
    "N-NO2": (0.012, 0.04, 0.11, 0.28),
    "P-PO4": (0.06, 0.16, 0.38, 1.3),
    "Coliform": (1400.0, 4200.0, 8500.0, 38000.0),
    "DO%": (96.0, 82.0, 56.0, 24.0),
    "pH": (7.4, 7.25, 7.05, 6.95),
    "p_incident": (0.08, 0.12, 0.2, 0.3),
    "photo": (0.06, 0.1, 0.18, 0.25),
}
_TURBID = {"Sông Hồng": 3.0, "Sông Đà": 1.3, "Sông Lô": 1.6, "Sông Tiền": 2.0, "Sông Hậu": 2.0, "Sông Cổ Chiên": 1.8,
           "Sông Đáy": 1.4, "Sông Đuống": 2.2, "Sông Thái Bình": 1.6, "Sông Vàm Cỏ Đông": 1.5, "Hồ Xuân Hương": 0.5}


def do_saturation(temp: np.ndarray) -> np.ndarray:
    """Saturated dissolved oxygen (mg/L) at ``temp`` °C (the formula of Decision 1460/QĐ-TCMT)."""
    return 14.652 - 0.41022 * temp + 0.0079910 * temp**2 - 0.000077774 * temp**3


class WaterFeed(StationFeed):
    """Surface water quality: the parameters of VN_WQI groups I, IV and V plus turbidity/TSS."""

    name = "water"
    default_interval = 900
    calibration_minutes = 120
    metrics = (
        MetricSpec("pH", "", 2, zero=4.01, span=10.01, full_scale=14.0),
        MetricSpec("DO", MGL, 2, zero=0.0, span=8.26, full_scale=20.0),
        MetricSpec("Temp", "°C", 1, calibrated=False, full_scale=60.0),
        MetricSpec("BOD5", MGL, 1, zero=0.0, span=50.0, full_scale=500.0),
        MetricSpec("COD", MGL, 1, zero=0.0, span=100.0, full_scale=1000.0),
        MetricSpec("TOC", MGL, 1, zero=0.0, span=50.0, full_scale=500.0),
        MetricSpec("N-NH4", MGL, 2, zero=0.0, span=10.0, full_scale=100.0),
        MetricSpec("N-NO3", MGL, 2, zero=0.0, span=10.0, full_scale=100.0),
        MetricSpec("N-NO2", MGL, 3, zero=0.0, span=1.0, full_scale=10.0),
        MetricSpec("P-PO4", MGL, 3, zero=0.0, span=2.0, full_scale=20.0),
        MetricSpec("Coliform", "MPN/100mL", 0, calibrated=False, full_scale=240000.0),
        MetricSpec("Turbidity", "NTU", 1, zero=0.0, span=100.0, full_scale=4000.0),
        MetricSpec("TSS", MGL, 1, zero=0.0, span=100.0, full_scale=2000.0),
    )

    def build_sites(self) -> tuple[Site, ...]:
        return water_sites(self.stations)

    def __init__(self, seed: int, interval: int | None = None, stations: int | None = None) -> None:
        super().__init__(seed, interval, stations)
        s = self.sites
        self.cls = site_array(s, lambda x: x.params["class"], np.int64)
        self.lat = site_array(s, lambda x: province(x.province).lat)
        self.cod_ratio = site_array(s, lambda x: 2.0 + 0.6 * u(x.code, 20))
        self.level = site_array(s, lambda x: 0.8 + 0.4 * u(x.code, 21))
        self.tss = site_array(s, lambda x: (22.0 + 20.0 * u(x.code, 22)) * _TURBID.get(x.entity.meta["water_body"], 1.0))
        self.turb_ratio = site_array(s, lambda x: 0.6 + 0.5 * u(x.code, 23))
        self.temp_offset = site_array(s, lambda x: HIGHLAND_OFFSET.get(x.params["place"], 0.0))

    def model(self, i: np.ndarray, t: np.ndarray, lt: LocalTime) -> dict[str, np.ndarray]:
        seed, sk, pk, h, c = self.seed, self.site_key[i], self.prov_key[i], lt.hour, self.cls[i]
        lat = self.lat[i]
        table = {k: np.asarray(v)[c] for k, v in _W.items()}
        rain = rainy_season(lat, lt)
        dry = np.clip(-np.cos(2.0 * np.pi * (lt.doy - np.where(lat >= 19.0, 205.0, 255.0)) / 365.25), 0.0, 1.0)
        dilution = (1.0 - 0.22 * rain + 0.18 * dry) * self.level[i]
        inc_env, inc_s = episodes(t, 5 * DAY, table["p_incident"], 6 * HOUR, 48 * HOUR, seed, sk, 201)
        incident = 1.0 + inc_env * (1.0 + 3.0 * inc_s)
        storm_env, storm_s = episodes(t, 3 * DAY, 0.06 + 0.3 * rain, 4 * HOUR, 24 * HOUR, seed, pk, 202)
        storm = 1.0 + storm_env * (2.0 + 5.0 * storm_s)

        def noise(salt: int, sigma: float = 0.16) -> np.ndarray:
            return np.exp(sigma * fractal_noise(t, (6 * HOUR, 90 * 60), seed, sk, salt))

        daily = np.cos(2.0 * np.pi * (h - 15.0) / 24.0)
        temp = (lowland_temperature(lat, lt) + 1.2 + self.temp_offset[i] + 1.0 * np.cos(2.0 * np.pi * (h - 16.0) / 24.0)
                + 0.8 * value_noise(t, DAY, seed, pk, 203))
        do_pct = table["DO%"] * (1.0 + table["photo"] * daily) * (1.0 - 0.55 * inc_env) * noise(204, 0.08)
        do = np.clip(do_pct, 4.0, 160.0) / 100.0 * do_saturation(temp)
        ph = table["pH"] + 0.15 * daily * (1.0 + c / 2.0) + 0.12 * value_noise(t, 3 * HOUR, seed, sk, 205)
        ph = ph - 0.35 * inc_env * (inc_s > 0.7)
        bod = table["BOD5"] * dilution * incident * noise(206)
        cod = bod * self.cod_ratio[i] * noise(207, 0.08)
        toc = table["TOC"] * dilution * (1.0 + 0.8 * (incident - 1.0)) * noise(208)
        nh4 = table["N-NH4"] * dilution * incident * noise(209, 0.2)
        no3 = table["N-NO3"] * (1.0 + 0.3 * rain) * noise(210)
        no2 = table["N-NO2"] * (1.0 + 0.5 * (incident - 1.0)) * noise(211, 0.2)
        po4 = table["P-PO4"] * dilution * incident * noise(212, 0.2)
        coliform = (table["Coliform"] * (1.0 + 0.6 * rain) * (1.0 + 0.5 * (storm - 1.0)) * (1.0 + 0.7 * (incident - 1.0))
                    * noise(213, 0.35))
        tss = self.tss[i] * (1.0 + 1.2 * rain) * storm * noise(214, 0.2)
        turbidity = tss * self.turb_ratio[i] * noise(215, 0.08)
        return {
            "pH": np.clip(ph, 5.0, 9.5), "DO": do, "Temp": temp, "BOD5": bod, "COD": cod, "TOC": toc,
            "N-NH4": nh4, "N-NO3": no3, "N-NO2": no2, "P-PO4": po4, "Coliform": np.round(coliform, -1),
            "Turbidity": turbidity, "TSS": tss,
        }


# --------------------------------------------------------------------------- wastewater

_FLOW_SHAPE = {  # share of the day's flow by hour: a function of the hour
    "industrial_park": lambda h: 0.85 + 0.3 * bump(h, 14.0, 5.0),
    "municipal_wwtp": lambda h: 0.72 + 0.38 * bump(h, 9.0, 2.5) + 0.32 * bump(h, 20.0, 3.0),
    "mining": lambda h: 0.9 + 0.2 * bump(h, 12.0, 6.0),
}


def _two_shifts(h: np.ndarray) -> np.ndarray:
    return 0.35 + 1.05 * ((h >= 6.0) & (h < 22.0))


class WastewaterFeed(StationFeed):
    """Industrial and municipal wastewater outfalls, against QCVN 40:2011 × Kq × Kf."""

    name = "wastewater"
    default_interval = 300
    metrics = (
        MetricSpec("pH", "", 2, zero=4.01, span=7.0, full_scale=14.0),
        MetricSpec("COD", MGL, 1, zero=0.0, span=100.0, full_scale=1000.0),
        MetricSpec("BOD5", MGL, 1, zero=0.0, span=50.0, full_scale=500.0),
        MetricSpec("TSS", MGL, 1, zero=0.0, span=100.0, full_scale=1000.0),
        MetricSpec("NH4+", MGL, 2, zero=0.0, span=10.0, full_scale=100.0),
        MetricSpec("Temp", "°C", 1, calibrated=False, full_scale=100.0),
        MetricSpec("Flow", "m³/h", 1, calibrated=False, full_scale=9999.0),
    )

    def build_sites(self) -> tuple[Site, ...]:
        self.facilities, sites = wastewater_sites(self.stations)
        return sites

    def extra_entities(self) -> list[Entity]:
        return list(self.facilities)

    def __init__(self, seed: int, interval: int | None = None, stations: int | None = None) -> None:
        super().__init__(seed, interval, stations)
        s = self.sites
        level_range = {"good": (0.3, 0.55), "marginal": (0.55, 0.82), "poor": (0.78, 0.98)}

        def level(n: int) -> np.ndarray:
            return site_array(s, lambda x: level_range[x.params["compliance"]][0] + (
                level_range[x.params["compliance"]][1] - level_range[x.params["compliance"]][0]) * u(x.code, n))

        self.lat = site_array(s, lambda x: province(x.province).lat)
        self.lim = {m: site_array(s, lambda x, m=m: x.params["limits"][m]) for m in ("COD", "BOD5", "TSS", "NH4+")}
        self.lvl_cod, self.lvl_bod, self.lvl_tss, self.lvl_nh4 = level(30), level(31), level(32), level(33)
        self.p_upset = site_array(s, lambda x: {"good": 0.02, "marginal": 0.05, "poor": 0.12}[x.params["compliance"]])
        self.p_ph = site_array(s, lambda x: {"good": 0.04, "marginal": 0.08, "poor": 0.18}[x.params["compliance"]])
        self.flow = site_array(s, lambda x: x.params["flow"] / 24.0)
        self.shape = site_array(s, lambda x: {"industrial_park": 0, "municipal_wwtp": 1, "mining": 2}.get(x.params["sector"], 3), np.int64)
        self.heat = site_array(s, lambda x: 1.0 + 5.0 * u(x.code, 34))
        self.ph_base = site_array(s, lambda x: 6.9 + 0.8 * u(x.code, 35))

    def model(self, i: np.ndarray, t: np.ndarray, lt: LocalTime) -> dict[str, np.ndarray]:
        seed, sk, h = self.seed, self.site_key[i], lt.hour

        def noise(salt: int, sigma: float = 0.12) -> np.ndarray:
            return np.exp(sigma * fractal_noise(t, (4 * HOUR, HOUR), seed, sk, salt))

        env, strength = episodes(t, DAY, self.p_upset[i], HOUR, 10 * HOUR, seed, sk, 301)
        upset = 1.0 + env * (0.6 + 2.4 * strength)
        nit_env, nit_s = episodes(t, 2 * DAY, self.p_upset[i], 2 * HOUR, 12 * HOUR, seed, sk, 302)
        cod = self.lim["COD"][i] * self.lvl_cod[i] * noise(303) * upset
        bod = self.lim["BOD5"][i] * self.lvl_bod[i] * noise(304) * upset
        tss = self.lim["TSS"][i] * self.lvl_tss[i] * noise(305, 0.18) * (1.0 + 0.8 * (upset - 1.0))
        nh4 = self.lim["NH4+"][i] * self.lvl_nh4[i] * noise(306, 0.18) * (1.0 + nit_env * (0.8 + 2.2 * nit_s))
        ph_env, ph_s = episodes(t, 7 * DAY, self.p_ph[i], HOUR, 5 * HOUR, seed, sk, 307)
        shift = np.where(ph_s < 0.5, -(1.6 + 3.0 * ph_s), 1.6 + 3.0 * (ph_s - 0.5))
        ph = self.ph_base[i] + 0.18 * value_noise(t, 2 * HOUR, seed, sk, 308) + ph_env * shift
        north = self.lat[i] >= 19.0
        temp = (29.0 - np.where(north, 3.5, 1.0) * lt.seasonal(15.0) + self.heat[i]
                + 0.8 * np.cos(2.0 * np.pi * (h - 15.0) / 24.0) + 0.3 * value_noise(t, HOUR, seed, sk, 309))
        shape_index = self.shape[i]
        shape = np.select(
            [shape_index == 0, shape_index == 1, shape_index == 2],
            [_FLOW_SHAPE["industrial_park"](h), _FLOW_SHAPE["municipal_wwtp"](h), _FLOW_SHAPE["mining"](h)],
            _two_shifts(h),
        )
        sunday = np.where((lt.weekday == 6) & (shape_index != 1), 0.65, 1.0)
        flow = self.flow[i] * shape * sunday * noise(310, 0.08)
        return {"pH": np.clip(ph, 2.0, 12.5), "COD": cod, "BOD5": bod, "TSS": tss, "NH4+": nh4, "Temp": temp, "Flow": flow}


# --------------------------------------------------------------------------- emission


class EmissionFeed(StationFeed):
    """Continuous stack emission monitoring (CEMS) of power plants, cement, steel, chemicals."""

    name = "emission"
    default_interval = 300
    calibration_minutes = 15
    calibration_daily = True
    metrics = (
        MetricSpec("Dust", MGNM3, 1, zero=0.0, span=150.0, full_scale=2000.0),
        MetricSpec("SO2", MGNM3, 1, zero=0.0, span=800.0, full_scale=5000.0),
        MetricSpec("NOx", MGNM3, 1, zero=0.0, span=800.0, full_scale=5000.0),
        MetricSpec("CO", MGNM3, 1, zero=0.0, span=1000.0, full_scale=5000.0),
        MetricSpec("O2", "%", 2, zero=0.0, span=20.9, full_scale=25.0),
        MetricSpec("Temp", "°C", 1, calibrated=False, full_scale=600.0),
        MetricSpec("Flow", "Nm³/h", 0, calibrated=False, full_scale=9.99e6),
    )

    def build_sites(self) -> tuple[Site, ...]:
        self.plants, sites = emission_sites(self.stations)
        return sites

    def extra_entities(self) -> list[Entity]:
        return list(self.plants)

    def __init__(self, seed: int, interval: int | None = None, stations: int | None = None) -> None:
        super().__init__(seed, interval, stations)
        s = self.sites
        prof = {m: site_array(s, lambda x, m=m: EMISSION_PROFILES[x.params["sector"]][m])
                for m in ("Dust", "SO2", "NOx", "CO", "O2", "Temp", "Flow")}
        level_range = {"good": (0.55, 0.85), "marginal": (0.8, 1.1), "poor": (1.0, 1.35)}
        lvl = site_array(s, lambda x: level_range[x.params["compliance"]][0] + (
            level_range[x.params["compliance"]][1] - level_range[x.params["compliance"]][0]) * u(x.code, 40))
        self.base = {m: prof[m] * (lvl if m in ("Dust", "SO2", "NOx") else 1.0) for m in prof}
        self.flow_scale = site_array(s, lambda x: 0.6 + 0.8 * u(x.code, 41))
        self.power = site_array(s, lambda x: x.params["sector"] == "coal_power", bool)
        self.p_fail = site_array(s, lambda x: {"good": 0.03, "marginal": 0.07, "poor": 0.14}[x.params["compliance"]])
        self.p_shut = np.where(self.power, 0.07, 0.04)

    def model(self, i: np.ndarray, t: np.ndarray, lt: LocalTime) -> dict[str, np.ndarray]:
        seed, sk, h = self.seed, self.site_key[i], lt.hour

        def noise(salt: int, sigma: float) -> np.ndarray:
            return np.exp(sigma * fractal_noise(t, (2 * HOUR, 30 * 60), seed, sk, salt))

        b = {m: v[i] for m, v in self.base.items()}
        demand = 0.78 + 0.12 * bump(h, 10.5, 2.5) + 0.18 * bump(h, 19.5, 2.0) - 0.12 * bump(h, 3.0, 2.5)
        load = np.where(self.power[i], demand, 0.93) + 0.04 * value_noise(t, HOUR, seed, sk, 401)
        esp_env, esp_s = episodes(t, 3 * DAY, self.p_fail[i], HOUR, 8 * HOUR, seed, sk, 402)
        fgd_env, fgd_s = episodes(t, 3 * DAY, self.p_fail[i], HOUR, 10 * HOUR, seed, sk, 403)
        dust = b["Dust"] * noise(404, 0.2) * (1.0 + esp_env * (2.0 + 6.0 * esp_s))
        so2 = b["SO2"] * (0.9 + 0.2 * value_noise(t, DAY, seed, sk, 405)) * noise(406, 0.1) * (1.0 + fgd_env * (0.6 + 1.8 * fgd_s))
        nox = b["NOx"] * (0.8 + 0.3 * load) * noise(407, 0.1)
        co = b["CO"] * noise(408, 0.35) * (1.0 + 2.0 * np.clip(1.0 - load, 0.0, 1.0))
        o2 = b["O2"] + 2.5 * (1.0 - load) + 0.3 * value_noise(t, 1800, seed, sk, 409)
        temp = b["Temp"] + 12.0 * (load - 0.85) + 2.0 * value_noise(t, HOUR, seed, sk, 410)
        flow = b["Flow"] * self.flow_scale[i] * load * noise(411, 0.03)
        off = in_episode(t, 12 * DAY, self.p_shut[i], DAY, 4 * DAY, seed, sk, 412)
        if off.any():
            idle = 0.5 + 0.5 * uniform(seed, sk, 413, t)
            dust = np.where(off, 0.4 * idle, dust)
            so2 = np.where(off, 2.0 * idle, so2)
            nox = np.where(off, 4.0 * idle, nox)
            co = np.where(off, 3.0 * idle, co)
            o2 = np.where(off, 20.6 + 0.3 * idle, o2)
            temp = np.where(off, 31.0 + 4.0 * idle, temp)
            flow = np.where(off, b["Flow"] * 0.015 * idle, flow)
        return {"Dust": dust, "SO2": so2, "NOx": nox, "CO": co, "O2": np.clip(o2, 2.0, 20.95), "Temp": temp, "Flow": flow}
