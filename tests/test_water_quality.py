"""VN_WQI of surface-water stations from hourly roll-ups, and the stations API's indices."""
from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from app import create_app
from data_sources.base import Batch, Entity, Reading
from indicators.aqi import hourly_aqi
from indicators.wqi import DEFAULT_LABELS, wqi
from ingest import store_batch
from queries.water_quality import current_station_wqi, station_wqi_day
from settings import load_settings

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 11, 22, 9, 30, tzinfo=TZ)
THIS_HOUR = NOW.replace(minute=0)
UNITS = {"pH": "", "Temp": "°C", "Coliform": "MPN/100 mL", "Turbidity": "NTU"}
BASE = {"pH": 7.2, "DO": 6.0, "Temp": 28.0, "BOD5": 5.0, "COD": 14.0, "TOC": 5.0, "N-NH4": 0.4, "N-NO3": 3.0,
        "N-NO2": 0.03, "P-PO4": 0.15, "Coliform": 4000.0, "Turbidity": 20.0, "TSS": 30.0}


def station(code: str, province: str = "HNI") -> Entity:
    return Entity(code, "station", f"Trạm {code}", subtype="surface_water", province_code=province, lat=21.0,
                  lon=105.8, meta={"interval_seconds": 900})


def value(metric: str, hour: int, quarter: int) -> float:
    """Varies by hour and quarter, so the means are not trivial."""
    return BASE[metric] * (1 + 0.08 * ((hour % 5) - 2) + 0.01 * quarter)


def readings_for(code: str, metrics: list[str], end: datetime, hours: range,
                 fn: Callable[[str, int, int], float] = value,
                 quality: Callable[[int, int], int] = lambda h, q: 0) -> list[Reading]:
    """Every 15 min for hours ``hours`` relative to the hour of ``end`` (0 = that hour), up to ``end``."""
    start = end.replace(minute=0, second=0, microsecond=0)
    out = []
    for h in hours:
        for q in range(4):
            ts = start + timedelta(hours=h, minutes=15 * q)
            if ts > end:
                continue
            out += [Reading(code, m, ts, fn(m, h, q), UNITS.get(m, "mg/L"), quality(h, q)) for m in metrics]
    return out


def mean_of_hourly_means(readings: list[Reading], start: datetime, end: datetime) -> dict[str, float]:
    """The 24-hour "sample", computed here from the raw readings without the store."""
    by_hour: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in readings:
        if r.quality == 0 and start <= r.ts < end:
            by_hour[r.metric][int(r.ts.timestamp()) // 3600].append(r.value)
    return {m: statistics.fmean(statistics.fmean(v) for v in hours.values()) for m, hours in by_hour.items()}


def store(engine: Engine, entities: list[Entity], readings: list[Reading], now: datetime = NOW) -> None:
    with engine.begin() as conn:
        store_batch(conn, None, Batch(entities=entities, readings=readings), now=now)


WINDOW_START = THIS_HOUR - timedelta(hours=23)


def test_current_wqi_is_the_index_of_the_24_hour_means(engine: Engine) -> None:
    good = readings_for("HNI-SW-01", list(BASE), NOW, range(-23, 1))
    # Older than the window, and terrible: must not count.
    old = readings_for("HNI-SW-01", list(BASE), NOW, range(-30, -23), fn=lambda m, h, q: BASE[m] * 20)
    store(engine, [station("HNI-SW-01")], good + old)

    means = mean_of_hourly_means(good + old, WINDOW_START, NOW + timedelta(hours=1))
    expected = wqi({m: v for m, v in means.items() if m != "Temp"}, temperature=means["Temp"])
    assert expected.wqi is not None and expected.formula == "with_v"

    (found,) = current_station_wqi(engine, NOW)
    assert found.code == "HNI-SW-01" and found.province_code == "HNI"
    assert found.wqi == expected.wqi
    assert found.value == pytest.approx(expected.value, rel=1e-12)
    assert found.band == expected.band and found.colour == expected.colour
    assert found.label == DEFAULT_LABELS[expected.band]["vi"] and found.labels == DEFAULT_LABELS[expected.band]
    assert found.reason is None and found.hours == 24
    assert found.parameters["BOD5"] == pytest.approx(means["BOD5"])
    assert "TSS" not in found.parameters  # not a VN_WQI parameter
    assert found.window_start == WINDOW_START and found.window_end == NOW
    assert current_station_wqi(engine, NOW, lang="en")[0].label == DEFAULT_LABELS[expected.band]["en"]


def test_calibration_readings_are_left_out_of_the_means(engine: Engine) -> None:
    def calibrating(h: int, q: int) -> int:
        return 1 if h == -5 or q == 2 else 0  # one whole hour and every third quarter

    def fn(metric: str, h: int, q: int) -> float:
        # Calibration solution values: far off the river's (the thermometer is not calibrated).
        return BASE[metric] * (15 if calibrating(h, q) and metric != "Temp" else 1) + 0.01 * h

    readings = readings_for("HNI-SW-02", list(BASE), NOW, range(-23, 1), fn=fn, quality=calibrating)
    store(engine, [station("HNI-SW-02")], readings)

    means = mean_of_hourly_means(readings, WINDOW_START, NOW + timedelta(hours=1))
    expected = wqi({m: v for m, v in means.items() if m != "Temp"}, temperature=means["Temp"])
    everything = {m: statistics.fmean(r.value for r in readings if r.metric == m) for m in BASE}
    polluted = wqi({m: v for m, v in everything.items() if m != "Temp"}, temperature=everything["Temp"])
    assert polluted.wqi != expected.wqi  # the test would notice calibration values leaking in

    (found,) = current_station_wqi(engine, NOW)
    assert found.wqi == expected.wqi
    assert found.hours == 23  # the calibration hour has no valid mean
    assert found.parameters["COD"] == pytest.approx(means["COD"])


def test_stations_without_group_iv_or_without_data_have_a_reason(engine: Engine) -> None:
    no_iv = readings_for("HNI-SW-03", ["pH", "Temp", "Coliform", "Turbidity", "TSS"], NOW, range(-3, 1))
    silent = readings_for("HNI-SW-04", list(BASE), NOW, range(-60, -40))
    elsewhere = readings_for("HCM-SW-01", list(BASE), NOW, range(-3, 1))
    store(engine, [station("HNI-SW-03"), station("HNI-SW-04"), station("HCM-SW-01", "HCM")],
          no_iv + silent + elsewhere)

    found = {s.code: s for s in current_station_wqi(engine, NOW, province="HNI")}
    assert set(found) == {"HNI-SW-03", "HNI-SW-04"}
    assert found["HNI-SW-03"].wqi is None and found["HNI-SW-03"].band is None
    assert found["HNI-SW-03"].reason_code == "group_iv_missing" and "group IV" in found["HNI-SW-03"].reason
    assert found["HNI-SW-04"].wqi is None and found["HNI-SW-04"].reason_code == "no_data"
    assert found["HNI-SW-04"].reason


def test_wqi_of_a_local_day(engine: Engine) -> None:
    day_end = datetime(2026, 11, 20, 23, 45, tzinfo=TZ)
    # The day (hours 0..23 local) plus the evening before, which must not count.
    readings = readings_for("HNI-SW-01", list(BASE), day_end, range(-30, 1))
    store(engine, [station("HNI-SW-01")], readings)
    start = datetime(2026, 11, 20, tzinfo=TZ)
    means = mean_of_hourly_means(readings, start, start + timedelta(days=1))
    expected = wqi({m: v for m, v in means.items() if m != "Temp"}, temperature=means["Temp"])

    found = station_wqi_day(engine, "HNI-SW-01", date(2026, 11, 20), TZ)
    assert found is not None and found.wqi == expected.wqi and found.hours == 24
    assert station_wqi_day(engine, "HNI-SW-01", date(2026, 10, 1), TZ).reason_code == "no_data"
    assert station_wqi_day(engine, "NOPE", date(2026, 11, 20), TZ) is None


# --------------------------------------------------------------------------- API


@pytest.fixture
def client(engine: Engine, tmp_path: Path):  # noqa: ANN201
    now = datetime.now(timezone.utc).replace(microsecond=0)
    constant = lambda m, h, q: BASE[m]  # noqa: E731 — any 24-hour window has these means
    air = Entity("HNI-AIR-01", "station", "Trạm không khí", subtype="air", province_code="HNI")
    readings = readings_for("HNI-SW-01", list(BASE), now, range(-26, 1), fn=constant)
    readings += readings_for("HNI-SW-02", ["pH", "Temp", "Coliform"], now, range(-3, 1), fn=constant)
    readings += readings_for("HNI-AIR-01", ["PM2.5"], now, range(-13, 1), fn=lambda m, h, q: 30.0)
    # A fixed past day for /wqi.
    readings += readings_for("HNI-SW-01", list(BASE), datetime(2026, 11, 20, 23, 45, tzinfo=TZ), range(-23, 1))
    store(engine, [air, station("HNI-SW-01"), station("HNI-SW-02"),
                   Entity("HNI-WW-01", "station", "Cửa xả", subtype="wastewater", province_code="HNI")],
          readings, now=now)
    return create_app(load_settings(var_dir=tmp_path, database_url=str(engine.url)), []).server.test_client()


def test_station_list_carries_aqi_for_air_and_wqi_for_water(client) -> None:  # noqa: ANN001
    stations = {s["code"]: s for s in client.get("/api/v1/stations").json["stations"]}
    expected_wqi = wqi({m: v for m, v in BASE.items() if m != "Temp"}, temperature=BASE["Temp"])
    assert stations["HNI-SW-01"]["wqi"] == {"value": expected_wqi.wqi, "band": expected_wqi.band,
                                            "colour": expected_wqi.colour, "label": expected_wqi.label("vi")}
    assert stations["HNI-SW-01"]["wqi_reason"] is None
    assert stations["HNI-SW-02"]["wqi"] is None and "group IV" in stations["HNI-SW-02"]["wqi_reason"]
    assert "aqi" not in stations["HNI-SW-01"]

    aqi = stations["HNI-AIR-01"]["aqi"]
    expected_aqi = hourly_aqi(pm25_hours=[30.0] * 12)
    assert aqi["value"] == expected_aqi.aqi and aqi["category"] == expected_aqi.category
    assert aqi["colour"] == expected_aqi.colour and aqi["dominant"] == "pm25"
    assert aqi["hour"].endswith("+07:00")
    assert "wqi" not in stations["HNI-AIR-01"]
    assert "aqi" not in stations["HNI-WW-01"] and "wqi" not in stations["HNI-WW-01"]

    air_only = client.get("/api/v1/stations?type=air").json["stations"]
    assert [s["code"] for s in air_only] == ["HNI-AIR-01"] and air_only[0]["aqi"]["value"] == expected_aqi.aqi
    water = client.get("/api/v1/stations?type=water&province=HNI").json["stations"]
    assert [s["wqi"] and s["wqi"]["value"] for s in water] == [expected_wqi.wqi, None]


def test_station_list_skips_index_queries_the_filter_excludes(client, monkeypatch) -> None:  # noqa: ANN001
    import api.stations as module

    def boom(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("index query not needed for this filter")

    monkeypatch.setattr(module, "current_station_wqi", boom)
    assert client.get("/api/v1/stations?type=air").status_code == 200
    monkeypatch.undo()
    monkeypatch.setattr(module, "current_station_aqi", boom)
    assert client.get("/api/v1/stations?type=water").status_code == 200
    monkeypatch.setattr(module, "current_station_wqi", boom)
    assert client.get("/api/v1/stations?type=wastewater").status_code == 200


def test_wqi_endpoint(client) -> None:  # noqa: ANN001
    response = client.get("/api/v1/stations/HNI-SW-01/wqi?date=2026-11-20")
    assert response.status_code == 200
    body = response.json
    readings = readings_for("HNI-SW-01", list(BASE), datetime(2026, 11, 20, 23, 45, tzinfo=TZ), range(-23, 1))
    means = mean_of_hourly_means(readings, datetime(2026, 11, 20, tzinfo=TZ), datetime(2026, 11, 21, tzinfo=TZ))
    expected = wqi({m: v for m, v in means.items() if m != "Temp"}, temperature=means["Temp"])
    assert body["station"] == "HNI-SW-01" and body["date"] == "2026-11-20"
    assert body["wqi"] == expected.wqi and body["band"] == expected.band and body["colour"] == expected.colour
    assert body["label"] == expected.label("vi") and body["hours"] == 24
    assert body["from"] == "2026-11-20T00:00:00+07:00" and body["to"] == "2026-11-21T00:00:00+07:00"
    empty = client.get("/api/v1/stations/HNI-SW-01/wqi?date=2026-10-01").json
    assert empty["wqi"] is None and empty["reason_code"] == "no_data"
    assert client.get("/api/v1/stations/HNI-SW-01/wqi?date=20-11-2026").status_code == 400
    assert client.get("/api/v1/stations/NOPE/wqi?date=2026-11-20").status_code == 404


def test_an_absurd_temperature_drops_do_instead_of_failing(engine: Engine) -> None:
    # DOsat's polynomial is negative above ~65 °C; a broken thermometer must not break the list.
    readings = readings_for("HNI-SW-05", list(BASE), NOW, range(-2, 1),
                            fn=lambda m, h, q: 420.0 if m == "Temp" else BASE[m])
    store(engine, [station("HNI-SW-05")], readings)
    (found,) = current_station_wqi(engine, NOW)
    assert "do" not in found.sub_indices and "do (temperature outside the DO saturation formula)" in found.ignored
    assert found.wqi == wqi({m: v for m, v in BASE.items() if m not in ("Temp", "DO")}).wqi
