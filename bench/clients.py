#!/usr/bin/env python
"""Fifty screens at once: refresh latency (p50/p95), server CPU and worker memory, ours vs naive.

Run by hand::

    .venv/bin/python bench/clients.py [--clients 50] [--seconds 120] [--interval 30] [--workers 2]
                                      [--backfill-days 1] [--naive-seconds 120]

The scaled-out shape of issue #9, on loopback:

* **Store and cache**: a throw-away PostgreSQL and Redis (``tests.servers``), migrated, the
  demo feeds of ``config/sources.yaml`` backfilled ``--backfill-days`` (as bench/wall.py does,
  alert rules evaluated after each poll).
* **Ours**: ``gunicorn -w --workers wsgi:server`` (the deployment's web workers; no scheduler:
  this process delivers one 5-minute poll half-way, so part of the refreshes see new data).
  Each client is a wall screen signed in with a kiosk token, replaying the refresh callbacks
  Chromium sends for ``/wall/overview?kiosk=1`` (bench/wall.py ``capture``), keeping its own
  browser state (the digests the server returned), every ``--interval`` seconds from a random
  phase, for ``--seconds``.
* **Naive**: ``bench/naive_wall.py`` (full figures rebuilt from raw readings on every refresh,
  no cache) served by Flask's threaded server on the same store, the same clients, for
  ``--naive-seconds``.

Measured per side: the latency of each screen refresh after its first (all its callbacks,
one after the other as the bench sends them), p50 and p95; refreshes completed; server CPU (utime + stime
of the server processes, gunicorn's workers included) per refresh; the largest worker RSS.
Targets (issue #9): p95 under 200 ms at 50 clients; ≥ 20× the naive implementation; each
web worker under 300 MB RSS.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import httpx  # noqa: E402
from wall import (  # noqa: E402  (bench/wall.py: its path set-up puts the app first)
    CLK_TCK,
    ROOT,
    Screen,
    Server,
    Tally,
    capture,
    kiosk_access,
    load,
    machine,
    poll_next,
    post,
    prepare_store,
)

from tests.servers import PostgresServer, RedisServer, free_port, wait_for_port  # noqa: E402


def process_tree(pid: int) -> list[int]:
    """``pid`` and its children (gunicorn's workers)."""
    found = [pid]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2:].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        total += (int(fields[11]) + int(fields[12])) / CLK_TCK
    return total


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Gunicorn:
    """``gunicorn -w N wsgi:server``: the scaled-out web workers, no scheduler."""

    def __init__(self, tmp: Path, env: dict[str, str], workers: int) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.headers: dict[str, str] = {}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", str(workers), "--threads", "4", "-b", f"127.0.0.1:{self.port}",
             "wsgi:server"], cwd=ROOT, env={**os.environ, **env}, stdout=(tmp / "gunicorn.log").open("ab"),
            stderr=subprocess.STDOUT)
        wait_for_port(self.port, 120)
        httpx.get(self.base + "/livez", timeout=60)

    def pids(self) -> list[int]:
        return process_tree(self.proc.pid)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(60)


def run_clients(port: int, headers: dict[str, str], templates: dict[str, dict], clients: int, seconds: float,
                interval: float, midway: Callable[[], None]) -> tuple[list[float], int, int]:
    """Every client refreshes every ``interval`` s for ``seconds``; (latencies, errors, refreshes).

    A client's first refresh (its page load: every panel sent whole) is not counted: a wall
    screen loads once and then refreshes for days.
    """
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    start = time.monotonic()
    stop_at = start + seconds

    def client(seed: int) -> None:
        screen, tally = Screen(), Tally()
        rng = random.Random(seed)
        next_at = start + rng.uniform(0, interval)
        while True:
            time.sleep(max(0.0, next_at - time.monotonic()))
            if time.monotonic() >= stop_at:
                return
            screen.n += 1
            t0 = time.monotonic()
            failed = 0
            for template in templates.values():
                status, _wire, _body, _up, parsed = post(port, screen.request(template, screen.n == 1), headers)
                if status == 200 and parsed is not None:
                    screen.apply(parsed, tally)
                elif status != 204:
                    failed += 1
            took = time.monotonic() - t0
            with lock:
                if screen.n > 1:
                    latencies.append(took)
                errors[0] += failed
            next_at += interval

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    time.sleep(seconds / 2)
    midway()
    for t in threads:
        t.join(seconds + 600)
    return latencies, errors[0], len(latencies)


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) >= 2 else (values[0] if values else 0.0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=120)
    ap.add_argument("--naive-seconds", type=float, default=120)
    ap.add_argument("--interval", type=float, default=30, help="each screen's refresh interval (the shipped 30 s)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--backfill-days", type=float, default=1.0)
    args = ap.parse_args()

    info = machine()
    print(f"clients bench, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; nproc {info['nproc']}, "
          f"{info['cpu']}; Python {info['python']}, dash {info['dash']}; load {load()}", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="clients-bench-"))
    pg, redis = PostgresServer().start(), RedisServer().start()
    servers: list = []
    try:
        url = pg.create_database("clients")
        env = {"VAR_DIR": str(tmp / "var"), "DATABASE_URL": url, "REDIS_URL": redis.url}
        os.environ.update(env)  # prepare_store reads the settings from the environment
        t0 = time.monotonic()
        engine, specs, cursor = prepare_store(tmp / "var", args.backfill_days)
        print(f"store: PostgreSQL, {len(specs)} demo feeds backfilled ({args.backfill_days:g} day) in "
              f"{time.monotonic() - t0:.0f} s; cache: Redis", flush=True)

        ours = Gunicorn(tmp, env, args.workers)
        servers.append(ours)
        secret, ours.headers = kiosk_access(engine, ours.base, "overview")
        naive = Server("naive", tmp, env)
        servers.append(naive)
        templates = capture({"ours": f"{ours.base}/wall/overview?kiosk=1&token={secret}", "naive": naive.base + "/"})
        results = {}
        for name, server, seconds, pids in (("ours", ours, args.seconds, ours.pids),
                                            ("naive", naive, args.naive_seconds, lambda: [naive.proc.pid])):
            state = {"cursor": cursor}

            def midway(state: dict = state) -> None:
                state["cursor"] = poll_next(engine, specs, state["cursor"])

            c0 = cpu_seconds(pids())
            latencies, errors, refreshes = run_clients(server.port, server.headers, templates[name], args.clients,
                                                       seconds, args.interval, midway)
            cursor = state["cursor"]
            cpu = cpu_seconds(pids()) - c0
            rss = max(rss_mb(p) for p in pids())
            results[name] = (latencies, errors, refreshes, cpu, rss)
            print(f"{name:6s}: {refreshes} refreshes by {args.clients} clients in {seconds:g} s, {errors} errors; "
                  f"p50 {percentile(latencies, 50) * 1000:.0f} ms, p95 {percentile(latencies, 95) * 1000:.0f} ms; "
                  f"CPU {cpu:.1f} s ({cpu / max(refreshes, 1) * 1000:.1f} ms per refresh); largest RSS {rss:.0f} MB; "
                  f"load {load()}", flush=True)
        (ol, _oe, orf, ocpu, orss), (nl, _ne, nrf, ncpu, _nrss) = results["ours"], results["naive"]
        p95_o, p95_n = percentile(ol, 95), percentile(nl, 95)
        cpu_o, cpu_n = ocpu / max(orf, 1), ncpu / max(nrf, 1)
        print()
        print("| side | refreshes | p50 ms | p95 ms | CPU ms / refresh | largest RSS |")
        print("|---|---:|---:|---:|---:|---:|")
        for name, (lat, _e, n, cpu, rss) in results.items():
            print(f"| {name} | {n} | {percentile(lat, 50) * 1000:.0f} | {percentile(lat, 95) * 1000:.0f} | "
                  f"{cpu / max(n, 1) * 1000:.1f} | {rss:.0f} MB |")
        print(f"\nratios naive ÷ ours: p95 {p95_n / max(p95_o, 1e-9):.1f}×, CPU per refresh {cpu_n / max(cpu_o, 1e-9):.1f}×")
        print(f"targets: p95 < 200 ms {'met' if p95_o < 0.2 else 'MISSED'}; ≥ 20× CPU "
              f"{'met' if cpu_n / max(cpu_o, 1e-9) >= 20 else 'MISSED'}; worker RSS < 300 MB "
              f"{'met' if orss < 300 else 'MISSED'}")
    finally:
        for server in servers:
            server.stop()
        redis.stop()
        pg.destroy()
    return 0


if __name__ == "__main__":
    sys.exit(main())
