"""Grouping exceedances by facility for the Environment page."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from queries.exceedances import Exceedance, by_site

T0 = datetime(2026, 11, 22, tzinfo=timezone.utc)


def exceedance(station: str, facility: str | None, metric: str, ratio: float, hours_ago: int, bound: str = "max") -> Exceedance:
    end = T0 - timedelta(hours=hours_ago)
    return Exceedance(
        station_code=station, station_name=f"Trạm {station}", type="wastewater" if facility else "air",
        facility_code=facility, province_code="HNI", metric=metric, unit="mg/L", period="1h",
        window_start=end - timedelta(hours=1), window_end=end, value=ratio * 10, limit=10.0, ratio=ratio,
        bound=bound, regulation="QCVN 40:2011/BTNMT", basis="permit" if facility else "regulation", hours=1,
    )


def test_outfalls_of_one_facility_are_one_row_worst_first() -> None:
    found = [
        exceedance("WW-1", "FAC-1", "COD", 1.2, 5),
        exceedance("WW-2", "FAC-1", "TSS", 2.5, 1),
        exceedance("AIR-1", None, "PM2.5", 1.4, 3),
        exceedance("WW-3", "FAC-2", "pH", 0.8, 2, bound="min"),  # pH 8 % under its minimum: 1.25× by severity
    ]
    sites = by_site(found, {"FAC-1": "KCN Thăng Long"})
    assert [s.code for s in sites] == ["FAC-1", "AIR-1", "FAC-2"]
    first = sites[0]
    assert (first.name, first.count, first.metrics, first.worst_ratio) == ("KCN Thăng Long", 2, ("COD", "TSS"), 2.5)
    assert first.last_window_end == T0 - timedelta(hours=1)
    assert sites[1].name == "Trạm AIR-1" and sites[1].basis == "regulation"
    assert sites[2].worst_ratio == 1.25
    assert sites[2].name == "Trạm WW-3"  # no facility name known: the station's
