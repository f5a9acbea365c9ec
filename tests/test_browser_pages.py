"""The Sources, Overview and Environment pages in real headless Chromium, against the embedded app as a process."""
from __future__ import annotations

from pathlib import Path

import pytest

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
    assert completeness_bars == bars  # only air stations here: the same provinces report
    assert station_title.startswith("Trạm quan trắc không khí")
    assert any(text.startswith("PM2.5") for text in panels) and len(panels) >= 6, panels
    assert watch.console_errors == []
    assert watch.foreign_requests == []
