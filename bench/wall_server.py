#!/usr/bin/env python
"""Bench-only launcher of a wall server in its own process (used by bench/wall.py and bench/wall_soak.py).

    .venv/bin/python bench/wall_server.py --app ours|naive|embedded [--port 8050] [--profile out.prof]

* ``ours``: :func:`app.create_app` served by Flask's server, without the scheduler (a web
  worker as in the scaled-out set-up; the bench fills and polls the store itself, so the
  process's CPU time is the wall's serving only).
* ``naive``: the naive wall of ``bench/naive_wall.py`` on the same store.
* ``embedded``: ``python app.py`` itself (scheduler thread, demo backfill on first start).

Settings come from the environment as for the app (``VAR_DIR``, ``SOURCES_FILE``,
``WALLS_FILE``, ``CACHE_SECONDS`` …). ``WALL_MIN_REFRESH_SECONDS`` is honoured here and only
here: it lowers ``wall_config.MIN_REFRESH_SECONDS`` in this bench process so a soak can run
a wall at a 2 s refresh; the app itself keeps refusing walls faster than 10 s.

``--profile`` runs the server single-threaded under cProfile and writes the stats when
the process gets SIGTERM.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
# Run as a script, this folder comes first on sys.path; the app's modules must win.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))
sys.path.append(str(HERE))
os.chdir(ROOT)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--app", choices=["ours", "naive", "embedded"], default="ours")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8050)
    ap.add_argument("--profile", help="write cProfile stats here on SIGTERM (serves single-threaded)")
    args = ap.parse_args()

    if os.environ.get("WALL_MIN_REFRESH_SECONDS"):
        import wall_config

        wall_config.MIN_REFRESH_SECONDS = float(os.environ["WALL_MIN_REFRESH_SECONDS"])

    if args.app == "embedded":
        import app as app_module

        os.environ["PORT"] = str(args.port)
        return app_module.main()

    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()

        def _dump(*_a: object) -> None:
            profiler.disable()
            profiler.dump_stats(args.profile)
            os._exit(0)

        signal.signal(signal.SIGTERM, _dump)
    else:
        signal.signal(signal.SIGTERM, lambda *_a: os._exit(0))

    if args.app == "ours":
        from app import create_app

        dash_app = create_app()
    else:
        from naive_wall import create_naive_app

        dash_app = create_naive_app()
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request in the bench's log
    print(f"serving {args.app} on http://{args.host}:{args.port}", flush=True)
    if profiler is not None:
        profiler.enable()
    dash_app.run(host=args.host, port=args.port, debug=False, threaded=profiler is None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
