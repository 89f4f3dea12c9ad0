"""players: profiles with encrypted personal data and blind indexes, player PIN and lockout,
self-exclusion; online wallet redemptions (issue 5)

Revision ID: 0003_1
Revises: 0003
Create Date: 2026-11-25 13:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003_1'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('player_profiles',
    sa.Column('player_id', sa.String(length=36), nullable=False),
    sa.Column('key_id', sa.String(length=32), nullable=False),
    sa.Column('full_name_ct', sa.Text(), nullable=False),
    sa.Column('date_of_birth_ct', sa.Text(), nullable=False),
    sa.Column('phone_ct', sa.Text(), nullable=False),
    sa.Column('id_number_ct', sa.Text(), nullable=True),
    sa.Column('name_index', sa.String(length=64), nullable=False),
    sa.Column('surname_index', sa.String(length=64), nullable=False),
    sa.Column('phone_index', sa.String(length=64), nullable=False),
    sa.Column('pin_hash', sa.String(length=255), nullable=True),
    sa.Column('self_excluded', sa.Boolean(), nullable=False),
    sa.Column('pin_failures', sa.BigInteger(), nullable=False),
    sa.Column('pin_window_start_s', sa.BigInteger(), nullable=True),
    sa.Column('pin_locked_until_s', sa.BigInteger(), nullable=True),
    sa.Column('updated_at', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['player_id'], ['players.id'], ),
    sa.PrimaryKeyConstraint('player_id')
    )
    op.create_index(op.f('ix_player_profiles_name_index'), 'player_profiles', ['name_index'], unique=False)
    op.create_index(op.f('ix_player_profiles_surname_index'), 'player_profiles', ['surname_index'], unique=False)
    op.create_index(op.f('ix_player_profiles_phone_index'), 'player_profiles', ['phone_index'], unique=False)
    op.create_table('wallet_redemptions',
    sa.Column('request_id', sa.String(length=64), nullable=False),
    sa.Column('device_id', sa.String(length=128), nullable=False),
    sa.Column('player_id', sa.String(length=36), nullable=False),
    sa.Column('location_id', sa.String(length=128), nullable=False),
    sa.Column('shift_id', sa.String(length=128), nullable=False),
    sa.Column('amount_units', sa.BigInteger(), nullable=False),
    sa.Column('cash_units', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('tx_id', sa.String(length=64), nullable=False),
    sa.Column('entry_id', sa.String(length=36), nullable=True),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], ),
    sa.ForeignKeyConstraint(['player_id'], ['players.id'], ),
    sa.ForeignKeyConstraint(['tx_id'], ['ledger_transactions.id'], ),
    sa.PrimaryKeyConstraint('request_id'),
    sa.UniqueConstraint('entry_id')
    )


def downgrade() -> None:
    op.drop_table('wallet_redemptions')
    op.drop_index(op.f('ix_player_profiles_phone_index'), table_name='player_profiles')
    op.drop_index(op.f('ix_player_profiles_surname_index'), table_name='player_profiles')
    op.drop_index(op.f('ix_player_profiles_name_index'), table_name='player_profiles')
    op.drop_table('player_profiles')
