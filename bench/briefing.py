#!/usr/bin/env python
"""Briefing benchmark: time to produce the morning PDF, cold (a new Chromium) and warm (one reused).

Run by hand (needs Debian's Chromium and poppler-utils, as ``make test`` installs)::

    .venv/bin/python bench/briefing.py [--days 1] [--repeat 3]

Builds a store in a temporary folder fed by the demo simulator (the shipped sources'
feeds: air, water, land, water resources, public services, GNSS, reporting; ``--days`` of
history), then times :func:`briefings.schedule.produce_morning_briefing` for the PDF, the
archived row deleted between runs so each one renders:

* cold: the function starts and closes its own Chromium, as the scheduler's job does;
* warm: one :class:`briefings.render.Chromium` passed to every run;

and, warm, the parts: reading the store, composing the HTML, printing the PDF (with its
pdftotext check), plus all three morning formats (PDF, PNG, HTML). Target: under 10 s warm.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import delete  # noqa: E402

from backfill import backfill_source  # noqa: E402
from briefings.compose import collect_briefing, compose  # noqa: E402
from briefings.render import Chromium, render_pdf  # noqa: E402
from briefings.schedule import MORNING_FORMATS, produce_morning_briefing  # noqa: E402
from settings import load_settings  # noqa: E402
from store.engine import make_engine  # noqa: E402
from store.migrate import upgrade  # noqa: E402
from store.schema import briefings  # noqa: E402
from tests.support import register_sources  # noqa: E402

FEEDS = {"air": "5m", "water": "15m", "land": "1h", "water_resources": "1h", "public_services": "15m",
         "gnss": "5m", "reporting": "1h"}


def timed(fn):  # noqa: ANN001, ANN201
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-briefing-") as folder:
        tmp = Path(folder)
        settings = load_settings(var_dir=tmp / "var")
        engine = make_engine(settings.effective_database_url)
        upgrade(engine)
        specs = register_sources(tmp, engine, *({"name": f"demo-{feed}", "kind": "demo", "every": every,
                                                  "options": {"feed": feed}} for feed, every in FEEDS.items()))
        now = datetime.now(UTC)
        took, outcomes = timed(lambda: [o for spec in specs.values() for o in backfill_source(engine, spec, args.days,
                                                                                             end=now)])
        if not all(o.ok for o in outcomes):
            raise SystemExit("the demo backfill failed: " + next(str(o.error) for o in outcomes if not o.ok))
        print(f"store: {len(specs)} demo feeds, {args.days:g} day(s) of history, "
              f"{sum(o.accepted for o in outcomes):,} readings, filled in {took:.1f} s")

        def clear() -> None:
            with engine.begin() as conn:
                conn.execute(delete(briefings))

        def morning(formats: tuple[str, ...] = ("pdf",), browser: Chromium | None = None) -> None:
            clear()
            (record, *rest) = produce_morning_briefing(engine, settings, now, formats=formats, browser=browser)
            bad = [r for r in (record, *rest) if r.status != "ok"]
            if bad:
                raise SystemExit(f"briefing failed: {bad[0].error}")

        cold = [timed(morning)[0] for _ in range(args.repeat)]
        with Chromium() as browser:
            morning(browser=browser)  # the first use pays for plotly.js's compilation in a new renderer
            warm = [timed(lambda: morning(browser=browser))[0] for _ in range(args.repeat)]
            read = [timed(lambda: collect_briefing(engine, settings, now))[0] for _ in range(args.repeat)]
            data = collect_briefing(engine, settings, now)
            composed = [timed(lambda: compose(data, "print", plotly_file=True))[0] for _ in range(args.repeat)]
            doc = compose(data, "print", plotly_file=True)
            printed = [timed(lambda: render_pdf(doc, browser=browser))[0] for _ in range(args.repeat)]
            every = [timed(lambda: morning(MORNING_FORMATS, browser))[0] for _ in range(args.repeat)]
        size = len(render_pdf(doc))

    def row(name: str, values: list[float]) -> str:
        return f"| {name} | {min(values):.2f} s | {statistics.median(values):.2f} s | {max(values):.2f} s |"

    print(f"\nmorning PDF ({size:,} bytes), {args.repeat} runs each\n")
    print("| what | best | median | worst |\n|---|---:|---:|---:|")
    for name, values in (("cold: new Chromium, read, compose, print, archive", cold),
                         ("warm: reused Chromium, read, compose, print, archive", warm),
                         ("  warm part: read the store", read), ("  warm part: compose the HTML", composed),
                         ("  warm part: load, draw and print the PDF", printed),
                         ("warm: all three morning formats (PDF, PNG, HTML)", every)):
        print(row(name, values))
    load = os.getloadavg()
    print(f"\nPython {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs, "
          f"load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}; target: warm under 10 s: "
          f"{'met' if statistics.median(warm) < 10 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
