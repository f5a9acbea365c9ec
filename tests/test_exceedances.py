"""Exceedances from hourly roll-ups: valid readings only, plausibility, flat lines, 1h/8h/24h windows, Cmax."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from flask import Blueprint, Flask
from sqlalchemy import Engine

import api.environment
from data_sources.base import Batch, Entity, Reading
from ingest import store_batch
from limits import load_limits
from queries.exceedances import exceedances
from services import EXTENSION, Services
from settings import ROOT, load_settings
from store.schema import QUALITY_CALIBRATING, QUALITY_FAULT

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
LIMITS = load_limits(ROOT / "config" / "limits.yaml")
D0 = datetime(2026, 3, 10, tzinfo=TZ)  # a local midnight
AIR = Entity("HNI-AIR-01", "station", "Trạm Nguyễn Văn Cừ", subtype="air", province_code="HNI",
             meta={"parameters": ["PM2.5", "NO2", "O3"], "regulation": "QCVN 05:2023/BTNMT", "interval_seconds": 900})
AIR_HCM = Entity("HCM-AIR-01", "station", "Trạm Quận 1", subtype="air", province_code="HCM",
                 meta={"interval_seconds": 900})
WW_META = {"facility": "HNI-FAC-01", "column": "B", "kq": 1.1, "kf": 0.9, "flow_m3_day": 8700, "permit": "45/GPMT-UBND",
           "regulation": "QCVN 40:2011/BTNMT", "interval_seconds": 900}
WW = Entity("HNI-WW-01", "station", "Trạm nước thải KCN Thăng Long", subtype="wastewater", province_code="HNI",
            meta=WW_META)
WW_PERMIT = Entity("HNI-WW-02", "station", "Trạm nước thải KCN Quang Minh", subtype="wastewater", province_code="HNI",
                   meta={**WW_META, "facility": "HNI-FAC-02", "limits": {"COD": 120.0, "pH_min": 6.5, "pH_max": 8.5}})
STATIONS = [AIR, AIR_HCM, WW, WW_PERMIT]
UNITS = {"PM2.5": "µg/m³", "NO2": "µg/m³", "O3": "µg/m³", "COD": "mg/L", "pH": "", "BOD5": "mg/L"}


def hour(station: Entity, metric: str, start: datetime, mean: float, quality: int = 0,
         spread: float = 2.0) -> list[Reading]:
    """Four readings in the hour from ``start`` averaging ``mean`` (not all equal unless spread is 0)."""
    values = [mean - spread, mean + spread, mean - spread, mean + spread]
    return [Reading(station.code, metric, start + timedelta(minutes=15 * q), v, UNITS[metric], quality)
            for q, v in enumerate(values)]


def hours(station: Entity, metric: str, first: datetime, means: Iterable[float], **kw) -> list[Reading]:  # noqa: ANN003
    return [r for i, m in enumerate(means) if m is not None for r in hour(station, metric, first + timedelta(hours=i), m, **kw)]


def store(engine: Engine, readings: list[Reading]) -> None:
    with engine.begin() as conn:
        store_batch(conn, None, Batch(entities=STATIONS, readings=readings), now=datetime(2027, 1, 1, tzinfo=TZ))


def found(engine: Engine, start: datetime, end: datetime, **kw) -> list[tuple]:  # noqa: ANN003
    return [(e.station_code, e.metric, e.period, e.window_start.astimezone(TZ), round(e.value, 3), e.limit)
            for e in exceedances(engine, LIMITS, start, end, tz=TZ, **kw)]


def test_pm25_daily_limit_switches_from_50_to_45(any_engine: Engine) -> None:
    # A day mean of 47 on 30 Dec 2025 (limit 50) and on 2 Jan 2026 (limit 45).
    for day in (datetime(2025, 12, 30, tzinfo=TZ), datetime(2026, 1, 2, tzinfo=TZ)):
        store(any_engine, hours(AIR, "PM2.5", day, [47.0] * 24))
    result = exceedances(any_engine, LIMITS, datetime(2025, 12, 29, tzinfo=TZ), datetime(2026, 1, 4, tzinfo=TZ), tz=TZ)
    (e,) = result
    assert (e.station_code, e.metric, e.period, e.value, e.limit) == ("HNI-AIR-01", "PM2.5", "24h", 47.0, 45.0)
    assert e.window_start == datetime(2026, 1, 2, tzinfo=TZ) and e.window_end == datetime(2026, 1, 3, tzinfo=TZ)
    assert e.ratio == pytest.approx(47 / 45)
    assert (e.regulation, e.basis, e.hours, e.type, e.province_code) == ("QCVN 05:2023/BTNMT", "regulation", 24, "air", "HNI")


def test_one_hour_limit_against_hourly_means(engine: Engine) -> None:
    store(engine, hours(AIR, "NO2", D0, [150.0, 210.0, 199.0]))
    assert found(engine, D0, D0 + timedelta(days=1)) == [("HNI-AIR-01", "NO2", "1h", D0 + timedelta(hours=1), 210.0, 200.0)]


def test_calibration_and_fault_readings_never_exceed(engine: Engine) -> None:
    readings = hours(AIR, "NO2", D0, [5000.0], quality=QUALITY_CALIBRATING)  # only calibration in hour 0
    readings += hours(AIR, "NO2", D0 + timedelta(hours=1), [50.0])  # hour 1: valid 50 ...
    readings += [Reading("HNI-AIR-01", "NO2", D0 + timedelta(hours=1, minutes=5), 9000.0, "µg/m³", QUALITY_FAULT)]
    readings += hours(WW, "COD", D0, [900.0, 900.0], quality=QUALITY_CALIBRATING)
    store(engine, readings)
    assert found(engine, D0, D0 + timedelta(days=1)) == []


def test_implausible_hourly_means_are_dropped(engine: Engine) -> None:
    readings = hours(AIR, "NO2", D0, [4500.0, 250.0])  # 4500 µg/m³ > plausible 4000
    readings += hours(WW, "pH", D0, [-1.0, 4.0], spread=0.1)  # a negative pH is an instrument error
    readings += hours(WW, "COD", D0, [6000.0, 200.0])  # > plausible 5000 mg/L
    store(engine, readings)
    assert found(engine, D0, D0 + timedelta(days=1)) == [
        ("HNI-AIR-01", "NO2", "1h", D0 + timedelta(hours=1), 250.0, 200.0),
        ("HNI-WW-01", "COD", "1h", D0 + timedelta(hours=1), 200.0, 148.5),
        ("HNI-WW-01", "pH", "1h", D0 + timedelta(hours=1), 4.0, 5.5),
    ]


def test_flat_lines_are_dropped(engine: Engine) -> None:
    # Three hours stuck at exactly 260 (4 identical readings each): a stuck sensor.
    readings = hours(AIR, "NO2", D0, [260.0, 260.0, 260.0], spread=0.0)
    # Two identical hours are not yet a flat line; a third hour at another value breaks the run.
    readings += hours(AIR, "NO2", D0 + timedelta(hours=5), [270.0, 270.0, 280.0], spread=0.0)
    # A run of 4 hours that began before the window is still recognised.
    readings += hours(WW, "COD", D0 - timedelta(hours=2), [300.0] * 4, spread=0.0)
    store(engine, readings)
    assert found(engine, D0, D0 + timedelta(days=1)) == [
        ("HNI-AIR-01", "NO2", "1h", D0 + timedelta(hours=5), 270.0, 200.0),
        ("HNI-AIR-01", "NO2", "1h", D0 + timedelta(hours=6), 270.0, 200.0),
        ("HNI-AIR-01", "NO2", "1h", D0 + timedelta(hours=7), 280.0, 200.0),
    ]


def test_eight_hour_rolling_means_need_six_hours(engine: Engine) -> None:
    # O3: 8h limit 120. Hours 0–7 at 130 → windows ending at hours 5..9 have ≥ 6 of 8 hours.
    readings = hours(AIR, "O3", D0, [130.0] * 8)
    # HCM: only 5 hours at 150: never 6 hours in a window.
    readings += hours(AIR_HCM, "O3", D0, [150.0] * 5)
    store(engine, readings)
    result = exceedances(engine, LIMITS, D0, D0 + timedelta(days=1), tz=TZ)
    assert {e.station_code for e in result} == {"HNI-AIR-01"}
    assert [(e.period, e.window_start.astimezone(TZ).hour, e.window_end.astimezone(TZ).hour, e.hours) for e in result] == [
        ("8h", 22, 6, 6), ("8h", 23, 7, 7), ("8h", 0, 8, 8), ("8h", 1, 9, 7), ("8h", 2, 10, 6),
    ]
    assert {(e.value, e.limit) for e in result} == {(130.0, 120.0)}


def test_eight_hour_mean_is_the_mean_of_hourly_means(engine: Engine) -> None:
    store(engine, hours(AIR, "O3", D0, [100.0, 100.0, 100.0, 100.0, 150.0, 150.0, 150.0, 150.0]))
    result = exceedances(engine, LIMITS, D0, D0 + timedelta(hours=8), tz=TZ)
    # Windows ending 06:00 (6 hours, mean 116.7), 07:00 (7 hours, 121.4) and 08:00 (8 hours, 125).
    assert [(e.window_start.astimezone(TZ), round(e.value, 2), e.hours) for e in result] == [
        (D0 - timedelta(hours=1), 121.43, 7), (D0, 125.0, 8),
    ]


def test_daily_limit_needs_eighteen_valid_hours_of_the_local_day(engine: Engine) -> None:
    # NO2 24h limit 100: day 1 has 20 hours at 110; day 2 only 17 hours at 130.
    readings = hours(AIR, "NO2", D0, [110.0] * 20)
    readings += hours(AIR, "NO2", D0 + timedelta(days=1), [130.0] * 17)
    # Hours of the day before (UTC date of D0) do not belong to the local day.
    readings += hours(AIR, "NO2", D0 - timedelta(hours=6), [190.0] * 6)
    store(engine, readings)
    assert found(engine, D0, D0 + timedelta(days=2)) == [("HNI-AIR-01", "NO2", "24h", D0, 110.0, 100.0)]


def test_windows_are_reported_when_they_end_in_the_range(engine: Engine) -> None:
    store(engine, hours(AIR, "NO2", D0, [110.0] * 24) + hours(AIR, "NO2", D0 + timedelta(hours=10), [300.0]))
    # The day ends at D0 + 1 day: outside (D0, D0 + 23h]; the 10:00 hour is inside.
    assert [r[2] for r in found(engine, D0, D0 + timedelta(hours=23))] == ["1h"]
    assert [r[2] for r in found(engine, D0 + timedelta(hours=11), D0 + timedelta(days=1))] == ["24h"]


def test_wastewater_against_cmax_permit_and_ph_range(engine: Engine) -> None:
    readings = hours(WW, "COD", D0, [148.0, 149.0])  # Cmax = 150 × 1.1 × 0.9 = 148.5
    readings += hours(WW, "pH", D0, [9.5, 7.0], spread=0.1)
    readings += hours(WW_PERMIT, "COD", D0, [130.0])  # permit 120 wins over 148.5
    readings += hours(WW_PERMIT, "pH", D0, [6.0], spread=0.1)  # permit range 6.5–8.5
    readings += hours(WW_PERMIT, "BOD5", D0, [49.0])  # not in the permit: national 49.5
    store(engine, readings)
    result = exceedances(engine, LIMITS, D0, D0 + timedelta(days=1), type_="wastewater", tz=TZ)
    got = [(e.station_code, e.facility_code, e.metric, round(e.value, 3), round(e.limit, 3), e.bound, e.basis, e.unit)
           for e in result]
    assert got == [
        ("HNI-WW-01", "HNI-FAC-01", "pH", 9.5, 9.0, "max", "regulation", ""),
        ("HNI-WW-02", "HNI-FAC-02", "COD", 130.0, 120.0, "max", "permit", "mg/L"),
        ("HNI-WW-02", "HNI-FAC-02", "pH", 6.0, 6.5, "min", "permit", ""),
        ("HNI-WW-01", "HNI-FAC-01", "COD", 149.0, 148.5, "max", "regulation", "mg/L"),
    ]
    assert all(e.regulation for e in result) and "45/GPMT-UBND" in result[1].regulation


def test_filters_by_type_and_province(engine: Engine) -> None:
    store(engine, hours(AIR, "NO2", D0, [250.0]) + hours(AIR_HCM, "NO2", D0, [250.0]) + hours(WW, "COD", D0, [200.0]))
    end = D0 + timedelta(days=1)
    assert {r[0] for r in found(engine, D0, end)} == {"HNI-AIR-01", "HCM-AIR-01", "HNI-WW-01"}
    assert {r[0] for r in found(engine, D0, end, type_="air")} == {"HNI-AIR-01", "HCM-AIR-01"}
    assert {r[0] for r in found(engine, D0, end, province="HNI")} == {"HNI-AIR-01", "HNI-WW-01"}
    assert found(engine, D0, end, province="DNG") == []
    with pytest.raises(ValueError):
        exceedances(engine, LIMITS, D0, end, type_="water")


def test_mg_per_m3_readings_are_converted(engine: Engine) -> None:
    readings = [Reading("HNI-AIR-01", "NO2", D0 + timedelta(minutes=m), v, "mg/m³") for m, v in ((0, 0.24), (30, 0.26))]
    store(engine, readings)
    assert found(engine, D0, D0 + timedelta(days=1)) == [("HNI-AIR-01", "NO2", "1h", D0, 250.0, 200.0)]


# --------------------------------------------------------------------------- API


def client_for(engine: Engine, tmp_path: Path, limits_file: Path | None = None):  # noqa: ANN201
    settings = load_settings(var_dir=tmp_path, database_url=str(engine.url),
                             limits_file=limits_file or ROOT / "config" / "limits.yaml")
    app = Flask(__name__)
    bp = Blueprint("api_v1", __name__, url_prefix="/api/v1")
    api.environment.register(bp)
    app.register_blueprint(bp)
    app.extensions[EXTENSION] = Services(settings, engine, [])
    return app.test_client()


def test_exceedances_api(engine: Engine, tmp_path: Path) -> None:
    store(engine, hours(AIR, "NO2", D0, [250.0]) + hours(WW, "COD", D0, [200.0]))
    client = client_for(engine, tmp_path)
    url = "/api/v1/exceedances?from=2026-03-10T00:00:00%2B07:00&to=2026-03-11T00:00:00%2B07:00"
    body = client.get(url).json
    assert body["count"] == 2 and body["from"] == "2026-03-10T00:00:00+07:00"
    ww = next(e for e in body["exceedances"] if e["type"] == "wastewater")
    assert ww == {
        "station": "HNI-WW-01", "station_name": WW.name, "type": "wastewater", "facility": "HNI-FAC-01",
        "province": "HNI", "metric": "COD", "unit": "mg/L", "period": "1h", "from": "2026-03-10T00:00:00+07:00",
        "to": "2026-03-10T01:00:00+07:00", "value": 200.0, "limit": 148.5, "ratio": round(200 / 148.5, 3),
        "bound": "max", "regulation": "QCVN 40:2011/BTNMT", "basis": "regulation", "hours": 1,
    }
    assert [e["station"] for e in client.get(url + "&type=air").json["exceedances"]] == ["HNI-AIR-01"]
    assert client.get(url + "&province=HCM").json["count"] == 0
    assert client.get("/api/v1/exceedances").json["count"] == 0  # the last 24 hours: nothing yet


@pytest.mark.parametrize(
    "query",
    ["type=water", "from=yesterday", "to=2026-13-01",
     "from=2026-01-01T00:00:00%2B07:00&to=2026-03-01T00:00:00%2B07:00",  # more than 31 days
     "from=2026-03-02T00:00:00%2B07:00&to=2026-03-01T00:00:00%2B07:00"],  # backwards
)
def test_exceedances_api_rejects_bad_input(engine: Engine, tmp_path: Path, query: str) -> None:
    response = client_for(engine, tmp_path).get(f"/api/v1/exceedances?{query}")
    assert response.status_code == 400 and response.json["error"]


def test_exceedances_api_reports_a_broken_limits_file(engine: Engine, tmp_path: Path) -> None:
    broken = tmp_path / "limits.yaml"
    broken.write_text("ambient: [", encoding="utf-8")
    response = client_for(engine, tmp_path, broken).get("/api/v1/exceedances")
    assert response.status_code == 503 and f"{broken}:1" in response.json["error"]


def test_limit_date_is_the_local_day(engine: Engine) -> None:
    # 2026-01-01 00:00–01:00 local is still 31 Dec in UTC: the 2026 limit (45) applies to that local day.
    day = datetime(2026, 1, 1, tzinfo=TZ)
    store(engine, hours(AIR, "PM2.5", day, [47.0] * 24))
    (e,) = exceedances(engine, LIMITS, day, day + timedelta(days=1), tz=TZ)
    assert (e.limit, e.window_start.date(), e.window_start.astimezone(TZ).date()) == (45.0, date(2025, 12, 31), date(2026, 1, 1))
