"""device heartbeats: the last report of each device and the address it came from

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 10:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('device_heartbeats',
    sa.Column('device_id', sa.String(length=128), nullable=False),
    sa.Column('received_at', sa.String(length=32), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=False),
    sa.Column('app_version', sa.String(length=64), nullable=False),
    sa.Column('outbox_depth', sa.BigInteger(), nullable=False),
    sa.Column('oldest_unacked_age_s', sa.BigInteger(), nullable=False),
    sa.Column('last_sync_result', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], ),
    sa.PrimaryKeyConstraint('device_id')
    )


def downgrade() -> None:
    op.drop_table('device_heartbeats')
