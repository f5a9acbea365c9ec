"""An alert from end to end, in real headless Chromium against the embedded app as a process:
a demo station's H2S goes over its limit (a station file dropped in a watched folder) →
the alert appears on the wall, flashing once and sounding one tone → acknowledged through
the API → shown acknowledged → the value returns → resolved and gone from the wall."""
from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.browser import CHROMIUM, CHROMIUM_ARGS, AppProcess, PageWatch, screenshot, signed_in_client

pytestmark = [pytest.mark.browser, pytest.mark.slow]
TZ = ZoneInfo("Asia/Ho_Chi_Minh")

# QCVN 06:2009 gives H2S 42 µg/m³ over one hour; the demo air feed never measures H2S, so the
# dropped files alone steer it.
ALERTS = """
rules:
  - id: h2s-over-limit
    name: {vi: "H2S vượt ngưỡng 1 giờ (QCVN 06)", en: "H2S above the 1-hour limit (QCVN 06)"}
    kind: threshold
    severity: critical
    scope: station
    subtype: air
    metric: H2S
    operator: ">"
    value: 42
    for: 1m
    clear_at: 30
"""

WALLS = """walls:
  alerts:
    title: Trực ban cảnh báo
    refresh: 10s
    rotate: 60s
    pages:
      - title: Cảnh báo
        grid: {columns: 3, rows: 2}
        panels:
          - {show: alerts, row: 1, column: 1, column_span: 2, row_span: 2, options: {rows: 6, sound: true}}
          - {show: sources, row: 1, column: 3, row_span: 2}
"""

# Counts the browser's own work: Element.animate() per alert id (the flash) and every
# AudioScheduledSourceNode.start() (the tone), before any script of the page runs.
INSTRUMENT = """
window.__flashes = {};
const animate = Element.prototype.animate;
Element.prototype.animate = function (keyframes, options) {
  const id = this.dataset && this.dataset.alertId;
  if (id) window.__flashes[id] = (window.__flashes[id] || 0) + 1;
  return animate.call(this, keyframes, options);
};
window.__tones = [];
const start = AudioScheduledSourceNode.prototype.start;
AudioScheduledSourceNode.prototype.start = function (...args) {
  window.__tones.push(this.context.state);
  return start.apply(this, args);
};
"""

LINE = ".alert-line[data-alert-id='{}']"


def _h2s_file(folder: Path, code: str, values: list[float], now: datetime) -> None:
    """H2S readings one minute apart ending now, for the station ``code`` (e.g. HNI-AIR-01)."""
    province, station = code.split("-", 1)
    stamps = [now - timedelta(minutes=len(values) - 1 - i) for i in range(len(values))]
    lines = [f"H2S\t{v}\tµg/m³\t{s:%Y%m%d%H%M%S}\t00" for v, s in zip(values, stamps)]
    (folder / f"{province}_TEST_{station}_{now:%Y%m%d%H%M%S}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


@contextmanager
def kiosk_browser() -> Iterator[object]:
    """Chromium as on a wall: sound may start without anyone touching the screen."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM,
                                    args=[*CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required"])
        try:
            yield browser
        finally:
            browser.close()


def _open_alerts(base: str, state: str = "open") -> list[dict]:
    return httpx.get(f"{base}/api/v1/alerts?state={state}", timeout=10).json()["alerts"]


def _wait_for_alert(base: str, code: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [a for a in _open_alerts(base) if a["subject"]["code"] == code]
        if found:
            return found[0]
        time.sleep(0.5)
    raise AssertionError(f"no open alert for {code} within {timeout} s")


def _next_alerts_refresh(page) -> None:  # noqa: ANN001
    """Wait until the wall's alerts refresh has answered once more."""
    with page.expect_response(lambda r: "_dash-update-component" in r.url and '"kind":"alerts"' in
                              (r.request.post_data or "").replace(" ", ""), timeout=30_000):
        pass


def test_an_alert_from_exceedance_to_acknowledged_to_resolved_on_the_wall(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    sources = f"""
sources:
  - {{name: demo-air, kind: demo, every: 5m, options: {{feed: air, stations: 8}}}}
  - name: stations
    kind: station_files
    every: 5s
    options: {{folder: '{drop}', settle_seconds: 0, station_code: '{{province}}-{{station}}'}}
"""
    alerts_file = tmp_path / "alerts.yaml"
    alerts_file.write_text(ALERTS, encoding="utf-8")
    walls = tmp_path / "walls.yaml"
    walls.write_text(WALLS, encoding="utf-8")
    app = AppProcess(tmp_path, sources, DEMO_BACKFILL_DAYS="0.05", CACHE_SECONDS="1",
                     ALERTS_FILE=str(alerts_file), WALLS_FILE=str(walls))
    app.start()
    try:
        stations = httpx.get(f"{app.base}/api/v1/stations?type=air", timeout=30).json()["stations"]
        first, second = stations[0], stations[1]
        with kiosk_browser() as browser:
            page = browser.new_page(viewport={"width": 1920, "height": 1080})
            page.add_init_script(INSTRUMENT)
            watch = PageWatch(page)
            page.goto(f"{app.base}/wall/alerts?kiosk=1")
            page.locator(".alert-line.is-empty").wait_for(timeout=60_000)
            screenshot(page, "wall-alerts-0-none")

            # 1. Over the limit: the alert opens, reaches the wall marked new, flashes, sounds once.
            _h2s_file(drop, first["code"], [150.0, 175.0, 180.0], datetime.now(TZ))
            alert = _wait_for_alert(app.base, first["code"])
            assert alert["severity"] == "critical" and alert["state"] == "firing"
            line = page.locator(LINE.format(alert["id"]))
            line.wait_for(timeout=30_000)
            assert "is-new" in line.get_attribute("class")
            assert first["name"] in line.inner_text() and "H2S" in line.inner_text()
            page.wait_for_function("() => window.__tones.length >= 1", timeout=5_000)
            screenshot(page, "wall-alerts-1-firing")
            assert page.evaluate("() => window.__flashes") == {str(alert["id"]): 1}
            assert page.evaluate("() => window.__tones") == ["running"]
            counts = page.locator(".alert-count.severity-critical").inner_text()
            assert counts.startswith("1")

            # A wall loaded while the alert is already open (still marked new) stays silent.
            late = browser.new_page(viewport={"width": 1920, "height": 1080})
            late.add_init_script(INSTRUMENT)
            late.goto(f"{app.base}/wall/alerts?kiosk=1")
            late.locator(LINE.format(alert["id"])).wait_for(timeout=30_000)
            _next_alerts_refresh(late)
            assert late.evaluate("() => window.__tones") == []
            late.close()

            # The next refresh neither flashes it again nor sounds again.
            _next_alerts_refresh(page)
            _next_alerts_refresh(page)
            assert page.evaluate("() => window.__flashes") == {str(alert["id"]): 1}
            assert len(page.evaluate("() => window.__tones")) == 1

            # 2. A second station over the limit tops the list (newest first) and moves the first
            # one onto another line: only the new one flashes, one more tone.
            _h2s_file(drop, second["code"], [200.0, 240.0, 260.0], datetime.now(TZ))
            other = _wait_for_alert(app.base, second["code"])
            page.locator(LINE.format(other["id"])).wait_for(timeout=30_000)
            page.wait_for_function("() => window.__tones.length >= 2", timeout=5_000)
            ids = page.eval_on_selector_all(".alert-line[data-alert-id]", "els => els.map(e => e.dataset.alertId)")
            assert ids == [str(other["id"]), str(alert["id"])]
            screenshot(page, "wall-alerts-2-two-firing")
            _next_alerts_refresh(page)
            assert page.evaluate("() => window.__flashes") == {str(alert["id"]): 1, str(other["id"]): 1}
            assert len(page.evaluate("() => window.__tones")) == 2

            # 3. Acknowledged through the API by a signed-in operator: shown acknowledged on the wall.
            with signed_in_client(app.base) as operator:
                answer = operator.post(f"/api/v1/alerts/{alert['id']}/ack",
                                       json={"by": "Trực ban ca 1", "note": "Đã báo Sở NN&MT"},
                                       headers={"X-CSRFToken": operator.cookies.get("_csrf_token", "")})
            assert answer.status_code == 200, answer.text
            assert answer.json()["alert"]["state"] == "acknowledged"
            page.wait_for_function(
                "sel => { const l = document.querySelector(sel); return l && l.classList.contains('state-acknowledged'); }",
                arg=LINE.format(alert["id"]), timeout=30_000)
            assert line.locator(".alert-time").inner_text().startswith("✓")
            screenshot(page, "wall-alerts-3-acknowledged")

            # 4. The value returns under clear_at: resolved, gone from the wall's open list.
            _h2s_file(drop, first["code"], [12.0], datetime.now(TZ))
            line.wait_for(state="detached", timeout=60_000)
            resolved = [a for a in _open_alerts(app.base, "resolved") if a["id"] == alert["id"]]
            assert resolved and resolved[0]["state"] == "resolved" and resolved[0]["resolved_at"]
            assert resolved[0]["acknowledgement"]["by"] == "Administrator"  # the signed-in user, whatever "by" says
            assert page.locator(".alert-count.severity-critical").inner_text().startswith("1")
            screenshot(page, "wall-alerts-4-resolved")

            assert page.evaluate("() => window.__flashes") == {str(alert["id"]): 1, str(other["id"]): 1}
            assert len(page.evaluate("() => window.__tones")) == 2  # one per new critical alert
            assert watch.foreign_requests == []
            assert watch.console_errors == []
    finally:
        app.stop()
