"""Shared fixtures: a migrated SQLite store per test, and helpers to feed it."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from store.engine import make_engine
from store.migrate import upgrade
from tests.servers import PostgresServer
from tests.support import TEST_ADMIN_PASSWORD


@pytest.fixture(autouse=True, scope="session")
def _views_open_to_anonymous_viewers() -> Iterator[None]:
    """Tests of the views read them as an anonymous viewer (ANONYMOUS_ACCESS, also inherited by
    the apps tests start as processes); writes still need an operator (tests/support.py
    ``operator_headers``, tests/browser.py ``sign_in``). tests/test_access_control.py sets it
    off to test the default."""
    # Session-wide, so that module-scoped fixtures building settings see it too.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ANONYMOUS_ACCESS", "true")
        patch.setenv("ADMIN_PASSWORD", TEST_ADMIN_PASSWORD)
        yield


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """A fresh, migrated SQLite store in the test's own folder."""
    eng = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One real PostgreSQL for the session; each test gets its own database from ``pg_engine``."""
    server = PostgresServer().start()
    yield server
    server.destroy()


@pytest.fixture
def pg_engine(postgres_server, request: pytest.FixtureRequest) -> Iterator[Engine]:  # noqa: ANN001
    import re
    import uuid

    name = "t_" + re.sub(r"[^a-z0-9]", "_", request.node.name.lower())[:40] + "_" + uuid.uuid4().hex[:6]
    eng = make_engine(postgres_server.create_database(name))
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """The same test on the embedded SQLite store and on PostgreSQL."""
    if request.param == "sqlite":
        yield request.getfixturevalue("engine")
    else:
        yield request.getfixturevalue("pg_engine")


@pytest.fixture
def drop(tmp_path: Path) -> Path:
    """An empty drop folder for file-based sources."""
    folder = tmp_path / "drop"
    folder.mkdir()
    return folder
