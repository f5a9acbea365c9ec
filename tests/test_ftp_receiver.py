"""The optional FTP receiver on loopback: a real pyftpdlib server, stdlib ftplib as the station."""
from __future__ import annotations

import ftplib
import io
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select

from data_sources.base import Entity
from ingest import upsert_entities
from polling import poll_source
from receivers.ftp import FtpReceiver, StationUploadHandler, start_ftp_receiver
from settings import ConfigError, Settings, load_settings
from source_config import SourceSpec
from store.schema import entities, observations, series
from tests.servers import free_port
from tests.support import register_sources

T = TypeVar("T")
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
SENT = datetime(2026, 11, 20, 10, 0, tzinfo=TZ)
STAMP = SENT.strftime("%Y%m%d%H%M%S")
USER, PASSWORD = "hni-air01", "s3cret:pass"
OTHER_USER, OTHER_PASSWORD = "hni-air02", "other-secret"
NAME = f"HNI_KCN_AIR01_{STAMP}.txt"
DATA = (
    f"PM2.5\t35,5\tµg/m³\t{STAMP}\t00\r\nNO2\t61.0\tµg/m³\t{STAMP}\t00\r\nSO2\t999\tµg/m³\t{STAMP}\t01\r\n"
).encode()


# ------------------------------------------------------------------------------ helpers


@pytest.fixture(autouse=True)
def _no_ftp_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ENABLED", "HOST", "PORT", "SOURCE", "USERS", "PASSIVE_PORTS"):
        monkeypatch.delenv(f"FTP_{name}", raising=False)
    monkeypatch.delenv("OPSCENTRE_CONFIG", raising=False)
    # A refused login waits 3 s against password guessing; tests need not.
    monkeypatch.setattr(StationUploadHandler, "auth_failed_timeout", 0.1)


def wait_until(predicate: Callable[[], T], timeout: float = 10.0) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"not true after {timeout} s: {predicate}")


def station_source(tmp_path: Path, engine: Engine, drop: Path, **options: Any) -> dict[str, SourceSpec]:
    entries: list[dict[str, Any]] = [
        {
            "name": "stations",
            "kind": "station_files",
            "every": "1m",
            "timeout": 60,
            "options": {"folder": str(drop), "settle_seconds": 0, "station_code": "{province}-{station}", **options},
        },
        {"name": "scripted-one", "kind": "scripted", "every": "1m"},
    ]
    specs = register_sources(tmp_path, engine, *entries)
    with engine.begin() as conn:
        upsert_entities(conn, [Entity("HNI-AIR01", "station", "Trạm KCN", subtype="air", province_code="HNI")])
    return specs


def ftp_settings(tmp_path: Path, **overrides: Any) -> Settings:
    passive = free_port()
    values: dict[str, Any] = {
        "var_dir": tmp_path / "var",
        "ftp_enabled": True,
        "ftp_port": free_port(),
        "ftp_source": "stations",
        "ftp_users": f"{USER}:{PASSWORD}, {OTHER_USER}:{OTHER_PASSWORD}",
        "ftp_passive_ports": f"{passive}-{passive}",
    }
    return load_settings(**{**values, **overrides})


@pytest.fixture
def specs(tmp_path: Path, engine: Engine, drop: Path) -> dict[str, SourceSpec]:
    return station_source(tmp_path, engine, drop)


@pytest.fixture
def receiver(tmp_path: Path, specs: dict[str, SourceSpec]) -> Iterator[FtpReceiver]:
    handle = start_ftp_receiver(ftp_settings(tmp_path), list(specs.values()))
    assert handle is not None
    yield handle
    handle.stop()


def login(receiver: FtpReceiver, user: str = USER, password: str = PASSWORD) -> ftplib.FTP:
    ftp = ftplib.FTP()
    ftp.connect(*receiver.address, timeout=10)
    ftp.login(user, password)
    return ftp


def files(folder: Path) -> list[str]:
    """Every file under ``folder``, hidden ones included, as relative paths."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def hidden(folder: Path) -> list[Path]:
    return [p for p in folder.rglob(".*") if p.is_file()]


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def stored(engine: Engine) -> dict[tuple[str, str], float]:
    query = (
        select(entities.c.code, series.c.metric, observations.c.value)
        .join(series, series.c.entity_id == entities.c.id)
        .join(observations, observations.c.series_id == series.c.id)
    )
    with engine.connect() as conn:
        return {(row.code, row.metric): row.value for row in conn.execute(query)}


# ------------------------------------------------------------------------------- tests


def test_an_upload_lands_whole_in_the_drop_folder_and_is_ingested(
    receiver: FtpReceiver, specs: dict[str, SourceSpec], engine: Engine, drop: Path
) -> None:
    with login(receiver) as ftp:
        ftp.storbinary(f"STOR {NAME}", io.BytesIO(DATA))
    landed = drop / USER / NAME
    wait_until(landed.exists)
    assert landed.read_bytes() == DATA
    assert hidden(drop) == []  # the part file became the file; nothing left behind

    outcome = poll_source(engine, specs["stations"], now=SENT + timedelta(hours=1))
    assert outcome.ok and outcome.accepted == 3 and outcome.rejected == 0
    assert stored(engine) == {("HNI-AIR01", "PM2.5"): 35.5, ("HNI-AIR01", "NO2"): 61.0, ("HNI-AIR01", "SO2"): 999.0}
    assert not landed.exists()
    assert [p.name for p in (drop / "archive").rglob("*.txt")] == [NAME]


def test_a_wrong_password_is_refused_and_nothing_is_written(
    receiver: FtpReceiver, drop: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")
    wrong = "not-the-password-42"
    for user, password in ((USER, wrong), (USER, OTHER_PASSWORD), ("nobody", PASSWORD)):
        with ftplib.FTP() as ftp:
            ftp.connect(*receiver.address, timeout=10)
            with pytest.raises(ftplib.error_perm, match="^530"):
                ftp.login(user, password)
            with pytest.raises(ftplib.error_perm, match="^530"):
                ftp.storbinary(f"STOR {NAME}", io.BytesIO(DATA))
    assert files(drop) == []
    assert f"FTP login refused for user '{USER}'" in caplog.text
    assert wrong not in caplog.text and PASSWORD not in caplog.text and OTHER_PASSWORD not in caplog.text


def _abort(ftp: ftplib.FTP, conn: socket.socket, how: str, conn_folder: Path) -> None:
    if how == "abor":  # the station says so on the control connection
        assert ftp.abort().startswith("426")
        assert ftp.getresp().startswith("226")
        conn.close()
    elif how == "data-reset":  # the data connection breaks
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()
        with pytest.raises(ftplib.error_temp, match="^426"):
            ftp.voidresp()
    else:  # "control-lost": the station goes away while its data connection hangs
        ftp.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        ftp.close()
        # Only once the server has dropped the session: a clean close of the data connection
        # before that would be, by the protocol, the end of the file.
        wait_until(lambda: not hidden(conn_folder))
        conn.close()


@pytest.mark.parametrize("how", ["abor", "data-reset", "control-lost"])
def test_an_upload_cut_short_is_never_seen_by_the_adapter(
    receiver: FtpReceiver,
    specs: dict[str, SourceSpec],
    engine: Engine,
    drop: Path,
    how: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # More than the server's write buffer, so bytes on disk prove it accepted the data
    # connection and is receiving: only then is cutting it short what the test exercises.
    half = (DATA * 2000)[:100_000]
    ftp = login(receiver)
    ftp.voidcmd("TYPE I")
    conn = ftp.transfercmd(f"STOR {NAME}")
    conn.sendall(half)
    # The upload is being written under a name the adapter skips, even with settle_seconds 0.
    part = wait_until(lambda: [p for p in hidden(drop) if p.stat().st_size > 0])
    assert part[0].parent == drop / USER and part[0].name.endswith(".part")
    assert specs["stations"].adapter.candidates() == []

    _abort(ftp, conn, how, drop)
    wait_until(lambda: not hidden(drop))
    assert files(drop) == []
    outcome = poll_source(engine, specs["stations"], now=SENT + timedelta(hours=1))
    assert outcome.ok and outcome.accepted == 0 and outcome.rejected == 0
    assert stored(engine) == {}
    assert f"FTP upload {NAME} by {USER} discarded after" in caplog.text
    if how != "control-lost":
        ftp.quit()


def _answer(ftp: ftplib.FTP, command: str) -> str:
    """The reply code of ``command`` (a transfer for STOR/APPE/STOU), or "accepted"."""
    try:
        if command.split()[0] in ("STOR", "APPE", "STOU"):
            ftp.storbinary(command, io.BytesIO(b"x"))
        else:
            ftp.voidcmd(command)
    except ftplib.error_perm as exc:
        return str(exc)[:3]
    return "accepted"


def test_a_station_can_only_store_files_in_its_own_folder(receiver: FtpReceiver, drop: Path) -> None:
    refused = {
        f"DELE {NAME}": "550",
        f"RNFR {NAME}": "550",
        "MKD sub": "550",
        f"RETR {NAME}": "550",
        f"APPE {NAME}": "550",
        "STOU": "502",
        "STOR .hidden.txt": "553",
        f"STOR ../{OTHER_USER}/{NAME}": "550",  # FTP paths stop at the account's root: no such sub-folder
        "CWD ..": "accepted",  # stays at its root
    }
    with login(receiver) as ftp:
        ftp.storbinary(f"STOR {NAME}", io.BytesIO(DATA))
        wait_until((drop / USER / NAME).exists)
        assert {command: _answer(ftp, command) for command in refused} == refused
        assert ftp.pwd() == "/"
        assert ftp.nlst() == [NAME]  # its own folder only
    assert files(drop) == [f"{USER}/{NAME}"]
    assert (drop / USER / NAME).read_bytes() == DATA


def test_a_resent_name_never_replaces_a_waiting_file(receiver: FtpReceiver, drop: Path) -> None:
    changed = DATA.replace(b"61.0", b"62.0")
    with login(receiver) as ftp:
        for data in (DATA, DATA, changed):
            ftp.storbinary(f"STOR {NAME}", io.BytesIO(data))
    second = drop / USER / NAME.replace(".txt", "_1.txt")
    wait_until(second.exists)
    assert (drop / USER / NAME).read_bytes() == DATA  # the duplicate was dropped, the first kept
    assert second.read_bytes() == changed
    assert files(drop) == sorted([f"{USER}/{NAME}", f"{USER}/{second.name}"])


def test_stop_closes_the_listener(tmp_path: Path, specs: dict[str, SourceSpec]) -> None:
    settings = ftp_settings(tmp_path)
    handle = start_ftp_receiver(settings, list(specs.values()))
    assert handle is not None and handle.running and listening(settings.ftp_port)
    assert handle.address == ("127.0.0.1", settings.ftp_port)
    handle.stop()
    assert not handle.running
    assert not listening(settings.ftp_port)


@pytest.mark.parametrize(
    ("overrides", "source_options", "expected"),
    [
        ({"ftp_users": ""}, {}, "FTP_USERS"),
        ({"ftp_source": ""}, {}, "FTP_SOURCE is empty"),
        ({"ftp_source": "nope"}, {}, "FTP_SOURCE names 'nope', which is not in the sources file"),
        ({"ftp_source": "scripted-one"}, {}, "FTP_SOURCE names 'scripted-one', a scripted source"),
        ({}, {"recursive": False}, "FTP_SOURCE 'stations' has options.recursive: false"),
        ({"ftp_users": "archive:x"}, {}, "FTP_USERS: account 'archive'"),
    ],
)
def test_an_unusable_configuration_is_a_config_error_naming_the_setting(
    tmp_path: Path, engine: Engine, drop: Path, overrides: dict[str, Any], source_options: dict[str, Any], expected: str
) -> None:
    specs = station_source(tmp_path, engine, drop, **source_options)
    settings = ftp_settings(tmp_path, **overrides)
    with pytest.raises(ConfigError, match=expected):
        start_ftp_receiver(settings, list(specs.values()))
    assert not listening(settings.ftp_port)


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("FTP_USERS", "station1:topsecret,station2", "entry 2 must be user:password"),
        ("FTP_USERS", ".hidden:topsecret", "user name '.hidden'"),
        ("FTP_USERS", "a:topsecret,a:topsecret", "listed twice"),
        ("FTP_PASSIVE_PORTS", "30009-30000", "the first not above the last"),
        ("FTP_PASSIVE_PORTS", "many", "not a port range"),
        ("FTP_PORT", "0", "FTP_PORT"),
    ],
)
def test_a_bad_ftp_setting_names_the_setting_and_never_shows_a_password(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as err:
        load_settings(var_dir=tmp_path)
    assert name in str(err.value) and expected in str(err.value)
    assert "topsecret" not in str(err.value)


def test_ftp_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FTP_ENABLED", "true")
    monkeypatch.setenv("FTP_USERS", "hni-air01:pa:ss, hni-air02:x")
    monkeypatch.setenv("FTP_PASSIVE_PORTS", " 40000 - 40004 ")
    settings = load_settings(var_dir=tmp_path)
    assert settings.ftp_enabled is True
    assert settings.ftp_accounts == {"hni-air01": "pa:ss", "hni-air02": "x"}
    assert settings.ftp_passive_ports == "40000-40004"
    assert list(settings.ftp_passive_port_range) == [40000, 40001, 40002, 40003, 40004]
    assert "pa:ss" not in repr(settings)


def test_the_receiver_is_off_by_default(tmp_path: Path, specs: dict[str, SourceSpec]) -> None:
    defaults = Settings()
    assert defaults.ftp_enabled is False and defaults.ftp_accounts == {} and defaults.ftp_port == 2121
    port = free_port()
    # Everything else configured: only the switch is off.
    settings = load_settings(var_dir=tmp_path, ftp_port=port, ftp_source="stations", ftp_users=f"{USER}:{PASSWORD}")
    assert start_ftp_receiver(settings, list(specs.values())) is None
    assert not listening(port)
    assert not any(t.name == "ftp-receiver" for t in threading.enumerate())
