"""Load the operator's sources file (YAML) into validated :class:`SourceSpec` objects.

Each entry::

    - name: demo-air            # unique, [a-z0-9-]
      kind: demo                # an adapter kind from data_sources.registry
      every: 5m                 # or   cron: "*/5 * * * *"
      timeout: 60               # seconds a poll may take (default 60)
      enabled: true
      options: {...}            # the adapter's own options, validated by its model

Errors name the file, the line of the entry and the fix.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import yaml
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from pydantic import ValidationError

import data_sources  # noqa: F401  (registers the built-in kinds)
from data_sources.base import Adapter
from data_sources.registry import adapter_class
from settings import ConfigError

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_KEYS = {"name", "kind", "every", "cron", "timeout", "enabled", "options"}


@dataclass(frozen=True)
class SourceSpec:
    name: str
    kind: str
    schedule: str  # "every 5m" or "cron */5 * * * *", as shown to operators
    interval_seconds: int  # the expected time between polls, for staleness
    timeout_seconds: float
    enabled: bool
    adapter: Adapter
    line: int

    def trigger(self, tz: Any) -> IntervalTrigger | CronTrigger:
        if self.schedule.startswith("cron "):
            return CronTrigger.from_crontab(self.schedule[5:], timezone=tz)
        return IntervalTrigger(seconds=self.interval_seconds, timezone=tz)


def parse_duration(text: str) -> int:
    """'90s', '5m', '1.5h', '1d' → seconds."""
    m = _DURATION.match(str(text))
    if not m:
        raise ValueError(f"{text!r} is not a duration; write e.g. 30s, 5m, 1h or 1d")
    seconds = int(float(m.group(1)) * _UNIT_SECONDS[m.group(2)])
    if seconds < 1:
        raise ValueError(f"{text!r} is shorter than one second")
    return seconds


def _cron_interval(expr: str) -> int:
    trigger = CronTrigger.from_crontab(expr, timezone=timezone.utc)
    first = trigger.get_next_fire_time(None, datetime(2026, 1, 5, tzinfo=timezone.utc))
    second = trigger.get_next_fire_time(first, first + timedelta(seconds=1))
    return int((second - first).total_seconds())


def _entry_lines(text: str) -> list[int]:
    """1-based line of each item of the top-level ``sources`` list."""
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    if not isinstance(node, yaml.MappingNode):
        return []
    for key, value in node.value:
        if key.value == "sources" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []


def load_sources(path: Path) -> list[SourceSpec]:
    """Parse and validate ``path``; raise :class:`ConfigError` naming file, line and fix."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the sources file ({exc.strerror}); set SOURCES_FILE to an existing file")
    try:
        data = yaml.safe_load(text) or {}
        lines = _entry_lines(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ConfigError(f"{where}: not valid YAML ({getattr(exc, 'problem', exc)}); fix the indentation or quoting")
    if not isinstance(data, dict) or not isinstance(data.get("sources"), list):
        raise ConfigError(f"{path}:1: expected a top-level 'sources:' list of source entries")
    specs: list[SourceSpec] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(data["sources"]):
        line = lines[index] if index < len(lines) else 0
        spec = _load_entry(path, line, entry)
        if spec.name in seen:
            raise ConfigError(f"{path}:{line}: source name {spec.name!r} is already used at line {seen[spec.name]}; names must be unique")
        seen[spec.name] = line
        specs.append(spec)
    return specs


def _load_entry(path: Path, line: int, entry: Any) -> SourceSpec:
    def fail(message: str) -> ConfigError:
        return ConfigError(f"{path}:{line}: {message}")

    if not isinstance(entry, dict):
        raise fail("each source must be a mapping with name, kind, every/cron and options")
    unknown = set(entry) - _KEYS
    if unknown:
        raise fail(f"unknown key(s) {', '.join(sorted(unknown))}; allowed: {', '.join(sorted(_KEYS))}")
    name = str(entry.get("name", ""))
    if not _NAME.match(name):
        raise fail(f"name {name!r} must be lower-case letters, digits, '-' or '_'")
    kind = entry.get("kind")
    try:
        cls = adapter_class(str(kind))
    except KeyError as exc:
        raise fail(f"source {name!r}: {exc.args[0]}") from None
    if ("every" in entry) == ("cron" in entry):
        raise fail(f"source {name!r}: give exactly one of 'every: 5m' or 'cron: \"*/5 * * * *\"'")
    try:
        if "every" in entry:
            interval = parse_duration(entry["every"])
            schedule = f"every {entry['every']}"
        else:
            interval = _cron_interval(str(entry["cron"]))
            schedule = f"cron {entry['cron']}"
    except ValueError as exc:
        raise fail(f"source {name!r}: bad schedule: {exc}") from None
    try:
        timeout = float(entry.get("timeout", 60))
    except (TypeError, ValueError):
        raise fail(f"source {name!r}: timeout must be a number of seconds") from None
    if timeout <= 0:
        raise fail(f"source {name!r}: timeout must be positive")
    try:
        options = cls.Options.model_validate(entry.get("options") or {})
    except ValidationError as exc:
        problems = "; ".join(f"options.{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise fail(f"source {name!r} ({kind}): {problems}") from None
    return SourceSpec(
        name=name,
        kind=str(kind),
        schedule=schedule,
        interval_seconds=interval,
        timeout_seconds=timeout,
        enabled=bool(entry.get("enabled", True)),
        adapter=cls(name, options),
        line=line,
    )
