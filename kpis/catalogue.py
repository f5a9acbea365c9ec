"""The KPI catalogue (``config/kpis.yaml``, setting ``KPIS_FILE``): what each KPI is and how
it is computed from the stored series, validated at start-up.

One entry of the top-level ``kpis:`` list::

    - code: LAND-07                      # unique; letters, digits, '-', '_' (used in URLs)
      name_vi: Tỷ lệ tra cứu thông tin đất đai bị lỗi
      name_en: Land record look-up failure rate
      unit: "%"
      # unit_en: files                   # optional: the unit in English where it is a word
      area: land                         # reporting | land | water_resources | public_services
                                         # | environment | gnss | it
      owner: MAE-QLDD                    # the unit answerable for it
      method: ratio                      # latest | sum | mean | ratio | count | rate_of_change
      numerator: lookup_failures         # ratio: 100 × Σ numerator ÷ Σ denominator
      denominator: lookup_requests
      period: month                      # day | week | month | quarter | year (local time)
      window: to_date                    # to_date (the period so far, default) | last_complete
      entities: {kind: province}         # which entities' series: kind, subtype, codes, meta
      direction: lower_is_better         # or higher_is_better
      target: 2
      thresholds: {green: 2, red: 5}     # green at or better than 2, red at or worse than 5,
                                         # amber between; no thresholds: status "neutral"
      breakdown: province                # province | unit | none
      headline: true                     # shown on the overview

Methods, each over the period's valid readings (quality 0):

- ``latest``: each series' newest reading as of the end of the period, looking back at
  most ``max_age`` (default one period: 1, 7, 31, 92 or 366 days); ``combine`` (sum, mean,
  min, max; default sum) merges the entities' values. One ``metric``.
- ``sum``: the sum of the readings of ``metric`` (one metric or a list, added up).
- ``mean``: the mean of the readings (every reading weighs the same).
- ``ratio``: 100 × numerator ÷ denominator, each summed over the period, or each the
  ``latest`` value summed over entities with ``ratio_of: latest``.
- ``count``: entities of the selection whose latest reading of ``metric`` (as for
  ``latest``) meets ``condition`` (``{op: "==", value: 1}``; ops == != > >= < <=, or
  ``{op: missing}``: no reading at all); ``as_percent: true`` gives the share of the
  selection instead of the number.
- ``rate_of_change``: the change of ``metric`` from the first to the last hour with a
  reading in the period, per series, merged by ``combine`` (default mean), or with
  ``relative: true`` the change of the total in % of its start.

Errors name the file, the line, the KPI and the key, and say how to fix it, e.g.
``config/kpis.yaml:42: KPI LAND-01 key 'direction': must be one of higher_is_better,
lower_is_better; got 'up'``.
"""
from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from settings import ConfigError
from yaml_config import YamlFile, read_yaml, reloading

AREAS = ("reporting", "land", "water_resources", "public_services", "environment", "gnss", "it")
METHODS = ("latest", "sum", "mean", "ratio", "count", "rate_of_change")
PERIODS = ("day", "week", "month", "quarter", "year")
WINDOWS = ("to_date", "last_complete")
DIRECTIONS = ("higher_is_better", "lower_is_better")
BREAKDOWNS = ("province", "unit", "none")
COMBINES = ("sum", "mean", "min", "max")
OPS = ("==", "!=", ">", ">=", "<", "<=", "missing")
RATIO_OF = ("sum", "latest")

Area = Literal["reporting", "land", "water_resources", "public_services", "environment", "gnss", "it"]
Method = Literal["latest", "sum", "mean", "ratio", "count", "rate_of_change"]
Period = Literal["day", "week", "month", "quarter", "year"]
WindowName = Literal["to_date", "last_complete"]
Direction = Literal["higher_is_better", "lower_is_better"]
Breakdown = Literal["province", "unit", "none"]
Combine = Literal["sum", "mean", "min", "max"]
Op = Literal["==", "!=", ">", ">=", "<", "<=", "missing"]

# How far back "latest" looks by default: one period, long enough for the longest month.
PERIOD_LENGTH = {
    "day": timedelta(days=1), "week": timedelta(days=7), "month": timedelta(days=31),
    "quarter": timedelta(days=92), "year": timedelta(days=366),
}
_CODE = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|h|d)\s*$")
_DURATION_UNIT = {"m": 60, "h": 3600, "d": 86400}

# Which keys apply to which methods: a key given to another method is a mistake worth naming.
_ONLY_FOR: dict[str, tuple[str, ...]] = {
    "metric": ("latest", "sum", "mean", "count", "rate_of_change"),
    "numerator": ("ratio",),
    "denominator": ("ratio",),
    "ratio_of": ("ratio",),
    "condition": ("count",),
    "as_percent": ("count",),
    "combine": ("latest", "rate_of_change"),
    "relative": ("rate_of_change",),
    "max_age": ("latest", "count", "ratio"),
}
# Example values for the fix of a missing key.
_EXAMPLES = {
    "code": "code: LAND-01", "name_vi": "name_vi: Tỷ lệ ...", "name_en": "name_en: Share of ...", "unit": 'unit: "%"',
    "area": "area: land", "owner": "owner: MAE-QLDD", "method": "method: sum", "period": "period: month",
    "entities": "entities: {kind: province}", "direction": "direction: higher_is_better",
    "kind": "kind: province", "green": "green: 95", "red": "red: 80", "op": 'op: "=="',
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Selection(_Model):
    """Which entities' series a KPI reads: every condition given must hold."""

    kind: str | list[str]
    subtype: str | list[str] | None = None
    codes: list[str] | None = None  # glob patterns: "BC0[1-3]-*"
    meta: dict[str, str | int | float | bool] | None = None

    @property
    def kinds(self) -> tuple[str, ...]:
        return (self.kind,) if isinstance(self.kind, str) else tuple(self.kind)

    def matches(self, kind: str, subtype: str | None, code: str, meta: dict[str, Any] | None) -> bool:
        if kind not in self.kinds:
            return False
        if self.subtype is not None:
            wanted = (self.subtype,) if isinstance(self.subtype, str) else tuple(self.subtype)
            if subtype not in wanted:
                return False
        if self.codes is not None and not any(fnmatch.fnmatchcase(code, pattern) for pattern in self.codes):
            return False
        if self.meta:
            meta = meta or {}
            return all(key in meta and meta[key] == value for key, value in self.meta.items())
        return True


class Condition(_Model):
    op: Op
    value: float | None = None

    def holds(self, value: float | None) -> bool:
        """Whether an entity whose latest reading is ``value`` (None: none) counts."""
        if self.op == "missing":
            return value is None
        if value is None or self.value is None:
            return False
        return {
            "==": value == self.value, "!=": value != self.value, ">": value > self.value,
            ">=": value >= self.value, "<": value < self.value, "<=": value <= self.value,
        }[self.op]


class Thresholds(_Model):
    """Status boundaries: at or better than ``green`` is green, at or worse than ``red`` is red."""

    green: float
    red: float


class Kpi(_Model):
    code: str = Field(pattern=_CODE)
    name_vi: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    unit: str
    unit_en: str | None = None  # the unit in English where it is a word ("reports"); default: unit
    area: Area
    owner: str = Field(min_length=1)
    method: Method
    metric: str | list[str] | None = None
    numerator: str | None = None
    denominator: str | None = None
    ratio_of: Literal["sum", "latest"] = "sum"
    condition: Condition | None = None
    as_percent: bool = False
    combine: Combine | None = None
    relative: bool = False
    period: Period
    window: WindowName = "to_date"
    max_age: str | None = None
    entities: Selection
    direction: Direction
    target: float | None = None
    thresholds: Thresholds | None = None
    breakdown: Breakdown = "none"
    breakdown_thresholds: Thresholds | None = None
    headline: bool = False
    note: str = ""

    @property
    def metrics(self) -> tuple[str, ...]:
        """The metric(s) of ``metric`` (empty for a ratio)."""
        if self.metric is None:
            return ()
        return (self.metric,) if isinstance(self.metric, str) else tuple(self.metric)

    @property
    def metrics_needed(self) -> tuple[str, ...]:
        """Every metric the computation reads."""
        extra = tuple(m for m in (self.numerator, self.denominator) if m)
        return self.metrics + extra

    @property
    def lookback(self) -> timedelta:
        """How far back ``latest`` (and ``count``) look from the end of the period."""
        return timedelta(seconds=parse_age(self.max_age)) if self.max_age else PERIOD_LENGTH[self.period]

    @property
    def uses_latest(self) -> bool:
        return self.method in ("latest", "count") or (self.method == "ratio" and self.ratio_of == "latest")

    @property
    def scale_free(self) -> bool:
        """A value that means the same for one province as for the nation (a share, a mean),
        so the KPI's thresholds also colour its breakdown."""
        if self.method in ("mean", "ratio"):
            return True
        if self.method == "count":
            return self.as_percent
        if self.method == "rate_of_change":
            return self.relative or (self.combine or "mean") != "sum"
        return (self.combine or "sum") != "sum"

    def name(self, lang: str) -> str:
        return self.name_en if lang == "en" else self.name_vi


@dataclass(frozen=True)
class Catalogue:
    kpis: tuple[Kpi, ...]
    path: Path | None = None

    def get(self, code: str) -> Kpi | None:
        return next((k for k in self.kpis if k.code == code), None)

    @property
    def kinds(self) -> set[str]:
        return {kind for k in self.kpis for kind in k.entities.kinds}

    @property
    def metrics(self) -> set[str]:
        return {m for k in self.kpis for m in k.metrics_needed}


def parse_age(text: str) -> int:
    """'90m', '2h', '7d' → seconds; ValueError saying how to write one."""
    m = _DURATION.match(str(text))
    if not m or float(m.group(1)) <= 0:
        raise ValueError(f"{text!r} is not a duration; write e.g. 90m, 2h or 7d")
    return int(float(m.group(1)) * _DURATION_UNIT[m.group(2)])


# --------------------------------------------------------------------------- loading


class _KeyError(Exception):
    """One problem with one key of one KPI: ``key`` is the path inside the entry."""

    def __init__(self, key: tuple[Any, ...], message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


def load_catalogue(path: Path) -> Catalogue:
    """Parse and validate the KPI file; raise :class:`ConfigError` naming file, line, KPI, key and fix."""
    file = read_yaml(Path(path), "KPI catalogue", "KPIS_FILE")
    data = file.data
    if not isinstance(data, dict) or not isinstance(data.get("kpis"), list):
        raise file.error((), "expected a top-level 'kpis:' list of KPI entries (see the comments at the top of "
                             "config/kpis.yaml)")
    unknown = sorted(set(data) - {"kpis"})
    if unknown:
        raise file.error((unknown[0],), f"unknown top-level key {unknown[0]!r}; the file holds only 'kpis:'")
    kpis: list[Kpi] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(data["kpis"]):
        where = ("kpis", index)
        if not isinstance(entry, dict):
            raise file.error(where, f"KPI #{index + 1}: each KPI must be a mapping with code, names, method ...")
        label = str(entry.get("code") or f"#{index + 1}")
        try:
            kpi = _validate_entry(entry)
        except _KeyError as exc:
            raise _error(file, where, label, exc) from None
        if kpi.code in seen:
            raise _error(file, where, label, _KeyError(
                ("code",), f"{kpi.code!r} is already used at line {seen[kpi.code]}; give each KPI its own code"))
        seen[kpi.code] = file.line(where + ("code",))
        kpis.append(kpi)
    return Catalogue(tuple(kpis), Path(path))


def _error(file: YamlFile, where: tuple[Any, ...], label: str, exc: _KeyError) -> ConfigError:
    key = ".".join(str(p) for p in exc.key) or "(entry)"
    return file.error(where + exc.key, f"KPI {label} key {key!r}: {exc.message}")


def _validate_entry(entry: dict[str, Any]) -> Kpi:
    for key in ("thresholds", "breakdown_thresholds"):
        # Operators think in three colours; the file takes two boundaries.
        if isinstance(entry.get(key), dict) and "amber" in entry[key]:
            raise _KeyError((key, "amber"), "amber is the band between green and red: give only green (at or better "
                                            "is green) and red (at or worse is red)")
    try:
        kpi = Kpi.model_validate(entry)
    except ValidationError as exc:
        raise _from_pydantic(exc.errors()[0], entry) from None
    _check(kpi, entry)
    return kpi


def _from_pydantic(err: dict[str, Any], entry: dict[str, Any]) -> _KeyError:
    """The first pydantic error as a key and a message with its fix."""
    # Drop the names pydantic adds for union branches ("str", "list[str]"...): keep the keys.
    key = _key_path(tuple(err["loc"]), entry)
    kind = err["type"]
    got = err.get("input")
    if kind == "missing":
        name = str(err["loc"][-1])
        example = _EXAMPLES.get(name)
        return _KeyError(key, "is missing; add it" + (f", e.g. {example}" if example else ""))
    if kind == "extra_forbidden":
        return _KeyError(key, "is not a known key; remove it or check its spelling" + _allowed_keys(key))
    if kind == "literal_error":
        choices = re.findall(r"'([^']*)'", str(err.get("ctx", {}).get("expected", "")))
        return _KeyError(key, f"must be one of {', '.join(choices)}; got {got!r}")
    if kind == "string_pattern_mismatch":
        return _KeyError(key, f"{got!r} must be 1–40 letters, digits, '-' or '_', starting with a letter or digit "
                              "(e.g. LAND-01)")
    if kind.startswith(("float", "int")):
        return _KeyError(key, f"must be a number; got {got!r}")
    if kind.startswith("bool"):
        return _KeyError(key, f"must be true or false; got {got!r}")
    if kind in ("string_type", "list_type", "dict_type", "model_type"):
        return _KeyError(key, f"{err['msg'].lower()}; got {got!r}")
    return _KeyError(key, err["msg"].removeprefix("Value error, "))


# Names pydantic gives union branches in an error's location: not keys of the file.
_BRANCHES = {"str", "float", "int", "bool"}


def _key_path(loc: tuple[Any, ...], entry: dict[str, Any]) -> tuple[Any, ...]:
    """The keys of ``loc`` as written in the entry: branch names dropped, a missing or unknown key kept last."""
    node: Any = entry
    path: list[Any] = []
    for part in loc:
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_dict or in_list:
            node = node[part]
            path.append(part)
        elif isinstance(node, dict) and isinstance(part, str) and "[" not in part and part not in _BRANCHES:
            path.append(part)
            break
    return tuple(path)


def _allowed_keys(key: tuple[Any, ...]) -> str:
    model: type[BaseModel] | None = {(): Kpi, ("entities",): Selection, ("condition",): Condition,
                                     ("thresholds",): Thresholds, ("breakdown_thresholds",): Thresholds}.get(key[:-1])
    return f" (keys: {', '.join(model.model_fields)})" if model else ""


def _check(kpi: Kpi, entry: dict[str, Any]) -> None:
    """The rules between keys that pydantic's types cannot say."""
    for key, methods in _ONLY_FOR.items():
        if key in entry and kpi.method not in methods:
            raise _KeyError((key,), f"does not apply to method {kpi.method} (only to {', '.join(methods)}); remove it")
    if kpi.method == "ratio":
        for key in ("numerator", "denominator"):
            if not getattr(kpi, key):
                raise _KeyError((key,), f"the ratio method needs numerator and denominator metrics; add {key}: <metric>")
    elif not kpi.metrics:
        raise _KeyError(("metric",), f"method {kpi.method} needs the metric it reads; add metric: <metric name>")
    if kpi.method in ("latest", "count", "rate_of_change") and len(kpi.metrics) != 1:
        raise _KeyError(("metric",), f"method {kpi.method} reads one metric; give one name, not a list")
    if kpi.method == "count":
        if kpi.condition is None:
            raise _KeyError(("condition",), 'method count needs the condition an entity must meet; add e.g. '
                                            'condition: {op: "==", value: 1}')
        if kpi.condition.op != "missing" and kpi.condition.value is None:
            raise _KeyError(("condition", "value"), f"op {kpi.condition.op!r} compares with a value; add value: <number>")
        if kpi.condition.op == "missing" and kpi.condition.value is not None:
            raise _KeyError(("condition", "value"), "op 'missing' takes no value; remove it")
    if kpi.max_age is not None:
        try:
            parse_age(kpi.max_age)
        except ValueError as exc:
            raise _KeyError(("max_age",), str(exc)) from None
    for key in ("thresholds", "breakdown_thresholds"):
        bounds: Thresholds | None = getattr(kpi, key)
        if bounds is None:
            continue
        if kpi.direction == "higher_is_better" and bounds.green < bounds.red:
            raise _KeyError((key,), f"with direction higher_is_better, green ({bounds.green:g}) must be at least red "
                                    f"({bounds.red:g}); swap them or change direction")
        if kpi.direction == "lower_is_better" and bounds.green > bounds.red:
            raise _KeyError((key,), f"with direction lower_is_better, green ({bounds.green:g}) must be at most red "
                                    f"({bounds.red:g}); swap them or change direction")
    if kpi.breakdown_thresholds is not None and kpi.breakdown == "none":
        raise _KeyError(("breakdown_thresholds",), "applies only with a breakdown; set breakdown: province or unit, "
                                                   "or remove it")
    if kpi.entities.codes is not None and not kpi.entities.codes:
        raise _KeyError(("entities", "codes"), "is an empty list; give code patterns (e.g. ['BC01-*']) or remove it")


# The KPI file, re-read only when it changes (for web requests).
current_catalogue = reloading(load_catalogue)
