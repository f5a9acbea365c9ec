"""Compute the current condition of every enabled rule on every subject from the store,
then let :mod:`alerts.lifecycle` apply the transitions in one transaction.

Reads are bounded by the number of stations, never by the history:

- ``threshold`` with ``statistic: reading`` and ``rate_of_change`` start from each
  series' newest valid reading, which ingest keeps (``newest_valid``). A threshold rule
  reads the valid readings of a short window (its ``for`` plus twice the freshness
  allowance) only for series whose newest value is beyond the threshold; a rate-of-change
  rule reads the last valid reading a ``window`` before the newest, through the
  observations' primary key. ``statistic: hourly_mean`` reads completed hours of the
  ``hourly`` roll-up.
- ``station_offline`` is the online/offline status of :func:`queries.stations.list_stations`
  (the station's newest valid reading against its interval × N).
- ``source_failing`` is the status of :func:`queries.sources.source_statuses`.
- ``kpi_status`` computes the rule's KPIs of the catalogue (:func:`kpis.compute.compute_kpis`,
  hourly roll-ups only), and for a ``for`` duration the same KPIs at three earlier instants.
- ``cap_warning`` is :func:`queries.warnings.active_warnings`. A warning that is no longer
  in force is a definite answer, not missing data: open alerts of the rule whose subject
  has no qualifying warning now are cleared (and so are kpi_status alerts of KPIs the
  rule no longer watches).

Only valid readings ("measuring") count, and values outside the limits file's
plausible range (negative, or above ``plausible_max``) are ignored, as for exceedances.
A subject whose newest value is older than ``current_within_intervals`` × its
interval has no condition: its open alert neither persists nor resolves on old data
(the station_offline rule is what reports silence).
"""
from __future__ import annotations

import functools
import gc
import json
import logging
import math
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from itertools import groupby
from operator import itemgetter
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, and_, select

from alerts.lifecycle import apply
from alerts.model import BREACH, CLEAR, HOLDING, LANGUAGES, Condition, EvaluationResult, Text
from alerts.rules import (
    CapWarningRule,
    KpiStatusRule,
    RateOfChangeRule,
    Rule,
    RuleSet,
    SourceFailingRule,
    StationOfflineRule,
    ThresholdRule,
)
from i18n import format_age, format_number, format_time, t
from kpis.catalogue import Catalogue, current_catalogue
from kpis.compute import KpiValue, compute_kpis, kpi_statuses
from limits import Limits, current_limits, unit_factor
from queries.sources import source_statuses
from queries.stations import DEFAULT_INTERVAL, last_valid_times
from queries.warnings import ActiveWarning, active_warnings
from reference.provinces import province as province_info
from settings import Settings, load_settings
from store.fetch import driver_all
from store.rollups import HOUR
from store.schema import QUALITY_VALID, alerts, entities, hourly, newest_valid, observations, series

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
    catalogue: Catalogue | None = None,
) -> EvaluationResult:
    """Compute every enabled rule's conditions at ``now`` and apply them; see :func:`alerts.lifecycle.apply`.

    ``limits`` (for ``limit: qcvn`` and plausibility) defaults to the default limits file;
    ``catalogue`` (for ``kpi_status``) to the KPI catalogue the settings name (``KPIS_FILE``).
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if limits is None:
        limits = current_limits(Settings.model_fields["limits_file"].default)
    with _collector_paused():
        found, warnings = current_conditions(engine, rules, now, limits, tz, catalogue)
        return apply(engine, rules, found, now, warnings)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector (if it runs) for the few hundred milliseconds of an evaluation.

    Tens of thousands of readings become tuples that live through a rule: enough to set
    off full collections, 40 % of the time of an evaluation of 20,000 series, and again
    in the lifecycle's transaction (bench/alerts.py). Reference counting still frees
    everything meanwhile; the collector resumes afterwards.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def current_conditions(
    engine: Engine, rules: RuleSet, now: datetime, limits: Limits, tz: ZoneInfo = VN_TZ,
    catalogue: Catalogue | None = None,
) -> tuple[list[Condition], list[str]]:
    """The condition of each enabled rule on each subject it can judge at ``now`` (read only), and warnings."""
    ctx = _Context(engine, rules, now, limits, tz, catalogue)
    found: list[Condition] = []
    with _collector_paused():
        for rule in rules.enabled():
            try:
                found.extend(_EVALUATORS[type(rule)](rule, ctx))
            except Exception as exc:  # noqa: BLE001 - one broken rule must not stop the others
                log.exception("alert rule %s could not be evaluated", rule.id)
                ctx.warn(f"rule {rule.id}: {exc.__class__.__name__}: {exc}")
    return found, ctx.warnings


# --------------------------------------------------------------------------- context


class _Station:
    """A monitoring station as the rules see it; its whole ``meta`` (a permit) parsed only when asked."""

    __slots__ = ("id", "code", "name", "subtype", "province", "facility", "interval", "_meta")

    def __init__(self, id_: int, code: str, name: str, subtype: str | None, province: str | None,
                 facility: str | None, interval: int, meta: str | dict[str, Any] | None) -> None:
        self.id, self.code, self.name, self.subtype, self.province = id_, code, name, subtype, province
        self.facility, self.interval, self._meta = facility, interval, meta

    @property
    def meta(self) -> dict[str, Any]:
        if not isinstance(self._meta, dict):  # the driver's JSON: text from SQLite, parsed by psycopg
            self._meta = (json.loads(self._meta) if self._meta else None) or {}
        return self._meta


def _interval(found: str | float | None) -> int:
    """A station's reading interval in seconds from its meta's ``interval_seconds`` (the default when unusable)."""
    try:
        return int(float(found)) or DEFAULT_INTERVAL  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return DEFAULT_INTERVAL


def _valid_in(since: int, until: Any) -> tuple[Any, ...]:
    """The conditions on a valid reading (quality "measuring", with a value) in (since, until]."""
    return (observations.c.ts > since, observations.c.ts <= until, observations.c.quality == QUALITY_VALID,
            observations.c.value.is_not(None))


class _Verdict(NamedTuple):
    """One station's verdict under a rule, before grouping by the rule's scope."""

    station: _Station
    status: str
    value: float | None
    threshold: float | None
    excess: float  # how far past the threshold, to pick a group's worst member
    text: Text


class _Context:
    """What one evaluation reads once and shares between rules."""

    def __init__(self, engine: Engine, rules: RuleSet, now: datetime, limits: Limits, tz: ZoneInfo,
                 catalogue: Catalogue | None = None) -> None:
        self.engine, self.rules, self.now, self.limits, self.tz = engine, rules, now, limits, tz
        self.now_ts = int(now.timestamp())
        self.today = now.astimezone(tz).date()  # the day whose limits apply
        self.warnings: list[str] = []
        self._stations: dict[int, _Station] | None = None
        self._selected: dict[tuple[Any, Any], list[_Station]] = {}  # (subtypes, codes) → stations
        self._names: dict[tuple[str, str], str] | None = None
        self._last_valid: dict[int, datetime] | None = None
        self._catalogue = catalogue
        self._kpis: dict[str, KpiValue] = {}
        self._warnings: list[ActiveWarning] | None = None
        self._checks: dict[tuple[str, str, str], Callable[[float], bool]] = {}
        self._series: dict[str, dict[int, tuple[int, str]]] = {}  # metric → station id → (series id, unit)
        self._valid: dict[int, tuple[int | None, float | None]] = {}  # series id → its newest valid (ts, value)
        self._read: dict[int, tuple[int, list[Point]]] = {}  # series id → (since, its readings in (since, now])
        self._limits: dict[tuple[str, str, int], Any] = {}  # (rule kind, metric, station id) → its limit today

    @property
    def catalogue(self) -> Catalogue:
        """The KPI catalogue, read only when a kpi_status rule is enabled (re-read when the file changes)."""
        if self._catalogue is None:
            self._catalogue = current_catalogue(load_settings().kpis_file)
        return self._catalogue

    def kpi_values(self, codes: list[str]) -> dict[str, KpiValue]:
        """code → the KPI now, computed once per evaluation however many rules watch it."""
        missing = [c for c in codes if c not in self._kpis]
        if missing:
            wanted = tuple(k for k in self.catalogue.kpis if k.code in missing)
            for value in compute_kpis(self.engine, Catalogue(wanted), self.now, self.tz):
                self._kpis[value.code] = value
        return {c: self._kpis[c] for c in codes if c in self._kpis}

    def kpi_statuses(self, code: str, instants: list[datetime]) -> list[str]:
        """One KPI's status as it was at each of ``instants`` (computed from the store as it is now)."""
        kpi = self.catalogue.get(code)
        return ["nodata"] * len(instants) if kpi is None else kpi_statuses(self.engine, kpi, instants, self.tz)

    @property
    def active_warnings(self) -> list[ActiveWarning]:
        if self._warnings is None:
            self._warnings = active_warnings(self.engine, self.now)
        return self._warnings

    def open_subjects(self, rule_id: str) -> list[tuple[str, str, str, float | None]]:
        """(kind, code, name, value) of the rule's open alerts."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(alerts.c.subject_kind, alerts.c.subject_code, alerts.c.subject_name, alerts.c.value)
                .where(alerts.c.rule_id == rule_id, alerts.c.state != "resolved")
            ).all()
        return [(r.subject_kind, r.subject_code, r.subject_name, r.value) for r in rows]

    def warn(self, text: str) -> None:
        if text not in self.warnings:
            log.warning("alerts: %s", text)
            self.warnings.append(text)

    @property
    def stations(self) -> dict[int, _Station]:
        if self._stations is None:
            meta = entities.c.meta
            with self.engine.connect() as conn:
                rows = driver_all(conn, (
                    select(entities.c.id, entities.c.code, entities.c.name, entities.c.subtype,
                           entities.c.province_code, meta["facility"].as_string(),
                           meta["interval_seconds"].as_string(), meta)
                    .where(entities.c.kind == "station")
                ))
            # Two fields of every station's meta read by the database: parsing 2,500 metas to
            # find them was a third of reading the stations (bench/alerts.py).
            self._stations = {row[0]: _Station(*row[:6], _interval(row[6]), row[7]) for row in rows}
        return self._stations

    def select(self, rule: ThresholdRule | RateOfChangeRule | StationOfflineRule) -> list[_Station]:
        """The stations the rule watches (found once for the rules that watch the same ones)."""
        key = (rule.subtype and tuple(rule.subtype), rule.codes and tuple(rule.codes))
        if key not in self._selected:
            self._selected[key] = [s for s in self.stations.values() if rule.selects(s.code, s.subtype, s.facility)]
        return self._selected[key]

    def fresh(self, station: _Station) -> int:
        """How old a station's newest value may be and still describe "now"."""
        return int(station.interval * self.rules.defaults.current_within_intervals)

    def subject(self, scope: str, station: _Station) -> tuple[str, str, str]:
        """(kind, code, name) of the subject a station's verdict counts for under ``scope``."""
        if scope == "facility" and station.facility:
            return ("facility", station.facility, self.entity_name("facility", station.facility))
        if scope == "province" and station.province:
            return ("province", station.province, _province_name(station.province))
        # Stations without a facility (or province) stand for themselves rather than vanish.
        return ("station", station.code, station.name)

    def entity_name(self, kind: str, code: str) -> str:
        if self._names is None:
            with self.engine.connect() as conn:
                rows = conn.execute(select(entities.c.kind, entities.c.code, entities.c.name)
                                    .where(entities.c.kind == "facility")).all()
            self._names = {(r.kind, r.code): r.name for r in rows}
        return self._names.get((kind, code), code)

    @property
    def last_valid(self) -> dict[int, datetime]:
        """Station id → its newest valid reading (:func:`queries.stations.last_valid_times`)."""
        if self._last_valid is None:
            self._last_valid = last_valid_times(self.engine, self.now)
        return self._last_valid

    def plausible(self, station: _Station, metric: str, unit: str) -> Callable[[float], bool]:
        """A check that drops impossible values (negative, above plausible_max), as exceedances do."""
        kind = "air" if station.subtype == "air" else "wastewater"
        key = (kind, metric, unit)
        if key not in self._checks:  # one per kind, metric and unit rather than per station
            top = self.limits.plausible_max.get(metric)
            factor = None if top is None else unit_factor(unit, self.limits.unit_of(metric, kind))
            self._checks[key] = (lambda _v: True) if top is None or factor is None else \
                (lambda v: 0 <= v * factor <= top)
        return self._checks[key]

    def series_of(self, stations: list[_Station], metric: str) -> list[tuple[int, _Station, str]]:
        """(series id, station, unit) of ``metric`` for ``stations``.

        Every series of the metric is read once per evaluation, with its newest valid
        reading (``newest_valid``, for :meth:`newest_readings`): one query by metric rather
        than a list of a thousand stations per rule.
        """
        if metric not in self._series:
            with self.engine.connect() as conn:
                rows = driver_all(conn, (
                    select(series.c.id, series.c.entity_id, series.c.unit, newest_valid.c.ts, newest_valid.c.value)
                    .outerjoin(newest_valid, newest_valid.c.series_id == series.c.id)
                    .where(series.c.metric == metric)
                ))
            self._series[metric] = {entity_id: (sid, unit or "") for sid, entity_id, unit, _, _ in rows}
            self._valid.update((sid, (ts, value)) for sid, _, _, ts, value in rows)
        of_metric, found = self._series[metric], []
        for station in stations:
            if (hit := of_metric.get(station.id)) is not None:
                found.append((hit[0], station, hit[1]))
        return found

    def readings(self, series_ids: list[int], since: int) -> dict[int, list[Point]]:
        """Valid readings of ``series_ids`` in (since, now], oldest first.

        Series several rules watch (pH low and pH high) are read once per evaluation: a
        later request for the same or a shorter window is answered from the first one.
        """
        found: dict[int, list[Point]] = {}
        wanted = []
        for sid in series_ids:
            cached = self._read.get(sid)
            if cached is None or cached[0] > since:
                wanted.append(sid)
            elif cached[1]:
                points = cached[1] if cached[0] == since else [p for p in cached[1] if p[0] > since]
                if points:
                    found[sid] = points
        if not wanted:
            return found
        with self.engine.connect() as conn:
            rows = driver_all(conn, (
                select(observations.c.series_id, observations.c.ts, observations.c.value)
                .where(observations.c.series_id.in_(wanted), *_valid_in(since, self.now_ts))
                .order_by(observations.c.series_id, observations.c.ts)
            ))
        fetched = {sid: [(ts, ts, value) for _, ts, value in group] for sid, group in groupby(rows, itemgetter(0))}
        for sid in wanted:
            self._read[sid] = (since, fetched.get(sid, []))
        found.update(fetched)
        return found

    def newest_readings(self, series_ids: list[int], since: int) -> dict[int, Point]:
        """Each series' newest valid reading in (since, now] (series without one are absent).

        Read with the series (:meth:`series_of`, from ``newest_valid``): a rule judges most
        series from their newest value alone, without reading their whole window. A series
        whose newest reading is after ``now`` (an evaluation of the past, a station clock
        ahead) takes one step down the readings' key instead.
        """
        found: dict[int, Point] = {}
        wanted = []
        for sid in series_ids:
            ts, value = self._valid.get(sid, (self.now_ts + 1, None))  # not read with its series: ask
            if ts is None or ts <= since:
                continue  # none valid stored, or none since
            if ts > self.now_ts or value is None:
                wanted.append(sid)
            else:
                found[sid] = (ts, ts, value)
        if wanted:
            found.update(self._last_valid_in(series.c.id, wanted, since, self.now_ts))
        return found

    def change_bases(self, newest: dict[int, Point], since: int, window: int) -> dict[int, Point | None]:
        """For series whose ``newest`` reading is their stored newest valid one, the last valid
        reading in (since, newest - window] (None: there is none); the others are absent.

        What a rate-of-change rule compares the newest reading with, one step down the
        readings' key per series rather than the window's readings.
        """
        covered = [sid for sid, point in newest.items() if self._valid.get(sid, (None,))[0] == point[0]]
        if not covered:
            return {}
        found: dict[int, Point | None] = dict.fromkeys(covered)
        found.update(self._last_valid_in(newest_valid.c.series_id, covered, since, newest_valid.c.ts - window))
        return found

    def _last_valid_in(self, key: Any, series_ids: list[int], since: int, until: Any) -> dict[int, Point]:
        """Each series' last valid reading in (since, until], one step down the readings' key per series.

        ``key``: the series id column of the table the series are listed from (``series`` or
        ``newest_valid``); ``until`` a time, or an expression on that table.
        """
        last_ts = (select(observations.c.ts).where(observations.c.series_id == key, *_valid_in(since, until))
                   .order_by(observations.c.ts.desc()).limit(1).correlate(key.table).scalar_subquery())
        with self.engine.connect() as conn:
            rows = driver_all(conn, (
                select(observations.c.series_id, observations.c.ts, observations.c.value)
                .join(key.table, and_(key == observations.c.series_id, observations.c.ts == last_ts))
                .where(key.in_(series_ids))
            ))
        return {sid: (ts, ts, value) for sid, ts, value in rows}

    def limit_for(self, kind: str, metric: str, station: _Station, find: Callable[[], Any]) -> Any:
        """``find()``, the limit of a station's metric today, asked once however many rules need it (pH low and high)."""
        key = (kind, metric, station.id if kind == "wastewater" else 0)  # an ambient limit is the same for all
        if key not in self._limits:
            self._limits[key] = find()
        return self._limits[key]

    def hourly_means(self, series_ids: list[int], since: int) -> dict[int, list[Point]]:
        """Means of valid readings of completed hours starting at or after ``since``, oldest first."""
        if not series_ids:
            return {}
        with self.engine.connect() as conn:
            rows = driver_all(conn, (
                select(hourly.c.series_id, hourly.c.hour_ts, hourly.c.mean)
                .where(hourly.c.series_id.in_(series_ids), hourly.c.hour_ts >= since,
                       hourly.c.hour_ts <= self.now_ts - HOUR, hourly.c.n_valid > 0, hourly.c.mean.is_not(None))
                .order_by(hourly.c.series_id, hourly.c.hour_ts)
            ))
        return {sid: [(h, h + HOUR, mean) for _, h, mean in group] for sid, group in groupby(rows, itemgetter(0))}


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


_VI_SEPARATORS = str.maketrans(",.", ".,")


def _number(value: float | None, lang: str) -> str:
    """``format_number(value, lang, 2)`` (1.234,5 in vi; 1,234.5 in en), without Babel for ordinary values.

    Every breach's message formats one or two numbers: through Babel that was a third of
    an evaluation of 20,000 series (bench/alerts.py). Same text: ``round`` to 2 digits,
    thousands grouped, trailing zeros dropped, "-0" for a negative zero as Babel writes
    it; huge or non-finite values still go through Babel.
    """
    if value is None:
        return format_number(value, lang, 2)
    rounded = round(value, 2)
    if not math.isfinite(rounded) or abs(rounded) >= 1e12:
        return format_number(value, lang, 2)
    text = f"{abs(rounded):,.2f}".rstrip("0").rstrip(".")
    if lang == "vi":
        text = text.translate(_VI_SEPARATORS)
    return "-" + text if math.copysign(1.0, rounded) < 0 else text


def threshold_text(metric: str, value: float, operator: str, threshold: float, unit: str, label: str) -> Text:
    """"PM2.5 = 80,5 µg/m³ (> 50 µg/m³, QCVN 05:2023 24h)": one value against its threshold."""
    return Text(_compose_threshold, metric, value, operator, threshold, unit, label)


def _compose_threshold(lang: str, metric: str, value: float, operator: str, threshold: float, unit: str,
                       label: str) -> str:
    u = f" {unit}" if unit else ""
    tail = f", {label}" if label else ""
    return f"{metric} = {_number(value, lang)}{u} ({operator} {_number(threshold, lang)}{u}{tail})"


def _threshold_of(rule: ThresholdRule, station: _Station, unit: str, ctx: _Context) -> tuple[float, str] | None:
    """The threshold of ``rule`` for one station's series, in the series' unit, and what it is."""
    if rule.value is not None:
        return rule.value, ""
    day = ctx.today
    if station.subtype == "air":
        ambient = ctx.limit_for(f"air {rule.limit_period}", rule.metric, station,
                                lambda: ctx.limits.ambient_for(rule.metric, rule.limit_period, day))
        if ambient is None:
            return None
        value, limit_unit, label = ambient.value, ambient.unit, f"{ambient.regulation} {rule.limit_period}"
    elif station.subtype == "wastewater":
        discharge = ctx.limit_for("wastewater", rule.metric, station,
                                  lambda: ctx.limits.discharge_limit(rule.metric, station.meta, day))
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
    # A threshold depends on the station only through a permit: found once per permit (or
    # subtype) and unit, not per series.
    thresholds: dict[tuple[Any, str], tuple[float, str] | None] = {}
    targets = []
    for sid, station, unit in ctx.series_of(ctx.select(rule), rule.metric):
        key = (station.id if station.subtype == "wastewater" else station.subtype, unit)
        if key not in thresholds:
            thresholds[key] = _threshold_of(rule, station, unit, ctx)
        if (found := thresholds[key]) is not None:
            targets.append((sid, station, unit, *found))
    if not targets:
        return []
    metric, operator, for_ = rule.metric, rule.operator, rule.for_
    slack = 2 * max(ctx.fresh(s) for _, s, *_ in targets)
    if rule.statistic == "hourly_mean":
        since = (ctx.now_ts - for_ - HOUR - slack) // HOUR * HOUR
        values = ctx.hourly_means([t[0] for t in targets], since)
        current_since = ctx.now_ts - HOUR
    else:
        values = _reading_windows(rule, targets, ctx.now_ts - for_ - slack, ctx)
        current_since = ctx.now_ts
    margin = ctx.rules.defaults.clear_margin
    clears = {threshold: rule.clear_level(threshold, operator, margin) for threshold in {t[3] for t in targets}}
    sign = 1 if operator == ">" else -1
    verdicts = []
    for sid, station, unit, threshold, label in targets:
        ok = ctx.plausible(station, metric, unit)
        points = [p for p in values.get(sid, ()) if ok(p[2])]
        judged = judge_threshold(points, operator, threshold, clears[threshold], for_,
                                 current_since - ctx.fresh(station))
        if judged is None:
            continue
        status, value = judged
        excess = sign * (value - threshold) / (abs(threshold) or 1.0)
        verdicts.append(_Verdict(station, status, value, threshold, excess,
                                 threshold_text(metric, value, operator, threshold, unit, label)))
    return _by_scope(rule, verdicts, ctx)


def _reading_windows(rule: ThresholdRule, targets: list[tuple[int, _Station, str, float, str]], since: int,
                     ctx: _Context) -> dict[int, list[Point]]:
    """The readings in (since, now] that decide each target series' verdict.

    A series whose newest reading is plausible and not beyond the threshold is judged on
    that value alone (clear, or holding within the hysteresis band: what came before
    cannot change it); only the others need their window, to see how long they have
    been beyond it.
    """
    newest = ctx.newest_readings([t[0] for t in targets], since)
    beyond = (lambda v, limit: v > limit) if rule.operator == ">" else (lambda v, limit: v < limit)
    values: dict[int, list[Point]] = {}
    whole = []
    for sid, station, unit, threshold, _ in targets:
        point = newest.get(sid)
        if point is None:
            continue
        if beyond(point[2], threshold) or not ctx.plausible(station, rule.metric, unit)(point[2]):
            whole.append(sid)
        else:
            values[sid] = [point]
    values.update(ctx.readings(whole, since))
    return values


def _rate_of_change(rule: RateOfChangeRule, ctx: _Context) -> list[Condition]:
    targets = ctx.series_of(ctx.select(rule), rule.metric)
    if not targets:
        return []
    slack = 2 * max(ctx.fresh(s) for _, s, _ in targets)
    values = _change_windows(rule, targets, ctx.now_ts - rule.window - slack, ctx)
    clear = rule.change_clear_level(ctx.rules.defaults.clear_margin)
    window_text = {lang: format_age(timedelta(seconds=rule.window), lang) for lang in LANGUAGES}
    verdicts = []
    for sid, station, unit in targets:
        ok = ctx.plausible(station, rule.metric, unit)
        points = [p for p in values.get(sid, []) if ok(p[2])]
        judged = judge_change(points, rule.window, rule.change, clear, rule.direction, ctx.now_ts - ctx.fresh(station))
        if judged is None:
            continue
        verdicts.append(change_verdict(rule, station, unit, judged, window_text))
    return _by_scope(rule, verdicts, ctx)


def _change_windows(rule: RateOfChangeRule, targets: list[tuple[int, _Station, str]], since: int,
                    ctx: _Context) -> dict[int, list[Point]]:
    """The readings in (since, now] that decide each target series' change.

    The change is the newest plausible reading against the last plausible one at least
    ``window`` before it: when the newest valid reading and the last valid one a window
    before it are both plausible, those two are enough. The others read their whole window.
    """
    newest = ctx.newest_readings([sid for sid, _, _ in targets], since)
    bases = ctx.change_bases(newest, since, rule.window)
    values: dict[int, list[Point]] = {}
    whole = []
    for sid, station, unit in targets:
        point = newest.get(sid)
        if point is None:
            continue
        ok = ctx.plausible(station, rule.metric, unit)
        base = bases.get(sid)
        if not ok(point[2]) or sid not in bases or (base is not None and not ok(base[2])):
            whole.append(sid)
        else:
            values[sid] = [point] if base is None else [base, point]
    values.update(ctx.readings(whole, since))
    return values


def change_verdict(rule: RateOfChangeRule, station: _Station, unit: str, judged: tuple[str, float],
                   window_text: dict[str, str]) -> _Verdict:
    """One station's verdict under a rate-of-change rule, from :func:`judge_change`'s (status, delta).

    ``window_text``: the rule's window in words, per language.
    """
    status, delta = judged
    text = Text(_compose_change, rule.metric, delta, rule.change, unit, window_text)
    return _Verdict(station, status, delta, rule.change, abs(delta) / rule.change, text)


def _compose_change(lang: str, metric: str, delta: float, change: float, unit: str, window_text: dict[str, str]) -> str:
    sign = "+" if delta >= 0 else "−"
    u = f" {unit}" if unit else ""
    return f"{metric} {sign}{_number(abs(delta), lang)}{u} / {window_text[lang]} (≥ {_number(change, lang)}{u})"


# Babel is slow, and the offline stations of an evaluation share a few intervals and
# 5-minute reading times; every evaluation composes the messages of the open alerts again.
@functools.lru_cache(maxsize=1024)
def _time_words(at: datetime, tz: ZoneInfo, lang: str) -> str:
    return format_time(at, tz, lang)


@functools.lru_cache(maxsize=256)
def _intervals_words(after_intervals: float, interval_seconds: int, lang: str) -> str:
    return t("alert.msg.over_intervals", lang, n=format_number(after_intervals, lang, 1),
             interval=format_age(timedelta(seconds=interval_seconds), lang))


def offline_text(last_valid_at: datetime | None, interval_seconds: int, after_intervals: float, tz: ZoneInfo) -> Text:
    """"Không có dữ liệu hợp lệ từ 06/12/2026 07:05 (quá 3 × 5 phút)": why a station counts as offline."""
    return Text(_compose_offline, last_valid_at, interval_seconds, after_intervals, tz)


def _compose_offline(lang: str, last_valid_at: datetime | None, interval_seconds: int, after_intervals: float,
                     tz: ZoneInfo) -> str:
    head = (t("alert.msg.no_valid_data", lang) if last_valid_at is None
            else t("alert.msg.no_valid_since", lang, time=_time_words(last_valid_at, tz, lang)))
    return head + _intervals_words(after_intervals, interval_seconds, lang)


def _station_offline(rule: StationOfflineRule, ctx: _Context) -> list[Condition]:
    """Offline: no valid reading for more than ``after_intervals`` × the station's interval, as
    :func:`queries.stations.list_stations` judges it."""
    newest, after = ctx.last_valid, rule.after_intervals
    verdicts = []
    for station in ctx.select(rule):
        last = newest.get(station.id)
        limit = station.interval * after
        age = None if last is None else (ctx.now - last).total_seconds()
        verdicts.append(_Verdict(
            station, BREACH if age is None or age > limit else CLEAR, None if age is None else round(age / 60, 1),
            limit / 60, float("inf") if age is None else age / 60,
            offline_text(last, station.interval, after, ctx.tz)))
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
            message = _source_text("alert.msg.source_failures", n=s.consecutive_failures, error=(s.last_error or "")[:300])
        elif stale:
            status = BREACH
            message = _stale_text(s.last_success_at, s.interval_seconds, rule.stale_after_intervals, ctx.tz)
        else:
            # Recovered (or disabled): clear. Failing fewer times than the rule's count: hold an open alert.
            status = CLEAR if s.status in ("ok", "disabled") else HOLDING
            message = (_source_text("alert.msg.source_errors", n=s.consecutive_failures) if s.consecutive_failures
                       else _source_text("alert.msg.source_ok"))
        found.append(Condition(rule.id, "source", s.name, s.name, status, float(s.consecutive_failures),
                               float(rule.failures), message))
    return found


def _source_text(key: str, **values: object) -> Text:
    return Text(lambda lang: t(key, lang, **values))


def _stale_text(last_success_at: datetime | None, interval_seconds: int, after_intervals: float, tz: ZoneInfo) -> Text:
    def compose(lang: str) -> str:
        since = format_time(last_success_at, tz, lang) if last_success_at else "—"
        return t("alert.msg.source_stale", lang, since=since) + _intervals_words(after_intervals, interval_seconds, lang)
    return Text(compose)


def _kpi_text(v: KpiValue, tz: ZoneInfo) -> Text:
    """"72,5 %: đỏ (đạt 90 %, không đạt 75 %), kỳ từ …": a KPI's value and status against its thresholds."""
    assert v.thresholds is not None
    green, red = v.thresholds
    u = f" {v.unit}" if v.unit else ""
    return Text(lambda lang: t(
        "alert.msg.kpi_status", lang, value=f"{_number(v.value, lang)}{u}", status=t(f"kpi.status.{v.status}", lang),
        green=f"{_number(green, lang)}{u}", red=f"{_number(red, lang)}{u}", since=format_time(v.period_start, tz, lang)))


def _kpi_status(rule: KpiStatusRule, ctx: _Context) -> list[Condition]:
    kpis = [k for k in ctx.catalogue.kpis if k.thresholds is not None and rule.selects(k.code, k.area)]
    for code in rule.codes or ():
        if not any(k.code == code for k in kpis):
            ctx.warn(f"rule {rule.id}: KPI {code} is not in the catalogue or has no thresholds; skipped")
    values = ctx.kpi_values([k.code for k in kpis])
    opened = ctx.open_subjects(rule.id)
    open_codes = {code for kind, code, _, _ in opened if kind == "kpi"}
    found = []
    for kpi in kpis:
        v = values.get(kpi.code)
        status = None if v is None else rule.judge(v.status)
        if v is None or status is None:
            continue  # no data: the open alert neither persists nor resolves
        if status == BREACH and rule.for_ and kpi.code not in open_codes:
            # Bad for long enough: also at `for` ago and two instants between (a KPI moves slowly).
            earlier = [ctx.now - timedelta(seconds=rule.for_ * k / 3) for k in (1, 2, 3)]
            if any(rule.judge(was) != BREACH for was in ctx.kpi_statuses(kpi.code, earlier)):
                status = HOLDING
        assert v.thresholds is not None
        green, red = v.thresholds
        threshold = red if rule.status == "red" else green
        found.append(Condition(rule.id, "kpi", kpi.code, kpi.name_vi, status, v.value, threshold, _kpi_text(v, ctx.tz)))
    watched = {k.code for k in kpis}
    # A KPI dropped from the rule or the catalogue: its open alert would otherwise stay open forever.
    found += [Condition(rule.id, kind, code, name, CLEAR, value, None, "")
              for kind, code, name, value in opened if kind != "kpi" or code not in watched]
    return found


def _warning_text(warnings: list[ActiveWarning], tz: ZoneInfo) -> Text:
    """The most severe warning's headline, level and end, and how many more are in force."""
    w = warnings[0]

    def compose(lang: str) -> str:
        until = format_time(w.expires, tz, lang) if w.expires else t("alert.msg.cap_no_expiry", lang)
        text = t("alert.msg.cap_warning", lang, headline=w.headline, level=t(f"warning.level.{w.level}", lang),
                 until=until)
        return text + (t("alert.msg.more_warnings", lang, n=len(warnings) - 1) if len(warnings) > 1 else "")
    return Text(compose)


def _province_name(code: str) -> str:
    try:
        return province_info(code).name
    except KeyError:
        return code


def _cap_warning(rule: CapWarningRule, ctx: _Context) -> list[Condition]:
    # Subject (kind, code) → its name and its warnings, most severe first (active_warnings' order).
    subjects: dict[tuple[str, str], tuple[str, list[ActiveWarning]]] = {}
    for w in ctx.active_warnings:
        if not rule.admits(w.severity, w.urgency, w.certainty):
            continue
        provinces = [p for p in w.provinces if rule.provinces is None or p in rule.provinces]
        if rule.scope == "province" and provinces:
            keys = [(("province", p), _province_name(p)) for p in provinces]
        elif rule.provinces is not None and not provinces:
            continue  # the rule watches some provinces; this warning names none of them
        else:
            # One alert per warning (or a warning naming no known province: it stands for itself).
            areas = ", ".join(a.get("areaDesc", "") for a in w.areas if a.get("areaDesc"))
            keys = [(("warning", w.code), areas or w.headline)]
        for key, name in keys:
            subjects.setdefault(key, (name, []))[1].append(w)
    found = []
    for (kind, code), (name, warnings) in subjects.items():
        worst = warnings[0]
        found.append(Condition(rule.id, kind, code, name, BREACH, float(worst.level), None, _warning_text(warnings, ctx.tz),
                               severity=rule.alert_severity(worst.severity)))
    # Expired, cancelled or updated below the minimum: nothing in force for the subject now.
    found += [Condition(rule.id, kind, code, name, CLEAR, value, None, "")
              for kind, code, name, value in ctx.open_subjects(rule.id) if (kind, code) not in subjects]
    return found


def _by_scope(rule: Rule, verdicts: Iterable[_Verdict], ctx: _Context) -> list[Condition]:
    """One condition per subject: a facility or province breaches when any of its stations does."""
    if rule.scope == "station":  # each station its own subject: nothing to group (most rules, most verdicts)
        return [Condition(rule.id, "station", v.station.code, v.station.name, v.status, v.value, v.threshold, v.text)
                for v in verdicts]
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
        message = worst.text if kind == "station" else _group_text(worst, len(pool) - 1 if status != CLEAR else 0)
        found.append(Condition(rule.id, kind, code, name, status, worst.value, worst.threshold, message))
    return found


def _group_text(worst: _Verdict, others: int) -> Text:
    """A facility's or province's message: its worst station's, and how many others are in the same state."""
    return Text(lambda lang: f"{worst.station.code}: {worst.text(lang)}"
                             + (t("alert.msg.more_stations", lang, n=others) if others else ""))


_EVALUATORS: dict[type, Callable[[Any, _Context], list[Condition]]] = {
    ThresholdRule: _threshold,
    RateOfChangeRule: _rate_of_change,
    StationOfflineRule: _station_offline,
    SourceFailingRule: _source_failing,
    KpiStatusRule: _kpi_status,
    CapWarningRule: _cap_warning,
}


__all__ = ["Condition", "EvaluationResult", "current_conditions", "evaluate", "judge_change", "judge_threshold"]
