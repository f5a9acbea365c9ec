"""Source kind ``sql``: run a configured SELECT on a database and map its columns to series.

Works with any SQLAlchemy URL whose driver is installed (PostgreSQL via psycopg,
SQLite, ...). A sources-file entry::

    - name: air-stations-db
      kind: sql
      every: 5m
      timeout: 60
      options:
        url_env: AIR_DB_URL              # the URL is in $AIR_DB_URL ... or:
        # url: postgresql://reader@db.example.vn/air
        # password_env: AIR_DB_PASSWORD  # optional: password taken from $AIR_DB_PASSWORD
        query: |
          SELECT station, ts, pm25, no2, status
          FROM readings WHERE ts > :since ORDER BY ts
        entity_column: station           # column holding the entity code ...
        # entity_value: HN-01            # ... or one fixed code for every row
        time_column: ts
        timezone: Asia/Ho_Chi_Minh       # zone of naive times (default)
        series:                          # metric -> column and unit
          PM2.5: {column: pm25, unit: "µg/m³"}
          NO2: {column: no2, unit: "µg/m³"}
          # CO: co                       # shorthand for {column: co}
        quality_column: status           # optional device status column ...
        quality_map: {"00": 0, "01": 1}  # ... and how its codes map to quality flags 0-3
        since_as: utc                    # how :since is bound: utc | local | epoch (default utc)
        initial_lookback: 1d             # first poll: rows of the last day (default: everything)
        since_overlap: 10m               # re-read this much before the newest stored time (late rows)
        connect_timeout: 10              # seconds to wait for the server (default 10)
        entities:                        # optional: entities the rows belong to
          - {code: HN-01, kind: station, name: "Hà Nội - Hoàn Kiếm", province_code: "01"}

Only ``SELECT``/``WITH`` queries are accepted, and the adapter never commits.

Bind parameters, if the query uses them:

- ``:since`` - the newest observation time already stored from this source (minus
  ``since_overlap``), or ``now - initial_lookback`` / the epoch on the first poll, so
  each poll fetches only new rows. ``since_as`` chooses its form: ``utc`` a
  timezone-aware UTC datetime (for ``timestamptz``; SQLite receives it as naive UTC
  text), ``local`` a naive datetime in ``timezone`` (for naive local-time columns),
  ``epoch`` integer seconds.
- ``:until`` - the poll's "now" in the same form (backfills walk the past in windows).

Write casts as ``CAST(:since AS timestamptz)``: ``:since::timestamptz`` is not read as a parameter.

Times in ``time_column`` may be timezone-aware, naive (read in ``timezone``), ISO-8601
or day-first text (``22/11/2026 07:00``), or epoch seconds (numbers). ``time_format``
may name a strftime pattern, or ``epoch`` / ``epoch_ms``.

The whole poll fails with a clear message (never containing the password) when the
server cannot be reached, the query fails, or a mapped column is missing from the
result. A row whose entity is empty or whose time cannot be read is quarantined with
the reason (ref ``row <n>``); a value that is not a number is quarantined for that row
while the row's other values are stored; an empty value simply gives no reading, and a
row with no value at all is quarantined.

The column mapping (``entity_column`` ... ``entities`` and how cells are read) is
:mod:`data_sources.tabular`, shared with the ``files`` adapter.
"""
from __future__ import annotations

import math
import os
import re
import threading
from datetime import datetime, timedelta, timezone
from typing import Any, Literal
from zoneinfo import ZoneInfo

import pandas as pd
from pydantic import Field, field_validator, model_validator
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError

from data_sources.base import Adapter, Batch, PollContext, SourceError
from data_sources.registry import register
from data_sources.tabular import MissingColumns, TableMapping, check_env_name, map_table

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


# --------------------------------------------------------------------------- options


def parse_duration(text: str) -> int:
    """'90s', '5m', '1.5h', '1d' -> seconds (adapters cannot import source_config: it imports them)."""
    m = _DURATION.match(str(text))
    if not m:
        raise ValueError(f"{text!r} is not a duration; write e.g. 30s, 5m, 1h or 1d")
    return int(float(m.group(1)) * _UNIT_SECONDS[m.group(2)])


def _strip_sql_comments(sql: str) -> str:
    sql = re.sub(r"/\*.*?\*/", " ", sql, flags=re.DOTALL)
    return re.sub(r"--[^\n]*", " ", sql)


class SqlOptions(TableMapping):
    url: str | None = None
    url_env: str | None = None
    password_env: str | None = None
    query: str = Field(min_length=1)
    since_as: Literal["utc", "local", "epoch"] = "utc"
    initial_lookback: str | None = None
    since_overlap: str | None = None
    connect_timeout: float = Field(default=10.0, gt=0)

    @field_validator("url_env", "password_env")
    @classmethod
    def _env(cls, value: str | None) -> str | None:
        return None if value is None else check_env_name(value, example="AIR_DB_URL")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                make_url(value)
            except ArgumentError:
                # Do not echo the value: it may hold a password.
                raise ValueError("url is not a database URL; write e.g. postgresql://user@host/db") from None
        return value

    @field_validator("initial_lookback", "since_overlap")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value

    @field_validator("query")
    @classmethod
    def _select_only(cls, value: str) -> str:
        # This adapter reads; a DELETE pasted by mistake must not reach the database.
        words = _strip_sql_comments(value).lstrip(" \t\r\n(").split(None, 1)
        if not words or words[0].lower() not in ("select", "with"):
            raise ValueError("query must be a SELECT (or WITH ... SELECT) statement")
        return value

    @model_validator(mode="after")
    def _url_choice(self) -> SqlOptions:
        if (self.url is None) == (self.url_env is None):
            raise ValueError("give exactly one of 'url: <database URL>' or 'url_env: <env var holding the URL>'")
        return self


# ------------------------------------------------------------------------ the adapter


@register
class SqlQueryAdapter(Adapter):
    """Runs the configured SELECT each poll; one lazily created engine per source."""

    kind = "sql"
    Options = SqlOptions

    def __init__(self, name: str, options: SqlOptions) -> None:
        super().__init__(name, options)
        self.options: SqlOptions = options
        self._engine: Engine | None = None
        self._engine_url: URL | None = None
        # A poll abandoned on timeout may still run when the next one starts.
        self._lock = threading.Lock()

    # -- connection

    def _url(self) -> URL:
        opts = self.options
        if opts.url_env is not None:
            text_url = os.environ.get(opts.url_env)
            if not text_url:
                raise SourceError(f"environment variable {opts.url_env} (options.url_env) is not set")
        else:
            text_url = opts.url or ""
        try:
            url = make_url(text_url)
        except ArgumentError:
            raise SourceError(f"the value of {opts.url_env or 'url'} is not a database URL") from None
        if opts.password_env is not None:
            password = os.environ.get(opts.password_env)
            if password is None:
                raise SourceError(f"environment variable {opts.password_env} (options.password_env) is not set")
            url = url.set(password=password)
        if url.drivername == "postgresql":
            url = url.set(drivername="postgresql+psycopg")
        return url

    def _connect_args(self, url: URL) -> dict[str, Any]:
        backend = url.get_backend_name()
        seconds = self.options.connect_timeout
        if backend == "sqlite":
            return {"timeout": seconds}
        if backend in ("postgresql", "mysql", "mariadb"):
            return {"connect_timeout": max(1, math.ceil(seconds))}
        return {}

    def engine(self) -> Engine:
        """The source's engine, created on first use (and again if the URL's env var changed)."""
        url = self._url()
        with self._lock:
            if self._engine is None or self._engine_url != url:
                if self._engine is not None:
                    self._engine.dispose()
                kwargs: dict[str, Any] = {"pool_pre_ping": True, "connect_args": self._connect_args(url)}
                if url.get_backend_name() != "sqlite":
                    kwargs.update(pool_size=1, max_overflow=1)  # one poll at a time needs one connection
                try:
                    # pool_pre_ping: a restarted server leaves dead pooled connections behind.
                    self._engine = create_engine(url, **kwargs)
                except (NoSuchModuleError, ImportError) as exc:
                    raise SourceError(f"no database driver for {url.drivername!r}: {exc}") from None
                self._engine_url = url
            return self._engine

    def _safe(self, message: str) -> str:
        """``message`` with any password blanked out and SQLAlchemy's doc links removed."""
        message = re.sub(r"\s*\(Background on this error at: [^)]*\)", "", message).strip()
        secrets = []
        if self._engine_url is not None and self._engine_url.password:
            secrets.append(str(self._engine_url.password))
        if self.options.password_env and os.environ.get(self.options.password_env):
            secrets.append(os.environ[self.options.password_env])
        for secret in secrets:
            message = message.replace(secret, "***")
        return message

    def _where(self) -> str:
        if self._engine_url is None:
            return "the database"
        return self._engine_url.render_as_string(hide_password=True)

    # -- polling

    def _bind_time(self, moment: datetime) -> Any:
        if self.options.since_as == "epoch":
            return int(moment.timestamp())
        if self.options.since_as == "local":
            return moment.astimezone(ZoneInfo(self.options.timezone)).replace(tzinfo=None)
        return moment.astimezone(timezone.utc)

    def since(self, ctx: PollContext) -> datetime:
        """Where this poll resumes: the newest stored time, else the initial lookback, else the epoch."""
        opts = self.options
        if ctx.last_observation_at is not None:
            overlap = parse_duration(opts.since_overlap) if opts.since_overlap else 0
            return ctx.last_observation_at - timedelta(seconds=overlap)
        if opts.initial_lookback:
            return ctx.now - timedelta(seconds=parse_duration(opts.initial_lookback))
        return datetime(1970, 1, 1, tzinfo=timezone.utc)

    def fetch(self, ctx: PollContext) -> pd.DataFrame:
        """Run the query; return its rows as a DataFrame. Raises :class:`SourceError`."""
        statement = text(self.options.query)
        params: dict[str, Any] = {}
        names = set(statement.compile().params)
        if "since" in names:
            params["since"] = self._bind_time(self.since(ctx))
        if "until" in names:
            params["until"] = self._bind_time(ctx.now)
        unknown = names - {"since", "until"}
        if unknown:
            listed = ", ".join(":" + n for n in sorted(unknown))
            raise SourceError(f"the query uses unknown parameter(s) {listed}; only :since and :until are bound")
        engine = self.engine()
        try:
            conn = engine.connect()
        except DBAPIError as exc:
            raise SourceError(self._safe(f"cannot connect to {self._where()}: {exc.orig}")) from None
        except SQLAlchemyError as exc:
            raise SourceError(self._safe(f"cannot connect to {self._where()}: {exc}")) from None
        try:
            with conn:
                if conn.dialect.name == "postgresql":
                    # The poll thread cannot be killed: let the server end an overrunning query.
                    conn.exec_driver_sql(f"SET LOCAL statement_timeout = {int(ctx.timeout_seconds * 1000)}")
                result = conn.execute(statement, params)
                keys = list(result.keys())
                rows = result.fetchall()
                conn.rollback()  # read-only by design: nothing to commit
        except DBAPIError as exc:
            raise SourceError(self._safe(f"query failed on {self._where()}: {exc.orig}")) from None
        except SQLAlchemyError as exc:
            raise SourceError(self._safe(f"query failed on {self._where()}: {exc}")) from None
        return pd.DataFrame.from_records(rows, columns=keys, coerce_float=False) if rows else pd.DataFrame(columns=keys)

    def poll(self, ctx: PollContext) -> Batch:
        table = self.fetch(ctx)
        try:
            readings, rejected = map_table(table, self.options, [f"row {i + 1}" for i in range(len(table))])
        except MissingColumns as exc:
            raise SourceError(f"query result: {exc}; fix the query or the column names in options") from None
        return Batch(
            entities=[e.to_entity() for e in self.options.entities],
            readings=readings,
            rejected=rejected,
        )


__all__ = ["SqlOptions", "SqlQueryAdapter", "parse_duration"]
