"""Compute the catalogue's KPIs from the store: value, status, previous period, breakdown.

For each KPI, :func:`compute_kpis` works out two windows in the operations centre's
time zone (:func:`period_windows`): the period asked (the ``period`` so far, or the last
complete one) and the period before it, cut to the same length when the period is in
progress (month to date against the same days of last month). It reads per-series
figures of both windows from the hourly roll-up (:mod:`queries.kpis`), then applies the
KPI's method, once for the whole selection and once per province or unit for the
breakdown, all in Python over those per-series figures.

Status: ``green`` at or better than the green threshold, ``red`` at or worse than the
red one, ``amber`` between, in the KPI's direction; ``nodata`` when nothing was read;
``neutral`` when the KPI has no thresholds (a volume to watch, not to judge).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine

from kpis.catalogue import Catalogue, Kpi, Thresholds
from queries.kpis import EntityRow, SeriesWindow, entities_of_kinds, entity_names_by_code, series_index, window_stats
from reference.provinces import all_provinces

STATUSES = ("red", "amber", "green", "nodata", "neutral")
_EPS = 1e-9


class BreakdownItem(NamedTuple):
    code: str  # province code (HNI) or unit code (MAE-VP)
    name: str
    value: float | None
    status: str


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime

    @property
    def span(self) -> tuple[int, int]:
        return int(self.start.timestamp()), int(self.end.timestamp())


@dataclass(frozen=True)
class KpiValue:
    code: str
    name_vi: str
    name_en: str
    area: str
    unit: str
    owner: str
    headline: bool
    direction: str
    method: str
    period: str  # day | week | month | quarter | year
    window: str  # to_date | last_complete
    period_start: datetime  # the window the value covers, [start, end)
    period_end: datetime
    value: float | None
    status: str  # red | amber | green | nodata | neutral
    target: float | None
    thresholds: tuple[float, float] | None  # (green, red)
    previous: float | None  # the same KPI over the period before
    change: float | None  # value - previous, in the KPI's unit
    trend: str | None  # up | down | flat (None without both values)
    improving: bool | None  # the change goes the KPI's way (None when flat or unknown)
    as_of: datetime | None  # the newest observation used
    total: int | None  # count: the entities considered
    breakdown_by: str  # province | unit | none
    breakdown: list[BreakdownItem] | None
    note: str = ""  # the catalogue's remark for readers
    unit_en: str | None = None

    def name(self, lang: str) -> str:
        return self.name_en if lang == "en" else self.name_vi

    def unit_in(self, lang: str) -> str:
        """The unit in ``lang`` (the catalogue's ``unit_en`` in English, where it gives one)."""
        return self.unit_en if lang == "en" and self.unit_en else self.unit


# --------------------------------------------------------------------------- periods


def period_start(moment: datetime, period: str, tz: ZoneInfo) -> datetime:
    """Start (local midnight) of the ``period`` containing ``moment``."""
    d = moment.astimezone(tz).date()
    if period == "day":
        first = d
    elif period == "week":
        first = d - timedelta(days=d.weekday())  # ISO weeks start on Monday
    elif period == "month":
        first = d.replace(day=1)
    elif period == "quarter":
        first = date(d.year, 3 * ((d.month - 1) // 3) + 1, 1)
    elif period == "year":
        first = date(d.year, 1, 1)
    else:
        raise ValueError(f"unknown period {period!r}")
    return datetime.combine(first, time(0), tz)


def shift_period(start: datetime, period: str, n: int, tz: ZoneInfo) -> datetime:
    """The start of the period ``n`` periods after the one starting at ``start`` (n < 0: before)."""
    d = start.astimezone(tz).date()
    if period in ("day", "week"):
        moved = d + timedelta(days=n * (7 if period == "week" else 1))
    else:
        months = {"month": 1, "quarter": 3, "year": 12}[period] * n
        index = d.year * 12 + d.month - 1 + months
        moved = date(index // 12, index % 12 + 1, 1)
    return datetime.combine(moved, time(0), tz)


def period_windows(now: datetime, tz: ZoneInfo, period: str, window: str) -> tuple[Window, Window]:
    """(the window asked, the one before it) in ``tz``.

    ``to_date``: [start of this period, now) and the same length from the start of the
    previous period (capped at its end). ``last_complete``: the last whole period and
    the whole one before.
    """
    start = period_start(now, period, tz)
    if window == "to_date":
        before = shift_period(start, period, -1, tz)
        return Window(start, now), Window(before, min(before + (now - start), start))
    last = shift_period(start, period, -1, tz)
    return Window(last, start), Window(shift_period(start, period, -2, tz), last)


# --------------------------------------------------------------------------- status


def status_of(value: float | None, thresholds: Thresholds | None, direction: str) -> str:
    """red | amber | green | nodata | neutral; see the module docstring."""
    if value is None:
        return "nodata"
    if thresholds is None:
        return "neutral"
    sign = 1.0 if direction == "higher_is_better" else -1.0
    if sign * (value - thresholds.green) >= -_EPS:
        return "green"
    if sign * (value - thresholds.red) <= _EPS:
        return "red"
    return "amber"


def _trend(value: float | None, previous: float | None, direction: str) -> tuple[float | None, str | None, bool | None]:
    if value is None or previous is None:
        return None, None, None
    change = value - previous
    if abs(change) <= _EPS * max(1.0, abs(previous)):
        return 0.0, "flat", None
    return change, ("up" if change > 0 else "down"), (change > 0) == (direction == "higher_is_better")


# --------------------------------------------------------------------------- methods


@dataclass(frozen=True)
class _Part:
    """The figures one computation sees: a set of entities and their series' window figures."""

    entities: list[EntityRow]
    series: dict[tuple[int, str], int]  # (entity id, metric) -> series id, of these entities
    stats: dict[int, SeriesWindow]
    group: bool = False  # a breakdown group (of a selection that has data), not the whole

    def windows(self, metric: str) -> list[SeriesWindow]:
        return [self.stats[sid] for e in self.entities
                if (sid := self.series.get((e.id, metric))) is not None and sid in self.stats]

    def window(self, entity_id: int, metric: str) -> SeriesWindow | None:
        sid = self.series.get((entity_id, metric))
        return None if sid is None else self.stats.get(sid)


def _combine(values: list[float], how: str) -> float | None:
    if not values:
        return None
    if how == "mean":
        return sum(values) / len(values)
    return {"sum": sum, "min": min, "max": max}[how](values)


def _latest(kpi: Kpi, part: _Part) -> float | None:
    values = [w.latest_value for w in part.windows(kpi.metrics[0]) if w.latest_value is not None]
    return _combine(values, kpi.combine or "sum")


def _sum(kpi: Kpi, part: _Part) -> float | None:
    windows = [w for m in kpi.metrics for w in part.windows(m)]
    return sum(w.total for w in windows) if windows else None


def _mean(kpi: Kpi, part: _Part) -> float | None:
    windows = [w for m in kpi.metrics for w in part.windows(m)]
    n = sum(w.n for w in windows)
    return sum(w.total for w in windows) / n if n else None


def _ratio(kpi: Kpi, part: _Part) -> float | None:
    def amount(metric: str) -> float | None:
        windows = part.windows(metric)
        if kpi.ratio_of == "latest":
            return _combine([w.latest_value for w in windows if w.latest_value is not None], "sum")
        return sum(w.total for w in windows) if windows else None

    numerator, denominator = amount(kpi.numerator or ""), amount(kpi.denominator or "")
    if numerator is None or not denominator:
        return None
    return 100.0 * numerator / denominator


def _count(kpi: Kpi, part: _Part) -> float | None:
    metric, condition = kpi.metrics[0], kpi.condition
    assert condition is not None  # the catalogue guarantees it
    latest = [w.latest_value if (w := part.window(e.id, metric)) else None for e in part.entities]
    # Nothing read for the whole selection is no data (a source down, a period not begun),
    # not "every entity missing"; inside a breakdown it is that group's answer.
    if not part.entities or (not part.group and all(v is None for v in latest)):
        return None
    hits = sum(1 for v in latest if condition.holds(v))
    return 100.0 * hits / len(part.entities) if kpi.as_percent else float(hits)


def _rate_of_change(kpi: Kpi, part: _Part) -> float | None:
    windows = [w for w in part.windows(kpi.metrics[0]) if w.first_mean is not None and w.last_mean is not None]
    if not windows:
        return None
    if kpi.relative:
        start = sum(w.first_mean for w in windows)
        return 100.0 * (sum(w.last_mean for w in windows) - start) / start if start else None
    return _combine([w.last_mean - w.first_mean for w in windows], kpi.combine or "mean")


METHODS: dict[str, Callable[[Kpi, _Part], float | None]] = {
    "latest": _latest, "sum": _sum, "mean": _mean, "ratio": _ratio, "count": _count, "rate_of_change": _rate_of_change,
}


def _as_of(kpi: Kpi, part: _Part) -> datetime | None:
    newest = [w.newest_ts for m in kpi.metrics_needed for w in part.windows(m)]
    return datetime.fromtimestamp(max(newest), timezone.utc) if newest else None


# --------------------------------------------------------------------------- reading and assembling


def _read(conn: Connection, kpi: Kpi, series: dict[tuple[int, str], int], window: Window) -> dict[int, SeriesWindow]:
    start, end = window.span
    if kpi.uses_latest:
        # "Latest" is as of the end of the window, looking back at most max_age.
        start = end - int(kpi.lookback.total_seconds())
    return window_stats(conn, series.values(), start, end, latest=kpi.uses_latest, ends=kpi.method == "rate_of_change")


def _group_key(kpi: Kpi, entity: EntityRow) -> str | None:
    if kpi.breakdown == "province":
        return entity.province_code
    # By unit: the entity itself, or the unit it reports for (report submissions name their reporter).
    return str(entity.meta.get("reporter") or entity.code)


def _breakdown(conn: Connection, kpi: Kpi, part: _Part) -> list[BreakdownItem]:
    groups: dict[str, list[EntityRow]] = {}
    for entity in part.entities:
        key = _group_key(kpi, entity)
        if key:
            groups.setdefault(key, []).append(entity)
    names = entity_names_by_code(conn, groups)
    if kpi.breakdown == "province":
        order = [p.code for p in all_provinces()]
        names = {p.code: p.name for p in all_provinces()} | names
        keys = [c for c in order if c in groups] + sorted(set(groups) - set(order))
    else:
        keys = sorted(groups)
    bounds = kpi.breakdown_thresholds or (kpi.thresholds if kpi.scale_free else None)
    items = []
    for key in keys:
        value = METHODS[kpi.method](kpi, _Part(groups[key], part.series, part.stats, group=True))
        items.append(BreakdownItem(key, names.get(key, key), value, status_of(value, bounds, kpi.direction)))
    return items


def _members(kpi: Kpi, entities: list[EntityRow], series: dict[tuple[int, str], int],
             ) -> tuple[list[EntityRow], dict[tuple[int, str], int]]:
    """The entities a KPI counts, and (entity id, metric) → series id of the metrics it needs from them."""
    members = [e for e in entities if kpi.entities.matches(e.kind, e.subtype, e.code, e.meta)]
    own = {(e.id, m): sid for e in members for m in kpi.metrics_needed if (sid := series.get((e.id, m))) is not None}
    return members, own


def compute_kpi(
    conn: Connection, kpi: Kpi, entities: list[EntityRow], series: dict[tuple[int, str], int], now: datetime,
    tz: ZoneInfo,
) -> KpiValue:
    """One KPI over the period containing ``now`` (or the last complete one) and the one before."""
    current, previous = period_windows(now, tz, kpi.period, kpi.window)
    members, own = _members(kpi, entities, series)
    part = _Part(members, own, _read(conn, kpi, own, current))
    value = METHODS[kpi.method](kpi, part)
    before = METHODS[kpi.method](kpi, _Part(members, own, _read(conn, kpi, own, previous)))
    change, trend, improving = _trend(value, before, kpi.direction)
    breakdown = None if kpi.breakdown == "none" else _breakdown(conn, kpi, part)
    return KpiValue(
        code=kpi.code, name_vi=kpi.name_vi, name_en=kpi.name_en, area=kpi.area, unit=kpi.unit, owner=kpi.owner,
        headline=kpi.headline, direction=kpi.direction, method=kpi.method, period=kpi.period, window=kpi.window,
        period_start=current.start, period_end=current.end, value=value,
        status=status_of(value, kpi.thresholds, kpi.direction), target=kpi.target,
        thresholds=(kpi.thresholds.green, kpi.thresholds.red) if kpi.thresholds else None,
        previous=before, change=change, trend=trend, improving=improving,
        as_of=_as_of(kpi, part) if value is not None else None,
        total=len(members) if kpi.method == "count" else None, breakdown_by=kpi.breakdown, breakdown=breakdown,
        note=kpi.note, unit_en=kpi.unit_en,
    )


def compute_kpis(engine: Engine, catalogue: Catalogue, now: datetime, tz: ZoneInfo) -> list[KpiValue]:
    """Every KPI of ``catalogue`` as of ``now`` (timezone-aware), in catalogue order."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    with engine.connect() as conn:
        entities = entities_of_kinds(conn, catalogue.kinds)
        series = series_index(conn, catalogue.kinds, catalogue.metrics)
        return [compute_kpi(conn, kpi, entities, series, now, tz) for kpi in catalogue.kpis]


def kpi_statuses(engine: Engine, kpi: Kpi, instants: Iterable[datetime], tz: ZoneInfo) -> list[str]:
    """The KPI's status as it was at each of ``instants`` (from the store as it is now).

    Its value over the period containing each instant, as :func:`compute_kpi` finds it,
    without the period before, the trend or the breakdown: what an alert rule's ``for``
    asks of a KPI gone red, at half the cost.
    """
    alone = Catalogue((kpi,))
    statuses = []
    with engine.connect() as conn:
        entities = entities_of_kinds(conn, alone.kinds)
        members, own = _members(kpi, entities, series_index(conn, alone.kinds, alone.metrics))
        for at in instants:
            current, _ = period_windows(at, tz, kpi.period, kpi.window)
            value = METHODS[kpi.method](kpi, _Part(members, own, _read(conn, kpi, own, current)))
            statuses.append(status_of(value, kpi.thresholds, kpi.direction))
    return statuses


def select_kpis(values: Iterable[KpiValue], area: str | None = None, headline: bool | None = None) -> list[KpiValue]:
    """The KPIs of one area and/or only the headline ones (or only the others)."""
    return [v for v in values if (area is None or v.area == area) and (headline is None or v.headline == headline)]
