#!/usr/bin/env python
"""Wall soak: a wall refreshing every 2 s for 30 minutes in headless Chromium; JS heap growth.

Run by hand::

    .venv/bin/python bench/wall_soak.py [--minutes 30] [--refresh 2] [--every 60]

What it does:

* starts ``python app.py`` (the embedded default: scheduler thread, demo backfill of
  ``--backfill-days`` on the first start, every demo feed of ``config/sources.yaml``
  polling on its own schedule, so the data change every 5 minutes as in production) in a
  temporary ``VAR_DIR``, through ``bench/wall_server.py --app embedded``;
* serves a ``soak`` wall from a temporary walls file: the panels and pages of the shipped
  ``overview`` wall (read from ``config/walls.yaml``) with ``refresh: <--refresh>s`` and ``rotate: <--rotate>s``. The app
  refuses walls faster than 10 s (``wall_config.MIN_REFRESH_SECONDS``); for a faster soak
  the launcher lowers that minimum in the bench's server process only
  (``WALL_MIN_REFRESH_SECONDS``, read by ``bench/wall_server.py``, never by the app);
* opens ``/wall/soak?kiosk=1`` at 1920×1080 in Debian's Chromium (headless, with
  ``--enable-precise-memory-info``) and, every ``--every`` seconds, forces a garbage
  collection (CDP ``HeapProfiler.collectGarbage``, twice) and samples CDP
  ``Performance.getMetrics`` (JSHeapUsedSize, DOM nodes, event listeners) and
  ``performance.memory.usedJSHeapSize``;
* counts the wall's refresh requests (``/_dash-update-component``), failed responses and
  console errors, and prints the growth: last sample minus the first (taken once the wall
  has drawn) and the slope of a least-squares line through the samples.

Target (issue 3): JS heap growth under 20 MB over 30 minutes at a 2 s refresh.
Exits 0 either way: it is a report, not a test.
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from tests.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.servers import free_port  # noqa: E402

FILLED_JS = """() => {
  const panels = [...document.querySelectorAll('.wall-page.is-active .wall-panel')];
  return panels.length > 0 && panels.every(p => p.querySelector('.panel-as-of').textContent.length > 0);
}"""

def soak_walls(refresh: int, rotate: int) -> str:
    """A walls file with one wall, ``soak``: the shipped ``overview`` wall's pages and panels at ``refresh``."""
    import yaml

    overview = yaml.safe_load((ROOT / "config" / "walls.yaml").read_text(encoding="utf-8"))["walls"]["overview"]
    wall = {**overview, "title": "Soak — " + overview["title"], "refresh": f"{refresh}s", "rotate": f"{rotate}s"}
    return yaml.safe_dump({"walls": {"soak": wall}}, allow_unicode=True, sort_keys=False)

MB = 1024 * 1024


def machine() -> str:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()
    return (f"{os.cpu_count()} CPUs ({model}), Python {platform.python_version()}, "
            f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


def chromium_version() -> str:
    try:
        return subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True, timeout=20, check=False).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "?"


class Server:
    def __init__(self, tmp: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tmp / "server.log"
        self.env = {**os.environ, **env}
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "wall_server.py"), "--app", "embedded", "--port", str(self.port)],
            cwd=ROOT, env=self.env, stdout=self.log.open("ab"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while True:
            try:
                httpx.get(self.base + "/api/v1/sources", timeout=2)
                return
            except httpx.HTTPError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("the server did not start:\n" + self.log.read_text()) from None
                time.sleep(0.5)

    def wait_backfilled(self, timeout: float = 1800) -> None:
        """Until every source has run once (the embedded start-up backfills them one by one)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            sources = httpx.get(self.base + "/api/v1/sources", timeout=30).json()["sources"]
            if sources and all(s["last_run_at"] for s in sources):
                return
            time.sleep(3)
        raise RuntimeError("the backfill did not finish in time")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def slope_per_hour(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, bytes) in bytes per hour."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    sxy = sum((x - mx) * (y - my) for x, y in points)
    return sxy / sxx * 3600 if sxx else 0.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=30.0, help="soak duration after the wall has drawn")
    ap.add_argument("--refresh", type=int, default=2, help="the wall's refresh in seconds (app minimum: 10)")
    ap.add_argument("--rotate", type=int, default=60, help="time on each page of the playlist, seconds")
    ap.add_argument("--every", type=float, default=60.0, help="seconds between heap samples")
    ap.add_argument("--backfill-days", type=float, default=1.0)
    ap.add_argument("--width", type=int, default=1920)
    ap.add_argument("--height", type=int, default=1080)
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder (store, log)")
    args = ap.parse_args()

    from playwright.sync_api import sync_playwright

    started = datetime.now(timezone.utc)
    print(f"wall soak, {started:%Y-%m-%d %H:%M} UTC; {machine()}; {chromium_version()}", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="wall-soak-"))
    walls = tmp / "walls.yaml"
    walls.write_text(soak_walls(args.refresh, args.rotate), encoding="utf-8")
    # A closed control room's set-up: the views (and the sources API this bench polls) open to
    # readers without signing in (ANONYMOUS_ACCESS, auth/); the browser's callbacks carry CSRF.
    env = {"VAR_DIR": str(tmp / "var"), "WALLS_FILE": str(walls), "DEMO_BACKFILL_DAYS": str(args.backfill_days),
           "ANONYMOUS_ACCESS": "true"}
    if args.refresh < 10:
        env["WALL_MIN_REFRESH_SECONDS"] = str(args.refresh)
    server = Server(tmp, env)
    t0 = time.monotonic()
    server.start()
    try:
        server.wait_backfilled()
        print(f"server up and backfilled ({args.backfill_days:g} day) in {time.monotonic() - t0:.0f} s; "
              f"wall refresh {args.refresh} s, rotate {args.rotate} s, {args.width}×{args.height}", flush=True)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM,
                                        args=[*CHROMIUM_ARGS, "--enable-precise-memory-info"])
            page = browser.new_page(viewport={"width": args.width, "height": args.height})
            counts = {"requests": 0, "failed": 0, "bytes": 0}
            errors: list[str] = []

            def on_response(resp) -> None:  # noqa: ANN001
                if "/_dash-update-component" not in resp.url:
                    return
                counts["requests"] += 1
                if resp.status != 200 and resp.status != 204:
                    counts["failed"] += 1

            def on_failed(req) -> None:  # noqa: ANN001
                if "/_dash-update-component" in req.url:
                    counts["failed"] += 1

            page.on("response", on_response)
            page.on("requestfailed", on_failed)
            page.on("console", lambda m: m.type == "error" and errors.append(m.text))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{server.base}/wall/soak?kiosk=1")
            page.wait_for_function(FILLED_JS, timeout=120_000)
            page.wait_for_timeout(3000)
            cdp = page.context.new_cdp_session(page)
            cdp.send("Performance.enable")

            def sample() -> dict[str, float]:
                cdp.send("HeapProfiler.collectGarbage")
                cdp.send("HeapProfiler.collectGarbage")
                metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
                metrics["performance.memory"] = page.evaluate("() => performance.memory.usedJSHeapSize")
                return metrics

            samples: list[tuple[float, dict[str, float], int]] = []
            begin = time.monotonic()
            end = begin + args.minutes * 60
            print(f"{'min':>5} {'JS heap used MB':>15} {'perf.memory MB':>14} {'total MB':>9} {'DOM nodes':>9} "
                  f"{'listeners':>9} {'refresh req':>11} {'failed':>6}", flush=True)
            while True:
                now = time.monotonic()
                m = sample()
                samples.append((now - begin, m, counts["requests"]))
                print(f"{(now - begin) / 60:5.1f} {m['JSHeapUsedSize'] / MB:15.2f} {m['performance.memory'] / MB:14.2f} "
                      f"{m['JSHeapTotalSize'] / MB:9.2f} {int(m['Nodes']):9d} {int(m['JSEventListeners']):9d} "
                      f"{counts['requests']:11d} {counts['failed']:6d}", flush=True)
                if now >= end:
                    break
                page.wait_for_timeout(max(0.0, min(args.every, end - time.monotonic())) * 1000)
            still_current = page.evaluate(FILLED_JS)
            lost_banner = page.locator("#connection-lost").is_visible()
            browser.close()
    finally:
        server.stop()
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    first, last = samples[0][1], samples[-1][1]
    used = [(t, m["JSHeapUsedSize"]) for t, m, _ in samples]
    peak = max(v for _, v in used)
    minutes = samples[-1][0] / 60
    growth = (last["JSHeapUsedSize"] - first["JSHeapUsedSize"]) / MB
    print()
    print(f"soak: {minutes:.1f} min at a {args.refresh} s refresh; {samples[-1][2]} refresh requests "
          f"({samples[-1][2] / max(minutes, 1e-9):.0f}/min), {counts['failed']} failed, {len(errors)} console errors")
    print(f"JS heap used (after forced GC): first {first['JSHeapUsedSize'] / MB:.2f} MB, last "
          f"{last['JSHeapUsedSize'] / MB:.2f} MB, peak {peak / MB:.2f} MB; growth {growth:+.2f} MB "
          f"(slope {slope_per_hour(used) / MB:+.2f} MB/h); performance.memory growth "
          f"{(last['performance.memory'] - first['performance.memory']) / MB:+.2f} MB")
    print(f"DOM nodes {int(first['Nodes'])} → {int(last['Nodes'])}; event listeners "
          f"{int(first['JSEventListeners'])} → {int(last['JSEventListeners'])}; wall still drawn: {still_current}; "
          f"connection-lost banner shown at the end: {lost_banner}")
    print(f"target < 20 MB growth: {'met' if growth < 20 else 'MISSED'}")
    for e in errors[:5]:
        print("console error:", e[:300])
    return 0


if __name__ == "__main__":
    sys.exit(main())
