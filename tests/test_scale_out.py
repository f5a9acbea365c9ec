"""The scaled-out shape: PostgreSQL + Redis + gunicorn with two workers + one scheduler
process, all real, on loopback. Each scheduled poll reaches the source exactly once."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, select

from store.schema import poll_runs, sources
from tests.servers import RedisServer, free_port, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]


class CountingSource(ThreadingHTTPServer):
    """An HTTP JSON source that counts every request it serves."""

    def __init__(self) -> None:
        self.hits: list[float] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                with server.lock:
                    server.hits.append(time.time())
                    n = len(server.hits)
                body = json.dumps({"items": [{"t": datetime.now(timezone.utc).isoformat(), "v": n}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


@pytest.fixture
def redis_url() -> Iterator[str]:
    server = RedisServer().start()
    yield server.url
    server.stop()


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(args, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def test_two_workers_and_one_scheduler_poll_each_time_exactly_once(pg_engine: Engine, redis_url: str, tmp_path: Path) -> None:
    source = CountingSource()
    sources_file = tmp_path / "sources.yaml"
    sources_file.write_text(
        "sources:\n"
        "  - name: counter\n    kind: http_json\n    every: 1s\n    timeout: 5\n    options:\n"
        f"      url: http://127.0.0.1:{source.server_port}/obs\n"
        "      records: items\n      entity_value: CNT-1\n      time: t\n      series: {count: {path: v, unit: n}}\n"
        "      entities: [{code: CNT-1, kind: station, name: Bộ đếm}]\n",
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "DATABASE_URL": pg_engine.url.render_as_string(hide_password=False).replace("+psycopg", ""),
        "REDIS_URL": redis_url,
        "SOURCES_FILE": str(sources_file),
        "VAR_DIR": str(tmp_path / "var"),
        "SCHEDULER_HEARTBEAT_SECONDS": "1",
    }
    port = free_port()
    gunicorn = start([sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}", "wsgi:server"], env, tmp_path / "gunicorn.log")
    scheduler = None
    try:
        wait_for_port(port, 60)
        # Web workers alone never poll.
        time.sleep(3)
        assert source.hits == []
        scheduler = start([sys.executable, "cli.py", "scheduler"], env, tmp_path / "scheduler.log")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(source.hits) < 8:
            time.sleep(0.2)
        health = [httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=10) for _ in range(6)]
        stop(scheduler)
        with pg_engine.connect() as conn:
            runs = conn.execute(
                select(poll_runs.c.status, poll_runs.c.started_at).join(sources).where(sources.c.name == "counter")
                .order_by(poll_runs.c.started_at)
            ).all()
        hits = len(source.hits)
        time.sleep(2.5)
        assert len(source.hits) == hits, "something other than the scheduler polled"
    finally:
        if scheduler:
            stop(scheduler)
        stop(gunicorn)
        source.shutdown()
    assert hits >= 8
    # Exactly one request per recorded poll: no worker and no second scheduler polled.
    assert len(runs) == hits, (tmp_path / "scheduler.log").read_text()
    assert {r.status for r in runs} == {"ok"}
    gaps = [(b.started_at - a.started_at).total_seconds() for a, b in zip(runs, runs[1:])]
    assert min(gaps) > 0.5, gaps  # never two polls for the same tick
    assert all(r.status_code == 200 for r in health), [r.text for r in health]
    assert {r.json()["scheduler"]["ok"] for r in health} == {True}
