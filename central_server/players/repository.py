"""All SQL about players."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from central_server.db import insert_ignoring_conflict
from central_server.tables import players


def insert_player(conn: Connection, **values: Any) -> bool:
    """False when the card number (or id) is taken: the unique constraint decides."""
    return insert_ignoring_conflict(conn, players, values)


def by_id(conn: Connection, player_id: str) -> Any | None:
    return conn.execute(sa.select(players).where(players.c.id == player_id)).first()


def by_card(conn: Connection, card_number: str) -> Any | None:
    return conn.execute(sa.select(players).where(players.c.card_number == card_number)).first()
