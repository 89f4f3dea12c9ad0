"""All SQL about what devices pull: staff of a location, limits per node, revoked devices."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from central_server.tables import devices, node_limits, nodes, staff

MAX_TREE_DEPTH = 16  # head office → master → distributor → location is 4; a loop in the data must not hang us


def node(conn: Connection, node_id: str) -> Any | None:
    return conn.execute(sa.select(nodes.c.id, nodes.c.kind, nodes.c.name, nodes.c.parent_id, nodes.c.currency)
                        .where(nodes.c.id == node_id)).first()


def path_to_root(conn: Connection, node_id: str) -> list[str]:
    """``node_id`` and its ancestors, nearest first (empty when the node does not exist)."""
    path: list[str] = []
    current: str | None = node_id
    while current is not None and current not in path and len(path) < MAX_TREE_DEPTH:
        parent = conn.execute(sa.select(nodes.c.id, nodes.c.parent_id).where(nodes.c.id == current)).first()
        if parent is None:
            break
        path.append(parent.id)
        current = parent.parent_id
    return path


def limits_set_on(conn: Connection, node_ids: Iterable[str]) -> list[Any]:
    """Every limit row of these nodes (node_id, name, value)."""
    ids = list(node_ids)
    if not ids:
        return []
    return list(conn.execute(sa.select(node_limits.c.node_id, node_limits.c.name, node_limits.c.value)
                             .where(node_limits.c.node_id.in_(ids))).all())


_UPSERT_LIMIT = sa.text(
    "INSERT INTO node_limits (node_id, name, value, updated_at) VALUES (:node_id, :name, :value, :updated_at) "
    "ON CONFLICT (node_id, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at"
)


def upsert_limit(conn: Connection, *, node_id: str, name: str, value: int, updated_at: str) -> None:
    conn.execute(_UPSERT_LIMIT, {"node_id": node_id, "name": name, "value": value, "updated_at": updated_at})


def delete_limit(conn: Connection, node_id: str, name: str) -> bool:
    result = conn.execute(sa.delete(node_limits).where(node_limits.c.node_id == node_id, node_limits.c.name == name))
    return result.rowcount == 1


def insert_staff(conn: Connection, **values: Any) -> None:
    conn.execute(staff.insert().values(**values))


def staff_member(conn: Connection, staff_id: str) -> Any | None:
    return conn.execute(sa.select(staff).where(staff.c.id == staff_id)).first()


def update_staff(conn: Connection, staff_id: str, *, only_active: bool, **values: Any) -> bool:
    """Change one staff row; with ``only_active`` a deactivated member is left alone (row count 0)."""
    stmt = sa.update(staff).where(staff.c.id == staff_id)
    if only_active:
        stmt = stmt.where(staff.c.active.is_(True))
    return conn.execute(stmt.values(**values)).rowcount == 1


def active_staff(conn: Connection, location_id: str) -> list[Any]:
    # Ordered by id so the document, and with it the ETag, does not depend on the query plan.
    return list(conn.execute(
        sa.select(staff.c.id, staff.c.name, staff.c.role, staff.c.pin_hash)
        .where(staff.c.location_id == location_id, staff.c.active.is_(True))
        .order_by(staff.c.id)
    ).all())


def active_kiosk_keys(conn: Connection, location_id: str) -> list[tuple[str, str]]:
    rows = conn.execute(
        sa.select(devices.c.id, devices.c.public_key)
        .where(devices.c.location_id == location_id, devices.c.role == "kiosk", devices.c.status == "active")
        .order_by(devices.c.id)
    ).all()
    return [(row.id, row.public_key) for row in rows]


def revoked_device_ids(conn: Connection, location_id: str) -> list[str]:
    rows = conn.execute(
        sa.select(devices.c.id).where(devices.c.location_id == location_id, devices.c.status == "revoked").order_by(devices.c.id)
    ).all()
    return [row.id for row in rows]
