"""VN_WQI, the surface-water quality index (Decision 1460/QĐ-TCMT of 12 November 2019).

Ported from the tables in ``/work/shared/domain/water-quality-vn-wqi.md`` (read from a draft
of the Decision; a disagreement with the signed text is a bug in the tables here). Pure
functions, no I/O. Meant for periodic surface-water monitoring results: one sample →
one WQI.

Units: metals and groups IV nutrients in mg/L, pesticides in µg/L, Coliform and E. coli in
MPN/100 mL, temperature in °C, DO in mg/L (or DO% directly as ``do_pct``).

Parameter groups (keys used here)
    I ``ph`` · II pesticides ``aldrin``, ``bhc``, ``dieldrin``, ``ddts``, ``heptachlor``
    (Heptachlor & Heptachlor epoxide) · III metals ``as``, ``cd``, ``pb``, ``cr6``, ``cu``,
    ``zn``, ``hg`` · IV ``do`` (→ DO%), ``bod5``, ``cod``, ``toc``, ``n_nh4``, ``n_no3``,
    ``n_no2``, ``p_po4`` · V ``coliform``, ``e_coli``. Common spellings ("N-NH4", "Cr6+",
    "E. coli", "DO%") are accepted, see :func:`normalise_parameter`.

Sub-indices (q)
    * Groups III–V: breakpoints with q = 100 / 75 / 50 / 25 / 10, quality falling as the
      value rises. Below the first breakpoint q = 100; above the last, 10. Where the table
      says "<X" for q = 100 and "X" for q = 75 (N-NH4 0.3, Cd 0.005, Pb 0.02, Hg 0.001) a
      value just below X gets 100 and X itself 75 — the table has a step there, not a
      slope. Where it says ">X" for q = 10 (As, N-NO3, N-NO2, Coliform, E. coli) the step
      is after the q = 25 (or 100) breakpoint.
    * DO% (from DO and temperature, DOsat = 14.652 − 0.41022·T + 0.0079910·T² −
      0.000077774·T³) and pH: rising to the good range, flat (q = 100) across it, falling
      beyond; outside the table q = 10.
    * Pesticides: within the limit (≤) → 100, above → 10.
    * Between breakpoints the Decision's two formulas, falling
      ``(q_i − q_{i+1}) / (BP_{i+1} − BP_i) × (BP_{i+1} − C) + q_{i+1}`` and rising
      ``(q_{i+1} − q_i) / (BP_{i+1} − BP_i) × (C − BP_i) + q_i``; a value exactly on a
      breakpoint takes that breakpoint's q.

Aggregation (final value rounded half up to an integer)::

    WQI = (I/100) × (geomean(II)/100) × (geomean(III)/100) × sqrt(mean(IV) × mean(V))

    without group V:      last factor = mean(IV)
    organic (IV=2, V=1):  last factor = (mean(IV)² × mean(V))^(1/3)   (mean(IV) without V)
    group I, II or III not measured: factor 1

Availability: at least 3 of the 5 groups; group IV required with at least 3 parameters;
for waters known to carry pesticides (``pesticide_water=True``) group II is required, for
waters known to carry metals (``metal_water=True``) group III. Otherwise :func:`wqi`
returns a result with ``wqi=None`` and a ``reason`` (text) and ``reason_code``.

Bands and colours are fixed (:data:`BANDS`); their labels are configuration
(:data:`DEFAULT_LABELS`, override with ``labels=``) because the texts disagree on the
labels of 26–50 and 10–25. Band keys name the numeric range, not the label.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

# --------------------------------------------------------------------------------------
# Parameters and groups
# --------------------------------------------------------------------------------------

#: Pesticide limits, µg/L: within (≤) → q 100, above → 10.
PESTICIDE_LIMITS: Mapping[str, float] = {
    "aldrin": 0.1, "bhc": 0.02, "dieldrin": 0.1, "ddts": 1.0, "heptachlor": 0.2,
}

#: Falling-quality breakpoints (BP, q), ascending BP. Below the first BP → 100; above the last → 10.
BREAKPOINTS: Mapping[str, tuple[tuple[float, float], ...]] = {
    # group III, mg/L
    "as": ((0.01, 100), (0.02, 75), (0.05, 50), (0.1, 25)),  # >0.1 → 10
    "cd": ((0.005, 75), (0.008, 50), (0.01, 25), (0.1, 10)),  # <0.005 → 100
    "pb": ((0.02, 75), (0.04, 50), (0.05, 25), (0.5, 10)),  # <0.02 → 100
    "cr6": ((0.01, 100), (0.02, 75), (0.04, 50), (0.05, 25), (0.1, 10)),
    "cu": ((0.1, 100), (0.2, 75), (0.5, 50), (1.0, 25), (2.0, 10)),
    "zn": ((0.5, 100), (1.0, 75), (1.5, 50), (2.0, 25), (3.0, 10)),
    "hg": ((0.001, 75), (0.0015, 50), (0.002, 25), (0.01, 10)),  # <0.001 → 100
    # group IV, mg/L
    "bod5": ((4, 100), (6, 75), (15, 50), (25, 25), (50, 10)),
    "cod": ((10, 100), (15, 75), (30, 50), (50, 25), (150, 10)),
    "toc": ((4, 100), (6, 75), (15, 50), (25, 25), (50, 10)),
    "n_nh4": ((0.3, 75), (0.6, 50), (0.9, 25), (5, 10)),  # <0.3 → 100
    "n_no3": ((2, 100), (5, 75), (10, 50), (15, 25)),  # >15 → 10
    "n_no2": ((0.05, 100),),  # >0.05 → 10
    "p_po4": ((0.1, 100), (0.2, 75), (0.3, 50), (0.5, 25), (4, 10)),
    # group V, MPN/100 mL
    "coliform": ((2500, 100), (5000, 75), (7500, 50), (10000, 25)),  # >10000 → 10
    "e_coli": ((20, 100), (50, 75), (100, 50), (200, 25)),  # >200 → 10
}

#: DO% (rising, flat 88–112, falling); below 20 or above 200 → 10.
DO_PCT_POINTS: tuple[tuple[float, float], ...] = (
    (20, 25), (50, 50), (75, 75), (88, 100), (112, 100), (125, 75), (150, 50), (200, 25))
#: pH (rising, flat 6–8.5, falling); below 5.5 or above 9 → 10.
PH_POINTS: tuple[tuple[float, float], ...] = ((5.5, 50), (6, 100), (8.5, 100), (9, 50))

GROUPS: Mapping[str, tuple[str, ...]] = {
    "I": ("ph",),
    "II": tuple(PESTICIDE_LIMITS),
    "III": ("as", "cd", "pb", "cr6", "cu", "zn", "hg"),
    "IV": ("do", "bod5", "cod", "toc", "n_nh4", "n_no3", "n_no2", "p_po4"),
    "V": ("coliform", "e_coli"),
}
GROUP_OF: Mapping[str, str] = {p: g for g, params in GROUPS.items() for p in params}

_ALIASES = {
    "ph": "ph",
    "aldrin": "aldrin", "bhc": "bhc", "dieldrin": "dieldrin", "ddts": "ddts", "ddt": "ddts",
    "heptachlor": "heptachlor", "heptachlorepoxide": "heptachlor", "heptachlorheptachlorepoxide": "heptachlor",
    "as": "as", "cd": "cd", "pb": "pb", "cr6": "cr6", "crvi": "cr6", "cu": "cu", "zn": "zn", "hg": "hg",
    "do": "do", "dopct": "do_pct", "dosat": "do_pct",
    "bod5": "bod5", "bod": "bod5", "cod": "cod", "toc": "toc",
    "nnh4": "n_nh4", "nh4": "n_nh4", "nno3": "n_no3", "no3": "n_no3", "nno2": "n_no2", "no2": "n_no2",
    "ppo4": "p_po4", "po4": "p_po4",
    "coliform": "coliform", "coliforms": "coliform", "totalcoliform": "coliform", "ecoli": "e_coli",
    "temperature": "temperature", "temp": "temperature", "t": "temperature", "watertemperature": "temperature",
}


def normalise_parameter(name: str) -> str | None:
    """Canonical key for a parameter name ("N-NH4" → n_nh4, "Cr6+" → cr6, "DO%" → do_pct), or None."""
    key = name.strip().lower().replace("%", "pct")
    for ch in " -_.+&()":
        key = key.replace(ch, "")
    return _ALIASES.get(key)


# --------------------------------------------------------------------------------------
# Sub-indices
# --------------------------------------------------------------------------------------


def _valid(x: float | None) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) and x >= 0 else None


def _piecewise(points: tuple[tuple[float, float], ...], c: float, below: float, above: float) -> float:
    """q of ``c`` on a breakpoint table, with the Decision's rising/falling formulas."""
    if c < points[0][0]:
        return float(below)
    if c > points[-1][0]:
        return float(above)
    for bp, q in points:
        if c == bp:
            return float(q)
    for (bp_i, q_i), (bp_j, q_j) in zip(points, points[1:]):
        if bp_i < c < bp_j:
            if q_j < q_i:  # quality falls as the value rises
                return (q_i - q_j) / (bp_j - bp_i) * (bp_j - c) + q_j
            if q_j > q_i:  # rising branch
                return (q_j - q_i) / (bp_j - bp_i) * (c - bp_i) + q_i
            return float(q_i)
    raise AssertionError("unreachable")  # pragma: no cover


def do_saturation(temperature_c: float) -> float:
    """Saturated dissolved oxygen (mg/L) at ``temperature_c`` °C, the Decision's polynomial."""
    t = float(temperature_c)
    return 14.652 - 0.41022 * t + 0.0079910 * t ** 2 - 0.000077774 * t ** 3


def do_percent(do_mg_l: float, temperature_c: float) -> float | None:
    """DO% = DO / DOsat(T) × 100; None where the polynomial gives no saturation (above ~65 °C)."""
    saturation = do_saturation(temperature_c)
    return float(do_mg_l) / saturation * 100 if saturation > 0 else None


def q_ph(ph: float | None) -> float | None:
    """pH → q: <5.5 → 10, 5.5 → 50, 6–8.5 → 100, 9 → 50, >9 → 10, linear between."""
    v = _valid(ph)
    return None if v is None else _piecewise(PH_POINTS, v, 10, 10)


def q_do_percent(do_pct: float | None) -> float | None:
    """DO% → q: <20 → 10, 20 → 25, 50 → 50, 75 → 75, 88–112 → 100, 125 → 75, 150 → 50, 200 → 25,
    >200 → 10; linear between."""
    v = _valid(do_pct)
    return None if v is None else _piecewise(DO_PCT_POINTS, v, 10, 10)


def q_pesticide(name: str, value_ug_l: float | None) -> float | None:
    """A pesticide (µg/L): within its limit → 100, above → 10."""
    key = normalise_parameter(name) or name
    v = _valid(value_ug_l)
    if v is None:
        return None
    return 100.0 if v <= PESTICIDE_LIMITS[key] else 10.0


def q_parameter(name: str, value: float | None, *, temperature: float | None = None) -> float | None:
    """q of any VN_WQI parameter. ``do`` (mg/L) needs ``temperature`` (°C); ``do_pct`` does not.

    None for a missing, NaN, infinite or negative value, or DO without a temperature.
    """
    key = normalise_parameter(name) or name
    if key == "ph":
        return q_ph(value)
    if key == "do_pct":
        return q_do_percent(value)
    if key == "do":
        v, t = _valid(value), (None if temperature is None or not math.isfinite(temperature) else temperature)
        return None if v is None or t is None else q_do_percent(do_percent(v, t))
    if key in PESTICIDE_LIMITS:
        return q_pesticide(key, value)
    if key in BREAKPOINTS:
        v = _valid(value)
        return None if v is None else _piecewise(BREAKPOINTS[key], v, 100, 10)
    raise KeyError(f"not a VN_WQI parameter: {name!r}")


# --------------------------------------------------------------------------------------
# Bands (numeric ranges and colours fixed; labels configurable)
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Band:
    key: str
    lo: int
    hi: int
    rgb: tuple[int, int, int]
    colour: str  # "#RRGGBB"


BANDS: tuple[Band, ...] = (
    Band("wqi_91_100", 91, 100, (51, 51, 255), "#3333FF"),
    Band("wqi_76_90", 76, 90, (0, 228, 0), "#00E400"),
    Band("wqi_51_75", 51, 75, (255, 255, 0), "#FFFF00"),
    Band("wqi_26_50", 26, 50, (255, 126, 0), "#FF7E00"),
    Band("wqi_10_25", 10, 25, (255, 0, 0), "#FF0000"),
    Band("wqi_0_9", 0, 9, (126, 0, 35), "#7E0023"),
)
BAND_BY_KEY: Mapping[str, Band] = {b.key: b for b in BANDS}

#: Labels per band key and language, as in the spec's table. Configuration: the texts of
#: the Decision differ on the labels of 26–50 and 10–25; pass ``labels=`` to override.
DEFAULT_LABELS: Mapping[str, Mapping[str, str]] = {
    "wqi_91_100": {"vi": "Rất tốt", "en": "Very good"},
    "wqi_76_90": {"vi": "Tốt", "en": "Good"},
    "wqi_51_75": {"vi": "Trung bình", "en": "Moderate"},
    "wqi_26_50": {"vi": "Xấu", "en": "Bad"},
    "wqi_10_25": {"vi": "Kém", "en": "Poor"},
    "wqi_0_9": {"vi": "Ô nhiễm rất nặng", "en": "Heavily polluted"},
}


def band(wqi_value: float) -> Band:
    """The band of a WQI (meant for the rounded integer; a value between two bands' integers,
    e.g. 90.4, falls in the upper band). Raises ValueError for negative or NaN."""
    if wqi_value is None or not wqi_value >= 0:
        raise ValueError(f"WQI must be a number >= 0, got {wqi_value!r}")
    for b in BANDS:
        if wqi_value > b.lo - 1:
            return b
    return BANDS[-1]


def band_label(key: str, lang: str = "vi", labels: Mapping[str, Mapping[str, str]] | None = None) -> str:
    """The label of band ``key`` in ``lang`` from ``labels`` (default :data:`DEFAULT_LABELS`)."""
    return (labels or DEFAULT_LABELS)[key][lang]


def round_half_up(x: float) -> int:
    f = math.floor(x)
    return int(f) + (1 if x - f >= 0.5 else 0)


# --------------------------------------------------------------------------------------
# Aggregation
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WQIResult:
    wqi: int | None  # rounded; None when not computable
    value: float | None = None  # before rounding
    band: str | None = None  # a key of BAND_BY_KEY
    colour: str | None = None
    reason: str | None = None  # why there is no WQI
    # too_few_groups | group_iv_missing | group_iv_too_few | group_ii_required | group_iii_required
    reason_code: str | None = None
    formula: str | None = None  # with_v | without_v | organic
    sub_indices: Mapping[str, float] = field(default_factory=dict)  # q per parameter used
    groups: Mapping[str, float] = field(default_factory=dict)  # I: q_pH, II/III: geomean, IV/V: mean
    ignored: tuple[str, ...] = ()  # names not used (unknown, invalid, DO without temperature)

    def label(self, lang: str = "vi", labels: Mapping[str, Mapping[str, str]] | None = None) -> str | None:
        return None if self.band is None else band_label(self.band, lang, labels)


def _geomean(values: list[float]) -> float:
    return math.prod(values) ** (1 / len(values))


def wqi(
    sample: Mapping[str, float | None],
    *,
    temperature: float | None = None,
    organic: bool = False,
    pesticide_water: bool = False,
    metal_water: bool = False,
) -> WQIResult:
    """VN_WQI of one sample.

    ``sample`` maps parameter names (see :func:`normalise_parameter`) to values; None/NaN
    means not measured. DO in mg/L needs the water temperature, from ``temperature`` or a
    ``temperature`` entry in ``sample``; ``do_pct`` gives DO% directly and wins over ``do``.
    ``organic=True`` uses the organic-pollution weighting (IV = 2, V = 1) when group V is
    present. ``pesticide_water`` / ``metal_water``: the water is known to carry pesticides /
    metals, so group II / III must be measured.
    """
    ignored: list[str] = []
    values: dict[str, float] = {}
    for name, raw in sample.items():
        key = normalise_parameter(name)
        if key is None:
            ignored.append(name)
            continue
        v = _valid(raw)
        if v is None:
            if raw is not None and not (isinstance(raw, float) and math.isnan(raw)):
                ignored.append(name)  # negative or infinite: not a measurement
            continue
        values[key] = v
    if temperature is None:
        temperature = values.pop("temperature", None)
    else:
        values.pop("temperature", None)

    q: dict[str, float] = {}
    for key, v in values.items():
        if key == "do_pct":
            q["do"] = q_do_percent(v)
        elif key == "do":
            if "do_pct" in values:
                continue
            if temperature is None:
                ignored.append("do (no temperature)")
                continue
            pct = do_percent(v, temperature)
            if pct is None:
                ignored.append("do (temperature outside the DO saturation formula)")
                continue
            q["do"] = q_do_percent(pct)
        else:
            q[key] = q_parameter(key, v)

    by_group = {g: [q[p] for p in params if p in q] for g, params in GROUPS.items()}
    present = [g for g, qs in by_group.items() if qs]
    base = {"sub_indices": q, "ignored": tuple(ignored)}

    def fail(code: str, reason: str) -> WQIResult:
        return WQIResult(wqi=None, reason=reason, reason_code=code, **base)

    n_iv = len(by_group["IV"])
    if n_iv == 0:
        return fail("group_iv_missing", "group IV (organics and nutrients) is required")
    if n_iv < 3:
        return fail("group_iv_too_few", f"group IV needs at least 3 parameters, has {n_iv}")
    if len(present) < 3:
        return fail("too_few_groups", f"needs at least 3 of the 5 groups, has {len(present)} ({', '.join(present)})")
    if pesticide_water and not by_group["II"]:
        return fail("group_ii_required", "water known to carry pesticides: group II is required")
    if metal_water and not by_group["III"]:
        return fail("group_iii_required", "water known to carry metals: group III is required")

    groups: dict[str, float] = {}
    factor = 1.0
    if by_group["I"]:
        groups["I"] = by_group["I"][0]
        factor *= groups["I"] / 100
    for g in ("II", "III"):
        if by_group[g]:
            groups[g] = _geomean(by_group[g])
            factor *= groups[g] / 100
    groups["IV"] = mean_iv = sum(by_group["IV"]) / n_iv
    if by_group["V"]:
        groups["V"] = mean_v = sum(by_group["V"]) / len(by_group["V"])
        if organic:
            formula, last = "organic", (mean_iv ** 2 * mean_v) ** (1 / 3)
        else:
            formula, last = "with_v", math.sqrt(mean_iv * mean_v)
    else:
        formula, last = "without_v", mean_iv
    value = factor * last
    rounded = round_half_up(value)
    b = band(rounded)
    return WQIResult(wqi=rounded, value=value, band=b.key, colour=b.colour, formula=formula, groups=groups, **base)
