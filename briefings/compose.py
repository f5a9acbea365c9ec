"""Compose the briefing: gather the figures of one moment, then write one self-contained HTML document.

:func:`collect_briefing` reads the store once (health, headline KPIs, open alerts, current
AQI, today's completeness) into a :class:`BriefingData`; :func:`compose` turns it into a
:class:`Document`: HTML with the served fonts and plotly.js inlined (it opens with no
network at all), the number of charts it draws, and the header and footer Chromium prints
on every PDF page. Two layouts share the data:

- ``print``: A4 landscape pages (overview and KPIs; alerts; air quality; completeness and
  source notes), light, for paper, PDF and the HTML file;
- ``screen``: one 1920 × 1080 dark slide (KPIs, alerts, the province AQI map), for PNG.

Every text from a source (names, messages, errors) goes through Jinja2's autoescaping;
chart data is embedded as JSON that plotly escapes for ``<script>``.
"""
from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cache
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import plotly
import plotly.graph_objects as go
from jinja2 import Environment, FileSystemLoader
from plotly.io.json import to_json_plotly
from plotly.offline import get_plotlyjs
from sqlalchemy import Engine

from components.air_quality import province_tiles, worst_rows
from components.environment import completeness_figure
from components.kpi_tiles import STATUS_ICONS, TREND_ARROWS, _digits  # worded and rounded as the Overview's tiles
from components.status import STATUS_COLOURS
from components.status import STATUS_ICONS as SOURCE_ICONS
from components.theme import WALL_FONT_FAMILY
from i18n import format_number, format_time, t
from indicators.aqi import CATEGORIES
from kpis.catalogue import current_catalogue
from kpis.compute import KpiValue, compute_kpis, select_kpis
from queries.air_quality import StationAQI, current_station_aqi
from queries.alerts import AlertRow, counts_by_severity, list_alerts
from queries.health import Health, system_health
from queries.station_health import ProvinceCompleteness, completeness_by_province
from settings import ConfigError, Settings

Layout = Literal["print", "screen"]
HERE = Path(__file__).resolve().parent
FONTS = HERE.parent / "assets" / "fonts"
# The bundle plotly.offline.get_plotlyjs() reads: the same bytes as the inlined copy.
PLOTLY_FILE = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
SEVERITIES = ("critical", "major", "minor", "info")
ALERT_ROWS = {"print": 30, "screen": 4}  # about two A4 pages (they flow) / what the slide's panel holds
WORST_STATIONS = 10


@dataclass(frozen=True)
class BriefingData:
    """Everything a briefing shows, read at one moment (``now``)."""

    organisation: str
    lang: str
    tz: ZoneInfo
    now: datetime
    health: Health
    kpis: list[KpiValue]  # the headline ones, catalogue order
    kpi_error: str | None  # the KPI file could not be used
    alert_counts: dict[str, int]
    alerts: list[AlertRow]  # open alerts, most severe and newest first (at most a page)
    stations: list[StationAQI]  # current AQI of every air station, worst first
    completeness: list[ProvinceCompleteness]

    @property
    def day(self) -> str:
        return self.now.astimezone(self.tz).date().isoformat()

    @property
    def troubled_sources(self) -> list[Any]:
        return [s for s in self.health.sources if s.status in ("stale", "failing")]

    @property
    def newest_observation(self) -> datetime | None:
        times = [s.last_observation_at for s in self.health.sources if s.last_observation_at]
        return max(times) if times else None


@dataclass(frozen=True)
class Document:
    """A composed briefing, ready for :mod:`briefings.render`."""

    html: str
    figures: int  # charts the page draws; a render waits for every one
    expect_text: str  # must appear in a PDF's text, or the render counts as blank
    header: str  # Chromium's PDF header and footer templates
    footer: str
    resources: tuple[str, ...] = ()  # URLs the page may load besides itself (plotly.js as a file)


def collect_briefing(engine: Engine, settings: Settings, now: datetime, lang: str | None = None) -> BriefingData:
    """Read what the briefing shows as of ``now`` (timezone-aware)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    tz, lang = settings.tz, lang or settings.language
    now_utc = now.astimezone(timezone.utc)
    health = system_health(engine, now_utc, settings.heartbeat_timeout, settings.stale_after_intervals)
    try:
        catalogue = current_catalogue(settings.kpis_file)
        kpis, kpi_error = select_kpis(compute_kpis(engine, catalogue, now_utc, tz), headline=True), None
    except ConfigError as exc:  # shown in the briefing: one broken file must not cost the whole picture
        kpis, kpi_error = [], str(exc)
    counts = counts_by_severity(engine)
    return BriefingData(
        organisation=settings.organisation_name, lang=lang, tz=tz, now=now_utc, health=health,
        kpis=kpis, kpi_error=kpi_error, alert_counts=counts,
        alerts=list_alerts(engine, "open", limit=max(ALERT_ROWS.values())),
        stations=current_station_aqi(engine, now_utc),
        completeness=completeness_by_province(engine, now.astimezone(tz).date(), tz, now=now_utc),
    )


def kpi_text(k: KpiValue, lang: str, tz: ZoneInfo) -> dict[str, str]:
    """A KPI's texts as the Overview's tiles word them (components/kpi_tiles.py)."""
    trend, trend_class = "", "flat"
    if k.change is not None and k.trend is not None:
        sign = "+" if k.change > 0 else ""
        trend = (f"{TREND_ARROWS[k.trend]} {sign}{format_number(k.change, lang, _digits(k.change, k.unit))} "
                 f"{t('kpi.vs_previous', lang)}")
        trend_class = "better" if k.improving else "worse" if k.improving is False else "flat"
    footer = [t("kpi.target", lang, target=format_number(k.target, lang, 1))] if k.target is not None else []
    if k.as_of:
        footer.append(t("data.as_of", lang, time=format_time(k.as_of, tz, lang, "HH:mm dd/MM")))
    return {
        "code": k.code, "name": k.name(lang), "status": k.status,
        "value": format_number(k.value, lang, _digits(k.value, k.unit)), "unit": "" if k.value is None else k.unit_in(lang),
        "icon": STATUS_ICONS.get(k.status, "?"), "status_text": t(f"kpi.status.{k.status}", lang),
        "trend": trend, "trend_class": trend_class, "footer": " · ".join(footer),
    }


def _alert_text(a: AlertRow, lang: str, tz: ZoneInfo) -> dict[str, str]:
    return {
        "severity": a.severity, "severity_text": t(f"alert.severity.{a.severity}", lang),
        "subject": a.subject_name or a.subject_code, "message": a.message_in(lang),
        "started": format_time(a.started_at, tz, lang, "HH:mm dd/MM"),
        "state": a.state, "state_text": t(f"briefing.state.{a.state}", lang),
    }


def _paper(figure: go.Figure) -> go.Figure:
    """The app's dark figures recoloured for white paper."""
    return figure.update_layout(template="plotly_white", paper_bgcolor="#ffffff", plot_bgcolor="#ffffff",
                                font_color="#1a202c")


def _condensed(figure: go.Figure) -> go.Figure:
    # Province names must fit their small tiles, as on the walls.
    return figure.update_layout(font_family=WALL_FONT_FAMILY)


def _figures(data: BriefingData, layout: Layout) -> dict[str, dict[str, Any]]:
    """Chart name → {json, width, height}; fixed pixel sizes, so print and screen draw the same."""
    lang = data.lang
    if layout == "screen":
        figures = {"tiles": (_condensed(province_tiles(data.stations, lang, height=860, font_px=18)), 600)}
    else:
        figures = {
            "tiles": (_condensed(_paper(province_tiles(data.stations, lang, height=650, font_px=13))), 320),
            "completeness": (_paper(completeness_figure(data.completeness, lang, height=400, font_px=12)), 1020),
        }
    out = {}
    for name, (figure, width) in figures.items():
        figure.update_layout(width=width, autosize=False)
        out[name] = {"json": to_json_plotly(figure.to_plotly_json()), "width": width, "height": figure.layout.height}
    return out


@cache
def _font_faces() -> str:
    """@font-face rules with the served DejaVu subsets as data: URLs (the document needs no server)."""
    rules = []
    for family, stem in (("Ops Sans", "DejaVuSans"), ("Ops Sans Condensed", "DejaVuSansCondensed")):
        for weight, suffix in ((400, ""), (700, "-Bold")):
            encoded = base64.b64encode((FONTS / f"{stem}{suffix}.woff2").read_bytes()).decode("ascii")
            rules.append(f'@font-face {{ font-family: "{family}"; font-weight: {weight}; font-display: block; '
                         f'src: url(data:font/woff2;base64,{encoded}) format("woff2"); }}')
    return "\n".join(rules)


@cache
def _plotly_js() -> str:
    # Inline it once per document; "</" never occurs in the bundle, checked so a new plotly cannot break out.
    js = get_plotlyjs()
    if "</script" in js.lower():
        raise RuntimeError("plotly.js contains </script>; it cannot be inlined")
    return js


@cache
def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True, trim_blocks=True,
                      lstrip_blocks=True)
    env.globals["t"] = t
    return env


def compose(data: BriefingData, layout: Layout = "print", plotly_file: bool = False) -> Document:
    """The briefing as one HTML document in ``layout``.

    ``plotly_file`` loads plotly.js from the installed plotly package (a file: URL) instead
    of inlining it: for Chromium's renders only, whose renderer then keeps it compiled
    from one briefing to the next. Files given to readers always inline it.
    """
    plotly_url = PLOTLY_FILE.as_uri() if plotly_file and PLOTLY_FILE.is_file() else None
    lang, tz = data.lang, data.tz
    health = data.health
    category_counts = {c.key: 0 for c in CATEGORIES}
    for s in data.stations:
        category_counts[s.category] = category_counts.get(s.category, 0) + 1
    produced = f"{format_time(data.now, tz, lang)} ({format_time(data.now, tz, lang, 'ZZZZ')})"
    context = {
        "lang": lang, "layout": layout, "organisation": data.organisation,
        "title": t("briefing.title", lang),
        "day": format_time(data.now, tz, lang, "dd/MM/yyyy"),
        "produced": t("briefing.produced_at", lang, time=produced),
        "system_status": health.status,
        "system_colour": STATUS_COLOURS.get(health.status, "#718096"),
        "system_icon": SOURCE_ICONS.get(health.status, "?"),
        "system_text": t("briefing.system", lang, status=t(f"status.{health.status}", lang)),
        "source_counts": t("health.counts", lang, **health.counts),
        "newest": t("briefing.newest", lang, time=format_time(data.newest_observation, tz, lang)),
        "troubled_names": ", ".join(s.name for s in data.troubled_sources),
        "troubled": [
            {"name": s.name, "status": s.status, "status_text": t(f"status.{s.status}", lang),
             "colour": STATUS_COLOURS.get(s.status, "#718096"),
             "last_success": format_time(s.last_success_at, tz, lang), "error": s.last_error or ""}
            for s in data.troubled_sources
        ],
        "kpis": [kpi_text(k, lang, tz) for k in data.kpis],
        "kpi_error": data.kpi_error,
        "alert_total": sum(data.alert_counts.values()),
        "alert_counts": [{"severity": s, "count": data.alert_counts.get(s, 0),
                          "text": t(f"alert.severity.{s}", lang)} for s in SEVERITIES],
        "alerts": [_alert_text(a, lang, tz) for a in data.alerts[:ALERT_ROWS[layout]]],
        "alerts_more": max(0, sum(data.alert_counts.values()) - ALERT_ROWS[layout]),
        "stations": worst_rows(data.stations, tz, lang, WORST_STATIONS if layout == "print" else 5),
        "station_count": len(data.stations),
        "categories": [{"key": c.key, "colour": c.colour, "text": c.label(lang), "count": category_counts[c.key],
                        "dark": c.key in ("good", "moderate", "poor")} for c in CATEGORIES],
        "figures": _figures(data, layout),
        "font_faces": _font_faces(),
        "plotly_js": "" if plotly_url else _plotly_js(),
        "plotly_url": plotly_url,
    }
    html = _environment().get_template("briefing.html.j2").render(context)
    page_text = f"{t('briefing.page', lang)} "
    header = _environment().from_string(HEADER).render(organisation=data.organisation, title=context["title"],
                                                       day=context["day"])
    footer = _environment().from_string(FOOTER).render(organisation=data.organisation, page=page_text,
                                                       produced=context["produced"])
    return Document(html=html, figures=len(context["figures"]), expect_text=data.organisation,
                    header=header, footer=footer, resources=(plotly_url,) if plotly_url else ())


# Chromium prints these on every PDF page, outside the document: own styles, sizes in px
# (its default is unreadably small), the system's DejaVu for the diacritics.
_BAND = ("font-family: 'DejaVu Sans', sans-serif; font-size: 9px; color: #4a5568; width: 100%; "
         "margin: 0 12mm; display: flex; justify-content: space-between;")
HEADER = f'<div style="{_BAND}"><span>{{{{ organisation }}}}</span><span>{{{{ title }}}} · {{{{ day }}}}</span></div>'
FOOTER = (f'<div style="{_BAND}"><span>{{{{ produced }}}}</span>'
          '<span>{{ page }}<span class="pageNumber"></span> / <span class="totalPages"></span></span></div>')
