"""Real headless Chromium (Debian's package) driven by Playwright, and the app as a real process."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

import httpx

from tests.servers import free_port

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("BROWSER_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync",
]


class AppProcess:
    """``python app.py`` (the embedded default) as a real process that a test can stop and start again."""

    def __init__(self, tmp_path: Path, sources_yaml: str, **env: str) -> None:
        sources = tmp_path / "sources.yaml"
        sources.write_text(sources_yaml, encoding="utf-8")
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp_path / "app.log"
        self.env = {**os.environ, "PORT": str(self.port), "VAR_DIR": str(tmp_path / "var"),
                    "SOURCES_FILE": str(sources), **env}
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=self.env, stdout=log,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(self.base + "/api/v1/sources", timeout=2)
                return
            except httpx.HTTPError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("the app did not start:\n" + self.log_path.read_text()) from None
                time.sleep(0.3)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(20)


@contextmanager
def running_app(tmp_path: Path, sources_yaml: str, **env: str) -> Iterator[str]:
    """Start ``python app.py`` (the embedded default) on a free port; yield its base URL."""
    app = AppProcess(tmp_path, sources_yaml, **env)
    app.start()
    try:
        yield app.base
    finally:
        app.stop()


def sign_in(page, base: str, username: str = "admin", password: str | None = None) -> None:  # noqa: ANN001
    """Sign ``page``'s browser in through the login form (the first admin by default)."""
    from tests.support import TEST_ADMIN_PASSWORD

    page.goto(base + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password or TEST_ADMIN_PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")
    if "/login" in page.url:
        raise AssertionError(f"sign-in as {username} failed: {page.inner_text('body')[:300]}")


@contextmanager
def signed_in_client(base: str, username: str = "admin", password: str | None = None,
                     timeout: float = 180) -> Iterator[httpx.Client]:
    """An HTTP client of the app at ``base``, signed in through the login form (the first admin by default)."""
    from tests.support import TEST_ADMIN_PASSWORD

    with httpx.Client(base_url=base, timeout=timeout) as client:
        client.get("/login")  # the CSRF cookie
        answer = client.post("/login", data={"username": username, "password": password or TEST_ADMIN_PASSWORD,
                                             "csrf_token": client.cookies.get("_csrf_token", "")})
        if answer.status_code != 302:
            raise AssertionError(f"sign-in as {username} failed: {answer.status_code} {answer.text[:300]}")
        yield client


class PageWatch:
    """Collects console errors and every request that leaves loopback."""

    def __init__(self, page) -> None:  # noqa: ANN001
        self.console_errors: list[str] = []
        self.foreign_requests: list[str] = []
        page.on("console", lambda msg: msg.type == "error" and self.console_errors.append(msg.text))
        page.on("pageerror", lambda exc: self.console_errors.append(str(exc)))
        page.on("request", self._request)

    def _request(self, request) -> None:  # noqa: ANN001
        host = urlparse(request.url).hostname
        if request.url.startswith(("data:", "blob:")) or host in ("127.0.0.1", "localhost"):
            return
        self.foreign_requests.append(request.url)


@contextmanager
def chromium() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def screenshot(page, name: str) -> Path:  # noqa: ANN001
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
