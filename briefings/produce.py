"""Produce briefings: compose once, render each format, archive each file (or its failure).

Used by ``cli.py briefing``, the Briefings page and :mod:`briefings.schedule`. A format
that fails to render is recorded ``failed`` with its error and no file; the others go on.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timezone

from sqlalchemy import Engine

from briefings.archive import BriefingRecord, finish_failed, finish_ok, start_on_demand
from briefings.compose import BriefingData, collect_briefing, compose
from briefings.render import WALL_SIZES, Chromium, render_html, render_pdf, render_png
from settings import Settings

log = logging.getLogger(__name__)

FORMATS = ("pdf", "png", "html")


def render_format(data: BriefingData, fmt: str, browser: Chromium, png_size: str = "1920x1080") -> bytes:
    """The briefing of ``data`` as ``fmt`` bytes; :class:`briefings.render.BriefingError` if unusable."""
    if fmt == "html":
        return render_html(data)
    if fmt == "pdf":
        return render_pdf(compose(data, "print", plotly_file=True), browser=browser)
    if fmt == "png":
        width, height, scale = WALL_SIZES[png_size]
        return render_png(compose(data, "screen", plotly_file=True), width, height, scale, browser=browser)
    raise ValueError(f"format must be one of {', '.join(FORMATS)}; got {fmt!r}")


def render_and_archive(engine: Engine, settings: Settings, data: BriefingData, fmt: str, record_id: int,
                       browser: Chromium, png_size: str = "1920x1080") -> BriefingRecord:
    """Render ``fmt`` into the running row ``record_id``: ok with its file, or failed with the error."""
    try:
        content = render_format(data, fmt, browser, png_size)
    except Exception as exc:  # noqa: BLE001 - any failure is recorded on the row, never a silent file
        error = f"{exc.__class__.__name__}: {exc}"
        log.warning("briefing %s (%s) failed: %s", record_id, fmt, error)
        return finish_failed(engine, record_id, error)
    return finish_ok(engine, settings, record_id, content)


def produce_briefing(
    engine: Engine, settings: Settings, formats: Iterable[str] = ("pdf",), *, now: datetime | None = None,
    png_size: str = "1920x1080", executable: str | None = None, browser: Chromium | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[BriefingRecord]:
    """An on-demand briefing as of ``now`` in each of ``formats``, archived; one record per format.

    ``progress`` is told each step ("collect", then each format) for a progress display.
    """
    formats = list(dict.fromkeys(formats))
    for fmt in formats:
        if fmt not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}; got {fmt!r}")
    if png_size not in WALL_SIZES:
        raise ValueError(f"png_size must be one of {', '.join(WALL_SIZES)}; got {png_size!r}")
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    if progress:
        progress("collect")
    data = collect_briefing(engine, settings, now)
    own = browser or Chromium(executable)  # started by the first format that needs it
    records = []
    try:
        for fmt in formats:
            if progress:
                progress(fmt)
            record_id = start_on_demand(engine, now.astimezone(settings.tz).date(), fmt, now)
            records.append(render_and_archive(engine, settings, data, fmt, record_id, own, png_size))
    finally:
        if browser is None:
            own.close()
    return records
