"""VN_AQI, Vietnam's air quality index (Decision 1459/QĐ-TCMT of 12 November 2019).

Ported from the Decision's tables as transcribed in ``/work/shared/domain/air-quality-vn-aqi.md``.
Pure functions, no I/O. All concentrations are in µg/m³ — CO too (10 mg/m³ = 10,000 µg/m³).

Sub-index
    For a pollutant with concentration C and breakpoints BP_i ≤ C ≤ BP_{i+1}::

        AQI_x = (I_{i+1} − I_i) / (BP_{i+1} − BP_i) × (C − BP_i) + I_i

    exactly, with no rounding of band edges (PM2.5 25 → 50, 25.01 → 50.02). The top row is
    "from this value up": anything above it gives 500. O3 8-hour means above 400 µg/m³ have
    no 8h sub-index (the Decision switches to the 1-hour value). Negative, infinite or
    missing concentrations have no sub-index (``None`` here, NaN in the array functions).

AQI of a station
    The largest sub-index, rounded half up to an integer (59.5 → 60; Python's ``round``
    would give banker's rounding). It needs PM10 or PM2.5: without a sub-index for either
    there is no AQI (``None``). The dominant pollutant is the one with the largest
    sub-index; ties go to the first in :data:`POLLUTANTS` (PM2.5, PM10, O3, NO2, SO2, CO).

Hourly AQI (AQI^h)
    SO2, CO, NO2 and O3 (1h column) use the hour's 1-hour mean; PM10 and PM2.5 use the
    NowCast of the last 12 hourly means (:func:`nowcast`, written exactly as the Decision
    states it — see its docstring for what that means when hours are missing).

Daily AQI (AQI^d)
    PM10, PM2.5: mean of the day's hourly means present; SO2, NO2, CO: highest 1-hour mean;
    O3: the larger of the sub-index of the highest 1-hour mean (1h column) and that of the
    highest 8-hour rolling mean (8h column, not used above 400). The day is the Decision's
    hours 01:00..24:00 local time, i.e. the hours *ending* at 01:00..24:00. The store's
    hourly roll-ups label an hour by its *start*, so hour 00:00–01:00 (hour_ts = 00:00) is
    the Decision's hour "01:00"; :func:`daily_aqi_frame` takes ``hour_label`` to say which.
    Two choices the Decision's table does not make, made here and configurable:
    the 8-hour rolling means run within the day (17 windows, 01–08 … 17–24) and a window
    counts when at least ``o3_8h_min_hours`` (default 6 of 8, i.e. 75 %) hours are present;
    the 24-hour PM mean is the mean of the hours present, with no completeness threshold.

Province value (a choice; the Decision defines AQI per station only)
    **Province AQI = the highest AQI among the province's stations for that hour (or day)**
    — the worst-station rule: it is what a resident near the worst station experiences, it
    never hides a hazardous station behind clean ones, and it matches the category people
    see on the public station map. The median of the stations' AQI is returned next to it
    (rounded half up) as the "typical" value, with the station count and the worst station,
    so a wall display can say "worst 182 (HNI-AIR-07), median 96, 12 stations".
    See :func:`province_aqi` and :func:`province_aqi_frame`.

Many stations at once
    :func:`hourly_aqi_frame` and :func:`daily_aqi_frame` take long data
    ``[station, hour_ts, pollutant, value]``, pivot it to (station × hour) matrices and
    compute everything with numpy. They perform the same floating-point operations in the
    same order as the scalar functions, so their results are *identical* (bit for bit) to
    calling :func:`hourly_aqi` / :func:`daily_aqi` station by station; the tests check that.

Categories: :data:`CATEGORIES` with the Decision's official colours; always show the
category text beside the colour (colour alone fails colour-blind viewers).
"""
from __future__ import annotations

import bisect
import math
import statistics
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

# --------------------------------------------------------------------------------------
# Tables (Decision 1459/QĐ-TCMT, table of breakpoints; µg/m³)
# --------------------------------------------------------------------------------------

#: I_i, the index value at each breakpoint row (rows 1..8).
INDEX_LEVELS: tuple[float, ...] = (0.0, 50.0, 100.0, 150.0, 200.0, 300.0, 400.0, 500.0)

#: Breakpoints BP_i per column, rows 1..8. Row 8 is "from this value up" (→ 500).
#: O3 8h stops at row 6 (400 → 300): above 400 the 8h sub-index is not used.
BREAKPOINTS: Mapping[str, tuple[float, ...]] = {
    "o3_1h": (0.0, 160.0, 200.0, 300.0, 400.0, 800.0, 1000.0, 1200.0),
    "o3_8h": (0.0, 100.0, 120.0, 170.0, 210.0, 400.0),
    "co": (0.0, 10000.0, 30000.0, 45000.0, 60000.0, 90000.0, 120000.0, 150000.0),
    "so2": (0.0, 125.0, 350.0, 550.0, 800.0, 1600.0, 2100.0, 2630.0),
    "no2": (0.0, 100.0, 200.0, 700.0, 1200.0, 2350.0, 3100.0, 3850.0),
    "pm10": (0.0, 50.0, 150.0, 250.0, 350.0, 420.0, 500.0, 600.0),
    "pm25": (0.0, 25.0, 50.0, 80.0, 150.0, 250.0, 350.0, 500.0),
}
#: Columns whose last row is "from this value up" (above it → 500). O3 8h is not one.
_OPEN_TOP = frozenset(BREAKPOINTS) - {"o3_8h"}

#: Pollutants of a station AQI, in tie-break order for the dominant pollutant.
POLLUTANTS: tuple[str, ...] = ("pm25", "pm10", "o3", "no2", "so2", "co")
PM: tuple[str, ...] = ("pm25", "pm10")
GASES: tuple[str, ...] = ("o3", "no2", "so2", "co")
#: Breakpoint column used for a pollutant's 1-hour value.
_HOURLY_COLUMN = {"pm25": "pm25", "pm10": "pm10", "o3": "o3_1h", "no2": "no2", "so2": "so2", "co": "co"}

#: Hours in the NowCast window (c1 = current hour … c12 = 11 hours earlier).
NOWCAST_HOURS = 12
#: Default completeness for an 8-hour O3 rolling mean (not in the Decision's table; 75 %).
O3_8H_MIN_HOURS = 6

_ALIASES = {
    "pm25": "pm25", "pm2,5": "pm25", "pm10": "pm10", "o3": "o3", "no2": "no2", "so2": "so2", "co": "co",
}


def normalise_pollutant(name: object) -> str | None:
    """Canonical pollutant key for a metric name ("PM2.5", "pm_25", "NO2" …), or None if not an AQI input."""
    if not isinstance(name, str):
        return None
    key = name.strip().lower()
    for ch in "._- ":
        key = key.replace(ch, "")
    return _ALIASES.get(key)


# --------------------------------------------------------------------------------------
# Categories and official colours
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Category:
    key: str
    lo: int
    hi: int
    vi: str
    en: str
    rgb: tuple[int, int, int]
    colour: str  # "#RRGGBB"

    def label(self, lang: str = "vi") -> str:
        return self.vi if lang == "vi" else self.en


#: The six VN_AQI categories with the Decision's colours (RGB and hex as in its table).
CATEGORIES: tuple[Category, ...] = (
    Category("good", 0, 50, "Tốt", "Good", (0, 228, 0), "#00E400"),
    Category("moderate", 51, 100, "Trung bình", "Moderate", (255, 255, 0), "#FFFF00"),
    Category("poor", 101, 150, "Kém", "Poor", (255, 126, 0), "#FF7E00"),
    Category("bad", 151, 200, "Xấu", "Bad", (255, 0, 0), "#FF0000"),
    Category("very_bad", 201, 300, "Rất xấu", "Very bad", (143, 63, 151), "#8F3F97"),
    Category("hazardous", 301, 500, "Nguy hại", "Hazardous", (126, 0, 35), "#7E0023"),
)
CATEGORY_BY_KEY: Mapping[str, Category] = {c.key: c for c in CATEGORIES}
_UPPER = np.array([c.hi for c in CATEGORIES[:-1]], dtype=float)  # 50, 100, 150, 200, 300
_CAT_KEYS = np.array([c.key for c in CATEGORIES], dtype=object)
_CAT_COLOURS = np.array([c.colour for c in CATEGORIES], dtype=object)


def category(aqi: float) -> Category:
    """The category of an AQI value (meant for the rounded integer AQI; 50 → good, 51 → moderate).

    A value between two bands' integers (50.3) falls in the upper band. Values above 500
    are hazardous. Raises ValueError for negative or NaN.
    """
    if aqi is None or not aqi >= 0:  # catches NaN
        raise ValueError(f"AQI must be a number >= 0, got {aqi!r}")
    for cat in CATEGORIES[:-1]:
        if aqi <= cat.hi:
            return cat
    return CATEGORIES[-1]


def round_half_up(x: float) -> int:
    """Round to the nearest integer, halves up (59.5 → 60, 40.5 → 41). Exact, unlike floor(x + 0.5)."""
    f = math.floor(x)
    return int(f) + (1 if x - f >= 0.5 else 0)


def _round_half_up_array(x: np.ndarray) -> np.ndarray:
    f = np.floor(x)
    return f + (x - f >= 0.5)


# --------------------------------------------------------------------------------------
# Sub-index
# --------------------------------------------------------------------------------------


def _valid(c: float | None) -> float | None:
    """A usable concentration: finite and >= 0, else None."""
    if c is None:
        return None
    c = float(c)
    if not math.isfinite(c) or c < 0:
        return None
    return c


def sub_index(pollutant: str, concentration: float | None) -> float | None:
    """The sub-index of ``concentration`` (µg/m³) for a breakpoint column, unrounded.

    ``pollutant`` is a key of :data:`BREAKPOINTS`: ``o3_1h``, ``o3_8h``, ``co``, ``so2``,
    ``no2``, ``pm10``, ``pm25`` (``o3`` is accepted for ``o3_1h``). Returns None for a
    missing, NaN, infinite or negative value, and for O3 8h above 400.
    """
    col = "o3_1h" if pollutant == "o3" else pollutant
    bp = BREAKPOINTS[col]
    c = _valid(concentration)
    if c is None:
        return None
    top = len(bp) - 1
    if c >= bp[top]:
        if c == bp[top]:
            return INDEX_LEVELS[top]
        return 500.0 if col in _OPEN_TOP else None
    i = bisect.bisect_right(bp, c) - 1  # bp[i] <= c < bp[i + 1]
    return (INDEX_LEVELS[i + 1] - INDEX_LEVELS[i]) / (bp[i + 1] - bp[i]) * (c - bp[i]) + INDEX_LEVELS[i]


def sub_index_array(pollutant: str, concentrations: np.ndarray | Sequence[float]) -> np.ndarray:
    """Vectorised :func:`sub_index`: same operations, same results; NaN where there is none."""
    col = "o3_1h" if pollutant == "o3" else pollutant
    bp = np.asarray(BREAKPOINTS[col], dtype=float)
    levels = np.asarray(INDEX_LEVELS[: len(bp)], dtype=float)
    c = np.asarray(concentrations, dtype=float)
    top = len(bp) - 1
    with np.errstate(invalid="ignore"):
        valid = np.isfinite(c) & (c >= 0)
        cc = np.where(valid, c, 0.0)
        i = np.clip(np.searchsorted(bp, cc, side="right") - 1, 0, top - 1)
        lo, hi = bp[i], bp[i + 1]
        ilo, ihi = levels[i], levels[i + 1]
        out = (ihi - ilo) / (hi - lo) * (cc - lo) + ilo
        out = np.where(cc == bp[top], levels[top], out)
        out = np.where(cc > bp[top], 500.0 if col in _OPEN_TOP else np.nan, out)
        return np.where(valid, out, np.nan)


# --------------------------------------------------------------------------------------
# NowCast
# --------------------------------------------------------------------------------------


def _nowcast_hours(hourly_means_newest_first: Sequence[float | None]) -> list[float | None] | None:
    c = [_valid(x) for x in list(hourly_means_newest_first)[:NOWCAST_HOURS]]
    c += [None] * (NOWCAST_HOURS - len(c))
    if sum(x is not None for x in c[:3]) < 2:
        return None
    return c


def nowcast_weight(hourly_means_newest_first: Sequence[float | None]) -> float | None:
    """The NowCast weight w: w* = min/max of the hours present, or 0.5 when w* ≤ 0.5.

    None when there is no NowCast (fewer than two of c1..c3); 1.0 when every value is 0.
    """
    c = _nowcast_hours(hourly_means_newest_first)
    if c is None:
        return None
    present = [x for x in c if x is not None]
    if max(present) == 0.0:
        return 1.0
    w = min(present) / max(present)
    return 0.5 if w <= 0.5 else w


def nowcast(hourly_means_newest_first: Sequence[float | None]) -> float | None:
    """NowCast of PM10 or PM2.5 from hourly means, newest first (c1 = current hour).

    As the Decision states it: only the first 12 values are used (c1..c12); None, NaN,
    infinite or negative values are missing hours, which contribute nothing. At least two
    of c1, c2, c3 must be present, else None.

    * w* = min(c) / max(c) over the hours present (all zero → NowCast 0);
    * w = w* when w* > 0.5, else 0.5; NowCast = Σ w^(i−1)·c_i / Σ w^(i−1) over the hours
      present.

    For w = 0.5 the Decision prints Σ 0.5^i·c_i. With all 12 hours present that is the
    weighted mean above times (1 − 0.5^12), the same to 0.025 %; but with hours missing it
    does not share out their weight, so a flaky sensor would read about half the true
    level (c1 missing). We take the weighted mean in both branches, as the w > 0.5 branch
    does, so the NowCast always lies within the hours present.

    The powers are built by repeated multiplication so that :func:`nowcast_matrix`
    reproduces these results exactly.
    """
    c = _nowcast_hours(hourly_means_newest_first)
    if c is None:
        return None
    present = [x for x in c if x is not None]
    hi = max(present)
    if hi == 0.0:
        return 0.0
    w = max(min(present) / hi, 0.5)
    num, den, wt = 0.0, 0.0, 1.0
    for x in c:
        if x is not None:
            num += wt * x
            den += wt
        wt *= w
    return num / den


def nowcast_matrix(hourly: np.ndarray) -> np.ndarray:
    """NowCast for every cell of a (stations × hours) matrix of hourly means, oldest hour first.

    ``out[s, t]`` is :func:`nowcast` of ``hourly[s, t], hourly[s, t-1], …, hourly[s, t-11]``;
    hours before column 0 count as missing. NaN where there is no NowCast.
    """
    m = np.asarray(hourly, dtype=float)
    if m.ndim != 2:
        raise ValueError("expected a 2-D (stations × hours) matrix")
    n_s, n_t = m.shape
    with np.errstate(invalid="ignore"):
        m = np.where(np.isfinite(m) & (m >= 0), m, np.nan)
    padded = np.concatenate([np.full((n_s, NOWCAST_HOURS - 1), np.nan), m], axis=1)
    # lags[k, s, t] = m[s, t - k]: c_{k+1} of the window ending at hour t
    lags = np.stack([padded[:, NOWCAST_HOURS - 1 - k: NOWCAST_HOURS - 1 - k + n_t] for k in range(NOWCAST_HOURS)])
    present = ~np.isnan(lags)
    values = np.where(present, lags, 0.0)  # a missing hour adds exactly 0.0 below
    weight_on = present.astype(float)
    recent = present[0].astype(np.int8) + present[1] + present[2]
    lo = np.fmin.reduce(lags, axis=0)  # NaN-skipping, exact
    hi = np.fmax.reduce(lags, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        w = np.fmax(lo / hi, 0.5)
        num = np.zeros((n_s, n_t))
        den = np.zeros((n_s, n_t))
        wt = np.ones((n_s, n_t))
        for k in range(NOWCAST_HOURS):  # same order and operations as nowcast()
            num = num + wt * values[k]
            den = den + wt * weight_on[k]
            wt = wt * w
        out = num / den
    out = np.where(hi == 0.0, 0.0, out)
    return np.where(recent >= 2, out, np.nan)


# --------------------------------------------------------------------------------------
# Station AQI (scalar)
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AQIResult:
    aqi: int
    category: str  # a key of CATEGORY_BY_KEY
    colour: str  # official hex colour of the category
    dominant: str  # pollutant with the largest sub-index
    sub_indices: Mapping[str, float] = field(default_factory=dict)  # unrounded, pollutants present only

    @property
    def category_info(self) -> Category:
        return CATEGORY_BY_KEY[self.category]


def aqi_from_sub_indices(sub_indices: Mapping[str, float | None]) -> AQIResult | None:
    """Station AQI from pollutant sub-indices (keys of :data:`POLLUTANTS`; None/NaN = absent).

    None unless PM10 or PM2.5 has a sub-index.
    """
    si = {p: float(sub_indices[p]) for p in POLLUTANTS
          if sub_indices.get(p) is not None and not math.isnan(sub_indices[p])}
    if "pm25" not in si and "pm10" not in si:
        return None
    dominant = None
    for p in POLLUTANTS:
        if p in si and (dominant is None or si[p] > si[dominant]):
            dominant = p
    aqi = round_half_up(si[dominant])
    cat = category(aqi)
    return AQIResult(aqi=aqi, category=cat.key, colour=cat.colour, dominant=dominant, sub_indices=si)


def aqi_from_concentrations(concentrations: Mapping[str, float | None]) -> AQIResult | None:
    """Station AQI from concentrations already averaged as the AQI needs them.

    Keys are breakpoint columns (``pm25``, ``pm10``, ``o3_1h``, ``o3_8h``, ``no2``, ``so2``,
    ``co``; ``o3`` means ``o3_1h``): for an hourly AQI pass the PM NowCasts and the 1-hour
    gas means, for a daily AQI the PM 24h means, the 1h maxima and the O3 8h maximum.
    O3's sub-index is the larger of its 1h and 8h ones.
    """
    unknown = set(concentrations) - set(BREAKPOINTS) - {"o3"}
    if unknown:
        raise KeyError(f"unknown pollutant column(s): {sorted(unknown)}")
    si: dict[str, float | None] = {}
    for p in ("pm25", "pm10", "no2", "so2", "co"):
        si[p] = sub_index(p, concentrations.get(p))
    o3 = [x for x in (sub_index("o3_1h", concentrations.get("o3_1h", concentrations.get("o3"))),
                      sub_index("o3_8h", concentrations.get("o3_8h"))) if x is not None]
    si["o3"] = max(o3) if o3 else None
    return aqi_from_sub_indices(si)


def hourly_aqi(
    *,
    pm25_hours: Sequence[float | None] | None = None,
    pm10_hours: Sequence[float | None] | None = None,
    o3: float | None = None,
    no2: float | None = None,
    so2: float | None = None,
    co: float | None = None,
) -> AQIResult | None:
    """AQI^h of one station-hour.

    ``pm25_hours`` / ``pm10_hours``: the last 12 hourly means, **newest first** (the current
    hour first; None/NaN for missing hours) — their NowCast is used. ``o3`` (1h column),
    ``no2``, ``so2``, ``co``: the hour's 1-hour means in µg/m³. None when neither PM10 nor
    PM2.5 has a NowCast.
    """
    return aqi_from_concentrations({
        "pm25": nowcast(pm25_hours) if pm25_hours is not None else None,
        "pm10": nowcast(pm10_hours) if pm10_hours is not None else None,
        "o3_1h": o3, "no2": no2, "so2": so2, "co": co,
    })


def _day_values(values: Sequence[float | None] | None) -> list[float | None]:
    vals = [] if values is None else [_valid(x) for x in values]
    if len(vals) > 24:
        raise ValueError(f"a day has 24 hourly means, got {len(vals)}")
    return vals + [None] * (24 - len(vals))


def _mean_present(vals: Iterable[float | None], min_count: int = 1) -> float | None:
    total, n = 0.0, 0
    for x in vals:
        if x is not None:
            total += x
            n += 1
    return total / n if n >= min_count and n > 0 else None


def _max_present(vals: Iterable[float | None]) -> float | None:
    present = [x for x in vals if x is not None]
    return max(present) if present else None


def o3_8h_max(day_hours: Sequence[float | None], min_hours: int = O3_8H_MIN_HOURS) -> float | None:
    """Highest 8-hour rolling mean of O3 within a day (windows 01–08 … 17–24), or None.

    A window counts when at least ``min_hours`` of its 8 hours are present; its mean is the
    mean of those hours.
    """
    vals = _day_values(day_hours)
    means = [_mean_present(vals[j:j + 8], min_hours) for j in range(24 - 8 + 1)]
    return _max_present(means)


def daily_concentrations(day: Mapping[str, Sequence[float | None]],
                         o3_8h_min_hours: int = O3_8H_MIN_HOURS) -> dict[str, float | None]:
    """The concentrations AQI^d uses, from a day's hourly means (see :func:`daily_aqi`)."""
    day = {normalise_pollutant(k) or k: v for k, v in day.items()}
    unknown = set(day) - set(POLLUTANTS)
    if unknown:
        raise KeyError(f"unknown pollutant(s): {sorted(unknown)}")
    hours = {p: _day_values(day.get(p)) for p in POLLUTANTS}
    return {
        "pm25": _mean_present(hours["pm25"]),
        "pm10": _mean_present(hours["pm10"]),
        "no2": _max_present(hours["no2"]),
        "so2": _max_present(hours["so2"]),
        "co": _max_present(hours["co"]),
        "o3_1h": _max_present(hours["o3"]),
        "o3_8h": o3_8h_max(hours["o3"], o3_8h_min_hours),
    }


def daily_aqi(day: Mapping[str, Sequence[float | None]], *, o3_8h_min_hours: int = O3_8H_MIN_HOURS) -> AQIResult | None:
    """AQI^d of one station-day.

    ``day`` maps a pollutant (``pm25``, ``pm10``, ``o3``, ``no2``, ``so2``, ``co``, or names
    like "PM2.5") to that day's hourly means in **chronological order**, index 0 being the
    Decision's hour 01:00 (the hour 00:00–01:00) and index 23 its hour 24:00; None/NaN for
    missing hours, shorter sequences are padded with missing hours. None when neither
    PM10 nor PM2.5 has a value that day.
    """
    return aqi_from_concentrations(daily_concentrations(day, o3_8h_min_hours))


# --------------------------------------------------------------------------------------
# Province value
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProvinceAQI:
    aqi: int  # worst station: the value shown for the province
    median: int  # median of the stations' AQI, rounded half up
    n_stations: int  # stations with an AQI
    worst_station: Hashable | None  # key of the worst station when given a mapping
    category: str
    colour: str


def province_aqi(station_aqis: Mapping[Hashable, int | AQIResult | None] | Iterable[int | AQIResult | None]
                 ) -> ProvinceAQI | None:
    """Province AQI from its stations' AQI for one hour (or day): the maximum, with the median.

    Accepts a mapping station → AQI (then the worst station is named) or an iterable;
    entries may be ints, :class:`AQIResult` or None (no AQI; ignored). None when no station
    has an AQI. Ties for the worst station go to the first in iteration order.
    """
    items = station_aqis.items() if isinstance(station_aqis, Mapping) else ((None, a) for a in station_aqis)
    values: list[tuple[Hashable | None, int]] = []
    for key, a in items:
        if isinstance(a, AQIResult):
            a = a.aqi
        if a is None or (isinstance(a, float) and math.isnan(a)):
            continue
        values.append((key, int(a)))
    if not values:
        return None
    worst_key, worst = values[0]
    for key, a in values[1:]:
        if a > worst:
            worst_key, worst = key, a
    cat = category(worst)
    return ProvinceAQI(aqi=worst, median=round_half_up(statistics.median(a for _, a in values)),
                       n_stations=len(values), worst_station=worst_key, category=cat.key, colour=cat.colour)


def province_aqi_frame(station_frame: pd.DataFrame, province_of: Mapping[Hashable, Hashable] | pd.Series, *,
                       station: str = "station", time: str = "hour_ts", province: str = "province") -> pd.DataFrame:
    """:func:`province_aqi` for every (province, time) of a station AQI frame.

    ``station_frame`` is the output of :func:`hourly_aqi_frame` (``time="hour_ts"``) or
    :func:`daily_aqi_frame` (``time="date"``). Stations missing from ``province_of`` are
    dropped. Returns ``[province, time, aqi, aqi_median, n_stations, worst_station,
    category, colour]``.
    """
    df = station_frame[[station, time, "aqi"]].dropna(subset=["aqi"]).reset_index(drop=True)
    mapper = province_of if isinstance(province_of, pd.Series) else pd.Series(dict(province_of), dtype=object)
    df[province] = df[station].map(mapper)
    df = df.dropna(subset=[province])
    df["aqi"] = df["aqi"].astype(np.int64)
    cols = [province, time, "aqi", "aqi_median", "n_stations", "worst_station", "category", "colour"]
    if df.empty:
        return pd.DataFrame(columns=cols)
    g = df.groupby([province, time], sort=True)["aqi"]
    out = g.agg(aqi="max", aqi_median="median", n_stations="count").reset_index()
    worst_rows = df.loc[g.idxmax().to_numpy()]  # first row with the max in frame order
    out["worst_station"] = worst_rows[station].to_numpy()
    out["aqi_median"] = _round_half_up_array(out["aqi_median"].to_numpy(float)).astype(np.int64)
    idx = np.searchsorted(_UPPER, out["aqi"].to_numpy(float), side="left")
    out["category"] = _CAT_KEYS[idx]
    out["colour"] = _CAT_COLOURS[idx]
    return out[cols]


# --------------------------------------------------------------------------------------
# Many stations: long frame → matrices
# --------------------------------------------------------------------------------------

_HOUR_NS = pd.Timedelta(hours=1)


class _Hours:
    """Converts an hour_ts column (epoch seconds or datetimes) to integer hour numbers and back."""

    def __init__(self, col: pd.Series):
        self.is_datetime = pd.api.types.is_datetime64_any_dtype(col)
        if self.is_datetime:
            tz = col.dt.tz
            self.anchor = pd.Timestamp("1970-01-01", tz="UTC").tz_convert(tz) if tz is not None \
                else pd.Timestamp("1970-01-01")
        elif not pd.api.types.is_numeric_dtype(col):
            raise TypeError(f"hour column must hold epoch seconds or datetimes, not {col.dtype}")

    def to_hours(self, x: Any) -> np.ndarray:
        if self.is_datetime:
            if isinstance(x, pd.Series):
                return ((x - self.anchor) // _HOUR_NS).to_numpy(np.int64)
            return np.int64((pd.Timestamp(x) - self.anchor) // _HOUR_NS)
        return np.floor_divide(np.asarray(x, dtype=np.int64), 3600)

    def from_hours(self, h: np.ndarray) -> Any:
        if self.is_datetime:
            return self.anchor + pd.to_timedelta(np.asarray(h, dtype=np.int64), unit="h")
        return np.asarray(h, dtype=np.int64) * 3600


def _factorize(col: pd.Series, sort: bool = False) -> tuple[np.ndarray, Any]:
    """pd.factorize; string columns go through a numpy object array (about 1.5× faster in pandas 3)."""
    if isinstance(col.dtype, pd.CategoricalDtype) or not (pd.api.types.is_string_dtype(col.dtype)):
        return pd.factorize(col, sort=sort)
    return pd.factorize(col.to_numpy(dtype=object), sort=sort)


def _long_to_codes(hourly: pd.DataFrame, station: str, hour: str, pollutant: str, value: str
                   ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray, Any]:
    """Keep AQI pollutants with a station and an hour; return (rows kept, pollutant code, station code,
    values, station labels)."""
    pcodes_raw, p_uniques = _factorize(hourly[pollutant])
    lookup = np.array([POLLUTANTS.index(k) if (k := normalise_pollutant(u)) else -1 for u in p_uniques] + [-1],
                      dtype=np.int64)
    pcode = lookup[pcodes_raw]  # factorize gives -1 for NaN → last entry, -1
    keep = pcode >= 0
    for col in (station, hour):
        if hourly[col].hasnans:
            keep &= hourly[col].notna().to_numpy()
    rows = hourly.loc[keep] if not keep.all() else hourly
    pcode = pcode[keep]
    scode, s_uniques = _factorize(rows[station], sort=True)
    vals = rows[value].to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        vals = np.where(np.isfinite(vals) & (vals >= 0), vals, np.nan)
    return rows, pcode, scode, vals, s_uniques


def _check_unique(key: np.ndarray, what: str) -> None:
    """``key``: one int64 >= 0 per row combining its codes, dense (below the matrix size); equal keys are duplicates."""
    if len(key) and np.bincount(key).max() > 1:
        raise ValueError(f"duplicate rows for the same {what}: pass one hourly mean per row")


def _categorise(aqi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    idx = np.searchsorted(_UPPER, np.where(np.isnan(aqi), 0.0, aqi), side="left")
    return _CAT_KEYS[idx], _CAT_COLOURS[idx]


def _assemble(si: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """From per-pollutant sub-index arrays: (AQI as float with NaN, computable mask, dominant index)."""
    stack = np.stack([si[p] for p in POLLUTANTS])
    computable = ~np.isnan(si["pm25"]) | ~np.isnan(si["pm10"])
    filled = np.where(np.isnan(stack), -np.inf, stack)
    dom = np.argmax(filled, axis=0)  # first maximum = POLLUTANTS order, as the scalar code
    top = np.take_along_axis(filled, dom[None], axis=0)[0]
    aqi = np.where(computable, _round_half_up_array(np.where(computable, top, 0.0)), np.nan)
    return aqi, computable, dom


def _result_frame(keys: dict[str, Any], aqi: np.ndarray, computable: np.ndarray, dom: np.ndarray,
                  si: Mapping[str, np.ndarray], extra: Mapping[str, np.ndarray], dropna: bool) -> pd.DataFrame:
    cats, cols = _categorise(aqi)
    dominant = np.array(POLLUTANTS, dtype=object)[dom]
    data: dict[str, Any] = dict(keys)
    if dropna:
        data["aqi"] = aqi.astype(np.int64)
        data["category"], data["colour"], data["dominant"] = cats, cols, dominant
    else:
        data["aqi"] = pd.array(np.where(computable, aqi, 0).astype(np.int64), dtype="Int64")
        data["aqi"][~computable] = pd.NA
        none = np.array(None, dtype=object)
        data["category"] = np.where(computable, cats, none)
        data["colour"] = np.where(computable, cols, none)
        data["dominant"] = np.where(computable, dominant, none)
    for p in POLLUTANTS:
        data[f"si_{p}"] = si[p]
    data.update(extra)
    return pd.DataFrame(data)


_HOURLY_OUT = ["aqi", "category", "colour", "dominant"] + [f"si_{p}" for p in POLLUTANTS] + \
    [f"nowcast_{p}" for p in PM]
_DAILY_OUT = ["aqi", "category", "colour", "dominant"] + [f"si_{p}" for p in POLLUTANTS]


def hourly_aqi_frame(
    hourly: pd.DataFrame,
    *,
    start: Any = None,
    end: Any = None,
    dropna: bool = True,
    station: str = "station",
    hour: str = "hour_ts",
    pollutant: str = "pollutant",
    value: str = "value",
    max_cells: int = 2_000_000,
) -> pd.DataFrame:
    """AQI^h for many stations and hours at once; identical to :func:`hourly_aqi` per station-hour.

    ``hourly``: long data ``[station, hour_ts, pollutant, value]``, one hourly mean (µg/m³)
    per row. ``hour_ts`` is epoch seconds (int; floored to the hour) or datetimes (naive or
    tz-aware); pollutant names are normalised ("PM2.5" → pm25) and non-AQI metrics ignored.
    Missing rows, NaN and negative values are missing hours. Duplicate
    (station, hour, pollutant) rows raise ValueError.

    The result covers the hours ``start``..``end`` inclusive (same type as ``hour_ts``;
    default: the first and last hour in the data). For the first hours of the range the
    NowCast sees only what the data holds, so pass the 11 preceding hours and a ``start``
    to get full windows. Rows: with ``dropna`` (default) only station-hours with an AQI;
    else every station × hour of the range with ``aqi`` <NA> where there is none.

    Columns: ``station, hour_ts, aqi, category, colour, dominant, si_pm25, si_pm10, si_o3,
    si_no2, si_so2, si_co, nowcast_pm25, nowcast_pm10`` (sub-indices unrounded, NaN where
    absent), sorted by station then hour. Work is split into station chunks of at most
    ``max_cells`` (station × hour) cells to bound memory.
    """
    columns = [station, hour] + _HOURLY_OUT
    hours = _Hours(hourly[hour])
    rows, pcode, scode, vals, s_uniques = _long_to_codes(hourly, station, hour, pollutant, value)
    h = hours.to_hours(rows[hour])
    if len(h) == 0 and (start is None or end is None):
        return pd.DataFrame(columns=columns)
    out_lo = hours.to_hours(start) if start is not None else h.min()
    out_hi = hours.to_hours(end) if end is not None else h.max()
    if out_hi < out_lo:
        return pd.DataFrame(columns=columns)
    grid_lo = out_lo - (NOWCAST_HOURS - 1)
    inside = (h >= grid_lo) & (h <= out_hi)
    if not inside.all():
        pcode, scode, vals, h = pcode[inside], scode[inside], vals[inside], h[inside]
    h = h - grid_lo
    n_t = int(out_hi - grid_lo + 1)
    _check_unique((scode.astype(np.int64) * n_t + h) * len(POLLUTANTS) + pcode, what="station, hour and pollutant")
    skip = NOWCAST_HOURS - 1
    n_st = len(s_uniques)
    per_chunk = max(1, max_cells // n_t)
    if per_chunk < n_st:  # several chunks: rows grouped by station
        order = np.argsort(scode, kind="stable")
        pcode, scode, vals, h = pcode[order], scode[order], vals[order], h[order]
    frames = []
    for s0 in range(0, n_st, per_chunk):
        s1 = min(n_st, s0 + per_chunk)
        a, b = np.searchsorted(scode, [s0, s1]) if per_chunk < n_st else (0, len(scode))
        m = np.full((len(POLLUTANTS), s1 - s0, n_t), np.nan)
        m[pcode[a:b], scode[a:b] - s0, h[a:b]] = vals[a:b]
        si: dict[str, np.ndarray] = {}
        extra: dict[str, np.ndarray] = {}
        for k, p in enumerate(POLLUTANTS):
            if p in PM:
                nc = nowcast_matrix(m[k])[:, skip:]
                extra[f"nowcast_{p}"] = nc
                si[p] = sub_index_array(p, nc)
            else:
                si[p] = sub_index_array(_HOURLY_COLUMN[p], m[k][:, skip:])
        aqi, computable, dom = _assemble(si)
        sel = computable if dropna else np.ones_like(computable)
        ss, tt = np.nonzero(sel)
        keys = {station: s_uniques[ss + s0], hour: hours.from_hours(tt + out_lo)}
        frames.append(_result_frame(keys, aqi[sel], computable[sel], dom[sel],
                                    {p: si[p][sel] for p in POLLUTANTS},
                                    {k: v[sel] for k, v in extra.items()}, dropna))
    if not frames:
        return pd.DataFrame(columns=columns)
    out = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return out[columns]


def daily_aqi_frame(
    hourly: pd.DataFrame,
    *,
    tz: str = "Asia/Ho_Chi_Minh",
    hour_label: Literal["start", "end"] = "start",
    o3_8h_min_hours: int = O3_8H_MIN_HOURS,
    dropna: bool = True,
    station: str = "station",
    hour: str = "hour_ts",
    pollutant: str = "pollutant",
    value: str = "value",
) -> pd.DataFrame:
    """AQI^d for many stations and days at once; identical to :func:`daily_aqi` per station-day.

    ``hourly`` as for :func:`hourly_aqi_frame`. Each hour is placed in a local day (``tz``;
    epoch seconds and tz-aware times are converted, naive datetimes are taken as local):
    with ``hour_label="start"`` (the store's roll-ups) the hour starting 00:00 is the
    Decision's hour 01:00 and the hour starting 23:00 its hour 24:00; with ``"end"`` the
    label 01:00 is hour 01:00 and the label 00:00 is hour 24:00 of the previous day.
    Assumes no daylight-saving changes (Vietnam has none).

    Rows: the station-days with any AQI pollutant data (with ``dropna``, only those with an
    AQI). Columns: ``station, date`` (a :class:`datetime.date`), ``aqi, category, colour,
    dominant, si_pm25 … si_co``, sorted by station then date.
    """
    if hour_label not in ("start", "end"):
        raise ValueError("hour_label must be 'start' or 'end'")
    columns = [station, "date"] + _DAILY_OUT
    col = hourly[hour]
    rows, pcode, scode, vals, s_uniques = _long_to_codes(hourly, station, hour, pollutant, value)
    if len(rows) == 0:
        return pd.DataFrame(columns=columns)
    ts = rows[hour]
    if pd.api.types.is_datetime64_any_dtype(col):
        local = ts.dt.tz_convert(tz).dt.tz_localize(None) if ts.dt.tz is not None else ts
    elif pd.api.types.is_numeric_dtype(col):
        local = pd.to_datetime(ts.to_numpy(np.int64), unit="s", utc=True).tz_convert(tz).tz_localize(None)
        local = pd.Series(local, index=ts.index)
    else:
        raise TypeError(f"hour column must hold epoch seconds or datetimes, not {col.dtype}")
    local = local.dt.floor("h")
    if hour_label == "end":
        local = local - _HOUR_NS
    day = local.dt.floor("D")
    slot = local.dt.hour.to_numpy(np.int64)
    dcode, d_uniques = pd.factorize(day, sort=True)
    # one row per (station, day): code pairs in (station, date) order
    pair = scode.astype(np.int64) * len(d_uniques) + dcode
    rcode, r_uniques = pd.factorize(pair, sort=True)
    _check_unique((rcode.astype(np.int64) * 24 + slot) * len(POLLUTANTS) + pcode,
                  what="station, local hour and pollutant")
    n_r = len(r_uniques)
    m = np.full((len(POLLUTANTS), n_r, 24), np.nan)
    m[pcode, rcode, slot] = vals
    present = ~np.isnan(m)
    v = np.where(present, m, 0.0)

    def mean_over(k: int, j0: int, j1: int, min_count: int = 1) -> np.ndarray:
        total = np.zeros(n_r)
        n = np.zeros(n_r, dtype=np.int64)
        for j in range(j0, j1):
            total = total + v[k, :, j]
            n = n + present[k, :, j]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where((n >= min_count) & (n > 0), total / n, np.nan)

    def max_over(k: int) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return np.where(present[k].any(axis=1), np.max(np.where(present[k], m[k], -np.inf), axis=1), np.nan)

    idx = {p: k for k, p in enumerate(POLLUTANTS)}
    si: dict[str, np.ndarray] = {
        "pm25": sub_index_array("pm25", mean_over(idx["pm25"], 0, 24)),
        "pm10": sub_index_array("pm10", mean_over(idx["pm10"], 0, 24)),
        "no2": sub_index_array("no2", max_over(idx["no2"])),
        "so2": sub_index_array("so2", max_over(idx["so2"])),
        "co": sub_index_array("co", max_over(idx["co"])),
    }
    windows = np.stack([mean_over(idx["o3"], j, j + 8, o3_8h_min_hours) for j in range(24 - 8 + 1)])
    o3_8h = np.where(np.isnan(windows).all(axis=0), np.nan,
                     np.max(np.where(np.isnan(windows), -np.inf, windows), axis=0))
    si_o3 = np.stack([sub_index_array("o3_1h", max_over(idx["o3"])), sub_index_array("o3_8h", o3_8h)])
    si["o3"] = np.where(np.isnan(si_o3).all(axis=0), np.nan,
                        np.max(np.where(np.isnan(si_o3), -np.inf, si_o3), axis=0))
    aqi, computable, dom = _assemble(si)
    sel = computable if dropna else np.ones(n_r, dtype=bool)
    pairs = np.asarray(r_uniques)[sel]
    keys = {station: s_uniques[pairs // len(d_uniques)],
            "date": np.array([d.date() for d in d_uniques], dtype=object)[pairs % len(d_uniques)]}
    out = _result_frame(keys, aqi[sel], computable[sel], dom[sel], {p: si[p][sel] for p in POLLUTANTS}, {}, dropna)
    return out[columns]
