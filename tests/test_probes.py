"""/livez and /readyz: what a watchdog or load balancer sees as the store, schema and cache come and go."""
from __future__ import annotations

from pathlib import Path

from app import create_app
from settings import load_settings
from store.engine import make_engine
from store.migrate import upgrade
from tests.servers import RedisServer, free_port


def client(tmp_path: Path, **settings: str):  # noqa: ANN201
    return create_app(load_settings(var_dir=tmp_path, **settings), specs=[]).server.test_client()


def test_ready_once_migrated_and_alive_regardless(tmp_path: Path) -> None:
    probes = client(tmp_path)
    assert probes.get("/livez").status_code == 200
    before = probes.get("/readyz")
    assert before.status_code == 503
    assert "schema is behind" in before.json["problems"][0]
    upgrade(make_engine(f"sqlite:///{tmp_path / 'opscentre.db'}"))
    after = probes.get("/readyz")
    assert after.status_code == 200 and after.json == {"status": "ready", "problems": []}
    assert after.headers["Cache-Control"] == "no-store"


def test_not_ready_while_the_database_is_unreachable(tmp_path: Path) -> None:
    dead = f"postgresql://nobody@127.0.0.1:{free_port()}/none"
    probes = client(tmp_path, database_url=dead)
    answer = probes.get("/readyz")
    assert answer.status_code == 503
    assert answer.json["problems"][0].startswith("database: OperationalError")
    assert probes.get("/livez").status_code == 200


def test_not_ready_while_redis_is_down_and_ready_again_when_it_returns(tmp_path: Path) -> None:
    redis = RedisServer().start()
    try:
        engine = make_engine(f"sqlite:///{tmp_path / 'opscentre.db'}")
        upgrade(engine)
        probes = client(tmp_path, redis_url=redis.url)
        assert probes.get("/readyz").status_code == 200
        redis.stop()
        down = probes.get("/readyz")
        assert down.status_code == 503 and down.json["problems"][0].startswith("cache")
        redis.proc = None
        port = redis.port
        redis = RedisServer()
        redis.port = port  # the same address the app was configured with
        redis.start()
        assert probes.get("/readyz").status_code == 200
    finally:
        redis.stop()
