"""The operator's notification channels (YAML, ``config/notifications.yaml``), validated.

The file::

    channels:
      - name: ops-webhook            # unique, [a-z0-9_-]; the outbox keeps it, so do not rename lightly
        kind: webhook                # webhook | email
        enabled: true
        url: https://chat.example.vn/hooks/opscentre
        headers: {X-Source: opscentre}           # optional, sent as they are
        headers_from_env: {Authorization: OPS_WEBHOOK_AUTH}  # header → environment variable holding its value
        timeout: 10s
        # every channel kind:
        language: vi                 # vi | en, of the subject and text
        severities: [critical, major]            # default: all four
        events: [fired, refired, escalated, resolved]  # default: all four
        rate_limit: {max: 10, per: 1h}           # default: off; the excess waits and goes as one message
        digest: 15m                  # default: off (one message per event); else one message per interval
        retry: {max_attempts: 5, backoff: 30s, max_backoff: 1h}  # doubling delays, then "failed"
      - name: duty-officers
        kind: email
        smtp:
          host: smtp.example.vn
          port: 587
          security: starttls         # starttls | ssl | none
          username_env: OPS_SMTP_USER            # environment variable names, never the secrets
          password_env: OPS_SMTP_PASSWORD
          timeout: 30s
        from: canh-bao@example.vn
        from_name: Trung tâm điều hành           # optional display name
        to: [truc-ban@example.vn]

Errors raise :class:`settings.ConfigError` naming the file, the line and the fix;
an enabled channel whose environment variables are not set is an error too, at start-up
rather than at the first alert.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import httpx
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from alerts.rules import SEVERITIES, Duration
from store.schema import NOTIFICATION_EVENTS
from yaml_config import YamlFile, read_yaml, validate

_ADDRESS = re.compile(r"^[^@\s<>,]+@[^@\s<>,]+\.[^@\s<>,]+$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

Severity = Literal["critical", "major", "minor", "info"]
Event = Literal["fired", "refired", "escalated", "resolved"]
Positive = Annotated[Duration, Field(gt=0)]
EnvName = Annotated[str, Field(pattern=_ENV_NAME.pattern)]


def _off(value: Any) -> Any:
    # YAML 1.1 reads a bare `off` as False; "off", "none", 0 all mean no digest / no limit.
    if value is None or value is False or str(value).strip().lower() in {"off", "none", "0", "false"}:
        return None
    return value


def _address(value: Any) -> Any:
    if isinstance(value, str) and not _ADDRESS.match(value.strip()):
        raise ValueError(f"{value!r} is not an e-mail address; write e.g. truc-ban@example.vn")
    return value.strip() if isinstance(value, str) else value


Address = Annotated[str, BeforeValidator(_address)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class RateLimit(_Model):
    max: int = Field(ge=1)
    per: Positive


class Retry(_Model):
    max_attempts: int = Field(default=5, ge=1, le=100)
    backoff: Positive = 30
    max_backoff: Positive = 3600

    def delay(self, attempts: int) -> int:
        """Seconds to wait after the ``attempts``-th failed attempt: backoff, doubling, capped."""
        return min(self.backoff * 2 ** max(0, attempts - 1), self.max_backoff)


class _Channel(_Model):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,99}$")
    enabled: bool = True
    language: Literal["vi", "en"] = "vi"
    severities: tuple[Severity, ...] = Field(default=SEVERITIES, min_length=1)
    events: tuple[Event, ...] = Field(default=NOTIFICATION_EVENTS, min_length=1)
    rate_limit: Annotated[RateLimit | None, BeforeValidator(_off)] = None
    digest: Annotated[Positive | None, BeforeValidator(_off)] = None
    retry: Retry = Retry()

    def env_names(self) -> dict[tuple[str, ...], str]:
        """Key path in the file → environment variable name, for the start-up check."""
        return {}


class WebhookChannel(_Channel):
    kind: Literal["webhook"]
    url: str = Field(pattern=r"^https?://\S+$")
    headers: dict[str, str] = {}
    headers_from_env: dict[str, EnvName] = {}
    timeout: Positive = 10

    @field_validator("url")
    @classmethod
    def _parsable(cls, value: str) -> str:
        # What httpx would refuse at the first alert (a bad port, an unclosed [IPv6]) is refused now.
        try:
            parsed = httpx.URL(value)
        except httpx.InvalidURL as exc:
            raise ValueError(f"not a usable address: {exc}") from None
        if not parsed.host:
            raise ValueError("the address names no host")
        return value

    def env_names(self) -> dict[tuple[str, ...], str]:
        return {("headers_from_env", header): var for header, var in self.headers_from_env.items()}

    def all_headers(self) -> dict[str, str]:
        return {**self.headers, **{h: os.environ.get(v, "") for h, v in self.headers_from_env.items()}}


class SmtpServer(_Model):
    host: str = Field(min_length=1)
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username_env: EnvName | None = None
    password_env: EnvName | None = None
    timeout: Positive = 30


class EmailChannel(_Channel):
    kind: Literal["email"]
    smtp: SmtpServer
    from_: Address = Field(alias="from")
    from_name: str = "Trung tâm điều hành"
    to: tuple[Address, ...] = Field(min_length=1)

    def env_names(self) -> dict[tuple[str, ...], str]:
        names = {("smtp", "username_env"): self.smtp.username_env, ("smtp", "password_env"): self.smtp.password_env}
        return {loc: var for loc, var in names.items() if var}


Channel = Annotated[Union[WebhookChannel, EmailChannel], Field(discriminator="kind")]


class _File(_Model):
    channels: tuple[Channel, ...] = ()


@dataclass(frozen=True)
class Notifications:
    """The channels of one notifications file (disabled ones included: their cursors advance)."""

    channels: tuple[WebhookChannel | EmailChannel, ...] = ()
    path: Path | None = None

    def enabled(self) -> tuple[WebhookChannel | EmailChannel, ...]:
        return tuple(c for c in self.channels if c.enabled)


def _hint(err: dict[str, Any]) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        return "; remove it or check its spelling"
    if kind == "missing":
        return "; add it (see the example at the top of the file)"
    if kind == "union_tag_invalid" or kind == "union_tag_not_found":
        return "; use kind: webhook or kind: email"
    if kind == "string_pattern_mismatch" and err["loc"] and err["loc"][-1] == "name":
        return "; use lower-case letters, digits, '-' or '_'"
    if kind == "string_pattern_mismatch" and err["loc"] and err["loc"][-1] == "url":
        return "; write the full address, e.g. https://host/path"
    return ""


def load_notifications(path: Path) -> Notifications:
    """Parse and validate the notifications file; raise :class:`ConfigError` naming file, line and fix."""
    file: YamlFile = read_yaml(path, "notifications file", "NOTIFICATIONS_FILE")
    parsed = validate(file, _File, _hint)
    seen: dict[str, int] = {}
    for index, channel in enumerate(parsed.channels):
        line = file.line(("channels", index))
        if channel.name in seen:
            raise file.error(("channels", index, "name"), f"channel name {channel.name!r} is already used at line "
                                                          f"{seen[channel.name]}; give each channel its own name")
        seen[channel.name] = line
        if not channel.enabled:
            continue
        for loc, var in channel.env_names().items():
            if not os.environ.get(var):
                raise file.error(("channels", index, *loc),
                                 f"channel {channel.name!r}: the environment variable {var} is not set; "
                                 f"export it before starting, or set enabled: false")
    return Notifications(parsed.channels, Path(path))
