"""The central schema as SQLAlchemy Core tables, for the repositories to query.

Alembic migrations (``central_server/migrations``) are the only thing that creates or
changes the schema; these objects only describe it, and a test checks that the migrated
database and this description agree.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# An auto-incrementing 64-bit key: BIGINT IDENTITY on PostgreSQL, INTEGER PRIMARY KEY on SQLite.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

nodes = sa.Table(
    "nodes", metadata,
    sa.Column("id", sa.String(128), primary_key=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("parent_id", sa.String(128), sa.ForeignKey("nodes.id"), nullable=True),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False, server_default="USD"),
    sa.CheckConstraint("kind IN ('head_office', 'master_distributor', 'distributor', 'location')", name="ck_nodes_kind"),
)

admin_users = sa.Table(
    "admin_users", metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(128), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("node_id", sa.String(128), sa.ForeignKey("nodes.id"), nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
)

enroll_codes = sa.Table(
    "enroll_codes", metadata,
    sa.Column("code_sha256", sa.String(64), primary_key=True),
    sa.Column("location_id", sa.String(128), sa.ForeignKey("nodes.id"), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("expires_at_s", sa.BigInteger(), nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("used_at", sa.String(32), nullable=True),
    sa.Column("device_id", sa.String(128), nullable=True),
    sa.CheckConstraint("role IN ('pos', 'kiosk')", name="ck_enroll_codes_role"),
)

devices = sa.Table(
    "devices", metadata,
    sa.Column("id", sa.String(128), primary_key=True),
    sa.Column("location_id", sa.String(128), sa.ForeignKey("nodes.id"), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("public_key", sa.String(64), nullable=False, unique=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("app_version", sa.String(64), nullable=False),
    sa.Column("hostname", sa.String(255), nullable=False),
    sa.Column("enrolled_at", sa.String(32), nullable=False),
    sa.Column("last_seq", sa.BigInteger(), nullable=False),
    sa.Column("last_hash", sa.String(64), nullable=False),
    sa.Column("last_seen_at", sa.String(32), nullable=True),
    sa.CheckConstraint("status IN ('active', 'quarantined', 'revoked')", name="ck_devices_status"),
    sa.CheckConstraint("role IN ('pos', 'kiosk')", name="ck_devices_role"),
)

request_nonces = sa.Table(
    "request_nonces", metadata,
    sa.Column("device_id", sa.String(128), sa.ForeignKey("devices.id"), primary_key=True),
    sa.Column("nonce", sa.String(64), primary_key=True),
    sa.Column("seen_at_s", sa.BigInteger(), nullable=False),
)

journal_entries = sa.Table(
    "journal_entries", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("device_id", sa.String(128), sa.ForeignKey("devices.id"), nullable=False),
    sa.Column("seq", sa.BigInteger(), nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    # Canonical JSON of the entry without its hash: exactly the bytes the hash covers.
    sa.Column("data", sa.Text(), nullable=False),
    # The device's signature over (device_id, seq, hash), stored on the last entry of each batch.
    sa.Column("head_signature", sa.String(128), nullable=True),
    # False when the entry's postings were not posted again (a checkout central already made).
    sa.Column("posted", sa.Boolean(), nullable=False),
    sa.Column("received_at", sa.String(32), nullable=False),
    sa.UniqueConstraint("device_id", "seq", name="uq_journal_entries_device_seq"),
)

ledger_transactions = sa.Table(
    "ledger_transactions", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("entry_id", sa.String(36), sa.ForeignKey("journal_entries.id"), nullable=True, unique=True),
    sa.Column("created_at", sa.String(32), nullable=False),
)

postings = sa.Table(
    "postings", metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("tx_id", sa.String(64), sa.ForeignKey("ledger_transactions.id"), nullable=False, index=True),
    sa.Column("account", sa.String(160), nullable=False, index=True),
    sa.Column("unit", sa.String(3), nullable=False),
    sa.Column("amount_units", sa.BigInteger(), nullable=False),
    sa.CheckConstraint("amount_units <> 0", name="ck_postings_nonzero"),
)

balances = sa.Table(
    "balances", metadata,
    sa.Column("account", sa.String(160), primary_key=True),
    sa.Column("unit", sa.String(3), primary_key=True),
    sa.Column("balance_units", sa.BigInteger(), nullable=False),
)

ledger_exceptions = sa.Table(
    "ledger_exceptions", metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("rule", sa.String(64), nullable=False),
    sa.Column("detail", sa.Text(), nullable=False),
    sa.Column("account", sa.String(160), nullable=True),
    sa.Column("tx_id", sa.String(64), nullable=True),
    sa.Column("entry_id", sa.String(36), nullable=True),
    sa.Column("device_id", sa.String(128), nullable=True),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("resolved_at", sa.String(32), nullable=True),
)

significant_events = sa.Table(
    "significant_events", metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("device_id", sa.String(128), nullable=True),
    sa.Column("detail", sa.Text(), nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
)

players = sa.Table(
    "players", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("location_id", sa.String(128), sa.ForeignKey("nodes.id"), nullable=False),
    sa.Column("card_number", sa.String(64), nullable=False, unique=True),
    sa.Column("display_name", sa.String(200), nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
)

checkouts = sa.Table(
    "checkouts", metadata,
    sa.Column("request_id", sa.String(64), primary_key=True),
    sa.Column("session_id", sa.String(128), nullable=False, unique=True),
    sa.Column("device_id", sa.String(128), sa.ForeignKey("devices.id"), nullable=False),
    sa.Column("player_id", sa.String(36), sa.ForeignKey("players.id"), nullable=False),
    sa.Column("amount_units", sa.BigInteger(), nullable=False),
    sa.Column("tx_id", sa.String(64), sa.ForeignKey("ledger_transactions.id"), nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    # The kiosk's own session_checkout journal entry, once it arrives and is matched.
    sa.Column("entry_id", sa.String(36), nullable=True, unique=True),
)

vouchers = sa.Table(
    "vouchers", metadata,
    sa.Column("id", sa.String(128), primary_key=True),
    sa.Column("issue_entry_id", sa.String(36), nullable=False),
    sa.Column("session_id", sa.String(128), nullable=False),
    sa.Column("kiosk_id", sa.String(128), nullable=False),
    sa.Column("location_id", sa.String(128), nullable=False),
    sa.Column("amount_units", sa.BigInteger(), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("redeem_request_id", sa.String(64), nullable=True),
    sa.Column("redeemed_by_device", sa.String(128), nullable=True),
    sa.Column("redeemed_at", sa.String(32), nullable=True),
    sa.Column("redeem_entry_id", sa.String(36), nullable=True),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.CheckConstraint("status IN ('issued', 'redeemed')", name="ck_vouchers_status"),
)

voids = sa.Table(
    "voids", metadata,
    sa.Column("reversed_entry_id", sa.String(128), primary_key=True),
    sa.Column("void_entry_id", sa.String(36), nullable=False),
)

device_heartbeats = sa.Table(
    "device_heartbeats", metadata,
    sa.Column("device_id", sa.String(128), sa.ForeignKey("devices.id"), primary_key=True),
    sa.Column("received_at", sa.String(32), nullable=False),
    sa.Column("ip", sa.String(64), nullable=False),
    sa.Column("app_version", sa.String(64), nullable=False),
    sa.Column("outbox_depth", sa.BigInteger(), nullable=False),
    sa.Column("oldest_unacked_age_s", sa.BigInteger(), nullable=False),
    sa.Column("last_sync_result", sa.String(200), nullable=False),
)

# --- device configuration (issue 4): location staff with PIN hashes, limits per node ---
staff = sa.Table(
    "staff",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("location_id", sa.String(128), sa.ForeignKey("nodes.id"), nullable=False, index=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("pin_hash", sa.String(255), nullable=False),
    sa.Column("active", sa.Boolean(), nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("updated_at", sa.String(32), nullable=False),
)

# One row per limit a node sets; a location's effective limit is the nearest row up the tree,
# else the default in shared.device_config.Limits.
node_limits = sa.Table(
    "node_limits",
    metadata,
    sa.Column("node_id", sa.String(128), sa.ForeignKey("nodes.id"), primary_key=True),
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.BigInteger(), nullable=False),
    sa.Column("updated_at", sa.String(32), nullable=False),
)

# --- players (issue 5): personal data sealed (central_server/sealing.py), PIN, self-exclusion ---
# Name, date of birth, phone and ID number are stored only sealed (AES-GCM, key outside the
# database); search goes through HMAC blind indexes, never through the plaintext.
player_profiles = sa.Table(
    "player_profiles",
    metadata,
    sa.Column("player_id", sa.String(36), sa.ForeignKey("players.id"), primary_key=True),
    sa.Column("key_id", sa.String(32), nullable=False),
    sa.Column("full_name_ct", sa.Text(), nullable=False),
    sa.Column("date_of_birth_ct", sa.Text(), nullable=False),
    sa.Column("phone_ct", sa.Text(), nullable=False),
    sa.Column("id_number_ct", sa.Text(), nullable=True),
    sa.Column("name_index", sa.String(64), nullable=False, index=True),
    sa.Column("surname_index", sa.String(64), nullable=False, index=True),
    sa.Column("phone_index", sa.String(64), nullable=False, index=True),
    sa.Column("pin_hash", sa.String(255), nullable=True),
    sa.Column("self_excluded", sa.Boolean(), nullable=False),
    sa.Column("pin_failures", sa.BigInteger(), nullable=False),
    sa.Column("pin_window_start_s", sa.BigInteger(), nullable=True),
    sa.Column("pin_locked_until_s", sa.BigInteger(), nullable=True),
    sa.Column("updated_at", sa.String(32), nullable=False),
)

# An online wallet payout at the counter: central moved the credits itself (guarded), keyed by
# the id of the POS's redemption entry, which is then recorded without postings (decision 0004).
wallet_redemptions = sa.Table(
    "wallet_redemptions",
    metadata,
    sa.Column("request_id", sa.String(64), primary_key=True),
    sa.Column("device_id", sa.String(128), sa.ForeignKey("devices.id"), nullable=False),
    sa.Column("player_id", sa.String(36), sa.ForeignKey("players.id"), nullable=False),
    sa.Column("location_id", sa.String(128), nullable=False),
    sa.Column("shift_id", sa.String(128), nullable=False),
    sa.Column("amount_units", sa.BigInteger(), nullable=False),
    sa.Column("cash_units", sa.BigInteger(), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("tx_id", sa.String(64), sa.ForeignKey("ledger_transactions.id"), nullable=False),
    sa.Column("entry_id", sa.String(36), nullable=True, unique=True),
    sa.Column("created_at", sa.String(32), nullable=False),
)

# --- games (issue 6): packages, pools ---
# A published game package, addressed by the SHA-256 of its bytes (shared.games.package) and
# signed by central; at most one version of a game is active (the partial unique index).
game_packages = sa.Table(
    "game_packages",
    metadata,
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("game_id", sa.String(128), nullable=False),
    sa.Column("version", sa.String(128), nullable=False),
    sa.Column("engine", sa.String(16), nullable=False),
    sa.Column("manifest", sa.Text(), nullable=False),
    sa.Column("package", sa.LargeBinary(), nullable=False),
    sa.Column("size_bytes", sa.BigInteger(), nullable=False),
    sa.Column("signature", sa.String(128), nullable=False),
    sa.Column("published_at", sa.String(32), nullable=False),
    sa.Column("active", sa.Boolean(), nullable=False),
    sa.UniqueConstraint("game_id", "version", name="uq_game_packages_game_version"),
)
sa.Index("uq_game_packages_active", game_packages.c.game_id, unique=True,
         sqlite_where=game_packages.c.active, postgresql_where=game_packages.c.active)

# A finite pool: the shuffled prizes and salt stay secret until it is spent; the commitment is public
# from the start. ``dealt`` is the next index to deal, advanced only under the row lock.
game_pools = sa.Table(
    "game_pools",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("game_id", sa.String(128), nullable=False),
    sa.Column("game_version", sa.String(128), nullable=False),
    sa.Column("package_sha256", sa.String(64), sa.ForeignKey("game_packages.sha256"), nullable=False),
    sa.Column("size", sa.BigInteger(), nullable=False),
    sa.Column("dealt", sa.BigInteger(), nullable=False),
    sa.Column("commitment", sa.String(64), nullable=False),
    sa.Column("salt", sa.String(64), nullable=False),
    sa.Column("prizes", sa.Text(), nullable=False),
    sa.Column("status", sa.String(8), nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("spent_at", sa.String(32), nullable=True),
    sa.CheckConstraint("status IN ('open', 'spent')", name="ck_game_pools_status"),
    sa.CheckConstraint("dealt >= 0 AND dealt <= size", name="ck_game_pools_dealt"),
)
sa.Index("uq_game_pools_open", game_pools.c.game_id, game_pools.c.game_version, unique=True,
         sqlite_where=game_pools.c.status == "open", postgresql_where=game_pools.c.status == "open")

# One deal request (idempotency key) and the entries it handed out; the primary key of
# pool_deals is the pool position, so one entry can never be dealt twice.
pool_deal_requests = sa.Table(
    "pool_deal_requests",
    metadata,
    sa.Column("request_id", sa.String(64), primary_key=True),
    sa.Column("device_id", sa.String(128), sa.ForeignKey("devices.id"), nullable=False),
    sa.Column("session_id", sa.String(128), nullable=False),
    sa.Column("game_id", sa.String(128), nullable=False),
    sa.Column("count", sa.BigInteger(), nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
)

pool_deals = sa.Table(
    "pool_deals",
    metadata,
    sa.Column("pool_id", sa.String(64), sa.ForeignKey("game_pools.id"), primary_key=True),
    sa.Column("entry_index", sa.BigInteger(), primary_key=True),
    sa.Column("request_id", sa.String(64), sa.ForeignKey("pool_deal_requests.request_id"), nullable=False, index=True),
    sa.Column("session_id", sa.String(128), nullable=False, index=True),
    sa.Column("device_id", sa.String(128), nullable=False),
    sa.Column("prize_units", sa.BigInteger(), nullable=False),
    sa.Column("dealt_at", sa.String(32), nullable=False),
    # The kiosk's game_round entry that played this entry, once it arrives (guarded: claimed once).
    sa.Column("round_entry_id", sa.String(36), nullable=True, unique=True),
)

# --- web console (issue 7): users, sessions, audit log, PII ---
# People: `admin_users` (0001) is the one table of console users, extended by 0005 (decision 0005).
admin_users.append_column(sa.Column("display_name", sa.String(200), nullable=False, server_default=""))
admin_users.append_column(sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()))
admin_users.append_column(sa.Column("totp_secret_sealed", sa.Text(), nullable=True))  # sealed with central's data keys
admin_users.append_column(sa.Column("totp_enabled", sa.Boolean(), nullable=False, server_default=sa.false()))
admin_users.append_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))  # a TOTP code is accepted once
admin_users.append_column(sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0"))
admin_users.append_column(sa.Column("locked_until_s", sa.BigInteger(), nullable=True))
admin_users.append_column(sa.Column("updated_at", sa.String(32), nullable=True))
admin_users.append_constraint(sa.CheckConstraint(
    "role IN ('head_office_admin', 'distributor_admin', 'location_owner', 'cashier', 'technician', 'auditor')",
    name="ck_admin_users_role"))

# Server-side browser sessions: the cookie carries a random token, only its SHA-256 is stored.
web_sessions = sa.Table(
    "web_sessions", metadata,
    sa.Column("id_sha256", sa.String(64), primary_key=True),
    sa.Column("user_id", BigId, sa.ForeignKey("admin_users.id"), nullable=False, index=True),
    sa.Column("stage", sa.String(16), nullable=False),  # totp / enrol: password checked, second factor pending
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("ip", sa.String(64), nullable=False),
    sa.Column("user_agent", sa.String(300), nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("last_seen_s", sa.BigInteger(), nullable=False),
    sa.Column("expires_at_s", sa.BigInteger(), nullable=False),
    sa.Column("revoked_at", sa.String(32), nullable=True),
    sa.Column("flash", sa.Text(), nullable=True),
    sa.CheckConstraint("stage IN ('totp', 'enrol', 'full')", name="ck_web_sessions_stage"),
)

login_attempts = sa.Table(
    "login_attempts", metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(128), nullable=False, index=True),
    sa.Column("user_id", sa.BigInteger(), nullable=True),
    sa.Column("ip", sa.String(64), nullable=False),
    sa.Column("ok", sa.Boolean(), nullable=False),
    sa.Column("reason", sa.String(64), nullable=False),
    sa.Column("at", sa.String(32), nullable=False),
    sa.Column("at_s", sa.BigInteger(), nullable=False, index=True),
)

# What a parent allows a child: the credit line (cash minor units the child may owe) and, for
# head office, the issuance limit (credits it may mint in total).
credit_terms = sa.Table(
    "credit_terms", metadata,
    sa.Column("node_id", sa.String(128), sa.ForeignKey("nodes.id"), primary_key=True),
    sa.Column("credit_line_units", sa.BigInteger(), nullable=False),
    sa.Column("issuance_limit_units", sa.BigInteger(), nullable=True),
    sa.Column("updated_at", sa.String(32), nullable=False),
    sa.CheckConstraint("credit_line_units >= 0", name="ck_credit_terms_line"),
)

# Review and acknowledgement notes on significant events and ledger exceptions (append only).
event_reviews = sa.Table(
    "event_reviews", metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("ref_id", sa.BigInteger(), nullable=False, index=True),
    sa.Column("note", sa.Text(), nullable=False),
    sa.Column("user_id", sa.BigInteger(), nullable=False),
    sa.Column("username", sa.String(128), nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.CheckConstraint("source IN ('event', 'exception')", name="ck_event_reviews_source"),
)

# Every admin action, hash-chained (hash covers the row and the previous hash); UPDATE and
# DELETE are refused by triggers (0005). `cafe central verify` recomputes the chain.
audit_log = sa.Table(
    "audit_log", metadata,
    sa.Column("seq", sa.BigInteger(), primary_key=True, autoincrement=False),
    sa.Column("at", sa.String(32), nullable=False),
    sa.Column("actor_user_id", sa.BigInteger(), nullable=True),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("ip", sa.String(64), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("target", sa.String(200), nullable=False),
    sa.Column("node_id", sa.String(128), nullable=True, index=True),  # whose subtree may read the row
    sa.Column("before", sa.Text(), nullable=False),  # canonical JSON
    sa.Column("after", sa.Text(), nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

# --- reports (issue 7) ---
# One stored report per node and local day: a location's DailyReport, or the roll-up of a
# distributor's or head office's subtree (shared.reports). Regenerating a day replaces the row
# only when the report changed (report_hash), counting revisions, so late-synced entries show.
daily_reports = sa.Table(
    "daily_reports", metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("node_id", sa.String(128), sa.ForeignKey("nodes.id"), nullable=False),
    sa.Column("day", sa.String(10), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("timezone", sa.String(64), nullable=False),
    # Canonical JSON of the report (DailyReport.to_json or a list of Summary.to_json).
    sa.Column("data", sa.Text(), nullable=False),
    sa.Column("report_hash", sa.String(64), nullable=False),
    sa.Column("revision", sa.Integer(), nullable=False),
    sa.Column("generated_at", sa.String(32), nullable=False),
    sa.Column("updated_at", sa.String(32), nullable=False),
    sa.UniqueConstraint("node_id", "day", name="uq_daily_reports_node_day"),
    sa.CheckConstraint("kind IN ('location', 'rollup')", name="ck_daily_reports_kind"),
)

# The local time zone a location's day is cut in (IANA name); a location without a row uses UTC.
report_settings = sa.Table(
    "report_settings", metadata,
    sa.Column("node_id", sa.String(128), sa.ForeignKey("nodes.id"), primary_key=True),
    sa.Column("timezone", sa.String(64), nullable=False),
    sa.Column("updated_at", sa.String(32), nullable=False),
)

# Reports find a day's entries by when central received them (a lower bound of when they were made).
sa.Index("ix_journal_entries_received_at", journal_entries.c.received_at)

# --- operations (issue 9): backups, job locks ---
# A scheduled job's run for one slot (a day, an hour…): the row is the claim, so with several
# central instances each (job, slot) runs once. A claim left "running" by a killed instance is
# taken over after a stale timeout (central_server/ops/jobs.py).
job_runs = sa.Table(
    "job_runs",
    metadata,
    sa.Column("job", sa.String(64), primary_key=True),
    sa.Column("slot", sa.String(32), primary_key=True),
    sa.Column("instance", sa.String(128), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("started_at_s", sa.BigInteger(), nullable=False),
    sa.Column("finished_at_s", sa.BigInteger(), nullable=True),
    sa.Column("detail", sa.String(500), nullable=False),
    sa.CheckConstraint("status IN ('running', 'done', 'failed')", name="ck_job_runs_status"),
)

# Every backup central made (the files live outside the database, encrypted).
backups = sa.Table(
    "backups",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("file_name", sa.String(255), nullable=False),
    sa.Column("db_kind", sa.String(16), nullable=False),
    sa.Column("schema_head", sa.String(32), nullable=False),
    sa.Column("plain_bytes", sa.BigInteger(), nullable=False),
    sa.Column("encrypted_bytes", sa.BigInteger(), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
)


# --- payments (issue 8) ---
# A provider account (Stripe-compatible or BTCPay) of a location or distributor; its secrets sealed.
payment_accounts = sa.Table(
    "payment_accounts",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("node_id", sa.String(128), sa.ForeignKey("nodes.id"), nullable=False, index=True),
    sa.Column("provider", sa.String(16), nullable=False),
    sa.Column("base_url", sa.String(500), nullable=False),
    sa.Column("sealed_credentials", sa.Text(), nullable=False),
    sa.Column("active", sa.Boolean(), nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
)

payments = sa.Table(
    "payments",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("idempotency_key", sa.String(128), nullable=False, unique=True),
    sa.Column("account_id", sa.String(64), sa.ForeignKey("payment_accounts.id"), nullable=False),
    sa.Column("provider", sa.String(16), nullable=False),
    sa.Column("provider_ref", sa.String(128), nullable=True),
    sa.Column("player_id", sa.String(36), sa.ForeignKey("players.id"), nullable=False, index=True),
    sa.Column("location_id", sa.String(128), sa.ForeignKey("nodes.id"), nullable=False),
    sa.Column("amount_units", sa.BigInteger(), nullable=False),
    sa.Column("fiat_units", sa.BigInteger(), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("review_reasons", sa.Text(), nullable=False),
    sa.Column("review_note", sa.Text(), nullable=True),
    sa.Column("reviewed_by", sa.String(128), nullable=True),
    sa.Column("checkout_url", sa.String(1000), nullable=True),
    sa.Column("card_fingerprint", sa.String(128), nullable=True),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("updated_at", sa.String(32), nullable=False),
    sa.Column("refunded_units", sa.BigInteger(), nullable=False),
    # A Checkout Session's PaymentIntent: refund and dispute events name it, not the session.
    sa.Column("provider_alt_ref", sa.String(128), nullable=True),
    sa.UniqueConstraint("provider", "provider_ref", name="uq_payments_provider_ref"),
    sa.Index("ix_payments_provider_alt_ref", "provider", "provider_alt_ref", unique=True),
)

# Which providers a node offers for top-ups on each channel (pos, kiosk); a location takes each
# channel from the nearest node up the tree that sets it, else payments.rules' default.
topup_channels = sa.Table(
    "topup_channels",
    metadata,
    sa.Column("node_id", sa.String(128), sa.ForeignKey("nodes.id"), primary_key=True),
    sa.Column("channel", sa.String(16), primary_key=True),
    sa.Column("providers", sa.String(200), nullable=False),  # comma-separated, sorted; empty: switched off
    sa.Column("updated_at", sa.String(32), nullable=False),
)

# Every verified webhook event, once: the unique key makes a redelivery a no-op.
payment_events = sa.Table(
    "payment_events",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("provider", sa.String(16), nullable=False),
    sa.Column("event_id", sa.String(128), nullable=False),
    sa.Column("payment_id", sa.String(36), nullable=True, index=True),
    sa.Column("event_type", sa.String(64), nullable=False),
    sa.Column("outcome", sa.String(200), nullable=False),
    sa.Column("received_at", sa.String(32), nullable=False),
    sa.UniqueConstraint("provider", "event_id", name="uq_payment_events_provider_event"),
)
