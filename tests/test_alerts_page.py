"""The desktop Alerts page: its rows, its filters in the URL, its actions called as Dash would
call them (against a real migrated store), and the whole page in headless Chromium."""
from __future__ import annotations

import importlib
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from dash import no_update
from sqlalchemy import Engine, insert

from components.alert_list import alert_lines
from components.alerts_table import (
    AlertFilters,
    alert_rows,
    filters_search,
    history_table,
    outcome_list,
    parse_filters,
    parse_search,
    subject_href,
)
from queries.alerts import AlertEvent, AlertRow, get_alert, list_alerts, list_silences
from queries.facilities import first_outfalls
from settings import load_settings
from store.migrate import upgrade
from store.schema import alert_events, alerts, entities
from tests.browser import PageWatch, chromium, running_app, screenshot, sign_in, signed_in_client
from tests.servers import free_port

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
T0 = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)  # 10:00 in Hà Nội
M = timedelta(minutes=1)
OPERATOR_PW = "Ca-truc-dem-2026"
PageUnderTest = tuple[ModuleType, Engine, list[int]]  # pages.alerts, its store, the ids of its alerts


def alert(id: int = 1, kind: str = "station", code: str = "HNI-WW-01", name: str = "Trạm HNI-WW-01",
          state: str = "firing", severity: str = "critical", **extra: Any) -> AlertRow:
    values: dict[str, Any] = {
        "id": id, "rule_id": "cod-high", "subject_kind": kind, "subject_code": code, "subject_name": name,
        "severity": severity, "state": state, "started_at": T0, "last_seen_at": T0 + 5 * M, "resolved_at": None,
        "value": 152.346, "threshold": 100.0, "message": "COD 152 mg/L > 100", "ack_by": None, "ack_at": None,
        "ack_note": None, "escalated_at": None,
    }
    return AlertRow(**{**values, **extra})


# --------------------------------------------------------------------------- rows


def test_rows_say_severity_and_state_in_words_with_local_times_and_vi_numbers() -> None:
    acked = alert(2, state="acknowledged", severity="minor", ack_by="Trần Thị Bình", ack_at=T0 + 10 * M,
                  ack_note="đã báo cơ sở")
    done = alert(3, state="resolved", severity="info", resolved_at=T0 + 90 * M, threshold=None, value=7.0)
    rows = alert_rows([alert(), acked, done], TZ, "vi", rule_names={"cod-high": "COD cao"})
    first, second, third = rows
    assert (first["id"], first["number"], first["severity_text"], first["state_text"]) == (
        "1", 1, "Nghiêm trọng", "Đang cảnh báo")
    assert first["started"] == "20/11/2026 10:00"  # 03:00 UTC shown in Hà Nội
    assert first["value"] == "152,35 / 100"
    assert first["rule"] == "COD cao" and first["ack_by"] == "" and first["resolved"] == ""
    assert first["started_ts"] == T0.timestamp()  # the grid sorts on this, not on the dd/MM text
    assert (second["state_text"], second["ack_by"], second["ack_at"], second["ack_note"]) == (
        "Đã xác nhận", "Trần Thị Bình", "20/11/2026 10:10", "đã báo cơ sở")
    assert (third["state_text"], third["resolved"], third["value"], third["severity_text"]) == (
        "Đã kết thúc", "20/11/2026 11:30", "7", "Thông tin")
    english = alert_rows([acked], TZ, "en")[0]
    assert (english["severity_text"], english["state_text"], english["rule"]) == ("Minor", "Acknowledged", "cod-high")


def test_rows_and_wall_lines_give_the_message_in_the_readers_language() -> None:
    both = alert(message="COD = 1.234,5 mg/L (> 100 mg/L)", message_en="COD = 1,234.5 mg/L (> 100 mg/L)")
    older = alert(2, message="COD = 120 mg/L (> 100 mg/L)")  # stored before English messages: no message_en
    vi, en = alert_rows([both, older], TZ, "vi"), alert_rows([both, older], TZ, "en")
    assert [r["message"] for r in vi] == ["COD = 1.234,5 mg/L (> 100 mg/L)", "COD = 120 mg/L (> 100 mg/L)"]
    assert [r["message"] for r in en] == ["COD = 1,234.5 mg/L (> 100 mg/L)", "COD = 120 mg/L (> 100 mg/L)"]
    lines = alert_lines([both], "en", TZ, T0, size=2, new_within=timedelta(minutes=5))
    assert "COD = 1,234.5 mg/L (> 100 mg/L)" in str(lines) and "1.234,5" not in str(lines)


def test_subjects_link_to_their_page_and_names_are_never_markup() -> None:
    outfalls = {"HNI-FAC-01": "HNI-WW-07"}
    rows = alert_rows([
        alert(1, "station", "HNI-WW-01", "Trạm [giả](javascript:alert(1))"),
        alert(2, "facility", "HNI-FAC-01", "Nhà máy *A*"),
        alert(3, "facility", "HNI-FAC-09", "Nhà máy không có trạm"),
        alert(4, "province", "HNI", "Hà Nội"),
        alert(5, "source", "partner-api", "partner-api"),
    ], TZ, "vi", outfalls)
    links = [r["link"] for r in rows]
    # The name's own brackets are escaped: the only link is ours, to the station page.
    assert links[0] == r"[Trạm \[giả\]\(javascript:alert\(1\)\)](/station/HNI-WW-01)"
    assert links[1] == r"[Nhà máy \*A\*](/station/HNI-WW-07)"  # a facility opens its first outfall
    assert links[2] == "Nhà máy không có trạm"  # no station: plain text, no dead link
    assert links[3] == "[Hà Nội](/environment?province=HNI)"
    assert links[4] == r"[partner\-api](/sources)"
    assert subject_href("kpi", "LAND-01", {}) is None
    assert subject_href("station", "A B/C", {}) == "/station/A%20B%2FC"
    assert rows[0]["subject"] == "Trạm [giả](javascript:alert(1))"  # what the search reads


def test_first_outfalls_prefer_wastewater_stations_then_the_lowest_code(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(insert(entities), [
            {"code": "F1", "kind": "facility", "subtype": "wastewater", "name": "Nhà máy 1", "meta": {}},
            {"code": "F1-EM-01", "kind": "station", "subtype": "emission", "name": "Ống khói", "meta": {"facility": "F1"}},
            {"code": "F1-WW-02", "kind": "station", "subtype": "wastewater", "name": "CX 2", "meta": {"facility": "F1"}},
            {"code": "F1-WW-01", "kind": "station", "subtype": "wastewater", "name": "CX 1", "meta": {"facility": "F1"}},
            {"code": "F2-EM-01", "kind": "station", "subtype": "emission", "name": "Ống khói 2", "meta": {"facility": "F2"}},
            {"code": "X-01", "kind": "station", "subtype": "air", "name": "Trạm", "meta": {}},
        ])
    assert first_outfalls(engine, ["F1", "F2", "F3"]) == {"F1": "F1-WW-01", "F2": "F2-EM-01"}
    assert first_outfalls(engine, []) == {}


# --------------------------------------------------------------------------- filters in the URL


def test_filters_come_from_the_url_and_bad_values_fall_back_to_the_defaults() -> None:
    assert parse_filters({}) == AlertFilters("open", None, "")
    assert parse_filters({"state": "resolved", "severity": "critical"}) == AlertFilters("resolved", "critical", "")
    assert parse_filters({"state": "Acknowledged", "severity": "MAJOR", "q": "  COD "}) == AlertFilters(
        "acknowledged", "major", "COD")
    assert parse_filters({"state": "burning", "severity": "loud"}) == AlertFilters("open", None, "")
    assert parse_filters({"state": ["all", "firing"]}).state == "all"  # a repeated parameter: the first counts
    assert parse_search("?state=resolved&severity=critical") == AlertFilters("resolved", "critical", "")
    assert parse_search("?q=Tr%E1%BA%A1m+H%C3%A0+N%E1%BB%99i").search == "Trạm Hà Nội"
    assert parse_search(None) == AlertFilters()


def test_the_url_keeps_other_parameters_and_leaves_defaults_out() -> None:
    assert filters_search(AlertFilters()) == ""
    assert filters_search(AlertFilters("resolved", "critical")) == "?state=resolved&severity=critical"
    search = filters_search(AlertFilters("open", "minor", "Hà Nội"), "?lang=en&state=firing")
    assert search == "?lang=en&severity=minor&q=H%C3%A0+N%E1%BB%99i"
    assert parse_search(search) == AlertFilters("open", "minor", "Hà Nội")  # a round trip


def test_history_and_outcomes_read_as_words() -> None:
    events = [
        AlertEvent(1, 7, "cod-high", "station", "S", T0, "fired", None, None, 152.0, None),
        AlertEvent(2, 7, "cod-high", "station", "S", T0 + M, "acknowledged", "Bình", "đã gọi <b>cơ sở</b>", 152.0, None),
    ]
    panel = history_table({"id": "7", "number": 7, "subject": "Trạm S", "rule": "COD cao"}, events, TZ, "vi")
    text = str(panel)
    assert "Phát cảnh báo" in text and "Xác nhận" in text and "10:01:00" in text
    assert "'đã gọi <b>cơ sở</b>'" in text  # a note is a text child: Dash escapes it, never parses it
    assert "Chọn một cảnh báo" in str(history_table(None, [], TZ, "vi"))
    result = str(outcome_list({1: "acknowledged", 2: "resolved", 9: "not_found"}, {1: {"subject": "A"}}, "vi"))
    assert "Đã xác nhận 1/3" in result and "#2 · : đã kết thúc" in result and "#9 · : không còn" in result


# --------------------------------------------------------------------------- the page's callbacks


@pytest.fixture
def page(tmp_path: Path) -> Iterator[PageUnderTest]:
    """The app on a migrated store holding three alerts (two firing, one resolved), in an app context."""
    from app import create_app
    from services import current

    app = create_app(load_settings(var_dir=tmp_path), specs=[])
    with app.server.app_context():
        engine = current().engine
        upgrade(engine)
        ids = []
        with engine.begin() as conn:
            for i, (code, state) in enumerate([("HNI-WW-01", "firing"), ("HNI-WW-02", "firing"),
                                               ("HNI-WW-03", "resolved")]):
                alert_id = conn.execute(insert(alerts).values(
                    rule_id="cod-high", subject_kind="station", subject_code=code, subject_name=f"Trạm {code}",
                    severity="critical", state=state, started_at=T0 + i * M, last_seen_at=T0 + 9 * M, value=120.0,
                    threshold=100.0, message="COD cao", resolved_at=T0 + 9 * M if state == "resolved" else None,
                ).returning(alerts.c.id)).scalar_one()
                conn.execute(insert(alert_events).values(
                    alert_id=alert_id, rule_id="cod-high", subject_kind="station", subject_code=code, at=T0 + i * M,
                    event="fired", value=120.0))
                ids.append(alert_id)
        # Dash imports the pages on the first request; the test imports it itself, after the app exists.
        yield importlib.import_module("pages.alerts"), engine, ids
        engine.dispose()


def rows_of(ids: list[int]) -> list[dict[str, Any]]:
    return [{"id": str(i), "subject": f"alert {i}"} for i in ids]


def test_acknowledging_the_selected_alerts_changes_the_store_and_says_what_happened_to_each(page: PageUnderTest) -> None:
    module, engine, (first, second, resolved) = page
    selected = rows_of([first, second, resolved])
    result, changed, remembered, note = module.acknowledge_selected(
        1, selected, selected, "  Trần Thị Bình ", "đã báo cơ sở", 4)
    assert (changed, remembered, note) == (5, "Trần Thị Bình", "")  # grid redrawn, name kept, note cleared
    text = str(result)
    assert "Đã xác nhận 2/3" in text and f"#{resolved} · alert {resolved}: đã kết thúc" in text
    for alert_id in (first, second):
        row = get_alert(engine, alert_id)
        assert (row.state, row.ack_by, row.ack_note) == ("acknowledged", "Trần Thị Bình", "đã báo cơ sở")
    assert get_alert(engine, resolved).state == "resolved"
    # The grid and the history read the change at once.
    grid_rows, *_ = module.refresh(None, "acknowledged", "any", 5)
    assert sorted(r["number"] for r in grid_rows) == [first, second]
    assert {r["ack_by"] for r in grid_rows} == {"Trần Thị Bình"}
    count, history = module.show_selection([{"id": str(first), "number": first, "subject": "A"}], 5, None)
    assert count == "Đã chọn 1 cảnh báo"
    assert "Xác nhận" in str(history) and "Trần Thị Bình" in str(history)
    # Twice: the first acknowledgement stands.
    again, *_ = module.acknowledge_selected(2, selected[:1], None, "Người khác", "", 5)
    assert "đã được xác nhận trước đó" in str(again)
    assert get_alert(engine, first).ack_by == "Trần Thị Bình"


def test_acknowledging_refuses_without_a_selection_or_a_name_and_changes_nothing(page: PageUnderTest) -> None:
    module, engine, (first, second, _) = page
    nothing = module.acknowledge_selected(1, [], [], "Bình", "", 0)
    assert "Chưa chọn cảnh báo nào" in str(nothing[0]) and nothing[1:] == (no_update, no_update, no_update)
    nameless = module.acknowledge_selected(1, rows_of([first]), None, "   ", "", 0)
    assert "Nhập họ và tên" in str(nameless[0]) and nameless[1] is no_update
    # Ticked, then hidden by the search: not acknowledged behind the operator's back.
    hidden = module.acknowledge_selected(1, rows_of([first, second]), rows_of([second]), "Bình", "", 0)
    assert "Đã xác nhận 1/1" in str(hidden[0])
    assert [a.id for a in list_alerts(engine, "firing")] == [first]


def test_silencing_the_selected_alerts_and_ending_the_silence(page: PageUnderTest) -> None:
    module, engine, (first, second, _) = page
    refused = module.silence_selected(1, rows_of([first]), None, "Bình", "4h", "  ", 0)
    assert "Nhập lý do" in str(refused[0]) and list_silences(engine, datetime.now(UTC)) == []
    # Both alerts are of one rule on two stations: one silence each.
    selected = [{"id": str(i), "rule_id": "cod-high", "subject_code": code}
                for i, code in ((first, "HNI-WW-01"), (second, "HNI-WW-02"))]
    before = datetime.now(UTC)
    result, changed, remembered, reason = module.silence_selected(1, selected, selected, "Bình", "4h", "bảo trì", 0)
    assert (changed, remembered, reason) == (1, "Bình", "") and "Đã tạm im lặng 2" in str(result)
    made = list_silences(engine, datetime.now(UTC))
    assert sorted((s.rule_id, s.subject_code, s.created_by, s.reason) for s in made) == [
        ("cod-high", "HNI-WW-01", "Bình", "bảo trì"), ("cod-high", "HNI-WW-02", "Bình", "bảo trì")]
    assert all(timedelta(hours=4) <= s.ends_at - before < timedelta(hours=4, minutes=1) for s in made)
    *_, silence_rows = module.refresh(None, "open", "any", 1)
    assert {r["subject"] for r in silence_rows} == {"HNI-WW-01", "HNI-WW-02"}
    # A click elsewhere in the row does nothing; on "end now" the silence ends.
    assert module.expire_clicked({"colId": "reason", "rowId": str(made[0].id)}, 1) == (no_update, no_update)
    ended = module.expire_clicked({"colId": "expire", "rowId": str(made[0].id)}, 1)
    assert ended[1] == 2 and f"#{made[0].id}" in str(ended[0])
    assert [s.id for s in list_silences(engine, datetime.now(UTC))] == [made[1].id]


def test_the_layout_reads_its_filters_from_the_url(page: PageUnderTest) -> None:
    module, _, _ = page
    text = str(module.layout(state="resolved", severity="critical", q="HNI"))
    assert "value='resolved'" in text and "value='critical'" in text and "'quickFilterText': 'HNI'" in text
    assert "value='open'" in str(module.layout(state="nonsense"))
    assert module.keep_in_url("acknowledged", "any", "", "?lang=en") == "?lang=en&state=acknowledged"


# --------------------------------------------------------------------------- in the browser


RULES = """\
rules:
  - id: source-failing
    name: {vi: "Nguồn dữ liệu lỗi", en: "Data source failing"}
    kind: source_failing
    severity: major
    scope: source
    failures: 1
"""


@pytest.mark.browser
@pytest.mark.slow
def test_acknowledging_two_alerts_in_the_browser(tmp_path: Path) -> None:
    # Two partner APIs that nobody answers: each poll fails, and the rule fires on the first failure.
    dead = free_port()
    entry = ("  - name: {name}\n    kind: http_json\n    every: 1m\n    timeout: 5\n    options: {{url: "
             "'http://127.0.0.1:{port}/{name}', retries: 0, records: items, entity: code, time: t, series: {{PM2.5: v}}}}\n")
    sources = "sources:\n" + "".join(entry.format(name=n, port=dead) for n in ("partner-a", "partner-b"))
    rules = tmp_path / "alerts.yaml"
    rules.write_text(RULES, encoding="utf-8")
    env = {"ALERTS_FILE": str(rules), "DEMO_BACKFILL_DAYS": "0", "PAGE_REFRESH_SECONDS": "1", "CACHE_SECONDS": "1"}
    with running_app(tmp_path, sources, **env) as base, chromium() as browser:
        deadline = time.monotonic() + 60
        while httpx.get(base + "/api/v1/alerts").json()["count"] < 2:
            assert time.monotonic() < deadline, "the failing sources raised no alerts"
            time.sleep(0.5)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        watch = PageWatch(page)
        # An operator account made by the first admin; acknowledgements carry its name.
        with signed_in_client(base) as admin:
            made = admin.post("/api/v1/users", json={"username": "binh", "role": "operator", "password": OPERATOR_PW,
                                                     "display_name": "Trần Thị Bình"},
                              headers={"X-CSRFToken": admin.cookies.get("_csrf_token", "")})
            assert made.status_code == 201, made.text
        sign_in(page, base, "binh", OPERATOR_PW)
        page.goto(base + "/alerts")
        states = page.locator("#alerts-grid .ag-row [col-id='state_text']")
        page.locator("#alerts-grid .ag-row").nth(1).wait_for(timeout=30_000)
        assert states.all_inner_texts() == ["Đang cảnh báo", "Đang cảnh báo"]
        assert page.locator("#alerts-counts").inner_text().startswith("0 Nghiêm trọng")
        assert "2 Cao" in page.locator("#alerts-counts").inner_text()
        link = page.locator("#alerts-grid .ag-row [col-id='link'] a").first
        assert link.get_attribute("href") == "/sources"  # a source's alert opens the Sources page
        page.evaluate("window.__same_page = true")  # gone if anything reloads the page

        checkboxes = page.locator("#alerts-grid .ag-row .ag-selection-checkbox input")
        checkboxes.nth(0).check()
        checkboxes.nth(1).check()
        page.locator("#alerts-selected-count", has_text="Đã chọn 2").wait_for(timeout=10_000)
        # Signed in, the operator acts under their own name: shown, not editable.
        name = page.locator("#alerts-operator-name")
        assert name.input_value() == "Trần Thị Bình" and name.get_attribute("readonly") is not None
        assert states.all_inner_texts() == ["Đang cảnh báo", "Đang cảnh báo"]

        page.fill("#alerts-note", "đã báo đối tác kiểm tra")
        page.locator("#alerts-ack").click()
        page.locator("#alerts-ack-result", has_text="Đã xác nhận 2/2").wait_for(timeout=10_000)
        page.wait_for_function(
            """() => { const cells = [...document.querySelectorAll("#alerts-grid .ag-row [col-id='state_text']")];
                       return cells.length === 2 && cells.every(c => c.textContent === "Đã xác nhận"); }""",
            timeout=10_000)
        assert page.evaluate("window.__same_page") is True
        assert page.locator("#alerts-grid .ag-row [col-id='ack_by']").all_inner_texts() == ["Trần Thị Bình"] * 2
        assert {a["acknowledgement"]["by"] for a in httpx.get(base + "/api/v1/alerts").json()["alerts"]} == {
            "Trần Thị Bình"}
        # A click on a row selects it alone and shows its history, acknowledgement included.
        page.locator("#alerts-grid .ag-row [col-id='rule']").first.click()
        history = page.locator("#alerts-history")
        history.locator("td", has_text="Trần Thị Bình").wait_for(timeout=10_000)
        assert "Phát cảnh báo" in history.inner_text() and "đã báo đối tác kiểm tra" in history.inner_text()
        screenshot(page, "alerts")

        # The URL holds the filter; the browser remembers the operator's name.
        page.goto(base + "/alerts?state=acknowledged")
        page.locator("#alerts-grid .ag-row").nth(1).wait_for(timeout=30_000)
        assert states.all_inner_texts() == ["Đã xác nhận", "Đã xác nhận"]
        assert page.locator("#alerts-state").inner_text().strip() == "Đã xác nhận"
        assert page.input_value("#alerts-operator-name") == "Trần Thị Bình"
        page.goto(base + "/alerts?state=firing")
        page.locator("#alerts-grid", has_text="Không có cảnh báo nào khớp bộ lọc").wait_for(timeout=30_000)
        assert page.locator("#alerts-grid .ag-row").count() == 0
        assert watch.console_errors == []
        assert watch.foreign_requests == []


def test_readers_see_no_action_controls_operators_do(page: PageUnderTest) -> None:
    from flask import current_app, g

    from auth.policy import Principal

    module, _, _ = page

    def actions_hidden(principal: Principal | None) -> tuple[bool, bool]:
        with current_app.test_request_context("/alerts"):
            g.principal = principal
            tree = module.layout()
        section = next(c for c in tree.children if "alerts-actions" in (getattr(c, "className", "") or ""))
        note = next(c for c in tree.children if "alerts-readonly" in (getattr(c, "className", "") or ""))
        return section.hidden, note.hidden

    assert actions_hidden(Principal("anonymous", "anonymous", "viewer")) == (True, False)
    assert actions_hidden(Principal("user", "binh", "operator", label="Trần Thị Bình")) == (False, True)
