"""Station transmission health per local day: received, valid, expected, completeness, bad hours."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from flask import Blueprint, Flask
from sqlalchemy import Engine

import api.environment
from data_sources.base import Batch, Entity, Reading
from ingest import store_batch
from queries.station_health import completeness_by_province, station_health
from services import EXTENSION, Services
from settings import load_settings
from store.schema import QUALITY_CALIBRATING, QUALITY_FAULT

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
DAY = date(2026, 3, 10)
D0 = datetime(2026, 3, 10, tzinfo=TZ)
# Every 5 minutes, two parameters: 288 × 2 = 576 readings expected a day.
AIR = Entity("HNI-AIR-01", "station", "Trạm Nguyễn Văn Cừ", subtype="air", province_code="HNI",
             meta={"parameters": ["PM2.5", "NO2"], "interval_seconds": 300})
SILENT = Entity("HNI-AIR-02", "station", "Trạm Hoàn Kiếm", subtype="air", province_code="HNI",
                meta={"parameters": ["PM2.5", "NO2"], "interval_seconds": 300})
# No interval in its meta: hourly by default; no parameter list: its series count.
WATER = Entity("HCM-SW-01", "station", "Trạm Sông Sài Gòn", subtype="surface_water", province_code="HCM")
NOT_A_STATION = Entity("HNI", "province", "Hà Nội")


def every(code: str, metric: str, start: datetime, minutes: int, count: int, quality: int = 0) -> list[Reading]:
    return [Reading(code, metric, start + timedelta(minutes=minutes * i), 10.0 + i % 3, "", quality) for i in range(count)]


@pytest.fixture
def stored(engine: Engine) -> Engine:
    return store_day(engine)


def store_day(engine: Engine) -> Engine:
    readings = []
    # HNI-AIR-01: 10 hours (02:00–12:00) of both parameters, 12 readings an hour each = 240 received.
    for metric in ("PM2.5", "NO2"):
        readings += every("HNI-AIR-01", metric, D0 + timedelta(hours=2), 5, 120)
    # 04:00–04:20 PM2.5 calibrating (5 readings), 07:00 NO2 one fault: replace those readings' quality.
    readings += every("HNI-AIR-01", "PM2.5", D0 + timedelta(hours=4), 5, 5, QUALITY_CALIBRATING)
    readings += every("HNI-AIR-01", "NO2", D0 + timedelta(hours=7), 5, 1, QUALITY_FAULT)
    # Readings of the local days before and after do not count.
    readings += every("HNI-AIR-01", "PM2.5", D0 - timedelta(hours=1), 5, 12)
    readings += every("HNI-AIR-01", "PM2.5", D0 + timedelta(days=1), 5, 12)
    # HCM-SW-01: one parameter every 30 minutes all day: 48 received, 24 expected at the default hourly interval.
    readings += every("HCM-SW-01", "DO", D0, 30, 48)
    with engine.begin() as conn:
        store_batch(conn, None, Batch(entities=[AIR, SILENT, WATER, NOT_A_STATION], readings=readings),
                    now=datetime(2027, 1, 1, tzinfo=TZ))
    return engine


def test_completeness_with_gaps_and_calibration_hours(any_engine: Engine) -> None:
    by_code = {s.code: s for s in station_health(store_day(any_engine), DAY, TZ)}
    assert list(by_code) == ["HCM-SW-01", "HNI-AIR-01", "HNI-AIR-02"]
    air = by_code["HNI-AIR-01"]
    assert (air.interval_seconds, air.parameters, air.expected) == (300, 2, 576)
    assert (air.received, air.valid) == (240, 234)
    assert air.completeness == pytest.approx(240 / 576)
    assert air.valid_completeness == pytest.approx(234 / 576)
    assert (air.hours_with_data, air.hours_calibration_or_fault) == (10, 2)
    assert (air.type, air.province_code, air.day) == ("air", "HNI", DAY)


def test_a_silent_station_is_listed_with_nothing_received(stored: Engine) -> None:
    (silent,) = station_health(stored, DAY, TZ, province="HNI", type_="air")[1:]
    assert (silent.code, silent.received, silent.expected, silent.completeness, silent.hours_with_data) == (
        "HNI-AIR-02", 0, 576, 0.0, 0)


def test_completeness_is_capped_at_one(stored: Engine) -> None:
    (water,) = station_health(stored, DAY, TZ, type_="water")
    assert (water.interval_seconds, water.parameters, water.received, water.expected) == (3600, 1, 48, 24)
    assert water.completeness == 1.0


def test_the_day_in_progress_expects_only_the_elapsed_part(stored: Engine) -> None:
    now = D0 + timedelta(hours=12)
    air = next(s for s in station_health(stored, DAY, TZ, now=now) if s.code == "HNI-AIR-01")
    assert air.expected == 288  # 12 hours × 12 × 2
    assert air.completeness == pytest.approx(240 / 288)
    future = station_health(stored, DAY + timedelta(days=5), TZ, now=now)
    assert {(s.expected, s.completeness) for s in future} == {(0, None)}


def test_completeness_by_province(stored: Engine) -> None:
    provinces = completeness_by_province(stored, DAY, TZ)
    assert [(p.province_code, p.stations, p.stations_reporting, p.received, p.expected) for p in provinces] == [
        ("HCM", 1, 1, 24, 24),  # 48 received, capped at its 24 expected
        ("HNI", 2, 1, 240, 1152),
    ]
    assert provinces[1].completeness == pytest.approx(240 / 1152)
    assert [p.province_code for p in completeness_by_province(stored, DAY, TZ, type_="air")] == ["HNI"]


def test_unknown_type_is_an_error(stored: Engine) -> None:
    with pytest.raises(ValueError):
        station_health(stored, DAY, TZ, type_="ocean")


def client_for(engine: Engine, tmp_path: Path):  # noqa: ANN201
    app = Flask(__name__)
    bp = Blueprint("api_v1", __name__, url_prefix="/api/v1")
    api.environment.register(bp)
    app.register_blueprint(bp)
    app.extensions[EXTENSION] = Services(load_settings(var_dir=tmp_path, database_url=str(engine.url)), engine, [])
    return app.test_client()


def test_station_health_api(stored: Engine, tmp_path: Path) -> None:
    client = client_for(stored, tmp_path)
    body = client.get("/api/v1/station-health?date=2026-03-10&province=HNI").json
    assert body["date"] == "2026-03-10"
    assert [s["code"] for s in body["stations"]] == ["HNI-AIR-01", "HNI-AIR-02"]
    assert body["stations"][0] == {
        "code": "HNI-AIR-01", "name": AIR.name, "type": "air", "province": "HNI", "interval_seconds": 300,
        "parameters": 2, "received": 240, "valid": 234, "expected": 576, "completeness": round(240 / 576, 4),
        "valid_completeness": round(234 / 576, 4), "hours_with_data": 10, "hours_calibration_or_fault": 2,
    }
    assert body["provinces"] == [{"province": "HNI", "stations": 2, "stations_reporting": 1, "received": 240,
                                  "expected": 1152, "completeness": round(240 / 1152, 4)}]
    assert [s["code"] for s in client.get("/api/v1/station-health?date=2026-03-10&type=water").json["stations"]] == [
        "HCM-SW-01"]
    assert client.get("/api/v1/station-health").status_code == 200  # today, in progress
    assert client.get("/api/v1/station-health?date=10/03/2026").status_code == 400
    assert client.get("/api/v1/station-health?type=ocean").status_code == 400
