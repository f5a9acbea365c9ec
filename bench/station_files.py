#!/usr/bin/env python
"""Station-files benchmark: one national day of monitoring-station transmissions.

Run by hand::

    .venv/bin/python bench/station_files.py                     # 2,000 stations x 24 files (a slice)
    .venv/bin/python bench/station_files.py --transmissions 288 # the full day: 576,000 files

A national day is 2,000 automatic stations x 288 transmissions (one every 5 minutes)
x 8 parameters: 576,000 files, 4,608,000 readings. The benchmark writes
``stations x transmissions`` files into a temporary drop folder (a folder per
province/station, the layout of ``data_sources.station_files``; half air stations with
mg/m³ CO and ppb SO2 to convert, half water stations with ``mg/l`` and decimal commas;
a few calibrating/fault statuses), registers the stations in a fresh SQLite store and
measures, in the same run:

* ``ours``: :func:`polling.poll_source` of a ``station_files`` source with ``max_files``
  above the file count: scan (``adapter.poll``), read + parse (by a worker process, part
  by part, while :func:`ingest.store_batch` validates and stores the previous part, one
  transaction) and archiving every file (after commit). The scan, the store (with the
  time it waited for the worker) and the archive are timed separately as well.
* ``naive``: the straightforward loop on a small sample of files (``--naive-files``,
  run once before and once after ``ours``, pooled):
  read a file, split each line, parse value and time, and store each reading with its
  own SQLAlchemy ``INSERT`` and commit (series ids cached, so only the per-row insert
  and commit are charged), then move the file.

It prints files/s, readings/s, the ratio to the naive loop and the projected time for
one full national day (from the measured per-file rate, i.e. linear extrapolation
when ``--transmissions`` < 288). Targets: < 60 s per national day, >= 20x naive.
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402
from sqlalchemy import Engine, func, insert, select  # noqa: E402

import ingest  # noqa: E402
import polling  # noqa: E402
from data_sources import station_files  # noqa: E402
from data_sources.base import Entity  # noqa: E402
from source_config import load_sources  # noqa: E402
from store.engine import make_engine  # noqa: E402
from store.migrate import upgrade  # noqa: E402
from store.schema import entities, observations, series  # noqa: E402

DAY_FILES = 2000 * 288
DAY_READINGS = DAY_FILES * 8
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
START = datetime(2025, 7, 1, 0, 0, tzinfo=TZ)
PROVINCES = [f"P{i:02d}" for i in range(1, 35)]  # the 34 provinces

# (parameter, unit as sent, value range); the adapter normalises the units.
AIR = [
    ("PM2,5", "ug/m3", 5, 120), ("PM10", "µg/m3", 10, 200), ("NO2", "ug/m3", 5, 80), ("SO2", "ppb", 1, 30),
    ("CO", "mg/m3", 0.2, 5), ("O3", "ug/m3", 10, 150), ("Nhiệt độ", "oC", 18, 38), ("RH", "%", 40, 99),
]
WATER = [
    ("pH", "", 6, 9), ("COD", "mg/l", 10, 150), ("TSS", "mg/L", 5, 100), ("NH4", "mg/l", 0.1, 12),
    ("DO", "mg/L", 2, 9), ("Nhiệt độ", "°C", 20, 35), ("Flow", "m3/h", 5, 500), ("Coliform", "MPN/100ml", 100, 5000),
]
ALIASES = {"PM2,5": "PM2.5", "Nhiệt độ": "Temp", "NH4": "NH4+"}


def station(i: int) -> tuple[str, str, str, bool]:
    """(province, facility, station code, is_air) of station ``i``."""
    return PROVINCES[i % len(PROVINCES)], f"F{i // 4:04d}", f"S{i:04d}", i % 2 == 0


def file_bytes(rng: random.Random, is_air: bool, stamp: str) -> bytes:
    lines = []
    for param, unit, low, high in AIR if is_air else WATER:
        value = f"{rng.uniform(low, high):.2f}"
        if not is_air and rng.random() < 0.5:
            value = value.replace(".", ",")  # decimal comma
        r = rng.random()
        status = "00" if r < 0.97 else ("01" if r < 0.99 else "02")
        lines.append(f"{param}\t{value}\t{unit}\t{stamp}\t{status}\r\n")
    return "".join(lines).encode("utf-8")


def generate(folder: Path, stations: int, transmissions: int, first: int = 0, seed: int = 1) -> int:
    """Write stations x transmissions files under folder/<province>/<station>/; return the count."""
    rng = random.Random(seed)
    count = 0
    for i in range(stations):
        province, facility, code, is_air = station(i)
        sub = folder / province / code
        sub.mkdir(parents=True, exist_ok=True)
        for k in range(first, first + transmissions):
            stamp = (START + timedelta(minutes=5 * k)).strftime("%Y%m%d%H%M%S")
            (sub / f"{province}_{facility}_{code}_{stamp}.txt").write_bytes(file_bytes(rng, is_air, stamp))
            count += 1
    return count


def fresh_store(path: Path, stations: int) -> Engine:
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.begin() as conn:
        ingest.upsert_entities(
            conn,
            [Entity(code=station(i)[2], kind="station", name=f"Trạm {i}", subtype="air" if station(i)[3] else "water")
             for i in range(stations)],
        )
    return engine


# ------------------------------------------------------------------------ ours


def run_ours(work: Path, stations: int, transmissions: int) -> dict[str, float]:
    engine = fresh_store(work / "ours.db", stations)
    sources_file = work / "sources.yaml"
    files = stations * transmissions
    entry = {
        "name": "stations", "kind": "station_files", "every": "1m", "timeout": 100_000,
        "options": {"folder": str(work / "drop"), "settle_seconds": 0, "max_files": files + 1, "parameters": ALIASES},
    }
    sources_file.write_text(yaml.safe_dump({"sources": [entry]}, allow_unicode=True), encoding="utf-8")
    [spec] = load_sources(sources_file)
    polling.sync_sources(engine, [spec])
    now = datetime(2025, 7, 2, tzinfo=timezone.utc)

    # Steady state: the stations have sent before, so their 16,000 series exist. The
    # first transmission of the day creates them here, timed apart.
    generate(work / "drop", stations, 1, first=0, seed=3)
    t = time.perf_counter()
    warm = polling.poll_source(engine, spec, trigger="manual", now=now)
    assert warm.ok and warm.accepted == stations * 8, warm
    warmup = time.perf_counter() - t

    t = time.perf_counter()
    generate(work / "drop", stations, transmissions, first=1)
    print(f"generated {files:,} files ({files * 8:,} readings) in {time.perf_counter() - t:.1f} s "
          f"(after a first poll of {stations:,} files creating the series: {warmup:.1f} s)", flush=True)
    adapter = spec.adapter
    timing: dict[str, float] = {"scan": 0.0, "poll": 0.0, "moves": 0.0, "wait": 0.0}

    real_candidates = adapter.candidates

    def candidates():  # noqa: ANN202
        t = time.perf_counter()
        found = real_candidates()
        timing["scan"] += time.perf_counter() - t
        return found

    adapter.candidates = candidates

    # A large poll is read and parsed by a worker process while this one stores: what
    # shows here is the time the store did not store (waiting for the first part, and
    # reading parts itself when the worker lagged).
    real_next = station_files._Parts.next

    def next_part(parts):  # noqa: ANN001, ANN202
        t = time.perf_counter()
        part = real_next(parts)
        timing["wait"] += time.perf_counter() - t
        return part

    def fetch(ctx):  # noqa: ANN001, ANN202
        t = time.perf_counter()
        batch = adapter.poll(ctx)
        timing["poll"] += time.perf_counter() - t

        def timed(callback):  # noqa: ANN001, ANN202
            def run() -> None:
                t = time.perf_counter()
                callback()
                timing["moves"] += time.perf_counter() - t
            return run

        batch.after_commit = [timed(c) for c in batch.after_commit]
        return batch

    station_files._Parts.next = next_part
    try:
        t = time.perf_counter()
        outcome = polling.poll_source(engine, spec, trigger="manual", now=now, fetch=fetch)
        timing["total"] = time.perf_counter() - t
    finally:
        station_files._Parts.next = real_next
    assert outcome.ok, outcome.error
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(observations)).scalar_one()
    archived = sum(len(names) for _, _, names in os.walk(work / "drop" / "archive"))
    left = sum(len(names) for d, _, names in os.walk(work / "drop") if "/archive" not in d)
    assert stored == (files + stations) * 8 and outcome.rejected == 0, (stored, outcome)
    assert archived == files + stations and left == 0, (archived, left)
    timing["store"] = timing["total"] - timing["poll"] - timing["moves"]
    timing["readings"] = outcome.accepted
    timing["files"] = files
    engine.dispose()
    return timing


# ----------------------------------------------------------------------- naive


def run_naive(work: Path, stations: int, sample_files: int, tag: str) -> dict[str, float]:
    """Line by line, one INSERT + commit per reading (series made beforehand, untimed, as for ours)."""
    engine = fresh_store(work / f"naive-{tag}.db", stations)
    folder = work / f"naive-drop-{tag}"
    per_station = 4
    n = generate(folder, max(1, sample_files // per_station), per_station, first=1, seed=2)
    archive = work / f"naive-archive-{tag}"
    archive.mkdir()
    with engine.begin() as conn:
        entity_ids = dict(conn.execute(select(entities.c.code, entities.c.id)).all())
        series_ids: dict[tuple[int, str], int] = {}
        for i in range(max(1, sample_files // per_station)):
            code, is_air = station(i)[2], station(i)[3]
            for param, unit, _, _ in AIR if is_air else WATER:
                metric = ALIASES.get(param, param)
                series_ids[(entity_ids[code], metric)] = conn.execute(
                    insert(series).values(entity_id=entity_ids[code], metric=metric, unit=unit).returning(series.c.id)
                ).scalar_one()
    t = time.perf_counter()
    readings = 0
    for path in sorted(folder.rglob("*.txt")):
        code = path.stem.split("_")[2]
        for raw in path.read_text(encoding="utf-8-sig").splitlines():
            if not raw.strip():
                continue
            param, value, unit, stamp, status = [f.strip() for f in raw.split("\t")]
            metric = ALIASES.get(param, param)
            ts = int(datetime.strptime(stamp, "%Y%m%d%H%M%S").replace(tzinfo=TZ).timestamp())
            with engine.begin() as conn:
                conn.execute(
                    insert(observations).values(
                        series_id=series_ids[(entity_ids[code], metric)], ts=ts,
                        value=float(value.replace(",", ".")), quality=int(status),
                    )
                )
            readings += 1
        path.rename(archive / path.name)
    seconds = time.perf_counter() - t
    engine.dispose()
    return {"files": n, "readings": readings, "total": seconds}


# ------------------------------------------------------------------------ main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stations", type=int, default=2000)
    ap.add_argument("--transmissions", type=int, default=24, help="files per station (288 = a full day)")
    ap.add_argument("--naive-files", type=int, default=400, help="naive sample, run before and after ours")
    ap.add_argument("--workdir", type=Path, default=None, help="where to build the drop folder (default: a temp dir)")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-station-files-", dir=args.workdir))
    try:
        print(f"python {platform.python_version()}, sqlite {sqlite3.sqlite_version}, {os.cpu_count()} CPUs, "
              f"load average {os.getloadavg()[0]:.1f}; work dir {work}")
        # The naive loop runs just before and just after ours and the two are pooled, so a
        # change in the machine's load during the run weighs on both sides alike.
        before = run_naive(work, args.stations, args.naive_files, "before")
        ours = run_ours(work, args.stations, args.transmissions)
        files = int(ours["files"])
        fps, rps = files / ours["total"], ours["readings"] / ours["total"]
        print(
            f"ours : {files:,} files, {ours['readings']:,} readings in {ours['total']:.2f} s "
            f"= {fps:,.0f} files/s, {rps:,.0f} readings/s\n"
            f"       scan {ours['scan']:.2f} s, read+parse {ours['poll'] - ours['scan']:.2f} s in the poll "
            f"+ in the worker process during validate+store {ours['store']:.2f} s\n"
            f"       (of which waiting for the worker or reading parts here {ours['wait']:.2f} s), "
            f"archive moves {ours['moves']:.2f} s",
            flush=True,
        )
        after = run_naive(work, args.stations, args.naive_files, "after")
        naive = {k: before[k] + after[k] for k in ("files", "readings", "total")}
        nrps = naive["readings"] / naive["total"]
        print(
            f"naive: {naive['files']:,} files, {naive['readings']:,} readings in {naive['total']:.2f} s "
            f"= {naive['files'] / naive['total']:,.0f} files/s, {nrps:,.0f} readings/s "
            f"(before ours {before['readings'] / before['total']:,.0f}/s, after {after['readings'] / after['total']:,.0f}/s)"
        )
        ratio = rps / nrps
        day = DAY_FILES / fps
        day_naive = DAY_READINGS / nrps
        share = {k: ours[k] / files * DAY_FILES for k in ("scan", "store", "moves")}
        share["parse"] = (ours["poll"] - ours["scan"]) / files * DAY_FILES  # 0 when the worker parses
        print(
            f"ratio: {ratio:.1f}x the naive loop (target >= 20x: {'met' if ratio >= 20 else 'MISSED'})\n"
            f"one national day ({DAY_FILES:,} files, {DAY_READINGS:,} readings): "
            f"{'measured' if files >= DAY_FILES else 'projected'} {day:.0f} s "
            f"(scan {share['scan']:.0f}, read+parse {share['parse']:.0f}, (read+parse+)store {share['store']:.0f}, "
            f"moves {share['moves']:.0f}); target < 60 s: {'met' if day < 60 else 'MISSED'}; "
            f"the naive loop would take {day_naive / 3600:.1f} h\n"
            f"load average at the end: {os.getloadavg()[0]:.1f}"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
