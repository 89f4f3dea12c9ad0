"""All SQL about game packages, finite pools and the entries dealt from them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from central_server.db import insert_ignoring_conflict
from central_server.tables import game_packages, game_pools, journal_entries, pool_deal_requests, pool_deals

# --- packages ---------------------------------------------------------------------------

_LISTED = (game_packages.c.sha256, game_packages.c.game_id, game_packages.c.version, game_packages.c.engine,
           game_packages.c.manifest, game_packages.c.size_bytes, game_packages.c.signature,
           game_packages.c.published_at, game_packages.c.active)
"""Every column but the package bytes, which only the download reads."""


def package_bytes(conn: Connection, sha256: str) -> Any | None:
    return conn.execute(sa.select(game_packages.c.package, game_packages.c.signature)
                        .where(game_packages.c.sha256 == sha256)).first()


def package(conn: Connection, sha256: str) -> Any | None:
    return conn.execute(sa.select(*_LISTED).where(game_packages.c.sha256 == sha256)).first()


def package_of_version(conn: Connection, game_id: str, version: str) -> Any | None:
    return conn.execute(sa.select(*_LISTED).where(game_packages.c.game_id == game_id, game_packages.c.version == version)).first()


def active_package(conn: Connection, game_id: str) -> Any | None:
    return conn.execute(sa.select(*_LISTED).where(game_packages.c.game_id == game_id, game_packages.c.active)).first()


def active_packages(conn: Connection) -> list[Any]:
    return list(conn.execute(sa.select(*_LISTED).where(game_packages.c.active).order_by(game_packages.c.game_id)))


def has_game(conn: Connection, game_id: str) -> bool:
    return conn.execute(sa.select(sa.literal(1)).where(game_packages.c.game_id == game_id).limit(1)).first() is not None


def insert_package(conn: Connection, **values: Any) -> bool:
    """False when that address or that game version is already stored (constraints decide)."""
    return insert_ignoring_conflict(conn, game_packages, values)


def set_active(conn: Connection, game_id: str, sha256: str) -> None:
    """Make ``sha256`` the one active package of ``game_id`` (off first: the partial unique index)."""
    conn.execute(sa.update(game_packages).where(game_packages.c.game_id == game_id, game_packages.c.active,
                                                game_packages.c.sha256 != sha256).values(active=False))
    conn.execute(sa.update(game_packages).where(game_packages.c.sha256 == sha256).values(active=True))


# --- pools --------------------------------------------------------------------------------


def lock_open_pool(conn: Connection, game_id: str, version: str) -> Any | None:
    """The game version's open pool, locked for this transaction (``FOR UPDATE``; SQLite holds the write lock)."""
    query = sa.select(game_pools).where(game_pools.c.game_id == game_id, game_pools.c.game_version == version,
                                        game_pools.c.status == "open").with_for_update()
    return conn.execute(query).first()


def pool(conn: Connection, pool_id: str) -> Any | None:
    return conn.execute(sa.select(game_pools).where(game_pools.c.id == pool_id)).first()


def insert_pool(conn: Connection, **values: Any) -> bool:
    """False when the game version already has an open pool (a concurrent deal made it first)."""
    return insert_ignoring_conflict(conn, game_pools, values)


def advance_pool(conn: Connection, pool_id: str, *, from_dealt: int, to_dealt: int, spent_at: str | None) -> bool:
    """Move the deal position; guarded on the position read under the lock, so an entry is dealt once."""
    values: dict[str, Any] = {"dealt": to_dealt}
    if spent_at is not None:
        values |= {"status": "spent", "spent_at": spent_at}
    result = conn.execute(sa.update(game_pools).where(
        game_pools.c.id == pool_id, game_pools.c.status == "open", game_pools.c.dealt == from_dealt,
    ).values(**values))
    return result.rowcount == 1


def insert_deal_request(conn: Connection, **values: Any) -> bool:
    return insert_ignoring_conflict(conn, pool_deal_requests, values)


def deal_request(conn: Connection, request_id: str) -> Any | None:
    return conn.execute(sa.select(pool_deal_requests).where(pool_deal_requests.c.request_id == request_id)).first()


def insert_deals(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        conn.execute(sa.insert(pool_deals), list(rows))


def deals_of_request(conn: Connection, request_id: str) -> list[Any]:
    """A request's entries in the order dealt (pool ids are UUIDv7, so they sort by creation)."""
    query = (sa.select(pool_deals.c.pool_id, pool_deals.c.entry_index, pool_deals.c.prize_units, game_pools.c.game_version,
                       game_pools.c.package_sha256, game_pools.c.commitment)
             .join(game_pools, game_pools.c.id == pool_deals.c.pool_id)
             .where(pool_deals.c.request_id == request_id)
             .order_by(pool_deals.c.pool_id, pool_deals.c.entry_index))
    return list(conn.execute(query))


def deal_of_entry(conn: Connection, pool_id: str, index: int) -> Any | None:
    return conn.execute(sa.select(pool_deals).where(pool_deals.c.pool_id == pool_id, pool_deals.c.entry_index == index)).first()


def claim_deal_for_round(conn: Connection, pool_id: str, index: int, entry_id: str) -> bool:
    """Link the dealt entry to the round that played it; False when another round already did."""
    result = conn.execute(sa.update(pool_deals).where(
        pool_deals.c.pool_id == pool_id, pool_deals.c.entry_index == index, pool_deals.c.round_entry_id.is_(None),
    ).values(round_entry_id=entry_id))
    return result.rowcount == 1


def round_entries_naming_pool(conn: Connection, pool_id: str, limit: int) -> list[str]:
    """Stored ``game_round`` entries whose data mentions the pool (callers parse and filter exactly)."""
    pattern = '%"pool_entry":"' + pool_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + ':%'
    query = (sa.select(journal_entries.c.data)
             .where(journal_entries.c.kind == "game_round", journal_entries.c.data.like(pattern, escape="\\"))
             .limit(limit))
    return [row.data for row in conn.execute(query)]
