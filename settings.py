"""Runtime settings: environment variables, then an optional YAML file, then defaults.

Every setting can be given as an environment variable of the same name in upper case
(``DATABASE_URL``, ``REDIS_URL``, ``PORT`` ...). ``OPSCENTRE_CONFIG`` names an optional
YAML file with the same keys in lower case. A bad value stops start-up with a
:class:`ConfigError` that names the setting and the fix.
"""
from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, YamlConfigSettingsSource

ROOT = Path(__file__).resolve().parent

# An FTP account name doubles as its upload folder's name, so it must be a safe one.
_FTP_USER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# Settings whose raw value must never appear in an error message (they hold passwords).
_SECRET_SETTINGS = frozenset({"ftp_users"})


class ConfigError(Exception):
    """Configuration that cannot be used; the message tells the operator what to fix."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="forbid", case_sensitive=False)

    var_dir: Path = Field(default=ROOT / "var", description="where the SQLite file, cache and archives live")
    database_url: str = Field(default="", description="SQLAlchemy URL; empty means a SQLite file under var_dir")
    redis_url: str | None = Field(default=None, description="redis://host:port/db; empty means a filesystem cache")
    host: str = "127.0.0.1"
    port: int = Field(default=8050, ge=1, le=65535)
    timezone: str = "Asia/Ho_Chi_Minh"
    language: Literal["vi", "en"] = "vi"
    organisation_name: str = "Bộ Nông nghiệp và Môi trường"
    sources_file: Path = Field(default=ROOT / "config" / "sources.yaml")
    limits_file: Path = Field(default=ROOT / "config" / "limits.yaml")
    walls_file: Path = Field(default=ROOT / "config" / "walls.yaml", description="video-wall layouts (wall_config.py)")
    kpis_file: Path = Field(default=ROOT / "config" / "kpis.yaml")
    scheduler_heartbeat_seconds: float = Field(default=10.0, gt=0)
    # A source is stale when its last success is older than this many expected intervals.
    stale_after_intervals: float = Field(default=3.0, gt=1)
    # A station is offline after this many of its reporting intervals without a valid reading.
    offline_after_intervals: float = Field(default=3.0, gt=1)
    demo_backfill_days: float = Field(default=2.0, ge=0, le=90)
    page_refresh_seconds: float = Field(default=15.0, ge=1)
    cache_seconds: int = Field(default=10, ge=0)
    # Reads derived from the readings (AQI, KPIs, exceedances, ...) are shared until a poll
    # stores newer data, and recomputed at the latest after this long (the clock moves
    # them too: "today so far", sliding 24-hour windows). 0: as old as cache_seconds.
    cache_max_age_seconds: int = Field(default=300, ge=0)
    # Raw readings older than this go (hourly roll-ups stay); poll runs and quarantine after
    # records_retention_days. 0 keeps everything.
    raw_retention_days: int = Field(default=400, ge=0)
    records_retention_days: int = Field(default=180, ge=0)
    # The audit log is kept longer: who changed what is asked about long after.
    audit_retention_days: int = Field(default=730, ge=0)
    # The scheduler prunes once a day at this local time (HH:MM), while it holds the lease.
    prune_time: str = "03:30"
    alerts_file: Path = ROOT / "config" / "alerts.yaml"
    # Where alert notifications go (alerts/notify/): webhooks and e-mail; none are enabled by default.
    notifications_file: Path = ROOT / "config" / "notifications.yaml"
    # Optional FTP receiver (receivers/ftp.py), off by default: stations push their files
    # into the drop folder of the station_files source named by ftp_source, one folder per
    # account. ftp_users is "user:password,user2:password2" (a password may hold ':' but
    # not ','); ftp_passive_ports is "first-last" (a firewall must let that range through).
    ftp_enabled: bool = False
    ftp_host: str = "127.0.0.1"
    ftp_port: int = Field(default=2121, ge=1, le=65535)
    ftp_source: str = ""
    ftp_users: SecretStr = SecretStr("")
    ftp_passive_ports: str = "30000-30009"
    # Briefings (briefings/): the morning one at briefing_time (HH:MM in TIMEZONE); archived
    # briefings older than briefing_retention_days are deleted, files and rows.
    briefing_time: str = "07:00"
    briefing_retention_days: int = Field(default=90, ge=1)
    # Access control (auth/). The secret key signs session and CSRF cookies: empty means one
    # generated once into VAR_DIR/secret_key (scaled out, set it, the same for every worker).
    secret_key: SecretStr | None = None
    # Send cookies over HTTPS only: set true behind a TLS reverse proxy.
    cookie_secure: bool = False
    session_hours: float = Field(default=12.0, gt=0, le=24 * 30)
    # Read-only access to the views without signing in (a closed control room's own screens).
    anonymous_access: bool = False
    # The first admin's password on a new store; empty: generated and printed once by `make run`.
    admin_password: SecretStr | None = None
    # Single sign-on (off by default): trust this header's user name (e.g. X-Remote-User) when the
    # request comes from one of trusted_proxies (comma-separated addresses of the reverse proxy).
    trusted_user_header: str = ""
    trusted_proxies: str = "127.0.0.1,::1"
    # Reverse proxies in front of the app (deploy/nginx-opscentre.conf: 1) whose X-Forwarded-For
    # and X-Forwarded-Proto to believe: the client's address for the audit log and login throttle.
    proxy_count: int = Field(default=0, ge=0, le=5)

    @field_validator("briefing_time", "prune_time")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value.strip()):
            raise ValueError("use HH:MM on the 24-hour clock, e.g. 07:00")
        return value.strip()

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as 'Asia/Ho_Chi_Minh'") from None
        return value

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        if value and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("only sqlite:///path or postgresql://user@host/db URLs are supported")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("use redis://host:port/db (or leave it empty for the filesystem cache)")
        return value

    @field_validator("ftp_users")
    @classmethod
    def _ftp_accounts(cls, value: SecretStr) -> SecretStr:
        parse_ftp_users(value.get_secret_value())  # raises a message that never holds a password
        return value

    @field_validator("ftp_passive_ports")
    @classmethod
    def _passive_ports(cls, value: str) -> str:
        ports = port_range(value)
        return f"{ports.start}-{ports.stop - 1}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get("OPSCENTRE_CONFIG")
        if config_file:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=config_file))
        return tuple(sources)

    @property
    def trusted_proxy_addresses(self) -> frozenset[str]:
        return frozenset(a.strip() for a in self.trusted_proxies.split(",") if a.strip())

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def heartbeat_timeout(self) -> timedelta:
        """How old the scheduler's heartbeat may be before it counts as gone."""
        return timedelta(seconds=3 * self.scheduler_heartbeat_seconds)

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.var_dir / 'opscentre.db'}"

    @property
    def ftp_accounts(self) -> dict[str, str]:
        """FTP user name -> password, from ``ftp_users``."""
        return parse_ftp_users(self.ftp_users.get_secret_value())

    @property
    def ftp_passive_port_range(self) -> range:
        return port_range(self.ftp_passive_ports)


def parse_ftp_users(text: str) -> dict[str, str]:
    """``"user:password,user2:password2"`` -> ``{user: password}``; ValueError on a bad entry.

    Messages name the entry by its position and user name only, never its password.
    """
    accounts: dict[str, str] = {}
    for position, entry in enumerate((e.strip() for e in text.split(",")), start=1):
        if not entry:
            continue
        user, colon, password = entry.partition(":")
        user = user.strip()
        if not colon or not password:
            raise ValueError(f"entry {position} must be user:password (comma-separated entries)")
        if not _FTP_USER.match(user):
            raise ValueError(
                f"entry {position}: user name {user!r} must be letters, digits, '.', '_' or '-' "
                "(it names the account's upload folder) and not start with '.', '_' or '-'"
            )
        if user in accounts:
            raise ValueError(f"entry {position}: user {user!r} is listed twice")
        accounts[user] = password
    return accounts


def port_range(text: str) -> range:
    """``"30000-30009"`` (or one port ``"30000"``) -> the ports; ValueError if malformed."""
    m = re.fullmatch(r"\s*(\d{1,5})\s*(?:-\s*(\d{1,5})\s*)?", text)
    if not m:
        raise ValueError(f"{text!r} is not a port range; write e.g. 30000-30009")
    first, last = int(m.group(1)), int(m.group(2) or m.group(1))
    if not 1 <= first <= last <= 65535:
        raise ValueError(f"{text!r}: ports must be 1..65535, the first not above the last")
    return range(first, last + 1)


def load_settings(**overrides: Any) -> Settings:
    """Build the settings, turning validation errors into one readable :class:`ConfigError`."""
    config_file = os.environ.get("OPSCENTRE_CONFIG")
    if config_file and not Path(config_file).is_file():
        raise ConfigError(f"OPSCENTRE_CONFIG names {config_file!r}, which does not exist; fix the path or unset it")
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        where = f" (environment or {config_file})" if config_file else " (environment variable)"
        lines = []
        for err in exc.errors():
            name = ".".join(str(p) for p in err["loc"]) or "?"
            got = "<hidden>" if name in _SECRET_SETTINGS else err.get("input")
            lines.append(f"  {name.upper()}{where}: {err['msg']}; got {got!r}")
        raise ConfigError("invalid settings:\n" + "\n".join(lines)) from None
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    return settings
