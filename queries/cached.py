"""Memoised entry points of the read queries, keyed on simple values and a time bucket."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from cache import cache, time_bucket
from limits import current_limits
from queries.air_quality import StationAQI, current_station_aqi
from queries.entities import entity_counts, entity_names
from queries.exceedances import SiteExceedances, by_site, exceedances
from queries.health import Health, system_health
from queries.station_health import ProvinceCompleteness, completeness_by_province
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


@cache.memoize()
def _exceedances_by_site(bucket: int) -> list[SiteExceedances]:
    svc = current()
    now = datetime.now(timezone.utc)
    limits = current_limits(svc.settings.limits_file)
    found = exceedances(svc.engine, limits, now - timedelta(hours=24), now, tz=svc.settings.tz)
    facilities = sorted({e.facility_code for e in found if e.facility_code})
    return by_site(found, entity_names(svc.engine, facilities))


def exceedances_snapshot() -> list[SiteExceedances]:
    """Exceedances of the last 24 hours grouped by facility or station, worst first."""
    return _exceedances_by_site(time_bucket(current().settings.cache_seconds))


@cache.memoize()
def _completeness(bucket: int) -> list[ProvinceCompleteness]:
    svc = current()
    now = datetime.now(timezone.utc)
    return completeness_by_province(svc.engine, now.astimezone(svc.settings.tz).date(), svc.settings.tz, now=now)


def completeness_snapshot() -> list[ProvinceCompleteness]:
    """Today's data completeness (so far) per province."""
    return _completeness(time_bucket(current().settings.cache_seconds))
