"""Memoised entry points of the read queries, keyed on simple values and a time bucket.

Two kinds of key:

- reads that follow the clock or act on their own (health, alerts, warnings) use the
  ``cache_seconds`` bucket alone: at most that old;
- reads derived from the readings (AQI, WQI, KPIs, exceedances, completeness, newest
  reading, entity counts) use :func:`data_key`: the data fingerprint of the sources
  (:func:`queries.sources.data_fingerprint`, itself read once per ``cache_seconds``
  bucket) and a ``cache_max_age_seconds`` bucket. Every screen then shares one
  computation until a poll stores newer data, instead of one per bucket whether or not
  anything came in.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cache import cache, time_bucket
from kpis.catalogue import current_catalogue
from kpis.compute import KpiValue, compute_kpis
from limits import current_limits
from queries.air_quality import StationAQI, current_station_aqi
from queries.alerts import AlertRow, counts_by_severity, list_alerts
from queries.entities import entity_counts, entity_names
from queries.exceedances import SiteExceedances, by_site, exceedances
from queries.health import Health, system_health
from queries.sources import data_fingerprint
from queries.station_health import ProvinceCompleteness, StationDay, completeness_by_province, station_health
from queries.stations import newest_reading
from queries.warnings import ActiveWarning, active_warnings
from queries.water_quality import StationWQI, current_station_wqi
from services import current


def _bucket() -> int:
    return time_bucket(current().settings.cache_seconds)


@cache.memoize()
def _fingerprint(bucket: int) -> str:
    return data_fingerprint(current().engine)


def data_key() -> tuple[int, str] | int:
    """The key of the reads derived from the readings: (max-age bucket, data fingerprint).

    With ``cache_seconds`` 0 nothing is shared: a new key on every call.
    """
    settings = current().settings
    if settings.cache_seconds <= 0:
        return time_bucket(0)
    max_age = max(settings.cache_max_age_seconds, settings.cache_seconds)
    return time_bucket(max_age), _fingerprint(_bucket())


@cache.memoize()
def _health(bucket: int) -> Health:
    svc = current()
    return system_health(
        svc.engine, datetime.now(UTC), svc.settings.heartbeat_timeout, svc.settings.stale_after_intervals
    )


def health_snapshot() -> Health:
    """System health for screens: at most ``cache_seconds`` old, shared by every screen."""
    return _health(_bucket())


@cache.memoize()
def _entity_counts(key: tuple[int, str] | int) -> dict[str, int]:
    return entity_counts(current().engine)


def entity_counts_snapshot() -> dict[str, int]:
    return _entity_counts(data_key())


@cache.memoize()
def _current_aqi(key: tuple[int, str] | int) -> list[StationAQI]:
    return current_station_aqi(current().engine, datetime.now(UTC))


def current_aqi_snapshot() -> list[StationAQI]:
    """The newest hourly AQI of every air station, worst first, shared by every screen."""
    return _current_aqi(data_key())


@cache.memoize()
def _exceedances_by_site(key: tuple[int, str] | int, hours: int) -> list[SiteExceedances]:
    svc = current()
    now = datetime.now(UTC)
    limits = current_limits(svc.settings.limits_file)
    found = exceedances(svc.engine, limits, now - timedelta(hours=hours), now, tz=svc.settings.tz)
    facilities = sorted({e.facility_code for e in found if e.facility_code})
    return by_site(found, entity_names(svc.engine, facilities))


def exceedances_snapshot(hours: int = 24) -> list[SiteExceedances]:
    """Exceedances of the last ``hours`` grouped by facility or station, worst first."""
    return _exceedances_by_site(data_key(), hours)


@cache.memoize()
def _completeness(key: tuple[int, str] | int) -> list[ProvinceCompleteness]:
    svc = current()
    now = datetime.now(UTC)
    return completeness_by_province(svc.engine, now.astimezone(svc.settings.tz).date(), svc.settings.tz, now=now)


def completeness_snapshot() -> list[ProvinceCompleteness]:
    """Today's data completeness (so far) per province."""
    return _completeness(data_key())


@cache.memoize()
def _current_wqi(key: tuple[int, str] | int, lang: str) -> list[StationWQI]:
    return current_station_wqi(current().engine, datetime.now(UTC), lang=lang)


def current_wqi_snapshot(lang: str) -> list[StationWQI]:
    """The VN_WQI of every surface-water station over the last 24 hours (labels in ``lang``)."""
    return _current_wqi(data_key(), lang)


@cache.memoize()
def _kpis(key: tuple[int, str] | int) -> list[KpiValue]:
    svc = current()
    catalogue = current_catalogue(svc.settings.kpis_file)
    return compute_kpis(svc.engine, catalogue, datetime.now(UTC), svc.settings.tz)


def kpis_snapshot() -> list[KpiValue]:
    """Every KPI of the catalogue now, with previous period and breakdown, shared by every screen.

    Raises :class:`settings.ConfigError` if the KPI file was broken after start-up.
    """
    return _kpis(data_key())


@cache.memoize()
def _newest_reading(key: tuple[int, str] | int, subtypes: tuple[str, ...]) -> datetime | None:
    return newest_reading(current().engine, subtypes, datetime.now(UTC))


def newest_reading_snapshot(*subtypes: str) -> datetime | None:
    """Time of the newest reading of the stations of ``subtypes`` (e.g. "air", "wastewater")."""
    return _newest_reading(data_key(), tuple(sorted(subtypes)))


@cache.memoize()
def _station_days(key: tuple[int, str] | int, province: str) -> list[StationDay]:
    svc = current()
    now = datetime.now(UTC)
    return station_health(svc.engine, now.astimezone(svc.settings.tz).date(), svc.settings.tz, province=province, now=now)


def station_days_snapshot(province: str) -> list[StationDay]:
    """Today's data completeness (so far) of every station of ``province``."""
    return _station_days(data_key(), province)


@cache.memoize()
def _alerts(bucket: int) -> tuple[list[AlertRow], dict[str, int]]:
    engine = current().engine
    return list_alerts(engine, state="open", limit=50), counts_by_severity(engine)


def alerts_snapshot() -> tuple[list[AlertRow], dict[str, int]]:
    """The open alerts (most severe, newest first) and their counts by severity."""
    return _alerts(_bucket())


@cache.memoize()
def _warnings(bucket: int) -> list[ActiveWarning]:
    return active_warnings(current().engine, datetime.now(UTC))


def warnings_snapshot() -> list[ActiveWarning]:
    """Hydro-meteorological warnings (CAP) in force now, most severe first."""
    return _warnings(_bucket())
