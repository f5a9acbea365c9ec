"""alerts: episodes, their history and silences

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa

import store.schema


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

# One open alert per rule and subject, enforced by a partial unique index (SQLite ≥ 3.8
# and PostgreSQL both have them).
OPEN = sa.text("state != 'resolved'")


def upgrade() -> None:
    op.create_table('alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sa.String(length=100), nullable=False),
    sa.Column('subject_kind', sa.String(length=20), nullable=False),
    sa.Column('subject_code', sa.String(length=100), nullable=False),
    sa.Column('subject_name', sa.String(length=200), nullable=False),
    sa.Column('severity', sa.String(length=10), nullable=False),
    sa.Column('state', sa.String(length=15), nullable=False),
    sa.Column('started_at', store.schema.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', store.schema.UTCDateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', store.schema.UTCDateTime(timezone=True), nullable=True),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('threshold', sa.Float(), nullable=True),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('ack_by', sa.String(length=100), nullable=True),
    sa.Column('ack_at', store.schema.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ack_note', sa.Text(), nullable=True),
    sa.Column('escalated_at', store.schema.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("state IN ('firing', 'acknowledged', 'resolved')", name='ck_alerts_state'),
    sa.CheckConstraint("severity IN ('critical', 'major', 'minor', 'info')", name='ck_alerts_severity'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alerts'))
    )
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.create_index('uq_alerts_open', ['rule_id', 'subject_kind', 'subject_code'], unique=True,
                              sqlite_where=OPEN, postgresql_where=OPEN)
        batch_op.create_index('ix_alerts_state_started', ['state', 'started_at'], unique=False)
        batch_op.create_index('ix_alerts_rule_subject', ['rule_id', 'subject_kind', 'subject_code'], unique=False)

    op.create_table('silences',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sa.String(length=100), nullable=True),
    sa.Column('subject_code', sa.String(length=100), nullable=True),
    sa.Column('starts_at', store.schema.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', store.schema.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', store.schema.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_silences'))
    )
    with op.batch_alter_table('silences', schema=None) as batch_op:
        batch_op.create_index('ix_silences_ends_at', ['ends_at'], unique=False)

    op.create_table('alert_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=True),
    sa.Column('rule_id', sa.String(length=100), nullable=False),
    sa.Column('subject_kind', sa.String(length=20), nullable=False),
    sa.Column('subject_code', sa.String(length=100), nullable=False),
    sa.Column('at', store.schema.UTCDateTime(timezone=True), nullable=False),
    sa.Column('event', sa.String(length=15), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('silence_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("event IN ('fired', 'acknowledged', 'resolved', 'refired', 'escalated', 'silenced')",
                       name='ck_alert_events_event'),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], name=op.f('fk_alert_events_alert_id_alerts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['silence_id'], ['silences.id'], name=op.f('fk_alert_events_silence_id_silences'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_events'))
    )
    with op.batch_alter_table('alert_events', schema=None) as batch_op:
        batch_op.create_index('ix_alert_events_alert_at', ['alert_id', 'at'], unique=False)
        batch_op.create_index('ix_alert_events_rule_subject_at', ['rule_id', 'subject_code', 'at'], unique=False)


def downgrade() -> None:
    op.drop_table('alert_events')
    op.drop_table('silences')
    op.drop_table('alerts')
