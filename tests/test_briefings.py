"""Briefings (briefings/): each format rendered by Debian's headless Chromium from a store fed by
the demo simulator, the archive and its API, the once-a-day morning briefing, failures.

Expected KPI values are computed here with kpis.compute at the same moment the briefing
was produced and formatted as the Overview's tiles write them; PNGs are decoded here.
"""
from __future__ import annotations

import functools
import http.server
import re
import struct
import subprocess
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine, delete, insert, select

from app import create_app
from backfill import backfill_source
from briefings.archive import claim_morning, list_briefings, prune
from briefings.compose import collect_briefing, compose
from briefings.produce import produce_briefing
from briefings.render import BriefingError, Chromium, check_pdf, check_png, render_pdf
from briefings.schedule import CATCH_UP_JOB, MORNING_JOB, add_briefing_jobs, produce_morning_briefing
from i18n import format_number
from kpis.catalogue import current_catalogue
from kpis.compute import compute_kpis, select_kpis
from polling import poll_source, sync_sources
from scheduler import PollScheduler, try_acquire_lease
from settings import ConfigError, Settings, load_settings
from store.engine import make_engine
from store.migrate import upgrade
from store.schema import alerts, briefings, scheduler_lease
from tests.browser import CHROMIUM, PageWatch, chromium, running_app, sign_in
from tests.servers import free_port
from tests.support import SCRIPT, register_sources, scripted_specs

ORG = "Trung tâm Điều hành — Bộ Nông nghiệp và Môi trường"
# A name from a source that must be shown as text, never run as markup.
MARKUP_NAME = "<b>Trạm</b> <script>window.pwned=1</script> Hồ Tây"
SECTIONS = ("Bản tin điều hành", "Chỉ tiêu điều hành chính", "Cảnh báo đang mở", "Chất lượng không khí hiện tại",
            "10 trạm có chỉ số AQI cao nhất", "Bản đồ AQI theo tỉnh, thành phố",
            "Tỉ lệ dữ liệu nhận được hôm nay theo tỉnh", "Ghi chú về nguồn dữ liệu")
FAILING_ERROR = "HTTP 503 từ máy chủ vệ tinh"


@dataclass
class Store:
    engine: Engine
    settings: Settings
    now: datetime  # the moment every briefing of these tests is produced at


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """A store fed by the demo simulator (land, 12 air stations, public services; one day),
    two open alerts (one with markup in its name) and one failing source."""
    tmp = tmp_path_factory.mktemp("briefings")
    settings = load_settings(var_dir=tmp / "var", organisation_name=ORG)
    engine = make_engine(settings.effective_database_url)
    upgrade(engine)
    specs = register_sources(
        tmp, engine,
        {"name": "demo-land", "kind": "demo", "every": "1h", "options": {"feed": "land"}},
        {"name": "demo-air", "kind": "demo", "every": "5m", "options": {"feed": "air", "stations": 12}},
        {"name": "demo-public-services", "kind": "demo", "every": "15m", "options": {"feed": "public_services"}},
    )
    now = datetime.now(UTC)
    for spec in specs.values():
        assert all(o.ok for o in backfill_source(engine, spec, 1, end=now))
    SCRIPT.reset()
    (tmp / "scripted").mkdir()
    (satellite,) = scripted_specs(tmp / "scripted", "name: ve-tinh-vnredsat\nevery: 5m")
    sync_sources(engine, [*specs.values(), satellite])
    SCRIPT.fail[satellite.name] = FAILING_ERROR
    poll_source(engine, satellite)
    SCRIPT.reset()
    with engine.begin() as conn:
        for i, (severity, name, message) in enumerate([
            ("critical", "Nhà máy giấy Việt Trì", "COD vượt giấy phép 1,8 lần"),
            ("major", MARKUP_NAME, "Trạm mất kết nối quá 3 chu kỳ"),
        ]):
            conn.execute(insert(alerts).values(
                rule_id=f"rule-{i}", subject_kind="station", subject_code=f"S-{i}", subject_name=name,
                severity=severity, state="firing", started_at=now - timedelta(minutes=30 + i),
                last_seen_at=now, message=message,
            ))
    yield Store(engine, settings, now)
    engine.dispose()


@pytest.fixture(autouse=True)
def _empty_archive(request: pytest.FixtureRequest) -> None:
    """Each test starts with no briefing (the data of the module's store stays)."""
    if "store" not in request.fixturenames:
        return
    s: Store = request.getfixturevalue("store")
    with s.engine.begin() as conn:
        conn.execute(delete(briefings))
    for path in (s.settings.var_dir / "briefings").rglob("*"):
        if path.is_file():
            path.unlink()


def archived_files(settings: Settings) -> list[Path]:
    return sorted(p for p in (settings.var_dir / "briefings").rglob("*") if p.is_file())


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True,
                          text=True).stdout


def tile_value(value: float | None, unit: str) -> str:
    """How a KPI tile writes its value: vi-VN, one decimal for shares and small numbers."""
    if value is None:
        return "—"
    return format_number(value, "vi", 1 if unit == "%" or abs(value) < 100 else 0)


def decode_png(png: bytes) -> np.ndarray:
    """The RGB pixels of an 8-bit, non-interlaced RGB/RGBA PNG (what Chromium writes)."""
    width, height, depth, colour_type, _c, _f, interlace = struct.unpack(">IIBBBBB", png[16:29])
    assert depth == 8 and colour_type in (2, 6) and interlace == 0
    bpp = 3 if colour_type == 2 else 4
    pos, idat = 8, []
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos:pos + 4])
        if png[pos + 4:pos + 8] == b"IDAT":
            idat.append(png[pos + 8:pos + 8 + length])
        pos += 12 + length
    raw = np.frombuffer(zlib.decompress(b"".join(idat)), dtype=np.uint8).reshape(height, 1 + width * bpp)
    image = np.zeros((height, width * bpp), dtype=np.uint8)
    prev = np.zeros(width * bpp, dtype=np.int64)
    for y in range(height):
        kind, line = raw[y, 0], raw[y, 1:].astype(np.int64)
        if kind == 0:
            out = line
        elif kind == 1:  # Sub: a running sum along the row, per channel
            out = np.cumsum(line.reshape(width, bpp), axis=0).reshape(-1) & 255
        elif kind == 2:  # Up
            out = (line + prev) & 255
        else:  # Average, Paeth: byte by byte
            cur, up = line.tolist(), prev.tolist()
            for i in range(len(cur)):
                a = cur[i - bpp] if i >= bpp else 0
                b = up[i]
                if kind == 3:
                    cur[i] = (cur[i] + ((a + b) >> 1)) & 255
                else:
                    c = up[i - bpp] if i >= bpp else 0
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    cur[i] = (cur[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
            out = np.array(cur, dtype=np.int64)
        image[y] = out
        prev = out
    return image.reshape(height, width, bpp)[..., :3]


def colours(pixels: np.ndarray) -> int:
    flat = pixels.reshape(-1, 3).astype(np.uint32)
    return len(np.unique((flat[:, 0] << 16) | (flat[:, 1] << 8) | flat[:, 2]))


# --------------------------------------------------------------------------- compose (no browser)


def test_the_html_escapes_source_texts_and_embeds_fonts_and_plotly(store: Store) -> None:
    data = collect_briefing(store.engine, store.settings, store.now)
    doc = compose(data, "print")
    assert "&lt;b&gt;Trạm&lt;/b&gt; &lt;script&gt;window.pwned=1&lt;/script&gt; Hồ Tây" in doc.html
    assert "<script>window.pwned" not in doc.html and "<b>Trạm" not in doc.html
    assert doc.figures == 2 and doc.html.count('data-figure="fig-') == 2
    assert doc.html.count("font/woff2;base64,") == 4  # regular and bold, normal and condensed
    assert re.search(r"https?://", doc.html.split("<script>", 1)[0]) is None  # no URL in the markup and styles
    assert "pageNumber" in doc.footer and "totalPages" in doc.footer and ORG in doc.header


# --------------------------------------------------------------------------- formats in Chromium


@pytest.mark.browser
@pytest.mark.slow
def test_the_pdf_holds_the_exact_texts_and_the_kpis_of_the_store(store: Store) -> None:
    (record,) = produce_briefing(store.engine, store.settings, ("pdf",), now=store.now)
    assert record.status == "ok", record.error
    path = record.file(store.settings)
    assert path.read_bytes().startswith(b"%PDF-") and path.stat().st_size == record.size_bytes
    text = pdf_text(path)
    pages = text.split("\f")
    pages = [p for p in pages if p.strip()]
    assert len(pages) >= 2
    for number, page in enumerate(pages, start=1):
        assert f"Trang {number} / {len(pages)}" in page  # the footer's page numbers on every page
        assert ORG in page  # the header
    for title in SECTIONS:
        assert title in text, title
    kpis = select_kpis(compute_kpis(store.engine, current_catalogue(store.settings.kpis_file), store.now,
                                    store.settings.tz), headline=True)
    known = [k for k in kpis if k.value is not None]
    assert len(known) >= 2  # the demo feeds give land and public-service figures
    cover = pages[0]
    for k in kpis:
        shown = tile_value(k.value, k.unit)
        assert (f"{shown} %" if k.unit == "%" and k.value is not None else shown) in cover, (k.code, shown)
    assert "COD vượt giấy phép 1,8 lần" in text and "Nhà máy giấy Việt Trì" in text
    assert "<b>Trạm</b>" in text  # the markup in a name is printed as the text it is
    assert "ve-tinh-vnredsat" in text and FAILING_ERROR in text  # the failing source's footnote
    assert "Trạm quan trắc không khí" in text  # the worst stations by name


@pytest.mark.browser
@pytest.mark.slow
def test_png_at_wall_resolutions_is_exact_and_not_blank(store: Store) -> None:
    with Chromium(CHROMIUM) as browser:
        (full_hd,) = produce_briefing(store.engine, store.settings, ("png",), now=store.now, browser=browser)
        (uhd,) = produce_briefing(store.engine, store.settings, ("png",), now=store.now, browser=browser,
                                  png_size="3840x2160")
        # A blank shot is refused, not archived: a page of one colour.
        with browser.page(320, 200) as page:
            page.goto("about:blank")
            blank = page.screenshot(type="png")
            with pytest.raises(BriefingError, match="blank"):
                check_png(blank, 320, 200, page)
    for record, size in ((full_hd, (1920, 1080)), (uhd, (3840, 2160))):
        assert record.status == "ok", record.error
        png = record.file(store.settings).read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        assert struct.unpack(">II", png[16:24]) == size
        pixels = decode_png(png)
        assert pixels.shape[:2] == (size[1], size[0])
        assert tuple(pixels[0, 0]) == (0x0F, 0x17, 0x20)  # the slide's background, top left
        assert colours(pixels) > 500  # text, tiles and AQI colours: far from a blank page
    with pytest.raises(BriefingError, match="not 1920×1080"):
        check_png(png, 1920, 1080)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *_args: object) -> None:
        pass


@pytest.mark.browser
@pytest.mark.slow
def test_the_html_opens_with_no_request_and_draws_its_charts(store: Store) -> None:
    (record,) = produce_briefing(store.engine, store.settings, ("html",), now=store.now)
    assert record.status == "ok"
    path = record.file(store.settings)
    # Served from loopback, so the one request the test makes (the file) is told apart from any other.
    port = free_port()
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", port), functools.partial(_QuietHandler, directory=str(path.parent)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    requests: list[str] = []
    try:
        with chromium() as browser:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            watch = PageWatch(page)
            page.on("request", lambda r: requests.append(r.url))
            page.goto(f"http://127.0.0.1:{port}/{path.name}")
            page.wait_for_function("window.briefingDrawn === 2", timeout=60_000)
            plots = page.evaluate("""() => [...document.querySelectorAll('.js-plotly-plot')]
                                             .filter(p => p.querySelector('.main-svg')).length""")
            bars = page.locator(".js-plotly-plot .bars .point").count()
            pwned = page.evaluate("window.pwned === undefined")
            body = page.inner_text("body")
    finally:
        server.shutdown()
    assert requests == [f"http://127.0.0.1:{port}/{path.name}"]  # nothing but the document itself
    assert watch.foreign_requests == [] and watch.console_errors == []
    assert plots == 2 and bars >= 10  # the tile map and the completeness bars of the 12 stations' provinces
    assert pwned and MARKUP_NAME in body
    assert ORG in body and "Chỉ tiêu điều hành chính" in body


# --------------------------------------------------------------------------- the morning briefing


@pytest.mark.browser
@pytest.mark.slow
def test_one_morning_briefing_per_day_across_calls_restarts_and_races(store: Store) -> None:
    first = produce_morning_briefing(store.engine, store.settings, store.now)
    assert [(r.format, r.status, r.attempts) for r in first] == [("pdf", "ok", 1), ("png", "ok", 1), ("html", "ok", 1)]
    files = {p: p.stat().st_mtime_ns for p in archived_files(store.settings)}
    assert len(files) == 3
    # Later the same local day, whatever the time of day the test runs at.
    local = store.now.astimezone(store.settings.tz)
    left = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), store.settings.tz) - local
    again = produce_morning_briefing(store.engine, store.settings, store.now + left / 3)
    # "Restarted": a fresh engine and settings, as a new scheduler process would have.
    fresh_engine = make_engine(store.settings.effective_database_url)
    fresh_settings = load_settings(var_dir=store.settings.var_dir, organisation_name=ORG)
    restarted = produce_morning_briefing(fresh_engine, fresh_settings, store.now + left * 2 / 3)
    fresh_engine.dispose()
    assert [r.id for r in again] == [r.id for r in restarted] == [r.id for r in first]
    assert {p: p.stat().st_mtime_ns for p in archived_files(store.settings)} == files  # nothing rendered again
    with store.engine.connect() as conn:
        assert sorted(conn.execute(select(briefings.c.format).where(briefings.c.kind == "morning")).scalars()) \
            == ["html", "pdf", "png"]
    # Two schedulers racing for the next day's briefing (HTML: no browser needed) make one.
    tomorrow = store.now + timedelta(days=1)
    results: list[list] = []
    racers = [threading.Thread(target=lambda: results.append(produce_morning_briefing(
        store.engine, store.settings, tomorrow, formats=("html",)))) for _ in range(4)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()
    with store.engine.connect() as conn:
        day = tomorrow.astimezone(store.settings.tz).date()
        rows = conn.execute(select(briefings).where(briefings.c.day == day)).all()
    assert len(rows) == 1 and rows[0].status == "ok" and rows[0].attempts == 1
    assert len(archived_files(store.settings)) == 4


def test_a_failed_render_is_recorded_without_a_file_and_retried_three_times(store: Store) -> None:
    records = produce_morning_briefing(store.engine, store.settings, store.now, formats=("pdf", "png"),
                                       executable="/bin/false")
    assert [(r.status, r.attempts, r.path, r.size_bytes) for r in records] == [("failed", 1, None, None)] * 2
    assert all("cannot start Chromium at /bin/false" in r.error for r in records)
    assert archived_files(store.settings) == []
    for attempt in (2, 3):
        records = produce_morning_briefing(store.engine, store.settings, store.now, formats=("pdf", "png"),
                                           executable="/bin/false")
        assert {r.attempts for r in records} == {attempt}
    # Three attempts are all it gets: a fourth call renders nothing.
    assert claim_morning(store.engine, store.now.astimezone(store.settings.tz).date(), "pdf", store.now) is None
    records = produce_morning_briefing(store.engine, store.settings, store.now, formats=("pdf", "png"),
                                       executable="/bin/false")
    assert {(r.status, r.attempts) for r in records} == {("failed", 3)}
    (on_demand,) = produce_briefing(store.engine, store.settings, ("png",), now=store.now, executable="/bin/false")
    assert on_demand.status == "failed" and on_demand.kind == "on_demand" and on_demand.path is None
    assert archived_files(store.settings) == []


def test_a_claim_abandoned_by_a_crash_is_taken_again_but_a_live_one_is_not(store: Store) -> None:
    day = store.now.astimezone(store.settings.tz).date()
    first = claim_morning(store.engine, day, "pdf", store.now)
    assert first is not None
    assert claim_morning(store.engine, day, "pdf", store.now + timedelta(minutes=5)) is None  # still rendering
    assert claim_morning(store.engine, day, "pdf", store.now + timedelta(minutes=20)) == first  # crashed
    (row,) = list_briefings(store.engine)
    assert (row.status, row.attempts) == ("running", 2)


@pytest.mark.browser
@pytest.mark.slow
def test_a_page_that_does_not_show_the_organisation_is_refused(store: Store) -> None:
    data = collect_briefing(store.engine, store.settings, store.now)
    doc = compose(data, "print")
    blank = type(doc)(html=doc.html.replace(ORG, ""), figures=doc.figures, expect_text=ORG, header="", footer="")
    with Chromium(CHROMIUM) as browser:
        with pytest.raises(BriefingError, match="does not show"):
            render_pdf(blank, browser=browser)
        pdf = render_pdf(doc, browser=browser)
    check_pdf(pdf, ORG)
    with pytest.raises(BriefingError, match="blank"):
        check_pdf(pdf, "Văn bản không có trong bản tin")


# --------------------------------------------------------------------------- archive, API, settings, scheduler


def test_the_api_lists_and_downloads_briefings(store: Store) -> None:
    (ok,) = produce_briefing(store.engine, store.settings, ("html",), now=store.now)
    (failed,) = produce_briefing(store.engine, store.settings, ("pdf",), now=store.now, executable="/bin/false")
    client = create_app(store.settings, []).server.test_client()
    listing = client.get("/api/v1/briefings")
    assert listing.status_code == 200 and listing.headers["Cache-Control"] == "no-store"
    items = {i["id"]: i for i in listing.json["briefings"]}
    assert listing.json["count"] == 2
    assert items[ok.id]["created_at"].endswith("+07:00") and items[ok.id]["format"] == "html"
    assert items[ok.id]["kind"] == "on_demand" and items[ok.id]["size"] == ok.size_bytes
    assert items[ok.id]["day"] == store.now.astimezone(store.settings.tz).date().isoformat()
    assert items[ok.id]["url"] == f"/api/v1/briefings/{ok.id}/download"
    assert items[failed.id]["url"] is None and "Chromium" in items[failed.id]["error"]
    download = client.get(items[ok.id]["url"])
    assert download.status_code == 200 and download.mimetype == "text/html"
    local = ok.created_at.astimezone(store.settings.tz)
    assert f'filename=ban-tin-{local:%Y-%m-%d-%H%M%S}.html' in download.headers["Content-Disposition"]
    assert download.data == ok.file(store.settings).read_bytes()
    download.close()
    assert client.get(f"/api/v1/briefings/{failed.id}/download").status_code == 404
    assert client.get("/api/v1/briefings/999999/download").status_code == 404
    assert client.get("/api/v1/briefings?limit=x").status_code == 400
    # The morning briefing downloads under the plain name of its day.
    (morning,) = produce_morning_briefing(store.engine, store.settings, store.now, formats=("html",))
    response = client.get(f"/api/v1/briefings/{morning.id}/download")
    assert f"filename=ban-tin-{morning.day.isoformat()}.html" in response.headers["Content-Disposition"]
    response.close()


def test_prune_deletes_briefings_past_their_retention(store: Store) -> None:
    produce_briefing(store.engine, store.settings, ("html",), now=store.now - timedelta(days=100))
    (recent,) = produce_briefing(store.engine, store.settings, ("html",), now=store.now - timedelta(days=3))
    assert len(archived_files(store.settings)) == 2
    assert prune(store.engine, store.settings, store.now) == 1  # 90 days by default
    assert [r.id for r in list_briefings(store.engine)] == [recent.id]
    assert archived_files(store.settings) == [recent.file(store.settings)]
    short = load_settings(var_dir=store.settings.var_dir, briefing_retention_days=2)
    assert prune(store.engine, short, store.now) == 1 and archived_files(store.settings) == []


def test_briefing_settings_are_validated(tmp_path: Path) -> None:
    settings = load_settings(var_dir=tmp_path)
    assert (settings.briefing_time, settings.briefing_retention_days) == ("07:00", 90)
    assert load_settings(var_dir=tmp_path, briefing_time="18:30").briefing_time == "18:30"
    for bad in ("7h", "24:00", "07:60", ""):
        with pytest.raises(ConfigError, match="BRIEFING_TIME.*HH:MM"):
            load_settings(var_dir=tmp_path, briefing_time=bad)
    with pytest.raises(ConfigError, match="BRIEFING_RETENTION_DAYS"):
        load_settings(var_dir=tmp_path, briefing_retention_days=0)


def test_the_morning_job_is_scheduled_and_only_the_lease_holder_runs_leader_jobs(engine: Engine,
                                                                                 tmp_path: Path) -> None:
    settings = load_settings(var_dir=tmp_path, scheduler_heartbeat_seconds=1, briefing_time="06:45")
    poller = PollScheduler(engine, scripted_specs(tmp_path, "name: a\nevery: 1h"), settings)
    add_briefing_jobs(poller)
    calls: list[bool] = []
    poller.add_leader_job(lambda: calls.append(poller.is_leader), IntervalTrigger(seconds=0.05), "test:probe")
    assert try_acquire_lease(engine, "another-scheduler", timedelta(seconds=30))  # someone else leads
    poller.start()
    try:
        jobs = {job.id: job for job in poller._scheduler.get_jobs()}
        time.sleep(1.0)
        assert calls == []  # a standby runs no leader job
        trigger = jobs[MORNING_JOB].trigger
        nxt = trigger.get_next_fire_time(None, datetime.now(settings.tz))
        assert (nxt.hour, nxt.minute, nxt.utcoffset()) == (6, 45, timedelta(hours=7))
        assert CATCH_UP_JOB in jobs
        with engine.begin() as conn:  # the other scheduler stops: this one takes the lease
            conn.execute(delete(scheduler_lease))
        deadline = time.monotonic() + 10
        while not calls and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        poller.shutdown()
    assert calls and all(calls)


# --------------------------------------------------------------------------- the Briefings page


@pytest.mark.browser
@pytest.mark.slow
def test_the_page_produces_a_pdf_in_the_background_and_lists_it(tmp_path: Path) -> None:
    sources = """
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
    env = {"DEMO_BACKFILL_DAYS": "0.3", "PAGE_REFRESH_SECONDS": "2", "ORGANISATION_NAME": ORG}
    with running_app(tmp_path, sources, **env) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 900}, accept_downloads=True)
        watch = PageWatch(page)
        sign_in(page, base)  # producing a briefing is an operator's action
        page.goto(base + "/briefings")
        page.get_by_text("Tạo bản tin ngay").wait_for(timeout=30_000)
        assert page.locator("#briefing-grid .ag-row").count() == 0
        with page.expect_download(timeout=180_000) as download_info:
            page.get_by_text("Tạo bản tin ngay").click()
            page.locator("#briefing-working").wait_for(state="visible", timeout=30_000)  # the progress shows
            disabled = page.locator("#briefing-make").is_disabled()
        download = download_info.value
        saved = tmp_path / download.suggested_filename
        download.save_as(saved)
        page.locator("#briefing-result", has_text="Đã tạo bản tin").wait_for(timeout=30_000)
        link = page.locator("#briefing-grid .ag-row a").first
        link.wait_for(timeout=30_000)
        link_text, href = link.inner_text(), link.get_attribute("href")
    assert disabled
    assert re.fullmatch(r"ban-tin-\d{4}-\d{2}-\d{2}-\d{6}\.pdf", download.suggested_filename)
    assert saved.read_bytes().startswith(b"%PDF-")
    assert ORG in pdf_text(saved) and "Chỉ tiêu điều hành chính" in pdf_text(saved)
    assert link_text == download.suggested_filename and re.fullmatch(r"/api/v1/briefings/\d+/download", href)
    assert watch.console_errors == [] and watch.foreign_requests == []
