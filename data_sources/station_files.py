"""Source kind ``station_files``: per-transmission text files of automatic monitoring stations.

Automatic, continuous stations (air, surface water, wastewater, stack emissions) push
one small text file per transmission, usually by FTP into a folder per station::

    <Province>_<Facility>_<Station>_<yyyyMMddhhmmss>.txt      e.g. HN_KCNTL_NT01_20250701103000.txt

with one parameter per line, fields separated by a tab (runs of spaces tolerated; an
empty field, like a pH line's unit, only between single tabs)::

    <parameter>\\t<value>\\t<unit>\\t<yyyyMMddhhmmss>\\t<status>      e.g. COD\\t45.20\\tmg/L\\t20250701103000\\t00

A sources-file entry (every option but ``folder`` has a default)::

    - name: national-stations
      kind: station_files
      every: 1m
      timeout: 120
      options:
        folder: /srv/ftp/stations            # searched recursively (a folder per station is common)
        # recursive: true                    # false: only the folder itself
        # archive_folder: /srv/ftp/stations/archive       (default <folder>/archive)
        # quarantine_folder: /srv/ftp/stations/quarantine (default <folder>/quarantine)
        patterns: ["*.txt"]                  # file-name patterns to take (case-insensitive)
        settle_seconds: 2                    # leave files changed this recently for the next poll
        max_files: 5000                      # at most this many files per poll, oldest first
        timezone: Asia/Ho_Chi_Minh           # file times are local times in this zone
        # The file-name layout: a regex matched against the whole file name, with named
        # groups for station_code; an optional `time` group (14 digits, local time) is
        # the transmission time that line times are checked against.
        filename_pattern: '(?P<province>[^_]+)_(?P<facility>.+)_(?P<station>[^_]+)_(?P<time>\\d{14})\\.txt'
        station_code: "{station}"            # registry code of the station, e.g. "{province}-{station}"
        fields: [parameter, value, unit, time, status]   # order of a line's fields; "skip" ignores one
        parameters: {"PM2,5": PM2.5, "Nhiệt độ": Temp, NH4: NH4+}   # aliases -> metric names
        # known_parameters: [pH, COD, TSS, NH4+, Temp, Flow]   # if set, other parameters are rejected
        # known_stations: [NT01, NT02]       # if set, files of other stations are quarantined
        status_map: {"00": 0, "01": 1, "02": 2}    # device status (quoted) -> quality 0 measuring, 1 calibrating, 2 fault, 3 suspect
        max_skew: 1d                         # a line time this far from the file-name time is implausible
        convert_ppm: true                    # gas ppm/ppb -> µg/m³ at 25 °C, 1 atm (known gases only)
        unit_conversions:                    # extends/overrides UNIT_RULES (keys matched loosely)
          "mg/l N": {to: mg/L}
          "g/m3": {to: µg/m³, factor: 1000000}

The station must exist in the store's registry: this adapter does not declare
stations (the registry is loaded from its own source). Readings of a station the store
does not know are quarantined by :mod:`ingest`, one row each, with the reason
``unknown entity code '<code>'``; set ``known_stations`` to quarantine such files as a
whole instead, with the file name in the reason.

Units are normalised to one canonical unit per kind of quantity (:data:`UNIT_RULES`):
ambient gases and particulates (CO included) in ``µg/m³`` (``mg/m³`` ×1000, gas ppm/ppb
at 25 °C when ``convert_ppm``), stack emissions in ``mg/Nm³`` (``mg/Nm3``, ``mg/nm3``…),
water in ``mg/L`` (``mg/l``…), coliform in ``MPN/100 mL``, temperature in ``°C`` (``oC``,
``độ C``, ``℃``, °F converted), flow in ``m³/h`` (``m3/h``, ``m3/s``, ``l/s``, ``m3/ngày``).
An unknown unit is kept as written (trimmed); a series whose unit changes is then
caught by :mod:`ingest` ("unit … differs from the series unit …").

Parsing is tolerant: bytes are decoded as UTF-8 (a byte-order mark is dropped), CRLF
or CR line ends, tabs or runs of spaces between fields (a parameter or unit with a
space inside, like ``Nhiệt độ`` or ``MPN/100 mL``, is recovered when the other fields
identify it), decimal comma (``45,20``), blank lines and surrounding whitespace are all
fine. Every non-blank line becomes either one reading or one quarantine record with
ref ``<file>:<line>`` and a reason; nothing is dropped silently and no input raises.

Outcomes (each covered by ``tests/test_station_files.py``):

================== ===========================================================================
Case               Outcome
================== ===========================================================================
late file          ingested normally; the store's upsert puts it in its place in time
duplicate file     ingested again, nothing changes (idempotent upsert); archived as ``name_1``
out of order       fine: each reading carries its own time
truncated file     the cut-short last line is rejected (``file:line``), the rest is ingested
empty / blank /    the file goes to the quarantine folder with ``<name>.reason.txt`` and one
binary / no valid  quarantine record (ref = file name); lines that were read are also
line               quarantined one by one
not UTF-8          quarantined as a file: "not UTF-8 text"
name not matching  quarantined as a file: "file name does not match options.filename_pattern"
unknown station    ingest quarantines each reading: "unknown entity code '<code>'"; with
                   ``known_stations`` the file is quarantined as a whole instead
unknown parameter  ingested as a new series; with ``known_parameters``, a per-line rejection
bad value          per-line rejection ("value … is not a number"; NaN/inf included)
bad timestamp      per-line rejection; a line time more than ``max_skew`` from the file-name
                   time is rejected as implausible (ingest also rejects times >10 min ahead)
status 01 / 02     ingested with quality 1 (calibrating) / 2 (fault), never dropped
unknown status     per-line rejection ("unknown status code …; options.status_map knows …")
same key twice     within one poll the later line wins (as a later poll would)
================== ===========================================================================

Folder handling is the ``files`` kind's: a file is taken once its size and time have
not changed for ``settle_seconds``; after the batch is committed it moves to
``archive/<yyyy-mm-dd>/<its sub-folder>/<name>``, or to ``quarantine/<its sub-folder>/``
with a reason file; a name clash gets ``_1``, ``_2``…, nothing is overwritten (on
Linux one ``renameat2(RENAME_NOREPLACE)`` call per file, else the ``files`` kind's
hard link). If storing fails the files stay where they were and the next poll takes
them again. Archive and quarantine folders inside the drop folder are never read.

Speed (``bench/station_files.py``): parsing keeps lookup caches per source and a fast
path for clean tab-separated lines whose texts were seen before; files are read and
moved with plain ``os`` calls. A poll of more than 10,000 files (a backlog; it needs
``max_files`` above that) is read and parsed by a worker process, in parts of about
10,000 files holding all the files of their stations, while this process stores the
previous part, all in the one transaction; when the worker lags this process reads a
part itself, and if it fails its parts are read here: the outcome is the same. The
worker is spawned once (so entry scripts need their ``if __name__ == "__main__"``
guard) and kept. See ``bench/README.md`` for the figures.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import errno
import fnmatch
import logging
import math
import multiprocessing
import os
import re
import string
import sys
import threading
import time
import unicodedata
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from data_sources.base import Adapter, Batch, Options, PollContext, Reading, Rejected, SourceError
from data_sources.files import _REASON_SUFFIX, move_without_overwrite, preview
from data_sources.registry import register
from data_sources.tabular import QualityMap, TimeZoneName

log = logging.getLogger(__name__)

DEFAULT_FILENAME_PATTERN = r"(?P<province>[^_]+)_(?P<facility>.+)_(?P<station>[^_]+)_(?P<time>\d{14})\.txt"
FIELD_NAMES = ("parameter", "value", "unit", "time", "status")
_SKIP = "skip"
_ATOMIC = frozenset({"value", "time", "status", _SKIP})  # fields that never contain a space
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}
_MAX_EXTRA_TOKENS = 8  # a space-separated line with more surplus words than this is not regrouped
_SNIPPET = 40
_CACHE_LIMIT = 50_000  # entries per lookup cache of a parser


# ------------------------------------------------------------------------------ units


@dataclass(frozen=True)
class UnitRule:
    """``canonical = value * factor + offset``, written in unit ``to``."""

    to: str
    factor: float = 1.0
    offset: float = 0.0


def unit_key(unit: str) -> str:
    """A unit spelling reduced for lookup: case, spaces, µ/μ/u, ³/^3/3 and °/º/o all alike."""
    u = unicodedata.normalize("NFC", unit).strip().lower()
    for old, new in (("μ", "u"), ("µ", "u"), ("³", "3"), ("^", ""), ("²", "2"), ("º", "°"), (" ", ""), ("\t", "")):
        u = u.replace(old, new)
    return u


UG_M3, MG_NM3, MG_L, DEG_C, M3_H = "µg/m³", "mg/Nm³", "mg/L", "°C", "m³/h"

_SPELLINGS: list[tuple[tuple[str, ...], UnitRule]] = [
    # ambient air: gases and particulates in µg/m³ (CO too)
    (("µg/m3", "ug/m3", "mcg/m3", "µg/m³"), UnitRule(UG_M3)),
    (("mg/m3", "mg/m³"), UnitRule(UG_M3, 1000.0)),
    (("ng/m3",), UnitRule(UG_M3, 0.001)),
    # stack emissions at normal conditions in mg/Nm³
    (("mg/Nm3", "mg/Nm³", "mg/N.m3", "mg/m3N", "mg/normal m3"), UnitRule(MG_NM3)),
    (("µg/Nm3", "ug/Nm3"), UnitRule(MG_NM3, 0.001)),
    (("g/Nm3",), UnitRule(MG_NM3, 1000.0)),
    # water in mg/L
    (("mg/L", "mg/l", "mg/lit", "mg/litre", "mg/liter", "mg/lít"), UnitRule(MG_L)),
    (("µg/L", "ug/l", "mcg/l"), UnitRule(MG_L, 0.001)),
    (("g/L",), UnitRule(MG_L, 1000.0)),
    (("MPN/100ml", "MPN/100 mL"), UnitRule("MPN/100 mL")),
    (("CFU/100ml", "CFU/100 mL"), UnitRule("CFU/100 mL")),
    # temperature in °C
    (("°C", "oC", "℃", "degC", "deg C", "deg.C", "độ C", "do C", "C", "Celsius"), UnitRule(DEG_C)),
    (("°F", "oF", "℉", "degF"), UnitRule(DEG_C, 5 / 9, -32 * 5 / 9)),
    (("K", "kelvin"), UnitRule(DEG_C, 1.0, -273.15)),
    # flow in m³/h
    (("m3/h", "m³/h", "m3/hr", "m3/hour", "m3/giờ", "m3/gio"), UnitRule(M3_H)),
    (("m3/s",), UnitRule(M3_H, 3600.0)),
    (("m3/min", "m3/phút"), UnitRule(M3_H, 60.0)),
    (("l/s", "L/s"), UnitRule(M3_H, 3.6)),
    (("m3/d", "m3/day", "m3/ngày", "m3/ngay", "m3/24h"), UnitRule(M3_H, 1 / 24)),
    # others: one spelling each
    (("%", "%RH", "% RH"), UnitRule("%")),
    (("pH", "-", "none"), UnitRule("")),
    (("mV",), UnitRule("mV")),
    (("NTU",), UnitRule("NTU")),
    (("µS/cm", "uS/cm"), UnitRule("µS/cm")),
    (("mS/cm",), UnitRule("µS/cm", 1000.0)),
    (("Pt-Co", "Pt/Co", "PtCo"), UnitRule("Pt-Co")),
    (("m/s",), UnitRule("m/s")),
    (("km/h",), UnitRule("m/s", 1 / 3.6)),
    (("hPa", "mbar"), UnitRule("hPa")),
    (("kPa",), UnitRule("hPa", 10.0)),
    (("W/m2", "W/m²"), UnitRule("W/m²")),
    (("mm",), UnitRule("mm")),
]

#: Unit spelling (as :func:`unit_key`) -> rule; extended per source by ``options.unit_conversions``.
UNIT_RULES: dict[str, UnitRule] = {unit_key(s): rule for spellings, rule in _SPELLINGS for s in spellings}

#: Molar masses (g/mol) for gas ppm/ppb -> µg/m³ at 25 °C and 1 atm (molar volume 24.45 L).
MOLAR_MASS: dict[str, float] = {
    "SO2": 64.066, "NO2": 46.0055, "NO": 30.006, "NOx": 46.0055, "NOX": 46.0055, "CO": 28.010,
    "O3": 47.997, "NH3": 17.031, "H2S": 34.08, "CH4": 16.043, "HCl": 36.46, "HF": 20.006,
}
MOLAR_VOLUME_25C = 24.45


# ---------------------------------------------------------------------------- options


class UnitConversion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: str
    factor: float = 1.0
    offset: float = 0.0

    @field_validator("factor", "offset")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value


def parse_seconds(value: Any) -> float:
    """A duration as seconds: 86400, "90s", "30m", "6h", "1d"."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        m = _DURATION.match(str(value))
        if not m:
            raise ValueError(f"{value!r} is not a duration; write e.g. 30m, 6h or 1d")
        seconds = float(m.group(1)) * _UNIT_SECONDS[m.group(2)]
    if not seconds > 0:
        raise ValueError("must be longer than zero")
    return seconds


class StationFilesOptions(Options):
    folder: str = Field(min_length=1)
    archive_folder: str | None = None
    quarantine_folder: str | None = None
    patterns: list[str] = Field(default_factory=lambda: ["*.txt"], min_length=1)
    recursive: bool = True
    settle_seconds: float = Field(default=2.0, ge=0)
    max_files: int = Field(default=5000, ge=1)
    timezone: TimeZoneName = "Asia/Ho_Chi_Minh"
    filename_pattern: str = DEFAULT_FILENAME_PATTERN
    station_code: str = "{station}"
    fields: list[str] = Field(default_factory=lambda: list(FIELD_NAMES))
    parameters: dict[str, str] = Field(default_factory=dict)
    known_parameters: list[str] | None = None
    known_stations: list[str] | None = None
    status_map: QualityMap = Field(default_factory=lambda: {"00": 0, "01": 1, "02": 2})
    max_skew: float = 86400.0
    convert_ppm: bool = True
    unit_conversions: dict[str, UnitConversion] = Field(default_factory=dict)

    @field_validator("patterns")
    @classmethod
    def _patterns(cls, value: list[str]) -> list[str]:
        for pattern in value:
            if not pattern or "/" in pattern or "\\" in pattern:
                raise ValueError(f"pattern {pattern!r} must be a file-name pattern like *.txt, without folders")
        return value

    @field_validator("max_skew", mode="before")
    @classmethod
    def _skew(cls, value: Any) -> float:
        return parse_seconds(value)

    @field_validator("filename_pattern")
    @classmethod
    def _regex(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
        return value

    @field_validator("fields")
    @classmethod
    def _fields(cls, value: list[str]) -> list[str]:
        names = [str(v).strip().lower() for v in value]
        unknown = [n for n in names if n not in FIELD_NAMES and n != _SKIP]
        if unknown:
            raise ValueError(f"unknown field name(s) {unknown}; use {', '.join(FIELD_NAMES)} or {_SKIP}")
        for required in ("parameter", "value", "time"):
            if names.count(required) != 1:
                raise ValueError(f"fields must name {required!r} exactly once")
        for optional in ("unit", "status"):
            if names.count(optional) > 1:
                raise ValueError(f"fields may name {optional!r} at most once")
        return names

    @field_validator("status_map")
    @classmethod
    def _status_map(cls, value: dict[str, int]) -> dict[str, int]:
        return {str(k).strip(): v for k, v in value.items()}

    @model_validator(mode="after")
    def _template(self) -> StationFilesOptions:
        groups = set(re.compile(self.filename_pattern).groupindex)
        try:
            used = {name for _, name, _, _ in string.Formatter().parse(self.station_code) if name is not None}
        except ValueError as exc:
            raise ValueError(f"station_code {self.station_code!r} is not a valid template: {exc}") from None
        if not used:
            raise ValueError("station_code must use at least one part of the file name, e.g. '{station}'")
        missing = sorted(n for n in used if n not in groups)
        if missing:
            raise ValueError(
                f"station_code uses {missing}, which filename_pattern has no named group for "
                f"(it has: {', '.join(sorted(groups)) or 'none'})"
            )
        return self


# ----------------------------------------------------------------------------- parsing


class ParsedFile(NamedTuple):
    """What :func:`parse_station_file` makes of one file.

    ``lines`` counts the non-blank lines examined (0 when the file was refused as a
    whole before its lines were read); each of them is one reading or one line
    rejection (ref ``<name>:<line>``). When no reading came out, ``rejected`` also holds
    one file-level record (ref ``<name>``) saying why the file is quarantined.
    """

    readings: list[Reading]
    rejected: list[Rejected]
    lines: int


@dataclass
class _Columns:
    """Readings as column lists (epoch seconds), cheap to turn into one DataFrame."""

    entity: list[str] = field(default_factory=list)
    metric: list[str] = field(default_factory=list)
    ts: list[int] = field(default_factory=list)
    value: list[float] = field(default_factory=list)
    unit: list[str] = field(default_factory=list)
    quality: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ts)

    def frame(self) -> pd.DataFrame:
        # Texts as categories: a few thousand distinct ones repeat over every row, so ingest
        # factorizes codes instead of strings (and a part from the worker process pickles small).
        return pd.DataFrame(
            {
                "entity": pd.Categorical(self.entity),
                "metric": pd.Categorical(self.metric),
                "ts": np.array(self.ts, dtype="int64"),
                "value": np.array(self.value, dtype="float64"),
                "unit": pd.Categorical(self.unit),
                "quality": np.array(self.quality, dtype="int64"),
            }
        )


class _LineError(ValueError):
    pass


class _Bad(str):
    """A cached failure: the reason (a new _LineError is raised each time, never the same one)."""


def _snippet(text: str) -> str:
    return repr(text if len(text) <= _SNIPPET else text[: _SNIPPET - 1] + "…")


class StationFileParser:
    """Compiled options plus lookup caches; :meth:`parse_into` is the hot path."""

    def __init__(self, opts: StationFilesOptions) -> None:
        self.opts = opts
        self.tz = ZoneInfo(opts.timezone)
        self.name_re = re.compile(opts.filename_pattern)
        self.has_time = "time" in self.name_re.groupindex
        self._template_groups = sorted(
            {f for _, f, _, _ in string.Formatter().parse(opts.station_code) if f is not None}
        )
        self.fields = opts.fields
        self.n = len(opts.fields)
        self.i_param = opts.fields.index("parameter")
        self.i_value = opts.fields.index("value")
        self.i_time = opts.fields.index("time")
        self.i_unit = opts.fields.index("unit") if "unit" in opts.fields else None
        self.i_status = opts.fields.index("status") if "status" in opts.fields else None
        self.status_map = dict(opts.status_map)
        self.skew = opts.max_skew
        self.known_parameters = None if opts.known_parameters is None else set(opts.known_parameters)
        self.known_stations = None if opts.known_stations is None else set(opts.known_stations)
        aliases = {unicodedata.normalize("NFC", k).strip(): v.strip() for k, v in opts.parameters.items()}
        self.aliases = aliases
        self.aliases_folded = {k.casefold(): v for k, v in aliases.items()}
        self.unit_rules = dict(UNIT_RULES)
        for spelling, conv in opts.unit_conversions.items():
            self.unit_rules[unit_key(spelling)] = UnitRule(conv.to, conv.factor, conv.offset)
        self.field_list = ", ".join(opts.fields)
        # Caches: the same few strings come back in every file.
        self._metric_cache: dict[str, str] = {}  # a _Bad value is a reason
        self._unit_cache: dict[tuple[str, str], UnitRule] = {}
        self._time_cache: dict[str, int | _Bad] = {}
        self._station_cache: dict[str | tuple[str, ...] | None, str] = {}
        # Successes only, keyed by the exact field text: the fast path of clean lines.
        self._fast_metric: dict[str, str] = {}
        self._fast_time: dict[str, int] = {}
        self._fast_unit: dict[tuple[str, str], tuple[str, float, float]] = {}
        self._fast = self.i_unit is not None and self.i_status is not None

    # -- pieces

    @staticmethod
    def _memo(cache: dict, fast: dict, raw: str, compute: Any, ok_type: type) -> Any:
        """``compute(raw)`` remembered, failures included (a bad field repeats in every file)."""
        found = cache.get(raw)
        if found is None:
            try:
                found = compute(raw)
            except _LineError as exc:
                found = _Bad(exc)
            _trim(cache, fast)
            cache[raw] = found
            if type(found) is ok_type:
                fast[raw] = found
        if type(found) is _Bad:
            raise _LineError(found)
        return found

    def metric(self, raw: str) -> str:
        return self._memo(self._metric_cache, self._fast_metric, raw, self._metric, str)

    def _metric(self, raw: str) -> str:
        name = unicodedata.normalize("NFC", raw).strip()
        if not name:
            raise _LineError("the parameter name is empty")
        metric = self.aliases.get(name) or self.aliases_folded.get(name.casefold()) or name
        if self.known_parameters is not None and metric not in self.known_parameters:
            shown = f"{_snippet(name)} (read as {metric!r})" if metric != name else _snippet(name)
            raise _LineError(f"unknown parameter {shown}: not in options.known_parameters")
        if len(metric) > 100:
            raise _LineError(f"parameter name {_snippet(metric)} is longer than 100 characters")
        return metric

    def unit(self, metric: str, raw: str) -> UnitRule:
        key = (metric, raw)
        rule = self._unit_cache.get(key)
        if rule is None:
            rule = self._unit(metric, raw)
            _trim(self._unit_cache, self._fast_unit)
            self._unit_cache[key] = rule
            self._fast_unit[key] = (rule.to, rule.factor, rule.offset)
        return rule

    def _unit(self, metric: str, raw: str) -> UnitRule:
        k = unit_key(raw)
        if self.opts.convert_ppm and k in ("ppm", "ppb") and metric in MOLAR_MASS:
            ug_per_ppb = MOLAR_MASS[metric] / MOLAR_VOLUME_25C
            return UnitRule(UG_M3, ug_per_ppb * (1000.0 if k == "ppm" else 1.0))
        rule = self.unit_rules.get(k)
        return rule if rule is not None else UnitRule(raw.strip()[:40])

    def epoch(self, raw: str) -> int:
        return self._memo(self._time_cache, self._fast_time, raw, self._epoch, int)

    def _epoch(self, raw: str) -> int:
        if len(raw) != 14 or not (raw.isascii() and raw.isdigit()):
            raise _LineError(f"time {_snippet(raw)} is not yyyyMMddhhmmss (14 digits)")
        try:
            local = datetime(
                int(raw[0:4]), int(raw[4:6]), int(raw[6:8]), int(raw[8:10]), int(raw[10:12]), int(raw[12:14]),
                tzinfo=self.tz,
            )
            return int(local.timestamp())
        except (ValueError, OverflowError):
            raise _LineError(f"time {_snippet(raw)} is not a valid date and time") from None

    def station(self, name: re.Match[str]) -> str:
        """The station code of a file name matched by ``filename_pattern``."""
        key = name.group(*self._template_groups)  # a text, or a tuple of them: what the code depends on
        code = self._station_cache.get(key)
        if code is None:
            code = self.opts.station_code.format_map({k: (v or "") for k, v in name.groupdict().items()}).strip()
            _trim(self._station_cache)
            self._station_cache[key] = code
        return code

    @staticmethod
    def number(raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            try:
                value = float(raw.replace(",", "."))
            except ValueError:
                raise _LineError(f"value {_snippet(raw)} is not a number") from None
        if "_" in raw or not math.isfinite(value):
            raise _LineError(f"value {_snippet(raw)} is not a finite number")
        return value

    # -- lines

    def split(self, line: str) -> list[str]:
        """A line's fields: by tabs, else by runs of spaces, regrouping words of a spaced name."""
        if "\t" in line:
            parts = [p.strip() for p in line.split("\t")]
            if len(parts) == self.n:
                return parts  # an empty field (a pH line without unit) stays in its place
            if "" in parts:
                parts = [p for p in parts if p]  # runs of tabs used to align columns
                if len(parts) == self.n:
                    return parts
        tokens = line.split()
        if len(tokens) == self.n:
            return tokens
        if len(tokens) < self.n:
            raise _LineError(
                f"line has {len(tokens)} field(s), expected {self.n} ({self.field_list}): "
                f"a field is missing or the line is cut short"
            )
        regrouped = self._regroup(tokens)
        if regrouped is None:
            raise _LineError(f"line has {len(tokens)} fields, expected {self.n} ({self.field_list})")
        return regrouped

    def _regroup(self, tokens: list[str]) -> list[str] | None:
        """Give surplus words to the fields that may hold spaces (parameter, unit); first fit wins."""
        extra = len(tokens) - self.n
        free = [i for i, name in enumerate(self.fields) if name not in _ATOMIC]
        if not free or extra > _MAX_EXTRA_TOKENS:
            return None
        for shares in _compositions(extra, len(free)):
            widths = [1] * self.n
            for i, share in zip(free, shares):
                widths[i] += share
            fields, pos = [], 0
            for w in widths:
                fields.append(" ".join(tokens[pos : pos + w]))
                pos += w
            if self._plausible(fields):
                return fields
        return None

    def _plausible(self, fields: list[str]) -> bool:
        try:
            self.number(fields[self.i_value])
            self.epoch(fields[self.i_time])
        except _LineError:
            return False
        return self.i_status is None or fields[self.i_status] in self.status_map

    def parse_line(self, line: str, station: str, file_ts: int | None) -> tuple[str, int, float, str, int]:
        f = self.split(line)
        metric = self.metric(f[self.i_param])
        value = self.number(f[self.i_value])
        ts = self.epoch(f[self.i_time])
        if file_ts is not None and abs(ts - file_ts) > self.skew:
            hours = (ts - file_ts) / 3600
            raise _LineError(
                f"time {f[self.i_time]} is {hours:+.1f} h from the file name's time, more than "
                f"options.max_skew ({self.skew / 3600:g} h): implausible"
            )
        if self.i_status is None:
            quality = 0
        else:
            status = f[self.i_status]
            quality = self.status_map.get(status, -1)
            if quality < 0:
                known = ", ".join(sorted(self.status_map))
                raise _LineError(f"unknown status code {_snippet(status)}; options.status_map knows {known}")
        if self.i_unit is None:
            unit = ""
        else:
            rule = self.unit(metric, f[self.i_unit])
            unit = rule.to
            if rule.factor != 1.0 or rule.offset != 0.0:
                value = value * rule.factor + rule.offset
                if not math.isfinite(value):
                    raise _LineError(f"value {f[self.i_value]} overflows when converted to {unit}")
        return metric, ts, value, unit, quality

    # -- files

    def station_of(self, name: str) -> str:
        """The station code a file name gives, "" if it gives none."""
        m = self.name_re.fullmatch(name)
        if m is None:
            return ""
        try:
            return self.station(m)
        except (KeyError, ValueError, IndexError):
            return ""

    def parse(self, name: str, data: bytes) -> ParsedFile:
        """One file as :class:`ParsedFile` (readings with UTC datetimes); never raises."""
        out = _Columns()
        rejected, lines, _, _ = self.parse_into(name, data, out)
        readings = [
            Reading(e, m, datetime.fromtimestamp(t, timezone.utc), v, u, q)
            for e, m, t, v, u, q in zip(out.entity, out.metric, out.ts, out.value, out.unit, out.quality)
        ]
        return ParsedFile(readings, rejected, lines)

    def parse_into(self, name: str, data: bytes, out: _Columns) -> tuple[list[Rejected], int, int, str | None]:
        """Parse one file into ``out``; return (rejections, lines examined, readings added, file problem)."""
        rejected: list[Rejected] = []
        mark = len(out)
        try:
            lines, added, problem = self._parse_into(name, data, out, rejected)
        except Exception as exc:  # noqa: BLE001 - a parser bug must not lose the file: quarantine it
            log.exception("station file %s: unexpected parser error", name)
            for column in (out.entity, out.metric, out.ts, out.value, out.unit, out.quality):
                del column[mark:]
            lines, added, problem = 0, 0, f"could not be parsed ({exc.__class__.__name__}: {exc})"
            rejected = []
        if problem is not None:
            rejected.append(Rejected(reason=f"file {name}: {problem}", payload=preview(data), ref=name))
        return rejected, lines, added, problem

    def _parse_into(self, name: str, data: bytes, out: _Columns, rejected: list[Rejected]) -> tuple[int, int, str | None]:
        m = self.name_re.fullmatch(name)
        if m is None:
            return 0, 0, f"file name does not match options.filename_pattern ({self.opts.filename_pattern})"
        groups = m.groupdict()
        file_ts: int | None = None
        if self.has_time:
            try:
                file_ts = self.epoch(groups.get("time") or "")
            except _LineError as exc:
                return 0, 0, f"the file name's {exc}"
        try:
            station = self.station(m)
        except (KeyError, ValueError, IndexError) as exc:
            return 0, 0, f"options.station_code cannot be filled from the file name ({exc})"
        if not station:
            return 0, 0, "the station code taken from the file name is empty"
        if self.known_stations is not None and station not in self.known_stations:
            return 0, 0, f"station code {station!r} (from the file name) is not in options.known_stations"
        if not data.strip():
            return 0, 0, "the file is empty" if not data else "the file is empty (only blank lines)"
        if b"\x00" in data:
            return 0, 0, "binary data (NUL bytes), not a text file"
        try:
            text = data.decode("utf-8")  # a byte-order mark is removed below, with any stray one
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            return 0, 0, f"not UTF-8 text (byte {exc.start}, line {line}); stations must send UTF-8"
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        if "\ufeff" in text:
            text = text.replace("\ufeff", "")

        entity, metric_col, ts_col, value_col, unit_col, quality_col = (
            out.entity, out.metric, out.ts, out.value, out.unit, out.quality,
        )
        parse_line = self.parse_line
        lines = added = 0
        first_problem = ""
        n, fast = self.n, self._fast
        ip, iv, iu, it, ist = self.i_param, self.i_value, self.i_unit, self.i_time, self.i_status
        fast_metric, fast_time, fast_unit, status_map = self._fast_metric, self._fast_time, self._fast_unit, self.status_map
        low = -self.skew if file_ts is None else file_ts - self.skew
        high = self.skew if file_ts is None else file_ts + self.skew
        for number, line in enumerate(text.split("\n"), start=1):
            parts = line.split("\t")
            if fast and len(parts) == n:
                # Fast path: a clean tab-separated line whose parameter, unit, time and status
                # were all seen before (exact text). Anything else takes the full path below,
                # which gives the same result or the reason.
                try:
                    metric = fast_metric[parts[ip]]
                    ts = fast_time[parts[it]]
                    quality = status_map[parts[ist]]
                    unit, factor, offset = fast_unit[(metric, parts[iu])]
                    raw = parts[iv]
                    value = float(raw.replace(",", ".") if "," in raw else raw)
                except (KeyError, ValueError):
                    pass
                else:
                    if factor != 1.0 or offset != 0.0:
                        value = value * factor + offset
                    if value - value == 0.0 and "_" not in raw and (file_ts is None or low <= ts <= high):
                        lines += 1
                        entity.append(station)
                        metric_col.append(metric)
                        ts_col.append(ts)
                        value_col.append(value)
                        unit_col.append(unit)
                        quality_col.append(quality)
                        added += 1
                        continue
            line = line.strip()
            if not line:
                continue
            lines += 1
            try:
                metric, ts, value, unit, quality = parse_line(line, station, file_ts)
            except _LineError as exc:
                reason = str(exc)
                first_problem = first_problem or f"line {number}: {reason}"
                rejected.append(Rejected(reason=reason, payload=line[:2000], ref=f"{name}:{number}"))
                continue
            entity.append(station)
            metric_col.append(metric)
            ts_col.append(ts)
            value_col.append(value)
            unit_col.append(unit)
            quality_col.append(quality)
            added += 1
        if added:
            return lines, added, None
        if not lines:
            return 0, 0, "the file is empty (only blank lines)"
        return lines, 0, f"no valid line ({lines} line(s) rejected; {first_problem})"


def _trim(*caches: dict[Any, Any]) -> None:
    """Start the caches afresh when the first is full (junk texts, or years of new times)."""
    if len(caches[0]) >= _CACHE_LIMIT:
        for cache in caches:
            cache.clear()


def _compositions(total: int, parts: int) -> list[tuple[int, ...]]:
    """Ways to split ``total`` into ``parts`` non-negative shares, earlier parts smallest first."""
    if parts == 1:
        return [(total,)]
    return [(first, *rest) for first in range(total + 1) for rest in _compositions(total - first, parts - 1)]


def parse_station_file(
    name: str, data: bytes, options: StationFilesOptions | dict[str, Any] | None = None
) -> ParsedFile:
    """Parse one station file (its base name and raw bytes); never raises.

    ``options`` may be the adapter's options, a dict of them (``folder`` may be left
    out) or None for the defaults.
    """
    if not isinstance(options, StationFilesOptions):
        options = StationFilesOptions.model_validate({"folder": ".", **(options or {})})
    return StationFileParser(options).parse(name, data)


# ----------------------------------------------------------------------------- adapter

#: A poll of more files than this is read and parsed by a worker process, in parts of
#: about this many files, while this process stores the previous part (bench/station_files.py).
_PART_FILES = 10_000
_AHEAD = 3  # parts handed to the worker before the next one is waited for: it never idles
_SLICE = 256  # files read in this process between two looks at the time budget


class _Candidate(NamedTuple):
    path: str
    name: str
    subdir: str  # relative to the drop folder, "" for the top
    size: int  # size and modification time when listed: if either moves, the file is being written
    mtime_ns: int


class _Taken(NamedTuple):
    """What reading and parsing a list of candidates gave, files by their index in that list."""

    rejected: list[Rejected]  # line and file rejections
    archive: list[int]  # readings taken: archive once they are committed
    quarantine: list[tuple[int, str]]  # no reading: quarantine, with this reason
    notes: list[str]  # files left for the next poll, and why (for the log)


def _take(parser: StationFileParser, files: Sequence[_Candidate], out: _Columns) -> _Taken:
    """Read and parse ``files`` into ``out``; a file that changed since it was listed is left for the next poll."""
    taken = _Taken([], [], [], [])
    parse_into = parser.parse_into
    for i, cand in enumerate(files):
        try:
            data, size, mtime_ns = _read(cand.path)
        except FileNotFoundError:
            continue
        except OSError as exc:
            taken.notes.append(f"cannot read {cand.path} ({exc}); will retry")
            continue
        if size != cand.size or mtime_ns != cand.mtime_ns or len(data) != size:
            continue  # written to since it was listed, or while we read it: next poll
        rejected, _, _, problem = parse_into(cand.name, data, out)
        if rejected:
            taken.rejected.extend(rejected)
        if problem is None:
            taken.archive.append(i)
        else:
            taken.quarantine.append((i, problem))
    return taken


_worker_parsers: dict[str, StationFileParser] = {}  # in the worker process, by options (as JSON)


def _worker_parser(options: str) -> StationFileParser:
    """In the worker process: the parser of a source, which (with its caches) lives on between parts."""
    parser = _worker_parsers.get(options)
    if parser is None:
        parser = _worker_parsers[options] = StationFileParser(StationFilesOptions.model_validate_json(options))
    return parser


def _prepare_in_worker(options: str) -> None:
    _worker_parser(options)


def _take_in_worker(options: str, files: list[_Candidate]) -> tuple[pd.DataFrame, _Taken]:
    """:func:`_take` in the worker process."""
    out = _Columns()
    taken = _take(_worker_parser(options), files, out)
    return out.frame(), taken


_pool_lock = threading.Lock()
_pool_in_use: ProcessPoolExecutor | None = None


def _pool() -> ProcessPoolExecutor:
    """The worker process, started on first use and kept (spawned: forking a threaded server is unsafe)."""
    global _pool_in_use
    with _pool_lock:
        if _pool_in_use is None:
            _pool_in_use = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        return _pool_in_use


def _start_worker(options: str) -> None:
    """Have the worker process started, with the source's parser, while this one scans."""
    pool = _pool()
    try:
        pool.submit(_prepare_in_worker, options)
    except Exception:  # noqa: BLE001 - a broken worker: the poll that needs one starts a new one
        _forget_pool(pool)


def _forget_pool(pool: ProcessPoolExecutor) -> None:
    """Let a failed worker go: the next large poll starts a new one."""
    global _pool_in_use
    with _pool_lock:
        if _pool_in_use is pool:
            _pool_in_use = None
    pool.shutdown(wait=False, cancel_futures=True)


class _Parts:
    """The parts of a large poll, read and parsed by the worker process ahead of their turn.

    When the worker's next part is not ready, this process reads one itself (from the far
    end) rather than wait. If the worker fails (it died, or cannot be started), its parts
    are read in this process instead: the outcome is the same, only slower.
    """

    def __init__(self, source: str, parser: StationFileParser, options: str, parts: list[list[_Candidate]]) -> None:
        self.source = source
        self.parser = parser
        self.options = options  # as JSON
        self.todo = deque(parts)  # not handed out yet
        self.queue: deque[tuple[list[_Candidate], Future | None]] = deque()  # handed to the worker
        self.pool: ProcessPoolExecutor | None = None
        try:
            self.pool = _pool()
        except Exception as exc:  # noqa: BLE001 - no worker: read here
            self._failed(exc)

    def left(self) -> bool:
        return bool(self.todo or self.queue)

    def stop(self) -> None:
        """Hand out no more parts; those with the worker still come."""
        self.todo.clear()

    def next(self) -> tuple[list[_Candidate], pd.DataFrame, _Taken]:
        """A part, with its readings and what became of its files."""
        while self.todo and len(self.queue) < _AHEAD:
            self._submit(self.todo.popleft())
        part, future = self.queue[0]
        if future is None or future.done() or not self.todo:
            self.queue.popleft()
            return part, *self._result(future, part)
        part = self.todo.pop()
        return part, *self._take_here(part)

    def cancel(self) -> None:
        for _, future in self.queue:
            if future is not None:
                future.cancel()
        self.queue.clear()

    def _submit(self, part: list[_Candidate]) -> None:
        future = None
        if self.pool is not None:
            try:
                future = self.pool.submit(_take_in_worker, self.options, part)
            except Exception as exc:  # noqa: BLE001 - no worker: read here
                self._failed(exc)
        self.queue.append((part, future))

    def _result(self, future: Future | None, part: list[_Candidate]) -> tuple[pd.DataFrame, _Taken]:
        if future is not None:
            try:
                return future.result()
            except Exception as exc:  # noqa: BLE001 - the worker failed: read here
                self._failed(exc)
        return self._take_here(part)

    def _take_here(self, part: list[_Candidate]) -> tuple[pd.DataFrame, _Taken]:
        out = _Columns()
        taken = _take(self.parser, part, out)
        return out.frame(), taken

    def _failed(self, exc: Exception) -> None:
        log.warning("source %s: the file-reading worker failed (%s: %s); reading in this process",
                    self.source, exc.__class__.__name__, exc)
        if self.pool is not None:
            _forget_pool(self.pool)
            self.pool = None


@register
class StationFilesAdapter(Adapter):
    """Takes settled station transmission files from a drop folder tree; archives them once stored."""

    kind = "station_files"
    Options = StationFilesOptions

    def __init__(self, name: str, options: StationFilesOptions) -> None:
        super().__init__(name, options)
        self.options: StationFilesOptions = options
        self.folder = Path(options.folder)
        self.archive = Path(options.archive_folder) if options.archive_folder else self.folder / "archive"
        self.quarantine = Path(options.quarantine_folder) if options.quarantine_folder else self.folder / "quarantine"
        self.parser = StationFileParser(options)
        self._options_json = options.model_dump_json()  # what the worker process builds its parser from
        self._patterns = [p.lower() for p in options.patterns]
        simple = tuple(p[1:] for p in self._patterns if p.startswith("*") and not any(c in p[1:] for c in "*?["))
        self._simple = simple if len(simple) == len(self._patterns) else None  # None: some pattern needs fnmatch

    def _wanted(self, name: str) -> bool:
        if name.startswith((".", "~$")) or name.endswith(_REASON_SUFFIX):
            return False
        lower = name.lower()
        if self._simple is not None:
            return lower.endswith(self._simple)
        return any(fnmatch.fnmatchcase(lower, p) for p in self._patterns)

    def candidates(self) -> list[_Candidate]:
        """Settled files matching the patterns, in the folder tree, oldest first, at most ``max_files``."""
        if not self.folder.is_dir():
            raise SourceError(
                f"drop folder {self.folder} does not exist or is not a folder; create it or fix options.folder"
            )
        # The archive and quarantine folders (inside the drop folder by default) are not input.
        skip = {os.path.abspath(self.archive), os.path.abspath(self.quarantine)}
        now = time.time()
        settle = self.options.settle_seconds
        recursive = self.options.recursive
        wanted = self._wanted
        found: list[tuple[int, str, str, str, int]] = []
        stack: list[tuple[str, str]] = [(os.path.abspath(self.folder), "")]
        top = True
        while stack:
            directory, rel = stack.pop()
            try:
                with os.scandir(directory) as it:
                    entries = list(it)
            except OSError as exc:
                if top:
                    raise SourceError(f"cannot list drop folder {self.folder}: {exc.strerror or exc}") from None
                log.warning("source %s: cannot list %s (%s); skipped", self.name, directory, exc)
                continue
            top = False
            for entry in entries:
                name = entry.name
                try:
                    if entry.is_dir(follow_symlinks=False):
                        if recursive and not name.startswith(".") and entry.path not in skip:
                            stack.append((entry.path, f"{rel}/{name}" if rel else name))
                        continue
                    if not wanted(name) or not entry.is_file():
                        continue
                    st = entry.stat()
                except OSError:
                    continue  # vanished meanwhile
                if now - st.st_mtime < settle:
                    continue  # still being written (or just finished): next poll
                found.append((st.st_mtime_ns, rel, name, entry.path, st.st_size))
        # Oldest first, then by folder and name; a path is listed once, so sizes are never compared.
        found.sort()
        taken = found[: self.options.max_files]
        return [_Candidate(path, name, rel, size, mtime) for mtime, rel, name, path, size in taken]

    def poll(self, ctx: PollContext) -> Batch:
        batch = Batch()
        day = ctx.now.astimezone(ZoneInfo(self.options.timezone)).strftime("%Y-%m-%d")
        budget_end = time.monotonic() + ctx.timeout_seconds / 2
        if self.options.max_files > _PART_FILES:
            _start_worker(self._options_json)  # this poll may be large: the worker starts during the scan
        files = self.candidates()
        archived: list[_Candidate] = []  # filled as the files are read
        batch.after_commit.append(partial(self._archive_all, archived, day))
        if len(files) > _PART_FILES:
            parts = self._parts(batch, files, archived, ctx.now, budget_end)
            batch.after_rollback.append(parts.close)
            batch.readings = parts
            return batch
        out = _Columns()
        for start in range(0, len(files), _SLICE):
            if time.monotonic() > budget_end:
                self._budget_used()
                break
            part = files[start : start + _SLICE]
            self._record(batch, part, _take(self.parser, part, out), archived, ctx.now)
        batch.readings = out.frame() if len(out) else []
        return batch

    def _parts(
        self, batch: Batch, files: list[_Candidate], archived: list[_Candidate], when: datetime, budget_end: float
    ) -> Iterator[pd.DataFrame]:
        """The readings of ``files`` part by part, read and parsed by the worker while the previous part is stored."""
        parts = _Parts(self.name, self.parser, self._options_json, self._by_station(files))
        try:
            while parts.left():
                if parts.todo and time.monotonic() > budget_end:
                    self._budget_used()
                    parts.stop()
                    continue
                part, frame, taken = parts.next()
                self._record(batch, part, taken, archived, when)
                yield frame
        finally:
            parts.cancel()

    def _by_station(self, files: list[_Candidate]) -> list[list[_Candidate]]:
        """``files`` in parts of about _PART_FILES, each with all the files of its stations, in their order.

        The readings of a station are then never split between parts: two readings with the
        same key meet in one part, where the later one wins as it does in a whole batch.
        """
        stations: dict[str, list[int]] = {}
        station_of = self.parser.station_of
        for i, cand in enumerate(files):
            stations.setdefault(station_of(cand.name), []).append(i)
        parts: list[list[_Candidate]] = []
        part: list[int] = []
        for indexes in stations.values():
            part.extend(indexes)
            if len(part) >= _PART_FILES:
                parts.append([files[i] for i in sorted(part)])
                part = []
        if part:
            parts.append([files[i] for i in sorted(part)])
        return parts

    def _record(
        self, batch: Batch, files: list[_Candidate], taken: _Taken, archived: list[_Candidate], when: datetime
    ) -> None:
        """Rejections for the store; files to archive or to quarantine once the batch is committed."""
        batch.rejected.extend(taken.rejected)
        archived.extend(files[i] for i in taken.archive)
        batch.after_commit.extend(partial(self._quarantine, files[i], reason, when) for i, reason in taken.quarantine)
        for note in taken.notes:
            log.warning("source %s: %s", self.name, note)

    def _budget_used(self) -> None:
        log.info("source %s: time budget used; remaining files wait for the next poll", self.name)

    # Both run only after the batch is committed, so the store and the folders agree.

    def _archive_all(self, files: list[_Candidate], day: str) -> None:
        base = os.path.join(os.path.abspath(self.archive), day)
        folders: dict[str, str] = {}  # sub-folder -> its archive folder, once made
        for cand in files:
            try:
                if not _unchanged(cand):
                    continue
                folder = folders.get(cand.subdir)
                if folder is None:
                    folder = os.path.join(base, cand.subdir) if cand.subdir else base
                    os.makedirs(folder, exist_ok=True)
                    folders[cand.subdir] = folder
                if not _rename_noreplace(cand.path, os.path.join(folder, cand.name)):
                    move_without_overwrite(Path(cand.path), Path(folder))  # a clash (-> name_1) or no renameat2
            except OSError as exc:  # one unmovable file must not stop the others
                log.warning("source %s: cannot archive %s (%s); it will be read again", self.name, cand.path, exc)

    def _quarantine(self, cand: _Candidate, reason: str, when: datetime) -> None:
        if not _unchanged(cand):
            return
        folder = self.quarantine / cand.subdir if cand.subdir else self.quarantine
        target = move_without_overwrite(Path(cand.path), folder, with_reason=True)
        text = (
            f"{reason}\n\nfile: {cand.name}\nsource: {self.name}\n"
            f"received_at: {when.isoformat()}\nsize_bytes: {cand.size}\n"
        )
        Path(f"{target}{_REASON_SUFFIX}").write_text(text, encoding="utf-8")
        log.warning("source %s: quarantined %s: %s", self.name, cand.name, reason)


_O_READ = os.O_RDONLY | getattr(os, "O_BINARY", 0)


def _read(path: str) -> tuple[bytes, int, int]:
    """The file's bytes, size and modification time as seen on the open file (plain os calls: cheap).

    One byte more than the size is asked for: if it comes, the file grew while being
    read and the caller sees ``len(data) != size`` and leaves it for the next poll.
    """
    fd = os.open(path, _O_READ)
    try:
        st = os.fstat(fd)
        data = os.read(fd, st.st_size + 1)
        while len(data) < st.st_size:  # a short read
            chunk = os.read(fd, st.st_size + 1 - len(data))
            if not chunk:
                break
            data += chunk
    finally:
        os.close(fd)
    return data, st.st_size, st.st_mtime_ns


def _unchanged(cand: _Candidate) -> bool:
    # Replaced since we read it: what we stored is not this content; take it next poll.
    try:
        st = os.stat(cand.path)
    except FileNotFoundError:
        return False
    return st.st_size == cand.size and st.st_mtime_ns == cand.mtime_ns


def _load_renameat2() -> Any:
    """Linux renameat2(RENAME_NOREPLACE): one atomic call that never replaces a name; else None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        func = libc.renameat2
    except (OSError, AttributeError):
        return None
    func.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    func.restype = ctypes.c_int
    return func


_RENAMEAT2 = _load_renameat2()
_AT_FDCWD = -100
_RENAME_NOREPLACE = 1


def _rename_noreplace(src: str, dst: str) -> bool:
    """Move ``src`` to ``dst`` unless ``dst`` exists; False means "use move_without_overwrite".

    Same guarantee as the hard link of :func:`data_sources.files.move_without_overwrite`
    (nothing is ever overwritten) in one system call instead of two.
    """
    global _RENAMEAT2
    if _RENAMEAT2 is None:
        return False
    if _RENAMEAT2(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), _RENAME_NOREPLACE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        _RENAMEAT2 = None  # this file system or kernel cannot: use links from now on
    elif err not in (errno.EEXIST, errno.EXDEV):
        raise OSError(err, os.strerror(err), src)
    return False


__all__ = [
    "MOLAR_MASS",
    "ParsedFile",
    "StationFileParser",
    "StationFilesAdapter",
    "StationFilesOptions",
    "UNIT_RULES",
    "UnitRule",
    "parse_station_file",
    "unit_key",
]
