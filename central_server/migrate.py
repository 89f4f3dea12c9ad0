"""Alembic, used from code: apply migrations and check that a database is at the head.

The schema has exactly one head. ``serve`` refuses to start on a database that is not
at it, naming the command that fixes it.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from shared.errors import CafeError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


class SchemaOutdated(CafeError):
    code = "schema_outdated"
    http_status = 503


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert len(heads) == 1, f"the migrations must have exactly one head, found {heads}"
    return heads[0]


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply every migration up to ``revision`` in one transaction."""
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def check_at_head(engine: Engine) -> None:
    """Refuse a database whose schema is missing or not at the newest migration."""
    current, head = current_revision(engine), head_revision()
    if current is None:
        raise SchemaOutdated("the database has no cafesuite schema yet; run `cafe central migrate` (or `cafe central init`)")
    if current != head:
        raise SchemaOutdated(f"the database schema is at {current}, this server needs {head}; run `cafe central migrate`")
