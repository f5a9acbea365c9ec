"""Load the operator's alert rules (YAML, ``config/alerts.yaml``) into validated rules.

The file::

    defaults:                       # all optional
      escalate_after: 30m           # a critical alert unacknowledged this long is escalated
      clear_margin: 0.1             # hysteresis when a rule gives no clear_at (10 % of the threshold)
      current_within_intervals: 3   # readings older than 3 × the station's interval are not "now"
    rules:
      - id: pm25-hourly-over-qcvn   # unique, [a-z0-9_-]; alerts keep it, so do not rename lightly
        name: {vi: "...", en: "..."}
        kind: threshold             # threshold | rate_of_change | station_offline | source_failing
                                    # | kpi_status | cap_warning
        severity: major             # critical | major | minor | info
        scope: station              # station | facility | province (| source for source_failing,
                                    # kpi for kpi_status, province | warning for cap_warning)
        enabled: true
        escalate_after: 1h          # optional, any severity; "never" turns the default off
        ...                         # the kind's own keys, below

Kinds and their keys:

``threshold``
    ``metric``; which stations: ``subtype`` (air, surface_water, wastewater, emission,
    one or a list) and/or ``codes`` (station codes, or facility codes meaning their
    stations); ``operator`` ``>`` or ``<``; either ``value`` (in the series' unit) or
    ``limit: qcvn`` (the station's own limit: its permit or QCVN 40 for wastewater,
    via limits.py; QCVN 05 for air, averaging period ``limit_period``, default 1h);
    ``statistic``: ``reading`` (each valid reading, default) or ``hourly_mean``
    (completed hours of the roll-up); ``for``: how long the condition must hold
    before it fires (default 0); ``clear_at``: hysteresis — an open alert resolves
    only once the value is back beyond it, a number or a percentage of the threshold
    ("90%"); default: the threshold ∓ ``clear_margin``.
``rate_of_change``
    ``metric``, ``subtype``/``codes``; ``window`` (e.g. 1h); ``change``: the size of
    the change over the window that fires; ``direction`` rise | fall | either;
    ``clear_at`` as above, for the size of the change.
``station_offline``
    ``subtype``/``codes`` (default: every station); ``after_intervals``: no valid
    reading for this many of the station's reporting intervals (default 3).
``source_failing``
    ``sources`` (names; default all); ``failures``: consecutive failed polls that
    fire (default 3); ``stale`` (default true): also fire when the last success is
    older than ``stale_after_intervals`` (default 3) × the source's interval.
``kpi_status``
    scope ``kpi``: one alert per KPI of the catalogue (``config/kpis.yaml``), subject
    the KPI's code and name. ``codes`` (KPI codes) and/or ``areas`` (land, reporting...)
    narrow the KPIs watched (default: every KPI with thresholds); ``status``: red
    (default) or amber (amber or red) fires; ``clear_at_status``: the status that
    resolves an open alert, green (default) or amber (only with ``status: red``) —
    between the two the alert stays open (hysteresis); ``for``: the status must also
    have been that bad at ``for`` ago and at two instants between (default 0). A KPI
    with no data has no condition (its alert neither persists nor resolves).
``cap_warning``
    scope ``province`` (default: one alert per province a warning names, a warning
    naming none stands for itself) or ``warning`` (one alert per warning): the
    hydro-meteorological warnings (CAP) in force whose severity is at least
    ``min_severity`` (Extreme, Severe, Moderate, Minor; default Minor), and optionally
    urgency at least ``min_urgency`` (Immediate, Expected, Future, Past) and certainty
    at least ``min_certainty`` (Observed, Likely, Possible, Unlikely); ``provinces``
    (codes) narrows them. Resolved when the warning expires, is cancelled or updated
    below the minimum. ``severity`` is optional: without it an alert's severity follows
    the CAP severity of its worst warning (Extreme critical, Severe major, Moderate
    minor, otherwise info).

Errors raise :class:`settings.ConfigError` naming the file, the line, the rule and the fix.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PositiveFloat, ValidationError, model_validator

from reference.provinces import province_codes
from settings import ConfigError
from source_config import parse_duration
from yaml_config import YamlFile, node_line, read_yaml, reloading

if TYPE_CHECKING:
    from kpis.catalogue import Catalogue
    from limits import Limits

SEVERITIES = ("critical", "major", "minor", "info")
SCOPES = ("station", "facility", "province", "source", "kpi", "warning")
STATION_SUBTYPES = ("air", "surface_water", "wastewater", "emission")
_ZERO = re.compile(r"^\s*0+(\.0*)?\s*[smhd]?\s*$")


def _seconds(value: Any) -> Any:
    """'15m' → 900; 0 and '0m' → 0. Bare numbers other than 0 are refused: their unit is unclear."""
    if value is None or isinstance(value, bool):
        return value
    if _ZERO.match(str(value)):
        return 0
    if isinstance(value, (int, float)):
        raise ValueError(f"{value!r} has no unit; write e.g. 15m, 1h or 90s")
    return parse_duration(str(value))


def _listed(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


Duration = Annotated[int, BeforeValidator(_seconds), Field(ge=0)]
Names = Annotated[list[str], BeforeValidator(_listed), Field(min_length=1)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class RuleName(_Model):
    vi: str = Field(min_length=1)
    en: str = Field(min_length=1)


class Defaults(_Model):
    escalate_after: Duration | None = 1800
    clear_margin: float = Field(default=0.1, ge=0, lt=1)
    current_within_intervals: float = Field(default=3.0, ge=1)


class _Rule(_Model):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,99}$")
    name: RuleName
    severity: Literal["critical", "major", "minor", "info"]
    scope: Literal["station", "facility", "province", "source"] = "station"
    enabled: bool = True
    escalate_after: Duration | Literal["never"] | None = None


class _StationRule(_Rule):
    subtype: Annotated[list[Literal["air", "surface_water", "wastewater", "emission"]] | None,
                       BeforeValidator(_listed)] = None
    codes: Names | None = None

    @model_validator(mode="after")
    def _station_scope(self) -> _StationRule:
        if self.scope == "source":
            raise ValueError("scope: 'source' is only for kind source_failing; use station, facility or province")
        return self

    def selects(self, code: str, subtype: str | None, facility: str | None) -> bool:
        """Whether a station (its code, subtype and facility code) is one this rule watches."""
        if self.subtype is not None and subtype not in self.subtype:
            return False
        return self.codes is None or code in self.codes or (facility is not None and facility in self.codes)


def _clear_at(value: Any) -> Any:
    """'90%' → ('%', 0.9); a number stays a number."""
    if isinstance(value, str):
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*%\s*", value)
        if not m:
            raise ValueError(f"{value!r} is neither a number nor a percentage like 90%")
        return ("%", float(m.group(1)) / 100)
    return value


ClearAt = Annotated[float | tuple[Literal["%"], float] | None, BeforeValidator(_clear_at)]


class _Hysteresis(_Model):
    clear_at: ClearAt = None

    def clear_level(self, threshold: float, operator: str, margin: float) -> float:
        """The level an open alert's value must get back beyond before it resolves."""
        if isinstance(self.clear_at, tuple):
            return threshold * self.clear_at[1]
        if self.clear_at is not None:
            return float(self.clear_at)
        # Default: a margin of the threshold's size on the safe side (|t| so negative thresholds work too).
        return threshold - abs(threshold) * margin if operator == ">" else threshold + abs(threshold) * margin


class ThresholdRule(_StationRule, _Hysteresis):
    kind: Literal["threshold"]
    metric: str = Field(min_length=1)
    operator: Literal[">", "<"]
    value: float | None = None
    limit: Literal["qcvn"] | None = None
    limit_period: Literal["1h", "8h", "24h", "year"] = "1h"
    statistic: Literal["reading", "hourly_mean"] = "reading"
    for_: Duration = Field(default=0, alias="for")

    @model_validator(mode="after")
    def _threshold(self) -> ThresholdRule:
        if (self.value is None) == (self.limit is None):
            raise ValueError("value: give exactly one of 'value: <number>' or 'limit: qcvn'")
        if self.subtype is None and self.codes is None:
            raise ValueError("say which stations: 'subtype: air' (or a list) and/or 'codes: [...]'")
        if isinstance(self.clear_at, tuple):
            pct = self.clear_at[1]
            if (self.operator == ">" and pct > 1) or (self.operator == "<" and pct < 1):
                side = "at most 100%" if self.operator == ">" else "at least 100%"
                raise ValueError(f"clear_at: must be {side} of the threshold for operator {self.operator!r}")
        elif self.clear_at is not None:
            if self.value is None:
                raise ValueError("clear_at: with 'limit: qcvn' each station has its own limit; write clear_at as a "
                                 "percentage of it, e.g. 90%")
            if (self.operator == ">" and self.clear_at > self.value) or (self.operator == "<" and self.clear_at < self.value):
                side = "below" if self.operator == ">" else "above"
                raise ValueError(f"clear_at: {self.clear_at:g} must be at or {side} value {self.value:g} "
                                 f"for operator {self.operator!r}")
        return self


class RateOfChangeRule(_StationRule, _Hysteresis):
    kind: Literal["rate_of_change"]
    metric: str = Field(min_length=1)
    window: Duration
    change: PositiveFloat
    direction: Literal["rise", "fall", "either"] = "either"

    @model_validator(mode="after")
    def _rate(self) -> RateOfChangeRule:
        if self.window <= 0:
            raise ValueError("window: must be longer than 0, e.g. 1h")
        if self.subtype is None and self.codes is None:
            raise ValueError("say which stations: 'subtype: air' (or a list) and/or 'codes: [...]'")
        if isinstance(self.clear_at, tuple) and self.clear_at[1] > 1:
            raise ValueError("clear_at: must be at most 100% of change")
        if isinstance(self.clear_at, (int, float)) and self.clear_at > self.change:
            raise ValueError(f"clear_at: {self.clear_at:g} must be at most change {self.change:g}")
        return self

    def change_clear_level(self, margin: float) -> float:
        return self.clear_level(self.change, ">", margin)


class StationOfflineRule(_StationRule):
    kind: Literal["station_offline"]
    after_intervals: float = Field(default=3.0, ge=1)


class SourceFailingRule(_Rule):
    kind: Literal["source_failing"]
    scope: Literal["station", "facility", "province", "source"] = "source"
    sources: Names | None = None
    failures: int = Field(default=3, ge=1)
    stale: bool = True
    stale_after_intervals: float = Field(default=3.0, gt=1)

    @model_validator(mode="after")
    def _source_scope(self) -> SourceFailingRule:
        if self.scope != "source":
            raise ValueError("scope: a source_failing rule has scope 'source'")
        return self


KPI_STATUSES = ("red", "amber", "green")  # worst first; nodata and neutral are never judged
KpiAreaName = Literal["reporting", "land", "water_resources", "public_services", "environment", "gnss", "it"]


class KpiStatusRule(_Rule):
    kind: Literal["kpi_status"]
    scope: Literal["kpi"] = "kpi"
    codes: Names | None = None
    areas: Annotated[list[KpiAreaName] | None, BeforeValidator(_listed)] = None
    status: Literal["red", "amber"] = "red"
    clear_at_status: Literal["green", "amber"] = "green"
    for_: Duration = Field(default=0, alias="for")

    @model_validator(mode="after")
    def _statuses(self) -> KpiStatusRule:
        if self.status == "amber" and self.clear_at_status == "amber":
            raise ValueError("clear_at_status: with status amber only green can resolve; use clear_at_status: green")
        return self

    def selects(self, code: str, area: str) -> bool:
        """Whether the KPI (its code and area) is one this rule watches."""
        return (self.codes is None or code in self.codes) and (self.areas is None or area in self.areas)

    def judge(self, status: str) -> str | None:
        """BREACH | HOLDING | CLEAR for a KPI status; None for one that says nothing (nodata, neutral)."""
        if status not in KPI_STATUSES:
            return None
        rank = KPI_STATUSES.index
        if rank(status) <= rank(self.status):
            return "breach"
        return "clear" if rank(status) >= rank(self.clear_at_status) else "holding"


# CAP's ordered values, least first; a rule's minimum admits its own value and the ones after.
CAP_SEVERITIES = ("Unknown", "Minor", "Moderate", "Severe", "Extreme")
CAP_URGENCIES = ("Unknown", "Past", "Future", "Expected", "Immediate")
CAP_CERTAINTIES = ("Unknown", "Unlikely", "Possible", "Likely", "Observed")
# The alert severity of a CAP severity, when the rule sets none.
CAP_ALERT_SEVERITY = {"Extreme": "critical", "Severe": "major", "Moderate": "minor"}


def _at_least(value: str, minimum: str | None, order: tuple[str, ...]) -> bool:
    if minimum is None:
        return True
    return (order.index(value) if value in order else 0) >= order.index(minimum)


class CapWarningRule(_Rule):
    kind: Literal["cap_warning"]
    scope: Literal["province", "warning"] = "province"
    # Optional here only: without it each alert takes the severity of its worst warning.
    severity: Literal["critical", "major", "minor", "info"] | None = None  # type: ignore[assignment]
    min_severity: Literal["Extreme", "Severe", "Moderate", "Minor"] = "Minor"
    min_urgency: Literal["Immediate", "Expected", "Future", "Past"] | None = None
    min_certainty: Literal["Observed", "Likely", "Possible", "Unlikely"] | None = None
    provinces: Names | None = None

    @model_validator(mode="after")
    def _province_codes(self) -> CapWarningRule:
        known = set(province_codes())
        unknown = [c for c in self.provinces or () if c not in known]
        if unknown:
            raise ValueError(f"provinces: unknown province code(s) {', '.join(unknown)}; use the codes of "
                             "reference/provinces.py, e.g. HNI, QNH")
        return self

    def admits(self, severity: str, urgency: str, certainty: str) -> bool:
        """Whether a warning of this CAP severity, urgency and certainty meets the rule's minimums."""
        return (_at_least(severity, self.min_severity, CAP_SEVERITIES)
                and _at_least(urgency, self.min_urgency, CAP_URGENCIES)
                and _at_least(certainty, self.min_certainty, CAP_CERTAINTIES))

    def alert_severity(self, cap_severity: str) -> str:
        """The rule's severity, or the one mapped from the CAP severity."""
        return self.severity or CAP_ALERT_SEVERITY.get(cap_severity, "info")


Rule = ThresholdRule | RateOfChangeRule | StationOfflineRule | SourceFailingRule | KpiStatusRule | CapWarningRule
KINDS: dict[str, type[BaseModel]] = {
    "threshold": ThresholdRule,
    "rate_of_change": RateOfChangeRule,
    "station_offline": StationOfflineRule,
    "source_failing": SourceFailingRule,
    "kpi_status": KpiStatusRule,
    "cap_warning": CapWarningRule,
}


@dataclass(frozen=True)
class RuleSet:
    """The rules of one file, in file order, with its defaults."""

    rules: tuple[Rule, ...]
    defaults: Defaults = field(default_factory=Defaults)
    path: Path | None = None
    lines: Mapping[str, int] = field(default_factory=dict)  # rule id → line in the file

    def enabled(self) -> list[Rule]:
        return [r for r in self.rules if r.enabled]

    def get(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules if r.id == rule_id), None)

    def escalate_after(self, rule: Rule, severity: str | None = None) -> int | None:
        """Seconds an alert of ``rule`` may stay unacknowledged before it is escalated; None = never.

        A rule's own ``escalate_after`` applies at any severity; the default only to critical
        alerts (``severity``: the alert's own, where it differs from the rule's, as for CAP).
        """
        if rule.escalate_after == "never":
            return None
        if rule.escalate_after is not None:
            return int(rule.escalate_after)
        return self.defaults.escalate_after if (severity or rule.severity) == "critical" else None


# --------------------------------------------------------------------------- loading

_TOP_KEYS = {"defaults", "rules"}


def _key_line(node: yaml.Node | None, loc: tuple[Any, ...], default: int) -> int:
    """1-based line of the key (or list item) at ``loc`` below ``node``; ``default`` without a node."""
    return default if node is None else node_line(node, loc)[0]


def _hint(err: Mapping[str, Any]) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        return "; remove it or check its spelling"
    if kind == "missing":
        return "; add it"
    if kind == "literal_error":
        return ""  # pydantic's message already lists the allowed values
    if kind == "string_pattern_mismatch":
        return "; use lower-case letters, digits, '-' or '_'"
    if kind in {"greater_than", "float_parsing", "float_type", "int_parsing", "int_type"}:
        return "; write a number"
    return ""


def _field_name(loc: tuple[Any, ...]) -> str:
    return ".".join("for" if p == "for_" else str(p) for p in loc if not str(p).startswith(("tuple[", "float", "list[")))


def _problem(err: Mapping[str, Any]) -> str:
    message = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "missing" and err["loc"]:
        message = f"{_field_name(err['loc'][-1:])!r} is missing"
    return message + _hint(err)


def _parse(file: YamlFile, limits: Limits | None, catalogue: Catalogue | None = None) -> RuleSet:
    path, root, data = file.path, file.root, file.data
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise ConfigError(f"{path}:1: expected a top-level 'rules:' list of alert rules (and optionally 'defaults:')")
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise file.error((min(unknown),), f"unknown top-level key(s) {', '.join(sorted(unknown))}; "
                                          f"allowed: {', '.join(sorted(_TOP_KEYS))}")
    try:
        defaults = Defaults.model_validate(data.get("defaults") or {})
    except ValidationError as exc:
        err = exc.errors()[0]
        raise file.error(("defaults", *err["loc"]), f"defaults.{_field_name(err['loc'])}: {_problem(err)}") from None
    rules: list[Rule] = []
    lines: dict[str, int] = {}
    for index, entry in enumerate(data["rules"]):
        entry_line = file.line(("rules", index))
        rule = _load_rule(path, entry_line, _entry_node(root, index), entry)
        if rule.id in lines:
            raise ConfigError(f"{path}:{entry_line}: rule id {rule.id!r} is already used at line {lines[rule.id]}; "
                              "give each rule its own id")
        lines[rule.id] = entry_line
        rules.append(rule)
    ruleset = RuleSet(tuple(rules), defaults, path, lines)
    if limits is not None:
        check_against_limits(ruleset, limits, root)
    if catalogue is not None:
        check_against_catalogue(ruleset, catalogue, root)
    return ruleset


def _entry_node(root: yaml.Node | None, index: int) -> yaml.Node | None:
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if key.value == "rules" and isinstance(value, yaml.SequenceNode) and index < len(value.value):
                return value.value[index]
    return None


def _load_rule(path: Path, line: int, node: yaml.Node | None, entry: Any) -> Rule:
    if not isinstance(entry, dict):
        raise ConfigError(f"{path}:{line}: each rule must be a mapping with id, name, kind, severity and the kind's keys")
    rule_id = entry.get("id")
    label = f"rule {rule_id!r}" if rule_id else "rule without id"
    kind = entry.get("kind")
    cls = KINDS.get(str(kind))
    if cls is None:
        where = _key_line(node, ("kind",), line)
        raise ConfigError(f"{path}:{where}: {label}: unknown kind {kind!r}; use one of {', '.join(KINDS)}")
    try:
        return cls.model_validate(entry)  # type: ignore[return-value]
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple("for" if p == "for_" else p for p in err["loc"])
        problem = _problem(err)
        # Checks across keys (model validators) have no location; their message starts with the key.
        named = re.match(r"^([a-z_]+): (.*)$", problem, re.S) if not loc else None
        if named and named.group(1) in entry:
            loc, problem = (named.group(1),), named.group(2)
        where = _key_line(node, loc, line)
        name = _field_name(loc)
        prefix = f"{name}: " if name else ""
        raise ConfigError(f"{path}:{where}: {label}: {prefix}{problem}") from None


def check_against_limits(ruleset: RuleSet, limits: Limits, root: yaml.Node | None = None) -> None:
    """Rules with ``limit: qcvn`` on air stations need an ambient limit for their period."""
    for index, rule in enumerate(ruleset.rules):
        if not isinstance(rule, ThresholdRule) or rule.limit != "qcvn" or not (rule.subtype and "air" in rule.subtype):
            continue
        periods = limits.ambient_periods(rule.metric)
        if rule.limit_period not in periods:
            key = "limit_period" if "limit_period" in rule.model_fields_set else "limit"
            line = _key_line(_entry_node(root, index), (key,), ruleset.lines.get(rule.id, 0))
            have = ", ".join(sorted(periods)) if periods else "none"
            raise ConfigError(
                f"{ruleset.path}:{line}: rule {rule.id!r}: the limits file has no {rule.limit_period} ambient limit "
                f"for {rule.metric} (periods: {have}); set limit_period to one of them or use 'value:'")


def check_against_catalogue(ruleset: RuleSet, catalogue: Catalogue, root: yaml.Node | None = None) -> None:
    """``kpi_status`` rules may only name KPIs of the catalogue that have thresholds (else no status to judge)."""
    for index, rule in enumerate(ruleset.rules):
        if not isinstance(rule, KpiStatusRule) or rule.codes is None:
            continue
        for position, code in enumerate(rule.codes):
            kpi = catalogue.get(code)
            problem = None
            if kpi is None:
                problem = f"KPI {code!r} is not in the KPI catalogue {catalogue.path or ''}".rstrip()
            elif kpi.thresholds is None:
                problem = f"KPI {code!r} has no thresholds, so its status is never red or amber"
            if problem:
                line = _key_line(_entry_node(root, index), ("codes", position), ruleset.lines.get(rule.id, 0))
                raise ConfigError(f"{ruleset.path}:{line}: rule {rule.id!r}: codes: {problem}; remove it or fix the code")


def load_rules(path: Path, limits: Limits | None = None, catalogue: Catalogue | None = None) -> RuleSet:
    """Parse and validate the rules file at ``path``; raise :class:`ConfigError` naming file, line and fix.

    With ``limits``, rules that use ``limit: qcvn`` on air stations are checked against
    the QCVN tables (a limit for their averaging period must exist); with ``catalogue``,
    the KPI codes of ``kpi_status`` rules against the KPI catalogue.
    """
    return _parse(read_yaml(path, "alert rules file", "ALERTS_FILE"), limits, catalogue)


# The rules file, re-read only when it changes (for web requests that show rule names).
current_rules = reloading(load_rules)
