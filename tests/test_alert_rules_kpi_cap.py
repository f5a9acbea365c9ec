"""The ``kpi_status`` and ``cap_warning`` alert rules: loading (file:line errors), firing,
hysteresis, resolution, restarts, severities mapped from CAP, and the links of their subjects.

KPI figures and CAP documents are stored through ingest, as a poll would store them;
every step is evaluated at a fixed ``now``.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from alerts.evaluate import evaluate
from alerts.model import BREACH, CLEAR, HOLDING
from alerts.rules import KpiStatusRule, RuleSet, load_rules
from components.alerts_table import alert_rows, subject_href
from data_sources.base import Batch, Entity
from data_sources.cap import CapOptions, _Provinces, parse_alert, parse_xml, readings_for
from ingest import store_batch
from kpis.catalogue import Catalogue, load_catalogue
from settings import ConfigError
from store.schema import alert_events
from tests.test_alerts import LIMITS, T0, events, feed, make_rules, rows, rules_file
from tests.test_alerts_page import alert
from tests.test_cap import SENDER, at, cap, info
from tests.test_kpis import write_catalogue

H = timedelta(hours=1)
M = timedelta(minutes=1)
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
HNI = Entity("HNI", "province", "Hà Nội", province_code="HNI")

# One KPI, lower is better: ≤ 2 green, ≥ 5 red, amber between; the newest hourly figure counts.
KPI = {
    "code": "LAND-07", "name_vi": "Tỷ lệ tra cứu thông tin đất đai bị lỗi", "name_en": "Land record look-up failure rate",
    "unit": "%", "area": "land", "method": "latest", "metric": "lookup_failure_pct", "combine": "max",
    "period": "day", "max_age": "2h", "direction": "lower_is_better", "thresholds": {"green": 2, "red": 5},
}
NEUTRAL = KPI | {"code": "LAND-99", "name_vi": "Số lượt tra cứu", "name_en": "Look-ups", "thresholds": None}


def kpi_rules(tmp_path: Path, **keys: Any) -> RuleSet:
    extra = "".join(f"    {k.removesuffix('_')}: {v}\n" for k, v in keys.items())
    return make_rules(tmp_path, f"""\
rules:
  - id: kpi-red
    name: {{vi: "Chỉ tiêu không đạt", en: "KPI red"}}
    kind: kpi_status
    severity: minor
    scope: kpi
{extra}""")


@pytest.fixture
def kpis(tmp_path: Path) -> Catalogue:
    return load_catalogue(write_catalogue(tmp_path, KPI, NEUTRAL))


def figure(engine: Engine, hour: int, value: float) -> None:
    """The KPI's hourly figure for Hà Nội at T0 + ``hour`` hours (T0 is 10:00 local)."""
    feed(engine, HNI, "lookup_failure_pct", [(T0 + hour * H, value)], unit="%")


def run(engine: Engine, rules: RuleSet, now: datetime, catalogue: Catalogue) -> Any:
    return evaluate(engine, rules, now, LIMITS, TZ, catalogue)


# --------------------------------------------------------------------------- kpi_status


def test_a_kpi_turning_red_fires_once_holds_while_amber_and_resolves_when_green(
        any_engine: Engine, tmp_path: Path, kpis: Catalogue) -> None:
    rules = kpi_rules(tmp_path)
    figure(any_engine, 0, 1.0)  # green
    result = run(any_engine, rules, T0 + 5 * M, kpis)
    assert [(c.subject_code, c.status) for c in result.conditions] == [("LAND-07", CLEAR)]  # the neutral KPI: none
    assert rows(any_engine) == []

    figure(any_engine, 1, 6.0)  # red
    (fired,) = run(any_engine, rules, T0 + H + 5 * M, kpis).fired
    (a,) = rows(any_engine)
    assert (a.id, a.subject_kind, a.subject_code, a.subject_name, a.severity, a.state, a.value, a.threshold) == (
        fired, "kpi", "LAND-07", "Tỷ lệ tra cứu thông tin đất đai bị lỗi", "minor", "firing", 6.0, 5.0)
    assert a.message == "6 %: Không đạt (đạt 2 %, không đạt 5 %), kỳ từ 20/11/2026 00:00"

    # Still red, then flapping around the red boundary (amber 4,9 / red 5,1 / amber 4,8): the same alert.
    for hour, value, status in ((2, 7.0, BREACH), (3, 4.9, HOLDING), (4, 5.1, BREACH), (5, 4.8, HOLDING)):
        figure(any_engine, hour, value)
        result = run(any_engine, rules, T0 + hour * H + 5 * M, kpis)
        assert ([c.status for c in result.conditions], result.new_alerts, result.resolved) == ([status], (), ())
        (a,) = rows(any_engine)
        assert (a.id, a.state, a.value) == (fired, "firing", value)
    assert events(any_engine) == ["fired"]

    figure(any_engine, 6, 1.5)  # back to green
    assert run(any_engine, rules, T0 + 6 * H + 5 * M, kpis).resolved == (fired,)
    (a,) = rows(any_engine)
    assert (a.state, a.resolved_at) == ("resolved", T0 + 6 * H + 5 * M)
    assert events(any_engine) == ["fired", "resolved"]


def test_clear_at_status_amber_resolves_as_soon_as_the_kpi_is_no_longer_red(
        engine: Engine, tmp_path: Path, kpis: Catalogue) -> None:
    rules = kpi_rules(tmp_path, clear_at_status="amber")
    figure(engine, 0, 6.0)
    (fired,) = run(engine, rules, T0 + 5 * M, kpis).fired
    figure(engine, 1, 4.0)  # amber
    assert run(engine, rules, T0 + H + 5 * M, kpis).resolved == (fired,)


def test_status_amber_fires_on_amber_and_the_threshold_is_the_green_bound(
        engine: Engine, tmp_path: Path, kpis: Catalogue) -> None:
    rules = kpi_rules(tmp_path, status="amber")
    figure(engine, 0, 3.0)
    assert len(run(engine, rules, T0 + 5 * M, kpis).fired) == 1
    (a,) = rows(engine)
    assert (a.value, a.threshold) == (3.0, 2.0)
    assert "Cần chú ý" in a.message


def test_for_waits_until_the_kpi_has_been_red_that_long(engine: Engine, tmp_path: Path, kpis: Catalogue) -> None:
    rules = kpi_rules(tmp_path, for_="2h")
    figure(engine, -1, 1.0)  # 09:00 green
    figure(engine, 0, 6.0)  # red from 10:00
    figure(engine, 1, 6.5)
    # Red now and 40 and 80 minutes ago, but green 2 hours ago: not yet.
    result = run(engine, rules, T0 + H + 30 * M, kpis)
    assert ([c.status for c in result.conditions], rows(engine)) == ([HOLDING], [])
    figure(engine, 2, 7.0)
    assert len(run(engine, rules, T0 + 2 * H + 30 * M, kpis).fired) == 1


def test_a_kpi_without_data_changes_nothing(engine: Engine, tmp_path: Path, kpis: Catalogue) -> None:
    rules = kpi_rules(tmp_path)
    figure(engine, 0, 6.0)
    (fired,) = run(engine, rules, T0 + 5 * M, kpis).fired
    # Five hours later nothing newer than max_age (2 h): no data, so neither persists nor resolves.
    result = run(engine, rules, T0 + 5 * H, kpis)
    assert (result.conditions, result.resolved, result.updated) == ((), (), 0)
    (a,) = rows(engine)
    assert (a.id, a.state, a.last_seen_at) == (fired, "firing", T0 + 5 * M)


def test_codes_and_areas_narrow_the_kpis_and_a_dropped_kpi_resolves(
        engine: Engine, tmp_path: Path, kpis: Catalogue) -> None:
    figure(engine, 0, 6.0)
    assert run(engine, kpi_rules(tmp_path, areas="[reporting]"), T0 + 5 * M, kpis).conditions == ()
    (fired,) = run(engine, kpi_rules(tmp_path, codes="[LAND-07]"), T0 + 10 * M, kpis).fired
    # The operator narrows the rule to another KPI: LAND-07's alert is resolved, not left open for ever.
    other = load_catalogue(write_catalogue(tmp_path, KPI, KPI | {"code": "RPT-01", "area": "reporting"}))
    assert run(engine, kpi_rules(tmp_path, codes="[RPT-01]"), T0 + 15 * M, other).resolved == (fired,)


def test_restart_carries_on_the_same_kpi_alert(any_engine: Engine, tmp_path: Path, kpis: Catalogue) -> None:
    figure(any_engine, 0, 6.0)
    (fired,) = run(any_engine, kpi_rules(tmp_path), T0 + 5 * M, kpis).fired
    # A new process: the rules and the catalogue read again from their files.
    again = run(any_engine, kpi_rules(tmp_path), T0 + 10 * M, load_catalogue(tmp_path / "kpis.yaml"))
    assert (again.new_alerts, again.updated) == ((), 1)
    assert [r.id for r in rows(any_engine)] == [fired]
    assert events(any_engine) == ["fired"]


def test_judge_orders_statuses_and_ignores_no_data() -> None:
    rule = KpiStatusRule.model_validate({"id": "k", "name": {"vi": "k", "en": "k"}, "kind": "kpi_status",
                                         "severity": "info"})
    assert [rule.judge(s) for s in ("red", "amber", "green", "nodata", "neutral")] == [BREACH, HOLDING, CLEAR,
                                                                                       None, None]


# --------------------------------------------------------------------------- cap_warning

STORM = cap("VN-2025-0910-001", "Alert", "2025-09-10T08:00:00+07:00", info(
    "vi-VN", "Tin bão số 3 trên vùng biển Quảng Ninh – Thái Bình", "Severe", "2025-09-11T20:00:00+07:00",
    "<area><areaDesc>Tỉnh Quảng Ninh</areaDesc></area><area><areaDesc>Tỉnh Thái Bình</areaDesc></area>"))
RAIN = cap("VN-2025-0910-002", "Alert", "2025-09-10T08:30:00+07:00", info(
    "vi-VN", "Mưa vừa tại Lào Cai", "Minor", "2025-09-11T20:00:00+07:00", "<area><areaDesc>Lào Cai</areaDesc></area>",
    event="Mưa"))
STORM_UP = cap("VN-2025-0910-003", "Update", "2025-09-10T14:00:00+07:00", info(
    "vi-VN", "Bão số 3 mạnh lên, siêu bão", "Extreme", "2025-09-12T08:00:00+07:00",
    "<area><areaDesc>Tỉnh Quảng Ninh</areaDesc></area>"),
    references=f"{SENDER},VN-2025-0910-001,2025-09-10T08:00:00+07:00")
STORM_CANCEL = cap("VN-2025-0910-004", "Cancel", "2025-09-10T12:00:00+07:00",
                   references=f"{SENDER},VN-2025-0910-001,2025-09-10T08:00:00+07:00")
SEA = cap("VN-2025-0910-005", "Alert", "2025-09-10T09:00:00+07:00", info(
    "vi-VN", "Gió mạnh trên biển", "Severe", "2025-09-11T20:00:00+07:00", "<area><areaDesc>Vịnh Bắc Bộ</areaDesc></area>",
    event="Gió mạnh").replace("<urgency>Immediate</urgency>", "<urgency>Future</urgency>"))

CAP_RULES = """\
rules:
  - id: cap-severe
    name: {vi: "Cảnh báo nghiêm trọng", en: "Severe warning"}
    kind: cap_warning
    min_severity: Severe
"""


def store_cap(engine: Engine, now: datetime, *docs: bytes) -> None:
    """CAP documents as the cap source's poll turns them into entities and readings."""
    options = CapOptions(url="https://nchmf.example.vn/cap.xml")
    messages = [m for doc in docs if (m := parse_alert(parse_xml(doc), options, _Provinces(options), TZ))]
    batch = Batch(entities=[m.entity for m in messages if m.entity], readings=readings_for(messages, now))
    with engine.begin() as conn:
        assert store_batch(conn, None, batch, now=now).accepted == len(batch.readings)


def cap_run(engine: Engine, rules: RuleSet, now: datetime) -> Any:
    return evaluate(engine, rules, now, LIMITS, TZ)


def test_a_severe_warning_fires_a_major_alert_per_province_and_a_minor_one_none(
        any_engine: Engine, tmp_path: Path) -> None:
    rules = make_rules(tmp_path, CAP_RULES)
    store_cap(any_engine, at(10, 9), STORM, RAIN)
    result = cap_run(any_engine, rules, at(10, 9))
    assert len(result.fired) == 2
    found = {(a.subject_kind, a.subject_code): a for a in rows(any_engine)}
    assert set(found) == {("province", "QNH"), ("province", "HYN")}  # Thái Bình is now in Hưng Yên; no Lào Cai
    qnh = found["province", "QNH"]
    assert (qnh.subject_name, qnh.severity, qnh.value, qnh.state) == ("Quảng Ninh", "major", 3.0, "firing")
    assert qnh.message == ("Tin bão số 3 trên vùng biển Quảng Ninh – Thái Bình — mức Nghiêm trọng, "
                           "hiệu lực đến 11/09/2025 20:00")
    # Still in force an hour later: the same alerts; after its expiry both resolve.
    later = cap_run(any_engine, rules, at(10, 10))
    assert (later.new_alerts, later.updated) == ((), 2)
    resolved = cap_run(any_engine, rules, at(11, 21)).resolved
    assert sorted(resolved) == sorted(a.id for a in found.values())
    assert {a.state for a in rows(any_engine)} == {"resolved"}


def test_a_cancel_message_resolves_the_alert(any_engine: Engine, tmp_path: Path) -> None:
    rules = make_rules(tmp_path, CAP_RULES)
    store_cap(any_engine, at(10, 9), STORM)
    assert len(cap_run(any_engine, rules, at(10, 9)).fired) == 2
    store_cap(any_engine, at(10, 12), STORM_CANCEL)
    assert len(cap_run(any_engine, rules, at(10, 12)).resolved) == 2
    assert events(any_engine) == ["fired", "fired", "resolved", "resolved"]


def test_an_update_to_extreme_keeps_the_province_alert_and_raises_it_to_critical(
        engine: Engine, tmp_path: Path) -> None:
    rules = make_rules(tmp_path, CAP_RULES)
    store_cap(engine, at(10, 9), STORM)
    cap_run(engine, rules, at(10, 9))
    qnh = next(a for a in rows(engine) if a.subject_code == "QNH")
    store_cap(engine, at(10, 14), STORM_UP)
    result = cap_run(engine, rules, at(10, 14))
    # Quảng Ninh: the same episode, now critical; Hưng Yên is no longer named: resolved.
    assert (result.new_alerts, len(result.resolved)) == ((), 1)
    now_qnh = next(a for a in rows(engine) if a.subject_code == "QNH")
    assert (now_qnh.id, now_qnh.severity, now_qnh.value, now_qnh.state) == (qnh.id, "critical", 4.0, "firing")
    assert now_qnh.message.startswith("Bão số 3 mạnh lên, siêu bão — mức Cực kỳ nghiêm trọng")
    # Critical and unacknowledged past the file's default (30 min): escalated, as critical rules are.
    assert cap_run(engine, rules, at(10, 14) + 31 * M).escalated == (qnh.id,)


def test_the_rules_severity_wins_and_min_urgency_filters(engine: Engine, tmp_path: Path) -> None:
    rules = make_rules(tmp_path, CAP_RULES.replace("min_severity: Severe", "min_severity: Severe\n    severity: info\n"
                                                   "    min_urgency: Expected\n    scope: warning"))
    store_cap(engine, at(10, 9), STORM, SEA)  # the sea warning is only "Future"
    assert len(cap_run(engine, rules, at(10, 9)).fired) == 1
    (a,) = rows(engine)
    # Scope warning: one alert for the warning, named by its areas.
    assert (a.subject_kind, a.subject_name, a.severity) == ("warning", "Tỉnh Quảng Ninh, Tỉnh Thái Bình", "info")


def test_a_warning_naming_no_province_stands_for_itself(engine: Engine, tmp_path: Path) -> None:
    store_cap(engine, at(10, 9), SEA)
    cap_run(engine, make_rules(tmp_path, CAP_RULES), at(10, 9))
    (a,) = rows(engine)
    assert (a.subject_kind, a.subject_name, a.severity) == ("warning", "Vịnh Bắc Bộ", "major")


def test_restart_creates_no_duplicate_cap_alert(any_engine: Engine, tmp_path: Path) -> None:
    store_cap(any_engine, at(10, 9), STORM)
    first = cap_run(any_engine, make_rules(tmp_path, CAP_RULES), at(10, 9))
    again = cap_run(any_engine, make_rules(tmp_path, CAP_RULES), at(10, 9) + 5 * M)
    assert (len(first.fired), again.new_alerts, again.updated) == (2, (), 2)
    assert len(rows(any_engine)) == 2
    assert len(rows(any_engine, alert_events)) == 2


# --------------------------------------------------------------------------- loading and links


@pytest.mark.parametrize("body, words", [
    ("kind: kpi_status\n    severity: minor\n    scope: station", ":6: rule 'r': scope: Input should be 'kpi'"),
    ("kind: kpi_status\n    severity: minor\n    status: amber\n    clear_at_status: amber",
     ":7: rule 'r': clear_at_status: with status amber only green can resolve"),
    ("kind: kpi_status\n    severity: minor\n    status: green", ":6: rule 'r': status: Input should be 'red' or 'amber'"),
    ("kind: kpi_status\n    severity: minor\n    areas: [lands]", ":6: rule 'r': areas.0: Input should be"),
    ("kind: cap_warning\n    min_severity: Bad", ":5: rule 'r': min_severity: Input should be 'Extreme'"),
    ("kind: cap_warning\n    provinces: [HNI, XYZ]", ":5: rule 'r': provinces: unknown province code(s) XYZ"),
    ("kind: cap_warning\n    scope: station", ":5: rule 'r': scope: Input should be 'province' or 'warning'"),
])
def test_bad_rules_name_file_line_and_fix(tmp_path: Path, body: str, words: str) -> None:
    path = rules_file(tmp_path, f'rules:\n  - id: r\n    name: {{vi: "a", en: "b"}}\n    {body}\n')
    with pytest.raises(ConfigError) as err:
        load_rules(path, LIMITS)
    assert f"{path}{words}" in str(err.value)


def test_kpi_codes_are_checked_against_the_catalogue(tmp_path: Path, kpis: Catalogue) -> None:
    head = 'rules:\n  - id: r\n    name: {vi: "a", en: "b"}\n    kind: kpi_status\n    severity: minor\n    codes:\n'
    path = rules_file(tmp_path, head + "      - LAND-07\n      - LAND-42\n")
    with pytest.raises(ConfigError, match=rf"{path}:8: rule 'r': codes: KPI 'LAND-42' is not in the KPI catalogue"):
        load_rules(path, LIMITS, kpis)
    path = rules_file(tmp_path, head + "      - LAND-99\n")
    with pytest.raises(ConfigError, match=r":7: rule 'r': codes: KPI 'LAND-99' has no thresholds"):
        load_rules(path, LIMITS, kpis)
    assert load_rules(rules_file(tmp_path, head + "      - LAND-07\n"), LIMITS, kpis).get("r").codes == ["LAND-07"]


def test_the_shipped_kpi_and_cap_rules_load_against_the_shipped_catalogue() -> None:
    from settings import ROOT

    catalogue = load_catalogue(ROOT / "config" / "kpis.yaml")
    rules = load_rules(ROOT / "config" / "alerts.yaml", LIMITS, catalogue)
    kpi, warning = rules.get("kpi-red"), rules.get("cap-severe-warning")
    assert (kpi.kind, kpi.enabled, kpi.scope, kpi.for_) == ("kpi_status", True, "kpi", 3600)
    assert (warning.kind, warning.enabled, warning.severity, warning.min_severity) == ("cap_warning", True, None,
                                                                                        "Severe")
    assert [warning.alert_severity(s) for s in ("Extreme", "Severe", "Moderate", "Minor")] == [
        "critical", "major", "minor", "info"]
    # Escalation follows the alert's own severity when the rule maps it.
    assert (rules.escalate_after(warning, "critical"), rules.escalate_after(warning, "major")) == (1800, None)


def test_a_kpi_subject_links_to_its_area_page_in_the_readers_language(kpis: Catalogue) -> None:
    by_code = {k.code: k for k in kpis.kpis}
    row = alert(1, "kpi", "LAND-07", "Tỷ lệ tra cứu thông tin đất đai bị lỗi")
    (en,) = alert_rows([row], TZ, "en", kpis=by_code)
    (vi,) = alert_rows([row], TZ, "vi", kpis=by_code)
    assert en["link"] == r"[Land record look\-up failure rate](/land?kpi=LAND-07)"
    assert vi["link"] == "[Tỷ lệ tra cứu thông tin đất đai bị lỗi](/land?kpi=LAND-07)"
    # Without the catalogue (or for a KPI no longer in it) the stored name, no dead link.
    (bare,) = alert_rows([row], TZ, "en")
    assert bare["link"] == "Tỷ lệ tra cứu thông tin đất đai bị lỗi"
    assert subject_href("kpi", "IT-01", {}, {"IT-01": "it"}) is None  # the IT area has no page
    assert subject_href("province", "QNH", {}) == "/environment?province=QNH"  # where CAP alerts of a province go
    assert subject_href("warning", "x", {}) is None
