"""Export a page or wall view as it is on screen (api/export.py, the header's Export control):
paths refused before any render, then real renders by Debian's headless Chromium of a real
app process fed by the demo simulator."""
from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from api.export import check_path, export_name, loopback_origin, parse_size
from app import create_app
from briefings.render import Chromium, check_png, png_size
from settings import load_settings
from tests.browser import CHROMIUM, PageWatch, chromium, running_app, sign_in, signed_in_client
from tests.servers import free_port
from tests.support import operator_headers

SOURCES = """
sources:
  - name: demo-land
    kind: demo
    every: 1h
    options: {feed: land}
  - name: demo-air
    kind: demo
    every: 5m
    options: {feed: air, stations: 12}
"""
NAME = r"opscentre-{page}-\d{{8}}-\d{{4}}\.{ext}"


# --------------------------------------------------------------------------- no browser


@pytest.mark.parametrize("path", ["http://evil.example/", "//x", "//evil.example/wall/overview", "/\\evil.example",
                                  "javascript:alert(1)", "wall/overview", "/wall/overview x", "/api/v1/sources",
                                  "/_dash-layout", "/language/en", "/assets/app.css", ""])
def test_only_paths_of_pages_of_this_app_are_accepted(path: str) -> None:
    with pytest.raises(ValueError):
        check_path(path)


def test_paths_sizes_and_names() -> None:
    assert check_path("/environment?province=HNI&range=7d") == "/environment?province=HNI&range=7d"
    assert check_path("/") == "/"
    assert parse_size(None) == (1920, 1080, 1)
    assert parse_size("1366x768") == (1366, 768, 1)
    assert parse_size("3840x2160") == (1920, 1080, 2)  # the 1080p view at 2×, as a 4K wall shows it
    for bad in ("100x100", "5000x1000", "big", "1920×1080"):
        with pytest.raises(ValueError):
            parse_size(bad)
    tz = ZoneInfo("Asia/Ho_Chi_Minh")
    at = datetime(2026, 11, 22, 0, 15, tzinfo=ZoneInfo("UTC"))  # 07:15 in Hà Nội
    assert export_name("/wall/overview?kiosk=1", "png", tz, at) == "opscentre-wall-overview-20261122-0715.png"
    assert export_name("/", "pdf", tz, at) == "opscentre-overview-20261122-0715.pdf"


def test_the_render_goes_to_loopback_only(tmp_path: Path) -> None:
    settings = load_settings(var_dir=tmp_path, port=8123)
    assert loopback_origin("127.0.0.1:9001", "127.0.0.1", settings) == "http://127.0.0.1:9001"
    assert loopback_origin("localhost:9001", "::1", settings) == "http://localhost:9001"
    # A remote caller naming a local port in its Host header does not choose the port.
    assert loopback_origin("127.0.0.1:5432", "10.1.2.3", settings) == "http://127.0.0.1:8123"
    assert loopback_origin("ioc.example.vn", "127.0.0.1", settings) == "http://127.0.0.1:8123"
    assert loopback_origin("127.0.0.1:notaport", "127.0.0.1", settings) == "http://127.0.0.1:8123"
    assert loopback_origin(None, None, load_settings(var_dir=tmp_path, host="0.0.0.0", port=8123)) == \
        "http://127.0.0.1:8123"
    assert loopback_origin("ioc.example.vn", "10.1.2.3", load_settings(var_dir=tmp_path, host="10.0.0.5")) is None


def test_the_api_refuses_bad_requests_before_rendering(engine: Engine, tmp_path: Path) -> None:
    client = create_app(load_settings(var_dir=tmp_path, database_url=str(engine.url)), specs=[]).server.test_client()
    operator = operator_headers(engine)
    for query, status in (("path=http://evil.example/", 400), ("path=//x", 400), ("", 400),
                          ("path=/&format=gif", 400), ("path=/&size=1x1", 400), ("path=/&lang=fr", 400)):
        answer = client.get(f"/api/v1/export?{query}", headers=operator)
        assert answer.status_code == status, query
        assert answer.is_json and answer.json["error"]
    # Exporting is an operator's action: a reader (token or anonymous viewer) is refused.
    reader = client.get("/api/v1/export?path=/", headers=operator_headers(engine, "read"))
    assert reader.status_code == 403 and "operator" in reader.json["error"]
    assert client.get("/api/v1/export?path=/").status_code == 403


@pytest.mark.browser
def test_a_page_that_cannot_be_loaded_gives_a_reason_never_a_file(engine: Engine, tmp_path: Path) -> None:
    client = create_app(load_settings(var_dir=tmp_path, database_url=str(engine.url)), specs=[]).server.test_client()
    dead = free_port()  # nothing listens there: Chromium cannot load the page
    answer = client.get("/api/v1/export?path=/sources&format=png",
                        headers={"Host": f"127.0.0.1:{dead}", **operator_headers(engine)})
    assert answer.status_code == 502
    assert answer.is_json and "did not finish drawing" in answer.json["error"]


# --------------------------------------------------------------------------- a real app


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("export")
    with running_app(tmp, SOURCES, DEMO_BACKFILL_DAYS="0.3", PAGE_REFRESH_SECONDS="5") as url:
        yield url


@pytest.mark.browser
@pytest.mark.slow
def test_the_api_exports_a_wall_at_its_exact_size_not_blank(base: str) -> None:
    with signed_in_client(base) as client:
        answer = client.get("/api/v1/export", params={"path": "/wall/overview", "format": "png", "size": "1920x1080"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "image/png"
    assert re.search(NAME.format(page="wall-overview", ext="png"), answer.headers["content-disposition"])
    png = answer.content
    assert png_size(png) == (1920, 1080)
    with Chromium(CHROMIUM) as browser, browser.page(320, 200) as page:
        check_png(png, 1920, 1080, page)  # raises when the PNG has a handful of colours


@pytest.mark.browser
@pytest.mark.slow
def test_the_api_exports_a_desktop_page_as_a_pdf_with_its_vietnamese_title(base: str, tmp_path: Path) -> None:
    with signed_in_client(base) as client:
        answer = client.get("/api/v1/export", params={"path": "/environment", "format": "pdf"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/pdf"
    assert re.search(NAME.format(page="environment", ext="pdf"), answer.headers["content-disposition"])
    saved = tmp_path / "environment.pdf"
    saved.write_bytes(answer.content)
    text = subprocess.run(["pdftotext", "-layout", str(saved), "-"], capture_output=True, check=True,
                          text=True).stdout
    assert "Chất lượng không khí hiện tại" in text
    assert "10 trạm có chỉ số AQI cao nhất" in text  # the page's panels, drawn, not only the frame
    info = subprocess.run(["pdfinfo", str(saved)], capture_output=True, check=True, text=True).stdout
    assert re.search(r"Page size:\s+841\.\d+ x 595\.\d+ pts|Page size:\s+842\.\d+ x 595\.\d+ pts", info)  # A4 landscape


@pytest.mark.browser
@pytest.mark.slow
def test_the_headers_export_button_downloads_a_png_of_the_page(base: str, tmp_path: Path) -> None:
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 900}, accept_downloads=True)
        watch = PageWatch(page)
        sign_in(page, base)  # exporting is an operator's action
        page.goto(base + "/sources")
        page.locator(".export-summary", has_text="Xuất").click()
        with page.expect_download(timeout=180_000) as download_info:
            page.get_by_role("menuitem", name="Ảnh PNG 1920 × 1080").click()
            page.locator("#export-working").wait_for(state="visible", timeout=30_000)  # "Đang xuất…"
            working = page.locator("#export-working").inner_text()
            disabled = page.locator("#export-pdf").is_disabled()
        download = download_info.value
        saved = tmp_path / download.suggested_filename
        download.save_as(saved)
        page.locator("#export-result.is-ok").wait_for(timeout=30_000)
        result = page.locator("#export-result").inner_text()
    assert working.startswith("Đang xuất") and disabled
    assert re.fullmatch(NAME.format(page="sources", ext="png"), download.suggested_filename)
    png = saved.read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and png_size(png) == (1920, 1080)
    assert result == f"Đã xuất {download.suggested_filename}."
    assert watch.console_errors == [] and watch.foreign_requests == []
