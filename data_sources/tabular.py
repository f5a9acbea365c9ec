"""Mapping of tabular rows - SQL result sets, CSV/XLSX sheets - to readings.

Used by the ``sql`` (:mod:`data_sources.sql_query`) and ``files``
(:mod:`data_sources.files`) adapters. Their sources-file entries share these options
(documented with each adapter)::

    entity_column: station           # column holding the entity code ...
    # entity_value: HN-01            # ... or one fixed code for every row
    time_column: ts
    # time_format: "%d/%m/%Y %H:%M"  # optional strftime pattern, or epoch / epoch_ms
    dayfirst: true                   # 05/01/2026 is 5 January (default)
    timezone: Asia/Ho_Chi_Minh       # zone of naive times (default)
    series:                          # metric -> column and unit
      PM2.5: {column: pm25, unit: "µg/m³"}
      CO: co                         # shorthand for {column: co}
      COD: {column: cod, required: false}   # a table may lack this column
    quality_column: status           # optional device status column ...
    quality_map: {"00": 0, "01": 1}  # ... and how its codes map to quality flags 0-3
    entities:                        # optional: entities the rows belong to
      - {code: HN-01, kind: station, name: "Hà Nội - Hoàn Kiếm", province_code: "01"}

Column names match exactly, else case-insensitively. Times may be timezone-aware,
naive (read in ``timezone``), ISO-8601 or day-first text (``22/11/2026 07:00``), epoch
seconds (numbers or text of 9+ digits) or, in spreadsheets, Excel day serials. Values
are numbers or numeric text. A row whose entity is empty, whose time cannot be read or
whose status is not in ``quality_map`` (without one: not a flag 0-3; an empty status is
0) is rejected with the reason; a value that is not a number is rejected for that row
while the row's other values are kept; an empty value simply gives no reading, and a
row with no value at all is rejected. A needed column missing from the table raises
:class:`MissingColumns`: the adapter fails the poll or quarantines the file.

The option checks at the top (time zone, environment variable names, quality maps,
short descriptions of values in reasons) also serve the ``http_json`` adapter.
"""
from __future__ import annotations

import json
import math
import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from data_sources.base import EntitySpec, Options, Rejected

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_EPOCH = pd.Timestamp(0, tz="UTC")
# Digit-only text of 9+ digits is epoch seconds; shorter (20260105) is a compact date.
_EPOCH_TEXT = re.compile(r"^-?\d{9,}(\.\d+)?$")
# An offset after a clock time (07:00+07:00, 07:00Z); a bare date's "-05" is not one.
_AWARE_TEXT = re.compile(r"\d:\d\d(?::\d\d(?:[.,]\d+)?)?\s*(?:Z|UTC|[+-]\d\d(?::?\d\d)?)$", re.IGNORECASE)
# Epoch numbers below this (1973) are a mis-mapped column, not a modern observation time.
_MIN_EPOCH = 100_000_000
_MAX_EPOCH = 32_503_680_000  # year 3000
# Excel stores dates as days since 1899-12-30 when a cell is not formatted as a date.
_EXCEL_ORIGIN = pd.Timestamp("1899-12-30")
_SNIPPET = 60


# ------------------------------------------------------- option checks (all adapters)


def check_timezone(value: str) -> str:
    """An IANA time zone name, else a ValueError saying how to write one."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}; write e.g. Asia/Ho_Chi_Minh or UTC") from None
    return value


# Option type: the zone in which times written without an offset are read.
TimeZoneName = Annotated[str, AfterValidator(check_timezone)]

# Option type: device/status code (as text: YAML keys are strings) -> quality flag 0-3.
QualityMap = dict[str, Annotated[int, Field(ge=0, le=3)]]


def check_env_name(name: str, example: str) -> str:
    """A valid environment variable name, else a ValueError suggesting ``example``."""
    if not _ENV_NAME.match(name):
        raise ValueError(f"{name!r} is not an environment variable name; write e.g. {example}")
    return name


def describe(value: Any) -> str:
    """A value as short JSON text for a rejection reason."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= _SNIPPET else text[: _SNIPPET - 3] + "..."


# --------------------------------------------------------------------------- options


class ColumnSeries(BaseModel):
    """Which column holds one metric's values, and its unit."""

    model_config = ConfigDict(extra="forbid")

    column: str = Field(min_length=1)
    unit: str = ""
    # A file or result without this column is refused, unless the column is optional.
    required: bool = True

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        # "PM2.5: pm25" is accepted as shorthand for {column: pm25}.
        return {"column": data} if isinstance(data, str) else data


class TableMapping(Options):
    """Options that map the columns of a table (query result, CSV, sheet) to readings."""

    entity_column: str | None = None
    entity_value: str | None = None
    time_column: str = Field(min_length=1)
    time_format: str | None = None  # strftime pattern, "epoch", "epoch_ms"; None = automatic
    dayfirst: bool = True  # 05/01/2026 is 5 January, as written in Vietnam
    timezone: TimeZoneName = "Asia/Ho_Chi_Minh"
    series: Annotated[dict[str, ColumnSeries], Field(min_length=1)]
    quality_column: str | None = None
    quality_map: QualityMap = Field(default_factory=dict)
    entities: list[EntitySpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _mapping_choice(self) -> TableMapping:
        if (self.entity_column is None) == (self.entity_value is None):
            raise ValueError("give exactly one of 'entity_column: <column>' or 'entity_value: <fixed code>'")
        if self.entity_value is not None and not self.entity_value.strip():
            raise ValueError("entity_value must not be empty")
        if self.quality_map and self.quality_column is None:
            raise ValueError("quality_map needs 'quality_column: <column of the status code>'")
        return self


# --------------------------------------------------------------------------- mapping


class MissingColumns(ValueError):
    """The table lacks a column the mapping needs: the whole table is unusable."""


def resolve_columns(columns: list[Any], mapping: TableMapping) -> dict[str, str]:
    """Map each configured column name to the table's column (exact, else case-insensitive).

    Returns ``{configured name: actual name}``; optional series columns that are absent
    are left out. Raises :class:`MissingColumns` naming what is missing and what exists.
    """
    actual = [str(c) for c in columns]
    folded: dict[str, str] = {}
    for name in actual:
        folded.setdefault(name.strip().casefold(), name)
    wanted: list[tuple[str, bool, str]] = []  # (column, required, option that names it)
    if mapping.entity_column is not None:
        wanted.append((mapping.entity_column, True, "entity_column"))
    wanted.append((mapping.time_column, True, "time_column"))
    if mapping.quality_column is not None:
        wanted.append((mapping.quality_column, True, "quality_column"))
    for metric, spec in mapping.series.items():
        wanted.append((spec.column, spec.required, f"series.{metric}.column"))
    found: dict[str, str] = {}
    missing: list[str] = []
    for column, required, option in wanted:
        hit = column if column in actual else folded.get(column.strip().casefold())
        if hit is not None:
            found[column] = hit
        elif required:
            missing.append(f"{column!r} ({option})")
    if missing:
        have = ", ".join(actual) if actual else "none"
        raise MissingColumns(f"missing column(s) {', '.join(missing)}; the columns are: {have}")
    return found


def _blank(raw: pd.Series) -> np.ndarray:
    """True where a cell is empty: null/NaN or whitespace-only text."""
    empty = raw.isna().to_numpy(dtype=bool, copy=True)  # copy-on-write views are read-only
    if raw.dtype == object or pd.api.types.is_string_dtype(raw):
        text = raw.map(lambda v: isinstance(v, str) and not v.strip())
        empty |= text.to_numpy(dtype=bool)
    return empty


def to_numbers(raw: pd.Series, decimal: str = ".", thousands: str | None = None) -> pd.Series:
    """Cells -> float64 with NaN where a cell is empty or not a finite number.

    Text like ``1.234,5`` is read with the given separators; numbers and Decimals pass.
    """
    if pd.api.types.is_bool_dtype(raw):
        return pd.Series(np.nan, index=raw.index, dtype="float64")
    if pd.api.types.is_numeric_dtype(raw):
        out = raw.astype("float64")
    else:
        def one(value: Any) -> float:
            if value is None or isinstance(value, bool):
                return math.nan
            if isinstance(value, (int, float, Decimal, np.integer, np.floating)):
                return float(value)
            if isinstance(value, str):
                cleaned = value.strip().replace("\u00a0", "").replace(" ", "")
                if thousands:
                    cleaned = cleaned.replace(thousands, "")
                if decimal != ".":
                    cleaned = cleaned.replace(decimal, ".")
                try:
                    return float(cleaned)
                except ValueError:
                    return math.nan
            return math.nan

        out = pd.Series([one(v) for v in raw.astype(object).tolist()], index=raw.index, dtype="float64")
    return out.where(np.isfinite(out))


def _seconds(stamps: pd.Series | pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
    """Aware timestamps -> (epoch seconds, NaT mask), whatever the pandas resolution."""
    stamps = pd.Series(stamps)
    bad = stamps.isna().to_numpy(dtype=bool)
    secs = ((stamps.fillna(_EPOCH) - _EPOCH) // pd.Timedelta(seconds=1)).to_numpy(dtype="int64")
    return secs, bad


def _localize(naive: pd.Series, tz: str) -> pd.Series:
    # ambiguous/nonexistent local times (DST zones) become unreadable rather than guessed.
    return pd.to_datetime(naive, errors="coerce").dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")


def parse_times(
    raw: pd.Series,
    tz: str,
    time_format: str | None = None,
    dayfirst: bool = True,
    excel_serials: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Read a column of times into (epoch seconds int64, unreadable mask).

    Accepts aware and naive datetimes (naive ones are in ``tz``), text (ISO-8601 first,
    then day-first dates) and numbers as epoch seconds - or, when ``excel_serials``,
    small numbers as Excel day serials. Everything is vectorised per kind of cell.
    """
    n = len(raw)
    secs = np.zeros(n, dtype="int64")
    bad = np.ones(n, dtype=bool)
    raw = raw.reset_index(drop=True)

    def put(positions: np.ndarray, stamps: pd.Series) -> None:
        s, b = _seconds(stamps)
        secs[positions] = s
        bad[positions] = b

    def put_numbers(positions: np.ndarray, numbers: pd.Series) -> None:
        numbers = pd.to_numeric(numbers, errors="coerce").astype("float64").reset_index(drop=True)
        if time_format == "epoch_ms":
            numbers = numbers / 1000.0
        elif time_format is None and excel_serials:
            serial = (numbers > 0) & (numbers < 2_958_466)  # 1900-01-01 .. 9999-12-31
            if serial.any():
                days = pd.to_timedelta(numbers[serial], unit="D")
                put(positions[serial.to_numpy()], _localize(pd.Series(_EXCEL_ORIGIN + days), tz))
                positions, numbers = positions[~serial.to_numpy()], numbers[~serial].reset_index(drop=True)
        ok = numbers.between(_MIN_EPOCH, _MAX_EPOCH).to_numpy(dtype=bool)
        secs[positions[ok]] = np.floor(numbers.to_numpy()[ok]).astype("int64")
        bad[positions[ok]] = False

    if n == 0:
        return secs, bad
    everything = np.arange(n)
    if time_format in ("epoch", "epoch_ms") or (
        pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw)
    ):
        put_numbers(everything, raw)
        return secs, bad
    if isinstance(raw.dtype, pd.DatetimeTZDtype):
        put(everything, raw.dt.tz_convert("UTC"))
        return secs, bad
    if pd.api.types.is_datetime64_dtype(raw):
        put(everything, raw.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT"))
        return secs, bad

    values = raw.astype(object).tolist()
    kinds = np.array([_time_kind(v) for v in values])
    obj = pd.Series(values, dtype=object)
    if (kinds == "number").any():
        pos = everything[kinds == "number"]
        put_numbers(pos, obj.iloc[pos])
    for kind in ("aware", "naive"):
        pos = everything[kinds == kind]
        if len(pos):
            cells = pd.Series([pd.Timestamp(v) for v in obj.iloc[pos]], dtype=object)
            if kind == "aware":
                put(pos, pd.to_datetime(cells, utc=True, errors="coerce"))
            else:
                put(pos, _localize(cells, tz))
    pos = everything[kinds == "text"]
    if len(pos):
        cells = obj.iloc[pos].map(str.strip).reset_index(drop=True)
        if time_format is None:
            epoch = cells.str.match(_EPOCH_TEXT).to_numpy(dtype=bool)
            if epoch.any():
                put_numbers(pos[epoch], cells[epoch])
            pos, cells = pos[~epoch], cells[~epoch].reset_index(drop=True)
        aware = cells.str.contains(_AWARE_TEXT).to_numpy(dtype=bool)
        for flag in (True, False):
            sub = cells[aware == flag]
            if len(sub):
                put(pos[aware == flag], _parse_text(sub.reset_index(drop=True), tz, time_format, dayfirst, flag))
    return secs, bad


def _time_kind(value: Any) -> str:
    if value is None or isinstance(value, bool) or (isinstance(value, float) and math.isnan(value)):
        return "bad"
    if value is pd.NaT:
        return "bad"
    if isinstance(value, str):
        return "text" if value.strip() else "bad"
    if isinstance(value, datetime):  # pd.Timestamp is a datetime
        return "naive" if value.tzinfo is None else "aware"
    if isinstance(value, (int, float, Decimal, np.integer, np.floating)):
        return "number"
    if hasattr(value, "year") and hasattr(value, "month"):  # a date: midnight local
        return "naive"
    return "bad"


def _parse_text(cells: pd.Series, tz: str, time_format: str | None, dayfirst: bool, aware: bool) -> pd.Series:
    """Text -> aware UTC timestamps (NaT where unreadable)."""
    if time_format is not None:
        if "%z" in time_format or "%Z" in time_format:
            return pd.to_datetime(cells, format=time_format, utc=True, errors="coerce")
        return _localize(pd.to_datetime(cells, format=time_format, errors="coerce"), tz)
    if aware:
        out = pd.to_datetime(cells, format="ISO8601", utc=True, errors="coerce")
        rest = out.isna()
        if rest.any():
            out[rest] = pd.to_datetime(cells[rest], format="mixed", dayfirst=dayfirst, utc=True, errors="coerce")
        return out
    # ISO first: dateutil with dayfirst would read 2026-01-05 as 1 May.
    out = pd.to_datetime(cells, format="ISO8601", errors="coerce")
    rest = out.isna()
    if rest.any():
        out = out.astype("datetime64[us]")
        out[rest] = pd.to_datetime(cells[rest], format="mixed", dayfirst=dayfirst, errors="coerce").astype(
            "datetime64[us]"
        )
    return _localize(out, tz)


def _cell(value: Any) -> Any:
    """A cell as JSON-friendly data for a quarantine payload."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NaT or value is None:
        return None
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _entity_codes(raw: pd.Series) -> pd.Series:
    """Entity cells -> stripped text ("" when empty); integral floats lose their ".0"."""
    def one(value: Any) -> str:
        if value is None or value is pd.NaT or isinstance(value, bool):
            return ""
        if isinstance(value, (float, np.floating)):
            if math.isnan(value):
                return ""
            if float(value).is_integer():
                return str(int(value))
        return str(value).strip()

    return pd.Series([one(v) for v in raw.astype(object).tolist()], dtype=object)


def _qualities(raw: pd.Series, mapping: TableMapping) -> tuple[np.ndarray, list[str]]:
    """Quality flags per row (0 when the cell is empty) and a reason per row ('' = fine)."""
    flags = np.zeros(len(raw), dtype="int64")
    reasons = [""] * len(raw)
    for i, value in enumerate(raw.astype(object).tolist()):
        cell = _cell(value)
        if cell is None or (isinstance(cell, str) and not cell.strip()):
            continue
        if mapping.quality_map:
            # YAML keys are text; match 1, 1.0 and "1" alike.
            key = str(int(cell)) if isinstance(cell, float) and cell.is_integer() else str(cell).strip()
            if key in mapping.quality_map:
                flags[i] = mapping.quality_map[key]
            else:
                known = ", ".join(sorted(mapping.quality_map))
                reasons[i] = (
                    f"quality code {describe(cell)} in column {mapping.quality_column} "
                    f"is not in quality_map ({known})"
                )
            continue
        try:
            flag = float(cell)
        except (TypeError, ValueError):
            flag = math.nan
        if flag in (0, 1, 2, 3):
            flags[i] = int(flag)
        else:
            reasons[i] = (
                f"quality {describe(cell)} in column {mapping.quality_column} is not a flag 0-3; add a quality_map"
            )
    return flags, reasons


def map_table(
    table: pd.DataFrame,
    mapping: TableMapping,
    refs: list[str],
    *,
    decimal: str = ".",
    thousands: str | None = None,
    excel_serials: bool = False,
) -> tuple[pd.DataFrame, list[Rejected]]:
    """Turn a wide table (one row per entity and time) into long readings + rejections.

    ``refs`` names each row for the quarantine (``row 5``, ``file.csv:7``). Raises
    :class:`MissingColumns` when a needed column is absent.
    """
    columns = resolve_columns(list(table.columns), mapping)
    table = table.reset_index(drop=True)
    n = len(table)
    tz = mapping.timezone
    row_reason = [""] * n

    if mapping.entity_value is not None:
        entity = pd.Series([mapping.entity_value.strip()] * n, dtype=object)
    else:
        entity = _entity_codes(table[columns[mapping.entity_column]])
        for i in np.flatnonzero((entity == "").to_numpy(dtype=bool)):
            row_reason[i] = f"entity column {mapping.entity_column} is empty"

    time_raw = table[columns[mapping.time_column]]
    secs, bad_time = parse_times(time_raw, tz, mapping.time_format, mapping.dayfirst, excel_serials)
    time_cells = time_raw.astype(object).tolist()
    for i in np.flatnonzero(bad_time):
        if not row_reason[i]:
            cell = _cell(time_cells[i])
            row_reason[i] = (
                f"time column {mapping.time_column} is empty"
                if cell is None or (isinstance(cell, str) and not cell.strip())
                else f"time {describe(cell)} in column {mapping.time_column} is not a readable date/time"
            )

    if mapping.quality_column is not None:
        quality, quality_reason = _qualities(table[columns[mapping.quality_column]], mapping)
        for i, reason in enumerate(quality_reason):
            if reason and not row_reason[i]:
                row_reason[i] = reason
    else:
        quality = np.zeros(n, dtype="int64")

    row_ok = np.array([not r for r in row_reason], dtype=bool)
    cell_reasons: list[list[str]] = [[] for _ in range(n)]
    has_value = np.zeros(n, dtype=bool)
    pieces: list[pd.DataFrame] = []
    for metric, spec in mapping.series.items():
        actual = columns.get(spec.column)
        if actual is None:
            continue  # an optional column this table does not have
        raw = table[actual]
        values = to_numbers(raw, decimal, thousands)
        empty = _blank(raw)
        not_number = ~empty & values.isna().to_numpy(dtype=bool)
        for i in np.flatnonzero(not_number & row_ok):
            cell_reasons[i].append(f"{metric}: {describe(_cell(raw.iloc[i]))} in column {spec.column} is not a number")
        keep = row_ok & ~empty & ~not_number
        has_value |= keep
        if keep.any():
            pieces.append(
                pd.DataFrame(
                    {
                        "entity": entity[keep].to_numpy(),
                        "metric": metric,
                        "ts": secs[keep],
                        "value": values.to_numpy()[keep],
                        "unit": spec.unit,
                        "quality": quality[keep],
                    }
                )
            )

    rejected: list[Rejected] = []
    records = None
    for i in range(n):
        if row_ok[i] and not cell_reasons[i] and has_value[i]:
            continue
        if row_ok[i] and not cell_reasons[i]:
            names = ", ".join(s.column for s in mapping.series.values())
            reason = f"none of the value columns ({names}) has a value"
        else:
            reason = row_reason[i] or "; ".join(cell_reasons[i])
        if records is None:
            records = table.astype(object).to_dict("records")
        payload = json.dumps({str(k): _cell(v) for k, v in records[i].items()}, ensure_ascii=False, default=str)
        rejected.append(Rejected(reason=reason, payload=payload, ref=refs[i] if i < len(refs) else None))

    frame = (
        pd.concat(pieces, ignore_index=True)
        if pieces
        else pd.DataFrame(
            {
                "entity": pd.Series(dtype=object),
                "metric": pd.Series(dtype=object),
                "ts": pd.Series(dtype="int64"),
                "value": pd.Series(dtype="float64"),
                "unit": pd.Series(dtype=object),
                "quality": pd.Series(dtype="int64"),
            }
        )
    )
    return frame, rejected


__all__ = [
    "ColumnSeries",
    "MissingColumns",
    "QualityMap",
    "TableMapping",
    "TimeZoneName",
    "check_env_name",
    "check_timezone",
    "describe",
    "map_table",
    "parse_times",
    "resolve_columns",
    "to_numbers",
]
