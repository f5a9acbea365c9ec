"""Alert notifications (alerts/notify/): the channels file, the outbox, and real deliveries to a
webhook receiver and an SMTP server on loopback — retries, rate limits, digests, filters and restarts.

Alerts come from the real lifecycle (``alerts.lifecycle.apply`` with Conditions) at fixed
times; every delivery gets an explicit ``now``, so nothing depends on the wall clock's date
(except the scheduler job, which reads the clock itself).
"""
from __future__ import annotations

import email
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope
from sqlalchemy import Engine, Row

from alerts.evaluate import threshold_text
from alerts.lifecycle import apply
from alerts.model import BREACH, CLEAR, Condition
from alerts.notify import DeliveryJob, Notifications, deliver_pending, enqueue, load_notifications, wake
from alerts.rules import RuleSet
from settings import ROOT, ConfigError, load_settings
from store.engine import make_engine
from store.schema import notifications
from tests.servers import free_port
from tests.test_alerts import T0, M, make_rules, rows

S = timedelta(seconds=1)
H = timedelta(hours=1)

RULES = """\
defaults:
  escalate_after: 30m
rules:
  - id: cod-high
    name: {vi: "COD vượt ngưỡng", en: "COD above limit"}
    kind: threshold
    severity: critical
    subtype: wastewater
    metric: COD
    operator: ">"
    value: 100
  - id: tss-high
    name: {vi: "TSS cao", en: "TSS high"}
    kind: threshold
    severity: minor
    subtype: wastewater
    metric: TSS
    operator: ">"
    value: 100
"""

FROM = "canh-bao@example.vn"
FROM_NAME = "Trung tâm điều hành"
TO = ["truc-ban@example.vn", "lanh-dao@example.vn"]


# --------------------------------------------------------------------------- receivers


@dataclass
class Received:
    status: int  # what the receiver answered
    headers: dict[str, str]  # lower-case names
    body: dict[str, Any]


class WebhookReceiver:
    """A real HTTP server on 127.0.0.1 recording each POST; ``fail_next`` answers 500 that many times."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.fail_next = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # http.server's naming
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    status = 500 if receiver.fail_next > 0 else 200
                    receiver.fail_next = max(0, receiver.fail_next - 1)
                    receiver.requests.append(
                        Received(status, {k.lower(): v for k, v in self.headers.items()}, json.loads(raw)))
                reply = b"receiver down" if status == 500 else b"ok"
                self.send_response(status)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:  # keep the test output clean
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # A short poll interval: shutdown() waits for it at the end of each test.
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/opscentre"

    def delivered(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Bodies answered 200 (of one channel, if given), in arrival order."""
        return [r.body for r in self.requests if r.status == 200 and channel in (None, r.body["channel"])]


@dataclass
class Mailbox:
    """aiosmtpd handler: keeps every envelope it accepts."""

    envelopes: list[Envelope] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:  # aiosmtpd's naming
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        return [email.message_from_bytes(e.content, policy=default_policy) for e in self.envelopes]  # type: ignore[misc]


@dataclass(frozen=True)
class SmtpServer:
    mailbox: Mailbox
    port: int


@pytest.fixture
def hook() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    receiver.thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    mailbox, port = Mailbox(), free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield SmtpServer(mailbox, port)
    controller.stop()


# --------------------------------------------------------------------------- alerts and channels


@pytest.fixture
def rules(tmp_path: Path) -> RuleSet:
    return make_rules(tmp_path, RULES)


def rule_names(rules: RuleSet) -> dict[str, dict[str, str]]:
    """As the scheduler's job builds them from the rules file."""
    return {r.id: {"vi": r.name.vi, "en": r.name.en} for r in rules.rules}


def condition(rule_id: str, code: str, status: str = BREACH, name: str | None = None) -> Condition:
    value = 1402.5 if status == BREACH else 60.0
    return Condition(rule_id, "station", code, name or f"Trạm quan trắc {code}", status, value, 100.0,
                     threshold_text(rule_id.split("-")[0].upper(), value, ">", 100.0, "mg/L", ""))


def fire(engine: Engine, rules: RuleSet, now: datetime, *codes: str, rule: str = "cod-high",
         name: str | None = None) -> list[int]:
    """New alerts on ``codes`` through the real lifecycle; their ids."""
    result = apply(engine, rules, [condition(rule, c, BREACH, name) for c in codes], now)
    assert len(result.new_alerts) == len(codes)
    return list(result.new_alerts)


def resolve(engine: Engine, rules: RuleSet, now: datetime, *codes: str, rule: str = "cod-high") -> list[int]:
    result = apply(engine, rules, [condition(rule, c, CLEAR) for c in codes], now)
    assert len(result.resolved) == len(codes)
    return list(result.resolved)


def hook_channel(url: str, name: str = "hook", **extra: Any) -> dict[str, Any]:
    return {"name": name, "kind": "webhook", "url": url, "timeout": "5s", **extra}


def mail_channel(port: int, name: str = "mail", **extra: Any) -> dict[str, Any]:
    return {"name": name, "kind": "email",
            "smtp": {"host": "127.0.0.1", "port": port, "security": "none", "timeout": "5s"},
            "from": FROM, "from_name": FROM_NAME, "to": TO, **extra}


def write_config(tmp_path: Path, *channels: dict[str, Any], name: str = "notifications.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump({"channels": list(channels)}, allow_unicode=True, sort_keys=False),
                    encoding="utf-8")
    return path


def channels(tmp_path: Path, *entries: dict[str, Any]) -> Notifications:
    """Write the channels file as an operator would, and load it."""
    return load_notifications(write_config(tmp_path, *entries))


def outbox(engine: Engine, channel: str | None = None) -> list[Row[Any]]:
    return [r for r in rows(engine, notifications) if channel in (None, r.channel)]


def alert_ids(body: dict[str, Any]) -> list[int]:
    return [n["alert_id"] for n in body["notifications"]]


# --------------------------------------------------------------------------- 1. the channels file


def test_a_valid_file_loads_with_durations_defaults_and_aliases(tmp_path: Path) -> None:
    config = channels(
        tmp_path,
        hook_channel("https://chat.example.vn/hooks/ops", severities=["critical", "major"], digest="15m",
                     rate_limit={"max": 10, "per": "1h"}, retry={"max_attempts": 4, "backoff": "30s"}),
        mail_channel(2525, enabled=False, language="en"),
    )
    hook_, mail = config.channels
    assert (hook_.name, hook_.url, hook_.severities, hook_.digest, hook_.timeout) == (
        "hook", "https://chat.example.vn/hooks/ops", ("critical", "major"), 900, 5)
    assert (hook_.rate_limit.max, hook_.rate_limit.per) == (10, 3600)
    assert (hook_.retry.max_attempts, hook_.retry.backoff, hook_.retry.max_backoff) == (4, 30, 3600)
    # Defaults: Vietnamese, every event (resolved included), every severity.
    assert (hook_.language, hook_.events) == ("vi", ("fired", "refired", "escalated", "resolved"))
    assert mail.severities == ("critical", "major", "minor", "info")
    assert (mail.from_, mail.to, mail.smtp.port, mail.language) == (FROM, tuple(TO), 2525, "en")
    assert config.enabled() == (hook_,)


_BAD_FILES = {
    # name: (file, the line the error must name (marked «here»), words the message must hold)
    "unknown kind": ("channels:\n  - name: a  # here\n    kind: sms\n    url: http://x/y\n",
                     ["'sms'", "kind: webhook or kind: email"]),
    "missing url": ("channels:\n  - name: a  # here\n    kind: webhook\n    timeout: 5s\n",
                    ["'url' is missing"]),
    "bad duration": ("channels:\n  - name: a\n    kind: webhook\n    url: http://x/y\n    digest: 15 minutes  # here\n",
                     ["digest", "'15 minutes' is not a duration"]),
    "duration without unit": (("channels:\n  - name: a\n    kind: webhook\n    url: http://x/y\n"
                               "    retry: {backoff: 30}  # here\n"), ["retry.backoff", "no unit"]),
    "duplicate name": (("channels:\n  - name: a\n    kind: webhook\n    url: http://x/y\n"
                        "  - name: a  # here\n    kind: webhook\n    url: http://x/z\n"),
                       ["'a' is already used at line 2"]),
    "unusable url": ("channels:\n  - name: a\n    kind: webhook\n    url: http://[::1/hook  # here\n",
                     ["not a usable address"]),
    "unset secret": (("channels:\n  - name: a\n    kind: webhook\n    url: http://x/y\n"
                      "    headers_from_env: {Authorization: OPSC_TEST_UNSET_VAR}  # here\n"),
                     ["OPSC_TEST_UNSET_VAR is not set"]),
}


@pytest.mark.parametrize("case", list(_BAD_FILES))
def test_a_bad_file_names_the_file_and_line(tmp_path: Path, case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPSC_TEST_UNSET_VAR", raising=False)
    text, words = _BAD_FILES[case]
    line = next(n for n, t in enumerate(text.splitlines(), start=1) if "# here" in t)
    path = tmp_path / "notifications.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_notifications(path)
    message = str(raised.value)
    assert message.startswith(f"{path}:{line}: "), message
    for word in words:
        assert word in message


def test_the_shipped_file_loads_with_both_channels_disabled() -> None:
    config = load_notifications(ROOT / "config" / "notifications.yaml")
    assert [(c.name, c.kind, c.enabled) for c in config.channels] == [
        ("ops-webhook", "webhook", False), ("duty-officers", "email", False)]
    assert config.enabled() == ()


# --------------------------------------------------------------------------- 2. webhook delivery


def test_a_fired_alert_is_posted_once_with_its_json_and_idempotency_key(
    tmp_path: Path, engine: Engine, rules: RuleSet, hook: WebhookReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPSC_TEST_HOOK_AUTH", "Bearer s3cret")
    config = channels(tmp_path, hook_channel(hook.url, headers={"X-Source": "opscentre"},
                                             headers_from_env={"Authorization": "OPSC_TEST_HOOK_AUTH"}))
    enqueue(engine, config, T0 - M)  # the scheduler starts: the channel's cursor begins here
    (alert_id,) = fire(engine, rules, T0, "HNI-WW-01")

    report = deliver_pending(engine, config, T0, rule_names=rule_names(rules))

    assert (report.enqueued, report.messages, report.sent) == (1, 1, 1)
    (request,) = hook.requests
    (item,) = request.body["notifications"]
    assert (request.body["channel"], request.body["count"]) == ("hook", 1)
    assert (item["alert_id"], item["severity"], item["rule"], item["rule_name"], item["event"], item["state"]) == (
        alert_id, "critical", "cod-high", "COD vượt ngưỡng", "fired", "firing")
    assert item["subject"] == {"kind": "station", "code": "HNI-WW-01", "name": "Trạm quan trắc HNI-WW-01"}
    assert item["at"] == "2026-11-20T10:00:00+07:00"  # Hà Nội time by default
    assert item["message"] == "COD = 1.402,5 mg/L (> 100 mg/L)"  # the channel's language: Vietnamese by default
    (row,) = outbox(engine)
    assert (row.state, row.attempts, row.sent_at, row.last_error, row.alert_id) == ("sent", 1, T0, None, alert_id)
    assert request.headers["idempotency-key"] == request.body["key"] == row.message_key
    assert request.headers["content-type"] == "application/json"
    assert (request.headers["x-source"], request.headers["authorization"]) == ("opscentre", "Bearer s3cret")

    again = deliver_pending(engine, config, T0 + M, rule_names=rule_names(rules))
    assert (again.enqueued, again.messages) == (0, 0)
    assert len(hook.requests) == 1


# --------------------------------------------------------------------------- 3. e-mail


@pytest.mark.parametrize(("language", "subject", "message"), [
    ("vi", "[Nghiêm trọng] Cảnh báo mới: Trạm Hà Đông — COD vượt ngưỡng", "Nội dung: COD = 1.402,5 mg/L (> 100 mg/L)"),
    ("en", "[Critical] New alert: Trạm Hà Đông — COD above limit", "Message: COD = 1,402.5 mg/L (> 100 mg/L)"),
])
def test_an_email_arrives_with_its_utf8_subject_addresses_and_message_id(
    tmp_path: Path, engine: Engine, rules: RuleSet, smtp: SmtpServer, language: str, subject: str, message: str
) -> None:
    config = channels(tmp_path, mail_channel(smtp.port, language=language))
    enqueue(engine, config, T0 - M)
    fire(engine, rules, T0, "HNI-WW-01", name="Trạm Hà Đông")

    report = deliver_pending(engine, config, T0, rule_names=rule_names(rules))

    assert report.messages == 1
    (envelope,) = smtp.mailbox.envelopes
    (mail,) = smtp.mailbox.messages()
    (row,) = outbox(engine)
    assert (envelope.mail_from, envelope.rcpt_tos) == (FROM, TO)
    assert mail["Subject"] == subject  # decoded exactly, diacritics included
    (sender,) = mail["From"].addresses
    assert (sender.display_name, sender.addr_spec) == (FROM_NAME, FROM)
    assert [a.addr_spec for a in mail["To"].addresses] == TO
    assert mail["Message-ID"] == f"<{row.message_key}@example.vn>"
    assert mail["Date"].datetime == T0
    text = mail.get_content().replace("\r\n", "\n")  # line ends as on the wire
    assert text.startswith(subject + "\n")
    assert message in text  # the alert's message in the channel's language
    # On the wire the headers are plain ASCII (RFC 2047), whatever the server supports.
    head = re.split(rb"\r?\n\r?\n", envelope.original_content, maxsplit=1)[0]  # type: ignore[arg-type]
    assert head.isascii() and b"=?utf-8?" in head
    # The body too (quoted-printable): no server has to take 8-bit mail unannounced.
    assert envelope.original_content.isascii() and mail["Content-Transfer-Encoding"] == "quoted-printable"
    assert row.state == "sent"


# --------------------------------------------------------------------------- 4. retries


def test_a_500_is_retried_after_the_backoff_then_delivered(
    tmp_path: Path, engine: Engine, rules: RuleSet, hook: WebhookReceiver
) -> None:
    config = channels(tmp_path, hook_channel(hook.url, retry={"max_attempts": 3, "backoff": "1m"}))
    enqueue(engine, config, T0 - M)
    fire(engine, rules, T0, "HNI-WW-01")
    hook.fail_next = 1

    report = deliver_pending(engine, config, T0)
    assert (report.messages, report.retried) == (0, 1)
    (row,) = outbox(engine)
    assert (row.state, row.attempts, row.next_attempt_at) == ("pending", 1, T0 + M)
    assert row.last_error.startswith(f"HTTP 500 from {hook.url}")

    deliver_pending(engine, config, T0 + M - S)  # before the backoff: not tried
    assert len(hook.requests) == 1

    report = deliver_pending(engine, config, T0 + M)
    (row,) = outbox(engine)
    assert (report.messages, row.state, row.attempts, row.last_error, row.sent_at) == (1, "sent", 2, None, T0 + M)
    assert [r.status for r in hook.requests] == [500, 200]
    # The retry is the same message: a receiver can drop a duplicate by its key.
    assert hook.requests[0].headers["idempotency-key"] == hook.requests[1].headers["idempotency-key"]


def test_the_backoff_doubles_and_after_max_attempts_the_row_fails_with_the_reason(
    tmp_path: Path, engine: Engine, rules: RuleSet, hook: WebhookReceiver
) -> None:
    config = channels(tmp_path, hook_channel(hook.url, retry={"max_attempts": 3, "backoff": "1m"}))
    enqueue(engine, config, T0 - M)
    fire(engine, rules, T0, "HNI-WW-01")
    hook.fail_next = 100

    deliver_pending(engine, config, T0)
    assert outbox(engine)[0].next_attempt_at == T0 + M
    deliver_pending(engine, config, T0 + M)
    (row,) = outbox(engine)
    assert (row.state, row.attempts, row.next_attempt_at) == ("pending", 2, T0 + M + 2 * M)  # doubled

    deliver_pending(engine, config, T0 + 3 * M - S)
    assert len(hook.requests) == 2
    report = deliver_pending(engine, config, T0 + 3 * M)
    (row,) = outbox(engine)
    assert (report.failed, row.state, row.attempts, row.sent_at) == (1, "failed", 3, None)
    assert "HTTP 500" in row.last_error and "receiver down" in row.last_error

    deliver_pending(engine, config, T0 + 2 * H)  # given up: never tried again
    assert len(hook.requests) == 3


# --------------------------------------------------------------------------- 5. rate limit


def test_the_rate_limit_folds_the_excess_into_the_last_message_and_then_waits(
    tmp_path: Path, engine: Engine, rules: RuleSet, hook: WebhookReceiver
) -> None:
    config = channels(tmp_path, hook_channel(hook.url, rate_limit={"max": 2, "per": "1h"}))
    enqueue(engine, config, T0 - M)
    ids = fire(engine, rules, T0, *(f"HNI-WW-0{n}" for n in range(1, 6)))

    report = deliver_pending(engine, config, T0)

    assert (report.messages, report.sent) == (2, 5)
    first, second = hook.delivered()
    assert (first["count"], second["count"]) == (1, 4)
    assert alert_ids(first) + alert_ids(second) == ids  # nothing dropped, oldest first
    assert {r.state for r in outbox(engine)} == {"sent"}

    # The limit is used up for the hour: a new alert waits, then goes when the hour has passed.
    (late,) = fire(engine, rules, T0 + 10 * M, "HNI-WW-09")
    report = deliver_pending(engine, config, T0 + 10 * M)
    assert (report.messages, report.held) == (0, {"hook": 1})
    deliver_pending(engine, config, T0 + H - S)
    assert len(hook.requests) == 2
    report = deliver_pending(engine, config, T0 + H)
    assert report.messages == 1
    assert alert_ids(hook.delivered()[-1]) == [late]


# --------------------------------------------------------------------------- 6. digest


def test_a_digest_holds_events_until_the_oldest_has_waited_then_sends_one_message(
    tmp_path: Path, engine: Engine, rules: RuleSet, hook: WebhookReceiver
) -> None:
    config = channels(tmp_path, hook_channel(hook.url, digest="15m"))
    enqueue(engine, config, T0 - M)
    (minor,) = fire(engine, rules, T0, "HNI-WW-01", rule="tss-high")
    assert deliver_pending(engine, config, T0).held == {"hook": 1}
    (critical,) = fire(engine, rules, T0 + 5 * M, "HNI-WW-02")
    assert deliver_pending(engine, config, T0 + 5 * M).held == {"hook": 2}
    assert deliver_pending(engine, config, T0 + 15 * M - S).messages == 0
    assert hook.requests == []

    report = deliver_pending(engine, config, T0 + 15 * M)

    assert (report.messages, report.sent) == (1, 2)
    (body,) = hook.delivered()
    assert (body["count"], alert_ids(body)) == (2, [minor, critical])
    assert body["title"] == "[Nghiêm trọng] Tổng hợp 2 thông báo cảnh báo"  # the worst severity leads
    assert {(r.state, r.message_key) for r in outbox(engine)} == {("sent", body["key"])}


# --------------------------------------------------------------------------- 7. filters


def test_a_channel_for_critical_alerts_ignores_a_minor_one(
    tmp_path: Path, engine: Engine, rules: RuleSet, hook: WebhookReceiver
) -> None:
    config = channels(tmp_path, hook_channel(hook.url, name="critical-only", severities=["critical"]),
                      hook_channel(hook.url, name="all"))
    enqueue(engine, config, T0 - M)
    (minor,) = fire(engine, rules, T0, "HNI-WW-01", rule="tss-high")
    (critical,) = fire(engine, rules, T0, "HNI-WW-02")

    deliver_pending(engine, config, T0)

    assert [alert_ids(b) for b in hook.delivered("critical-only")] == [[critical]]
    assert sorted(i for b in hook.delivered("all") for i in alert_ids(b)) == sorted([minor, critical])
    assert [r.alert_id for r in outbox(engine, "critical-only")] == [critical]  # not even queued


def test_resolved_events_go_only_to_channels_that_ask_for_them(
    tmp_path: Path, engine: Engine, rules: RuleSet, hook: WebhookReceiver
) -> None:
    config = channels(tmp_path, hook_channel(hook.url, name="no-resolved", events=["fired", "refired", "escalated"]),
                      hook_channel(hook.url, name="default"))
    enqueue(engine, config, T0 - M)
    (alert_id,) = fire(engine, rules, T0, "HNI-WW-01")
    deliver_pending(engine, config, T0)
    resolve(engine, rules, T0 + 10 * M, "HNI-WW-01")

    deliver_pending(engine, config, T0 + 10 * M)

    def seen(channel: str) -> list[tuple[int, str]]:
        return [(n["alert_id"], n["event"]) for b in hook.delivered(channel) for n in b["notifications"]]

    assert seen("no-resolved") == [(alert_id, "fired")]
    assert seen("default") == [(alert_id, "fired"), (alert_id, "resolved")]
    assert hook.delivered("default")[-1]["notifications"][0]["state"] == "resolved"


# --------------------------------------------------------------------------- 8. a failing channel


def test_a_failing_smtp_channel_does_not_stop_the_webhook(
    tmp_path: Path, engine: Engine, rules: RuleSet, hook: WebhookReceiver
) -> None:
    dead_port = free_port()  # nothing listens there
    config = channels(tmp_path, mail_channel(dead_port), hook_channel(hook.url))
    enqueue(engine, config, T0 - M)
    (alert_id,) = fire(engine, rules, T0, "HNI-WW-01")

    report = deliver_pending(engine, config, T0)

    assert (report.sent, report.retried) == (1, 1)
    assert [alert_ids(b) for b in hook.delivered()] == [[alert_id]]
    (mail_row,) = outbox(engine, "mail")
    assert (mail_row.state, mail_row.attempts) == ("pending", 1)
    assert mail_row.last_error.startswith(f"SMTP 127.0.0.1:{dead_port}: ")
    assert outbox(engine, "hook")[0].state == "sent"


# --------------------------------------------------------------------------- 9. restarts


def test_enqueueing_again_creates_no_duplicate_rows(
    tmp_path: Path, engine: Engine, rules: RuleSet, hook: WebhookReceiver
) -> None:
    config = channels(tmp_path, hook_channel(hook.url))
    enqueue(engine, config, T0 - M)
    fire(engine, rules, T0, "HNI-WW-01")

    # The second and third calls re-read recent events (the look-back) but must add nothing.
    assert [enqueue(engine, config, T0 + n * M) for n in range(3)] == [1, 0, 0]
    assert len(outbox(engine)) == 1


def test_a_restarted_scheduler_neither_resends_nor_duplicates(
    tmp_path: Path, engine: Engine, rules: RuleSet, hook: WebhookReceiver
) -> None:
    config = channels(tmp_path, hook_channel(hook.url))
    enqueue(engine, config, T0 - M)
    first, second = fire(engine, rules, T0, "HNI-WW-01", "HNI-WW-02")
    assert deliver_pending(engine, config, T0).messages == 2

    # A new process: its own engine on the same file, its own config objects.
    restarted = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        config_again = load_notifications(config.path)
        assert enqueue(restarted, config_again, T0 + M) == 0
        report = deliver_pending(restarted, config_again, T0 + M)
        assert (report.enqueued, report.messages) == (0, 0)
        (third,) = fire(restarted, rules, T0 + 2 * M, "HNI-WW-03")
        assert deliver_pending(restarted, config_again, T0 + 2 * M).messages == 1
    finally:
        restarted.dispose()

    assert [alert_ids(b) for b in hook.delivered()] == [[first], [second], [third]]
    assert len(outbox(engine)) == 3


def test_a_channel_added_later_does_not_receive_earlier_history(
    tmp_path: Path, engine: Engine, rules: RuleSet, hook: WebhookReceiver
) -> None:
    before = channels(tmp_path, hook_channel(hook.url, name="old"))
    enqueue(engine, before, T0 - M)
    (earlier,) = fire(engine, rules, T0, "HNI-WW-01")
    deliver_pending(engine, before, T0)

    after = channels(tmp_path, hook_channel(hook.url, name="old"), hook_channel(hook.url, name="new"))
    assert deliver_pending(engine, after, T0 + M).messages == 0  # `earlier` is only 1 min old: inside the look-back
    (later,) = fire(engine, rules, T0 + 2 * M, "HNI-WW-02")
    deliver_pending(engine, after, T0 + 2 * M)

    assert [alert_ids(b) for b in hook.delivered("old")] == [[earlier], [later]]
    assert [alert_ids(b) for b in hook.delivered("new")] == [[later]]
    assert [r.alert_id for r in outbox(engine, "new")] == [later]


def test_a_channel_switched_back_on_sends_nothing_from_while_it_was_off(
    tmp_path: Path, engine: Engine, rules: RuleSet, hook: WebhookReceiver
) -> None:
    enqueue(engine, channels(tmp_path, hook_channel(hook.url)), T0 - M)
    off = channels(tmp_path, hook_channel(hook.url, enabled=False))
    fire(engine, rules, T0, "HNI-WW-01")
    deliver_pending(engine, off, T0)  # off: the cursor moves on, nothing is queued
    on = channels(tmp_path, hook_channel(hook.url))
    # Back on one minute later: the alert is well inside the 10-minute look-back, yet not sent.
    assert deliver_pending(engine, on, T0 + M).messages == 0
    (later,) = fire(engine, rules, T0 + 2 * M, "HNI-WW-02")
    deliver_pending(engine, on, T0 + 2 * M)
    assert [alert_ids(b) for b in hook.delivered()] == [[later]]


# --------------------------------------------------------------------------- 10. the scheduler's job


def test_the_delivery_job_delivers_at_once_when_woken(
    tmp_path: Path, engine: Engine, rules: RuleSet, hook: WebhookReceiver
) -> None:
    settings = load_settings(var_dir=tmp_path / "var", alerts_file=rules.path,
                             notifications_file=write_config(tmp_path, hook_channel(hook.url)))
    job = DeliveryJob(engine, settings)
    assert job.active
    job.prepare()
    # The job reads the wall clock, and events older than a day are not notified: fire at the real now.
    (first,) = fire(engine, rules, datetime.now(timezone.utc), "HNI-WW-01")
    report = job()  # the first call always delivers
    assert report is not None and report.messages == 1
    assert hook.delivered()[0]["notifications"][0]["rule_name"] == "COD vượt ngưỡng"  # names from alerts_file

    (second,) = fire(engine, rules, datetime.now(timezone.utc), "HNI-WW-02")
    assert job() is None  # not woken, and the interval has not passed
    assert len(hook.requests) == 1

    wake()
    report = job()
    assert report is not None and report.messages == 1
    assert [alert_ids(b) for b in hook.delivered()] == [[first], [second]]


def test_the_delivery_job_refuses_a_bad_file_at_start_up(tmp_path: Path, engine: Engine) -> None:
    path = write_config(tmp_path, {"name": "hook", "kind": "pager", "url": "http://127.0.0.1/x"})
    with pytest.raises(ConfigError, match=re.escape(f"{path}:2: ")):
        DeliveryJob(engine, load_settings(var_dir=tmp_path / "var", notifications_file=path))


# --------------------------------------------------------------------------- a sender's unexpected error


def test_an_unexpected_sender_error_counts_as_a_failed_attempt(
    tmp_path: Path, engine: Engine, rules: RuleSet
) -> None:
    # An address httpx refuses with InvalidURL (not an HTTPError) when sending; the file check
    # refuses it too, so it is put in after loading, as any unforeseen sender error would arise.
    config = channels(tmp_path, hook_channel("http://127.0.0.1:9/hook", retry={"max_attempts": 2, "backoff": "1m"}))
    object.__setattr__(config.channels[0], "url", "http://[::1/hook")  # the models are frozen
    enqueue(engine, config, T0 - M)
    fire(engine, rules, T0, "HNI-WW-01")

    assert deliver_pending(engine, config, T0).retried == 1
    (row,) = outbox(engine)
    assert (row.state, row.attempts, row.next_attempt_at) == ("pending", 1, T0 + M)
    assert row.last_error.startswith("InvalidURL: ")

    assert deliver_pending(engine, config, T0 + M).failed == 1
    (row,) = outbox(engine)
    assert (row.state, row.attempts) == ("failed", 2)  # given up with the reason, not retried forever
