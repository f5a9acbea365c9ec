"""Text from sources is shown as text, never run as markup, in real headless Chromium against the
embedded app as a process.

Everything arrives through the real adapters from loopback HTTP servers: a station whose name
is ``<img src=x onerror=alert(1)>`` (an ``http_json`` source declaring it, its readings served
as JSON), a hydro-meteorological CAP warning carrying ``<script>alert(2)</script>`` and nested
tags in its headline and area (a ``cap`` source), and a partner API that answers 404 with
markup in its body (its error is shown on the Sources page). The station page, the Environment
page, the Alerts page, the Sources page and the walls (warnings, alerts, worst stations, exceedances) must
show that text literally, add no element of it to the DOM and open no JavaScript dialog.
"""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from data_sources.cap import CAP_NS, plain_text
from tests.browser import PageWatch, chromium, running_app, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]
TZ = ZoneInfo("Asia/Ho_Chi_Minh")

STATION = "EVIL-01"
NAME = "<img src=x onerror=alert(1)>"
# The CAP adapter turns markup into text (data_sources/cap.py plain_text): the plain <script>
# element goes, but tags nested in tags come out as markup again, so the screens get both
# "alert(2)" and a real-looking <img ... onerror> to show as text.
HEADLINE = "Bão số 3 <script>alert(2)</script> <img src=x onerror=alert(2) <i <b>>>"
AREA = "Biển Đông <svg onload=alert(3) <i <b>>>"
DESCRIPTION = "<script>alert(2)</script> Gió mạnh cấp 12 <img src=x onerror=alert(2)>"
SHOWN_HEADLINE = plain_text(HEADLINE)
SHOWN_AREA = plain_text(AREA)
PARTNER_ERROR = "<img src=x onerror=alert(5)>"

ALERTS = f"""
rules:
  - id: evil-pm25
    name: {{vi: "PM2.5 cao", en: "PM2.5 high"}}
    kind: threshold
    severity: major
    scope: station
    codes: [{STATION}]
    metric: PM2.5
    operator: ">"
    value: 10
  - id: evil-warning
    name: {{vi: "Cảnh báo khí tượng thủy văn", en: "Hydro-meteorological warning"}}
    kind: cap_warning
    scope: warning
    min_severity: Minor
"""

# Anything the page's own markup would never contain: an injected element or a handler.
INJECTED_JS = """() => ({
  img_x: [...document.querySelectorAll('img')].filter(i => i.getAttribute('src') === 'x').length,
  handlers: document.querySelectorAll('[onerror], [onload]').length,
  svg: document.querySelectorAll('svg[onload]').length,
  scripts: [...document.querySelectorAll('script')].filter(s => s.textContent.includes('alert(')).length,
})"""
CLEAN = {"img_x": 0, "handlers": 0, "svg": 0, "scripts": 0}


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cap_alert(now: datetime) -> str:
    sent = (now - timedelta(minutes=20)).replace(microsecond=0)
    expires = (now + timedelta(hours=12)).replace(microsecond=0)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="{CAP_NS}">
  <identifier>ESCAPE-TEST-1</identifier>
  <sender>tests@nchmf.gov.vn</sender>
  <sent>{sent.isoformat()}</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <info>
    <language>vi-VN</language>
    <category>Met</category>
    <event>Bão</event>
    <urgency>Immediate</urgency>
    <severity>Extreme</severity>
    <certainty>Observed</certainty>
    <expires>{expires.isoformat()}</expires>
    <headline>{_xml(HEADLINE)}</headline>
    <description><![CDATA[{DESCRIPTION}]]></description>
    <area><areaDesc>{_xml(AREA)}</areaDesc></area>
  </info>
</alert>
"""


def readings(now: datetime) -> dict:
    """PM2.5 every 15 minutes over the last 50 hours: a NowCast AQI, over the rule's 10 and over QCVN 05's
    24-hour limit (an exceedance: yesterday, local time, is a whole day at any time the tests run), never
    flat (a flat line would be suspect)."""
    end = now.replace(second=0, microsecond=0)
    return {"items": [{"code": STATION, "t": (end - timedelta(minutes=15 * i)).isoformat(), "pm25": 80.0 + i % 3}
                      for i in range(50 * 4)]}


class _Partner(BaseHTTPRequestHandler):
    """The outside systems: a JSON API of readings, a CAP feed, and an API that fails with markup."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        now = datetime.now(TZ)
        if self.path == "/readings.json":
            status, kind, body = 200, "application/json", json.dumps(readings(now))
        elif self.path == "/cap.xml":
            status, kind, body = 200, "application/cap+xml", cap_alert(now)
        else:
            status, kind, body = 404, "text/html", PARTNER_ERROR
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", f"{kind}; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_args: object) -> None:
        pass


@contextmanager
def partner_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Partner)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def sources_yaml(partner: str) -> str:
    return f"""
sources:
  - name: evil-stations
    kind: http_json
    every: 1m
    timeout: 20
    options:
      url: {partner}/readings.json
      records: items
      entity: code
      time: t
      series: {{PM2.5: {{path: pm25, unit: "µg/m³"}}}}
      entities:
        - code: {STATION}
          kind: station
          subtype: air
          name: {json.dumps(NAME)}
          province_code: HNI
          lat: 21.03
          lon: 105.85
          meta: {{interval_seconds: 900}}
  - name: evil-warnings
    kind: cap
    every: 1m
    timeout: 20
    options:
      url: {partner}/cap.xml
      retries: 0
  - name: evil-partner
    kind: http_json
    every: 1m
    timeout: 10
    options:
      url: {partner}/broken
      retries: 0
      records: items
      entity: code
      time: t
      series: {{PM10: v}}
"""


def _wait_for(what: str, check, timeout: float = 90):  # noqa: ANN001, ANN202
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except (httpx.HTTPError, KeyError, ValueError) as exc:
            last = exc
        if last:
            return last
        time.sleep(0.5)
    raise AssertionError(f"{what} not seen within {timeout} s (last: {last!r})")


def _stored(base: str) -> tuple[dict, list[dict]]:
    """Wait until the polls have stored the station with its readings, the warning and both alerts."""
    def station() -> dict | None:
        found = [s for s in httpx.get(f"{base}/api/v1/stations", timeout=10).json()["stations"] if s["code"] == STATION]
        return found[0] if found and found[0].get("aqi") and "PM2.5" in found[0]["latest"] else None

    def alerts() -> list[dict] | None:
        found = httpx.get(f"{base}/api/v1/alerts", timeout=10).json()["alerts"]
        return found if {a["rule"]["id"] for a in found} >= {"evil-pm25", "evil-warning"} else None

    def partner_failed() -> bool:
        sources = {s["name"]: s for s in httpx.get(f"{base}/api/v1/sources", timeout=10).json()["sources"]}
        return bool(sources["evil-partner"].get("last_error"))

    found = _wait_for("the station", station)
    opened = _wait_for("both alerts", alerts)
    _wait_for("the partner's failure", partner_failed)
    return found, opened


def test_names_and_warnings_from_sources_render_as_text(tmp_path: Path) -> None:
    alerts_file = tmp_path / "alerts.yaml"
    alerts_file.write_text(ALERTS, encoding="utf-8")
    env = {"ALERTS_FILE": str(alerts_file), "CACHE_SECONDS": "1", "PAGE_REFRESH_SECONDS": "2",
           "DEMO_BACKFILL_DAYS": "0"}
    dialogs: list[str] = []
    image_requests: list[str] = []
    seen: dict[str, str] = {}
    injected: dict[str, dict] = {}
    with partner_server() as partner, running_app(tmp_path, sources_yaml(partner), **env) as base:
        station, opened = _stored(base)
        with chromium() as browser:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            watch = PageWatch(page)
            page.on("dialog", lambda d: (dialogs.append(f"{d.type}: {d.message}"), d.dismiss()))
            # An <img src=x> that made it into the DOM would ask for ".../x" even with its handler blocked.
            page.on("request", lambda r: r.url.rstrip("/").endswith("/x") and image_requests.append(r.url))

            page.goto(f"{base}/station/{STATION}")
            page.locator("#station-trend .scatterlayer .trace").first.wait_for(timeout=30_000)
            seen["station"] = page.locator("h1.page-title").inner_text()
            injected["station"] = page.evaluate(INJECTED_JS)
            screenshot(page, "escaping-station")

            page.goto(f"{base}/environment")
            cell = page.locator(f"#aqi-worst .ag-row[row-id='{STATION}'] [col-id='link']")
            cell.wait_for(timeout=30_000)
            seen["environment"] = cell.inner_text()
            seen["environment_link"] = cell.locator("a").get_attribute("href")
            site = page.locator("#exceedances .ag-row [col-id='name']").first
            site.wait_for(timeout=30_000)
            seen["exceedances"] = site.inner_text()
            injected["environment"] = page.evaluate(INJECTED_JS)
            screenshot(page, "escaping-environment")

            page.goto(f"{base}/alerts?state=open")
            page.locator("#alerts-grid .ag-row").nth(1).wait_for(timeout=30_000)
            seen["alerts_subjects"] = "\n".join(page.locator("#alerts-grid .ag-row [col-id='link']").all_inner_texts())
            seen["alerts_messages"] = "\n".join(page.locator("#alerts-grid .ag-row [col-id='message']").all_inner_texts())
            injected["alerts"] = page.evaluate(INJECTED_JS)
            screenshot(page, "escaping-alerts")

            page.goto(f"{base}/sources")
            error_cell = page.locator(".ag-row[row-id='evil-partner'] [col-id='error']")
            error_cell.wait_for(timeout=30_000)
            seen["sources"] = error_cell.inner_text()
            injected["sources"] = page.evaluate(INJECTED_JS)
            screenshot(page, "escaping-sources")

            page.set_viewport_size({"width": 1920, "height": 1080})
            page.goto(f"{base}/wall/overview?kiosk=1")
            headline = page.locator(".wall-page.is-active .wall-table td.col-headline").first
            page.wait_for_function("() => { const c = document.querySelector("
                                   "'.wall-page.is-active .wall-table td.col-headline');"
                                   " return c && c.textContent.length > 0; }", timeout=60_000)
            page.locator(".wall-page.is-active .alert-line[data-alert-id]").nth(1).wait_for(timeout=60_000)
            seen["wall_headline"] = headline.inner_text()
            seen["wall_areas"] = page.locator(".wall-page.is-active .wall-table td.col-areas").first.inner_text()
            seen["wall_subjects"] = "\n".join(page.locator(".wall-page.is-active .alert-subject").all_inner_texts())
            seen["wall_messages"] = "\n".join(page.locator(".wall-page.is-active .alert-message").all_inner_texts())
            injected["wall"] = page.evaluate(INJECTED_JS)
            screenshot(page, "escaping-wall-overview")

            # The environment wall: worst stations and exceedances, by station name.
            page.goto(f"{base}/wall/environment?kiosk=1")
            page.wait_for_function("() => [...document.querySelectorAll('.wall-page.is-active .wall-table "
                                   "td.col-station, .wall-page.is-active .wall-table td.col-site')]"
                                   ".filter(c => c.textContent.length > 0).length >= 2", timeout=60_000)
            seen["wall_stations"] = page.locator(".wall-page.is-active .wall-table td.col-station").first.inner_text()
            seen["wall_sites"] = page.locator(".wall-page.is-active .wall-table td.col-site").first.inner_text()
            injected["wall_environment"] = page.evaluate(INJECTED_JS)
            screenshot(page, "escaping-wall-environment")
            page.wait_for_timeout(1000)  # a late dialog (a handler on a refresh) would still be caught

    # The store holds the text as the sources gave it (after the CAP adapter's own clean-up).
    assert station["name"] == NAME
    warning_alert = next(a for a in opened if a["rule"]["id"] == "evil-warning")
    assert warning_alert["subject"]["name"] == SHOWN_AREA
    assert SHOWN_HEADLINE in warning_alert["message"]
    # ... and every screen shows exactly that text, literally.
    assert seen["station"] == NAME
    assert seen["environment"] == NAME
    assert seen["environment_link"] == f"/station/{STATION}"
    assert seen["exceedances"] == NAME
    assert NAME in seen["alerts_subjects"].splitlines()
    assert SHOWN_AREA in seen["alerts_subjects"].splitlines()
    assert SHOWN_HEADLINE in seen["alerts_messages"]
    assert PARTNER_ERROR in seen["sources"]
    assert seen["wall_headline"] == SHOWN_HEADLINE
    assert seen["wall_areas"] == SHOWN_AREA
    assert NAME in seen["wall_subjects"].splitlines() and SHOWN_AREA in seen["wall_subjects"].splitlines()
    assert SHOWN_HEADLINE in seen["wall_messages"]
    assert seen["wall_stations"] == NAME and seen["wall_sites"] == NAME
    # Nothing of it became markup: no element, no handler, no request for the image, no dialog.
    assert injected == dict.fromkeys(injected, CLEAN) and len(injected) == 6, injected
    assert image_requests == []
    assert dialogs == []
    assert watch.foreign_requests == []
    assert watch.console_errors == []  # a handler blocked by the CSP would be reported here
