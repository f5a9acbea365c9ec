"""newest_valid: each series' newest valid reading, kept current at ingest

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('newest_valid',
    sa.Column('series_id', sa.Integer(), nullable=False),
    sa.Column('ts', sa.BigInteger(), nullable=True),
    sa.Column('value', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['series_id'], ['series.id'], name=op.f('fk_newest_valid_series_id_series'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('series_id', name=op.f('pk_newest_valid'))
    )
    # What a store upgraded from 0008 already holds (ingest keeps it current after): one step
    # down the readings' key per series.
    op.execute(
        "INSERT INTO newest_valid (series_id, ts, value) "
        "SELECT s.id, o.ts, o.value FROM series s JOIN observations o ON o.series_id = s.id AND o.ts = ("
        "SELECT o2.ts FROM observations o2 WHERE o2.series_id = s.id AND o2.quality = 0 "
        "ORDER BY o2.ts DESC LIMIT 1)"
    )


def downgrade() -> None:
    op.drop_table('newest_valid')
