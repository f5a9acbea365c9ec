"""What the evaluation hands to the lifecycle, and what one evaluation did."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

LANGUAGES = ("vi", "en")

# The status of a rule's condition on one subject, now:
BREACH = "breach"  # the condition holds (long enough): fire, or keep an open alert going
HOLDING = "holding"  # between the threshold and the clear level (hysteresis): keep open, never fire
CLEAR = "clear"  # back beyond the clear level: resolve an open alert
# A subject the rule cannot judge now (no current data) has no Condition: nothing changes.


class Text:
    """A message in each of :data:`LANGUAGES`: ``compose(lang, *args)``, the first time it is read.

    An evaluation judges thousands of subjects and most are clear: their messages are
    never stored or shown, so they are never composed (bench/alerts.py). The arguments
    are kept rather than captured by a closure: a tuple costs a tenth of a closure's cells.
    """

    __slots__ = ("_compose", "_args", "_done")

    def __init__(self, compose: Callable[..., str], *args: Any) -> None:
        self._compose, self._args = compose, args
        self._done: dict[str, str] | None = None

    def __call__(self, lang: str) -> str:
        if self._done is None:
            self._done = {}
        if lang not in self._done:
            self._done[lang] = self._compose(lang, *self._args)
        return self._done[lang]


class Condition(NamedTuple):
    """A rule's condition on one subject now. A named tuple: an evaluation makes one per
    subject judged (20,000 series: thousands), a third of the cost of a dataclass."""

    rule_id: str
    subject_kind: str  # station | facility | province | source | kpi | warning
    subject_code: str
    subject_name: str
    status: str  # BREACH | HOLDING | CLEAR
    value: float | None
    threshold: float | None
    message: str | Text  # a plain str reads the same in every language
    severity: str | None = None  # this subject's own severity, over the rule's (cap_warning maps CAP's)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.rule_id, self.subject_kind, self.subject_code)

    def message_in(self, lang: str) -> str:
        return self.message if isinstance(self.message, str) else self.message(lang)


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
