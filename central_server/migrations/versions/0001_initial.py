"""initial schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-25 09:17:31.026527
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('balances',
    sa.Column('account', sa.String(length=160), nullable=False),
    sa.Column('unit', sa.String(length=3), nullable=False),
    sa.Column('balance_units', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('account', 'unit')
    )
    op.create_table('ledger_exceptions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('rule', sa.String(length=64), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('account', sa.String(length=160), nullable=True),
    sa.Column('tx_id', sa.String(length=64), nullable=True),
    sa.Column('entry_id', sa.String(length=36), nullable=True),
    sa.Column('device_id', sa.String(length=128), nullable=True),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.Column('resolved_at', sa.String(length=32), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('nodes',
    sa.Column('id', sa.String(length=128), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('parent_id', sa.String(length=128), nullable=True),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.CheckConstraint("kind IN ('head_office', 'master_distributor', 'distributor', 'location')", name='ck_nodes_kind'),
    sa.ForeignKeyConstraint(['parent_id'], ['nodes.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('significant_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('device_id', sa.String(length=128), nullable=True),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('voids',
    sa.Column('reversed_entry_id', sa.String(length=128), nullable=False),
    sa.Column('void_entry_id', sa.String(length=36), nullable=False),
    sa.PrimaryKeyConstraint('reversed_entry_id')
    )
    op.create_table('vouchers',
    sa.Column('id', sa.String(length=128), nullable=False),
    sa.Column('issue_entry_id', sa.String(length=36), nullable=False),
    sa.Column('session_id', sa.String(length=128), nullable=False),
    sa.Column('kiosk_id', sa.String(length=128), nullable=False),
    sa.Column('location_id', sa.String(length=128), nullable=False),
    sa.Column('amount_units', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('redeem_request_id', sa.String(length=64), nullable=True),
    sa.Column('redeemed_by_device', sa.String(length=128), nullable=True),
    sa.Column('redeemed_at', sa.String(length=32), nullable=True),
    sa.Column('redeem_entry_id', sa.String(length=36), nullable=True),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.CheckConstraint("status IN ('issued', 'redeemed')", name='ck_vouchers_status'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('admin_users',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('username', sa.String(length=128), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('node_id', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['node_id'], ['nodes.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('username')
    )
    op.create_table('devices',
    sa.Column('id', sa.String(length=128), nullable=False),
    sa.Column('location_id', sa.String(length=128), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('public_key', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('app_version', sa.String(length=64), nullable=False),
    sa.Column('hostname', sa.String(length=255), nullable=False),
    sa.Column('enrolled_at', sa.String(length=32), nullable=False),
    sa.Column('last_seq', sa.BigInteger(), nullable=False),
    sa.Column('last_hash', sa.String(length=64), nullable=False),
    sa.Column('last_seen_at', sa.String(length=32), nullable=True),
    sa.CheckConstraint("role IN ('pos', 'kiosk')", name='ck_devices_role'),
    sa.CheckConstraint("status IN ('active', 'quarantined', 'revoked')", name='ck_devices_status'),
    sa.ForeignKeyConstraint(['location_id'], ['nodes.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('public_key')
    )
    op.create_table('enroll_codes',
    sa.Column('code_sha256', sa.String(length=64), nullable=False),
    sa.Column('location_id', sa.String(length=128), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('expires_at_s', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.Column('used_at', sa.String(length=32), nullable=True),
    sa.Column('device_id', sa.String(length=128), nullable=True),
    sa.CheckConstraint("role IN ('pos', 'kiosk')", name='ck_enroll_codes_role'),
    sa.ForeignKeyConstraint(['location_id'], ['nodes.id'], ),
    sa.PrimaryKeyConstraint('code_sha256')
    )
    op.create_table('players',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('location_id', sa.String(length=128), nullable=False),
    sa.Column('card_number', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['location_id'], ['nodes.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('card_number')
    )
    op.create_table('journal_entries',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('device_id', sa.String(length=128), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('data', sa.Text(), nullable=False),
    sa.Column('head_signature', sa.String(length=128), nullable=True),
    sa.Column('posted', sa.Boolean(), nullable=False),
    sa.Column('received_at', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('device_id', 'seq', name='uq_journal_entries_device_seq')
    )
    op.create_table('request_nonces',
    sa.Column('device_id', sa.String(length=128), nullable=False),
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('seen_at_s', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], ),
    sa.PrimaryKeyConstraint('device_id', 'nonce')
    )
    op.create_table('ledger_transactions',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('entry_id', sa.String(length=36), nullable=True),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['journal_entries.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('entry_id')
    )
    op.create_table('checkouts',
    sa.Column('request_id', sa.String(length=64), nullable=False),
    sa.Column('session_id', sa.String(length=128), nullable=False),
    sa.Column('device_id', sa.String(length=128), nullable=False),
    sa.Column('player_id', sa.String(length=36), nullable=False),
    sa.Column('amount_units', sa.BigInteger(), nullable=False),
    sa.Column('tx_id', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.Column('entry_id', sa.String(length=36), nullable=True),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], ),
    sa.ForeignKeyConstraint(['player_id'], ['players.id'], ),
    sa.ForeignKeyConstraint(['tx_id'], ['ledger_transactions.id'], ),
    sa.PrimaryKeyConstraint('request_id'),
    sa.UniqueConstraint('entry_id'),
    sa.UniqueConstraint('session_id')
    )
    op.create_table('postings',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('tx_id', sa.String(length=64), nullable=False),
    sa.Column('account', sa.String(length=160), nullable=False),
    sa.Column('unit', sa.String(length=3), nullable=False),
    sa.Column('amount_units', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('amount_units <> 0', name='ck_postings_nonzero'),
    sa.ForeignKeyConstraint(['tx_id'], ['ledger_transactions.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('postings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_postings_account'), ['account'], unique=False)
        batch_op.create_index(batch_op.f('ix_postings_tx_id'), ['tx_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('postings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_postings_tx_id'))
        batch_op.drop_index(batch_op.f('ix_postings_account'))

    op.drop_table('postings')
    op.drop_table('checkouts')
    op.drop_table('ledger_transactions')
    op.drop_table('request_nonces')
    op.drop_table('journal_entries')
    op.drop_table('players')
    op.drop_table('enroll_codes')
    op.drop_table('devices')
    op.drop_table('admin_users')
    op.drop_table('vouchers')
    op.drop_table('voids')
    op.drop_table('significant_events')
    op.drop_table('nodes')
    op.drop_table('ledger_exceptions')
    op.drop_table('balances')
