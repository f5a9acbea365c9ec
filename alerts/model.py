"""What the evaluation hands to the lifecycle, and what one evaluation did."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

# The status of a rule's condition on one subject, now:
BREACH = "breach"  # the condition holds (long enough): fire, or keep an open alert going
HOLDING = "holding"  # between the threshold and the clear level (hysteresis): keep open, never fire
CLEAR = "clear"  # back beyond the clear level: resolve an open alert
# A subject the rule cannot judge now (no current data) has no Condition: nothing changes.


@dataclass(frozen=True)
class Condition:
    rule_id: str
    subject_kind: str  # station | facility | province | source | kpi | warning
    subject_code: str
    subject_name: str
    status: str  # BREACH | HOLDING | CLEAR
    value: float | None
    threshold: float | None
    message: str
    severity: str | None = None  # this subject's own severity, over the rule's (cap_warning maps CAP's)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.rule_id, self.subject_kind, self.subject_code)


@dataclass(frozen=True)
class EvaluationResult:
    """The transitions one evaluation applied (alert ids), and what it could not judge."""

    now: datetime
    conditions: tuple[Condition, ...] = ()
    fired: tuple[int, ...] = ()  # new alerts, first time for their rule and subject
    refired: tuple[int, ...] = ()  # new alerts after an earlier one was resolved
    resolved: tuple[int, ...] = ()
    escalated: tuple[int, ...] = ()
    updated: int = 0  # open alerts whose condition persists (last_seen_at, value refreshed)
    silenced: tuple[tuple[str, str], ...] = ()  # (rule id, subject code) held back by a silence, newly recorded
    warnings: tuple[str, ...] = field(default=())

    @property
    def new_alerts(self) -> tuple[int, ...]:
        return self.fired + self.refired

    def summary(self) -> str:
        return (f"{len(self.fired)} fired, {len(self.refired)} refired, {len(self.resolved)} resolved, "
                f"{len(self.escalated)} escalated, {len(self.silenced)} silenced, {self.updated} ongoing")
