"""All SQL about players: cards, sealed profiles, PIN failure state, wallet redemptions."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from central_server.db import insert_ignoring_conflict, is_postgres
from central_server.tables import ledger_transactions, player_profiles, players, postings, wallet_redemptions

MAX_SEARCH_CANDIDATES = 200


def insert_player(conn: Connection, **values: Any) -> bool:
    """False when the card number (or id) is taken: the unique constraint decides."""
    return insert_ignoring_conflict(conn, players, values)


def insert_profile(conn: Connection, **values: Any) -> None:
    conn.execute(player_profiles.insert().values(**values))


def by_id(conn: Connection, player_id: str) -> Any | None:
    return conn.execute(sa.select(players).where(players.c.id == player_id)).first()


def by_card(conn: Connection, card_number: str) -> Any | None:
    return conn.execute(sa.select(players).where(players.c.card_number == card_number)).first()


def profile(conn: Connection, player_id: str, *, for_update: bool = False) -> Any | None:
    stmt = sa.select(player_profiles).where(player_profiles.c.player_id == player_id)
    if for_update and is_postgres(conn):
        stmt = stmt.with_for_update()
    return conn.execute(stmt).first()


def profiles_of(conn: Connection, player_ids: Iterable[str]) -> dict[str, Any]:
    ids = list(player_ids)
    if not ids:
        return {}
    return {r.player_id: r for r in conn.execute(sa.select(player_profiles).where(player_profiles.c.player_id.in_(ids)))}


def search(conn: Connection, location_id: str, *, card_number: str | None = None, indexes: dict[str, str] | None = None) -> list[Any]:
    """Players of one location by exact card, or by any of the given blind indexes (column → value)."""
    stmt = sa.select(players).select_from(players.outerjoin(player_profiles, player_profiles.c.player_id == players.c.id))
    stmt = stmt.where(players.c.location_id == location_id)
    if card_number is not None:
        stmt = stmt.where(players.c.card_number == card_number)
    else:
        stmt = stmt.where(sa.or_(*[player_profiles.c[column] == value for column, value in (indexes or {}).items()]))
    return list(conn.execute(stmt.order_by(players.c.created_at).limit(MAX_SEARCH_CANDIDATES)).all())


def set_self_excluded(conn: Connection, player_id: str, excluded: bool, at: str) -> bool:
    result = conn.execute(sa.update(player_profiles).where(player_profiles.c.player_id == player_id)
                          .values(self_excluded=excluded, updated_at=at))
    return result.rowcount == 1


def set_pin_state(conn: Connection, player_id: str, *, failures: int, window_start_s: int | None,
                  locked_until_s: int | None, at: str) -> None:
    conn.execute(sa.update(player_profiles).where(player_profiles.c.player_id == player_id).values(
        pin_failures=failures, pin_window_start_s=window_start_s, pin_locked_until_s=locked_until_s, updated_at=at))


def wallet_activity(conn: Connection, wallet: str, unit: str, limit: int) -> list[Any]:
    """The newest movements of one wallet: transaction, kind, signed amount, time."""
    return list(conn.execute(
        sa.select(postings.c.tx_id, ledger_transactions.c.kind, postings.c.amount_units, ledger_transactions.c.created_at)
        .select_from(postings.join(ledger_transactions, ledger_transactions.c.id == postings.c.tx_id))
        .where(postings.c.account == wallet, postings.c.unit == unit)
        .order_by(postings.c.id.desc()).limit(limit)
    ).all())


def redemption(conn: Connection, request_id: str) -> Any | None:
    return conn.execute(sa.select(wallet_redemptions).where(wallet_redemptions.c.request_id == request_id)).first()


def insert_redemption(conn: Connection, **values: Any) -> bool:
    """False when the request id is taken (a concurrent twin): the primary key decides."""
    return insert_ignoring_conflict(conn, wallet_redemptions, values)


def match_redemption_entry(conn: Connection, request_id: str, entry_id: str) -> bool:
    """Link the POS's journal entry to central's redemption, once (guarded)."""
    result = conn.execute(sa.update(wallet_redemptions).where(
        wallet_redemptions.c.request_id == request_id, wallet_redemptions.c.entry_id.is_(None)).values(entry_id=entry_id))
    return result.rowcount == 1
