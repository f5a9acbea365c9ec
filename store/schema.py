"""Tables of the store.

Observation times are integer seconds since the epoch (UTC): cheap to compare, bucket
and bulk-load on SQLite and PostgreSQL alike. Other timestamps are timezone-aware
datetimes in UTC.
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.types import TypeDecorator

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator):
    """A datetime stored in UTC and always returned timezone-aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):  # noqa: ANN001
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):  # noqa: ANN001
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


# Quality flags of an observation, after the monitoring stations' device status codes.
QUALITY_VALID = 0
QUALITY_CALIBRATING = 1
QUALITY_FAULT = 2
QUALITY_SUSPECT = 3

sources = Table(
    "sources",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("kind", String(40), nullable=False),
    Column("schedule", String(100), nullable=False),
    Column("interval_seconds", Integer, nullable=False),
    Column("enabled", Boolean, nullable=False, default=True),
    # Written by the scheduler after each run, so health reads one row per source.
    Column("last_run_at", UTCDateTime),
    Column("last_status", String(20)),
    Column("last_success_at", UTCDateTime),
    Column("last_error", Text),
    Column("last_error_at", UTCDateTime),
    Column("last_rows_accepted", Integer),
    Column("last_rows_rejected", Integer),
    Column("last_duration_seconds", Float),
    Column("consecutive_failures", Integer, nullable=False, default=0),
    Column("next_run_at", UTCDateTime),
    # Newest observation time stored from this source: where an incremental poll resumes.
    Column("last_observation_at", UTCDateTime),
)

poll_runs = Table(
    "poll_runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source_id", Integer, ForeignKey("sources.id", ondelete="CASCADE"), nullable=False),
    Column("trigger", String(20), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Column("status", String(20), nullable=False),
    Column("rows_accepted", Integer, nullable=False, default=0),
    Column("rows_rejected", Integer, nullable=False, default=0),
    Column("error", Text),
    Index("ix_poll_runs_source_started", "source_id", "started_at"),
)

entities = Table(
    "entities",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(80), nullable=False, unique=True),
    Column("kind", String(30), nullable=False),
    Column("subtype", String(30)),
    Column("name", String(200), nullable=False),
    Column("name_en", String(200)),
    Column("province_code", String(10)),
    Column("lat", Float),
    Column("lon", Float),
    Column("meta", JSON, nullable=False, default=dict),
    Index("ix_entities_kind_province", "kind", "province_code"),
)

series = Table(
    "series",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("entity_id", Integer, ForeignKey("entities.id", ondelete="CASCADE"), nullable=False),
    Column("metric", String(60), nullable=False),
    Column("unit", String(30), nullable=False, default=""),
    UniqueConstraint("entity_id", "metric"),
)

observations = Table(
    "observations",
    metadata,
    Column("series_id", Integer, ForeignKey("series.id", ondelete="CASCADE"), primary_key=True),
    Column("ts", BigInteger, primary_key=True),
    Column("value", Float),
    Column("quality", SmallInteger, nullable=False, default=QUALITY_VALID),
    Column("source_id", Integer, ForeignKey("sources.id", ondelete="SET NULL")),
)

hourly = Table(
    "hourly",
    metadata,
    # Roll-up of observations per series and hour (hour_ts = start of the UTC hour),
    # kept current at ingest, so screens and indices never scan raw readings.
    Column("series_id", Integer, ForeignKey("series.id", ondelete="CASCADE"), primary_key=True),
    Column("hour_ts", BigInteger, primary_key=True),
    Column("n_all", Integer, nullable=False),  # readings received, any quality
    Column("n_valid", Integer, nullable=False),  # readings with quality "measuring"
    Column("mean", Float),  # of valid readings only
    Column("min", Float),
    Column("max", Float),
    Column("last_ts", BigInteger, nullable=False),  # newest reading, any quality
    Column("last_value", Float),
    Column("last_valid_ts", BigInteger),  # newest "measuring" reading: online/offline
    # The screens read an hour range across every station: without this they scanned the whole
    # table (bench/national.py). Roll-ups are written in hour order, so on PostgreSQL a BRIN
    # index (kilobytes) serves as well as a B-tree (tens of MB); SQLite has only B-trees.
    Index("ix_hourly_hour_ts", "hour_ts", postgresql_using="brin"),
)

newest_valid = Table(
    "newest_valid",
    metadata,
    # Each series' newest "measuring" reading, kept current at ingest with the hourly roll-up:
    # alert rules and the online/offline status read it for every series after each poll, one
    # row per series instead of a step down the readings' key. ts NULL: none stored (any more).
    Column("series_id", Integer, ForeignKey("series.id", ondelete="CASCADE"), primary_key=True),
    Column("ts", BigInteger),
    Column("value", Float),
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source_id", Integer, ForeignKey("sources.id", ondelete="SET NULL")),
    Column("received_at", UTCDateTime, nullable=False),
    Column("reason", Text, nullable=False),
    Column("ref", String(500)),
    Column("payload", Text, nullable=False),
    Index("ix_quarantine_source_received", "source_id", "received_at"),
)

scheduler_lease = Table(
    "scheduler_lease",
    metadata,
    # One row: the scheduler that holds it runs the polls; others wait.
    Column("id", Integer, primary_key=True),
    Column("holder", String(200), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("heartbeat_at", UTCDateTime, nullable=False),
)

# --------------------------------------------------------------------------- alerts
# Written by the alert evaluation (alerts/lifecycle.py) after each poll, and by users'
# acknowledgements and silences. An alert row is one episode of one rule's condition on
# one subject; when the condition returns after a resolution, a new row starts.

ALERT_STATES = ("firing", "acknowledged", "resolved")
ALERT_SEVERITIES = ("critical", "major", "minor", "info")
ALERT_EVENTS = ("fired", "acknowledged", "resolved", "refired", "escalated", "silenced")
# Partial-index predicate: at most one open (not resolved) alert per rule and subject.
ALERT_OPEN = "state != 'resolved'"


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


alerts = Table(
    "alerts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("rule_id", String(100), nullable=False),
    Column("subject_kind", String(20), nullable=False),  # station | facility | province | source
    Column("subject_code", String(100), nullable=False),
    Column("subject_name", String(200), nullable=False),
    Column("severity", String(10), nullable=False),
    Column("state", String(15), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("resolved_at", UTCDateTime),
    Column("value", Float),
    Column("threshold", Float),  # the bound the value is compared with, where there is one
    Column("message", Text, nullable=False, default=""),  # Vietnamese
    Column("message_en", Text, nullable=False, server_default=""),  # English; "" for alerts stored before 0008
    Column("ack_by", String(100)),
    Column("ack_at", UTCDateTime),
    Column("ack_note", Text),
    Column("escalated_at", UTCDateTime),
    CheckConstraint(_in("state", ALERT_STATES), name="ck_alerts_state"),
    CheckConstraint(_in("severity", ALERT_SEVERITIES), name="ck_alerts_severity"),
    # The database, not only the evaluation, guarantees one open alert per rule and subject:
    # a restart or a second evaluating process mid-episode cannot create a duplicate.
    Index("uq_alerts_open", "rule_id", "subject_kind", "subject_code", unique=True,
          sqlite_where=text(ALERT_OPEN), postgresql_where=text(ALERT_OPEN)),
    Index("ix_alerts_state_started", "state", "started_at"),
    Index("ix_alerts_rule_subject", "rule_id", "subject_kind", "subject_code"),
)

silences = Table(
    "silences",
    metadata,
    # While active, matching conditions raise no new alert (NULL rule or subject = any).
    Column("id", Integer, primary_key=True),
    Column("rule_id", String(100)),
    Column("subject_code", String(100)),
    Column("starts_at", UTCDateTime, nullable=False),
    Column("ends_at", UTCDateTime, nullable=False),
    Column("created_by", String(100), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Index("ix_silences_ends_at", "ends_at"),
)

alert_events = Table(
    "alert_events",
    metadata,
    # The full history. rule_id and subject are repeated so that a condition held back by
    # a silence (no alert row) is recorded too, and so a rule's history reads one index.
    Column("id", Integer, primary_key=True),
    Column("alert_id", Integer, ForeignKey("alerts.id", ondelete="CASCADE")),
    Column("rule_id", String(100), nullable=False),
    Column("subject_kind", String(20), nullable=False),
    Column("subject_code", String(100), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("event", String(15), nullable=False),
    Column("actor", String(100)),  # a user's name; NULL for the evaluation
    Column("note", Text),
    Column("value", Float),
    Column("silence_id", Integer, ForeignKey("silences.id", ondelete="SET NULL")),
    CheckConstraint(_in("event", ALERT_EVENTS), name="ck_alert_events_event"),
    Index("ix_alert_events_alert_at", "alert_id", "at"),
    Index("ix_alert_events_rule_subject_at", "rule_id", "subject_code", "at"),
)


# Briefings (briefings/): one row per produced file. The morning briefing exists once per
# local day and format, guaranteed by the database even if two schedulers race or one
# restarts mid-render; 'running' is a claimed render, 'failed' one that may be retried.
BRIEFING_KINDS = ("morning", "on_demand")
BRIEFING_FORMATS = ("pdf", "png", "html")
BRIEFING_STATUSES = ("running", "ok", "failed")
BRIEFING_MORNING = "kind = 'morning'"

briefings = Table(
    "briefings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(10), nullable=False),
    Column("format", String(4), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),  # start of the latest attempt
    Column("day", Date, nullable=False),  # the local day (TIMEZONE) it describes
    Column("path", String(500)),  # relative to VAR_DIR; NULL until a file is written
    Column("size_bytes", BigInteger),
    Column("status", String(10), nullable=False),
    Column("error", Text),
    Column("attempts", Integer, nullable=False, default=0),
    CheckConstraint(_in("kind", BRIEFING_KINDS), name="ck_briefings_kind"),
    CheckConstraint(_in("format", BRIEFING_FORMATS), name="ck_briefings_format"),
    CheckConstraint(_in("status", BRIEFING_STATUSES), name="ck_briefings_status"),
    Index("uq_briefings_morning", "day", "format", unique=True,
          sqlite_where=text(BRIEFING_MORNING), postgresql_where=text(BRIEFING_MORNING)),
    Index("ix_briefings_created_at", "created_at"),
)


# Notifications (alerts/notify/): a durable outbox of alert transitions to send, one row per
# channel and alert event, so a crash or restart loses none and sends none twice. Rows sent
# together in one message (a digest, or the excess of a rate limit) share message_key.
NOTIFICATION_EVENTS = ("fired", "refired", "escalated", "resolved")
NOTIFICATION_STATES = ("pending", "sent", "failed")

notifications = Table(
    "notifications",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("channel", String(100), nullable=False),
    Column("event_id", Integer, ForeignKey("alert_events.id", ondelete="CASCADE"), nullable=False),
    Column("alert_id", Integer, ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False),
    Column("event", String(15), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("state", String(10), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("last_error", Text),
    Column("sent_at", UTCDateTime),
    Column("message_key", String(40)),
    CheckConstraint(_in("event", NOTIFICATION_EVENTS), name="ck_notifications_event"),
    CheckConstraint(_in("state", NOTIFICATION_STATES), name="ck_notifications_state"),
    # The database refuses a second row for the same channel and event: enqueueing is idempotent.
    UniqueConstraint("channel", "event_id", name="uq_notifications_channel_event"),
    Index("ix_notifications_channel_state_next", "channel", "state", "next_attempt_at"),
    Index("ix_notifications_channel_sent_at", "channel", "sent_at"),
)

notification_cursors = Table(
    "notification_cursors",
    metadata,
    # Per channel, the alert events already considered: a channel starts with the events after
    # it first appeared (no flood of history) and resumes where it stopped after a restart.
    Column("channel", String(100), primary_key=True),
    Column("first_event_id", Integer, nullable=False),
    Column("last_event_id", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)


# Access control (auth/): local accounts, machine and kiosk tokens, and the audit log.
ROLES = ("viewer", "operator", "admin")  # each includes the ones before it
TOKEN_KINDS = ("api", "kiosk")
TOKEN_SCOPES = ("read", "operator")

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False, default=""),
    Column("role", String(10), nullable=False),
    Column("password_hash", String(255), nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("password_changed_at", UTCDateTime, nullable=False),
    # Consecutive wrong passwords, and the lockout they led to.
    Column("failed_logins", Integer, nullable=False, default=0),
    Column("locked_until", UTCDateTime),
    Column("last_login_at", UTCDateTime),
    CheckConstraint(_in("role", ROLES), name="ck_users_role"),
)

# Only a hash of each token is kept: the token itself is shown once, when it is created.
tokens = Table(
    "tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(10), nullable=False),
    Column("name", String(100), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("scope", String(10), nullable=False),
    Column("wall", String(64)),  # kiosk tokens: the one wall they may show
    Column("created_by", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime),
    Column("revoked_at", UTCDateTime),
    CheckConstraint(_in("kind", TOKEN_KINDS), name="ck_tokens_kind"),
    CheckConstraint(_in("scope", TOKEN_SCOPES), name="ck_tokens_scope"),
    CheckConstraint("(kind = 'kiosk') = (wall IS NOT NULL)", name="ck_tokens_wall"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(120), nullable=False),  # "alice", "token:etl-reader", "anonymous"
    Column("action", String(60), nullable=False),  # "login.failed", "alert.acknowledge", "token.revoke"
    Column("target", String(200), nullable=False, default=""),
    Column("address", String(64), nullable=False, default=""),
    Column("outcome", String(10), nullable=False, default="ok"),  # ok | denied | failed
    Column("detail", Text, nullable=False, default=""),
    Index("ix_audit_log_at", "at"),
    Index("ix_audit_log_action_at", "action", "at"),
)
