"""Access control end to end, through the Flask test client of a real app on a real SQLite store.

Every test builds its settings with ``anonymous_access=False`` (the secure default; the
session-wide fixture of tests/conftest.py turns it on for the other tests) unless it tests
anonymous access itself. Signing in goes through ``POST /login`` with the CSRF token, as a
browser does; Dash callbacks are called as Dash's renderer calls them (``/_dash-update-component``
with the ``X-CSRFToken`` header).
"""
from __future__ import annotations

import hashlib
import importlib
import os
import stat
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from dash import ALL
from markupsafe import escape
from sqlalchemy import Engine, insert, select
from werkzeug.test import TestResponse

from auth import audit
from auth.accounts import authenticate, count_users, create_user, get_user, set_disabled, set_password
from auth.bootstrap import ensure_first_admin
from auth.tokens import create_token, revoke_token
from components.panels import panel_kind, panel_kinds
from i18n import t
from settings import ROOT, load_settings
from store.schema import alerts, tokens

T0 = datetime(2025, 3, 3, 2, 0, tzinfo=timezone.utc)
ADDRESS = "10.20.30.40"
PASSWORDS = {"vera": "viewer-Pa55word-x", "olga": "operator-Pa55word-x", "adam": "admin-Pa55word-xy"}
ROLES = {"vera": "viewer", "olga": "operator", "adam": "admin"}


# --------------------------------------------------------------------------- the app and its people

# Dash moves the callbacks registered with ``dash.callback`` into the first app set up in a
# process. Each new app runs the page modules again (their callbacks come back), but not the
# modules they import: the wall's refresh callbacks (callbacks.wall) reach the first app only.
_WALL_CALLBACKS: dict[str, dict] = {}


def _callback_name(entry: dict) -> str:
    return getattr(entry.get("callback"), "__name__", "")


def _wall_callbacks() -> dict[str, dict]:
    """The refresh callbacks of callbacks.wall, kept once; call after create_app, before its first request."""
    import dash._callback as registry

    def registered() -> dict[str, dict]:
        return {k: v for k, v in registry.GLOBAL_CALLBACK_MAP.items()
                if getattr(v.get("callback"), "__module__", "") == "callbacks.wall"}

    if not _WALL_CALLBACKS:
        found = registered()
        if not found:  # an app of an earlier test module took them: register them again, off the record
            kept = (dict(registry.GLOBAL_CALLBACK_MAP), list(registry.GLOBAL_CALLBACK_LIST),
                    list(registry.GLOBAL_INLINE_SCRIPTS))
            importlib.reload(sys.modules["callbacks.wall"])
            found = registered()
            registry.GLOBAL_CALLBACK_MAP.clear()
            registry.GLOBAL_CALLBACK_MAP.update(kept[0])
            registry.GLOBAL_CALLBACK_LIST[:], registry.GLOBAL_INLINE_SCRIPTS[:] = kept[1], kept[2]
        _WALL_CALLBACKS.update(found)
    return _WALL_CALLBACKS


@pytest.fixture
def make_app(engine: Engine, tmp_path: Path) -> Callable[..., Any]:
    """``make_app(**settings)``: an app on the test's store, with every Dash callback."""
    from app import create_app

    def make(**overrides: Any) -> Any:
        values = {"var_dir": tmp_path, "database_url": str(engine.url), "anonymous_access": False,
                  "language": "en", **overrides}
        app = create_app(load_settings(**values), [])
        wall = _wall_callbacks()
        assert app.server.test_client().get("/livez").status_code == 200  # Dash sets itself up
        for key, entry in wall.items():
            app.callback_map.setdefault(key, entry)
        assert any(_callback_name(e) == "acknowledge_selected" for e in app.callback_map.values())
        return app

    return make


@pytest.fixture
def app(make_app: Callable[..., Any]) -> Any:
    return make_app()


@pytest.fixture
def people(engine: Engine) -> dict[str, str]:
    """A viewer (vera), an operator (olga) and an admin (adam): name → password."""
    for name, password in PASSWORDS.items():
        create_user(engine, name, password, ROLES[name], display_name=name.title(), actor="tests", now=T0)
    return PASSWORDS


@pytest.fixture
def alert_id(engine: Engine) -> int:
    """A firing alert to acknowledge."""
    with engine.begin() as conn:
        return conn.execute(insert(alerts).values(
            rule_id="cod-high", subject_kind="station", subject_code="HNI-WW-01", subject_name="Trạm HNI-WW-01",
            severity="critical", state="firing", started_at=T0, last_seen_at=T0, value=140.0, threshold=100.0,
            message="COD 140 > 100").returning(alerts.c.id)).scalar_one()


def env(address: str = ADDRESS) -> dict[str, str]:
    return {"REMOTE_ADDR": address}


def csrf_of(client: Any) -> str:
    """The CSRF token of this browser (the cookie Dash's renderer echoes as X-CSRFToken)."""
    cookie = client.get_cookie("_csrf_token")
    if cookie is None:
        client.get("/login")
        cookie = client.get_cookie("_csrf_token")
    return cookie.value


def login(client: Any, username: str, password: str, next_path: str = "/", address: str = ADDRESS,
          token: str | None = None) -> TestResponse:
    """POST /login as the form does (GET /login first for the CSRF cookie)."""
    client.get("/login", environ_overrides=env(address))
    data = {"username": username, "password": password, "next": next_path,
            "csrf_token": csrf_of(client) if token is None else token}
    return client.post("/login", data=data, environ_overrides=env(address))


def signed_in(app: Any, username: str, password: str | None = None, address: str = ADDRESS) -> Any:
    client = app.server.test_client()
    response = login(client, username, password or PASSWORDS[username], address=address)
    assert response.status_code == 302, response.text
    assert client.get_cookie("opsc_session") is not None
    return client


def set_cookies(response: TestResponse, name: str) -> list[str]:
    return [h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{name}=")]


def audit_rows(engine: Engine, action: str) -> list[audit.AuditEntry]:
    return audit.recent(engine, 1000, action)


def ack(client: Any, alert: int, headers: dict[str, str] | None = None, address: str = ADDRESS) -> TestResponse:
    return client.post(f"/api/v1/alerts/{alert}/ack", json={"note": "on it"}, headers=headers or {},
                       environ_overrides=env(address))


def with_csrf(client: Any) -> dict[str, str]:
    return {"X-CSRFToken": csrf_of(client)}


# --------------------------------------------------------------------------- Dash callbacks

def callback_key(app: Any, *, name: str | None = None, contains: str | None = None, module: str | None = None) -> str:
    found = [key for key, entry in app.callback_map.items()
             if (name is None or _callback_name(entry) == name) and (contains is None or contains in key)
             and (module is None or getattr(entry.get("callback"), "__module__", "") == module)]
    assert len(found) == 1, (name, contains, found)
    return found[0]


def _wildcard(value: Any) -> bool:
    return value is ALL or value == ALL


def _output(spec: Any, panels: Mapping[str, Iterable[str]]) -> Any:
    """What the renderer sends for one output: its id, or for an ALL pattern one id per panel of its kind."""
    cid, prop = spec.component_id, spec.component_property
    if isinstance(cid, dict) and any(_wildcard(v) for v in cid.values()):
        return [{"id": {k: (p if _wildcard(v) else v) for k, v in cid.items()}, "property": prop}
                for p in panels.get(cid.get("kind", ""), ())]
    return {"id": cid, "property": prop}


def dash_call(client: Any, app: Any, key: str, inputs: list, state: list | None = None,
              csrf: bool | str = True, panels: Mapping[str, Iterable[str]] | None = None) -> TestResponse:
    """POST /_dash-update-component as Dash's renderer does; ``panels`` (kind → panel ids) fill
    the ALL wildcards of the outputs; ``csrf`` False sends no X-CSRFToken header, a string sends that value."""
    panels = panels or {}
    specs = app.callback_map[key]["output"]
    outputs = [_output(s, panels) for s in specs] if isinstance(specs, list) else _output(specs, panels)
    body = {"output": key, "outputs": outputs, "inputs": inputs,
            "changedPropIds": [f"{inputs[0]['id']}.{inputs[0]['property']}"] if inputs
            and isinstance(inputs[0]["id"], str) else [], "state": state or []}
    headers = {}
    if csrf is True:
        headers["X-CSRFToken"] = csrf_of(client)
    elif csrf:
        headers["X-CSRFToken"] = csrf
    return client.post("/_dash-update-component", json=body, headers=headers, environ_overrides=env())


def pages_call(client: Any, app: Any, pathname: str, search: str = "", **kw: Any) -> TestResponse:
    """The page-content callback of dash.page_container, as a browser loading ``pathname`` calls it."""
    inputs = [{"id": "_pages_location", "property": "pathname", "value": pathname},
              {"id": "_pages_location", "property": "search", "value": search}]
    return dash_call(client, app, callback_key(app, contains="_pages_content.children"), inputs, **kw)


def ack_call(client: Any, app: Any, alert: int, **kw: Any) -> TestResponse:
    """The Alerts page's Acknowledge button with ``alert`` ticked."""
    inputs = [{"id": "alerts-ack", "property": "n_clicks", "value": 1}]
    state = [{"id": "alerts-grid", "property": "selectedRows", "value": [{"id": alert}]},
             {"id": "alerts-grid", "property": "virtualRowData", "value": [{"id": alert}]},
             {"id": "alerts-operator-name", "property": "value", "value": "typed name"},
             {"id": "alerts-note", "property": "value", "value": "seen"},
             {"id": "alerts-changed", "property": "data", "value": 0}]
    return dash_call(client, app, callback_key(app, name="acknowledge_selected"), inputs, state, **kw)


def wall_refresh_call(client: Any, app: Any, panel: str = "p0-4", options: dict | None = None,
                      **kw: Any) -> TestResponse:
    """The wall's refresh of one "sources" panel and nothing else (by default p0-4 of the overview
    wall, with the options that wall gives it)."""
    kind = panel_kind("sources")
    opts = {"options": kind.Options().model_dump() if options is None else options, "lang": "en", "refresh": 30,
            "screen_share": 1.0}
    inputs = [{"id": "wall-tick", "property": "n_intervals", "value": 1},
              {"id": "wall-viewport", "property": "data", "value": {"h": 1080, "screen_rows": 1}}]
    kinds = list(panel_kinds())  # the order of the refresh's states: one list of opts, then of sigs, per kind
    state = [[{"id": {"role": "opts", "kind": k, "panel": panel}, "property": "data", "value": opts}]
             if k == "sources" else [] for k in kinds]
    state += [[{"id": {"role": "sig", "kind": k, "panel": panel}, "property": "data", "value": None}]
              if k == "sources" else [] for k in kinds]
    key = callback_key(app, name="refresh_wall")
    return dash_call(client, app, key, inputs, state, panels={"sources": [panel]}, **kw)


# --------------------------------------------------------------------------- 1, 2: anonymous

def test_anonymous_reaches_nothing_but_health_by_default(app: Any) -> None:
    client = app.server.test_client()
    for path in ("/", "/environment", "/wall/overview"):
        response = client.get(path)
        assert response.status_code == 302, path
        target = urlsplit(response.headers["Location"])
        assert target.path == "/login" and parse_qs(target.query) == {"next": [path]}, response.headers["Location"]
    for path in ("/api/v1/stations", "/api/v1/alerts", "/api/v1/kpis"):
        response = client.get(path)
        assert response.status_code == 401, path
        assert response.is_json and response.json["error"]
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    for path in ("/_dash-layout", "/_dash-dependencies"):
        assert client.get(path).status_code == 401, path
    for path in ("/livez", "/login", "/assets/app.css"):
        assert client.get(path).status_code == 200, path
    # Health and readiness answer anyone; without a scheduler running they may say 503.
    for path in ("/api/v1/health", "/readyz"):
        assert client.get(path).status_code in (200, 503), path
    assert "WWW-Authenticate" not in client.get("/api/v1/health").headers


def test_anonymous_access_reads_but_never_writes(make_app: Callable[..., Any], engine: Engine, alert_id: int) -> None:
    app = make_app(anonymous_access=True)
    client = app.server.test_client()
    for path in ("/", "/environment", "/wall/overview", "/api/v1/stations", "/api/v1/alerts", "/_dash-layout"):
        assert client.get(path).status_code == 200, path
    refused = ack(client, alert_id, with_csrf(client))  # a valid CSRF token: the role is what refuses
    assert refused.status_code == 403 and "operator" in refused.json["error"]
    assert ack_call(client, app, alert_id).status_code == 403
    assert pages_call(client, app, "/environment").status_code == 200
    with engine.connect() as conn:
        assert conn.execute(select(alerts.c.state)).scalar_one() == "firing"
    assert [e.actor for e in audit_rows(engine, "denied.alert.acknowledge")] == ["anonymous", "anonymous"]


# --------------------------------------------------------------------------- 3, 4: signing in

def test_login_failure_success_and_safe_redirects(app: Any, engine: Engine, people: dict[str, str]) -> None:
    client = app.server.test_client()
    wrong = login(client, "olga", "not-the-password", address="10.1.1.1")
    assert wrong.status_code == 401
    assert str(escape(t("login.failed", "en"))) in wrong.text
    assert client.get_cookie("opsc_session") is None
    (failed,) = audit_rows(engine, "login.failed")
    assert (failed.actor, failed.target, failed.address, failed.outcome) == ("olga", "olga", "10.1.1.1", "denied")

    good = login(client, "olga", people["olga"], next_path="/environment?province=HNI")
    assert good.status_code == 302 and good.headers["Location"] == "/environment?province=HNI"
    (session_cookie,) = set_cookies(good, "opsc_session")
    attributes = [a.strip().lower() for a in session_cookie.split(";")]
    assert "httponly" in attributes and "samesite=lax" in attributes
    assert client.get("/api/v1/stations").status_code == 200
    assert [e.actor for e in audit_rows(engine, "login.ok")] == ["olga"]

    for evil in ("//evil.example", "https://evil.example/x", "/\\evil.example", "evil.example"):
        fresh = app.server.test_client()
        response = login(fresh, "olga", people["olga"], next_path=evil)
        assert response.status_code == 302 and response.headers["Location"] == "/", evil


def test_login_without_the_csrf_token_is_refused(app: Any, engine: Engine, people: dict[str, str]) -> None:
    client = app.server.test_client()
    other = app.server.test_client()
    for token in ("", "forged.0123456789abcdef0123456789abcdef", csrf_of(other)):
        response = login(client, "olga", people["olga"], token=token)
        assert response.status_code == 403, token
        assert str(escape(t("login.expired", "en"))) in response.text
        assert not set_cookies(response, "opsc_session") and client.get_cookie("opsc_session") is None
        assert client.get("/api/v1/stations").status_code == 401
    assert len(audit_rows(engine, "denied.csrf")) == 3
    assert audit_rows(engine, "login.ok") == []


def test_wrong_passwords_from_one_address_are_throttled(app: Any, engine: Engine, people: dict[str, str]) -> None:
    client = app.server.test_client()
    statuses = [login(client, "nobody", f"guess-number-{i}").status_code for i in range(20)]
    assert statuses == [401] * 10 + [429] * 10
    failed, throttled = audit_rows(engine, "login.failed"), audit_rows(engine, "login.throttled")
    assert len(failed) == 10 and len(throttled) == 10
    assert {e.address for e in failed + throttled} == {ADDRESS}
    # Even the right password is refused from that address for now...
    right = login(client, "olga", people["olga"])
    assert right.status_code == 429 and str(escape(t("login.throttled", "en"))) in right.text
    assert client.get_cookie("opsc_session") is None
    # ...but not from another one.
    assert login(app.server.test_client(), "olga", people["olga"], address="10.9.9.9").status_code == 302


def test_consecutive_wrong_passwords_lock_the_account_until_a_reset(app: Any, engine: Engine,
                                                                     people: dict[str, str]) -> None:
    locked_text = str(escape(t("login.locked", "en")))
    client = app.server.test_client()
    for i in range(10):
        response = login(client, "olga", f"wrong-guess-{i}", address=f"10.0.1.{i}")
        assert response.status_code == 401
        assert (locked_text in response.text) == (i == 9), i
    assert get_user(engine, "olga").locked_until is not None
    (locked,) = audit_rows(engine, "user.locked")
    assert (locked.target, locked.address) == ("olga", "10.0.1.9")
    refused = login(client, "olga", people["olga"], address="10.0.2.1")
    assert refused.status_code == 401 and locked_text in refused.text
    assert client.get_cookie("opsc_session") is None
    # Another account is not affected.
    assert login(app.server.test_client(), "vera", people["vera"], address="10.0.2.2").status_code == 302

    set_password(engine, "olga", "reset-Pa55word-new", actor="adam", now=T0 + timedelta(hours=1))
    assert login(client, "olga", "reset-Pa55word-new", address="10.0.2.3").status_code == 302
    assert client.get("/api/v1/alerts").status_code == 200


# --------------------------------------------------------------------------- 5: roles

def test_a_viewer_cannot_act(app: Any, engine: Engine, people: dict[str, str], alert_id: int) -> None:
    client = signed_in(app, "vera")
    assert client.get("/api/v1/alerts").status_code == 200
    assert ack(client, alert_id, with_csrf(client)).status_code == 403
    assert ack_call(client, app, alert_id).status_code == 403
    assert client.get("/api/v1/export?path=/").status_code == 403
    with engine.connect() as conn:
        assert conn.execute(select(alerts.c.state)).scalar_one() == "firing"
    assert {e.actor for e in audit_rows(engine, "denied.")} == {"vera"}
    assert {e.action for e in audit_rows(engine, "denied.")} == {"denied.alert.acknowledge", "denied.export"}


def test_an_operator_acknowledges_and_is_audited(app: Any, engine: Engine, people: dict[str, str],
                                                 alert_id: int) -> None:
    client = signed_in(app, "olga")
    response = ack(client, alert_id, with_csrf(client), address="10.0.0.7")
    assert response.status_code == 200, response.text
    assert response.json["outcome"] == "acknowledged"
    assert response.json["alert"]["acknowledgement"]["by"] == "Olga"  # their own name, not one typed in
    (entry,) = audit_rows(engine, "alert.acknowledge")
    assert (entry.actor, entry.target, entry.address, entry.outcome) == ("olga", f"alert:{alert_id}", "10.0.0.7", "ok")


def test_an_operator_acknowledges_through_the_alerts_page(app: Any, engine: Engine, people: dict[str, str],
                                                          alert_id: int) -> None:
    client = signed_in(app, "olga")
    response = ack_call(client, app, alert_id)
    assert response.status_code == 200, response.text
    with engine.connect() as conn:
        assert conn.execute(select(alerts.c.state, alerts.c.ack_by)).one() == ("acknowledged", "Olga")
    (entry,) = audit_rows(engine, "alert.acknowledge")
    assert entry.actor == "olga" and entry.address == ADDRESS and "selectedRows" in entry.detail


def test_an_operator_cannot_administer(app: Any, engine: Engine, people: dict[str, str]) -> None:
    client = signed_in(app, "olga")
    headers = with_csrf(client)
    assert client.get("/api/v1/users").status_code == 403
    created = client.post("/api/v1/users", json={"username": "mallory", "role": "admin"}, headers=headers)
    assert created.status_code == 403 and get_user(engine, "mallory") is None
    assert client.get("/api/v1/audit").status_code == 403
    assert client.get("/api/v1/tokens").status_code == 403
    assert client.post("/api/v1/tokens", json={"name": "x"}, headers=headers).status_code == 403
    for path in ("/admin", "/admin/users"):
        assert client.get(path).status_code == 403, path
    # A browser opening the page gets a page in the reader's language, a program JSON.
    browser = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
    client.set_cookie("lang", "vi")
    page = client.get("/admin/users", headers=browser)
    assert (page.status_code, page.mimetype) == (403, "text/html")
    assert "Không có quyền truy cập" in page.text and 'href="/login?next=/admin/users"' in page.text
    client.set_cookie("lang", "en")
    assert "Access denied" in client.get("/admin/users", headers=browser).text
    assert client.get("/admin/users", headers={"Accept": "application/json"}).json["error"]
    # Dash strips a pathname's slashes before it looks the page up: "//admin" is /admin too.
    for pathname in ("/admin", "/admin/users", "//admin", "/admin/"):
        assert pages_call(client, app, pathname).status_code == 403, pathname
    assert pages_call(client, app, "/alerts").status_code == 200
    # The admin passes the same rule.
    admin = signed_in(app, "adam")
    assert admin.get("/admin").status_code == 200
    assert pages_call(admin, app, "/admin").status_code == 200


def test_an_admin_creates_a_user(app: Any, engine: Engine, people: dict[str, str]) -> None:
    client = signed_in(app, "adam", address="10.0.0.9")
    response = client.post("/api/v1/users", json={"username": "carol", "role": "operator"},
                           headers=with_csrf(client), environ_overrides=env("10.0.0.9"))
    assert response.status_code == 201, response.text
    password = response.json["password"]
    assert response.json["role"] == "operator" and len(password) >= 12
    listed = client.get("/api/v1/users").json["users"]
    assert {u["username"] for u in listed} == {"adam", "carol", "olga", "vera"}
    assert all("password" not in u and "password_hash" not in u for u in listed)
    (entry,) = [e for e in audit_rows(engine, "user.create") if e.target == "carol"]
    assert (entry.actor, entry.address, entry.detail) == ("adam", "10.0.0.9", "role=operator")
    assert password not in entry.detail
    assert login(app.server.test_client(), "carol", password).status_code == 302
    # A password given is not echoed.
    given = client.post("/api/v1/users", json={"username": "dave", "role": "viewer", "password": "strong-Pa55word-xy"},
                        headers=with_csrf(client))
    assert given.status_code == 201 and "password" not in given.json


# --------------------------------------------------------------------------- 6: CSRF

def test_cookie_authenticated_writes_need_the_csrf_token(app: Any, engine: Engine, people: dict[str, str],
                                                         alert_id: int) -> None:
    client = signed_in(app, "olga")
    assert ack(client, alert_id).status_code == 403
    other = app.server.test_client()
    for forged in ("forged.0123456789abcdef0123456789abcdef", csrf_of(other)):
        assert ack(client, alert_id, {"X-CSRFToken": forged}).status_code == 403
    with engine.connect() as conn:
        assert conn.execute(select(alerts.c.state)).scalar_one() == "firing"
    assert len(audit_rows(engine, "denied.csrf")) == 3
    assert ack(client, alert_id, with_csrf(client)).status_code == 200

    assert pages_call(client, app, "/environment", csrf=False).status_code == 403
    assert ack_call(client, app, alert_id, csrf=False).status_code == 403
    assert pages_call(client, app, "/environment", csrf=csrf_of(other)).status_code == 403
    assert pages_call(client, app, "/environment").status_code == 200


def test_bearer_requests_need_no_csrf_token(app: Any, engine: Engine, alert_id: int) -> None:
    _token, secret = create_token(engine, "api", "etl", scope="operator", actor="tests", now=T0)
    client = app.server.test_client()
    response = ack(client, alert_id, {"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200, response.text
    (entry,) = audit_rows(engine, "alert.acknowledge")
    assert entry.actor == "token:etl"


# --------------------------------------------------------------------------- 7: API tokens

def test_api_token_scopes_and_limits(app: Any, engine: Engine, alert_id: int) -> None:
    _read, read_secret = create_token(engine, "api", "dashboard", scope="read", actor="tests", now=T0)
    _op, op_secret = create_token(engine, "api", "pager", scope="operator", actor="tests", now=T0)
    _kiosk, kiosk_secret = create_token(engine, "kiosk", "lobby", wall="overview", actor="tests", now=T0)
    client = app.server.test_client()
    reader = {"Authorization": f"Bearer {read_secret}"}
    assert client.get("/api/v1/alerts", headers=reader).status_code == 200
    assert ack(client, alert_id, reader).status_code == 403
    assert client.get("/api/v1/users", headers=reader).status_code == 403
    assert client.get("/", headers=reader).status_code == 403  # a token is for /api/v1 only
    assert client.get("/_dash-layout", headers=reader).status_code == 403
    for bad in ("opsc_unknown", "not-even-a-token", kiosk_secret):
        response = client.get("/api/v1/alerts", headers={"Authorization": f"Bearer {bad}"})
        assert response.status_code == 401 and "WWW-Authenticate" in response.headers, bad
    assert ack(client, alert_id, {"Authorization": f"Bearer {op_secret}"}).status_code == 200


def test_admin_creates_lists_and_revokes_tokens(app: Any, engine: Engine, people: dict[str, str]) -> None:
    admin = signed_in(app, "adam")
    made = admin.post("/api/v1/tokens", json={"name": "etl", "scope": "read"}, headers=with_csrf(admin))
    assert made.status_code == 201, made.text
    secret, token_id = made.json["token"], made.json["id"]
    assert secret.startswith("opsc_") and len(secret) > 40
    bearer = {"Authorization": f"Bearer {secret}"}
    client = app.server.test_client()
    assert client.get("/api/v1/alerts", headers=bearer).status_code == 200

    listed = admin.get("/api/v1/tokens")
    assert listed.status_code == 200 and [t_["id"] for t_ in listed.json["tokens"]] == [token_id]
    assert secret not in listed.text and "token" not in listed.json["tokens"][0]
    with engine.connect() as conn:
        row = conn.execute(select(tokens).where(tokens.c.id == token_id)).one()
    assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in [str(v) for v in row]

    revoked = admin.post(f"/api/v1/tokens/{token_id}/revoke", json={}, headers=with_csrf(admin))
    assert revoked.status_code == 200 and revoked.json == {"id": token_id, "revoked": True}
    assert client.get("/api/v1/alerts", headers=bearer).status_code == 401
    assert admin.post(f"/api/v1/tokens/{token_id}/revoke", json={}, headers=with_csrf(admin)).status_code == 404
    assert [e.actor for e in audit_rows(engine, "token.revoke")] == ["adam"]
    assert [e.actor for e in audit_rows(engine, "token.create")] == ["adam"]


# --------------------------------------------------------------------------- 8: kiosks

def test_a_kiosk_shows_its_wall_and_nothing_else(app: Any, engine: Engine, alert_id: int) -> None:
    token, secret = create_token(engine, "kiosk", "lobby", wall="overview", actor="tests", now=T0)
    kiosk = app.server.test_client()
    signed = kiosk.get(f"/wall/overview?kiosk=1&token={secret}")
    assert signed.status_code == 302 and signed.headers["Location"] == "/wall/overview?kiosk=1"
    (cookie,) = set_cookies(signed, "opsc_kiosk")
    attributes = {a.strip().split("=")[0].lower(): a.strip().partition("=")[2] for a in cookie.split(";")}
    assert "httponly" in attributes and int(attributes["max-age"]) >= 365 * 86400
    assert kiosk.get_cookie("opsc_kiosk").value == secret

    assert kiosk.get("/wall/overview?kiosk=1").status_code == 200
    for path in ("/wall/environment", "/environment", "/", "/alerts", "/api/v1/stations", "/api/v1/alerts"):
        assert kiosk.get(path).status_code == 403, path
    refreshed = wall_refresh_call(kiosk, app)
    assert refreshed.status_code == 200, refreshed.text
    assert "response" in refreshed.json
    assert ack_call(kiosk, app, alert_id).status_code == 403
    assert pages_call(kiosk, app, "/environment").status_code == 403
    assert pages_call(kiosk, app, "/wall/environment").status_code == 403
    assert pages_call(kiosk, app, "/wall/overview", "?kiosk=1").status_code == 200

    assert revoke_token(engine, token.id, actor="tests", now=T0 + timedelta(hours=1))
    assert wall_refresh_call(kiosk, app).status_code == 401
    assert kiosk.get("/wall/overview?kiosk=1").status_code == 302


def test_a_kiosk_cannot_switch_walls_through_the_query(app: Any, engine: Engine) -> None:
    """Dash passes a page its query parameters over its path variables: /wall/overview?name=environment
    would draw the environment wall for a kiosk of the overview one."""
    _token, secret = create_token(engine, "kiosk", "lobby", wall="overview", actor="tests", now=T0)
    kiosk = app.server.test_client()
    assert kiosk.get(f"/wall/overview?kiosk=1&token={secret}").status_code == 302
    for search in ("?kiosk=1&name=environment", "?name=", "?name=overview&name=environment"):
        assert pages_call(kiosk, app, "/wall/overview", search).status_code == 403, search
    assert pages_call(kiosk, app, "/wall/overview", "?kiosk=1&name=overview").status_code == 200


def test_the_page_rule_reads_the_pathname_dash_uses(app: Any, engine: Engine) -> None:
    """Dash passes the page-content callback its inputs by position (pathname, then search): the
    rule must judge that pathname, not the first input that merely calls itself "pathname"."""
    _token, secret = create_token(engine, "kiosk", "lobby", wall="overview", actor="tests", now=T0)
    kiosk = app.server.test_client()
    assert kiosk.get(f"/wall/overview?kiosk=1&token={secret}").status_code == 302
    inputs = [{"id": "_pages_location", "property": "search", "value": "/environment"},
              {"id": "_pages_location", "property": "pathname", "value": "/wall/overview"}]
    key = callback_key(app, contains="_pages_content.children")
    assert dash_call(kiosk, app, key, inputs).status_code == 403


def test_a_kiosk_token_signs_in_to_its_own_wall_only(app: Any, engine: Engine) -> None:
    _token, secret = create_token(engine, "kiosk", "atrium", wall="environment", actor="tests", now=T0)
    _api, api_secret = create_token(engine, "api", "etl", actor="tests", now=T0)
    for value in (secret, api_secret, "opsc_unknown"):
        client = app.server.test_client()
        response = client.get(f"/wall/overview?kiosk=1&token={value}")
        assert response.status_code == 403, value
        assert not set_cookies(response, "opsc_kiosk") and client.get_cookie("opsc_kiosk") is None
    assert len(audit_rows(engine, "kiosk.refused")) == 3
    assert app.server.test_client().get(f"/wall/environment?token={secret}").status_code == 302


# --------------------------------------------------------------------------- 9: sessions end

def test_disabling_an_account_ends_its_sessions(app: Any, engine: Engine, people: dict[str, str]) -> None:
    client = signed_in(app, "olga")
    assert client.get("/api/v1/stations").status_code == 200
    set_disabled(engine, "olga", True, actor="adam", now=T0 + timedelta(hours=1))
    assert client.get("/api/v1/stations").status_code == 401
    response = client.get("/environment")
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/login"
    assert client.get("/_dash-layout").status_code == 401
    set_disabled(engine, "olga", False, actor="adam", now=T0 + timedelta(hours=2))
    assert client.get("/api/v1/stations").status_code == 401  # enabling again does not bring the session back
    assert login(client, "olga", people["olga"]).status_code == 302
    assert login(app.server.test_client(), "olga", people["olga"]).status_code == 302


def test_a_password_change_ends_the_sessions(app: Any, engine: Engine, people: dict[str, str]) -> None:
    client = signed_in(app, "olga")
    other = signed_in(app, "olga")
    assert client.get("/api/v1/stations").status_code == 200
    set_password(engine, "olga", "changed-Pa55word-x", actor="olga", now=T0 + timedelta(hours=3))
    assert client.get("/api/v1/stations").status_code == 401
    assert other.get("/").status_code == 302
    assert login(client, "olga", people["olga"]).status_code == 401
    assert login(client, "olga", "changed-Pa55word-x").status_code == 302
    assert client.get("/api/v1/stations").status_code == 200


# --------------------------------------------------------------------------- 10, 11: headers, key

def test_security_headers_on_html_pages(app: Any, people: dict[str, str]) -> None:
    client = signed_in(app, "vera")
    for path in ("/", "/login"):
        response = client.get(path)
        assert response.status_code == 200 and response.mimetype == "text/html", path
        policy = {d.strip().split(" ")[0]: d.strip().split(" ")[1:]
                  for d in response.headers["Content-Security-Policy"].split(";") if d.strip()}
        assert "'self'" in policy["script-src"] and "'unsafe-inline'" not in policy["script-src"], path
        assert policy["frame-ancestors"] == ["'none'"] and policy["object-src"] == ["'none'"]
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    api = client.get("/api/v1/stations")
    assert api.headers["X-Content-Type-Options"] == "nosniff" and api.headers["X-Frame-Options"] == "DENY"


def test_the_secret_key_is_generated_once_and_shared(make_app: Callable[..., Any], tmp_path: Path,
                                                     people: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = make_app()
    key_file = tmp_path / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text(encoding="ascii").strip()
    assert len(key) >= 32 and first.server.secret_key == key
    cookie = signed_in(first, "olga").get_cookie("opsc_session").value

    second = make_app()
    assert second.server.secret_key == key and key_file.read_text(encoding="ascii").strip() == key
    client = second.server.test_client()
    client.set_cookie("opsc_session", cookie)
    assert client.get("/api/v1/stations").status_code == 200

    given = "k" * 20 + "given-secret-key-for-all-workers"
    third = make_app(secret_key=given)
    assert third.server.secret_key == given and key_file.read_text(encoding="ascii").strip() == key
    stranger = third.server.test_client()
    stranger.set_cookie("opsc_session", cookie)
    assert stranger.get("/api/v1/stations").status_code == 401


# --------------------------------------------------------------------------- 12, 13: first admin, CLI

def test_the_first_admin_is_created_once(app: Any, engine: Engine, monkeypatch: pytest.MonkeyPatch,
                                         tmp_path: Path) -> None:
    monkeypatch.delenv("ADMIN_PASSWORD", raising=False)
    settings = load_settings(var_dir=tmp_path, database_url=str(engine.url), anonymous_access=False)
    password = ensure_first_admin(engine, settings)
    assert password and len(password) >= 12
    assert ensure_first_admin(engine, settings) is None and count_users(engine) == 1
    client = app.server.test_client()
    assert login(client, "admin", password).status_code == 302
    assert client.get("/api/v1/users").status_code == 200  # an admin indeed


def test_a_given_first_admin_password_is_used(engine: Engine, tmp_path: Path) -> None:
    settings = load_settings(var_dir=tmp_path, database_url=str(engine.url), anonymous_access=False,
                             admin_password="given-Pa55word-first")
    assert ensure_first_admin(engine, settings) is None
    assert count_users(engine) == 1
    result = authenticate(engine, "admin", "given-Pa55word-first", now=T0)
    assert result.user is not None and result.user.role == "admin"
    assert ensure_first_admin(engine, settings) is None and count_users(engine) == 1


def test_cli_manages_users_and_checks_walls(tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "OPSCENTRE_CONFIG")}
    environ["VAR_DIR"] = str(tmp_path)

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "cli.py", *args], cwd=ROOT, env=environ, capture_output=True,
                              text=True, timeout=120)

    added = cli("user", "add", "bob", "--role", "operator", "--password", "cli-made-Pa55word")
    assert added.returncode == 0, added.stderr
    assert "user bob (operator) created" in added.stdout and "cli-made-Pa55word" not in added.stdout
    listed = cli("user", "list")
    assert listed.returncode == 0, listed.stderr
    (line,) = [ln for ln in listed.stdout.splitlines() if ln.startswith("bob ")]
    assert line.split()[:3] == ["bob", "operator", "active"]
    refused = cli("token", "create", "x", "--wall", "nosuchwall")
    assert refused.returncode != 0
    assert "unknown wall 'nosuchwall'" in refused.stderr and "overview" in refused.stderr
    assert "opsc_" not in refused.stdout


def test_single_sign_on_trusts_the_header_only_from_the_proxy(make_app: Callable[..., Any], engine: Engine,
                                                                 people: dict[str, str], alert_id: int) -> None:
    proxy = "10.0.0.2"
    app = make_app(trusted_user_header="X-Remote-User", trusted_proxies=proxy)
    client = app.server.test_client()
    olga = {"X-Remote-User": "OLGA"}
    # From the proxy: signed in as the existing account, with its role (operator may acknowledge).
    assert client.get("/api/v1/alerts", headers=olga, environ_base=env(proxy)).status_code == 200
    client.get("/login", environ_base=env(proxy))  # the CSRF cookie
    answer = client.post(f"/api/v1/alerts/{alert_id}/ack", json={"note": "sso"},
                         headers={**olga, **with_csrf(client)}, environ_base=env(proxy))
    assert answer.status_code == 200 and answer.json["alert"]["acknowledgement"]["by"] == "Olga"
    # The same header from anywhere else means nothing.
    assert client.get("/api/v1/alerts", headers=olga, environ_base=env("10.9.9.9")).status_code == 401
    # An account the store does not have (or a disabled one) is refused, and the refusal audited.
    nobody = client.get("/api/v1/alerts", headers={"X-Remote-User": "mallory"}, environ_base=env(proxy))
    assert nobody.status_code == 403 and "mallory" in nobody.json["error"]
    assert [e.target for e in audit_rows(engine, "denied.sso")] == ["mallory"]
    # Off by default: the header is ignored.
    plain = make_app().server.test_client()
    assert plain.get("/api/v1/alerts", headers=olga, environ_base=env(proxy)).status_code == 401


def test_behind_a_proxy_the_client_address_is_recorded(make_app: Callable[..., Any], engine: Engine,
                                                        people: dict[str, str]) -> None:
    forwarded = {"X-Forwarded-For": "203.0.113.7"}
    proxied = make_app(proxy_count=1).server.test_client()
    proxied.get("/login", environ_base=env("127.0.0.1"))
    proxied.post("/login", data={"username": "olga", "password": "wrong-password-1", "csrf_token": csrf_of(proxied)},
                 headers=forwarded, environ_base=env("127.0.0.1"))
    # Without PROXY_COUNT the header is not believed: a client could name any address.
    direct = make_app().server.test_client()
    direct.get("/login", environ_base=env("127.0.0.1"))
    direct.post("/login", data={"username": "olga", "password": "wrong-password-2", "csrf_token": csrf_of(direct)},
                headers=forwarded, environ_base=env("127.0.0.1"))
    assert [e.address for e in audit_rows(engine, "login.failed")] == ["127.0.0.1", "203.0.113.7"]


def test_the_last_admin_cannot_be_demoted_or_disabled(engine: Engine, people: dict[str, str]) -> None:
    from auth.accounts import set_disabled, set_role

    with pytest.raises(ValueError, match="last enabled admin"):
        set_role(engine, "adam", "operator")
    with pytest.raises(ValueError, match="last enabled admin"):
        set_disabled(engine, "adam", True)
    set_role(engine, "olga", "admin")  # a second admin: now adam may step down
    assert set_role(engine, "adam", "operator").role == "operator"


def test_admin_page_callbacks_are_refused_to_others_and_secrets_stay_out_of_the_audit(
        app: Any, engine: Engine, people: dict[str, str]) -> None:
    reads = [key for key, entry in app.callback_map.items()
             if getattr(entry.get("callback"), "__module__", "").startswith("pages.admin")]
    assert reads, "the admin pages register callbacks"
    operator = signed_in(app, "olga")
    answer = dash_call(operator, app, reads[0], [])
    assert answer.status_code == 403
    assert [e.actor for e in audit_rows(engine, "denied.admin_callback")] == ["olga"]
    # An API body's password is never written to the audit log.
    admin = signed_in(app, "adam")
    made = admin.post("/api/v1/users", json={"username": "newbie", "role": "viewer", "password": "Mot-mat-khau-rat-dai"},
                      headers=with_csrf(admin), environ_base=env())
    assert made.status_code == 201
    assert all("Mot-mat-khau" not in e.detail for e in audit.recent(engine))


def test_single_sign_on_behind_the_forwarding_proxy(make_app: Callable[..., Any], people: dict[str, str]) -> None:
    # With PROXY_COUNT the client's address replaces the proxy's; the sign-on header is still judged
    # by the proxy's own address.
    app = make_app(trusted_user_header="X-Remote-User", trusted_proxies="10.0.0.2", proxy_count=1)
    client = app.server.test_client()
    headers = {"X-Remote-User": "olga", "X-Forwarded-For": "203.0.113.9"}
    assert client.get("/api/v1/alerts", headers=headers, environ_base=env("10.0.0.2")).status_code == 200
    assert client.get("/api/v1/alerts", headers=headers, environ_base=env("10.0.0.3")).status_code == 401


def test_a_kiosk_gets_its_own_panels_only(make_app: Callable[..., Any], engine: Engine) -> None:
    from wall_config import current_walls, wall_panels

    app = make_app()
    _token, secret = create_token(engine, "kiosk", "lobby", wall="overview", actor="tests", now=T0)
    client = app.server.test_client()
    assert client.get(f"/wall/overview?kiosk=1&token={secret}").status_code == 302
    assert wall_refresh_call(client, app).status_code == 200  # p0-4: the overview wall's sources panel
    # The same panel with options the wall does not give it, or a panel id the wall lacks: refused.
    forged = wall_refresh_call(client, app, options={"rows": 3})
    assert forged.status_code == 403
    assert wall_refresh_call(client, app, panel="p9-9").status_code == 403
    overview = wall_panels(current_walls(ROOT / "config" / "walls.yaml")["overview"])
    assert overview["p0-4"].show == "sources"


def test_a_kiosk_cookie_is_renewed_once_a_day_by_the_walls_refreshes(app: Any, engine: Engine) -> None:
    _token, secret = create_token(engine, "kiosk", "lobby", wall="overview", actor="tests", now=T0)
    kiosk = app.server.test_client()
    assert kiosk.get(f"/wall/overview?kiosk=1&token={secret}").status_code == 302
    # Renewed today already: a refresh sets no cookie (no bytes spent on every refresh).
    assert set_cookies(wall_refresh_call(kiosk, app), "opsc_kiosk") == []
    # A day later (the day cookie says yesterday): the next refresh renews it for 400 days more.
    kiosk.set_cookie("opsc_kiosk_day", "1")
    (renewed,) = set_cookies(wall_refresh_call(kiosk, app), "opsc_kiosk")
    assert "Max-Age=34560000" in renewed
