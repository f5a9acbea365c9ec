"""The admin pages (/admin, /admin/users, /admin/tokens, /admin/audit): their rows and URL filters,
their callbacks called as Dash's renderer calls them (Flask test client, real SQLite store, the
access rules of auth/web.py), and the whole flow in headless Chromium."""
from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import Engine

from auth import audit
from auth.accounts import User, authenticate, create_user, get_user
from auth.audit import AuditEntry
from auth.tokens import Token, create_token, find_token
from components.admin import (
    action_filter,
    audit_filters,
    audit_rows,
    audit_search,
    detail_text,
    kiosk_url,
    token_rows,
    user_rows,
    user_state,
)
from settings import load_settings
from tests.browser import PageWatch, chromium, running_app, screenshot, sign_in

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
T0 = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)  # 10:00 in Hà Nội
ADDRESS = "10.1.2.3"
PASSWORDS = {"adam": "admin-Pa55word-xy", "olga": "operator-Pa55word-x"}


# --------------------------------------------------------------------------- rows and filters (pure)


def user(name: str = "binh", **extra: Any) -> User:
    values: dict[str, Any] = {
        "id": 1, "username": name, "display_name": "Trần Thị Bình", "role": "operator", "disabled": False,
        "created_at": T0, "password_changed_at": T0, "failed_logins": 0, "locked_until": None, "last_login_at": None}
    return User(**{**values, **extra})


def test_account_rows_say_role_and_state_in_words_with_local_times() -> None:
    accounts = [user(), user("an", role="admin", last_login_at=T0 + timedelta(hours=2)),
                user("cuong", role="viewer", disabled=True, locked_until=T0 + timedelta(hours=1)),
                user("dung", locked_until=T0 + timedelta(minutes=15)),
                user("em", locked_until=T0 - timedelta(minutes=1))]
    rows = user_rows(accounts, TZ, "vi", now=T0)
    assert [(r["username"], r["role_text"], r["state"], r["state_text"]) for r in rows] == [
        ("binh", "trực ban", "active", "Đang hoạt động"),
        ("an", "quản trị", "active", "Đang hoạt động"),
        ("cuong", "xem", "disabled", "Đã vô hiệu hóa"),  # disabled says so, whatever the lockout
        ("dung", "trực ban", "locked", "Tạm khóa đến 20/11/2026 10:15"),
        ("em", "trực ban", "active", "Đang hoạt động"),  # a lockout that has passed
    ]
    first, second = rows[:2]
    assert (first["id"], first["last_login"], first["created"]) == ("binh", "chưa bao giờ", "20/11/2026 10:00")
    assert second["last_login"] == "20/11/2026 12:00" and second["last_login_ts"] == (T0 + timedelta(hours=2)).timestamp()
    english = user_rows([user(locked_until=T0 + timedelta(minutes=15))], TZ, "en", now=T0)[0]
    assert (english["role_text"], english["state_text"], english["last_login"]) == (
        "operator", "Locked until 20/11/2026 10:15", "never")
    assert user_state(user(disabled=True), T0) == "disabled"


def token(id: int, kind: str = "api", **extra: Any) -> Token:
    values: dict[str, Any] = {"id": id, "kind": kind, "name": f"token {id}", "scope": "read",
                              "wall": "overview" if kind == "kiosk" else None, "created_by": "admin",
                              "created_at": T0, "last_used_at": None, "revoked_at": None}
    return Token(**{**values, **extra})


def test_token_rows_list_live_tokens_first_and_never_a_secret() -> None:
    rows = token_rows([token(1, revoked_at=T0 + timedelta(days=1)), token(2, scope="operator"),
                       token(3, "kiosk", last_used_at=T0 + timedelta(minutes=5))], TZ, "vi")
    assert [r["number"] for r in rows] == [3, 2, 1]  # live ones newest first, then the revoked
    kiosk, api, revoked = rows
    assert (kiosk["kind_text"], kiosk["wall"], kiosk["scope_text"], kiosk["last_used"], kiosk["revoked_text"]) == (
        "Kiosk", "overview", "chỉ đọc", "20/11/2026 10:05", "còn hiệu lực")
    assert (api["scope_text"], api["wall"], api["last_used"], api["revoked"]) == ("trực ban", "", "chưa bao giờ", False)
    assert (revoked["revoked"], revoked["revoked_text"]) == (True, "21/11/2026 10:00")
    assert not any("hash" in key or "secret" in key for row in rows for key in row)
    assert token_rows([token(4)], TZ, "en")[0]["revoked_text"] == "live"


def test_audit_rows_show_seconds_in_the_centres_zone_and_outcomes_in_words() -> None:
    entries = [AuditEntry(7, T0 + timedelta(seconds=5), "admin", "token.revoke", "kiosk:3", "10.0.0.1", "ok", ""),
               AuditEntry(6, T0, "olga", "denied.page", "/admin/users", "10.0.0.2", "denied", "")]
    rows = audit_rows(entries, TZ, "vi")
    assert [(r["id"], r["at"], r["actor"], r["action"], r["outcome_text"]) for r in rows] == [
        ("7", "20/11/2026 10:00:05", "admin", "token.revoke", "thành công"),
        ("6", "20/11/2026 10:00:00", "olga", "denied.page", "bị từ chối")]
    assert audit_rows(entries[1:], TZ, "en")[0]["outcome_text"] == "denied"


def test_callback_details_read_as_names_and_values() -> None:
    recorded = json.dumps([{"id": "admin-users-create", "property": "n_clicks", "value": 1},
                           {"id": "admin-users-new-name", "property": "value", "value": "binh"},
                           {"id": "admin-users-new-label", "property": "value", "value": "Trần Thị Bình"},
                           {"id": "admin-tokens-targets", "property": "data", "value": [2, 3]},
                           {"id": "admin-users-grid", "property": "selectedRows", "value": None}], ensure_ascii=False)
    assert detail_text(recorded) == ("admin-users-new-name=binh · admin-users-new-label=Trần Thị Bình · "
                                     "admin-tokens-targets=[2, 3] · admin-users-grid.selectedRows=null")
    for other in ("role=operator", "", "[{cut at the limit", '[{"a": 1}, 2]'):
        assert detail_text(other) == other


def test_audit_filters_live_in_the_url() -> None:
    assert audit_filters({}) == ("", "")
    assert audit_filters({"action": " user ", "actor": ["admin", "olga"]}) == ("user", "admin")  # repeated: first
    # A word is a family of actions; a dotted name is one action (or a family when it ends in '.').
    assert [action_filter(v) for v in (None, " ", "user", "token.revoke", "user.")] == [
        None, None, "user.", "token.revoke", "user."]
    assert audit_search("", "") == ""
    assert audit_search("user", "admin", "?lang=en&action=token") == "?lang=en&action=user&actor=admin"
    assert audit_search(None, " Trần ", "") == "?actor=Tr%E1%BA%A7n"
    assert kiosk_url("http://10.0.0.5:8050/", "overview", "opsc_abc") == (
        "http://10.0.0.5:8050/wall/overview?kiosk=1&token=opsc_abc")


# --------------------------------------------------------------------------- callbacks through the web layer


@pytest.fixture
def app(engine: Engine, tmp_path: Path) -> Any:
    """The app on the test's store, anonymous access off, an admin (adam) and an operator (olga)."""
    from app import create_app

    app = create_app(load_settings(var_dir=tmp_path, database_url=str(engine.url), anonymous_access=False,
                                   language="vi"), [])
    assert app.server.test_client().get("/livez").status_code == 200  # Dash sets itself up
    for name, password in PASSWORDS.items():
        create_user(engine, name, password, "admin" if name == "adam" else "operator", actor="tests")
    return app


def signed_in(app: Any, username: str) -> Any:
    client = app.server.test_client()
    client.get("/login")
    answer = client.post("/login", data={"username": username, "password": PASSWORDS[username],
                                         "csrf_token": client.get_cookie("_csrf_token").value},
                         environ_overrides={"REMOTE_ADDR": ADDRESS})
    assert answer.status_code == 302, answer.text
    return client


def call(client: Any, app: Any, module: str, name: str, inputs: list[tuple[str, str, Any]],
         state: list[tuple[str, str, Any]] = ()) -> Any:
    """POST /_dash-update-component as the renderer does for callback ``name`` of pages.``module``."""
    (key,) = [k for k, e in app.callback_map.items() if getattr(e.get("callback"), "__name__", "") == name
              and getattr(e.get("callback"), "__module__", "") == f"pages.{module}"]
    specs = app.callback_map[key]["output"]
    specs = specs if isinstance(specs, list) else [specs]
    as_dash = [{"id": i, "property": p, "value": v} for i, p, v in inputs]
    body = {"output": key, "outputs": [{"id": s.component_id, "property": s.component_property.split("@")[0]}
                                       for s in specs],
            "inputs": as_dash, "changedPropIds": [f"{inputs[0][0]}.{inputs[0][1]}"],
            "state": [{"id": i, "property": p, "value": v} for i, p, v in state]}
    return client.post("/_dash-update-component", json=body,
                       headers={"X-CSRFToken": client.get_cookie("_csrf_token").value},
                       environ_overrides={"REMOTE_ADDR": ADDRESS})


def output(response: Any, component: str, prop: str = "children") -> Any:
    assert response.status_code == 200, response.text
    return response.get_json()["response"][component][prop]


def create_call(client: Any, app: Any, username: str, role: str = "operator", label: str = "") -> Any:
    return call(client, app, "admin_users", "create_account", [("admin-users-create", "n_clicks", 1)],
                [("admin-users-new-name", "value", username), ("admin-users-new-label", "value", label),
                 ("admin-users-new-role", "value", role), ("admin-users-changed", "data", 0)])


def secret_of(children: Any) -> str:
    """The one-time secret in a result (the html.Code inside the message)."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            props = node.get("props", {})
            if "admin-secret" in str(props.get("className", "")).split():
                found.append(props["children"])
            walk(props.get("children"))
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(children)
    (secret,) = found
    return secret


def test_an_admin_creates_an_account_and_the_password_is_shown_once(app: Any, engine: Engine) -> None:
    admin = signed_in(app, "adam")
    result = output(create_call(admin, app, "Binh", label="Trần Thị Bình"), "admin-users-create-result")
    password = secret_of(result)
    assert len(password) == 20 and "Đã tạo tài khoản binh (vai trò trực ban)" in str(result)
    assert "Chỉ hiển thị một lần" in str(result)
    made = get_user(engine, "binh")
    assert (made.role, made.display_name) == ("operator", "Trần Thị Bình")
    assert authenticate(engine, "binh", password).user is not None
    # Both the account function and the web layer recorded it, as the admin, from the admin's address.
    (own,) = audit.recent(engine, 10, "user.create", "adam")
    assert (own.target, own.address, own.detail) == ("binh", ADDRESS, "role=operator")
    (web,) = audit.recent(engine, 10, "admin.user_create", "adam")
    assert web.address == ADDRESS and password not in web.detail
    # The grid lists it; a name in use or a bad one is refused in words.
    rows = output(call(admin, app, "admin_users", "refresh", [("admin-users-refresh", "n_intervals", 1),
                                                              ("admin-users-changed", "data", 1)]),
                  "admin-users-grid", "rowData")
    assert {r["username"]: r["state_text"] for r in rows} == {
        "adam": "Đang hoạt động", "binh": "Đang hoạt động", "olga": "Đang hoạt động"}
    assert "đã có người dùng" in str(output(create_call(admin, app, "binh"), "admin-users-create-result"))
    assert "không hợp lệ" in str(output(create_call(admin, app, "x"), "admin-users-create-result"))
    bad_role = output(create_call(admin, app, "chi", role="root"), "admin-users-create-result")
    assert "is-error" in str(bad_role) and get_user(engine, "chi") is None


def selected(username: str | None) -> tuple[str, str, Any]:
    return ("admin-users-target", "data", username)


def test_role_disable_enable_and_reset_of_the_selected_account(app: Any, engine: Engine) -> None:
    admin = signed_in(app, "adam")
    olga = signed_in(app, "olga")

    def act(name: str, button: str, who: str, *extra: tuple[str, str, Any]) -> str:
        response = call(admin, app, "admin_users", name, [(f"admin-users-{button}", "n_clicks", 1)],
                        [selected(who), *extra, ("admin-users-changed", "data", 0)])
        return str(output(response, "admin-users-result"))

    assert "thành xem" in act("change_role", "set-role", "olga", ("admin-users-role", "value", "viewer"))
    assert get_user(engine, "olga").role == "viewer"
    assert "kết thúc ngay" in act("disable_account", "disable", "olga")
    assert get_user(engine, "olga").disabled
    assert olga.get("/alerts").status_code in (302, 401)  # her session ended at once
    act("enable_account", "enable", "olga")
    assert not get_user(engine, "olga").disabled
    reset = call(admin, app, "admin_users", "reset_password", [("admin-users-reset", "n_clicks", 1)],
                 [selected("olga"), ("admin-users-changed", "data", 0)])
    password = secret_of(output(reset, "admin-users-result"))
    assert authenticate(engine, "olga", password).user is not None
    assert authenticate(engine, "olga", PASSWORDS["olga"]).user is None
    assert [e.action for e in audit.recent(engine, 20, "user.", "adam")] == [
        "user.password", "user.enable", "user.disable", "user.role"]
    # Not on oneself: an admin could lock everybody out.
    for name, button in (("disable_account", "disable"), ("reset_password", "reset")):
        assert "chính mình" in act(name, button, "adam")
    assert "chính mình" in act("change_role", "set-role", "adam", ("admin-users-role", "value", "viewer"))
    adam = get_user(engine, "adam")
    assert (adam.role, adam.disabled) == ("admin", False) and authenticate(engine, "adam", PASSWORDS["adam"]).user
    assert "Chưa chọn" in str(output(call(admin, app, "admin_users", "disable_account",
                                          [("admin-users-disable", "n_clicks", 1)],
                                          [selected(None), ("admin-users-changed", "data", 0)]),
                                     "admin-users-result"))


def test_an_operator_reaches_neither_the_pages_nor_their_callbacks(app: Any, engine: Engine) -> None:
    olga = signed_in(app, "olga")
    for path in ("/admin", "/admin/users", "/admin/tokens", "/admin/audit"):
        assert olga.get(path).status_code == 403, path
    # The read-only callbacks check the role themselves (they are not marked as actions).
    for module in ("admin_users", "admin_tokens", "admin_audit"):
        prefix = module.replace("_", "-")
        inputs = [(f"{prefix}-refresh", "n_intervals", 1)]
        inputs += ([(f"{prefix}-changed", "data", 0)] if module != "admin_audit" else
                   [("admin-audit-action", "value", ""), ("admin-audit-actor", "value", "")])
        response = call(olga, app, module, "refresh", inputs)
        assert response.status_code == 403 and "adam" not in response.text, module
    assert len(audit.recent(engine, 10, "denied.admin_callback", "olga")) == 3
    # The changes are refused by the web layer (auth.policy.action).
    assert create_call(olga, app, "mallory", role="admin").status_code == 403
    assert get_user(engine, "mallory") is None


def test_tokens_are_made_shown_once_and_revoked(app: Any, engine: Engine) -> None:
    admin = signed_in(app, "adam")
    made = call(admin, app, "admin_tokens", "create_kiosk_token", [("admin-tokens-kiosk-create", "n_clicks", 1)],
                [("admin-tokens-kiosk-name", "value", "Sảnh tầng 1"), ("admin-tokens-wall", "value", "overview"),
                 ("admin-tokens-changed", "data", 0)])
    url = secret_of(output(made, "admin-tokens-create-result"))
    assert url.startswith("http://localhost/wall/overview?kiosk=1&token=opsc_")
    kiosk = find_token(engine, url.split("token=")[1])
    assert (kiosk.kind, kiosk.wall, kiosk.name, kiosk.created_by) == ("kiosk", "overview", "Sảnh tầng 1", "adam")
    unknown = call(admin, app, "admin_tokens", "create_kiosk_token", [("admin-tokens-kiosk-create", "n_clicks", 1)],
                   [("admin-tokens-kiosk-name", "value", "x"), ("admin-tokens-wall", "value", "nowhere"),
                    ("admin-tokens-changed", "data", 0)])
    assert "Không có màn hình tường nowhere" in str(output(unknown, "admin-tokens-create-result"))
    def api_call(name: str | None, scope: str) -> Any:
        return call(admin, app, "admin_tokens", "create_api_token", [("admin-tokens-api-create", "n_clicks", 1)],
                    [("admin-tokens-api-name", "value", name), ("admin-tokens-api-scope", "value", scope),
                     ("admin-tokens-changed", "data", 0)])

    assert "Hãy đặt tên cho mã" in str(output(api_call("  ", "read"), "admin-tokens-create-result"))
    assert "is-error" in str(output(api_call("x", "root"), "admin-tokens-create-result"))  # auth.tokens refuses
    api = api_call("etl", "operator")
    secret = secret_of(output(api, "admin-tokens-create-result"))
    assert find_token(engine, secret).scope == "operator"
    rows = output(call(admin, app, "admin_tokens", "refresh", [("admin-tokens-refresh", "n_intervals", 1),
                                                               ("admin-tokens-changed", "data", 2)]),
                  "admin-tokens-grid", "rowData")
    assert [(r["kind"], r["name"]) for r in rows] == [("api", "etl"), ("kiosk", "Sảnh tầng 1")]
    assert secret not in str(rows) and url not in str(rows)

    def revoke(*ids: int) -> str:
        response = call(admin, app, "admin_tokens", "revoke_selected", [("admin-tokens-revoke", "n_clicks", 1)],
                        [("admin-tokens-targets", "data", list(ids)),
                         ("admin-tokens-changed", "data", 0)])
        return str(output(response, "admin-tokens-result"))

    assert f"Đã thu hồi 1 mã: #{kiosk.id}" in revoke(kiosk.id)
    assert find_token(engine, url.split("token=")[1]) is None
    assert f"Đã bị thu hồi từ trước: #{kiosk.id}" in revoke(kiosk.id)
    (entry,) = audit.recent(engine, 10, "token.revoke")
    assert (entry.actor, entry.target, entry.address) == ("adam", f"kiosk:{kiosk.id}", ADDRESS)


def test_the_audit_callback_filters_by_action_family_and_actor(app: Any, engine: Engine) -> None:
    admin = signed_in(app, "adam")
    create_token(engine, "api", "etl", actor="olga")
    create_call(admin, app, "binh")

    def rows(action_text: str, actor: str) -> list[tuple[str, str]]:
        response = call(admin, app, "admin_audit", "refresh", [("admin-audit-refresh", "n_intervals", 1),
                                                               ("admin-audit-action", "value", action_text),
                                                               ("admin-audit-actor", "value", actor)])
        return [(r["actor"], r["action"]) for r in output(response, "admin-audit-grid", "rowData")]

    assert rows("user", "") == [("adam", "user.create"), ("tests", "user.create"), ("tests", "user.create")]
    assert rows("token.create", "olga") == [("olga", "token.create")]
    assert ("adam", "login.ok") in rows("", "adam") and rows("token", "adam") == []


# --------------------------------------------------------------------------- in the browser


SOURCES = """\
sources:
  - name: demo-land
    kind: demo
    every: 1h
    options: {feed: land}
"""


@pytest.fixture
def browser_app(tmp_path: Path) -> Iterator[str]:
    with running_app(tmp_path, SOURCES, DEMO_BACKFILL_DAYS="0", PAGE_REFRESH_SECONDS="2", CACHE_SECONDS="1") as base:
        yield base


def grid_texts(page: Any, grid: str, column: str) -> list[str]:
    """A column's texts in the order the grid shows its rows (not the order of its DOM nodes)."""
    return page.evaluate(
        """([grid, column]) => [...document.querySelectorAll(`#${grid} .ag-center-cols-container .ag-row`)]
             .sort((a, b) => Number(a.getAttribute("row-index")) - Number(b.getAttribute("row-index")))
             .map(row => row.querySelector(`[col-id='${column}']`).textContent.trim())""", [grid, column])


@pytest.mark.browser
@pytest.mark.slow
def test_an_admin_manages_accounts_and_tokens_and_reads_the_audit_log(browser_app: str) -> None:
    base = browser_app
    with chromium() as browser:
        admin_context = browser.new_context(viewport={"width": 1500, "height": 1000})
        page = admin_context.new_page()
        watch = PageWatch(page)
        sign_in(page, base)

        # The landing page links the three.
        page.goto(base + "/admin")
        page.locator("#admin-link-users").wait_for(timeout=30_000)
        assert page.locator(".admin-card").count() == 3
        screenshot(page, "admin")
        page.locator("#admin-link-users").click()  # in-app navigation

        # A new operator account; its password is shown once.
        page.locator("#admin-users-grid .ag-row", has_text="admin").first.wait_for(timeout=30_000)
        page.fill("#admin-users-new-name", "binh")
        page.fill("#admin-users-new-label", "Trần Thị Bình")
        page.locator("#admin-users-new-role").get_by_label("trực ban", exact=True).check()
        page.locator("#admin-users-create").click()
        secret = page.locator("#admin-users-new-password")
        secret.wait_for(timeout=10_000)
        password = secret.inner_text().strip()
        result = page.locator("#admin-users-create-result").inner_text()
        assert "Đã tạo tài khoản binh (vai trò trực ban)" in result and "Chỉ hiển thị một lần" in result
        assert len(password) == 20
        assert page.input_value("#admin-users-new-name") == ""  # the form is cleared for the next one
        row = page.locator("#admin-users-grid .ag-center-cols-container .ag-row", has_text="binh")
        row.wait_for(timeout=10_000)
        assert "trực ban" in row.inner_text() and "Đang hoạt động" in row.inner_text()
        # Selecting the account offers its actions; one's own account offers none.
        row.locator("[col-id='display_name']").click()
        page.locator("#admin-users-selected", has_text="binh · Trần Thị Bình").wait_for(timeout=10_000)
        assert page.locator("#admin-users-role").get_by_label("trực ban", exact=True).is_checked()
        assert page.locator("#admin-users-disable").is_enabled() and page.locator("#admin-users-enable").is_disabled()
        screenshot(page, "admin-users")
        page.locator("#admin-users-grid .ag-center-cols-container .ag-row", has_text="Administrator").locator(
            "[col-id='display_name']").click()
        page.locator("#admin-users-selected-hint", has_text="chính mình").wait_for(timeout=10_000)
        assert page.locator("#admin-users-reset").is_disabled()

        # The operator signs in elsewhere and is refused the admin pages, loaded or navigated to.
        operator_context = browser.new_context(viewport={"width": 1300, "height": 800})
        operator = operator_context.new_page()
        sign_in(operator, base, "binh", password)
        refused = operator.goto(base + "/admin/users")
        # A page in the reader's language, with a way home and a way to sign in as someone else.
        assert refused.status == 403 and "Không có quyền truy cập" in operator.inner_text("body")
        assert operator.locator("a[href^='/login?next=']").count() == 1
        screenshot(operator, "refused")
        operator.goto(base + "/alerts")
        operator.locator("#alerts-grid").wait_for(timeout=30_000)
        with operator.expect_response(lambda r: "_dash-update-component" in r.url
                                      and "_pages_content" in (r.request.post_data or "")) as answer:
            operator.evaluate("window.history.pushState({}, '', '/admin/users');"
                              "window.dispatchEvent(new CustomEvent('_dashprivate_pushstate'))")
        assert answer.value.status == 403
        assert operator.locator("#admin-users-grid").count() == 0 and operator.locator("#alerts-grid").count() == 1
        operator_context.close()

        # An API token and a kiosk token; the kiosk's address works until it is revoked.
        page.goto(base + "/admin/tokens")
        page.locator("#admin-tokens-wall").wait_for(timeout=30_000)
        page.fill("#admin-tokens-api-name", "etl-bao-cao")
        page.locator("#admin-tokens-api-create").click()
        api_secret = page.locator("#admin-tokens-secret")
        api_secret.wait_for(timeout=10_000)
        bearer = api_secret.inner_text().strip()
        assert bearer.startswith("opsc_")
        assert httpx.get(base + "/api/v1/sources", headers={"Authorization": f"Bearer {bearer}"}).status_code == 200
        page.fill("#admin-tokens-kiosk-name", "Sảnh tầng 1")
        page.locator("#admin-tokens-kiosk-create").click()
        page.locator("#admin-tokens-create-result", has_text="Đã tạo mã kiosk").wait_for(timeout=10_000)
        url = page.locator("#admin-tokens-secret").inner_text().strip()
        assert url.startswith(base + "/wall/overview?kiosk=1&token=opsc_")
        assert httpx.get(url).status_code == 302  # the wall's browser gets its cookie
        kiosk_row = page.locator("#admin-tokens-grid .ag-center-cols-container .ag-row", has_text="Sảnh tầng 1")
        kiosk_row.wait_for(timeout=10_000)
        kiosk_id = kiosk_row.locator("[col-id='number']").inner_text().strip()
        assert grid_texts(page, "admin-tokens-grid", "kind_text") == ["Kiosk", "API"]
        screenshot(page, "admin-tokens")
        page.locator(f"#admin-tokens-grid .ag-row[row-id='{kiosk_id}'] .ag-selection-checkbox input").check()
        page.locator("#admin-tokens-selected", has_text="Đã chọn 1 mã").wait_for(timeout=10_000)
        page.locator("#admin-tokens-revoke").click()
        page.locator("#admin-tokens-result", has_text=f"Đã thu hồi 1 mã: #{kiosk_id}").wait_for(timeout=10_000)
        revoked_cell = page.locator(f"#admin-tokens-grid .ag-row[row-id='{kiosk_id}'] [col-id='revoked_ts']")
        page.wait_for_function("(cell) => /\\d{2}\\/\\d{2}\\/\\d{4}/.test(cell.textContent)",
                               arg=revoked_cell.element_handle(), timeout=10_000)
        assert httpx.get(url).status_code == 403
        page.locator("#admin-tokens-revoke:disabled").wait_for(timeout=10_000)  # nothing live is selected now
        screenshot(page, "admin-tokens-revoked")

        # The audit log, filtered by actor in the URL, lists both changes under the admin's name.
        page.goto(base + "/admin/audit?actor=admin")
        page.locator("#admin-audit-grid .ag-row", has_text="token.revoke").first.wait_for(timeout=30_000)
        actions = grid_texts(page, "admin-audit-grid", "action")
        assert "user.create" in actions and "token.revoke" in actions and "admin.user_create" in actions
        assert set(grid_texts(page, "admin-audit-grid", "actor")) == {"admin"}
        targets = dict(zip(actions, grid_texts(page, "admin-audit-grid", "target"), strict=True))
        assert (targets["user.create"], targets["token.revoke"]) == ("binh", f"kiosk:{kiosk_id}")
        assert page.input_value("#admin-audit-actor") == "admin"
        screenshot(page, "admin-audit-all")
        page.fill("#admin-audit-action", "token")
        page.wait_for_url("**/admin/audit?action=token&actor=admin", timeout=10_000)
        page.wait_for_function(
            """() => { const cells = [...document.querySelectorAll("#admin-audit-grid .ag-row [col-id='action']")];
                       return cells.length > 0 && cells.every(c => c.textContent.startsWith("token.")); }""",
            timeout=10_000)
        screenshot(page, "admin-audit")

        # In English too (the header's language switch).
        page.goto(base + "/language/en")
        page.goto(base + "/admin/users")
        page.locator("#admin-users-grid .ag-row", has_text="binh").first.wait_for(timeout=30_000)
        assert "Last sign-in" in page.locator("#admin-users-grid").inner_text()
        assert "Operator" in page.locator("#admin-users-grid").inner_text() or "operator" in page.locator(
            "#admin-users-grid").inner_text()
        screenshot(page, "admin-users-en")
        assert watch.console_errors == []
        assert watch.foreign_requests == []
