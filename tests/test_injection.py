"""SQL-injection (and markup) strings in every parameter of every GET endpoint under /api/v1 and in
the query strings of the pages: a clean 4xx or a normal answer, never a 500, never a row the
honest query would not give, and every table still there afterwards.

The store is seeded with two stations and their readings, two alerts and the first admin (who
signs in for the admin endpoints); each test counts the rows of the tables before and after.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, insert, inspect, select

from api import TEXT_FILTERS
from app import create_app
from auth.accounts import create_user
from data_sources.base import Batch, Entity, Reading
from ingest import store_batch
from settings import load_settings
from store.schema import alerts, entities, observations, series, tokens, users
from tests.support import TEST_ADMIN_PASSWORD, operator_headers

PAYLOADS = [
    "' OR 1=1 --",
    "' OR '1'='1",
    "1; DROP TABLE observations; --",
    "HNI' UNION SELECT * FROM users --",
    'HNI" UNION SELECT username, password_hash, 1, 1 FROM users --',
    "'); DELETE FROM users WHERE ('1'='1",
    "%' OR '%'='",
    "%",
    "_",
    "%.",
    "1 OR 1=1",
    "\x00",
    "HNI\x00' OR 1=1 --",
    '"><script>alert(1)</script>',
    "HNI" + "A" * 20_000,
    "9" * 5000,
]
PAYLOAD_IDS = ["or", "or-quoted", "drop", "union", "union-dq", "delete", "like-or", "percent", "underscore",
               "like-prefix", "numeric-or", "nul", "nul-or", "markup", "long", "long-number"]
ROW_TABLES = {"observations": observations, "entities": entities, "series": series, "alerts": alerts,
              "users": users, "tokens": tokens}

AIR = Entity("HNI-AIR-01", "station", "Trạm Nguyễn Văn Cừ", subtype="air", province_code="HNI", lat=21.05,
             lon=105.88, meta={"interval_seconds": 900})
AIR_HCM = Entity("HCM-AIR-01", "station", "Trạm Quận 1", subtype="air", province_code="HCM", lat=10.78,
                 lon=106.7, meta={"interval_seconds": 900})
WATER = Entity("HCM-SW-01", "station", "Trạm Sông Sài Gòn", subtype="surface_water", province_code="HCM",
               lat=10.8, lon=106.7, meta={"interval_seconds": 3600})


# ----------------------------------------------------------------------------- the site


@dataclass
class Site:
    engine: Engine
    client: FlaskClient  # an anonymous viewer (ANONYMOUS_ACCESS, tests/conftest.py)
    operator: dict[str, str]  # headers of an API token of scope operator

    @cached_property
    def admin(self) -> FlaskClient:
        """The first admin, signed in through the login form (only when a test needs it: hashing is slow)."""
        admin = self.client.application.test_client()
        admin.get("/login")
        answer = admin.post("/login", data={"username": "admin", "password": TEST_ADMIN_PASSWORD,
                                            "csrf_token": admin.get_cookie("_csrf_token").value})
        assert answer.status_code == 302, answer.data[:300]
        return admin

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            found = {name: conn.execute(select(func.count()).select_from(table)).scalar_one()
                     for name, table in ROW_TABLES.items()}
        return {**found, "tables": len(inspect(self.engine).get_table_names())}


@pytest.fixture
def site(engine: Engine, tmp_path: Path) -> Site:
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    readings = []
    # Every 15 minutes over the last 50 hours, high enough to exceed QCVN 05: yesterday (local
    # time) is a whole 24-hour window, whatever the time of day the tests run at.
    for i in range(50 * 4):
        ts = now - timedelta(minutes=5 + 15 * i)
        readings.append(Reading(AIR.code, "PM2.5", ts, 150.0 + i % 5, "µg/m³"))
        readings.append(Reading(AIR.code, "NO2", ts, 40.0, "µg/m³"))
        readings.append(Reading(AIR_HCM.code, "PM2.5", ts, 120.0 + i % 4, "µg/m³"))  # not flat: not suspect
    for i in range(26):
        readings.append(Reading(WATER.code, "DO", now - timedelta(minutes=10, hours=i), 6.5, "mg/L"))
    with engine.begin() as conn:
        store_batch(conn, None, Batch(entities=[AIR, AIR_HCM, WATER], readings=readings), now=now)
        conn.execute(insert(alerts), [
            {"rule_id": "pm25-hourly-over-qcvn", "subject_kind": "station", "subject_code": AIR.code,
             "subject_name": AIR.name, "severity": "major", "state": "firing", "started_at": now - timedelta(hours=2),
             "last_seen_at": now, "value": 152.0, "threshold": 50.0, "message": "PM2.5 152 > 50"},
            {"rule_id": "surface-water-do-low", "subject_kind": "station", "subject_code": WATER.code,
             "subject_name": WATER.name, "severity": "minor", "state": "resolved",
             "started_at": now - timedelta(days=1), "last_seen_at": now - timedelta(hours=20),
             "resolved_at": now - timedelta(hours=20), "value": 1.5, "threshold": 2.0, "message": "DO 1.5 < 2"},
        ])
    create_user(engine, "admin", TEST_ADMIN_PASSWORD, "admin", actor="tests")
    app = create_app(load_settings(var_dir=tmp_path, database_url=str(engine.url)), [])
    return Site(engine, app.server.test_client(), operator_headers(engine))


def _rows(body: Any, key: str) -> list:
    node = body
    for part in key.split("."):
        node = node[part]
    assert isinstance(node, list | dict), (key, node)
    return list(node)


def _get(site: Site, path: str, params: dict[str, str], who: str = "viewer"):  # noqa: ANN202
    if who == "admin":
        return site.admin.get(path, query_string=params)
    headers = site.operator if who == "operator" else {}
    return site.client.get(path, query_string=params, headers=headers)


# ------------------------------------------------------------------------ the endpoints

# path -> (where its rows are in the answer, who may call it, fixed parameters)
ENDPOINTS: dict[str, tuple[str, str, dict[str, str]]] = {
    "/api/v1/health": ("sources.items", "viewer", {}),
    "/api/v1/sources": ("sources", "viewer", {}),
    "/api/v1/stations": ("stations", "viewer", {}),
    "/api/v1/stations/HNI-AIR-01/observations": ("records", "viewer", {}),
    "/api/v1/stations/HNI-AIR-01/aqi": ("hourly", "viewer", {}),
    "/api/v1/stations/HCM-SW-01/wqi": ("parameters", "viewer", {}),
    "/api/v1/exceedances": ("exceedances", "viewer", {}),
    "/api/v1/station-health": ("stations", "viewer", {}),
    "/api/v1/alerts": ("alerts", "viewer", {"state": "all"}),
    "/api/v1/alerts/1": ("history", "viewer", {}),
    "/api/v1/silences": ("silences", "viewer", {}),
    "/api/v1/kpis": ("kpis", "viewer", {}),
    "/api/v1/kpis/LAND-01": ("breakdown", "viewer", {}),
    "/api/v1/briefings": ("briefings", "viewer", {}),
    "/api/v1/briefings/1/download": ("", "viewer", {}),
    "/api/v1/export": ("", "operator", {"path": "/", "format": "png"}),
    "/api/v1/users": ("users", "admin", {}),
    "/api/v1/tokens": ("tokens", "admin", {}),
    "/api/v1/audit": ("entries", "admin", {}),
}
# Each GET rule of the API, as the url_map names it, and the endpoint above that exercises it.
RULES = {
    "/api/v1/health": "/api/v1/health", "/api/v1/sources": "/api/v1/sources", "/api/v1/stations": "/api/v1/stations",
    "/api/v1/stations/<code>/observations": "/api/v1/stations/HNI-AIR-01/observations",
    "/api/v1/stations/<code>/aqi": "/api/v1/stations/HNI-AIR-01/aqi",
    "/api/v1/stations/<code>/wqi": "/api/v1/stations/HCM-SW-01/wqi",
    "/api/v1/exceedances": "/api/v1/exceedances", "/api/v1/station-health": "/api/v1/station-health",
    "/api/v1/alerts": "/api/v1/alerts", "/api/v1/alerts/<int:alert_id>": "/api/v1/alerts/1",
    "/api/v1/silences": "/api/v1/silences", "/api/v1/kpis": "/api/v1/kpis", "/api/v1/kpis/<code>": "/api/v1/kpis/LAND-01",
    "/api/v1/briefings": "/api/v1/briefings", "/api/v1/briefings/<int:briefing_id>/download":
        "/api/v1/briefings/1/download",
    "/api/v1/export": "/api/v1/export", "/api/v1/users": "/api/v1/users", "/api/v1/tokens": "/api/v1/tokens",
    "/api/v1/audit": "/api/v1/audit",
}

# Filters: an injected value must match nothing (or be refused), while the honest value
# (given) matches some rows and fewer than no filter at all.
FILTERS = [
    ("/api/v1/stations", "province", "HNI"),
    ("/api/v1/stations/HNI-AIR-01/observations", "metric", "PM2.5"),
    ("/api/v1/exceedances", "province", "HNI"),
    ("/api/v1/station-health", "province", "HNI"),
    ("/api/v1/audit", "actor", "admin"),
    ("/api/v1/audit", "action", "login.ok"),
]
# Parameters checked against a set of values or parsed: every injected value is a 400.
VALIDATED = [
    ("/api/v1/stations", "type"),
    ("/api/v1/stations/HNI-AIR-01/observations", "from"),
    ("/api/v1/stations/HNI-AIR-01/observations", "to"),
    ("/api/v1/stations/HNI-AIR-01/aqi", "date"),
    ("/api/v1/stations/HCM-SW-01/wqi", "date"),
    ("/api/v1/exceedances", "type"),
    ("/api/v1/exceedances", "from"),
    ("/api/v1/exceedances", "to"),
    ("/api/v1/station-health", "date"),
    ("/api/v1/station-health", "type"),
    ("/api/v1/alerts", "state"),
    ("/api/v1/alerts", "severity"),
    ("/api/v1/alerts", "limit"),
    ("/api/v1/kpis", "area"),
    ("/api/v1/kpis", "headline"),
    ("/api/v1/briefings", "limit"),
    ("/api/v1/export", "path"),
    ("/api/v1/export", "format"),
    ("/api/v1/export", "size"),
    ("/api/v1/export", "lang"),
    ("/api/v1/audit", "limit"),
]
# Flags and options that fall back to their default: the answer is the one without them. Each
# endpoint also gets a parameter it does not know ("q").
IGNORED = [
    ("/api/v1/silences", "all"), ("/api/v1/tokens", "all"), ("/api/v1/kpis", "lang"),
    *[(path, "q") for path in ENDPOINTS if path not in ("/api/v1/export", "/api/v1/briefings/1/download")],
]
# Path parameters: no such station, KPI, alert or briefing (the honest value answers, if any).
PATHS = {
    "/api/v1/stations/{}/observations": "HNI-AIR-01",
    "/api/v1/stations/{}/aqi": "HNI-AIR-01",
    "/api/v1/stations/{}/wqi": "HCM-SW-01",
    "/api/v1/kpis/{}": "LAND-01",
    "/api/v1/alerts/{}": "1",
    "/api/v1/briefings/{}/download": None,  # the seed has no briefing
}



def assert_intact(site: Site, before: dict[str, int]) -> None:
    assert site.counts() == before, "a table lost or gained rows (or a table disappeared)"


def test_every_get_endpoint_of_the_api_is_covered(site: Site) -> None:
    app = site.client.application
    rules = {str(r) for r in app.url_map.iter_rules() if str(r).startswith("/api/v1") and "GET" in (r.methods or ())
             and r.endpoint != "api_v1.unknown"}  # the JSON 404 of unknown paths
    assert rules == set(RULES), "add the new endpoint and its parameters to tests/test_injection.py"
    exercised = {f[0] for f in FILTERS} | {p for p, _k in VALIDATED} | {p for p, _k in IGNORED}
    assert set(RULES.values()) - {"/api/v1/briefings/1/download"} <= exercised
    # Every rule with a path parameter has its template in PATHS.
    assert {rule for rule in RULES if "<" in rule} == {
        rule for rule in RULES for template in PATHS
        if rule.split("<")[0] == template.split("{")[0] and rule.split(">")[1] == template.split("}")[1]}


@pytest.mark.parametrize(("path", "param", "honest"), FILTERS, ids=[f"{p}?{k}" for p, k, _h in FILTERS])
def test_an_injected_filter_matches_nothing(site: Site, path: str, param: str, honest: str) -> None:
    key, who, fixed = ENDPOINTS[path]
    before = site.counts()
    everything = _rows(_get(site, path, fixed, who).json, key)
    narrowed = _rows(_get(site, path, {**fixed, param: honest}, who).json, key)
    assert 0 < len(narrowed) < len(everything), "the seed must make the filter narrow something"
    problems = []
    for payload, name in zip(PAYLOADS, PAYLOAD_IDS):
        answer = _get(site, path, {**fixed, param: payload}, who)
        if answer.status_code == 400:
            continue
        if answer.status_code != 200:
            problems.append(f"{name}: HTTP {answer.status_code}")
        elif rows := _rows(answer.json, key):
            problems.append(f"{name}: {len(rows)} rows")
    assert problems == []
    assert_intact(site, before)


@pytest.mark.parametrize(("path", "param"), VALIDATED, ids=[f"{p}?{k}" for p, k in VALIDATED])
def test_an_injected_value_of_a_checked_parameter_is_a_400(site: Site, path: str, param: str) -> None:
    _key, who, fixed = ENDPOINTS[path]
    before = site.counts()
    answers = {name: _get(site, path, {**fixed, param: payload}, who) for payload, name in zip(PAYLOADS, PAYLOAD_IDS)}
    assert {name: a.status_code for name, a in answers.items()} == dict.fromkeys(PAYLOAD_IDS, 400)
    assert all(set(a.json) == {"error"} for a in answers.values())
    assert_intact(site, before)


@pytest.mark.parametrize(("path", "param"), IGNORED, ids=[f"{p}?{k}" for p, k in IGNORED])
def test_an_injected_option_changes_nothing(site: Site, path: str, param: str) -> None:
    key, who, fixed = ENDPOINTS[path]
    before = site.counts()
    normal = _get(site, path, fixed, who)
    assert normal.status_code == (503 if path == "/api/v1/health" else 200)  # no scheduler: health is 503
    expected = len(_rows(normal.json, key))
    for payload, name in zip(PAYLOADS, PAYLOAD_IDS):
        answer = _get(site, path, {**fixed, param: payload}, who)
        assert answer.status_code == normal.status_code, name
        assert len(_rows(answer.json, key)) == expected, name
    assert_intact(site, before)


def _no_data(answer) -> bool:  # noqa: ANN001
    """A 404, or Dash's page shell (what any path the API does not route gets, see below): no data."""
    if answer.status_code == 404:
        return True
    return (answer.status_code == 200 and answer.mimetype == "text/html" and b"_dash-config" in answer.data
            and not any(e.name.encode() in answer.data or e.code.encode() in answer.data for e in (AIR, AIR_HCM, WATER)))


@pytest.mark.parametrize("template", PATHS)
def test_an_injected_path_parameter_finds_nothing(site: Site, template: str) -> None:
    before = site.counts()
    answers = {name: site.client.get(template.format(quote(payload, safe="")))
               for payload, name in zip(PAYLOADS, PAYLOAD_IDS)}
    assert {name: a.status_code for name, a in answers.items() if not _no_data(a)} == {}
    # The payloads the endpoint's rule takes (not those with "/"; for ids only digits) reach it: a 404.
    assert answers["long-number"].status_code == 404
    if PATHS[template] is not None:
        assert site.client.get(template.format(PATHS[template])).status_code == 200
    assert_intact(site, before)


def test_the_honest_queries_still_work_after_the_injections(site: Site) -> None:
    """Alert counts by state and the station list are what the seed says, after every payload."""
    for payload in PAYLOADS:
        site.client.get("/api/v1/stations", query_string={"province": payload})
        site.client.get("/api/v1/alerts", query_string={"state": payload})
    assert len(site.client.get("/api/v1/stations").json["stations"]) == 3
    assert site.client.get("/api/v1/alerts", query_string={"state": "all"}).json["count"] == 2
    assert site.client.get("/api/v1/alerts").json["count"] == 1
    assert site.counts()["users"] == 1


# ----------------------------------------------------------------------------- the pages

ROUTER_OUTPUT = ".._pages_content.children..._pages_store.data.."


def dash_callback(client: FlaskClient, outputs: list[str], inputs: list[tuple[str, str, Any]],
                  state: list[tuple[str, str, Any]] = ()):  # noqa: ANN201
    """A callback request as Dash's renderer sends it (ids "component.property"), with the CSRF header."""
    if client.get_cookie("_csrf_token") is None:
        client.get("/")

    def spec(items: list[tuple[str, str, Any]]) -> list[dict[str, Any]]:
        return [{"id": i, "property": prop, "value": value} for i, prop, value in items]

    body = {
        "output": ".." + "...".join(outputs) + "..",
        "outputs": [dict(zip(("id", "property"), o.rsplit(".", 1))) for o in outputs],
        "inputs": spec(inputs), "state": spec(state), "changedPropIds": [f"{inputs[0][0]}.{inputs[0][1]}"],
    }
    return client.post("/_dash-update-component", json=body,
                       headers={"X-CSRFToken": client.get_cookie("_csrf_token").value})


def dash_layout(client: FlaskClient, pathname: str, search: str):  # noqa: ANN201
    """The page's content as the browser asks for it: Dash's pages router callback."""
    return dash_callback(client, ["_pages_content.children", "_pages_store.data"],
                         [("_pages_location", "pathname", pathname), ("_pages_location", "search", search)])


def area_refresh(client: FlaskClient, area: str, selection: Any):  # noqa: ANN201
    """An area page's refresh (components/area.py), with the selection its layout stored."""
    outputs = [f"{area}-kpis.children", f"{area}-detail-title.children", f"{area}-map.figure", f"{area}-map.style",
               f"{area}-breakdown.rowData", f"{area}-as-of.children"]
    return dash_callback(client, outputs, [(f"{area}-refresh", "n_intervals", 1)],
                         [(f"{area}-selection", "data", selection)])


def _content(answer) -> Any:  # noqa: ANN001
    assert answer.status_code == 200, answer.data[:300]
    return answer.json["response"]["_pages_content"]["children"]


def _find(node: Any, component_id: str) -> dict | None:
    if isinstance(node, dict):
        props = node.get("props", {})
        if props.get("id") == component_id:
            return props
        node = props.get("children")
    for child in node if isinstance(node, list) else [node] if isinstance(node, dict) else []:
        found = _find(child, component_id)
        if found is not None:
            return found
    return None


# page, parameter, the value whose layout an injected one must equal (None: its own check)
PAGE_PARAMS = [
    ("/environment", "province", ""), ("/environment", "range", ""),
    ("/station/HNI-AIR-01", "range", ""),
    ("/land", "kpi", None), ("/water-resources", "kpi", None), ("/reporting", "kpi", None),
    ("/public-services", "kpi", None), ("/gnss", "kpi", None),
    ("/alerts", "state", ""), ("/alerts", "severity", ""), ("/alerts", "q", None),
    ("/wall/overview", "lang", ""), ("/wall/overview", "kiosk", "1"),
    ("/", "province", ""), ("/sources", "q", ""), ("/briefings", "q", ""),
]
HTML_SPECIAL = set("<>\"'")


@pytest.mark.parametrize(("page", "param", "same_as"), PAGE_PARAMS, ids=[f"{p}?{k}" for p, k, _s in PAGE_PARAMS])
def test_page_query_strings_are_data(site: Site, page: str, param: str, same_as: str | None) -> None:
    before = site.counts()
    client = site.client
    baseline = None if same_as is None else _content(dash_layout(client, page, f"?{param}={same_as}"))
    for payload, name in zip(PAYLOADS, PAYLOAD_IDS):
        search = "?" + f"{param}={quote(payload, safe='')}"
        html = client.get(page + search)
        assert html.status_code == 200, (name, html.status_code)
        if HTML_SPECIAL & set(payload):
            assert payload.encode() not in html.data, f"{name} reflected unescaped in the HTML of {page}"
        content = _content(dash_layout(client, page, search))
        if baseline is not None:
            assert content == baseline, name
        elif param == "q":  # the search box shows the text typed, as its value
            assert _find(content, "alerts-search")["value"] == payload.strip()[:200]
        else:  # an area page: the KPI asked for is remembered, as data, for its refresh to look up
            area = page.strip("/").replace("-", "_")
            selection = _find(content, f"{area}-selection")["data"]
            assert selection["kpi"] == payload
            refreshed = area_refresh(client, area, selection)
            assert refreshed.status_code == 200, name
            # An unknown KPI is no KPI: the drill-down shows the first one with a breakdown, as with none.
            assert refreshed.json == area_refresh(client, area, {**selection, "kpi": ""}).json, name
    assert_intact(site, before)


@pytest.mark.parametrize("template", ["/station/{}", "/wall/{}"])
def test_an_injected_page_path_is_named_as_text(site: Site, template: str) -> None:
    before = site.counts()
    for payload, name in zip(PAYLOADS, PAYLOAD_IDS):
        if "\x00" in payload or len(payload) > 1000:
            continue  # not a path a browser sends (and a URL past the servers' limits)
        path = template.format(quote(payload, safe=""))
        assert site.client.get(path).status_code == 200, name
        content = _content(dash_layout(site.client, template.format(payload), ""))
        text = json.dumps(content, ensure_ascii=False)
        assert "Không có" in text or "không có" in text, name  # the "no such station/wall" page
        assert "HNI-AIR-01" not in text and "Trạm Nguyễn Văn Cừ" not in text, name  # no station leaked
    assert_intact(site, before)


def test_the_login_page_keeps_next_as_text(site: Site) -> None:
    fresh = site.client.application.test_client()
    for payload in PAYLOADS:
        answer = fresh.get("/login", query_string={"next": "/" + payload})
        assert answer.status_code == 200
        if HTML_SPECIAL & set(payload):
            assert payload.encode() not in answer.data


# ---------------------------------------------------------------------------- known bugs


def test_the_audit_action_prefix_is_not_a_like_pattern(site: Site) -> None:
    answer = site.admin.get("/api/v1/audit", query_string={"action": "%."})
    assert answer.status_code == 200
    assert answer.json["entries"] == []  # no action starts with "%."


@pytest.mark.parametrize("query", [
    "/api/v1/stations/HNI-AIR-01/observations?to=0001-01-01T00:00:00",
    "/api/v1/stations/HNI-AIR-01/observations?from=9999-12-31T23:59:59",
    "/api/v1/stations/HNI-AIR-01/aqi?date=0001-01-01",
    "/api/v1/stations/HCM-SW-01/wqi?date=0001-01-01",
    "/api/v1/exceedances?to=0001-01-01T00:00:00",
    "/api/v1/exceedances?from=0001-01-01T00:00:00%2B14:00",
    "/api/v1/station-health?date=9999-12-31",
    "/api/v1/station-health?date=1969-12-31",
    "/api/v1/station-health?date=2101-01-01",
])
def test_dates_at_the_edges_are_a_400(site: Site, query: str) -> None:
    answer = site.client.get(query)
    assert answer.status_code == 400
    assert set(answer.json) == {"error"} and "1970 to 2100" in answer.json["error"]


@pytest.mark.parametrize("query", [
    "/api/v1/stations/HNI-AIR-01/observations?from=1970-01-01T00:00:00&to=1970-01-02T00:00:00",
    "/api/v1/stations/HNI-AIR-01/aqi?date=2100-12-31",
    "/api/v1/station-health?date=1970-01-01",
])
def test_dates_at_the_edges_of_the_range_answer(site: Site, query: str) -> None:
    assert site.client.get(query).status_code == 200


REPEATED = [
    ("/environment", "?province=HNI&province=HCM"),
    ("/environment", "?range=24h&range=7d"),
    ("/station/HNI-AIR-01", "?range=24h&range=7d"),
    ("/wall/overview", "?lang=en&lang=vi"),
    ("/land", "?kpi=LAND-01&kpi=LAND-02"),
]


@pytest.mark.parametrize(("page", "search"), REPEATED)
def test_a_repeated_page_parameter_counts_as_its_first_value(site: Site, page: str, search: str) -> None:
    answer = dash_layout(site.client, page, search)
    assert _content(answer) == _content(dash_layout(site.client, page, search.split("&")[0]))
    if page == "/land":
        selection = _find(_content(answer), "land-selection")["data"]
        assert selection["kpi"] == "LAND-01"
        assert area_refresh(site.client, "land", selection).status_code == 200


@pytest.mark.parametrize("kpi", [["LAND-01", "LAND-02"], [], 7, None])
def test_an_area_refresh_takes_any_selected_kpi(site: Site, kpi: Any) -> None:
    """The selection comes back from the browser: a list, a number or nothing is no 500."""
    answer = area_refresh(site.client, "land", {"kpi": kpi, "path": "/land"})
    assert answer.status_code == 200
    first = kpi[0] if isinstance(kpi, list) and kpi else ""
    assert answer.json == area_refresh(site.client, "land", {"kpi": first, "path": "/land"}).json


def test_a_single_page_parameter_works(site: Site) -> None:
    """The counterpart of the repeated ones above: the same pages with each parameter once."""
    for page, search in REPEATED:
        answer = dash_layout(site.client, page, search.split("&")[0])
        assert answer.status_code == 200, page
        if page == "/land":
            selection = _find(_content(answer), "land-selection")["data"]
            assert selection["kpi"] == "LAND-01"
            assert area_refresh(site.client, "land", selection).status_code == 200


@pytest.mark.parametrize("path", ["/api/v1/no-such-thing", "/api/v1/alerts/not-a-number",
                                  "/api/v1/kpis/" + quote("a/b", safe="")])
def test_an_unknown_api_path_is_a_json_404(site: Site, path: str) -> None:
    answer = site.client.get(path)
    assert (answer.status_code, answer.mimetype) == (404, "application/json")


# ------------------------------------------------------------------------------ PostgreSQL


NUL_IDS = {"nul", "nul-or"}
PG_FILTERS = [("/api/v1/stations", "province"), ("/api/v1/stations/HNI-AIR-01/observations", "metric"),
              ("/api/v1/exceedances", "province"), ("/api/v1/station-health", "province")]


@pytest.fixture
def pg_client(pg_engine: Engine, tmp_path: Path) -> FlaskClient:
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    with pg_engine.begin() as conn:
        store_batch(conn, None, Batch(entities=[AIR, AIR_HCM, WATER], readings=[
            Reading(AIR.code, "PM2.5", now - timedelta(minutes=5 + 15 * i), 30.0 + i % 3, "µg/m³") for i in range(8)]),
            now=now)
    return create_app(load_settings(var_dir=tmp_path, database_url=pg_engine.url.render_as_string(False)),
                      []).server.test_client()


def _pg_problems(client: FlaskClient, names: set[str]) -> list[str]:
    problems = []
    for payload, name in zip(PAYLOADS, PAYLOAD_IDS):
        if name not in names:
            continue
        for path, param in PG_FILTERS:
            answer = client.get(path, query_string={param: payload})
            if answer.status_code == 400:
                continue
            if answer.status_code != 200:
                problems.append(f"{path}?{param}={name}: HTTP {answer.status_code}")
            elif _rows(answer.json, ENDPOINTS[path][0]):
                problems.append(f"{path}?{param}={name}: rows")
        for template in list(PATHS)[:3]:
            if not _no_data(answer := client.get(template.format(quote(payload, safe="")))):
                problems.append(f"{template} {name}: HTTP {answer.status_code}")
        if "/" not in payload and len(payload) < 1000:
            answer = dash_layout(client, f"/station/{payload}", "")
            if answer.status_code != 200:
                problems.append(f"/station/{name} layout: HTTP {answer.status_code}")
    return problems


@pytest.mark.postgres
def test_injections_on_postgresql(pg_client: FlaskClient, pg_engine: Engine) -> None:
    assert _pg_problems(pg_client, set(PAYLOAD_IDS) - NUL_IDS) == []
    with pg_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(observations)).scalar_one() == 8


@pytest.mark.postgres
def test_a_nul_byte_on_postgresql_is_not_a_500(pg_client: FlaskClient) -> None:
    """PostgreSQL refuses a NUL in text (psycopg.DataError): the API refuses it first (api/__init__.py)."""
    assert _pg_problems(pg_client, NUL_IDS) == []


@pytest.mark.parametrize("payload", ["\x00", "HNI\x00", "HNI\n", "\x7f"], ids=["nul", "nul-suffix", "newline", "del"])
def test_a_control_character_is_refused_alike_on_every_store(site: Site, payload: str) -> None:
    """The answers PostgreSQL gives (above) on SQLite too: a text filter is a JSON 400, a code in the path a JSON 404."""
    for path, param in PG_FILTERS + [("/api/v1/audit", "actor"), ("/api/v1/audit", "action")]:
        client = site.admin if path == "/api/v1/audit" else site.client
        answer = client.get(path, query_string={param: payload})
        assert (answer.status_code, set(answer.json)) == (400, {"error"}), (path, param)
    for template, honest in PATHS.items():
        answer = site.client.get(template.format(quote(payload, safe="")))
        assert answer.status_code == 404, template
        if honest is not None and not honest.isdigit():  # a code, not a number, in the path
            assert answer.json == {"error": "nothing here: the path holds a control character"}, template
    text = json.dumps(_content(dash_layout(site.client, f"/station/{payload}", "")), ensure_ascii=False)
    assert "HNI-AIR-01" not in text and "Trạm Nguyễn Văn Cừ" not in text


def test_the_text_filters_are_those_the_api_refuses_control_characters_in() -> None:
    assert {param for _path, param, _honest in FILTERS} == TEXT_FILTERS
