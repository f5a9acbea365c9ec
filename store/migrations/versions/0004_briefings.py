"""briefings: the archive of produced briefings (PDF, PNG, HTML)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""
from alembic import op
import sqlalchemy as sa

import store.schema


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

# One morning briefing per local day and format, enforced by a partial unique index.
MORNING = sa.text("kind = 'morning'")


def upgrade() -> None:
    op.create_table('briefings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('format', sa.String(length=4), nullable=False),
    sa.Column('created_at', store.schema.UTCDateTime(timezone=True), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('path', sa.String(length=500), nullable=True),
    sa.Column('size_bytes', sa.BigInteger(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.CheckConstraint("kind IN ('morning', 'on_demand')", name='ck_briefings_kind'),
    sa.CheckConstraint("format IN ('pdf', 'png', 'html')", name='ck_briefings_format'),
    sa.CheckConstraint("status IN ('running', 'ok', 'failed')", name='ck_briefings_status'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_briefings'))
    )
    with op.batch_alter_table('briefings', schema=None) as batch_op:
        batch_op.create_index('uq_briefings_morning', ['day', 'format'], unique=True,
                              sqlite_where=MORNING, postgresql_where=MORNING)
        batch_op.create_index('ix_briefings_created_at', ['created_at'], unique=False)


def downgrade() -> None:
    op.drop_table('briefings')
