"""The pieces panels and pages share: KPI tiles, the alert list, the breakdown of a KPI."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from dash import html

from components.alert_list import alert_lines, severity_counts
from components.area import breakdown_rows
from components.kpi_tiles import kpi_tile
from kpis.compute import BreakdownItem, KpiValue
from queries.alerts import AlertRow

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 11, 22, 5, 0, tzinfo=timezone.utc)


def texts(component: Any) -> list[str]:
    """Every string in a Dash component tree, depth first."""
    if isinstance(component, str):
        return [component]
    if isinstance(component, (list, tuple)):
        return [s for c in component for s in texts(c)]
    children = getattr(component, "children", None)
    return texts(children) if children is not None else []


def classes(component: Any) -> list[str]:
    if isinstance(component, (list, tuple)):
        return [s for c in component for s in classes(c)]
    found = [getattr(component, "className", None) or ""]
    children = getattr(component, "children", None)
    return found + (classes(children) if children is not None and not isinstance(children, str) else [])


def kpi(**changes: Any) -> KpiValue:
    base = dict(
        code="LAND-01", name_vi="Tỷ lệ dữ liệu địa chính đã số hóa", name_en="Cadastral data digitised", area="land",
        unit="%", owner="Cục Đăng ký", headline=True, direction="higher_is_better", method="mean", period="day",
        window="last_complete", period_start=NOW - timedelta(days=1), period_end=NOW, value=75.94, status="amber",
        target=100.0, thresholds=(90.0, 60.0), previous=70.0, change=5.94, trend="up", improving=True,
        as_of=NOW - timedelta(hours=5), total=None, breakdown_by="province",
        breakdown=[BreakdownItem("HNI", "Hà Nội", 99.0, "green"), BreakdownItem("LCI", "Lào Cai", 47.4, "red"),
                   BreakdownItem("HUE", "Huế", None, "nodata"), BreakdownItem("DNG", "Đà Nẵng", 61.0, "amber")],
    )
    return KpiValue(**{**base, **changes})


def test_a_kpi_tile_says_value_unit_status_trend_target_and_time_in_vietnamese() -> None:
    words = texts(kpi_tile(kpi(), "vi", TZ))
    assert "Tỷ lệ dữ liệu địa chính đã số hóa" in words
    assert "75,9" in words and "%" in words  # vi-VN decimal comma
    assert "Cần chú ý" in words  # amber, in words beside the colour
    assert "↑ +5,9 so với kỳ trước" in words
    assert "mục tiêu 100 · dữ liệu lúc 07:00 22/11" in words  # local time of the data


def test_a_worsening_kpi_and_one_without_data() -> None:
    worse = kpi_tile(kpi(value=58.0, status="red", change=-12.0, trend="down", improving=False), "en", TZ)
    assert "↓ -12 vs previous period" in texts(worse) and "Off track" in texts(worse)
    assert "kpi-trend kpi-trend-worse" in classes(worse)
    empty = kpi_tile(kpi(value=None, status="nodata", change=None, trend=None, previous=None), "vi", TZ)
    assert "Chưa có số liệu" in texts(empty) and "%" not in texts(empty)


def test_breakdown_lists_worst_status_first_with_values_in_words() -> None:
    rows = breakdown_rows(kpi(), "vi")
    assert [r["code"] for r in rows] == ["LCI", "DNG", "HNI", "HUE"]
    assert rows[0]["value_text"] == "47,4 %" and rows[0]["status_text"] == "Không đạt"
    assert rows[-1]["value_text"] == "—"


def alert(i: int, severity: str, started: datetime, state: str = "firing") -> AlertRow:
    return AlertRow(i, "rule", "station", f"S{i}", f"Trạm {i}", severity, state, started, started, None, 1.0, 0.5,
                    f"giá trị {i}", None, None, None, None)


def test_alert_list_pads_to_its_size_and_flashes_only_new_critical_alerts() -> None:
    rows = [alert(1, "critical", NOW - timedelta(seconds=10)), alert(2, "critical", NOW - timedelta(minutes=5)),
            alert(3, "major", NOW - timedelta(seconds=5), state="acknowledged")]
    listing = alert_lines(rows, "vi", TZ, NOW, size=5, new_within=timedelta(seconds=30))
    lines = listing.children
    assert len(lines) == 5
    assert "is-new" in lines[0].className  # critical, began in the last refresh
    assert "is-new" not in lines[1].className  # critical but older
    assert "is-new" not in lines[2].className and "state-acknowledged" in lines[2].className
    assert "✓ 11:59 22/11" in texts(lines[2])  # started 5 s before 12:00 local
    assert [line.className for line in lines[3:]] == ["alert-line is-blank"] * 2
    empty = alert_lines([], "en", TZ, NOW, size=3, new_within=timedelta(seconds=30))
    assert texts(empty.children[0]) == ["No open alerts."]


def test_severity_counts_dim_the_zeros() -> None:
    counts = severity_counts({"critical": 0, "major": 3, "minor": 1, "info": 0}, "vi")
    assert [c.className for c in counts.children] == [
        "alert-count severity-critical is-zero", "alert-count severity-major", "alert-count severity-minor",
        "alert-count severity-info is-zero"]
    assert isinstance(counts.children[1].children[0], html.B) and counts.children[1].children[0].children == "3"


def test_the_warnings_panel_lists_warnings_in_force_by_level_with_their_provinces(tmp_path) -> None:  # noqa: ANN001
    from app import create_app
    from components.panels import PanelContext, panel_kind
    from data_sources.base import Batch, Entity, Reading
    from ingest import store_batch
    from settings import load_settings
    from store.engine import make_engine
    from store.migrate import upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'opscentre.db'}")
    upgrade(engine)
    now = datetime.now(timezone.utc)  # the panel reads the store at the real time
    sent = now - timedelta(hours=2)

    def warning(code: str, headline: str, level: int, provinces: list[str], expires: datetime) -> tuple:
        meta = {"severity": "Severe", "expires": expires.isoformat(), "sent": sent.isoformat(),
                "areas": [{"areaDesc": p, "province_code": p} for p in provinces]}
        entity = Entity(code, "cap_warning", headline, province_code=provinces[0], meta=meta)
        return entity, [Reading(code, "active", sent, 1.0, ""), Reading(code, "level", sent, float(level), "")]

    storm = warning("CAP-STORM", "Bão số 3 trên Biển Đông", 4, ["QNH", "HPG"], now + timedelta(days=1))
    rain = warning("CAP-RAIN", "Mưa lớn diện rộng", 2, ["LCI"], now + timedelta(hours=6))
    old = warning("CAP-OLD", "Nắng nóng", 3, ["HNI"], now - timedelta(minutes=1))  # expired already
    with engine.begin() as conn:
        store_batch(conn, None, Batch(entities=[storm[0], rain[0], old[0]], readings=storm[1] + rain[1] + old[1]),
                    now=now)
    app = create_app(load_settings(var_dir=tmp_path, cache_seconds=0), specs=[])
    with app.server.app_context():
        ctx = PanelContext(lang="vi", tz=TZ, now=now, screen_height=1080, panel_height=400)
        kind = panel_kind("warnings")
        data = kind.data(kind.Options(rows=4), ctx)
    table = data.values[0]
    rows = table.children[1].children
    cells = [[td.children for td in row.children] for row in rows[:2]]
    assert cells[0][:3] == ["Cực kỳ nghiêm trọng", "Bão số 3 trên Biển Đông", "Quảng Ninh, Hải Phòng"]
    assert cells[1][:3] == ["Trung bình", "Mưa lớn diện rộng", "Lào Cai"]
    assert rows[2].className == "row-blank"  # the expired heat warning is gone


def test_the_sources_panel_sends_when_the_data_came_and_not_how_long_ago(tmp_path) -> None:  # noqa: ANN001
    """The browser writes the ages and keeps them counting (assets/wall.js), even with the server away:
    the panel's value changes with new data, not with every minute, and costs a wall nothing meanwhile."""
    from app import create_app
    from components.panels import PanelContext, panel_kind, signature
    from polling import poll_source, sync_sources
    from settings import load_settings
    from store.engine import make_engine
    from store.migrate import upgrade
    from tests.support import scripted_specs

    engine = make_engine(f"sqlite:///{tmp_path / 'opscentre.db'}")
    upgrade(engine)
    specs = scripted_specs(tmp_path, "name: feed\nevery: 1m")
    sync_sources(engine, specs)
    polled = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=3)
    poll_source(engine, specs[0], now=polled)
    app = create_app(load_settings(var_dir=tmp_path, cache_seconds=0, database_url=str(engine.url)), specs=specs)
    kind = panel_kind("sources")
    with app.server.app_context():
        values = [kind.data(kind.Options(), PanelContext(lang="vi", tz=TZ, now=polled + timedelta(minutes=m),
                                                         screen_height=1080, panel_height=400)).values
                  for m in (3, 5)]
    assert signature(values[0]) == signature(values[1])  # two minutes later: nothing to send
    (line,) = values[0][0][1].children
    age = line.children[2]
    assert (age.className, age.to_plotly_json()["props"]["data-since"]) == ("source-age", str(int(polled.timestamp())))
    assert line.children[1].children == "feed"
