"""The ``http_json`` adapter against a real HTTP server on 127.0.0.1 (no mocks of httpx)."""
from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

import polling
from data_sources.http_json import parse_time, resolve_path
from settings import ConfigError
from source_config import SourceSpec
from store.schema import entities, observations, poll_runs, quarantine, series, sources
from tests.support import write_sources

# 2025-03-01 08:00 in Hanoi (UTC+7) = 01:00 UTC.
T0 = int(datetime(2025, 3, 1, 1, 0, tzinfo=timezone.utc).timestamp())

STATIONS = [
    {"code": "HN-01", "kind": "station", "name": "Hà Nội - Hoàn Kiếm", "province_code": "01",
     "lat": 21.03, "lon": 105.85},
    {"code": "HN-02", "kind": "station", "name": "Hà Nội - Cầu Giấy", "province_code": "01",
     "lat": 21.03, "lon": 105.80},
]

GOOD_DOC = {
    "data": {
        "items": [
            # ISO with offset, quality "00" -> 0
            {"station_code": "HN-01", "observed_at": "2025-03-01T08:00:00+07:00", "status": "00",
             "values": {"pm25": 35.5, "no2": 20}},
            # naive ISO (read in Asia/Ho_Chi_Minh), numeric string value, quality "01" -> 1
            {"station_code": "HN-02", "observed_at": "2025-03-01T08:00:00", "status": "01",
             "values": {"pm25": "41.25", "no2": 18.5}},
            # epoch seconds, one hour later
            {"station_code": "HN-01", "observed_at": T0 + 3600, "status": "00", "values": {"pm25": 30.0, "no2": 22.0}},
        ]
    }
}


# ------------------------------------------------------------------- the fake API


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # JSON-able object, or bytes sent as is
    delay: float = 0.0


@dataclass
class FakeApi:
    """Scripted replies per path: each request takes the next reply; the last one repeats."""

    base: str = ""
    script: dict[str, list[Reply]] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def set(self, path: str, *replies: Reply) -> None:
        with self.lock:
            self.script[path] = list(replies)

    def next_reply(self, path: str, headers: dict[str, str]) -> Reply:
        with self.lock:
            self.requests.append((path, headers))
            queue = self.script.get(path)
            if not queue:
                return Reply(404, {"error": "no such path"})
            return queue.pop(0) if len(queue) > 1 else queue[0]

    def count(self, path: str) -> int:
        with self.lock:
            return sum(1 for p, _ in self.requests if p == path)


def _handler(api: FakeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            path = self.path.split("?", 1)[0]
            reply = api.next_reply(path, {k.lower(): v for k, v in self.headers.items()})
            if reply.delay:
                time.sleep(reply.delay)
            body = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:
                pass  # the client gave up (timeout test): nothing to report

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    return Handler


@pytest.fixture
def api() -> Iterator[FakeApi]:
    fake = FakeApi()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    server.block_on_close = False  # don't wait for a handler still sleeping in the timeout test
    fake.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    # httpx honours proxy variables; the test server is local.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


# -------------------------------------------------------------------- helpers


def options(url: str, **overrides: Any) -> dict[str, Any]:
    opts: dict[str, Any] = {
        "url": url,
        "records": "data.items",
        "entity": "station_code",
        "time": "observed_at",
        "series": {
            "PM2.5": {"path": "values.pm25", "unit": "µg/m³"},
            "NO2": {"path": "values.no2", "unit": "µg/m³"},
        },
        "quality": "status",
        "quality_map": {"00": 0, "01": 1, "02": 2},
        "entities": STATIONS,
        "request_timeout": 2,
        "retries": 0,
        "backoff_seconds": 0.01,
    }
    opts.update(overrides)
    return opts


load = write_sources  # write a sources file like an operator would and load it


def entry(name: str, opts: dict[str, Any], timeout: float = 5) -> dict[str, Any]:
    return {"name": name, "kind": "http_json", "every": "5m", "timeout": timeout, "options": opts}


def setup(engine: Engine, tmp_path: Path, *entries: dict[str, Any]) -> dict[str, SourceSpec]:
    specs = load(tmp_path, *entries)
    polling.sync_sources(engine, list(specs.values()))
    return specs


def stored(engine: Engine) -> set[tuple[str, str, int, float, str, int]]:
    query = (
        select(entities.c.code, series.c.metric, observations.c.ts, observations.c.value, series.c.unit,
               observations.c.quality)
        .join(series, series.c.id == observations.c.series_id)
        .join(entities, entities.c.id == series.c.entity_id)
    )
    with engine.connect() as conn:
        return {tuple(row) for row in conn.execute(query)}


def source_row(engine: Engine, name: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(select(sources).where(sources.c.name == name)).one()


def quarantined(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(quarantine).order_by(quarantine.c.id)))


EXPECTED = {
    ("HN-01", "PM2.5", T0, 35.5, "µg/m³", 0),
    ("HN-01", "NO2", T0, 20.0, "µg/m³", 0),
    ("HN-02", "PM2.5", T0, 41.25, "µg/m³", 1),
    ("HN-02", "NO2", T0, 18.5, "µg/m³", 1),
    ("HN-01", "PM2.5", T0 + 3600, 30.0, "µg/m³", 0),
    ("HN-01", "NO2", T0 + 3600, 22.0, "µg/m³", 0),
}


# ---------------------------------------------------------------------- tests


def test_happy_path_stores_values_times_units_and_entities(engine: Engine, tmp_path: Path, api: FakeApi) -> None:
    api.set("/air", Reply(200, GOOD_DOC))
    specs = setup(engine, tmp_path, entry("hanoi-air", options(f"{api.base}/air")))

    outcome = polling.poll_source(engine, specs["hanoi-air"])

    assert outcome.ok, outcome.error
    assert (outcome.accepted, outcome.rejected) == (6, 0)
    assert stored(engine) == EXPECTED
    with engine.connect() as conn:
        names = dict(conn.execute(select(entities.c.code, entities.c.name)).all())
    assert names == {"HN-01": "Hà Nội - Hoàn Kiếm", "HN-02": "Hà Nội - Cầu Giấy"}
    row = source_row(engine, "hanoi-air")
    assert row.last_status == "ok"
    assert row.last_observation_at == datetime.fromtimestamp(T0 + 3600, timezone.utc)
    assert api.requests[0][1]["accept"] == "application/json"


def test_polling_twice_stores_each_observation_once(engine: Engine, tmp_path: Path, api: FakeApi) -> None:
    api.set("/air", Reply(200, GOOD_DOC))
    specs = setup(engine, tmp_path, entry("hanoi-air", options(f"{api.base}/air")))

    first = polling.poll_source(engine, specs["hanoi-air"])
    second = polling.poll_source(engine, specs["hanoi-air"])

    assert first.ok and second.ok
    assert stored(engine) == EXPECTED
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(observations)).scalar_one() == 6
        assert conn.execute(select(func.count()).select_from(series)).scalar_one() == 4
        runs = conn.execute(select(poll_runs.c.status)).scalars().all()
    assert runs == ["ok", "ok"]
    assert api.count("/air") == 2


def test_server_error_is_recorded_then_recovery_resets_failures(engine: Engine, tmp_path: Path, api: FakeApi) -> None:
    api.set("/flaky", Reply(500, b"database down"))
    api.set("/steady", Reply(200, GOOD_DOC))
    steady_opts = options(f"{api.base}/steady", entities=STATIONS[:1], entity_value="HN-01", entity=None)
    specs = setup(
        engine,
        tmp_path,
        entry("flaky", options(f"{api.base}/flaky", retries=1)),
        entry("steady", steady_opts),
    )

    for expected_failures in (1, 2):
        flaky = polling.poll_source(engine, specs["flaky"])
        steady = polling.poll_source(engine, specs["steady"])
        assert not flaky.ok
        assert steady.ok, steady.error
        row = source_row(engine, "flaky")
        assert row.last_status == "failed"
        assert row.consecutive_failures == expected_failures
        assert "HTTP 500" in row.last_error
        assert f"{api.base}/flaky" in row.last_error
        assert "database down" in row.last_error  # the server's own words help the operator
        assert source_row(engine, "steady").consecutive_failures == 0
    assert api.count("/flaky") == 4  # 2 polls x (1 try + 1 retry)

    api.set("/flaky", Reply(200, GOOD_DOC))
    recovered = polling.poll_source(engine, specs["flaky"])

    assert recovered.ok, recovered.error
    row = source_row(engine, "flaky")
    assert (row.last_status, row.consecutive_failures) == ("ok", 0)
    assert row.last_success_at is not None


def test_retries_5xx_until_success_within_one_poll(engine: Engine, tmp_path: Path, api: FakeApi) -> None:
    api.set("/air", Reply(500, b"x"), Reply(503, b"y"), Reply(200, GOOD_DOC))
    specs = setup(engine, tmp_path, entry("hanoi-air", options(f"{api.base}/air", retries=2, backoff_seconds=0.05)))

    started = time.monotonic()
    outcome = polling.poll_source(engine, specs["hanoi-air"])

    assert outcome.ok, outcome.error
    assert api.count("/air") == 3
    assert stored(engine) == EXPECTED
    assert time.monotonic() - started >= 0.05 + 0.1  # it waited 0.05 s then 0.1 s between attempts


def test_retries_exhausted_reports_attempts(engine: Engine, tmp_path: Path, api: FakeApi) -> None:
    api.set("/air", Reply(502, b"bad gateway"))
    specs = setup(engine, tmp_path, entry("hanoi-air", options(f"{api.base}/air", retries=2)))

    outcome = polling.poll_source(engine, specs["hanoi-air"])

    assert not outcome.ok
    assert api.count("/air") == 3
    assert "HTTP 502" in outcome.error and "after 3 attempts" in outcome.error


@pytest.mark.parametrize("status", [400, 401, 404])
def test_4xx_is_not_retried(engine: Engine, tmp_path: Path, api: FakeApi, status: int) -> None:
    api.set("/air", Reply(status, {"error": "nope"}))
    specs = setup(engine, tmp_path, entry("hanoi-air", options(f"{api.base}/air", retries=3)))

    outcome = polling.poll_source(engine, specs["hanoi-air"])

    assert not outcome.ok
    assert api.count("/air") == 1
    assert f"HTTP {status}" in source_row(engine, "hanoi-air").last_error
    if status == 401:
        assert "credentials" in outcome.error


def test_slow_server_fails_as_timeout(engine: Engine, tmp_path: Path, api: FakeApi) -> None:
    api.set("/slow", Reply(200, GOOD_DOC, delay=1.0))
    specs = setup(engine, tmp_path, entry("slow", options(f"{api.base}/slow", request_timeout=0.2, retries=0)))

    started = time.monotonic()
    outcome = polling.poll_source(engine, specs["slow"])

    assert time.monotonic() - started < 0.9
    assert not outcome.ok
    error = source_row(engine, "slow").last_error
    assert "timed out" in error and f"{api.base}/slow" in error
    assert stored(engine) == set()


def test_retries_never_outlast_the_source_timeout(engine: Engine, tmp_path: Path, api: FakeApi) -> None:
    api.set("/air", Reply(500, b"down"))
    opts = options(f"{api.base}/air", retries=8, backoff_seconds=0.3)  # 0.3+0.6+1.2+... would take > 1 min
    specs = setup(engine, tmp_path, entry("hanoi-air", opts, timeout=1))

    started = time.monotonic()
    outcome = polling.poll_source(engine, specs["hanoi-air"])
    elapsed = time.monotonic() - started

    assert not outcome.ok
    assert elapsed < 1.0
    # The adapter's own explanation, not the poller's generic "took longer than its timeout".
    assert "HTTP 500" in outcome.error and "stopped retrying" in outcome.error
    assert 2 <= api.count("/air") <= 3


def test_connection_refused_is_explained(engine: Engine, tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/air"
    specs = setup(engine, tmp_path, entry("down", options(url, retries=1)))

    outcome = polling.poll_source(engine, specs["down"])

    assert not outcome.ok
    assert "cannot connect" in outcome.error and url in outcome.error and "2 attempts" in outcome.error


def test_body_that_is_not_json_fails_the_poll(engine: Engine, tmp_path: Path, api: FakeApi) -> None:
    api.set("/air", Reply(200, b"<html>Maintenance</html>"))
    specs = setup(engine, tmp_path, entry("hanoi-air", options(f"{api.base}/air", retries=2)))

    outcome = polling.poll_source(engine, specs["hanoi-air"])

    assert not outcome.ok
    assert "response is not JSON" in source_row(engine, "hanoi-air").last_error
    assert "Maintenance" in outcome.error
    assert api.count("/air") == 1  # a bad body is not retried
    assert stored(engine) == set()


@pytest.mark.parametrize(
    ("doc", "words"),
    [
        ({"data": {"total": 0}}, "records path 'data.items' is missing"),
        ({"data": {"items": {"a": 1}}}, "is object, not a list"),
        ([1, 2], "records path 'data.items' is missing"),
    ],
)
def test_response_not_matching_the_records_path_fails_the_poll(
    engine: Engine, tmp_path: Path, api: FakeApi, doc: Any, words: str
) -> None:
    api.set("/air", Reply(200, doc))
    specs = setup(engine, tmp_path, entry("hanoi-air", options(f"{api.base}/air")))

    outcome = polling.poll_source(engine, specs["hanoi-air"])

    assert not outcome.ok
    assert words in outcome.error
    assert quarantined(engine) == []  # the whole response is wrong, not single records


def test_bad_records_are_quarantined_and_good_ones_stored(engine: Engine, tmp_path: Path, api: FakeApi) -> None:
    good = {"station_code": "HN-01", "observed_at": "2025-03-01T08:00:00+07:00", "status": "00",
            "values": {"pm25": 35.5, "no2": 20}}
    only_pm = {"station_code": "HN-02", "observed_at": "2025-03-01T08:00:00Z", "status": "02", "values": {"pm25": 12}}
    bad = [
        ({"observed_at": "2025-03-01T08:00:00+07:00", "values": {"pm25": 1}}, "no entity code at 'station_code'"),
        ({"station_code": "HN-01", "values": {"pm25": 1}}, "no time at 'observed_at'"),
        ({"station_code": "HN-01", "observed_at": "yesterday", "values": {"pm25": 1}}, "time \"yesterday\""),
        ({"station_code": "HN-01", "observed_at": T0, "values": {"pm25": "n/a", "no2": 3}}, "value \"n/a\" of PM2.5"),
        ({"station_code": "HN-01", "observed_at": T0, "values": {}}, "none of the metric paths"),
        ({"station_code": "HN-01", "observed_at": T0, "status": "99", "values": {"pm25": 1}}, "quality code \"99\""),
    ]
    records = [good, *[record for record, _ in bad], only_pm]
    api.set("/air", Reply(200, {"data": {"items": records}}))
    specs = setup(engine, tmp_path, entry("hanoi-air", options(f"{api.base}/air")))

    outcome = polling.poll_source(engine, specs["hanoi-air"])

    assert outcome.ok, outcome.error
    assert (outcome.accepted, outcome.rejected) == (3, len(bad))
    assert stored(engine) == {
        ("HN-01", "PM2.5", T0, 35.5, "µg/m³", 0),
        ("HN-01", "NO2", T0, 20.0, "µg/m³", 0),
        ("HN-02", "PM2.5", int(datetime(2025, 3, 1, 8, tzinfo=timezone.utc).timestamp()), 12.0, "µg/m³", 2),
    }
    rows = quarantined(engine)
    assert len(rows) == len(bad)
    source_id = source_row(engine, "hanoi-air").id
    for row, (index, (record, words)) in zip(rows, enumerate(bad, start=1)):
        assert row.reason.startswith(f"record {index}: "), row.reason
        assert words in row.reason, row.reason
        assert json.loads(row.payload) == record
        assert row.ref == f"{api.base}/air"
        assert row.source_id == source_id


def test_bearer_token_comes_from_the_named_env_var(
    engine: Engine, tmp_path: Path, api: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIR_API_TOKEN", "s3cret-value")
    monkeypatch.setenv("AIR_API_KEY", "k-123")
    api.set("/air", Reply(200, GOOD_DOC))
    opts = options(
        f"{api.base}/air",
        token_env="AIR_API_TOKEN",
        header_env={"X-Api-Key": "AIR_API_KEY"},
        headers={"X-Client": "ioc-dashboard"},
        params={"province": "01"},
    )
    specs = setup(engine, tmp_path, entry("hanoi-air", opts))

    outcome = polling.poll_source(engine, specs["hanoi-air"])

    assert outcome.ok, outcome.error
    (_, headers), = api.requests
    assert headers["authorization"] == "Bearer s3cret-value"
    assert headers["x-api-key"] == "k-123"
    assert headers["x-client"] == "ioc-dashboard"
    # The secret lives only in the environment, never in the file the operator edits.
    assert "s3cret-value" not in (tmp_path / "sources.yaml").read_text(encoding="utf-8")


def test_missing_token_env_var_is_a_clear_error(
    engine: Engine, tmp_path: Path, api: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AIR_API_TOKEN_MISSING", raising=False)
    api.set("/air", Reply(200, GOOD_DOC))
    specs = setup(engine, tmp_path, entry("hanoi-air", options(f"{api.base}/air", token_env="AIR_API_TOKEN_MISSING")))

    outcome = polling.poll_source(engine, specs["hanoi-air"])

    assert not outcome.ok
    error = source_row(engine, "hanoi-air").last_error
    assert "AIR_API_TOKEN_MISSING" in error and "is not set" in error
    assert api.requests == []  # nothing sent without the credential


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"entity_value": "HN-01"}, "exactly one of"),
        ({"colour": "red"}, "options.colour"),
        ({"url": "ftp://host/x"}, "http:// or https://"),
        ({"records": "data..items"}, "empty segment"),
        ({"timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"token_env": "not a name"}, "environment variable name"),
        ({"retries": -1}, "options.retries"),
    ],
)
def test_bad_options_fail_at_load_with_file_and_line(tmp_path: Path, overrides: dict[str, Any], words: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, entry("hanoi-air", {**options("http://127.0.0.1:1/air"), **overrides}))
    assert words in str(info.value)
    assert f"{tmp_path / 'sources.yaml'}:" in str(info.value)


def test_series_shorthand_and_root_list(engine: Engine, tmp_path: Path, api: FakeApi) -> None:
    api.set("/root", Reply(200, [{"t": T0, "v": [1.5, 2.5]}]))
    opts = {
        "url": f"{api.base}/root",
        "entity_value": "HN-01",
        "time": "t",
        "series": {"A": "v.0", "B": "v.-1"},
        "entities": STATIONS[:1],
    }
    specs = setup(engine, tmp_path, entry("root", opts))

    outcome = polling.poll_source(engine, specs["root"])

    assert outcome.ok, outcome.error
    assert stored(engine) == {("HN-01", "A", T0, 1.5, "", 0), ("HN-01", "B", T0, 2.5, "", 0)}


def test_resolve_path() -> None:
    doc = {"a": {"b": [10, {"c": None}], "1": "key-one"}}
    assert resolve_path(doc, "") is doc
    assert resolve_path(doc, "a.b.0") == 10
    assert resolve_path(doc, "a.b.-1.c") is None
    assert resolve_path(doc, "a.1") == "key-one"  # digits are a key on objects
    missing = resolve_path(doc, "a.x")
    assert missing is resolve_path(doc, "a.b.5") is resolve_path(doc, "a.b.0.c") is resolve_path(doc, "a.b.x")
    assert missing is not None


def test_parse_time() -> None:
    from zoneinfo import ZoneInfo

    hcm = ZoneInfo("Asia/Ho_Chi_Minh")
    expected = datetime.fromtimestamp(T0, timezone.utc)
    for raw in ("2025-03-01T08:00:00+07:00", "2025-03-01T01:00:00Z", "2025-03-01T08:00:00", "2025-03-01 08:00",
                T0, float(T0), str(T0)):
        assert parse_time(raw, hcm) == expected, raw
    for raw in (True, None, "soon", float("nan"), {"t": 1}):
        with pytest.raises((ValueError, TypeError)):
            parse_time(raw, hcm)
