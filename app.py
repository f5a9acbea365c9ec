"""The operations-centre app: ``create_app()`` builds it; ``python app.py`` runs the embedded default.

The embedded default is one process: it migrates the SQLite store, starts the poll
scheduler in a background thread (backfilling demo data on the first start) and
serves the app on http://127.0.0.1:8050. Scaled out, web workers call
``create_app()`` (see ``wsgi.py``) and the scheduler runs alone via ``cli.py scheduler``.
"""
from __future__ import annotations

import logging
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit

import dash
import diskcache
from dash import Dash, dcc, html
from flask import Response, abort, has_request_context, redirect, request

import callbacks.export  # noqa: F401  (registers the header's Export callbacks)
from alerts.rules import load_rules
from api import blueprint as api_blueprint
from api.probes import blueprint as probes_blueprint
from auth.web import csrf_token, current_principal, init_auth
from cache import init_cache
from components.area import AREA_PATHS
from components.export import export_control
from i18n import t
from kpis.catalogue import load_catalogue
from limits import load_limits
from services import EXTENSION, LANGUAGE_COOKIE, LANGUAGES, Services, current_language
from settings import ConfigError, Settings, load_settings
from source_config import SourceSpec, load_sources
from store.engine import make_engine
from wall_config import load_walls

HERE = Path(__file__).resolve().parent
log = logging.getLogger("opscentre")


def create_app(settings: Settings | None = None, specs: list[SourceSpec] | None = None) -> Dash:
    """Build the Dash app (and its Flask server with the JSON API). Starts no scheduler."""
    settings = settings or load_settings()
    specs = load_sources(settings.sources_file) if specs is None else specs
    # A broken configuration file stops start-up, not a page or a poll later.
    load_rules(settings.alerts_file, load_limits(settings.limits_file))
    load_catalogue(settings.kpis_file)
    load_walls(settings.walls_file)
    app = Dash(
        __name__,
        use_pages=True,
        pages_folder=str(HERE / "pages"),
        assets_folder=str(HERE / "assets"),
        update_title=None,
        suppress_callback_exceptions=True,
        title=t("app.title", settings.language),
        serve_locally=True,
        # Background callbacks (the Briefings page's render) run in their own process, results on disk.
        background_callback_manager=dash.DiskcacheManager(
            diskcache.Cache(str(settings.var_dir / "background-callbacks"))),
    )
    # The page's language, for screen readers and the browser's own formatting.
    app.index_string = app.index_string.replace("<html>", f'<html lang="{settings.language}">', 1)
    server = app.server
    server.extensions[EXTENSION] = Services(settings=settings, engine=make_engine(settings.effective_database_url), specs=specs)
    init_cache(server, settings)
    init_auth(app, settings)
    server.register_blueprint(api_blueprint)
    server.register_blueprint(probes_blueprint)
    server.add_url_rule("/language/<lang>", "set_language", _set_language)
    # A function: each page load gets the frame in the reader's language.
    app.layout = lambda: _shell(settings, current_language() if has_request_context() else settings.language)
    return app


def _set_language(lang: str) -> Response:
    """The header's language switch: remember the choice in a cookie, go back to the page."""
    if lang not in LANGUAGES:
        abort(404)
    back = urlsplit(request.referrer or "")
    # Only back to a page of this app, never to another site named in the Referer.
    target = (back.path or "/") + (f"?{back.query}" if back.query else "") if back.netloc == request.host else "/"
    response = redirect(target)
    response.set_cookie(LANGUAGE_COOKIE, lang, max_age=365 * 86400, samesite="Lax")
    return response


def _shell(settings: Settings, lang: str) -> html.Div:
    """The frame around every page: header with the organisation, navigation, language switch and Export."""
    return html.Div(
        [
            html.Header(
                [
                    html.Div(settings.organisation_name, className="org-name"),
                    html.Div(t("app.title", lang), className="app-name"),
                    html.Nav(
                        [
                            dcc.Link(t("nav.overview", lang), href="/", className="nav-link"),
                            dcc.Link(t("nav.environment", lang), href="/environment", className="nav-link"),
                            *[dcc.Link(t(f"area.{area}", lang), href=path, className="nav-link") for area, path in AREA_PATHS.items()],
                            dcc.Link(t("nav.alerts", lang), href="/alerts", className="nav-link"),
                            dcc.Link(t("nav.briefings", lang), href="/briefings", className="nav-link"),
                            dcc.Link(t("nav.sources", lang), href="/sources", className="nav-link"),
                            dcc.Link(t("nav.wall", lang), href="/wall/overview", className="nav-link"),
                            # Administrators only (auth/policy.py: /admin pages need the admin role).
                            *([dcc.Link(t("admin.title", lang), href="/admin", className="nav-link")]
                              if _may("admin") else []),
                        ],
                        className="nav",
                    ),
                    html.Div(
                        [html.A(label, href=f"/language/{code}", lang=code,
                                className="lang-link is-current" if code == lang else "lang-link")
                         for code, label in (("vi", "Tiếng Việt"), ("en", "English"))],
                        className="lang-switch",
                    ),
                    # Exporting is an operator's action: readers do not see the control.
                    export_control(lang) if _may("operator") else None,
                    _user_box(lang),
                ],
                className="app-header",
            ),
            # Shown by assets/connection.js while the server does not answer.
            html.Div([t("conn.lost", lang), html.Span(id="connection-lost-since")],
                     id="connection-lost", className="connection-lost", hidden=True, role="alert",
                     **{"data-tz": settings.timezone}),
            html.Main(dash.page_container, className="app-main"),
        ],
        className="app-shell",
    )


def _may(role: str) -> bool:
    principal = current_principal()
    return principal is not None and principal.can(role)


def _user_box(lang: str) -> html.Div | None:
    """Who is signed in, with the sign-out button (a plain form: it must work without Dash)."""
    principal = current_principal()
    if principal is None or principal.kind != "user":
        return None
    return html.Div(
        [
            html.Span(f"{principal.label} ({t(f'role.{principal.role}', lang)})", className="user-name"),
            html.Form([dcc.Input(type="hidden", name="csrf_token", value=csrf_token()),
                       html.Button(t("login.logout", lang), type="submit")],
                      method="POST", action="/logout"),
        ],
        className="user-box",
    )


def run_embedded(settings: Settings) -> None:
    """Migrate, start the scheduler thread (backfill first) and serve on settings.port."""
    from alerts.hook import configure_from_settings
    from auth.bootstrap import ensure_first_admin
    from backfill import backfill_empty_sources
    from briefings.schedule import add_briefing_jobs
    from polling import sync_sources
    from receivers.ftp import start_ftp_receiver
    from scheduler import PollScheduler
    from store.migrate import upgrade
    from store.retention import add_retention_job

    specs = load_sources(settings.sources_file)
    app = create_app(settings, specs)
    configure_from_settings(settings)  # this process evaluates alerts after each poll
    engine = app.server.extensions[EXTENSION].engine
    upgrade(engine)
    sync_sources(engine, specs)
    first_password = ensure_first_admin(engine, settings)
    poller = PollScheduler(engine, specs, settings)
    add_briefing_jobs(poller)  # the morning briefing, run only while this process holds the lease
    add_retention_job(poller)  # the daily prune of old readings and records, likewise
    receiver = start_ftp_receiver(settings, specs)  # None unless FTP_ENABLED

    def start_polling() -> None:
        backfill_empty_sources(engine, specs, settings.demo_backfill_days)
        poller.start()

    threading.Thread(target=start_polling, name="embedded-scheduler", daemon=True).start()
    url = f"http://{settings.host}:{settings.port}"
    print(f"\n  Trung tâm điều hành / Operations centre: {url}\n", flush=True)
    if first_password:
        print(f"  Tài khoản quản trị đầu tiên / first admin account: admin / {first_password}\n"
              "  (hiển thị một lần / shown once; đổi bằng / change with: python cli.py user passwd admin)\n", flush=True)
    try:
        app.run(host=settings.host, port=settings.port, debug=False)
    finally:
        poller.shutdown()
        if receiver:
            receiver.stop()


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Each run is recorded in the store; their per-job chatter would bury real warnings.
    for noisy in ("apscheduler", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        settings = load_settings()
        run_embedded(settings)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
