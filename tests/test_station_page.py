"""The station page's pieces: limit lines for a station's chart, and the trend figure."""
from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pandas as pd

from components.station_chart import _spans, trend_figure
from limits import limit_lines, load_limits
from settings import ROOT

LIMITS = load_limits(ROOT / "config" / "limits.yaml")
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
H = 1_795_305_600  # an hour start


def test_air_limits_are_the_averaging_periods_in_the_series_unit() -> None:
    lines = limit_lines(LIMITS, "air", {}, "PM2.5", "µg/m³", date(2026, 11, 22))
    assert [(line.period, line.value) for line in lines] == [("24h", 45.0)]
    co = limit_lines(LIMITS, "air", {}, "CO", "mg/m³", date(2026, 11, 22))
    assert sorted((line.period, line.value) for line in co) == [("1h", 30.0), ("8h", 10.0)]


def test_wastewater_limits_follow_the_permit_and_ph_has_two_bounds() -> None:
    meta = {"regulation": "QCVN 40:2011/BTNMT", "column": "B", "kq": 1.1, "kf": 0.9,
            "limits": {"COD": 148.5, "pH_min": 5.5, "pH_max": 9.0}}
    assert [line.value for line in limit_lines(LIMITS, "wastewater", meta, "COD", "mg/L", date(2026, 11, 22))] == [148.5]
    assert [line.value for line in limit_lines(LIMITS, "wastewater", meta, "pH", "", date(2026, 11, 22))] == [5.5, 9.0]


def test_calibration_hours_are_merged_into_shaded_spans() -> None:
    assert _spans([H, H + 3600, H + 7200, H + 5 * 3600]) == [(H, H + 3 * 3600), (H + 5 * 3600, H + 6 * 3600)]
    hourly = pd.DataFrame(
        [("PM2.5", "µg/m³", H + i * 3600, 20.0 + i, 18.0, 25.0, 12, 12 if i not in (2, 3) else 8) for i in range(6)],
        columns=["metric", "unit", "hour_ts", "mean", "min", "max", "n_all", "n_valid"],
    )
    lines = {"PM2.5": limit_lines(LIMITS, "air", {}, "PM2.5", "µg/m³", date(2026, 11, 22))}
    figure = trend_figure(hourly, lines, TZ, "hiệu chuẩn")
    shaded = [s for s in figure.layout.shapes if s.type == "rect"]
    assert len(shaded) == 1
    assert shaded[0].x0 == datetime.fromtimestamp(H + 2 * 3600, timezone.utc).astimezone(TZ).replace(tzinfo=None)
    assert [s.y0 for s in figure.layout.shapes if s.type == "line"] == [45.0]
    assert list(figure.data[2].y) == [20.0 + i for i in range(6)]
