"""The adapter interface every source kind implements.

An adapter turns one poll of an outside system into a :class:`Batch` of normalised
records. It never touches the store or the UI: :mod:`ingest` validates and stores the
batch, :mod:`polling` records the run. To add a source kind, subclass :class:`Adapter`,
give it a pydantic ``Options`` model and decorate it with
:func:`data_sources.registry.register`.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field


class SourceError(Exception):
    """A poll failed as a whole (server down, bad credentials, malformed response).

    The message is shown to operators on the Sources page, so make it say what failed.
    """


@dataclass(frozen=True, slots=True)
class Entity:
    """Something observations belong to: a province, station, facility, unit..."""

    code: str
    kind: str
    name: str
    name_en: str | None = None
    subtype: str | None = None
    province_code: str | None = None
    lat: float | None = None
    lon: float | None = None
    meta: dict[str, Any] = field(default_factory=dict)


class EntitySpec(BaseModel):
    """An entity declared in the sources file, stored before the readings."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=80)
    kind: str = Field(min_length=1, max_length=30)
    name: str = Field(min_length=1)
    name_en: str | None = None
    subtype: str | None = None
    province_code: str | None = None
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    meta: dict[str, Any] = Field(default_factory=dict)

    def to_entity(self) -> Entity:
        return Entity(**self.model_dump())


@dataclass(frozen=True, slots=True)
class Reading:
    """One normalised observation. ``ts`` must be timezone-aware."""

    entity: str
    metric: str
    ts: datetime
    value: float | None
    unit: str = ""
    quality: int = 0


@dataclass(frozen=True, slots=True)
class Rejected:
    """Input the adapter could not turn into readings; it goes to quarantine."""

    reason: str
    payload: str
    ref: str | None = None


@dataclass
class Batch:
    """What one poll produced.

    ``readings`` may be a list of :class:`Reading` or, for bulk adapters, a pandas
    DataFrame with columns ``entity, metric, ts, value, unit, quality`` (``ts`` as
    timezone-aware timestamps or integer epoch seconds), or an iterator of such DataFrames
    (parts, stored in the same transaction as they come, so that an adapter can prepare
    the next part meanwhile; it may add to ``rejected``, ``after_commit`` and
    ``after_rollback`` until the iterator is exhausted). ``after_commit`` callbacks run
    only once the batch is safely stored (a files adapter archives its files there);
    ``after_rollback`` ones run if storing failed.
    """

    entities: list[Entity] = field(default_factory=list)
    readings: Any = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    after_rollback: list[Callable[[], None]] = field(default_factory=list)


@dataclass(frozen=True)
class PollContext:
    """What an adapter may know about the run it serves."""

    source_name: str
    now: datetime
    timeout_seconds: float
    # The newest observation time this source has stored, if any; lets a simulator or
    # an incremental API ask only for what is new.
    last_observation_at: datetime | None = None


class Options(BaseModel):
    """Base of every adapter's options: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class Adapter:
    """Base class of source adapters. Subclasses set ``kind`` and ``Options``."""

    kind: ClassVar[str]
    Options: ClassVar[type[Options]] = Options

    def __init__(self, name: str, options: Options) -> None:
        self.name = name
        self.options = options

    #: True for sources that can replay a window of the past (see :meth:`window`).
    supports_backfill: ClassVar[bool] = False

    def poll(self, ctx: PollContext) -> Batch:
        """Fetch what is new and return it; raise :class:`SourceError` on failure."""
        raise NotImplementedError

    def window(self, start: datetime, end: datetime) -> Batch:
        """Everything the source published in ``(start, end]``; used to backfill history."""
        raise NotImplementedError(f"{self.kind} sources cannot replay the past")
