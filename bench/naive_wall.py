"""The naive wall of ``bench/wall.py``: the ``overview`` wall's panels done the obvious way.

What a first implementation would do, kept deliberately plain:

* one Dash callback per panel, fired by one ``dcc.Interval`` (30 s, as the shipped wall);
* every refresh rebuilds the panel's whole figure or table and sends all of it, with its
  "dữ liệu lúc …" line: no ``no_update``, no digests, no ``Patch``;
* no cache, no sharing between screens or panels: each callback reads the store itself;
* the air-quality panels (tile map, worst stations, station map), the water-quality table
  and the completeness chart are computed from the raw ``observations`` table with pandas
  on every request (hourly means, the NowCast/VN_AQI of :mod:`indicators.aqi`, VN_WQI of
  :mod:`indicators.wqi`, counts of readings), not from the hourly roll-ups;
* the KPIs, alerts, warnings, exceedances and sources panels call the app's own queries, uncached.
  (The KPI and exceedance queries read the roll-ups: the naive side is spared a raw scan
  there, which makes the comparison conservative.)

The figures and tables are drawn with the app's own builders (same tile map, station
map, bar chart, tables), at a 1080p screen's font size, so both sides send the same kind
of figure. Served by ``bench/wall_server.py --app naive``.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pandas as pd
from dash import Dash, Input, Output, dcc, html
from sqlalchemy import Engine, select

from components.air_quality import DARK_TEXT, province_tiles, station_map_of
from components.alert_list import alert_lines, severity_counts
from components.environment import completeness_figure
from components.kpi_tiles import kpi_tile
from components.panels import wall_table
from components.panels.hydromet import LEVEL_COLOURS as WARNING_COLOURS
from components.status import status_badge
from components.water_quality import DARK_TEXT as WQI_DARK_TEXT
from components.water_quality import wqi_rows
from i18n import format_age, format_number, format_time, t
from indicators.aqi import CATEGORY_BY_KEY, hourly_aqi_frame
from kpis.catalogue import load_catalogue
from kpis.compute import compute_kpis
from limits import load_limits
from queries.air_quality import AQI_METRICS, CURRENT_WITHIN, NOWCAST_LEAD, StationAQI
from queries.alerts import counts_by_severity, list_alerts
from queries.entities import entity_names
from queries.exceedances import by_site, exceedances
from queries.health import system_health
from queries.station_health import ProvinceCompleteness
from queries.stations import DEFAULT_INTERVAL, STATION_TYPES
from queries.warnings import active_warnings
from queries.water_quality import WINDOW_HOURS, _compute
from reference.provinces import province
from settings import Settings, load_settings
from store.engine import make_engine
from store.schema import QUALITY_VALID, entities, observations, series

HOUR = 3600
FONT_PX = 24  # the wall's body text on a 1080p screen (PanelContext.font_px)
LANG = "vi"
REFRESH_MS = 30_000

# (panel id, title key, kind of output) in the overview wall's order: page 1 then page 2.
# bench/wall.py checks these against the shipped overview wall's panels.
PANELS = [
    ("kpis", "kpi.headline", "children"),
    ("alerts", "alert.title", "children"),
    ("warnings", "warning.title", "children"),
    ("aqi_map", "aqi.map", "figure"),
    ("sources", "wall.panel.sources", "children"),
    ("aqi_worst", "aqi.worst_now", "children"),
    ("aqi_stations", "aqi.station_map", "figure"),
    ("wqi", "wqi.title", "children"),
    ("exceedances", "exceedance.title", "children"),
    ("completeness", "completeness.title", "figure"),
]


# --------------------------------------------------------------------------- raw reads

def _raw(engine: Engine, subtypes: list[str], start_ts: int, end_ts: int,
         metrics: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Raw readings [entity_id, code, metric, ts, value, quality] of the stations of ``subtypes``."""
    query = (
        select(entities.c.id.label("entity_id"), entities.c.code, series.c.metric, observations.c.ts,
               observations.c.value, observations.c.quality)
        .join(series, series.c.entity_id == entities.c.id)
        .join(observations, observations.c.series_id == series.c.id)
        .where(entities.c.kind == "station", entities.c.subtype.in_(subtypes),
               observations.c.ts >= start_ts, observations.c.ts < end_ts)
    )
    if metrics:
        query = query.where(series.c.metric.in_(metrics))
    with engine.connect() as conn:
        return pd.read_sql(query, conn)


def _stations(engine: Engine, subtypes: list[str]) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(
            select(entities.c.id, entities.c.code, entities.c.name, entities.c.subtype, entities.c.province_code,
                   entities.c.lat, entities.c.lon, entities.c.meta)
            .where(entities.c.kind == "station", entities.c.subtype.in_(subtypes)).order_by(entities.c.code), conn)


def _hourly_means(raw: pd.DataFrame) -> pd.DataFrame:
    """Hourly means of the valid readings: [code, metric, hour_ts, value]."""
    valid = raw[(raw["quality"] == QUALITY_VALID) & raw["value"].notna()].copy()
    valid["hour_ts"] = valid["ts"] // HOUR * HOUR
    return valid.groupby(["code", "metric", "hour_ts"], as_index=False)["value"].mean()


def naive_current_aqi(engine: Engine, now: datetime) -> list[StationAQI]:
    """The newest hourly VN_AQI of every air station, from the raw readings of the last 14 hours."""
    this_hour = int(now.timestamp()) // HOUR * HOUR
    start = this_hour - int((CURRENT_WITHIN + NOWCAST_LEAD).total_seconds())
    raw = _raw(engine, [STATION_TYPES["air"]], start, this_hour + HOUR, AQI_METRICS)
    if raw.empty:
        return []
    means = _hourly_means(raw).rename(columns={"code": "station", "metric": "pollutant"})
    result = hourly_aqi_frame(means[["station", "pollutant", "hour_ts", "value"]],
                              start=this_hour - int(CURRENT_WITHIN.total_seconds()), end=this_hour)
    newest = result.sort_values("hour_ts").groupby("station", sort=False).tail(1)
    info = _stations(engine, [STATION_TYPES["air"]]).set_index("code")
    out = []
    for r in newest.itertuples(index=False):
        s = info.loc[r.station]
        out.append(StationAQI(
            code=r.station, name=s["name"], province_code=s["province_code"],
            lat=None if pd.isna(s["lat"]) else float(s["lat"]), lon=None if pd.isna(s["lon"]) else float(s["lon"]),
            hour=datetime.fromtimestamp(int(r.hour_ts), UTC), aqi=int(r.aqi), category=r.category,
            colour=r.colour, dominant=r.dominant))
    return sorted(out, key=lambda s: (-s.aqi, s.code))


def naive_wqi(engine: Engine, now: datetime, lang: str) -> list:
    """VN_WQI of every surface-water station over the last 24 hours, from the raw readings."""
    this_hour = int(now.timestamp()) // HOUR * HOUR
    start_ts = this_hour - (WINDOW_HOURS - 1) * HOUR
    stations = _stations(engine, [STATION_TYPES["water"]])
    raw = _raw(engine, [STATION_TYPES["water"]], start_ts, this_hour + HOUR)
    hourly = _hourly_means(raw)
    per_metric = hourly.groupby(["code", "metric"]).agg(mean=("value", "mean"), hours=("value", "size")).reset_index()
    rows: dict[str, list[tuple[str, float, int]]] = {}
    for r in per_metric.itertuples(index=False):
        rows.setdefault(r.code, []).append((r.metric, float(r.mean), int(r.hours)))
    start, end = datetime.fromtimestamp(start_ts, UTC), now
    return [_compute(s, rows.get(s.code, []), start, end, lang) for s in stations.itertuples(index=False)]


def naive_completeness(engine: Engine, now: datetime, tz: Any) -> tuple[list[ProvinceCompleteness], datetime | None]:
    """Received ÷ expected readings today per province, counting the raw readings of every station."""
    day: date = now.astimezone(tz).date()
    start_ts = int(datetime.combine(day, time(0), tz).timestamp())
    elapsed = max(0, int(now.timestamp()) - start_ts)
    stations = _stations(engine, list(STATION_TYPES.values()))
    raw = _raw(engine, list(STATION_TYPES.values()), start_ts, start_ts + 86400)
    received = raw.groupby("entity_id").size()
    with engine.connect() as conn:
        n_series = pd.read_sql(select(series.c.entity_id), conn).groupby("entity_id").size()
    provinces: dict[Any, list[int]] = {}
    for s in stations.itertuples(index=False):
        meta = s.meta or {}
        interval = int(meta.get("interval_seconds") or DEFAULT_INTERVAL)
        declared = meta.get("parameters")
        parameters = len(declared) if isinstance(declared, list) and declared else int(n_series.get(s.id, 0))
        expected = (elapsed // interval) * parameters
        got = int(received.get(s.id, 0))
        p = provinces.setdefault(s.province_code, [0, 0, 0, 0])
        p[0] += 1
        p[1] += 1 if got else 0
        p[2] += min(got, expected)
        p[3] += expected
    result = [ProvinceCompleteness(province_code=code, stations=n, stations_reporting=rep, received=rec, expected=exp,
                                   completeness=None if exp <= 0 else min(1.0, rec / exp))
              for code, (n, rep, rec, exp) in sorted(provinces.items(), key=lambda kv: (kv[0] is None, kv[0] or ""))]
    newest = int(raw["ts"].max()) if len(raw) else None
    return result, None if newest is None else datetime.fromtimestamp(newest, UTC)


# --------------------------------------------------------------------------- the app

def _as_of(moment: datetime | None, settings: Settings) -> str:
    if moment is None:
        return t("map.no_data", LANG)
    return t("data.as_of", LANG, time=format_time(moment, settings.tz, LANG, "HH:mm dd/MM"))


def _cells(colour: str, dark: bool) -> dict[str, str]:
    return {"backgroundColor": colour, "color": "#000" if dark else "#fff", "fontWeight": "700"}


def create_naive_app(settings: Settings | None = None) -> Dash:
    settings = settings or load_settings()
    engine = make_engine(settings.effective_database_url)
    catalogue = load_catalogue(settings.kpis_file)
    limits = load_limits(settings.limits_file)
    tz = settings.tz
    app = Dash(__name__, update_title=None, serve_locally=True, assets_folder=str(settings.var_dir / "no-assets"),
               title="naive wall")

    def section(panel: str, title_key: str, prop: str) -> html.Section:
        body = (dcc.Graph(id=f"{panel}-body", style={"height": "100%"}, config={"displayModeBar": False})
                if prop == "figure" else html.Div(id=f"{panel}-body"))
        return html.Section([html.H2(t(title_key, LANG)), html.Span(id=f"{panel}-asof"), body],
                            style={"height": "40vh", "overflow": "hidden"})

    app.layout = html.Div([dcc.Interval(id="tick", interval=REFRESH_MS),
                           *[section(*p) for p in PANELS]])

    def refresh(panel: str, prop: str):  # noqa: ANN202
        return app.callback(Output(f"{panel}-body", prop), Output(f"{panel}-asof", "children"),
                            Input("tick", "n_intervals"))

    @refresh("kpis", "children")
    def kpis(_n: int | None) -> tuple:
        values = [k for k in compute_kpis(engine, catalogue, datetime.now(UTC), tz) if k.headline]
        tiles = html.Div([kpi_tile(k, LANG, tz) for k in values], className="kpi-tiles",
                         style={"gridTemplateColumns": "repeat(8, minmax(0, 1fr))"})
        return tiles, _as_of(max((k.as_of for k in values if k.as_of), default=None), settings)

    @refresh("alerts", "children")
    def alerts(_n: int | None) -> tuple:
        now = datetime.now(UTC)
        rows, counts = list_alerts(engine, state="open", limit=50), counts_by_severity(engine)
        return ([severity_counts(counts, LANG), alert_lines(rows[:5], LANG, tz, now, 5, timedelta(seconds=30))],
                _as_of(now, settings))

    @refresh("warnings", "children")
    def warnings(_n: int | None) -> tuple:
        now = datetime.now(UTC)
        rows = []
        for w in active_warnings(engine, now)[:4]:
            background, colour = WARNING_COLOURS.get(w.level, WARNING_COLOURS[0])
            rows.append({
                "level": t(f"warning.level.{w.level}", LANG), "headline": w.headline,
                "areas": ", ".join(province(code).name for code in w.provinces) or ", ".join(
                    a.get("areaDesc", "") for a in w.areas),
                "until": format_time(w.expires, tz, LANG, "HH:mm dd/MM") if w.expires else "–",
                "_style_level": {"backgroundColor": background, "color": colour, "fontWeight": "700"}})
        columns = [("level", t("warning.col.level", LANG)), ("headline", t("warning.col.headline", LANG)),
                   ("areas", t("warning.col.areas", LANG)), ("until", t("warning.col.until", LANG))]
        return wall_table(columns, rows, 4, t("warning.none", LANG)), _as_of(now, settings)

    @refresh("aqi_map", "figure")
    def aqi_map(_n: int | None) -> tuple:
        stations = naive_current_aqi(engine, datetime.now(UTC))
        figure = province_tiles(stations, LANG, height=None, font_px=16)
        return figure, _as_of(max((s.hour for s in stations), default=None), settings)

    @refresh("sources", "children")
    def sources(_n: int | None) -> tuple:
        now = datetime.now(UTC)
        health = system_health(engine, now, settings.heartbeat_timeout, settings.stale_after_intervals)
        lines = [html.Div([status_badge(s.status, LANG), html.Span(s.name, className="source-name"),
                           html.Span(format_age(now - s.last_observation_at, LANG) if s.last_observation_at else "–",
                                     className="source-age")], className=f"source-line source-{s.status}")
                 for s in health.sources]
        body = [html.Div([status_badge(health.status, LANG),
                          html.Span(t("health.counts", LANG, **health.counts), className="health-counts")],
                         className="health-line"), html.Div(lines, className="source-lines")]
        return body, _as_of(health.checked_at, settings)

    @refresh("aqi_worst", "children")
    def aqi_worst(_n: int | None) -> tuple:
        stations = naive_current_aqi(engine, datetime.now(UTC))
        rows = [{"aqi": s.aqi, "category": CATEGORY_BY_KEY[s.category].label(LANG), "station": s.name,
                 "province": province(s.province_code).name if s.province_code else "",
                 "_style_aqi": _cells(s.colour, s.category in DARK_TEXT),
                 "_style_category": _cells(s.colour, s.category in DARK_TEXT)} for s in stations[:8]]
        columns = [("aqi", "AQI"), ("category", t("aqi.col.category", LANG)),
                   ("station", t("aqi.col.station", LANG)), ("province", t("aqi.col.province", LANG))]
        return (wall_table(columns, rows, 8, t("map.no_data", LANG)),
                _as_of(max((s.hour for s in stations), default=None), settings))

    @refresh("aqi_stations", "figure")
    def aqi_stations(_n: int | None) -> tuple:
        stations = naive_current_aqi(engine, datetime.now(UTC))
        figure = station_map_of(stations, LANG, height=None, font_px=FONT_PX)
        return figure, _as_of(max((s.hour for s in stations), default=None), settings)

    @refresh("wqi", "children")
    def wqi_table(_n: int | None) -> tuple:
        now = datetime.now(UTC)
        stations = naive_wqi(engine, now, LANG)
        rows = [{**r, "wqi": r["wqi_text"], "_style_wqi": _cells(r["colour"], r["band_key"] in WQI_DARK_TEXT),
                 "_style_band": _cells(r["colour"], r["band_key"] in WQI_DARK_TEXT)}
                for r in wqi_rows(stations, LANG)[:8]]
        columns = [("wqi", "WQI"), ("band", t("wqi.col.band", LANG)), ("station", t("aqi.col.station", LANG)),
                   ("province", t("aqi.col.province", LANG))]
        newest = max((s.window_end for s in stations if s.wqi is not None), default=None)
        return wall_table(columns, rows, 8, t("map.no_data", LANG)), _as_of(newest, settings)

    @refresh("exceedances", "children")
    def exceedance_table(_n: int | None) -> tuple:
        now = datetime.now(UTC)
        found = exceedances(engine, limits, now - timedelta(hours=24), now, tz=tz)
        facilities = sorted({e.facility_code for e in found if e.facility_code})
        sites = by_site(found, entity_names(engine, facilities))
        rows = [{"site": s.name, "province": province(s.province_code).name if s.province_code else "",
                 "metrics": ", ".join(s.metrics), "worst": f"{format_number(s.worst_ratio, LANG, 1, fixed=True)}×",
                 "last": format_time(s.last_window_end, tz, LANG, "HH:mm")} for s in sites[:8]]
        columns = [("site", t("exceedance.col.site", LANG)), ("province", t("aqi.col.province", LANG)),
                   ("metrics", t("exceedance.col.metrics", LANG)), ("worst", t("exceedance.col.worst", LANG)),
                   ("last", t("exceedance.col.last", LANG))]
        newest = max((e.window_end for e in found), default=None)
        return wall_table(columns, rows, 8, t("exceedance.none", LANG)), _as_of(newest, settings)

    @refresh("completeness", "figure")
    def completeness(_n: int | None) -> tuple:
        provinces, newest = naive_completeness(engine, datetime.now(UTC), tz)
        return completeness_figure(provinces, LANG, height=None, font_px=FONT_PX), _as_of(newest, settings)

    return app


if __name__ == "__main__":
    create_naive_app().run(debug=False)
