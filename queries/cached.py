"""Memoised entry points of the read queries, keyed on simple values and a time bucket."""
from __future__ import annotations

from datetime import datetime, timezone

from cache import cache, time_bucket
from queries.air_quality import StationAQI, current_station_aqi
from queries.entities import entity_counts
from queries.health import Health, system_health
from services import current


@cache.memoize()
def _health(bucket: int) -> Health:
    svc = current()
    return system_health(
        svc.engine, datetime.now(timezone.utc), svc.settings.heartbeat_timeout, svc.settings.stale_after_intervals
    )


def health_snapshot() -> Health:
    """System health for screens: at most ``cache_seconds`` old, shared by every screen."""
    return _health(time_bucket(current().settings.cache_seconds))


@cache.memoize()
def _entity_counts(bucket: int) -> dict[str, int]:
    return entity_counts(current().engine)


def entity_counts_snapshot() -> dict[str, int]:
    return _entity_counts(time_bucket(current().settings.cache_seconds))


@cache.memoize()
def _current_aqi(bucket: int) -> list[StationAQI]:
    return current_station_aqi(current().engine, datetime.now(timezone.utc))


def current_aqi_snapshot() -> list[StationAQI]:
    """The newest hourly AQI of every air station, worst first, shared by every screen."""
    return _current_aqi(time_bucket(current().settings.cache_seconds))
