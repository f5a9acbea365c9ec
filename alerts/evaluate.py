"""Compute the current condition of every enabled rule on every subject from the store,
then let :mod:`alerts.lifecycle` apply the transitions in one transaction.

Reads are bounded by the number of stations, never by the history:

- ``threshold`` with ``statistic: reading`` and ``rate_of_change`` read the valid
  readings of the rule's series over a short window (its ``for``/``window`` plus twice
  the freshness allowance) through the observations' primary key;
  ``statistic: hourly_mean`` reads completed hours of the ``hourly`` roll-up.
- ``station_offline`` is the online/offline status of :func:`queries.stations.list_stations`
  (the roll-ups' newest valid reading against the station's interval × N).
- ``source_failing`` is the status of :func:`queries.sources.source_statuses`.

Only valid readings ("measuring") count, and values outside the limits file's
plausible range (negative, or above ``plausible_max``) are ignored, as for exceedances.
A subject whose newest value is older than ``current_within_intervals`` × its
interval has no condition: its open alert neither persists nor resolves on old data
(the station_offline rule is what reports silence).
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select

from alerts.lifecycle import apply
from alerts.model import BREACH, CLEAR, HOLDING, Condition, EvaluationResult
from alerts.rules import (
    RateOfChangeRule,
    Rule,
    RuleSet,
    SourceFailingRule,
    StationOfflineRule,
    ThresholdRule,
)
from i18n import format_age, format_number, format_time
from limits import Limits, current_limits, unit_factor
from queries.sources import source_statuses
from queries.stations import DEFAULT_INTERVAL, list_stations
from reference.provinces import province as province_info
from settings import Settings
from store.rollups import HOUR
from store.schema import QUALITY_VALID, entities, hourly, observations, series

log = logging.getLogger(__name__)

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
# Point of a value series: (start, end, value) in epoch seconds. A reading is an instant
# (start == end); an hourly mean spans its hour.
Point = tuple[int, int, float]


def evaluate(
    engine: Engine,
    rules: RuleSet,
    now: datetime,
    limits: Limits | None = None,
    tz: ZoneInfo = VN_TZ,
) -> EvaluationResult:
    """Compute every enabled rule's conditions at ``now`` and apply them; see :func:`alerts.lifecycle.apply`.

    ``limits`` (for ``limit: qcvn`` and plausibility) defaults to the default limits file.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if limits is None:
        limits = current_limits(Settings.model_fields["limits_file"].default)
    found, warnings = current_conditions(engine, rules, now, limits, tz)
    return apply(engine, rules, found, now, warnings)


def current_conditions(
    engine: Engine, rules: RuleSet, now: datetime, limits: Limits, tz: ZoneInfo = VN_TZ
) -> tuple[list[Condition], list[str]]:
    """The condition of each enabled rule on each subject it can judge at ``now`` (read only), and warnings."""
    ctx = _Context(engine, rules, now, limits, tz)
    found: list[Condition] = []
    for rule in rules.enabled():
        try:
            found.extend(_EVALUATORS[type(rule)](rule, ctx))
        except Exception as exc:  # noqa: BLE001 - one broken rule must not stop the others
            log.exception("alert rule %s could not be evaluated", rule.id)
            ctx.warn(f"rule {rule.id}: {exc.__class__.__name__}: {exc}")
    return found, ctx.warnings


# --------------------------------------------------------------------------- context


@dataclass(frozen=True)
class _Station:
    id: int
    code: str
    name: str
    subtype: str | None
    province: str | None
    facility: str | None
    interval: int
    meta: dict[str, Any]


@dataclass(frozen=True)
class _Verdict:
    """One station's verdict under a rule, before grouping by the rule's scope."""

    station: _Station
    status: str
    value: float | None
    threshold: float | None
    excess: float  # how far past the threshold, to pick a group's worst member
    text: str


class _Context:
    """What one evaluation reads once and shares between rules."""

    def __init__(self, engine: Engine, rules: RuleSet, now: datetime, limits: Limits, tz: ZoneInfo) -> None:
        self.engine, self.rules, self.now, self.limits, self.tz = engine, rules, now, limits, tz
        self.now_ts = int(now.timestamp())
        self.warnings: list[str] = []
        self._stations: dict[int, _Station] | None = None
        self._names: dict[tuple[str, str], str] | None = None
        self._online: dict[float, dict[str, Any]] = {}

    def warn(self, text: str) -> None:
        if text not in self.warnings:
            log.warning("alerts: %s", text)
            self.warnings.append(text)

    @property
    def stations(self) -> dict[int, _Station]:
        if self._stations is None:
            with self.engine.connect() as conn:
                rows = conn.execute(
                    select(entities.c.id, entities.c.code, entities.c.name, entities.c.subtype,
                           entities.c.province_code, entities.c.meta).where(entities.c.kind == "station")
                ).all()
            self._stations = {}
            for r in rows:
                meta = dict(r.meta or {})
                self._stations[r.id] = _Station(
                    r.id, r.code, r.name, r.subtype, r.province_code, meta.get("facility"),
                    int(meta.get("interval_seconds") or DEFAULT_INTERVAL), meta)
        return self._stations

    def select(self, rule: ThresholdRule | RateOfChangeRule | StationOfflineRule) -> list[_Station]:
        return [s for s in self.stations.values() if rule.selects(s.code, s.subtype, s.facility)]

    def fresh(self, station: _Station) -> int:
        """How old a station's newest value may be and still describe "now"."""
        return int(station.interval * self.rules.defaults.current_within_intervals)

    def subject(self, scope: str, station: _Station) -> tuple[str, str, str]:
        """(kind, code, name) of the subject a station's verdict counts for under ``scope``."""
        if scope == "facility" and station.facility:
            return ("facility", station.facility, self.entity_name("facility", station.facility))
        if scope == "province" and station.province:
            try:
                name = province_info(station.province).name
            except KeyError:
                name = station.province
            return ("province", station.province, name)
        # Stations without a facility (or province) stand for themselves rather than vanish.
        return ("station", station.code, station.name)

    def entity_name(self, kind: str, code: str) -> str:
        if self._names is None:
            with self.engine.connect() as conn:
                rows = conn.execute(select(entities.c.kind, entities.c.code, entities.c.name)
                                    .where(entities.c.kind == "facility")).all()
            self._names = {(r.kind, r.code): r.name for r in rows}
        return self._names.get((kind, code), code)

    def online_status(self, after_intervals: float) -> dict[str, Any]:
        """code → queries.stations.Station, with online/offline judged at ``after_intervals``."""
        if after_intervals not in self._online:
            found = list_stations(self.engine, self.now, after_intervals)
            self._online[after_intervals] = {s.code: s for s in found}
        return self._online[after_intervals]

    def plausible(self, station: _Station, metric: str, unit: str) -> Callable[[float], bool]:
        """A check that drops impossible values (negative, above plausible_max), as exceedances do."""
        top = self.limits.plausible_max.get(metric)
        if top is None:
            return lambda _v: True
        kind = "air" if station.subtype == "air" else "wastewater"
        factor = unit_factor(unit, self.limits.unit_of(metric, kind))
        if factor is None:
            return lambda _v: True
        return lambda v: 0 <= v * factor <= top

    def series_of(self, stations: list[_Station], metric: str) -> list[tuple[int, _Station, str]]:
        """(series id, station, unit) of ``metric`` for ``stations``."""
        by_id = {s.id: s for s in stations}
        if not by_id:
            return []
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(series.c.id, series.c.entity_id, series.c.unit)
                .where(series.c.metric == metric, series.c.entity_id.in_(list(by_id)))
            ).all()
        return [(r.id, by_id[r.entity_id], r.unit or "") for r in rows]

    def readings(self, series_ids: list[int], since: int) -> dict[int, list[Point]]:
        """Valid readings of ``series_ids`` in (since, now], oldest first."""
        found: dict[int, list[Point]] = {}
        if not series_ids:
            return found
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(observations.c.series_id, observations.c.ts, observations.c.value)
                .where(observations.c.series_id.in_(series_ids), observations.c.ts > since,
                       observations.c.ts <= self.now_ts, observations.c.quality == QUALITY_VALID,
                       observations.c.value.is_not(None))
                .order_by(observations.c.series_id, observations.c.ts)
            )
            for sid, ts, value in rows:
                found.setdefault(sid, []).append((ts, ts, value))
        return found

    def hourly_means(self, series_ids: list[int], since: int) -> dict[int, list[Point]]:
        """Means of valid readings of completed hours starting at or after ``since``, oldest first."""
        found: dict[int, list[Point]] = {}
        if not series_ids:
            return found
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(hourly.c.series_id, hourly.c.hour_ts, hourly.c.mean)
                .where(hourly.c.series_id.in_(series_ids), hourly.c.hour_ts >= since,
                       hourly.c.hour_ts <= self.now_ts - HOUR, hourly.c.n_valid > 0, hourly.c.mean.is_not(None))
                .order_by(hourly.c.series_id, hourly.c.hour_ts)
            )
            for sid, hour_ts, mean in rows:
                found.setdefault(sid, []).append((hour_ts, hour_ts + HOUR, mean))
        return found


# --------------------------------------------------------------------------- judging one value series


def judge_threshold(
    points: list[Point], operator: str, threshold: float, clear: float, for_seconds: int, current_since: int
) -> tuple[str, float] | None:
    """(status, newest value) of one value series, or None when it has no current value.

    BREACH when the newest value and every one before it back to at least ``for_seconds``
    earlier are beyond ``threshold``; HOLDING when beyond it for less long, or back inside
    but not yet beyond ``clear`` (hysteresis); CLEAR otherwise.
    """
    if not points or points[-1][1] < current_since:
        return None
    start, end, value = points[-1]
    beyond = (lambda v: v > threshold) if operator == ">" else (lambda v: v < threshold)
    if beyond(value):
        for p_start, _, p_value in reversed(points):
            if not beyond(p_value):
                break
            start = p_start
        return (BREACH if end - start >= for_seconds else HOLDING), value
    cleared = value < clear if operator == ">" else value > clear
    return (CLEAR if cleared else HOLDING), value


def judge_change(
    points: list[Point], window: int, change: float, clear: float, direction: str, current_since: int
) -> tuple[str, float] | None:
    """(status, change) of the newest value against the last value at least ``window`` before it."""
    if not points or points[-1][1] < current_since:
        return None
    newest_ts, newest = points[-1][1], points[-1][2]
    base = next((p for p in reversed(points) if p[1] <= newest_ts - window), None)
    if base is None:
        return None
    delta = newest - base[2]
    size = delta if direction == "rise" else -delta if direction == "fall" else abs(delta)
    if size >= change:
        return BREACH, delta
    return (CLEAR if size < clear else HOLDING), delta


# --------------------------------------------------------------------------- rules


def _number(value: float | None) -> str:
    return format_number(value, "vi", 2)


def _threshold_of(rule: ThresholdRule, station: _Station, unit: str, ctx: _Context) -> tuple[float, str] | None:
    """The threshold of ``rule`` for one station's series, in the series' unit, and what it is."""
    if rule.value is not None:
        return rule.value, ""
    day = ctx.now.astimezone(ctx.tz).date()
    if station.subtype == "air":
        ambient = ctx.limits.ambient_for(rule.metric, rule.limit_period, day)
        if ambient is None:
            return None
        value, limit_unit, label = ambient.value, ambient.unit, f"{ambient.regulation} {rule.limit_period}"
    elif station.subtype == "wastewater":
        discharge = ctx.limits.discharge_limit(rule.metric, station.meta, day)
        bound = None if discharge is None else discharge.high if rule.operator == ">" else discharge.low
        if bound is None:
            return None
        value, limit_unit, label = bound, discharge.unit, discharge.regulation
    else:
        return None
    factor = unit_factor(unit, limit_unit)
    if not factor:
        ctx.warn(f"rule {rule.id}: {station.code} {rule.metric} in {unit!r} cannot be compared with a limit in "
                 f"{limit_unit!r}; skipped")
        return None
    return value / factor, label


def _threshold(rule: ThresholdRule, ctx: _Context) -> list[Condition]:
    stations = ctx.select(rule)
    targets = []
    for sid, station, unit in ctx.series_of(stations, rule.metric):
        found = _threshold_of(rule, station, unit, ctx)
        if found is not None:
            targets.append((sid, station, unit, *found))
    if not targets:
        return []
    margin = ctx.rules.defaults.clear_margin
    slack = 2 * max(ctx.fresh(s) for _, s, *_ in targets)
    if rule.statistic == "hourly_mean":
        since = (ctx.now_ts - rule.for_ - HOUR - slack) // HOUR * HOUR
        values = ctx.hourly_means([t[0] for t in targets], since)
    else:
        values = ctx.readings([t[0] for t in targets], ctx.now_ts - rule.for_ - slack)
    verdicts = []
    for sid, station, unit, threshold, label in targets:
        ok = ctx.plausible(station, rule.metric, unit)
        points = [p for p in values.get(sid, []) if ok(p[2])]
        allowance = ctx.fresh(station) + (HOUR if rule.statistic == "hourly_mean" else 0)
        clear = rule.clear_level(threshold, rule.operator, margin)
        judged = judge_threshold(points, rule.operator, threshold, clear, rule.for_, ctx.now_ts - allowance)
        if judged is None:
            continue
        status, value = judged
        sign = 1 if rule.operator == ">" else -1
        excess = sign * (value - threshold) / (abs(threshold) or 1.0)
        u = f" {unit}" if unit else ""
        text = f"{rule.metric} = {_number(value)}{u} ({rule.operator} {_number(threshold)}{u}{', ' + label if label else ''})"
        verdicts.append(_Verdict(station, status, value, threshold, excess, text))
    return _by_scope(rule, verdicts, ctx)


def _rate_of_change(rule: RateOfChangeRule, ctx: _Context) -> list[Condition]:
    targets = ctx.series_of(ctx.select(rule), rule.metric)
    if not targets:
        return []
    slack = 2 * max(ctx.fresh(s) for _, s, _ in targets)
    values = ctx.readings([sid for sid, _, _ in targets], ctx.now_ts - rule.window - slack)
    clear = rule.change_clear_level(ctx.rules.defaults.clear_margin)
    window_text = format_age(timedelta(seconds=rule.window), "vi")
    verdicts = []
    for sid, station, unit in targets:
        ok = ctx.plausible(station, rule.metric, unit)
        points = [p for p in values.get(sid, []) if ok(p[2])]
        judged = judge_change(points, rule.window, rule.change, clear, rule.direction, ctx.now_ts - ctx.fresh(station))
        if judged is None:
            continue
        status, delta = judged
        sign = "+" if delta >= 0 else "−"
        u = f" {unit}" if unit else ""
        text = f"{rule.metric} {sign}{_number(abs(delta))}{u} / {window_text} (≥ {_number(rule.change)}{u})"
        verdicts.append(_Verdict(station, status, delta, rule.change, abs(delta) / rule.change, text))
    return _by_scope(rule, verdicts, ctx)


def _station_offline(rule: StationOfflineRule, ctx: _Context) -> list[Condition]:
    online = ctx.online_status(rule.after_intervals)
    verdicts = []
    for station in ctx.select(rule):
        status = online.get(station.code)
        if status is None:
            continue
        limit = timedelta(seconds=status.interval_seconds * rule.after_intervals)
        if status.last_valid_at is None:
            minutes = None
            text = "Không có dữ liệu hợp lệ trong 7 ngày qua"
        else:
            minutes = (ctx.now - status.last_valid_at).total_seconds() / 60
            text = f"Không có dữ liệu hợp lệ từ {format_time(status.last_valid_at, ctx.tz)}"
        text += f" (quá {format_number(rule.after_intervals, 'vi', 1)} × {format_age(timedelta(seconds=status.interval_seconds))})"
        verdicts.append(_Verdict(
            station, BREACH if status.status == "offline" else CLEAR, None if minutes is None else round(minutes, 1),
            limit.total_seconds() / 60, float("inf") if minutes is None else minutes, text))
    return _by_scope(rule, verdicts, ctx)


def _source_failing(rule: SourceFailingRule, ctx: _Context) -> list[Condition]:
    found = []
    for s in source_statuses(ctx.engine, ctx.now, rule.stale_after_intervals):
        if (rule.sources is not None and s.name not in rule.sources) or s.status == "pending":
            continue
        failing = s.consecutive_failures >= rule.failures
        stale = rule.stale and s.status == "stale"
        if failing:
            status = BREACH
            message = f"{s.consecutive_failures} lần lấy dữ liệu lỗi liên tiếp; lỗi cuối: {(s.last_error or '')[:300]}"
        elif stale:
            status = BREACH
            since = format_time(s.last_success_at, ctx.tz) if s.last_success_at else "—"
            message = (f"Không lấy được dữ liệu từ {since} (quá {format_number(rule.stale_after_intervals, 'vi', 1)} × "
                       f"{format_age(timedelta(seconds=s.interval_seconds))})")
        else:
            # Recovered (or disabled): clear. Failing fewer times than the rule's count: hold an open alert.
            status = CLEAR if s.status in ("ok", "disabled") else HOLDING
            message = f"{s.consecutive_failures} lần lỗi liên tiếp" if s.consecutive_failures else "Hoạt động bình thường"
        found.append(Condition(rule.id, "source", s.name, s.name, status, float(s.consecutive_failures),
                               float(rule.failures), message))
    return found


def _by_scope(rule: Rule, verdicts: Iterable[_Verdict], ctx: _Context) -> list[Condition]:
    """One condition per subject: a facility or province breaches when any of its stations does."""
    groups: dict[tuple[str, str, str], list[_Verdict]] = {}
    for v in verdicts:
        groups.setdefault(ctx.subject(rule.scope, v.station), []).append(v)
    found = []
    for (kind, code, name), members in groups.items():
        for status in (BREACH, HOLDING, CLEAR):
            pool = [m for m in members if m.status == status]
            if pool:
                break
        worst = max(pool, key=lambda m: m.excess)
        message = worst.text
        if kind != "station":
            others = len(pool) - 1
            message = f"{worst.station.code}: {message}" + (f" (+{others} trạm khác)" if others and status != CLEAR else "")
        found.append(Condition(rule.id, kind, code, name, status, worst.value, worst.threshold, message))
    return found


_EVALUATORS: dict[type, Callable[[Any, _Context], list[Condition]]] = {
    ThresholdRule: _threshold,
    RateOfChangeRule: _rate_of_change,
    StationOfflineRule: _station_offline,
    SourceFailingRule: _source_failing,
}


__all__ = ["Condition", "EvaluationResult", "current_conditions", "evaluate", "judge_change", "judge_threshold"]
