#!/usr/bin/env python
"""Wall refresh benchmark: server CPU time and bytes per refresh for 10 wall screens, ours vs naive.

Run by hand::

    .venv/bin/python bench/wall.py [--screens 10] [--cycles 3] [--steady 4] [--groups 3] [--profile ours.prof]

What it does:

1. **Store.** A migrated SQLite store in a temporary folder, filled by the demo adapters'
   backfill (every feed of ``config/sources.yaml``, ``--backfill-days`` = 1 day, ending
   14 minutes ago so that the bench can deliver the next 5-minute polls itself), with the
   alert rules evaluated after each poll as in the embedded app.
2. **Servers.** Two real processes on 127.0.0.1 (``bench/wall_server.py``), Flask's
   threaded server, no scheduler in either (the bench process polls):
   *ours* — :func:`app.create_app` serving the shipped ``overview`` wall (both pages, nine
   panels, nine refresh callbacks); *naive* — ``bench/naive_wall.py``: the same nine
   panels, one callback per panel, full figures and tables rebuilt from the raw
   observations on every refresh, no cache, no digests, no ``no_update``.
3. **Real request bodies.** Headless Chromium (Debian's) opens ``/wall/overview?kiosk=1``
   and the naive wall at 1920×1080 and records every ``/_dash-update-component`` request
   until each refresh callback has fired from its interval once.
4. **Replay.** ``--screens`` simulated screens each keep their own browser state: the
   values the server returned (the wall's per-panel ``sig`` digests, ...) go back into
   their next request as the browser does, and each refresh sends every refresh callback
   of the page (both playlist pages refresh, as in the browser). A screen starts with an
   empty state (its first load, reported apart), then one unmeasured warm-up refresh.
   Then ``--cycles`` times: a poll (the next 5 minutes of every demo feed, written by this
   process, alerts evaluated) followed by one *changed* refresh of every screen and
   ``--steady`` *steady* refreshes with unchanged data. Ours and naive take turns
   refresh by refresh, against the same store.

   Cache buckets: the app memoises its reads per ``CACHE_SECONDS`` bucket. With the
   shipped 30 s refresh and the default 10 s cache, ten screens whose refreshes are spread
   over the 30 s hit three buckets, so the reads are recomputed three times per refresh
   of the wall. The bench reproduces that ratio quickly: the servers run with
   ``CACHE_SECONDS=--cache-seconds`` (3) and each refresh round sends its screens in
   ``--groups`` (3) groups, each group starting in a new bucket. The reads derived from
   the readings are keyed on the sources' data fingerprint as well (queries/cached.py):
   a new bucket without new data re-reads only the fingerprint.

   Amortised: the demo station feeds (like the real stations) deliver every 5 minutes
   and the wall refreshes every 30 s, so one refresh in ten sees new data:
   ``amortised = (changed + 9 × steady) / 10`` per screen (``--change-every``). Ours also
   recomputes its data-keyed reads once per ``CACHE_MAX_AGE_SECONDS`` (300 s, shipped)
   without new data, which the compressed replay never reaches: its CPU is amortised as
   ``(2 × changed + 8 × steady) / 10`` (one recomputation for the data, one for the age).

5. **Measured**, per app: CPU time of the server process (utime + stime of
   ``/proc/<pid>/stat``, all threads, read before and after each group of requests; the
   10 ms tick is far below the totals), and bytes of the HTTP responses (status line,
   headers and body, as sent) and of the JSON bodies alone; divided by the number of
   screen refreshes. The ratios are naive ÷ ours. Target (issue 3): ≥ 50× on both.

``--profile PATH`` runs *our* server single-threaded under cProfile during the same
replay (its CPU figures then include the profiler's overhead) and prints the top costs.
Exits 0 either way: it is a report, not a test.
"""
from __future__ import annotations

import argparse
import copy
import http.client
import json
import os
import platform
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
# Run as a script, this folder comes first on sys.path; the app's modules must win.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from tests.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.servers import free_port  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
POLL_STEP = timedelta(minutes=5)
UPDATE_PATH = "/_dash-update-component"


# --------------------------------------------------------------------------- machine

def machine() -> dict[str, str]:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import dash
    import pandas
    import plotly

    return {"nproc": str(os.cpu_count()), "cpu": model, "python": platform.python_version(),
            "dash": dash.__version__, "plotly": plotly.__version__, "pandas": pandas.__version__}


def load() -> str:
    a, b, c = os.getloadavg()
    return f"{a:.2f} {b:.2f} {c:.2f}"


# --------------------------------------------------------------------------- store

def prepare_store(var: Path, days: float) -> tuple[Any, list, datetime]:
    """Migrate, register the sources, backfill ``days`` of every demo feed ending 14 minutes ago."""
    from alerts.hook import configure_from_settings
    from backfill import backfill_source
    from polling import sync_sources
    from settings import Settings
    from source_config import load_sources
    from store.engine import make_engine
    from store.migrate import upgrade

    settings = Settings(var_dir=var)
    specs = [s for s in load_sources(settings.sources_file) if s.enabled and s.adapter.supports_backfill]
    configure_from_settings(settings)  # the alert rules run after each poll, as in the embedded app
    engine = make_engine(settings.effective_database_url)
    upgrade(engine)
    sync_sources(engine, specs)
    end = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=14)
    for spec in specs:
        backfill_source(engine, spec, days, end=end)
    return engine, specs, end


def poll_next(engine: Any, specs: list, cursor: datetime) -> datetime:
    """Deliver the next 5 minutes of every feed (never past now), as a scheduled poll would."""
    from polling import poll_source

    end = min(cursor + POLL_STEP, datetime.now(timezone.utc).replace(microsecond=0))
    for spec in specs:
        poll_source(engine, spec, trigger="schedule", now=end,
                    fetch=lambda _ctx, a=cursor, b=end, s=spec: s.adapter.window(a, b))
    return end


# --------------------------------------------------------------------------- servers

class Server:
    """``bench/wall_server.py --app <app>`` as a process whose CPU time we read from /proc."""

    def __init__(self, app: str, tmp: Path, env: dict[str, str], profile: str | None = None) -> None:
        self.app = app
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tmp / f"{app}.log"
        self.headers: dict[str, str] = {}  # what each callback request carries (a kiosk's cookies)
        cmd = [sys.executable, str(HERE / "wall_server.py"), "--app", app, "--port", str(self.port)]
        if profile:
            cmd += ["--profile", profile]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env}, stdout=self.log.open("ab"),
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while True:
            try:
                httpx.get(self.base + "/_dash-layout", timeout=5)
                return
            except httpx.HTTPError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError(f"{app} did not start:\n" + self.log.read_text()) from None
                time.sleep(0.3)

    def cpu_seconds(self) -> float:
        """utime + stime of the server process, every thread included."""
        stat = Path(f"/proc/{self.proc.pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2:].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def overview_panels() -> list[str]:
    from wall_config import load_walls

    wall = load_walls(ROOT / "config" / "walls.yaml")["overview"]
    return [p.show for page in wall.pages for p in page.panels]


def naive_panel_names() -> list[str]:
    sys.path.append(str(HERE))
    from naive_wall import PANELS

    return [name for name, _key, _prop in PANELS]


# --------------------------------------------------------------------------- capture

def _key(ident: Any, prop: str) -> str:
    ident = json.dumps(ident, sort_keys=True, separators=(",", ":")) if isinstance(ident, dict) else str(ident)
    return f"{ident}.{prop}"


def capture(urls: dict[str, str], timeout: float = 90) -> dict[str, dict[str, dict]]:
    """app → {output: request body} of the refresh callbacks, as Chromium sends them on an interval tick.

    Records every ``/_dash-update-component`` request until each callback has fired from
    its interval (or ``timeout``); a callback seen only at load gets its load request
    turned into a tick (the interval input set, ``changedPropIds`` the interval).
    """
    from playwright.sync_api import sync_playwright

    seen: dict[str, list[dict]] = {app: [] for app in urls}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        pages = []
        for app, url in urls.items():
            page = browser.new_page(viewport={"width": 1920, "height": 1080})
            page.on("request", lambda r, a=app: UPDATE_PATH in r.url and seen[a].append(json.loads(r.post_data)))
            page.goto(url)
            pages.append(page)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pages[0].wait_for_timeout(1000)
            done = True
            for app in urls:
                outputs = {b["output"] for b in seen[app] if _tick_input(b) is not None}
                ticked = {b["output"] for b in seen[app] if _is_tick(b)}
                done &= bool(outputs) and outputs <= ticked
            if done:
                break
        browser.close()
    templates: dict[str, dict[str, dict]] = {}
    for app, bodies in seen.items():
        templates[app] = {}
        for body in bodies:
            if _tick_input(body) is None:
                continue  # not a refresh callback (the page router)
            if _is_tick(body) or body["output"] not in templates[app]:
                templates[app][body["output"]] = body
    return templates


def _tick_input(body: dict) -> int | None:
    """Index of the interval input of a refresh callback (ours "wall-tick", the naive wall's "tick"), if any."""
    for i, inp in enumerate(body.get("inputs", [])):
        if not isinstance(inp, dict):
            continue
        if inp["property"] == "n_intervals" and inp["id"] in ("tick", "wall-tick"):
            return i
    return None


def _is_tick(body: dict) -> bool:
    i = _tick_input(body)
    return i is not None and body.get("changedPropIds") == [_key(body["inputs"][i]["id"], "n_intervals")]


# --------------------------------------------------------------------------- replay

@dataclass
class Tally:
    cpu: float = 0.0
    wire: int = 0
    body: int = 0
    sent_up: int = 0
    requests: int = 0
    refreshes: int = 0
    parts: int = 0
    errors: int = 0
    seconds: float = 0.0
    cpu_first: float = 0.0
    n_first: int = 0
    patchable: int = 0  # JSON bytes a Patch of each changed part would have saved (estimate)
    latencies: list[float] = field(default_factory=list)
    by_panel: dict[str, int] = field(default_factory=dict)  # JSON bytes of the values sent, by panel

    def add(self, other: Tally) -> None:
        for name in ("cpu", "wire", "body", "sent_up", "requests", "refreshes", "parts", "errors", "seconds",
                     "cpu_first", "n_first", "patchable"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.latencies += other.latencies
        for k, v in other.by_panel.items():
            self.by_panel[k] = self.by_panel.get(k, 0) + v

    def per(self, what: str) -> float:
        return getattr(self, what) / max(1, self.refreshes)


@dataclass
class Screen:
    """One simulated wall screen: the component values the server has set in its browser."""

    store: dict[str, Any] = field(default_factory=dict)
    n: int = 0

    def request(self, template: dict, fresh: bool) -> dict:
        body = copy.deepcopy(template)
        i = _tick_input(body)
        body["inputs"][i]["value"] = self.n
        tick_id = body["inputs"][i]["id"]
        body["changedPropIds"] = [_key(tick_id, "n_intervals")]
        if "parsedChangedPropsIds" in body:
            body["parsedChangedPropsIds"] = [tick_id]
        written = {_key(o["id"], o["property"]) for group in body["outputs"]
                   for o in (group if isinstance(group, list) else [group])}
        for entry in (*body["inputs"], *body.get("state", [])):
            for item in entry if isinstance(entry, list) else [entry]:
                k = _key(item["id"], item["property"])
                if k in self.store:
                    item["value"] = self.store[k]
                elif fresh and k in written:
                    item["value"] = None  # a new page: the callback has not written its stores yet
        return body

    def apply(self, response: dict, tally: Tally) -> None:
        """Set what the server sent, counting the values other than the digests by panel."""
        for ident, props in response.get("response", {}).items():
            if ident.startswith("{"):
                ident = json.loads(ident)
            for prop, value in props.items():
                k = _key(ident, prop)
                if not (isinstance(ident, dict) and ident.get("role") == "sig"):
                    panel = ident.get("kind", "?") if isinstance(ident, dict) else str(ident).split("-")[0]
                    size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
                    old = self.store.get(k)
                    tally.parts += 1
                    tally.by_panel[panel] = tally.by_panel.get(panel, 0) + size
                    tally.patchable += size - (patch_size(old, value) if old is not None else size)
                self.store[k] = value


def _diff(old: Any, new: Any, path: list, ops: list) -> None:
    """Assignments turning ``old`` into ``new`` (JSON values), as a ``dash.Patch`` would send them."""
    if isinstance(old, dict) and isinstance(new, dict) and set(old) == set(new):
        for k in new:
            if old[k] != new[k]:
                _diff(old[k], new[k], [*path, k], ops)
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        changed = [i for i in range(len(new)) if old[i] != new[i]]
        if all(not isinstance(v, (dict, list)) for v in new) and 2 * len(changed) > len(new):
            ops.append((path, new))  # most of a flat list changed: send it whole
        else:
            for i in changed:
                _diff(old[i], new[i], [*path, i], ops)
    else:
        ops.append((path, new))


def patch_size(old: Any, new: Any) -> int:
    """Bytes of the ``Patch`` that turns ``old`` into ``new`` (Dash's wire format), for the estimate."""
    ops: list = []
    _diff(old, new, [], ops)
    payload = {"__dash_patch_update": "__dash_patch_update",
               "operations": [{"operation": "Assign", "location": p, "params": {"value": v}} for p, v in ops]}
    return len(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode())


def kiosk_access(engine: Any, base: str, wall: str) -> tuple[str, dict[str, str]]:
    """A kiosk token of ``wall`` (as an admin makes one), and the headers a kiosk browser sends with
    each callback: the cookies its sign-in on the wall's page set (kiosk, kiosk renewal day, CSRF)
    and the CSRF token (auth/web.py). Without the renewal day every answer would renew the cookies."""
    from auth.tokens import create_token

    _token, secret = create_token(engine, "kiosk", "bench", wall=wall, actor="bench")
    with httpx.Client(timeout=30, follow_redirects=True) as browser:
        browser.get(f"{base}/wall/{wall}", params={"token": secret, "kiosk": "1"}).raise_for_status()
        cookies = {c.name: c.value for c in browser.cookies.jar}
    assert {"opsc_kiosk", "opsc_kiosk_day", "_csrf_token"} <= set(cookies), sorted(cookies)
    return secret, {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()), "X-CSRFToken": cookies["_csrf_token"]}


def post(port: int, body: dict, extra: dict[str, str] | None = None) -> tuple[int, int, int, int, dict | None]:
    """POST a callback request; (status, bytes on the wire, body bytes, request bytes, JSON)."""
    payload = json.dumps(body, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json", "Accept": "application/json",
               "Accept-Encoding": "gzip, deflate, br", "Host": f"127.0.0.1:{port}", **(extra or {})}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    try:
        conn.request("POST", UPDATE_PATH, body=payload, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        head = f"HTTP/1.1 {resp.status} {resp.reason}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in resp.getheaders()) + "\r\n"
        up = len(f"POST {UPDATE_PATH} HTTP/1.1\r\n") + sum(len(f"{k}: {v}\r\n") for k, v in headers.items()) + 2
        up += len("Content-Length: \r\n") + len(str(len(payload))) + len(payload)
        parsed = json.loads(data) if resp.status == 200 and data else None
        return resp.status, len(head.encode()) + len(data), len(data), up, parsed
    finally:
        conn.close()


def wait_for_bucket(seconds: float) -> None:
    """Sleep until just after the next boundary of the app's cache bucket."""
    if seconds <= 0:
        return
    now = time.time()
    time.sleep(seconds - now % seconds + 0.05)


def refresh_round(server: Server, templates: dict[str, dict], screens: list[Screen], groups: int,
                  cache_seconds: float, fresh: bool = False) -> Tally:
    """Every screen refreshes once (every refresh callback), in ``groups`` cache buckets."""
    tally = Tally()
    size = -(-len(screens) // groups)
    for g in range(0, len(screens), size):
        wait_for_bucket(cache_seconds)
        t0, c0 = time.monotonic(), server.cpu_seconds()
        for j, screen in enumerate(screens[g:g + size]):
            s0 = server.cpu_seconds()
            screen.n += 1
            for template in templates.values():
                r0 = time.monotonic()
                status, wire, body, up, parsed = post(server.port, screen.request(template, fresh), server.headers)
                tally.latencies.append(time.monotonic() - r0)
                tally.requests += 1
                tally.wire += wire
                tally.body += body
                tally.sent_up += up
                if status == 200 and parsed is not None:
                    screen.apply(parsed, tally)
                elif status != 204:
                    tally.errors += 1
            tally.refreshes += 1
            # The first screen of a bucket pays for the cache misses; the others should not.
            if j == 0:
                tally.cpu_first += server.cpu_seconds() - s0
                tally.n_first += 1
        tally.cpu += server.cpu_seconds() - c0
        tally.seconds += time.monotonic() - t0
    return tally


# --------------------------------------------------------------------------- the line chart, for scale

def line_chart_for_scale(repeat: int = 5) -> dict[str, float]:
    """The issue's yardstick, in this process: a 100-station × 24-hour line chart (5-minute
    points) built and serialised whole, vs a ``Patch`` appending each station's new point."""
    import numpy as np
    import plotly.graph_objects as go
    from dash import Patch
    from plotly.io.json import to_json_plotly

    rng = np.random.default_rng(1)
    t0 = int(datetime(2026, 11, 21, tzinfo=timezone.utc).timestamp())
    xs = [datetime.fromtimestamp(t0 + 300 * i, timezone.utc).isoformat() for i in range(288)]
    ys = rng.gamma(4, 10, size=(100, 288)).round(1)

    def full() -> bytes:
        fig = go.Figure([go.Scatter(x=xs, y=ys[i].tolist(), mode="lines", name=f"ST{i:03d}") for i in range(100)])
        fig.update_layout(template="plotly_dark", uirevision="kept", height=None)
        return to_json_plotly(fig).encode()

    def patch() -> bytes:
        p = Patch()
        x_new = datetime.fromtimestamp(t0 + 300 * 288, timezone.utc).isoformat()
        for i in range(100):
            p["data"][i]["x"].append(x_new)
            p["data"][i]["y"].append(float(ys[i, -1]))
        return to_json_plotly(p.to_plotly_json()).encode()

    out = {}
    for name, fn in (("full", full), ("patch", patch)):
        fn()
        times = []
        for _ in range(repeat):
            c0 = time.process_time()
            size = len(fn())
            times.append(time.process_time() - c0)
        out[f"{name}_ms"] = min(times) * 1000
        out[f"{name}_bytes"] = size
    return out


# --------------------------------------------------------------------------- report

def fmt_bytes(n: float) -> str:
    return f"{n / 1024:,.1f} KB" if n >= 1024 else f"{n:,.0f} B"


def print_profile(path: str, top: int = 30) -> None:
    stats = pstats.Stats(path)
    total = stats.total_tt
    print(f"\ncProfile of our server (single-threaded) under the replay: {total:.2f} s of profiled time")
    for sort, label in (("cumulative", "cumulative"), ("tottime", "own time")):
        print(f"\ntop {top} by {label}:")
        stats.sort_stats(sort).print_stats(top)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--screens", type=int, default=10)
    ap.add_argument("--cycles", type=int, default=3, help="polls, each followed by a changed refresh")
    ap.add_argument("--steady", type=int, default=4, help="steady refreshes after each changed one")
    ap.add_argument("--change-every", type=int, default=10, help="one refresh in this many sees new data")
    ap.add_argument("--cache-seconds", type=float, default=3, help="CACHE_SECONDS of both servers")
    ap.add_argument("--groups", type=int, default=3, help="cache buckets the screens of one refresh spread over")
    ap.add_argument("--backfill-days", type=float, default=1.0)
    ap.add_argument("--only", choices=["ours", "naive"], help="measure one side only")
    ap.add_argument("--profile", help="run our server under cProfile, write the stats here and print the top")
    ap.add_argument("--no-scale", action="store_true", help="skip the in-process line-chart yardstick")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = ap.parse_args()

    started = datetime.now(timezone.utc)
    info = machine()
    print(f"wall refresh bench, {started:%Y-%m-%d %H:%M} UTC; {info['nproc']} CPUs ({info['cpu']}); "
          f"Python {info['python']}, dash {info['dash']}, plotly {info['plotly']}, pandas {info['pandas']}; "
          f"load {load()}", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="wall-bench-"))
    servers: dict[str, Server] = {}
    try:
        t0 = time.monotonic()
        engine, specs, cursor = prepare_store(tmp / "var", args.backfill_days)
        print(f"store: {len(specs)} demo feeds backfilled ({args.backfill_days:g} day) in "
              f"{time.monotonic() - t0:.0f} s", flush=True)
        env = {"VAR_DIR": str(tmp / "var"), "CACHE_SECONDS": str(args.cache_seconds), "CACHE_MAX_AGE_SECONDS": "300"}
        apps = [a for a in ("ours", "naive") if args.only in (None, a)]
        for app in apps:
            servers[app] = Server(app, tmp, env, profile=args.profile if app == "ours" else None)
        urls = {"ours": "/wall/overview?kiosk=1", "naive": "/"}
        if "ours" in servers:  # ours signs its walls in with a kiosk token, as a real wall screen
            secret, servers["ours"].headers = kiosk_access(engine, servers["ours"].base, "overview")
            urls["ours"] += f"&token={secret}"
        templates = capture({app: servers[app].base + urls[app] for app in apps})
        for app in apps:
            print(f"{app}: {len(templates[app])} refresh callbacks captured from Chromium "
                  f"({sum(_is_tick(b) for b in templates[app].values())} fired by their interval)", flush=True)

        shipped = overview_panels()
        naive_panels = naive_panel_names()
        print(f"overview wall: {len(shipped)} panels ({', '.join(shipped)})", flush=True)
        if sorted(shipped) != sorted(naive_panels):
            print(f"NOTE: the naive wall's panels ({', '.join(naive_panels)}) differ from the shipped overview's",
                  flush=True)
        screens = {app: [Screen() for _ in range(args.screens)] for app in apps}
        tallies = {app: {"load": Tally(), "changed": Tally(), "steady": Tally()} for app in apps}

        def one_round(kind: str, fresh: bool = False, record: bool = True) -> None:
            for app in apps:
                # Both sides run the same schedule (the naive one has no cache to align with).
                tally = refresh_round(servers[app], templates[app], screens[app], args.groups, args.cache_seconds,
                                      fresh=fresh)
                if record:
                    tallies[app][kind].add(tally)
                print(f"  {kind:8s} {app:5s}: {tally.per('cpu') * 1000:8.1f} ms CPU, {fmt_bytes(tally.per('wire')):>10s}"
                      f" per screen refresh ({tally.parts} parts sent, {tally.errors} errors, "
                      f"{tally.seconds:.1f} s, load {load()})", flush=True)

        print(f"replay: {args.screens} screens, {args.cycles} × (poll, changed refresh, {args.steady} steady refreshes)"
              f"; {args.groups} cache buckets per refresh (CACHE_SECONDS={args.cache_seconds:g})", flush=True)
        one_round("load", fresh=True)
        one_round("warm-up", record=False)
        for _ in range(args.cycles):
            cursor = poll_next(engine, specs, cursor)
            one_round("changed")
            for _ in range(args.steady):
                one_round("steady")
    finally:
        for server in servers.values():
            server.stop()
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    w = args.change_every
    amort: dict[str, dict[str, float]] = {}
    print()
    print(f"Per screen refresh ({args.screens} screens; changed: {tallies[apps[0]]['changed'].refreshes}, "
          f"steady: {tallies[apps[0]]['steady'].refreshes} screen refreshes per side):")
    header = (f"{'':10s}{'':9s}{'CPU ms':>9s}{'wire bytes':>13s}{'JSON bytes':>13s}{'upload':>11s}{'req/s':>7s}"
              f"{'p50 ms':>8s}{'1st/bucket':>11s}{'others':>10s}")
    print(header)
    for app in apps:
        for kind in ("load", "changed", "steady"):
            t = tallies[app][kind]
            p50 = statistics.median(t.latencies) * 1000 if t.latencies else 0
            first = t.cpu_first / max(1, t.n_first) * 1000
            rest = (t.cpu - t.cpu_first) / max(1, t.refreshes - t.n_first) * 1000
            print(f"{app:10s}{kind:9s}{t.per('cpu') * 1000:9.1f}{fmt_bytes(t.per('wire')):>13s}"
                  f"{fmt_bytes(t.per('body')):>13s}{fmt_bytes(t.per('sent_up')):>11s}"
                  f"{t.requests / max(t.seconds, 1e-9):7.0f}{p50:8.1f}{first:11.1f}{rest:10.1f}")
        ch, st = tallies[app]["changed"], tallies[app]["steady"]
        amort[app] = {m: (ch.per(m) + (w - 1) * st.per(m)) / w for m in ("cpu", "wire", "body")}
        # Ours: one more recomputation per 5 minutes, for the reads' maximum age (costs CPU, sends nothing new).
        aged = 2 if app == "ours" else 1
        amort[app]["cpu"] = (aged * ch.per("cpu") + (w - aged) * st.per("cpu")) / w
        print(f"{app:10s}{'amortised':9s}{amort[app]['cpu'] * 1000:9.1f}{fmt_bytes(amort[app]['wire']):>13s}"
              f"{fmt_bytes(amort[app]['body']):>13s}   (CPU: {aged} changed + {w - aged} steady)")
        errors = sum(t.errors for t in tallies[app].values())
        if errors:
            print(f"{app}: {errors} requests failed — figures not valid")
    if len(apps) == 2:
        print()
        print("Ratios naive ÷ ours (target ≥ 50×):")
        for kind in ("steady", "changed", "amortised"):
            if kind == "amortised":
                o, n = amort["ours"], amort["naive"]
            else:
                o = {m: tallies["ours"][kind].per(m) for m in ("cpu", "wire", "body")}
                n = {m: tallies["naive"][kind].per(m) for m in ("cpu", "wire", "body")}
            r = {m: n[m] / o[m] if o[m] else float("inf") for m in o}
            print(f"  {kind:10s} CPU {r['cpu']:7.1f}×   wire bytes {r['wire']:7.1f}×   JSON bytes {r['body']:7.1f}×")
        r = {m: amort["naive"][m] / amort["ours"][m] for m in ("cpu", "wire")}
        print(f"  target (amortised): CPU {'met' if r['cpu'] >= 50 else 'MISSED'}, "
              f"bytes {'met' if r['wire'] >= 50 else 'MISSED'}")
    print()
    print("What the values sent weigh, JSON bytes per screen refresh by panel (digests not counted):")
    for app in apps:
        for kind in ("changed", "steady"):
            t = tallies[app][kind]
            panels = sorted(t.by_panel.items(), key=lambda kv: -kv[1])
            print(f"  {app:5s} {kind:7s} " + ", ".join(f"{k} {fmt_bytes(v / max(1, t.refreshes))}" for k, v in panels))
    if "ours" in apps:
        t = tallies["ours"]
        est = {k: (t[k].body - t[k].patchable) / max(1, t[k].refreshes) for k in ("changed", "steady")}
        est_wire = {k: (t[k].wire - t[k].patchable) / max(1, t[k].refreshes) for k in ("changed", "steady")}
        am_body = (est["changed"] + (w - 1) * est["steady"]) / w
        am_wire = (est_wire["changed"] + (w - 1) * est_wire["steady"]) / w
        line = (f"Estimate, not measured: had every changed part of ours gone as a Patch of what changed (its "
                f"previous value known), JSON per screen refresh: changed {fmt_bytes(est['changed'])}, steady "
                f"{fmt_bytes(est['steady'])}, amortised {fmt_bytes(am_body)} ({fmt_bytes(am_wire)} on the wire)")
        if "naive" in apps:
            line += (f"; ratios {amort['naive']['body'] / am_body:.1f}× JSON, "
                     f"{amort['naive']['wire'] / am_wire:.1f}× wire")
        print(line)
    if not args.no_scale:
        s = line_chart_for_scale()
        print()
        print(f"For scale (in-process, best of 5): a 100-station × 24-hour line chart (288 points each) built and "
              f"serialised whole: {s['full_ms']:.0f} ms CPU, {fmt_bytes(s['full_bytes'])}; a Patch appending one "
              f"point to each station: {s['patch_ms']:.2f} ms, {fmt_bytes(s['patch_bytes'])}")
    if args.profile:
        print_profile(args.profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
