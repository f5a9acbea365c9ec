"""Stations API: registry with latest values and status, raw observations, AQI by day."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from app import create_app
from data_sources.base import Batch, Entity, Reading
from indicators.aqi import daily_aqi, hourly_aqi
from ingest import store_batch
from settings import load_settings

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
DAY_START = datetime(2026, 11, 20, 0, 0, tzinfo=TZ)
AIR = Entity("HNI-AIR-01", "station", "Trạm Nguyễn Văn Cừ", subtype="air", province_code="HNI", lat=21.05, lon=105.88,
             meta={"interval_seconds": 300})
WATER = Entity("HCM-SW-01", "station", "Trạm Sông Sài Gòn", subtype="surface_water", province_code="HCM",
               meta={"interval_seconds": 3600})


def pm25(hour: int) -> float:
    return 20.0 + 3.0 * (hour % 7)


@pytest.fixture
def client(engine: Engine, tmp_path: Path):  # noqa: ANN201
    readings = []
    # The day before (for the NowCast of the first hours) and the day itself, 4 readings an hour.
    for hour in range(-12, 24):
        for quarter in range(4):
            ts = DAY_START + timedelta(hours=hour, minutes=15 * quarter)
            readings.append(Reading("HNI-AIR-01", "PM2.5", ts, pm25(hour), "µg/m³"))
            readings.append(Reading("HNI-AIR-01", "NO2", ts, 40.0 + hour, "µg/m³"))
    readings.append(Reading("HCM-SW-01", "DO", DAY_START, 6.5, "mg/L"))
    with engine.begin() as conn:
        store_batch(conn, None, Batch(entities=[AIR, WATER], readings=readings), now=DAY_START + timedelta(days=2))
    settings = load_settings(var_dir=tmp_path, database_url=str(engine.url))
    return create_app(settings, []).server.test_client()


def test_daily_and_hourly_aqi_match_the_index_functions(client) -> None:  # noqa: ANN001
    body = client.get("/api/v1/stations/HNI-AIR-01/aqi?date=2026-11-20").json
    expected_day = daily_aqi({"pm25": [pm25(h) for h in range(24)], "no2": [40.0 + h for h in range(24)]})
    assert body["daily"]["aqi"] == expected_day.aqi
    assert body["daily"]["dominant_pollutant"] == expected_day.dominant
    assert body["daily"]["colour"] == expected_day.colour
    assert len(body["hourly"]) == 24
    first = body["hourly"][0]
    assert first["hour"] == "2026-11-20T00:00+07:00"
    expected_hour = hourly_aqi(pm25_hours=[pm25(h) for h in range(0, -12, -1)], no2=40.0)
    assert first["aqi"] == expected_hour.aqi
    assert first["category"] == expected_hour.category


def test_a_day_without_data_has_no_daily_aqi(client) -> None:  # noqa: ANN001
    body = client.get("/api/v1/stations/HNI-AIR-01/aqi?date=2026-10-01").json
    assert body["daily"] is None and body["hourly"] == []


def test_bad_requests_are_clean_4xx(client) -> None:  # noqa: ANN001
    assert client.get("/api/v1/stations/HNI-AIR-01/aqi?date=20-11-2026").status_code == 400
    assert client.get("/api/v1/stations/NOPE/aqi?date=2026-11-20").status_code == 404
    assert client.get("/api/v1/stations?type=ocean").status_code == 400
    assert client.get("/api/v1/stations/HNI-AIR-01/observations?from=yesterday").status_code == 400
    too_wide = "/api/v1/stations/HNI-AIR-01/observations?from=2026-01-01T00:00:00%2B07:00&to=2026-11-20T00:00:00%2B07:00"
    assert client.get(too_wide).status_code == 400
    assert client.get("/api/v1/stations/NOPE/observations").status_code == 404


def test_observations_in_a_window_for_one_metric(client) -> None:  # noqa: ANN001
    url = "/api/v1/stations/HNI-AIR-01/observations?from=2026-11-20T10:00:00%2B07:00&to=2026-11-20T11:00:00%2B07:00&metric=PM2.5"
    records = client.get(url).json["records"]
    assert [r["time"] for r in records] == [f"2026-11-20T10:{m:02d}:00+07:00" for m in (0, 15, 30, 45)]
    assert {r["value"] for r in records} == {pm25(10)}
    assert {r["unit"] for r in records} == {"µg/m³"}


def test_station_list_filters_and_reports_offline_stations(engine: Engine, tmp_path: Path) -> None:
    # Two days ago: long past the station's offline limit, within the latest values' look-back.
    last = (datetime.now(TZ) - timedelta(days=2)).replace(minute=45, second=0, microsecond=0)
    readings = [Reading("HNI-AIR-01", "PM2.5", last - timedelta(minutes=15), 30.0, "µg/m³"),
                Reading("HNI-AIR-01", "PM2.5", last, pm25(23), "µg/m³"),
                Reading("HCM-SW-01", "DO", last, 6.5, "mg/L")]
    with engine.begin() as conn:
        store_batch(conn, None, Batch(entities=[AIR, WATER], readings=readings))
    client = create_app(load_settings(var_dir=tmp_path, database_url=str(engine.url)), []).server.test_client()
    everything = client.get("/api/v1/stations").json["stations"]
    assert [s["code"] for s in everything] == ["HCM-SW-01", "HNI-AIR-01"]
    air = client.get("/api/v1/stations?type=air&province=HNI").json["stations"]
    assert [s["code"] for s in air] == ["HNI-AIR-01"]
    station = air[0]
    # Its last reading was days ago: offline, with its latest values still shown.
    assert station["status"] == "offline"
    assert station["latest"]["PM2.5"]["value"] == pm25(23)
    assert station["latest"]["PM2.5"]["at"] == last.isoformat(timespec="seconds")
    assert client.get("/api/v1/stations?type=water").json["stations"][0]["type"] == "water"
    assert client.get("/api/v1/stations?province=DNG").json["stations"] == []


def test_a_station_reporting_now_is_online(engine: Engine, tmp_path: Path) -> None:
    now = datetime.now(timezone.utc).replace(microsecond=0)
    with engine.begin() as conn:
        store_batch(conn, None, Batch(entities=[AIR], readings=[Reading("HNI-AIR-01", "PM2.5", now, 12.0, "µg/m³")]))
    client = create_app(load_settings(var_dir=tmp_path, database_url=str(engine.url)), []).server.test_client()
    (station,) = client.get("/api/v1/stations").json["stations"]
    assert station["status"] == "online"


def test_current_aqi_ranks_stations_worst_first_and_skips_silent_ones(engine: Engine) -> None:
    from queries.air_quality import current_station_aqi

    now = datetime(2026, 11, 22, 9, 30, tzinfo=TZ)
    stations = [Entity(f"HNI-AIR-0{i}", "station", f"Trạm {i}", subtype="air", province_code="HNI") for i in (1, 2, 3)]
    readings = []
    for hour in range(12):
        ts = now - timedelta(hours=hour)
        readings.append(Reading("HNI-AIR-01", "PM2.5", ts, 30.0, "µg/m³"))
        readings.append(Reading("HNI-AIR-02", "PM2.5", ts, 90.0, "µg/m³"))
        # Station 3 went silent a day ago.
        readings.append(Reading("HNI-AIR-03", "PM2.5", ts - timedelta(days=1), 400.0, "µg/m³"))
    with engine.begin() as conn:
        store_batch(conn, None, Batch(entities=stations, readings=readings), now=now)
    found = current_station_aqi(engine, now)
    assert [s.code for s in found] == ["HNI-AIR-02", "HNI-AIR-01"]
    assert found[0].aqi == hourly_aqi(pm25_hours=[90.0] * 12).aqi
    assert found[1].aqi == hourly_aqi(pm25_hours=[30.0] * 12).aqi
    assert found[0].hour == datetime(2026, 11, 22, 9, 0, tzinfo=TZ)


def test_an_odd_metric_spelling_does_not_break_the_aqi(client, engine: Engine) -> None:  # noqa: ANN001
    # A source that did not map its "PM2,5" spelling leaves a second series beside PM2.5:
    # the AQI keeps using the store's canonical metric and the API still answers.
    with engine.begin() as conn:
        store_batch(conn, None, Batch(readings=[Reading("HNI-AIR-01", "PM2,5", DAY_START, 500.0, "µg/m³")]),
                    now=DAY_START + timedelta(days=2))
    response = client.get("/api/v1/stations/HNI-AIR-01/aqi?date=2026-11-20")
    assert response.status_code == 200
    assert response.json["daily"]["aqi"] == daily_aqi({"pm25": [pm25(h) for h in range(24)],
                                                      "no2": [40.0 + h for h in range(24)]}).aqi
