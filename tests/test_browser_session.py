"""A desktop whose sign-in ends goes to the sign-in page, and back to where it was after."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser import PageWatch, chromium, running_app, sign_in, signed_in_client

SOURCES = """
sources:
  - name: demo-land
    kind: demo
    every: 1h
    options: {feed: land}
"""
NEW_PASSWORD = "Mat-khau-moi-cua-ca-truc-2026"


@pytest.mark.browser
def test_an_ended_session_leads_to_the_sign_in_page_and_back(tmp_path: Path) -> None:
    env = {"ANONYMOUS_ACCESS": "false", "DEMO_BACKFILL_DAYS": "0.1", "PAGE_REFRESH_SECONDS": "2"}
    with running_app(tmp_path, SOURCES, **env) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        watch = PageWatch(page)
        sign_in(page, base)
        page.goto(base + "/sources?lang=vi")
        page.get_by_text("demo-land").first.wait_for(timeout=30_000)
        # The account's password changes elsewhere: every session of it ends at its next request.
        with signed_in_client(base) as admin:
            changed = admin.post("/api/v1/users/admin", json={"password": NEW_PASSWORD},
                                 headers={"X-CSRFToken": admin.cookies.get("_csrf_token", "")})
            assert changed.status_code == 200, changed.text
        # The page's next refresh is refused (401): the browser goes to the sign-in page.
        page.wait_for_url("**/login?next=*", timeout=30_000)
        assert "next=%2Fsources%3Flang%3Dvi" in page.url  # back to the same view afterwards
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", NEW_PASSWORD)
        with page.expect_navigation():
            page.click("button[type=submit]")
        assert page.url.endswith("/sources?lang=vi")
        page.get_by_text("demo-land").first.wait_for(timeout=30_000)
    assert watch.foreign_requests == []
    # The refused refresh is logged by the browser as a failed load (401); nothing else failed:
    # Dash never handles the refusal (the page is leaving), so it reports no callback error.
    assert [e for e in watch.console_errors if "status of 401" not in e] == []
