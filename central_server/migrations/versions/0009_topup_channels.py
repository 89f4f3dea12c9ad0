"""top-up channels per node (who may create: pos, kiosk, which providers); a Checkout Session's PaymentIntent

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('payments', sa.Column('provider_alt_ref', sa.String(length=128), nullable=True))
    op.create_index('ix_payments_provider_alt_ref', 'payments', ['provider', 'provider_alt_ref'], unique=True)
    op.create_table('topup_channels',
    sa.Column('node_id', sa.String(length=128), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('providers', sa.String(length=200), nullable=False),
    sa.Column('updated_at', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['node_id'], ['nodes.id'], ),
    sa.PrimaryKeyConstraint('node_id', 'channel')
    )


def downgrade() -> None:
    op.drop_table('topup_channels')
    op.drop_index('ix_payments_provider_alt_ref', table_name='payments')
    op.drop_column('payments', 'provider_alt_ref')
