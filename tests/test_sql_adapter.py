"""The ``sql`` source kind, end to end: sources file -> poll_source -> store.

A real SQLite file plays the remote database; PostgreSQL is only used as a closed
port (to check the connect timeout and that the password never shows).
"""
from __future__ import annotations

import socket
import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine, text

import polling
from settings import ConfigError
from source_config import load_sources
from tests.support import register_sources

ENTITIES = [
    {"code": "HN-01", "kind": "station", "name": "Hà Nội - Hoàn Kiếm", "province_code": "01"},
    {"code": "HN-02", "kind": "station", "name": "Hà Nội - Cầu Giấy", "province_code": "01"},
]


def make_remote(path: Path, rows: list[tuple[Any, ...]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE IF NOT EXISTS readings (station TEXT, ts TEXT, pm25 REAL, no2 REAL)")
    con.executemany("INSERT INTO readings VALUES (?, ?, ?, ?)", rows)
    con.commit()
    con.close()


def sql_source(name: str, url: str, **overrides: Any) -> dict[str, Any]:
    options: dict[str, Any] = {
        "url": url,
        "query": "SELECT station, ts, pm25, no2 FROM readings WHERE ts > :since ORDER BY ts",
        "entity_column": "station",
        "time_column": "ts",
        "since_as": "local",  # the remote keeps naive local-time text
        "series": {"PM2.5": {"column": "pm25", "unit": "µg/m³"}, "NO2": {"column": "no2", "unit": "µg/m³"}},
        "entities": ENTITIES,
    }
    options.update(overrides)
    return {"name": name, "kind": "sql", "every": "5m", "timeout": 20, "options": options}


load = register_sources  # write a sources file, load it, register the sources


def observations(engine: Engine) -> list[tuple[str, str, int, float, str]]:
    with engine.connect() as conn:
        return [
            tuple(row)
            for row in conn.execute(
                text(
                    "SELECT e.code, s.metric, o.ts, o.value, s.unit FROM observations o "
                    "JOIN series s ON s.id = o.series_id JOIN entities e ON e.id = s.entity_id "
                    "ORDER BY e.code, s.metric, o.ts"
                )
            )
        ]


def source_row(engine: Engine, name: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(text("SELECT * FROM sources WHERE name = :n"), {"n": name}).one()


def runs(engine: Engine, name: str) -> list[Any]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                text(
                    "SELECT r.* FROM poll_runs r JOIN sources s ON s.id = r.source_id "
                    "WHERE s.name = :n ORDER BY r.id"
                ),
                {"n": name},
            )
        )


def quarantined(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT reason, ref, payload FROM quarantine ORDER BY id")))


def epoch(local: str) -> int:
    """'2025-03-01 07:00' in Asia/Ho_Chi_Minh (UTC+7) -> epoch seconds."""
    return int(datetime.fromisoformat(local + "+07:00").timestamp())


def test_happy_path_then_incremental_since(tmp_path: Path, engine: Engine) -> None:
    remote = tmp_path / "remote.db"
    make_remote(
        remote,
        [
            ("HN-01", "2025-03-01 07:00:00", 35.5, 20.0),
            ("HN-02", "2025-03-01 07:00:00", 41.0, 22.5),
            ("HN-01", "2025-03-01 08:00:00", 38.0, None),  # no NO2 this hour: no reading, no error
        ],
    )
    specs = load(tmp_path, engine, sql_source("air-db", f"sqlite:///{remote}"))

    outcome = polling.poll_source(engine, specs["air-db"])

    assert outcome.ok, outcome.error
    assert observations(engine) == [
        ("HN-01", "NO2", epoch("2025-03-01 07:00"), 20.0, "µg/m³"),
        ("HN-01", "PM2.5", epoch("2025-03-01 07:00"), 35.5, "µg/m³"),
        ("HN-01", "PM2.5", epoch("2025-03-01 08:00"), 38.0, "µg/m³"),
        ("HN-02", "NO2", epoch("2025-03-01 07:00"), 22.5, "µg/m³"),
        ("HN-02", "PM2.5", epoch("2025-03-01 07:00"), 41.0, "µg/m³"),
    ]
    assert quarantined(engine) == []
    source = source_row(engine, "air-db")
    assert source.last_status == "ok"
    assert source.last_rows_accepted == 5

    # New rows arrive; the next poll must ask only for rows after the newest stored time.
    make_remote(remote, [("HN-02", "2025-03-01 09:00:00", 44.0, 25.0)])
    outcome = polling.poll_source(engine, specs["air-db"])

    assert outcome.ok, outcome.error
    assert outcome.accepted == 2  # only the new row's two readings were fetched
    assert runs(engine, "air-db")[-1].rows_accepted == 2
    assert len(observations(engine)) == 7
    assert ("HN-02", "PM2.5", epoch("2025-03-01 09:00"), 44.0, "µg/m³") in observations(engine)

    # Nothing new: an empty but successful poll.
    outcome = polling.poll_source(engine, specs["air-db"])
    assert outcome.ok and outcome.accepted == 0
    assert [r.status for r in runs(engine, "air-db")] == ["ok", "ok", "ok"]


def test_bad_rows_are_quarantined_one_by_one(tmp_path: Path, engine: Engine) -> None:
    remote = tmp_path / "remote.db"
    make_remote(
        remote,
        [
            ("HN-01", "2025-03-01 07:00:00", 35.5, 20.0),
            (None, "2025-03-01 07:00:00", 1.0, 2.0),  # row 2: no entity
            ("HN-02", "not a time", 3.0, 4.0),  # row 3: unreadable time
            ("HN-02", "2025-03-01 08:00:00", "n/a", 22.0),  # row 4: PM2.5 not a number, NO2 fine
        ],
    )
    specs = load(tmp_path, engine, sql_source("air-db", f"sqlite:///{remote}", query="SELECT * FROM readings"))

    outcome = polling.poll_source(engine, specs["air-db"])

    assert outcome.ok, outcome.error
    stored = observations(engine)
    assert ("HN-02", "NO2", epoch("2025-03-01 08:00"), 22.0, "µg/m³") in stored
    assert not [o for o in stored if o[0] == "HN-02" and o[1] == "PM2.5"]
    assert len(stored) == 3
    rejected = {row.ref: row for row in quarantined(engine)}
    assert set(rejected) == {"row 2", "row 3", "row 4"}
    assert "entity column station is empty" in rejected["row 2"].reason
    assert "not a readable date/time" in rejected["row 3"].reason
    assert "PM2.5" in rejected["row 4"].reason and "not a number" in rejected["row 4"].reason
    assert '"n/a"' in rejected["row 4"].payload
    assert source_row(engine, "air-db").last_rows_rejected == 3


def test_epoch_times_fixed_entity_and_initial_lookback(tmp_path: Path, engine: Engine) -> None:
    remote = tmp_path / "remote.db"
    con = sqlite3.connect(remote)
    con.execute("CREATE TABLE flow (t INTEGER, q REAL)")
    now = int(datetime.now(timezone.utc).timestamp()) // 60 * 60
    con.executemany("INSERT INTO flow VALUES (?, ?)", [(now - 3 * 86400, 1.0), (now - 3600, 2.0), (now - 60, 3.0)])
    con.commit()
    con.close()
    entry = sql_source(
        "river",
        f"sqlite:///{remote}",
        query="SELECT t, q FROM flow WHERE t > :since AND t <= :until",
        entity_column=None,
        entity_value="HN-01",
        time_column="t",
        since_as="epoch",
        initial_lookback="1d",
        series={"Q": {"column": "q", "unit": "m³/s"}},
    )
    del entry["options"]["entity_column"]
    specs = load(tmp_path, engine, entry)

    outcome = polling.poll_source(engine, specs["river"])

    assert outcome.ok, outcome.error
    # The row three days old is outside the initial lookback.
    assert observations(engine) == [("HN-01", "Q", now - 3600, 2.0, "m³/s"), ("HN-01", "Q", now - 60, 3.0, "m³/s")]


def test_failing_queries_are_recorded_and_other_sources_still_poll(tmp_path: Path, engine: Engine) -> None:
    remote = tmp_path / "remote.db"
    make_remote(remote, [("HN-01", "2025-03-01 07:00:00", 35.5, 20.0)])
    url = f"sqlite:///{remote}"
    specs = load(
        tmp_path,
        engine,
        sql_source("no-table", url, query="SELECT station, ts, pm25, no2 FROM missing_table"),
        sql_source("syntax", url, query="SELECT station ts pm25 FROM readings WHERE"),
        sql_source("no-column", url, query="SELECT station, ts, no2 FROM readings"),
        sql_source("good", url),
    )

    outcomes = {name: polling.poll_source(engine, spec) for name, spec in specs.items()}

    assert outcomes["good"].ok
    assert [o[0] for o in observations(engine)] == ["HN-01", "HN-01"]
    expected_errors = {"no-table": "no such table: missing_table", "syntax": "syntax error", "no-column": "'pm25'"}
    for name, expected in expected_errors.items():
        assert not outcomes[name].ok
        row = source_row(engine, name)
        assert row.last_status == "failed"
        assert expected in row.last_error, row.last_error
        assert row.consecutive_failures == 1
        assert runs(engine, name)[-1].status == "failed"
        assert expected in runs(engine, name)[-1].error
    assert "series.PM2.5.column" in source_row(engine, "no-column").last_error
    assert "sqlalche.me" not in source_row(engine, "syntax").last_error


def test_only_select_queries_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    entry = sql_source("bad", "sqlite:///x.db", query="DELETE FROM readings")
    path.write_text(yaml.safe_dump({"sources": [entry]}), encoding="utf-8")
    with pytest.raises(ConfigError, match="must be a SELECT"):
        load_sources(path)


def test_unreachable_database_is_an_error_until_it_comes_back(tmp_path: Path, engine: Engine) -> None:
    remote = tmp_path / "not-yet" / "remote.db"  # the folder does not exist yet
    url = f"sqlite:///file:{remote}?mode=ro&uri=true"
    specs = load(tmp_path, engine, sql_source("air-db", url))

    first = polling.poll_source(engine, specs["air-db"])
    second = polling.poll_source(engine, specs["air-db"])

    assert not first.ok and not second.ok
    row = source_row(engine, "air-db")
    assert row.last_status == "failed"
    assert "cannot connect" in row.last_error and "unable to open database file" in row.last_error
    assert row.consecutive_failures == 2
    assert observations(engine) == []

    make_remote(remote, [("HN-01", "2025-03-01 07:00:00", 35.5, 20.0)])  # the fault ends
    third = polling.poll_source(engine, specs["air-db"])

    assert third.ok, third.error
    row = source_row(engine, "air-db")
    assert row.last_status == "ok" and row.consecutive_failures == 0
    assert len(observations(engine)) == 2


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_server_error_never_shows_the_password(
    tmp_path: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = _closed_port()
    monkeypatch.setenv("AIR_DB_URL", f"postgresql://reader@127.0.0.1:{port}/air")
    monkeypatch.setenv("AIR_DB_PASSWORD", "s3cret-Pw")
    entry = sql_source("pg", "unused", url_env="AIR_DB_URL", password_env="AIR_DB_PASSWORD", connect_timeout=1)
    del entry["options"]["url"]
    specs = load(tmp_path, engine, entry)

    outcome = polling.poll_source(engine, specs["pg"])

    assert not outcome.ok
    row = source_row(engine, "pg")
    assert row.last_status == "failed"
    assert f"cannot connect to postgresql+psycopg://reader:***@127.0.0.1:{port}/air" in row.last_error
    assert "s3cret-Pw" not in row.last_error
    assert outcome.duration_seconds < 10


def test_missing_url_env_var_is_a_clear_error(tmp_path: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_SUCH_DB_URL", raising=False)
    entry = sql_source("env", "unused", url_env="NO_SUCH_DB_URL")
    del entry["options"]["url"]
    specs = load(tmp_path, engine, entry)

    outcome = polling.poll_source(engine, specs["env"])

    assert not outcome.ok
    assert "NO_SUCH_DB_URL" in source_row(engine, "env").last_error
