"""The reader's language: the header's switch sets a cookie that pages and their refreshes follow."""
from __future__ import annotations

from pathlib import Path

from app import create_app
from services import current_language
from settings import load_settings


def make_app(tmp_path: Path):  # noqa: ANN201
    return create_app(load_settings(var_dir=tmp_path), specs=[])


def test_the_switch_remembers_the_choice_and_goes_back_to_the_same_page(tmp_path: Path) -> None:
    client = make_app(tmp_path).server.test_client()
    answer = client.get("/language/en", headers={"Referer": "http://localhost/environment?province=HNI"})
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/environment?province=HNI"
    assert "lang=en" in answer.headers["Set-Cookie"] and "SameSite=Lax" in answer.headers["Set-Cookie"]
    # Never back to another site named in the Referer.
    assert client.get("/language/vi", headers={"Referer": "http://evil.example/x"}).headers["Location"] == "/"
    assert client.get("/language/fr").status_code == 404


def test_pages_and_callbacks_follow_the_cookie_then_the_setting(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    server = app.server
    with server.test_request_context("/_dash-update-component", method="POST", headers={"Cookie": "lang=en"}):
        assert current_language() == "en"
        frame = app.layout()
        assert "Overview" in str(frame) and "Tổng quan" not in str(frame)
    with server.test_request_context("/", headers={"Cookie": "lang=xx"}):
        assert current_language() == "vi"  # unknown values fall back to LANGUAGE
    with server.test_request_context("/api/v1/kpis?lang=en", headers={"Cookie": "lang=vi"}):
        assert current_language() == "en"  # the request's own parameter wins
