"""The ``station_files`` source kind: per-transmission station files -> poll_source -> store + folders.

Each outcome listed in the module docstring of :mod:`data_sources.station_files` has a
test here, plus a fuzz test of the pure parser.
"""
from __future__ import annotations

import os
import time
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

import ingest
import polling
from data_sources import station_files
from data_sources.base import Entity
from data_sources.station_files import ParsedFile, StationFileParser, StationFilesOptions, parse_station_file
from settings import ConfigError
from source_config import SourceSpec, load_sources
from tests.support import register_sources

NAME = "HN_KCNTL_NT01_20250701103000.txt"
T0 = "20250701103000"  # local time, UTC+7


def utc(local14: str) -> int:
    """Epoch seconds of a yyyyMMddhhmmss time read in Asia/Ho_Chi_Minh (UTC+7, no DST)."""
    return int(datetime.strptime(local14 + "+0700", "%Y%m%d%H%M%S%z").timestamp())


def register(engine: Engine, *codes: str) -> None:
    with engine.begin() as conn:
        ingest.upsert_entities(conn, [Entity(code=c, kind="station", name=f"Trạm {c}", province_code="01") for c in codes])


def source(drop: Path, **overrides: Any) -> dict[str, Any]:
    options: dict[str, Any] = {"folder": str(drop), "settle_seconds": 0}
    options.update(overrides)
    return {"name": "stations", "kind": "station_files", "every": "1m", "timeout": 30, "options": options}


def load(tmp_path: Path, engine: Engine, entry: dict[str, Any]) -> SourceSpec:
    return register_sources(tmp_path, engine, entry)[entry["name"]]


def put(drop: Path, name: str, content: str | bytes, subdir: str | None = "NT01", age: float = 60) -> Path:
    folder = drop / subdir if subdir else drop
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    when = time.time() - age
    os.utime(path, (when, when))
    return path


def line(param: str, value: str, unit: str, t: str = T0, status: str = "00") -> str:
    return f"{param}\t{value}\t{unit}\t{t}\t{status}\n"


def observations(engine: Engine) -> list[tuple[str, str, int, float, str, int]]:
    with engine.connect() as conn:
        return [
            tuple(row)
            for row in conn.execute(
                text(
                    "SELECT e.code, s.metric, o.ts, o.value, s.unit, o.quality FROM observations o "
                    "JOIN series s ON s.id = o.series_id JOIN entities e ON e.id = s.entity_id "
                    "ORDER BY e.code, s.metric, o.ts"
                )
            )
        ]


def quarantined(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT reason, ref, payload FROM quarantine ORDER BY id")))


def files_under(folder: Path) -> list[str]:
    if not folder.exists():
        return []
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def archived(drop: Path) -> list[str]:
    """Archived files as '<sub-folder>/<name>' (the day folder dropped)."""
    return sorted(n.split("/", 1)[1] for n in files_under(drop / "archive"))


def in_drop(drop: Path) -> list[str]:
    return [n for n in files_under(drop) if not n.startswith(("archive/", "quarantine/"))]


# ------------------------------------------------------------------ normal files


def test_station_folders_are_read_recursively_with_units_status_and_aliases(
    tmp_path: Path, engine: Engine, drop: Path
) -> None:
    register(engine, "HN-NT01", "HN-KK02")
    water = (
        "\ufeff"
        + line("COD", "45,20", "mg/l").replace("\n", "\r\n")
        + "  NH4 \t 3.5 \t mg/L \t 20250701103000 \t 01 \r\n"  # surrounding spaces; calibrating
        + "Coliform   2400   MPN/100ml   20250701103000   02\r\n"  # runs of spaces; fault
        + "Nhiệt độ  28,5  oC  20250701103000  00\r\n"  # a parameter with a space, separated by spaces
        + "Flow\t12.5\tm3/h\t20250701103000\t00\r\n"
        + "\r\n\r\n"  # trailing blank lines
    )
    put(drop, NAME, water, subdir="HN/NT01")
    air = (
        line("PM2,5", "0,035", "mg/m3")  # mg/m³ -> µg/m³
        + line("CO", "1.2", "mg/m³")  # CO too
        + line("SO2", "10", "ppb")  # gas ppb -> µg/m³ at 25 °C
        + line("NO2", "40", "ug/m3")
        + line("Dust", "12", "mg/Nm3")  # emissions spelling
    )
    put(drop, "HN_KCNTL_KK02_20250701103000.txt", air, subdir="HN/KK02")
    spec = load(
        tmp_path,
        engine,
        source(
            drop,
            station_code="{province}-{station}",
            parameters={"PM2,5": "PM2.5", "Nhiệt độ": "Temp", "NH4": "NH4+"},
        ),
    )

    outcome = polling.poll_source(engine, spec)

    assert outcome.ok, outcome.error
    t = utc(T0)
    assert t == int(datetime(2025, 7, 1, 3, 30, tzinfo=timezone.utc).timestamp())
    rows = observations(engine)
    so2 = [r for r in rows if r[1] == "SO2"][0]
    assert so2[3] == pytest.approx(10 * 64.066 / 24.45)
    assert [r for r in rows if r[1] != "SO2"] == [
        ("HN-KK02", "CO", t, 1200.0, "µg/m³", 0),
        ("HN-KK02", "Dust", t, 12.0, "mg/Nm³", 0),
        ("HN-KK02", "NO2", t, 40.0, "µg/m³", 0),
        ("HN-KK02", "PM2.5", t, 35.0, "µg/m³", 0),
        ("HN-NT01", "COD", t, 45.2, "mg/L", 0),
        ("HN-NT01", "Coliform", t, 2400.0, "MPN/100 mL", 2),
        ("HN-NT01", "Flow", t, 12.5, "m³/h", 0),
        ("HN-NT01", "NH4+", t, 3.5, "mg/L", 1),
        ("HN-NT01", "Temp", t, 28.5, "°C", 0),
    ]
    assert so2[4:] == ("µg/m³", 0)
    assert quarantined(engine) == []
    assert in_drop(drop) == []
    assert archived(drop) == ["HN/KK02/HN_KCNTL_KK02_20250701103000.txt", f"HN/NT01/{NAME}"]
    [day] = {n.split("/")[0] for n in files_under(drop / "archive")}
    assert len(day) == 10 and day[4] == "-"
    assert (drop / "archive" / day / "HN/NT01" / NAME).read_bytes().startswith(b"\xef\xbb\xbf")  # untouched


def test_a_truncated_file_keeps_its_whole_lines(tmp_path: Path, engine: Engine, drop: Path) -> None:
    register(engine, "NT01")
    put(drop, NAME, line("pH", "7.1", "pH") + line("COD", "45", "mg/L") + "TSS\t3")
    put(drop, "HN_KCNTL_NT01_20250701103500.txt", line("pH", "7.2", "-", "20250701103500") + "COD\t46\tmg/L\t2025070110")
    spec = load(tmp_path, engine, source(drop))

    outcome = polling.poll_source(engine, spec)

    assert outcome.ok and outcome.accepted == 3
    assert observations(engine) == [
        ("NT01", "COD", utc(T0), 45.0, "mg/L", 0),
        ("NT01", "pH", utc(T0), 7.1, "", 0),
        ("NT01", "pH", utc("20250701103500"), 7.2, "", 0),
    ]
    rows = {r.ref: r for r in quarantined(engine)}
    assert set(rows) == {f"{NAME}:3", "HN_KCNTL_NT01_20250701103500.txt:2"}
    assert "cut short" in rows[f"{NAME}:3"].reason and rows[f"{NAME}:3"].payload == "TSS\t3"
    assert "cut short" in rows["HN_KCNTL_NT01_20250701103500.txt:2"].reason
    assert len(archived(drop)) == 2 and not (drop / "quarantine").exists()


def test_unreadable_files_are_quarantined_with_a_reason(tmp_path: Path, engine: Engine, drop: Path) -> None:
    register(engine, "NT01")
    bad = {
        "HN_KCNTL_NT01_20250701100000.txt": b"",  # empty
        "HN_KCNTL_NT01_20250701100500.txt": b"\r\n  \r\n",  # blank lines only
        "HN_KCNTL_NT01_20250701101000.txt": bytes(range(256)) * 4,  # binary junk
        "HN_KCNTL_NT01_20250701101500.txt": "COD\t45\tmg/L\t20250701101500\t00\né".encode("cp1258"),  # not UTF-8
        "HN_KCNTL_NT01_20250701102000.txt": b"CO",  # truncated to nothing usable
        "NT01-20250701.txt": line("COD", "45", "mg/L").encode(),  # name not in the layout
        "HN_KCNTL_NT01_20251399000000.txt": line("COD", "45", "mg/L").encode(),  # impossible file-name time
    }
    for name, data in bad.items():
        put(drop, name, data)
    put(drop, NAME, line("COD", "45", "mg/L"))  # a good one beside them
    spec = load(tmp_path, engine, source(drop))

    outcome = polling.poll_source(engine, spec)

    assert outcome.ok, outcome.error
    assert observations(engine) == [("NT01", "COD", utc(T0), 45.0, "mg/L", 0)]
    assert in_drop(drop) == []
    assert archived(drop) == [f"NT01/{NAME}"]
    qdir = drop / "quarantine" / "NT01"  # the station's sub-folder is kept
    assert files_under(qdir) == sorted([*bad, *(n + ".reason.txt" for n in bad)])
    for name, data in bad.items():
        assert (qdir / name).read_bytes() == data
    why = {name: (qdir / f"{name}.reason.txt").read_text("utf-8") for name in bad}
    assert "the file is empty\n" in why["HN_KCNTL_NT01_20250701100000.txt"]
    assert "only blank lines" in why["HN_KCNTL_NT01_20250701100500.txt"]
    assert "binary data" in why["HN_KCNTL_NT01_20250701101000.txt"]
    assert "not UTF-8 text" in why["HN_KCNTL_NT01_20250701101500.txt"]
    assert "no valid line" in why["HN_KCNTL_NT01_20250701102000.txt"]
    assert "cut short" in why["HN_KCNTL_NT01_20250701102000.txt"]
    assert "file name does not match" in why["NT01-20250701.txt"]
    assert "not a valid date" in why["HN_KCNTL_NT01_20251399000000.txt"]
    assert all("source: stations" in r for r in why.values())

    rows = quarantined(engine)
    file_rows = {r.ref: r for r in rows if ":" not in r.ref}
    assert set(file_rows) == set(bad)
    assert file_rows["NT01-20250701.txt"].reason.startswith("file NT01-20250701.txt: file name does not match")
    assert file_rows["HN_KCNTL_NT01_20250701101000.txt"].payload.startswith("binary, ")
    assert file_rows["HN_KCNTL_NT01_20250701100000.txt"].payload == "(empty file, 0 bytes)"
    # The one line of the truncated file is also recorded, with its line number.
    assert [(r.ref, r.payload) for r in rows if ":" in r.ref] == [("HN_KCNTL_NT01_20250701102000.txt:1", "CO")]


def test_the_same_file_twice_is_stored_once_and_archived_twice(tmp_path: Path, engine: Engine, drop: Path) -> None:
    register(engine, "NT01")
    spec = load(tmp_path, engine, source(drop))
    content = line("COD", "45.2", "mg/L") + line("pH", "7,1", "")
    outcomes = []
    for _ in range(2):
        put(drop, NAME, content)
        outcomes.append(polling.poll_source(engine, spec))
    assert [(o.ok, o.accepted) for o in outcomes] == [(True, 2), (True, 2)]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM observations")).scalar_one() == 2
    assert observations(engine) == [("NT01", "COD", utc(T0), 45.2, "mg/L", 0), ("NT01", "pH", utc(T0), 7.1, "", 0)]
    assert archived(drop) == [f"NT01/{NAME}", "NT01/HN_KCNTL_NT01_20250701103000_1.txt"]  # nothing overwritten
    assert quarantined(engine) == []


def test_late_and_out_of_order_files_take_their_place_in_time(tmp_path: Path, engine: Engine, drop: Path) -> None:
    register(engine, "NT01")
    spec = load(tmp_path, engine, source(drop))
    times = ["20250701110000", "20250701104500", "20250701103000"]  # newest arrives first
    for i, t in enumerate(times[:2]):
        put(drop, f"HN_KCNTL_NT01_{t}.txt", line("COD", str(40 + i), "mg/L", t), age=60 - i)
    assert polling.poll_source(engine, spec).accepted == 2
    put(drop, f"HN_KCNTL_NT01_{times[2]}.txt", line("COD", "42", "mg/L", times[2]))  # a day's backlog, late

    late = polling.poll_source(engine, spec)

    assert late.ok and late.accepted == 1
    assert [(r[2], r[3]) for r in observations(engine)] == [(utc(times[2]), 42.0), (utc(times[1]), 41.0), (utc(times[0]), 40.0)]
    with engine.connect() as conn:
        newest = conn.execute(text("SELECT last_observation_at FROM sources WHERE name = 'stations'")).scalar_one()
    assert str(newest).startswith("2025-07-01 04:00")  # the late file did not move the newest time back
    assert len(archived(drop)) == 3


# ------------------------------------------------------------------ per-line outcomes


def test_unknown_station_readings_are_quarantined_by_ingest(tmp_path: Path, engine: Engine, drop: Path) -> None:
    register(engine, "NT01")
    put(drop, "HN_KCNTL_NT99_20250701103000.txt", line("COD", "45", "mg/L") + line("pH", "7", ""), subdir="NT99")
    spec = load(tmp_path, engine, source(drop))

    outcome = polling.poll_source(engine, spec)

    assert outcome.ok and outcome.accepted == 0 and outcome.rejected == 2
    assert observations(engine) == []
    rows = quarantined(engine)
    assert [r.reason for r in rows] == ["unknown entity code 'NT99'"] * 2
    assert all('"NT99"' in r.payload for r in rows)
    assert archived(drop) == ["NT99/HN_KCNTL_NT99_20250701103000.txt"]  # the file itself was read fine


def test_known_stations_quarantines_the_file_of_an_unknown_station(tmp_path: Path, engine: Engine, drop: Path) -> None:
    register(engine, "NT01")
    put(drop, "HN_KCNTL_NT99_20250701103000.txt", line("COD", "45", "mg/L"), subdir="NT99")
    spec = load(tmp_path, engine, source(drop, known_stations=["NT01"]))

    outcome = polling.poll_source(engine, spec)

    assert outcome.ok and outcome.rejected == 1
    [row] = quarantined(engine)
    assert row.ref == "HN_KCNTL_NT99_20250701103000.txt"
    assert "'NT99'" in row.reason and "known_stations" in row.reason
    assert (drop / "quarantine/NT99/HN_KCNTL_NT99_20250701103000.txt.reason.txt").exists()


def test_unknown_parameter_is_a_new_series_unless_parameters_are_listed(tmp_path: Path, engine: Engine, drop: Path) -> None:
    register(engine, "NT01")
    content = line("COD", "45", "mg/L") + line("Xyz", "1,5", "abc/def") + line("NH4", "2", "mg/L")
    put(drop, NAME, content)
    spec = load(tmp_path, engine, source(drop))
    assert polling.poll_source(engine, spec).accepted == 3
    assert ("NT01", "Xyz", utc(T0), 1.5, "abc/def", 0) in observations(engine)  # unknown unit kept as written

    register(engine, "NT02")
    put(drop, "HN_KCNTL_NT02_20250701103000.txt", content, subdir="NT02")
    listed = load(tmp_path, engine, source(drop, parameters={"NH4": "NH4+"}, known_parameters=["COD", "NH4+"]))
    outcome = polling.poll_source(engine, listed)

    assert outcome.ok and outcome.accepted == 2
    assert [r[1] for r in observations(engine) if r[0] == "NT02"] == ["COD", "NH4+"]
    [row] = quarantined(engine)
    assert row.ref == "HN_KCNTL_NT02_20250701103000.txt:2"
    assert "unknown parameter 'Xyz'" in row.reason and row.payload == "Xyz\t1,5\tabc/def\t20250701103000\t00"


def test_bad_values_and_timestamps_are_rejected_per_line(tmp_path: Path, engine: Engine, drop: Path) -> None:
    register(engine, "NT01")
    content = (
        line("COD", "45", "mg/L")
        + line("TSS", "lỗi", "mg/L")  # 2: not a number
        + line("BOD5", "1,234.5", "mg/L")  # 3: ambiguous separators
        + line("DO", "NaN", "mg/L")  # 4: not finite
        + line("pH", "7", "", "2025-07-01")  # 5: not 14 digits
        + line("pH", "7", "", "20250231103000")  # 6: 31 February
        + line("pH", "7", "", "20250703103000")  # 7: two days after the file name's time
        + line("Temp", "30", "°C", "20250701000000")  # 10.5 h before: within the default day
    )
    put(drop, NAME, content)
    spec = load(tmp_path, engine, source(drop))

    outcome = polling.poll_source(engine, spec)

    assert outcome.ok and outcome.accepted == 2
    assert observations(engine) == [
        ("NT01", "COD", utc(T0), 45.0, "mg/L", 0),
        ("NT01", "Temp", utc("20250701000000"), 30.0, "°C", 0),
    ]
    reasons = {r.ref.split(":")[1]: r.reason for r in quarantined(engine)}
    assert set(reasons) == {"2", "3", "4", "5", "6", "7"}
    assert "'lỗi' is not a number" in reasons["2"]
    assert "'1,234.5' is not a number" in reasons["3"]
    assert "not a finite number" in reasons["4"]
    assert "not yyyyMMddhhmmss" in reasons["5"]
    assert "not a valid date and time" in reasons["6"]
    assert "+48.0 h from the file name's time" in reasons["7"] and "implausible" in reasons["7"]


def test_max_skew_is_configurable(tmp_path: Path, engine: Engine, drop: Path) -> None:
    register(engine, "NT01")
    put(drop, NAME, line("COD", "45", "mg/L", "20250701100000") + line("COD", "46", "mg/L", "20250701090000"))
    spec = load(tmp_path, engine, source(drop, max_skew="1h"))

    outcome = polling.poll_source(engine, spec)

    assert outcome.accepted == 1 and observations(engine)[0][2] == utc("20250701100000")
    [row] = quarantined(engine)
    assert row.ref == f"{NAME}:2" and "-1.5 h" in row.reason and "max_skew (1 h)" in row.reason


def test_calibration_and_fault_are_kept_with_their_quality_unknown_status_is_rejected(
    tmp_path: Path, engine: Engine, drop: Path
) -> None:
    register(engine, "NT01")
    content = (
        line("COD", "45", "mg/L", status="00")
        + line("TSS", "30", "mg/L", status="01")
        + line("pH", "7", "", status="02")
        + line("DO", "5", "mg/L", status="07")  # 4: unknown
        + line("BOD5", "9", "mg/L", status="0")  # 5: truncated status is not guessed
    )
    put(drop, NAME, content)
    spec = load(tmp_path, engine, source(drop))

    outcome = polling.poll_source(engine, spec)

    assert outcome.accepted == 3
    assert {r[1]: r[5] for r in observations(engine)} == {"COD": 0, "TSS": 1, "pH": 2}
    rows = quarantined(engine)
    assert [r.ref for r in rows] == [f"{NAME}:4", f"{NAME}:5"]
    assert "unknown status code '07'" in rows[0].reason and "00, 01, 02" in rows[0].reason
    assert "unknown status code '0'" in rows[1].reason


# ------------------------------------------------------------------ configuration


def test_file_layout_field_order_codes_and_units_are_configurable(tmp_path: Path, engine: Engine, drop: Path) -> None:
    register(engine, "79.TD.KK1")
    put(
        drop,
        "KK1-TD-79-20250701-103000.TXT",
        "20250701103000 00 PM10 0.05 mg/m3 extra\n20250701103000 00 Bụi 0,00015 g/m3 x\n"
        "20250701103000 01 Độ ồn 65 dBA x\nBụi 150 g/m3 20250701103000 00 x\n",
        subdir=None,
    )
    spec = load(
        tmp_path,
        engine,
        source(
            drop,
            patterns=["*.txt"],
            filename_pattern=r"(?P<station>[^-]+)-(?P<facility>[^-]+)-(?P<province>\d+)-(?P<d>\d{8})-(?P<t>\d{6})\.txt",
            station_code="{province}.{facility}.{station}",
            fields=["time", "status", "parameter", "value", "unit", "skip"],
            unit_conversions={"g/m3": {"to": "µg/m³", "factor": 1000000}},
            timezone="UTC",
        ),
    )

    outcome = polling.poll_source(engine, spec)

    # The pattern is case-sensitive: .TXT does not match "\.txt" -> quarantined with the reason.
    assert outcome.ok and outcome.accepted == 0
    [row] = quarantined(engine)
    assert "file name does not match options.filename_pattern" in row.reason

    (drop / "quarantine" / "KK1-TD-79-20250701-103000.TXT").rename(drop / "KK1-TD-79-20250701-103000.txt")
    outcome = polling.poll_source(engine, spec)

    t = int(datetime(2025, 7, 1, 10, 30, tzinfo=timezone.utc).timestamp())
    assert outcome.accepted == 3  # no `time` group in the pattern: no skew check
    rows = sorted(observations(engine))
    assert rows[0][:2] == ("79.TD.KK1", "Bụi") and rows[0][2:] == (t, pytest.approx(150.0), "µg/m³", 0)
    assert rows[1:] == [("79.TD.KK1", "PM10", t, 50.0, "µg/m³", 0), ("79.TD.KK1", "Độ ồn", t, 65.0, "dBA", 1)]
    [_, row] = quarantined(engine)
    assert row.ref == "KK1-TD-79-20250701-103000.txt:4" and "not yyyyMMddhhmmss" in row.reason


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"station_code": "{site}"}, "station_code uses ['site']"),
        ({"fields": ["parameter", "value", "unit"]}, "'time' exactly once"),
        ({"fields": ["parameter", "value", "time", "colour"]}, "unknown field name"),
        ({"filename_pattern": "(unclosed"}, "not a valid regular expression"),
        ({"status_map": {"00": 7}}, "status_map"),
        ({"max_skew": "soon"}, "not a duration"),
        ({"timezone": "Hanoi"}, "unknown time zone"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_options_are_config_errors(tmp_path: Path, drop: Path, options: dict[str, Any], message: str) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump({"sources": [source(drop, **options)]}), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_sources(path)
    assert message in str(info.value)


def test_a_file_still_being_written_and_the_archive_are_left_alone(tmp_path: Path, engine: Engine, drop: Path) -> None:
    register(engine, "NT01")
    put(drop, NAME, line("COD", "45", "mg/L"), age=0)
    spec = load(tmp_path, engine, source(drop, settle_seconds=30))
    assert polling.poll_source(engine, spec).accepted == 0 and in_drop(drop) == [f"NT01/{NAME}"]

    os.utime(drop / "NT01" / NAME, (time.time() - 60,) * 2)
    assert polling.poll_source(engine, spec).accepted == 1
    again = polling.poll_source(engine, spec)  # archived files (inside the drop folder) are not re-read
    assert again.ok and again.accepted == 0 and len(archived(drop)) == 1


def test_a_failed_store_leaves_the_files_for_the_next_poll(
    tmp_path: Path, engine: Engine, drop: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    register(engine, "NT01")
    put(drop, NAME, line("COD", "45", "mg/L"))
    put(drop, "HN_KCNTL_NT01_20250701103500.txt", b"")
    spec = load(tmp_path, engine, source(drop))
    real = ingest.store_batch

    def crash(conn: Any, *args: Any, **kwargs: Any) -> Any:
        real(conn, *args, **kwargs)
        raise RuntimeError("disk full")

    monkeypatch.setattr(polling, "store_batch", crash)
    assert not polling.poll_source(engine, spec).ok
    assert observations(engine) == [] and quarantined(engine) == [] and len(in_drop(drop)) == 2

    monkeypatch.setattr(polling, "store_batch", real)
    assert polling.poll_source(engine, spec).accepted == 1
    assert in_drop(drop) == [] and len(quarantined(engine)) == 1


# ------------------------------------------------------------------ large polls, in parts

WHEN = datetime(2025, 7, 2, tzinfo=timezone.utc)


def a_backlog(drop: Path) -> None:
    """Files of four stations (one unknown to the store), good and bad, oldest first by station."""
    for k, station in enumerate(["NT01", "NT02", "NT03", "NT99"]):
        for minute in range(0, 30, 5):
            t = f"2025070110{minute:02d}00"
            content = line("COD", f"{40 + minute},5", "mg/l", t) + line("pH", "7.1", "", t)
            if minute == 10:
                content += line("TSS", "lỗi", "mg/L", t)  # a rejected line
            put(drop, f"HN_KCNTL_{station}_{t}.txt", content, subdir=station, age=600 - 60 * k - minute)
        # The same key twice in one poll, in two files: the later file's value wins.
        put(drop, f"HN_KCNTL_{station}_20250701100000_resent.txt", line("COD", "99", "mg/L", "20250701100000"),
            subdir=station, age=1)
    put(drop, "HN_KCNTL_NT02_20250701110000.txt", b"", subdir="NT02")  # empty: quarantined
    put(drop, "HN_KCNTL_NT03_20250701110000.txt", "COD\t1\té".encode("cp1258"), subdir="NT03")  # not UTF-8
    put(drop, "readme.txt", "not a transmission", subdir=None)  # name not in the layout


def poll_a_backlog(tmp_path: Path, engine: Engine) -> tuple[polling.PollOutcome, dict[str, Any]]:
    """One poll of :func:`a_backlog` (resent files named like the layout: a custom pattern)."""
    drop = tmp_path / "drop"
    a_backlog(drop)
    register(engine, "NT01", "NT02", "NT03")
    pattern = r"(?P<province>[^_]+)_(?P<facility>[^_]+)_(?P<station>[^_]+)_(?P<time>\d{14})(_resent)?\.txt"
    spec = load(tmp_path, engine, source(drop, filename_pattern=pattern))
    outcome = polling.poll_source(engine, spec, now=WHEN)
    reasons = {
        name: (drop / "quarantine" / name).read_text("utf-8")
        for name in files_under(drop / "quarantine")
        if name.endswith(".reason.txt")
    }
    return outcome, {
        "observations": observations(engine),
        "quarantined": sorted(tuple(row) for row in quarantined(engine)),
        "archived": archived(drop),
        "quarantine folder": files_under(drop / "quarantine"),
        "reasons": reasons,
        "left": in_drop(drop),
    }


def another_store(tmp_path: Path) -> Engine:
    from store.engine import make_engine
    from store.migrate import upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    upgrade(engine)
    return engine


@pytest.fixture
def in_one_piece(tmp_path: Path) -> tuple[polling.PollOutcome, dict[str, Any]]:
    """The outcome of a backlog read whole in this process (a poll below the worker's threshold)."""
    engine = another_store(tmp_path / "whole")
    try:
        return poll_a_backlog(tmp_path / "whole", engine)
    finally:
        engine.dispose()


def test_a_large_poll_read_in_parts_by_the_worker_gives_the_same_outcome(
    tmp_path: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch, in_one_piece: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(station_files, "_PART_FILES", 5)  # a part per station

    outcome, seen = poll_a_backlog(tmp_path, engine)

    assert "worker failed" not in caplog.text  # the worker process read them

    whole_outcome, whole = in_one_piece
    assert outcome.ok and outcome.accepted == whole_outcome.accepted == 3 * (6 * 2)
    assert outcome.rejected == whole_outcome.rejected
    assert seen == whole
    assert seen["left"] == []
    cod = {(r[0], r[2]): r[3] for r in seen["observations"] if r[1] == "COD"}
    assert cod[("NT01", utc("20250701100000"))] == 99.0  # the resent file came later: it won
    assert sum(1 for r in seen["quarantined"] if r[0] == "unknown entity code 'NT99'") == 6 * 2
    assert {n for n in seen["reasons"]} == {
        "NT02/HN_KCNTL_NT02_20250701110000.txt.reason.txt",
        "NT03/HN_KCNTL_NT03_20250701110000.txt.reason.txt",
        "readme.txt.reason.txt",
    }


class _DeadWorker:
    """Stands for a worker process that died: every part handed to it fails."""

    shut_down = False

    def submit(self, *args: Any) -> Future:
        future: Future = Future()
        future.set_exception(BrokenProcessPool("the worker process ended abruptly"))
        return future

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        _DeadWorker.shut_down = True


def test_when_the_worker_fails_the_files_are_read_here_with_the_same_outcome(
    tmp_path: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch, in_one_piece: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(station_files, "_PART_FILES", 5)
    monkeypatch.setattr(station_files, "_pool", _DeadWorker)

    outcome, seen = poll_a_backlog(tmp_path, engine)

    assert outcome.ok and seen == in_one_piece[1]
    assert (outcome.accepted, outcome.rejected) == (in_one_piece[0].accepted, in_one_piece[0].rejected)
    assert _DeadWorker.shut_down
    assert "file-reading worker failed (BrokenProcessPool" in caplog.text


class _SlowWorker:
    """Stands for a worker that is always still busy: a part is read only when its result is asked for."""

    calls: list[tuple[Any, tuple]] = []

    def submit(self, fn: Any, *args: Any) -> Future:
        _SlowWorker.calls.append((fn, args))

        class Lazy(Future):
            def done(self) -> bool:
                return False

            def result(self, timeout: float | None = None) -> Any:
                return fn(*args)

        return Lazy()


def test_while_the_worker_is_busy_this_process_reads_parts_itself_with_the_same_outcome(
    tmp_path: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch, in_one_piece: Any
) -> None:
    monkeypatch.setattr(station_files, "_PART_FILES", 5)  # five parts: three handed out, two read here
    monkeypatch.setattr(station_files, "_pool", _SlowWorker)
    _SlowWorker.calls = []

    outcome, seen = poll_a_backlog(tmp_path, engine)

    assert outcome.ok and seen == in_one_piece[1]
    assert (outcome.accepted, outcome.rejected) == (in_one_piece[0].accepted, in_one_piece[0].rejected)
    handed_out = [len(args[1]) for fn, args in _SlowWorker.calls if fn is station_files._take_in_worker]
    assert len(handed_out) == 3 and sum(handed_out) < 31  # the other parts were read here


def test_a_failed_store_of_a_large_poll_leaves_every_file(
    tmp_path: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(station_files, "_PART_FILES", 5)
    real = ingest._store_readings
    stored = []

    def crash_on_the_second_part(*args: Any) -> Any:
        stored.append(real(*args))
        if len(stored) == 2:
            raise RuntimeError("disk full")
        return stored[-1]

    monkeypatch.setattr(ingest, "_store_readings", crash_on_the_second_part)
    drop = tmp_path / "drop"
    a_backlog(drop)
    before = in_drop(drop)
    register(engine, "NT01", "NT02", "NT03")
    pattern = r"(?P<province>[^_]+)_(?P<facility>[^_]+)_(?P<station>[^_]+)_(?P<time>\d{14})(_resent)?\.txt"
    spec = load(tmp_path, engine, source(drop, filename_pattern=pattern))

    failed = polling.poll_source(engine, spec, now=WHEN)

    assert not failed.ok and "disk full" in failed.error
    assert observations(engine) == [] and quarantined(engine) == []
    assert in_drop(drop) == before and not (drop / "archive").exists() and not (drop / "quarantine").exists()

    monkeypatch.setattr(ingest, "_store_readings", real)
    again = polling.poll_source(engine, spec, now=WHEN)
    assert again.ok and again.accepted == 3 * (6 * 2) and in_drop(drop) == []


# ------------------------------------------------------------------ the parser, fuzzed

FRAGMENTS = [
    "\t", " ", "  ", "\r", "\n", "\r\n", "\ufeff", ",", ".", "-", "0", "1", "7", "45", "45,20", "1e999", "nan",
    "00", "01", "02", "03", T0, "20250701", "20251301103000", "99999999999999", "COD", "pH", "PM2,5", "Nhiệt độ",
    "NH4", "SO2", "CO", "mg/L", "mg/l", "mg/m3", "µg/m³", "ug/m3", "mg/Nm3", "ppm", "ppb", "°C", "oC",
    "MPN/100ml", "m3/h", "MPN/100 mL", "\x00", "é", "_", "1_000",
]
OPTIONS = StationFilesOptions(folder=".", parameters={"PM2,5": "PM2.5", "Nhiệt độ": "Temp"}, known_parameters=None)
LISTED = StationFilesOptions(folder=".", known_parameters=["COD", "pH"], max_skew="1h")


def check(parsed: ParsedFile, name: str, data: bytes) -> None:
    readings, rejected, lines = parsed
    assert all(r.reason and r.reason.strip() for r in rejected)
    file_level = [r for r in rejected if r.ref == name]
    line_level = [r for r in rejected if r.ref != name]
    assert all(r.ref and r.ref.startswith(f"{name}:") for r in line_level)
    assert len(readings) + len(line_level) == lines  # every line is a reading or a rejection
    assert len(file_level) == (0 if readings else 1)  # a file without readings is explained once
    if lines:  # the lines examined are exactly the file's non-blank lines
        content = data.decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "")
        assert lines == sum(1 for x in content.split("\n") if x.strip())
    for r in readings:
        assert r.ts.tzinfo is not None and r.entity == "NT01" and r.metric


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=400))
def test_parser_survives_arbitrary_bytes(data: bytes) -> None:
    check(parse_station_file(NAME, data, OPTIONS), NAME, data)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pieces=st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=3)), max_size=60),
    listed=st.booleans(),
)
def test_parser_survives_plausible_text(pieces: list[str], listed: bool) -> None:
    data = "".join(pieces).encode("utf-8", errors="surrogatepass")
    check(parse_station_file(NAME, data, LISTED if listed else OPTIONS), NAME, data)


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["COD", "pH", "NH4", "Nhiệt độ", "PM2,5"]),
            st.floats(-1e6, 1e6, allow_nan=False).map(lambda v: f"{v:.3f}"),
            st.sampled_from(["mg/L", "mg/l", "°C", "µg/m³", "MPN/100 mL", ""]),
            st.sampled_from(["00", "01", "02"]),
            st.sampled_from(["\t", " ", "  \t "]),
            st.booleans(),
        ),
        min_size=1,
        max_size=8,
    ),
    crlf=st.booleans(),
    bom=st.booleans(),
)
def test_parser_reads_every_well_formed_line(rows: list[tuple], crlf: bool, bom: bool) -> None:
    end = "\r\n" if crlf else "\n"
    lines = []
    for param, value, unit, status, sep, comma in rows:
        shown = value.replace(".", ",") if comma else value
        fields = (param, shown, unit, T0, status) if "\t" in sep else (x for x in (param, shown, unit, T0, status) if x)
        lines.append(sep.join(fields) + end)
    data = ("\ufeff" if bom else "").encode() + "".join(lines).encode("utf-8")
    parsed = parse_station_file(NAME, data, OPTIONS)
    check(parsed, NAME, data)
    with_unit = [r for r in rows if r[2] or "\t" in r[4]]
    # An empty unit between tabs is a field; without tabs the line has 4 fields: rejected, never misread.
    assert len(parsed.readings) == len(with_unit)
    for reading, (_, value, _, status, _, _) in zip(parsed.readings, with_unit):
        assert reading.quality == int(status)
        assert reading.ts == datetime(2025, 7, 1, 3, 30, tzinfo=timezone.utc)


FIELD_CHOICES = {
    "parameter": ["COD", " COD", "pH", "PM2,5", "Nhiệt độ", "SO2", "Xyz", ""],
    "value": ["45", "45,2", "-3.5", "1_0", "nan", "inf", "1e999", "1e308", " 7 ", "abc", ""],
    "unit": ["mg/L", "mg/l", "mg/m3", "ppm", "°F", "MPN/100 mL", "", "abc"],
    "time": [T0, T0, T0, "20250701113000", "20250702113000", "20251301103000", f" {T0}", ""],
    "status": ["00", "01", "02", "00", "00 ", "03", "0", ""],
}


@settings(max_examples=300, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            *[st.sampled_from(FIELD_CHOICES[f]) for f in ("parameter", "value", "unit", "time", "status")],
            st.sampled_from(["\t", "\t", "\t", " ", "\t\t", "  "]),
            st.sampled_from(["\n", "\r\n", "\r"]),
        ),
        max_size=16,
    ),
    listed=st.booleans(),
)
def test_the_fast_path_agrees_with_the_full_path(rows: list[tuple], listed: bool) -> None:
    """A parser that has seen the same texts before (fast path) reads a file exactly as a fresh one."""
    data = "".join(sep.join(fields) + end for *fields, sep, end in rows).encode("utf-8")
    options = LISTED if listed else OPTIONS
    fresh = StationFileParser(options).parse(NAME, data)
    check(fresh, NAME, data)
    assert warm_parser(listed).parse(NAME, data) == fresh


_WARM: dict[bool, StationFileParser] = {}


def warm_parser(listed: bool) -> StationFileParser:
    """A parser that has seen every parameter, unit, time and status text (its caches only hold true answers)."""
    if listed not in _WARM:
        _WARM[listed] = StationFileParser(LISTED if listed else OPTIONS)
        _WARM[listed].parse(NAME, PRIMER)
    return _WARM[listed]


PRIMER = "".join(
    f"{p}\t1\t{u}\t{t}\t{s}\n"
    for p in FIELD_CHOICES["parameter"]
    for u in FIELD_CHOICES["unit"]
    for t in FIELD_CHOICES["time"]
    for s in FIELD_CHOICES["status"]
).encode("utf-8")


def test_full_lookup_caches_start_afresh(monkeypatch: pytest.MonkeyPatch) -> None:
    from data_sources import station_files

    monkeypatch.setattr(station_files, "_CACHE_LIMIT", 5)
    parser = StationFileParser(OPTIONS)
    for minute in range(0, 60, 5):  # twelve transmission times: the time cache fills twice
        stamp = f"2025070110{minute:02d}00"
        parsed = parser.parse(f"HN_KCNTL_NT01_{stamp}.txt", (line("COD", "1", "mg/L", stamp) * 2).encode())
        assert [r.ts for r in parsed.readings] == [datetime.fromtimestamp(utc(stamp), timezone.utc)] * 2
    assert len(parser._time_cache) <= 5
