"""Memoised entry points of the read queries, keyed on simple values and a time bucket."""
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
from queries.station_health import ProvinceCompleteness, StationDay, completeness_by_province, station_health
from queries.stations import newest_reading
from queries.warnings import ActiveWarning, active_warnings
from queries.water_quality import StationWQI, current_station_wqi
from services import current


@cache.memoize()
def _health(bucket: int) -> Health:
    svc = current()
    return system_health(
        svc.engine, datetime.now(UTC), svc.settings.heartbeat_timeout, svc.settings.stale_after_intervals
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
    return current_station_aqi(current().engine, datetime.now(UTC))


def current_aqi_snapshot() -> list[StationAQI]:
    """The newest hourly AQI of every air station, worst first, shared by every screen."""
    return _current_aqi(time_bucket(current().settings.cache_seconds))


@cache.memoize()
def _exceedances_by_site(bucket: int, hours: int) -> list[SiteExceedances]:
    svc = current()
    now = datetime.now(UTC)
    limits = current_limits(svc.settings.limits_file)
    found = exceedances(svc.engine, limits, now - timedelta(hours=hours), now, tz=svc.settings.tz)
    facilities = sorted({e.facility_code for e in found if e.facility_code})
    return by_site(found, entity_names(svc.engine, facilities))


def exceedances_snapshot(hours: int = 24) -> list[SiteExceedances]:
    """Exceedances of the last ``hours`` grouped by facility or station, worst first."""
    return _exceedances_by_site(time_bucket(current().settings.cache_seconds), hours)


@cache.memoize()
def _completeness(bucket: int) -> list[ProvinceCompleteness]:
    svc = current()
    now = datetime.now(UTC)
    return completeness_by_province(svc.engine, now.astimezone(svc.settings.tz).date(), svc.settings.tz, now=now)


def completeness_snapshot() -> list[ProvinceCompleteness]:
    """Today's data completeness (so far) per province."""
    return _completeness(time_bucket(current().settings.cache_seconds))


@cache.memoize()
def _current_wqi(bucket: int, lang: str) -> list[StationWQI]:
    return current_station_wqi(current().engine, datetime.now(UTC), lang=lang)


def current_wqi_snapshot(lang: str) -> list[StationWQI]:
    """The VN_WQI of every surface-water station over the last 24 hours (labels in ``lang``)."""
    return _current_wqi(time_bucket(current().settings.cache_seconds), lang)




@cache.memoize()
def _kpis(bucket: int) -> list[KpiValue]:
    svc = current()
    catalogue = current_catalogue(svc.settings.kpis_file)
    return compute_kpis(svc.engine, catalogue, datetime.now(UTC), svc.settings.tz)


def kpis_snapshot() -> list[KpiValue]:
    """Every KPI of the catalogue now, with previous period and breakdown, shared by every screen.

    Raises :class:`settings.ConfigError` if the KPI file was broken after start-up.
    """
    return _kpis(time_bucket(current().settings.cache_seconds))


@cache.memoize()
def _newest_reading(bucket: int, subtypes: tuple[str, ...]) -> datetime | None:
    return newest_reading(current().engine, subtypes, datetime.now(UTC))


def newest_reading_snapshot(*subtypes: str) -> datetime | None:
    """Time of the newest reading of the stations of ``subtypes`` (e.g. "air", "wastewater")."""
    return _newest_reading(time_bucket(current().settings.cache_seconds), tuple(sorted(subtypes)))


@cache.memoize()
def _station_days(bucket: int, province: str) -> list[StationDay]:
    svc = current()
    now = datetime.now(UTC)
    return station_health(svc.engine, now.astimezone(svc.settings.tz).date(), svc.settings.tz, province=province, now=now)


def station_days_snapshot(province: str) -> list[StationDay]:
    """Today's data completeness (so far) of every station of ``province``."""
    return _station_days(time_bucket(current().settings.cache_seconds), province)


@cache.memoize()
def _alerts(bucket: int) -> tuple[list[AlertRow], dict[str, int]]:
    engine = current().engine
    return list_alerts(engine, state="open", limit=50), counts_by_severity(engine)


def alerts_snapshot() -> tuple[list[AlertRow], dict[str, int]]:
    """The open alerts (most severe, newest first) and their counts by severity."""
    return _alerts(time_bucket(current().settings.cache_seconds))


@cache.memoize()
def _warnings(bucket: int) -> list[ActiveWarning]:
    return active_warnings(current().engine, datetime.now(UTC))


def warnings_snapshot() -> list[ActiveWarning]:
    """Hydro-meteorological warnings (CAP) in force now, most severe first."""
    return _warnings(time_bucket(current().settings.cache_seconds))
