"""Export a page or wall view of the app as it is on screen: PNG or PDF.

    GET /api/v1/export?path=/wall/overview&format=png&size=1920x1080&lang=vi
        the file (image/png or application/pdf) named opscentre-<page>-<yyyyMMdd-HHmm>.<ext>.
        ``path`` is a path of this app with its query (the URL holds the view's state),
        e.g. ``/environment?province=HNI``; ``format`` png (default) or pdf (A4 landscape);
        ``size`` of a PNG: ``WIDTHxHEIGHT`` (320x200 to 3840x2160, default 1920x1080;
        3840x2160 is the 1080p view at 2×, as a 4K wall shows it); ``lang`` vi or en
        (default: the caller's language cookie, else LANGUAGE).
        400 for a bad parameter (a ``path`` naming a scheme or host, ``//x``, a non-page
        path such as /api/…), 403 from another machine, 502 when the page cannot be shot
        (it never settles, or comes out blank), 503 when renders are all busy.

Exporting is an operator's action (auth/web.py ``api_action``, audited): a render costs a
Chromium for seconds. The page is loaded by headless Chromium from the app's own loopback
address (:func:`loopback_origin`) with the reader's language cookie and a render pass
(a signed cookie valid for minutes, loopback only: auth/web.py), and shot once settled (:func:`briefings.render.render_png`,
:func:`briefings.render.render_page_pdf`). The header's Export control
(callbacks/export.py) uses the same :func:`export_view`.

Exports are not archived with the briefings: the archive's rows are briefings (named
``ban-tin-…``, listed as such on the Briefings page), with no place for the page shown.
"""
from __future__ import annotations

import io
import re
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, jsonify, request, send_file

from api.serialize import bad_request
from auth.web import LOOPBACK, RENDER_COOKIE, actor_name, api_action, render_pass
from briefings.render import WALL_SIZES, BriefingError, Chromium, render_page_pdf, render_png
from services import LANGUAGE_COOKIE, LANGUAGES, current, current_language
from settings import Settings

FORMATS = {"png": "image/png", "pdf": "application/pdf"}
DEFAULT_SIZE = "1920x1080"
MIN_SIZE, MAX_SIZE = (320, 200), (3840, 2160)
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
# Paths of the app that are not pages: a shot of them is meaningless (or, /language/, has effects).
NOT_PAGES = ("/api/", "/_", "/assets/", "/language/")
# Each render is a Chromium of a few hundred MB: at most this many at once per web process.
_RENDERS = threading.BoundedSemaphore(2)
RENDER_WAIT_SECONDS = 60


def check_path(path: str | None) -> str:
    """``path`` if it is a path (and query) of a page of this app; ValueError saying why not.

    Only a path: no scheme, no host, not ``//host`` or ``/\\host`` (which browsers read as
    a host), no white space or control characters.
    """
    if not path:
        raise ValueError("path is required, e.g. path=/wall/overview")
    if len(path) > 2000:
        raise ValueError("path is too long")
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        raise ValueError("path must be a path of this app starting with a single '/', with no scheme or host")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in path):
        raise ValueError("path must not contain white space or control characters")
    parts = urlsplit(path)
    if parts.scheme or parts.netloc:
        raise ValueError("path must not name a scheme or host")
    if parts.path.startswith(NOT_PAGES) or parts.path in ("/api", "/assets", "/language"):
        raise ValueError(f"{parts.path} is not a page of the app")
    return path


def parse_size(text: str | None) -> tuple[int, int, float]:
    """Width, height (CSS px) and device scale of a PNG from ``WIDTHxHEIGHT``; ValueError on junk."""
    text = (text or DEFAULT_SIZE).lower()
    if text in WALL_SIZES:
        return WALL_SIZES[text]
    match = re.fullmatch(r"(\d{3,4})x(\d{3,4})", text)
    if not match:
        raise ValueError("size must be WIDTHxHEIGHT, e.g. 1920x1080")
    width, height = int(match[1]), int(match[2])
    if not (MIN_SIZE[0] <= width <= MAX_SIZE[0] and MIN_SIZE[1] <= height <= MAX_SIZE[1]):
        raise ValueError(f"size must be between {MIN_SIZE[0]}x{MIN_SIZE[1]} and {MAX_SIZE[0]}x{MAX_SIZE[1]}")
    return width, height, 1


def loopback_origin(host: str | None, remote: str | None, settings: Settings) -> str | None:
    """``http://127.0.0.1:<port>`` where Chromium on this machine reaches the app; None if it cannot.

    ``host`` is the request's Host header: used when it names loopback and the request
    came from this machine (a remote caller could name any local port in its Host
    header). Otherwise the settings' HOST/PORT, when the app listens on loopback there.
    """
    if host and remote in LOOPBACK:
        parts = urlsplit(f"http://{host}")
        try:
            parts.port  # noqa: B018 - raises on a malformed port
        except ValueError:
            parts = urlsplit("http://invalid")
        if parts.hostname in LOCAL_HOSTS:
            return f"http://{parts.netloc}"
    if settings.host in (*LOCAL_HOSTS, "0.0.0.0", "::"):
        return f"http://127.0.0.1:{settings.port}"
    return None


def export_name(path: str, fmt: str, tz: ZoneInfo, now: datetime | None = None) -> str:
    """``opscentre-wall-overview-20261122-0715.png``: the page, the local time, the format."""
    slug = re.sub(r"[^a-z0-9]+", "-", urlsplit(path).path.lower()).strip("-") or "overview"
    stamp = (now or datetime.now(tz)).astimezone(tz).strftime("%Y%m%d-%H%M")
    return f"opscentre-{slug[:60]}-{stamp}.{fmt}"


class _ReaderChromium(Chromium):
    """A Chromium whose app pages open with the reader's language cookie.

    Dash callbacks follow the cookie, not the page's URL: without it an English reader's
    export would show Vietnamese panels in an English frame.
    """

    def __init__(self, cookies: list[dict[str, Any]]) -> None:
        super().__init__()
        self._cookies = cookies

    def _context(self, *args: Any, **kwargs: Any) -> Any:
        context = super()._context(*args, **kwargs)
        if self._cookies:
            context.add_cookies(self._cookies)
        return context


def export_view(origin: str, path: str, fmt: str, size: tuple[int, int, float] = WALL_SIZES[DEFAULT_SIZE],
                lang: str | None = None, render_cookie: str | None = None,
                progress: Callable[[str], None] | None = None) -> bytes:
    """The PNG or PDF of ``origin + path`` once settled; BriefingError when it cannot be had.

    ``render_cookie`` (:func:`auth.web.render_pass`) lets Chromium load the page signed in.

    ``progress`` is told "browser" (Chromium starting), then "page" (loading and waiting
    for the page to settle). Never returns an empty or blank file.
    """
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    url = origin.rstrip("/") + check_path(path)
    cookies = [{"name": LANGUAGE_COOKIE, "value": lang, "url": origin}] if lang in LANGUAGES else []
    if render_cookie:
        cookies.append({"name": RENDER_COOKIE, "value": render_cookie, "url": origin})
    step = progress or (lambda _step: None)
    step("browser")
    with _ReaderChromium(cookies) as chromium:
        step("page")
        if fmt == "pdf":
            return render_page_pdf(url, browser=chromium)
        width, height, scale = size
        return render_png(url, width, height, scale, browser=chromium)


def _error(status: int, message: str) -> Response:
    response = jsonify({"error": message})
    response.status_code = status
    return response


def register(bp: Blueprint) -> None:
    @bp.get("/export")
    @api_action("operator", "export")
    def export():  # noqa: ANN202
        fmt = request.args.get("format", "png").lower()
        try:
            path = check_path(request.args.get("path"))
            if fmt not in FORMATS:
                raise ValueError(f"format must be one of {', '.join(FORMATS)}")
            size = parse_size(request.args.get("size"))
            if request.args.get("lang") not in (None, *LANGUAGES):
                raise ValueError(f"lang must be one of {', '.join(LANGUAGES)}")
        except ValueError as exc:
            return bad_request(str(exc))
        settings = current().settings
        origin = loopback_origin(request.host, request.remote_addr, settings)
        if origin is None:
            return _error(503, f"the app does not listen on loopback (HOST={settings.host}): Chromium cannot load it")
        if not _RENDERS.acquire(timeout=RENDER_WAIT_SECONDS):
            return _error(503, "every renderer is busy; try again in a minute")
        try:
            content = export_view(origin, path, fmt, size, current_language(), render_pass(actor_name("api")))
        except BriefingError as exc:
            return _error(502, f"the page could not be exported: {exc}")
        finally:
            _RENDERS.release()
        return send_file(io.BytesIO(content), mimetype=FORMATS[fmt], as_attachment=True,
                         download_name=export_name(path, fmt, settings.tz), max_age=0)
