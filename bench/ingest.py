#!/usr/bin/env python
"""Ingest benchmark: upsert a million observations with half of the keys already stored.

Run by hand (``make bench`` does the same)::

    .venv/bin/python bench/ingest.py [--rows 1000000] [--only sqlite|postgresql] [--repeat 1]

For each database the store starts in the same state: migrated, 2,000 stations x 8
metrics registered (16,000 series) and ``rows / 2`` observations pre-loaded (a reading
per series every 5 minutes, as the stations transmit). Every
measurement starts from its own copy of that state (a copied SQLite file; a PostgreSQL
database created from a template), so none of them sees another's rows.

Measured, each including the commit:

* ``ours: store_batch``: :func:`ingest.store_batch` on a Batch whose readings are a
  DataFrame (entity, metric, ts as int epoch seconds, value, unit, quality) of ``rows``
  readings; the first half of the keys exist (most with identical values, some with a
  changed value or quality flag), the second half are new. End to end: validation,
  series resolution, upsert and, since the hourly roll-ups came, their refresh (timed
  apart as well; ``store_batch minus roll-up refresh`` subtracts it).
* ``ours: upsert_observations``: :func:`store.bulk.upsert_observations` alone, on the same
  rows as pre-built ``(series_id, ts, value, quality, source_id)`` tuples.
* ``raw limit``: the same number of rows on fresh keys, plain ``INSERT`` through sqlite3's
  ``executemany`` (tuples pre-built) / PostgreSQL ``COPY`` in text and in binary format
  (the COPY data built before the clock starts), into the same table with its primary
  key and foreign keys, no conflict handling; plus a variant with the rows sorted by
  key first (outside the clock), as our path sorts them. The fastest variant is the limit.
* ``naive ORM``: SQLAlchemy ORM, ``session.add()`` per row then one commit, on a smaller
  sample (``--naive-rows``) of fresh keys, since the ORM cannot upsert.

Ratios: ``vs raw`` is how many times slower than the raw limit (target <= 1.5);
``vs naive`` is how many times faster than the naive ORM insert (target >= 10).
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Run as a script, this folder comes first on sys.path and its ingest.py would shadow the app's.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sqlalchemy import Engine, func, insert, select  # noqa: E402
from sqlalchemy.orm import Session, registry  # noqa: E402

import ingest as ingest_module  # noqa: E402
from data_sources.base import Batch  # noqa: E402
from ingest import store_batch  # noqa: E402
from store.bulk import _PG_BINARY_SIGNATURE, _PG_BINARY_TRAILER, _pg_binary_rows, upsert_observations  # noqa: E402
from store.engine import make_engine  # noqa: E402
from store.migrate import upgrade  # noqa: E402
from store.schema import entities, observations, series, sources  # noqa: E402

STATIONS = 2000
METRICS = [
    ("PM2.5", "µg/m³"), ("PM10", "µg/m³"), ("NO2", "µg/m³"), ("SO2", "µg/m³"),
    ("CO", "mg/m³"), ("O3", "µg/m³"), ("TEMP", "°C"), ("RH", "%"),
]
NOW = datetime(2026, 11, 22, 0, 0, tzinfo=timezone.utc)
STEP = 300  # one reading per series every 5 minutes, as the stations transmit
CHANGED_SHARE = 0.10  # of the existing keys, this share comes back with a new value or flag


# --------------------------------------------------------------------------- data


@dataclass
class Workload:
    rows: int
    n_series: int
    t0: int
    series_ids: np.ndarray  # series index -> series id (as registered)
    entity_codes: np.ndarray  # series index -> entity code
    metrics: np.ndarray  # series index -> metric
    units: np.ndarray  # series index -> unit
    source_id: int

    def keys(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """(series index, ts) of flat keys ``start..stop``: time-major, in the order polls bring them."""
        k = np.arange(start, stop, dtype=np.int64)
        return k % self.n_series, self.t0 + (k // self.n_series) * STEP

    def values(self, start: int, stop: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(seed + start)
        value = np.round(rng.uniform(0.0, 300.0, stop - start), 1)
        quality = np.zeros(stop - start, dtype=np.int64)
        return value, quality

    def preload_tuples(self) -> list[tuple]:
        return self.tuples(0, self.rows // 2, changed=False)

    def tuples(self, start: int, stop: int, changed: bool = True) -> list[tuple]:
        s, ts, value, quality = self.columns(start, stop, changed)
        sid = self.series_ids[s]
        return list(zip(sid.tolist(), ts.tolist(), value.tolist(), quality.tolist(), [self.source_id] * len(s)))

    def columns(self, start: int, stop: int, changed: bool = True):  # noqa: ANN201
        """Keys and values of flat keys ``start..stop``; existing keys partly changed if ``changed``."""
        s, ts = self.keys(start, stop)
        value, quality = self.values(start, stop, seed=1)
        if changed:
            # Keys below rows // 2 are pre-loaded: a share of them comes back corrected.
            existing = np.arange(start, stop) < self.rows // 2
            rng = np.random.default_rng(2)
            pick = existing & (rng.random(stop - start) < CHANGED_SHARE)
            half = rng.random(stop - start) < 0.5
            value = np.where(pick & half, value + 1.0, value)
            quality = np.where(pick & ~half, 3, quality)
        return s, ts, value, quality

    def frame(self, start: int, stop: int) -> pd.DataFrame:
        s, ts, value, quality = self.columns(start, stop)
        return pd.DataFrame(
            {
                "entity": self.entity_codes[s],
                "metric": self.metrics[s],
                "ts": ts,
                "value": value,
                "unit": self.units[s],
                "quality": quality,
            }
        )

    def expected_changes(self) -> int:
        """Rows the upsert of keys 0..rows must write: the new half plus the corrected ones."""
        _, _, v_new, q_new = self.columns(0, self.rows // 2, changed=True)
        _, _, v_old, q_old = self.columns(0, self.rows // 2, changed=False)
        return (self.rows - self.rows // 2) + int(((v_new != v_old) | (q_new != q_old)).sum())


def register(engine: Engine) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """Register one source and STATIONS x METRICS series; return per-series-index arrays."""
    codes = [f"BST-{i:04d}" for i in range(STATIONS)]
    with engine.begin() as conn:
        source_id = conn.execute(
            insert(sources).values(name="bench", kind="files", schedule="@hourly", interval_seconds=3600,
                                   enabled=True, consecutive_failures=0).returning(sources.c.id)
        ).scalar_one()
        conn.execute(insert(entities), [
            {"code": c, "kind": "station", "subtype": "air", "name": f"Trạm {c}", "province_code": "HNI", "meta": {}}
            for c in codes
        ])
        entity_ids = dict(conn.execute(select(entities.c.code, entities.c.id)).all())
        conn.execute(insert(series), [
            {"entity_id": entity_ids[c], "metric": m, "unit": u} for c in codes for m, u in METRICS
        ])
        ids = {(r.entity_id, r.metric): r.id for r in conn.execute(select(series))}
    series_ids = np.array([ids[(entity_ids[c], m)] for c in codes for m, _ in METRICS], dtype=np.int64)
    entity_codes = np.array([c for c in codes for _ in METRICS], dtype=object)
    metrics = np.array([m for _ in codes for m, _ in METRICS], dtype=object)
    units = np.array([u for _ in codes for _, u in METRICS], dtype=object)
    return series_ids, entity_codes, metrics, units, source_id


def make_workload(engine: Engine, rows: int) -> Workload:
    series_ids, codes, metrics, units, source_id = register(engine)
    n_series = len(series_ids)
    # Room for keys 0..2*rows (the upsert uses 0..rows, the raw and naive runs fresh keys above).
    steps = -(-2 * rows // n_series) + 2
    t0 = int(NOW.timestamp()) - steps * STEP
    return Workload(rows, n_series, t0, series_ids, codes, metrics, units, source_id)


# --------------------------------------------------------------------------- databases


class SQLiteBench:
    name = "sqlite"

    def __init__(self, workdir: Path) -> None:
        self.dir = workdir / "sqlite"
        self.dir.mkdir()
        self.template = self.dir / "template.db"
        self.n = 0

    def prepare(self, rows: int) -> tuple[Workload, float]:
        engine = make_engine(f"sqlite:///{self.template}")
        upgrade(engine)
        work = make_workload(engine, rows)
        pre = work.preload_tuples()
        started = time.perf_counter()
        with engine.begin() as conn:
            upsert_observations(conn, pre)
        preload = time.perf_counter() - started
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        engine.dispose()
        return work, preload

    @contextmanager
    def copy(self) -> Iterator[Engine]:
        self.n += 1
        path = self.dir / f"run{self.n}.db"
        shutil.copyfile(self.template, path)
        engine = make_engine(f"sqlite:///{path}")
        with engine.connect() as conn:  # open the file and set the pragmas before timing
            conn.exec_driver_sql("SELECT count(*) FROM series").scalar()
        try:
            yield engine
        finally:
            engine.dispose()
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)

    raw_methods = ("executemany INSERT", "executemany INSERT, key order")

    def raw_limit(self, method: str, engine: Engine, rows: list[tuple]) -> float:
        """Plain INSERT via executemany on the DB-API connection (same pragmas as ours)."""
        if method.endswith("key order"):
            rows = sorted(rows)
        raw = engine.raw_connection()
        try:
            started = time.perf_counter()
            cur = raw.cursor()
            cur.executemany("INSERT INTO observations (series_id, ts, value, quality, source_id) VALUES (?, ?, ?, ?, ?)", rows)
            raw.commit()
            return time.perf_counter() - started
        finally:
            raw.close()

    def close(self) -> None:
        pass


class PostgresBench:
    name = "postgresql"

    def __init__(self, workdir: Path) -> None:
        from tests.servers import PostgresServer

        self.server = PostgresServer().start()
        self.template_url = self.server.create_database("bench_template")
        self.n = 0
        import psycopg

        with psycopg.connect(self.template_url) as conn:
            print(f"[postgresql] {conn.execute('SELECT version()').fetchone()[0].split(' on ')[0]}, "
                  "server as started by tests/servers.py (fsync=off, full_page_writes=off, defaults otherwise)",
                  flush=True)

    def prepare(self, rows: int) -> tuple[Workload, float]:
        engine = make_engine(self.template_url)
        upgrade(engine)
        work = make_workload(engine, rows)
        pre = work.preload_tuples()
        started = time.perf_counter()
        with engine.begin() as conn:
            upsert_observations(conn, pre)
        preload = time.perf_counter() - started
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
            conn.exec_driver_sql("CHECKPOINT")
        engine.dispose()
        return work, preload

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.server.url(), autocommit=True) as conn:
            conn.execute(sql)

    @contextmanager
    def copy(self) -> Iterator[Engine]:
        self.n += 1
        name = f"bench_run{self.n}"
        self._admin(f'CREATE DATABASE "{name}" TEMPLATE bench_template STRATEGY FILE_COPY')
        engine = make_engine(self.server.url(name))
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT count(*) FROM series").scalar()
        try:
            yield engine
        finally:
            engine.dispose()
            self._admin(f'DROP DATABASE "{name}"')

    raw_methods = ("COPY text", "COPY binary", "COPY binary, key order")

    def raw_limit(self, method: str, engine: Engine, rows: list[tuple]) -> float:
        """COPY straight into observations; the COPY data is built before the clock starts."""
        if method.endswith("key order"):
            rows = sorted(rows)
        if method.startswith("COPY binary"):
            array = np.array(rows, dtype=object)
            data = [_PG_BINARY_SIGNATURE, *_pg_binary_rows(
                array[:, 0].astype(np.int64), array[:, 1].astype(np.int64), array[:, 2].astype(np.float64),
                array[:, 3].astype(np.int64), rows[0][4],
            ), _PG_BINARY_TRAILER]
            options = " (FORMAT BINARY)"
        else:
            data = ["".join(f"{a}\t{b}\t{c!r}\t{d}\t{e}\n" for a, b, c, d, e in rows)]
            options = ""
        raw = engine.raw_connection()
        try:
            conn = raw.driver_connection
            started = time.perf_counter()
            with conn.cursor() as cur:
                with cur.copy(f"COPY observations (series_id, ts, value, quality, source_id) FROM STDIN{options}") as copy:
                    for block in data:
                        copy.write(block)
            conn.commit()
            return time.perf_counter() - started
        finally:
            raw.close()

    def close(self) -> None:
        self.server.destroy()


# --------------------------------------------------------------------------- measurements


def orm_class() -> type:
    class Observation:  # noqa: D401 - a plain mapped class, as an app's model would be
        def __init__(self, **kw: object) -> None:
            for k, v in kw.items():
                setattr(self, k, v)

    registry().map_imperatively(Observation, observations)
    return Observation


OBSERVATION = orm_class()


@dataclass
class Result:
    database: str
    method: str
    rows: int
    seconds: float
    note: str = ""

    @property
    def rate(self) -> float:
        return self.rows / self.seconds


def run_database(db, args: argparse.Namespace) -> list[Result]:  # noqa: ANN001
    rows = args.rows
    started = time.perf_counter()
    work, preload = db.prepare(rows)
    print(f"[{db.name}] prepared: {work.n_series} series, {rows // 2:,} rows pre-loaded in {preload:.2f} s "
          f"(setup {time.perf_counter() - started:.1f} s)", flush=True)
    expected = work.expected_changes()
    frame = work.frame(0, rows)
    tuples = work.tuples(0, rows)
    fresh = work.tuples(rows, 2 * rows, changed=False)  # keys above all the upsert touches, same values
    sample = work.tuples(rows, rows + args.naive_rows, changed=False)

    parts: dict[str, list[float]] = {}

    def ours_batch() -> tuple[float, str]:
        with db.copy() as engine:
            batch = Batch(readings=frame)
            with timing_calls(ingest_module, [*UPSERT_CALLS, *ROLLUP_CALLS]) as spent:
                t = time.perf_counter()
                with engine.begin() as conn:
                    result = store_batch(conn, work.source_id, batch, now=NOW)
                seconds = time.perf_counter() - t
        assert (result.accepted, result.changed, result.rejected) == (rows, expected, 0), result
        upsert = sum(spent.get(name, 0.0) for name in UPSERT_CALLS)
        rollup = sum(spent.get(name, 0.0) for name in ROLLUP_CALLS)
        parts.setdefault("rollup", []).append(rollup)
        return seconds, (f"changed {result.changed:,}; upsert {upsert:.2f} s, roll-up {rollup:.2f} s, "
                         f"rest {seconds - upsert - rollup:.2f} s")

    def ours_upsert() -> tuple[float, str]:
        with db.copy() as engine:
            t = time.perf_counter()
            with engine.begin() as conn:
                changed = upsert_observations(conn, tuples)
            seconds = time.perf_counter() - t
        assert changed == expected, (changed, expected)
        return seconds, f"changed {changed:,}"

    def raw(method: str) -> Callable[[], tuple[float, str]]:
        def measure() -> tuple[float, str]:
            with db.copy() as engine:
                seconds = db.raw_limit(method, engine, fresh)
                with engine.connect() as conn:
                    stored = conn.execute(select(func.count()).select_from(observations)).scalar_one()
            assert stored == rows // 2 + rows, stored
            return seconds, "fresh keys"

        return measure

    def naive() -> tuple[float, str]:
        with db.copy() as engine:
            t = time.perf_counter()
            with Session(engine) as session:
                for sid, ts, value, quality, source_id in sample:
                    session.add(OBSERVATION(series_id=sid, ts=ts, value=value, quality=quality, source_id=source_id))
                session.commit()
            seconds = time.perf_counter() - t
        return seconds, "fresh keys, insert only"

    measures = {
        "ours: store_batch (DataFrame, end to end)": (ours_batch, rows),
        "ours: upsert_observations (tuples)": (ours_upsert, rows),
        **{f"raw limit: {method}": (raw(method), rows) for method in db.raw_methods},
        "naive: ORM session.add per row + commit": (naive, len(sample)),
    }
    # The machine's speed drifts with its load: the naive sample, short and the base of a
    # ratio, runs three times spread over the others, and the median counts.
    naive_name = list(measures)[-1]
    others = list(measures)[:-1]
    schedule = []
    for _ in range(args.repeat):
        third = -(-len(others) // 3)
        for i in range(3):
            schedule += [naive_name, *others[i * third:(i + 1) * third]]
    if args.repeat < 3:
        schedule += [naive_name] * (3 - len([m for m in schedule if m == naive_name]))
    timings: dict[str, list[tuple[float, str]]] = {}
    for name in schedule:
        fn, _ = measures[name]
        seconds, note = fn()
        timings.setdefault(name, []).append((seconds, note))
        print(f"[{db.name}] {name}: {seconds:.2f} s ({note})", flush=True)
    results = [Result(db.name, "pre-load (upsert into empty table)", rows // 2, preload)]
    for name, (_, n) in measures.items():
        runs = timings[name]
        results.append(Result(db.name, name, n, statistics.median(t for t, _ in runs), runs[0][1]))
        if name.startswith("ours: store_batch") and any(parts.get("rollup", [])):
            # The hourly roll-up refresh came with a later issue; the foundation targets are about
            # the ingest path without it, so show that too (same runs, roll-up time subtracted).
            without = statistics.median(t - r for (t, _), r in zip(runs, parts["rollup"]))
            results.append(Result(db.name, "ours: store_batch minus roll-up refresh", n, without, "derived"))
    return results


# Calls of ingest.store_batch timed separately (names in the ingest module).
UPSERT_CALLS = ("upsert_observation_arrays", "upsert_observations")
ROLLUP_CALLS = ("touched_hours", "refresh_hourly")


@contextmanager
def timing_calls(module, names: list[str]) -> Iterator[dict[str, float]]:  # noqa: ANN001
    """Seconds spent in each of ``module``'s functions ``names`` (those it has) meanwhile."""
    spent: dict[str, float] = {}
    originals = {name: getattr(module, name) for name in names if callable(getattr(module, name, None))}

    def timed(name: str, fn: Callable) -> Callable:
        def call(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[name] = spent.get(name, 0.0) + time.perf_counter() - started

        return call

    for name, fn in originals.items():
        setattr(module, name, timed(name, fn))
    try:
        yield spent
    finally:
        for name, fn in originals.items():
            setattr(module, name, fn)


def report(results: list[Result]) -> str:
    lines = []
    header = f"| {'database':<10} | {'method':<42} | {'rows':>9} | {'seconds':>7} | {'rows/s':>9} | {'vs raw':>7} | {'vs naive':>8} |"
    lines.append(header)
    lines.append("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
    for db in dict.fromkeys(r.database for r in results):
        mine = [r for r in results if r.database == db]
        raw_best = max((r.rate for r in mine if r.method.startswith("raw limit")), default=None)
        naive = next((r.rate for r in mine if r.method.startswith("naive")), None)
        for r in mine:
            vs_raw = f"{raw_best / r.rate:.2f}x" if raw_best else ""
            vs_naive = f"{r.rate / naive:.1f}x" if naive else ""
            lines.append(f"| {db:<10} | {r.method:<42} | {r.rows:>9,} | {r.seconds:>7.2f} | {r.rate:>9,.0f} | {vs_raw:>7} | {vs_naive:>8} |")
    lines.append("")
    lines += [f"{r.database} {r.method}: {r.note}" for r in results if r.method.startswith("ours: store_batch (")]
    return "\n".join(lines)


def verdict(results: list[Result]) -> str:
    out = []
    for db in dict.fromkeys(r.database for r in results):
        mine = [r for r in results if r.database == db]
        raw_best = max(r.rate for r in mine if r.method.startswith("raw limit"))
        naive = next(r.rate for r in mine if r.method.startswith("naive"))
        for r in mine:
            if r.method.startswith("ours"):
                slow = raw_best / r.rate
                fast = r.rate / naive
                out.append(
                    f"{db} {r.method}: {slow:.2f}x the raw limit's time (target <= 1.5: "
                    f"{'met' if slow <= 1.5 else 'MISSED'}), {fast:.2f}x naive (target >= 10: "
                    f"{'met' if fast >= 10 else 'MISSED'})"
                )
    return "\n".join(out)


def machine() -> str:
    from psycopg import __version__ as psycopg_version
    from sqlalchemy import __version__ as sqlalchemy_version

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "?")
    mem = next((int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")), 0)
    return (f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; {os.cpu_count()} CPUs ({cpu}), {mem / 2**20:.1f} GiB RAM, "
            f"load {os.getloadavg()[0]:.2f}; python {platform.python_version()}, sqlite {sqlite3.sqlite_version}, "
            f"numpy {np.__version__}, pandas {pd.__version__}, sqlalchemy {sqlalchemy_version}, psycopg {psycopg_version}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows upserted (half of them pre-loaded)")
    parser.add_argument("--naive-rows", type=int, default=20_000, help="rows of the naive ORM sample")
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs per measurement (the naive one at least 3); the median counts")
    args = parser.parse_args(argv)

    print(machine(), flush=True)
    results: list[Result] = []
    workdir = Path(tempfile.mkdtemp(prefix="opsc-bench-"))
    try:
        kinds = [args.only] if args.only else ["sqlite", "postgresql"]
        for kind in kinds:
            db = SQLiteBench(workdir) if kind == "sqlite" else PostgresBench(workdir)
            try:
                results += run_database(db, args)
            finally:
                db.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print()
    print(report(results))
    print()
    print(verdict(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
