"""The KPI catalogue (config/kpis.yaml): validation, every computation method against what
was stored, status and direction, previous period, breakdowns, 'no data', and the API.

Expected values are worked out here from the readings the test stores, never copied
from the code under test.
"""
from __future__ import annotations

import random
import sqlite3
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from sqlalchemy import Engine, delete

from app import create_app
from data_sources.base import Batch, Entity, Reading
from data_sources.demo import DemoAdapter
from ingest import store_batch
from kpis.catalogue import METHODS, Catalogue, Thresholds, load_catalogue
from kpis.compute import KpiValue, compute_kpis, period_windows, status_of
from polling import poll_source, sync_sources
from reference.provinces import all_provinces
from settings import ConfigError, load_settings
from source_config import load_sources
from store.schema import QUALITY_CALIBRATING, observations
from tests.support import scripted_specs

ROOT = Path(__file__).resolve().parent.parent
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
# A fixed Friday morning: tests never depend on the clock (except the API's, see below).
NOW = datetime(2026, 3, 20, 10, 30, tzinfo=TZ)
MONTH_START = datetime(2026, 3, 1, tzinfo=TZ)
PREV_START = datetime(2026, 2, 1, tzinfo=TZ)
PREV_END = PREV_START + (NOW - MONTH_START)  # the same length of February: month to date

NAMES = {p.code: p.name for p in all_provinces()}
PROVINCES = [Entity(code, "province", NAMES[code], province_code=code) for code in ("HNI", "HCM", "DNG", "CTO")]
REPORTING = ("HNI", "HCM", "DNG")  # CTO is declared but never reports
DNG_STOPS = date(2026, 3, 10)  # DNG's last daily figure

BASE: dict[str, Any] = {
    "name_vi": "Chỉ tiêu thử", "name_en": "Test KPI", "unit": "", "area": "land", "owner": "MAE-QLDD",
    "period": "month", "entities": {"kind": "province"}, "direction": "higher_is_better",
}


# --------------------------------------------------------------------------- helpers


def daily_readings() -> list[Reading]:
    """Daily figures of 1 Feb – 19 Mar (stamped at local midnight), seeded, plus one calibration reading."""
    rng = random.Random(20260320)
    out: list[Reading] = []
    for code in REPORTING:
        day = date(2026, 2, 1)
        pct = 30.0 + 20 * rng.random()
        while day < NOW.date():
            if code == "DNG" and day > DNG_STOPS:
                break
            ts = datetime.combine(day, time(0), TZ)
            requests = rng.randint(50, 500)
            pct += rng.random()
            out += [
                Reading(code, "requests", ts, float(requests)),
                Reading(code, "failures", ts, float(rng.randint(0, requests // 8))),
                Reading(code, "issued", ts, float(rng.randint(0, 40))),
                Reading(code, "pct", ts, round(pct, 3), "%"),
            ]
            day += timedelta(days=1)
    # Quality 1 (calibrating): must never count.
    out.append(Reading("HNI", "issued", datetime(2026, 3, 5, 12, tzinfo=TZ), 9999.0, "", QUALITY_CALIBRATING))
    return out


STATIONS = [Entity(f"HNI-GNSS-0{i}", "gnss_station", f"Trạm {i}", province_code="HNI") for i in (1, 2, 3)] + [
    Entity("HCM-GNSS-01", "gnss_station", "Trạm 4", province_code="HCM")]


def hourly_up() -> list[Reading]:
    """Hourly 'up' flags on 20 Mar 00:00–10:00; HNI-GNSS-03 falls silent after 05:00, HNI-GNSS-02 goes down at 09:00."""
    out = []
    for hour in range(11):
        ts = datetime(2026, 3, 20, hour, tzinfo=TZ)
        for s in STATIONS:
            if s.code == "HNI-GNSS-03" and hour > 5:
                continue
            down = s.code == "HNI-GNSS-02" and hour >= 9
            out.append(Reading(s.code, "up", ts, 0.0 if down else 1.0))
    return out


def store(engine: Engine, entities: list[Entity], readings: list[Reading], now: datetime = NOW) -> None:
    with engine.begin() as conn:
        store_batch(conn, None, Batch(entities=entities, readings=readings), now=now)


def stored(engine: Engine) -> list[Reading]:
    readings = daily_readings()
    store(engine, PROVINCES, readings)
    return readings


def write_catalogue(tmp_path: Path, *entries: dict[str, Any], base: bool = True) -> Path:
    path = tmp_path / "kpis.yaml"
    # The entry's own keys first (its code on the entry's first line), then the defaults.
    items = [e | {k: v for k, v in BASE.items() if k not in e} if base else e for e in entries]
    path.write_text(yaml.safe_dump({"kpis": items}, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def catalogue(tmp_path: Path, *entries: dict[str, Any]) -> Catalogue:
    return load_catalogue(write_catalogue(tmp_path, *entries))


def compute(engine: Engine, cat: Catalogue, now: datetime = NOW) -> dict[str, KpiValue]:
    return {v.code: v for v in compute_kpis(engine, cat, now, TZ)}


def select(readings: list[Reading], metric: str, start: datetime, end: datetime, entity: str | None = None) -> list[Reading]:
    """The valid readings of ``metric`` in [start, end)."""
    return [r for r in readings if r.metric == metric and start <= r.ts < end and r.quality == 0
            and (entity is None or r.entity == entity)]


def latest(readings: list[Reading], metric: str, end: datetime, lookback: timedelta, entity: str) -> Reading | None:
    found = select(readings, metric, end - lookback, end, entity)
    return max(found, key=lambda r: r.ts) if found else None


# --------------------------------------------------------------------------- the catalogue file


def test_the_shipped_catalogue_is_valid_and_covers_the_ministry() -> None:
    cat = load_catalogue(ROOT / "config" / "kpis.yaml")
    codes = [k.code for k in cat.kpis]
    assert 20 <= len(codes) <= 32 and len(set(codes)) == len(codes)
    assert 6 <= sum(k.headline for k in cat.kpis) <= 8
    assert {k.area for k in cat.kpis} >= {"reporting", "land", "water_resources", "public_services", "gnss", "it"}
    assert {k.method for k in cat.kpis} == set(METHODS)
    assert all(k.owner.startswith("MAE-") for k in cat.kpis)


def test_the_settings_point_at_the_shipped_catalogue(tmp_path: Path) -> None:
    assert load_settings(var_dir=tmp_path).kpis_file == ROOT / "config" / "kpis.yaml"


def line_of(text: str, needle: str) -> int:
    """1-based line of the last line containing ``needle`` (the broken KPI comes last)."""
    return max(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


GOOD = {"code": "LAND-00", "method": "sum", "metric": "issued"}


@pytest.mark.parametrize(
    ("entry", "needle", "expected"),
    [
        ({"code": "LAND-01", "method": "sum", "metric": "issued", "direction": "up"}, "direction: up",
         ["KPI LAND-01 key 'direction': must be one of higher_is_better, lower_is_better; got 'up'"]),
        ({"code": "LAND-02", "method": "median", "metric": "issued"}, "method: median",
         ["KPI LAND-02 key 'method': must be one of latest, sum, mean, ratio, count, rate_of_change"]),
        ({"code": "LAND-03", "method": "ratio", "denominator": "requests"}, "code: LAND-03",
         ["KPI LAND-03 key 'numerator'", "needs numerator and denominator", "add numerator:"]),
        ({"code": "LAND-00", "method": "mean", "metric": "pct"}, "code: LAND-00",
         ["KPI LAND-00 key 'code'", "already used at line 2", "give each KPI its own code"]),
        ({"code": "LAND-04", "method": "sum", "metric": "issued", "condition": {"op": "==", "value": 1}},
         "condition:", ["KPI LAND-04 key 'condition': does not apply to method sum", "remove it"]),
        ({"code": "LAND-05", "method": "sum", "metric": "issued", "thresholds": {"green": 5, "red": 9}},
         "thresholds:", ["KPI LAND-05 key 'thresholds'", "green (5) must be at least red (9)", "swap them"]),
        ({"code": "LAND-06", "method": "sum", "metric": "issued", "thresold": {"green": 5, "red": 1}},
         "thresold:", ["KPI LAND-06 key 'thresold'", "remove it or check its spelling"]),
        ({"code": "LAND-07", "method": "count", "metric": "up", "condition": {"op": ">="}}, "condition:",
         ["KPI LAND-07 key 'condition.value'", "add value:"]),
        ({"code": "LAND-08", "method": "latest", "metric": "pct", "max_age": "soon"}, "max_age: soon",
         ["KPI LAND-08 key 'max_age'", "write e.g. 90m, 2h or 7d"]),
        ({"code": "LAND-09", "method": "sum", "metric": "issued", "thresholds": {"green": 9, "amber": 5}}, "amber: 5",
         ["KPI LAND-09 key 'thresholds.amber'", "give only green", "and red"]),
    ],
    ids=["bad-direction", "unknown-method", "missing-numerator", "duplicate-code", "key-of-another-method",
         "thresholds-against-direction", "unknown-key", "condition-without-value", "bad-max-age",
         "amber-threshold"],
)
def test_a_bad_kpi_names_file_line_kpi_key_and_fix(tmp_path: Path, entry: dict, needle: str, expected: list[str]) -> None:
    path = write_catalogue(tmp_path, GOOD, entry)
    with pytest.raises(ConfigError) as err:
        load_catalogue(path)
    message = str(err.value)
    assert message.startswith(f"{path}:{line_of(path.read_text(encoding='utf-8'), needle)}: ")
    for fragment in expected:
        assert fragment in message


def test_a_missing_key_says_what_to_add(tmp_path: Path) -> None:
    entry = BASE | GOOD
    del entry["direction"]
    path = write_catalogue(tmp_path, entry, base=False)
    with pytest.raises(ConfigError, match=r"kpis\.yaml:2: KPI LAND-00 key 'direction': is missing; add it, "
                                          r"e\.g\. direction: higher_is_better"):
        load_catalogue(path)


def test_a_file_without_a_kpis_list_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "kpis.yaml"
    path.write_text("- code: X\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"kpis\.yaml:1: expected a top-level 'kpis:' list"):
        load_catalogue(path)


def test_start_up_stops_on_a_broken_catalogue(tmp_path: Path) -> None:
    path = write_catalogue(tmp_path, GOOD | {"direction": "sideways"})
    settings = load_settings(var_dir=tmp_path, kpis_file=path)
    with pytest.raises(ConfigError, match="key 'direction'"):
        create_app(settings, scripted_specs(tmp_path, "name: air\nevery: 1m"))


# --------------------------------------------------------------------------- periods and status


@pytest.mark.parametrize(
    ("period", "window", "current", "previous"),
    [
        ("day", "to_date", (date(2026, 3, 20), NOW), (date(2026, 3, 19), NOW - timedelta(days=1))),
        ("week", "to_date", (date(2026, 3, 16), NOW), (date(2026, 3, 9), NOW - timedelta(days=7))),
        ("month", "to_date", (date(2026, 3, 1), NOW), (date(2026, 2, 1), PREV_END)),
        ("quarter", "last_complete", (date(2025, 10, 1), date(2026, 1, 1)), (date(2025, 7, 1), date(2025, 10, 1))),
        ("year", "last_complete", (date(2025, 1, 1), date(2026, 1, 1)), (date(2024, 1, 1), date(2025, 1, 1))),
    ],
)
def test_periods_are_local_calendar_periods(period: str, window: str, current: tuple, previous: tuple) -> None:
    def moment(value: date | datetime) -> datetime:
        return value if isinstance(value, datetime) else datetime.combine(value, time(0), TZ)

    cur, prev = period_windows(NOW.astimezone(timezone.utc), TZ, period, window)
    assert (cur.start, cur.end) == (moment(current[0]), moment(current[1]))
    assert (prev.start, prev.end) == (moment(previous[0]), moment(previous[1]))
    assert cur.start.utcoffset() == timedelta(hours=7)


def test_the_previous_month_to_date_never_runs_past_its_month() -> None:
    _, prev = period_windows(datetime(2026, 3, 31, 12, tzinfo=TZ), TZ, "month", "to_date")
    assert (prev.start, prev.end) == (datetime(2026, 2, 1, tzinfo=TZ), datetime(2026, 3, 1, tzinfo=TZ))


def test_status_follows_thresholds_in_the_kpis_direction() -> None:
    higher, lower = Thresholds(green=95, red=80), Thresholds(green=2, red=5)
    assert [status_of(v, higher, "higher_is_better") for v in (99, 95, 94.9, 80.1, 80, 10)] == [
        "green", "green", "amber", "amber", "red", "red"]
    assert [status_of(v, lower, "lower_is_better") for v in (0, 2, 2.1, 4.9, 5, 50)] == [
        "green", "green", "amber", "amber", "red", "red"]
    assert status_of(None, higher, "higher_is_better") == "nodata"
    assert status_of(12.0, None, "higher_is_better") == "neutral"


# --------------------------------------------------------------------------- computation methods


def test_sum_counts_valid_readings_of_the_period_and_compares_with_the_same_days_before(any_engine: Engine,
                                                                                       tmp_path: Path) -> None:
    readings = stored(any_engine)
    v = compute(any_engine, catalogue(tmp_path, {"code": "S", "method": "sum", "metric": "issued"}))["S"]
    expected = sum(r.value for r in select(readings, "issued", MONTH_START, NOW))
    before = sum(r.value for r in select(readings, "issued", PREV_START, PREV_END))
    assert v.value == pytest.approx(expected)
    assert v.previous == pytest.approx(before)
    assert v.change == pytest.approx(expected - before)
    assert v.trend == ("up" if expected > before else "down")
    assert v.improving == (expected > before)  # higher is better
    newest = max(r.ts for r in select(readings, "issued", MONTH_START, NOW))
    assert v.as_of == newest
    assert (v.period_start, v.period_end, v.status) == (MONTH_START, NOW, "neutral")


def test_a_sum_of_several_metrics_adds_them(any_engine: Engine, tmp_path: Path) -> None:
    readings = stored(any_engine)
    v = compute(any_engine, catalogue(tmp_path, {"code": "S", "method": "sum", "metric": ["issued", "failures"]}))["S"]
    expected = sum(r.value for m in ("issued", "failures") for r in select(readings, m, MONTH_START, NOW))
    assert v.value == pytest.approx(expected)


def test_mean_weighs_every_reading_alike(any_engine: Engine, tmp_path: Path) -> None:
    readings = stored(any_engine)
    v = compute(any_engine, catalogue(tmp_path, {"code": "M", "method": "mean", "metric": "pct"}))["M"]
    values = [r.value for r in select(readings, "pct", MONTH_START, NOW)]
    assert v.value == pytest.approx(sum(values) / len(values))


def test_ratio_is_a_percentage_of_sums(any_engine: Engine, tmp_path: Path) -> None:
    readings = stored(any_engine)
    entry = {"code": "R", "method": "ratio", "numerator": "failures", "denominator": "requests"}
    v = compute(any_engine, catalogue(tmp_path, entry))["R"]

    def total(metric: str, start: datetime, end: datetime) -> float:
        return sum(r.value for r in select(readings, metric, start, end))

    assert v.value == pytest.approx(100 * total("failures", MONTH_START, NOW) / total("requests", MONTH_START, NOW))
    assert v.previous == pytest.approx(100 * total("failures", PREV_START, PREV_END) / total("requests", PREV_START, PREV_END))


def test_latest_takes_each_entitys_newest_reading_as_of_the_period_end(any_engine: Engine, tmp_path: Path) -> None:
    readings = stored(any_engine)
    entries = [{"code": f"L-{how}", "method": "latest", "metric": "pct", "combine": how} for how in ("mean", "sum", "max")]
    values = compute(any_engine, catalogue(tmp_path, *entries))
    month = timedelta(days=31)  # the default look-back: one period
    newest = [latest(readings, "pct", NOW, month, code) for code in REPORTING]
    assert newest[2].ts.date() == DNG_STOPS  # DNG's newest is older than the others'
    figures = [r.value for r in newest]
    assert values["L-mean"].value == pytest.approx(sum(figures) / 3)
    assert values["L-sum"].value == pytest.approx(sum(figures))
    assert values["L-max"].value == pytest.approx(max(figures))
    before = [latest(readings, "pct", PREV_END, month, code).value for code in REPORTING]
    assert values["L-mean"].previous == pytest.approx(sum(before) / 3)
    assert values["L-mean"].as_of == max(r.ts for r in newest)


def test_latest_respects_max_age(any_engine: Engine, tmp_path: Path) -> None:
    readings = stored(any_engine)
    entry = {"code": "L", "method": "latest", "metric": "pct", "combine": "mean", "max_age": "5d"}
    v = compute(any_engine, catalogue(tmp_path, entry))["L"]
    fresh = [r for code in REPORTING if (r := latest(readings, "pct", NOW, timedelta(days=5), code))]
    assert {r.entity for r in fresh} == {"HNI", "HCM"}  # DNG stopped 10 days ago
    assert v.value == pytest.approx(sum(r.value for r in fresh) / len(fresh))


def test_rate_of_change_from_first_to_last_reading_of_the_period(any_engine: Engine, tmp_path: Path) -> None:
    readings = stored(any_engine)
    entries = [{"code": "C", "method": "rate_of_change", "metric": "pct"},
               {"code": "CR", "method": "rate_of_change", "metric": "pct", "relative": True}]
    values = compute(any_engine, catalogue(tmp_path, *entries))
    firsts, lasts = [], []
    for code in REPORTING:
        found = sorted(select(readings, "pct", MONTH_START, NOW, code), key=lambda r: r.ts)
        firsts.append(found[0].value)
        lasts.append(found[-1].value)
    assert values["C"].value == pytest.approx(sum(b - a for a, b in zip(firsts, lasts)) / 3)
    assert values["CR"].value == pytest.approx(100 * (sum(lasts) - sum(firsts)) / sum(firsts))


def test_count_of_entities_meeting_a_condition(any_engine: Engine, tmp_path: Path) -> None:
    readings = hourly_up()
    store(any_engine, STATIONS, readings)
    common = {"metric": "up", "max_age": "2h", "period": "day", "entities": {"kind": "gnss_station"}}
    cat = catalogue(
        tmp_path,
        common | {"code": "UP", "method": "count", "condition": {"op": "==", "value": 1}},
        common | {"code": "UP-PCT", "method": "count", "condition": {"op": "==", "value": 1}, "as_percent": True},
        common | {"code": "SILENT", "method": "count", "condition": {"op": "missing"}},
    )
    values = compute(any_engine, cat)
    newest = {s.code: latest(readings, "up", NOW, timedelta(hours=2), s.code) for s in STATIONS}
    up = sum(1 for r in newest.values() if r is not None and r.value == 1)
    silent = sum(1 for r in newest.values() if r is None)
    assert (up, silent) == (2, 1)  # the scenario: one down, one silent
    assert (values["UP"].value, values["UP"].total) == (up, len(STATIONS))
    assert values["UP-PCT"].value == pytest.approx(100 * up / len(STATIONS))
    assert values["SILENT"].value == silent
    # The day before has no readings at all: no data, not "0 stations up".
    assert values["UP"].previous is None and values["UP"].trend is None


def test_status_of_a_computed_kpi_respects_direction(any_engine: Engine, tmp_path: Path) -> None:
    readings = stored(any_engine)
    requests = sum(r.value for r in select(readings, "requests", MONTH_START, NOW))
    rate = 100 * sum(r.value for r in select(readings, "failures", MONTH_START, NOW)) / requests
    ratio = {"method": "ratio", "numerator": "failures", "denominator": "requests"}
    cat = catalogue(
        tmp_path,
        ratio | {"code": "LOW", "direction": "lower_is_better", "thresholds": {"green": rate - 1, "red": rate + 1}},
        ratio | {"code": "LOW-RED", "direction": "lower_is_better", "thresholds": {"green": rate - 2, "red": rate - 1}},
        ratio | {"code": "HIGH", "direction": "higher_is_better", "thresholds": {"green": rate - 1, "red": rate - 2}},
        ratio | {"code": "HIGH-RED", "direction": "higher_is_better", "thresholds": {"green": rate + 2, "red": rate + 1}},
    )
    values = compute(any_engine, cat)
    assert {code: v.status for code, v in values.items()} == {
        "LOW": "amber", "LOW-RED": "red", "HIGH": "green", "HIGH-RED": "red"}
    assert values["LOW"].thresholds == (rate - 1, rate + 1)


def test_breakdown_by_province_covers_the_provinces_with_data(any_engine: Engine, tmp_path: Path) -> None:
    readings = stored(any_engine)
    entries = [
        {"code": "R", "method": "ratio", "numerator": "failures", "denominator": "requests", "breakdown": "province",
         "direction": "lower_is_better", "thresholds": {"green": 5, "red": 7}},
        {"code": "S", "method": "sum", "metric": "issued", "breakdown": "province",
         "thresholds": {"green": 1000, "red": 100}},
    ]
    values = compute(any_engine, catalogue(tmp_path, *entries))
    order = [p.code for p in all_provinces() if p.code in {e.code for e in PROVINCES}]
    ratio = {b.code: b for b in values["R"].breakdown}
    assert [b.code for b in values["R"].breakdown] == order  # reference order, every declared province
    for code in REPORTING:
        rate = 100 * sum(r.value for r in select(readings, "failures", MONTH_START, NOW, code)) / sum(
            r.value for r in select(readings, "requests", MONTH_START, NOW, code))
        assert ratio[code].value == pytest.approx(rate)
        assert ratio[code].name == NAMES[code]
        assert ratio[code].status == status_of(rate, Thresholds(green=5, red=7), "lower_is_better")
    assert (ratio["CTO"].value, ratio["CTO"].status) == (None, "nodata")
    sums = {b.code: b for b in values["S"].breakdown}
    assert sums["HNI"].value == pytest.approx(sum(r.value for r in select(readings, "issued", MONTH_START, NOW, "HNI")))
    # National thresholds do not judge a province's share of a total.
    assert {b.status for b in values["S"].breakdown if b.value is not None} == {"neutral"}


def test_breakdown_by_unit_groups_report_submissions_by_reporter(any_engine: Engine, tmp_path: Path) -> None:
    units = [Entity("MAE-VP", "unit", "Văn phòng Bộ"), Entity("MAE-MT", "unit", "Cục Môi trường")]
    submissions = [Entity(f"{ind}-{unit.code}", "report_submission", f"{ind} – {unit.name}", meta={"reporter": unit.code})
                   for ind in ("BC13", "BC14") for unit in units]
    period = datetime(2026, 2, 1, tzinfo=TZ)  # reports on February, stamped at its first day
    sent = {"BC13-MAE-VP": 1.0, "BC14-MAE-VP": 0.0, "BC13-MAE-MT": 1.0}  # BC14-MAE-MT never came
    store(any_engine, units + submissions, [Reading(code, "on_time", period, v) for code, v in sent.items()])
    entry = {"code": "MISS", "method": "count", "metric": "on_time", "condition": {"op": "missing"},
             "window": "last_complete", "entities": {"kind": "report_submission"}, "breakdown": "unit",
             "direction": "lower_is_better", "breakdown_thresholds": {"green": 0, "red": 1}}
    v = compute(any_engine, catalogue(tmp_path, entry))["MISS"]
    missing = {u.code: sum(1 for s in submissions if s.meta["reporter"] == u.code and s.code not in sent) for u in units}
    assert v.value == sum(missing.values()) == 1
    assert [(b.code, b.name, b.value, b.status) for b in v.breakdown] == [
        ("MAE-MT", "Cục Môi trường", missing["MAE-MT"], "red"), ("MAE-VP", "Văn phòng Bộ", missing["MAE-VP"], "green")]


def test_no_series_means_no_data(any_engine: Engine, tmp_path: Path) -> None:
    stored(any_engine)
    entries = [
        {"code": "NONE", "method": "sum", "metric": "not_delivered", "breakdown": "province", "thresholds": {"green": 1, "red": 0}},
        {"code": "NOBODY", "method": "count", "metric": "up", "condition": {"op": "==", "value": 1},
         "entities": {"kind": "gnss_station"}},
    ]
    values = compute(any_engine, catalogue(tmp_path, *entries))
    for v in values.values():
        assert (v.value, v.status, v.previous, v.change, v.as_of) == (None, "nodata", None, None, None)
    assert {b.status for b in values["NONE"].breakdown} == {"nodata"}
    assert values["NOBODY"].total == 0


def test_windows_are_read_from_the_hourly_roll_up(any_engine: Engine, tmp_path: Path) -> None:
    stored(any_engine)
    cat = catalogue(
        tmp_path,
        {"code": "S", "method": "sum", "metric": "issued"},
        {"code": "M", "method": "mean", "metric": "pct"},
        {"code": "R", "method": "ratio", "numerator": "failures", "denominator": "requests"},
        {"code": "C", "method": "rate_of_change", "metric": "pct"},
    )
    before = compute(any_engine, cat)
    with any_engine.begin() as conn:
        conn.execute(delete(observations))  # raw readings gone, roll-ups kept
    after = compute(any_engine, cat)
    for code, v in before.items():
        assert v.value is not None
        assert (after[code].value, after[code].previous) == pytest.approx((v.value, v.previous))


# --------------------------------------------------------------------------- the shipped catalogue on the demo world


@pytest.fixture(scope="module")
def demo_batches() -> dict[str, Batch]:
    """What the demo feeds published before NOW, as much of it as the catalogue reads."""
    days = {"reporting": 75, "land": 115, "water_resources": 35, "public_services": 35, "gnss": 2,
            "hydromet_links": 0.25}
    return {feed: DemoAdapter.create(feed).window(NOW - timedelta(days=d), NOW) for feed, d in days.items()}


def test_every_shipped_kpi_has_a_value_on_the_demo_world(engine: Engine, demo_batches: dict[str, Batch]) -> None:
    for batch in demo_batches.values():
        with engine.begin() as conn:
            store_batch(conn, None, batch, now=NOW)
    values = compute(engine, load_catalogue(ROOT / "config" / "kpis.yaml"))
    assert [code for code, v in values.items() if v.value is None] == []
    assert all(v.status in ("red", "amber", "green", "neutral") and v.as_of is not None for v in values.values())

    # Two of them worked out independently from the feed's own rows.
    land = demo_batches["land"].readings
    ts_start, ts_end = MONTH_START.timestamp(), NOW.timestamp()
    month = land[(land["ts"] >= ts_start) & (land["ts"] < ts_end)]
    total = month.groupby("metric")["value"].sum()
    assert values["LAND-07"].value == pytest.approx(100 * total["lookup_failures"] / total["lookup_requests"])
    by_province = {b.code: b.value for b in values["LAND-07"].breakdown}
    assert set(by_province) == set(month["entity"])
    hni = month[month["entity"] == "HNI"].groupby("metric")["value"].sum()
    assert by_province["HNI"] == pytest.approx(100 * hni["lookup_failures"] / hni["lookup_requests"])

    gnss = demo_batches["gnss"].readings
    up = gnss[(gnss["metric"] == "up") & (gnss["ts"] >= ts_end - 2 * 3600) & (gnss["ts"] < ts_end)]
    newest = up.sort_values("ts").groupby("entity")["value"].last()
    assert values["GNSS-01"].value == (newest == 1).sum()
    assert values["GNSS-01"].total == len([e for e in demo_batches["gnss"].entities if e.kind == "gnss_station"])

    reports = demo_batches["reporting"].readings
    february = reports[(reports["metric"] == "submitted") & (reports["ts"] == PREV_START.timestamp())]
    submissions = [e for e in demo_batches["reporting"].entities if e.kind == "report_submission"]
    assert values["RPT-04"].value == len(submissions) - february["entity"].nunique()
    connected = {e.code for e in submissions if e.meta["connected"]}
    assert values["RPT-05"].value == pytest.approx(100 * len(connected & set(february["entity"])) / len(connected))


def test_the_readme_example_feeds_land_07_from_a_database(engine: Engine, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("<!-- kpi-source-example")[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    rng = random.Random(7)
    rows = [(code, (date(2026, 2, 1) + timedelta(days=i)).isoformat(), (n := rng.randint(100, 900)), rng.randint(0, n // 10))
            for code in ("HNI", "HCM") for i in range(47)]  # 1 Feb – 19 Mar
    remote = tmp_path / "land.db"
    con = sqlite3.connect(remote)
    con.execute("CREATE TABLE lookup_daily (province TEXT, day TEXT, requests INTEGER, failures INTEGER)")
    con.executemany("INSERT INTO lookup_daily VALUES (?, ?, ?, ?)", rows)
    con.commit()
    con.close()
    monkeypatch.setenv("LAND_DB_URL", f"sqlite:///{remote}")
    sources_file = tmp_path / "sources.yaml"
    sources_file.write_text("sources:\n" + block, encoding="utf-8")
    specs = load_sources(sources_file)
    sync_sources(engine, specs)
    outcome = poll_source(engine, specs[0], now=NOW)
    assert (outcome.ok, outcome.accepted, outcome.rejected) == (True, 2 * len(rows), 0)

    v = compute(engine, load_catalogue(ROOT / "config" / "kpis.yaml"))["LAND-07"]
    march = [r for r in rows if r[1] >= "2026-03-01"]
    assert v.value == pytest.approx(100 * sum(r[3] for r in march) / sum(r[2] for r in march))
    assert v.as_of == datetime(2026, 3, 19, tzinfo=TZ)  # the newest day, read at local midnight
    assert [b.code for b in v.breakdown] == [p.code for p in all_provinces() if p.code in ("HNI", "HCM")]


# --------------------------------------------------------------------------- the API


@pytest.fixture
def api(engine: Engine, tmp_path: Path):  # noqa: ANN201
    """An app over a store with the last five days of daily figures (the same each day, so the
    expected answer does not depend on when the test runs) and a two-KPI catalogue."""
    today = datetime.now(TZ).date()
    per_day = {"HNI": (40.0, 400.0, 12.0), "HCM": (60.0, 500.0, 30.0)}  # issued, requests, failures
    readings = []
    for back in range(1, 6):
        ts = datetime.combine(today - timedelta(days=back), time(0), TZ)
        for code, (issued, requests, failures) in per_day.items():
            readings += [Reading(code, "issued", ts, issued), Reading(code, "requests", ts, requests),
                         Reading(code, "failures", ts, failures)]
    store(engine, PROVINCES, readings, now=datetime.now(timezone.utc))
    path = write_catalogue(
        tmp_path,
        {"code": "LAND-X1", "method": "sum", "metric": "issued", "period": "day", "window": "last_complete",
         "headline": True, "unit": "giấy chứng nhận", "target": 120, "thresholds": {"green": 120, "red": 50}},
        {"code": "PS-X2", "area": "public_services", "method": "ratio", "numerator": "failures",
         "denominator": "requests", "period": "day", "window": "last_complete", "unit": "%",
         "direction": "lower_is_better", "thresholds": {"green": 3, "red": 5}, "breakdown": "province"},
    )
    settings = load_settings(var_dir=tmp_path, database_url=str(engine.url), kpis_file=path)
    app = create_app(settings, scripted_specs(tmp_path, "name: air\nevery: 1m"))
    return app.server.test_client(), per_day


def test_api_lists_kpis_with_value_status_and_trend(api) -> None:  # noqa: ANN001
    client, per_day = api
    body = client.get("/api/v1/kpis").json
    assert body["count"] == 2
    first = body["kpis"][0]
    issued = sum(v[0] for v in per_day.values())
    assert first["code"] == "LAND-X1" and first["value"] == pytest.approx(issued)
    assert first["status"] == ("green" if issued >= 120 else "amber" if issued > 50 else "red")
    assert first["previous"] == pytest.approx(issued) and first["change"] == 0 and first["trend"] == "flat"
    assert (first["unit"], first["target"], first["area"], first["name"]) == ("giấy chứng nhận", 120, "land", "Chỉ tiêu thử")
    assert first["as_of"].endswith("+07:00")
    assert set(first) >= {"code", "name", "unit", "value", "status", "target", "previous", "change", "as_of", "area"}


def test_api_filters_by_area_and_headline(api) -> None:  # noqa: ANN001
    client, _ = api
    assert [k["code"] for k in client.get("/api/v1/kpis?headline=1").json["kpis"]] == ["LAND-X1"]
    assert [k["code"] for k in client.get("/api/v1/kpis?headline=0").json["kpis"]] == ["PS-X2"]
    assert [k["code"] for k in client.get("/api/v1/kpis?area=public_services").json["kpis"]] == ["PS-X2"]
    assert client.get("/api/v1/kpis?area=gnss").json == {"count": 0, "kpis": []}
    bad = client.get("/api/v1/kpis?area=oceans")
    assert bad.status_code == 400 and "area must be one of" in bad.json["error"]


def test_api_detail_has_the_breakdown_and_unknown_codes_are_404(api) -> None:  # noqa: ANN001
    client, per_day = api
    body = client.get("/api/v1/kpis/PS-X2?lang=en").json
    rate = 100 * sum(v[2] for v in per_day.values()) / sum(v[1] for v in per_day.values())
    assert body["value"] == pytest.approx(rate, abs=1e-4)
    assert body["name"] == "Test KPI"
    assert body["thresholds"] == {"green": 3, "red": 5}
    rows = {b["code"]: b for b in body["breakdown"]}
    assert set(rows) == {"HNI", "HCM", "DNG", "CTO"}
    for code, (_, requests, failures) in per_day.items():
        assert rows[code]["value"] == pytest.approx(100 * failures / requests, abs=1e-4)
        assert rows[code]["status"] == status_of(100 * failures / requests, Thresholds(green=3, red=5), "lower_is_better")
    assert rows["DNG"]["status"] == "nodata"
    missing = client.get("/api/v1/kpis/NOPE-1")
    assert missing.status_code == 404 and "NOPE-1" in missing.json["error"]


def test_api_says_503_when_the_catalogue_breaks_after_start(api, tmp_path: Path) -> None:  # noqa: ANN001
    client, _ = api
    (tmp_path / "kpis.yaml").write_text("kpis:\n  - code: X\n    method: sum\n", encoding="utf-8")
    response = client.get("/api/v1/kpis")
    assert response.status_code == 503
    assert "kpis.yaml:2: KPI X key" in response.json["error"]


@pytest.mark.parametrize("area", ["reporting", "water_resources", "public_services"])
def test_the_readme_examples_of_other_areas_load_and_feed_the_catalogues_metrics(tmp_path: Path, area: str) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split(f"<!-- source-example {area}")[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    sources_file = tmp_path / "sources.yaml"
    sources_file.write_text("sources:\n" + block, encoding="utf-8")
    (spec,) = load_sources(sources_file)  # a valid source of its kind, or a ConfigError naming the line
    fed = set(spec.adapter.options.series)
    wanted = {m for k in load_catalogue(ROOT / "config" / "kpis.yaml").kpis if k.area == area
              for m in ([k.metric] if isinstance(k.metric, str) else k.metric or []) + [k.numerator, k.denominator] if m}
    assert wanted and wanted <= fed, wanted - fed  # every metric the area's KPIs read comes from the example


def test_units_that_are_words_read_in_english_for_english_readers() -> None:
    from components.kpi_tiles import kpi_tile

    catalogue = load_catalogue(ROOT / "config" / "kpis.yaml")
    worded = [k for k in catalogue.kpis if any(c.isalpha() for c in k.unit)]
    assert worded, "the shipped catalogue has worded units (báo cáo, hồ sơ...)"
    # Every worded unit has its English; symbols (%, ms) read the same in both languages.
    assert [k.code for k in worded if not k.unit_en and not k.unit.isascii()] == []
    kpi = next(k for k in catalogue.kpis if k.unit == "hồ sơ")
    value = _value_of(kpi)
    assert (value.unit_in("vi"), value.unit_in("en")) == ("hồ sơ", kpi.unit_en)
    assert kpi.unit_en in str(kpi_tile(value, "en", TZ)) and "hồ sơ" not in str(kpi_tile(value, "en", TZ))
    assert "hồ sơ" in str(kpi_tile(value, "vi", TZ))


def _value_of(kpi: Any) -> KpiValue:
    """A value of ``kpi`` with the fields compute_kpis copies from the catalogue (12 of its unit)."""
    now = datetime(2026, 11, 20, 3, tzinfo=timezone.utc)
    return KpiValue(
        code=kpi.code, name_vi=kpi.name_vi, name_en=kpi.name_en, area=kpi.area, unit=kpi.unit, owner=kpi.owner,
        headline=kpi.headline, direction=kpi.direction, method=kpi.method, period=kpi.period, window=kpi.window,
        period_start=now, period_end=now, value=12.0, status="neutral", target=None, thresholds=None, previous=None,
        change=None, trend=None, improving=None, as_of=now, total=None, breakdown_by="none", breakdown=None,
        unit_en=kpi.unit_en)
