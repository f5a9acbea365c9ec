"""The Sources, Overview and Environment pages in real headless Chromium, against the embedded app as a process."""
from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from components.area import AREA_PATHS
from reference.provinces import all_provinces
from tests.browser import PageWatch, chromium, running_app, screenshot
from tests.servers import free_port

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_pages_show_sources_and_air_quality(tmp_path: Path) -> None:
    dead_port = free_port()  # nothing listens here: the source fails to connect
    sources = f"""
sources:
  - name: demo-land
    kind: demo
    every: 1h
    options: {{feed: land}}
  - name: demo-links
    kind: demo
    every: 1m
    options: {{feed: hydromet_links}}
  - name: demo-air
    kind: demo
    every: 5m
    options: {{feed: air}}
  - name: partner-api
    kind: http_json
    every: 1m
    timeout: 5
    options:
      url: http://127.0.0.1:{dead_port}/readings
      retries: 0
      records: items
      entity: code
      time: t
      series: {{PM2.5: v}}
"""
    env = {"DEMO_BACKFILL_DAYS": "0.6", "PAGE_REFRESH_SECONDS": "1", "CACHE_SECONDS": "1"}
    with running_app(tmp_path, sources, **env) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 1600, "height": 900})
        watch = PageWatch(page)
        page.goto(base + "/sources")
        row = page.locator(".ag-row[row-id='partner-api'] .status-cell")
        row.filter(has_text="Lỗi").wait_for(timeout=30_000)
        for name in ("demo-land", "demo-links", "demo-air"):
            page.locator(f".ag-row[row-id='{name}'] .status-cell").filter(has_text="Bình thường").wait_for(timeout=30_000)
        error_cell = page.locator(".ag-row[row-id='partner-api'] [col-id='error']")
        assert "cannot connect" in error_cell.inner_text()
        summary = page.locator("#sources-summary").inner_text()
        assert "Suy giảm" in summary  # one failing source degrades the system
        assert "3 bình thường" in summary and "1 lỗi" in summary
        shot = screenshot(page, "sources")
        page.goto(base + "/")
        page.locator(".tile-failing").wait_for(timeout=30_000)
        screenshot(page, "overview")
        page.goto(base + "/environment")
        page.locator("#aqi-worst .ag-row").nth(9).wait_for(timeout=30_000)
        page.locator("#aqi-provinces .bars .point").first.wait_for(timeout=30_000)
        aqi_values = [int(v) for v in page.locator("#aqi-worst .ag-row [col-id='aqi']").all_inner_texts()]
        bars = page.locator("#aqi-provinces .bars .point").count()
        page.locator("#completeness .bars .point").first.wait_for(timeout=30_000)
        completeness_bars = page.locator("#completeness .bars .point").count()
        screenshot(page, "environment")
        page.locator("#aqi-stations .scatterlayer .trace .point").first.wait_for(timeout=30_000)
        station_points = page.locator("#aqi-stations .scatterlayer .trace .point").count()
        with_aqi = sum(1 for s in httpx.get(base + "/api/v1/stations?type=air", timeout=30).json()["stations"]
                       if s["aqi"] is not None and s["lat"] is not None)
        # Drill down to the worst station's province by URL: every panel narrows to it.
        worst_province = page.locator("#aqi-worst .ag-row [col-id='province']").first.inner_text()
        code = next(p.code for p in all_provinces() if p.name == worst_province)
        page.goto(f"{base}/environment?province={code}")
        page.locator("#completeness-title", has_text=worst_province).wait_for(timeout=30_000)
        page.wait_for_function("n => document.querySelectorAll('#aqi-worst .ag-row').length < n", arg=10, timeout=30_000)
        province_rows = set(page.locator("#aqi-worst .ag-row [col-id='province']").all_inner_texts())
        screenshot(page, "environment-province")
        page.goto(base + "/environment")
        page.locator("#aqi-worst .ag-row").nth(9).wait_for(timeout=30_000)
        # Drill down: the worst station's own page, with a trend panel per parameter.
        page.locator("#aqi-worst .ag-row a").first.click()
        page.wait_for_url("**/station/*", timeout=30_000)
        page.locator("#station-trend .scatterlayer .trace").first.wait_for(timeout=30_000)
        station_title = page.locator("h1.page-title").inner_text()
        panels = page.locator("#station-trend .annotation-text").all_text_contents()  # SVG text: no innerText
        screenshot(page, "station")
    assert shot.stat().st_size > 10_000
    assert len(aqi_values) == 10 and aqi_values == sorted(aqi_values, reverse=True)
    assert all(0 <= v <= 500 for v in aqi_values)
    assert bars >= 20  # most of the 34 provinces have an air station
    # Only air stations here: every province with an AQI now reports; a station's outage
    # (the demo feeds simulate some) can leave a province without a current AQI, not without a day.
    assert bars <= completeness_bars <= 34
    # Every air station with an AQI now on the offline map (a demo outage may leave one without).
    assert station_points == with_aqi >= 75
    assert province_rows == {worst_province}
    assert station_title.startswith("Trạm quan trắc không khí")
    assert any(text.startswith("PM2.5") for text in panels) and len(panels) >= 6, panels
    assert watch.console_errors == []
    assert watch.foreign_requests == []


def test_area_pages_drill_a_kpi_down_by_province_and_the_overview_shows_headlines(tmp_path: Path) -> None:
    sources = """
sources:
  - {name: demo-land, kind: demo, every: 1h, options: {feed: land}}
  - {name: demo-public-services, kind: demo, every: 15m, options: {feed: public_services}}
  - {name: demo-links, kind: demo, every: 1m, options: {feed: hydromet_links}}
"""
    with running_app(tmp_path, sources, DEMO_BACKFILL_DAYS="2", CACHE_SECONDS="1") as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 1600, "height": 900})
        watch = PageWatch(page)
        page.goto(base + "/land")
        page.locator("#land-kpis .kpi-tile").nth(6).wait_for(timeout=60_000)
        page.locator("#land-breakdown .ag-row").nth(19).wait_for(timeout=30_000)
        tiles = page.locator("#land-kpis .kpi-name").all_inner_texts()
        first_title = page.locator("#land-detail-title").inner_text()
        pager = page.locator("#land-breakdown .ag-paging-row-summary-panel").inner_text()
        # The map draws after the grid: wait for its values rather than read a half-drawn map.
        page.wait_for_function(
            "() => [...document.querySelectorAll('#land-map .annotation-text')]"
            ".filter(e => /^\\s*\\d+\\s*$/.test(e.textContent)).length >= 30", timeout=30_000)
        tile_values = page.locator("#land-map .annotation-text").all_text_contents()
        screenshot(page, "land")
        # A tile is a link that picks its KPI for the drill-down; the URL keeps the choice.
        page.locator("#land-kpis a.kpi-name").nth(1).click()
        page.wait_for_url("**/land?kpi=*", timeout=30_000)
        page.locator("#land-detail-title", has_text=tiles[1]).wait_for(timeout=30_000)
        picked = page.url
        # Every area page loads and draws its tiles (no data yet is said, not an error).
        drawn = {}
        for area, path in AREA_PATHS.items():
            page.goto(base + path)
            page.locator(f"#{area}-kpis .kpi-tile").first.wait_for(timeout=30_000)
            drawn[area] = page.locator(f"#{area}-kpis .kpi-tile").count()
            screenshot(page, f"area-{area}")
        page.goto(base + "/")
        page.locator("#overview-kpis .kpi-tile").first.wait_for(timeout=30_000)
        headline = page.locator("#overview-kpis .kpi-name").all_inner_texts()
        counts = page.locator("#overview-alerts .alert-count").all_inner_texts()
        screenshot(page, "overview-kpis")
    assert len(tiles) >= 7 and tiles[0].startswith("Tỷ lệ dữ liệu địa chính")
    assert first_title.startswith(tiles[0]) and "theo tỉnh, thành phố" in first_title
    assert pager.replace(" ", "").endswith("/34")  # every province in the breakdown
    assert sum(1 for v in tile_values if v.strip().isdigit()) >= 30  # provinces with a value on the map
    assert picked.endswith("kpi=LAND-02")
    assert all(n >= 2 for n in drawn.values()), drawn
    assert any("địa chính" in h for h in headline) and any("hồ sơ" in h for h in headline)
    assert [c.split(" ", 1)[1] for c in counts] == ["Nghiêm trọng", "Cao", "Thấp", "Thông tin"]
    assert watch.console_errors == []
    assert watch.foreign_requests == []
