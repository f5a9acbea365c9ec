"""hourly roll-up

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('hourly',
    sa.Column('series_id', sa.Integer(), nullable=False),
    sa.Column('hour_ts', sa.BigInteger(), nullable=False),
    sa.Column('n_all', sa.Integer(), nullable=False),
    sa.Column('n_valid', sa.Integer(), nullable=False),
    sa.Column('mean', sa.Float(), nullable=True),
    sa.Column('min', sa.Float(), nullable=True),
    sa.Column('max', sa.Float(), nullable=True),
    sa.Column('last_ts', sa.BigInteger(), nullable=False),
    sa.Column('last_value', sa.Float(), nullable=True),
    sa.Column('last_valid_ts', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['series_id'], ['series.id'], name=op.f('fk_hourly_series_id_series'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('series_id', 'hour_ts', name=op.f('pk_hourly'))
    )
    # Roll up what a store upgraded from 0001 already holds (ingest keeps it current after).
    op.execute(
        "INSERT INTO hourly (series_id, hour_ts, n_all, n_valid, mean, min, max, last_ts, last_valid_ts) "
        "SELECT series_id, ts / 3600 * 3600, COUNT(*), SUM(CASE WHEN quality = 0 THEN 1 ELSE 0 END), "
        "AVG(CASE WHEN quality = 0 THEN value END), MIN(CASE WHEN quality = 0 THEN value END), "
        "MAX(CASE WHEN quality = 0 THEN value END), MAX(ts), MAX(CASE WHEN quality = 0 THEN ts END) "
        "FROM observations GROUP BY series_id, ts / 3600 * 3600"
    )
    op.execute(
        "UPDATE hourly SET last_value = (SELECT o.value FROM observations o "
        "WHERE o.series_id = hourly.series_id AND o.ts = hourly.last_ts)"
    )


def downgrade() -> None:
    op.drop_table('hourly')
