"""The ``ntrip`` adapter against a real caster on 127.0.0.1 speaking NTRIP v1 and v2 (no mocks)."""
from __future__ import annotations

import base64
import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

import polling
from data_sources.base import SourceError
from data_sources.ntrip import parse_source_table
from settings import ConfigError
from source_config import SourceSpec
from store.schema import entities, observations, quarantine, series, sources
from tests.support import register_sources, write_sources

NOW = datetime(2025, 3, 1, 1, 7, 30, tzinfo=UTC)
SLOT = int(datetime(2025, 3, 1, 1, 5, tzinfo=UTC).timestamp())  # NOW rounded down to 5 minutes

HEADER = [
    "CAS;caster.vngeonet.vn;2101;VNGEONET;DDBD;0;VNM;21.03;105.85;0.0.0.0;0;http://vngeonet.vn",
    "NET;VNGEONET;DDBD;B;N;http://vngeonet.vn;none;none;none",
]
HANO = "STR;HANO;Trạm định vị Hà Nội;RTCM 3.2;1004(1),1006(10);2;GPS+GLO+BDS;VNGEONET;VNM;21.03;105.85;0;0;Trimble Alloy;none;B;N;9600;"
HCM1 = "STR;HCM1;TP. Hồ Chí Minh - Thủ Đức;RTCM 3.2;1005(10);2;GPS+GLO;VNGEONET;VNM;10.85;106.77;0;0;Leica GR50;none;B;N;9600;misc;with;semicolons"
DNG1 = "STR;DNG1;Đà Nẵng;RTCM 3.2;;2;GPS;VNGEONET;VNM;16.05;108.20"  # trailing fields missing
VRS = "STR;VRS32;Mạng VRS;RTCM 3.2;;2;GPS;VNGEONET;VNM;16.0;106.0;1;1;GNSMART;none;B;N;9600;"  # a network product
FULL = [HANO, HCM1, DNG1, VRS]
# Cà Mau written by an old caster in Latin-1, not UTF-8.
CMU1_LATIN1 = "STR;CMU1;Cà Mau;RTCM 3.0;;2;GPS;VNGEONET;VNM;9.18;105.15;0;0".encode("latin-1")


def table(*records: str, end: bool = True, newline: bytes = b"\r\n", extra: bytes = b"") -> bytes:
    """A source table: the CAS/NET header, ``records``, raw ``extra`` bytes, ENDSOURCETABLE."""
    lines = [line.encode("utf-8") for line in (*HEADER, *records)]
    lines += [extra] if extra else []
    lines += [b"ENDSOURCETABLE"] if end else []
    return newline.join(lines) + newline


# ------------------------------------------------------------------ the fake caster


@dataclass
class Caster:
    """A scripted NTRIP caster. ``mode``: v2 (speaks v2 to v2 clients, v1 to the others),
    v1 (always v1), v1strict (HTTP 400 to v2 requests), garbage (not NTRIP at all)."""

    port: int = 0
    mode: str = "v2"
    body: bytes = b""
    chunked: bool = False
    keep_open: bool = False
    credentials: tuple[str, str] | None = None
    # Mount point -> whether its stream sends data (False: 200 then silence).
    streams: dict[str, bool] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, request_line: str, headers: dict[str, str]) -> bytes:
        with self.lock:
            self.requests.append((request_line, headers))
        v2 = headers.get("ntrip-version") == "Ntrip/2.0" and request_line.endswith("HTTP/1.1")
        if self.mode == "garbage":
            return b"220 Welcome to an FTP server\r\n\r\n"
        if not headers.get("user-agent", "").startswith("NTRIP "):
            return b"HTTP/1.1 400 Bad Request\r\n\r\n"
        if self.mode == "v1strict" and "ntrip-version" in headers:
            return b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"
        if self.credentials is not None:
            good = "Basic " + base64.b64encode(":".join(self.credentials).encode()).decode()
            if headers.get("authorization") != good:
                proto = "HTTP/1.1" if v2 else "HTTP/1.0"
                return f'{proto} 401 Unauthorized\r\nWWW-Authenticate: Basic realm="/"\r\n\r\n'.encode()
        mount = request_line.split(" ")[1].lstrip("/") if request_line.count(" ") >= 2 else ""
        if mount:
            if mount not in self.streams:
                return b"HTTP/1.1 404 Not Found\r\n\r\n"
            head = b"HTTP/1.1 200 OK\r\nContent-Type: gnss/data\r\n\r\n" if v2 else b"ICY 200 OK\r\n\r\n"
            return head + (b"\xd3\x00\x13>\xd0\x00\x03" if self.streams[mount] else b"")
        if v2 and self.mode == "v2":
            head = "HTTP/1.1 200 OK\r\nNtrip-Version: Ntrip/2.0\r\nServer: NTRIP TestCaster/2.0\r\nContent-Type: gnss/sourcetable\r\n"
            if self.chunked:
                # Split inside a line to check the client joins chunks before parsing.
                cut = len(self.body) // 2
                parts = [self.body[:cut], self.body[cut:]]
                body = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"
                return (head + "Transfer-Encoding: chunked\r\n\r\n").encode() + body
            return (head + f"Content-Length: {len(self.body)}\r\n\r\n").encode() + self.body
        head = f"SOURCETABLE 200 OK\r\nServer: NTRIP TestCaster/1.0\r\nContent-Type: text/plain\r\nContent-Length: {len(self.body)}\r\n\r\n"
        return head.encode() + self.body


def _handler(caster: Caster) -> type[socketserver.BaseRequestHandler]:
    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            sock: socket.socket = self.request
            sock.settimeout(5)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = sock.recv(4096)
                if not chunk:
                    return
                data += chunk
            lines = data.split(b"\r\n\r\n", 1)[0].decode("utf-8").split("\r\n")
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            try:
                sock.sendall(caster.answer(lines[0], headers))
                if caster.keep_open or lines[0].split(" ")[1] != "/":  # streams stay open
                    time.sleep(3)  # a caster that does not hang up after the table
            except OSError:
                pass

    return Handler


@pytest.fixture
def caster() -> Iterator[Caster]:
    fake = Caster(body=table(*FULL))
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    server.block_on_close = False
    fake.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()


def free_port() -> int:
    """A port nothing listens on: connections to it are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -------------------------------------------------------------------- helpers


def entry(name: str, port: int, **options: Any) -> dict[str, Any]:
    opts = {"host": "127.0.0.1", "port": port, "request_timeout": 2, "retries": 0, "backoff_seconds": 0.01, **options}
    return {"name": name, "kind": "ntrip", "every": "5m", "timeout": 10, "options": opts}


def stations(engine: Engine, prefix: str = "") -> dict[str, Any]:
    with engine.connect() as conn:
        rows = conn.execute(select(entities).where(entities.c.code.like(f"{prefix}%")))
        return {row.code: row for row in rows}


def readings(engine: Engine, metric: str = "up") -> dict[tuple[str, int], float]:
    query = (
        select(entities.c.code, observations.c.ts, observations.c.value)
        .join(series, series.c.id == observations.c.series_id)
        .join(entities, entities.c.id == series.c.entity_id)
        .where(series.c.metric == metric)
    )
    with engine.connect() as conn:
        return {(code, ts): value for code, ts, value in conn.execute(query)}


def quarantined(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(quarantine).order_by(quarantine.c.id)))


def poll(engine: Engine, spec: SourceSpec, now: datetime = NOW) -> polling.PollOutcome:
    return polling.poll_source(engine, spec, trigger="manual", now=now)


# ---------------------------------------------------------------------- tests


def test_v1_and_v2_give_the_same_stations(engine: Engine, tmp_path: Path, caster: Caster) -> None:
    specs = register_sources(
        tmp_path, engine,
        entry("v1", caster.port, version=1, code_template="V1-{mountpoint}"),
        entry("v2", caster.port, version=2, code_template="V2-{mountpoint}"),
    )

    assert poll(engine, specs["v1"]).ok
    assert poll(engine, specs["v2"]).ok

    (line1, head1), (line2, head2) = caster.requests
    assert line1 == "GET / HTTP/1.0" and "ntrip-version" not in head1
    assert line2 == "GET / HTTP/1.1" and head2["ntrip-version"] == "Ntrip/2.0"
    assert head1["user-agent"].startswith("NTRIP ") and head2["user-agent"].startswith("NTRIP ")
    assert "authorization" not in head1 and "authorization" not in head2

    def described(prefix: str) -> dict[str, tuple[Any, ...]]:
        return {code.removeprefix(prefix): (row.kind, row.name, row.lat, row.lon, row.province_code, row.subtype, row.meta)
                for code, row in stations(engine, prefix).items()}

    v1, v2 = described("V1-"), described("V2-")
    assert v1 == v2
    assert set(v1) == {"HANO", "HCM1", "DNG1"}  # VRS32 is a network product, not a station
    assert v1["HANO"][:5] == ("gnss_station", "Trạm định vị Hà Nội", 21.03, 105.85, "HNI")
    assert v1["HCM1"][1] == "TP. Hồ Chí Minh - Thủ Đức" and v1["HCM1"][4] == "HCM"
    assert v1["DNG1"][4] == "DNG"
    assert v1["HANO"][6] == {"mountpoint": "HANO", "format": "RTCM 3.2", "nav_system": "GPS+GLO+BDS",
                             "network": "VNGEONET", "country": "VNM", "station_type": "network_rtk"}
    up = readings(engine)
    assert up == {(f"{p}-{m}", SLOT): 1.0 for p in ("V1", "V2") for m in ("HANO", "HCM1", "DNG1")}
    assert set(readings(engine, "availability_pct").values()) == {100.0}


@pytest.mark.parametrize("chunked", [False, True])
def test_v2_plain_or_chunked_lf_only_and_latin1(engine: Engine, tmp_path: Path, caster: Caster, chunked: bool) -> None:
    caster.chunked = chunked
    caster.body = table(HANO, DNG1, newline=b"\n", extra=CMU1_LATIN1)
    specs = register_sources(tmp_path, engine, entry("vngeonet", caster.port, version=2,
                                                     codes={"HANO": "HNI-GNSS-01"},
                                                     station_types={"HANO": "geodetic"}))

    outcome = poll(engine, specs["vngeonet"])

    assert outcome.ok, outcome.error
    assert outcome.rejected == 0  # no chunk framing mistaken for records
    found = stations(engine)
    assert set(found) == {"HNI-GNSS-01", "GNSS-DNG1", "GNSS-CMU1"}
    assert found["HNI-GNSS-01"].name == "Trạm định vị Hà Nội"
    assert found["GNSS-CMU1"].name == "Cà Mau" and found["GNSS-CMU1"].province_code == "CMU"
    assert found["HNI-GNSS-01"].subtype == "geodetic" and found["HNI-GNSS-01"].meta["station_type"] == "geodetic"
    assert found["GNSS-DNG1"].name == "Đà Nẵng"


def test_auto_falls_back_to_v1_for_a_caster_rejecting_v2(engine: Engine, tmp_path: Path, caster: Caster) -> None:
    caster.mode = "v1strict"
    specs = register_sources(tmp_path, engine, entry("vngeonet", caster.port))

    outcome = poll(engine, specs["vngeonet"])

    assert outcome.ok, outcome.error
    assert [line for line, _ in caster.requests] == ["GET / HTTP/1.1", "GET / HTTP/1.0"]
    assert set(stations(engine)) == {"GNSS-HANO", "GNSS-HCM1", "GNSS-DNG1"}


def test_caster_keeping_the_connection_open_is_read_up_to_the_end(engine: Engine, tmp_path: Path, caster: Caster) -> None:
    caster.mode, caster.keep_open = "v1", True
    specs = register_sources(tmp_path, engine, entry("vngeonet", caster.port, version=1))

    started = time.monotonic()
    outcome = poll(engine, specs["vngeonet"])

    assert outcome.ok, outcome.error
    assert time.monotonic() - started < 2  # stopped at ENDSOURCETABLE, not at the caster's hang-up
    assert len(stations(engine)) == 3


def test_missing_mountpoint_is_down(engine: Engine, tmp_path: Path, caster: Caster) -> None:
    specs = register_sources(tmp_path, engine, entry("vngeonet", caster.port, expected_mountpoints=["HANO", "NEVR"]))
    assert poll(engine, specs["vngeonet"]).ok

    caster.body = table(HANO, DNG1)  # HCM1 has gone
    later = NOW + timedelta(minutes=5)
    outcome = poll(engine, specs["vngeonet"], now=later)

    assert outcome.ok, outcome.error
    up = readings(engine)
    assert up[("GNSS-HCM1", SLOT)] == 1.0
    assert up[("GNSS-HCM1", SLOT + 300)] == 0.0
    assert up[("GNSS-HANO", SLOT + 300)] == 1.0 and up[("GNSS-DNG1", SLOT + 300)] == 1.0
    assert readings(engine, "availability_pct")[("GNSS-HCM1", SLOT + 300)] == 0.0
    # The down station keeps the details stored while it was listed.
    assert stations(engine)["GNSS-HCM1"].name == "TP. Hồ Chí Minh - Thủ Đức"
    # An expected mount point never listed nor stored cannot be recorded: quarantined, named.
    reasons = [row.reason for row in quarantined(engine)]
    assert reasons and all("GNSS-NEVR" in reason for reason in reasons)

    caster.body = table(*FULL)  # back up
    assert poll(engine, specs["vngeonet"], now=later + timedelta(minutes=5)).ok
    assert readings(engine)[("GNSS-HCM1", SLOT + 600)] == 1.0


def test_malformed_records_are_quarantined_and_the_others_kept(engine: Engine, tmp_path: Path, caster: Caster) -> None:
    bad = [
        ("STR;BADL;Trạm lỗi;RTCM 3.2;;2;GPS;VNGEONET;VNM;north;105.0;0;0", "latitude 'north' is not a number"),
        ("STR;;Không có tên;RTCM 3.2;;2;GPS;VNGEONET;VNM;21.0;105.0", "without a mount point"),
        ("STR;FARN;Ngoài phạm vi;RTCM 3.2;;2;GPS;VNGEONET;VNM;95.0;105.0", "latitude '95.0' is outside"),
        (HANO, "'HANO' listed twice"),
        ("XYZ;what;is;this", "unknown record type 'XYZ'"),
    ]
    caster.body = table(HANO, *[line for line, _ in bad], DNG1)
    specs = register_sources(tmp_path, engine, entry("vngeonet", caster.port, expected_mountpoints=["BADL"]))

    outcome = poll(engine, specs["vngeonet"])

    assert outcome.ok, outcome.error
    assert outcome.rejected == len(bad)
    assert set(stations(engine)) == {"GNSS-HANO", "GNSS-DNG1"}
    # BADL is listed (its record is just unreadable): neither up nor down.
    assert readings(engine) == {("GNSS-HANO", SLOT): 1.0, ("GNSS-DNG1", SLOT): 1.0}
    rows = quarantined(engine)
    assert len(rows) == len(bad)
    for row, (line, words) in zip(rows, bad):
        assert words in row.reason, row.reason
        assert row.payload == line
        assert row.ref == f"ntrip://127.0.0.1:{caster.port}/"


def test_failures_fail_the_poll_while_another_source_succeeds(
    engine: Engine, tmp_path: Path, caster: Caster, monkeypatch: pytest.MonkeyPatch
) -> None:
    caster.credentials = ("ioc", "s3cret")
    monkeypatch.setenv("NTRIP_GOOD", "s3cret")
    monkeypatch.setenv("NTRIP_BAD", "wrong")
    specs = register_sources(
        tmp_path, engine,
        entry("refused", free_port(), retries=1),
        entry("bad-password", caster.port, version=2, user="ioc", password_env="NTRIP_BAD"),
        entry("no-password", caster.port, version=1, code_template="NP-{mountpoint}"),
        entry("good", caster.port, user="ioc", password_env="NTRIP_GOOD"),
    )

    outcomes = {name: poll(engine, spec) for name, spec in specs.items()}

    assert outcomes["good"].ok, outcomes["good"].error
    assert outcomes["good"].accepted == 6  # up and availability_pct of 3 stations
    assert "refused the connection" in outcomes["refused"].error
    assert "gave up after 2 attempts" in outcomes["refused"].error
    for name in ("bad-password", "no-password"):
        assert not outcomes[name].ok
        assert "401 Unauthorized" in outcomes[name].error and "check 'user'" in outcomes[name].error
    assert set(stations(engine)) == {"GNSS-HANO", "GNSS-HCM1", "GNSS-DNG1"}  # only the good source's
    with engine.connect() as conn:
        status = dict(conn.execute(select(sources.c.name, sources.c.last_status)).all())
    assert status == {"refused": "failed", "bad-password": "failed", "no-password": "failed", "good": "ok"}
    good_auth = "Basic " + base64.b64encode(b"ioc:s3cret").decode()
    assert any(headers.get("authorization") == good_auth for _, headers in caster.requests)


@pytest.mark.parametrize(
    ("mode", "body", "words"),
    [
        ("garbage", None, "did not answer like an NTRIP caster"),
        ("v2", table(HANO, DNG1, end=False), "without ENDSOURCETABLE"),
    ],
)
def test_garbage_or_truncated_answer_fails_the_poll(
    engine: Engine, tmp_path: Path, caster: Caster, mode: str, body: bytes | None, words: str
) -> None:
    caster.mode = mode
    if body is not None:
        caster.body = body
    specs = register_sources(tmp_path, engine, entry("vngeonet", caster.port, version=2))

    outcome = poll(engine, specs["vngeonet"])

    assert not outcome.ok
    assert words in outcome.error
    assert readings(engine) == {}  # no station marked up or down on a failed poll


def test_parse_source_table_unit() -> None:
    parsed = parse_source_table(table(*FULL, newline=b"\n", extra=CMU1_LATIN1))
    assert (parsed.casters, parsed.networks, parsed.rejected) == (1, 1, [])
    by_mount = {s.mountpoint: s for s in parsed.streams}
    assert list(by_mount) == ["HANO", "HCM1", "DNG1", "VRS32", "CMU1"]
    assert by_mount["CMU1"].identifier == "Cà Mau"
    assert by_mount["DNG1"].lat == 16.05 and by_mount["DNG1"].solution == ""
    assert by_mount["VRS32"].solution == "1"
    with pytest.raises(SourceError, match="without ENDSOURCETABLE"):
        parse_source_table(b"STR;HANO;x\r\n")


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"version": 3}, "options.version"),
        ({"user": "ioc"}, "both 'user' and 'password_env'"),
        ({"code_template": "GNSS"}, "must contain {mountpoint}"),
        ({"station_types": {"HANO": "base"}}, "options.station_types"),
        ({"colour": "red"}, "options.colour"),
    ],
)
def test_bad_options_fail_at_load(tmp_path: Path, overrides: dict[str, Any], words: str) -> None:
    with pytest.raises(ConfigError) as info:
        write_sources(tmp_path, entry("vngeonet", 2101, **overrides))
    assert words in str(info.value)


@pytest.mark.parametrize("version", ["1", "2"])
def test_a_listed_station_whose_stream_is_silent_is_down(engine: Engine, tmp_path: Path, caster: Caster,
                                                          version: str) -> None:
    caster.streams = {"HANO": True, "HCM1": False}  # DNG1 listed but unknown to the caster (404)
    spec = register_sources(tmp_path, engine,
                            entry("vngeonet", caster.port, version=version, probe_streams=True, probe_seconds=1))
    outcome = poll(engine, spec["vngeonet"])
    assert outcome.ok, outcome.error
    up = {code: value for (code, ts), value in readings(engine).items() if ts == SLOT}
    assert up == {"GNSS-HANO": 1.0, "GNSS-HCM1": 0.0, "GNSS-DNG1": 0.0}
    probed = sorted(line.split(" ")[1] for line, _ in caster.requests if line.split(" ")[1] != "/")
    assert probed == ["/DNG1", "/HANO", "/HCM1"]  # the VRS network product is not a station
