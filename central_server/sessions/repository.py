"""All SQL about central-side session checkouts."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from central_server.db import insert_ignoring_conflict
from central_server.tables import checkouts


def by_request(conn: Connection, request_id: str) -> Any | None:
    return conn.execute(sa.select(checkouts).where(checkouts.c.request_id == request_id)).first()


def insert_checkout(conn: Connection, **values: Any) -> bool:
    """False when the request id or the session id is already taken (unique constraints decide)."""
    return insert_ignoring_conflict(conn, checkouts, values)


def session_taken(conn: Connection, session_id: str) -> bool:
    """A wallet checkout already opened this session id (a ticket-in must open a new one)."""
    return conn.execute(sa.select(checkouts.c.request_id).where(checkouts.c.session_id == session_id)).first() is not None
