"""game packages and finite pools (issue 6)

Revision ID: 0004
Revises: 0003_1
Create Date: 2026-11-25 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003_1'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('game_packages',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('game_id', sa.String(length=128), nullable=False),
    sa.Column('version', sa.String(length=128), nullable=False),
    sa.Column('engine', sa.String(length=16), nullable=False),
    sa.Column('manifest', sa.Text(), nullable=False),
    sa.Column('package', sa.LargeBinary(), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('signature', sa.String(length=128), nullable=False),
    sa.Column('published_at', sa.String(length=32), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('sha256'),
    sa.UniqueConstraint('game_id', 'version', name='uq_game_packages_game_version')
    )
    op.create_index('uq_game_packages_active', 'game_packages', ['game_id'], unique=True,
                    sqlite_where=sa.text('active'), postgresql_where=sa.text('active'))
    op.create_table('game_pools',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('game_id', sa.String(length=128), nullable=False),
    sa.Column('game_version', sa.String(length=128), nullable=False),
    sa.Column('package_sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('dealt', sa.BigInteger(), nullable=False),
    sa.Column('commitment', sa.String(length=64), nullable=False),
    sa.Column('salt', sa.String(length=64), nullable=False),
    sa.Column('prizes', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.Column('spent_at', sa.String(length=32), nullable=True),
    sa.CheckConstraint("status IN ('open', 'spent')", name='ck_game_pools_status'),
    sa.CheckConstraint('dealt >= 0 AND dealt <= size', name='ck_game_pools_dealt'),
    sa.ForeignKeyConstraint(['package_sha256'], ['game_packages.sha256'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('uq_game_pools_open', 'game_pools', ['game_id', 'game_version'], unique=True,
                    sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))
    op.create_table('pool_deal_requests',
    sa.Column('request_id', sa.String(length=64), nullable=False),
    sa.Column('device_id', sa.String(length=128), nullable=False),
    sa.Column('session_id', sa.String(length=128), nullable=False),
    sa.Column('game_id', sa.String(length=128), nullable=False),
    sa.Column('count', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], ),
    sa.PrimaryKeyConstraint('request_id')
    )
    op.create_table('pool_deals',
    sa.Column('pool_id', sa.String(length=64), nullable=False),
    sa.Column('entry_index', sa.BigInteger(), nullable=False),
    sa.Column('request_id', sa.String(length=64), nullable=False),
    sa.Column('session_id', sa.String(length=128), nullable=False),
    sa.Column('device_id', sa.String(length=128), nullable=False),
    sa.Column('prize_units', sa.BigInteger(), nullable=False),
    sa.Column('dealt_at', sa.String(length=32), nullable=False),
    sa.Column('round_entry_id', sa.String(length=36), nullable=True),
    sa.ForeignKeyConstraint(['pool_id'], ['game_pools.id'], ),
    sa.ForeignKeyConstraint(['request_id'], ['pool_deal_requests.request_id'], ),
    sa.PrimaryKeyConstraint('pool_id', 'entry_index'),
    sa.UniqueConstraint('round_entry_id')
    )
    op.create_index(op.f('ix_pool_deals_request_id'), 'pool_deals', ['request_id'], unique=False)
    op.create_index(op.f('ix_pool_deals_session_id'), 'pool_deals', ['session_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_pool_deals_session_id'), table_name='pool_deals')
    op.drop_index(op.f('ix_pool_deals_request_id'), table_name='pool_deals')
    op.drop_table('pool_deals')
    op.drop_table('pool_deal_requests')
    op.drop_index('uq_game_pools_open', table_name='game_pools')
    op.drop_table('game_pools')
    op.drop_index('uq_game_packages_active', table_name='game_packages')
    op.drop_table('game_packages')
