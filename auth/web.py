"""Access control on the Flask server behind the Dash app: identity, rules, CSRF, headers, audit.

For every request (``before_request``):

1. **Who** (:func:`identify`): a ``Bearer`` API token; else the signed session cookie of a
   signed-in user (re-read from the store each time: a disabled account or a changed
   password ends its sessions at once); else a kiosk cookie (a kiosk token, checked
   against the store each time, so a revoked one stops at the wall's next refresh); else a
   render pass (the app's own headless Chromium exporting a page, loopback only); else
   anonymous, a viewer only when ``ANONYMOUS_ACCESS`` is on.
2. **CSRF**: a state-changing request authenticated by a cookie carries the CSRF token
   (auth/csrf.py).
3. **May they** (auth/policy.py): public paths for anyone; pages (login first), Dash
   endpoints and the API for a principal with the role they need; a kiosk only its wall
   and the wall's callbacks; an API token only ``/api/v1``.

After each request: security headers (a Content-Security-Policy with the hashes of Dash's
inline scripts, frame and type-sniffing protection) and an audit entry for each action
(a callback marked with :func:`auth.policy.action`, an API view with :func:`api_action`).

``/login`` (GET, POST) and ``/logout`` (POST) are plain Flask views: they must work
before anyone has a session.
"""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from functools import wraps
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from dash import Dash
from flask import Flask, Response, g, jsonify, redirect, render_template_string, request, session
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.middleware.proxy_fix import ProxyFix

from auth import audit, csrf
from auth.accounts import authenticate, get_user, get_user_by_id
from auth.policy import (
    ADMIN_CALLBACK_MODULE_PREFIX,
    DASH_PATHS,
    KIOSK_CALLBACK_MODULES,
    PAGES_CALLBACK,
    SECRET_NAMES,
    Principal,
    callback_action,
    is_public,
    kiosk_page_allowed,
    page_role,
)
from auth.secret import secret_key
from auth.tokens import find_token
from i18n import t
from services import LANGUAGE_COOKIE, LANGUAGES, current
from settings import Settings
from wall_config import current_walls, wall_panels

log = logging.getLogger(__name__)

KIOSK_COOKIE = "opsc_kiosk"
RENDER_COOKIE = "opsc_render"
SESSION_COOKIE = "opsc_session"
# Browsers keep a cookie at most 400 days: the kiosk cookie is renewed with each load of the wall
# and once a day by its refreshes (KIOSK_DAY_COOKIE says when it last was).
KIOSK_COOKIE_SECONDS = 400 * 86400
KIOSK_DAY_COOKIE = "opsc_kiosk_day"
RENDER_PASS_SECONDS = 15 * 60
LOOPBACK = frozenset({"127.0.0.1", "::1", "::ffff:127.0.0.1"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Wrong passwords from one address within a minute before further attempts are refused (429).
LOGIN_ATTEMPTS_PER_MINUTE = 10
EXTENSION = "opscentre.auth"


class _State:
    """Per-app values computed once: the secret key, the CSP (after every callback exists)."""

    def __init__(self, app: Dash, settings: Settings, key: str) -> None:
        self.app, self.settings, self.key = app, settings, key
        self._csp: str | None = None
        self._kiosk_outputs: frozenset[str] | None = None

    @property
    def csp(self) -> str:
        if self._csp is None:
            hashes = " ".join(self.app.csp_hashes())  # already quoted: 'sha256-…'
            self._csp = ("default-src 'self'; "
                         f"script-src 'self' {hashes}; "
                         # React and plotly.js set style attributes: inline styles, never inline scripts.
                         "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; "
                         "connect-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'self'; "
                         "form-action 'self'; frame-ancestors 'none'")
        return self._csp

    def kiosk_outputs(self) -> frozenset[str]:
        if self._kiosk_outputs is None:
            self._kiosk_outputs = frozenset(
                key for key, entry in self.app.callback_map.items()
                if getattr(entry.get("callback"), "__module__", "") in KIOSK_CALLBACK_MODULES)
        return self._kiosk_outputs


def _state() -> _State:
    from flask import current_app

    return current_app.extensions[EXTENSION]


def init_auth(app: Dash, settings: Settings) -> None:
    """Install access control on ``app``'s server (see the module)."""
    server: Flask = app.server
    key = secret_key(settings)
    server.secret_key = key
    server.config.update(
        SESSION_COOKIE_NAME=SESSION_COOKIE, SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.cookie_secure,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.session_hours),
    )
    server.extensions[EXTENSION] = _State(app, settings, key)
    if settings.proxy_count:
        # Behind nginx every request comes from 127.0.0.1: take the client's address from the
        # proxies' X-Forwarded-For (only as many hops as configured, so clients cannot forge it).
        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=settings.proxy_count, x_proto=settings.proxy_count)
    server.before_request(_before)
    server.after_request(_after)
    server.add_url_rule("/login", "login", _login, methods=["GET", "POST"])
    server.add_url_rule("/logout", "logout", _logout, methods=["POST"])


# --------------------------------------------------------------------------- identity

def client_address() -> str:
    return request.remote_addr or ""


def identify(settings: Settings, key: str) -> Principal | None:
    """The principal of the current request (see the module), None when nobody is signed in."""
    engine = current().engine
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        token = find_token(engine, header[7:].strip())
        if token is None or token.kind != "api":
            g.bad_token = True
            return None
        g.cookie_auth = False
        return Principal("token", f"token:{token.name}", "operator" if token.scope == "operator" else "viewer",
                         token_id=token.id, label=token.name)
    # Cookies or a proxy's header: the browser sends them by itself, so CSRF checks apply.
    g.cookie_auth = True
    proxied = _proxy_user(settings, engine)
    if proxied is not None:
        return proxied
    user_id = session.get("uid")
    if isinstance(user_id, int):
        user = get_user_by_id(engine, user_id)
        if user and not user.disabled and session.get("pwc") == user.password_changed_at.timestamp():
            return Principal("user", user.username, user.role, user_id=user.id, label=user.label)
        session.clear()
    kiosk = request.cookies.get(KIOSK_COOKIE)
    if kiosk:
        token = find_token(engine, kiosk)
        if token is not None and token.kind == "kiosk":
            if request.cookies.get(KIOSK_DAY_COOKIE) != _today():
                g.set_kiosk = kiosk  # renewed once a day: a wall that never reloads never expires
            return Principal("kiosk", f"kiosk:{token.name}", "viewer", wall=token.wall, token_id=token.id,
                             label=token.name)
    render = request.cookies.get(RENDER_COOKIE)
    if render and request.remote_addr in LOOPBACK:
        try:
            who = URLSafeTimedSerializer(key, salt="render").loads(render, max_age=RENDER_PASS_SECONDS)
            return Principal("render", f"render:{who}", "viewer", label=str(who))
        except BadSignature:
            pass
    if settings.anonymous_access:
        return Principal("anonymous", "anonymous", "viewer")
    return None


def _proxy_user(settings: Settings, engine: Any) -> Principal | None:
    """Single sign-on: the account named by ``TRUSTED_USER_HEADER``, when the request comes from
    one of ``TRUSTED_PROXIES`` (the reverse proxy that authenticated the person). Only accounts
    that exist and are enabled; their role is the store's. Off unless the header is configured."""
    # The address the request really came from (with PROXY_COUNT, ProxyFix has put the client's
    # in remote_addr and kept the proxy's aside).
    peer = request.environ.get("werkzeug.proxy_fix.orig", {}).get("REMOTE_ADDR", request.remote_addr)
    if not settings.trusted_user_header or peer not in settings.trusted_proxy_addresses:
        return None
    name = request.headers.get(settings.trusted_user_header, "").strip().lower()
    if not name:
        return None
    user = get_user(engine, name)
    if user is None or user.disabled:
        g.sso_refused = name
        return None
    return Principal("user", user.username, user.role, user_id=user.id, label=user.label)


def _today() -> str:
    return str(int(time.time() // 86400))


def current_principal() -> Principal | None:
    """The principal of the request being served (None outside a request or when nobody is signed in)."""
    from flask import has_request_context

    return g.get("principal") if has_request_context() else None


def actor_name(default: str = "") -> str:
    """The name an action is recorded under: the signed-in user's display name, else ``default``."""
    principal = current_principal()
    return principal.label or principal.name if principal else default


def render_pass(who: str, key: str | None = None) -> str:
    """A cookie value that lets the app's own headless Chromium load pages for ``who`` for a few
    minutes; ``key`` the server's secret key where there is no request (a background job)."""
    return URLSafeTimedSerializer(key or _state().key, salt="render").dumps(who)


# --------------------------------------------------------------------------- the rules

def _refuse(status: int, message: str) -> Response:
    """A JSON error for programs; for a browser opening a page, a page in the reader's language."""
    if request.method == "GET" and request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html":
        return _refused_page(status)
    response = jsonify({"error": message})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="opscentre"'
    return response


def _before() -> Response | None:
    state = _state()
    g.principal = principal = identify(state.settings, state.key)
    path = request.path
    if is_public(path):
        return None
    if g.get("bad_token"):
        return _refuse(401, "the Bearer token is unknown or revoked")
    if g.get("sso_refused") and principal is None:
        _audit_denied(None, "sso", g.sso_refused)
        return _refuse(403, f"the account {g.sso_refused!r} named by the sign-on proxy is unknown or disabled here; "
                            "ask an administrator to create it")
    if request.method not in SAFE_METHODS and g.get("cookie_auth", True) and not csrf.check(
            state.key, request.cookies.get(csrf.COOKIE),
            request.headers.get(csrf.HEADER) or request.form.get(csrf.FIELD)):
        _audit_denied(principal, "csrf", path)
        return _refuse(403, "the request lacks a valid CSRF token; reload the page")
    if path.startswith("/api/"):
        if principal is None:
            return _refuse(401, "sign in, or send an API token: Authorization: Bearer <token>")
        if principal.kind == "kiosk":
            return _refuse(403, "a kiosk token shows its wall only")
        return None  # the views check the role of their actions (api_action)
    if principal is not None and principal.kind == "token":
        return _refuse(403, "API tokens are for /api/v1 only")
    if path in DASH_PATHS:
        if principal is None:
            return _refuse(401, "your session has ended: sign in again")
        return _check_callback(state, principal) if path == "/_dash-update-component" else None
    if path.startswith("/wall/") and request.args.get("token"):
        return _kiosk_sign_in(path)
    if principal is None:
        if request.method in SAFE_METHODS:
            return redirect("/login?" + urlencode({"next": request.full_path.rstrip("?")}))
        return _refuse(401, "sign in first")
    if principal.kind == "kiosk":
        if kiosk_page_allowed(principal, path):
            g.set_kiosk = request.cookies.get(KIOSK_COOKIE)  # renewed with each load of the wall too
            return None
        return _refuse(403, "a kiosk token shows its wall only")
    if not principal.can(page_role(path)):
        _audit_denied(principal, "page", path)
        return _refuse(403, "this page is for administrators")
    return None


def _check_callback(state: _State, principal: Principal) -> Response | None:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return None  # Dash answers a malformed request itself
    output = str(body.get("output") or "")
    entry = state.app.callback_map.get(output) or {}
    if PAGES_CALLBACK in output:
        # Judge the page Dash will draw: it takes the inputs by position (pathname, search), strips
        # the pathname's slashes, and lets the query override path variables (/wall/<name>?name=…).
        inputs = body.get("inputs") if isinstance(body.get("inputs"), list) else []
        pathname, search = ([i.get("value") if isinstance(i, dict) else None for i in inputs[:2]] + [None, None])[:2]
        pathname = "/" + str(pathname or "/").strip("/")
        if principal.kind == "kiosk":
            query = parse_qs(str(search or "").removeprefix("?"), keep_blank_values=True)
            allowed = kiosk_page_allowed(principal, pathname) and query.get("name", [principal.wall]) == [principal.wall]
            return None if allowed else _refuse(403, "a kiosk shows its wall only")
        if not principal.can(page_role(pathname)):
            return _refuse(403, "this page is for administrators")
        return None
    if principal.kind == "kiosk":
        if output not in state.kiosk_outputs() or not _own_panels(state, principal, body):
            return _refuse(403, "a kiosk shows its wall only")
        return None
    module = getattr(entry.get("callback"), "__module__", "") or ""
    if module.startswith(ADMIN_CALLBACK_MODULE_PREFIX) and not principal.can("admin"):
        _audit_denied(principal, "admin_callback", output[:200])
        return _refuse(403, "this is for administrators")
    marked = callback_action(entry.get("callback"))
    if marked:
        role, name = marked
        if not principal.can(role):
            _audit_denied(principal, name, "")
            return _refuse(403, f"this needs the {role} role")
        if "cacheKey" not in request.args:  # not the polls of a background callback
            g.audit = (name, "", _callback_detail(body))
    return None


def _own_panels(state: _State, principal: Principal, body: dict[str, Any]) -> bool:
    """Whether every panel a wall refresh asks for is a panel of the kiosk's wall, with its options.

    The panels' options travel in the request (the page's stores): without this check a kiosk
    could ask for any panel kind with options of its choosing, not only its own wall's.
    """
    wall = current_walls(state.settings.walls_file).get(principal.wall or "")
    if wall is None:
        return False
    own = {pid: (spec.show, json.dumps(spec.parsed_options().model_dump(), sort_keys=True, default=str))
           for pid, spec in wall_panels(wall).items()}
    for group in body.get("state") or []:
        for item in group if isinstance(group, list) else [group]:
            ident = item.get("id") if isinstance(item, dict) else None
            if not isinstance(ident, dict) or ident.get("role") != "opts":
                continue
            expected = own.get(str(ident.get("panel")))
            value = item.get("value")
            if (expected is None or expected[0] != ident.get("kind") or not isinstance(value, dict)
                    or json.dumps(value.get("options"), sort_keys=True, default=str) != expected[1]):
                return False
    return True


def _secret(name: Any) -> bool:
    text = json.dumps(name, default=str).lower() if not isinstance(name, str) else name.lower()
    return any(word in text for word in SECRET_NAMES)


def _callback_detail(body: dict[str, Any]) -> str:
    """The callback's inputs and state for the audit log, secrets (passwords...) left out."""
    values = [{"id": i.get("id"), "property": i.get("property"),
               "value": "•••" if _secret(i.get("id")) or _secret(i.get("property")) else i.get("value")}
              for i in (body.get("inputs") or []) + (body.get("state") or []) if isinstance(i, dict)]
    return json.dumps(values, ensure_ascii=False, default=str)[:audit.MAX_DETAIL]


def _body_detail() -> str:
    """A JSON request body for the audit log, secrets left out."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return ""
    shown = {k: "•••" if _secret(k) else v for k, v in body.items()}
    return json.dumps(shown, ensure_ascii=False, default=str)[:audit.MAX_DETAIL]


def _audit_denied(principal: Principal | None, action: str, target: str) -> None:
    audit.record(current().engine, principal.name if principal else "anonymous", f"denied.{action}", target,
                 address=client_address(), outcome="denied")


def require_role(role: str) -> Callable:
    """Decorate an API view for ``role`` and up (403 otherwise); it audits its own changes, if any."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            principal = current_principal()
            if principal is None or not principal.can(role):
                _audit_denied(principal, f"api.{view.__name__}", request.path)
                return _refuse(403, f"this needs the {role} role")
            if request.method == "POST" and not isinstance(request.get_json(silent=True), dict):
                return _refuse(415, "send a JSON object with Content-Type: application/json")
            return view(*args, **kwargs)

        return guarded

    return decorate


def api_action(role: str, name: str, target: Callable[..., str] | None = None) -> Callable:
    """Decorate an API view that changes state: it needs ``role`` (403 otherwise), a JSON body
    for POST (415), and each call is audited as ``name`` (``target`` from the view's kwargs)."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            principal = current_principal()
            label = target(**kwargs) if target else ""
            if principal is None or not principal.can(role):
                _audit_denied(principal, name, label)
                return _refuse(403, f"this needs the {role} role (an operator's session or API token)")
            if request.method == "POST":
                if not request.is_json:
                    return _refuse(415, "send a JSON body with Content-Type: application/json")
                if not isinstance(request.get_json(silent=True), dict):
                    return _refuse(400, "the body must be a JSON object")
            g.audit = (name, label, _body_detail() if request.method == "POST" else
                       request.query_string.decode("utf-8", "replace"))
            return view(*args, **kwargs)

        return guarded

    return decorate


# --------------------------------------------------------------------------- after each request

def _after(response: Response) -> Response:
    state = _state()
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    if response.mimetype == "text/html":
        headers.setdefault("Content-Security-Policy", state.csp)
    if not csrf.valid_cookie(state.key, request.cookies.get(csrf.COOKIE)):
        response.set_cookie(csrf.COOKIE, g.get("csrf_new") or csrf.new_token(state.key), samesite="Lax",
                            secure=state.settings.cookie_secure, httponly=False)
    kiosk = g.get("set_kiosk")
    if kiosk:
        response.set_cookie(KIOSK_COOKIE, kiosk, max_age=KIOSK_COOKIE_SECONDS, httponly=True, samesite="Lax",
                            secure=state.settings.cookie_secure)
        response.set_cookie(KIOSK_DAY_COOKIE, _today(), max_age=KIOSK_COOKIE_SECONDS, httponly=True,
                            samesite="Lax", secure=state.settings.cookie_secure)
    pending = g.get("audit")
    if pending and response.status_code < 400 and response.status_code != 204:
        name, target, detail = pending
        principal = g.get("principal")
        audit.record(current().engine, principal.name if principal else "anonymous", name, target,
                     address=client_address(), detail=detail)
    return response


# --------------------------------------------------------------------------- login and logout

REFUSED_PAGE = """<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{{ title }}</title><link rel="stylesheet" href="/assets/0-fonts.css"><link rel="stylesheet" href="/assets/login.css">
</head><body class="login-body"><main class="login-box">
<div class="login-org">{{ org }}</div><h1>{{ title }}</h1>
<p class="login-message" role="alert">{{ body }}</p>
<nav class="login-lang"><a href="/">{{ home }}</a> · <a href="/login?next={{ next | urlencode }}">{{ other }}</a></nav>
</main></body></html>"""

LOGIN_PAGE = """<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{{ title }}</title><link rel="stylesheet" href="/assets/0-fonts.css"><link rel="stylesheet" href="/assets/login.css">
</head><body class="login-body"><main class="login-box">
<div class="login-org">{{ org }}</div><h1>{{ title }}</h1>
{% if message %}<p class="login-message" role="alert">{{ message }}</p>{% endif %}
<form method="post" action="/login">
<input type="hidden" name="csrf_token" value="{{ csrf_token }}"><input type="hidden" name="next" value="{{ next }}">
<label>{{ username_label }}<input name="username" autocomplete="username" value="{{ username }}" required autofocus></label>
<label>{{ password_label }}<input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">{{ submit }}</button>
</form>
<nav class="login-lang"><a href="/language/vi" lang="vi">Tiếng Việt</a> · <a href="/language/en" lang="en">English</a></nav>
</main></body></html>"""


def _refused_page(status: int) -> Response:
    lang = _language()
    html = render_template_string(
        REFUSED_PAGE, lang=lang, title=t("denied.title", lang), org=_state().settings.organisation_name,
        body=t("denied.body", lang), home=t("denied.home", lang), other=t("denied.other_account", lang),
        next=_safe_next(request.full_path.rstrip("?")))
    return Response(html, status=status, mimetype="text/html")


def _language() -> str:
    lang = request.cookies.get(LANGUAGE_COOKIE)
    return lang if lang in LANGUAGES else _state().settings.language


def _safe_next(target: str | None) -> str:
    """Only a path of this app (never //host or a scheme): no open redirect after login."""
    target = target or "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _login_page(message: str = "", username: str = "", status: int = 200) -> Response:
    state = _state()
    lang = _language()
    html = render_template_string(
        LOGIN_PAGE, lang=lang, title=t("login.title", lang), org=state.settings.organisation_name, message=message,
        csrf_token=csrf_token(), next=_safe_next(request.values.get("next")), username=username,
        username_label=t("login.username", lang), password_label=t("login.password", lang),
        submit=t("login.submit", lang))
    return Response(html, status=status, mimetype="text/html")


def _login() -> Response:
    if request.method == "GET":
        return _login_page()
    state = _state()
    engine = current().engine
    lang = _language()
    address = client_address()
    username = (request.form.get("username") or "").strip().lower()[:64]
    now = datetime.now(timezone.utc)
    if not csrf.check(state.key, request.cookies.get(csrf.COOKIE), request.form.get(csrf.FIELD)):
        audit.record(engine, username or "?", "denied.csrf", "/login", address=address, outcome="denied", now=now)
        return _login_page(t("login.expired", lang), username, 403)
    if audit.count_since(engine, "login.failed", now - timedelta(minutes=1), address=address) >= LOGIN_ATTEMPTS_PER_MINUTE:
        audit.record(engine, username or "?", "login.throttled", username, address=address, outcome="denied", now=now)
        return _login_page(t("login.throttled", lang), username, 429)
    result = authenticate(engine, username, request.form.get("password") or "", now)
    if result.user is None:
        audit.record(engine, username or "?", "login.failed", username, address=address, outcome="denied",
                     detail=f"reason={result.reason}", now=now)
        if result.reason == "locked_now":
            audit.record(engine, "system", "user.locked", username, address=address, now=now)
        key = "login.locked" if result.reason in ("locked", "locked_now") else "login.failed"
        return _login_page(t(key, lang), username, 401)
    session.clear()
    session.permanent = True
    session["uid"] = result.user.id
    session["pwc"] = result.user.password_changed_at.timestamp()
    audit.record(engine, result.user.username, "login.ok", result.user.username, address=address, now=now)
    response = redirect(_safe_next(request.form.get("next")))
    # A new CSRF token for the new session.
    response.set_cookie(csrf.COOKIE, csrf.new_token(state.key), samesite="Lax", secure=state.settings.cookie_secure)
    return response


def _logout() -> Response:
    principal = current_principal()
    if principal is not None and principal.kind == "user":
        audit.record(current().engine, principal.name, "logout", principal.name, address=client_address())
    session.clear()
    return redirect("/login")


def _kiosk_sign_in(path: str) -> Response:
    """``/wall/<name>?token=…``: a live kiosk token of that wall sets the kiosk cookie, then the
    same URL without the token (kept out of the address bar and screenshots)."""
    secret = request.args.get("token", "")
    token = find_token(current().engine, secret)
    wall = path.rstrip("/").removeprefix("/wall/")
    if token is None or token.kind != "kiosk" or token.wall != wall:
        audit.record(current().engine, "anonymous", "kiosk.refused", path, address=client_address(), outcome="denied")
        return _refuse(403, "this kiosk token is unknown, revoked or for another wall")
    g.set_kiosk = secret
    audit.record(current().engine, f"kiosk:{token.name}", "kiosk.sign_in", path, address=client_address())
    query = urlencode([(k, v) for k, v in request.args.items(multi=True) if k != "token"])
    return redirect(path + (f"?{query}" if query else ""))


def csrf_token() -> str:
    """The CSRF token of this browser, for a plain HTML form (issued now if it has none)."""
    state = _state()
    token = request.cookies.get(csrf.COOKIE)
    if not csrf.valid_cookie(state.key, token):
        token = g.get("csrf_new") or csrf.new_token(state.key)
        g.csrf_new = token
    return token
