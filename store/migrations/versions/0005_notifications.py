"""notifications: the outbox of alert notifications and each channel's cursor

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""
from alembic import op
import sqlalchemy as sa

import store.schema


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=100), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=False),
    sa.Column('event', sa.String(length=15), nullable=False),
    sa.Column('created_at', store.schema.UTCDateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', store.schema.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('sent_at', store.schema.UTCDateTime(timezone=True), nullable=True),
    sa.Column('message_key', sa.String(length=40), nullable=True),
    sa.CheckConstraint("event IN ('fired', 'refired', 'escalated', 'resolved')", name='ck_notifications_event'),
    sa.CheckConstraint("state IN ('pending', 'sent', 'failed')", name='ck_notifications_state'),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], name=op.f('fk_notifications_alert_id_alerts'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['event_id'], ['alert_events.id'], name=op.f('fk_notifications_event_id_alert_events'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications')),
    sa.UniqueConstraint('channel', 'event_id', name='uq_notifications_channel_event')
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index('ix_notifications_channel_state_next', ['channel', 'state', 'next_attempt_at'],
                              unique=False)
        batch_op.create_index('ix_notifications_channel_sent_at', ['channel', 'sent_at'], unique=False)

    op.create_table('notification_cursors',
    sa.Column('channel', sa.String(length=100), nullable=False),
    sa.Column('first_event_id', sa.Integer(), nullable=False),
    sa.Column('last_event_id', sa.Integer(), nullable=False),
    sa.Column('created_at', store.schema.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('channel', name=op.f('pk_notification_cursors'))
    )


def downgrade() -> None:
    op.drop_table('notification_cursors')
    op.drop_table('notifications')
