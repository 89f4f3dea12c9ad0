"""stored daily reports (issue 7): daily_reports, report_settings (time zone per location), journal_entries.received_at index

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table('daily_reports',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('node_id', sa.String(length=128), nullable=False),
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('data', sa.Text(), nullable=False),
    sa.Column('report_hash', sa.String(length=64), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('generated_at', sa.String(length=32), nullable=False),
    sa.Column('updated_at', sa.String(length=32), nullable=False),
    sa.CheckConstraint("kind IN ('location', 'rollup')", name='ck_daily_reports_kind'),
    sa.ForeignKeyConstraint(['node_id'], ['nodes.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('node_id', 'day', name='uq_daily_reports_node_day')
    )
    op.create_table('report_settings',
    sa.Column('node_id', sa.String(length=128), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('updated_at', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['node_id'], ['nodes.id'], ),
    sa.PrimaryKeyConstraint('node_id')
    )
    op.create_index('ix_journal_entries_received_at', 'journal_entries', ['received_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_journal_entries_received_at', table_name='journal_entries')
    op.drop_table('report_settings')
    op.drop_table('daily_reports')
