"""Live alerts: the rules file, every lifecycle transition, hysteresis, restarts, the poll hook and the API.

Store states are built with the ingest functions, as a poll would; times are fixed so
each step of an episode is evaluated at a known ``now``.
"""
from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import Engine, func, insert, inspect, select, update
from sqlalchemy.exc import IntegrityError

import alerts.hook as hook
import cli
import polling
from alerts.evaluate import evaluate, judge_threshold
from alerts.lifecycle import acknowledge, create_silence, expire_silence
from alerts.model import BREACH, CLEAR, HOLDING, EvaluationResult
from alerts.rules import RuleSet, load_rules
from backfill import backfill_empty_sources, backfill_source
from data_sources.base import Batch, Entity, Reading
from ingest import store_batch
from limits import load_limits
from polling import poll_source, sync_sources
from queries.alerts import alert_history, counts_by_severity, list_alerts, list_silences, subject_history
from scheduler import PollScheduler
from settings import ROOT, ConfigError, load_settings
from store.schema import alert_events, alerts, metadata, sources
from tests.support import SCRIPT, operator_headers, register_sources, scripted_specs

T0 = datetime(2026, 11, 20, 3, 0, tzinfo=timezone.utc)  # 10:00 in Hà Nội
LIMITS = load_limits(ROOT / "config" / "limits.yaml")
M = timedelta(minutes=1)

RULES = """\
defaults:
  escalate_after: 30m
  clear_margin: 0.1
  current_within_intervals: 3
rules:
  - id: cod-high
    name: {vi: "COD cao", en: "COD high"}
    kind: threshold
    severity: critical
    scope: station
    subtype: wastewater
    metric: COD
    operator: ">"
    value: 100
    for: 15m
"""

# A rate-of-change rule: PM2.5 up by 50 or more within 30 minutes.
PM25_JUMP = """\
rules:
  - id: pm25-jump
    name: {vi: "PM2.5 tăng nhanh", en: "PM2.5 jump"}
    kind: rate_of_change
    severity: minor
    subtype: air
    metric: PM2.5
    window: 30m
    change: 50
    direction: rise
"""


@pytest.fixture(autouse=True)
def _fresh_hook():  # noqa: ANN202
    """No rules loaded by an earlier test leak into this one, nor this one's into later ones."""
    hook.reset()
    SCRIPT.reset()
    yield
    hook.reset()
    SCRIPT.reset()


def rules_file(tmp_path: Path, text: str = RULES, name: str = "alerts.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def make_rules(tmp_path: Path, text: str = RULES) -> RuleSet:
    return load_rules(rules_file(tmp_path, text), LIMITS)


def station(code: str = "HNI-WW-01", subtype: str = "wastewater", interval: int = 300, **meta: Any) -> Entity:
    return Entity(code, "station", f"Trạm {code}", subtype=subtype, province_code="HNI",
                  meta={"interval_seconds": interval, **meta})


def feed(engine: Engine, entity: Entity, metric: str, points: list[tuple[datetime, float]], unit: str = "mg/L",
         quality: int = 0) -> None:
    """Store readings as a poll would (validated, rolled up)."""
    batch = Batch(entities=[entity], readings=[Reading(entity.code, metric, ts, v, unit, quality) for ts, v in points])
    with engine.begin() as conn:
        result = store_batch(conn, None, batch, now=max(ts for ts, _ in points))
    assert result.accepted == len(points)


def every_5min(start: datetime, values: list[float]) -> list[tuple[datetime, float]]:
    return [(start + i * 5 * M, v) for i, v in enumerate(values)]


def rows(engine: Engine, table: Any = alerts) -> list[Any]:
    with engine.connect() as conn:
        return conn.execute(select(table).order_by(table.c.id)).all()


def events(engine: Engine) -> list[str]:
    return [e.event for e in rows(engine, alert_events)]


# --------------------------------------------------------------------------- lifecycle


def test_fire_persist_resolve_refire(any_engine: Engine, tmp_path: Path) -> None:
    rules = make_rules(tmp_path)
    ww = station()
    feed(any_engine, ww, "COD", every_5min(T0, [120, 125, 130]))
    # Over the threshold for 10 minutes only: the rule wants 15.
    assert evaluate(any_engine, rules, T0 + 10 * M, LIMITS).new_alerts == ()
    assert rows(any_engine) == []

    feed(any_engine, ww, "COD", every_5min(T0 + 15 * M, [140]))
    result = evaluate(any_engine, rules, T0 + 15 * M, LIMITS)
    (first_id,) = result.fired
    (alert,) = rows(any_engine)
    assert (alert.id, alert.state, alert.subject_code, alert.severity, alert.value, alert.threshold) == (
        first_id, "firing", "HNI-WW-01", "critical", 140, 100)
    assert alert.started_at == T0 + 15 * M
    assert "COD = 140 mg/L (> 100 mg/L)" == alert.message
    assert events(any_engine) == ["fired"]

    # Persists: the same alert, refreshed; no new event.
    feed(any_engine, ww, "COD", every_5min(T0 + 20 * M, [150]))
    result = evaluate(any_engine, rules, T0 + 20 * M, LIMITS)
    assert (result.fired, result.updated) == ((), 1)
    (alert,) = rows(any_engine)
    assert (alert.last_seen_at, alert.value, alert.state) == (T0 + 20 * M, 150, "firing")
    assert events(any_engine) == ["fired"]

    # Clears (below 90 = 100 − 10 %): resolved at that time.
    feed(any_engine, ww, "COD", every_5min(T0 + 25 * M, [80]))
    result = evaluate(any_engine, rules, T0 + 25 * M, LIMITS)
    assert result.resolved == (first_id,)
    (alert,) = rows(any_engine)
    assert (alert.state, alert.resolved_at, alert.value) == ("resolved", T0 + 25 * M, 80)
    assert events(any_engine) == ["fired", "resolved"]

    # Returns: a new alert row, and its event says it came back.
    feed(any_engine, ww, "COD", every_5min(T0 + 30 * M, [130, 130, 130, 130]))
    result = evaluate(any_engine, rules, T0 + 45 * M, LIMITS)
    (second_id,) = result.refired
    assert second_id != first_id
    states = {a.id: a.state for a in rows(any_engine)}
    assert states == {first_id: "resolved", second_id: "firing"}
    refired = [e for e in rows(any_engine, alert_events) if e.event == "refired"]
    assert len(refired) == 1 and refired[0].alert_id == second_id
    assert f"#{first_id}" in refired[0].note
    assert (refired[0].rule_id, refired[0].subject_code) == ("cod-high", "HNI-WW-01")
    history = [e.event for e in subject_history(any_engine, "cod-high", "HNI-WW-01")]
    assert history == ["refired", "resolved", "fired"]


def test_evaluating_twice_at_the_same_now_changes_nothing(any_engine: Engine, tmp_path: Path) -> None:
    rules = make_rules(tmp_path)
    feed(any_engine, station(), "COD", every_5min(T0, [120] * 5))
    evaluate(any_engine, rules, T0 + 20 * M, LIMITS)
    before = (rows(any_engine), rows(any_engine, alert_events))
    assert len(before[0]) == 1
    again = evaluate(any_engine, rules, T0 + 20 * M, LIMITS)
    assert (again.fired, again.refired, again.resolved, again.escalated) == ((), (), (), ())
    assert (rows(any_engine), rows(any_engine, alert_events)) == before


def test_acknowledged_alerts_stay_acknowledged_until_resolved(any_engine: Engine, tmp_path: Path) -> None:
    rules = make_rules(tmp_path)
    a, b = station("HNI-WW-01"), station("HNI-WW-02")
    for s in (a, b):
        feed(any_engine, s, "COD", every_5min(T0, [120] * 4))
    ids = evaluate(any_engine, rules, T0 + 15 * M, LIMITS).fired
    assert len(ids) == 2
    outcomes = acknowledge(any_engine, [*ids, 999], "Nguyễn Văn An", "đã gọi cơ sở", T0 + 16 * M)
    assert outcomes == {ids[0]: "acknowledged", ids[1]: "acknowledged", 999: "not_found"}
    assert acknowledge(any_engine, [ids[0]], "someone else", None, T0 + 17 * M) == {ids[0]: "already_acknowledged"}

    feed(any_engine, a, "COD", every_5min(T0 + 20 * M, [160]))
    feed(any_engine, b, "COD", every_5min(T0 + 20 * M, [150]))
    evaluate(any_engine, rules, T0 + 20 * M, LIMITS)
    first = rows(any_engine)[0]
    assert (first.state, first.ack_by, first.ack_note, first.ack_at, first.value) == (
        "acknowledged", "Nguyễn Văn An", "đã gọi cơ sở", T0 + 16 * M, 160)

    feed(any_engine, a, "COD", every_5min(T0 + 25 * M, [50]))
    evaluate(any_engine, rules, T0 + 25 * M, LIMITS)
    assert rows(any_engine)[0].state == "resolved"
    assert acknowledge(any_engine, [ids[0]], "late", None, T0 + 26 * M) == {ids[0]: "resolved"}
    assert [e.event for e in alert_history(any_engine, ids[0])] == ["fired", "acknowledged", "resolved"]
    with pytest.raises(ValueError, match="by"):
        acknowledge(any_engine, [ids[1]], "  ", None, T0 + 26 * M)


def test_a_flapping_value_raises_one_alert_not_dozens(any_engine: Engine, tmp_path: Path) -> None:
    text = RULES.replace("for: 15m", "for: 0m") + """\
  - id: cod-high-no-hysteresis
    name: {vi: "COD cao", en: "COD high"}
    kind: threshold
    severity: minor
    subtype: wastewater
    metric: COD
    operator: ">"
    value: 100
    clear_at: 100%
"""
    rules = make_rules(tmp_path, text)
    ww = station()
    # Around the limit for three hours, evaluated after every reading as the poll hook would.
    values = [105 if i % 2 == 0 else 95 for i in range(36)]
    for i, value in enumerate(values):
        at = T0 + i * 5 * M
        feed(any_engine, ww, "COD", [(at, value)])
        evaluate(any_engine, rules, at, LIMITS)
    by_rule: dict[str, list[Any]] = {}
    for a in rows(any_engine):
        by_rule.setdefault(a.rule_id, []).append(a)
    assert len(by_rule["cod-high"]) == 1
    assert by_rule["cod-high"][0].state == "firing"
    # The same flapping without a clear margin opens and closes an alert every ten minutes.
    assert len(by_rule["cod-high-no-hysteresis"]) == 18


def test_a_restart_mid_episode_creates_no_duplicate_and_keeps_the_acknowledgement(
    any_engine: Engine, tmp_path: Path
) -> None:
    ww = station()
    feed(any_engine, ww, "COD", every_5min(T0, [120] * 4))
    (alert_id,) = evaluate(any_engine, make_rules(tmp_path), T0 + 15 * M, LIMITS).fired
    acknowledge(any_engine, [alert_id], "ca trực", "đang xử lý", T0 + 16 * M)

    # A new process: its own rules object, nothing in memory, the same store.
    hook.reset()
    fresh = load_rules(tmp_path / "alerts.yaml", LIMITS)
    feed(any_engine, ww, "COD", every_5min(T0 + 20 * M, [130, 135]))
    result = evaluate(any_engine, fresh, T0 + 25 * M, LIMITS)
    assert result.new_alerts == ()
    (alert,) = rows(any_engine)
    assert (alert.id, alert.state, alert.ack_by, alert.ack_note, alert.value) == (
        alert_id, "acknowledged", "ca trực", "đang xử lý", 135)

    # And the database itself refuses a second open alert for the same rule and subject.
    with pytest.raises(IntegrityError):
        with any_engine.begin() as conn:
            conn.execute(insert(alerts).values(
                rule_id="cod-high", subject_kind="station", subject_code="HNI-WW-01", subject_name="x",
                severity="critical", state="firing", started_at=T0, last_seen_at=T0, message=""))
    # ...while any number of resolved ones may sit beside the open one.
    with any_engine.begin() as conn:
        for _ in range(2):
            conn.execute(insert(alerts).values(
                rule_id="cod-high", subject_kind="station", subject_code="HNI-WW-01", subject_name="x",
                severity="critical", state="resolved", started_at=T0, last_seen_at=T0, resolved_at=T0, message=""))
    assert len(rows(any_engine)) == 3


def test_silenced_subjects_do_not_fire_and_the_silence_is_recorded(any_engine: Engine, tmp_path: Path) -> None:
    rules = make_rules(tmp_path)
    ww = station()
    silence = create_silence(any_engine, "kỹ thuật viên", "hiệu chuẩn thiết bị", T0, duration=timedelta(hours=1),
                             rule_id="cod-high", subject_code="HNI-WW-01")
    assert [s.id for s in list_silences(any_engine, T0)] == [silence.id]
    feed(any_engine, ww, "COD", every_5min(T0, [120] * 5))
    for minutes in (15, 20):  # twice: recorded once
        result = evaluate(any_engine, rules, T0 + minutes * M, LIMITS)
        assert result.new_alerts == ()
    assert rows(any_engine) == []
    (event,) = rows(any_engine, alert_events)
    assert (event.event, event.alert_id, event.rule_id, event.subject_code, event.silence_id) == (
        "silenced", None, "cod-high", "HNI-WW-01", silence.id)
    assert "hiệu chuẩn thiết bị" in event.note

    # Another station is not covered by that silence.
    other = station("HNI-WW-02")
    feed(any_engine, other, "COD", every_5min(T0, [120] * 5))
    assert len(evaluate(any_engine, rules, T0 + 20 * M, LIMITS).fired) == 1

    # Ended early: the condition, still there, now fires.
    assert expire_silence(any_engine, silence.id, T0 + 25 * M)
    assert not expire_silence(any_engine, silence.id, T0 + 26 * M)
    assert list_silences(any_engine, T0 + 26 * M) == []
    feed(any_engine, ww, "COD", every_5min(T0 + 25 * M, [125]))
    result = evaluate(any_engine, rules, T0 + 25 * M, LIMITS)
    assert [a.subject_code for a in rows(any_engine) if a.id in result.fired] == ["HNI-WW-01"]
    with pytest.raises(ValueError, match="rule_id, subject_code or both"):
        create_silence(any_engine, "x", "everything", T0, duration=timedelta(hours=1))


def test_a_critical_alert_unacknowledged_for_30_minutes_is_escalated_once(any_engine: Engine, tmp_path: Path) -> None:
    text = RULES + """\
  - id: cod-high-minor
    name: {vi: "COD cao", en: "COD high"}
    kind: threshold
    severity: minor
    subtype: wastewater
    metric: COD
    operator: ">"
    value: 100
"""
    rules = make_rules(tmp_path, text)
    a, b = station("HNI-WW-01"), station("HNI-WW-02")
    for s in (a, b):
        feed(any_engine, s, "COD", every_5min(T0, [120] * 4))
    evaluate(any_engine, rules, T0 + 15 * M, LIMITS)
    by_key = {(r.rule_id, r.subject_code): r.id for r in rows(any_engine)}
    acknowledge(any_engine, [by_key[("cod-high", "HNI-WW-02")]], "An", None, T0 + 20 * M)
    for s in (a, b):
        feed(any_engine, s, "COD", every_5min(T0 + 20 * M, [120] * 6))
    assert evaluate(any_engine, rules, T0 + 40 * M, LIMITS).escalated == ()  # 25 minutes: not yet
    result = evaluate(any_engine, rules, T0 + 45 * M, LIMITS)
    # Only the critical, unacknowledged one; the minor rule has no escalation.
    assert result.escalated == (by_key[("cod-high", "HNI-WW-01")],)
    assert evaluate(any_engine, rules, T0 + 45 * M, LIMITS).escalated == ()
    escalated = {r.id: r.escalated_at for r in rows(any_engine)}
    assert escalated[by_key[("cod-high", "HNI-WW-01")]] == T0 + 45 * M
    assert sum(e == "escalated" for e in events(any_engine)) == 1


# --------------------------------------------------------------------------- kinds of rule


def test_limit_qcvn_takes_each_outfalls_permit_and_groups_by_facility(any_engine: Engine, tmp_path: Path) -> None:
    text = RULES.replace("value: 100", "limit: qcvn").replace("scope: station", "scope: facility")
    rules = make_rules(tmp_path, text)
    with any_engine.begin() as conn:
        store_batch(conn, None, Batch(entities=[Entity("HNI-FAC-01", "facility", "Nhà máy giấy Hà Nội",
                                                       subtype="wastewater", province_code="HNI")]), now=T0)
    permit = {"regulation": "QCVN 40:2011/BTNMT", "permit": "12/GPMT-UBND", "facility": "HNI-FAC-01"}
    strict = station("HNI-WW-01", limits={"COD": 80}, **permit)
    loose = station("HNI-WW-02", limits={"COD": 148.5}, **permit)
    feed(any_engine, strict, "COD", every_5min(T0, [90] * 4))  # over its 80
    feed(any_engine, loose, "COD", every_5min(T0, [140] * 4))  # under its 148.5
    result = evaluate(any_engine, rules, T0 + 15 * M, LIMITS)
    (alert,) = rows(any_engine)
    assert result.fired == (alert.id,)
    assert (alert.subject_kind, alert.subject_code, alert.subject_name) == ("facility", "HNI-FAC-01", "Nhà máy giấy Hà Nội")
    assert (alert.value, alert.threshold) == (90, 80)
    assert alert.message.startswith("HNI-WW-01: COD = 90 mg/L (> 80 mg/L, 12/GPMT-UBND (QCVN 40:2011/BTNMT))")


def test_pm25_hourly_mean_over_the_qcvn_24h_limit(any_engine: Engine, tmp_path: Path) -> None:
    rules = load_rules(ROOT / "config" / "alerts.yaml", LIMITS)
    air = station("HNI-AIR-01", subtype="air")
    # Two complete hours at 60 µg/m³ (QCVN 05:2023: 45 from 2026), readings every 5 minutes.
    feed(any_engine, air, "PM2.5", every_5min(T0 - 2 * 60 * M, [60.0] * 24), unit="µg/m³")
    after_one_hour = evaluate(any_engine, rules, T0 - 60 * M + 2 * M, LIMITS)
    assert after_one_hour.new_alerts == ()  # the rule wants two hours in a row
    result = evaluate(any_engine, rules, T0 + 2 * M, LIMITS)
    by_rule = {a.rule_id: a for a in rows(any_engine) if a.id in result.fired}
    alert = by_rule["pm25-hourly-over-qcvn"]
    assert (alert.value, alert.threshold, alert.severity) == (60, 45, "major")
    assert "QCVN 05:2023/BTNMT 24h" in alert.message


def test_rate_of_change(any_engine: Engine, tmp_path: Path) -> None:
    rules = make_rules(tmp_path, PM25_JUMP)
    air = station("HNI-AIR-01", subtype="air")
    feed(any_engine, air, "PM2.5", every_5min(T0, [30, 30, 40, 60, 80, 85, 90]), unit="µg/m³")
    (alert_id,) = evaluate(any_engine, rules, T0 + 30 * M, LIMITS).fired  # +60 over 30 minutes
    assert rows(any_engine)[0].value == 60
    # A fall never fires a "rise" rule, and brings the change back inside: resolved.
    feed(any_engine, air, "PM2.5", every_5min(T0 + 35 * M, [70, 60, 50, 40, 30, 30]), unit="µg/m³")
    assert evaluate(any_engine, rules, T0 + 60 * M, LIMITS).resolved == (alert_id,)


def test_a_change_is_measured_from_the_newest_plausible_reading(any_engine: Engine, tmp_path: Path) -> None:
    rules = make_rules(tmp_path, PM25_JUMP)
    air, calm = station("HNI-AIR-01", subtype="air"), station("HNI-AIR-02", subtype="air")
    # +70 over 30 minutes up to T0 + 30 min; then an impossible negative value, passed over.
    feed(any_engine, air, "PM2.5", every_5min(T0, [30, 30, 40, 60, 80, 90, 100, -5]), unit="µg/m³")
    feed(any_engine, calm, "PM2.5", every_5min(T0, [30, 31, 30, 32, 31, 30, 31, 30]), unit="µg/m³")
    result = evaluate(any_engine, rules, T0 + 35 * M, LIMITS)
    by_code = {c.subject_code: (c.status, c.value) for c in result.conditions}
    assert by_code == {"HNI-AIR-01": (BREACH, 70), "HNI-AIR-02": (CLEAR, -1)}  # 30 now against 31 at T0 + 5 min


def test_a_change_is_measured_against_the_last_plausible_reading_a_window_before(
    any_engine: Engine, tmp_path: Path
) -> None:
    rules = make_rules(tmp_path, PM25_JUMP)
    air = station("HNI-AIR-01", subtype="air")
    # The reading 30 minutes before the newest is impossible (negative): the one before it counts.
    feed(any_engine, air, "PM2.5", every_5min(T0, [20, -5, 40, 50, 60, 70, 80, 90]), unit="µg/m³")
    (condition,) = evaluate(any_engine, rules, T0 + 35 * M, LIMITS).conditions
    assert (condition.status, condition.value) == (BREACH, 70)  # 90 now against 20 at T0


def test_station_offline_after_three_intervals_without_a_valid_reading(any_engine: Engine, tmp_path: Path) -> None:
    rules = make_rules(tmp_path, """\
rules:
  - id: offline
    name: {vi: "Mất kết nối", en: "Offline"}
    kind: station_offline
    severity: major
    subtype: wastewater
    after_intervals: 3
""")
    ww = station(interval=300)
    feed(any_engine, ww, "COD", [(T0, 50)])
    feed(any_engine, ww, "COD", [(T0 + 5 * M, 50)], quality=1)  # calibrating: not a valid record
    assert evaluate(any_engine, rules, T0 + 15 * M, LIMITS).new_alerts == ()  # exactly 3 × 5 minutes
    (alert_id,) = evaluate(any_engine, rules, T0 + 16 * M, LIMITS).fired
    alert = rows(any_engine)[0]
    assert (alert.value, alert.threshold) == (16, 15)
    assert "20/11/2026 10:00" in alert.message  # the last valid reading, in local time
    feed(any_engine, ww, "COD", [(T0 + 20 * M, 50)])
    assert evaluate(any_engine, rules, T0 + 20 * M, LIMITS).resolved == (alert_id,)


def test_only_current_valid_plausible_readings_count(any_engine: Engine, tmp_path: Path) -> None:
    rules = make_rules(tmp_path, RULES.replace("for: 15m", "for: 0m"))
    ww = station()
    feed(any_engine, ww, "COD", [(T0, 900)], quality=2)  # device fault
    feed(any_engine, ww, "COD", [(T0 + 5 * M, 9000)])  # above plausible_max (5000 mg/L)
    assert evaluate(any_engine, rules, T0 + 5 * M, LIMITS).new_alerts == ()
    feed(any_engine, ww, "COD", [(T0 + 10 * M, 120)])
    assert len(evaluate(any_engine, rules, T0 + 10 * M, LIMITS).fired) == 1
    # Silent since: the old value is not "now" (3 × 5 min later); the alert is left as it is.
    result = evaluate(any_engine, rules, T0 + 30 * M, LIMITS)
    assert (result.updated, result.resolved) == (0, ())
    assert rows(any_engine)[0].last_seen_at == T0 + 10 * M


def test_an_implausible_newest_reading_is_passed_over_for_the_plausible_ones_before_it(
    any_engine: Engine, tmp_path: Path
) -> None:
    rules = make_rules(tmp_path)
    ww = station()
    feed(any_engine, ww, "COD", every_5min(T0, [120, 120, 120, 120, 9000]))  # the last above plausible_max
    result = evaluate(any_engine, rules, T0 + 20 * M, LIMITS)
    (condition,) = result.conditions
    # Beyond 100 for 15 minutes up to the newest plausible reading (T0 + 15 min): a breach at 120.
    assert (condition.status, condition.value) == (BREACH, 120)
    assert len(result.fired) == 1


def test_an_evaluation_of_the_past_judges_the_readings_up_to_then(any_engine: Engine, tmp_path: Path) -> None:
    """Readings stored after ``now`` (a late evaluation's past, a station clock ahead) are not its newest."""
    rules = make_rules(tmp_path)
    ww = station()
    feed(any_engine, ww, "COD", every_5min(T0, [120, 125, 130, 140, 50]))  # back down at T0 + 20 min
    (condition,) = evaluate(any_engine, rules, T0 + 15 * M, LIMITS).conditions
    assert (condition.status, condition.value) == (BREACH, 140)
    (condition,) = evaluate(any_engine, rules, T0 + 20 * M, LIMITS).conditions
    assert (condition.status, condition.value) == (CLEAR, 50)


def test_a_value_back_inside_but_not_past_the_clear_level_holds_the_alert(any_engine: Engine, tmp_path: Path) -> None:
    rules = make_rules(tmp_path)  # > 100 for 15 minutes; clear below 90 (10 % margin)
    ww = station()
    feed(any_engine, ww, "COD", every_5min(T0, [120, 120, 120, 120]))
    (alert_id,) = evaluate(any_engine, rules, T0 + 15 * M, LIMITS).fired
    feed(any_engine, ww, "COD", [(T0 + 20 * M, 95)])  # inside the limit, not yet below 90
    result = evaluate(any_engine, rules, T0 + 20 * M, LIMITS)
    assert [(c.status, c.value) for c in result.conditions] == [(HOLDING, 95)]
    assert (result.updated, result.resolved) == (1, ())
    feed(any_engine, ww, "COD", [(T0 + 25 * M, 85)])
    assert evaluate(any_engine, rules, T0 + 25 * M, LIMITS).resolved == (alert_id,)


def test_judge_threshold_needs_the_whole_duration_and_honours_the_clear_level() -> None:
    pts = [(t, t, v) for t, v in [(0, 120), (300, 90), (600, 120), (900, 120)]]
    assert judge_threshold(pts, ">", 100, 90, 300, 0) == (BREACH, 120)
    assert judge_threshold(pts, ">", 100, 90, 600, 0) == (HOLDING, 120)  # the run began at 600
    assert judge_threshold(pts[:2], ">", 100, 80, 0, 0) == (HOLDING, 90)  # inside, not yet below 80
    assert judge_threshold(pts[:2], ">", 100, 95, 0, 0) == (CLEAR, 90)
    assert judge_threshold(pts, ">", 100, 90, 0, 1000) is None  # nothing current


def test_disabling_a_rule_resolves_its_open_alerts(any_engine: Engine, tmp_path: Path) -> None:
    feed(any_engine, station(), "COD", every_5min(T0, [120] * 4))
    evaluate(any_engine, make_rules(tmp_path), T0 + 15 * M, LIMITS)
    disabled = make_rules(tmp_path, RULES.replace("    for: 15m\n", "    for: 15m\n    enabled: false\n"))
    result = evaluate(any_engine, disabled, T0 + 15 * M, LIMITS)
    assert len(result.resolved) == 1
    assert "no longer" in rows(any_engine, alert_events)[-1].note


# --------------------------------------------------------------------------- messages in both languages


def test_each_alert_message_is_stored_in_vietnamese_and_in_english(any_engine: Engine, tmp_path: Path) -> None:
    rules = make_rules(tmp_path, RULES + """\
  - id: offline
    name: {vi: "Mất kết nối", en: "Offline"}
    kind: station_offline
    severity: major
    scope: province
    subtype: air
    after_intervals: 3
""")
    feed(any_engine, station(), "COD", every_5min(T0, [1234.5] * 4))
    for code in ("HNI-AIR-01", "HNI-AIR-02"):
        feed(any_engine, station(code, subtype="air"), "PM2.5", [(T0 - 30 * M, 20.0)], unit="µg/m³")
    evaluate(any_engine, rules, T0 + 15 * M, LIMITS)
    by_rule = {a.rule_id: a for a in list_alerts(any_engine)}
    cod, offline = by_rule["cod-high"], by_rule["offline"]
    assert cod.message == "COD = 1.234,5 mg/L (> 100 mg/L)"
    assert cod.message_en == "COD = 1,234.5 mg/L (> 100 mg/L)"
    assert cod.message_in("vi") == cod.message and cod.message_in("en") == cod.message_en
    # Grouped by province: the worst station, then how many more; times and durations in each language.
    assert offline.message == "HNI-AIR-01: Không có dữ liệu hợp lệ từ 20/11/2026 09:30 (quá 3 × 5 phút) (+1 trạm khác)"
    assert offline.message_en == "HNI-AIR-01: No valid data since 20/11/2026 09:30 (over 3 × 5 minutes) (+1 more stations)"


def test_an_alert_stored_before_there_were_english_messages_reads_in_vietnamese(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(insert(alerts).values(
            rule_id="cod-high", subject_kind="station", subject_code="HNI-WW-01", subject_name="Trạm", severity="major",
            state="firing", started_at=T0, last_seen_at=T0, message="COD = 120 mg/L (> 100 mg/L)"))
    (row,) = list_alerts(engine)
    assert row.message_en == ""
    assert row.message_in("en") == "COD = 120 mg/L (> 100 mg/L)"


# --------------------------------------------------------------------------- the rules file


@pytest.mark.parametrize(
    ("replace", "by", "line", "expected"),
    [
        ("kind: threshold", "kind: thresold", 8, "rule 'cod-high': unknown kind 'thresold'; use one of threshold"),
        ('operator: ">"', 'operator: ">="', 13, "rule 'cod-high': operator: Input should be '>' or '<'"),
        ("for: 15m", "for: 15 minutes", 15, "rule 'cod-high': for: '15 minutes' is not a duration; write e.g. 30s"),
        ("for: 15m", "for: 15", 15, "rule 'cod-high': for: 15 has no unit"),
        ("value: 100", "value: 100\n    clear_at: 120", 15, "rule 'cod-high': clear_at: 120 must be at or below value 100"),
        ("value: 100", "limit: qcvn\n    clear_at: 90", 15, "clear_at: with 'limit: qcvn' each station has its own"),
        ("value: 100", "value: 100\n    limit: qcvn", 14, "value: give exactly one of 'value: <number>' or 'limit: qcvn'"),
        ("severity: critical", "severity: urgent", 9, "severity: Input should be 'critical', 'major', 'minor' or 'info'"),
        ("    metric: COD\n", "    metric: COD\n    colour: red\n", 13, "colour: Extra inputs are not permitted; remove it"),
        ("  clear_margin: 0.1", "  clear_margin: 10", 3, "defaults.clear_margin: Input should be less than 1"),
        ("value: 100", "limit: qcvn\n    limit_period: 1h", 15, "no 1h ambient limit for PM2.5 (periods: 24h, year)"),
    ],
)
def test_rule_file_errors_name_the_file_the_line_and_the_fix(
    tmp_path: Path, replace: str, by: str, line: int, expected: str
) -> None:
    text = RULES.replace(replace, by)
    if "limit_period" in by:  # an air rule: QCVN 05 has no hourly PM2.5 limit
        text = text.replace("subtype: wastewater", "subtype: air").replace("metric: COD", "metric: PM2.5")
    assert text != RULES
    path = rules_file(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_rules(path, LIMITS)
    message = str(caught.value)
    assert message.startswith(f"{path}:{line}: "), message
    assert expected in message


def test_duplicate_ids_and_bad_yaml_are_reported_with_lines(tmp_path: Path) -> None:
    body = RULES.split("rules:\n", 1)[1]
    path = rules_file(tmp_path, RULES + body)
    with pytest.raises(ConfigError, match=rf"^{path}:16: rule id 'cod-high' is already used at line 6"):
        load_rules(path)
    path = rules_file(tmp_path, "rules:\n  - id: a\n   kind: x\n")
    with pytest.raises(ConfigError, match=rf"^{path}:3: not valid YAML"):
        load_rules(path)
    with pytest.raises(ConfigError, match="set ALERTS_FILE"):
        load_rules(tmp_path / "missing.yaml")


def test_the_shipped_rules_load_against_the_shipped_limits() -> None:
    rules = load_rules(ROOT / "config" / "alerts.yaml", LIMITS)
    kinds = {r.kind for r in rules.enabled()}
    assert kinds == {"threshold", "rate_of_change", "station_offline", "source_failing", "kpi_status", "cap_warning"}
    assert rules.escalate_after(rules.get("wastewater-cod-over-permit")) == 1800
    assert rules.escalate_after(rules.get("station-offline")) is None
    assert load_settings().alerts_file == ROOT / "config" / "alerts.yaml"


# --------------------------------------------------------------------------- store


def test_the_migration_creates_exactly_the_schema(any_engine: Engine) -> None:
    with any_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []
    with any_engine.connect() as conn:
        indexes = {i["name"]: i for i in inspect(conn).get_indexes("alerts")}
    assert indexes["uq_alerts_open"]["unique"]


# --------------------------------------------------------------------------- the poll hook


def hook_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    """Point the process's settings at a rules file, as ALERTS_FILE would in production."""
    monkeypatch.setenv("ALERTS_FILE", str(rules_file(tmp_path, text, "hook-alerts.yaml")))
    monkeypatch.setenv("VAR_DIR", str(tmp_path / "var"))
    hook.reset()


SCRIPTED_RULES = """\
rules:
  - id: test-value
    name: {vi: "Giá trị cao", en: "Value high"}
    kind: threshold
    severity: info
    codes: [TEST-1]
    metric: value
    operator: ">"
    value: 0.5
  - id: source-failing
    name: {vi: "Nguồn lỗi", en: "Source failing"}
    kind: source_failing
    severity: major
    failures: 2
"""


def test_a_poll_fires_an_alert_through_the_hook(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hook_rules(tmp_path, monkeypatch, SCRIPTED_RULES)
    (spec,) = scripted_specs(tmp_path, "name: feed\nevery: 1m")
    sync_sources(engine, [spec])
    assert poll_source(engine, spec).ok  # the scripted source's first reading is 1.0
    (alert,) = rows(engine)
    assert (alert.rule_id, alert.subject_code, alert.state, alert.value) == ("test-value", "TEST-1", "firing", 1.0)


ANY_STATION_OFFLINE = """\
rules:
  - id: offline
    name: {vi: "Mất kết nối", en: "Offline"}
    kind: station_offline
    severity: minor
    after_intervals: 3
"""


def recorded_evaluations(monkeypatch: pytest.MonkeyPatch) -> list[EvaluationResult]:
    """The results of the evaluations polls, backfills and the scheduler run from now on (still run)."""
    found: list[EvaluationResult] = []
    real = polling.evaluate_after_poll
    monkeypatch.setattr(polling, "evaluate_after_poll", lambda engine: found.append(real(engine)))
    return found


def test_a_backfill_is_judged_once_caught_up_not_after_each_chunk(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks of the past judged at the wall clock would have every station offline, then back: a storm."""
    hook_rules(tmp_path, monkeypatch, ANY_STATION_OFFLINE)
    specs = register_sources(tmp_path, engine, {"name": "demo-air", "kind": "demo", "every": "5m",
                                                "options": {"feed": "air", "stations": 6}})
    evaluations = recorded_evaluations(monkeypatch)
    outcomes = backfill_source(engine, specs["demo-air"], 2.5)  # three chunks
    assert len(outcomes) == 3 and all(o.ok for o in outcomes)
    (result,) = evaluations
    offline = [c for c in result.conditions if c.rule_id == "offline"]
    assert len(offline) == 6 and not [c for c in offline if c.status == BREACH]  # caught up: all online
    assert rows(engine) == []  # nothing fired on the way, so nothing to resolve
    # On a first start, every empty source is backfilled first; the scheduler's first polls judge.
    more = register_sources(tmp_path, engine, {"name": "demo-land", "kind": "demo", "every": "1h",
                                               "options": {"feed": "land"}})
    backfill_empty_sources(engine, list(more.values()), 2)
    assert len(evaluations) == 1 and rows(engine) == []


def test_a_restarted_scheduler_judges_once_every_source_has_caught_up(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a break, the first source back must not find the others' stations offline: a storm."""
    hook_rules(tmp_path, monkeypatch, ANY_STATION_OFFLINE)
    specs = scripted_specs(tmp_path, "name: quick\nevery: 1h\noptions: {entity: Q}",
                           "name: late\nevery: 1h\noptions: {entity: L}")
    sync_sources(engine, specs)
    before_the_break = datetime.now(timezone.utc) - 30 * M  # 6 intervals of 5 minutes ago
    for code in ("Q", "L"):
        feed(engine, Entity(code, "station", f"Trạm {code}"), "value", [(before_the_break, 1.0)])
    SCRIPT.sleep["late"] = 1.0
    evaluations = recorded_evaluations(monkeypatch)
    poller = PollScheduler(engine, specs, load_settings(var_dir=tmp_path, scheduler_heartbeat_seconds=0.2))
    poller.start()
    try:
        deadline = time.monotonic() + 15
        while not evaluations and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        poller.shutdown()
    (result,) = evaluations  # once, after both first polls
    assert sorted((c.subject_code, c.status) for c in result.conditions) == [("L", CLEAR), ("Q", CLEAR)]
    assert rows(engine) == []  # nothing fired by the first poll back, so nothing resolved by the second


def test_the_command_line_judges_once_every_source_it_polled_is_in(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook_rules(tmp_path, monkeypatch, ANY_STATION_OFFLINE)
    monkeypatch.setenv("DATABASE_URL", str(engine.url))
    specs = scripted_specs(tmp_path, "name: first\nevery: 1h\noptions: {entity: F}",
                           "name: second\nevery: 1h\noptions: {entity: S}")
    monkeypatch.setenv("SOURCES_FILE", str(tmp_path / "sources.yaml"))
    sync_sources(engine, specs)
    for code in ("F", "S"):  # both reported before a break of half an hour
        feed(engine, Entity(code, "station", f"Trạm {code}"), "value", [(datetime.now(timezone.utc) - 30 * M, 1.0)])
    evaluations = recorded_evaluations(monkeypatch)
    result = CliRunner().invoke(cli.cli, ["poll"])
    assert result.exit_code == 0, result.output
    (judged,) = evaluations
    assert sorted((c.subject_code, c.status) for c in judged.conditions) == [("F", CLEAR), ("S", CLEAR)]
    assert rows(engine) == []


def test_a_failing_source_raises_its_alert_after_the_failed_polls(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook_rules(tmp_path, monkeypatch, SCRIPTED_RULES)
    (spec,) = scripted_specs(tmp_path, "name: flaky\nevery: 1m\noptions: {entity: TEST-9}")
    sync_sources(engine, [spec])
    SCRIPT.fail["flaky"] = "HTTP 503 from the provincial server"
    poll_source(engine, spec)
    assert rows(engine) == []  # one failure; the rule wants two
    assert not poll_source(engine, spec).ok
    (alert,) = rows(engine)
    assert (alert.rule_id, alert.subject_kind, alert.subject_code, alert.value) == ("source-failing", "source", "flaky", 2)
    assert "HTTP 503" in alert.message
    del SCRIPT.fail["flaky"]
    assert poll_source(engine, spec).ok
    assert rows(engine)[0].state == "resolved"


def test_evaluation_failures_never_fail_the_poll(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    (spec,) = scripted_specs(tmp_path, "name: feed\nevery: 1m")
    sync_sources(engine, [spec])
    # A rules file with a mistake: logged once, naming file and line; polls go on.
    hook_rules(tmp_path, monkeypatch, SCRIPTED_RULES.replace("severity: info", "severity: loud"))
    with caplog.at_level(logging.ERROR):
        assert poll_source(engine, spec).ok
        assert poll_source(engine, spec).ok
    errors = [r.getMessage() for r in caplog.records if r.name == "alerts.hook"]
    assert len(errors) == 1 and "hook-alerts.yaml:5: rule 'test-value': severity" in errors[0]
    assert rows(engine) == []

    def broken(_engine: Engine) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(polling, "evaluate_after_poll", broken)
    caplog.clear()
    with caplog.at_level(logging.ERROR):
        outcome = poll_source(engine, spec)
    assert outcome.ok and outcome.accepted == 1
    assert "alert evaluation after the poll failed" in caplog.text
    with engine.connect() as conn:
        assert conn.execute(select(sources.c.last_status)).scalar_one() == "ok"


# --------------------------------------------------------------------------- API


@pytest.fixture
def api(engine: Engine, tmp_path: Path):  # noqa: ANN201
    from app import create_app

    path = rules_file(tmp_path)
    specs = scripted_specs(tmp_path, "name: feed\nevery: 1m")
    settings = load_settings(var_dir=tmp_path, database_url=str(engine.url), alerts_file=path)
    sync_sources(engine, specs)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    feed(engine, station("HNI-WW-01"), "COD", every_5min(now - 20 * M, [120] * 5))
    feed(engine, station("HNI-WW-02"), "COD", every_5min(now - 20 * M, [130] * 5))
    fired = evaluate(engine, load_rules(path), now, LIMITS).fired
    assert len(fired) == 2
    client = create_app(settings, specs).server.test_client()
    # An API client with an operator token (tests/support.py); anonymous readers are viewers.
    client.environ_base["HTTP_AUTHORIZATION"] = operator_headers(engine)["Authorization"]
    return client, engine, fired


def test_api_lists_alerts_with_their_rule_subject_and_counts(api) -> None:  # noqa: ANN001
    client, _, (first, _second) = api
    body = client.get("/api/v1/alerts").json
    assert body["count"] == 2 and body["counts"]["critical"] == 2 and body["counts"]["minor"] == 0
    item = next(a for a in body["alerts"] if a["id"] == first)
    assert item["rule"] == {"id": "cod-high", "name": {"vi": "COD cao", "en": "COD high"}}
    assert item["subject"] == {"kind": "station", "code": "HNI-WW-01", "name": "Trạm HNI-WW-01"}
    assert (item["message"], item["message_en"]) == ("COD = 120 mg/L (> 100 mg/L)", "COD = 120 mg/L (> 100 mg/L)")
    assert (item["state"], item["severity"], item["value"], item["acknowledgement"]) == ("firing", "critical", 120, None)
    assert item["started_at"].endswith("+07:00")
    assert client.get("/api/v1/alerts?state=resolved").json["count"] == 0
    assert client.get("/api/v1/alerts?severity=minor").json["count"] == 0
    assert client.get("/api/v1/alerts?state=burning").status_code == 400


def test_api_acknowledges_with_an_operator_token(api) -> None:  # noqa: ANN001
    client, engine, (first, second) = api
    response = client.post(f"/api/v1/alerts/{first}/ack", json={"by": "Trần Thị Bình", "note": "đã báo cơ sở"})
    assert response.status_code == 200
    assert response.json["outcome"] == "acknowledged"
    ack = response.json["alert"]["acknowledgement"]
    # The name given, and the token it came through.
    assert (ack["by"], ack["note"]) == ("Trần Thị Bình (token:tests-operator)", "đã báo cơ sở")
    assert client.get("/api/v1/alerts?state=acknowledged").json["alerts"][0]["id"] == first
    detail = client.get(f"/api/v1/alerts/{first}").json
    assert [e["event"] for e in detail["history"]] == ["fired", "acknowledged"]
    assert client.post("/api/v1/alerts/999/ack", json={"by": "x"}).status_code == 404
    assert client.post("/api/v1/alerts/ack", json={"ids": "all", "by": "x"}).status_code == 400
    bulk = client.post("/api/v1/alerts/ack", json={"ids": [first, second]})
    assert bulk.json["outcomes"] == {str(first): "already_acknowledged", str(second): "acknowledged"}
    assert counts_by_severity(engine, ("acknowledged",))["critical"] == 2
    # Without a name, the token's.
    assert client.get(f"/api/v1/alerts/{second}").json["acknowledgement"]["by"] == "token:tests-operator"


def test_api_refuses_writes_without_the_operator_role(api) -> None:  # noqa: ANN001
    client, engine, (first, _) = api
    reader = {"HTTP_AUTHORIZATION": operator_headers(engine, "read")["Authorization"]}
    response = client.post(f"/api/v1/alerts/{first}/ack", json={"by": "x"}, environ_base=reader)
    assert response.status_code == 403
    assert "operator" in response.json["error"]
    assert client.post("/api/v1/silences", json={"rule_id": "cod-high", "duration": "1h", "by": "x"},
                       environ_base=reader).status_code == 403
    # An anonymous viewer (ANONYMOUS_ACCESS in the tests) may read, not write.
    anonymous = client.application.test_client()
    assert anonymous.get("/api/v1/alerts").status_code == 200
    assert anonymous.post(f"/api/v1/alerts/{first}/ack", json={"by": "x"},
                          headers={"X-CSRFToken": "forged"}).status_code == 403
    # Reading is fine with a read token.
    assert client.get("/api/v1/alerts", environ_base=reader).status_code == 200
    # A form post is not JSON: refused.
    assert client.post(f"/api/v1/alerts/{first}/ack", data={"by": "x"}).status_code == 415
    assert list_alerts(engine, "firing")[0].ack_by is None and len(list_alerts(engine, "firing")) == 2


def test_api_silences(api) -> None:  # noqa: ANN001
    client, _, _ = api
    response = client.post("/api/v1/silences", json={"rule_id": "cod-high", "subject_code": "HNI-WW-01",
                                                     "duration": "2h", "by": "Bình", "reason": "bảo trì"})
    assert response.status_code == 201
    silence = response.json
    assert (silence["rule_id"], silence["subject_code"], silence["active"], silence["reason"]) == (
        "cod-high", "HNI-WW-01", True, "bảo trì")
    assert [s["id"] for s in client.get("/api/v1/silences").json["silences"]] == [silence["id"]]
    assert client.post("/api/v1/silences", json={"rule_id": "no-such-rule", "duration": "1h",
                                                 "by": "x"}).status_code == 400
    assert client.post("/api/v1/silences", json={"duration": "1h", "by": "x"}).status_code == 400
    assert client.post(f"/api/v1/silences/{silence['id']}/expire", json={}).status_code == 200
    assert client.get("/api/v1/silences").json["silences"] == []
    assert len(client.get("/api/v1/silences?all=1").json["silences"]) == 1


def test_list_alerts_orders_open_alerts_most_severe_first(engine: Engine) -> None:
    with engine.begin() as conn:
        for i, severity in enumerate(["info", "critical", "minor", "major"]):
            conn.execute(insert(alerts).values(
                rule_id=f"r{i}", subject_kind="station", subject_code="S", subject_name="S", severity=severity,
                state="firing", started_at=T0 + i * M, last_seen_at=T0, message=""))
        conn.execute(update(alerts).where(alerts.c.rule_id == "r0").values(state="resolved", resolved_at=T0))
        assert conn.execute(select(func.count()).select_from(alerts)).scalar_one() == 4
    assert [a.severity for a in list_alerts(engine)] == ["critical", "major", "minor"]
    assert [a.severity for a in list_alerts(engine, "all")] == ["critical", "major", "minor", "info"]
    assert counts_by_severity(engine) == {"critical": 1, "major": 1, "minor": 1, "info": 0}
