"""The ``demo`` adapter: options, polling windows and backfill over the simulated feeds."""
from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Literal

from pydantic import Field, model_validator

from data_sources.base import Adapter, Batch, Entity, Options, PollContext
from data_sources.demo.administration import LandFeed, PublicServicesFeed, ReportingFeed, WaterResourcesFeed
from data_sources.demo.base import Feed, floor_grid
from data_sources.demo.network import GnssFeed, LinksFeed
from data_sources.demo.noise import DAY
from data_sources.demo.stations import AirFeed, EmissionFeed, WastewaterFeed, WaterFeed
from data_sources.registry import register

FEEDS: dict[str, type[Feed]] = {
    "air": AirFeed,
    "water": WaterFeed,
    "wastewater": WastewaterFeed,
    "emission": EmissionFeed,
    "gnss": GnssFeed,
    "reporting": ReportingFeed,
    "land": LandFeed,
    "water_resources": WaterResourcesFeed,
    "public_services": PublicServicesFeed,
    "hydromet_links": LinksFeed,
}

FeedName = Literal[
    "air", "water", "wastewater", "emission", "gnss", "reporting", "land", "water_resources", "public_services",
    "hydromet_links",
]


class DemoOptions(Options):
    feed: FeedName = Field(description="which part of the simulated world this source delivers")
    seed: int = Field(default=2025, description="another seed gives another, equally plausible world")
    interval: int | None = Field(
        default=None, ge=60, le=DAY,
        description="seconds between records of a station feed; must divide a day (default per feed)",
    )
    stations: int | None = Field(default=None, ge=1, le=10000, description="number of stations (station feeds)")
    backfill_days: float = Field(default=1.0, ge=0, le=3650, description="how far back the first poll reaches")
    max_points_per_poll: int = Field(
        default=500_000, ge=1000, description="a poll returns at most about this many rows; later polls catch up",
    )

    @model_validator(mode="after")
    def _fits_feed(self) -> DemoOptions:
        cls = FEEDS[self.feed]
        if self.interval is not None:
            if not cls.takes_interval:
                raise ValueError(f"'interval' does not apply to feed {self.feed!r} (its figures are daily or monthly); remove it")
            if DAY % self.interval:
                raise ValueError(f"interval {self.interval} must divide a day (86400 s), e.g. 300, 900 or 3600")
        if self.stations is not None and not cls.takes_stations:
            raise ValueError(f"'stations' does not apply to feed {self.feed!r}; remove it")
        return self


def _epoch(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("give timezone-aware datetimes (e.g. datetime.now(timezone.utc))")
    return math.floor(moment.timestamp())


@register
class DemoAdapter(Adapter):
    """Simulated sources for the embedded default; see :mod:`data_sources.demo`."""

    kind = "demo"
    Options = DemoOptions
    supports_backfill = True

    def __init__(self, name: str, options: DemoOptions) -> None:
        super().__init__(name, options)
        self._feed: Feed | None = None
        self._lock = threading.Lock()

    @classmethod
    def create(cls, feed: str, name: str | None = None, **options: object) -> DemoAdapter:
        """Convenience: ``DemoAdapter.create("air", seed=7)``."""
        return cls(name or f"demo-{feed}", DemoOptions(feed=feed, **options))

    @property
    def feed(self) -> Feed:
        with self._lock:
            if self._feed is None:
                o = self.options
                self._feed = FEEDS[o.feed](o.seed, o.interval, o.stations)
            return self._feed

    def entities(self) -> list[Entity]:
        return self.feed.entities()

    def window(self, start: datetime, end: datetime) -> Batch:
        """Everything published in ``(start, end]``, with no size guard (chunk long ranges)."""
        return Batch(entities=self.feed.entities(), readings=self.feed.frame(_epoch(start), _epoch(end)))

    def poll_window(self, ctx: PollContext) -> tuple[int, int]:
        """The ``(since, until]`` epoch window a poll with ``ctx`` returns."""
        feed = self.feed
        now = _epoch(ctx.now)
        if ctx.last_observation_at is None:
            since = feed.first_since(now, int(self.options.backfill_days * DAY))
        else:
            since = feed.resume_after(_epoch(ctx.last_observation_at))
        until = now
        max_steps = max(1, self.options.max_points_per_poll // max(1, feed.rows_per_step()))
        first = floor_grid(since, feed.step, feed.offset)
        if until - first > max_steps * feed.step:
            until = first + max_steps * feed.step
        return since, until

    def poll(self, ctx: PollContext) -> Batch:
        since, until = self.poll_window(ctx)
        return Batch(entities=self.feed.entities(), readings=self.feed.frame(since, until))


def _adapter(source: DemoAdapter | DemoOptions | dict) -> DemoAdapter:
    if isinstance(source, DemoAdapter):
        return source
    options = source if isinstance(source, DemoOptions) else DemoOptions.model_validate(source)
    return DemoAdapter(f"demo-{options.feed}", options)


def backfill(source: DemoAdapter | DemoOptions | dict, start: datetime, end: datetime) -> Batch:
    """One batch of everything ``source`` published in ``(start, end]``."""
    return _adapter(source).window(start, end)


def iter_backfill(
    source: DemoAdapter | DemoOptions | dict, start: datetime, end: datetime, chunk: timedelta = timedelta(days=1)
) -> Iterator[Batch]:
    """Batches covering ``(start, end]`` in consecutive chunks, oldest first (store each in its own transaction)."""
    adapter = _adapter(source)
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("give timezone-aware datetimes")
    cursor = start
    while cursor < end:
        upper = min(cursor + chunk, end)
        yield adapter.window(cursor, upper)
        cursor = upper


__all__ = ["FEEDS", "DemoAdapter", "DemoOptions", "backfill", "iter_backfill"]
