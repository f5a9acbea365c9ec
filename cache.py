"""flask-caching set-up: Redis when REDIS_URL is set, else files under var/cache.

Memoise read functions on simple arguments plus a time bucket (never on DataFrames),
so every screen asking within one bucket shares one computation.
"""
from __future__ import annotations

import time

from flask import Flask
from flask_caching import Cache

from settings import Settings

cache = Cache()


def init_cache(server: Flask, settings: Settings) -> None:
    # Entries outlive their key's bucket a little: the data-keyed reads are valid up to
    # cache_max_age_seconds (queries/cached.py).
    timeout = max(settings.cache_seconds, settings.cache_max_age_seconds) * 2
    config: dict[str, object] = {"CACHE_DEFAULT_TIMEOUT": max(timeout, 1), "CACHE_KEY_PREFIX": "opsc:"}
    if settings.redis_url:
        config.update(CACHE_TYPE="RedisCache", CACHE_REDIS_URL=settings.redis_url)
    else:
        config.update(CACHE_TYPE="FileSystemCache", CACHE_DIR=str(settings.var_dir / "cache"), CACHE_THRESHOLD=5000)
    cache.init_app(server, config=config)


def time_bucket(seconds: float, now: float | None = None) -> int:
    """The number of the ``seconds``-long slot ``now`` falls in (0 seconds: a new slot each call)."""
    now = time.time() if now is None else now
    return int(now // seconds) if seconds > 0 else time.monotonic_ns()
