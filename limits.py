"""Dated limits for exceedances, loaded from the operator's limits file (config/limits.yaml).

Two kinds of table, each valid from one date to another (both inclusive):

- ``ambient``: per pollutant and averaging period ("1h", "8h", "24h", "year") a
  limit, either one number for the whole table or a list of dated values, e.g.
  QCVN 05:2023/BTNMT's PM2.5 24-hour limit of 50 µg/m³ until 2025-12-31 and 45 from
  2026-01-01.
- ``wastewater``: per parameter a value per column (QCVN 40:2011: A, B) or an
  allowed range ``[low, high]`` (pH), and whether the factors Kq × Kf apply.

:meth:`Limits.ambient_for` and :meth:`Limits.discharge_limit` answer "which limit on
this day"; a station's permit (``meta["limits"]``) wins over the national table.
:func:`load_limits` raises :class:`settings.ConfigError` naming the file, the line and
the fix.
"""
from __future__ import annotations

import bisect
import functools
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, model_validator

from yaml_config import YamlFile, generic_hint, read_yaml, reloading, validate

PERIODS = ("1h", "8h", "24h", "year")
Period = Literal["1h", "8h", "24h", "year"]
DEFAULT_KQ = 1.0  # a station whose meta gives no Kq: the receiving water is not known, no adjustment


# --------------------------------------------------------------------------- file model


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Checks(_Model):
    daily_min_hours: int = Field(default=18, ge=1, le=24)
    rolling_8h_min_hours: int = Field(default=6, ge=1, le=8)
    flat_line_hours: int = Field(default=3, ge=2)
    flat_line_min_readings: int = Field(default=3, ge=2)


class DatedValue(_Model):
    value: PositiveFloat
    valid_from: date | None = None
    valid_to: date | None = None


class AmbientTable(_Model):
    regulation: str = Field(min_length=1)
    valid_from: date
    valid_to: date | None = None
    unit: str
    limits: dict[str, dict[Period, PositiveFloat | list[DatedValue]]]


class Parameter(_Model):
    unit: str = ""
    factors: bool  # required: say for every parameter whether Kq × Kf apply
    columns: dict[str, PositiveFloat | tuple[float, float]] = Field(min_length=1)

    @model_validator(mode="after")
    def _ranges(self) -> Parameter:
        for column, value in self.columns.items():
            if isinstance(value, tuple):
                if not value[0] < value[1]:
                    raise ValueError(f"column {column}: a range is [low, high] with low < high; got {list(value)}")
                if self.factors:
                    raise ValueError("a range (like pH) is never scaled by Kq × Kf; write factors: false")
        return self


class KfStep(_Model):
    up_to: PositiveFloat | None = None  # m³/day, inclusive; None = any larger flow
    kf: PositiveFloat


class WastewaterTable(_Model):
    regulation: str = Field(min_length=1)
    valid_from: date
    valid_to: date | None = None
    kf_by_flow: list[KfStep] = Field(default_factory=list)
    parameters: dict[str, Parameter] = Field(min_length=1)


class LimitsFile(_Model):
    checks: Checks = Field(default_factory=Checks)
    plausible_max: dict[str, PositiveFloat] = Field(default_factory=dict)
    ambient: list[AmbientTable] = Field(default_factory=list)
    wastewater: list[WastewaterTable] = Field(default_factory=list)


# --------------------------------------------------------------------------- answers


@dataclass(frozen=True)
class AmbientLimit:
    metric: str
    period: str
    value: float
    unit: str
    regulation: str
    valid_from: date
    valid_to: date | None


@dataclass(frozen=True)
class DischargeLimit:
    """The limit a station's discharge of ``metric`` is held to on one day.

    ``high`` is Cmax (None when only a lower bound applies); ``low`` is set for ranges
    such as pH. ``basis`` is "permit" when the station's own permit set it (then no
    factors are applied: permit figures are final) or "regulation".
    """

    metric: str
    low: float | None
    high: float | None
    unit: str
    regulation: str
    basis: str
    column: str | None = None
    kq: float = 1.0
    kf: float = 1.0
    base: float | None = None  # C before Kq × Kf


@dataclass(frozen=True)
class _Span:
    value: float
    start: date
    end: date | None
    regulation: str
    unit: str

    def covers(self, on: date) -> bool:
        return self.start <= on and (self.end is None or on <= self.end)


@dataclass
class Limits:
    checks: Checks
    plausible_max: dict[str, float]
    ambient_tables: list[AmbientTable]
    wastewater_tables: list[WastewaterTable]
    path: Path | None = None
    _ambient: dict[tuple[str, str], list[_Span]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for table in self.ambient_tables:
            for metric, periods in table.limits.items():
                for period, spec in periods.items():
                    for value, start, end in _dated_values(table, spec):
                        self._ambient.setdefault((metric, period), []).append(
                            _Span(value, start, end, table.regulation, table.unit))

    # -- ambient
    def ambient_for(self, metric: str, period: str, on: date) -> AmbientLimit | None:
        """The ambient limit for ``metric`` averaged over ``period`` on day ``on``; None if none applies."""
        for span in self._ambient.get((metric, period), ()):
            if span.covers(on):
                return AmbientLimit(metric, period, span.value, span.unit, span.regulation, span.start, span.end)
        return None

    def ambient_metrics(self) -> set[str]:
        return {metric for metric, _ in self._ambient}

    def ambient_periods(self, metric: str) -> set[str]:
        return {period for m, period in self._ambient if m == metric}

    # -- wastewater
    def wastewater_metrics(self) -> set[str]:
        return {name for table in self.wastewater_tables for name in table.parameters}

    def unit_of(self, metric: str, kind: str) -> str | None:
        """The unit the limits of ``metric`` are written in ("air" or "wastewater" tables); newest table wins."""
        if kind == "air":
            spans = self._ambient_spans(metric)
            return max(spans, key=lambda s: s.start).unit if spans else None
        tables = [t for t in self.wastewater_tables if metric in t.parameters]
        return max(tables, key=lambda t: t.valid_from).parameters[metric].unit if tables else None

    def _ambient_spans(self, metric: str) -> list[_Span]:
        return [s for (m, _), spans in self._ambient.items() if m == metric for s in spans]

    def wastewater_table(self, on: date, regulation: str | None = None) -> WastewaterTable | None:
        """The table in force on ``on``: the one ``regulation`` names, else the newest in force.

        A station whose meta names a regulation that has no table here gets none, rather
        than another regulation's figures.
        """
        tables = [t for t in self.wastewater_tables if _in_force(t.valid_from, t.valid_to, on)]
        if regulation:
            named = [t for t in self.wastewater_tables if t.regulation == regulation]
            if named:
                tables = [t for t in tables if t.regulation == regulation]
            else:
                return None
        return max(tables, key=lambda t: t.valid_from) if tables else None

    def discharge_limit(self, metric: str, station_meta: dict[str, Any], on: date) -> DischargeLimit | None:
        """The limit of a wastewater station's ``metric`` on day ``on``, or None if none applies.

        A limit in the station's permit (``meta["limits"]``: ``{"COD": 148.5, "pH_min":
        5.5, "pH_max": 9}``) wins and is used as written. Otherwise the national table
        the station's ``meta["regulation"]`` names gives C for its ``meta["column"]``,
        scaled to Cmax = C × Kq × Kf where the table says the factors apply (never to
        pH, temperature, colour or coliform). Kq comes from ``meta["kq"]`` (1.0 when
        absent); Kf from ``meta["kf"]``, else from ``meta["flow_m3_day"]`` by the
        table's flow steps, else 1.0. No column in the meta: no national limit.
        """
        meta = station_meta or {}
        regulation = meta.get("regulation")
        permit = meta.get("limits") or {}
        low, high = permit.get(f"{metric}_min"), permit.get(f"{metric}_max")
        if metric in permit or low is not None or high is not None:
            if metric in permit:
                high = permit[metric]
            table = self.wastewater_table(on, regulation)
            unit = table.parameters[metric].unit if table and metric in table.parameters else ""
            label = f"{meta['permit']} ({regulation})" if meta.get("permit") and regulation else (
                meta.get("permit") or regulation or "permit")
            return DischargeLimit(metric, _num(low), _num(high), unit, str(label), "permit", meta.get("column"))
        table = self.wastewater_table(on, regulation)
        if table is None or metric not in table.parameters:
            return None
        column = meta.get("column")
        param = table.parameters[metric]
        if column is None or column not in param.columns:
            return None
        value = param.columns[column]
        if isinstance(value, tuple):
            return DischargeLimit(metric, value[0], value[1], param.unit, table.regulation, "regulation", column)
        if not param.factors:
            return DischargeLimit(metric, None, value, param.unit, table.regulation, "regulation", column, base=value)
        kq = float(meta.get("kq", DEFAULT_KQ))
        kf = float(meta["kf"]) if meta.get("kf") is not None else self.kf_for_flow(table, meta.get("flow_m3_day"))
        return DischargeLimit(metric, None, round(value * kq * kf, 6), param.unit, table.regulation, "regulation",
                              column, kq, kf, value)

    @staticmethod
    def kf_for_flow(table: WastewaterTable, flow_m3_day: float | None) -> float:
        if flow_m3_day is None or not table.kf_by_flow:
            return 1.0
        for step in table.kf_by_flow:
            if step.up_to is None or float(flow_m3_day) <= step.up_to:
                return step.kf
        return 1.0

    # -- helpers for bulk evaluation
    def change_dates(self) -> list[date]:
        """Every day on which some limit starts or stops: limits are constant between them."""
        days: set[date] = set()
        for spans in self._ambient.values():
            for s in spans:
                days.add(s.start)
                if s.end is not None:
                    days.add(s.end + timedelta(days=1))
        for t in self.wastewater_tables:
            days.add(t.valid_from)
            if t.valid_to is not None:
                days.add(t.valid_to + timedelta(days=1))
        return sorted(days)

    def epoch_of(self, on: date) -> date:
        """A representative day with the same limits as ``on`` (the last change on or before it)."""
        changes = self.change_dates()
        i = bisect.bisect_right(changes, on)
        return changes[i - 1] if i else date.min


def _num(value: Any) -> float | None:
    return None if value is None else float(value)


def _in_force(start: date, end: date | None, on: date) -> bool:
    return start <= on and (end is None or on <= end)


def _dated_values(table: AmbientTable, spec: float | list[DatedValue]) -> list[tuple[float, date, date | None]]:
    if not isinstance(spec, list):
        return [(float(spec), table.valid_from, table.valid_to)]
    return [(v.value, v.valid_from or table.valid_from, v.valid_to or table.valid_to) for v in spec]


# --------------------------------------------------------------------------- units

_CONVERSIONS = {("mg/m³", "µg/m³"): 1000.0, ("µg/m³", "mg/m³"): 0.001, ("mg/l", "µg/l"): 1000.0, ("µg/l", "mg/l"): 0.001}


def _norm_unit(unit: str | None) -> str:
    text = (unit or "").strip().lower().replace(" ", "").replace("μ", "µ").replace("ug", "µg")
    text = text.replace("nm³", "m³").replace("nm3", "m³").replace("m3", "m³")
    return text


@functools.cache  # a few units, asked once per series and rule by every alert evaluation
def unit_factor(from_unit: str | None, to_unit: str | None) -> float | None:
    """Multiplier from a series' unit to a limit's unit; 1 when equal or either is blank; None if unknown."""
    a, b = _norm_unit(from_unit), _norm_unit(to_unit)
    if not a or not b or a == b:
        return 1.0
    return _CONVERSIONS.get((a, b))


# --------------------------------------------------------------------------- loading


def load_limits(path: Path) -> Limits:
    """Parse and validate the limits file; raise :class:`ConfigError` naming file, line and fix."""
    file = read_yaml(path, "limits file", "LIMITS_FILE")
    parsed = validate(file, LimitsFile, _hint)
    _check_dates(file, parsed)
    return Limits(parsed.checks, dict(parsed.plausible_max), parsed.ambient, parsed.wastewater, file.path)


def _hint(err: dict[str, Any]) -> str:
    kind = err["type"]
    if kind == "literal_error":
        return f"; the averaging period must be one of {', '.join(PERIODS)}"
    if kind.startswith("date"):
        return "; write dates as YYYY-MM-DD"
    if kind in {"greater_than", "float_parsing", "float_type"}:
        return "; write a positive number"
    return generic_hint(err)


def _check_dates(file: YamlFile, parsed: LimitsFile) -> None:
    fail = file.error

    for kind, tables in (("ambient", parsed.ambient), ("wastewater", parsed.wastewater)):
        for i, table in enumerate(tables):
            if table.valid_to is not None and table.valid_to < table.valid_from:
                raise fail((kind, i, "valid_to"), f"{table.regulation}: valid_to {table.valid_to} is before valid_from "
                                                  f"{table.valid_from}; fix one of the dates")
    seen: dict[tuple[str, str], list[tuple[date, date | None, tuple[Any, ...]]]] = {}
    for i, table in enumerate(parsed.ambient):
        for metric, periods in table.limits.items():
            for period, spec in periods.items():
                items = spec if isinstance(spec, list) else [None]
                for j, _ in enumerate(items):
                    loc = ("ambient", i, "limits", metric, period) + ((j,) if isinstance(spec, list) else ())
                    _, start, end = _dated_values(table, spec)[j]
                    if end is not None and end < start:
                        raise fail(loc, f"{metric} {period}: valid_to {end} is before valid_from {start}; fix the dates")
                    if start < table.valid_from or (table.valid_to is not None and (end is None or end > table.valid_to)):
                        raise fail(loc, f"{metric} {period}: dates {start}..{end or 'open'} fall outside the table's "
                                        f"{table.valid_from}..{table.valid_to or 'open'}; keep them inside or widen the table")
                    for other_start, other_end, other_loc in seen.get((metric, period), []):
                        if _overlap(start, end, other_start, other_end):
                            raise fail(loc, f"{metric} {period}: {start}..{end or 'open'} overlaps the value at line "
                                            f"{file.line(other_loc)}; end one with valid_to the day before the other starts")
                    seen.setdefault((metric, period), []).append((start, end, loc))
    by_name: dict[str, list[tuple[WastewaterTable, int]]] = {}
    for i, table in enumerate(parsed.wastewater):
        for other, j in by_name.get(table.regulation, []):
            if _overlap(table.valid_from, table.valid_to, other.valid_from, other.valid_to):
                raise fail(("wastewater", i), f"{table.regulation} is in force twice on the same days (see line "
                                              f"{file.line(('wastewater', j))}); end the older with valid_to")
        by_name.setdefault(table.regulation, []).append((table, i))
        steps = table.kf_by_flow
        bounds = [s.up_to for s in steps]
        if steps and (bounds[-1] is not None or any(b is None for b in bounds[:-1])
                      or any(a >= b for a, b in pairwise(bounds[:-1]))):
            raise fail(("wastewater", i, "kf_by_flow"), "kf_by_flow: give increasing up_to bounds and end with one "
                                                        "step without up_to (the largest flows)")


def _overlap(a0: date, a1: date | None, b0: date, b1: date | None) -> bool:
    return (a1 is None or b0 <= a1) and (b1 is None or a0 <= b1)


# The limits file, re-read only when it changes (for web requests).
current_limits = reloading(load_limits)


@dataclass(frozen=True)
class LimitLine:
    """A limit to draw on a station's chart, already in the series' unit."""

    label: str  # e.g. "QCVN 05:2023/BTNMT 24h" or "Giấy phép (max)"
    value: float
    period: str  # 1h | 8h | 24h | instant


def limit_lines(limits: Limits, station_type: str, meta: dict[str, Any], metric: str, unit: str, on: date) -> list[LimitLine]:
    """The limits that apply to a station's ``metric`` on day ``on``, converted to ``unit``.

    Air stations: the 1h, 8h and 24h limits of the ambient table (an annual mean drawn over
    hourly values would mislead). Wastewater stations: the discharge limit (both bounds for
    pH). Limits whose unit cannot be converted are left out.
    """
    lines: list[LimitLine] = []
    if station_type == "air":
        for period in sorted(limits.ambient_periods(metric) & {"1h", "8h", "24h"}):
            found = limits.ambient_for(metric, period, on)
            factor = unit_factor(found.unit, unit) if found else None
            if found and factor is not None:
                lines.append(LimitLine(f"{found.regulation} {period}", found.value * factor, period))
    elif station_type == "wastewater":
        found = limits.discharge_limit(metric, meta, on)
        factor = unit_factor(found.unit, unit) if found else None
        if found and factor is not None:
            for bound, value in (("min", found.low), ("max", found.high)):
                if value is not None:
                    lines.append(LimitLine(f"{found.regulation} ({bound})", value * factor, "1h"))
    return lines
