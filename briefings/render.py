"""Render a composed briefing with Debian's headless Chromium (Playwright): PDF and PNG.

Fully offline: the browser is the system's (``BROWSER_PATH``, default /usr/bin/chromium;
Playwright never downloads one), every request of a briefing page is refused (it is
self-contained; a request would be a bug) and a page of the app may reach loopback only.

A render either gives a usable file or raises :class:`BriefingError`: the charts must all be
drawn (plotly's ``.main-svg`` in every chart), a PDF's text (pdftotext) must hold the
organisation's name, and a PNG must have the exact size asked and more than a handful of
colours. Nothing here writes a file; :mod:`briefings.archive` does, from the bytes.

One :class:`Chromium` can serve several renders (warm: no start-up per file); the
functions start their own when given none (cold).
"""
from __future__ import annotations

import base64
import os
import shutil
import struct
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from briefings.compose import BriefingData, Document, compose

DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync",
]
TIMEOUT_MS = 60_000
# A4 landscape at 96 px/in less the @page margins: the width the print layout is drawn at.
PRINT_VIEWPORT = {"width": 1123, "height": 794}
PDF_MARGINS = {"top": "15mm", "bottom": "13mm", "left": "12mm", "right": "12mm"}
MIN_COLOURS = 16  # a real briefing has hundreds; a blank or half-drawn page has a few
WALL_SIZES = {"1920x1080": (1920, 1080, 1), "3840x2160": (1920, 1080, 2)}  # 4K: the 1080p slide at 2×


class BriefingError(Exception):
    """A briefing could not be rendered, or came out blank; the message says why."""


def chromium_path() -> str:
    return os.environ.get("BROWSER_PATH") or DEFAULT_CHROMIUM


class Chromium:
    """One headless Chromium for several renders; use as a context manager.

    Playwright's sync API is bound to the thread that started it: create, use and close
    one :class:`Chromium` in the same thread.
    """

    def __init__(self, executable: str | None = None) -> None:
        self.executable = executable or chromium_path()
        self._playwright: Any = None
        self._browser: Any = None
        # Briefing documents reuse one page per size: the renderer keeps plotly.js compiled,
        # which makes a warm render seconds faster. Only URLs in _allowed may load there.
        self._pages: dict[tuple[int, int, float], Any] = {}
        self._allowed: set[str] = set()

    def __enter__(self) -> Chromium:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def start(self) -> None:
        from playwright.sync_api import Error, sync_playwright

        if self._browser is not None:
            return
        self._playwright = sync_playwright().start()
        try:
            self._browser = self._playwright.chromium.launch(executable_path=self.executable, args=CHROMIUM_ARGS,
                                                             timeout=TIMEOUT_MS)
        except Error as exc:
            self.close()
            raise BriefingError(f"cannot start Chromium at {self.executable}: {_first_line(exc)}") from None

    def close(self) -> None:
        for closing in (self._browser, self._playwright):
            if closing is not None:
                try:
                    closing.close() if closing is self._browser else closing.stop()
                except Exception:  # noqa: BLE001 - already gone; nothing left to release
                    pass
        self._browser = self._playwright = None
        self._pages.clear()

    def _context(self, width: int, height: int, scale: float, allowed: Any, loopback: bool) -> Any:
        context = self._browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=scale,
                                            locale="vi-VN", service_workers="block")

        def gate(route: Any) -> None:
            url = route.request.url
            local = urlparse(url).hostname in ("127.0.0.1", "localhost", "::1")
            if url.startswith(("data:", "blob:", "about:")) or url in allowed or (loopback and local):
                route.continue_()
            else:
                route.abort()

        context.route("**/*", gate)
        return context

    @contextmanager
    def page(self, width: int, height: int, scale: float = 1, loopback: bool = False,
             allow: tuple[str, ...] = ()) -> Iterator[Any]:
        """A page of ``width`` × ``height`` CSS px at ``scale`` device px per px.

        Every request is refused but the URLs in ``allow`` and, when ``loopback``,
        127.0.0.1/localhost. A loopback page (an app's page) gets its own context, closed
        after use; a briefing's page is kept for the next briefing of the same size.
        """
        self.start()
        if loopback:
            context = self._context(width, height, scale, set(allow), loopback=True)
            try:
                yield context.new_page()
            finally:
                context.close()
            return
        key = (width, height, scale)
        page = self._pages.get(key)
        if page is None or page.is_closed():
            page = self._pages[key] = self._context(width, height, scale, self._allowed, loopback=False).new_page()
        self._allowed.update(allow)
        try:
            yield page
        except BaseException:
            # A page that failed may be in any state: the next render starts a new one.
            self._pages.pop(key, None)
            page.context.close()
            raise
        finally:
            self._allowed.difference_update(allow)


@contextmanager
def _session(browser: Chromium | None, executable: str | None) -> Iterator[Chromium]:
    if browser is not None:
        yield browser
        return
    with Chromium(executable) as own:
        yield own


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or exc.__class__.__name__
    return text.splitlines()[0][:500]


@contextmanager
def _document_file(doc: Document) -> Iterator[str]:
    """The document as a temporary file; its file: URL.

    Chromium reads it from disk: handing it 5 MB (plotly.js inline) through Playwright's
    pipe with ``set_content`` takes several seconds.
    """
    with tempfile.TemporaryDirectory(prefix="briefing-") as folder:
        path = Path(folder) / "briefing.html"
        path.write_text(doc.html, encoding="utf-8")
        yield path.as_uri()


def _load(page: Any, url: str, doc: Document) -> None:
    """Open the document and wait until every chart is drawn and the text is there."""
    from playwright.sync_api import Error

    try:
        page.goto(url, wait_until="load", timeout=TIMEOUT_MS)
        page.wait_for_function("n => window.briefingDrawn === n", arg=doc.figures, timeout=TIMEOUT_MS)
        page.evaluate("document.fonts.ready.then(() => true)")
    except Error as exc:
        raise BriefingError(f"the briefing page did not finish drawing its charts: {_first_line(exc)}") from None
    drawn = page.evaluate("""() => [...document.querySelectorAll('.js-plotly-plot')]
                                     .filter(p => p.querySelector('.main-svg')).length""")
    if drawn != doc.figures:
        raise BriefingError(f"{drawn} of {doc.figures} charts drawn")
    if doc.expect_text not in page.inner_text("body"):
        raise BriefingError(f"the page does not show {doc.expect_text!r}")


def render_html(data: BriefingData) -> bytes:
    """The self-contained HTML file (print layout: it reads on screen and prints as the PDF does)."""
    doc = compose(data, "print")
    if doc.expect_text not in doc.html or "Plotly" not in doc.html:
        raise BriefingError("the composed HTML lacks its text or its charts")
    return doc.html.encode("utf-8")


def render_pdf(doc: Document, *, browser: Chromium | None = None, executable: str | None = None) -> bytes:
    """A4 landscape PDF with a header and page numbers on every page."""
    from playwright.sync_api import Error

    with _session(browser, executable) as chromium, _document_file(doc) as url, \
            chromium.page(**PRINT_VIEWPORT, allow=(url, *doc.resources)) as page:
        _load(page, url, doc)
        try:
            pdf = page.pdf(format="A4", landscape=True, print_background=True, prefer_css_page_size=True,
                           display_header_footer=True, header_template=doc.header, footer_template=doc.footer,
                           margin=PDF_MARGINS)
        except Error as exc:
            raise BriefingError(f"Chromium could not print the PDF: {_first_line(exc)}") from None
    check_pdf(pdf, doc.expect_text)
    return pdf


def pdf_text(pdf: bytes) -> str | None:
    """The PDF's text by ``pdftotext -layout`` (poppler-utils); None when pdftotext is not installed."""
    tool = shutil.which("pdftotext")
    if tool is None:
        return None
    done = subprocess.run([tool, "-layout", "-enc", "UTF-8", "-", "-"], input=pdf, capture_output=True, timeout=60,
                          check=False)
    if done.returncode != 0:
        raise BriefingError(f"pdftotext cannot read the PDF: {done.stderr.decode(errors='replace')[:300]}")
    return done.stdout.decode("utf-8")


def check_pdf(pdf: bytes, expect_text: str) -> None:
    """Raise :class:`BriefingError` unless ``pdf`` is a PDF whose text holds ``expect_text``."""
    if not pdf.startswith(b"%PDF-") or len(pdf) < 2_000:
        raise BriefingError(f"Chromium returned no usable PDF ({len(pdf)} bytes)")
    text = pdf_text(pdf)
    # Without pdftotext the page's own text was checked before printing (_load).
    if text is not None and expect_text not in text:
        raise BriefingError(f"the PDF came out blank: its text lacks {expect_text!r}")


def render_png(source: Document | str, width: int = 1920, height: int = 1080, scale: float = 1, *,
               browser: Chromium | None = None, executable: str | None = None) -> bytes:
    """A PNG of ``width`` × ``height`` CSS px at ``scale`` (1920 × 1080 at 2 gives 3840 × 2160).

    ``source`` is a composed briefing (screen layout) or the URL of a page of the app on
    loopback ("export what I see"), which is shot once it is loaded and its charts drawn.
    """
    from playwright.sync_api import Error

    with _session(browser, executable) as chromium, _maybe_file(source) as url, \
            chromium.page(width, height, scale, loopback=not isinstance(source, Document),
                          allow=(url, *source.resources) if isinstance(source, Document) else ()) as page:
        if isinstance(source, Document):
            _load(page, url, source)
        else:
            _load_url(page, url)
        try:
            png = page.screenshot(type="png", full_page=False, animations="disabled", timeout=TIMEOUT_MS)
        except Error as exc:
            raise BriefingError(f"Chromium could not take the screenshot: {_first_line(exc)}") from None
        check_png(png, round(width * scale), round(height * scale), page)
    return png


@contextmanager
def _maybe_file(source: Document | str) -> Iterator[str]:
    if isinstance(source, Document):
        with _document_file(source) as url:
            yield url
    else:
        yield source


# An app page is settled when its content is in, no callback is loading, every chart is
# drawn and nothing has changed for a moment (Dash fills a page after "load" and networkidle).
_SETTLED = """() => {
  const root = document.getElementById('_pages_content') || document.getElementById('react-entry-point');
  if (!root || !root.innerText.trim()) return false;
  if (document.querySelector('[data-dash-is-loading="true"]')) return false;
  if (![...document.querySelectorAll('.js-plotly-plot')].every(p => p.querySelector('.main-svg'))) return false;
  const sig = document.body.innerText.length + ':' + document.querySelectorAll('.js-plotly-plot, .ag-row').length;
  const now = performance.now();
  if (window.__shotSig !== sig) { window.__shotSig = sig; window.__shotSince = now; return false; }
  return now - window.__shotSince > 1500;
}"""


def _load_url(page: Any, url: str) -> None:
    from playwright.sync_api import Error

    try:
        page.goto(url, wait_until="load", timeout=TIMEOUT_MS)
        page.wait_for_function(_SETTLED, polling=250, timeout=TIMEOUT_MS)
    except Error as exc:
        raise BriefingError(f"{url} did not finish drawing: {_first_line(exc)}") from None


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk; BriefingError if it is not a PNG."""
    if len(png) < 24 or png[:8] != b"\x89PNG\r\n\x1a\n" or png[12:16] != b"IHDR":
        raise BriefingError("Chromium returned no PNG")
    return struct.unpack(">II", png[16:24])


# Counts the colours of the PNG as the browser decodes it: every pixel of a grid sample.
_COUNT_COLOURS = """async (b64) => {
  const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
  const bitmap = await createImageBitmap(new Blob([bytes], {type: 'image/png'}));
  const canvas = new OffscreenCanvas(480, 270);
  const ctx = canvas.getContext('2d');
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(bitmap, 0, 0, 480, 270);
  const px = new Uint32Array(ctx.getImageData(0, 0, 480, 270).data.buffer);
  return new Set(px).size;
}"""


def check_png(png: bytes, width: int, height: int, page: Any = None) -> None:
    """Raise :class:`BriefingError` unless ``png`` is ``width`` × ``height`` and not blank.

    ``page``, an open Chromium page, decodes it to count colours (no imaging library needed).
    """
    size = png_size(png)
    if size != (width, height):
        raise BriefingError(f"the PNG is {size[0]}×{size[1]}, not {width}×{height}")
    if page is not None:
        colours = page.evaluate(_COUNT_COLOURS, base64.b64encode(png).decode("ascii"))
        if colours < MIN_COLOURS:
            raise BriefingError(f"the PNG came out blank ({colours} colours)")


# A4 landscape's printable width (297 mm less PDF_MARGINS' 24 mm) in CSS px: the page is
# printed at this share of its size, so its screen layout at PRINT_VIEWPORT's width fits.
_PAGE_PDF_SCALE = round((297 - 24) / 25.4 * 96 / PRINT_VIEWPORT["width"], 3)
# The text a page's PDF must hold: its title (a desktop page's h1, a wall's title).
_PAGE_TITLE = """() => {
  const root = document.getElementById('_pages_content') || document.body;
  const title = root.querySelector('h1, .wall-title');
  return ((title && title.innerText) || root.innerText.trim().split('\\n')[0] || '').trim().slice(0, 80);
}"""


def render_page_pdf(url: str, *, browser: Chromium | None = None, executable: str | None = None) -> bytes:
    """An A4 landscape PDF of a page of the app on loopback, as it looks on screen, once settled.

    The page is laid out at PRINT_VIEWPORT with the screen's styles (not print ones: "export
    what I see") and printed scaled to the sheet; a long page runs over several sheets.
    """
    from playwright.sync_api import Error

    with _session(browser, executable) as chromium, chromium.page(**PRINT_VIEWPORT, loopback=True) as page:
        page.emulate_media(media="screen")
        _load_url(page, url)
        title = page.evaluate(_PAGE_TITLE)
        try:
            pdf = page.pdf(format="A4", landscape=True, print_background=True, margin=PDF_MARGINS,
                           scale=_PAGE_PDF_SCALE)
        except Error as exc:
            raise BriefingError(f"Chromium could not print the PDF: {_first_line(exc)}") from None
    if not title:
        raise BriefingError(f"{url} shows no text")
    if not pdf.startswith(b"%PDF-") or len(pdf) < 2_000:
        raise BriefingError(f"Chromium returned no usable PDF ({len(pdf)} bytes)")
    text = pdf_text(pdf)
    # pdftotext -layout may space words out: compare with runs of white space squashed.
    if text is not None and " ".join(title.split()) not in " ".join(text.split()):
        raise BriefingError(f"the PDF came out blank: its text lacks {title!r}")
    return pdf
