"""The demo simulator: reproducible, idempotent through ingest, incremental, and realistic."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from sqlalchemy import Engine, func, select

from data_sources.base import PollContext
from data_sources.demo import FEEDS, DemoAdapter, backfill, iter_backfill
from data_sources.registry import adapter_class
from ingest import store_batch
from polling import poll_source, sync_sources
from reference.provinces import province_codes
from source_config import load_sources
from store.schema import observations, quarantine, sources

ROOT = Path(__file__).resolve().parent.parent
SOURCES_FILE = ROOT / "config" / "sources.yaml"
# A fixed, unaligned moment: tests never depend on the clock.
NOW = datetime(2025, 11, 20, 3, 2, 17, tzinfo=timezone.utc)
WINTER = datetime(2025, 1, 15, 0, 0, tzinfo=timezone.utc)
LOCAL = 7 * 3600


@lru_cache(maxsize=32)
def frame(feed: str, start: datetime, end: datetime) -> pd.DataFrame:
    """The feed's rows published in (start, end]; shared between tests, so never modify it."""
    return DemoAdapter.create(feed).window(start, end).readings


def canonical(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(["entity", "metric", "ts"]).reset_index(drop=True)


def ctx(now: datetime, last: datetime | None = None) -> PollContext:
    return PollContext(source_name="t", now=now, timeout_seconds=60, last_observation_at=last)


def newest(df: pd.DataFrame) -> datetime:
    return datetime.fromtimestamp(int(df["ts"].max()), timezone.utc)


def count(engine: Engine, table=observations) -> int:  # noqa: ANN001
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


# --------------------------------------------------------------------------- registration and options


def test_kind_demo_is_registered_and_options_are_strict() -> None:
    assert adapter_class("demo") is DemoAdapter
    with pytest.raises(ValidationError):
        DemoAdapter.Options.model_validate({"feed": "air", "colour": "red"})
    with pytest.raises(ValidationError):
        DemoAdapter.Options.model_validate({"feed": "weather"})
    with pytest.raises(ValidationError, match="does not apply"):
        DemoAdapter.Options.model_validate({"feed": "land", "interval": 300})
    with pytest.raises(ValidationError, match="divide a day"):
        DemoAdapter.Options.model_validate({"feed": "air", "interval": 7000})
    assert DemoAdapter.Options.model_validate({"feed": "air"}).seed == 2025


def test_sources_file_has_one_demo_source_per_feed() -> None:
    specs = load_sources(SOURCES_FILE)
    assert {s.kind for s in specs} == {"demo"}
    assert sorted(s.adapter.options.feed for s in specs) == sorted(FEEDS)
    by_name = {s.name: s for s in specs}
    assert by_name["demo-air"].interval_seconds == 300
    assert by_name["demo-water"].interval_seconds == 900
    assert by_name["demo-links"].interval_seconds == 60
    assert by_name["demo-reporting"].schedule.startswith("cron ")


# --------------------------------------------------------------------------- determinism


@pytest.mark.parametrize("feed", sorted(FEEDS))
def test_same_window_twice_gives_identical_frames(feed: str) -> None:
    start = NOW - timedelta(days=2 if feed not in ("reporting",) else 120)
    first = DemoAdapter.create(feed).window(start, NOW).readings
    second = DemoAdapter.create(feed).window(start, NOW).readings  # a fresh adapter, the same rows
    assert len(first) > 0
    pd.testing.assert_frame_equal(first, second)
    assert list(first.columns) == ["entity", "metric", "ts", "value", "unit", "quality"]
    assert first["ts"].dtype == np.int64
    assert np.isfinite(first["value"]).all()
    # Every row belongs to an entity the batch declares (else ingest would quarantine it).
    declared = {e.code for e in DemoAdapter.create(feed).entities()}
    assert set(first["entity"]) <= declared


def test_seed_changes_values_not_entities() -> None:
    a = DemoAdapter.create("air", seed=1)
    b = DemoAdapter.create("air", seed=2)
    assert [e.code for e in a.entities()] == [e.code for e in b.entities()]
    fa, fb = a.window(NOW - timedelta(hours=3), NOW).readings, b.window(NOW - timedelta(hours=3), NOW).readings
    assert not fa["value"].head(100).equals(fb["value"].head(100))


@pytest.mark.parametrize("feed", ["air", "wastewater", "gnss", "land", "hydromet_links"])
def test_backfill_in_chunks_equals_one_window(feed: str) -> None:
    start, end = NOW - timedelta(days=2), NOW
    whole = canonical(backfill({"feed": feed}, start, end).readings)
    chunks = pd.concat([b.readings for b in iter_backfill({"feed": feed}, start, end, timedelta(hours=5))])
    pd.testing.assert_frame_equal(whole, canonical(chunks))


@pytest.mark.parametrize("feed,step", [("air", timedelta(minutes=5)), ("gnss", timedelta(minutes=20)),
                                       ("land", timedelta(hours=1)), ("reporting", timedelta(hours=7))])
def test_live_polls_agree_with_backfill(feed: str, step: timedelta) -> None:
    """Poll after poll, resuming from the newest stored time, yields exactly the backfill."""
    adapter = DemoAdapter.create(feed)
    start = NOW - {"air": timedelta(hours=6), "reporting": timedelta(days=40)}.get(feed, timedelta(days=1))
    first_since, _ = adapter.poll_window(ctx(start))
    seen, last, moment = [], None, start
    while moment <= NOW:
        batch = adapter.poll(ctx(moment, last))
        if len(batch.readings):
            seen.append(batch.readings)
            last = max(last, newest(batch.readings)) if last else newest(batch.readings)
        moment += step
    polled = canonical(pd.concat(seen).drop_duplicates(["entity", "metric", "ts"]))
    expected = adapter.feed.frame(first_since, int((moment - step).timestamp()))
    pd.testing.assert_frame_equal(polled, canonical(expected))


def test_poll_after_long_stop_catches_up_in_slices() -> None:
    adapter = DemoAdapter.create("air", max_points_per_poll=20_000, backfill_days=0.5)
    since, until = adapter.poll_window(ctx(NOW))
    assert until < int(NOW.timestamp())  # sliced
    parts, last = [], None
    for _ in range(100):
        batch = adapter.poll(ctx(NOW, last))
        if not len(batch.readings):
            break
        assert len(batch.readings) <= 20_000
        parts.append(batch.readings)
        last = newest(batch.readings)
    got = canonical(pd.concat(parts))
    pd.testing.assert_frame_equal(got, canonical(adapter.feed.frame(since, int(NOW.timestamp()))))


# --------------------------------------------------------------------------- through ingest and the store


def test_idempotent_ingest_of_every_demo_source(engine: Engine) -> None:
    specs = load_sources(SOURCES_FILE)
    sync_sources(engine, specs)
    for spec in specs:
        outcome = poll_source(engine, spec, trigger="test", now=NOW)
        assert outcome.ok, (spec.name, outcome.error)
        assert outcome.rejected == 0, spec.name
        assert outcome.accepted > 0, spec.name
    stored = count(engine)
    assert stored > 500_000
    for spec in specs:  # the same moment again: nothing new, nothing changed
        assert poll_source(engine, spec, trigger="test", now=NOW).ok
    assert count(engine) == stored
    # Re-sending a window already stored (a backfill overlapping live polls) changes nothing either.
    air = next(s for s in specs if s.name == "demo-air")
    with engine.begin() as conn:
        result = store_batch(conn, None, air.adapter.window(NOW - timedelta(hours=6), NOW), now=NOW)
    assert result.accepted > 0 and result.changed == 0
    assert count(engine) == stored
    assert count(engine, quarantine) == 0


def test_incremental_polls_store_only_new_grid_points(engine: Engine) -> None:
    specs = [s for s in load_sources(SOURCES_FILE) if s.name in ("demo-air", "demo-links")]
    sync_sources(engine, specs)
    for spec in specs:
        assert poll_source(engine, spec, now=NOW).ok
    before = count(engine)
    with engine.connect() as conn:
        last = {r.name: r.last_observation_at for r in conn.execute(select(sources.c.name, sources.c.last_observation_at))}
    assert last["demo-air"] == datetime(2025, 11, 20, 3, 0, tzinfo=timezone.utc)  # the newest 5-min point
    later = NOW + timedelta(minutes=10)
    expected_new = 0
    for spec in specs:
        new = spec.adapter.window(NOW, later).readings
        assert set(new["ts"]) <= {int((NOW + timedelta(minutes=m)).timestamp()) // 300 * 300 for m in (3, 8)}
        expected_new += len(new)
        outcome = poll_source(engine, spec, now=later)
        assert outcome.accepted == len(new)
    assert expected_new > 0
    assert count(engine) == before + expected_new


# --------------------------------------------------------------------------- realism


def all_entities() -> list:
    return [e for feed in FEEDS for e in DemoAdapter.create(feed).entities()]


def test_every_province_has_stations_and_coordinates_are_in_vietnam() -> None:
    entities = all_entities()
    stations = [e for e in entities if e.kind in ("station", "gnss_station")]
    assert {e.province_code for e in stations} == set(province_codes())
    for e in entities:
        if e.lat is not None:
            assert 8.0 <= e.lat <= 23.5 and 102.0 <= e.lon <= 110.0, (e.code, e.lat, e.lon)
        if e.province_code is not None:
            assert e.province_code in province_codes(), e.code
    assert len({e.code for e in entities}) == len({(e.code, e.kind) for e in entities})


def test_station_counts_names_and_codes() -> None:
    by = lambda feed: DemoAdapter.create(feed).entities()  # noqa: E731
    air = [e for e in by("air") if e.kind == "station"]
    assert len(air) == 80 and {e.subtype for e in air} == {"air"}
    assert "HNI-AIR-01" in {e.code for e in air}
    assert "Trạm quan trắc không khí Nguyễn Văn Cừ" in {e.name for e in air}
    assert sum(e.province_code == "HNI" for e in air) > sum(e.province_code == "LCU" for e in air)
    water = [e for e in by("water") if e.kind == "station"]
    assert 35 <= len(water) <= 50 and {e.subtype for e in water} == {"surface_water"}
    ww = by("wastewater")
    outfalls = [e for e in ww if e.kind == "station"]
    facilities = {e.code: e for e in ww if e.kind == "facility"}
    assert 90 <= len(outfalls) <= 130 and {e.subtype for e in outfalls} == {"wastewater"}
    assert "KCN Thăng Long" in {e.name for e in facilities.values()}
    for e in outfalls:
        fac = facilities[e.meta["facility"]]
        assert fac.meta["column"] in ("A", "B") and fac.meta["kq"] > 0 and fac.meta["kf"] in (0.9, 1.0, 1.1, 1.2)
        assert fac.meta["permit"] and fac.meta["flow_m3_day"] > 0
    stacks = [e for e in by("emission") if e.kind == "station"]
    assert 40 <= len(stacks) <= 60 and {e.subtype for e in stacks} == {"emission"}


def test_gnss_network_has_65_stations_24_geodetic_41_rtk() -> None:
    stations = [e for e in DemoAdapter.create("gnss").entities() if e.kind == "gnss_station"]
    assert len(stations) == 65
    types = pd.Series([e.meta["station_type"] for e in stations]).value_counts().to_dict()
    assert types == {"network_rtk": 41, "geodetic": 24}
    df = frame("gnss", NOW - timedelta(days=14), NOW)
    up = df[df.metric == "up"]
    assert set(up["value"]) == {0.0, 1.0}
    assert 0.9 < up["value"].mean() < 1.0  # mostly up, a few down at times
    availability = df[df.metric == "availability_pct"]["value"]
    assert len(availability) == 65 * 14 and availability.between(0, 100).all() and (availability < 90).any()


def _pm25(start: datetime, end: datetime) -> pd.DataFrame:
    df = frame("air", start, end)
    return df[(df.metric == "PM2.5") & (df.quality == 0)]


def test_air_has_pm25_24h_exceedances_but_mostly_not() -> None:
    for end in (NOW, WINTER):
        pm = _pm25(end - timedelta(days=7), end)
        day = (pm["ts"] + LOCAL - 1) // 86400  # local day; hour 24:00 closes the day
        daily = pm.groupby([pm["entity"], day])["value"].mean()
        daily = daily[daily.groupby(level=1).transform("size") > 0]
        share = (daily > 50).mean()
        assert 0.0 < share < 0.5, (end, share)
    # The northern winter haze: Hà Nội is worse in January than in July.
    hanoi_jan = _pm25(WINTER - timedelta(days=7), WINTER).query("entity.str.startswith('HNI')")["value"].mean()
    july = datetime(2025, 7, 15, tzinfo=timezone.utc)
    hanoi_jul = _pm25(july - timedelta(days=7), july).query("entity.str.startswith('HNI')")["value"].mean()
    assert hanoi_jan > 1.5 * hanoi_jul


def _nowcast(hourly: np.ndarray) -> float:
    c = hourly[::-1][:12]  # newest first
    present = ~np.isnan(c)
    if present[:3].sum() < 2:
        return float("nan")
    w = max(np.nanmin(c) / np.nanmax(c), 0.5)
    weights = w ** np.arange(12)
    if w > 0.5:
        return float(np.nansum(weights * c) / weights[present].sum())
    return float(np.nansum(0.5 ** np.arange(1, 13) * c))


def test_air_episodes_push_hourly_aqi_above_150() -> None:
    pm = _pm25(NOW - timedelta(days=7), NOW)
    pm = pm.assign(hour=(pm["ts"] + 3599) // 3600)
    hourly = pm.groupby(["entity", "hour"])["value"].mean().unstack()
    worst = max(_nowcast(hourly.loc[e, : h].to_numpy()) for e in hourly.index
                for h in hourly.columns[11::6])
    assert worst > 80  # PM2.5 NowCast above 80 µg/m³ is VN_AQI above 150


def test_air_shapes_diurnal_cycles() -> None:
    df = frame("air", NOW - timedelta(days=7), NOW)
    valid = df[df.quality == 0]
    hour = ((valid["ts"] + LOCAL) % 86400) // 3600
    o3 = valid[valid.metric == "O3"].groupby(hour)["value"].mean()
    no2 = valid[valid.metric == "NO2"].groupby(hour)["value"].mean()
    assert o3.idxmax() in range(12, 17) and o3.idxmin() not in range(10, 18)
    assert no2.loc[7:9].mean() > no2.loc[1:4].mean() and no2.loc[17:19].mean() > no2.loc[13:15].mean()
    co = valid[valid.metric == "CO"]["value"]
    assert co.quantile(0.05) > 400 and co.quantile(0.99) < 6000


def test_calibration_rows_are_flagged_with_odd_values() -> None:
    df = frame("air", NOW - timedelta(days=7), NOW)
    co = df[df.metric == "CO"]
    calibrating = co[co.quality == 1]["value"]
    assert len(calibrating) > 0
    assert ((calibrating < 300) | (calibrating > 39000)).all()  # zero gas or span gas, never air
    assert co[co.quality == 0]["value"].max() < 39000
    assert (df.quality == 2).any()  # device faults too
    for feed in ("water", "wastewater", "emission"):
        assert (frame(feed, NOW - timedelta(days=7), NOW).quality == 1).any(), feed


def test_outages_leave_gaps() -> None:
    df = frame("air", NOW - timedelta(days=7), NOW)
    pm = df[df.metric == "PM2.5"]
    per_station = pm.groupby("entity").size()
    expected = 7 * 288
    assert per_station.max() == expected
    assert (per_station < expected - 12).sum() >= 3  # several stations lost an hour or more
    gaps = pm.sort_values("ts").groupby("entity")["ts"].diff().max()
    assert gaps >= 3600


def test_surface_water_ranges_from_clean_to_heavily_polluted() -> None:
    adapter = DemoAdapter.create("water")
    cls = {e.code: e.meta["quality_class"] for e in adapter.entities()}
    df = adapter.window(NOW - timedelta(days=7), NOW).readings
    valid = df[df.quality == 0].assign(cls=lambda d: d["entity"].map(cls))
    bod = valid[valid.metric == "BOD5"].groupby("cls")["value"].median()
    do = valid[valid.metric == "DO"].groupby("cls")["value"].median()
    assert bod["clean"] < 4 < 15 < bod["heavily_polluted"]
    assert do["clean"] > 6 > 3 > do["heavily_polluted"]


def test_some_facilities_exceed_qcvn40_limits_in_episodes() -> None:
    adapter = DemoAdapter.create("wastewater")
    limits = {e.code: e.meta["limits"]["COD"] for e in adapter.entities() if e.kind == "station"}
    df = adapter.window(NOW - timedelta(days=7), NOW).readings
    cod = df[(df.metric == "COD") & (df.quality == 0)]
    hourly = cod.groupby(["entity", (cod["ts"] + 3599) // 3600])["value"].mean().reset_index()
    over = hourly["value"] > hourly["entity"].map(limits)
    assert 0 < over.mean() < 0.1
    assert 3 <= hourly.loc[over, "entity"].nunique() < len(limits) / 2


def test_reporting_has_on_time_late_and_missing_reports() -> None:
    adapter = DemoAdapter.create("reporting")
    entities = adapter.entities()
    indicators = [e for e in entities if e.kind == "report_indicator"]
    submissions = [e for e in entities if e.kind == "report_submission"]
    assert len(indicators) == 32
    assert sum(e.meta["connected"] for e in indicators) == 3
    assert {e.meta["reporter_kind"] for e in indicators} == {"province", "unit"}
    df = adapter.window(NOW - timedelta(days=200), NOW).readings
    september = int(datetime(2025, 9, 1, tzinfo=timezone.utc).timestamp()) - LOCAL
    sept = df[df.ts == september]
    submitted = sept[sept.metric == "submitted"]
    assert 0.8 * len(submissions) < len(submitted) < len(submissions)  # some never came
    on_time = sept[sept.metric == "on_time"]["value"]
    assert 0 < (on_time == 0).sum() < 0.3 * len(on_time)  # some late
    late = sept[(sept.metric == "days_late") & (sept.value > 0)]
    assert len(late) == (on_time == 0).sum()
    # The current month's report is not due yet: no rows for it.
    november = int(datetime(2025, 11, 1, tzinfo=timezone.utc).timestamp()) - LOCAL
    assert not (df.ts == november).any()


def test_daily_feeds_are_consistent() -> None:
    ps = frame("public_services", NOW - timedelta(days=14), NOW)
    wide = ps.pivot_table(index=["entity", "ts"], columns="metric", values="value")
    assert (wide["resolved_on_time"] <= wide["applications_resolved"]).all()
    assert wide["fully_online_pct"].between(0, 100).all()
    assert len(wide.index.get_level_values(0).unique()) == 34 + 21
    land = frame("land", NOW - timedelta(days=14), NOW).pivot_table(index=["entity", "ts"], columns="metric", values="value")
    assert (land["cadastral_online_pct"] <= land["cadastral_digitised_pct"]).all()
    assert (land["lookup_failures"] <= land["lookup_requests"]).all()
    # Stamped at local midnight of the day described; the newest complete day is yesterday.
    local_midnights = (land.index.get_level_values(1) + LOCAL) % 86400
    assert (local_midnights == 0).all()
    assert land.index.get_level_values(1).max() + 86400 <= NOW.timestamp()


def test_a_day_of_air_is_fast_enough_to_generate() -> None:
    # Not a timing assertion: just that a full day of every air station is one frame.
    df = frame("air", NOW - timedelta(days=1), NOW)
    assert len(df) > 0.9 * 80 * 8 * 288
