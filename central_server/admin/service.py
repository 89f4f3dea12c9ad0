"""Rules for the hierarchy (head office → master distributors → distributors → locations)
and for the head-office administrator account."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from sqlalchemy import Connection

from central_server.admin import repository as repo
from central_server.errors import Conflict, NotFound
from shared.bodies import check_ref
from shared.entry import utc_timestamp
from shared.errors import ValidationError

HEAD_OFFICE_ID = "head-office"
# Which kind of node may sit under which.
PARENT_KINDS = {
    "master_distributor": ("head_office",),
    "distributor": ("head_office", "master_distributor"),
    "location": ("head_office", "master_distributor", "distributor"),
}
MIN_PASSWORD_LEN = 12


def hash_password(password: str) -> str:
    """argon2id (argon2-cffi's default type) with its default cost parameters."""
    return PasswordHasher().hash(password)


def new_password() -> str:
    return secrets.token_urlsafe(18)


def init_head_office(conn: Connection, *, admin_username: str, password: str) -> None:
    """The root node and the first administrator; refuses to run twice."""
    if len(password) < MIN_PASSWORD_LEN:
        raise ValidationError(f"the admin password must be at least {MIN_PASSWORD_LEN} characters")
    if repo.admin_count(conn) > 0:
        raise Conflict("central is already initialised (an administrator exists)", code="already_initialised")
    now = utc_timestamp()
    repo.insert_node(conn, id=HEAD_OFFICE_ID, kind="head_office", name="Head office", parent_id=None, created_at=now)
    repo.insert_admin(conn, username=check_ref(admin_username, "username"), password_hash=hash_password(password),
                      role="head_office_admin", node_id=HEAD_OFFICE_ID, created_at=now)


def add_node(conn: Connection, *, node_id: str, kind: str, name: str, parent_id: str) -> None:
    if kind not in PARENT_KINDS:
        raise ValidationError(f"kind must be one of {', '.join(PARENT_KINDS)}, got {kind!r}")
    parent = repo.node(conn, parent_id)
    if parent is None:
        raise NotFound(f"there is no node {parent_id!r}")
    if parent.kind not in PARENT_KINDS[kind]:
        raise ValidationError(f"a {kind} cannot sit under a {parent.kind}")
    if not repo.insert_node(conn, id=check_ref(node_id, "node id"), kind=kind, name=name or node_id, parent_id=parent_id,
                            created_at=utc_timestamp()):
        raise Conflict(f"node {node_id!r} already exists")
