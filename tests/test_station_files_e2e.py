"""End to end: station files dropped in the folder → one poll → hourly and daily AQI from the API."""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from app import create_app
from data_sources.base import Entity
from indicators.aqi import daily_aqi, hourly_aqi
from ingest import upsert_entities
from polling import poll_source, sync_sources
from settings import load_settings
from source_config import load_sources

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
DAY = datetime(2026, 11, 20, tzinfo=TZ)


def pm25(hour: int) -> float:
    return 30.0 + 4.0 * (hour % 9)


def test_files_to_aqi_through_the_api(engine: Engine, tmp_path: Path) -> None:
    drop = tmp_path / "ftp"
    (drop / "HNI-AIR01").mkdir(parents=True)
    # Every 30 minutes from 12 hours before the day to its end; PM2.5 in mg/m³ on odd files to
    # exercise unit normalisation, with a decimal comma, CRLF and a calibration line.
    for step in range(-24, 48):
        local = DAY + timedelta(minutes=30 * step)
        stamp = local.strftime("%Y%m%d%H%M%S")
        hour = (local - DAY) // timedelta(hours=1)
        value = pm25(hour)
        written = f"{value / 1000:.4f}".replace(".", ",")
        pm_line = f"PM2.5\t{written}\tmg/m3\t{stamp}\t00" if step % 2 else f"PM2.5\t{value}\tµg/m³\t{stamp}\t00"
        lines = [pm_line, f"NO2\t{50 + hour}\tµg/m³\t{stamp}\t00", f"SO2\t999\tµg/m³\t{stamp}\t01"]
        (drop / "HNI-AIR01" / f"HNI_KCN_AIR01_{stamp}.txt").write_bytes(("\r\n".join(lines) + "\r\n").encode())
    (tmp_path / "sources.yaml").write_text(
        "sources:\n  - name: stations\n    kind: station_files\n    every: 1m\n    timeout: 120\n"
        f"    options: {{folder: '{drop}', settle_seconds: 0, station_code: '{{province}}-{{station}}'}}\n",
        encoding="utf-8",
    )
    specs = load_sources(tmp_path / "sources.yaml")
    sync_sources(engine, specs)
    with engine.begin() as conn:
        upsert_entities(conn, [Entity("HNI-AIR01", "station", "Trạm KCN", subtype="air", province_code="HNI")])
    outcome = poll_source(engine, specs[0], now=DAY + timedelta(days=2))
    assert outcome.ok and outcome.rejected == 0 and outcome.accepted == 72 * 3
    assert len(list((drop / "archive").rglob("*.txt"))) == 72

    client = create_app(load_settings(var_dir=tmp_path, database_url=str(engine.url)), specs).server.test_client()
    body = client.get("/api/v1/stations/HNI-AIR01/aqi?date=2026-11-20").json
    # SO2 was calibrating (status 01): it must not count.
    expected_day = daily_aqi({"pm25": [pm25(h) for h in range(24)], "no2": [50.0 + h for h in range(24)]})
    assert body["daily"]["aqi"] == expected_day.aqi
    assert "so2" not in body["daily"]["sub_indices"]
    assert len(body["hourly"]) == 24
    ten = next(h for h in body["hourly"] if h["hour"] == "2026-11-20T10:00+07:00")
    assert ten["aqi"] == hourly_aqi(pm25_hours=[pm25(h) for h in range(10, -2, -1)], no2=60.0).aqi
