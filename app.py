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

import dash
from dash import Dash, dcc, html

from api import blueprint as api_blueprint
from cache import init_cache
from i18n import t
from limits import load_limits
from services import EXTENSION, Services
from settings import ConfigError, Settings, load_settings
from source_config import SourceSpec, load_sources
from store.engine import make_engine

HERE = Path(__file__).resolve().parent
log = logging.getLogger("opscentre")


def create_app(settings: Settings | None = None, specs: list[SourceSpec] | None = None) -> Dash:
    """Build the Dash app (and its Flask server with the JSON API). Starts no scheduler."""
    settings = settings or load_settings()
    specs = load_sources(settings.sources_file) if specs is None else specs
    load_limits(settings.limits_file)  # a broken limits file stops start-up, not a page later
    app = Dash(
        __name__,
        use_pages=True,
        pages_folder=str(HERE / "pages"),
        assets_folder=str(HERE / "assets"),
        update_title=None,
        suppress_callback_exceptions=True,
        title=t("app.title", settings.language),
        serve_locally=True,
    )
    server = app.server
    server.extensions[EXTENSION] = Services(settings=settings, engine=make_engine(settings.effective_database_url), specs=specs)
    init_cache(server, settings)
    server.register_blueprint(api_blueprint)
    app.layout = _shell(settings)
    return app


def _shell(settings: Settings) -> html.Div:
    """The frame around every page: header with the organisation and navigation."""
    lang = settings.language
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
                            dcc.Link(t("nav.sources", lang), href="/sources", className="nav-link"),
                        ],
                        className="nav",
                    ),
                ],
                className="app-header",
            ),
            html.Main(dash.page_container, className="app-main"),
        ],
        className="app-shell",
    )


def run_embedded(settings: Settings) -> None:
    """Migrate, start the scheduler thread (backfill first) and serve on settings.port."""
    from backfill import backfill_empty_sources
    from polling import sync_sources
    from scheduler import PollScheduler
    from store.migrate import upgrade

    specs = load_sources(settings.sources_file)
    app = create_app(settings, specs)
    engine = app.server.extensions[EXTENSION].engine
    upgrade(engine)
    sync_sources(engine, specs)
    poller = PollScheduler(engine, specs, settings)

    def start_polling() -> None:
        backfill_empty_sources(engine, specs, settings.demo_backfill_days)
        poller.start()

    threading.Thread(target=start_polling, name="embedded-scheduler", daemon=True).start()
    url = f"http://{settings.host}:{settings.port}"
    print(f"\n  Trung tâm điều hành / Operations centre: {url}\n", flush=True)
    try:
        app.run(host=settings.host, port=settings.port, debug=False)
    finally:
        poller.shutdown()


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
