"""hourly: an index on hour_ts (BRIN on PostgreSQL) for the screens' hour-range reads

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('hourly', schema=None) as batch_op:
        batch_op.create_index('ix_hourly_hour_ts', ['hour_ts'], unique=False, postgresql_using='brin')


def downgrade() -> None:
    with op.batch_alter_table('hourly', schema=None) as batch_op:
        batch_op.drop_index('ix_hourly_hour_ts')
