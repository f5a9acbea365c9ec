"""The ``files`` source kind, end to end: drop folder -> poll_source -> store + archive/quarantine."""
from __future__ import annotations

import io
import os
import re
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import Engine, text

import ingest
import polling
from source_config import SourceSpec
from tests.support import register_sources

ENTITIES = [
    {"code": "HN-01", "kind": "station", "name": "Trạm Hồ Tây", "province_code": "01"},
    {"code": "HN-02", "kind": "station", "name": "Trạm Hồ Gươm", "province_code": "01"},
]


def files_source(drop: Path, **overrides: Any) -> dict[str, Any]:
    options: dict[str, Any] = {
        "folder": str(drop),
        "entity_column": "station",
        "time_column": "time",
        "series": {"pH": {"column": "ph"}, "DO": {"column": "do", "unit": "mg/L"}},
        "settle_seconds": 0,
        "entities": ENTITIES,
    }
    options.update(overrides)
    return {"name": "water", "kind": "files", "every": "1m", "timeout": 30, "options": options}


def load(tmp_path: Path, engine: Engine, entry: dict[str, Any]) -> SourceSpec:
    return register_sources(tmp_path, engine, entry)[entry["name"]]


def observations(engine: Engine) -> list[tuple[str, str, int, float]]:
    with engine.connect() as conn:
        return [
            tuple(row)
            for row in conn.execute(
                text(
                    "SELECT e.code, s.metric, o.ts, o.value FROM observations o "
                    "JOIN series s ON s.id = o.series_id JOIN entities e ON e.id = s.entity_id "
                    "ORDER BY e.code, s.metric, o.ts"
                )
            )
        ]


def quarantined(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT reason, ref, payload FROM quarantine ORDER BY id")))


def source_row(engine: Engine) -> Any:
    with engine.connect() as conn:
        return conn.execute(text("SELECT * FROM sources WHERE name = 'water'")).one()


def archived(drop: Path) -> list[str]:
    """Archived files as '<day>/<name>'."""
    return sorted(str(p.relative_to(drop / "archive")) for p in (drop / "archive").rglob("*") if p.is_file())


def in_drop(drop: Path) -> list[str]:
    return sorted(p.name for p in drop.iterdir() if p.is_file())


def epoch(local: str) -> int:
    return int(datetime.fromisoformat(local + "+07:00").timestamp())


GOOD_CSV = "station,time,ph,do\nHN-01,2025-03-01 07:00,7.1,6.5\nHN-02,2025-03-01 07:00,6.9,5.8\n"


def test_csv_with_bom_crlf_and_decimal_comma_is_stored_and_archived(tmp_path: Path, engine: Engine, drop: Path) -> None:
    content = (
        "station;time;ph;do\r\n"
        "HN-01;01/03/2025 07:00;7,25;6,5\r\n"
        "HN-02;2025-03-01 08:00;6,9;\r\n"  # DO empty: no reading, not an error
        "\r\n"  # a blank line is skipped
        "HN-02;hôm qua;7,0;5,0\r\n"  # line 5: unreadable time
        "HN-01;2025-03-01 09:00;lỗi;1.234,5\r\n"  # line 6: pH not a number, DO (with thousands) fine
        "HN-01;2025-03-01 10:00;7,0\r\n"  # line 7: cut short
    )
    (drop / "quan-trac.csv").write_bytes(b"\xef\xbb\xbf" + content.encode("utf-8"))
    spec = load(tmp_path, engine, files_source(drop, delimiter=";", decimal=",", thousands="."))

    outcome = polling.poll_source(engine, spec)

    assert outcome.ok, outcome.error
    assert observations(engine) == [
        ("HN-01", "DO", epoch("2025-03-01 07:00"), 6.5),
        ("HN-01", "DO", epoch("2025-03-01 09:00"), 1234.5),
        ("HN-01", "pH", epoch("2025-03-01 07:00"), 7.25),
        ("HN-02", "pH", epoch("2025-03-01 08:00"), 6.9),
    ]
    rejected = {row.ref: row for row in quarantined(engine)}
    assert set(rejected) == {"quan-trac.csv:5", "quan-trac.csv:6", "quan-trac.csv:7"}
    assert "not a readable date/time" in rejected["quan-trac.csv:5"].reason
    assert "hôm qua" in rejected["quan-trac.csv:5"].payload
    assert "pH" in rejected["quan-trac.csv:6"].reason and "not a number" in rejected["quan-trac.csv:6"].reason
    assert "cut short" in rejected["quan-trac.csv:7"].reason
    assert in_drop(drop) == []
    [name] = archived(drop)
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}/quan-trac\.csv", name)
    assert (drop / "archive" / name).read_bytes().startswith(b"\xef\xbb\xbf")  # archived untouched
    assert source_row(engine).last_rows_accepted == 4


def test_xlsx_is_read_with_excel_dates(tmp_path: Path, engine: Engine, drop: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Data"
    sheet.append(["Báo cáo quan trắc nước"])  # a title row above the header
    sheet.append(["Station", "Time", "pH", "DO"])  # header names differ only in case
    sheet.append(["HN-01", datetime(2025, 3, 1, 7, 0), 7.1, 6.5])
    sheet.append(["HN-02", datetime(2025, 3, 1, 7, 0), "6,8", None])
    sheet.append(["HN-02", "không rõ", 7.0, 5.0])  # row 5: unreadable time
    book.save(drop / "bao-cao.xlsx")
    spec = load(tmp_path, engine, files_source(drop, sheet="Data", header_row=2, decimal=",", delimiter=";"))

    outcome = polling.poll_source(engine, spec)

    assert outcome.ok, outcome.error
    assert observations(engine) == [
        ("HN-01", "DO", epoch("2025-03-01 07:00"), 6.5),
        ("HN-01", "pH", epoch("2025-03-01 07:00"), 7.1),
        ("HN-02", "pH", epoch("2025-03-01 07:00"), 6.8),
    ]
    assert [(r.ref, "not a readable date/time" in r.reason) for r in quarantined(engine)] == [("bao-cao.xlsx:5", True)]
    assert [n.split("/")[1] for n in archived(drop)] == ["bao-cao.xlsx"]


def _xlsx_bytes() -> bytes:
    book = openpyxl.Workbook()
    book.active.append(["station", "time", "ph", "do"])
    book.active.append(["HN-01", datetime(2025, 3, 1, 7), 7.0, 6.0])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_unreadable_files_are_quarantined_with_a_reason(tmp_path: Path, engine: Engine, drop: Path) -> None:
    whole = _xlsx_bytes()
    bad = {
        "random.xlsx": os.urandom(3000),
        "truncated.xlsx": whole[: len(whole) // 2],  # a half-copied workbook
        "half-header.csv": b"station,time,p",  # cut off while the header was being written
        "empty.csv": b"",
        "latin1.csv": "station,time,ph,do\nHN-01,2025-03-01 07:00,7,é\n".encode("latin-1"),
    }
    for name, data in bad.items():
        (drop / name).write_bytes(data)
    (drop / "good.csv").write_text(GOOD_CSV, encoding="utf-8")
    spec = load(tmp_path, engine, files_source(drop))

    outcome = polling.poll_source(engine, spec)

    assert outcome.ok, outcome.error
    assert len(observations(engine)) == 4  # the good file is unaffected
    assert in_drop(drop) == []
    qdir = drop / "quarantine"
    assert sorted(p.name for p in qdir.iterdir()) == sorted([*bad, *(n + ".reason.txt" for n in bad)])
    for name, data in bad.items():
        assert (qdir / name).read_bytes() == data  # kept byte for byte
    reasons = {name: (qdir / f"{name}.reason.txt").read_text(encoding="utf-8") for name in bad}
    assert "not a readable .xlsx workbook" in reasons["random.xlsx"]
    assert "not a readable .xlsx workbook" in reasons["truncated.xlsx"]
    assert "missing column(s)" in reasons["half-header.csv"] and "'ph'" in reasons["half-header.csv"]
    assert "empty" in reasons["empty.csv"]
    assert "not valid utf-8" in reasons["latin1.csv"]
    assert all("source: water" in r for r in reasons.values())

    rows = {row.ref: row for row in quarantined(engine)}
    assert set(rows) == set(bad)
    assert rows["half-header.csv"].payload == "station,time,p"
    assert rows["truncated.xlsx"].payload.startswith("binary, ")
    assert "\\xe9" in rows["latin1.csv"].payload
    assert rows["random.xlsx"].reason.startswith("file random.xlsx: not a readable .xlsx workbook")


def test_a_file_still_being_written_waits_for_the_next_poll(tmp_path: Path, engine: Engine, drop: Path) -> None:
    path = drop / "dang-ghi.csv"
    path.write_text(GOOD_CSV, encoding="utf-8")  # modified just now
    spec = load(tmp_path, engine, files_source(drop, settle_seconds=30))

    first = polling.poll_source(engine, spec)

    assert first.ok and first.accepted == 0
    assert in_drop(drop) == ["dang-ghi.csv"] and not (drop / "archive").exists()
    assert quarantined(engine) == []

    settled = time.time() - 60
    os.utime(path, (settled, settled))  # the writer finished a minute ago
    second = polling.poll_source(engine, spec)

    assert second.ok and second.accepted == 4
    assert in_drop(drop) == []
    assert len(archived(drop)) == 1


def test_a_crash_while_storing_leaves_files_in_place_and_stores_nothing(
    tmp_path: Path, engine: Engine, drop: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (drop / "good.csv").write_text(GOOD_CSV, encoding="utf-8")
    (drop / "broken.xlsx").write_bytes(b"PK\x03\x04 not really a zip")
    spec = load(tmp_path, engine, files_source(drop))
    real_store = ingest.store_batch

    def store_then_crash(conn: Any, *args: Any, **kwargs: Any) -> Any:
        real_store(conn, *args, **kwargs)  # rows written in the transaction ...
        raise RuntimeError("disk full")  # ... then the process fails before commit

    monkeypatch.setattr(polling, "store_batch", store_then_crash)
    crashed = polling.poll_source(engine, spec)

    assert not crashed.ok and "disk full" in crashed.error
    assert observations(engine) == [] and quarantined(engine) == []
    assert in_drop(drop) == ["broken.xlsx", "good.csv"]
    assert not (drop / "archive").exists() and not (drop / "quarantine").exists()
    assert source_row(engine).last_status == "failed"

    monkeypatch.setattr(polling, "store_batch", real_store)
    recovered = polling.poll_source(engine, spec)

    assert recovered.ok, recovered.error
    assert len(observations(engine)) == 4
    assert [r.ref for r in quarantined(engine)] == ["broken.xlsx"]  # recorded once, with the move
    assert in_drop(drop) == []
    assert len(archived(drop)) == 1
    assert (drop / "quarantine" / "broken.xlsx.reason.txt").exists()

    again = polling.poll_source(engine, spec)  # nothing left to take
    assert again.ok and again.accepted == 0 and len(quarantined(engine)) == 1


def test_dropping_the_same_file_again_stores_no_duplicates(tmp_path: Path, engine: Engine, drop: Path) -> None:
    spec = load(tmp_path, engine, files_source(drop))
    for _ in range(2):
        (drop / "daily.csv").write_text(GOOD_CSV, encoding="utf-8")
        (drop / "broken.xlsx").write_bytes(b"not a workbook")
        outcome = polling.poll_source(engine, spec)
        assert outcome.ok and outcome.accepted == 4

    assert len(observations(engine)) == 4
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM observations")).scalar_one() == 4
    # Neither copy overwrote the earlier one.
    assert sorted(n.split("/")[1] for n in archived(drop)) == ["daily.csv", "daily_1.csv"]
    qdir = drop / "quarantine"
    assert sorted(p.name for p in qdir.iterdir()) == [
        "broken.xlsx",
        "broken.xlsx.reason.txt",
        "broken_1.xlsx",
        "broken_1.xlsx.reason.txt",
    ]


def test_a_backlog_drains_over_several_polls(tmp_path: Path, engine: Engine, drop: Path) -> None:
    for i in range(3):
        path = drop / f"f{i}.csv"
        path.write_text(f"station,time,ph,do\nHN-01,2025-03-0{i + 1} 07:00,7,6\n", encoding="utf-8")
        os.utime(path, (1_700_000_000 + i, 1_700_000_000 + i))  # f0 oldest
    spec = load(tmp_path, engine, files_source(drop, max_files=2))

    first = polling.poll_source(engine, spec)

    assert first.accepted == 4
    assert in_drop(drop) == ["f2.csv"]  # the two oldest went first
    second = polling.poll_source(engine, spec)
    assert second.accepted == 2 and in_drop(drop) == []


def test_missing_drop_folder_is_a_source_error(tmp_path: Path, engine: Engine) -> None:
    spec = load(tmp_path, engine, files_source(tmp_path / "nowhere"))

    outcome = polling.poll_source(engine, spec)

    assert not outcome.ok
    assert "does not exist" in source_row(engine).last_error
