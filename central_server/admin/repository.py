"""All SQL about the hierarchy and administrator accounts."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from central_server.db import insert_ignoring_conflict
from central_server.tables import admin_users, nodes


def node(conn: Connection, node_id: str) -> Any | None:
    return conn.execute(sa.select(nodes).where(nodes.c.id == node_id)).first()


def insert_node(conn: Connection, **values: Any) -> bool:
    return insert_ignoring_conflict(conn, nodes, values, "id")


def insert_admin(conn: Connection, **values: Any) -> bool:
    return insert_ignoring_conflict(conn, admin_users, values, "username")


def admin_count(conn: Connection) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(admin_users)).scalar_one())
