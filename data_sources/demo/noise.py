"""Counter-based randomness for the simulator: every number is a hash of its coordinates.

Nothing here keeps state. ``hash64(seed, entity_key, metric_key, salt, time_index)``
gives the same 64 bits for the same arguments in any process, on any machine, in any
order and in any batch size, which is what makes the simulator's output a pure
function of (seed, entity, metric, timestamp). Everything is vectorised over numpy
arrays (uint64 arithmetic wraps, as intended).
"""
from __future__ import annotations

import hashlib

from collections.abc import Iterator

import numpy as np

U64 = np.uint64
_GOLDEN = U64(0x9E3779B97F4A7C15)
_M1 = U64(0xBF58476D1CE4E5B9)
_M2 = U64(0x94D049BB133111EB)
_INV53 = 1.0 / 9007199254740992.0  # 2**-53

LOCAL_OFFSET = 7 * 3600  # Asia/Ho_Chi_Minh: UTC+7 all year (no daylight saving)
DAY = 86400
HOUR = 3600


def stable_key(text: str) -> int:
    """A 64-bit key for a string that never changes between runs (unlike ``hash()``)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")


def _u64(x: object) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype == np.uint64:
        return arr
    if arr.dtype.kind in "iub":
        return arr.astype(np.int64).view(np.uint64)
    if arr.dtype.kind == "f":
        return np.floor(arr).astype(np.int64).view(np.uint64)
    raise TypeError(f"cannot hash {arr.dtype}")


def mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a bijective scramble of 64-bit words."""
    with np.errstate(over="ignore"):
        x = x ^ (x >> U64(30))
        x = x * _M1
        x = x ^ (x >> U64(27))
        x = x * _M2
        x = x ^ (x >> U64(31))
    return x


def hash64(*parts: object) -> np.ndarray:
    """Hash any number of integer scalars/arrays (broadcast together) to uint64."""
    with np.errstate(over="ignore"):
        h = np.asarray(_GOLDEN, dtype=np.uint64)
        for part in parts:
            h = mix(h + mix(_u64(part) + _GOLDEN))
    return h


def uniform(*parts: object) -> np.ndarray:
    """Uniform in [0, 1) from the hash of ``parts``."""
    return (hash64(*parts) >> U64(11)).astype(np.float64) * _INV53


def normalish(*parts: object) -> np.ndarray:
    """Approximately standard normal (Irwin–Hall of 4 uniforms; bounded at ±3.46)."""
    h = hash64(*parts)
    total = np.zeros(np.shape(h))
    with np.errstate(over="ignore"):
        for k in range(4):
            total = total + (mix(h + U64(k + 1) * _GOLDEN) >> U64(11)).astype(np.float64) * _INV53
    return (total - 2.0) * 1.7320508075688772  # sqrt(12 / 4)


def value_noise(t: np.ndarray, period: int, *key: object) -> np.ndarray:
    """Smooth noise in [-1, 1]: random knots every ``period`` seconds, eased between them."""
    t = np.asarray(t, dtype=np.int64)
    k = t // period
    f = (t - k * period).astype(np.float64) / period
    a = uniform(*key, k) * 2.0 - 1.0
    b = uniform(*key, k + 1) * 2.0 - 1.0
    s = f * f * (3.0 - 2.0 * f)
    return a + (b - a) * s


def fractal_noise(t: np.ndarray, periods: tuple[int, ...], *key: object) -> np.ndarray:
    """Sum of value-noise octaves, each half the weight of the one before; about [-1, 1]."""
    total = 0.0
    weight = 1.0
    norm = 0.0
    for i, period in enumerate(periods):
        total = total + weight * value_noise(t, period, *key, 1000 + i)
        norm += weight
        weight *= 0.5
    return total / norm


def episodes(
    t: np.ndarray,
    block: int,
    prob: np.ndarray | float,
    min_len: float,
    max_len: float,
    *key: object,
) -> tuple[np.ndarray, np.ndarray]:
    """Episodes (pollution events, outages...) as a pure function of time.

    Time is cut into blocks of ``block`` seconds; each block holds one episode with
    probability ``prob`` (scalar or per-row array), starting at a random moment in the
    block and lasting ``min_len``–``max_len`` seconds (it may run into later blocks).
    Returns ``(envelope, strength)``: ``envelope`` is 0 outside an episode and rises
    smoothly to 1 in its middle (a sine bump); ``strength`` is a uniform [0, 1) draw
    of the episode covering the row (0 outside), for amplitudes.
    """
    t = np.asarray(t, dtype=np.int64)
    b = t // block
    envelope = np.zeros(t.shape)
    strength = np.zeros(t.shape)
    lookback = int(np.ceil(max_len / block)) + 1
    for j in range(lookback):
        bb = b - j
        h = hash64(*key, bb)
        active = (h >> U64(11)).astype(np.float64) * _INV53 < prob
        start = bb * block + (uniform(h, 1) * block).astype(np.int64)
        length = min_len + uniform(h, 2) * (max_len - min_len)
        x = (t - start) / length
        inside = active & (x >= 0.0) & (x <= 1.0)
        bump = np.where(inside, np.sin(np.pi * np.clip(x, 0.0, 1.0)), 0.0)
        take = bump > envelope
        envelope = np.where(take, bump, envelope)
        strength = np.where(take, uniform(h, 3), strength)
    return envelope, strength


def _episode_candidates(
    t: np.ndarray, block: int, prob: np.ndarray | float, min_len: float, max_len: float, key: tuple[object, ...]
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """For each block an episode covering ``t`` could start in: (covers t, its start)."""
    b = t // block
    lookback = int(np.ceil(max_len / block)) + 1
    for j in range(lookback):
        bb = b - j
        h = hash64(*key, bb)
        active = (h >> U64(11)).astype(np.float64) * _INV53 < prob
        start = bb * block + (uniform(h, 1) * block).astype(np.int64)
        length = (min_len + uniform(h, 2) * (max_len - min_len)).astype(np.int64)
        yield active & (t >= start) & (t < start + length), start


def in_episode(
    t: np.ndarray, block: int, prob: np.ndarray | float, min_len: float, max_len: float, *key: object
) -> np.ndarray:
    """Boolean: is ``t`` inside an episode (see :func:`episodes`; edges inclusive of start)."""
    t = np.asarray(t, dtype=np.int64)
    out = np.zeros(t.shape, dtype=bool)
    for covers, _start in _episode_candidates(t, block, prob, min_len, max_len, key):
        out |= covers
    return out


def episode_start(
    t: np.ndarray, block: int, prob: np.ndarray | float, min_len: float, max_len: float, *key: object
) -> np.ndarray:
    """Start time of the episode covering ``t`` (as :func:`in_episode`), or -1 outside one."""
    t = np.asarray(t, dtype=np.int64)
    out = np.full(t.shape, -1, dtype=np.int64)
    for covers, start in _episode_candidates(t, block, prob, min_len, max_len, key):
        out = np.where(covers & (out < 0), start, out)
    return out


class LocalTime:
    """Calendar fields of epoch seconds in Vietnam's time zone, computed once per batch."""

    def __init__(self, t: np.ndarray) -> None:
        self.t = np.asarray(t, dtype=np.int64)
        local = self.t + LOCAL_OFFSET
        self.day = local // DAY  # local day number since 1970-01-01
        self.hour = (local - self.day * DAY).astype(np.float64) / HOUR  # 0 ≤ hour < 24
        self.weekday = (self.day + 3) % 7  # 0 = Monday
        days = self.day.astype("datetime64[D]")
        self.doy = (days - days.astype("datetime64[Y]")).astype(np.int64) + 1
        self.year = days.astype("datetime64[Y]").astype(np.int64) + 1970
        self.month = days.astype("datetime64[M]").astype(np.int64) % 12 + 1
        self.dom = (days - days.astype("datetime64[M]")).astype(np.int64) + 1

    def seasonal(self, peak_doy: float) -> np.ndarray:
        """cos of the year's phase: 1 on ``peak_doy``, −1 half a year later."""
        return np.cos(2.0 * np.pi * (self.doy - peak_doy) / 365.25)


def bump(hour: np.ndarray, centre: float, width: float) -> np.ndarray:
    """A daily Gaussian bump around ``centre`` o'clock (wrapping over midnight)."""
    d = np.abs(hour - centre)
    d = np.minimum(d, 24.0 - d)
    return np.exp(-0.5 * (d / width) ** 2)
