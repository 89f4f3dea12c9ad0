"""Alembic environment: runs migrations on the connection ``central_server.migrate`` hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from central_server.tables import metadata


def run_migrations(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `cafe central migrate`, which provides the database connection")
run_migrations(connection)
