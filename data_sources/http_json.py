"""Source kind ``http_json``: GET a JSON document over HTTP(S) and map it to readings.

A sources-file entry::

    - name: hanoi-air
      kind: http_json
      every: 5m
      timeout: 60                      # the whole poll, retries included
      options:
        url: https://host/api/readings
        params: {province: "01"}       # optional query-string parameters
        headers: {Accept-Language: vi} # optional fixed headers
        token_env: AIR_API_TOKEN       # optional: sends "Authorization: Bearer <value of $AIR_API_TOKEN>"
        header_env: {X-Api-Key: AIR_API_KEY}   # optional: header name -> env var holding its value
        request_timeout: 10            # seconds per HTTP request (default 10)
        retries: 2                     # extra attempts on connection errors, timeouts, HTTP 5xx (default 2)
        backoff_seconds: 0.5           # wait before the first retry, doubled each time (default 0.5)
        records: data.items            # path to the list of records ("" = the document is the list)
        entity: station_code           # path (in a record) to the entity code ...
        # entity_value: HN-01          # ... or one fixed code for every record
        time: observed_at              # path to the observation time
        timezone: Asia/Ho_Chi_Minh     # zone of times written without an offset (default)
        series:                        # metric name -> where its value is, and its unit
          PM2.5: {path: values.pm25, unit: "µg/m³"}
          NO2: {path: values.no2, unit: "µg/m³"}
        quality: status                # optional path to a device/quality status ...
        quality_map: {"00": 0, "01": 1, "02": 2}   # ... and how its codes map to quality flags 0-3
        entities:                      # optional: entities the readings belong to
          - {code: HN-01, kind: station, name: "Hà Nội - Hoàn Kiếm", province_code: "01", lat: 21.03, lon: 105.85}

Paths are dotted keys into the JSON, with integer segments indexing lists:
``data.items``, ``values.pm25``, ``stations.0.code``, ``readings.-1.value`` (negative
indexes count from the end). An empty path means the node itself. Keys that themselves
contain a dot cannot be addressed.

Times are ISO-8601 strings (``2025-03-01T08:00:00+07:00``, ``...Z``; a time without an
offset is read in ``timezone``) or numbers/digit strings of epoch seconds.

Values must be numbers or numeric strings. A metric whose path is absent from a
record, or whose value is ``null``, gives no reading for that record (not an error);
a record with none of its metrics present is quarantined. A record whose entity or
time is missing or invalid, whose value is not a number, or whose quality code is
not in ``quality_map`` is quarantined with the reason; the other records are still
stored. Without ``quality_map`` the status must already be a flag 0-3; a record
without the status field counts as valid (0).

The whole poll fails (and the Sources page shows why) when the server cannot be
reached, keeps answering 5xx, answers 4xx (never retried), the body is not JSON, or
the ``records`` path is missing or not a list.
"""
from __future__ import annotations

import json
import math
import os
import re
import time
from datetime import datetime, timezone
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from data_sources.base import Adapter, Batch, EntitySpec, Options, PollContext, Reading, Rejected, SourceError
from data_sources.registry import register
from data_sources.retry import Retryable, poll_deadline, within_deadline
from data_sources.tabular import QualityMap, TimeZoneName, check_env_name, describe

# Marks "the path does not exist", distinct from a JSON null.
_MISSING = object()
# A response bigger than this is a misconfigured URL (a dump, not a feed), not data.
_DEFAULT_MAX_BYTES = 50 * 1024 * 1024
_SNIPPET = 200


# ---------------------------------------------------------------------------- paths


def check_path(path: str) -> str:
    """Validate a dotted path: no empty segments (``a..b``, ``.a``)."""
    if path and any(part == "" for part in path.split(".")):
        raise ValueError(f"path {path!r} has an empty segment; write keys separated by single dots, e.g. data.items")
    return path


def resolve_path(node: Any, path: str) -> Any:
    """Follow ``path`` (dotted keys, integer list indexes) in ``node``; return ``_MISSING`` if absent."""
    if path == "":
        return node
    for part in path.split("."):
        if isinstance(node, dict):
            if part not in node:
                return _MISSING
            node = node[part]
        elif isinstance(node, list):
            try:
                index = int(part)
            except ValueError:
                return _MISSING
            if not -len(node) <= index < len(node):
                return _MISSING
            node = node[index]
        else:
            return _MISSING
    return node


# -------------------------------------------------------------------------- options


class SeriesSpec(BaseModel):
    """Where one metric's value is in a record, and its unit."""

    model_config = ConfigDict(extra="forbid")

    path: str
    unit: str = ""

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        # "PM2.5: values.pm25" is accepted as shorthand for {path: values.pm25}.
        return {"path": data} if isinstance(data, str) else data

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value:
            raise ValueError("a metric needs a non-empty path")
        return check_path(value)


class HttpJsonOptions(Options):
    url: str
    params: dict[str, str] = Field(default_factory=dict)
    headers: dict[str, str] = Field(default_factory=dict)
    token_env: str | None = None
    header_env: dict[str, str] = Field(default_factory=dict)
    request_timeout: float = Field(default=10.0, gt=0)
    retries: int = Field(default=2, ge=0, le=10)
    backoff_seconds: float = Field(default=0.5, ge=0)
    max_bytes: int = Field(default=_DEFAULT_MAX_BYTES, gt=0)
    records: str = ""
    entity: str | None = None
    entity_value: str | None = None
    time: str
    timezone: TimeZoneName = "Asia/Ho_Chi_Minh"
    series: Annotated[dict[str, SeriesSpec], Field(min_length=1)]
    quality: str | None = None
    quality_map: QualityMap = Field(default_factory=dict)
    entities: list[EntitySpec] = Field(default_factory=list)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"url {value!r} must start with http:// or https://")
        try:
            httpx.URL(value)
        except httpx.InvalidURL as exc:
            raise ValueError(f"url {value!r} is not valid: {exc}") from None
        return value

    @field_validator("records", "entity", "time", "quality")
    @classmethod
    def _paths(cls, value: str | None) -> str | None:
        return None if value is None else check_path(value)

    @field_validator("token_env")
    @classmethod
    def _token_env(cls, value: str | None) -> str | None:
        return None if value is None else check_env_name(value, example="AIR_API_TOKEN")

    @field_validator("header_env")
    @classmethod
    def _header_env(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value.values():
            check_env_name(name, example="AIR_API_TOKEN")
        return value

    @model_validator(mode="after")
    def _entity_choice(self) -> HttpJsonOptions:
        if (self.entity is None) == (self.entity_value is None):
            raise ValueError("give exactly one of 'entity: <path in each record>' or 'entity_value: <fixed code>'")
        if self.entity is not None and self.entity == "":
            raise ValueError("entity path must not be empty")
        if self.time == "":
            raise ValueError("time path must not be empty")
        if self.quality_map and self.quality is None:
            raise ValueError("quality_map needs 'quality: <path to the status code>'")
        return self


# --------------------------------------------------------------------------- mapping


class _RecordError(ValueError):
    """One record does not fit the mapping; it is quarantined, the poll goes on."""


def parse_time(raw: Any, tz: ZoneInfo) -> datetime:
    """ISO-8601 string or epoch seconds -> aware datetime; naive ISO times are read in ``tz``."""
    if isinstance(raw, bool):  # bool is an int in Python, never a time
        raise ValueError("is a boolean")
    if isinstance(raw, (int, float)):
        if not math.isfinite(raw):
            raise ValueError("is not a finite number")
        return datetime.fromtimestamp(raw, timezone.utc)
    if isinstance(raw, str):
        text = raw.strip()
        if re.fullmatch(r"\d+(\.\d+)?", text):
            return datetime.fromtimestamp(float(text), timezone.utc)
        parsed = datetime.fromisoformat(text)
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=tz)
    raise ValueError("is neither an ISO-8601 string nor epoch seconds")


def _number(raw: Any) -> float:
    if isinstance(raw, bool):
        raise ValueError
    if isinstance(raw, (int, float)):
        value = float(raw)
    elif isinstance(raw, str):
        value = float(raw.strip())
    else:
        raise ValueError
    if not math.isfinite(value):
        raise ValueError
    return value


def map_record(record: Any, options: HttpJsonOptions, tz: ZoneInfo) -> list[Reading]:
    """Turn one JSON record into readings; raise :class:`_RecordError` with the reason."""
    if options.entity_value is not None:
        entity = options.entity_value
    else:
        raw_entity = resolve_path(record, options.entity or "")
        if raw_entity is _MISSING or raw_entity is None:
            raise _RecordError(f"no entity code at '{options.entity}'")
        if isinstance(raw_entity, bool) or not isinstance(raw_entity, (str, int)):
            raise _RecordError(f"entity code at '{options.entity}' is {describe(raw_entity)}, not a string")
        entity = str(raw_entity).strip()
        if not entity:
            raise _RecordError(f"entity code at '{options.entity}' is empty")

    raw_time = resolve_path(record, options.time)
    if raw_time is _MISSING or raw_time is None:
        raise _RecordError(f"no time at '{options.time}'")
    try:
        ts = parse_time(raw_time, tz)
    except (ValueError, OverflowError, OSError) as exc:
        raise _RecordError(
            f"time {describe(raw_time)} at '{options.time}' is not ISO-8601 or epoch seconds ({exc})"
        ) from None

    quality = 0
    if options.quality is not None:
        raw_quality = resolve_path(record, options.quality)
        if raw_quality is not _MISSING and raw_quality is not None:
            quality = _quality(raw_quality, options)

    readings: list[Reading] = []
    for metric, spec in options.series.items():
        raw = resolve_path(record, spec.path)
        if raw is _MISSING or raw is None:
            continue  # this record simply does not report this metric
        try:
            value = _number(raw)
        except (ValueError, TypeError):
            raise _RecordError(f"value {describe(raw)} of {metric} at '{spec.path}' is not a number") from None
        readings.append(Reading(entity=entity, metric=metric, ts=ts, value=value, unit=spec.unit, quality=quality))
    if not readings:
        paths = ", ".join(f"'{s.path}'" for s in options.series.values())
        raise _RecordError(f"none of the metric paths ({paths}) has a value")
    return readings


def _quality(raw: Any, options: HttpJsonOptions) -> int:
    if options.quality_map:
        # Keys in YAML are strings; match the status as text so 1 and "1" both work.
        key = raw if isinstance(raw, str) else json.dumps(raw)
        if key not in options.quality_map:
            known = ", ".join(sorted(options.quality_map))
            raise _RecordError(f"quality code {describe(raw)} at '{options.quality}' is not in quality_map ({known})")
        return options.quality_map[key]
    if isinstance(raw, int) and not isinstance(raw, bool) and 0 <= raw <= 3:
        return raw
    raise _RecordError(f"quality {describe(raw)} at '{options.quality}' is not a flag 0-3; add a quality_map")


def map_document(document: Any, options: HttpJsonOptions, ref: str) -> tuple[list[Reading], list[Rejected]]:
    """Map a whole response; a missing or non-list ``records`` path fails the poll."""
    records = resolve_path(document, options.records)
    where = f"records path '{options.records}'" if options.records else "the response root"
    if records is _MISSING:
        raise SourceError(f"response from {ref} does not match the mapping: {where} is missing")
    if not isinstance(records, list):
        kind = "null" if records is None else type(records).__name__.replace("dict", "object")
        raise SourceError(f"response from {ref} does not match the mapping: {where} is {kind}, not a list")
    tz = ZoneInfo(options.timezone)
    readings: list[Reading] = []
    rejected: list[Rejected] = []
    for index, record in enumerate(records):
        try:
            readings.extend(map_record(record, options, tz))
        except _RecordError as exc:
            payload = json.dumps(record, ensure_ascii=False, default=str)
            rejected.append(Rejected(reason=f"record {index}: {exc}", payload=payload, ref=ref))
    return readings, rejected


# --------------------------------------------------------------------------- fetching


def display_url(url: httpx.URL | str) -> str:
    """The URL as shown to operators: never with a password in it."""
    url = httpx.URL(str(url))
    return str(url.copy_with(password=None)) if url.password else str(url)


def _snippet(data: bytes) -> str:
    text = data[:_SNIPPET].decode("utf-8", errors="replace").strip()
    text = " ".join(text.split())
    return text + ("..." if len(data) > _SNIPPET else "")


def _secret(env_name: str, header: str) -> str:
    value = os.environ.get(env_name)
    if value is None or not value.strip():
        state = "is not set" if value is None else "is empty"
        raise SourceError(
            f"environment variable {env_name} {state}; set it to this source's credential (sent in the {header} header)"
        )
    return value.strip()


@register
class HttpJsonAdapter(Adapter):
    kind = "http_json"
    Options = HttpJsonOptions

    options: HttpJsonOptions

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json", **self.options.headers}
        # Secrets are read at poll time, so the sources file never holds them and a
        # rotated value is picked up without a restart.
        for header, env_name in self.options.header_env.items():
            headers[header] = _secret(env_name, header)
        if self.options.token_env:
            headers["Authorization"] = f"Bearer {_secret(self.options.token_env, 'Authorization')}"
        return headers

    def fetch(self, ctx: PollContext) -> Any:
        """GET the URL with retries inside the poll's time budget; return the parsed JSON."""
        opts = self.options
        headers = self._headers()
        deadline = poll_deadline(ctx)
        shown = display_url(opts.url)
        with httpx.Client(follow_redirects=True, headers=headers) as client:
            return within_deadline(lambda timeout: self._attempt(client, timeout, deadline, shown),
                                   retries=opts.retries, request_timeout=opts.request_timeout,
                                   backoff_seconds=opts.backoff_seconds, deadline=deadline, ctx=ctx,
                                   what=f"request {shown}")

    def _attempt(self, client: httpx.Client, timeout: float, deadline: float, shown: str) -> Any:
        opts = self.options
        try:
            with client.stream("GET", opts.url, params=opts.params or None, timeout=timeout) as response:
                body = bytearray()
                # httpx's read timeout is per chunk; check the overall deadline too so a
                # server trickling bytes cannot hold the poll forever.
                for chunk in response.iter_bytes():
                    body.extend(chunk)
                    if len(body) > opts.max_bytes:
                        raise SourceError(
                            f"response from {shown} is larger than max_bytes ({opts.max_bytes}); check the URL"
                        )
                    if time.monotonic() > deadline:
                        raise httpx.ReadTimeout("response still arriving at the poll deadline")
        except httpx.TimeoutException as exc:
            detail = str(exc) or exc.__class__.__name__
            raise Retryable(f"request to {shown} timed out after {timeout:g} s ({detail})") from None
        except httpx.UnsupportedProtocol as exc:
            raise SourceError(f"cannot request {shown}: {exc}") from None
        except httpx.TransportError as exc:
            detail = str(exc) or exc.__class__.__name__
            raise Retryable(f"cannot connect to {shown}: {detail}") from None
        status = response.status_code
        if status >= 500:
            raise Retryable(f"HTTP {status} {response.reason_phrase} from {shown}: {_snippet(bytes(body))}")
        if status >= 400:
            hint = " - check the credentials (token_env/header_env)" if status in (401, 403) else ""
            raise SourceError(f"HTTP {status} {response.reason_phrase} from {shown}{hint}: {_snippet(bytes(body))}")
        if status >= 300:
            raise SourceError(f"HTTP {status} {response.reason_phrase} from {shown}: unexpected redirect response")
        try:
            return json.loads(bytes(body))
        except (ValueError, UnicodeDecodeError) as exc:
            start = _snippet(bytes(body))
            raise SourceError(f"response is not JSON: {exc} (from {shown}, body starts: {start!r})") from None

    def poll(self, ctx: PollContext) -> Batch:
        document = self.fetch(ctx)
        ref = display_url(self.options.url)
        readings, rejected = map_document(document, self.options, ref)
        entities = [spec.to_entity() for spec in self.options.entities]
        return Batch(entities=entities, readings=readings, rejected=rejected)


__all__ = ["HttpJsonAdapter", "HttpJsonOptions", "map_document", "map_record", "parse_time", "resolve_path"]
