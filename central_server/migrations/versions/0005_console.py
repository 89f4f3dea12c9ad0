"""web console: people (admin_users extended), web sessions, login attempts, credit terms,
review notes, and the append-only hash-chained audit log (issue 7)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
ROLES = "'head_office_admin', 'distributor_admin', 'location_owner', 'cashier', 'technician', 'auditor'"

# The audit log refuses UPDATE and DELETE in the database itself (decision 0005), so neither
# a bug nor a person with SQL access short of DDL can rewrite history unnoticed.
_PG_REFUSE = """
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP;
END;
$$
"""


def upgrade() -> None:
    with op.batch_alter_table('admin_users') as batch:
        batch.add_column(sa.Column('display_name', sa.String(length=200), server_default='', nullable=False))
        batch.add_column(sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False))
        batch.add_column(sa.Column('totp_secret_sealed', sa.Text(), nullable=True))
        batch.add_column(sa.Column('totp_enabled', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column('totp_last_step', sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column('failed_logins', sa.Integer(), server_default='0', nullable=False))
        batch.add_column(sa.Column('locked_until_s', sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column('updated_at', sa.String(length=32), nullable=True))
        batch.create_check_constraint('ck_admin_users_role', f"role IN ({ROLES})")
    op.create_table('web_sessions',
    sa.Column('id_sha256', sa.String(length=64), nullable=False),
    sa.Column('user_id', BigId, nullable=False),
    sa.Column('stage', sa.String(length=16), nullable=False),
    sa.Column('csrf_token', sa.String(length=64), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=False),
    sa.Column('user_agent', sa.String(length=300), nullable=False),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.Column('last_seen_s', sa.BigInteger(), nullable=False),
    sa.Column('expires_at_s', sa.BigInteger(), nullable=False),
    sa.Column('revoked_at', sa.String(length=32), nullable=True),
    sa.Column('flash', sa.Text(), nullable=True),
    sa.CheckConstraint("stage IN ('totp', 'enrol', 'full')", name='ck_web_sessions_stage'),
    sa.ForeignKeyConstraint(['user_id'], ['admin_users.id'], ),
    sa.PrimaryKeyConstraint('id_sha256')
    )
    op.create_index(op.f('ix_web_sessions_user_id'), 'web_sessions', ['user_id'], unique=False)
    op.create_table('login_attempts',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('username', sa.String(length=128), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=True),
    sa.Column('ip', sa.String(length=64), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.String(length=64), nullable=False),
    sa.Column('at', sa.String(length=32), nullable=False),
    sa.Column('at_s', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_login_attempts_username'), 'login_attempts', ['username'], unique=False)
    op.create_index(op.f('ix_login_attempts_at_s'), 'login_attempts', ['at_s'], unique=False)
    op.create_table('credit_terms',
    sa.Column('node_id', sa.String(length=128), nullable=False),
    sa.Column('credit_line_units', sa.BigInteger(), nullable=False),
    sa.Column('issuance_limit_units', sa.BigInteger(), nullable=True),
    sa.Column('updated_at', sa.String(length=32), nullable=False),
    sa.CheckConstraint('credit_line_units >= 0', name='ck_credit_terms_line'),
    sa.ForeignKeyConstraint(['node_id'], ['nodes.id'], ),
    sa.PrimaryKeyConstraint('node_id')
    )
    op.create_table('event_reviews',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('ref_id', sa.BigInteger(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('username', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.CheckConstraint("source IN ('event', 'exception')", name='ck_event_reviews_source'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_event_reviews_ref_id'), 'event_reviews', ['ref_id'], unique=False)
    op.create_table('audit_log',
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('at', sa.String(length=32), nullable=False),
    sa.Column('actor_user_id', sa.BigInteger(), nullable=True),
    sa.Column('actor', sa.String(length=128), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('target', sa.String(length=200), nullable=False),
    sa.Column('node_id', sa.String(length=128), nullable=True),
    sa.Column('before', sa.Text(), nullable=False),
    sa.Column('after', sa.Text(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq')
    )
    op.create_index(op.f('ix_audit_log_node_id'), 'audit_log', ['node_id'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(_PG_REFUSE)
        op.execute("CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log "
                   "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()")
        op.execute("CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
                   "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()")
    else:
        for verb in ('UPDATE', 'DELETE'):
            op.execute(f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
                       f"BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: {verb} refused'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    op.drop_index(op.f('ix_audit_log_node_id'), table_name='audit_log')
    op.drop_table('audit_log')
    op.drop_index(op.f('ix_event_reviews_ref_id'), table_name='event_reviews')
    op.drop_table('event_reviews')
    op.drop_table('credit_terms')
    op.drop_index(op.f('ix_login_attempts_at_s'), table_name='login_attempts')
    op.drop_index(op.f('ix_login_attempts_username'), table_name='login_attempts')
    op.drop_table('login_attempts')
    op.drop_index(op.f('ix_web_sessions_user_id'), table_name='web_sessions')
    op.drop_table('web_sessions')
    with op.batch_alter_table('admin_users') as batch:
        batch.drop_constraint('ck_admin_users_role', type_='check')
        for name in ('updated_at', 'locked_until_s', 'failed_logins', 'totp_last_step', 'totp_enabled',
                     'totp_secret_sealed', 'active', 'display_name'):
            batch.drop_column(name)
